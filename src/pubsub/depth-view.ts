import { diffLevels } from '../marketdata/level-diff.ts';
import { comparePrice, type OrderBook } from '../marketdata/order-book.ts';
import type { Level } from '../marketdata/types.ts';
import type { ReplicaEvent, ResetReason } from './book-replica.ts';

/** What a view needs of a replica; BookReplica is one, a test can build another. */
export interface BookSource {
  readonly exchange: string;
  readonly symbol: string;
  readonly book: OrderBook;
  readonly epoch: string;
  readonly seq: number;
  readonly exchangeTs: number;
  readonly receiveTs: number;
  /** The venue's own sequence at `seq`, when the venue has one. */
  readonly venueSeq?: number | undefined;
  readonly live: boolean;
  /** The region whose copy the source follows; the view's own region if it does not say. */
  readonly region?: string;
  subscribe(listener: (event: ReplicaEvent) => void): () => void;
}

export type BookUpdateType = 'SNAPSHOT' | 'DELTA' | 'RESET';

/**
 * One message of `orderBookUpdates`. A SNAPSHOT carries the whole top-`depth` window; a DELTA the
 * levels that changed, entered (absolute size) or left (size "0") the window since `prevSeq`; a
 * RESET announces a discontinuity, after which a SNAPSHOT follows.
 */
export interface BookUpdate {
  type: BookUpdateType;
  exchange: string;
  symbol: string;
  region: string;
  depth: number;
  epoch: string;
  seq: number;
  prevSeq: number | null;
  bids: readonly Level[];
  asks: readonly Level[];
  exchangeTs: number;
  receiveTs: number;
  /** The venue's own sequence of the book this message brings the client to; null if none. */
  venueSeq: number | null;
  reason: ResetReason | null;
}

/**
 * The top-`depth` window of a replica, shared by every subscriber asking for that depth: each
 * full-depth delta is turned into a window delta once, and all subscribers get the same object.
 * A delta that does not touch the window emits nothing; the next one names the last emitted seq
 * as its `prevSeq`, so a client can always check continuity.
 */
export class DepthView {
  private bids: readonly Level[] = [];
  private asks: readonly Level[] = [];
  private lastSeq = 0;
  private hasWindow = false;
  private readonly listeners = new Set<(update: BookUpdate) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    readonly replica: BookSource,
    readonly depth: number,
    private readonly region: string,
  ) {
    this.unsubscribe = replica.subscribe((event) => this.onReplicaEvent(event));
    if (replica.live) this.takeWindow();
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** The current window as a SNAPSHOT, or null while the replica is resynchronising. */
  snapshot(): BookUpdate | null {
    if (!this.hasWindow || !this.replica.live) return null;
    return this.message('SNAPSHOT', this.bids, this.asks, null, null);
  }

  /**
   * The current window as a whole book at the replica's latest seq (the window is the same at
   * every seq since the last window change). For consumers that send whole books, not deltas.
   */
  current(): BookUpdate | null {
    const snapshot = this.snapshot();
    return snapshot && { ...snapshot, seq: this.replica.seq };
  }

  subscribe(listener: (update: BookUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Removes a listener (what `subscribe` returns does the same, at the cost of a closure). */
  removeListener(listener: (update: BookUpdate) => void): void {
    this.listeners.delete(listener);
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  private onReplicaEvent(event: ReplicaEvent): void {
    if (event.type === 'reset') {
      this.hasWindow = false;
      this.emit(this.message('RESET', [], [], null, event.reason));
    } else if (event.type === 'snapshot') {
      this.takeWindow();
      this.emit(this.message('SNAPSHOT', this.bids, this.asks, null, null));
    } else if (this.hasWindow) {
      const bidsTouched = touchesWindow(event.bids, this.bids, this.depth, true);
      const asksTouched = touchesWindow(event.asks, this.asks, this.depth, false);
      if (!bidsTouched && !asksTouched) return;
      const top = this.replica.book.top(this.depth);
      const bidChanges = bidsTouched ? diffLevels(this.bids, top.bids) : [];
      const askChanges = asksTouched ? diffLevels(this.asks, top.asks) : [];
      if (bidChanges.length === 0 && askChanges.length === 0) return;
      const prevSeq = this.lastSeq;
      this.bids = top.bids;
      this.asks = top.asks;
      this.lastSeq = this.replica.seq;
      this.emit(this.message('DELTA', bidChanges, askChanges, prevSeq, null));
    }
  }

  private takeWindow(): void {
    const top = this.replica.book.top(this.depth);
    this.bids = top.bids;
    this.asks = top.asks;
    this.lastSeq = this.replica.seq;
    this.hasWindow = true;
  }

  private message(
    type: BookUpdateType,
    bids: readonly Level[],
    asks: readonly Level[],
    prevSeq: number | null,
    reason: ResetReason | null,
  ): BookUpdate {
    const r = this.replica;
    return {
      type,
      exchange: r.exchange,
      symbol: r.symbol,
      region: r.region ?? this.region,
      depth: this.depth,
      epoch: r.epoch,
      seq: type === 'RESET' ? r.seq : this.lastSeq,
      prevSeq,
      bids,
      asks,
      exchangeTs: r.exchangeTs,
      receiveTs: r.receiveTs,
      venueSeq: r.venueSeq ?? null,
      reason,
    };
  }

  private emit(update: BookUpdate): void {
    for (const listener of this.listeners) listener(update);
  }
}

/**
 * Whether changed levels can alter a window: any change inside it, or better than its worst
 * level, or any change at all while the window is not full.
 */
export function touchesWindow(
  changes: readonly Level[],
  window: readonly Level[],
  depth: number,
  descending: boolean,
): boolean {
  if (changes.length === 0) return false;
  if (window.length < depth) return true;
  const worstPrice = window[window.length - 1]![0];
  const worst = Number(worstPrice);
  for (const [price] of changes) {
    const c = comparePrice(Number(price), price, worst, worstPrice);
    if (descending ? c >= 0 : c <= 0) return true;
  }
  return false;
}
