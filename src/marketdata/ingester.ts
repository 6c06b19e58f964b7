import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { tracedWrite } from '../observability/ingest-spans.ts';
import type { Metrics } from '../observability/metrics.ts';
import { encodeBookEvent, encodeTrade } from '../pubsub/codec.ts';
import { encodeCandles, encodeFeedStatuses } from '../pubsub/market-codec.ts';
import type { BookStore } from '../redis/book-store.ts';
import { bookKeys, feedStatusKey, marketsKey } from '../redis/keys.ts';
import { isFencedError, newLeaseHolder, WriterLeases } from '../redis/writer-lease.ts';
import { BookWriteQueue } from './book-write-queue.ts';
import { type Candle, CandleBuilder, type CandleInterval } from './candles.ts';
import type { Feed, FeedHealthEvent, FeedSink } from './feed.ts';
import { FeedHealthTracker } from './feed-health.ts';
import { normaliseBookUpdate, normaliseTrade } from './normaliser.ts';
import { Sequencer } from './sequencer.ts';
import { type BookEvent, bookId, type Market, type RawBookUpdate, type Trade } from './types.ts';
import { VenueWriters } from './venue-writers.ts';
import { ReopenBackoff, type ReopenBackoffOptions, WriteFailureLog } from './write-failures.ts';

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

/**
 * The ingest pipeline: feed -> normaliser -> sequencer -> writer (one Redis round trip per update).
 * Writes are issued without waiting for the previous one, so one connection pipelines them in order.
 * A failed write breaks the book's chain: the book is dropped from the sequencer and every
 * later delta is skipped until the feed's next snapshot opens a new epoch.
 * Only the holder of a venue's writer lease writes it (VenueWriters); another ingester of the same
 * venue in the same region runs its feed as a hot standby and, when it takes the lease over, opens
 * every book of the venue with one snapshot (one RESET for subscribers).
 */
export class Ingester implements FeedSink {
  private readonly sequencer: Sequencer;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly candles = new CandleBuilder();
  /** Trades of markets whose candles are being loaded, in arrival order. */
  private readonly candleLoads = new Map<string, Trade[]>();
  /** Feed name per exchange, for updates that reach `book`/`trade` directly. */
  private readonly feedOf = new Map<string, string>();
  /** Markets per exchange, as the feeds list them: what a new lease holder writes and snapshots. */
  private readonly marketsOf = new Map<string, Market[]>();
  /** The venues this ingester writes (their writer leases), and those it is a standby of. */
  readonly writers: VenueWriters;
  /** Feeds started: a lease taken from now on asks the feeds for fresh snapshots. */
  private feedsStarted = false;
  readonly feedHealth: FeedHealthTracker;
  private prepared = false;
  private statusTimer: NodeJS.Timeout | undefined;
  private reassertTimer: NodeJS.Timeout | undefined;
  private readonly onReconnect = () => void this.reassert();
  private readonly writeQueue: BookWriteQueue;
  private statusFlushQueued = false;
  private readonly reopen: ReopenBackoff;
  private readonly failureLog: WriteFailureLog;
  /** Per book id: trades Redis refused since the last trade written, told with the next one. */
  private readonly tradesLost = new Map<string, number>();
  readonly stats: IngestStats = {
    written: 0,
    merged: 0,
    maxInFlight: 0,
    trades: 0,
    rejected: 0,
    writeErrors: 0,
    tradesLost: 0,
    lastWriteTs: Date.now(),
  };

  constructor(private readonly options: IngesterOptions) {
    this.sequencer = new Sequencer(options.store.region);
    this.feedHealth = new FeedHealthTracker(options.store.region);
    this.writeQueue = new BookWriteQueue(options.maxInFlightPerBook ?? 64);
    this.reopen = new ReopenBackoff(options.reopenBackoff);
    this.failureLog = new WriteFailureLog(options.log, options.failureLogIntervalMs);
    this.writers = new VenueWriters({
      leases: new WriterLeases(
        options.store.redis,
        options.store.region,
        options.lease?.holder ?? newLeaseHolder(),
      ),
      ttlMs: options.lease?.ttlMs,
      log: options.log,
      metrics: options.metrics,
      onHeld: (exchange) => this.onLeaseHeld(exchange),
      onStandby: (exchange) => this.onLeaseLost(exchange),
    });
  }

  /**
   * Why ingest is not running yet, for `/ready` (a feed still loading its markets from an
   * unreachable venue, with its last error), or null once `start` got past the feeds' `prepare`.
   */
  startupReason(): string | null {
    if (this.prepared) return null;
    const reasons = this.options.feeds.flatMap((f) => {
      const reason = f.unready?.();
      return reason ? [`${f.name}: ${reason}`] : [];
    });
    return `ingest starting: ${reasons.length > 0 ? reasons.join('; ') : 'loading markets'}`;
  }

  async start(): Promise<void> {
    // A feed that learns its markets from the venue (ccxt) loads them before they are written.
    for (const feed of this.options.feeds) await feed.prepare?.();
    this.prepared = true;
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
        this.marketsOf.set(exchange, [...(this.marketsOf.get(exchange) ?? []), ...markets]);
        this.writers.add(exchange);
      }
    }
    // Venues whose lease is held get their markets written now; the others wait as standbys.
    await this.writers.claimAll(true);
    this.writers.start();
    const intervalMs = this.options.feedStatus?.intervalMs ?? 1_000;
    this.statusTimer = setInterval(() => void this.flushStatus(), intervalMs);
    this.statusTimer.unref();
    this.reassertTimer = setInterval(() => void this.reassert(), this.options.reassertMs ?? 10_000);
    this.reassertTimer.unref();
    this.options.store.redis.on('ready', this.onReconnect);
    for (const feed of this.options.feeds) await feed.start(this.sinkFor(feed));
    this.feedsStarted = true;
    await this.flushStatus();
  }

  /**
   * This ingester now writes the venue: its books start over in new epochs (one snapshot each; at
   * start the feed's first updates are), its candles are read back, its markets written.
   */
  private async onLeaseHeld(exchange: string): Promise<void> {
    const markets = this.marketsOf.get(exchange) ?? [];
    for (const m of markets) {
      this.sequencer.invalidate(m.exchange, m.symbol);
      this.candles.forget(m.exchange, m.symbol);
    }
    // Continue the candles in progress (the previous holder's) rather than start them again.
    const loads = markets.map((m) => this.loadCandles(m.exchange, m.symbol));
    if (this.feedsStarted) for (const m of markets) this.requestSnapshot(m.exchange, m.symbol);
    const written = this.options.store.writeMarkets(exchange, markets);
    if (this.feedsStarted) {
      await written.catch((error: unknown) =>
        this.failureLog.failed('write_markets', marketsKey(this.options.store.region, exchange), error),
      );
      this.queueStatusFlush();
    } else await written;
    await Promise.all(loads);
  }

  /** Another ingester writes the venue now: this one forgets its chains and writes nothing more. */
  private onLeaseLost(exchange: string): void {
    for (const m of this.marketsOf.get(exchange) ?? []) this.sequencer.invalidate(m.exchange, m.symbol);
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
    const token = this.writers.token(update.exchange);
    // A standby keeps its feed running and writes nothing.
    if (token === 0) return;
    let normalised: RawBookUpdate;
    try {
      normalised = normaliseBookUpdate(update);
    } catch (error) {
      this.stats.rejected += 1;
      this.feedHealth.rejected(update.exchange, feed);
      this.options.log.warn(
        { err: error, exchange: update.exchange, symbol: update.symbol },
        'book update rejected',
      );
      return;
    }
    if (!this.writeQueue.admit(bookId(normalised.exchange, normalised.symbol), normalised, feed)) {
      this.stats.merged += 1;
      this.options.metrics?.ingestMerged.inc({ exchange: normalised.exchange });
      return;
    }
    this.write(normalised, feed);
  }

  /** Sequences a normalised update and issues its write (one round trip). */
  private write(normalised: RawBookUpdate, feed: string): void {
    const token = this.writers.token(normalised.exchange);
    // The lease was lost while this update waited.
    if (token === 0) return;
    const id = bookId(normalised.exchange, normalised.symbol);
    if (normalised.kind === 'delta' && !this.sequencer.has(normalised.exchange, normalised.symbol)) {
      this.gap(normalised.exchange, feed);
      // After a failed write the book waits out its backoff: Redis refusing every write (OOM)
      // would otherwise get a snapshot attempt per feed update.
      if (this.reopen.ready(id)) this.requestSnapshot(normalised.exchange, normalised.symbol);
      return;
    }
    const event = this.sequencer.next(normalised);
    this.writeQueue.started(id);
    this.stats.maxInFlight = this.writeQueue.maxInFlight;
    const settled = () => {
      const next = this.writeQueue.settled(id);
      if (next) this.write(next.update, next.feed);
    };
    this.track(
      tracedWrite(this.options.tracer, 'write_book', event.exchange, event.symbol, () =>
        this.options.store.writeBookEvent(event, encodeBookEvent(event), token),
      ).then(
        () => {
          this.stats.written += 1;
          this.stats.lastWriteTs = Date.now();
          this.options.metrics?.ingestUpdates.inc({ exchange: event.exchange });
          this.options.onWritten?.(event);
          if (event.kind === 'snapshot') this.failureLog.recovered('write_book', this.metaKey(event));
          settled();
        },
        (error: unknown) => {
          if (isFencedError(error)) {
            this.writers.fenced(event.exchange, token);
            return settled();
          }
          this.stats.writeErrors += 1;
          this.options.metrics?.ingestWriteErrors.inc({ exchange: event.exchange });
          // Writes issued after the failed one fail too; only the first reopens the chain.
          if (this.sequencer.epochOf(event.exchange, event.symbol) !== event.epoch) return settled();
          this.sequencer.invalidate(event.exchange, event.symbol);
          // The feed's first update of this book after the wait asks for a snapshot (a new epoch).
          // Asking here would retry at once, and while Redis is down each failure would beget
          // another. Before settled(): a waiting delta then finds the book still waiting.
          const retryInMs = this.reopen.failed(id);
          settled();
          this.gap(event.exchange, feed);
          this.failureLog.failed('write_book', this.metaKey(event), error, {
            exchange: event.exchange,
            symbol: event.symbol,
            seq: event.seq,
            retryInMs,
          });
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
    if (this.writers.token(trade.exchange) === 0) return;
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
    const token = this.writers.token(trade.exchange);
    // The lease was lost while the market's candles were being read.
    if (token === 0) return;
    const id = bookId(trade.exchange, trade.symbol);
    // The trades Redis refused before this one are announced with it (Trade.lostBefore).
    const lostBefore = this.tradesLost.get(id) ?? 0;
    this.tradesLost.delete(id);
    const written: Trade = lostBefore > 0 ? { ...trade, lostBefore } : trade;
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
      tracedWrite(this.options.tracer, 'write_trade', trade.exchange, trade.symbol, () =>
        this.options.store.writeTrade(written, encodeTrade(written), candles, token),
      ).then(
        () => {
          this.stats.trades += 1;
          if (lostBefore > 0) this.failureLog.recovered('write_trade', this.tradesKey(trade));
          this.options.onTradeWritten?.(written, touched);
        },
        (error: unknown) => {
          // Redis may not hold this trade's candles: read them again before the next trade.
          this.candles.forget(trade.exchange, trade.symbol);
          if (isFencedError(error)) {
            this.writers.fenced(trade.exchange, token);
            return;
          }
          this.stats.writeErrors += 1;
          this.stats.tradesLost += 1;
          this.options.metrics?.ingestWriteErrors.inc({ exchange: trade.exchange });
          // This trade and those it was to announce are told by the next trade written.
          const lost = (this.tradesLost.get(id) ?? 0) + lostBefore + 1;
          this.tradesLost.set(id, lost);
          this.failureLog.failed('write_trade', this.tradesKey(trade), error, {
            exchange: trade.exchange,
            symbol: trade.symbol,
            lost,
          });
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
    if (event.check)
      this.options.metrics?.continuityBreaks.inc({ exchange: event.exchange, check: event.check });
    if (event.kind === 'error') this.options.metrics?.feedErrors.inc({ exchange: event.exchange });
    this.queueStatusFlush();
    const level = event.kind === 'error' || event.kind === 'disconnected' ? 'warn' : 'info';
    this.options.log[level](
      {
        exchange: event.exchange,
        symbol: event.symbol,
        kind: event.kind,
        message: event.message,
        check: event.check,
      },
      'feed health',
    );
  }

  /**
   * Stops every feed, then waits for writes already issued; the last status says disconnected.
   * Last, the writer leases are given up, so a standby of this region takes over at once.
   */
  async stop(): Promise<void> {
    const running = this.statusTimer !== undefined;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
    clearInterval(this.reassertTimer);
    this.options.store.redis.off('ready', this.onReconnect);
    this.writers.stopRenewing();
    for (const feed of this.options.feeds) await feed.stop();
    await this.drain();
    if (!running) return;
    this.feedHealth.stopped();
    await this.flushStatus();
    await this.writers.release();
  }

  /**
   * Writes the market metadata and exchange set again (idempotent: the same fields, the same set
   * member). Written once at start they would be gone for good after Redis restarts empty
   * (failover to an empty replica), and every query would say MARKET_NOT_FOUND.
   */
  private async reassert(): Promise<void> {
    for (const [exchange, markets] of this.marketsOf) {
      // A standby writes nothing: the lease holder re-asserts the venue.
      if (this.writers.token(exchange) === 0) continue;
      try {
        await this.options.store.writeMarkets(exchange, markets);
      } catch (error) {
        this.failureLog.failed('write_markets', marketsKey(this.options.store.region, exchange), error);
      }
    }
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
    // A standby's statuses would overwrite the writer's: only the lease holder writes them.
    const held = [...this.feedHealth.snapshot(ttlMs)].filter(
      ([exchange]) => this.writers.token(exchange) > 0,
    );
    const writes = held.map(([exchange, statuses]) =>
      this.options.store
        .writeFeedStatus(exchange, statuses, ttlMs, encodeFeedStatuses(statuses))
        .catch((error: unknown) =>
          this.failureLog.failed(
            'write_feed_status',
            feedStatusKey(this.options.store.region, exchange),
            error,
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

  private metaKey(book: { exchange: string; symbol: string }): string {
    return bookKeys(this.options.store.region, book.exchange, book.symbol).meta;
  }

  private tradesKey(trade: Trade): string {
    return bookKeys(this.options.store.region, trade.exchange, trade.symbol).trades;
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }
}
