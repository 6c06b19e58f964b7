import type { Logger } from 'pino';
import { OrderBook } from '../marketdata/order-book.ts';
import type { BookEvent, Level } from '../marketdata/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { BookStore } from '../redis/book-store.ts';
import { bookChannel } from '../redis/keys.ts';
import { decodeBookEvent } from '../wire/codec.ts';
import type { ChannelSubscriber } from './channel-subscriber.ts';

export type ReplicaEvent =
  | { type: 'reset'; reason: ResetReason }
  | { type: 'snapshot' }
  | { type: 'delta'; bids: readonly Level[]; asks: readonly Level[] };

export type ResetReason =
  | 'gap'
  | 'new-epoch'
  | 'corrupt-message'
  | 'reconnect'
  | 'conflated'
  /** The server moved to another region's copy of the book (see copy-choice.ts). */
  | 'region-switch';

export interface ReplicaDeps {
  store: BookStore;
  channels: ChannelSubscriber;
  log: Logger;
  metrics?: Metrics;
  /** Counts discontinuities, for metrics and tests. */
  onReset?: (reason: ResetReason) => void;
}

/** How long to wait before reading again a book Redis does not hold yet. @default 500 */
const RETRY_MS = 500;

/**
 * An in-process copy of one book, fed by its Redis channel. Subscribe first, then read the
 * snapshot, then apply only the buffered and later deltas above the snapshot's seq. Any
 * discontinuity (seq gap, new epoch without its snapshot, undecodable message, lost connection)
 * is announced as a reset and repaired by reading the snapshot again; nothing is guessed.
 */
export class BookReplica {
  readonly book = new OrderBook();
  epoch = '';
  seq = 0;
  exchangeTs = 0;
  receiveTs = 0;
  /** The venue's own sequence at the applied seq, when the venue has one. */
  venueSeq: number | undefined;
  private state: 'idle' | 'syncing' | 'live' | 'closed' = 'idle';
  private buffer: BookEvent[] = [];
  private readonly listeners = new Set<(event: ReplicaEvent) => void>();
  private stopListening: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private firstSync: Promise<void> | undefined;
  /** Set while the connection is down: the replica waits for it before reading the snapshot. */
  private disconnected = false;
  /** Set while Redis holds an older seq of the epoch than delivered: logged once per episode. */
  private behind = false;

  constructor(
    private readonly deps: ReplicaDeps,
    readonly exchange: string,
    readonly symbol: string,
  ) {}

  get live(): boolean {
    return this.state === 'live';
  }

  /** The region whose copy of the book this replica follows. */
  get region(): string {
    return this.deps.store.region;
  }

  /** Resolves once the channel is subscribed and a first snapshot read was attempted. */
  start(): Promise<void> {
    this.firstSync ??= (async () => {
      const channel = bookChannel(this.deps.store.region, this.exchange, this.symbol);
      this.state = 'syncing';
      this.stopListening = await this.deps.channels.listenSharded(channel, (raw) => this.onMessage(raw));
      // close() may have run while SUBSCRIBE was in flight.
      if ((this.state as string) === 'closed') {
        this.stopListening();
        return;
      }
      await this.sync();
    })();
    return this.firstSync;
  }

  subscribe(listener: (event: ReplicaEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Announce a discontinuity and read the snapshot again (after a reconnect, say). */
  resync(reason: ResetReason): void {
    if (this.disconnected && this.state === 'syncing') {
      // The reset was announced when the connection dropped; now that it is back, repair.
      this.disconnected = false;
      void this.sync();
      return;
    }
    if (this.state !== 'live') return;
    this.emit({ type: 'reset', reason });
    this.deps.onReset?.(reason);
    void this.sync();
  }

  /** While the connection is down the replica cannot be trusted; it says so until resynced. */
  markDisconnected(): void {
    if (this.state === 'live') {
      this.emit({ type: 'reset', reason: 'reconnect' });
      this.deps.onReset?.('reconnect');
      this.state = 'syncing';
      this.buffer = [];
      this.disconnected = true;
    }
  }

  close(): void {
    this.state = 'closed';
    this.listeners.clear();
    this.stopListening?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private emit(event: ReplicaEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private async sync(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'syncing';
    this.buffer = [];
    let stored: Awaited<ReturnType<BookStore['readBook']>>;
    try {
      stored = await this.deps.store.readBook(this.exchange, this.symbol, 0);
    } catch (error) {
      this.deps.log.warn(
        { err: error, exchange: this.exchange, symbol: this.symbol },
        'snapshot read failed; retrying',
      );
      stored = null;
    }
    if ((this.state as string) === 'closed') return;
    if (stored && stored.epoch === this.epoch && stored.seq < this.seq) {
      // Redis holds an older state of this epoch than the one already delivered: a failover lost
      // writes the old primary had acknowledged and published. Showing it would take clients back
      // in time; the writer's next write is refused there, it opens a new epoch, a retry finds it.
      if (!this.behind) {
        this.deps.log.warn(
          { exchange: this.exchange, symbol: this.symbol, stored: stored.seq, delivered: this.seq },
          'stored book is behind the delivered one (writes lost in a failover); waiting for a new epoch',
        );
      }
      this.behind = true;
      stored = null;
    }
    if (!stored) {
      this.retryTimer = setTimeout(() => void this.sync(), RETRY_MS);
      return;
    }
    this.book.replace(stored.bids, stored.asks);
    this.epoch = stored.epoch;
    this.seq = stored.seq;
    this.exchangeTs = stored.exchangeTs;
    this.receiveTs = stored.receiveTs;
    this.venueSeq = stored.venueSeq;
    this.state = 'live';
    this.behind = false;
    this.emit({ type: 'snapshot' });
    const buffered = this.buffer;
    this.buffer = [];
    for (const event of buffered) {
      if (this.state !== 'live') break;
      this.apply(event);
    }
  }

  private onMessage(raw: string): void {
    if (this.state === 'closed') return;
    this.deps.metrics?.pubsubReceived.inc();
    const decoded = decodeBookEvent(raw);
    if (!decoded.ok) {
      this.deps.log.warn(
        { exchange: this.exchange, symbol: this.symbol, error: decoded.error },
        'undecodable book message',
      );
      this.resync('corrupt-message');
      return;
    }
    if (this.state === 'syncing') this.buffer.push(decoded.value);
    else if (this.state === 'live') this.apply(decoded.value);
  }

  private apply(event: BookEvent): void {
    if (event.epoch !== this.epoch) {
      if (event.kind === 'snapshot') {
        this.emit({ type: 'reset', reason: 'new-epoch' });
        this.deps.onReset?.('new-epoch');
        this.replaceWith(event);
      } else {
        this.resync('gap');
      }
      return;
    }
    if (event.seq <= this.seq) return;
    if (event.seq !== this.seq + 1) {
      this.resync('gap');
      return;
    }
    if (event.kind === 'snapshot') {
      this.emit({ type: 'reset', reason: 'new-epoch' });
      this.replaceWith(event);
      return;
    }
    this.book.apply(event.bids, event.asks);
    this.advance(event);
    this.emit({ type: 'delta', bids: event.bids, asks: event.asks });
  }

  private replaceWith(event: BookEvent): void {
    this.book.replace(event.bids, event.asks);
    this.epoch = event.epoch;
    this.advance(event);
    this.emit({ type: 'snapshot' });
  }

  private advance(event: BookEvent): void {
    this.seq = event.seq;
    this.exchangeTs = event.exchangeTs;
    this.receiveTs = event.receiveTs;
    this.venueSeq = event.venueSeq;
  }
}
