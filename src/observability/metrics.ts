import { context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The Redis client roles of a process (src/redis/connection.ts). */
export type RedisRoleLabel = 'command' | 'subscriber' | 'writer';

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

  readonly queryAnswers = new Counter({
    name: 'bookgraph_held_book_query_answers_total',
    help: 'Queries on books this process holds live: answers reused (the books unchanged) or executed',
    labelNames: ['answer'] as const,
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

  readonly ingestMerged = new Counter({
    name: 'bookgraph_ingest_merged_updates_total',
    help: 'Book updates merged into a waiting update because their book had the most writes in flight (Redis slow), by exchange',
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly writerLeaseHeld = new Gauge({
    name: 'bookgraph_writer_lease_held',
    help: "1 while this ingester holds the exchange's writer lease (writes its books), 0 while it waits as a hot standby",
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly fencedWrites = new Counter({
    name: 'bookgraph_ingest_fenced_writes_total',
    help: 'Book and trade writes refused because a later writer-lease holder wrote the book, by exchange',
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
    help: 'Discontinuities announced to subscribers (gap, new epoch, corrupt message, reconnect, region switch), by reason',
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

  readonly armorRejections = new Counter({
    name: 'bookgraph_armor_rejections_total',
    help: 'Documents refused before execution by a graphql-armor limit, by protection',
    labelNames: ['protection'] as const,
    registers: [this.registry],
  });

  readonly slowSubscriberDisconnects = new Counter({
    name: 'bookgraph_slow_subscriber_disconnects_total',
    help: 'WebSockets closed with 1013 because their send buffer stopped draining',
    registers: [this.registry],
  });

  readonly draining = new Gauge({
    name: 'bookgraph_draining',
    help: '1 while the server drains for shutdown',
    registers: [this.registry],
  });

  private readonly redisClients = new Map<RedisRoleLabel, () => boolean>();

  readonly redisConnected = new Gauge({
    name: 'bookgraph_redis_connected',
    help: '1 while the Redis client of this role is connected and ready, else 0 (command, subscriber, writer)',
    labelNames: ['role'] as const,
    registers: [this.registry],
    // Summed over `serve --workers N`'s workers, the lowest: 0 when any worker's connection is down.
    aggregator: 'min',
    collect: () => {
      for (const [role, ready] of this.redisClients) this.redisConnected.set({ role }, ready() ? 1 : 0);
    },
  });

  private feeds: (() => ReadonlyMap<string, boolean>) | undefined;

  readonly feedConnected = new Gauge({
    name: 'bookgraph_feed_connected',
    help: "1 while the ingester's feed of an exchange is connected, else 0, by exchange",
    labelNames: ['exchange'] as const,
    registers: [this.registry],
    collect: () => {
      if (!this.feeds) return;
      for (const [exchange, connected] of this.feeds())
        this.feedConnected.set({ exchange }, connected ? 1 : 0);
    },
  });

  readonly feedGaps = new Counter({
    name: 'bookgraph_feed_gaps_total',
    help: 'Discontinuities the ingester saw (a delta with no open chain, a failed write that broke one), by exchange',
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly feedResyncs = new Counter({
    name: 'bookgraph_feed_resyncs_total',
    help: 'Times a feed resynchronised a book from the venue (new snapshot, new epoch), by exchange',
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly venueReportsIgnored = new Counter({
    name: 'bookgraph_venue_reports_ignored_total',
    help: 'Venue reports for orders no longer open, which change nothing, by exchange and kind (duplicate: as recorded; more_filled: fills the order does not have; other_end: another end, or still open at the venue)',
    labelNames: ['exchange', 'kind'] as const,
    registers: [this.registry],
  });

  readonly continuityBreaks = new Counter({
    name: 'bookgraph_venue_continuity_breaks_total',
    help: "Breaks of a venue's book stream found by bookgraph's own checks (sequence gap, checksum mismatch, audit divergence), each followed by a resync; by exchange and check",
    labelNames: ['exchange', 'check'] as const,
    registers: [this.registry],
  });

  readonly venueAudits = new Counter({
    name: 'bookgraph_venue_audits_total',
    help: "Periodic comparisons of a stored book's top with the venue's REST book (BOOK_AUDIT_INTERVAL_MS), by exchange and outcome (match, divergence, skipped: not at the same sequence or the book moved)",
    labelNames: ['exchange', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly auditDivergences = new Counter({
    name: 'bookgraph_venue_audit_divergences_total',
    help: "Books the periodic audit found different from the venue's REST book at the same sequence (or twice unchanged), each followed by a RESET and resync; by exchange",
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly feedErrors = new Counter({
    name: 'bookgraph_feed_errors_total',
    help: 'Errors a feed reported (failed watch, bad checksum, …), by exchange',
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  private tracer: Tracer | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Event-loop lag, heap, GC, CPU, file descriptors: prom-client's standard process metrics.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Where `bookgraph_books_stale` is read from at scrape time. */
  countStaleBooksWith(source: () => number): void {
    this.staleBooks = source;
  }

  /** Reports a Redis client's state as `bookgraph_redis_connected{role}` at scrape time. */
  watchRedis(role: RedisRoleLabel, ready: () => boolean): void {
    this.redisClients.set(role, ready);
  }

  /** Where `bookgraph_feed_connected` is read from at scrape time: connected per exchange. */
  reportFeedsWith(source: () => ReadonlyMap<string, boolean>): void {
    this.feeds = source;
  }

  /** Redis calls made inside a sampled span get a child span (src/observability/tracing.ts). */
  traceRedisWith(tracer: Tracer | undefined): void {
    this.tracer = tracer;
  }

  /** Times a promise into `redisCommandDuration`, and traces it inside a sampled span. */
  timeRedis<T>(command: string, call: Promise<T>): Promise<T> {
    const end = this.redisCommandDuration.startTimer({ command });
    const span =
      this.tracer && trace.getSpan(context.active())?.isRecording()
        ? this.tracer.startSpan(`redis ${command}`, {
            kind: SpanKind.CLIENT,
            attributes: { 'db.system.name': 'redis', 'db.operation.name': command },
          })
        : undefined;
    if (!span) return call.finally(() => end());
    return call.then(
      (value) => {
        end();
        span.end();
        return value;
      },
      (error: unknown) => {
        end();
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : 'failed',
        });
        span.end();
        throw error;
      },
    );
  }
}
