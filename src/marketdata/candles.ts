import { addDecimal, compareDecimal, multiplyDecimal } from './decimal.ts';
import { bookId, type Trade } from './types.ts';

/** Candle intervals, finest first. The order is also the order of their keys in the trade script. */
export const CANDLE_INTERVALS = ['1m', '5m', '1h'] as const;
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

export const CANDLE_INTERVAL_MS: Readonly<Record<CandleInterval, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '1h': 3_600_000,
};

/**
 * Candles kept per market and interval (older ones are deleted as new ones open): a little over a
 * day of 1m candles (the 24h ticker reads them), a week of 5m, a month of 1h.
 */
export const CANDLE_RETENTION: Readonly<Record<CandleInterval, number>> = {
  '1m': 1_500,
  '5m': 2_016,
  '1h': 720,
};

/** OHLCV of one interval bucket; every number that reaches the API is an exact decimal string. */
export interface Candle {
  interval: CandleInterval;
  /** Bucket start, ms since the Unix epoch, a multiple of the interval. */
  start: number;
  open: string;
  high: string;
  low: string;
  close: string;
  /** Base amount traded. */
  volume: string;
  /** Quote amount traded: the exact sum of price × amount. */
  quoteVolume: string;
  trades: number;
}

export function isCandleInterval(value: string): value is CandleInterval {
  return (CANDLE_INTERVALS as readonly string[]).includes(value);
}

export function bucketStart(ts: number, interval: CandleInterval): number {
  const ms = CANDLE_INTERVAL_MS[interval];
  return Math.floor(ts / ms) * ms;
}

/** The stored form of a candle's values (the field holds the start): `open,high,low,close,volume,quoteVolume,trades`. */
export function encodeCandleValue(c: Candle): string {
  return [c.open, c.high, c.low, c.close, c.volume, c.quoteVolume, c.trades].join(',');
}

export function decodeCandleValue(interval: CandleInterval, start: number, value: string): Candle {
  const [open = '0', high = '0', low = '0', close = '0', volume = '0', quoteVolume = '0', trades = '0'] =
    value.split(',');
  return { interval, start, open, high, low, close, volume, quoteVolume, trades: Number(trades) };
}

/** A new candle, or `candle` with the trade folded in; exact decimals throughout. */
export function foldTrade(candle: Candle | undefined, interval: CandleInterval, trade: Trade): Candle {
  const single: Candle = {
    interval,
    start: bucketStart(trade.exchangeTs, interval),
    open: trade.price,
    high: trade.price,
    low: trade.price,
    close: trade.price,
    volume: trade.amount,
    quoteVolume: multiplyDecimal(trade.price, trade.amount),
    trades: 1,
  };
  return candle ? mergeCandles(candle, single) : single;
}

/**
 * One candle over two consecutive stretches of trading: `earlier`'s interval, start and open,
 * `later`'s close; exact decimals throughout.
 */
export function mergeCandles(earlier: Candle, later: Candle): Candle {
  return {
    ...earlier,
    high: compareDecimal(later.high, earlier.high) > 0 ? later.high : earlier.high,
    low: compareDecimal(later.low, earlier.low) < 0 ? later.low : earlier.low,
    close: later.close,
    volume: addDecimal(earlier.volume, later.volume),
    quoteVolume: addDecimal(earlier.quoteVolume, later.quoteVolume),
    trades: earlier.trades + later.trades,
  };
}

/**
 * The current candle of every interval of every market, held by the market's single writer (its
 * ingester) and folded trade by trade, by venue time. A trade older than the current candle of an
 * interval (a late trade across a bucket boundary) is left out of that interval and counted.
 * A market's candles are `load`ed from Redis before its first trade, so a restarted ingester
 * continues the candle in progress instead of starting it again.
 */
export class CandleBuilder {
  private readonly current = new Map<string, Partial<Record<CandleInterval, Candle>>>();
  /** Trades left out of at least one interval for being late. */
  late = 0;

  isLoaded(exchange: string, symbol: string): boolean {
    return this.current.has(bookId(exchange, symbol));
  }

  /** The stored latest candles of a market (any subset of intervals). */
  load(exchange: string, symbol: string, candles: readonly Candle[]): void {
    const state: Partial<Record<CandleInterval, Candle>> = {};
    for (const c of candles) state[c.interval] = c;
    this.current.set(bookId(exchange, symbol), state);
  }

  /** Forget a market's candles (after a failed write), so they are loaded from Redis again. */
  forget(exchange: string, symbol: string): void {
    this.current.delete(bookId(exchange, symbol));
  }

  /** Folds the trade in; returns the candles it changed, in CANDLE_INTERVALS order. */
  apply(trade: Trade): Candle[] {
    const id = bookId(trade.exchange, trade.symbol);
    let state = this.current.get(id);
    if (!state) {
      state = {};
      this.current.set(id, state);
    }
    const touched: Candle[] = [];
    let late = false;
    for (const interval of CANDLE_INTERVALS) {
      const start = bucketStart(trade.exchangeTs, interval);
      const held = state[interval];
      if (held && start < held.start) {
        late = true;
        continue;
      }
      const next = foldTrade(held && held.start === start ? held : undefined, interval, trade);
      state[interval] = next;
      touched.push(next);
    }
    if (late) this.late += 1;
    return touched;
  }
}
