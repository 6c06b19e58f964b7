import { crc32 } from 'node:zlib';
import type { WebSocket } from 'ws';
import type { Level } from '../../src/marketdata/types.ts';
import { Wakeups } from '../helpers/book-checker.ts';
import {
  FAKE_MARKETS,
  type FakeMarketSpec,
  type FakeVenue,
  fakeVenue,
  type StreamFault,
  StreamFaults,
  VENUE_EPOCH_MS,
  type VenueMarket,
  VenueMarkets,
  type VenueStream,
  type VenueUpdate,
} from './fake-market.ts';
import type { CanonicalBook } from './scripted-book.ts';
import { sendJson, startVenueServer } from './venue-server.ts';

/**
 * A local Kraken spot on WebSocket API v2 as ccxt's kraken class drives it: REST
 * `GET /0/public/AssetPairs` and `/0/public/Assets`, WebSocket `/v2` with `method: subscribe` /
 * `unsubscribe` / `ping`. The `book` channel is kept at the subscribed depth (10 unless asked,
 * 10/25/100/500/1000): a snapshot, then updates of what changed in that window, including levels
 * that come into it; a level pushed out by an insert gets no delete (the client truncates). Every
 * message carries the CRC32 of the best 10 asks then bids at the pair's precision. Numbers are
 * JSON numbers, timestamps RFC 3339 (venue time = epoch + sequence, in ms). A second subscription
 * to a book is refused ("Already subscribed").
 */
export interface FakeKraken extends FakeVenue {
  /** The next book message of `symbol` is lost, sent twice, sent late, or sent with a wrong size. */
  fault(symbol: string, fault: StreamFault): void;
  /** The depth the venue's book is compared at (the fake's `depth` option). */
  readonly depth: number;
  readonly refusedSubscriptions: string[];
}

interface BookSubscription {
  depth: number;
  /** What the client holds now, by price: the window as last sent. */
  window: Window;
}

interface Window {
  bids: Map<string, string>;
  asks: Map<string, string>;
}

function windowOf(view: {
  bids: readonly (readonly [string, string])[];
  asks: readonly (readonly [string, string])[];
}): Window {
  return { bids: new Map(view.bids), asks: new Map(view.asks) };
}

interface Subscriber {
  socket: WebSocket;
  books: Map<string, BookSubscription>;
  trades: Set<string>;
}

const DEPTHS = [10, 25, 100, 500, 1000];

export async function startFakeKraken(
  options: { seed?: number; markets?: readonly FakeMarketSpec[]; depth?: number } = {},
): Promise<FakeKraken> {
  const depth = options.depth ?? 10;
  const markets = new VenueMarkets({
    venue: 'kraken',
    seed: options.seed ?? 17,
    markets: options.markets ?? FAKE_MARKETS,
    idSeparator: '/',
    seqBase: 4_000_000,
  });
  const subscribers = new Set<Subscriber>();
  const waiters = new Wakeups();
  const faults = new StreamFaults();
  const refusedSubscriptions: string[] = [];
  const time = (seq: number) => new Date(VENUE_EPOCH_MS + seq).toISOString().replace('Z', '000Z');

  /** The market's best `n` levels per side, at the pair's precision (as Kraken formats them). */
  const top = (market: VenueMarket, n: number) => {
    const { bids, asks } = market.book.levels(n);
    const fix = (levels: Level[]) =>
      levels.map(
        ([p, q]) => [fixed(p, market.spec.priceDecimals), fixed(q, market.spec.sizeDecimals)] as const,
      );
    return { bids: fix(bids), asks: fix(asks) };
  };
  const checksum = (market: VenueMarket) => {
    const { bids, asks } = top(market, 10);
    const digits = (text: string) => text.replace('.', '').replace(/^0+/, '');
    const part = (levels: readonly (readonly [string, string])[]) =>
      levels.map(([p, q]) => digits(p) + digits(q)).join('');
    return crc32(part(asks) + part(bids));
  };
  const wire = (levels: readonly (readonly [string, string])[]) =>
    levels.map(([p, q]) => ({ price: Number(p), qty: Number(q) }));

  const server = await startVenueServer({
    rest(url) {
      if (url.pathname === '/0/public/AssetPairs')
        return { status: 200, body: { error: [], result: assetPairs(markets.specs) } };
      if (url.pathname === '/0/public/Assets')
        return { status: 200, body: { error: [], result: assets(markets.specs) } };
      return undefined;
    },
    connection(socket) {
      const subscriber: Subscriber = { socket, books: new Map(), trades: new Set() };
      subscribers.add(subscriber);
      sendJson(socket, {
        channel: 'status',
        type: 'update',
        data: [{ api_version: 'v2', connection_id: 1, system: 'online', version: '2.0.10' }],
      });
      socket.on('close', () => {
        subscribers.delete(subscriber);
        waiters.notify();
      });
      socket.on('message', (raw) => {
        const request = JSON.parse(raw.toString()) as {
          method?: string;
          params?: { channel?: string; symbol?: string[]; depth?: number };
          req_id?: number;
        };
        const stamp = { req_id: request.req_id, time_in: time(0), time_out: time(0) };
        if (request.method === 'ping') {
          sendJson(socket, { method: 'pong', ...stamp });
          return;
        }
        const { channel, symbol: symbols = [] } = request.params ?? {};
        for (const symbol of symbols) {
          const market = markets.find(symbol);
          const wanted = request.params?.depth ?? 10;
          if (!market || (channel === 'book' && !DEPTHS.includes(wanted))) {
            sendJson(socket, {
              error: `Currency pair not supported ${symbol}`,
              method: request.method,
              success: false,
              symbol,
              ...stamp,
            });
            continue;
          }
          if (request.method === 'unsubscribe') {
            if (channel === 'book') subscriber.books.delete(symbol);
            else subscriber.trades.delete(symbol);
            sendJson(socket, {
              method: 'unsubscribe',
              result: { channel, symbol, ...(channel === 'book' ? { depth: wanted } : {}) },
              success: true,
              ...stamp,
            });
            continue;
          }
          if (request.method !== 'subscribe') continue;
          if (channel === 'trade') {
            subscriber.trades.add(symbol);
            sendJson(socket, {
              method: 'subscribe',
              result: { channel, snapshot: false, symbol },
              success: true,
              ...stamp,
            });
            continue;
          }
          if (subscriber.books.has(symbol)) {
            refusedSubscriptions.push(symbol);
            sendJson(socket, {
              error: 'Already subscribed',
              method: 'subscribe',
              success: false,
              symbol,
              ...stamp,
            });
            continue;
          }
          const view = top(market, wanted);
          subscriber.books.set(symbol, { depth: wanted, window: windowOf(view) });
          sendJson(socket, {
            method: 'subscribe',
            result: { channel: 'book', depth: wanted, snapshot: true, symbol },
            success: true,
            ...stamp,
          });
          sendJson(socket, {
            channel: 'book',
            type: 'snapshot',
            data: [
              {
                symbol,
                bids: wire(view.bids),
                asks: wire(view.asks),
                checksum: checksum(market),
                timestamp: time(market.seq),
              },
            ],
          });
        }
        waiters.notify();
      });
    },
  });

  const publish = (market: VenueMarket, { trade, ts }: VenueUpdate) => {
    const symbol = market.spec.symbol;
    for (const s of subscribers) {
      const subscription = s.books.get(symbol);
      if (!subscription) continue;
      const view = top(market, subscription.depth);
      const bids = windowChanges(subscription.window.bids, view.bids, 'bids', market);
      const asks = windowChanges(subscription.window.asks, view.asks, 'asks', market);
      subscription.window = windowOf(view);
      if (bids.length === 0 && asks.length === 0) continue;
      const message = (corrupt: boolean) => ({
        channel: 'book',
        type: 'update',
        data: [
          {
            symbol,
            bids: wire(corrupt && bids.length > 0 ? bumpFirst(bids) : bids),
            asks: wire(corrupt && bids.length === 0 ? bumpFirst(asks) : asks),
            checksum: checksum(market),
            timestamp: time(market.seq),
          },
        ],
      });
      faults.deliver(symbol, (corrupt) => sendJson(s.socket, message(corrupt)));
    }
    if (trade) {
      for (const s of subscribers) {
        if (!s.trades.has(symbol)) continue;
        sendJson(s.socket, {
          channel: 'trade',
          type: 'update',
          data: [
            {
              symbol,
              side: trade.side,
              price: Number(trade.price),
              qty: Number(trade.amount),
              ord_type: 'limit',
              trade_id: Number(trade.id),
              timestamp: new Date(ts).toISOString(),
            },
          ],
        });
      }
    }
  };

  const countSubscribers = (market: VenueMarket, stream: VenueStream) =>
    [...subscribers].filter((s) => (stream === 'book' ? s.books : s.trades).has(market.spec.symbol)).length;

  /** The venue's book as a subscriber at the fake's depth holds it. */
  const atDepth = (book: CanonicalBook): CanonicalBook => ({
    bids: book.bids.slice(0, depth),
    asks: book.asks.slice(0, depth),
  });
  const venue = fakeVenue({ markets, server, waiters, publish, subscribers: countSubscribers });
  return {
    ...venue,
    book: (symbol) => atDepth(venue.book(symbol)),
    bookAt: (symbol, seq) => {
      const book = venue.bookAt(symbol, seq);
      return book && atDepth(book);
    },
    // Kraken has no sequence number: an event is placed by its venue time (epoch + sequence).
    positionOf: (event) => event.exchangeTs - VENUE_EPOCH_MS,
    fault: (symbol, fault) => faults.plan(symbol, fault),
    depth,
    refusedSubscriptions,
  };
}

/**
 * What Kraken sends for one side when the window moves from `before` to `view`: every level of the
 * view that is new or changed, and a delete for every level that left the book itself. A level
 * still in the book but pushed below the window gets nothing: the client truncates.
 */
function windowChanges(
  before: Map<string, string>,
  view: readonly (readonly [string, string])[],
  side: 'bids' | 'asks',
  market: VenueMarket,
): [string, string][] {
  const changes: [string, string][] = [];
  for (const [price, qty] of view) if (before.get(price) !== qty) changes.push([price, qty]);
  const inView = new Set(view.map(([price]) => price));
  const inBook = new Set(market.book.levels()[side].map(([p]) => fixed(p, market.spec.priceDecimals)));
  for (const price of before.keys()) {
    if (!inView.has(price) && !inBook.has(price)) changes.push([price, fixed('0', market.spec.sizeDecimals)]);
  }
  return changes;
}

function bumpFirst(levels: [string, string][]): [string, string][] {
  return levels.map(([p, q], i) => [p, i === 0 ? String(Number(q) + 1) : q]);
}

function fixed(value: string, decimals: number): string {
  return Number(value).toFixed(decimals);
}

function assetCode(currency: string): string {
  return currency === 'BTC' ? 'XXBT' : currency === 'ETH' ? 'XETH' : currency;
}

function assetPairs(specs: readonly FakeMarketSpec[]) {
  return Object.fromEntries(
    specs.map((spec) => {
      const [base, quote] = spec.symbol.split('/') as [string, string];
      const alt = `${base === 'BTC' ? 'XBT' : base}${quote}`;
      return [
        alt,
        {
          altname: alt,
          wsname: `${base === 'BTC' ? 'XBT' : base}/${quote}`,
          aclass_base: 'currency',
          base: assetCode(base),
          aclass_quote: 'currency',
          quote: assetCode(quote),
          lot: 'unit',
          cost_decimals: 5,
          pair_decimals: spec.priceDecimals,
          lot_decimals: spec.sizeDecimals,
          lot_multiplier: 1,
          leverage_buy: [],
          leverage_sell: [],
          fees: [[0, 0.4]],
          fees_maker: [[0, 0.25]],
          fee_volume_currency: 'ZUSD',
          margin_call: 80,
          margin_stop: 40,
          ordermin: spec.minQty,
          costmin: spec.minNotional,
          tick_size: Number(1 / 10 ** spec.priceDecimals).toFixed(spec.priceDecimals),
          status: 'online',
        },
      ];
    }),
  );
}

function assets(specs: readonly FakeMarketSpec[]) {
  const codes = new Set(specs.flatMap((spec) => spec.symbol.split('/')));
  return Object.fromEntries(
    [...codes].map((code) => [
      assetCode(code),
      {
        aclass: 'currency',
        altname: code === 'BTC' ? 'XBT' : code,
        decimals: 10,
        display_decimals: 5,
        collateral_value: 1,
        status: 'enabled',
      },
    ]),
  );
}
