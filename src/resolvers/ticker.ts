import { bucketStart, CANDLE_INTERVAL_MS, type Candle, mergeCandles } from '../marketdata/candles.ts';
import { divideDecimal, multiplyDecimal, subtractDecimal } from '../marketdata/decimal.ts';
import type { Level } from '../marketdata/types.ts';
import type { LastTrade } from '../redis/book-store.ts';
import type { ResolverDeps } from './deps.ts';
import { markets } from './markets.ts';
import { orderBook } from './orderbook.ts';

export interface TickerState {
  exchange: string;
  symbol: string;
  /** The region whose copy of the book (and its trades) the ticker was read from. */
  region: string;
  bestBid: Level | undefined;
  bestAsk: Level | undefined;
  lastTrade: LastTrade | null;
  seq: number;
  receiveTs: number;
  stale: boolean;
  /** Rolling 24h statistics from the 1m candles, null when nothing traded in the window. */
  stats24h: TickerStats24h | null;
}

/** The 1m candles from `from` through `to` (the candle in progress), folded into one. */
export interface TickerStats24h {
  /** Start of the first 1m bucket of the window (ms). */
  from: number;
  /** Start of the 1m bucket in progress (ms). */
  to: number;
  open: string;
  high: string;
  low: string;
  /** The last trade's price in the window. */
  close: string;
  volume: string;
  quoteVolume: string;
  trades: number;
  /** close - open. */
  change: string;
  /** 100 × change / open, rounded half away from zero to 2 places. */
  changePercent: string;
}

const DAY_MS = 86_400_000;

/** The 24h window in 1m buckets ending with the one in progress at `now`: 1440 buckets. */
export function window24h(now: number): { from: number; to: number } {
  const to = bucketStart(now, '1m');
  return { from: to - DAY_MS + CANDLE_INTERVAL_MS['1m'], to };
}

export function foldStats24h(candles: readonly Candle[], from: number, to: number): TickerStats24h | null {
  const [first, ...rest] = candles;
  if (!first) return null;
  const { interval: _interval, start: _start, ...day } = rest.reduce(mergeCandles, first);
  const change = subtractDecimal(day.close, day.open);
  return {
    from,
    to,
    ...day,
    change,
    changePercent: divideDecimal(multiplyDecimal(change, '100'), day.open, 2),
  };
}

async function stats24h(
  deps: ResolverDeps,
  region: string,
  exchange: string,
  symbol: string,
): Promise<TickerStats24h | null> {
  const { from, to } = window24h(deps.now());
  const candles = await deps.hub.copies.store(region).readCandles(exchange, symbol, '1m', from, to);
  return foldStats24h(candles, from, to);
}

export async function ticker(
  deps: ResolverDeps,
  args: { exchange: string; symbol: string },
): Promise<TickerState> {
  // Book, last trade and candles from one copy; the book says which (a switch may fall between).
  const region = await deps.hub.regionFor(args.exchange, args.symbol);
  const [book, lastTrade, day] = await Promise.all([
    orderBook(deps, { ...args, depth: 1 }),
    deps.hub.copies.store(region).readLastTrade(args.exchange, args.symbol),
    stats24h(deps, region, args.exchange, args.symbol),
  ]);
  return {
    exchange: book.exchange,
    symbol: book.symbol,
    region: book.region,
    bestBid: book.bids[0],
    bestAsk: book.asks[0],
    lastTrade,
    seq: book.seq,
    receiveTs: book.receiveTs,
    stale: book.stale,
    stats24h: day,
  };
}

export async function tickers(deps: ResolverDeps, args: { exchange: string }): Promise<TickerState[]> {
  const list = await markets(deps, args);
  return Promise.all(list.map((m) => ticker(deps, { exchange: m.exchange, symbol: m.symbol })));
}
