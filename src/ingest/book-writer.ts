import { Sequencer } from '../marketdata/sequencer.ts';
import { bookId, type RawBookUpdate } from '../marketdata/types.ts';
import { tracedWrite } from '../observability/ingest-spans.ts';
import { bookKeys } from '../redis/keys.ts';
import { isFencedError } from '../redis/writer-lease.ts';
import { encodeBookEvent } from '../wire/codec.ts';
import { BookWriteQueue } from './book-write-queue.ts';
import type { IngestContext } from './ingest-options.ts';
import { logWriteFailure, logWriteRecovered, ReopenBackoff } from './write-failures.ts';

/** What the book path asks of the ingester: a gap counted, a snapshot asked of the feeds. */
export interface BookWriterHooks {
  gap(exchange: string, feed: string): void;
  requestSnapshot(exchange: string, symbol: string): void;
}

/**
 * The ingester's book path: normalised updates sequenced and written (one round trip each), at
 * most `maxInFlightPerBook` in flight per book (BookWriteQueue merges the rest). A failed write
 * breaks the book's chain: the book is dropped from the sequencer, and after its backoff
 * (ReopenBackoff) the feed's next update asks for a snapshot, which opens a new epoch.
 */
export class BookWriter {
  private readonly sequencer: Sequencer;
  private readonly writeQueue: BookWriteQueue;
  private readonly reopen: ReopenBackoff;

  constructor(
    private readonly ctx: IngestContext,
    private readonly hooks: BookWriterHooks,
  ) {
    this.sequencer = new Sequencer(ctx.options.store.region);
    this.writeQueue = new BookWriteQueue(ctx.options.maxInFlightPerBook ?? 64);
    this.reopen = new ReopenBackoff(ctx.options.reopenBackoff);
  }

  /** A normalised update of a venue this ingester writes: written, or merged while its book is at the cap. */
  accept(normalised: RawBookUpdate, feed: string): void {
    if (!this.writeQueue.admit(bookId(normalised.exchange, normalised.symbol), normalised, feed)) {
      this.ctx.stats.merged += 1;
      this.ctx.options.metrics?.ingestMerged.inc({ exchange: normalised.exchange });
      return;
    }
    this.write(normalised, feed);
  }

  /** The book starts over: its next write must be a snapshot (a new epoch). */
  invalidate(exchange: string, symbol: string): void {
    this.sequencer.invalidate(exchange, symbol);
  }

  /** Sequences a normalised update and issues its write (one round trip). */
  private write(normalised: RawBookUpdate, feed: string): void {
    const { options, writers, stats } = this.ctx;
    const token = writers.token(normalised.exchange);
    // The lease was lost while this update waited.
    if (token === 0) return;
    const id = bookId(normalised.exchange, normalised.symbol);
    if (normalised.kind === 'delta' && !this.sequencer.has(normalised.exchange, normalised.symbol)) {
      this.hooks.gap(normalised.exchange, feed);
      // After a failed write the book waits out its backoff: Redis refusing every write (OOM)
      // would otherwise get a snapshot attempt per feed update.
      if (this.reopen.ready(id)) this.hooks.requestSnapshot(normalised.exchange, normalised.symbol);
      return;
    }
    const event = this.sequencer.next(normalised);
    this.writeQueue.started(id);
    stats.maxInFlight = this.writeQueue.maxInFlight;
    const settled = () => {
      const next = this.writeQueue.settled(id);
      if (next) this.write(next.update, next.feed);
    };
    this.ctx.track(
      tracedWrite(options.tracer, 'write_book', event.exchange, event.symbol, () =>
        options.store.writeBookEvent(event, encodeBookEvent(event), token),
      ).then(
        () => {
          stats.written += 1;
          stats.lastWriteTs = Date.now();
          options.metrics?.ingestUpdates.inc({ exchange: event.exchange });
          options.onWritten?.(event);
          if (event.kind === 'snapshot')
            logWriteRecovered(this.ctx.failureLog, 'write_book', this.metaKey(event));
          settled();
        },
        (error: unknown) => {
          if (isFencedError(error)) {
            writers.fenced(event.exchange, token);
            return settled();
          }
          stats.writeErrors += 1;
          options.metrics?.ingestWriteErrors.inc({ exchange: event.exchange });
          // Writes issued after the failed one fail too; only the first reopens the chain.
          if (this.sequencer.epochOf(event.exchange, event.symbol) !== event.epoch) return settled();
          this.sequencer.invalidate(event.exchange, event.symbol);
          // The feed's first update of this book after the wait asks for a snapshot (a new epoch).
          // Asking here would retry at once, and while Redis is down each failure would beget
          // another. Before settled(): a waiting delta then finds the book still waiting.
          const retryInMs = this.reopen.failed(id);
          settled();
          this.hooks.gap(event.exchange, feed);
          logWriteFailure(this.ctx.failureLog, 'write_book', this.metaKey(event), error, {
            exchange: event.exchange,
            symbol: event.symbol,
            seq: event.seq,
            retryInMs,
          });
        },
      ),
    );
  }

  private metaKey(book: { exchange: string; symbol: string }): string {
    return bookKeys(this.ctx.options.store.region, book.exchange, book.symbol).meta;
  }
}
