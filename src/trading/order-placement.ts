import { createHash, randomUUID } from 'node:crypto';
import type { Market } from '../marketdata/types.ts';
import type { BookStore } from '../redis/book-store.ts';
import type { ExternalVenueOrders } from './external-venue-orders.ts';
import {
  isFailure,
  type Outcome,
  type RejectReason,
  rejected,
  sessionNotFound,
  venueRejected,
} from './failures.ts';
import { isSessionId } from './ids.ts';
import { checkMarketRules } from './order-input.ts';
import { existingOrder } from './order-queries.ts';
import type { PaperOrders } from './paper-orders.ts';
import { MAX_ATTEMPTS } from './session-write.ts';
import type { TradingStore } from './trading-store.ts';
import { isOpen, type Order, type OrderRequest } from './types.ts';
import type { ExternalVenue } from './venue.ts';
import type { VenueReconciliation } from './venue-reconciliation.ts';

export interface OrderPlacementOptions {
  store: TradingStore;
  /** Market metadata (precision, limits, fees). */
  markets: Pick<BookStore, 'readMarket'>;
  region: string;
  /** Orders one session may hold; past it, placement is rejected. */
  maxOrders: number;
  paper: PaperOrders;
  /** The real venues by exchange id; orders of every other exchange trade on paper. */
  venues: ReadonlyMap<string, ExternalVenue>;
  venueOrders: ExternalVenueOrders;
  reconciliation: VenueReconciliation;
}

/** What makes two placements the same request: a retried clientOrderId must match it. */
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

/**
 * Placing an order: a retried clientOrderId answers with the order it made; otherwise the
 * request is checked against its market and session, planned on the venue its exchange trades
 * on (paper, or a real one), and stored before anything is acknowledged.
 */
export class OrderPlacement {
  constructor(private readonly options: OrderPlacementOptions) {}

  async place(clientId: string, request: OrderRequest): Promise<Outcome<Order>> {
    if (!isSessionId(request.sessionId)) return sessionNotFound(request.sessionId);
    const { store, paper, venueOrders } = this.options;
    const print = fingerprint(request);
    // The placement's idempotency key inside Redis (a clientOrderId is the client's): a write
    // resent after its reply was lost is recognised, never decided again as a second order.
    const opId = `place:${randomUUID()}`;
    let market: Market | null | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const session = await store.readSession(clientId, request.sessionId);
      if (!session) return sessionNotFound(request.sessionId);
      if (request.clientOrderId !== null) {
        const existing = await existingOrder(store, clientId, request.clientOrderId);
        if (existing) return this.replay(clientId, request.clientOrderId, existing, print);
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
      if (session.orderCount >= this.options.maxOrders) {
        return rejected(
          'SESSION_ORDER_LIMIT',
          `Session "${session.id}" holds the maximum of ${this.options.maxOrders} orders.`,
        );
      }
      const venue = this.options.venues.get(market.exchange);
      const toPlan = { session, market, request, fingerprint: print };
      const plan = venue ? await venueOrders.plan(toPlan) : await paper.plan(toPlan);
      if (isFailure(plan)) return plan;
      const outcome = await store.write(clientId, { ...plan.write, opId });
      if (outcome === 'ok') {
        if (venue) return venueOrders.submit(clientId, plan.order, venue);
        if ('rests' in plan && plan.rests) await paper.watch(clientId, plan.order);
        return plan.order.status === 'REJECTED'
          ? rejected('POST_ONLY_WOULD_TAKE', 'A post-only order would have taken liquidity.', plan.order)
          : plan.order;
      }
      // 'stale': another command changed the session; 'duplicate': the clientOrderId was just
      // claimed by a concurrent request. Either way, read again and decide again.
    }
    throw new Error(`placeOrder: session ${request.sessionId} too contended`);
  }

  /** A clientOrderId used before: the same request gets the order it made, another one a conflict. */
  private async replay(
    clientId: string,
    clientOrderId: string,
    existing: Order,
    print: string,
  ): Promise<Outcome<Order>> {
    if (existing.fingerprint !== print) {
      return {
        kind: 'IdempotencyConflict',
        code: 'IDEMPOTENCY_CONFLICT',
        message: `clientOrderId "${clientOrderId}" was already used for a different order.`,
        clientOrderId,
        orderId: existing.id,
      };
    }
    let order = existing;
    // A retry of a placement whose venue answer never came: ask the venue, never place again.
    if (order.pendingSince != null && isOpen(order.status)) {
      order = await this.options.reconciliation.reconcile(clientId, order);
    }
    if (order.status === 'REJECTED' && order.rejectReason === 'VENUE_REJECTED') {
      return venueRejected(order);
    }
    return order.status === 'REJECTED'
      ? rejected(
          (order.rejectReason ?? 'POST_ONLY_WOULD_TAKE') as RejectReason,
          `Order ${order.id} was rejected.`,
          order,
        )
      : order;
  }
}
