import { type MessageOutcome, SubscriptionWatch } from './book/subscription-watch.js';
import type { BookgraphClient } from './client.js';
import type { BookgraphError } from './errors.js';
import {
  type ConsolidatedBookFieldsFragment,
  ConsolidatedBookUpdatesDocument,
  type ConsolidatedBookUpdatesSubscription,
  type ConsolidatedLevelFieldsFragment,
} from './generated/graphql.js';

/** A price level across venues: the total size and each venue's size at that price. */
export type ConsolidatedLevel = ConsolidatedLevelFieldsFragment;

/**
 * The merged book of one symbol across venues as the server sends it (levels with venue
 * attribution, the best bid and offer across venues, `crossed`, stale and unavailable venues, each
 * venue's (epoch, seq), and the liquidity analytics), plus `connected`: false while the
 * subscription connection is down, in which case `stale` is true as well.
 */
export type LocalConsolidatedBook = ConsolidatedBookFieldsFragment & { connected: boolean };

/** What changed from the previous book (the first book of a watch reports everything as new). */
export interface ConsolidatedBookChange {
  /** The first book of the watch, or the first after a resubscription. */
  first: boolean;
  /** Venues whose (epoch, seq) moved, or that joined the merge. */
  venuesUpdated: string[];
  /** Venues that turned stale, or fresh again. */
  becameStale: string[];
  becameFresh: string[];
  /** Venues that left the merge (`unavailableVenues`), or came back. */
  becameUnavailable: string[];
  becameAvailable: string[];
  /** `crossed` flipped (read the book's `crossed` for its value). */
  crossedChanged: boolean;
  /** Price or size (or venues) of the best bid / best ask changed. */
  bestBidChanged: boolean;
  bestAskChanged: boolean;
}

export interface ConsolidatedBookWatchEvents {
  /** Every book the server sent, with what changed since the previous one. */
  change: (book: LocalConsolidatedBook, change: ConsolidatedBookChange) => void;
  /** The watch ended with an error (e.g. MARKET_NOT_FOUND, or the connection lost for good). */
  error: (error: BookgraphError) => void;
}

export interface WatchConsolidatedBookOptions {
  symbol: string;
  /** Levels per side. @default 20 */
  depth?: number;
  /** At most one book per this many ms (the server conflates in between). @default 250 */
  throttleMs?: number;
  /** Venues to merge. @default every venue of the region that lists the symbol */
  exchanges?: readonly string[];
  /** Closes the watch when aborted. */
  signal?: AbortSignal;
}

export interface ConsolidatedBookWatch extends AsyncIterable<LocalConsolidatedBook> {
  /** The latest book, or undefined before the first one. */
  current(): LocalConsolidatedBook | undefined;
  /** Resolves with the first book; rejects if the watch fails or closes first. */
  ready(): Promise<LocalConsolidatedBook>;
  on<E extends keyof ConsolidatedBookWatchEvents>(
    event: E,
    listener: ConsolidatedBookWatchEvents[E],
  ): () => void;
  /** Times the stream ended and the watch subscribed again. */
  readonly resubscriptions: number;
  /** Unsubscribes; iterators end. */
  close(): Promise<void>;
}

/**
 * Follows the consolidated book of a symbol (`Subscription.consolidatedBook`): each message is the
 * whole merged top `depth` across venues at most once per `throttleMs`, so the watch keeps the
 * latest one and reports what changed — venues updated, turned stale or fresh, left or rejoined
 * the merge, the book crossing or uncrossing, the best bid or ask moving. Iterating yields the
 * latest book (a slow loop skips books); the `change` event sees every one.
 */
export function watchConsolidatedBook(
  client: BookgraphClient,
  options: WatchConsolidatedBookOptions,
): ConsolidatedBookWatch {
  return new ConsolidatedWatch(client, options);
}

/** One venue's part of a consolidated side: its size at each price where it quotes, best first. */
export function venueLevels(
  levels: readonly ConsolidatedLevel[],
  exchange: string,
): { price: string; size: string }[] {
  const out: { price: string; size: string }[] = [];
  for (const level of levels) {
    const mine = level.venues.find((v) => v.exchange === exchange);
    if (mine) out.push({ price: level.price, size: mine.size });
  }
  return out;
}

const sameLevel = (a: ConsolidatedLevel | null | undefined, b: ConsolidatedLevel | null | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** What changed between two books (`before` undefined: everything is new). */
export function diffConsolidatedBooks(
  before: ConsolidatedBookFieldsFragment | undefined,
  after: ConsolidatedBookFieldsFragment,
): ConsolidatedBookChange {
  const seqOf = new Map(before?.venues.map((v) => [v.exchange, `${v.epoch}:${v.seq}`]) ?? []);
  const staleBefore = new Set(before?.staleVenues ?? []);
  const staleAfter = new Set(after.staleVenues);
  const unavailableBefore = new Set(before?.unavailableVenues ?? []);
  const unavailableAfter = new Set(after.unavailableVenues);
  return {
    first: before === undefined,
    venuesUpdated: after.venues
      .filter((v) => seqOf.get(v.exchange) !== `${v.epoch}:${v.seq}`)
      .map((v) => v.exchange),
    becameStale: [...staleAfter].filter((v) => !staleBefore.has(v)),
    becameFresh: [...staleBefore].filter((v) => !staleAfter.has(v)),
    becameUnavailable: [...unavailableAfter].filter((v) => !unavailableBefore.has(v)),
    becameAvailable: [...unavailableBefore].filter((v) => !unavailableAfter.has(v)),
    crossedChanged: before !== undefined && before.crossed !== after.crossed,
    bestBidChanged: before === undefined || !sameLevel(before.bestBid, after.bestBid),
    bestAskChanged: before === undefined || !sameLevel(before.bestAsk, after.bestAsk),
  };
}

class ConsolidatedWatch
  extends SubscriptionWatch<
    LocalConsolidatedBook,
    ConsolidatedBookUpdatesSubscription,
    ConsolidatedBookWatchEvents
  >
  implements ConsolidatedBookWatch
{
  private firstOfStream = true;

  constructor(
    client: BookgraphClient,
    private readonly options: WatchConsolidatedBookOptions,
  ) {
    super(client);
    this.start(options.signal);
  }

  protected override subscribe(): AsyncIterableIterator<ConsolidatedBookUpdatesSubscription> {
    this.firstOfStream = true;
    return this.client.subscribe(ConsolidatedBookUpdatesDocument, {
      symbol: this.options.symbol,
      depth: this.options.depth ?? 20,
      throttleMs: this.options.throttleMs ?? 250,
      ...(this.options.exchanges ? { exchanges: [...this.options.exchanges] } : {}),
    });
  }

  protected override connectionChanged(connected: boolean): void {
    if (!connected) this.firstOfStream = true;
    if (this.value) {
      this.value = { ...this.value, connected, stale: this.value.stale || !connected };
    }
  }

  protected override handle({
    consolidatedBook: message,
  }: ConsolidatedBookUpdatesSubscription): MessageOutcome {
    const book: LocalConsolidatedBook = {
      ...message,
      connected: this.connected,
      stale: message.stale || !this.connected,
    };
    const change = diffConsolidatedBooks(this.value, book);
    change.first = this.firstOfStream;
    this.firstOfStream = false;
    this.value = book;
    this.latest.push(book);
    this.events.emit('change', book, change);
    return 'healthy';
  }
}
