import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import { encodeBookEvent, encodeTrade } from '../pubsub/codec.ts';
import type { BookStore } from '../redis/book-store.ts';
import type { Feed, FeedHealthEvent, FeedSink } from './feed.ts';
import { normaliseBookUpdate, normaliseTrade } from './normaliser.ts';
import { Sequencer } from './sequencer.ts';
import type { BookEvent, RawBookUpdate, Trade } from './types.ts';

export interface IngesterOptions {
  store: BookStore;
  feeds: readonly Feed[];
  log: Logger;
  metrics?: Metrics;
  /** Called with every event after Redis accepted it: record, metrics, reference logs in tests. */
  onWritten?: (event: BookEvent) => void;
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
  readonly stats: IngestStats = {
    written: 0,
    trades: 0,
    rejected: 0,
    writeErrors: 0,
    lastWriteTs: Date.now(),
  };

  constructor(private readonly options: IngesterOptions) {
    this.sequencer = new Sequencer(options.store.region);
  }

  async start(): Promise<void> {
    for (const feed of this.options.feeds) {
      const byExchange = new Map<string, ReturnType<Feed['markets']>>();
      for (const market of feed.markets()) {
        const list = byExchange.get(market.exchange) ?? [];
        list.push(market);
        byExchange.set(market.exchange, list);
      }
      for (const [exchange, markets] of byExchange) await this.options.store.writeMarkets(exchange, markets);
    }
    for (const feed of this.options.feeds) await feed.start(this);
  }

  book(update: RawBookUpdate): void {
    let event: BookEvent;
    try {
      const normalised = normaliseBookUpdate(update);
      if (normalised.kind === 'delta' && !this.sequencer.has(normalised.exchange, normalised.symbol)) {
        this.requestSnapshot(normalised.exchange, normalised.symbol);
        return;
      }
      event = this.sequencer.next(normalised);
    } catch (error) {
      this.stats.rejected += 1;
      this.options.log.warn(
        { err: error, exchange: update.exchange, symbol: update.symbol },
        'book update rejected',
      );
      return;
    }
    this.track(
      this.options.store.writeBookEvent(event, encodeBookEvent(event)).then(
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
          this.options.log.error(
            { err: error, exchange: event.exchange, symbol: event.symbol, seq: event.seq },
            'book write failed; resynchronising',
          );
          this.requestSnapshot(event.exchange, event.symbol);
        },
      ),
    );
  }

  trade(trade: Trade): void {
    let normalised: Trade;
    try {
      normalised = normaliseTrade(trade);
    } catch (error) {
      this.stats.rejected += 1;
      this.options.metrics?.ingestRejected.inc({ exchange: trade.exchange });
      this.options.log.warn({ err: error }, 'trade rejected');
      return;
    }
    this.track(
      this.options.store.writeTrade(normalised, encodeTrade(normalised)).then(
        () => {
          this.stats.trades += 1;
        },
        (error: unknown) => {
          this.stats.writeErrors += 1;
          this.options.metrics?.ingestWriteErrors.inc({ exchange: normalised.exchange });
          this.options.log.error({ err: error }, 'trade write failed');
        },
      ),
    );
  }

  health(event: FeedHealthEvent): void {
    // Feed health as data (Query.feeds) builds on these; until then they are logged.
    const level = event.kind === 'error' || event.kind === 'disconnected' ? 'warn' : 'info';
    this.options.log[level](
      { exchange: event.exchange, symbol: event.symbol, kind: event.kind, message: event.message },
      'feed health',
    );
  }

  /** Stops every feed, then waits for writes already issued. */
  async stop(): Promise<void> {
    for (const feed of this.options.feeds) await feed.stop();
    await this.drain();
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
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
