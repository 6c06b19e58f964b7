import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BookEvent, Level, Trade } from '../../src/marketdata/types.ts';
import { decodeBookEvent, decodeTrade, encodeBookEvent, encodeTrade } from '../../src/wire/codec.ts';

const decimal = fc.tuple(fc.nat({ max: 10_000_000 }), fc.nat({ max: 8 })).map(([n, places]) => {
  const s = String(n).padStart(places + 1, '0');
  return places ? `${s.slice(0, -places)}.${s.slice(-places)}` : s;
});
const level = fc.tuple(decimal, decimal).map(([p, s]): Level => [p, s]);
const timestamp = fc.integer({ min: 0, max: 2 ** 48 });

const eventWithoutVenueSeq: fc.Arbitrary<BookEvent> = fc.record({
  kind: fc.constantFrom<'snapshot' | 'delta'>('snapshot', 'delta'),
  exchange: fc.string({ minLength: 1 }),
  symbol: fc.string({ minLength: 1 }),
  region: fc.string({ minLength: 1 }),
  epoch: fc.string({ minLength: 1 }),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  exchangeTs: timestamp,
  receiveTs: timestamp,
  bids: fc.array(level, { maxLength: 20 }),
  asks: fc.array(level, { maxLength: 20 }),
});

/** With the venue's own sequence number half the time (Binance `u`, Bybit `u`, OKX `seqId`). */
const bookEvent: fc.Arbitrary<BookEvent> = fc
  .tuple(eventWithoutVenueSeq, fc.option(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { nil: undefined }))
  .map(([event, venueSeq]) => (venueSeq === undefined ? event : { ...event, venueSeq }));

const trade: fc.Arbitrary<Trade> = fc.record({
  exchange: fc.string(),
  symbol: fc.string(),
  id: fc.string(),
  price: decimal,
  amount: decimal,
  side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
  exchangeTs: timestamp,
  receiveTs: timestamp,
});

function expectNoThrowNotOk(raw: string | Buffer): void {
  let result: ReturnType<typeof decodeBookEvent> | undefined;
  expect(() => {
    result = decodeBookEvent(raw);
  }).not.toThrow();
  expect(result?.ok).toBe(false);
  if (result && !result.ok) expect(result.error.length).toBeGreaterThan(0);
}

describe('book event codec', () => {
  it('round-trips any event, from a string or a Buffer (property)', () => {
    fc.assert(
      fc.property(bookEvent, (event) => {
        const encoded = encodeBookEvent(event);
        expect(decodeBookEvent(encoded)).toEqual({ ok: true, value: event });
        expect(decodeBookEvent(Buffer.from(encoded, 'utf8'))).toEqual({ ok: true, value: event });
      }),
    );
  });

  it('reports arbitrary strings as corrupt and never throws (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (raw) => expectNoThrowNotOk(raw)));
  });

  it('reports arbitrary JSON values as corrupt and never throws (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => expectNoThrowNotOk(JSON.stringify(value) ?? '')));
  });

  it('reports any truncation of a valid message as corrupt (property)', () => {
    fc.assert(
      fc.property(bookEvent, fc.nat(), (event, cut) => {
        const encoded = encodeBookEvent(event);
        expectNoThrowNotOk(encoded.slice(0, cut % encoded.length));
      }),
    );
  });

  it('reports a valid message with one field spoiled as corrupt (property)', () => {
    const spoilers: Record<string, unknown[]> = {
      v: [2, '1', null],
      k: ['x', 'S', 1],
      x: ['', 1, null],
      s: ['', []],
      r: [''],
      e: ['', 0],
      q: [0, -1, 1.5, '3', null],
      et: ['1', null],
      rt: [{}, null],
      b: [[['1e3', '1']], [['1', '-']], [['1']], [['1', '1', '1']], 'x', [[1, 2]]],
      a: [[['NaN', '1']], [[' 1', '1']], null],
    };
    const spoil = fc
      .constantFrom(...Object.keys(spoilers))
      .chain((key) => fc.constantFrom(...spoilers[key]!).map((value) => ({ key, value })));
    fc.assert(
      fc.property(bookEvent, spoil, (event, { key, value }) => {
        const wire = JSON.parse(encodeBookEvent(event)) as Record<string, unknown>;
        wire[key] = value;
        expectNoThrowNotOk(JSON.stringify(wire));
        delete wire[key];
        expectNoThrowNotOk(JSON.stringify(wire));
      }),
    );
  });

  it('carries the venue sequence as `vs`, and decodes a message without it (older writers)', () => {
    const event: BookEvent = {
      kind: 'delta',
      exchange: 'binance',
      symbol: 'BTC/USDT',
      region: 'eu',
      epoch: 'e1',
      seq: 7,
      exchangeTs: 1_700_000_000_000,
      receiveTs: 1_700_000_000_005,
      bids: [['100.5', '2']],
      asks: [],
      venueSeq: 160_000_000_123,
    };
    const wire = JSON.parse(encodeBookEvent(event)) as Record<string, unknown>;
    expect(wire.vs).toBe(160_000_000_123);
    expect(decodeBookEvent(JSON.stringify(wire))).toEqual({ ok: true, value: event });
    delete wire.vs;
    const { venueSeq: _, ...withoutVenueSeq } = event;
    const decoded = decodeBookEvent(JSON.stringify(wire));
    expect(decoded).toEqual({ ok: true, value: withoutVenueSeq });
    expect(decoded.ok && 'venueSeq' in decoded.value).toBe(false);
    // A message as a writer from before `vs` encoded it (no such key at all).
    expect(encodeBookEvent(withoutVenueSeq)).not.toContain('"vs"');
  });

  it('reports a spoiled venue sequence as corrupt (property)', () => {
    fc.assert(
      fc.property(bookEvent, fc.constantFrom<unknown>(-1, 1.5, '3', null, [], 2 ** 60), (event, value) => {
        const wire = JSON.parse(encodeBookEvent(event)) as Record<string, unknown>;
        wire.vs = value;
        expectNoThrowNotOk(JSON.stringify(wire));
      }),
    );
  });

  it('rejects invalid UTF-8 and binary Buffers without throwing', () => {
    expectNoThrowNotOk(Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
    expectNoThrowNotOk('');
    expectNoThrowNotOk('null');
    expectNoThrowNotOk('{"__proto__":{"v":1}}');
  });
});

describe('trade codec', () => {
  it('round-trips any trade (property)', () => {
    fc.assert(
      fc.property(trade, (t) => {
        expect(decodeTrade(encodeTrade(t))).toEqual({ ok: true, value: t });
      }),
    );
  });

  it('reports arbitrary input as corrupt and never throws (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
        ),
        (raw) => {
          let ok: boolean | undefined;
          expect(() => {
            ok = decodeTrade(raw).ok;
          }).not.toThrow();
          expect(ok).toBe(false);
        },
      ),
    );
  });
});
