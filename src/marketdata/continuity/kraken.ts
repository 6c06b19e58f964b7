import { crc32, ShadowBook, type VenueLevel } from './shadow-book.ts';
import {
  type CheckedMarket,
  HOLD,
  type Inspection,
  integerField,
  isRecord,
  PASS,
  PerMarket,
  type VenueContinuity,
} from './types.ts';

/**
 * Kraken WS v2 `book`: a `snapshot` on subscribing, then `update`s; every message carries the
 * CRC32 of the best 10 asks then the best 10 bids after it, each level as its price then its
 * quantity with the decimal point and leading zeros removed, at the pair's precision. The book is
 * kept at the subscribed depth: a level pushed out comes with no delete, the client truncates.
 * ccxt ships this check switched off (and it fails on every book when switched on: it formats
 * the numbers v2 sends as if they were strings), so it is done here, on our own copy of the book.
 */
export function krakenContinuity(markets: readonly CheckedMarket[], depth: number): VenueContinuity {
  const byId = new Map(markets.map((m) => [m.id, m]));
  const books = new PerMarket<ShadowBook>();
  const times = new Map<string, number>();
  return {
    description: `checksum (CRC32 of the best 10 levels, book kept at depth ${depth})`,
    inspect(message, connection): Inspection {
      if (!isRecord(message) || message.channel !== 'book' || !Array.isArray(message.data)) return PASS;
      for (const entry of message.data) {
        if (!isRecord(entry) || typeof entry.symbol !== 'string') continue;
        const market = byId.get(entry.symbol);
        if (!market) continue;
        let book = books.get(connection, market.id);
        if (message.type === 'snapshot') book = new ShadowBook();
        if (!book) return HOLD;
        book.apply('bids', krakenLevels(entry.bids, market));
        book.apply('asks', krakenLevels(entry.asks, market));
        book.truncate(depth);
        books.set(connection, market.id, book);
        const checksum = integerField(entry, 'checksum');
        const ours = krakenChecksum(book);
        if (checksum !== ours) {
          return {
            kind: 'break',
            marketId: market.id,
            check: 'checksum',
            reason: `checksum ${checksum} after ${String(message.type)}, our book gives ${ours}`,
          };
        }
        const time = typeof entry.timestamp === 'string' ? Date.parse(entry.timestamp) : Number.NaN;
        if (Number.isFinite(time)) times.set(market.id, time);
      }
      return PASS;
    },
    bookDepth: depth,
    lastTime: (marketId) => times.get(marketId),
    messageHash: (symbol) => `orderbook@${symbol}`,
    unsubscribe: (market) => ({
      method: 'unsubscribe',
      params: { channel: 'book', symbol: [market.id], depth },
    }),
    reset: (marketId, connection) => books.delete(connection, marketId),
    forget: (connection) => books.forget(connection),
  };
}

/** v2 sends numbers: written back at the pair's precision, as Kraken computes the checksum. */
function krakenLevels(value: unknown, market: CheckedMarket): VenueLevel[] {
  if (!Array.isArray(value)) return [];
  const levels: VenueLevel[] = [];
  for (const level of value) {
    if (!isRecord(level) || typeof level.price !== 'number' || typeof level.qty !== 'number') continue;
    levels.push([fixed(level.price, market.priceDecimals), fixed(level.qty, market.amountDecimals)]);
  }
  return levels;
}

function fixed(value: number, decimals: number | undefined): string {
  return decimals === undefined ? String(value) : value.toFixed(decimals);
}

/** Kraken's checksum of a book: best 10 asks ascending, then best 10 bids descending. */
export function krakenChecksum(book: ShadowBook): number {
  const digits = (text: string) => text.replace('.', '').replace(/^0+/, '');
  const part = (levels: readonly VenueLevel[]) => levels.map(([p, q]) => digits(p) + digits(q)).join('');
  return crc32(part(book.top('asks', 10)) + part(book.top('bids', 10)));
}
