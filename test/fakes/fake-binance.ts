import type { WebSocket } from 'ws';
import { Wakeups } from '../helpers/book-checker.ts';
import {
  FAKE_MARKETS,
  type FakeMarketSpec,
  type FakeVenue,
  fakeVenue,
  VENUE_EPOCH_MS,
  type VenueMarket,
  VenueMarkets,
  type VenueStream,
  type VenueUpdate,
  venueId,
} from './fake-market.ts';
import { paddedFormat } from './scripted-book.ts';
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
  const markets = new VenueMarkets({
    venue: 'binance',
    seed: options.seed ?? 7,
    markets: options.markets ?? FAKE_MARKETS,
    idSeparator: '',
    seqBase: 1_000_000,
    format: paddedFormat,
  });
  /** Markets whose next diff event is not sent. */
  const dropNext = new Set<VenueMarket>();
  const subscribers = new Set<Subscriber>();
  const waiters = new Wakeups();

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
          return { status: 200, body: exchangeInfo(markets.specs) };
        case '/fapi/v1/exchangeInfo':
        case '/dapi/v1/exchangeInfo':
          return { status: 200, body: { timezone: 'UTC', serverTime: VENUE_EPOCH_MS, symbols: [] } };
        case '/api/v3/depth': {
          const market = markets.find(url.searchParams.get('symbol') ?? '');
          if (!market) return { status: 400, body: { code: -1121, msg: 'Invalid symbol.' } };
          const limit = Number(url.searchParams.get('limit') ?? 100);
          return { status: 200, body: { lastUpdateId: market.seq, ...market.book.levels(limit) } };
        }
        default:
          return undefined;
      }
    },
    connection(socket, path) {
      if (plugins.some((plugin) => plugin.connection?.(socket, path))) return;
      const subscriber: Subscriber = { socket, combined: path.startsWith('/stream'), streams: new Set() };
      subscribers.add(subscriber);
      socket.on('close', () => {
        subscribers.delete(subscriber);
        waiters.notify();
      });
      socket.on('message', (raw) => {
        const request = JSON.parse(raw.toString()) as { method?: string; params?: string[]; id?: number };
        if (request.method === 'SUBSCRIBE') for (const s of request.params ?? []) subscriber.streams.add(s);
        else if (request.method === 'UNSUBSCRIBE')
          for (const s of request.params ?? []) subscriber.streams.delete(s);
        sendJson(socket, { result: null, id: request.id });
        waiters.notify();
      });
    },
  });

  const send = (stream: string, data: unknown) => {
    for (const s of subscribers) {
      if (s.streams.has(stream)) sendJson(s.socket, s.combined ? { stream, data } : data);
    }
  };

  const publish = (market: VenueMarket, { prevSeq, changes, ts, trade }: VenueUpdate) => {
    const lower = market.id.toLowerCase();
    if (dropNext.has(market)) dropNext.delete(market);
    else {
      send(`${lower}@depth@100ms`, {
        e: 'depthUpdate',
        E: ts,
        s: market.id,
        U: prevSeq + 1,
        u: market.seq,
        b: changes.bids,
        a: changes.asks,
      });
    }
    if (trade) {
      send(`${lower}@trade`, {
        e: 'trade',
        E: ts,
        s: market.id,
        t: Number(trade.id),
        p: trade.price,
        q: trade.amount,
        T: ts,
        // The buyer is the maker when the taker sold.
        m: trade.side === 'sell',
        M: true,
      });
    }
  };

  const countSubscribers = (market: VenueMarket, stream: VenueStream) => {
    const name = `${market.id.toLowerCase()}@${stream === 'book' ? 'depth@100ms' : 'trade'}`;
    return [...subscribers].filter((s) => s.streams.has(name)).length;
  };

  return {
    ...fakeVenue({
      markets,
      server,
      waiters,
      publish,
      subscribers: countSubscribers,
    }),
    dropNextDiff(symbol) {
      dropNext.add(markets.get(symbol));
    },
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
