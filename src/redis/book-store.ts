import {
  CANDLE_INTERVALS,
  CANDLE_RETENTION,
  type Candle,
  type CandleInterval,
  decodeCandleValue,
  encodeCandleValue,
} from '../marketdata/candles.ts';
import type { FeedStatus } from '../marketdata/feed-health.ts';
import { comparePrice } from '../marketdata/order-book.ts';
import type { BookEvent, Level, Market, Trade } from '../marketdata/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import { isCluster, type RedisClient } from './connection.ts';
import {
  bookChannel,
  bookKeys,
  candleChannel,
  candleKey,
  exchangesKey,
  feedStatusChannel,
  feedStatusKey,
  legacyBookKeys,
  marketsKey,
  tradeChannel,
} from './keys.ts';
import {
  READ_BOOK,
  READ_LATEST_CANDLES,
  WRITE_BOOK_EVENT,
  WRITE_BOOK_EVENT_SHARDED,
  WRITE_FEED_STATUS,
  WRITE_TRADE,
} from './scripts.ts';

type ScriptArg = string | number;

interface ScriptedClient {
  bookgraphWriteBook(...args: ScriptArg[]): Promise<number>;
  bookgraphReadBook(...args: ScriptArg[]): Promise<['v1' | 'v2', Array<string | null>, string[], string[]]>;
  bookgraphWriteTrade(...args: ScriptArg[]): Promise<number>;
  bookgraphReadLatestCandles(...args: ScriptArg[]): Promise<string[]>;
  bookgraphWriteFeedStatus(...args: ScriptArg[]): Promise<number>;
}

/** A book as stored in Redis: the top levels plus the (epoch, seq) they are at. */
export interface StoredBook {
  exchange: string;
  symbol: string;
  region: string;
  epoch: string;
  seq: number;
  exchangeTs: number;
  receiveTs: number;
  /** The venue's own sequence number at this book (BookEvent.venueSeq), when the venue has one. */
  venueSeq?: number;
  bids: Level[];
  asks: Level[];
}

export interface LastTrade {
  price: string;
  amount: string;
  side: 'buy' | 'sell';
  exchangeTs: number;
  receiveTs: number;
}

/** Trades kept per market stream (approximate, `MAXLEN ~`). @default 1000 */
export const TRADES_MAXLEN = 1000;

/** One trade as read back from the market's stream. */
export interface StoredTrade extends Trade {
  /** The stream entry id (Redis time + counter): the order the ingester wrote the trades in. */
  streamId: string;
}

/** Candles a trade touched, written in the trade's script call. */
export interface CandleWrite {
  candles: readonly Candle[];
  /** The candle channel message (encodeCandles), published in the same call. */
  message: string;
  /** Candles kept per interval. @default CANDLE_RETENTION */
  retention?: Partial<Record<CandleInterval, number>>;
}

function pairs(flat: readonly string[]): Level[] {
  const out: Level[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/**
 * A side read whole from its HASH (encoding v2), best first and cut to `depth` (0 = all): ordered
 * by exact decimal comparison, so two prices one double apart stay two levels in order.
 */
export function sortedSide(flat: readonly string[], side: 'bids' | 'asks', depth: number): Level[] {
  const levels = pairs(flat).map((level) => ({ level, px: Number(level[0]) }));
  const sign = side === 'bids' ? -1 : 1;
  levels.sort((a, b) => sign * comparePrice(a.px, a.level[0], b.px, b.level[0]));
  const best = levels.map((l) => l.level);
  return depth > 0 ? best.slice(0, depth) : best;
}

/**
 * The meta's `venueSeq` (`<seq>:<venue seq>`, WRITE_BOOK_EVENT) when it belongs to the stored seq;
 * nothing otherwise (a venue without one, or a writer that predates the field wrote since).
 */
function venueSeqAt(field: string | null | undefined, seq: string): { venueSeq?: number } {
  const [at, venueSeq] = field?.split(':') ?? [];
  return at === seq && venueSeq ? { venueSeq: Number(venueSeq) } : {};
}

/** The keys of the book scripts: the book's v2 keys, then its v1 keys (rolling deploys, scripts.ts). */
function bookScriptKeys(region: string, exchange: string, symbol: string): string[] {
  const k = bookKeys(region, exchange, symbol);
  const v1 = legacyBookKeys(region, exchange, symbol);
  return [k.bids, k.asks, k.meta, v1.bids, v1.asks, v1.sizes, v1.meta];
}

/**
 * The arguments (ARGV) of a book write script after its keys: channel, message, event fields,
 * fencing token, each side as a count and its price/size pairs, then the venue's sequence ('' if
 * none; last, so the scripts that walk the levels from ARGV[9] are unchanged).
 */
export function bookEventArgv(region: string, event: BookEvent, message: string, token: number): ScriptArg[] {
  const args: ScriptArg[] = [
    bookChannel(region, event.exchange, event.symbol),
    message,
    event.kind,
    event.epoch,
    event.seq,
    event.exchangeTs,
    event.receiveTs,
    token,
    event.bids.length,
  ];
  for (const [price, size] of event.bids) args.push(price, size);
  args.push(event.asks.length);
  for (const [price, size] of event.asks) args.push(price, size);
  args.push(event.venueSeq ?? '');
  return args;
}

/**
 * Typed access to the book, trade and market keys of one region. Each method is one round trip.
 */
export class BookStore {
  private readonly scripted: ScriptedClient;

  constructor(
    readonly redis: RedisClient,
    readonly region: string,
    private readonly metrics?: Metrics,
  ) {
    if (!('bookgraphWriteBook' in redis)) {
      // On a Cluster the book's channel is sharded: SPUBLISH here, SSUBSCRIBE in ChannelSubscriber.
      redis.defineCommand('bookgraphWriteBook', {
        numberOfKeys: 7,
        lua: isCluster(redis) ? WRITE_BOOK_EVENT_SHARDED : WRITE_BOOK_EVENT,
      });
      redis.defineCommand('bookgraphReadBook', { numberOfKeys: 7, lua: READ_BOOK });
    }
    if (!('bookgraphReadLatestCandles' in redis)) {
      redis.defineCommand('bookgraphWriteTrade', {
        numberOfKeys: 4 + CANDLE_INTERVALS.length,
        lua: WRITE_TRADE,
      });
      redis.defineCommand('bookgraphReadLatestCandles', {
        numberOfKeys: CANDLE_INTERVALS.length,
        lua: READ_LATEST_CANDLES,
      });
      redis.defineCommand('bookgraphWriteFeedStatus', { numberOfKeys: 1, lua: WRITE_FEED_STATUS });
    }
    this.scripted = redis as unknown as ScriptedClient;
  }

  /**
   * Applies the event to the stored book and publishes `message` on the book's channel. `token`
   * is the writer's lease token: below the one stored with the book, nothing is written and the
   * call fails with BOOKGRAPH_FENCED (isFencedError). @default 0 (a book never leased)
   */
  writeBookEvent(event: BookEvent, message: string, token = 0): Promise<number> {
    const call = this.scripted.bookgraphWriteBook(
      ...bookScriptKeys(this.region, event.exchange, event.symbol),
      ...bookEventArgv(this.region, event, message, token),
    );
    return this.metrics ? this.metrics.timeRedis('write_book', call) : call;
  }

  /** Top `depth` levels per side (0 = all) and the meta, read atomically; null if never written. */
  async readBook(exchange: string, symbol: string, depth: number): Promise<StoredBook | null> {
    const call = this.scripted.bookgraphReadBook(...bookScriptKeys(this.region, exchange, symbol), depth);
    const [encoding, meta, bids, asks] = await (this.metrics
      ? this.metrics.timeRedis('read_book', call)
      : call);
    const [epoch, seq, exchangeTs, receiveTs, venueSeq] = meta;
    if (!epoch || !seq) return null;
    return {
      exchange,
      symbol,
      region: this.region,
      epoch,
      seq: Number(seq),
      exchangeTs: Number(exchangeTs),
      receiveTs: Number(receiveTs),
      ...venueSeqAt(venueSeq, seq),
      // v1 (a book still written by a v1 ingester): the script cut and ordered the sides.
      bids: encoding === 'v1' ? pairs(bids) : sortedSide(bids, 'bids', depth),
      asks: encoding === 'v1' ? pairs(asks) : sortedSide(asks, 'asks', depth),
    };
  }

  /**
   * Appends the trade, sets the last trade, writes the candles it touched and publishes both: one
   * call. `token` is fenced as in writeBookEvent. @default 0
   */
  writeTrade(trade: Trade, message: string, candles?: CandleWrite, token = 0): Promise<number> {
    const k = bookKeys(this.region, trade.exchange, trade.symbol);
    const args: ScriptArg[] = [
      k.trades,
      k.ticker,
      ...CANDLE_INTERVALS.map((i) => candleKey(this.region, trade.exchange, trade.symbol, i)),
      legacyBookKeys(this.region, trade.exchange, trade.symbol).meta,
      k.meta,
      tradeChannel(this.region, trade.exchange, trade.symbol),
      message,
      TRADES_MAXLEN,
      trade.id,
      trade.price,
      trade.amount,
      trade.side,
      trade.exchangeTs,
      trade.receiveTs,
      candleChannel(this.region, trade.exchange, trade.symbol),
      candles && candles.candles.length > 0 ? candles.message : '',
    ];
    for (const interval of CANDLE_INTERVALS) {
      const candle = candles?.candles.find((c) => c.interval === interval);
      const keep = candles?.retention?.[interval] ?? CANDLE_RETENTION[interval];
      if (candle) args.push(String(candle.start), encodeCandleValue(candle), keep);
      else args.push('', '', keep);
    }
    args.push(trade.lostBefore ?? 0, token);
    const call = this.scripted.bookgraphWriteTrade(...args);
    return this.metrics ? this.metrics.timeRedis('write_trade', call) : call;
  }

  /** The newest `limit` trades of the market's stream, newest first. */
  async readTrades(exchange: string, symbol: string, limit: number): Promise<StoredTrade[]> {
    const entries = await this.redis.xrevrange(
      bookKeys(this.region, exchange, symbol).trades,
      '+',
      '-',
      'COUNT',
      limit,
    );
    return entries.map(([streamId, flat]) => {
      const f = new Map<string, string>();
      for (let i = 0; i < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
      return {
        streamId,
        exchange,
        symbol,
        id: f.get('id') ?? '',
        price: f.get('price') ?? '0',
        amount: f.get('amount') ?? '0',
        side: f.get('side') === 'sell' ? 'sell' : 'buy',
        exchangeTs: Number(f.get('exchangeTs')),
        receiveTs: Number(f.get('receiveTs')),
        ...(Number(f.get('lost')) > 0 ? { lostBefore: Number(f.get('lost')) } : {}),
      };
    });
  }

  /** Stored candles of one interval with `from <= start <= to`, oldest first. */
  async readCandles(
    exchange: string,
    symbol: string,
    interval: CandleInterval,
    from: number,
    to: number,
  ): Promise<Candle[]> {
    const all = await this.redis.hgetall(candleKey(this.region, exchange, symbol, interval));
    const out: Candle[] = [];
    for (const [field, value] of Object.entries(all)) {
      const start = Number(field);
      if (start >= from && start <= to) out.push(decodeCandleValue(interval, start, value));
    }
    return out.sort((a, b) => a.start - b.start);
  }

  /** The newest stored candle of each interval (those that exist), to continue them after a restart. */
  async readLatestCandles(exchange: string, symbol: string): Promise<Candle[]> {
    const flat = await this.scripted.bookgraphReadLatestCandles(
      ...CANDLE_INTERVALS.map((i) => candleKey(this.region, exchange, symbol, i)),
    );
    const out: Candle[] = [];
    CANDLE_INTERVALS.forEach((interval, i) => {
      const field = flat[i * 2];
      const value = flat[i * 2 + 1];
      if (field && value) out.push(decodeCandleValue(interval, Number(field), value));
    });
    return out;
  }

  /**
   * Writes the exchange's feed statuses (field = feed name), renews the hash's expiry and, when
   * `message` is not empty, publishes it on the region's feed channel: one call.
   */
  writeFeedStatus(
    exchange: string,
    statuses: readonly FeedStatus[],
    ttlMs: number,
    message: string,
  ): Promise<number> {
    const args: ScriptArg[] = [
      feedStatusKey(this.region, exchange),
      ttlMs,
      feedStatusChannel(this.region),
      message,
    ];
    for (const status of statuses) args.push(status.feed, JSON.stringify(status));
    return this.scripted.bookgraphWriteFeedStatus(...args);
  }

  /** Feed name -> raw status JSON of one exchange; empty once the statuses expired. */
  readFeedStatus(exchange: string): Promise<Record<string, string>> {
    return this.redis.hgetall(feedStatusKey(this.region, exchange));
  }

  async readLastTrade(exchange: string, symbol: string): Promise<LastTrade | null> {
    const h = await this.redis.hgetall(bookKeys(this.region, exchange, symbol).ticker);
    if (!h.price || !h.amount) return null;
    return {
      price: h.price,
      amount: h.amount,
      side: h.side === 'sell' ? 'sell' : 'buy',
      exchangeTs: Number(h.exchangeTs),
      receiveTs: Number(h.receiveTs),
    };
  }

  /**
   * Registers an exchange and its markets: two commands, because the two keys live in different
   * Cluster slots (a Cluster refuses a pipeline across slots). Once per feed start, not per update.
   * Markets go first, so a listed exchange always has its markets.
   */
  async writeMarkets(exchange: string, markets: readonly Market[]): Promise<void> {
    const fields: string[] = [];
    for (const m of markets) fields.push(m.symbol, JSON.stringify(m));
    if (fields.length > 0) await this.redis.hset(marketsKey(this.region, exchange), ...fields);
    await this.redis.sadd(exchangesKey(this.region), exchange);
  }

  async readExchanges(): Promise<string[]> {
    return (await this.redis.smembers(exchangesKey(this.region))).sort();
  }

  async readMarkets(exchange: string): Promise<Market[]> {
    const all = await this.redis.hgetall(marketsKey(this.region, exchange));
    return Object.values(all)
      .map((json) => JSON.parse(json) as Market)
      .sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  async readMarket(exchange: string, symbol: string): Promise<Market | null> {
    const json = await this.redis.hget(marketsKey(this.region, exchange), symbol);
    return json ? (JSON.parse(json) as Market) : null;
  }
}
