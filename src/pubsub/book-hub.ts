import { bookId } from '../marketdata/types.ts';
import type { RedisClient } from '../redis/connection.ts';
import { chooseCopy } from '../redis/copy-choice.ts';
import { RegionalBooks } from '../redis/regional-books.ts';
import type { ReplicaDeps } from './book-replica.ts';
import { DepthView } from './depth-view.ts';
import { ServedBook } from './served-book.ts';

interface Entry {
  replica: ServedBook;
  views: Map<number, DepthView>;
  /** Leases per depth: a view lives while a lease holds it, whether or not it has listeners yet. */
  viewLeases: Map<number, number>;
  refs: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export interface BookHubOptions extends ReplicaDeps {
  subscriber: RedisClient;
  /** Keep an unwatched replica this long, so a quick resubscribe needs no new snapshot. @default 5000 */
  idleMs?: number;
  /**
   * Every region of the Active-Active database (`REGIONS`), this one (`store.region`) first: the
   * copies of each book the hub may serve. @default [store.region]
   */
  regions?: readonly string[];
  /** A book's staleness threshold: past it without a write, another region's copy is preferred. @default 5000 */
  staleAfterMs?: (exchange: string, symbol: string) => number;
  /** How often the copy choice of each watched book is looked at again (several regions only). @default 1000 */
  copyCheckMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface ViewLease {
  view: DepthView;
  release(): void;
}

/** The copy (region) a book is served from, followed while held (BookHub.followCopy). */
export interface CopyLease {
  /** The region whose copy is served now. */
  readonly region: string;
  /** Calls `listener` with the new region at each switch of copy; returns its removal. */
  onSwitch(listener: (region: string) => void): () => void;
  release(): void;
}

/**
 * The hot books of this process: one replica per watched book, one shared view per (book, depth).
 * Replicas are reference-counted by leases and closed a short while after the last one ends.
 * When the subscriber connection drops, every replica announces a reset; when it is back, each
 * reads its snapshot again, since pub/sub loses whatever was published in between.
 *
 * With several regions, each book is served from one region's copy (copy-choice.ts), looked at
 * again every `copyCheckMs`: a watched book moves to another copy with RESET + SNAPSHOT.
 *
 * On a Cluster
 * the same holds per shard: a shard's subscriber connection replaced after a failover or a slot
 * move (`-subscriber`) is a disconnection, and `subscribersReady` (resubscribed) is the way back.
 */
export class BookHub {
  /** Reads across every listed region. */
  readonly copies: RegionalBooks;
  private readonly entries = new Map<string, Entry>();
  /** The copy last chosen for books nobody watches, so that queries do not flap either. */
  private readonly choices = new Map<string, string>();
  private readonly idleMs: number;
  private readonly copyTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private readonly onClose = () => {
    for (const e of this.entries.values()) e.replica.markDisconnected();
  };
  private readonly onReady = () => {
    for (const e of this.entries.values()) e.replica.resync('reconnect');
  };

  constructor(private readonly options: BookHubOptions) {
    this.idleMs = options.idleMs ?? 5_000;
    this.copies = new RegionalBooks(options.store, options.regions, options.metrics);
    options.subscriber.on('close', this.onClose);
    options.subscriber.on('ready', this.onReady);
    options.subscriber.on('-subscriber', this.onClose);
    options.subscriber.on('subscribersReady', this.onReady);
    if (this.copies.regions.length > 1) {
      this.copyTimer = setInterval(() => void this.checkCopies(), options.copyCheckMs ?? 1_000);
      this.copyTimer.unref();
    }
  }

  /** This server's region. */
  get region(): string {
    return this.options.store.region;
  }

  get size(): number {
    return this.entries.size;
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
  liveReplica(exchange: string, symbol: string): ServedBook | undefined {
    const replica = this.entries.get(bookId(exchange, symbol))?.replica;
    return replica?.live ? replica : undefined;
  }

  /**
   * The region whose copy of the book to read: the one a watched book is served from, else the
   * copy choice from each copy's last write (one Redis round trip; none with a single region).
   */
  async regionFor(exchange: string, symbol: string): Promise<string> {
    const id = bookId(exchange, symbol);
    const served = this.entries.get(id)?.replica;
    if (served) return served.region;
    if (this.copies.regions.length === 1) return this.region;
    const region = (await this.choose(exchange, symbol, this.choices.get(id))) ?? this.region;
    this.choices.set(id, region);
    return region;
  }

  async acquire(exchange: string, symbol: string, depth: number): Promise<ViewLease> {
    const held = this.retain(exchange, symbol);
    const current = held.entry;
    let view = current.views.get(depth);
    if (!view) {
      view = new DepthView(current.replica, depth, this.region);
      current.views.set(depth, view);
    }
    current.viewLeases.set(depth, (current.viewLeases.get(depth) ?? 0) + 1);
    const leased = view;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      // Counted per view, not per book or by listeners: a second lease that has not subscribed
      // yet (its stream starts on the first read) must not find its view closed (issue 14 row 3).
      const leases = (current.viewLeases.get(depth) ?? 1) - 1;
      if (leases > 0) current.viewLeases.set(depth, leases);
      else if (current.views.get(depth) === leased) {
        current.viewLeases.delete(depth);
        leased.close();
        current.views.delete(depth);
      }
      held.release();
    };
    await this.startServed(current, release);
    return { view: leased, release };
  }

  /**
   * Follows the copy the book is served from without a view: what the book's trade and candle
   * streams use to move with the book when its copy switches region (copy-following.ts). Keeps
   * the book's replica (and its copy checks) alive until released.
   */
  async followCopy(exchange: string, symbol: string): Promise<CopyLease> {
    const held = this.retain(exchange, symbol);
    const served = held.entry.replica;
    await this.startServed(held.entry, held.release);
    return {
      get region() {
        return served.region;
      },
      onSwitch: (listener) => served.onSwitch(listener),
      release: held.release,
    };
  }

  /** The book's entry, created if new, with one more reference; `release` gives it back once. */
  private retain(exchange: string, symbol: string): { entry: Entry; release: () => void } {
    const id = bookId(exchange, symbol);
    let entry = this.entries.get(id);
    if (!entry) {
      entry = {
        replica: new ServedBook(
          this.options,
          this.copies,
          exchange,
          symbol,
          this.choices.get(id) ?? this.region,
        ),
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
    let released = false;
    return {
      entry: current,
      release: () => {
        if (released) return;
        released = true;
        current.refs -= 1;
        if (current.refs === 0) current.idleTimer = setTimeout(() => this.evict(id, current), this.idleMs);
      },
    };
  }

  /** Starts the entry's served book on the copy chosen now; on failure gives the reference back. */
  private async startServed(entry: Entry, release: () => void): Promise<void> {
    const { exchange, symbol } = entry.replica;
    const id = bookId(exchange, symbol);
    try {
      await entry.replica.start(
        this.copies.regions.length > 1
          ? () => this.choose(exchange, symbol, this.choices.get(id))
          : undefined,
      );
    } catch (error) {
      release();
      throw error;
    }
  }

  close(): void {
    if (this.copyTimer) clearInterval(this.copyTimer);
    this.options.subscriber.off('close', this.onClose);
    this.options.subscriber.off('ready', this.onReady);
    this.options.subscriber.off('-subscriber', this.onClose);
    this.options.subscriber.off('subscribersReady', this.onReady);
    for (const [id, entry] of this.entries) this.evict(id, entry);
  }

  private async choose(exchange: string, symbol: string, current: string | undefined) {
    return chooseCopy({
      copies: await this.copies.readCopyTimes(exchange, symbol),
      local: this.region,
      current,
      now: (this.options.now ?? Date.now)(),
      staleAfterMs: this.options.staleAfterMs?.(exchange, symbol) ?? 5_000,
    });
  }

  /** Moves each watched book whose copy choice changed; one round at a time. */
  private async checkCopies(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const [id, entry] of [...this.entries]) {
        const served = entry.replica;
        try {
          const region = await this.choose(served.exchange, served.symbol, served.target);
          if (region && this.entries.get(id) === entry) served.switchTo(region);
        } catch (err) {
          this.options.log.warn(
            { err, exchange: served.exchange, symbol: served.symbol },
            'copy check failed',
          );
        }
      }
    } finally {
      this.checking = false;
    }
  }

  private evict(id: string, entry: Entry): void {
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    for (const view of entry.views.values()) view.close();
    // Queries of the book go on reading the copy it was served from (no flapping).
    this.choices.set(id, entry.replica.target);
    entry.replica.close();
    if (this.entries.get(id) === entry) this.entries.delete(id);
  }
}
