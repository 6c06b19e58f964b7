import {
  addDecimal,
  compareDecimal,
  divideDecimal,
  isZeroDecimal,
  multiplyDecimal,
  subtractDecimal,
} from '../marketdata/decimal.ts';
import { transition } from './order-machine.ts';
import type { Fill, Liquidity, Order, Position, Session } from './types.ts';

/** Places kept when a ratio has to be cut (average prices, a reduced position's cost). */
export const RATIO_PLACES = 18;

function get(map: Map<string, string>, asset: string): string {
  return map.get(asset) ?? '0';
}

function add(map: Map<string, string>, asset: string, amount: string): void {
  map.set(asset, addDecimal(get(map, asset), amount));
}

/** What the session can still commit of an asset: total minus what open orders reserve. */
export function available(session: Session, asset: string): string {
  return subtractDecimal(get(session.totals, asset), get(session.locked, asset));
}

/** Reserves the order's `locked` amount of `lockAsset`. */
export function lock(session: Session, order: Order): void {
  if (!isZeroDecimal(order.locked)) add(session.locked, order.lockAsset, order.locked);
}

/** Releases what the order still reserves (it ended: canceled, expired, filled). */
export function releaseLock(session: Session, order: Order): void {
  if (isZeroDecimal(order.locked)) return;
  add(session.locked, order.lockAsset, negate(order.locked));
  order.locked = '0';
}

export function remaining(order: Order): string {
  return subtractDecimal(order.amount, order.filled);
}

export function positionKey(exchange: string, symbol: string): string {
  return `${exchange}|${symbol}`;
}

function negate(value: string): string {
  return isZeroDecimal(value) ? '0' : value.startsWith('-') ? value.slice(1) : `-${value}`;
}

/**
 * Average-cost position accounting. Adding to a position adds price × amount to its cost;
 * reducing it removes the same share of the cost and realises the difference. The share is the
 * one ratio that is cut (to RATIO_PLACES); everything else is exact.
 */
export function applyToPosition(
  position: Position,
  side: Order['side'],
  price: string,
  amount: string,
  fee: string,
): void {
  const signed = side === 'BUY' ? amount : negate(amount);
  const q = position.quantity;
  const sameDirection = isZeroDecimal(q) || q.startsWith('-') === signed.startsWith('-');
  position.fees = addDecimal(position.fees, fee);
  position.realisedPnl = subtractDecimal(position.realisedPnl, fee);
  if (sameDirection) {
    position.quantity = addDecimal(q, signed);
    position.cost = addDecimal(position.cost, multiplyDecimal(signed, price));
    return;
  }
  const held = q.startsWith('-') ? negate(q) : q;
  const closing = compareDecimal(amount, held) <= 0 ? amount : held;
  const removedCost = divideDecimal(multiplyDecimal(position.cost, closing), held, RATIO_PLACES);
  // Long reduced by a sell: proceeds minus cost. Short reduced by a buy: -(outlay) minus (negative) cost.
  const closingValue = multiplyDecimal(closing, price);
  const gain =
    side === 'SELL'
      ? subtractDecimal(closingValue, removedCost)
      : subtractDecimal(negate(closingValue), removedCost);
  position.realisedPnl = addDecimal(position.realisedPnl, gain);
  position.cost = subtractDecimal(position.cost, removedCost);
  position.quantity = addDecimal(q, side === 'BUY' ? closing : negate(closing));
  const opening = subtractDecimal(amount, closing);
  if (!isZeroDecimal(opening)) {
    const signedOpening = side === 'BUY' ? opening : negate(opening);
    position.quantity = addDecimal(position.quantity, signedOpening);
    position.cost = addDecimal(position.cost, multiplyDecimal(signedOpening, price));
  }
  if (isZeroDecimal(position.quantity)) position.cost = '0';
}

/** Mark-to-market gain of a position at `mark`: quantity × mark − cost. */
export function unrealisedPnl(position: Position, mark: string): string {
  return subtractDecimal(multiplyDecimal(position.quantity, mark), position.cost);
}

/** price × (1 + rate): what a limit buy reserves per unit, fee included. */
export function buyLockPerUnit(price: string, feeRate: string): string {
  return multiplyDecimal(price, addDecimal('1', feeRate));
}

export interface FillInput {
  id: string;
  price: string;
  amount: string;
  liquidity: Liquidity;
  ts: number;
}

/**
 * Applies one fill to the session and the order: balances (fee in the quote asset), the order's
 * reservation, its filled amount and status, and the market's position. Returns the fill.
 */
export function applyFill(session: Session, order: Order, input: FillInput): Fill {
  const rate = input.liquidity === 'MAKER' ? order.makerFeeRate : order.takerFeeRate;
  const notional = multiplyDecimal(input.price, input.amount);
  const fee = multiplyDecimal(notional, rate);
  const release = multiplyDecimal(input.amount, order.lockPerUnit);
  if (order.side === 'BUY') {
    add(session.totals, order.quote, negate(addDecimal(notional, fee)));
    add(session.totals, order.base, input.amount);
  } else {
    add(session.totals, order.base, negate(input.amount));
    add(session.totals, order.quote, subtractDecimal(notional, fee));
  }
  if (!isZeroDecimal(order.locked)) {
    const released = compareDecimal(release, order.locked) <= 0 ? release : order.locked;
    add(session.locked, order.lockAsset, negate(released));
    order.locked = subtractDecimal(order.locked, released);
  }
  order.filled = addDecimal(order.filled, input.amount);
  order.cost = addDecimal(order.cost, notional);
  order.fee = addDecimal(order.fee, fee);
  const key = positionKey(order.exchange, order.symbol);
  const position = session.positions.get(key) ?? {
    exchange: order.exchange,
    symbol: order.symbol,
    base: order.base,
    quote: order.quote,
    quantity: '0',
    cost: '0',
    realisedPnl: '0',
    fees: '0',
  };
  applyToPosition(position, order.side, input.price, input.amount, fee);
  session.positions.set(key, position);
  transition(order, isZeroDecimal(remaining(order)) ? 'FILLED' : 'PARTIALLY_FILLED', input.ts);
  if (order.status === 'FILLED') releaseLock(session, order);
  return {
    id: input.id,
    orderId: order.id,
    sessionId: order.sessionId,
    exchange: order.exchange,
    symbol: order.symbol,
    side: order.side,
    price: input.price,
    amount: input.amount,
    fee,
    feeAsset: order.quote,
    liquidity: input.liquidity,
    ts: input.ts,
  };
}

/** Average fill price, cut to RATIO_PLACES; null before the first fill. */
export function averagePrice(order: Order): string | null {
  return isZeroDecimal(order.filled) ? null : divideDecimal(order.cost, order.filled, RATIO_PLACES);
}
