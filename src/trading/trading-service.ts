import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  addDecimal,
  canonicalDecimal,
  compareDecimal,
  divideDecimal,
  isZeroDecimal,
  multiplyDecimal,
  subtractDecimal,
} from '../marketdata/decimal.ts';
import type { Market } from '../marketdata/types.ts';
import type { BookStore } from '../redis/book-store.ts';
import { venueOrderKey } from '../redis/keys.ts';
import {
  applyFill,
  available,
  buyLockPerUnit,
  lock,
  RATIO_PLACES,
  releaseLock,
  remaining,
} from './accounting.ts';
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
import {
  type ExecutionVenue,
  type ExternalVenue,
  type RestingOrder,
  type VenueOrderReport,
  VenueUnavailableError,
} from './venue.ts';

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

/** Where a venue's client order id leads: the client and the order (in Redis, per exchange). */
interface VenueOrderRef {
  c: string;
  o: string;
}

/** The typed answer for an order a venue refused (or that never reached it). */
function venueRejected(order: Order): TradingFailure {
  return rejected(
    'VENUE_REJECTED',
    `${order.exchange} refused order ${order.id}: ${order.rejectMessage ?? 'rejected'}`,
    order,
  );
}

function maxFeeRate(order: Order): string {
  return compareDecimal(order.makerFeeRate, order.takerFeeRate) >= 0
    ? order.makerFeeRate
    : order.takerFeeRate;
}

/**
 * The fills a venue report adds to what the order has recorded: its listed executions past the
 * recorded amount when it lists them, else one fill of the difference, at the last execution's
 * price when that is the whole difference, else at the difference's average price.
 */
function newFills(order: Order, report: VenueOrderReport): PlannedFill[] {
  const missing = subtractDecimal(report.filled, order.filled);
  if (compareDecimal(missing, '0') <= 0) return [];
  const cap = (amount: string) => {
    const left = remaining(order);
    return compareDecimal(amount, left) <= 0 ? amount : left;
  };
  const listed = report.executions?.reduce((sum, e) => addDecimal(sum, e.amount), '0');
  if (report.executions && listed !== undefined && compareDecimal(listed, report.filled) === 0) {
    const out: PlannedFill[] = [];
    let skip = order.filled;
    for (const e of report.executions) {
      let amount = e.amount;
      if (!isZeroDecimal(skip)) {
        const skipped = compareDecimal(skip, amount) >= 0 ? amount : skip;
        skip = subtractDecimal(skip, skipped);
        amount = subtractDecimal(amount, skipped);
      }
      if (compareDecimal(amount, '0') > 0) out.push({ price: e.price, amount, liquidity: e.liquidity });
    }
    return out;
  }
  const amount = cap(missing);
  if (report.last && compareDecimal(report.last.amount, missing) === 0) {
    return [{ price: report.last.price, amount, liquidity: report.last.liquidity }];
  }
  const value = subtractDecimal(report.cost, order.cost);
  const price = canonicalDecimal(divideDecimal(value, missing, RATIO_PLACES));
  return [{ price, amount, liquidity: report.last?.liquidity ?? 'TAKER' }];
}

/** First reconciliation of an unanswered placement after this long, doubling up to 5 s. */
const RECONCILE_FIRST_MS = 250;
const RECONCILE_MAX_MS = 5_000;

/**
 * Sessions and orders: validation, idempotency, balances and the order state machine, over the
 * TradingStore; execution is the venue's. Each command reads the session, decides in Node with
 * exact decimals, and writes everything it changed with one conditional script call, retrying
 * when a concurrent command moved the session on. An order is in Redis before it is acknowledged.
 */
export class TradingService {
  readonly store: TradingStore;
  private venue: ExecutionVenue | undefined;
  /** Exchanges whose orders go to a real venue (`EXECUTION_VENUES`); every other one is paper. */
  private readonly external = new Map<string, ExternalVenue>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Venue reports are applied one at a time, in the order the venue sent them. */
  private reports: Promise<void> = Promise.resolve();
  private closed = false;
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

  /**
   * Orders on `venue.exchange` execute on that venue from now on; its order stream moves them
   * through the state machine here.
   */
  useExternalVenue(venue: ExternalVenue): void {
    this.external.set(venue.exchange, venue);
    venue.start((report) => {
      this.reports = this.reports
        .then(() => this.onVenueReport(venue, report))
        .catch((err: unknown) =>
          this.options.log.error({ err, exchange: venue.exchange }, 'venue order update not applied'),
        );
    });
  }

  get region(): string {
    return this.options.region;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.venue?.close();
    for (const venue of this.external.values()) {
      venue.close().catch((err: unknown) => this.options.log.warn({ err }, 'venue close failed'));
    }
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
        let existing = await this.existingOrder(clientId, request.clientOrderId);
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
          // A retry of a placement whose venue answer never came: ask the venue, never place again.
          if (existing.pendingSince != null && isOpen(existing.status)) {
            existing = await this.reconcile(clientId, existing);
          }
          if (existing.status === 'REJECTED' && existing.rejectReason === 'VENUE_REJECTED') {
            return venueRejected(existing);
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
      const external = this.external.get(market.exchange);
      const plan = external
        ? await this.planExternal(session, market, request, print)
        : await this.plan(session, market, request, print);
      if (isFailure(plan)) return plan;
      const outcome = await this.store.write(clientId, plan.write);
      if (outcome === 'ok') {
        if (external) return this.submitExternal(clientId, plan.order, external);
        if ('rests' in plan && plan.rests) await this.execution.watch({ clientId, order: plan.order });
        return plan.order.status === 'REJECTED'
          ? rejected('POST_ONLY_WOULD_TAKE', 'A post-only order would have taken liquidity.', plan.order)
          : plan.order;
      }
      // 'stale': another command changed the session; 'duplicate': the clientOrderId was just
      // claimed by a concurrent request. Either way, read again and decide again.
    }
    throw new Error(`placeOrder: session ${request.sessionId} too contended`);
  }

  /** A new order of the session, NEW, reserving nothing yet. */
  private newOrder(
    session: Session,
    market: Market,
    request: OrderRequest,
    print: string,
    n: number,
    now: number,
  ): Order {
    const fees = feeRates(market);
    const order: Order = {
      id: orderId(session.id, n),
      sessionId: session.id,
      clientOrderId: request.clientOrderId,
      region: this.options.region,
      venue: this.external.has(market.exchange) ? 'CCXT' : 'PAPER',
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
    return order;
  }

  /**
   * An order for a real venue, recorded before the venue hears of it: NEW and pending, with its
   * reservation (a limit buy: price × (1 + fee) per unit; a sell: the base; a market buy: the
   * worst price its amount reaches in this region's book of the venue, with the fee).
   */
  private async planExternal(
    session: Session,
    market: Market,
    request: OrderRequest,
    print: string,
  ): Promise<TradingFailure | { order: Order; write: SessionWrite }> {
    const now = this.now();
    const n = session.orderCount + 1;
    const order = this.newOrder(session, market, request, print, n, now);
    const maxRate = maxFeeRate(order);
    if (order.side === 'SELL') {
      order.lockPerUnit = '1';
    } else if (order.price !== null) {
      order.lockPerUnit = buyLockPerUnit(order.price, maxRate);
    } else {
      let worst: string | undefined;
      try {
        const estimate = await this.execution.place(order);
        if (estimate.kind === 'execute') worst = estimate.fills.at(-1)?.price;
      } catch (error) {
        if (!(error instanceof VenueUnavailableError)) throw error;
      }
      if (worst === undefined) {
        return rejected(
          'BOOK_UNAVAILABLE',
          `No live book for ${market.symbol} on ${market.exchange}; try again.`,
        );
      }
      order.lockPerUnit = buyLockPerUnit(worst, maxRate);
    }
    order.locked = multiplyDecimal(order.amount, order.lockPerUnit);
    const free = available(session, order.lockAsset);
    if (compareDecimal(order.locked, free) > 0) {
      return {
        kind: 'InsufficientBalance',
        code: 'INSUFFICIENT_BALANCE',
        message: `${order.lockAsset}: ${order.locked} needed, ${free} available.`,
        asset: order.lockAsset,
        required: order.locked,
        available: free,
      };
    }
    order.pendingSince = now;
    session.orderCount = n;
    session.updatedAt = now;
    lock(session, order);
    const write = this.newWrite(session);
    this.emit(write, session, 'NEW', order, null, now);
    write.orders = [order];
    if (order.clientOrderId !== null) write.claim = { clientOrderId: order.clientOrderId, orderId: order.id };
    return { order, write };
  }

  /**
   * The order is in Redis (NEW, pending): now the venue. Its answer is recorded through the state
   * machine; a refusal ends the order REJECTED; no answer leaves it pending, and it is reconciled
   * by its venue client order id (on a retry of the same clientOrderId, on the venue's order
   * stream, and by a timer) — never placed a second time.
   */
  private async submitExternal(
    clientId: string,
    order: Order,
    venue: ExternalVenue,
  ): Promise<Outcome<Order>> {
    const ref: VenueOrderRef = { c: clientId, o: order.id };
    await this.store.redis.set(
      venueOrderKey(this.options.region, venue.exchange, venue.venueClientOrderId(order)),
      JSON.stringify(ref),
      'PX',
      this.store.limits.sessionTtlMs,
    );
    const result = await venue.submit(order);
    if (result.kind === 'accepted') {
      return (await this.applyVenueReport(clientId, order.id, result.report)) ?? order;
    }
    if (result.kind === 'rejected') {
      const after = await this.rejectAtVenue(clientId, order.id, result.message);
      return after ? venueRejected(after) : order;
    }
    this.options.log.warn(
      { order: order.id, exchange: venue.exchange, err: result.message },
      'venue did not answer a placement; reconciling by client order id',
    );
    this.scheduleReconcile(clientId, order.id, 0);
    return (await this.store.readOrder(clientId, order.sessionId, order.id)) ?? order;
  }

  /**
   * Asks the venue what became of a pending order and records it. Not found: if the venue can
   * still accept the request (inside its window), the order stays pending; past it, the venue
   * never will, and the order is REJECTED.
   */
  private async reconcile(clientId: string, order: Order): Promise<Order> {
    const venue = this.external.get(order.exchange);
    if (!venue) return order;
    const state = await venue.lookup(order);
    if (state === 'unknown') return order;
    if (state) return (await this.applyVenueReport(clientId, order.id, state)) ?? order;
    if (order.pendingSince != null && this.now() - order.pendingSince > venue.acceptWindowMs) {
      return (await this.rejectAtVenue(clientId, order.id, 'The order never reached the venue.')) ?? order;
    }
    return order;
  }

  private scheduleReconcile(clientId: string, orderId: string, attempt: number): void {
    if (this.closed) return;
    const delay = Math.min(RECONCILE_MAX_MS, RECONCILE_FIRST_MS * 2 ** attempt);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void (async () => {
        const parsed = parseOrderId(orderId);
        const order = parsed && (await this.store.readOrder(clientId, parsed.sessionId, orderId));
        if (!order || order.pendingSince == null || !isOpen(order.status)) return;
        const after = await this.reconcile(clientId, order);
        if (after.pendingSince != null && isOpen(after.status))
          this.scheduleReconcile(clientId, orderId, attempt + 1);
      })().catch((err: unknown) => {
        this.options.log.error({ err, order: orderId }, 'reconciliation failed');
        this.scheduleReconcile(clientId, orderId, attempt + 1);
      });
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** An update on a venue's order stream: applied to the order it names, if it is one of ours. */
  private async onVenueReport(venue: ExternalVenue, report: VenueOrderReport): Promise<void> {
    const raw = await this.store.redis.get(
      venueOrderKey(this.options.region, venue.exchange, report.venueClientOrderId),
    );
    if (!raw) return;
    const ref = JSON.parse(raw) as VenueOrderRef;
    await this.applyVenueReport(ref.c, ref.o, report);
  }

  /**
   * The venue's state of an order, through the state machine: the fills it reports beyond what is
   * recorded, then its end (CANCELED, EXPIRED, REJECTED). Reports are cumulative, so one applied
   * twice, late or after a later one changes nothing. Resolves with the order after it.
   */
  async applyVenueReport(clientId: string, orderId: string, report: VenueOrderReport): Promise<Order | null> {
    const parsed = parseOrderId(orderId);
    if (!parsed) return null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const session = await this.store.readSession(clientId, parsed.sessionId);
      const order = session && (await this.store.readOrder(clientId, parsed.sessionId, orderId));
      if (!session || !order) return null;
      if (!isOpen(order.status)) return order;
      const now = this.now();
      const write = this.newWrite(session);
      let changed = false;
      if (report.venueOrderId && order.venueOrderId !== report.venueOrderId) {
        order.venueOrderId = report.venueOrderId;
        changed = true;
      }
      if (order.pendingSince != null) {
        order.pendingSince = null;
        changed = true;
      }
      for (const planned of newFills(order, report)) {
        this.fill(write, session, order, planned, now);
        changed = true;
      }
      if (isOpen(order.status) && report.status !== 'OPEN' && report.status !== 'FILLED') {
        if (report.status === 'REJECTED' && order.status === 'NEW') {
          this.reject(write, session, order, 'The venue rejected the order.', now);
        } else if (report.status === 'EXPIRED') {
          transition(order, 'EXPIRED', now);
          releaseLock(session, order);
          this.emit(write, session, 'EXPIRED', order, null, now);
        } else {
          this.cancel(write, session, order, now);
        }
        changed = true;
      }
      if (!changed) return order;
      session.updatedAt = now;
      write.orders = [order];
      if ((await this.store.write(clientId, write)) === 'ok') return order;
    }
    throw new Error(`venue update of ${orderId}: session too contended`);
  }

  /** The venue refused the order (or never got it): NEW -> REJECTED, its reservation released. */
  private async rejectAtVenue(clientId: string, orderId: string, message: string): Promise<Order | null> {
    const parsed = parseOrderId(orderId);
    if (!parsed) return null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const session = await this.store.readSession(clientId, parsed.sessionId);
      const order = session && (await this.store.readOrder(clientId, parsed.sessionId, orderId));
      if (!session || !order) return null;
      if (order.status !== 'NEW') return order;
      const now = this.now();
      session.updatedAt = now;
      const write = this.newWrite(session);
      this.reject(write, session, order, message, now);
      write.orders = [order];
      if ((await this.store.write(clientId, write)) === 'ok') return order;
    }
    throw new Error(`venue rejection of ${orderId}: session too contended`);
  }

  private reject(write: SessionWrite, session: Session, order: Order, message: string, now: number): void {
    order.rejectReason = 'VENUE_REJECTED';
    order.rejectMessage = message;
    order.pendingSince = null;
    transition(order, 'REJECTED', now);
    releaseLock(session, order);
    this.emit(write, session, 'REJECTED', order, null, now);
  }

  /** Builds the new order, runs it against the venue, and prepares the one write that records it. */
  private async plan(
    session: Session,
    market: Market,
    request: OrderRequest,
    print: string,
  ): Promise<TradingFailure | { order: Order; write: SessionWrite; rests: boolean }> {
    const now = this.now();
    const n = session.orderCount + 1;
    const order = this.newOrder(session, market, request, print, n, now);
    const maxRate = maxFeeRate(order);
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
      if (order.venue === 'CCXT') return this.cancelExternal(clientId, order);
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

  /**
   * A venue's order is canceled by the venue: its answer (the order's final state, fills
   * included) goes through the state machine. An order the venue no longer has open is
   * reconciled; no answer leaves it as it is.
   */
  private async cancelExternal(clientId: string, order: Order): Promise<Outcome<Order>> {
    const venue = this.external.get(order.exchange);
    if (!venue) throw new Error(`no execution venue for ${order.exchange}`);
    const answer = await venue.cancel(order);
    let after: Order | null = order;
    if (answer === 'not-open') after = await this.reconcile(clientId, order);
    else if (answer !== 'unknown') after = await this.applyVenueReport(clientId, order.id, answer);
    if (!after) return orderNotFound({ id: order.id });
    if (after.status === 'CANCELED') return after;
    if (isOpen(after.status)) {
      return rejected(
        'VENUE_REJECTED',
        `${order.exchange} did not cancel order ${order.id}; try again.`,
        after,
      );
    }
    return rejected('ORDER_NOT_OPEN', `Order ${after.id} is ${after.status}.`, after);
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
    // Orders on real venues are canceled there first, one by one; what a venue does not cancel
    // stays open (and keeps following the venue), whatever the session does.
    for (const order of await this.store.allOrders(clientId, sessionId)) {
      if (order.venue !== 'CCXT' || !isOpen(order.status) || !matches(order)) continue;
      const result = await this.cancelExternal(clientId, order);
      if (!isFailure(result)) canceled.push(result);
    }
    const local = (o: Order) => isOpen(o.status) && o.venue !== 'CCXT';
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const session = await this.store.readSession(clientId, sessionId);
      if (!session) return sessionNotFound(sessionId);
      const all = await this.store.allOrders(clientId, sessionId);
      const open = all.filter((o) => local(o) && matches(o)).slice(0, WRITE_CHUNK);
      const finishing = closeSession && open.length === all.filter(local).length;
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
