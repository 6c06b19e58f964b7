import { z } from 'zod';
import { CANDLE_INTERVALS, type Candle } from '../marketdata/candles.ts';
import { isDecimalString } from '../marketdata/decimal.ts';
import type { FeedStatus } from '../marketdata/feed-health.ts';
import type { Decoded } from './codec.ts';

/**
 * Wire forms of the candle and feed-status channels (docs/REDIS_KEYS.md). Like book events, each
 * is encoded once by its writer and validated with zod on receipt; decoding never throws.
 */
const decimal = z.string().refine(isDecimalString, 'not a decimal string');

const CandleWire = z.tuple([
  z.enum(CANDLE_INTERVALS),
  z.number().int(),
  decimal,
  decimal,
  decimal,
  decimal,
  decimal,
  decimal,
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

function parse<T>(schema: z.ZodType<T>, raw: string): Decoded<T> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'invalid JSON' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: parsed.error.issues[0]?.message ?? 'invalid message' };
}

export function decodeCandles(raw: string): Decoded<CandlesMessage> {
  const parsed = parse(CandlesWire, raw);
  if (!parsed.ok) return parsed;
  const w = parsed.value;
  return {
    ok: true,
    value: {
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
    },
  };
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
  return parse(FeedStatusWire, raw);
}

/** A published change: the statuses of one exchange's feeds. */
export function encodeFeedStatuses(statuses: readonly FeedStatus[]): string {
  return JSON.stringify({ v: 1, f: statuses });
}

export function decodeFeedStatuses(raw: string): Decoded<FeedStatus[]> {
  const parsed = parse(FeedStatusesWire, raw);
  return parsed.ok ? { ok: true, value: parsed.value.f } : parsed;
}
