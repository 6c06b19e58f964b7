import { OrderBook } from './order-book.ts';
import type { Level, RawBookUpdate } from './types.ts';

/** Per price, the later size wins (size 0 stays: in a delta it removes the level). */
function mergeLevels(earlier: readonly Level[], later: readonly Level[]): Level[] {
  const byPrice = new Map<string, string>();
  for (const [price, size] of earlier) byPrice.set(price, size);
  for (const [price, size] of later) byPrice.set(price, size);
  return [...byPrice];
}

/**
 * One update with the effect of `earlier` then `later` on any book: what the ingester writes in
 * place of updates that queued while the book's writes were backed up (Redis slow but connected).
 * A snapshot later replaces everything; a delta after a snapshot is folded into the snapshot; two
 * deltas merge per price. Prices are canonical decimal strings (the normaliser's output), so equal
 * prices are equal strings. Times and the venue seq are the later update's.
 */
export function mergeBookUpdates(earlier: RawBookUpdate, later: RawBookUpdate): RawBookUpdate {
  if (later.kind === 'snapshot') return later;
  const venueSeq = later.venueSeq ?? earlier.venueSeq;
  const merged: RawBookUpdate = {
    ...earlier,
    exchangeTs: later.exchangeTs,
    receiveTs: later.receiveTs,
    ...(venueSeq === undefined ? {} : { venueSeq }),
  };
  if (earlier.kind === 'snapshot') {
    const book = OrderBook.from(earlier.bids, earlier.asks);
    book.apply(later.bids, later.asks);
    const all = book.top(Number.POSITIVE_INFINITY);
    return { ...merged, bids: all.bids, asks: all.asks };
  }
  return {
    ...merged,
    bids: mergeLevels(earlier.bids, later.bids),
    asks: mergeLevels(earlier.asks, later.asks),
  };
}
