import type { WebSocket } from 'ws';
import { Wakeups } from '../helpers/book-checker.ts';
import { tick } from './fake-binance.ts';
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
  venueId,
} from './fake-market.ts';
import { sendJson, startVenueServer } from './venue-server.ts';

/**
 * A local Bybit (API v5) as ccxt's bybit class drives it: REST
 * `GET /v5/market/instruments-info?category=spot|linear|inverse|option` (spot markets, and a USDT
 * perpetual of each under the same id, as Bybit lists them), WebSocket `/v5/public/spot` with
 * `op: subscribe` / `unsubscribe` / `ping`. `orderbook.<depth>.<id>` opens each subscription with
 * a `snapshot` and continues with `delta`s whose update id `u` grows by exactly one (`seq`, the
 * cross sequence, grows too); a second subscription to a topic is refused, as Bybit does.
 * `publicTrade.<id>` streams trades. Bybit has no checksum.
 */
export interface FakeBybit extends FakeVenue {
  /** The next book message of `symbol` is lost, sent twice, or sent after the one that follows. */
  fault(symbol: string, fault: Exclude<StreamFault, 'corrupt'>): void;
  /** Book subscriptions the venue refused because the topic was already subscribed. */
  readonly refusedSubscriptions: string[];
}

/** ccxt's default depth for spot books. */
export const BYBIT_DEPTH = 50;

interface Subscriber {
  socket: WebSocket;
  topics: Set<string>;
}

export async function startFakeBybit(
  options: { seed?: number; markets?: readonly FakeMarketSpec[] } = {},
): Promise<FakeBybit> {
  const markets = new VenueMarkets({
    venue: 'bybit',
    seed: options.seed ?? 13,
    markets: options.markets ?? FAKE_MARKETS,
    idSeparator: '',
    seqBase: 3_000_000,
    seqStep: 'one',
  });
  const subscribers = new Set<Subscriber>();
  const waiters = new Wakeups();
  const faults = new StreamFaults();
  const refusedSubscriptions: string[] = [];
  const bookTopic = (market: VenueMarket) => `orderbook.${BYBIT_DEPTH}.${market.id}`;
  const seqOf = (market: VenueMarket) => 7_961_638_724 + market.seq * 7;

  /** REST `GET /v5/market/orderbook` (spot): the best `limit` levels, `u` as on the stream. */
  const orderbook = (url: URL) => {
    const market = markets.find(url.searchParams.get('symbol') ?? '');
    if (!market || url.searchParams.get('category') !== 'spot') {
      return {
        status: 200,
        body: { retCode: 10001, retMsg: 'params error', result: {}, time: VENUE_EPOCH_MS },
      };
    }
    const { bids, asks } = market.book.levels(Number(url.searchParams.get('limit') ?? 50));
    const ts = VENUE_EPOCH_MS + market.seq;
    const result = { s: market.id, b: bids, a: asks, ts, u: market.seq, seq: seqOf(market), cts: ts };
    return { status: 200, body: { retCode: 0, retMsg: 'OK', result, retExtInfo: {}, time: ts } };
  };

  const server = await startVenueServer({
    rest(url) {
      if (url.pathname === '/v5/market/orderbook') return orderbook(url);
      if (url.pathname !== '/v5/market/instruments-info') return undefined;
      const category = url.searchParams.get('category') ?? '';
      const list =
        category === 'spot'
          ? markets.specs.map(spotInstrument)
          : category === 'linear' && url.searchParams.get('status') !== 'PreLaunch'
            ? markets.specs.map(linearInstrument)
            : [];
      const result = { category, list, ...(category === 'spot' ? {} : { nextPageCursor: '' }) };
      return {
        status: 200,
        body: { retCode: 0, retMsg: 'OK', result, retExtInfo: {}, time: VENUE_EPOCH_MS },
      };
    },
    connection(socket) {
      const subscriber: Subscriber = { socket, topics: new Set() };
      subscribers.add(subscriber);
      socket.on('close', () => {
        subscribers.delete(subscriber);
        waiters.notify();
      });
      socket.on('message', (raw) => {
        const request = JSON.parse(raw.toString()) as { op?: string; args?: string[]; req_id?: string };
        const reply = { conn_id: 'fake-conn', req_id: request.req_id, op: request.op };
        if (request.op === 'ping') {
          sendJson(socket, { success: true, ret_msg: 'pong', ...reply });
          return;
        }
        const topics = request.args ?? [];
        if (request.op === 'unsubscribe') {
          for (const topic of topics) subscriber.topics.delete(topic);
          sendJson(socket, { success: true, ret_msg: '', ...reply });
        } else if (request.op === 'subscribe') {
          const taken = topics.find((t) => subscriber.topics.has(t));
          if (taken) {
            refusedSubscriptions.push(taken);
            sendJson(socket, {
              success: false,
              ret_msg: `error:already subscribed,topic:${taken}`,
              ...reply,
            });
            return;
          }
          for (const topic of topics) subscriber.topics.add(topic);
          sendJson(socket, { success: true, ret_msg: '', ...reply });
          for (const topic of topics) {
            const market = topic.startsWith('orderbook.')
              ? markets.find(topic.split('.')[2] ?? '')
              : undefined;
            if (!market) continue;
            const { bids, asks } = market.book.levels(BYBIT_DEPTH);
            sendJson(socket, {
              topic,
              type: 'snapshot',
              ts: VENUE_EPOCH_MS + market.seq,
              data: { s: market.id, b: bids, a: asks, u: market.seq, seq: seqOf(market) },
              cts: VENUE_EPOCH_MS + market.seq,
            });
          }
        }
        waiters.notify();
      });
    },
  });

  const send = (topic: string, message: unknown) => {
    for (const s of subscribers) if (s.topics.has(topic)) sendJson(s.socket, message);
  };

  const publish = (market: VenueMarket, { changes, ts, trade }: VenueUpdate) => {
    const topic = bookTopic(market);
    const sent = {
      topic,
      type: 'delta',
      ts,
      data: { s: market.id, b: changes.bids, a: changes.asks, u: market.seq, seq: seqOf(market) },
      cts: ts,
    };
    faults.deliver(market.spec.symbol, () => send(topic, sent));
    if (trade) {
      send(`publicTrade.${market.id}`, {
        topic: `publicTrade.${market.id}`,
        type: 'snapshot',
        ts,
        data: [
          {
            T: ts,
            s: market.id,
            S: trade.side === 'buy' ? 'Buy' : 'Sell',
            v: trade.amount,
            p: trade.price,
            L: 'PlusTick',
            i: `fake-${trade.id}`,
            BT: false,
          },
        ],
      });
    }
  };

  const countSubscribers = (market: VenueMarket, stream: VenueStream) => {
    const topic = stream === 'book' ? bookTopic(market) : `publicTrade.${market.id}`;
    return [...subscribers].filter((s) => s.topics.has(topic)).length;
  };

  return {
    ...fakeVenue({ markets, server, waiters, publish, subscribers: countSubscribers }),
    fault: (symbol, fault) => faults.plan(symbol, fault),
    refusedSubscriptions,
  };
}

function spotInstrument(spec: FakeMarketSpec) {
  const [base, quote] = spec.symbol.split('/') as [string, string];
  return {
    symbol: venueId(spec.symbol, ''),
    baseCoin: base,
    quoteCoin: quote,
    innovation: '0',
    status: 'Trading',
    marginTrading: 'both',
    stTag: '0',
    lotSizeFilter: {
      basePrecision: tick(spec.sizeDecimals),
      quotePrecision: '0.00000001',
      minOrderQty: spec.minQty,
      maxOrderQty: spec.maxQty,
      minOrderAmt: spec.minNotional,
      maxOrderAmt: spec.maxNotional,
    },
    priceFilter: { tickSize: tick(spec.priceDecimals) },
    riskParameters: { priceLimitRatioX: '0.05', priceLimitRatioY: '0.05' },
  };
}

function linearInstrument(spec: FakeMarketSpec) {
  const [base, quote] = spec.symbol.split('/') as [string, string];
  return {
    symbol: venueId(spec.symbol, ''),
    contractType: 'LinearPerpetual',
    status: 'Trading',
    baseCoin: base,
    quoteCoin: quote,
    launchTime: '1585526400000',
    deliveryTime: '0',
    deliveryFeeRate: '',
    priceScale: String(spec.priceDecimals - 1),
    leverageFilter: { minLeverage: '1', maxLeverage: '100.00', leverageStep: '0.01' },
    priceFilter: { minPrice: '0.10', maxPrice: '1999999.80', tickSize: tick(spec.priceDecimals - 1) },
    lotSizeFilter: {
      maxOrderQty: '1190.000',
      minOrderQty: '0.001',
      qtyStep: '0.001',
      postOnlyMaxOrderQty: '1190.000',
      maxMktOrderQty: '500.000',
      minNotionalValue: '5',
    },
    unifiedMarginTrade: true,
    fundingInterval: 480,
    settleCoin: quote,
    copyTrading: 'both',
    upperFundingRate: '0.00375',
    lowerFundingRate: '-0.00375',
    isPreListing: false,
    preListingInfo: null,
  };
}
