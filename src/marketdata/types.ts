/** A price level: `[price, size]` as canonical decimal strings. Size "0" removes the level. */
export type Level = readonly [price: string, size: string];

export type BookSide = 'bids' | 'asks';

/** What a feed hands to the normaliser: venue data, not yet sequenced. */
export interface RawBookUpdate {
  kind: 'snapshot' | 'delta';
  exchange: string;
  symbol: string;
  bids: Level[];
  asks: Level[];
  /** Venue time, ms since the Unix epoch. */
  exchangeTs: number;
  /** Local receive time, ms since the Unix epoch. */
  receiveTs: number;
  /**
   * The venue's own sequence number of the book after this update (Binance `u`/`lastUpdateId`,
   * OKX `seqId`), when the venue has one: for tracing an event back to the venue's stream.
   */
  venueSeq?: number;
}

/**
 * A sequenced book event, the unit the writer stores and publishes. Within one `epoch`, `seq`
 * grows by exactly one per event of that book; a new epoch always starts with a snapshot.
 */
export interface BookEvent extends RawBookUpdate {
  region: string;
  epoch: string;
  seq: number;
}

export interface Trade {
  exchange: string;
  symbol: string;
  id: string;
  price: string;
  amount: string;
  side: 'buy' | 'sell';
  exchangeTs: number;
  receiveTs: number;
  /**
   * Trades of this market the ingester received before this one but Redis refused (never stored
   * nor published), not announced by an earlier trade. Absent = 0.
   */
  lostBefore?: number;
}

export interface Market {
  exchange: string;
  symbol: string;
  base: string;
  quote: string;
  /** Smallest price increment. */
  tickSize: string;
  /** Smallest amount increment. */
  lotSize: string;
  minAmount: string;
  /** Largest amount of one order, when the venue sets one. */
  maxAmount?: string;
  /** Smallest and largest order value (price × amount) in the quote currency, when set. */
  minNotional?: string;
  maxNotional?: string;
  /** Decimal places of prices and amounts; derived from tickSize and lotSize when absent. */
  pricePrecision?: number;
  amountPrecision?: number;
  active: boolean;
}

export function bookId(exchange: string, symbol: string): string {
  return `${exchange}:${symbol}`;
}
