import { waitForCondition } from '../helpers/book-checker.ts';
import type { CanonicalBook } from './scripted-book.ts';

/** A market a fake venue lists, with the trading rules it publishes. */
export interface FakeMarketSpec {
  /** Unified symbol, BASE/QUOTE. */
  symbol: string;
  midTicks: number;
  priceDecimals: number;
  sizeDecimals: number;
  minQty: string;
  maxQty: string;
  minNotional: string;
  maxNotional: string;
}

export const FAKE_MARKETS: readonly FakeMarketSpec[] = [
  {
    symbol: 'BTC/USDT',
    midTicks: 6_421_050,
    priceDecimals: 2,
    sizeDecimals: 5,
    minQty: '0.00001',
    maxQty: '9000',
    minNotional: '5',
    maxNotional: '9000000',
  },
  {
    symbol: 'ETH/USDT',
    midTicks: 318_742,
    priceDecimals: 2,
    sizeDecimals: 4,
    minQty: '0.0001',
    maxQty: '100000',
    minNotional: '5',
    maxNotional: '9000000',
  },
];

export type VenueStream = 'book' | 'trades';

/** A trade as the fake venue sent it. */
export interface FakeTrade {
  id: string;
  price: string;
  amount: string;
  side: 'buy' | 'sell';
  ts: number;
}

/**
 * What tests need from any fake venue: drive the script, read the venue's own book (the truth a
 * test compares bookgraph's book with), and break things the way venues break.
 */
export interface FakeVenue {
  readonly id: string;
  readonly restUrl: string;
  readonly wsUrl: string;
  readonly markets: readonly FakeMarketSpec[];
  /** Advances the book of `symbol` (every listed symbol if omitted) by `count` updates. */
  step(count?: number, symbol?: string): void;
  /** The venue's current whole book, canonical decimals. */
  book(symbol: string): CanonicalBook;
  /** The venue's book right after the update with this sequence number (Binance `u`, OKX `seqId`). */
  bookAt(symbol: string, venueSeq: number): CanonicalBook | undefined;
  /** The sequence number of the venue's latest update. */
  lastSeq(symbol: string): number;
  trades(symbol: string): readonly FakeTrade[];
  /** How many connections follow the symbol's book or trade stream now. */
  subscribers(symbol: string, stream: VenueStream): number;
  /** Resolves once at least one connection follows the stream (checked on every (un)subscribe). */
  untilSubscribed(symbol: string, stream: VenueStream, timeoutMs?: number): Promise<void>;
  /** Cuts every WebSocket connection. */
  dropConnections(): void;
  /** Every REST request the venue answered with 404 (should stay empty). */
  readonly unknownRequests: readonly string[];
  close(): Promise<void>;
}

export function venueId(symbol: string, separator: string): string {
  return symbol.replace('/', separator);
}

/** A deterministic exchange clock: venue time follows the sequence, not the wall clock. */
export const VENUE_EPOCH_MS = 1_750_000_000_000;

/** Wake-ups for tests waiting on the venue's subscriptions. */
export class SubscriptionWaiters {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitForCondition(
      condition,
      (wake) => {
        this.waiters.add(wake);
        return () => this.waiters.delete(wake);
      },
      timeoutMs,
      what,
    );
  }
}
