import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { BookHub } from '../pubsub/book-hub.ts';
import type { ChannelSubscriber } from '../pubsub/channel-subscriber.ts';
import type { BookStore } from '../redis/book-store.ts';
import { OrderUpdateStreams } from './order-updates.ts';
import { DEFAULT_STALE_AFTER_MS, PaperVenue } from './paper-venue.ts';
import { TradingService } from './trading-service.ts';
import { DEFAULT_STORE_LIMITS, type StoreLimits, TradingStore } from './trading-store.ts';
import type { ExternalVenue } from './venue.ts';

/** The trading part of a server process: sessions and orders, the paper venue, order updates. */
export interface Trading {
  service: TradingService;
  venue: PaperVenue;
  updates: OrderUpdateStreams;
  close(): void;
}

export interface TradingOptions {
  /** The server's BookStore: its connection, its region and market metadata. */
  books: BookStore;
  hub: BookHub;
  /** The process's subscriber connection: order updates are published on it. */
  channels: ChannelSubscriber;
  log: Logger;
  now?: () => number;
  limits?: Partial<StoreLimits> & { maxOrdersPerSession?: number };
  /** Real venues (`EXECUTION_VENUES`), one per exchange id; every other exchange trades on paper. */
  venues?: readonly ExternalVenue[];
  /**
   * A book's staleness threshold (`BOOK_STALE_MS` and its overrides): paper orders never fill
   * against a book older than it. @default 5000 for every book
   */
  staleAfterMs?: (exchange: string, symbol: string) => number;
  /** The process's metrics (venue reports for orders no longer open). @default not counted */
  metrics?: Metrics;
}

export function createTrading(options: TradingOptions): Trading {
  const { books, hub, log } = options;
  const store = new TradingStore(books.redis, { ...DEFAULT_STORE_LIMITS, ...options.limits });
  const service = new TradingService({
    store,
    // Every listed region's markets: a venue ingested only in another region trades here too.
    markets: hub.copies,
    region: books.region,
    log,
    now: options.now,
    maxOrdersPerSession: options.limits?.maxOrdersPerSession,
    metrics: options.metrics,
  });
  const venue = new PaperVenue(hub, (resting, fill) => service.applyVenueFill(resting, fill), log, {
    now: options.now ?? Date.now,
    staleAfterMs: options.staleAfterMs ?? (() => DEFAULT_STALE_AFTER_MS),
  });
  service.useVenue(venue);
  for (const external of options.venues ?? []) service.useExternalVenue(external);
  // The region's resting paper orders that no process may be watching (a restart).
  service.start().catch((err: unknown) => log.error({ err }, 'open paper orders not taken over'));
  const updates = new OrderUpdateStreams(options.channels, store, log);
  return {
    service,
    venue,
    updates,
    close: () => {
      updates.close();
      service.close();
    },
  };
}
