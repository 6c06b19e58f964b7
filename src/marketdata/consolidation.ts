import { addDecimal, compareDecimal, midpointDecimal } from './decimal.ts';
import type { Level } from './types.ts';

/** One venue's book as it enters a consolidation: levels best first, and where they stand. */
export interface VenueBook {
  exchange: string;
  /** The region whose copy of the venue's book this is (several regions may ingest one venue). */
  region?: string;
  epoch: string;
  seq: number;
  exchangeTs: number;
  receiveTs: number;
  stale: boolean;
  bids: readonly Level[];
  asks: readonly Level[];
}

export interface VenueSize {
  exchange: string;
  size: string;
}

/** A price level of the consolidated book: the total size at the price and who quotes it. */
export interface ConsolidatedLevel {
  price: string;
  size: string;
  /** Venues quoting the price, by exchange id. */
  venues: VenueSize[];
}

/**
 * Merges one side of several venues' books into the top `depth` consolidated levels. Prices are
 * canonical decimal strings, so equal prices from different venues are equal strings; sizes are
 * summed exactly. Each venue contributes at most its own top `depth` levels, which is all the
 * merged top `depth` can contain.
 */
export function mergeSide(
  books: readonly VenueBook[],
  side: 'bids' | 'asks',
  depth: number,
): ConsolidatedLevel[] {
  const byPrice = new Map<string, ConsolidatedLevel>();
  for (const book of books) {
    const levels = book[side];
    for (let i = 0; i < levels.length && i < depth; i++) {
      const [price, size] = levels[i]!;
      const level = byPrice.get(price);
      if (level) {
        level.size = addDecimal(level.size, size);
        level.venues.push({ exchange: book.exchange, size });
      } else {
        byPrice.set(price, { price, size, venues: [{ exchange: book.exchange, size }] });
      }
    }
  }
  const sign = side === 'bids' ? -1 : 1;
  const levels = [...byPrice.values()].sort((a, b) => sign * compareDecimal(a.price, b.price));
  for (const level of levels) level.venues.sort((a, b) => (a.exchange < b.exchange ? -1 : 1));
  return levels.slice(0, depth);
}

export interface ConsolidatedTop {
  bids: ConsolidatedLevel[];
  asks: ConsolidatedLevel[];
  /** Best bid above best ask across venues: served as it is, and flagged. */
  crossed: boolean;
  mid: string | null;
}

export function consolidate(books: readonly VenueBook[], depth: number): ConsolidatedTop {
  const bids = mergeSide(books, 'bids', depth);
  const asks = mergeSide(books, 'asks', depth);
  const bid = bids[0];
  const ask = asks[0];
  return {
    bids,
    asks,
    crossed: bid !== undefined && ask !== undefined && compareDecimal(bid.price, ask.price) > 0,
    mid: bid && ask ? midpointDecimal(bid.price, ask.price) : null,
  };
}
