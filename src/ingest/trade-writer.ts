import { CandleBuilder } from '../marketdata/candles.ts';
import { bookId, type Trade } from '../marketdata/types.ts';
import { tracedWrite } from '../observability/ingest-spans.ts';
import { bookKeys } from '../redis/keys.ts';
import { isFencedError } from '../redis/writer-lease.ts';
import { encodeTrade } from '../wire/codec.ts';
import { encodeCandles } from '../wire/market-codec.ts';
import type { IngestContext } from './ingest-options.ts';
import { logWriteFailure, logWriteRecovered } from './write-failures.ts';

/**
 * The ingester's trade path: a market's newest candles read back before its first trade is
 * written (trades arriving meanwhile wait, in order), then one round trip per trade. Trades Redis
 * refused are announced by the next trade written (`Trade.lostBefore`).
 */
export class TradeWriter {
  private readonly candles = new CandleBuilder();
  /** Trades of markets whose candles are being loaded, in arrival order. */
  private readonly candleLoads = new Map<string, Trade[]>();
  /** Per book id: trades Redis refused since the last trade written, told with the next one. */
  private readonly tradesLost = new Map<string, number>();

  constructor(private readonly ctx: IngestContext) {}

  /** A normalised trade of a venue this ingester writes. */
  accept(trade: Trade): void {
    const queued = this.candleLoads.get(bookId(trade.exchange, trade.symbol));
    if (queued) queued.push(trade);
    else if (!this.candles.isLoaded(trade.exchange, trade.symbol)) {
      void this.loadCandles(trade.exchange, trade.symbol, [trade]);
    } else this.write(trade);
  }

  /** Forgets the market's candles: they are read back from Redis before its next trade. */
  forget(exchange: string, symbol: string): void {
    this.candles.forget(exchange, symbol);
  }

  /** One round trip: the trade, the last trade, the candles it touched, both publishes. */
  private write(trade: Trade): void {
    const { options, writers, stats } = this.ctx;
    const token = writers.token(trade.exchange);
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
            retention: options.candleRetention,
          }
        : undefined;
    this.ctx.track(
      tracedWrite(options.tracer, 'write_trade', trade.exchange, trade.symbol, () =>
        options.store.writeTrade(written, encodeTrade(written), candles, token),
      ).then(
        () => {
          stats.trades += 1;
          if (lostBefore > 0) logWriteRecovered(this.ctx.failureLog, 'write_trade', this.tradesKey(trade));
          options.onTradeWritten?.(written, touched);
        },
        (error: unknown) => {
          // Redis may not hold this trade's candles: read them again before the next trade.
          this.candles.forget(trade.exchange, trade.symbol);
          if (isFencedError(error)) {
            writers.fenced(trade.exchange, token);
            return;
          }
          stats.writeErrors += 1;
          stats.tradesLost += 1;
          options.metrics?.ingestWriteErrors.inc({ exchange: trade.exchange });
          // This trade and those it was to announce are told by the next trade written.
          const lost = (this.tradesLost.get(id) ?? 0) + lostBefore + 1;
          this.tradesLost.set(id, lost);
          logWriteFailure(this.ctx.failureLog, 'write_trade', this.tradesKey(trade), error, {
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
  loadCandles(exchange: string, symbol: string, first: Trade[] = []): Promise<void> {
    const id = bookId(exchange, symbol);
    this.candleLoads.set(id, first);
    const load = this.ctx.options.store
      .readLatestCandles(exchange, symbol)
      .catch((error: unknown) => {
        this.ctx.options.log.warn(
          { err: error, exchange, symbol },
          'candle read failed; starting new candles',
        );
        return [];
      })
      .then((latest) => {
        this.candles.load(exchange, symbol, latest);
        const queue = this.candleLoads.get(id) ?? [];
        this.candleLoads.delete(id);
        for (const trade of queue) this.write(trade);
      });
    this.ctx.track(load);
    return load;
  }

  private tradesKey(trade: Trade): string {
    return bookKeys(this.ctx.options.store.region, trade.exchange, trade.symbol).trades;
  }
}
