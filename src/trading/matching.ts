import { addDecimal, compareDecimal, isZeroDecimal, subtractDecimal } from '../marketdata/decimal.ts';
import type { OrderBook } from '../marketdata/order-book.ts';
import { remaining } from './accounting.ts';
import type { Liquidity, Order } from './types.ts';

/** A fill the matcher decided on, before it is applied to a session. */
export interface PlannedFill {
  price: string;
  amount: string;
  liquidity: Liquidity;
}

export type Placement =
  /** Fills now; the rest rests on the book (GTC limit) or expires (market, IOC). */
  | { kind: 'execute'; fills: PlannedFill[]; rest: boolean }
  /** FOK that cannot fill completely: expires untouched. */
  | { kind: 'expire' }
  /** Post-only that would take liquidity. */
  | { kind: 'reject'; reason: 'POST_ONLY_WOULD_TAKE' };

function levelsFor(order: Order, book: OrderBook): readonly { price: string; size: string }[] {
  return order.side === 'BUY' ? book.asks.entries : book.bids.entries;
}

/** True when `levelPrice` is at or better than the order's limit for a taker of `side`. */
function withinLimit(order: Order, levelPrice: string): boolean {
  if (order.price === null) return true;
  const c = compareDecimal(levelPrice, order.price);
  return order.side === 'BUY' ? c <= 0 : c >= 0;
}

/** Walks the opposite side from the touch, level by level, up to the limit price and the amount. */
export function takerFills(order: Order, book: OrderBook): PlannedFill[] {
  const fills: PlannedFill[] = [];
  let left = remaining(order);
  for (const level of levelsFor(order, book)) {
    if (isZeroDecimal(left) || !withinLimit(order, level.price)) break;
    const amount = compareDecimal(level.size, left) <= 0 ? level.size : left;
    fills.push({ price: level.price, amount, liquidity: 'TAKER' });
    left = subtractDecimal(left, amount);
  }
  return fills;
}

/** What happens to a new order against the book as it is now. */
export function placeAgainstBook(order: Order, book: OrderBook): Placement {
  const fills = takerFills(order, book);
  if (order.type === 'MARKET') return { kind: 'execute', fills, rest: false };
  if (order.postOnly) {
    return fills.length > 0
      ? { kind: 'reject', reason: 'POST_ONLY_WOULD_TAKE' }
      : { kind: 'execute', fills: [], rest: true };
  }
  if (order.timeInForce === 'FOK') {
    const total = fills.reduce((sum, f) => addDecimal(sum, f.amount), '0');
    return compareDecimal(total, order.amount) < 0
      ? { kind: 'expire' }
      : { kind: 'execute', fills, rest: false };
  }
  return { kind: 'execute', fills, rest: order.timeInForce === 'GTC' };
}

/**
 * A resting limit order against the book after a change: when the opposite side crosses its
 * price, it fills (as maker, at its own price) up to the crossing size, less `consumed` by orders
 * matched before it in the same pass. The simulator's book does not see paper fills, so a level
 * that stays crossed keeps filling on later changes, as a market trading through the price would.
 */
export function restingFill(order: Order, book: OrderBook, consumed: string): PlannedFill | null {
  if (order.price === null) return null;
  let crossing = '0';
  for (const level of levelsFor(order, book)) {
    if (!withinLimit(order, level.price)) break;
    crossing = addDecimal(crossing, level.size);
  }
  const free = subtractDecimal(crossing, consumed);
  if (compareDecimal(free, '0') <= 0) return null;
  const left = remaining(order);
  return { price: order.price, amount: compareDecimal(free, left) < 0 ? free : left, liquidity: 'MAKER' };
}
