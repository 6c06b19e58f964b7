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
 * (`/stream`) wrap each event as `{ stream, data }`. Like the real venue, USDⓈ-M lists a
 * perpetual of every spot symbol under the same id (`BTCUSDT`, unified `BTC/USDT:USDT`) and COIN-M
 * one per base (`BTCUSD_PERP`): ccxt must tell spot messages from perpetual ones by their socket.
 * The futures streams are not served.
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
    /** Listen on this port (a venue that comes back where it was). @default a free one */
    port?: number;
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

  const server = await startVenueServer(
    {
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
            return { status: 200, body: futuresExchangeInfo(markets.specs, 'linear') };
          case '/dapi/v1/exchangeInfo':
            return { status: 200, body: futuresExchangeInfo(markets.specs, 'inverse') };
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
    },
    options.port,
  );

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

/**
 * `GET /fapi/v1/exchangeInfo` (USDⓈ-M, `linear`: the spot symbol's own id, margined in the quote)
 * or `/dapi/v1/exchangeInfo` (COIN-M, `inverse`: `<BASE>USD_PERP`, margined in the base), one
 * perpetual per spot market, in the shape Binance documents.
 */
function futuresExchangeInfo(specs: readonly FakeMarketSpec[], kind: 'linear' | 'inverse') {
  return {
    timezone: 'UTC',
    serverTime: VENUE_EPOCH_MS,
    rateLimits: [],
    exchangeFilters: [],
    ...(kind === 'linear' ? { assets: [] } : {}),
    symbols: specs.map((spec) => {
      const [base, quote] = spec.symbol.split('/') as [string, string];
      const linear = kind === 'linear';
      const id = linear ? venueId(spec.symbol, '') : `${base}USD_PERP`;
      return {
        symbol: id,
        pair: linear ? id : `${base}USD`,
        contractType: 'PERPETUAL',
        deliveryDate: 4_133_404_800_000,
        onboardDate: 1_569_398_400_000,
        ...(linear ? { status: 'TRADING' } : { contractStatus: 'TRADING', contractSize: 100 }),
        maintMarginPercent: '2.5000',
        requiredMarginPercent: '5.0000',
        baseAsset: base,
        quoteAsset: linear ? quote : 'USD',
        marginAsset: linear ? quote : base,
        pricePrecision: spec.priceDecimals - 1,
        quantityPrecision: linear ? 3 : 0,
        baseAssetPrecision: 8,
        quotePrecision: 8,
        underlyingType: 'COIN',
        underlyingSubType: [],
        triggerProtect: '0.0500',
        liquidationFee: '0.012500',
        marketTakeBound: '0.05',
        maxMoveOrderLimit: 10_000,
        filters: [
          {
            filterType: 'PRICE_FILTER',
            minPrice: '0.10',
            maxPrice: '4529764',
            tickSize: tick(spec.priceDecimals - 1),
          },
          {
            filterType: 'LOT_SIZE',
            stepSize: linear ? '0.001' : '1',
            maxQty: '1000',
            minQty: linear ? '0.001' : '1',
          },
          {
            filterType: 'MARKET_LOT_SIZE',
            stepSize: linear ? '0.001' : '1',
            maxQty: '120',
            minQty: linear ? '0.001' : '1',
          },
          { filterType: 'MAX_NUM_ORDERS', limit: 200 },
          { filterType: 'MAX_NUM_ALGO_ORDERS', limit: 10 },
          ...(linear ? [{ filterType: 'MIN_NOTIONAL', notional: '100' }] : []),
          {
            filterType: 'PERCENT_PRICE',
            multiplierUp: '1.0500',
            multiplierDown: '0.9500',
            multiplierDecimal: '4',
          },
        ],
        orderTypes: [
          'LIMIT',
          'MARKET',
          'STOP',
          'STOP_MARKET',
          'TAKE_PROFIT',
          'TAKE_PROFIT_MARKET',
          'TRAILING_STOP_MARKET',
        ],
        timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
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
