import { midpointDecimal, subtractDecimal } from '../marketdata/decimal.ts';
import type { Level } from '../marketdata/types.ts';

/** Exact mid of the touch, or null on a one-sided book. */
export function mid(bestBid: Level | undefined, bestAsk: Level | undefined): string | null {
  return bestBid && bestAsk ? midpointDecimal(bestBid[0], bestAsk[0]) : null;
}

/** Ask minus bid at the touch, or null on a one-sided book. Negative when the book is crossed. */
export function spread(bestBid: Level | undefined, bestAsk: Level | undefined): string | null {
  return bestBid && bestAsk ? subtractDecimal(bestAsk[0], bestBid[0]) : null;
}
