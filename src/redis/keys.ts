/**
 * The one place that names Redis keys and channels. docs/REDIS_KEYS.md lists each with its type,
 * writer, bound and behaviour under Active-Active replication; change both together.
 *
 * Every key of one book shares the hash tag `{exchange:symbol}`, so scripts touching them stay in
 * one Cluster slot. Every key names the region whose ingester wrote it: several regions may ingest
 * the same venue, and each copy keeps exactly one writer.
 */
export const KEY_PREFIX = 'bg';

/**
 * The version segment of the book's level and meta keys (`…:book:{x:s}:v2:…`). Version 2 keeps
 * each side as one HASH price -> size (1,260 -> 883 replicated bytes per update, see
 * docs/BENCHMARKS.md). A new encoding gets new key names, never a new meaning for old ones, so a
 * reader of another version finds no key it would misread (docs/OPERATIONS.md, "Book encoding").
 */
export const BOOK_ENCODING = 'v2';

export interface BookKeys {
  /** HASH, field = price string -> size string: bid levels (unordered; readers sort). */
  bids: string;
  /** HASH, field = price string -> size string: ask levels. */
  asks: string;
  /**
   * HASH: epoch, seq, exchangeTs, receiveTs and (when the venue has one) venueSeq (`<seq>:<venue
   * seq>`) of the last applied event, token of its writer lease.
   */
  meta: string;
  /** STREAM of trades, capped by MAXLEN. */
  trades: string;
  /** HASH: last trade price, amount, side, timestamps. */
  ticker: string;
}

/**
 * The keys of encoding v1 (before BOOK_ENCODING v2): a ZSET per side, one sizes HASH and the
 * meta. Nothing writes them any more; they are read only while a region still runs a v1 ingester
 * during a rolling deploy, and a v2 writer's first snapshot of the book empties them (scripts.ts).
 */
export interface LegacyBookKeys {
  /** ZSET, member = price string, score = price. */
  bids: string;
  asks: string;
  /** HASH, field `b:<price>` / `a:<price>` -> size string. */
  sizes: string;
  meta: string;
}

function tag(exchange: string, symbol: string): string {
  return `{${exchange}:${symbol}}`;
}

export function bookKeys(region: string, exchange: string, symbol: string): BookKeys {
  const base = `${KEY_PREFIX}:${region}`;
  const t = tag(exchange, symbol);
  const book = `${base}:book:${t}:${BOOK_ENCODING}`;
  return {
    bids: `${book}:bids`,
    asks: `${book}:asks`,
    meta: `${book}:meta`,
    trades: `${base}:trades:${t}`,
    ticker: `${base}:ticker:${t}`,
  };
}

export function legacyBookKeys(region: string, exchange: string, symbol: string): LegacyBookKeys {
  const book = `${KEY_PREFIX}:${region}:book:${tag(exchange, symbol)}`;
  return { bids: `${book}:bids`, asks: `${book}:asks`, sizes: `${book}:sizes`, meta: `${book}:meta` };
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

/** HASH of one market's candles at one interval: field = bucket start (ms) -> candle, capped. */
export function candleKey(region: string, exchange: string, symbol: string, interval: string): string {
  return `${KEY_PREFIX}:${region}:candles:${tag(exchange, symbol)}:${interval}`;
}

/** Pub/sub channel carrying the market's candles touched by each trade (every interval). */
export function candleChannel(region: string, exchange: string, symbol: string): string {
  return `${KEY_PREFIX}:${region}:candles:${tag(exchange, symbol)}`;
}

/** HASH: feed name -> feed status JSON, for one exchange; expires when its ingester stops writing. */
export function feedStatusKey(region: string, exchange: string): string {
  return `${KEY_PREFIX}:${region}:feeds:${exchange}`;
}

/**
 * STRING `<holder>|<token>` with a TTL (renewed by its holder): the writer lease of one venue's
 * books in one region. Exactly one ingester of the region holds it and writes the venue's books;
 * others wait as hot standbys and take it once it expires. Tagged `{<region>:<exchange>}` so the
 * lease and its token counter stay in one slot (one script call).
 */
export function writerLeaseKey(region: string, exchange: string): string {
  return `${KEY_PREFIX}:${region}:lease:{${region}:${exchange}}`;
}

/**
 * STRING counter (INCR), no TTL: the last fencing token handed out with the venue's writer lease.
 * Never deleted, so tokens only grow and a book's stored token fences every earlier holder.
 */
export function writerTokenKey(region: string, exchange: string): string {
  return `${KEY_PREFIX}:${region}:fence:{${region}:${exchange}}`;
}

/** Pub/sub channel carrying every feed status change of the region. */
export function feedStatusChannel(region: string): string {
  return `${KEY_PREFIX}:${region}:feeds`;
}

/*
 * Trading keys. Credentials are global (every region reads them, one admin writes each); the
 * trading data of one client shares the hash tag `{c:<clientId>}`, so one script can check and
 * write a session, its orders, fills, events and the client's idempotency index in one slot, and
 * one client's keys can never be reached from another client's namespace.
 */

/** HASH: one API client (name, key hash, scopes, createdAt, expiresAt, revokedAt). */
export function apiClientKey(clientId: string): string {
  return `${KEY_PREFIX}:client:${clientId}`;
}

/** SET of every API client id (for `bookgraph clients list`). */
export function apiClientsKey(): string {
  return `${KEY_PREFIX}:clients`;
}

/** Pub/sub channel: a client id, published when its key is revoked (every region listens). */
export function apiKeyRevokedChannel(): string {
  return `${KEY_PREFIX}:clients:revoked`;
}

function clientTag(clientId: string): string {
  return `{c:${clientId}}`;
}

export interface SessionKeys {
  /** HASH: session fields, balances `bal:`/`lock:<asset>`, positions `pos:<exchange>|<symbol>`, `ver`, `seq`. */
  session: string;
  /** HASH: order id -> order JSON. */
  orders: string;
  /** STREAM of fills, capped by MAXLEN. */
  fills: string;
  /** STREAM of order updates (the `orderUpdates` messages with their seq), capped by MAXLEN. */
  events: string;
  /**
   * HASH: the operations applied to the session, so a write resent after its reply was lost is
   * recognised: `o:<op id>` -> outcome, `v:<version>` -> op id; the last 1000 versions are kept.
   */
  ops: string;
}

export function sessionKeys(clientId: string, sessionId: string): SessionKeys {
  const base = `${KEY_PREFIX}:trade:${clientTag(clientId)}:session:${sessionId}`;
  return {
    session: base,
    orders: `${base}:orders`,
    fills: `${base}:fills`,
    events: `${base}:events`,
    ops: `${base}:ops`,
  };
}

/** ZSET (score = opened at, ms) of the client's session ids. */
export function clientSessionsKey(clientId: string): string {
  return `${KEY_PREFIX}:trade:${clientTag(clientId)}:sessions`;
}

/** HASH: clientOrderId -> order id, the client's idempotency index. */
export function clientOrderIdsKey(clientId: string): string {
  return `${KEY_PREFIX}:trade:${clientTag(clientId)}:coids`;
}

/**
 * ZSET: the client's open orders whose home is region `region` and that a venue still moves
 * (paper orders resting on a book, orders on a real venue), member = order id, score = created at.
 * Written by the region's servers in the same WRITE_SESSION call that opens or ends the order, so
 * a restarted server finds every order it must watch or reconcile. In the client's slot (one
 * script call); the region in the name keeps each region's index to one writer.
 */
export function openOrdersKey(clientId: string, region: string): string {
  return `${KEY_PREFIX}:trade:${clientTag(clientId)}:open:${region}`;
}

/** STREAM: the client's order commands (audit), capped by MAXLEN. */
export function clientAuditKey(clientId: string): string {
  return `${KEY_PREFIX}:trade:${clientTag(clientId)}:audit`;
}

/** Pub/sub channel carrying one session's order updates, published by the session's home region. */
export function sessionUpdatesChannel(clientId: string, sessionId: string): string {
  return `${KEY_PREFIX}:trade:${clientTag(clientId)}:session:${sessionId}:updates`;
}

/**
 * STRING: `{"c":<clientId>,"o":<orderId>}` of an order sent to a real venue, by the client order
 * id the venue knows it by, so the venue's order stream finds its order. Written by the order's
 * home region before the venue is asked; TTL = the session's.
 */
export function venueOrderKey(region: string, exchange: string, venueClientOrderId: string): string {
  return `${KEY_PREFIX}:${region}:venue:${exchange}:order:${venueClientOrderId}`;
}
