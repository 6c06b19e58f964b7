import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { addDecimal, compareDecimal, multiplyDecimal, subtractDecimal } from '../marketdata/decimal.ts';
import type { Market } from '../marketdata/types.ts';
import type { BookStore } from '../redis/book-store.ts';
import { applyFill, available, buyLockPerUnit, lock, releaseLock } from './accounting.ts';
import {
  isFailure,
  orderNotFound,
  type RejectReason,
  rejected,
  sessionNotFound,
  type TradingFailure,
} from './failures.ts';
import { isSessionId, newSessionId, orderId, parseOrderId } from './ids.ts';
import type { PlannedFill } from './matching.ts';
import { checkMarketRules, checkNotional, feeRates } from './order-input.ts';
import { assertHomeRegion, transition } from './order-machine.ts';
import type { AuditEntry, SessionWrite, TradingStore } from './trading-store.ts';
import {
  isOpen,
  type Order,
  type OrderRequest,
  type OrderUpdate,
  type OrderUpdateType,
  type Session,
} from './types.ts';
import { type ExecutionVenue, type RestingOrder, VenueUnavailableError } from './venue.ts';

export interface TradingServiceOptions {
  store: TradingStore;
  /** Market metadata (precision, limits, fees). */
  markets: Pick<BookStore, 'readMarket'>;
  region: string;
  log: Logger;
  now?: () => number;
  /** Orders one session may hold; past it, placement is rejected. @default 10000 */
  maxOrdersPerSession?: number;
}

/** A command's result: what it made, or the typed failure. */
export type Outcome<T> = T | TradingFailure;

/** Conditional writes retried this many times against concurrent commands on one session. */
const MAX_ATTEMPTS = 64;
/** Orders written per script call when many change at once (cancel all). */
const WRITE_CHUNK = 500;

function fingerprint(request: OrderRequest): string {
  const { sessionId, exchange, symbol, side, type, price, amount, timeInForce, postOnly } = request;
  const canonical = JSON.stringify([
    sessionId,
    exchange,
    symbol,
    side,
    type,
    price,
    amount,
    timeInForce,
    postOnly,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function snapshot(order: Order): Order {
  return { ...order };
}

/**
 * Sessions and orders: validation, idempotency, balances and the order state machine, over the
 * TradingStore; execution is the venue's. Each command reads the session, decides in Node with
 * exact decimals, and writes everything it changed with one conditional script call, retrying
 * when a concurrent command moved the session on. An order is in Redis before it is acknowledged.
 */
export class TradingService {
  readonly store: TradingStore;
  private venue: ExecutionVenue | undefined;
  private readonly now: () => number;
  private readonly maxOrders: number;

  constructor(private readonly options: TradingServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.maxOrders = options.maxOrdersPerSession ?? 10_000;
  }

  /** The venue orders execute on (set once at boot: it reports fills back into this service). */
  useVenue(venue: ExecutionVenue): void {
    this.venue = venue;
  }

  get region(): string {
    return this.options.region;
  }

  close(): void {
    this.venue?.close();
  }

  private get execution(): ExecutionVenue {
    if (!this.venue) throw new Error('no execution venue configured');
    return this.venue;
  }

  async openSession(clientId: string, balances: ReadonlyMap<string, string>): Promise<Session> {
    const now = this.now();
    const session: Session = {
      id: newSessionId(this.options.region, now),
      clientId,
      region: this.options.region,
      venue: 'PAPER',
      status: 'OPEN',
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      version: 1,
      seq: 0,
      orderCount: 0,
      initialBalances: new Map(balances),
      totals: new Map(balances),
      locked: new Map(),
      positions: new Map(),
    };
    const outcome = await this.store.write(clientId, {
      session,
      expectedVersion: null,
      orders: [],
      fills: [],
      events: [],
    });
    if (outcome !== 'ok') throw new Error(`session ${session.id} could not be created (${outcome})`);
    await this.audit(clientId, { action: 'openSession', sessionId: session.id, result: 'accepted' });
    return session;
  }

  /** The client's session, or null: another client's session is exactly as absent as a missing one. */
  async session(clientId: string, sessionId: string): Promise<Session | null> {
    if (!isSessionId(sessionId)) return null;
    const session = await this.store.readSession(clientId, sessionId);
    if (session) await this.store.touch(clientId, sessionId);
    return session;
  }

  async closeSession(clientId: string, sessionId: string): Promise<Outcome<Session>> {
    const result = await this.cancelMatching(clientId, sessionId, () => true, true);
    if (isFailure(result)) {
      await this.audit(clientId, { action: 'closeSession', sessionId, result: result.kind });
      return result;
    }
    await this.audit(clientId, {
      action: 'closeSession',
      sessionId,
      result: 'accepted',
      detail: `canceled ${result.orders.length}`,
    });
    return result.session;
  }

  async placeOrder(clientId: string, request: OrderRequest): Promise<Outcome<Order>> {
    const result = await this.place(clientId, request);
    const order = isFailure(result) ? (result.kind === 'OrderRejected' ? result.order : null) : result;
    await this.audit(clientId, {
      action: 'placeOrder',
      sessionId: request.sessionId,
      orderId: order?.id ?? null,
      clientOrderId: request.clientOrderId,
      result: isFailure(result) ? result.kind : 'accepted',
      detail: isFailure(result) ? result.message : order?.status,
    });
    return result;
  }

  private async place(clientId: string, request: OrderRequest): Promise<Outcome<Order>> {
    if (!isSessionId(request.sessionId)) return sessionNotFound(request.sessionId);
    const print = fingerprint(request);
    let market: Market | null | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const session = await this.store.readSession(clientId, request.sessionId);
      if (!session) return sessionNotFound(request.sessionId);
      if (request.clientOrderId !== null) {
        const existing = await this.existingOrder(clientId, request.clientOrderId);
        if (existing) {
          if (existing.fingerprint !== print) {
            return {
              kind: 'IdempotencyConflict',
              code: 'IDEMPOTENCY_CONFLICT',
              message: `clientOrderId "${request.clientOrderId}" was already used for a different order.`,
              clientOrderId: request.clientOrderId,
              orderId: existing.id,
            };
          }
          return existing.status === 'REJECTED'
            ? rejected(
                (existing.rejectReason ?? 'POST_ONLY_WOULD_TAKE') as RejectReason,
                `Order ${existing.id} was rejected.`,
                existing,
              )
            : existing;
        }
      }
      market ??= await this.options.markets.readMarket(request.exchange, request.symbol);
      if (!market) {
        return {
          kind: 'MarketNotFound',
          code: 'MARKET_NOT_FOUND',
          message: `Market ${request.symbol} on ${request.exchange} is not served in region ${this.options.region}.`,
          exchange: request.exchange,
          symbol: request.symbol,
        };
      }
      const broken = checkMarketRules(request, market);
      if (broken) return broken;
      if (!market.active)
        return rejected('MARKET_INACTIVE', `Market ${request.symbol} on ${request.exchange} is not trading.`);
      if (session.status !== 'OPEN') return rejected('SESSION_CLOSED', `Session "${session.id}" is closed.`);
      if (session.orderCount >= this.maxOrders) {
        return rejected(
          'SESSION_ORDER_LIMIT',
          `Session "${session.id}" holds the maximum of ${this.maxOrders} orders.`,
        );
      }
      const plan = await this.plan(session, market, request, print);
      if (isFailure(plan)) return plan;
      const outcome = await this.store.write(clientId, plan.write);
      if (outcome === 'ok') {
        if (plan.rests) await this.execution.watch({ clientId, order: plan.order });
        return plan.order.status === 'REJECTED'
          ? rejected('POST_ONLY_WOULD_TAKE', 'A post-only order would have taken liquidity.', plan.order)
          : plan.order;
      }
      // 'stale': another command changed the session; 'duplicate': the clientOrderId was just
      // claimed by a concurrent request. Either way, read again and decide again.
    }
    throw new Error(`placeOrder: session ${request.sessionId} too contended`);
  }

  /** Builds the new order, runs it against the venue, and prepares the one write that records it. */
  private async plan(
    session: Session,
    market: Market,
    request: OrderRequest,
    print: string,
  ): Promise<TradingFailure | { order: Order; write: SessionWrite; rests: boolean }> {
    const now = this.now();
    const fees = feeRates(market);
    const maxRate = compareDecimal(fees.maker, fees.taker) >= 0 ? fees.maker : fees.taker;
    const n = session.orderCount + 1;
    const order: Order = {
      id: orderId(session.id, n),
      sessionId: session.id,
      clientOrderId: request.clientOrderId,
      region: this.options.region,
      venue: session.venue,
      exchange: market.exchange,
      symbol: market.symbol,
      base: market.base,
      quote: market.quote,
      side: request.side,
      type: request.type,
      price: request.price,
      amount: request.amount,
      timeInForce: request.type === 'MARKET' ? 'IOC' : request.timeInForce,
      postOnly: request.postOnly,
      status: 'NEW',
      filled: '0',
      cost: '0',
      fee: '0',
      lockAsset: request.side === 'BUY' ? market.quote : market.base,
      locked: '0',
      lockPerUnit: '0',
      makerFeeRate: fees.maker,
      takerFeeRate: fees.taker,
      rejectReason: null,
      fingerprint: print,
      createdAt: now,
      updatedAt: now,
    };
    assertHomeRegion(order.id, this.options.region);
    let placement: Awaited<ReturnType<ExecutionVenue['place']>>;
    try {
      placement = await this.execution.place(order);
    } catch (error) {
      if (error instanceof VenueUnavailableError) {
        return rejected(
          'BOOK_UNAVAILABLE',
          `No live book for ${market.symbol} on ${market.exchange}; try again.`,
        );
      }
      throw error;
    }
    // What the order needs: limit buys reserve price × (1 + fee) per unit; sells reserve the
    // base; market buys need the quote value of the fills they would take, fees included.
    if (order.side === 'SELL') {
      order.lockPerUnit = '1';
      order.locked = order.amount;
    } else if (order.price !== null) {
      order.lockPerUnit = buyLockPerUnit(order.price, maxRate);
      order.locked = multiplyDecimal(order.amount, order.lockPerUnit);
    }
    const fills: PlannedFill[] = placement.kind === 'execute' ? placement.fills : [];
    if (order.type === 'MARKET') {
      const value = fills.reduce((sum, f) => addDecimal(sum, multiplyDecimal(f.price, f.amount)), '0');
      const broken = checkNotional(value, market);
      if (broken && fills.length > 0) return broken;
    }
    const required =
      order.side === 'SELL' || order.price !== null
        ? order.locked
        : fills.reduce(
            (sum, f) =>
              addDecimal(
                sum,
                multiplyDecimal(multiplyDecimal(f.price, f.amount), addDecimal('1', order.takerFeeRate)),
              ),
            '0',
          );
    const free = available(session, order.lockAsset);
    if (compareDecimal(required, free) > 0) {
      return {
        kind: 'InsufficientBalance',
        code: 'INSUFFICIENT_BALANCE',
        message: `${order.lockAsset}: ${required} needed, ${free} available.`,
        asset: order.lockAsset,
        required,
        available: free,
      };
    }
    session.orderCount = n;
    session.updatedAt = now;
    lock(session, order);
    const write = this.newWrite(session);
    this.emit(write, session, 'NEW', order, null, now);
    let rests = false;
    if (placement.kind === 'reject') {
      order.rejectReason = placement.reason;
      transition(order, 'REJECTED', now);
      releaseLock(session, order);
      this.emit(write, session, 'REJECTED', order, null, now);
    } else if (placement.kind === 'expire') {
      transition(order, 'EXPIRED', now);
      releaseLock(session, order);
      this.emit(write, session, 'EXPIRED', order, null, now);
    } else {
      for (const planned of fills) this.fill(write, session, order, planned, now);
      if (isOpen(order.status)) {
        if (placement.rest) {
          rests = true;
        } else {
          transition(order, 'EXPIRED', now);
          releaseLock(session, order);
          this.emit(write, session, 'EXPIRED', order, null, now);
        }
      }
    }
    write.orders = [order];
    if (order.clientOrderId !== null) write.claim = { clientOrderId: order.clientOrderId, orderId: order.id };
    return { order, write, rests };
  }

  /** A venue's fill of a resting order, applied like every other change. */
  async applyVenueFill(resting: RestingOrder, planned: PlannedFill): Promise<Order | null> {
    const { clientId } = resting;
    const { sessionId } = resting.order;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const session = await this.store.readSession(clientId, sessionId);
      const order = session && (await this.store.readOrder(clientId, sessionId, resting.order.id));
      if (!session || !order || !isOpen(order.status)) return null;
      const left = subtractDecimal(order.amount, order.filled);
      const amount = compareDecimal(planned.amount, left) <= 0 ? planned.amount : left;
      const now = this.now();
      session.updatedAt = now;
      const write = this.newWrite(session);
      this.fill(write, session, order, { ...planned, amount }, now);
      write.orders = [order];
      if ((await this.store.write(clientId, write)) === 'ok') return order;
    }
    throw new Error(`fill of ${resting.order.id}: session too contended`);
  }

  async cancelOrder(
    clientId: string,
    ref: { id?: string | null; clientOrderId?: string | null },
  ): Promise<Outcome<Order>> {
    const result = await this.cancelOne(clientId, ref);
    await this.audit(clientId, {
      action: 'cancelOrder',
      sessionId: isFailure(result) ? (parseOrderId(ref.id ?? '')?.sessionId ?? '') : result.sessionId,
      orderId: isFailure(result) ? (ref.id ?? null) : result.id,
      clientOrderId: ref.clientOrderId ?? null,
      result: isFailure(result) ? result.kind : 'accepted',
    });
    return result;
  }

  private async cancelOne(
    clientId: string,
    ref: { id?: string | null; clientOrderId?: string | null },
  ): Promise<Outcome<Order>> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await this.findOrder(clientId, ref);
      if (!found) return orderNotFound(ref);
      const session = await this.store.readSession(clientId, found.sessionId);
      const order = session && (await this.store.readOrder(clientId, found.sessionId, found.id));
      if (!session || !order) return orderNotFound(ref);
      if (!isOpen(order.status))
        return rejected('ORDER_NOT_OPEN', `Order ${order.id} is ${order.status}.`, order);
      const now = this.now();
      session.updatedAt = now;
      const write = this.newWrite(session);
      this.cancel(write, session, order, now);
      write.orders = [order];
      if ((await this.store.write(clientId, write)) === 'ok') {
        this.execution.forget(order);
        return order;
      }
    }
    throw new Error('cancelOrder: session too contended');
  }

  async cancelAllOrders(
    clientId: string,
    args: { sessionId: string; exchange?: string | null; symbol?: string | null },
  ): Promise<Outcome<Order[]>> {
    const matches = (o: Order) =>
      (!args.exchange || o.exchange === args.exchange) && (!args.symbol || o.symbol === args.symbol);
    const result = await this.cancelMatching(clientId, args.sessionId, matches, false);
    await this.audit(clientId, {
      action: 'cancelAllOrders',
      sessionId: args.sessionId,
      result: isFailure(result) ? result.kind : 'accepted',
      detail: isFailure(result) ? undefined : `canceled ${result.orders.length}`,
    });
    return isFailure(result) ? result : result.orders;
  }

  /** Cancels the session's open orders that match, in chunks; closes the session if asked. */
  private async cancelMatching(
    clientId: string,
    sessionId: string,
    matches: (order: Order) => boolean,
    closeSession: boolean,
  ): Promise<TradingFailure | { session: Session; orders: Order[] }> {
    if (!isSessionId(sessionId)) return sessionNotFound(sessionId);
    const canceled: Order[] = [];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const session = await this.store.readSession(clientId, sessionId);
      if (!session) return sessionNotFound(sessionId);
      const all = await this.store.allOrders(clientId, sessionId);
      const open = all.filter((o) => isOpen(o.status) && matches(o)).slice(0, WRITE_CHUNK);
      const finishing = closeSession && open.length === all.filter((o) => isOpen(o.status)).length;
      if (open.length === 0 && !(closeSession && session.status === 'OPEN'))
        return { session, orders: canceled };
      const now = this.now();
      session.updatedAt = now;
      const write = this.newWrite(session);
      for (const order of open) this.cancel(write, session, order, now);
      write.orders = open;
      if (finishing && session.status === 'OPEN') {
        session.status = 'CLOSED';
        session.closedAt = now;
        write.release = all.map((o) => o.clientOrderId).filter((c): c is string => c !== null);
      }
      if ((await this.store.write(clientId, write)) === 'ok') {
        for (const order of open) this.execution.forget(order);
        canceled.push(...open);
        if (!closeSession && open.length < WRITE_CHUNK) return { session, orders: canceled };
        if (closeSession && session.status === 'CLOSED') return { session, orders: canceled };
      }
    }
    throw new Error('cancelAllOrders: session too contended');
  }

  /** One order of the client by id or clientOrderId; null if it is not the client's. */
  async order(
    clientId: string,
    ref: { id?: string | null; clientOrderId?: string | null },
  ): Promise<Order | null> {
    const found = await this.findOrder(clientId, ref);
    return found && this.store.readOrder(clientId, found.sessionId, found.id);
  }

  /**
   * A page of the session's orders, newest first, filtered; `after` is the last order id of the
   * previous page. Scans at most `scanLimit` orders per page.
   */
  async orders(
    clientId: string,
    args: {
      sessionId: string;
      first: number;
      after: string | null;
      status?: readonly Order['status'][] | null;
      exchange?: string | null;
      symbol?: string | null;
      side?: Order['side'] | null;
    },
    scanLimit = 5_000,
  ): Promise<{ orders: Order[]; hasNextPage: boolean } | null> {
    const session = await this.session(clientId, args.sessionId);
    if (!session) return null;
    const after = args.after ? parseOrderId(args.after) : null;
    let n = after && after.sessionId === session.id ? after.n - 1 : session.orderCount;
    const matches = (o: Order) =>
      (!args.status?.length || args.status.includes(o.status)) &&
      (!args.exchange || o.exchange === args.exchange) &&
      (!args.symbol || o.symbol === args.symbol) &&
      (!args.side || o.side === args.side);
    const out: Order[] = [];
    let scanned = 0;
    while (n > 0 && out.length <= args.first && scanned < scanLimit) {
      const batch: string[] = [];
      for (let k = n; k > 0 && batch.length < Math.max(50, args.first * 2); k--)
        batch.push(orderId(session.id, k));
      n -= batch.length;
      scanned += batch.length;
      const orders = await this.store.readOrders(clientId, session.id, batch);
      for (const o of orders) if (matches(o)) out.push(o);
    }
    return {
      orders: out.slice(0, args.first),
      hasNextPage: out.length > args.first || (n > 0 && scanned >= scanLimit),
    };
  }

  private async findOrder(
    clientId: string,
    ref: { id?: string | null; clientOrderId?: string | null },
  ): Promise<{ id: string; sessionId: string } | null> {
    const id =
      ref.id ??
      (ref.clientOrderId ? await this.store.orderIdForClientOrderId(clientId, ref.clientOrderId) : null);
    const parsed = id ? parseOrderId(id) : null;
    return id && parsed ? { id, sessionId: parsed.sessionId } : null;
  }

  /** The order a clientOrderId names, if it still exists; a stale claim (expired session) is dropped. */
  private async existingOrder(clientId: string, clientOrderId: string): Promise<Order | null> {
    const found = await this.findOrder(clientId, { clientOrderId });
    if (!found) return null;
    const order = await this.store.readOrder(clientId, found.sessionId, found.id);
    if (!order) await this.store.dropClaim(clientId, clientOrderId, found.id);
    return order;
  }

  private newWrite(session: Session): SessionWrite {
    const expectedVersion = session.version;
    session.version += 1;
    return { session, expectedVersion, orders: [], fills: [], events: [] };
  }

  private emit(
    write: SessionWrite,
    session: Session,
    type: OrderUpdateType,
    order: Order,
    fill: OrderUpdate['fill'],
    now: number,
  ): void {
    session.seq += 1;
    write.events.push({
      sessionId: session.id,
      seq: session.seq,
      type,
      order: snapshot(order),
      fill,
      ts: now,
    });
  }

  private fill(write: SessionWrite, session: Session, order: Order, planned: PlannedFill, now: number): void {
    const fill = applyFill(session, order, { id: `${order.id}_${session.seq + 1}`, ...planned, ts: now });
    write.fills.push(fill);
    this.emit(write, session, 'FILL', order, fill, now);
  }

  private cancel(write: SessionWrite, session: Session, order: Order, now: number): void {
    transition(order, 'CANCELED', now);
    releaseLock(session, order);
    this.emit(write, session, 'CANCELED', order, null, now);
  }

  private async audit(clientId: string, entry: AuditEntry): Promise<void> {
    try {
      await this.store.audit(clientId, entry, this.now());
    } catch (err) {
      this.options.log.error({ err, clientId, action: entry.action }, 'audit append failed');
    }
  }
}
