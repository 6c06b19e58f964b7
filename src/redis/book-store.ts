import type { Cluster, Redis } from 'ioredis';
import type { BookEvent, Level, Market, Trade } from '../marketdata/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import { bookChannel, bookKeys, exchangesKey, marketsKey, tradeChannel } from './keys.ts';
import { READ_BOOK, WRITE_BOOK_EVENT, WRITE_TRADE } from './scripts.ts';

type RedisClient = Redis | Cluster;
type ScriptArg = string | number;

interface ScriptedClient {
  bookgraphWriteBook(...args: ScriptArg[]): Promise<number>;
  bookgraphReadBook(...args: ScriptArg[]): Promise<[Array<string | null>, string[], string[]]>;
  bookgraphWriteTrade(...args: ScriptArg[]): Promise<number>;
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

function pairs(flat: readonly string[]): Level[] {
  const out: Level[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
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
      redis.defineCommand('bookgraphWriteBook', { numberOfKeys: 4, lua: WRITE_BOOK_EVENT });
      redis.defineCommand('bookgraphReadBook', { numberOfKeys: 4, lua: READ_BOOK });
      redis.defineCommand('bookgraphWriteTrade', { numberOfKeys: 2, lua: WRITE_TRADE });
    }
    this.scripted = redis as unknown as ScriptedClient;
  }

  /** Applies the event to the stored book and publishes `message` on the book's channel. */
  writeBookEvent(event: BookEvent, message: string): Promise<number> {
    const k = bookKeys(this.region, event.exchange, event.symbol);
    const args: ScriptArg[] = [
      k.bids,
      k.asks,
      k.sizes,
      k.meta,
      bookChannel(this.region, event.exchange, event.symbol),
      message,
      event.kind,
      event.epoch,
      event.seq,
      event.exchangeTs,
      event.receiveTs,
      event.bids.length,
    ];
    for (const [price, size] of event.bids) args.push(price, size);
    args.push(event.asks.length);
    for (const [price, size] of event.asks) args.push(price, size);
    const call = this.scripted.bookgraphWriteBook(...args);
    return this.metrics ? this.metrics.timeRedis('write_book', call) : call;
  }

  /** Top `depth` levels per side (0 = all) and the meta, read atomically; null if never written. */
  async readBook(exchange: string, symbol: string, depth: number): Promise<StoredBook | null> {
    const k = bookKeys(this.region, exchange, symbol);
    const call = this.scripted.bookgraphReadBook(k.bids, k.asks, k.sizes, k.meta, depth);
    const [meta, bids, asks] = await (this.metrics ? this.metrics.timeRedis('read_book', call) : call);
    const [epoch, seq, exchangeTs, receiveTs] = meta;
    if (!epoch || !seq) return null;
    return {
      exchange,
      symbol,
      region: this.region,
      epoch,
      seq: Number(seq),
      exchangeTs: Number(exchangeTs),
      receiveTs: Number(receiveTs),
      bids: pairs(bids),
      asks: pairs(asks),
    };
  }

  writeTrade(trade: Trade, message: string): Promise<number> {
    const k = bookKeys(this.region, trade.exchange, trade.symbol);
    const call = this.scripted.bookgraphWriteTrade(
      k.trades,
      k.ticker,
      tradeChannel(this.region, trade.exchange, trade.symbol),
      message,
      TRADES_MAXLEN,
      trade.id,
      trade.price,
      trade.amount,
      trade.side,
      trade.exchangeTs,
      trade.receiveTs,
    );
    return this.metrics ? this.metrics.timeRedis('write_trade', call) : call;
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
   * Registers an exchange and its markets in one pipeline (not MULTI: the two keys live in
   * different Cluster slots). Markets go first, so a listed exchange always has its markets.
   */
  async writeMarkets(exchange: string, markets: readonly Market[]): Promise<void> {
    const fields: string[] = [];
    for (const m of markets) fields.push(m.symbol, JSON.stringify(m));
    const pipeline = this.redis.pipeline();
    if (fields.length > 0) pipeline.hset(marketsKey(this.region, exchange), ...fields);
    pipeline.sadd(exchangesKey(this.region), exchange);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
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
