import { compareDecimal } from '../marketdata/decimal.ts';
import type { Market } from '../marketdata/types.ts';
import { lock } from './accounting.ts';
import { orderId } from './ids.ts';
import { feeRates } from './order-input.ts';
import { assertHomeRegion } from './order-machine.ts';
import { beginWrite, recordUpdate } from './session-write.ts';
import type { SessionWrite } from './trading-store.ts';
import type { Order, OrderRequest, Session, VenueName } from './types.ts';

/** What a placement has decided on before the order exists: the session read, its market, the request. */
export interface OrderToPlan {
  session: Session;
  market: Market;
  request: OrderRequest;
  /** The request's fingerprint, kept on the order for idempotent retries. */
  fingerprint: string;
}

/** A new order of the session, NEW, reserving nothing yet: the session's n-th. */
export function newOrder(
  { session, market, request, fingerprint }: OrderToPlan,
  venue: VenueName,
  region: string,
  n: number,
  now: number,
): Order {
  const fees = feeRates(market);
  const order: Order = {
    id: orderId(session.id, n),
    sessionId: session.id,
    clientOrderId: request.clientOrderId,
    region,
    venue,
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
    fingerprint,
    createdAt: now,
    updatedAt: now,
  };
  assertHomeRegion(order.id, region);
  return order;
}

/** The higher of the order's fee rates: what a reservation must cover whichever way it fills. */
export function maxFeeRate(order: Order): string {
  return compareDecimal(order.makerFeeRate, order.takerFeeRate) >= 0
    ? order.makerFeeRate
    : order.takerFeeRate;
}

/** Counts the n-th order into the session, reserves what it locks, and starts the write with its NEW. */
export function recordNewOrder(session: Session, order: Order, n: number, now: number): SessionWrite {
  session.orderCount = n;
  session.updatedAt = now;
  lock(session, order);
  const write = beginWrite(session);
  recordUpdate(write, session, 'NEW', order, null, now);
  return write;
}

/** The write stores the order and claims its clientOrderId (failing 'duplicate' if another holds it). */
export function storeNewOrder(write: SessionWrite, order: Order): void {
  write.orders = [order];
  if (order.clientOrderId !== null) write.claim = { clientOrderId: order.clientOrderId, orderId: order.id };
}
