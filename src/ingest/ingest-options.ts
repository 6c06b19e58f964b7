import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Candle, CandleInterval } from '../marketdata/candles.ts';
import type { Feed } from '../marketdata/feed.ts';
import type { BookEvent, Trade } from '../marketdata/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { RateLimitedLog } from '../observability/rate-limited-log.ts';
import type { BookStore } from '../redis/book-store.ts';
import type { VenueWriters } from './venue-writers.ts';
import type { ReopenBackoffOptions } from './write-failures.ts';

export interface IngesterOptions {
  store: BookStore;
  feeds: readonly Feed[];
  log: Logger;
  metrics?: Metrics;
  /** Called with every event after Redis accepted it: record, metrics, reference logs in tests. */
  onWritten?: (event: BookEvent) => void;
  /** Called with every trade after Redis accepted it, with the candles it touched. */
  onTradeWritten?: (trade: Trade, candles: readonly Candle[]) => void;
  /** Candles kept per interval. @default CANDLE_RETENTION */
  candleRetention?: Partial<Record<CandleInterval, number>>;
  /** How often feed statuses are written to Redis, and how long they live unrenewed. @default 1000, 5000 */
  feedStatus?: { intervalMs?: number; ttlMs?: number };
  /** Traces a sample of writes (`ingest write_book`, `ingest write_trade`) with their Redis call. */
  tracer?: Tracer;
  /**
   * How often the ingester writes again what it owns besides books (market metadata, the exchange
   * set), so a Redis that came back empty serves queries again without a restart. It is also
   * written each time the connection comes back. @default 10000
   */
  reassertMs?: number;
  /**
   * Book writes in flight per book at most. While a book is at the cap (Redis slow but connected),
   * its further updates are merged into one waiting update (last size per price wins), written
   * when a write completes: memory stays bounded and the book in Redis still ends exact.
   * @default 64
   */
  maxInFlightPerBook?: number;
  /** Each venue's writer lease: TTL and this ingester's holder id. @default 3000 ms, newLeaseHolder() */
  lease?: { ttlMs?: number; holder?: string };
  /** The wait per book after a failed write before a snapshot is asked for. @default 250 ms to 10 s */
  reopenBackoff?: ReopenBackoffOptions;
  /** Write-failure log lines per key (book, market, status hash) at most one per this. @default 1000 */
  failureLogIntervalMs?: number;
}

export interface IngestStats {
  written: number;
  /** Book updates folded into a waiting update because their book was at its in-flight cap. */
  merged: number;
  /** The most book writes one book had in flight at once. */
  maxInFlight: number;
  trades: number;
  rejected: number;
  writeErrors: number;
  /** Trades Redis refused: announced to subscribers by the next trade written (`lostBefore`). */
  tradesLost: number;
  /** When Redis last accepted a book event (ms); the start time before the first. */
  lastWriteTs: number;
}

/** What the ingester's write paths (books, trades) share with it. */
export interface IngestContext {
  readonly options: IngesterOptions;
  /** The venues written here: a token per venue (0: a standby, write nothing), `fenced` on a lost lease. */
  readonly writers: VenueWriters;
  readonly stats: IngestStats;
  /** Write failures, one kind per key. */
  readonly failureLog: RateLimitedLog;
  /** Keeps a write in flight until it settles (`drain`). */
  track(promise: Promise<unknown>): void;
}
