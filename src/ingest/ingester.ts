import type { Feed, FeedHealthEvent, FeedSink } from '../marketdata/feed.ts';
import { FeedHealthTracker } from '../marketdata/feed-health.ts';
import { normaliseBookUpdate, normaliseTrade } from '../marketdata/normaliser.ts';
import type { Market, RawBookUpdate, Trade } from '../marketdata/types.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { feedStatusKey, marketsKey } from '../redis/keys.ts';
import { newLeaseHolder, WriterLeases } from '../redis/writer-lease.ts';
import { encodeFeedStatuses } from '../wire/market-codec.ts';
import { BookWriter } from './book-writer.ts';
import type { IngestContext, IngesterOptions, IngestStats } from './ingest-options.ts';
import { TradeWriter } from './trade-writer.ts';
import { VenueWriters } from './venue-writers.ts';
import { logWriteFailure } from './write-failures.ts';

export type { IngesterOptions, IngestStats } from './ingest-options.ts';

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
  private readonly pending = new Set<Promise<unknown>>();
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
  private statusFlushQueued = false;
  private readonly failureLog: RateLimitedLog;
  /** The book path (book-writer.ts) and the trade path (trade-writer.ts). */
  private readonly books: BookWriter;
  private readonly trades: TradeWriter;
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
    this.feedHealth = new FeedHealthTracker(options.store.region);
    // One kind per key (book, trades, market, status hash): bounded by the markets, not by 100.
    this.failureLog = new RateLimitedLog(options.log, {
      intervalMs: options.failureLogIntervalMs,
      maxKinds: 10_000,
    });
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
    const ctx: IngestContext = {
      options,
      writers: this.writers,
      stats: this.stats,
      failureLog: this.failureLog,
      track: (promise) => this.track(promise),
    };
    this.books = new BookWriter(ctx, {
      gap: (exchange, feed) => this.gap(exchange, feed),
      requestSnapshot: (exchange, symbol) => this.requestSnapshot(exchange, symbol),
    });
    this.trades = new TradeWriter(ctx);
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
      this.books.invalidate(m.exchange, m.symbol);
      this.trades.forget(m.exchange, m.symbol);
    }
    // Continue the candles in progress (the previous holder's) rather than start them again.
    const loads = markets.map((m) => this.trades.loadCandles(m.exchange, m.symbol));
    if (this.feedsStarted) for (const m of markets) this.requestSnapshot(m.exchange, m.symbol);
    const written = this.options.store.writeMarkets(exchange, markets);
    if (this.feedsStarted) {
      await written.catch((error: unknown) =>
        logWriteFailure(
          this.failureLog,
          'write_markets',
          marketsKey(this.options.store.region, exchange),
          error,
        ),
      );
      this.queueStatusFlush();
    } else await written;
    await Promise.all(loads);
  }

  /** Another ingester writes the venue now: this one forgets its chains and writes nothing more. */
  private onLeaseLost(exchange: string): void {
    for (const m of this.marketsOf.get(exchange) ?? []) this.books.invalidate(m.exchange, m.symbol);
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
    this.books.accept(normalised, feed);
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
    this.trades.accept(normalised);
  }

  health(event: FeedHealthEvent): void {
    this.onHealth(event, this.feedName(event.exchange));
  }

  private onHealth(event: FeedHealthEvent, feed: string): void {
    if (event.kind === 'audit') {
      const { exchange, outcome = 'skipped' } = event;
      this.options.metrics?.venueAudits.inc({ exchange, outcome });
      this.options.log.debug(
        { exchange, symbol: event.symbol, outcome, message: event.message },
        'book audit',
      );
      return;
    }
    this.feedHealth.health(event, feed);
    if (event.check === 'audit') this.options.metrics?.auditDivergences.inc({ exchange: event.exchange });
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
        logWriteFailure(
          this.failureLog,
          'write_markets',
          marketsKey(this.options.store.region, exchange),
          error,
        );
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
          logWriteFailure(
            this.failureLog,
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

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }
}
