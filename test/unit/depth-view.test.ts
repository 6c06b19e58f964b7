import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffLevels } from '../../src/marketdata/level-diff.ts';
import type { Level } from '../../src/marketdata/types.ts';
import { type BookUpdate, DepthView, touchesWindow } from '../../src/pubsub/depth-view.ts';
import { FakeBookSource, gridPrice } from './support/fake-book-source.ts';

const size = fc.constantFrom('0', '0.000', '1', '2', '3.5', '0.01');
const levels = fc.array(
  fc.tuple(fc.integer({ min: 1, max: 60 }), size).map(([t, s]): Level => [gridPrice(t), s]),
  { maxLength: 12 },
);
const delta = fc.record({ bids: levels, asks: levels });
/** Starting books deep enough that windows up to 30 are often full. */
const initialSide = fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 45 });

function sideLevels(ticks: number[]): Level[] {
  return ticks.map((t) => [gridPrice(t), String((t % 7) + 1)]);
}

/** What a GraphQL client does with the stream: checks continuity and keeps a window. */
class WindowClient {
  bids = new Map<string, string>();
  asks = new Map<string, string>();
  seq: number | null = null;
  epoch: string | null = null;

  receive(update: BookUpdate): void {
    if (update.type === 'RESET') {
      this.bids.clear();
      this.asks.clear();
      this.seq = null;
      return;
    }
    if (update.type === 'SNAPSHOT') {
      this.bids = new Map(update.bids);
      this.asks = new Map(update.asks);
      this.seq = update.seq;
      this.epoch = update.epoch;
      return;
    }
    expect(this.seq, 'DELTA before any SNAPSHOT').not.toBeNull();
    expect(update.epoch).toBe(this.epoch);
    expect(update.prevSeq).toBe(this.seq);
    expect(update.seq).toBeGreaterThan(this.seq!);
    expect(update.bids.length + update.asks.length).toBeGreaterThan(0);
    for (const [side, changes] of [
      [this.bids, update.bids],
      [this.asks, update.asks],
    ] as const) {
      for (const [price, sz] of changes) {
        if (sz === '0') side.delete(price);
        else side.set(price, sz);
      }
    }
    this.seq = update.seq;
  }

  window(): { bids: Level[]; asks: Level[] } {
    const sorted = (side: Map<string, string>, descending: boolean): Level[] =>
      [...side.entries()].sort(([x], [y]) => (descending ? Number(y) - Number(x) : Number(x) - Number(y)));
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }
}

describe('diffLevels', () => {
  const window = fc
    .uniqueArray(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('1', '2', '3')), {
      selector: ([t]) => t,
      maxLength: 20,
    })
    .map((entries) => entries.map(([t, s]): Level => [gridPrice(t), s]));

  it('turns any window into any other, naming only levels that differ (property)', () => {
    fc.assert(
      fc.property(window, window, (before, after) => {
        const changes = diffLevels(before, after);
        const held = new Map(before);
        for (const [price, sz] of changes) {
          expect(held.get(price) ?? '0', `unchanged level ${price} in diff`).not.toBe(sz);
          if (sz === '0') held.delete(price);
          else held.set(price, sz);
        }
        expect(held).toEqual(new Map(after));
        expect(new Set(changes.map(([p]) => p)).size).toBe(changes.length);
        if (JSON.stringify(before) === JSON.stringify(after)) expect(changes).toEqual([]);
      }),
    );
  });
});

describe('DepthView', () => {
  it('keeps every subscriber exactly on book.top(depth), emitting only on window changes (property)', () => {
    fc.assert(
      fc.property(
        initialSide,
        initialSide,
        fc.array(delta, { maxLength: 60 }),
        fc.integer({ min: 1, max: 30 }),
        fc.nat(),
        (bidTicks, askTicks, deltas, depth, joinAt) => {
          const source = new FakeBookSource();
          source.snapshot(sideLevels(bidTicks), sideLevels(askTicks), 7);
          const view = new DepthView(source, depth, 'eu');
          const first = new WindowClient();
          const late = new WindowClient();
          const received: BookUpdate[] = [];
          view.subscribe((u) => {
            received.push(u);
            first.receive(u);
          });
          const initial = view.snapshot();
          expect(initial?.type).toBe('SNAPSHOT');
          first.receive(initial!);
          expect(first.window()).toEqual(source.book.top(depth));

          const joinIndex = deltas.length === 0 ? 0 : joinAt % deltas.length;
          let lateJoined = false;
          for (const [i, d] of deltas.entries()) {
            if (i === joinIndex) {
              late.receive(view.snapshot()!);
              view.subscribe((u) => {
                // One shared event object per change, not one per subscriber.
                expect(u).toBe(received.at(-1));
                late.receive(u);
              });
              lateJoined = true;
            }
            const before = source.book.top(depth);
            const emitted = received.length;
            source.delta(d.bids, d.asks);
            const after = source.book.top(depth);
            const bidsChanged = JSON.stringify(before.bids) !== JSON.stringify(after.bids);
            const asksChanged = JSON.stringify(before.asks) !== JSON.stringify(after.asks);
            expect(received.length - emitted).toBe(bidsChanged || asksChanged ? 1 : 0);
            if (bidsChanged) expect(touchesWindow(d.bids, before.bids, depth, true)).toBe(true);
            if (asksChanged) expect(touchesWindow(d.asks, before.asks, depth, false)).toBe(true);
            if (bidsChanged || asksChanged) expect(received.at(-1)!.seq).toBe(source.seq);
            expect(first.window()).toEqual(after);
            if (lateJoined) expect(late.window()).toEqual(after);
          }
          const current = view.snapshot()!;
          expect({ bids: current.bids, asks: current.asks }).toEqual(source.book.top(depth));
          expect(current.depth).toBe(depth);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('announces a resync as RESET then a SNAPSHOT of the new epoch, and follows on', () => {
    const source = new FakeBookSource();
    source.snapshot([['100', '1']], [['101', '1']]);
    const view = new DepthView(source, 5, 'eu');
    const client = new WindowClient();
    const types: string[] = [];
    client.receive(view.snapshot()!);
    view.subscribe((u) => {
      types.push(u.type);
      if (u.type === 'RESET') {
        expect(u.reason).toBe('gap');
        // While the replica resynchronises there is nothing to hand a new subscriber.
        expect(view.snapshot()).toBeNull();
      }
      client.receive(u);
    });
    source.delta([['99', '4']], []);
    source.resync('gap', [['98', '2']], [['102', '3']]);
    source.delta([], [['101.5', '1']]);
    expect(types).toEqual(['DELTA', 'RESET', 'SNAPSHOT', 'DELTA']);
    expect(client.epoch).toBe(source.epoch);
    expect(client.window()).toEqual(source.book.top(5));
  });

  it('has no snapshot before the source is live, then takes the first one', () => {
    const source = new FakeBookSource();
    const view = new DepthView(source, 3, 'eu');
    expect(view.snapshot()).toBeNull();
    const seen: BookUpdate[] = [];
    view.subscribe((u) => seen.push(u));
    source.snapshot([['1', '1']], [], 4);
    expect(seen.map((u) => [u.type, u.seq])).toEqual([['SNAPSHOT', 4]]);
    expect(view.snapshot()?.bids).toEqual([['1', '1']]);
    view.close();
    source.delta([['2', '1']], []);
    expect(seen).toHaveLength(1);
  });
});
