import { BookSide, type Level } from './book/book-side.js';
import { Latest } from './book/latest.js';
import type { BookgraphClient } from './client.js';
import { BookgraphError } from './errors.js';
import {
  OrderBookUpdatesDocument,
  type OrderBookUpdatesSubscription,
  type ResetReason,
} from './generated/graphql.js';
import { backoffDelay, resolveRetry, sleep } from './retry.js';

/** One `orderBookUpdates` message as the SDK's operation selects it. */
export type BookUpdate = OrderBookUpdatesSubscription['orderBookUpdates'];

/** A client-held copy of the top `depth` levels of one venue's book. */
export interface LocalOrderBook {
  exchange: string;
  symbol: string;
  depth: number;
  /** Changes whenever the feed restarts or resynchronises. */
  epoch: string;
  /** Seq of the last message applied. */
  seq: number;
  /** The server says the book may be out of date, or the subscription connection is down. */
  stale: boolean;
  /** Local receive time (at the ingester) of the last event, ms since the Unix epoch. */
  receiveTimestamp: number;
  /** Best (highest) first. Prices and sizes are exact decimal strings. */
  bids: readonly Level[];
  /** Best (lowest) first. */
  asks: readonly Level[];
}

/**
 * Why the local book was dropped: a server RESET's reason, `CLIENT_GAP` when the client itself saw
 * a DELTA that does not continue its book (it resubscribes), `RESUBSCRIBE` when the stream ended
 * and the client subscribed again.
 */
export type BookDropReason = ResetReason | 'CLIENT_GAP' | 'RESUBSCRIBE';

export interface OrderBookWatchEvents {
  /** After every SNAPSHOT and DELTA applied: the book at `update.seq`. */
  change: (book: LocalOrderBook, update: BookUpdate) => void;
  /** The book was dropped; `current()` is undefined until the next SNAPSHOT. */
  reset: (reason: BookDropReason) => void;
  /** The watch ended with an error (e.g. MARKET_NOT_FOUND, or the connection lost for good). */
  error: (error: BookgraphError) => void;
}

export interface WatchOrderBookOptions {
  exchange: string;
  symbol: string;
  /** Levels per side. @default 20 */
  depth?: number;
  /**
   * Ask the server for stale notices (docs/BOOK_EVENTS.md): when the book goes silent a DELTA with
   * no levels and `seq == prevSeq` arrives with `stale: true`, so `change` fires with a stale book
   * instead of nothing. @default false
   */
  staleNotices?: boolean;
  /** Closes the watch when aborted. */
  signal?: AbortSignal;
}

export interface OrderBookWatch extends AsyncIterable<LocalOrderBook> {
  /** The book now, or undefined before the first SNAPSHOT and between a RESET and the next one. */
  current(): LocalOrderBook | undefined;
  /** Resolves with the first book; rejects if the watch fails or closes first. */
  ready(): Promise<LocalOrderBook>;
  on<E extends keyof OrderBookWatchEvents>(event: E, listener: OrderBookWatchEvents[E]): () => void;
  /** Times the client resubscribed on its own (a prevSeq gap, or the stream ended). */
  readonly resubscriptions: number;
  /** Unsubscribes; iterators end. */
  close(): Promise<void>;
}

/**
 * Follows one book with `orderBookUpdates` and applies it exactly as docs/BOOK_EVENTS.md says:
 * SNAPSHOT replaces the book; DELTA applies absolute sizes ("0" removes) only when its `prevSeq`
 * is the seq last applied, else the book is dropped and the client resubscribes; RESET drops the
 * book until the SNAPSHOT that follows. Iterating the watch yields the latest book (a slow loop
 * skips intermediate books); the `change` event sees every one.
 */
export function watchOrderBook(client: BookgraphClient, options: WatchOrderBookOptions): OrderBookWatch {
  return new LocalBookWatch(client, options);
}

type Listeners = { [E in keyof OrderBookWatchEvents]: Set<OrderBookWatchEvents[E]> };

class LocalBookWatch implements OrderBookWatch {
  private readonly exchange: string;
  private readonly symbol: string;
  private readonly depth: number;
  private readonly staleNotices: boolean;
  private readonly bids = new BookSide(true);
  private readonly asks = new BookSide(false);
  private book: LocalOrderBook | undefined;
  private held: { epoch: string; seq: number } | undefined;
  private connected = true;
  private closing = false;
  private active: AsyncIterableIterator<OrderBookUpdatesSubscription> | undefined;
  private readonly latest = new Latest<LocalOrderBook>();
  private readonly listeners: Listeners = { change: new Set(), reset: new Set(), error: new Set() };
  private readonly stopListening: () => void;
  private readonly done: Promise<void>;
  resubscriptions = 0;

  constructor(
    private readonly client: BookgraphClient,
    options: WatchOrderBookOptions,
  ) {
    this.exchange = options.exchange;
    this.symbol = options.symbol;
    this.depth = options.depth ?? 20;
    this.staleNotices = options.staleNotices ?? false;
    this.stopListening = client.onConnectionChange((connected) => {
      this.connected = connected;
      if (this.book) this.book = { ...this.book, stale: this.book.stale || !connected };
    });
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
    this.done = this.run();
  }

  current(): LocalOrderBook | undefined {
    return this.book;
  }

  ready(): Promise<LocalOrderBook> {
    if (this.book) return Promise.resolve(this.book);
    const iterator = this.latest.iterate();
    return iterator.next().then((result) => {
      void iterator.return?.();
      if (result.done)
        throw new BookgraphError('the watch closed before a book arrived', { code: 'CONNECTION_CLOSED' });
      return result.value;
    });
  }

  on<E extends keyof OrderBookWatchEvents>(event: E, listener: OrderBookWatchEvents[E]): () => void {
    const set = this.listeners[event] as Set<OrderBookWatchEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<LocalOrderBook> {
    return this.latest.iterate();
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.stopListening();
      await this.active?.return?.();
    }
    await this.done;
  }

  private async run(): Promise<void> {
    const backoff = resolveRetry();
    let failures = 0;
    while (!this.closing) {
      const updates = this.client.subscribe(OrderBookUpdatesDocument, {
        exchange: this.exchange,
        symbol: this.symbol,
        depth: this.depth,
        staleNotices: this.staleNotices,
      });
      this.active = updates;
      let gap = false;
      try {
        for await (const { orderBookUpdates: update } of updates) {
          if (this.closing) break;
          if (!this.handle(update)) {
            gap = true;
            break;
          }
          if (update.type === 'DELTA') failures = 0;
        }
      } catch (error) {
        if (this.closing) break;
        const failure =
          error instanceof BookgraphError
            ? error
            : new BookgraphError(String(error), { code: 'UNEXPECTED', cause: error });
        for (const listener of [...this.listeners.error]) listener(failure);
        this.latest.end(failure);
        this.stopListening();
        this.closing = true;
        return;
      }
      if (this.closing) break;
      this.resubscriptions += 1;
      if (!gap) this.drop('RESUBSCRIBE');
      // A first gap resubscribes at once; gaps or ends in a row back off.
      if (!gap || failures > 0) await sleep(backoffDelay(backoff, failures));
      failures += 1;
    }
    this.latest.end();
  }

  /** Applies one message; false when it does not continue the book (the caller resubscribes). */
  private handle(update: BookUpdate): boolean {
    switch (update.type) {
      case 'RESET':
        this.drop(update.reason ?? 'GAP');
        return true;
      case 'SNAPSHOT':
        this.bids.replace(update.bids);
        this.asks.replace(update.asks);
        this.held = { epoch: update.epoch, seq: update.seq };
        this.changed(update);
        return true;
      case 'DELTA':
        if (!this.held || update.epoch !== this.held.epoch || update.prevSeq !== this.held.seq) {
          this.drop('CLIENT_GAP');
          return false;
        }
        this.bids.apply(update.bids);
        this.asks.apply(update.asks);
        this.held = { epoch: update.epoch, seq: update.seq };
        this.changed(update);
        return true;
    }
  }

  private changed(update: BookUpdate): void {
    const book: LocalOrderBook = {
      exchange: this.exchange,
      symbol: this.symbol,
      depth: this.depth,
      epoch: update.epoch,
      seq: update.seq,
      stale: update.stale || !this.connected,
      receiveTimestamp: update.receiveTimestamp,
      bids: this.bids.sorted(),
      asks: this.asks.sorted(),
    };
    this.book = book;
    this.latest.push(book);
    for (const listener of [...this.listeners.change]) listener(book, update);
  }

  private drop(reason: BookDropReason): void {
    this.bids.clear();
    this.asks.clear();
    this.held = undefined;
    this.book = undefined;
    for (const listener of [...this.listeners.reset]) listener(reason);
  }
}
