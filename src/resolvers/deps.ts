import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { BookHub } from '../pubsub/book-hub.ts';
import type { MarketTopics } from '../pubsub/market-topics.ts';
import type { BackpressureLimits } from '../pubsub/slow-subscriber.ts';
import type { BookStore } from '../redis/book-store.ts';

export interface ApiLimits {
  /** Largest `depth` a client may ask for. @default 100 */
  maxDepth: number;
  /** Smallest and largest `throttleMs` of throttled subscriptions. @default 10, 60000 */
  minThrottleMs: number;
  maxThrottleMs: number;
  /** A book whose last update is older than this is served with `stale: true`. @default 5000 */
  staleAfterMs: number;
  /**
   * Per-feed thresholds overriding `staleAfterMs`: key `exchange` or `exchange:BASE/QUOTE` (the
   * more specific wins), value ms. From `BOOK_STALE_MS_OVERRIDES`. @default {}
   */
  staleOverrides?: Readonly<Record<string, number>>;
  /**
   * Consolidation and liquidity may merge simulated venues with real ones (MIX_SIMULATED_VENUES).
   * @default false: real venues only where any lists the symbol
   */
  mixSimulatedVenues?: boolean;
  /** Per-subscriber queue before conflation. @default 1000 */
  subscriberQueueMax: number;
  /** How full a subscriber's socket may get, and for how long. @default 1 MiB, 10000 ms */
  backpressure?: BackpressureLimits;
}

/** What resolvers need, built once at boot and passed through the GraphQL context. */
export interface ResolverDeps {
  region: string;
  store: BookStore;
  hub: BookHub;
  /** Trades, candles and feed status fan-outs on the process's subscriber (`createMarketTopics`). */
  topics: MarketTopics;
  log: Logger;
  limits: ApiLimits;
  now: () => number;
  metrics?: Metrics;
  /** Whether the Redis command connection is up; data read while it is not is stale. */
  redisReady: () => boolean;
}
