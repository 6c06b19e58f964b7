import type { Market, RawBookUpdate, Trade } from './types.ts';

/** Where a feed delivers what it reads; the ingest pipeline implements it. */
export interface FeedSink {
  book(update: RawBookUpdate): void;
  trade(trade: Trade): void;
}

/** A source of market data for one or more venues: the simulator, ccxt, or a replay. */
export interface Feed {
  readonly name: string;
  /** Market metadata, known before `start` resolves. */
  markets(): Market[];
  start(sink: FeedSink): Promise<void>;
  stop(): Promise<void>;
  /** The feed's current full book, to reopen a book's chain after a failed write. */
  snapshot?(exchange: string, symbol: string): RawBookUpdate | undefined;
}
