import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDecimal } from '../../src/marketdata/decimal.ts';
import { OrderBook } from '../../src/marketdata/order-book.ts';
import type { Level } from '../../src/marketdata/types.ts';
import { touchesWindow } from '../../src/pubsub/depth-view.ts';

/** Two decimals one double: the second is the first plus 10^-30 or so. */
const A = '64210.5';
const B = '64210.500000000000000000000001';

describe('prices equal as doubles but not as decimals (issue 14 row 7)', () => {
  it('are two levels, in exact order, on both sides', () => {
    expect(Number(A)).toBe(Number(B));
    const book = OrderBook.from(
      [
        [A, '1'],
        [B, '2'],
      ],
      [
        [B, '3'],
        [A, '4'],
      ],
    );
    expect(book.top(5)).toEqual({
      bids: [
        [B, '2'],
        [A, '1'],
      ],
      asks: [
        [A, '4'],
        [B, '3'],
      ],
    });
    book.apply([[B, '0']], []);
    expect(book.bids.top(5)).toEqual([[A, '1']]);
    expect(book.bids.get(B)).toBeUndefined();
    expect(book.bids.get(A)).toBe('1');
  });

  it('a change between the window edge and its double twin touches the window', () => {
    // Full window of depth 1 whose worst bid is A; a bid at B (above A, same double) enters it.
    expect(touchesWindow([[B, '1']], [[A, '1']], 1, true)).toBe(true);
    // An ask at B is worse than A: outside a full window of depth 1.
    expect(touchesWindow([[B, '1']], [[A, '1']], 1, false)).toBe(false);
  });
});

/**
 * Canonical decimals from a small pool (so updates meet again), each with twins 10^-21 above it
 * that are the same double.
 */
const price = fc
  .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }))
  .map(([whole, fraction, twin]) => {
    const base = `${whole}.${String(fraction).replace(/0+$/, '')}`;
    return twin === 0 ? base : `${base}${'0'.repeat(20)}${twin}`;
  });

describe('OrderBook orders exactly (property)', () => {
  it('equals a reference book ordered by exact decimal comparison after any updates', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), price, fc.constantFrom('0', '1', '2.5')), { maxLength: 80 }),
        (updates) => {
          const book = new OrderBook();
          const reference = { bids: new Map<string, string>(), asks: new Map<string, string>() };
          for (const [bid, p, size] of updates) {
            const level: Level = [p, size];
            if (bid) book.apply([level], []);
            else book.apply([], [level]);
            const side = bid ? reference.bids : reference.asks;
            if (size === '0') side.delete(p);
            else side.set(p, size);
          }
          const sorted = (side: Map<string, string>, sign: number) =>
            [...side].sort(([a], [b]) => sign * compareDecimal(a, b)).map(([p, s]) => [p, s] as const);
          expect(book.top(1_000)).toEqual({
            bids: sorted(reference.bids, -1),
            asks: sorted(reference.asks, 1),
          });
          for (const [p, s] of reference.bids) expect(book.bids.get(p)).toBe(s);
        },
      ),
      { numRuns: 300 },
    );
  });
});
