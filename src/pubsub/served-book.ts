import type { Logger } from 'pino';
import type { OrderBook } from '../marketdata/order-book.ts';
import type { RegionalBooks } from '../redis/regional-books.ts';
import { BookReplica, type ReplicaDeps, type ReplicaEvent, type ResetReason } from './book-replica.ts';
import type { BookSource } from './depth-view.ts';

/**
 * The book a server serves: one region's replica at a time, and the move to another region's
 * copy. The new copy's replica is started beside the old one ("make before break"); once it has
 * its snapshot, the served book switches in one step: a RESET(region-switch), then that snapshot,
 * then its deltas. Two copies' sequences are never spliced: each has its own writer and epochs.
 */
export class ServedBook implements BookSource {
  private replica: BookReplica;
  private pending: BookReplica | undefined;
  private readonly listeners = new Set<(event: ReplicaEvent) => void>();
  private readonly switchListeners = new Set<(region: string) => void>();
  private readonly stops = new Map<BookReplica, () => void>();
  private started: Promise<void> | undefined;
  private closed = false;
  private changes = 0;

  constructor(
    private readonly deps: ReplicaDeps,
    private readonly copies: RegionalBooks,
    readonly exchange: string,
    readonly symbol: string,
    region: string,
  ) {
    this.replica = this.follow(region);
  }

  get region(): string {
    return this.replica.region;
  }

  /** The region served once a switch in progress completes. */
  get target(): string {
    return (this.pending ?? this.replica).region;
  }

  get book(): OrderBook {
    return this.replica.book;
  }
  get epoch(): string {
    return this.replica.epoch;
  }
  get seq(): number {
    return this.replica.seq;
  }
  get exchangeTs(): number {
    return this.replica.exchangeTs;
  }
  get receiveTs(): number {
    return this.replica.receiveTs;
  }
  get venueSeq(): number | undefined {
    return this.replica.venueSeq;
  }
  get live(): boolean {
    return this.replica.live;
  }

  /**
   * Resolves once the first copy is subscribed and its snapshot read was attempted. `initial`
   * names the copy to start from (it may read Redis); the constructor's region if it fails.
   */
  start(initial?: () => Promise<string | undefined>): Promise<void> {
    this.started ??= (async () => {
      const region = await initial?.().catch((err: unknown) => {
        this.log.warn({ err, exchange: this.exchange, symbol: this.symbol }, 'copy choice failed');
        return undefined;
      });
      if (region && region !== this.replica.region && !this.closed) {
        // Nothing was served yet: replace the replica without telling anyone.
        this.drop(this.replica);
        this.replica = this.follow(region);
      }
      await this.replica.start();
    })();
    return this.started;
  }

  subscribe(listener: (event: ReplicaEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` with the new region each time the served copy changes (right after the
   * RESET + SNAPSHOT of the new copy went to the book's listeners): the trade and candle streams
   * of the book follow the same copy. Returns the function that removes it.
   */
  onSwitch(listener: (region: string) => void): () => void {
    this.switchListeners.add(listener);
    return () => this.switchListeners.delete(listener);
  }

  /** Serve `region`'s copy from its first snapshot on; a no-op if it is served or on its way. */
  switchTo(region: string): void {
    if (this.closed || region === this.target) return;
    if (this.pending) {
      this.drop(this.pending);
      this.pending = undefined;
    }
    if (region === this.replica.region) return;
    const next = this.follow(region);
    this.pending = next;
    next.start().catch((err: unknown) => {
      this.log.warn({ err, exchange: this.exchange, symbol: this.symbol, region }, 'copy switch failed');
      if (this.pending === next) {
        this.drop(next);
        this.pending = undefined;
      }
    });
  }

  resync(reason: ResetReason): void {
    this.replica.resync(reason);
    this.pending?.resync(reason);
  }

  markDisconnected(): void {
    this.replica.markDisconnected();
    this.pending?.markDisconnected();
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.switchListeners.clear();
    if (this.pending) this.drop(this.pending);
    this.pending = undefined;
    this.drop(this.replica);
  }

  private get log(): Logger {
    return this.deps.log;
  }

  /** A replica of `region`'s copy, its events routed by whether it is served, pending or neither. */
  private follow(region: string): BookReplica {
    const replica = new BookReplica(
      { ...this.deps, store: this.copies.store(region) },
      this.exchange,
      this.symbol,
    );
    this.stops.set(
      replica,
      replica.subscribe((event) => {
        if (replica === this.replica) this.emit(event);
        else if (replica === this.pending && event.type === 'snapshot') this.swap(replica);
      }),
    );
    return replica;
  }

  private swap(next: BookReplica): void {
    const previous = this.replica;
    // A RESET only if subscribers hold a book: a replica that is not live already announced one.
    const announce = previous.live;
    this.pending = undefined;
    this.replica = next;
    this.drop(previous);
    if (announce) {
      this.emit({ type: 'reset', reason: 'region-switch' });
      this.deps.onReset?.('region-switch');
    }
    this.emit({ type: 'snapshot' });
    for (const listener of [...this.switchListeners]) listener(next.region);
  }

  private drop(replica: BookReplica): void {
    this.stops.get(replica)?.();
    this.stops.delete(replica);
    replica.close();
  }

  /**
   * Moves on every change of what this book serves (each event of the served copy, a switch of
   * copy): equal versions mean equal state (held-book-results.ts keeps query answers by it).
   */
  get version(): number {
    return this.changes;
  }

  private emit(event: ReplicaEvent): void {
    this.changes += 1;
    for (const listener of this.listeners) listener(event);
  }
}
