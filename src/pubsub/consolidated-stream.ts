import { Repeater, SlidingBuffer } from '@repeaterjs/repeater';
import type { VenueBook } from '../marketdata/consolidation.ts';
import type { ViewLease } from './book-hub.ts';

export interface ConsolidatedStreamOptions<T> {
  /** At most one message per this many ms; the state at the end of an interval is always sent. */
  throttleMs: number;
  /** Per venue: past this long without an event its book is stale, and the message is sent again. */
  staleAfterMs: (exchange: string) => number;
  /** Builds the message from the venues' books (live ones) and the venues with none right now. */
  build: (books: VenueBook[], unavailable: string[]) => T;
  /** @default Date.now */
  now?: () => number;
  onEnd?: () => void;
}

const ALL = Number.MAX_SAFE_INTEGER;

/**
 * One symbol across venues, conflated like `throttledBookStream`: any event of any venue's
 * replica marks the state dirty; the first change is sent at once, later ones at most once per
 * `throttleMs`, and the final state of an interval always. A venue turning stale, or losing its
 * book to a resynchronisation, is a change too. Holds one lease per venue, released at the end.
 */
export function consolidatedStream<T>(
  leases: readonly ViewLease[],
  options: ConsolidatedStreamOptions<T>,
): Repeater<T> {
  const now = options.now ?? Date.now;
  let started = false;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    for (const lease of leases) lease.release();
    options.onEnd?.();
  };
  const stream = new Repeater<T>(async (push, stop) => {
    started = true;
    let timer: NodeJS.Timeout | undefined;
    let staleTimer: NodeJS.Timeout | undefined;
    let dirty = false;
    let staleAtLastSend = '';

    const staleSet = (at: number): string =>
      leases
        .map((l) => l.view.replica)
        .filter((r) => r.live && at - r.receiveTs > options.staleAfterMs(r.exchange))
        .map((r) => r.exchange)
        .join(',');

    const armStale = () => {
      if (staleTimer) clearTimeout(staleTimer);
      const at = now();
      let next = Number.POSITIVE_INFINITY;
      for (const { view } of leases) {
        const r = view.replica;
        const due = r.receiveTs + options.staleAfterMs(r.exchange) - at + 1;
        if (r.live && due > 0) next = Math.min(next, due);
      }
      if (next === Number.POSITIVE_INFINITY) return;
      staleTimer = setTimeout(() => {
        staleTimer = undefined;
        if (staleSet(now()) === staleAtLastSend) {
          armStale();
          return;
        }
        dirty = true;
        if (!timer) emit();
      }, next);
    };

    const emit = () => {
      dirty = false;
      const books: VenueBook[] = [];
      const unavailable: string[] = [];
      for (const { view } of leases) {
        const r = view.replica;
        if (!r.live) {
          unavailable.push(r.exchange);
          continue;
        }
        const top = r.book.top(ALL);
        books.push({
          exchange: r.exchange,
          ...(r.region === undefined ? {} : { region: r.region }),
          epoch: r.epoch,
          seq: r.seq,
          exchangeTs: r.exchangeTs,
          receiveTs: r.receiveTs,
          stale: false,
          bids: top.bids,
          asks: top.asks,
        });
      }
      staleAtLastSend = staleSet(now());
      void push(options.build(books, unavailable));
      timer = setTimeout(() => {
        timer = undefined;
        if (dirty) emit();
      }, options.throttleMs);
      armStale();
    };

    const unsubscribers = leases.map(({ view }) =>
      view.replica.subscribe(() => {
        dirty = true;
        if (!timer) emit();
      }),
    );
    emit();
    await stop;
    if (timer) clearTimeout(timer);
    if (staleTimer) clearTimeout(staleTimer);
    for (const unsubscribe of unsubscribers) unsubscribe();
    release();
  }, new SlidingBuffer(1));
  // As in book-streams: a consumer that ends before reading never ran the executor.
  const returnStream = stream.return.bind(stream);
  const throwStream = stream.throw.bind(stream);
  stream.return = (value) => {
    if (!started) release();
    return returnStream(value);
  };
  stream.throw = (error) => {
    if (!started) release();
    return throwStream(error);
  };
  return stream;
}
