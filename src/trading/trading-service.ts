import type { Logger } from 'pino';
import type { BookStore } from '../redis/book-store.ts';
import { ExternalVenueOrders } from './external-venue-orders.ts';
import { isFailure, type Outcome, type TradingFailure, wrongRegion } from './failures.ts';
import { homeRegion, isSessionId, parseOrderId } from './ids.ts';
import type { PlannedFill } from './matching.ts';
import { openOrders } from './open-orders.ts';
import { OrderCancellation } from './order-cancellation.ts';
import { OrderPlacement } from './order-placement.ts';
import { findOrder, type OrderRef, type OrdersPageArgs, pageOrders } from './order-queries.ts';
import { PaperOrders } from './paper-orders.ts';
import { createWrite, newSession } from './session-write.ts';
import type { AuditEntry, TradingStore } from './trading-store.ts';
import type { Order, OrderRequest, Session } from './types.ts';
import type { ExecutionVenue, ExternalVenue, RestingOrder, VenueOrderReport } from './venue.ts';
import { VenueReconciliation, type VenueReconciliationOptions } from './venue-reconciliation.ts';

// Resolvers name a command's result by this module, where the commands are.
export type { Outcome } from './failures.ts';

export interface TradingServiceOptions {
  store: TradingStore;
  /** Market metadata (precision, limits, fees). */
  markets: Pick<BookStore, 'readMarket'>;
  region: string;
  log: Logger;
  now?: () => number;
  /** Orders one session may hold; past it, placement is rejected. @default 10000 */
  maxOrdersPerSession?: number;
  /** Where venue reports for orders no longer open are counted. @default not counted */
  metrics?: VenueReconciliationOptions['metrics'];
}

/**
 * Sessions and orders: validation, idempotency, balances and the order state machine, over the
 * TradingStore; execution is the venue's. Each command reads the session, decides in Node with
 * exact decimals, and writes everything it changed with one conditional script call, retrying
 * when a concurrent command moved the session on. An order is in Redis before it is acknowledged.
 *
 * This class is the commands' one entry: it audits them and hands each to the part that owns it
 * (placement, cancellation, paper or real venue orders, venue reconciliation).
 */
export class TradingService {
  readonly store: TradingStore;
  private venue: ExecutionVenue | undefined;
  /** Exchanges whose orders go to a real venue (`EXECUTION_VENUES`); every other one is paper. */
  private readonly external = new Map<string, ExternalVenue>();
  private readonly now: () => number;
  private readonly paper: PaperOrders;
  private readonly venueOrders: ExternalVenueOrders;
  private readonly reconciliation: VenueReconciliation;
  private readonly placement: OrderPlacement;
  private readonly cancellation: OrderCancellation;
  private closed = false;

  constructor(private readonly options: TradingServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    const { store, region, log } = options;
    const now = this.now;
    // The paper venue is set after construction (it reports fills back into this service).
    const execution = () => this.execution;
    const venues = this.external;
    const { metrics } = options;
    this.reconciliation = new VenueReconciliation({ store, log, now, venues, metrics });
    this.paper = new PaperOrders({ store, region, now, execution });
    const reconciliation = this.reconciliation;
    this.venueOrders = new ExternalVenueOrders({
      store,
      region,
      log,
      now,
      execution,
      venues,
      reconciliation,
    });
    this.placement = new OrderPlacement({
      store,
      markets: options.markets,
      region,
      maxOrders: options.maxOrdersPerSession ?? 10_000,
      paper: this.paper,
      venues,
      venueOrders: this.venueOrders,
      reconciliation,
    });
    this.cancellation = new OrderCancellation({
      store,
      now,
      paper: this.paper,
      venueOrders: this.venueOrders,
    });
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
    this.venueOrders.follow(venue);
  }

  get region(): string {
    return this.options.region;
  }

  /**
   * Takes over the region's open paper orders: every one resting in Redis is watched again by
   * this process (a restart, or a server that took it stopped), so it fills when its book
   * crosses it. Several processes may watch one order; the conditional write fills it once.
   * Orders on real venues are reconciled when each venue's order stream connects.
   */
  async start(): Promise<void> {
    const { log, region } = this.options;
    let watched = 0;
    for await (const { clientId, order } of openOrders(this.store, region)) {
      if (this.closed) return;
      if (order.venue !== 'PAPER') continue;
      try {
        await this.paper.watch(clientId, order);
        watched += 1;
      } catch (err) {
        log.error({ err, order: order.id }, 'resting paper order not watched');
      }
    }
    if (watched > 0) log.info({ watched, region }, 'resting paper orders watched again');
  }

  close(): void {
    this.closed = true;
    this.reconciliation.stop();
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
    const session = newSession(clientId, this.options.region, balances, this.now());
    const outcome = await this.store.write(clientId, createWrite(session));
    if (outcome !== 'ok') throw new Error(`session ${session.id} could not be created (${outcome})`);
    await this.audit(clientId, { action: 'openSession', sessionId: session.id, result: 'accepted' });
    return session;
  }

  /** The client's session, or null: another client's session is exactly as absent as a missing one. */
  async session(clientId: string, sessionId: string): Promise<Session | null> {
    if (!isSessionId(sessionId)) return null;
    const session = await this.store.readSession(clientId, sessionId);
    // Only the home region extends a session's life: its keys keep one writer (Active-Active).
    if (session && homeRegion(sessionId) === this.options.region) await this.store.touch(clientId, sessionId);
    return session;
  }

  async closeSession(clientId: string, sessionId: string): Promise<Outcome<Session>> {
    const refused = await this.foreign(clientId, 'closeSession', sessionId);
    if (refused) return refused;
    const result = await this.cancellation.cancelMatching(clientId, sessionId, () => true, true);
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
    const refused = await this.foreign(clientId, 'placeOrder', request.sessionId);
    if (refused) return refused;
    const result = await this.placement.place(clientId, request);
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

  /** A venue's fill of a resting order, applied like every other change. */
  applyVenueFill(resting: RestingOrder, planned: PlannedFill): Promise<Order | null> {
    return this.paper.applyFill(resting, planned);
  }

  /**
   * The venue's state of an order, through the state machine: the fills it reports beyond what is
   * recorded, then its end. Resolves with the order after it.
   */
  applyVenueReport(clientId: string, orderId: string, report: VenueOrderReport): Promise<Order | null> {
    return this.reconciliation.applyReport(clientId, orderId, report);
  }

  async cancelOrder(clientId: string, ref: OrderRef): Promise<Outcome<Order>> {
    const where = await findOrder(this.store, clientId, ref);
    // Another region's order is refused only once it is known to exist (else: ORDER_NOT_FOUND).
    if (where && homeRegion(where.sessionId) !== this.options.region) {
      const order = await this.store.readOrder(clientId, where.sessionId, where.id);
      const refused = order && (await this.foreign(clientId, 'cancelOrder', where.sessionId));
      if (refused) return refused;
    }
    const result = await this.cancellation.cancelOne(clientId, ref);
    await this.audit(clientId, {
      action: 'cancelOrder',
      sessionId: isFailure(result) ? (parseOrderId(ref.id ?? '')?.sessionId ?? '') : result.sessionId,
      orderId: isFailure(result) ? (ref.id ?? null) : result.id,
      clientOrderId: ref.clientOrderId ?? null,
      result: isFailure(result) ? result.kind : 'accepted',
    });
    return result;
  }

  async cancelAllOrders(
    clientId: string,
    args: { sessionId: string; exchange?: string | null; symbol?: string | null },
  ): Promise<Outcome<Order[]>> {
    const refused = await this.foreign(clientId, 'cancelAllOrders', args.sessionId);
    if (refused) return refused;
    const matches = (o: Order) =>
      (!args.exchange || o.exchange === args.exchange) && (!args.symbol || o.symbol === args.symbol);
    const result = await this.cancellation.cancelMatching(clientId, args.sessionId, matches, false);
    await this.audit(clientId, {
      action: 'cancelAllOrders',
      sessionId: args.sessionId,
      result: isFailure(result) ? result.kind : 'accepted',
      detail: isFailure(result) ? undefined : `canceled ${result.orders.length}`,
    });
    return isFailure(result) ? result : result.orders;
  }

  /** One order of the client by id or clientOrderId; null if it is not the client's. */
  async order(clientId: string, ref: OrderRef): Promise<Order | null> {
    const found = await findOrder(this.store, clientId, ref);
    return found && this.store.readOrder(clientId, found.sessionId, found.id);
  }

  /**
   * A page of the session's orders, newest first, filtered; `after` is the last order id of the
   * previous page. Scans at most `scanLimit` orders per page.
   */
  async orders(
    clientId: string,
    args: OrdersPageArgs,
    scanLimit = 5_000,
  ): Promise<{ orders: Order[]; hasNextPage: boolean } | null> {
    const session = await this.session(clientId, args.sessionId);
    if (!session) return null;
    return pageOrders(this.store, clientId, session, args, scanLimit);
  }

  /**
   * WRONG_REGION when the client's session `sessionId` exists and another region owns it, else
   * null (a missing session is the command's own SESSION_NOT_FOUND). It only reads: a refused
   * command writes nothing, not even an audit entry, so it is logged instead.
   */
  private async foreign(
    clientId: string,
    action: AuditEntry['action'],
    sessionId: string,
  ): Promise<TradingFailure | null> {
    const { region, log } = this.options;
    const home = homeRegion(sessionId);
    if (home === null || home === region) return null;
    if (!(await this.store.readSession(clientId, sessionId))) return null;
    log.info(
      { clientId, action, sessionId, homeRegion: home },
      'trading write refused: another region owns the session',
    );
    return wrongRegion(sessionId, home, region);
  }

  private async audit(clientId: string, entry: AuditEntry): Promise<void> {
    try {
      await this.store.audit(clientId, entry, this.now());
    } catch (err) {
      this.options.log.error({ err, clientId, action: entry.action }, 'audit append failed');
    }
  }
}
