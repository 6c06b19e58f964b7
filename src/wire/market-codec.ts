import { z } from 'zod';
import { CANDLE_INTERVALS, type Candle } from '../marketdata/candles.ts';
import type { FeedStatus } from '../marketdata/feed-health.ts';
import { type Decoded, decodeWire, parseWire, wireDecimal } from './codec.ts';

/**
 * Wire forms of the candle and feed-status channels (docs/REDIS_KEYS.md). Like book events, each
 * is encoded once by its writer and validated with zod on receipt; decoding never throws.
 */
const CandleWire = z.tuple([
  z.enum(CANDLE_INTERVALS),
  z.number().int(),
  wireDecimal,
  wireDecimal,
  wireDecimal,
  wireDecimal,
  wireDecimal,
  wireDecimal,
  z.number().int().nonnegative(),
]);

const CandlesWire = z.object({
  v: z.literal(1),
  x: z.string().min(1),
  s: z.string().min(1),
  c: z.array(CandleWire),
});

export interface CandlesMessage {
  exchange: string;
  symbol: string;
  candles: Candle[];
}

export function encodeCandles(exchange: string, symbol: string, candles: readonly Candle[]): string {
  return JSON.stringify({
    v: 1,
    x: exchange,
    s: symbol,
    c: candles.map((c) => [
      c.interval,
      c.start,
      c.open,
      c.high,
      c.low,
      c.close,
      c.volume,
      c.quoteVolume,
      c.trades,
    ]),
  });
}

export function decodeCandles(raw: string): Decoded<CandlesMessage> {
  return decodeWire(CandlesWire, raw, (w) => ({
    exchange: w.x,
    symbol: w.s,
    candles: w.c.map(([interval, start, open, high, low, close, volume, quoteVolume, trades]) => ({
      interval,
      start,
      open,
      high,
      low,
      close,
      volume,
      quoteVolume,
      trades,
    })),
  }));
}

const FeedStatusWire = z.object({
  exchange: z.string().min(1),
  feed: z.string().min(1),
  region: z.string().min(1),
  connected: z.boolean(),
  lastMessageTs: z.number().nullable(),
  messagesPerSec: z.number(),
  messages: z.number().int(),
  gaps: z.number().int(),
  resyncs: z.number().int(),
  errors: z.number().int(),
  rejected: z.number().int(),
  lastError: z.string().nullable(),
  startedAt: z.number(),
  updatedAt: z.number(),
  expiresAfterMs: z.number(),
});

const FeedStatusesWire = z.object({ v: z.literal(1), f: z.array(FeedStatusWire) });

/** One status as stored in the exchange's feed hash (a field's value). */
export function encodeFeedStatus(status: FeedStatus): string {
  return JSON.stringify(status);
}

export function decodeFeedStatus(raw: string): Decoded<FeedStatus> {
  return parseWire(FeedStatusWire, raw);
}

/** A published change: the statuses of one exchange's feeds. */
export function encodeFeedStatuses(statuses: readonly FeedStatus[]): string {
  return JSON.stringify({ v: 1, f: statuses });
}

export function decodeFeedStatuses(raw: string): Decoded<FeedStatus[]> {
  return decodeWire(FeedStatusesWire, raw, (w) => w.f);
}
