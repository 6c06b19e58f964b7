import { BookSide, type Level } from './book/book-side.js';
import { type MessageOutcome, SubscriptionWatch } from './book/subscription-watch.js';
import type { BookgraphClient } from './client.js';
import type { BookgraphError } from './errors.js';
import {
  OrderBookUpdatesDocument,
  type OrderBookUpdatesSubscription,
  type ResetReason,
} from './generated/graphql.js';

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
 * and the client subscribed again, `RECONNECT` when the subscription connection came back after
 * being lost (the book starts again from the SNAPSHOT that follows).
 */
export type BookDropReason = ResetReason | 'CLIENT_GAP' | 'RESUBSCRIBE' | 'RECONNECT';

export interface OrderBookWatchEvents {
  /** After every SNAPSHOT and DELTA applied: the book at `update.seq`. */
  change: (book: LocalOrderBook, update: BookUpdate) => void;
  /** The book was dropped; `current()` is undefined until the next SNAPSHOT. */
  reset: (reason: BookDropReason) => void;
  /** The watch ended with an error (e.g. MARKET_NOT_FOUND, or the connection lost for good). */
  error: (error: BookgraphError) => void;
  /**
   * The subscription connection was lost (`false`: the book is stale, the client keeps
   * reconnecting with backoff) or is back (`true`); graphql-ws only.
   */
  connection: (connected: boolean) => void;
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

class LocalBookWatch
  extends SubscriptionWatch<LocalOrderBook, OrderBookUpdatesSubscription, OrderBookWatchEvents>
  implements OrderBookWatch
{
  private readonly exchange: string;
  private readonly symbol: string;
  private readonly depth: number;
  private readonly staleNotices: boolean;
  private readonly bids = new BookSide(true);
  private readonly asks = new BookSide(false);
  private held: { epoch: string; seq: number } | undefined;
  /** The connection went down since the last (re)connection. */
  private lost = false;

  constructor(client: BookgraphClient, options: WatchOrderBookOptions) {
    super(client);
    this.exchange = options.exchange;
    this.symbol = options.symbol;
    this.depth = options.depth ?? 20;
    this.staleNotices = options.staleNotices ?? false;
    this.start(options.signal);
  }

  protected override subscribe(): AsyncIterableIterator<OrderBookUpdatesSubscription> {
    return this.client.subscribe(OrderBookUpdatesDocument, {
      exchange: this.exchange,
      symbol: this.symbol,
      depth: this.depth,
      staleNotices: this.staleNotices,
    });
  }

  protected override connectionChanged(connected: boolean): void {
    if (this.value) this.value = { ...this.value, stale: this.value.stale || !connected };
    this.events.emit('connection', connected);
    // Back after a loss: what was held is from before the outage; the SNAPSHOT that follows
    // (every subscription is sent again) starts the book anew.
    if (connected && this.lost) this.drop('RECONNECT');
    this.lost = !connected;
  }

  protected override streamEnded(): void {
    this.drop('RESUBSCRIBE');
  }

  /** Applies one message; a DELTA that does not continue the book is a gap (resubscribe). */
  protected override handle({ orderBookUpdates: update }: OrderBookUpdatesSubscription): MessageOutcome {
    switch (update.type) {
      case 'RESET':
        this.drop(update.reason ?? 'GAP');
        return 'applied';
      case 'SNAPSHOT':
        this.bids.replace(update.bids);
        this.asks.replace(update.asks);
        this.held = { epoch: update.epoch, seq: update.seq };
        this.changed(update);
        return 'applied';
      case 'DELTA':
        if (!this.held || update.epoch !== this.held.epoch || update.prevSeq !== this.held.seq) {
          this.drop('CLIENT_GAP');
          return 'gap';
        }
        this.bids.apply(update.bids);
        this.asks.apply(update.asks);
        this.held = { epoch: update.epoch, seq: update.seq };
        this.changed(update);
        return 'healthy';
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
    this.value = book;
    this.latest.push(book);
    this.events.emit('change', book, update);
  }

  private drop(reason: BookDropReason): void {
    this.bids.clear();
    this.asks.clear();
    this.held = undefined;
    this.value = undefined;
    this.events.emit('reset', reason);
  }
}
