import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { INGEST_SPAN_PREFIX } from '../observability/tracing.ts';
import { encodeBookEvent, encodeTrade } from '../pubsub/codec.ts';
import { encodeCandles, encodeFeedStatuses } from '../pubsub/market-codec.ts';
import type { BookStore } from '../redis/book-store.ts';
import { redisErrorKind } from '../redis/command-error.ts';
import { type Candle, CandleBuilder, type CandleInterval } from './candles.ts';
import type { Feed, FeedHealthEvent, FeedSink } from './feed.ts';
import { FeedHealthTracker } from './feed-health.ts';
import { normaliseBookUpdate, normaliseTrade } from './normaliser.ts';
import { Sequencer } from './sequencer.ts';
import { type BookEvent, bookId, type RawBookUpdate, type Trade } from './types.ts';

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
}

export interface IngestStats {
  written: number;
  trades: number;
  rejected: number;
  writeErrors: number;
  /** When Redis last accepted a book event (ms); the start time before the first. */
  lastWriteTs: number;
}

/**
 * The ingest pipeline: feed -> normaliser -> sequencer -> writer (one Redis round trip per update).
 * Writes are issued without waiting for the previous one, so one connection pipelines them in order.
 * A failed write breaks the book's chain: the book is dropped from the sequencer and every
 * later delta is skipped until the feed's next snapshot opens a new epoch.
 */
export class Ingester implements FeedSink {
  private readonly sequencer: Sequencer;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly candles = new CandleBuilder();
  /** Trades of markets whose candles are being loaded, in arrival order. */
  private readonly candleLoads = new Map<string, Trade[]>();
  /** Feed name per exchange, for updates that reach `book`/`trade` directly. */
  private readonly feedOf = new Map<string, string>();
  readonly feedHealth: FeedHealthTracker;
  private statusTimer: NodeJS.Timeout | undefined;
  private statusFlushQueued = false;
  /** Write failures come in storms (a demoted primary fails every write): one line per kind per second. */
  private readonly errorLog: RateLimitedLog;
  readonly stats: IngestStats = {
    written: 0,
    trades: 0,
    rejected: 0,
    writeErrors: 0,
    lastWriteTs: Date.now(),
  };

  constructor(private readonly options: IngesterOptions) {
    this.sequencer = new Sequencer(options.store.region);
    this.feedHealth = new FeedHealthTracker(options.store.region);
    this.errorLog = new RateLimitedLog(options.log);
  }

  async start(): Promise<void> {
    // A feed that learns its markets from the venue (ccxt) loads them before they are written.
    for (const feed of this.options.feeds) await feed.prepare?.();
    for (const feed of this.options.feeds) {
      const byExchange = new Map<string, ReturnType<Feed['markets']>>();
      for (const market of feed.markets()) {
        const list = byExchange.get(market.exchange) ?? [];
        list.push(market);
        byExchange.set(market.exchange, list);
      }
      for (const [exchange, markets] of byExchange) {
        this.feedOf.set(exchange, feed.name);
        this.feedHealth.register(exchange, feed.name);
        // Every exchange's series exist from the start, so rates and absence alerts work at once.
        this.options.metrics?.feedGaps.inc({ exchange }, 0);
        this.options.metrics?.feedResyncs.inc({ exchange }, 0);
        this.options.metrics?.feedErrors.inc({ exchange }, 0);
        await this.options.store.writeMarkets(exchange, markets);
        // Continue the candles in progress rather than start them again.
        await Promise.all(markets.map((m) => this.loadCandles(m.exchange, m.symbol)));
      }
    }
    const intervalMs = this.options.feedStatus?.intervalMs ?? 1_000;
    this.statusTimer = setInterval(() => void this.flushStatus(), intervalMs);
    this.statusTimer.unref();
    for (const feed of this.options.feeds) await feed.start(this.sinkFor(feed));
    await this.flushStatus();
  }

  book(update: RawBookUpdate): void {
    this.onBook(update, this.feedName(update.exchange));
  }

  private sinkFor(feed: Feed): FeedSink {
    return {
      book: (update) => this.onBook(update, feed.name),
      trade: (trade) => this.onTrade(trade, feed.name),
      health: (event) => this.onHealth(event, feed.name),
    };
  }

  private feedName(exchange: string): string {
    return this.feedOf.get(exchange) ?? 'unknown';
  }

  private onBook(update: RawBookUpdate, feed: string): void {
    this.feedOf.set(update.exchange, feed);
    this.feedHealth.message(update.exchange, feed);
    let event: BookEvent;
    try {
      const normalised = normaliseBookUpdate(update);
      if (normalised.kind === 'delta' && !this.sequencer.has(normalised.exchange, normalised.symbol)) {
        this.gap(normalised.exchange, feed);
        this.requestSnapshot(normalised.exchange, normalised.symbol);
        return;
      }
      event = this.sequencer.next(normalised);
    } catch (error) {
      this.stats.rejected += 1;
      this.feedHealth.rejected(update.exchange, feed);
      this.options.log.warn(
        { err: error, exchange: update.exchange, symbol: update.symbol },
        'book update rejected',
      );
      return;
    }
    this.track(
      this.traced('write_book', event.exchange, event.symbol, () =>
        this.options.store.writeBookEvent(event, encodeBookEvent(event)),
      ).then(
        () => {
          this.stats.written += 1;
          this.stats.lastWriteTs = Date.now();
          this.options.metrics?.ingestUpdates.inc({ exchange: event.exchange });
          this.options.onWritten?.(event);
        },
        (error: unknown) => {
          this.stats.writeErrors += 1;
          this.options.metrics?.ingestWriteErrors.inc({ exchange: event.exchange });
          // Writes issued after the failed one fail too; only the first reopens the chain.
          if (this.sequencer.epochOf(event.exchange, event.symbol) !== event.epoch) return;
          this.sequencer.invalidate(event.exchange, event.symbol);
          this.gap(event.exchange, feed);
          // The feed's next update of this book asks for a snapshot (a new epoch). Asking here
          // would retry at once, and while Redis is down each failure would beget another.
          this.errorLog.error(
            `book:${redisErrorKind(error)}`,
            { err: error, exchange: event.exchange, symbol: event.symbol, seq: event.seq },
            'book write failed; the next update reopens the book with a snapshot',
          );
        },
      ),
    );
  }

  trade(trade: Trade): void {
    this.onTrade(trade, this.feedName(trade.exchange));
  }

  private onTrade(trade: Trade, feed: string): void {
    this.feedOf.set(trade.exchange, feed);
    this.feedHealth.message(trade.exchange, feed);
    let normalised: Trade;
    try {
      normalised = normaliseTrade(trade);
    } catch (error) {
      this.stats.rejected += 1;
      this.feedHealth.rejected(trade.exchange, feed);
      this.options.metrics?.ingestRejected.inc({ exchange: trade.exchange });
      this.options.log.warn({ err: error }, 'trade rejected');
      return;
    }
    const queued = this.candleLoads.get(bookId(normalised.exchange, normalised.symbol));
    if (queued) queued.push(normalised);
    else if (!this.candles.isLoaded(normalised.exchange, normalised.symbol)) {
      void this.loadCandles(normalised.exchange, normalised.symbol, [normalised]);
    } else this.writeTrade(normalised);
  }

  /** One round trip: the trade, the last trade, the candles it touched, both publishes. */
  private writeTrade(trade: Trade): void {
    const touched = this.candles.apply(trade);
    const candles =
      touched.length > 0
        ? {
            candles: touched,
            message: encodeCandles(trade.exchange, trade.symbol, touched),
            retention: this.options.candleRetention,
          }
        : undefined;
    this.track(
      this.traced('write_trade', trade.exchange, trade.symbol, () =>
        this.options.store.writeTrade(trade, encodeTrade(trade), candles),
      ).then(
        () => {
          this.stats.trades += 1;
          this.options.onTradeWritten?.(trade, touched);
        },
        (error: unknown) => {
          this.stats.writeErrors += 1;
          // Redis may not hold this trade's candles: read them again before the next trade.
          this.candles.forget(trade.exchange, trade.symbol);
          this.options.metrics?.ingestWriteErrors.inc({ exchange: trade.exchange });
          this.errorLog.error(
            `trade:${redisErrorKind(error)}`,
            { err: error, exchange: trade.exchange, symbol: trade.symbol },
            'trade write failed',
          );
        },
      ),
    );
  }

  /**
   * Reads a market's newest candles before its first trade is written; trades arriving meanwhile
   * wait in order. Happens once per market per process (at start for the markets feeds list).
   */
  private loadCandles(exchange: string, symbol: string, first: Trade[] = []): Promise<void> {
    const id = bookId(exchange, symbol);
    this.candleLoads.set(id, first);
    const load = this.options.store
      .readLatestCandles(exchange, symbol)
      .catch((error: unknown) => {
        this.options.log.warn({ err: error, exchange, symbol }, 'candle read failed; starting new candles');
        return [];
      })
      .then((latest) => {
        this.candles.load(exchange, symbol, latest);
        const queue = this.candleLoads.get(id) ?? [];
        this.candleLoads.delete(id);
        for (const trade of queue) this.writeTrade(trade);
      });
    this.track(load);
    return load;
  }

  health(event: FeedHealthEvent): void {
    this.onHealth(event, this.feedName(event.exchange));
  }

  private onHealth(event: FeedHealthEvent, feed: string): void {
    this.feedHealth.health(event, feed);
    if (event.kind === 'resync') this.options.metrics?.feedResyncs.inc({ exchange: event.exchange });
    if (event.kind === 'error') this.options.metrics?.feedErrors.inc({ exchange: event.exchange });
    this.queueStatusFlush();
    const level = event.kind === 'error' || event.kind === 'disconnected' ? 'warn' : 'info';
    this.options.log[level](
      { exchange: event.exchange, symbol: event.symbol, kind: event.kind, message: event.message },
      'feed health',
    );
  }

  /** Stops every feed, then waits for writes already issued; the last status says disconnected. */
  async stop(): Promise<void> {
    const running = this.statusTimer !== undefined;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
    for (const feed of this.options.feeds) await feed.stop();
    await this.drain();
    if (!running) return;
    this.feedHealth.stopped();
    await this.flushStatus();
  }

  /** A connection change is announced at once rather than at the next interval. */
  private queueStatusFlush(): void {
    if (this.statusFlushQueued || !this.statusTimer) return;
    this.statusFlushQueued = true;
    setImmediate(() => {
      this.statusFlushQueued = false;
      void this.flushStatus();
    });
  }

  /** One small hash per exchange, renewed with a TTL, and the change published. */
  private async flushStatus(): Promise<void> {
    const intervalMs = this.options.feedStatus?.intervalMs ?? 1_000;
    const ttlMs = this.options.feedStatus?.ttlMs ?? intervalMs * 5;
    const writes = [...this.feedHealth.snapshot(ttlMs)].map(([exchange, statuses]) =>
      this.options.store
        .writeFeedStatus(exchange, statuses, ttlMs, encodeFeedStatuses(statuses))
        .catch((error: unknown) =>
          this.errorLog.warn(
            `status:${redisErrorKind(error)}`,
            { err: error, exchange },
            'feed status write failed',
          ),
        ),
    );
    await Promise.all(writes);
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private gap(exchange: string, feed: string): void {
    this.feedHealth.gap(exchange, feed);
    this.options.metrics?.feedGaps.inc({ exchange });
  }

  /**
   * Runs one write inside a root span when the ingest sampler picks it (INGEST_TRACE_SAMPLE_RATIO),
   * so its Redis script call becomes a child span; unsampled writes run as they are.
   */
  private traced<T>(write: string, exchange: string, symbol: string, call: () => Promise<T>): Promise<T> {
    const tracer = this.options.tracer;
    if (!tracer) return call();
    const span = tracer.startSpan(
      `${INGEST_SPAN_PREFIX}${write}`,
      { kind: SpanKind.PRODUCER, attributes: { 'bookgraph.exchange': exchange, 'bookgraph.symbol': symbol } },
      ROOT_CONTEXT,
    );
    if (!span.isRecording()) return call();
    return context.with(trace.setSpan(ROOT_CONTEXT, span), call).then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : 'failed',
        });
        span.end();
        throw error;
      },
    );
  }

  /** Whether each exchange's feed is connected now (any of its feeds), for `bookgraph_feed_connected`. */
  feedsConnected(): Map<string, boolean> {
    const byExchange = new Map<string, boolean>();
    for (const status of this.feedHealth.statuses()) {
      byExchange.set(status.exchange, (byExchange.get(status.exchange) ?? false) || status.connected);
    }
    return byExchange;
  }

  private requestSnapshot(exchange: string, symbol: string): void {
    for (const feed of this.options.feeds) {
      const snapshot = feed.snapshot?.(exchange, symbol);
      if (snapshot) {
        this.book(snapshot);
        return;
      }
    }
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }
}
