import type { Redis } from 'ioredis';
import { bookId } from '../marketdata/types.ts';
import { BookReplica, type ReplicaDeps } from './book-replica.ts';
import { DepthView } from './depth-view.ts';

interface Entry {
  replica: BookReplica;
  views: Map<number, DepthView>;
  /** Leases per depth: a view lives while a lease holds it, whether or not it has listeners yet. */
  viewLeases: Map<number, number>;
  refs: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export interface BookHubOptions extends ReplicaDeps {
  subscriber: Redis;
  /** Keep an unwatched replica this long, so a quick resubscribe needs no new snapshot. @default 5000 */
  idleMs?: number;
}

export interface ViewLease {
  view: DepthView;
  release(): void;
}

/**
 * The hot books of this process: one replica per watched book, one shared view per (book, depth).
 * Replicas are reference-counted by leases and closed a short while after the last one ends.
 * When the subscriber connection drops, every replica announces a reset; when it is back, each
 * reads its snapshot again, since pub/sub loses whatever was published in between.
 */
export class BookHub {
  private readonly entries = new Map<string, Entry>();
  private readonly idleMs: number;
  private readonly onClose = () => {
    for (const e of this.entries.values()) e.replica.markDisconnected();
  };
  private readonly onReady = () => {
    for (const e of this.entries.values()) e.replica.resync('reconnect');
  };

  constructor(private readonly options: BookHubOptions) {
    this.idleMs = options.idleMs ?? 5_000;
    options.subscriber.on('close', this.onClose);
    options.subscriber.on('ready', this.onReady);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The process's subscriber, for other channels (trades, candles, feed status) to share. */
  get channels(): ReplicaDeps['channels'] {
    return this.options.channels;
  }

  get log(): ReplicaDeps['log'] {
    return this.options.log;
  }

  /** Watched books that are resynchronising or whose last event is older than `staleAfterMs`. */
  staleCount(now: number, staleAfterMs: number): number {
    let stale = 0;
    for (const { replica } of this.entries.values()) {
      if (!replica.live || now - replica.receiveTs > staleAfterMs) stale += 1;
    }
    return stale;
  }

  /** A live replica of the book if some subscription keeps one warm, else undefined. */
  liveReplica(exchange: string, symbol: string): BookReplica | undefined {
    const replica = this.entries.get(bookId(exchange, symbol))?.replica;
    return replica?.live ? replica : undefined;
  }

  async acquire(exchange: string, symbol: string, depth: number): Promise<ViewLease> {
    const id = bookId(exchange, symbol);
    let entry = this.entries.get(id);
    if (!entry) {
      entry = {
        replica: new BookReplica(this.options, exchange, symbol),
        views: new Map(),
        viewLeases: new Map(),
        refs: 0,
        idleTimer: undefined,
      };
      this.entries.set(id, entry);
    }
    const current = entry;
    current.refs += 1;
    if (current.idleTimer) {
      clearTimeout(current.idleTimer);
      current.idleTimer = undefined;
    }
    let view = current.views.get(depth);
    if (!view) {
      view = new DepthView(current.replica, depth, this.options.store.region);
      current.views.set(depth, view);
    }
    current.viewLeases.set(depth, (current.viewLeases.get(depth) ?? 0) + 1);
    const leased = view;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      current.refs -= 1;
      // Counted per view, not per book or by listeners: a second lease that has not subscribed
      // yet (its stream starts on the first read) must not find its view closed (issue 14 row 3).
      const leases = (current.viewLeases.get(depth) ?? 1) - 1;
      if (leases > 0) current.viewLeases.set(depth, leases);
      else if (current.views.get(depth) === leased) {
        current.viewLeases.delete(depth);
        leased.close();
        current.views.delete(depth);
      }
      if (current.refs === 0) current.idleTimer = setTimeout(() => this.evict(id, current), this.idleMs);
    };
    try {
      await current.replica.start();
    } catch (error) {
      release();
      throw error;
    }
    return { view: leased, release };
  }

  close(): void {
    this.options.subscriber.off('close', this.onClose);
    this.options.subscriber.off('ready', this.onReady);
    for (const [id, entry] of this.entries) this.evict(id, entry);
  }

  private evict(id: string, entry: Entry): void {
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    for (const view of entry.views.values()) view.close();
    entry.replica.close();
    if (this.entries.get(id) === entry) this.entries.delete(id);
  }
}
