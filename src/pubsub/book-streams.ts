import { Repeater, SlidingBuffer } from '@repeaterjs/repeater';
import type { ViewLease } from './book-hub.ts';
import type { BookUpdate, DepthView } from './depth-view.ts';

export interface UpdateStreamOptions {
  /** Messages queued for one subscriber before it is conflated to a fresh snapshot. @default 1000 */
  queueMax?: number;
  /** Called when a slow subscriber is conflated. */
  onConflate?: () => void;
  /** Called with each message the subscriber took. */
  onSent?: (update: BookUpdate) => void;
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
    const enqueue = (update: BookUpdate) => {
      if (queue.length >= queueMax) {
        options.onConflate?.();
        const snapshot = view.snapshot();
        queue = [{ ...update, type: 'RESET', bids: [], asks: [], prevSeq: null, reason: 'conflated' }];
        if (snapshot) queue.push(snapshot);
      } else {
        queue.push(update);
      }
      wake?.();
    };
    const unsubscribe = view.subscribe(enqueue);
    const initial = view.snapshot();
    if (initial) queue.push(initial);
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      wake?.();
    });
    try {
      while (!stopped) {
        const next = queue.shift();
        if (next) {
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
      unsubscribe();
      lease.release();
    }
  });
  return releaseIfNeverStarted(stream, lease, () => started);
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
): Repeater<BookUpdate> {
  const { view } = lease;
  let started = false;
  const stream = new Repeater<BookUpdate>(async (push, stop) => {
    started = true;
    let timer: NodeJS.Timeout | undefined;
    let dirty = false;
    const emit = () => {
      const snapshot = view.current();
      if (!snapshot) return;
      dirty = false;
      void push(snapshot);
      onSent?.(snapshot);
      timer = setTimeout(() => {
        timer = undefined;
        if (dirty) emit();
      }, throttleMs);
    };
    const unsubscribe = view.subscribe((update) => {
      if (update.type === 'RESET') return;
      dirty = true;
      if (!timer) emit();
    });
    emit();
    await stop;
    if (timer) clearTimeout(timer);
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
