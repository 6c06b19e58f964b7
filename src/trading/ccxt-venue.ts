import { createHash } from 'node:crypto';
import { type Order as CcxtOrder, type Exchange, NetworkError, OrderNotFound } from 'ccxt';
import type { Logger } from 'pino';
import { backoffDelay, createExchange } from '../marketdata/ccxt-feed.ts';
import { canonicalDecimal, decimalFromNumber } from '../marketdata/decimal.ts';
import type { Order } from './types.ts';
import type { ExternalVenue, VenueExecution, VenueOrderReport, VenueSubmitResult } from './venue.ts';
import { missingCredentials, VenueCredentialsError } from './venue-credentials.ts';

export interface CcxtVenueOptions {
  /** ccxt exchange id, e.g. `binance`. */
  exchange: string;
  apiKey: string;
  secret: string;
  /** `password` (OKX's passphrase) and `uid` where ccxt's `requiredCredentials` asks for them. */
  password?: string;
  uid?: string;
  /** Scheme, host and port replacing the venue's own (a proxy, a local fake), as for feeds. */
  restUrl?: string;
  wsUrl?: string;
  /** How long one REST call may take before its outcome is unknown. @default 10000 */
  timeoutMs?: number;
  /** Constructor options given to ccxt as they are. */
  ccxtConfig?: Record<string, unknown>;
  /** Backoff of the order stream after a failure. @default { initialDelayMs: 250, maxDelayMs: 30_000 } */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number };
  log: Logger;
}

/**
 * Binance accepts a client order id of 1-36 characters of `[.A-Z:/a-z0-9_-]`, OKX 1-32
 * alphanumerics (`clOrdId`), Bybit 1-36 (`orderLinkId`): 32 characters fit them all.
 */
const VENUE_ID_LENGTH = 32;
/** Exchanges whose ids keep Binance's alphabet (base64url), so orders placed before stay found. */
const BASE64URL_IDS = new Set(['binance']);

function decimal(value: number | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? decimalFromNumber(value) : '0';
}

function rawString(info: unknown, key: string): string | undefined {
  if (!info || typeof info !== 'object') return undefined;
  const value = (info as Record<string, unknown>)[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * A real exchange through unmodified ccxt (REST for orders, ccxt pro's `watchOrders` for the
 * account's order stream). It never decides anything about an order: it sends what the trading
 * service wrote, and hands back the venue's state as cumulative reports.
 */
export class CcxtVenue implements ExternalVenue {
  readonly name = 'CCXT' as const;
  readonly exchange: string;
  readonly acceptWindowMs: number;
  private readonly client: Exchange;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeSleep: (() => void) | undefined;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: CcxtVenueOptions) {
    this.exchange = options.exchange;
    this.client = createExchange(
      options.exchange,
      {
        enableRateLimit: true,
        timeout: options.timeoutMs ?? 10_000,
        ...options.ccxtConfig,
        apiKey: options.apiKey,
        secret: options.secret,
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(options.uid === undefined ? {} : { uid: options.uid }),
      },
      options.restUrl,
      options.wsUrl,
    );
    // OKX signs with a passphrase too: refused here, at start, rather than at the first order.
    const missing = missingCredentials(options.exchange, this.client.requiredCredentials, options);
    if (missing.length > 0) throw new VenueCredentialsError(options.exchange, missing);
    const recvWindow = (this.client.options as Record<string, unknown>).recvWindow;
    // The exchange refuses a request older than its window; a margin covers clock skew.
    this.acceptWindowMs = (typeof recvWindow === 'number' ? recvWindow : 60_000) + 1_000;
  }

  /** A function of the order id alone: every attempt for one order names the same venue order. */
  venueClientOrderId(order: Order): string {
    const digest = createHash('sha256').update(order.id);
    // Alphanumerics elsewhere: OKX refuses `_` and `-` in a clOrdId (30 hex digits: 120 bits).
    const text = BASE64URL_IDS.has(this.exchange) ? digest.digest('base64url') : digest.digest('hex');
    return `bg${text.slice(0, VENUE_ID_LENGTH - 2)}`;
  }

  start(onReport: (report: VenueOrderReport) => void, onConnected?: () => void): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.watchLoop(onReport, onConnected);
  }

  async submit(order: Order): Promise<VenueSubmitResult> {
    // ccxt's unified parameter: Binance's newClientOrderId, OKX's clOrdId, Bybit's orderLinkId.
    const params: Record<string, unknown> = { clientOrderId: this.venueClientOrderId(order) };
    if (order.type === 'LIMIT') {
      params.timeInForce = order.timeInForce;
      if (order.postOnly) params.postOnly = true;
    }
    try {
      await this.prepare();
      const placed = await this.client.createOrder(
        order.symbol,
        order.type === 'LIMIT' ? 'limit' : 'market',
        order.side === 'BUY' ? 'buy' : 'sell',
        Number(order.amount),
        order.price === null ? undefined : Number(order.price),
        params,
      );
      // OKX answers a placement with its ids alone: the order's state is asked for.
      const state = placed.status ? placed : await this.stateAfter(order, placed);
      return { kind: 'accepted', report: this.report(order, state) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A network error (timeout, cut connection, an exchange that is down) says nothing about
      // whether the order was placed; Binance's "Duplicate order sent." and OKX's 51016
      // "Duplicated clOrdId" mean the venue already has it.
      if (error instanceof NetworkError || /Duplicate order sent|Duplicated clOrdId/i.test(message)) {
        return { kind: 'unknown', message };
      }
      return { kind: 'rejected', message: venueMessage(message) };
    }
  }

  async cancel(order: Order): Promise<VenueOrderReport | 'not-open' | 'unknown'> {
    try {
      await this.prepare();
      const canceled = await this.client.cancelOrder('', order.symbol, {
        clientOrderId: this.venueClientOrderId(order),
      });
      if (canceled.status) return this.report(order, canceled);
      // OKX acknowledges a cancel with the ids alone: its end (and fills) are asked for.
      const found = await this.lookup(order);
      return found === null ? 'unknown' : found;
    } catch (error) {
      if (error instanceof OrderNotFound) return 'not-open';
      this.options.log.warn({ err: error, order: order.id }, 'venue cancel failed');
      return 'unknown';
    }
  }

  async lookup(order: Order): Promise<VenueOrderReport | null | 'unknown'> {
    try {
      await this.prepare();
      const found = await this.client.fetchOrder('', order.symbol, {
        clientOrderId: this.venueClientOrderId(order),
      });
      return this.report(order, found);
    } catch (error) {
      if (error instanceof OrderNotFound) return null;
      this.options.log.warn({ err: error, order: order.id }, 'venue order lookup failed');
      return 'unknown';
    }
  }

  async close(): Promise<void> {
    this.running = false;
    this.wakeSleep?.();
    await this.client.close().catch(() => {});
    await this.loop?.catch(() => {});
  }

  /** The order's state after a placement the venue acknowledged with its ids alone. */
  private async stateAfter(order: Order, placed: CcxtOrder): Promise<CcxtOrder> {
    try {
      return await this.client.fetchOrder('', order.symbol, {
        clientOrderId: this.venueClientOrderId(order),
      });
    } catch (error) {
      // Accepted all the same: the order stream (or a later lookup) brings its state.
      this.options.log.warn({ err: error, order: order.id }, 'venue order lookup after placement failed');
      return { ...placed, status: 'open' };
    }
  }

  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      // ccxt refuses plain ws:// (a local venue, a proxy inside the cluster) until it has an agent.
      await this.client.loadHttpProxyAgent();
      await this.client.loadMarkets();
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /**
   * The account's order stream until closed, backing off after each failure. The first watch
   * after a start or a failure opens a new subscription: once the venue confirms it,
   * `onConnected` runs (updates from then on arrive on the stream; earlier ones must be asked for).
   */
  private async watchLoop(
    onReport: (report: VenueOrderReport) => void,
    onConnected: (() => void) | undefined,
  ): Promise<void> {
    let failures = 0;
    let subscribed = false;
    while (this.running) {
      try {
        await this.prepare();
        const watching = this.client.watchOrders();
        if (!subscribed) {
          // Handled below; meanwhile a failure must not count as unhandled.
          watching.catch(() => {});
          await this.subscribed(watching);
          subscribed = true;
          onConnected?.();
        }
        const orders = await watching;
        failures = 0;
        for (const order of orders) {
          const report = this.streamReport(order);
          if (report) onReport(report);
        }
      } catch (error) {
        subscribed = false;
        if (!this.running) return;
        this.options.log.warn({ err: error, exchange: this.exchange }, 'venue order stream failed');
        await this.sleep(backoffDelay(failures, this.options.backoff));
        failures += 1;
      }
    }
  }

  /**
   * Resolves once the venue confirmed the order stream's subscription. ccxt pro subscribes the
   * account stream in `authenticate` (single flight: this joins the one `watchOrders` started,
   * and returns at once when it is already confirmed); an update arriving first proves it too.
   */
  private async subscribed(watching: Promise<unknown>): Promise<void> {
    const client = this.client as unknown as { authenticate?: (params?: object) => Promise<unknown> };
    if (typeof client.authenticate !== 'function') return;
    await Promise.race([client.authenticate(), watching]);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeSleep = undefined;
        resolve();
      }, ms);
      this.wakeSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The venue's answer about one of our orders (we know which: we asked about it). */
  private report(order: Order, venue: CcxtOrder): VenueOrderReport {
    return { ...this.state(venue), venueClientOrderId: this.venueClientOrderId(order) };
  }

  /** An update from the order stream; null when it is not one of ours (no client order id). */
  private streamReport(venue: CcxtOrder): VenueOrderReport | null {
    const id = venue.clientOrderId;
    if (!id) return null;
    return { ...this.state(venue), venueClientOrderId: id };
  }

  private state(venue: CcxtOrder): Omit<VenueOrderReport, 'venueClientOrderId'> {
    const last = lastExecution(venue.info as unknown);
    const status =
      venue.status === 'closed'
        ? 'FILLED'
        : venue.status === 'canceled'
          ? 'CANCELED'
          : venue.status === 'rejected'
            ? 'REJECTED'
            : venue.status === 'expired'
              ? 'EXPIRED'
              : 'OPEN';
    // Binance's FULL answer to a placement lists every execution: each becomes its own fill.
    const trades = Array.isArray(venue.trades) ? venue.trades : [];
    const executions = trades.every((t) => typeof t.price === 'number' && typeof t.amount === 'number')
      ? trades.map((t) => ({
          price: decimal(t.price),
          amount: decimal(t.amount),
          liquidity: t.takerOrMaker === 'maker' ? ('MAKER' as const) : ('TAKER' as const),
        }))
      : [];
    return {
      venueOrderId: venue.id ? String(venue.id) : null,
      status,
      filled: decimal(venue.filled),
      cost: decimal(venue.cost),
      last,
      executions: executions.length > 0 ? executions : null,
    };
  }
}

/**
 * The execution a raw order update is about: Binance's executionReport `l`/`L`/`m`, OKX's
 * `fillSz`/`fillPx`/`execType` (`M` maker).
 */
function lastExecution(info: unknown): VenueExecution | null {
  const binance = rawString(info, 'l') !== undefined;
  const amount = rawString(info, binance ? 'l' : 'fillSz');
  const price = rawString(info, binance ? 'L' : 'fillPx');
  if (!amount || !price || !(Number(amount) > 0)) return null;
  const raw = info as Record<string, unknown>;
  const maker = binance ? raw.m === true : raw.execType === 'M';
  return {
    amount: canonicalDecimal(amount),
    price: canonicalDecimal(price),
    liquidity: maker ? 'MAKER' : 'TAKER',
  };
}

/** ccxt prefixes the exchange id and sometimes the raw JSON; keep the venue's own words. */
function venueMessage(message: string): string {
  // OKX puts the reason of an item in `sMsg` (its top `msg` is "All operations failed").
  const item = /\{.*"sMsg"\s*:\s*"([^"]+)".*\}/.exec(message);
  if (item) return item[1]!;
  const json = /\{.*"msg"\s*:\s*"([^"]*)".*\}/.exec(message);
  if (json) return json[1]!;
  return message.replace(/^\S+\s/, '');
}
