import type { OrderBook as CcxtOrderBook } from 'ccxt';
import { decimalFromNumber } from './decimal.ts';
import type { Level } from './types.ts';

/** A ccxt book's levels (floats exactly as ccxt holds them) to and from ours, for the ccxt feed. */
type CcxtLevels = CcxtOrderBook['bids'];

export function sideMap(levels: CcxtLevels): Map<number, number> {
  const map = new Map<number, number>();
  for (const level of levels) {
    const [price, size] = level;
    if (typeof price === 'number' && typeof size === 'number' && size > 0) map.set(price, size);
  }
  return map;
}

/** Changed levels as absolute sizes, levels gone as "0"; updates `previous` to the new side. */
export function diffSide(previous: Map<number, number>, levels: CcxtLevels): Level[] {
  const changes: Level[] = [];
  const next = sideMap(levels);
  for (const [price, size] of next) {
    if (previous.get(price) !== size) changes.push([decimalFromNumber(price), decimalFromNumber(size)]);
  }
  for (const price of previous.keys()) {
    if (!next.has(price)) changes.push([decimalFromNumber(price), '0']);
  }
  previous.clear();
  for (const [price, size] of next) previous.set(price, size);
  return changes;
}

export function formatSide(side: Map<number, number>): Level[] {
  return [...side].map(([price, size]) => [decimalFromNumber(price), decimalFromNumber(size)]);
}
