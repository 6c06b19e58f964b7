import {
  type BookgraphClient,
  BookgraphError,
  type CandleInterval,
  CandlesDocument,
  CandleUpdatesDocument,
  OrderBookDocument,
  TradesDocument,
  TradeUpdatesDocument,
  watchConsolidatedBook,
  watchOrderBook,
} from '../../sdk/src/index.ts';
import { INTERVALS } from './candles.ts';
import type { Views } from './views.ts';

export interface Selection {
  exchange: string;
  symbol: string;
  depth: number;
  interval: CandleInterval;
}

/** Candles of history loaded per interval. */
const HISTORY_CANDLES = 200;

const describe = (error: unknown) =>
  error instanceof BookgraphError
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);

/**
 * Everything the page follows for one selection — the venue's book (local-book client), its
 * trades and candles, and the symbol's consolidated book — each through @bookgraph/sdk, exactly as
 * an integrator would. `close()` ends all of it (switching market, depth or venue).
 */
export class MarketSession {
  private readonly abort = new AbortController();
  private candles: AbortController | undefined;

  constructor(
    private readonly client: BookgraphClient,
    private readonly views: Views,
    readonly selection: Selection,
    private readonly region: string,
  ) {
    const { exchange, symbol, depth } = selection;
    const signal = this.abort.signal;
    views.ladder.reset(depth);
    views.trades.reset();
    views.status.set('connecting', `${exchange} ${symbol}`);

    const book = watchOrderBook(client, { exchange, symbol, depth, staleNotices: true, signal });
    book.on('change', (current, update) => {
      views.ladder.update(current);
      views.depth.update(current);
      views.stats.updates += 1;
      if (update.type === 'SNAPSHOT') this.readCopy();
      views.status.set(
        current.stale ? 'stale' : 'live',
        current.stale ? 'the server marks this book stale' : '',
      );
    });
    book.on('reset', (reason) => {
      views.stats.resets[reason] = (views.stats.resets[reason] ?? 0) + 1;
      views.ladder.update(undefined);
      views.depth.update(undefined);
      views.status.set('resync', reason);
    });
    book.on('connection', (connected) => {
      if (!connected) views.status.set('reconnecting', 'connection lost: the book shown is stale');
    });
    book.on('error', (error) => views.status.set('error', describe(error)));

    const merged = watchConsolidatedBook(client, { symbol, depth, throttleMs: 250, signal });
    merged.on('change', (current) => {
      views.consolidated.update(current);
      views.liquidity.update(current);
    });
    merged.on('error', (error) => views.consolidated.update(undefined, describe(error)));
    views.consolidated.update(undefined);
    views.liquidity.update(undefined);

    // The stream first, then the history, so at most a trade during the stream's setup can fall
    // between them (none when the history is read after it is live); the view drops repeats by id.
    this.follow(async () => {
      for await (const { trades: trade } of client.subscribe(
        TradeUpdatesDocument,
        { exchange, symbol },
        { signal },
      )) {
        views.trades.add([trade]);
      }
    });
    this.follow(async () => {
      const { trades } = await client.query(TradesDocument, { exchange, symbol, limit: 50 }, { signal });
      views.trades.history(trades);
    });
    this.showCandles(selection.interval);
  }

  showCandles(interval: CandleInterval): void {
    this.selection.interval = interval;
    this.candles?.abort();
    const candles = new AbortController();
    this.candles = candles;
    const signal = AbortSignal.any([this.abort.signal, candles.signal]);
    const { exchange, symbol } = this.selection;
    const span = INTERVALS.find((i) => i.interval === interval)!.ms * HISTORY_CANDLES;
    this.follow(async () => {
      const from = Date.now() - span;
      const history = await this.client.query(
        CandlesDocument,
        { exchange, symbol, interval, from },
        { signal },
      );
      this.views.candles.reset(interval, history.candles);
      for await (const { candles: candle } of this.client.subscribe(
        CandleUpdatesDocument,
        { exchange, symbol, interval },
        { signal },
      )) {
        this.views.candles.update(candle);
      }
    });
  }

  close(): void {
    this.abort.abort();
  }

  /** Which region's copy of the book this server reads (it changes on a region switch: RESET first). */
  private readCopy(): void {
    const { exchange, symbol } = this.selection;
    this.client
      .query(OrderBookDocument, { exchange, symbol, depth: 1 }, { signal: this.abort.signal })
      .then(({ orderBook }) => this.views.status.setRegion(this.region, orderBook.region))
      .catch(() => {});
  }

  private follow(run: () => Promise<void>): void {
    run().catch((error: unknown) => {
      if (this.abort.signal.aborted) return;
      if (error instanceof DOMException && error.name === 'AbortError') return;
      console.warn('dashboard:', describe(error));
      this.views.status.set(this.views.status.current(), describe(error));
    });
  }
}
