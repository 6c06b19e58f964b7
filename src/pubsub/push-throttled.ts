import type { ViewLease } from './book-hub.ts';
import type { BookUpdate, DepthView } from './depth-view.ts';
import { PushSink, type PushTarget } from './push-sink.ts';

export interface PushThrottledOptions {
  throttleMs: number;
  /** Re-send the book once when it has had no event for this long (it then resolves `stale: true`). */
  staleAfterMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * The throttled `orderBook` subscription on the push path. Its subscribers of one view and one
 * `throttleMs` share a ThrottleGroup: one timer, and one book object per interval (so one
 * execution). A subscriber gets the current book when it starts, then the group's books, never
 * two within `throttleMs` of each other; one whose socket is full gets the latest book when it
 * drains. The state at the end of an interval is always sent, as on the iterator path.
 */
export class PushThrottledSink extends PushSink {
  /** When this subscriber was last written to (the group's clock). */
  lastSentAt = Number.NEGATIVE_INFINITY;
  /** A book is due (it came too soon after the last, or the socket was full). */
  pending = false;
  private group: ThrottleGroup | undefined;

  constructor(
    lease: ViewLease,
    target: PushTarget,
    private readonly options: PushThrottledOptions,
  ) {
    super(lease, target);
  }

  protected start(): void {
    this.group = ThrottleGroup.of(this.lease.view, this.options);
    this.group.add(this);
  }

  protected stop(): void {
    this.group?.remove(this);
  }

  /** Writes `book` now, or marks it due while the socket is full. */
  offer(book: BookUpdate, at: number): void {
    if (this.ended) return;
    const room = this.write(book, 'BOOK');
    if (room === 'send') {
      this.pending = false;
      this.lastSentAt = at;
    } else if (room === 'hold') {
      this.pending = true;
      this.target.connection.wait(this);
    }
  }

  resume(): void {
    const book = this.lease.view.current();
    if (book && this.pending) this.offer(book, this.group?.now() ?? 0);
  }
}

const groupsOf = new WeakMap<DepthView, Map<number, ThrottleGroup>>();

class ThrottleGroup {
  private readonly sinks = new Set<PushThrottledSink>();
  private readonly listener = (update: BookUpdate) => {
    if (update.type === 'RESET') return;
    this.dirty = true;
    if (!this.timer) this.emit();
  };
  private timer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  /** The book (epoch/seq) already re-sent for being stale. */
  private staleSentFor: string | undefined;
  readonly now: () => number;

  static of(view: DepthView, options: PushThrottledOptions): ThrottleGroup {
    let groups = groupsOf.get(view);
    if (!groups) {
      groups = new Map();
      groupsOf.set(view, groups);
    }
    let group = groups.get(options.throttleMs);
    if (!group) {
      group = new ThrottleGroup(view, options);
      groups.set(options.throttleMs, group);
    }
    return group;
  }

  private constructor(
    private readonly view: DepthView,
    private readonly options: PushThrottledOptions,
  ) {
    this.now = options.now ?? Date.now;
    view.subscribe(this.listener);
  }

  add(sink: PushThrottledSink): void {
    this.sinks.add(sink);
    const book = this.view.current();
    if (book) sink.offer(book, this.now());
    if (!this.timer) this.armStale(book);
  }

  remove(sink: PushThrottledSink): void {
    this.sinks.delete(sink);
    if (this.sinks.size > 0) return;
    this.view.removeListener(this.listener);
    if (this.timer) clearTimeout(this.timer);
    if (this.staleTimer) clearTimeout(this.staleTimer);
    const groups = groupsOf.get(this.view);
    groups?.delete(this.options.throttleMs);
    if (groups?.size === 0) groupsOf.delete(this.view);
  }

  /** Sends the current book to every subscriber that may have one now, and starts an interval. */
  private emit(): void {
    const book = this.view.current();
    if (!book) return;
    this.dirty = false;
    const now = this.now();
    const { throttleMs } = this.options;
    for (const sink of this.sinks) {
      if (now - sink.lastSentAt < throttleMs) sink.pending = true;
      else sink.offer(book, now);
    }
    this.timer = setTimeout(() => this.tick(), throttleMs);
    this.armStale(book);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.dirty || this.anyPending()) this.emit();
  }

  private anyPending(): boolean {
    for (const sink of this.sinks) if (sink.pending) return true;
    return false;
  }

  /** A silent book is sent once more when it turns stale, so a watcher sees `stale: true`. */
  private armStale(armed: BookUpdate | null): void {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    const { staleAfterMs } = this.options;
    if (!armed || staleAfterMs === undefined) return;
    const id = `${armed.epoch}/${armed.seq}`;
    if (id === this.staleSentFor) return;
    const due = armed.receiveTs + staleAfterMs - this.now() + 1;
    this.staleTimer = setTimeout(
      () => {
        this.staleTimer = undefined;
        const latest = this.view.current();
        if (!latest) return;
        if (`${latest.epoch}/${latest.seq}` !== id || this.now() - latest.receiveTs <= staleAfterMs) {
          this.armStale(latest);
          return;
        }
        this.staleSentFor = id;
        this.dirty = true;
        if (!this.timer) this.emit();
      },
      Math.max(1, due),
    );
  }
}
