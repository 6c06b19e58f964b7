import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric bookgraph exports, on one registry per process (tests make their own). Names
 * follow Prometheus conventions; every label has a small, fixed set of values (root field names
 * of the schema, error codes, update types, reset reasons, exchange ids from config).
 * docs/OPERATIONS.md lists the alerts built on them.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly requestDuration = new Histogram({
    name: 'bookgraph_graphql_request_duration_seconds',
    help: 'GraphQL query/mutation execution time, and subscription set-up time, by root field',
    labelNames: ['type', 'field'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'bookgraph_graphql_errors_total',
    help: 'GraphQL errors returned, by root field and extensions.code (INTERNAL for masked ones)',
    labelNames: ['field', 'code'] as const,
    registers: [this.registry],
  });

  readonly wsConnections = new Gauge({
    name: 'bookgraph_ws_connections',
    help: 'Open graphql-ws WebSocket connections',
    registers: [this.registry],
  });

  readonly subscriptionsActive = new Gauge({
    name: 'bookgraph_subscriptions_active',
    help: 'Active GraphQL subscriptions (any transport), by field',
    labelNames: ['field'] as const,
    registers: [this.registry],
  });

  readonly pubsubReceived = new Counter({
    name: 'bookgraph_pubsub_messages_received_total',
    help: 'Book events received from Redis pub/sub by this server',
    registers: [this.registry],
  });

  readonly messagesSent = new Counter({
    name: 'bookgraph_subscription_messages_sent_total',
    help: 'Book subscription messages handed to subscribers, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly ingestUpdates = new Counter({
    name: 'bookgraph_ingest_updates_total',
    help: 'Book updates written to Redis by the ingester, by exchange',
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly ingestWriteErrors = new Counter({
    name: 'bookgraph_ingest_write_errors_total',
    help: 'Book and trade writes Redis refused or that failed, by exchange',
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly ingestRejected = new Counter({
    name: 'bookgraph_ingest_rejected_total',
    help: 'Feed updates the normaliser or sequencer rejected, by exchange',
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly bookResets = new Counter({
    name: 'bookgraph_book_resets_total',
    help: 'Discontinuities announced to subscribers (gap, new epoch, corrupt message, reconnect), by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private staleBooks: (() => number) | undefined;

  readonly booksStale = new Gauge({
    name: 'bookgraph_books_stale',
    help: 'Watched books that are resynchronising or older than BOOK_STALE_MS',
    registers: [this.registry],
    collect: () => {
      if (this.staleBooks) this.booksStale.set(this.staleBooks());
    },
  });

  readonly redisCommandDuration = new Histogram({
    name: 'bookgraph_redis_command_duration_seconds',
    help: 'Round-trip time of bookgraph Redis calls, by command',
    labelNames: ['command'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
    registers: [this.registry],
  });

  readonly conflations = new Counter({
    name: 'bookgraph_subscriber_conflations_total',
    help: 'Slow subscribers whose queue overflowed and who were sent a fresh snapshot',
    registers: [this.registry],
  });

  readonly draining = new Gauge({
    name: 'bookgraph_draining',
    help: '1 while the server drains for shutdown',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Event-loop lag, heap, GC, CPU, file descriptors: prom-client's standard process metrics.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Where `bookgraph_books_stale` is read from at scrape time. */
  countStaleBooksWith(source: () => number): void {
    this.staleBooks = source;
  }

  /** Times a promise into `redisCommandDuration`. */
  timeRedis<T>(command: string, call: Promise<T>): Promise<T> {
    const end = this.redisCommandDuration.startTimer({ command });
    return call.finally(() => end());
  }
}
