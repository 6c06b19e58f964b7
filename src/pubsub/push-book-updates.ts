import type { ViewLease } from './book-hub.ts';
import type { BookUpdate, DepthView } from './depth-view.ts';
import { PushSink, type PushTarget } from './push-sink.ts';

export interface PushUpdatesOptions {
  /** Messages held for one subscriber (while its socket is full) before it is conflated. @default 1000 */
  queueMax?: number;
  /** Called when a held subscriber is conflated to a fresh snapshot. */
  onConflate?: () => void;
  /** Stale notices as in book-streams.ts (`staleNotices`), shared by the view's push subscribers. */
  staleAfterMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * `orderBookUpdates` on the push path: SNAPSHOT then the view's DELTAs, written to the socket in
 * the tick the view emits them. While the socket is full the messages wait in a queue bounded by
 * `queueMax`; past it the subscriber gets RESET (`conflated`) + the current SNAPSHOT instead, as
 * on the iterator path (book-streams.ts). The state is this object and its view listener.
 */
export class PushUpdatesSink extends PushSink {
  private queue: BookUpdate[] | undefined;
  private readonly listener = (update: BookUpdate) => this.offer(update);

  constructor(
    lease: ViewLease,
    target: PushTarget,
    private readonly options: PushUpdatesOptions,
  ) {
    super(lease, target);
  }

  protected start(): void {
    const view = this.lease.view;
    view.subscribe(this.listener);
    const initial = view.snapshot();
    if (initial) this.offer(initial);
    if (this.options.staleAfterMs !== undefined) {
      ViewNotices.of(view, this.options.staleAfterMs, this.options.now ?? Date.now).add(this);
    }
  }

  protected stop(): void {
    const view = this.lease.view;
    view.removeListener(this.listener);
    noticesOf.get(view)?.remove(this);
    this.queue = undefined;
  }

  /** One view message for this subscriber: written now, or held while the socket is full. */
  offer(update: BookUpdate): void {
    if (this.ended) return;
    if (this.queue) {
      this.hold(update);
      return;
    }
    if (this.write(update) === 'hold') {
      this.queue = [update];
      this.target.connection.wait(this);
    }
  }

  resume(): void {
    const queue = this.queue;
    this.queue = undefined;
    if (!queue) return;
    for (let i = 0; i < queue.length; i++) {
      if (this.write(queue[i]!) !== 'hold') continue;
      // Full again before the queue emptied: keep the rest, in order.
      this.queue = queue.slice(i);
      this.target.connection.wait(this);
      return;
    }
  }

  private hold(update: BookUpdate): void {
    const queue = this.queue!;
    if (queue.length < (this.options.queueMax ?? 1_000)) {
      queue.push(update);
      return;
    }
    this.options.onConflate?.();
    const snapshot = this.lease.view.snapshot();
    const reset: BookUpdate = {
      ...update,
      type: 'RESET',
      bids: [],
      asks: [],
      prevSeq: null,
      reason: 'conflated',
    };
    this.queue = snapshot ? [reset, snapshot] : [reset];
  }
}

const noticesOf = new WeakMap<DepthView, ViewNotices>();

/**
 * Stale notices (docs/BOOK_EVENTS.md) for every push subscriber of one view that asked for them:
 * one replica listener and one timer per view, and each notice one object, so that its execution
 * is shared too. Past `staleAfterMs` without an event: a DELTA with no levels at the view's seq;
 * when events resume without the view sending anything at the new seq: another.
 */
class ViewNotices {
  private readonly sinks = new Set<PushUpdatesSink>();
  private readonly unsubscribe: () => void;
  private timer: NodeJS.Timeout | undefined;
  private notified = false;

  static of(view: DepthView, staleAfterMs: number, now: () => number): ViewNotices {
    let notices = noticesOf.get(view);
    if (!notices) {
      notices = new ViewNotices(view, staleAfterMs, now);
      noticesOf.set(view, notices);
    }
    return notices;
  }

  private constructor(
    private readonly view: DepthView,
    private readonly staleAfterMs: number,
    private readonly now: () => number,
  ) {
    // After the view's own listener: the view has sent its DELTA for an event (if any) first.
    this.unsubscribe = view.replica.subscribe((event) => {
      if (event.type === 'reset') return;
      const held = this.view.snapshot();
      if (this.notified && held && held.seq !== this.view.replica.seq) this.send(held);
      this.notified = false;
      this.arm();
    });
    this.arm();
  }

  add(sink: PushUpdatesSink): void {
    this.sinks.add(sink);
    // A subscriber joining a stale book hears so, as the first check of its own would have said.
    const held = this.notified ? this.view.snapshot() : null;
    if (held) sink.offer(this.notice(held));
  }

  remove(sink: PushUpdatesSink): void {
    this.sinks.delete(sink);
    if (this.sinks.size > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe();
    noticesOf.delete(this.view);
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const due = this.view.replica.receiveTs + this.staleAfterMs - this.now() + 1;
    this.timer = setTimeout(() => this.check(), Math.max(1, due));
  }

  private check(): void {
    this.timer = undefined;
    const held = this.view.snapshot();
    if (!held) return;
    if (this.now() - this.view.replica.receiveTs <= this.staleAfterMs) {
      this.arm();
      return;
    }
    if (!this.notified) {
      this.notified = true;
      this.send(held);
    }
  }

  private send(held: BookUpdate): void {
    const notice = this.notice(held);
    for (const sink of this.sinks) sink.offer(notice);
  }

  /** A DELTA with no levels at the held seq: the window did not change, only its freshness. */
  private notice(held: BookUpdate): BookUpdate {
    return { ...held, type: 'DELTA', prevSeq: held.seq, bids: [], asks: [], reason: null };
  }
}
