import type { Market, RawBookUpdate, Trade } from './types.ts';

/** What a feed reports about itself, for feed health: connection changes, resyncs, errors. */
export interface FeedHealthEvent {
  exchange: string;
  /** `audit`: one periodic comparison with the venue's REST book (src/marketdata/book-audit.ts). */
  kind: 'connected' | 'disconnected' | 'resync' | 'error' | 'audit';
  /** The market concerned, when the event is about one (a resync, say). */
  symbol?: string;
  /** A short, human-readable cause (an error message, the reason of a resync). */
  message?: string;
  /** ms since the Unix epoch. */
  at: number;
  /**
   * For a resync that our own check of the venue's stream caused (not ccxt, not a disconnect):
   * which check failed. Counted in `bookgraph_venue_continuity_breaks_total`.
   */
  check?: 'sequence' | 'checksum' | 'audit';
  /** For an `audit` event: what the comparison found (a divergence is followed by a resync). */
  outcome?: 'match' | 'divergence' | 'skipped';
}

/** Where a feed delivers what it reads; the ingest pipeline implements it. */
export interface FeedSink {
  book(update: RawBookUpdate): void;
  trade(trade: Trade): void;
  health(event: FeedHealthEvent): void;
}

/** A source of market data for one or more venues: the simulator, ccxt, or a replay. */
export interface Feed {
  readonly name: string;
  /** Market metadata, known once `prepare` (or `start`) resolves. */
  markets(): Market[];
  /**
   * Loads what `markets()` returns when it comes from the venue (a ccxt feed's `loadMarkets`).
   * The ingester calls it before it writes the markets and before `start`.
   */
  prepare?(): Promise<void>;
  /** Why the feed is not usable yet (`prepare` still retrying an unreachable venue), or undefined. */
  unready?(): string | undefined;
  start(sink: FeedSink): Promise<void>;
  stop(): Promise<void>;
  /** The feed's current full book, to reopen a book's chain after a failed write. */
  snapshot?(exchange: string, symbol: string): RawBookUpdate | undefined;
}
