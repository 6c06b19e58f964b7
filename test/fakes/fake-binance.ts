import type { WebSocket } from 'ws';
import { createPrng } from '../../src/marketdata/prng.ts';
import {
  FAKE_MARKETS,
  type FakeMarketSpec,
  type FakeTrade,
  type FakeVenue,
  SubscriptionWaiters,
  VENUE_EPOCH_MS,
  type VenueStream,
  venueId,
} from './fake-market.ts';
import { type CanonicalBook, paddedFormat, ScriptedBook } from './scripted-book.ts';
import { sendJson, startVenueServer, type VenueAnswer, type VenueRequest } from './venue-server.ts';

/**
 * A local Binance spot, speaking the documented protocol that ccxt's binance class drives:
 * REST `GET /api/v3/exchangeInfo` and `GET /api/v3/depth` (with `lastUpdateId`), and the raw
 * stream endpoint `/ws/<n>` with `SUBSCRIBE` requests for `<symbol>@depth@100ms` (diff depth:
 * `U` first and `u` final update id of each event) and `<symbol>@trade`. Combined streams
 * (`/stream`) wrap each event as `{ stream, data }`. USDⓈ-M and COIN-M list no markets.
 */
export interface FakeBinance extends FakeVenue {
  /** The next diff event of `symbol` is not sent (the book still changes): a gap. */
  dropNextDiff(symbol: string): void;
}

/**
 * More of Binance on the same port (the signed order endpoints, the user data stream): asked
 * first for every request and WebSocket connection; what it does not take goes to the market fake.
 */
export interface FakeBinancePlugin {
  request?(request: VenueRequest): VenueAnswer | undefined;
  /** Takes the connection (true) or leaves it to the market streams (false). */
  connection?(socket: WebSocket, path: string): boolean;
}

interface BinanceBook {
  spec: FakeMarketSpec;
  id: string;
  book: ScriptedBook;
  lastUpdateId: number;
  history: Map<number, CanonicalBook>;
  trades: FakeTrade[];
  dropNext: boolean;
}

interface Subscriber {
  socket: WebSocket;
  combined: boolean;
  streams: Set<string>;
}

export async function startFakeBinance(
  options: {
    seed?: number;
    markets?: readonly FakeMarketSpec[];
    plugins?: readonly FakeBinancePlugin[];
  } = {},
): Promise<FakeBinance> {
  const plugins = options.plugins ?? [];
  const seed = options.seed ?? 7;
  const markets = options.markets ?? FAKE_MARKETS;
  const random = createPrng(seed);
  const books = new Map<string, BinanceBook>();
  markets.forEach((spec, i) => {
    const book = new ScriptedBook({ ...spec, seed: seed * 100 + i }, paddedFormat);
    const lastUpdateId = 1_000_000 * (i + 1);
    books.set(spec.symbol, {
      spec,
      id: venueId(spec.symbol, ''),
      book,
      lastUpdateId,
      history: new Map([[lastUpdateId, book.canonical()]]),
      trades: [],
      dropNext: false,
    });
  });
  const byId = new Map([...books.values()].map((b) => [b.id, b]));
  const subscribers = new Set<Subscriber>();
  const waiters = new SubscriptionWaiters();

  const server = await startVenueServer({
    request(request) {
      for (const plugin of plugins) {
        const answer = plugin.request?.(request);
        if (answer) return answer;
      }
      return undefined;
    },
    rest(url) {
      switch (url.pathname) {
        case '/api/v3/exchangeInfo':
          return { status: 200, body: exchangeInfo([...books.values()].map((b) => b.spec)) };
        case '/fapi/v1/exchangeInfo':
        case '/dapi/v1/exchangeInfo':
          return { status: 200, body: { timezone: 'UTC', serverTime: VENUE_EPOCH_MS, symbols: [] } };
        case '/api/v3/depth': {
          const book = byId.get(url.searchParams.get('symbol') ?? '');
          if (!book) return { status: 400, body: { code: -1121, msg: 'Invalid symbol.' } };
          const limit = Number(url.searchParams.get('limit') ?? 100);
          return { status: 200, body: { lastUpdateId: book.lastUpdateId, ...book.book.levels(limit) } };
        }
        default:
          return undefined;
      }
    },
    connection(socket, path) {
      if (plugins.some((plugin) => plugin.connection?.(socket, path))) return;
      const subscriber: Subscriber = { socket, combined: path.startsWith('/stream'), streams: new Set() };
      subscribers.add(subscriber);
      socket.on('close', () => subscribers.delete(subscriber));
      socket.on('message', (raw) => {
        const request = JSON.parse(raw.toString()) as { method?: string; params?: string[]; id?: number };
        if (request.method === 'SUBSCRIBE') for (const s of request.params ?? []) subscriber.streams.add(s);
        else if (request.method === 'UNSUBSCRIBE')
          for (const s of request.params ?? []) subscriber.streams.delete(s);
        sendJson(socket, { result: null, id: request.id });
      });
    },
  });

  const publish = (stream: string, data: unknown) => {
    for (const s of subscribers) {
      if (s.streams.has(stream)) sendJson(s.socket, s.combined ? { stream, data } : data);
    }
  };

  const stepBook = (b: BinanceBook) => {
    const first = b.lastUpdateId + 1;
    // One event may carry several updates (`u - U + 1` of them), as Binance's 100 ms streams do.
    const last = b.lastUpdateId + 1 + Math.floor(random() * 3);
    const changes = b.book.step();
    b.lastUpdateId = last;
    b.history.set(last, b.book.canonical());
    const lower = b.id.toLowerCase();
    const eventTs = VENUE_EPOCH_MS + last;
    if (b.dropNext) b.dropNext = false;
    else {
      publish(`${lower}@depth@100ms`, {
        e: 'depthUpdate',
        E: eventTs,
        s: b.id,
        U: first,
        u: last,
        b: changes.bids,
        a: changes.asks,
      });
    }
    if (last % 3 === 0) {
      const t = b.book.trade();
      const trade: FakeTrade = { id: String(b.trades.length + 1), ...t, ts: eventTs };
      b.trades.push(trade);
      publish(`${lower}@trade`, {
        e: 'trade',
        E: eventTs,
        s: b.id,
        t: Number(trade.id),
        p: t.price,
        q: t.amount,
        T: eventTs,
        // The buyer is the maker when the taker sold.
        m: t.side === 'sell',
        M: true,
      });
    }
  };

  const countSubscribers = (symbol: string, stream: VenueStream) => {
    const name = `${get(symbol).id.toLowerCase()}@${stream === 'book' ? 'depth@100ms' : 'trade'}`;
    return [...subscribers].filter((s) => s.streams.has(name)).length;
  };

  const get = (symbol: string): BinanceBook => {
    const b = books.get(symbol);
    if (!b) throw new Error(`fake binance does not list ${symbol}`);
    return b;
  };

  return {
    id: 'binance',
    restUrl: server.restUrl,
    wsUrl: server.wsUrl,
    markets,
    unknownRequests: server.unknownRequests,
    step(count = 1, symbol) {
      for (let i = 0; i < count; i++) {
        for (const b of symbol ? [get(symbol)] : books.values()) stepBook(b);
      }
    },
    book: (symbol) => get(symbol).book.canonical(),
    bookAt: (symbol, venueSeq) => get(symbol).history.get(venueSeq),
    lastSeq: (symbol) => get(symbol).lastUpdateId,
    trades: (symbol) => get(symbol).trades,
    subscribers: (symbol, stream) => countSubscribers(symbol, stream),
    untilSubscribed(symbol, stream, timeoutMs = 10_000) {
      return waiters.until(
        () => countSubscribers(symbol, stream) > 0,
        timeoutMs,
        `a binance subscriber of ${symbol} ${stream}`,
      );
    },
    dropNextDiff(symbol) {
      get(symbol).dropNext = true;
    },
    dropConnections: () => server.dropConnections(),
    close: () => server.close(),
  };
}

function exchangeInfo(specs: readonly FakeMarketSpec[]) {
  const eight = (value: string) => paddedDecimal(value);
  return {
    timezone: 'UTC',
    serverTime: VENUE_EPOCH_MS,
    rateLimits: [],
    exchangeFilters: [],
    symbols: specs.map((spec) => {
      const [base, quote] = spec.symbol.split('/') as [string, string];
      return {
        symbol: venueId(spec.symbol, ''),
        status: 'TRADING',
        baseAsset: base,
        baseAssetPrecision: 8,
        quoteAsset: quote,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
        icebergAllowed: true,
        ocoAllowed: true,
        otoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          {
            filterType: 'PRICE_FILTER',
            minPrice: eight(tick(spec.priceDecimals)),
            maxPrice: '1000000.00000000',
            tickSize: eight(tick(spec.priceDecimals)),
          },
          {
            filterType: 'LOT_SIZE',
            minQty: eight(spec.minQty),
            maxQty: eight(spec.maxQty),
            stepSize: eight(tick(spec.sizeDecimals)),
          },
          {
            filterType: 'NOTIONAL',
            minNotional: eight(spec.minNotional),
            applyMinToMarket: true,
            maxNotional: eight(spec.maxNotional),
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
        defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
        allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      };
    }),
  };
}

/** "0.01" for 2 decimals. */
export function tick(decimals: number): string {
  return decimals === 0 ? '1' : `0.${'1'.padStart(decimals, '0')}`;
}

function paddedDecimal(value: string): string {
  const [whole, fraction = ''] = value.split('.');
  return `${whole}.${fraction.padEnd(8, '0')}`;
}
