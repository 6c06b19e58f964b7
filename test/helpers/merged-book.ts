import type { BookEvent, Level } from '../../src/marketdata/types.ts';
import type { BookStore } from '../../src/redis/book-store.ts';
import { WriterLeases } from '../../src/redis/writer-lease.ts';
import { encodeBookEvent } from '../../src/wire/codec.ts';
import { decimal, units } from './exact.ts';
import { REGION } from './stack.ts';

/** A consolidated level as the API sends it. */
export interface MergedLevel {
  price: string;
  size: string;
  venues: { exchange: string; size: string }[];
}

/** One venue's book to merge. */
export interface VenueLevels {
  exchange: string;
  bids: readonly Level[];
  asks: readonly Level[];
}

/**
 * The merge of venues' books computed here, independently of the server: each venue's top
 * `depth`, sizes summed per price as BigInt, venues by exchange id, the top `depth` prices.
 */
export function mergeBooks(
  books: readonly VenueLevels[],
  depth: number,
): { bids: MergedLevel[]; asks: MergedLevel[] } {
  const side = (which: 'bids' | 'asks') => {
    const byPrice = new Map<bigint, { price: string; total: bigint; venues: MergedLevel['venues'] }>();
    for (const book of books) {
      for (const [price, size] of book[which].slice(0, depth)) {
        const key = units(price);
        const level = byPrice.get(key) ?? { price, total: 0n, venues: [] };
        level.total += units(size);
        level.venues.push({ exchange: book.exchange, size });
        byPrice.set(key, level);
      }
    }
    return [...byPrice.entries()]
      .sort(([a], [b]) => (which === 'bids' ? (b > a ? 1 : -1) : a > b ? 1 : -1))
      .slice(0, depth)
      .map(([, l]) => ({
        price: l.price,
        size: decimal(l.total),
        venues: l.venues.sort((a, b) => a.exchange.localeCompare(b.exchange)),
      }));
  };
  return { bids: side('bids'), asks: side('asks') };
}

/**
 * Writes a book for venue `exchange` whose bid (size 0.5) is 5 above `bestAsk`, another venue's
 * best ask, so the merged book crosses; epoch `forced-cross`. Returns that bid. The venue's
 * ingester must be stopped (its writer lease free).
 */
export async function writeCrossingBook(
  store: BookStore,
  exchange: string,
  symbol: string,
  bestAsk: string,
): Promise<string> {
  const crossingBid = decimal(units(bestAsk) + units('5'));
  const event: BookEvent = {
    kind: 'snapshot',
    exchange,
    symbol,
    region: REGION,
    epoch: 'forced-cross',
    seq: 1,
    exchangeTs: Date.now(),
    receiveTs: Date.now(),
    bids: [[crossingBid, '0.5']],
    asks: [[decimal(units(crossingBid) + units('1')), '0.5']],
  };
  // Written as a writer would: holding the venue's writer lease, so the fence lets it through.
  const leases = new WriterLeases(store.redis, REGION, 'test-crossing-book');
  const { token, holder } = await leases.claim(exchange, 60_000);
  if (token === 0) throw new Error(`${exchange} is being written by ${holder}: stop its ingester first`);
  try {
    await store.writeBookEvent(event, encodeBookEvent(event), token);
  } finally {
    await leases.release(exchange);
  }
  return crossingBid;
}
