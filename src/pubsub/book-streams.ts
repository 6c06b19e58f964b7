import { Repeater, SlidingBuffer } from '@repeaterjs/repeater';
import type { ViewLease } from './book-hub.ts';
import type { BookUpdate, DepthView } from './depth-view.ts';
import type { SlowSubscriberGuard } from './slow-subscriber.ts';

/** How often a held stream looks at its socket again. */
const HOLD_POLL_MS = 25;

export interface UpdateStreamOptions {
  /** Messages queued for one subscriber before it is conflated to a fresh snapshot. @default 1000 */
  queueMax?: number;
  /** Called when a slow subscriber is conflated. */
  onConflate?: () => void;
  /** Called with each message the subscriber took. */
  onSent?: (update: BookUpdate) => void;
  /**
   * Send a stale notice when the book has had no event for `staleAfterMs`, and a fresh one when it
   * resumes without changing the window: a DELTA with no levels and `seq == prevSeq` (see
   * docs/BOOK_EVENTS.md). Off unless both are set.
   */
  staleNotices?: boolean;
  staleAfterMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Holds messages while the subscriber's socket is full, and closes it past the limit. */
  guard?: SlowSubscriberGuard;
}

/**
 * SNAPSHOT then DELTAs for one subscriber of a shared view. The queue is bounded: a subscriber
 * that falls `queueMax` messages behind loses its queue and gets RESET + the current SNAPSHOT, so
 * a slow reader costs bounded memory and never slows the others.
 */
export function bookUpdateStream(lease: ViewLease, options: UpdateStreamOptions = {}): Repeater<BookUpdate> {
  const queueMax = options.queueMax ?? 1_000;
  const { view } = lease;
  let started = false;
  const stream = new Repeater<BookUpdate>(async (push, stop) => {
    started = true;
    let queue: BookUpdate[] = [];
    let wake: (() => void) | undefined;
    /** The last SNAPSHOT/DELTA queued since the last RESET: what the client's book is at. */
    let held: BookUpdate | undefined;
    const enqueue = (update: BookUpdate) => {
      if (queue.length >= queueMax) {
        options.onConflate?.();
        const snapshot = view.snapshot();
        queue = [{ ...update, type: 'RESET', bids: [], asks: [], prevSeq: null, reason: 'conflated' }];
        held = undefined;
        if (snapshot) {
          queue.push(snapshot);
          held = snapshot;
        }
      } else {
        queue.push(update);
        held = update.type === 'RESET' ? undefined : update;
      }
      wake?.();
    };
    const unsubscribe = view.subscribe(enqueue);
    const initial = view.snapshot();
    if (initial) {
      queue.push(initial);
      held = initial;
    }
    const stopNotices =
      options.staleNotices && options.staleAfterMs !== undefined
        ? staleNotices(view, options.staleAfterMs, options.now ?? Date.now, () => held, enqueue)
        : () => {};
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      wake?.();
    });
    const unwatch = options.guard?.watch() ?? (() => {});
    try {
      while (!stopped) {
        const next = queue.shift();
        if (next) {
          const room = options.guard?.check() ?? 'send';
          if (room === 'closed') break;
          if (room === 'hold') {
            // The socket is full: keep the message (the queue bound conflates meanwhile).
            queue.unshift(next);
            await Promise.race([stop, new Promise((r) => setTimeout(r, HOLD_POLL_MS))]);
            continue;
          }
          await push(next);
          options.onSent?.(next);
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      unwatch();
      stopNotices();
      unsubscribe();
      lease.release();
    }
  });
  return releaseIfNeverStarted(stream, lease, () => started);
}

/**
 * Watches a view's replica for silence: past `staleAfterMs` without an event, queues a DELTA with
 * no levels at the held seq (so `stale` resolves true); when events resume and the view did not
 * send anything at the new seq, queues another (so `stale` resolves false). Returns the stopper.
 */
function staleNotices(
  view: DepthView,
  staleAfterMs: number,
  now: () => number,
  held: () => BookUpdate | undefined,
  enqueue: (update: BookUpdate) => void,
): () => void {
  const replica = view.replica;
  let timer: NodeJS.Timeout | undefined;
  let notified = false;
  const notice = (last: BookUpdate): BookUpdate => ({
    ...last,
    type: 'DELTA',
    prevSeq: last.seq,
    bids: [],
    asks: [],
    exchangeTs: replica.exchangeTs,
    receiveTs: replica.receiveTs,
    venueSeq: replica.venueSeq ?? null,
    reason: null,
  });
  const arm = () => {
    if (timer) clearTimeout(timer);
    const due = replica.receiveTs + staleAfterMs - now() + 1;
    timer = setTimeout(check, Math.max(1, due));
  };
  const check = () => {
    timer = undefined;
    const last = held();
    if (!replica.live || !last) return;
    if (now() - replica.receiveTs <= staleAfterMs) {
      arm();
      return;
    }
    if (!notified) {
      notified = true;
      enqueue(notice(last));
    }
  };
  const unsubscribe = replica.subscribe((event) => {
    if (event.type === 'reset') return;
    // The view heard this event first: if it sent nothing at this seq, say the book is fresh again.
    const last = held();
    if (notified && last && last.seq !== replica.seq) enqueue(notice(last));
    notified = false;
    arm();
  });
  arm();
  return () => {
    if (timer) clearTimeout(timer);
    unsubscribe();
  };
}

/**
 * The whole top-`depth` book, at most once per `throttleMs`: the first change is sent at once,
 * later ones inside the interval are merged, and the state at the end of the interval is always
 * sent. A subscriber that cannot keep up only ever has the latest book waiting.
 */
export function throttledBookStream(
  lease: ViewLease,
  throttleMs: number,
  onSent?: (update: BookUpdate) => void,
  /** Re-send the book once when it has had no event for this long (it then resolves `stale: true`). */
  staleAfterMs?: number,
  now: () => number = Date.now,
  guard?: SlowSubscriberGuard,
): Repeater<BookUpdate> {
  const { view } = lease;
  let started = false;
  const stream = new Repeater<BookUpdate>(async (push, stop) => {
    started = true;
    let timer: NodeJS.Timeout | undefined;
    let staleTimer: NodeJS.Timeout | undefined;
    let dirty = false;
    const emit = () => {
      const snapshot = view.current();
      if (!snapshot) return;
      const room = guard?.check() ?? 'send';
      if (room === 'closed') return;
      if (room === 'hold') {
        // The socket is full: try again next interval; the latest book is what will be sent.
        dirty = true;
        timer = setTimeout(() => {
          timer = undefined;
          if (dirty) emit();
        }, throttleMs);
        return;
      }
      dirty = false;
      void push(snapshot);
      onSent?.(snapshot);
      timer = setTimeout(() => {
        timer = undefined;
        if (dirty) emit();
      }, throttleMs);
      armStale();
    };
    // A silent book is sent once more when it turns stale, so a watcher sees `stale: true`.
    let staleSentFor: string | undefined;
    const armStale = () => {
      if (staleTimer) clearTimeout(staleTimer);
      staleTimer = undefined;
      const armed = view.current();
      if (!armed || staleAfterMs === undefined) return;
      const id = `${armed.epoch}/${armed.seq}`;
      if (id === staleSentFor) return;
      const due = armed.receiveTs + staleAfterMs - now() + 1;
      staleTimer = setTimeout(
        () => {
          staleTimer = undefined;
          const latest = view.current();
          if (!latest) return;
          if (`${latest.epoch}/${latest.seq}` !== id || now() - latest.receiveTs <= staleAfterMs) {
            armStale();
            return;
          }
          staleSentFor = id;
          if (timer) {
            dirty = true;
            return;
          }
          void push(latest);
          onSent?.(latest);
        },
        Math.max(1, due),
      );
    };
    const unsubscribe = view.subscribe((update) => {
      if (update.type === 'RESET') return;
      dirty = true;
      if (!timer) emit();
    });
    emit();
    const unwatch = guard?.watch() ?? (() => {});
    await stop;
    unwatch();
    if (timer) clearTimeout(timer);
    if (staleTimer) clearTimeout(staleTimer);
    unsubscribe();
    lease.release();
  }, new SlidingBuffer(1));
  return releaseIfNeverStarted(stream, lease, () => started);
}

/**
 * A Repeater runs its executor on the first next() only, so a consumer that returns (or throws)
 * before reading anything, as a client that unsubscribes at once does, would never release its
 * lease and keep the replica alive forever. Release it there instead.
 */
function releaseIfNeverStarted(
  stream: Repeater<BookUpdate>,
  lease: ViewLease,
  started: () => boolean,
): Repeater<BookUpdate> {
  let released = false;
  const releaseUnstarted = () => {
    if (started() || released) return;
    released = true;
    lease.release();
  };
  const returnStream = stream.return.bind(stream);
  const throwStream = stream.throw.bind(stream);
  stream.return = (value) => {
    releaseUnstarted();
    return returnStream(value);
  };
  stream.throw = (error) => {
    releaseUnstarted();
    return throwStream(error);
  };
  return stream;
}

export type { DepthView };
