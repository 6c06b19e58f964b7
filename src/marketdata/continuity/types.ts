/**
 * Our own continuity check of a venue's book stream, read from the raw messages before ccxt
 * handles them: ccxt's own checks are missing (Bybit), switched off (Kraken's checksum) or trust
 * what they are given. One implementation per venue family (see `index.ts`).
 */

/** A market the feed follows: the venue's id and what the check needs to know of it. */
export interface CheckedMarket {
  /** The venue's own id in stream messages: `BTCUSDT`, `BTC-USDT`, `BTC/USD` (Kraken v2). */
  id: string;
  /** ccxt's unified symbol. */
  symbol: string;
  /** Decimal places of prices and amounts (Kraken's checksum formats numbers with them). */
  priceDecimals?: number;
  amountDecimals?: number;
}

/** What a check makes of one raw message. */
export type Inspection =
  /** Not a book message of a followed market, or a good one: ccxt handles it. */
  | { kind: 'pass' }
  /** A book message of a market that is being resynchronised: ccxt must not see it. */
  | { kind: 'hold' }
  /** The stream broke: the message is not handed to ccxt, the market is resynchronised. */
  | { kind: 'break'; marketId: string; check: 'sequence' | 'checksum'; reason: string };

export const PASS: Inspection = { kind: 'pass' };
export const HOLD: Inspection = { kind: 'hold' };

export interface VenueContinuity {
  /** What is checked, for logs and docs: `sequence (U/u/pu)`, `checksum (CRC32, top 10)`. */
  readonly description: string;
  /**
   * Looks at one raw message as ccxt received it. `connection` tells sockets apart (their URL):
   * sequences are per connection and market.
   */
  inspect(message: unknown, connection: string): Inspection;
  /** ccxt's message hash of a market's book: the watch that is rejected to resynchronise. */
  messageHash(symbol: string): string;
  /**
   * What to send on the connection before ccxt subscribes again, when the venue sends a fresh
   * snapshot only to a new subscription and refuses a second one (Bybit, Kraken): an unsubscribe.
   */
  unsubscribe?(market: CheckedMarket): unknown;
  /**
   * Forgets what is known of a market on a connection (a break, a disconnect). Until a snapshot
   * (or, for a venue without snapshots on the stream, the next message) starts it again, its
   * messages are held.
   */
  reset(marketId: string, connection: string): void;
  /**
   * The venue's sequence number of the last book message of the market handed to ccxt, for a
   * venue whose ccxt book carries none (Bybit): the `venueSeq` of what the feed emits.
   */
  lastSeq?(marketId: string): number | undefined;
  /**
   * The venue time (ms) of the last book message of the market handed to ccxt, for a venue whose
   * ccxt book leaves it unset (Kraken's snapshots): the `exchangeTs` of what the feed emits.
   */
  lastTime?(marketId: string): number | undefined;
  /**
   * The depth the venue keeps the book at, for a venue whose ccxt class sizes its book by the
   * snapshot's length instead (Kraken: a 9-level snapshot at depth 10 made ccxt cut every later
   * book to 9, silently: the venue's checksum matched our copy, not ccxt's): the hook makes ccxt
   * build its books at this depth.
   */
  readonly bookDepth?: number;
  /** Forgets everything about a connection (it closed). */
  forget(connection: string): void;
}

/** State per (connection, market id). */
export class PerMarket<T> {
  private readonly states = new Map<string, Map<string, T>>();

  get(connection: string, marketId: string): T | undefined {
    return this.states.get(connection)?.get(marketId);
  }

  set(connection: string, marketId: string, state: T): void {
    let markets = this.states.get(connection);
    if (!markets) {
      markets = new Map();
      this.states.set(connection, markets);
    }
    markets.set(marketId, state);
  }

  delete(connection: string, marketId: string): void {
    this.states.get(connection)?.delete(marketId);
  }

  forget(connection: string): void {
    this.states.delete(connection);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An integer field, numeric or as a decimal string (`"1626535709008"`). */
export function integerField(record: Record<string, unknown>, key: string): number | undefined {
  const value = record[key];
  const n = typeof value === 'string' && value !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
}
