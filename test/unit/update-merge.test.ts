import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderBook } from '../../src/marketdata/order-book.ts';
import type { Level, RawBookUpdate } from '../../src/marketdata/types.ts';
import { mergeBookUpdates } from '../../src/marketdata/update-merge.ts';

function applyTo(book: OrderBook, update: RawBookUpdate): void {
  if (update.kind === 'snapshot') book.replace(update.bids, update.asks);
  else book.apply(update.bids, update.asks);
}

const level = (lo: number, hi: number): fc.Arbitrary<Level> =>
  fc
    .tuple(fc.integer({ min: lo, max: hi }), fc.constantFrom('0', '1', '2.5', '0.001'))
    .map(([price, size]) => [`${price}.5`, size] as const);

const update: fc.Arbitrary<RawBookUpdate> = fc
  .record({
    kind: fc.constantFrom('snapshot', 'delta', 'delta', 'delta'),
    bids: fc.array(level(90, 99), { maxLength: 8 }),
    asks: fc.array(level(101, 110), { maxLength: 8 }),
    t: fc.nat(),
  })
  .map(({ kind, bids, asks, t }) => ({
    kind: kind as RawBookUpdate['kind'],
    exchange: 'x',
    symbol: 'A/B',
    // A snapshot names each price once and has no zero sizes.
    bids: kind === 'snapshot' ? [...new Map(bids.filter(([, s]) => s !== '0'))] : bids,
    asks: kind === 'snapshot' ? [...new Map(asks.filter(([, s]) => s !== '0'))] : asks,
    exchangeTs: t,
    receiveTs: t,
  }));

describe('mergeBookUpdates', () => {
  it('one merged update leaves any book as the updates one by one do (property)', () => {
    fc.assert(
      fc.property(
        fc.array(level(90, 110), { maxLength: 10 }),
        fc.array(update, { minLength: 1, maxLength: 8 }),
        (start, updates) => {
          const stepwise = OrderBook.from(
            start.filter(([p]) => Number(p) < 100),
            start.filter(([p]) => Number(p) > 100),
          );
          const merged = OrderBook.from(
            start.filter(([p]) => Number(p) < 100),
            start.filter(([p]) => Number(p) > 100),
          );
          for (const u of updates) applyTo(stepwise, u);
          applyTo(merged, updates.reduce(mergeBookUpdates));
          expect(merged.top(100)).toEqual(stepwise.top(100));
        },
      ),
    );
  });

  it('a later snapshot wins; the later times and venue seq are kept', () => {
    const base = { exchange: 'x', symbol: 'A/B', bids: [], asks: [] };
    const delta: RawBookUpdate = {
      ...base,
      kind: 'delta',
      exchangeTs: 1,
      receiveTs: 2,
      venueSeq: 7,
      bids: [['1', '1']],
    };
    const snapshot: RawBookUpdate = {
      ...base,
      kind: 'snapshot',
      exchangeTs: 3,
      receiveTs: 4,
      asks: [['2', '1']],
    };
    expect(mergeBookUpdates(delta, snapshot)).toBe(snapshot);
    const later: RawBookUpdate = { ...base, kind: 'delta', exchangeTs: 5, receiveTs: 6, bids: [['1', '0']] };
    expect(mergeBookUpdates(delta, later)).toEqual({ ...later, venueSeq: 7, bids: [['1', '0']] });
    expect(mergeBookUpdates(snapshot, later)).toMatchObject({
      kind: 'snapshot',
      exchangeTs: 5,
      bids: [],
      asks: [['2', '1']],
    });
  });
});
