import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isZeroSize, OrderBook } from '../../src/marketdata/order-book.ts';
import type { Level } from '../../src/marketdata/types.ts';
import { gridPrice } from './support/fake-book-source.ts';

const SIZES = ['0', '0.000', '0.0', '1', '2.5', '0.001', '10', '123.456'];
const size = fc.constantFrom(...SIZES);

function levels(minTick: number, maxTick: number): fc.Arbitrary<Level[]> {
  return fc.array(
    fc.tuple(fc.integer({ min: minTick, max: maxTick }), size).map(([t, s]): Level => [gridPrice(t), s]),
    { maxLength: 25 },
  );
}

interface Command {
  kind: 'snapshot' | 'delta';
  bids: Level[];
  asks: Level[];
}

function commands(bidTicks: [number, number], askTicks: [number, number]): fc.Arbitrary<Command[]> {
  return fc.array(
    fc.record({
      kind: fc.constantFrom<'snapshot' | 'delta'>('snapshot', 'delta', 'delta', 'delta'),
      bids: levels(...bidTicks),
      asks: levels(...askTicks),
    }),
    { maxLength: 40 },
  );
}

/** The simplest possible book: a Map per side, sorted on read. */
class ModelBook {
  readonly bids = new Map<number, Level>();
  readonly asks = new Map<number, Level>();

  run(command: Command): void {
    if (command.kind === 'snapshot') {
      this.bids.clear();
      this.asks.clear();
    }
    for (const [side, input] of [
      [this.bids, command.bids],
      [this.asks, command.asks],
    ] as const) {
      for (const [price, sz] of input) {
        if (Number(sz) === 0) side.delete(Number(price));
        else side.set(Number(price), [price, sz]);
      }
    }
  }

  top(depth: number): { bids: Level[]; asks: Level[] } {
    const sorted = (side: Map<number, Level>, descending: boolean) =>
      [...side.entries()]
        .sort(([x], [y]) => (descending ? y - x : x - y))
        .slice(0, depth)
        .map(([, level]) => level);
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }
}

function run(book: OrderBook, command: Command): void {
  if (command.kind === 'snapshot') book.replace(command.bids, command.asks);
  else book.apply(command.bids, command.asks);
}

function expectWellFormed(book: OrderBook): void {
  const { bids, asks } = book.top(Number.MAX_SAFE_INTEGER);
  const bidPx = bids.map(([p]) => Number(p));
  const askPx = asks.map(([p]) => Number(p));
  for (let i = 1; i < bidPx.length; i++) expect(bidPx[i]!).toBeLessThan(bidPx[i - 1]!);
  for (let i = 1; i < askPx.length; i++) expect(askPx[i]!).toBeGreaterThan(askPx[i - 1]!);
  for (const [, sz] of [...bids, ...asks]) expect(isZeroSize(sz)).toBe(false);
  expect(book.levelCount).toBe(bids.length + asks.length);
}

describe('OrderBook', () => {
  it('treats every spelling of zero as a removal', () => {
    for (const zero of ['0', '0.0', '0.000', '00', '0.']) expect(isZeroSize(zero), zero).toBe(true);
    for (const nonZero of ['0.001', '1', '10', '0.10']) expect(isZeroSize(nonZero), nonZero).toBe(false);
    const book = OrderBook.from([['100', '1']], [['101', '2']]);
    book.apply([['100', '0.000']], [['101', '0.0']]);
    expect(book.top(10)).toEqual({ bids: [], asks: [] });
    book.apply([['99', '0']], []);
    expect(book.levelCount).toBe(0);
  });

  it('keeps one level per price however the price is spelled', () => {
    const book = OrderBook.from([['100.50', '1']], []);
    book.apply([['100.5', '2']], []);
    expect(book.top(5).bids).toEqual([['100.5', '2']]);
    book.apply([['100.500', '0']], []);
    expect(book.levelCount).toBe(0);
  });

  it('equals a Map-and-sort model after any snapshot/delta sequence (property)', () => {
    fc.assert(
      fc.property(commands([1, 60], [1, 60]), fc.integer({ min: 1, max: 70 }), (cmds, depth) => {
        const book = new OrderBook();
        const model = new ModelBook();
        for (const command of cmds) {
          run(book, command);
          model.run(command);
          expectWellFormed(book);
          expect(book.top(1000)).toEqual(model.top(1000));
          const full = book.top(1000);
          const top = book.top(depth);
          expect(top.bids.length).toBe(Math.min(depth, full.bids.length));
          expect(top.asks.length).toBe(Math.min(depth, full.asks.length));
          expect(top.bids).toEqual(full.bids.slice(0, depth));
          expect(top.asks).toEqual(full.asks.slice(0, depth));
          expect(book.bestBid).toEqual(full.bids[0]);
          expect(book.bestAsk).toEqual(full.asks[0]);
        }
      }),
    );
  });

  it('is never crossed when the feed never crosses (property)', () => {
    // Bids only ever on ticks below 30, asks only above: a feed that keeps bids below asks.
    fc.assert(
      fc.property(commands([1, 29], [31, 60]), (cmds) => {
        const book = new OrderBook();
        for (const command of cmds) {
          run(book, command);
          const { bestBid, bestAsk } = book;
          if (bestBid && bestAsk) expect(Number(bestBid[0])).toBeLessThan(Number(bestAsk[0]));
        }
      }),
    );
  });
});
