import {
  type OrderBook as CcxtOrderBook,
  type Trade as CcxtTrade,
  type Exchange,
  InvalidNonce,
  NetworkError,
} from 'ccxt';
import type { Logger } from 'pino';
import { type AuditOutcome, BookAudit } from './book-audit.ts';
import {
  backoffDelay,
  binanceCoinMConflict,
  type CcxtBackoff,
  createExchange,
  retryNetwork,
  unsupportedDepth,
} from './ccxt-exchange.ts';
import { diffSide, formatSide, sideMap } from './ccxt-levels.ts';
import { TICK_SIZE, toMarket } from './ccxt-market.ts';
import { type CheckedBook, checkedBooks, installContinuityCheck, resyncBook } from './continuity/hook.ts';
import { type CheckedMarket, venueContinuity } from './continuity/index.ts';
import { decimalFromNumber } from './decimal.ts';
import type { Feed, FeedHealthEvent, FeedSink } from './feed.ts';
import type { Market, RawBookUpdate, Trade } from './types.ts';

export interface CcxtFeedOptions {
  /** A ccxt exchange id with WebSocket support (`ccxt.pro`), e.g. `binance`, `okx`. */
  exchange: string;
  /** Unified symbols to follow, e.g. `BTC/USDT`. */
  symbols: readonly string[];
  /**
   * Replaces the scheme, host and port of every REST URL ccxt has for this exchange; the path
   * is kept (`https://api.binance.com/api/v3` becomes `<restUrl>/api/v3`). For a proxy or a
   * local fake venue. @default the venue's own URLs
   */
  restUrl?: string;
  /** The same for WebSocket URLs. @default the venue's own URLs */
  wsUrl?: string;
  /** Constructor options given to ccxt as they are (`options`, `timeout`, ...). */
  ccxtConfig?: Record<string, unknown>;
  /**
   * Levels per side to subscribe at, given to ccxt's watchOrderBook (Kraken: 10, 25, 100, 500 or
   * 1000; Bybit spot: 1, 50, 200 or 1000). @default ccxt's default for the venue
   */
  depth?: number;
  /**
   * Our own check of the venue's book stream (sequence numbers, checksums) in front of ccxt's,
   * for the venues `continuity/index.ts` knows. @default true
   */
  continuity?: boolean;
  /**
   * The periodic audit against the venue's REST book (book-audit.ts): one book every `intervalMs`
   * (at least ccxt's rateLimit), round-robin; a divergence resynchronises the book. 0 = off. @default 0
   */
  auditIntervalMs?: number;
  /** Watch trades as well as books. @default true */
  trades?: boolean;
  /**
   * Delay before watching again after a failed watch: doubles per consecutive failure up to
   * the maximum, with jitter (half fixed, half random). @default { initialDelayMs: 250, maxDelayMs: 30_000 }
   */
  backoff?: CcxtBackoff;
  log?: Logger;
  /** @default Date.now */
  clock?: () => number;
}

export {
  backoffDelay,
  createExchange,
  type ExchangeClass,
  exchangeClass,
  rebaseUrls,
} from './ccxt-exchange.ts';
export { toMarket } from './ccxt-market.ts';

/** Our book of one market as last emitted: floats exactly as ccxt holds them, keyed by price. */
interface BookState {
  /** The ccxt book object: ccxt builds a new one whenever it resynchronises. */
  source: CcxtOrderBook;
  nonce: number | undefined;
  bids: Map<number, number>;
  asks: Map<number, number>;
  exchangeTs: number;
  /** Changes with every book emitted (the audit's "moved since"). */
  version: number;
}

/**
 * Any ccxt pro exchange as a feed: ccxt speaks the venue's protocol (snapshot + diff sync, sequence
 * and checksum checks, reconnects), and this turns what it hands back into our book events.
 *
 * ccxt resolves each watch with its whole local book, so each update is diffed against the book
 * emitted before and only the changed levels leave (absolute sizes, "0" removes). A snapshot, which
 * opens a new epoch downstream, is emitted for the first book and whenever ccxt resynchronised:
 * after any failed watch (a disconnect, or the gap or checksum error with which ccxt drops its
 * book and re-subscribes), when ccxt hands back a different book object, or when the book's nonce
 * goes backwards. Decimals come back from ccxt's floats by `decimalFromNumber`, which returns the
 * venue's own string for every value of up to 15 significant digits.
 */
export class CcxtFeed implements Feed {
  readonly name: string;
  private readonly exchange: Exchange;
  private readonly books = new Map<string, BookState>();
  private readonly marketList: Market[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly sleeps = new Set<() => void>();
  private readonly clock: () => number;
  private sink: FeedSink | undefined;
  private running = false;
  private connected = false;
  private prepared: Promise<void> | undefined;
  private stopped = false;
  private startupError: string | undefined;
  /** Why our own check broke a book's watch, until the feed reports that resync. */
  private readonly breaks = new Map<string, 'sequence' | 'checksum' | 'audit'>();
  private audit: BookAudit | undefined;
  private versions = 0;
  /** Our continuity check's hash, unsubscribe message and reset of a symbol's book, if any. */
  private checkedBook: (symbol: string) => CheckedBook | undefined = () => undefined;
  /** The venue's sequence of a symbol's last book message, from our check (when ccxt keeps none). */
  private venueSeqOf: (symbol: string) => number | undefined = () => undefined;
  /** The venue time of a symbol's last book message, from our check (when ccxt's book has none). */
  private venueTimeOf: (symbol: string) => number | undefined = () => undefined;

  constructor(private readonly options: CcxtFeedOptions) {
    this.name = `ccxt:${options.exchange}`;
    this.clock = options.clock ?? Date.now;
    this.exchange = createExchange(
      options.exchange,
      { enableRateLimit: true, ...options.ccxtConfig },
      options.restUrl,
      options.wsUrl,
    );
  }

  /** Loads the venue's markets once and checks that it lists every symbol asked for. */
  prepare(): Promise<void> {
    this.prepared ??= retryNetwork(() => this.loadMarkets(), {
      backoff: this.options.backoff,
      sleep: async (ms) => {
        if (this.stopped) return false;
        await this.sleep(ms);
        return !this.stopped;
      },
      onFailure: (error, failures) => {
        this.startupError = `loading markets failed ${failures} time(s), retrying: ${error.message}`;
        this.options.log?.warn(
          { exchange: this.options.exchange, url: this.options.restUrl ?? 'the venue', failures },
          `cannot load ${this.options.exchange} markets: ${error.message}`,
        );
      },
    }).then(() => {
      this.startupError = undefined;
    });
    return this.prepared;
  }

  /** Why the feed cannot start yet (its markets not loaded: the venue unreachable), or undefined. */
  unready(): string | undefined {
    return this.startupError;
  }

  markets(): Market[] {
    return [...this.marketList];
  }

  async start(sink: FeedSink): Promise<void> {
    if (this.running) return;
    await this.prepare();
    this.sink = sink;
    this.running = true;
    for (const symbol of this.options.symbols) {
      this.loops.push(this.watchLoop(symbol, 'book'));
      // A venue whose trades ccxt cannot stream still gives books.
      if ((this.options.trades ?? true) && this.exchange.has.watchTrades) {
        this.loops.push(this.watchLoop(symbol, 'trades'));
      }
    }
    if ((this.options.auditIntervalMs ?? 0) > 0) {
      this.audit = new BookAudit({
        exchange: this.exchange,
        symbols: this.options.symbols,
        intervalMs: this.options.auditIntervalMs ?? 0,
        book: (symbol) => this.books.get(symbol),
        onOutcome: (symbol, outcome, detail) => this.onAudit(symbol, outcome, detail),
        ...(this.options.log ? { log: this.options.log } : {}),
      });
      this.audit.start();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    for (const wake of [...this.sleeps]) wake();
    // Not waited for: an audit's REST call in flight ends with ccxt's timeout and reports nothing.
    void this.audit?.stop();
    // Closing rejects every pending watch, which ends the loops.
    await this.exchange.close().catch(() => {});
    await Promise.allSettled(this.loops.splice(0));
  }

  snapshot(exchange: string, symbol: string): RawBookUpdate | undefined {
    const state = this.books.get(symbol);
    if (exchange !== this.options.exchange || !state) return undefined;
    return this.snapshotOf(symbol, state, this.clock());
  }

  private async loadMarkets(): Promise<void> {
    const badDepth = unsupportedDepth(this.options.exchange, this.options.depth);
    if (badDepth) throw new Error(badDepth);
    if (!this.exchange.has.watchOrderBook) {
      throw new Error(`ccxt's ${this.options.exchange} cannot watch order books over WebSocket`);
    }
    // ccxt refuses plain ws:// (a local venue, a proxy inside the cluster) until it has an agent.
    await this.exchange.loadHttpProxyAgent();
    // reload: after a failure ccxt keeps handing back the same rejected load otherwise.
    const markets = await this.exchange.loadMarkets(true);
    const missing = this.options.symbols.filter((s) => !markets[s]);
    if (missing.length > 0) {
      throw new Error(`${this.options.exchange} does not list ${missing.join(', ')}`);
    }
    if (this.options.wsUrl) {
      const conflict = binanceCoinMConflict(
        this.exchange,
        this.options.symbols.map((s) => markets[s]!),
      );
      if (conflict) throw new Error(conflict);
    }
    for (const symbol of this.options.symbols) {
      this.marketList.push(
        toMarket(this.options.exchange, markets[symbol]!, this.exchange.precisionMode ?? TICK_SIZE),
      );
    }
    if (this.options.continuity ?? true) this.installContinuityCheck();
  }

  private installContinuityCheck(): void {
    const checked: CheckedMarket[] = this.marketList.map((market) => ({
      // Kraken v2 names markets by their unified symbol; the others by the venue's id.
      id: this.options.exchange === 'kraken' ? market.symbol : String(this.exchange.market(market.symbol).id),
      symbol: market.symbol,
      ...(market.pricePrecision === undefined ? {} : { priceDecimals: market.pricePrecision }),
      ...(market.amountPrecision === undefined ? {} : { amountDecimals: market.amountPrecision }),
    }));
    const check = venueContinuity(this.options.exchange, checked, this.options.depth);
    if (!check) return;
    const ids = new Map(checked.map((m) => [m.symbol, m.id]));
    this.checkedBook = checkedBooks(check, checked);
    this.venueSeqOf = (symbol) => check.lastSeq?.(ids.get(symbol) ?? '');
    this.venueTimeOf = (symbol) => check.lastTime?.(ids.get(symbol) ?? '');
    installContinuityCheck(this.exchange, check, checked, (event) => {
      for (const symbol of event.symbols) this.breaks.set(symbol, event.check);
      this.options.log?.warn(
        { exchange: this.options.exchange, symbols: event.symbols, check: event.check, url: event.url },
        `venue stream broke (${event.check}): ${event.reason}; resynchronising`,
      );
    });
  }

  /** Watches one stream of one symbol until stopped, backing off after each failure. */
  private async watchLoop(symbol: string, stream: 'book' | 'trades'): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (stream === 'book') {
          this.onBook(symbol, await this.exchange.watchOrderBook(symbol, this.options.depth));
        } else this.onTrades(symbol, await this.exchange.watchTrades(symbol));
        failures = 0;
      } catch (error) {
        if (!this.running) return;
        this.onWatchError(symbol, stream, error);
        await this.sleep(backoffDelay(failures, this.options.backoff));
        failures += 1;
      }
    }
  }

  private onBook(symbol: string, book: CcxtOrderBook): void {
    if (!this.running) return;
    this.markConnected();
    const now = this.clock();
    const nonce = typeof book.nonce === 'number' ? book.nonce : this.venueSeqOf(symbol);
    const exchangeTs =
      typeof book.timestamp === 'number' ? book.timestamp : (this.venueTimeOf(symbol) ?? now);
    const state = this.books.get(symbol);
    const resync = !state
      ? undefined
      : state.source !== book
        ? 'the venue book was rebuilt'
        : nonce !== undefined && state.nonce !== undefined && nonce < state.nonce
          ? `the book's nonce went back from ${state.nonce} to ${nonce}`
          : undefined;
    if (!state || resync) {
      const fresh: BookState = {
        source: book,
        nonce,
        bids: sideMap(book.bids),
        asks: sideMap(book.asks),
        exchangeTs,
        version: ++this.versions,
      };
      this.books.set(symbol, fresh);
      if (resync) {
        const check = this.breaks.get(symbol);
        this.breaks.delete(symbol);
        this.report({ kind: 'resync', symbol, message: resync, ...(check ? { check } : {}) });
      }
      this.sink?.book(this.snapshotOf(symbol, fresh, now));
      return;
    }
    const bids = diffSide(state.bids, book.bids);
    const asks = diffSide(state.asks, book.asks);
    state.nonce = nonce;
    state.exchangeTs = exchangeTs;
    if (bids.length === 0 && asks.length === 0) return;
    state.version = ++this.versions;
    this.sink?.book({
      kind: 'delta',
      exchange: this.options.exchange,
      symbol,
      bids,
      asks,
      exchangeTs,
      receiveTs: now,
      ...(nonce === undefined ? {} : { venueSeq: nonce }),
    });
  }

  private onTrades(symbol: string, trades: readonly CcxtTrade[]): void {
    if (!this.running) return;
    this.markConnected();
    const now = this.clock();
    for (const t of trades) {
      if (
        (t.side !== 'buy' && t.side !== 'sell') ||
        typeof t.price !== 'number' ||
        typeof t.amount !== 'number'
      ) {
        this.options.log?.debug(
          { exchange: this.options.exchange, symbol, trade: t.id },
          'trade without side, price or amount skipped',
        );
        continue;
      }
      const trade: Trade = {
        exchange: this.options.exchange,
        symbol,
        id: t.id ?? `${t.timestamp}`,
        price: decimalFromNumber(t.price),
        amount: decimalFromNumber(t.amount),
        side: t.side,
        exchangeTs: typeof t.timestamp === 'number' ? t.timestamp : now,
        receiveTs: now,
      };
      this.sink?.trade(trade);
    }
  }

  /**
   * ccxt has dropped its book (or connection) when a watch fails, and builds a new one on the next
   * watch: forget ours, so the next book goes out as a snapshot in a new epoch.
   */
  private onWatchError(symbol: string, stream: 'book' | 'trades', error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (stream === 'book') this.books.delete(symbol);
    if (error instanceof InvalidNonce) {
      // ccxt's sequence-gap and checksum errors (ChecksumError extends InvalidNonce, which
      // extends NetworkError, hence first): the connection is fine, the book is rebuilt.
      if (stream === 'book') {
        const check = this.breaks.get(symbol);
        this.breaks.delete(symbol);
        this.report({ kind: 'resync', symbol, message, ...(check ? { check } : {}) });
      }
    } else if (error instanceof NetworkError) {
      // Every failed connect or dropped connection is logged and counted (the feed's status
      // keeps the last error); the state change is reported once.
      this.options.log?.warn(
        { exchange: this.options.exchange, url: this.options.wsUrl ?? 'the venue', symbol, stream },
        `${this.options.exchange} ${stream} watch failed: ${message}`,
      );
      this.report({ kind: 'error', symbol, message: `${stream}: ${message}` });
      if (this.connected) {
        this.connected = false;
        this.report({ kind: 'disconnected', message });
      }
    } else {
      this.report({ kind: 'error', symbol, message: `${stream}: ${message}` });
    }
    this.options.log?.debug({ exchange: this.options.exchange, symbol, stream, err: error }, 'watch failed');
  }

  /**
   * One audit's outcome, reported; a divergence drops ccxt's book the way a broken stream does,
   * so the venue's fresh snapshot replaces it (a resync with `check: 'audit'`: RESET downstream).
   */
  private onAudit(symbol: string, outcome: AuditOutcome, detail: string): void {
    this.report({ kind: 'audit', symbol, outcome, message: detail });
    if (outcome !== 'divergence') return;
    const { exchange } = this.options;
    this.options.log?.warn(
      { exchange, symbol, check: 'audit' },
      `venue book diverged (audit): ${detail}; resynchronising`,
    );
    this.breaks.set(symbol, 'audit');
    const error = new InvalidNonce(`${exchange} ${symbol}: audit check failed: ${detail}`);
    if (resyncBook(this.exchange, symbol, this.checkedBook(symbol), error)) return;
    // No subscription to drop (a reconnect is under way): the next watch rebuilds the book anyway.
    this.breaks.delete(symbol);
    this.books.delete(symbol);
    this.report({ kind: 'resync', symbol, message: `audit: ${detail}`, check: 'audit' });
  }

  private markConnected(): void {
    if (this.connected) return;
    this.connected = true;
    this.report({ kind: 'connected' });
  }

  private report(event: Omit<FeedHealthEvent, 'exchange' | 'at'>): void {
    this.sink?.health({ exchange: this.options.exchange, at: this.clock(), ...event });
  }

  private snapshotOf(symbol: string, state: BookState, receiveTs: number): RawBookUpdate {
    return {
      kind: 'snapshot',
      exchange: this.options.exchange,
      symbol,
      bids: formatSide(state.bids),
      asks: formatSide(state.asks),
      exchangeTs: state.exchangeTs,
      receiveTs,
      ...(state.nonce === undefined ? {} : { venueSeq: state.nonce }),
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeps.add(wake);
    });
  }
}
