import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Level } from '../../src/marketdata/types.ts';
import { bookUpdateStream, throttledBookStream } from '../../src/pubsub/book-streams.ts';
import { DepthView } from '../../src/pubsub/depth-view.ts';
import { FakeBookSource, gridPrice } from './support/fake-book-source.ts';

const STALE_MS = 100;
let now = 0;

function setup() {
  const source = new FakeBookSource();
  const ticks = Array.from({ length: 20 }, (_, i) => i + 1);
  source.receiveTs = now;
  source.snapshot(
    ticks.map((t): Level => [gridPrice(t), '1']),
    ticks.map((t): Level => [gridPrice(t + 40), '1']),
  );
  const view = new DepthView(source, 3, 'eu');
  return { source, lease: { view, release: vi.fn() } };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('stale notices', () => {
  it('the throttled stream re-sends a silent book once, at the same seq', async () => {
    vi.useFakeTimers();
    now = 1_000;
    const { source, lease } = setup();
    const stream = throttledBookStream(lease, 10, undefined, STALE_MS, () => now);
    const first = await stream.next();
    expect(first.value?.seq).toBe(1);
    now += STALE_MS + 5;
    await vi.advanceTimersByTimeAsync(STALE_MS + 5);
    const again = await stream.next();
    expect(again.value?.seq).toBe(1);
    expect(now - again.value!.receiveTs).toBeGreaterThan(STALE_MS);
    // Nothing more while it stays silent; a change sends it fresh.
    now += 10 * STALE_MS;
    await vi.advanceTimersByTimeAsync(10 * STALE_MS);
    source.receiveTs = now;
    source.delta([[source.book.bestBid![0], '7']], []);
    const fresh = await stream.next();
    expect(fresh.value?.seq).toBe(2);
    expect(now - fresh.value!.receiveTs).toBeLessThanOrEqual(STALE_MS);
    await stream.return(undefined);
    expect(lease.release).toHaveBeenCalledOnce();
  });

  it('orderBookUpdates with staleNotices: an empty DELTA at the held seq, then a fresh one', async () => {
    vi.useFakeTimers();
    now = 5_000;
    const { source, lease } = setup();
    const stream = bookUpdateStream(lease, { staleNotices: true, staleAfterMs: STALE_MS, now: () => now });
    expect((await stream.next()).value?.type).toBe('SNAPSHOT');
    now += STALE_MS + 5;
    await vi.advanceTimersByTimeAsync(STALE_MS + 5);
    const notice = (await stream.next()).value!;
    expect(notice).toMatchObject({ type: 'DELTA', seq: 1, prevSeq: 1, bids: [], asks: [] });
    expect(now - notice.receiveTs).toBeGreaterThan(STALE_MS);
    // An event outside the 3-level window: the view sends nothing, the stream says "fresh".
    source.receiveTs = now;
    source.delta([[gridPrice(2), '9']], []);
    const fresh = (await stream.next()).value!;
    expect(fresh).toMatchObject({ type: 'DELTA', seq: 1, prevSeq: 1, bids: [], asks: [] });
    expect(now - fresh.receiveTs).toBeLessThanOrEqual(STALE_MS);
    // A window change is an ordinary DELTA continuing from the held seq.
    source.delta([[source.book.bestBid![0], '3']], []);
    expect((await stream.next()).value).toMatchObject({ type: 'DELTA', prevSeq: 1, seq: 3 });
    await stream.return(undefined);
  });

  it('sends no notices unless asked', async () => {
    vi.useFakeTimers();
    now = 9_000;
    const { lease } = setup();
    const stream = bookUpdateStream(lease, { staleAfterMs: STALE_MS, now: () => now });
    expect((await stream.next()).value?.type).toBe('SNAPSHOT');
    now += 10 * STALE_MS;
    await vi.advanceTimersByTimeAsync(10 * STALE_MS);
    const next = stream.next();
    const raced = await Promise.race([next.then(() => 'message'), Promise.resolve('none')]);
    expect(raced).toBe('none');
    await stream.return(undefined);
  });
});
