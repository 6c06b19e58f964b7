/**
 * The one place that names Redis keys and channels. docs/REDIS_KEYS.md lists each with its type,
 * writer, bound and behaviour under Active-Active replication; change both together.
 *
 * Every key of one book shares the hash tag `{exchange:symbol}`, so scripts touching them stay in
 * one Cluster slot. Every key names the region whose ingester wrote it: several regions may ingest
 * the same venue, and each copy keeps exactly one writer.
 */
export const KEY_PREFIX = 'bg';

export interface BookKeys {
  /** ZSET, member = price string, score = price: bid levels. */
  bids: string;
  /** ZSET, member = price string, score = price: ask levels. */
  asks: string;
  /** HASH, field `b:<price>` / `a:<price>` -> size string. */
  sizes: string;
  /** HASH: epoch, seq, exchangeTs, receiveTs of the last applied event. */
  meta: string;
  /** STREAM of trades, capped by MAXLEN. */
  trades: string;
  /** HASH: last trade price, amount, side, timestamps. */
  ticker: string;
}

function tag(exchange: string, symbol: string): string {
  return `{${exchange}:${symbol}}`;
}

export function bookKeys(region: string, exchange: string, symbol: string): BookKeys {
  const base = `${KEY_PREFIX}:${region}`;
  const t = tag(exchange, symbol);
  return {
    bids: `${base}:book:${t}:bids`,
    asks: `${base}:book:${t}:asks`,
    sizes: `${base}:book:${t}:sizes`,
    meta: `${base}:book:${t}:meta`,
    trades: `${base}:trades:${t}`,
    ticker: `${base}:ticker:${t}`,
  };
}

/** Pub/sub channel carrying the book's sequenced events (snapshots and deltas). */
export function bookChannel(region: string, exchange: string, symbol: string): string {
  return `${KEY_PREFIX}:${region}:book:${tag(exchange, symbol)}`;
}

/** Pub/sub channel carrying the market's trades. */
export function tradeChannel(region: string, exchange: string, symbol: string): string {
  return `${KEY_PREFIX}:${region}:trades:${tag(exchange, symbol)}`;
}

/** HASH: unified symbol -> market metadata JSON, for one exchange. */
export function marketsKey(region: string, exchange: string): string {
  return `${KEY_PREFIX}:${region}:markets:${exchange}`;
}

/** SET of exchange ids ingested in the region. */
export function exchangesKey(region: string): string {
  return `${KEY_PREFIX}:${region}:exchanges`;
}
