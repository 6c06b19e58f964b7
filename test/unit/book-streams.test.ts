import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Level } from '../../src/marketdata/types.ts';
import { bookUpdateStream, throttledBookStream } from '../../src/pubsub/book-streams.ts';
import { type BookUpdate, DepthView } from '../../src/pubsub/depth-view.ts';
import { FakeBookSource, gridPrice } from './support/fake-book-source.ts';

const DEPTH = 5;

function setup(depth = DEPTH) {
  const source = new FakeBookSource();
  const ticks = Array.from({ length: 20 }, (_, i) => i + 1);
  source.snapshot(
    ticks.map((t): Level => [gridPrice(t), '1']),
    ticks.map((t): Level => [gridPrice(t + 40), '1']),
  );
  const view = new DepthView(source, depth, 'eu');
  const release = vi.fn();
  return { source, view, lease: { view, release }, release };
}

/** A change inside the window, so every delta produces a view message. */
let sizeCounter = 1;
function touchTop(source: FakeBookSource): void {
  sizeCounter += 1;
  source.delta([[source.book.bestBid![0], String(sizeCounter)]], []);
}

class WindowClient {
  bids = new Map<string, string>();
  asks = new Map<string, string>();
  seq: number | null = null;

  receive(update: BookUpdate): void {
    if (update.type === 'RESET') {
      this.bids.clear();
      this.asks.clear();
      this.seq = null;
    } else if (update.type === 'SNAPSHOT') {
      this.bids = new Map(update.bids);
      this.asks = new Map(update.asks);
      this.seq = update.seq;
    } else {
      expect(update.prevSeq).toBe(this.seq);
      for (const [side, changes] of [
        [this.bids, update.bids],
        [this.asks, update.asks],
      ] as const) {
        for (const [price, size] of changes) {
          if (size === '0') side.delete(price);
          else side.set(price, size);
        }
      }
      this.seq = update.seq;
    }
  }

  window(): { bids: Level[]; asks: Level[] } {
    const sorted = (side: Map<string, string>, descending: boolean): Level[] =>
      [...side.entries()].sort(([x], [y]) => (descending ? Number(y) - Number(x) : Number(x) - Number(y)));
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }
}

/** Fails fast instead of hanging the run when a message that should be queued is not. */
async function nextWithin(iterator: AsyncIterator<BookUpdate>, ms = 30_000): Promise<BookUpdate> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
  });
  try {
    const result = await Promise.race([iterator.next(), timeout]);
    if (result.done) throw new Error('stream ended');
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads until the client is at the view's current seq; returns what it read. */
async function drain(
  iterator: AsyncIterator<BookUpdate>,
  client: WindowClient,
  view: DepthView,
): Promise<BookUpdate[]> {
  const target = view.snapshot()!.seq;
  const read: BookUpdate[] = [];
  while (client.seq !== target) {
    const update = await nextWithin(iterator);
    read.push(update);
    client.receive(update);
  }
  return read;
}

describe('bookUpdateStream', () => {
  it('starts with the current SNAPSHOT and follows with DELTAs', async () => {
    const { source, view, lease, release } = setup();
    const iterator = bookUpdateStream(lease)[Symbol.asyncIterator]();
    const client = new WindowClient();
    const first = await nextWithin(iterator);
    expect(first.type).toBe('SNAPSHOT');
    client.receive(first);
    for (let i = 0; i < 5; i++) {
      touchTop(source);
      client.receive(await nextWithin(iterator));
      expect(client.window()).toEqual(source.book.top(DEPTH));
    }
    await iterator.return?.();
    expect(release).toHaveBeenCalledTimes(1);
    expect(view.listenerCount).toBe(0);
  });

  it('conflates a stalled reader to RESET + current SNAPSHOT with a bounded queue', async () => {
    const queueMax = 10;
    const { source, view, lease, release } = setup();
    const onConflate = vi.fn();
    const iterator = bookUpdateStream(lease, { queueMax, onConflate })[Symbol.asyncIterator]();
    const client = new WindowClient();
    client.receive(await nextWithin(iterator));

    // The reader stalls while a long burst arrives.
    const windowAt = new Map<number, { bids: Level[]; asks: Level[] }>();
    for (let i = 0; i < 1_000; i++) {
      touchTop(source);
      windowAt.set(source.seq, source.book.top(DEPTH));
    }
    const read = await drain(iterator, client, view);
    expect(read.length).toBeLessThanOrEqual(queueMax + 2);
    expect(onConflate).toHaveBeenCalled();
    const reset = read.findIndex((u) => u.type === 'RESET');
    expect(reset).toBeGreaterThanOrEqual(0);
    expect(read[reset]!.reason).toBe('conflated');
    const snapshot = read[reset + 1]!;
    expect(snapshot.type).toBe('SNAPSHOT');
    expect({ bids: snapshot.bids, asks: snapshot.asks }).toEqual(windowAt.get(snapshot.seq));
    expect(client.window()).toEqual(source.book.top(DEPTH));

    // Nothing else is waiting, and the stream carries on with DELTAs from where it is.
    touchTop(source);
    const next = await nextWithin(iterator);
    expect(next).toMatchObject({ type: 'DELTA', prevSeq: client.seq, seq: source.seq });
    client.receive(next);
    expect(client.window()).toEqual(source.book.top(DEPTH));

    await iterator.return?.();
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('keeps a reader with arbitrary stalls exact and bounded (property)', async () => {
    const step = fc.record({
      bids: fc.array(
        fc
          .tuple(fc.integer({ min: 1, max: 30 }), fc.constantFrom('0', '1', '2', '3'))
          .map(([t, s]): Level => [gridPrice(t), s]),
        { maxLength: 4 },
      ),
      asks: fc.array(
        fc
          .tuple(fc.integer({ min: 35, max: 70 }), fc.constantFrom('0', '1', '2', '3'))
          .map(([t, s]): Level => [gridPrice(t), s]),
        { maxLength: 4 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(step, { maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 2, max: 12 }),
        async (bursts, depth, queueMax) => {
          const { source, view, lease, release } = setup(depth);
          const iterator = bookUpdateStream(lease, { queueMax })[Symbol.asyncIterator]();
          const client = new WindowClient();
          client.receive(await nextWithin(iterator));
          for (const burst of bursts) {
            for (const d of burst) source.delta(d.bids, d.asks);
            const read = await drain(iterator, client, view);
            expect(read.length).toBeLessThanOrEqual(queueMax + 2);
            expect(client.window()).toEqual(source.book.top(depth));
          }
          await iterator.return?.();
          expect(release).toHaveBeenCalledTimes(1);
          expect(view.listenerCount).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('passes a replica RESET and its SNAPSHOT through', async () => {
    const { source, lease } = setup();
    const iterator = bookUpdateStream(lease)[Symbol.asyncIterator]();
    const client = new WindowClient();
    client.receive(await nextWithin(iterator));
    source.resync('reconnect', [['3', '1']], [['4', '1']]);
    const reset = await nextWithin(iterator);
    expect(reset).toMatchObject({ type: 'RESET', reason: 'reconnect' });
    const snapshot = await nextWithin(iterator);
    expect(snapshot).toMatchObject({ type: 'SNAPSHOT', epoch: source.epoch, seq: 1 });
    client.receive(reset);
    client.receive(snapshot);
    expect(client.window()).toEqual(source.book.top(DEPTH));
    await iterator.return?.();
  });

  it('releases the lease once when the consumer returns before reading anything', async () => {
    const { lease, release, view } = setup();
    const iterator = bookUpdateStream(lease)[Symbol.asyncIterator]();
    await iterator.return?.();
    expect(release).toHaveBeenCalledTimes(1);
    await iterator.return?.();
    expect(await iterator.next()).toMatchObject({ done: true });
    expect(release).toHaveBeenCalledTimes(1);
    expect(view.listenerCount).toBe(0);
  });

  it('releases the lease when the consumer throws before reading anything', async () => {
    const { lease, release } = setup();
    const iterator = bookUpdateStream(lease)[Symbol.asyncIterator]();
    await expect(iterator.throw?.(new Error('client went away'))).rejects.toThrow('client went away');
    expect(release).toHaveBeenCalledTimes(1);
  });
});

describe('throttledBookStream', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('emits at most once per interval and always ends with the latest state', async () => {
    vi.useFakeTimers();
    const throttleMs = 100;
    const { source, view, lease, release } = setup();
    const iterator = throttledBookStream(lease, throttleMs)[Symbol.asyncIterator]();
    const received: { at: number; update: BookUpdate }[] = [];
    let stopped = false;
    const reader = (async () => {
      for (;;) {
        const result = await iterator.next();
        if (result.done) break;
        received.push({ at: Date.now(), update: result.value });
      }
      stopped = true;
    })();
    await vi.advanceTimersByTimeAsync(0);
    expect(received).toHaveLength(1);
    expect(received[0]!.update.type).toBe('SNAPSHOT');

    // A change every 7 ms for a second.
    for (let t = 0; t < 1_000; t += 7) {
      touchTop(source);
      await vi.advanceTimersByTimeAsync(7);
    }
    await vi.advanceTimersByTimeAsync(5 * throttleMs);
    const last = received.at(-1)!.update;
    expect(last.type).toBe('SNAPSHOT');
    expect(last.seq).toBe(source.seq);
    expect({ bids: last.bids, asks: last.asks }).toEqual(source.book.top(DEPTH));
    for (let i = 1; i < received.length; i++) {
      expect(received[i]!.at - received[i - 1]!.at).toBeGreaterThanOrEqual(throttleMs);
      expect(received[i]!.update.seq).toBeGreaterThan(received[i - 1]!.update.seq);
    }
    expect(received.length).toBeLessThanOrEqual(1_000 / throttleMs + 3);
    expect(received.length).toBeGreaterThanOrEqual(5);

    // Quiet book: nothing more. After the quiet, the first change goes out at once.
    const count = received.length;
    await vi.advanceTimersByTimeAsync(10 * throttleMs);
    expect(received).toHaveLength(count);
    const before = Date.now();
    touchTop(source);
    await vi.advanceTimersByTimeAsync(0);
    expect(received).toHaveLength(count + 1);
    expect(received.at(-1)!.at).toBe(before);
    expect(received.at(-1)!.update.seq).toBe(source.seq);

    // A replica reset is not forwarded; the SNAPSHOT after it is.
    await vi.advanceTimersByTimeAsync(2 * throttleMs);
    source.resync('gap', [['2', '2']], [['3', '3']]);
    await vi.advanceTimersByTimeAsync(0);
    expect(received.at(-1)!.update).toMatchObject({ type: 'SNAPSHOT', epoch: source.epoch, seq: 1 });
    expect(received.at(-1)!.update.bids).toEqual([['2', '2']]);

    await iterator.return?.();
    await vi.advanceTimersByTimeAsync(0);
    await reader;
    expect(stopped).toBe(true);
    expect(release).toHaveBeenCalledTimes(1);
    expect(view.listenerCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('releases the lease when the consumer returns before reading anything', async () => {
    const { lease, release, view } = setup();
    const iterator = throttledBookStream(lease, 50)[Symbol.asyncIterator]();
    await iterator.return?.();
    expect(release).toHaveBeenCalledTimes(1);
    expect(view.listenerCount).toBe(0);
  });
});
