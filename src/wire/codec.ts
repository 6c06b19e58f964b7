import { z } from 'zod';
import { isDecimalString } from '../marketdata/decimal.ts';
import type { BookEvent, Trade } from '../marketdata/types.ts';

/** A price or size on the wire: a decimal string, never a number. */
export const wireDecimal = z.string().refine(isDecimalString, 'not a decimal string');
const level = z.tuple([wireDecimal, wireDecimal]);

/**
 * The wire form of a book event on its Redis channel (see docs/BOOK_EVENTS.md). Short keys keep
 * messages small; the writer encodes once and the same bytes are stored in the script call.
 */
const BookEventWire = z.object({
  v: z.literal(1),
  k: z.enum(['s', 'd']),
  x: z.string().min(1),
  s: z.string().min(1),
  r: z.string().min(1),
  e: z.string().min(1),
  q: z.number().int().positive(),
  et: z.number(),
  rt: z.number(),
  b: z.array(level),
  a: z.array(level),
  /**
   * The venue's own sequence number (BookEvent.venueSeq): absent for a venue without one, and in
   * messages of writers that predate it, which still decode.
   */
  vs: z.number().int().nonnegative().optional(),
});

const TradeWire = z.object({
  v: z.literal(1),
  x: z.string(),
  s: z.string(),
  i: z.string(),
  p: wireDecimal,
  n: wireDecimal,
  d: z.enum(['buy', 'sell']),
  et: z.number(),
  rt: z.number(),
  /** Trades lost before this one (Trade.lostBefore); absent when none. */
  l: z.number().int().nonnegative().optional(),
});

export function encodeBookEvent(event: BookEvent): string {
  return JSON.stringify({
    v: 1,
    k: event.kind === 'snapshot' ? 's' : 'd',
    x: event.exchange,
    s: event.symbol,
    r: event.region,
    e: event.epoch,
    q: event.seq,
    et: event.exchangeTs,
    rt: event.receiveTs,
    b: event.bids,
    a: event.asks,
    ...(event.venueSeq === undefined ? {} : { vs: event.venueSeq }),
  });
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

/** JSON, then the schema; never throws. The first schema issue is the error. */
export function parseWire<T>(schema: z.ZodType<T>, raw: string | Buffer): Decoded<T> {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, error: 'invalid JSON' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: parsed.error.issues[0]?.message ?? 'invalid message' };
}

/** `parseWire`, then the value read from the wire form. */
export function decodeWire<W, T>(
  schema: z.ZodType<W>,
  raw: string | Buffer,
  read: (wire: W) => T,
): Decoded<T> {
  const parsed = parseWire(schema, raw);
  return parsed.ok ? { ok: true, value: read(parsed.value) } : parsed;
}

/** Never throws: a corrupt message is reported, and the caller resynchronises. */
export function decodeBookEvent(raw: string | Buffer): Decoded<BookEvent> {
  return decodeWire(BookEventWire, raw, (w) => ({
    kind: w.k === 's' ? 'snapshot' : 'delta',
    exchange: w.x,
    symbol: w.s,
    region: w.r,
    epoch: w.e,
    seq: w.q,
    exchangeTs: w.et,
    receiveTs: w.rt,
    bids: w.b,
    asks: w.a,
    ...(w.vs === undefined ? {} : { venueSeq: w.vs }),
  }));
}

export function encodeTrade(trade: Trade): string {
  return JSON.stringify({
    v: 1,
    x: trade.exchange,
    s: trade.symbol,
    i: trade.id,
    p: trade.price,
    n: trade.amount,
    d: trade.side,
    et: trade.exchangeTs,
    rt: trade.receiveTs,
    ...(trade.lostBefore ? { l: trade.lostBefore } : {}),
  });
}

export function decodeTrade(raw: string | Buffer): Decoded<Trade> {
  return decodeWire(TradeWire, raw, (w) => ({
    exchange: w.x,
    symbol: w.s,
    id: w.i,
    price: w.p,
    amount: w.n,
    side: w.d,
    exchangeTs: w.et,
    receiveTs: w.rt,
    ...(w.l ? { lostBefore: w.l } : {}),
  }));
}
