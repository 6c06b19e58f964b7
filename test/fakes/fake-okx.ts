import type { WebSocket } from 'ws';
import { Wakeups } from '../helpers/book-checker.ts';
import { tick } from './fake-binance.ts';
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
import { sendJson, startVenueServer, type VenuePlugin } from './venue-server.ts';

/**
 * A local OKX (API v5), a different sync model from Binance: no REST snapshot, the `books`
 * channel opens every subscription with `action: "snapshot"` and continues with
 * `action: "update"` messages whose `prevSeqId` must equal the previous message's `seqId` (the
 * step between seqIds is arbitrary). REST `GET /api/v5/public/instruments`, WebSocket
 * `/ws/v5/public` with `op: subscribe`, text `ping`/`pong`, and the `trades` channel. The
 * deprecated CRC32 `checksum` field is sent as 0, as OKX does since its deprecation.
 */
export interface FakeOkx extends FakeVenue {
  /** The next update of `symbol` carries a `prevSeqId` that does not match: a broken chain. */
  breakNextChain(symbol: string): void;
}

interface Subscriber {
  socket: WebSocket;
  channels: Set<string>;
}

export async function startFakeOkx(
  options: {
    seed?: number;
    markets?: readonly FakeMarketSpec[];
    /** More of OKX on the same port: the signed trading API, the private stream (fake-okx-orders.ts). */
    plugins?: readonly VenuePlugin[];
  } = {},
): Promise<FakeOkx> {
  const plugins = options.plugins ?? [];
  const markets = new VenueMarkets({
    venue: 'okx',
    seed: options.seed ?? 11,
    markets: options.markets ?? FAKE_MARKETS,
    idSeparator: '-',
    seqBase: 5_000_000,
  });
  /** Markets whose next update carries a wrong `prevSeqId`. */
  const breakNext = new Set<VenueMarket>();
  const subscribers = new Set<Subscriber>();
  const waiters = new Wakeups();
  const okxLevels = (levels: readonly (readonly [string, string])[]) =>
    levels.map(([px, sz]) => [px, sz, '0', sz === '0' ? '0' : '1']);

  const server = await startVenueServer({
    request(request) {
      for (const plugin of plugins) {
        const answer = plugin.request?.(request);
        if (answer) return answer;
      }
      return undefined;
    },
    rest(url) {
      if (url.pathname !== '/api/v5/public/instruments') return undefined;
      const type = url.searchParams.get('instType');
      const data = type === 'SPOT' ? markets.specs.map(instrument) : [];
      return { status: 200, body: { code: '0', msg: '', data } };
    },
    connection(socket, path) {
      if (plugins.some((plugin) => plugin.connection?.(socket, path))) return;
      const subscriber: Subscriber = { socket, channels: new Set() };
      subscribers.add(subscriber);
      socket.on('close', () => {
        subscribers.delete(subscriber);
        waiters.notify();
      });
      socket.on('message', (raw) => {
        const text = raw.toString();
        if (text === 'ping') {
          if (socket.readyState === socket.OPEN) socket.send('pong');
          return;
        }
        const request = JSON.parse(text) as { op?: string; args?: { channel: string; instId: string }[] };
        for (const arg of request.args ?? []) {
          const market = markets.find(arg.instId);
          if (!market) {
            sendJson(socket, {
              event: 'error',
              code: '60018',
              msg: `Wrong URL or channel:${arg.channel},instId:${arg.instId} doesn't exist.`,
            });
            continue;
          }
          const key = `${arg.channel}:${arg.instId}`;
          if (request.op === 'unsubscribe') {
            subscriber.channels.delete(key);
            sendJson(socket, { event: 'unsubscribe', arg, connId: 'fake' });
            continue;
          }
          subscriber.channels.add(key);
          sendJson(socket, { event: 'subscribe', arg, connId: 'fake' });
          if (arg.channel === 'books') {
            const { bids, asks } = market.book.levels(400);
            sendJson(socket, {
              arg,
              action: 'snapshot',
              data: [
                {
                  asks: okxLevels(asks),
                  bids: okxLevels(bids),
                  ts: String(VENUE_EPOCH_MS + market.seq),
                  checksum: 0,
                  prevSeqId: -1,
                  seqId: market.seq,
                },
              ],
            });
          }
        }
        waiters.notify();
      });
    },
  });

  const send = (channel: string, instId: string, message: unknown) => {
    for (const s of subscribers) if (s.channels.has(`${channel}:${instId}`)) sendJson(s.socket, message);
  };

  const publish = (market: VenueMarket, { prevSeq, changes, ts, trade }: VenueUpdate) => {
    const instId = market.id;
    const sentPrev = breakNext.has(market) ? prevSeq - 1 : prevSeq;
    breakNext.delete(market);
    send('books', instId, {
      arg: { channel: 'books', instId },
      action: 'update',
      data: [
        {
          asks: okxLevels(changes.asks),
          bids: okxLevels(changes.bids),
          ts: String(ts),
          checksum: 0,
          prevSeqId: sentPrev,
          seqId: market.seq,
        },
      ],
    });
    if (trade) {
      send('trades', instId, {
        arg: { channel: 'trades', instId },
        data: [
          {
            instId,
            tradeId: trade.id,
            px: trade.price,
            sz: trade.amount,
            side: trade.side,
            ts: String(ts),
            count: '1',
          },
        ],
      });
    }
  };

  const countSubscribers = (market: VenueMarket, stream: VenueStream) => {
    const key = `${stream === 'book' ? 'books' : 'trades'}:${market.id}`;
    return [...subscribers].filter((s) => s.channels.has(key)).length;
  };

  return {
    ...fakeVenue({ markets, server, waiters, publish, subscribers: countSubscribers }),
    breakNextChain(symbol) {
      breakNext.add(markets.get(symbol));
    },
  };
}

function instrument(spec: FakeMarketSpec) {
  const [base, quote] = spec.symbol.split('/') as [string, string];
  return {
    alias: '',
    baseCcy: base,
    category: '1',
    ctMult: '',
    ctType: '',
    ctVal: '',
    ctValCcy: '',
    expTime: '',
    instFamily: '',
    instId: venueId(spec.symbol, '-'),
    instType: 'SPOT',
    lever: '10',
    listTime: '1606468572000',
    lotSz: tick(spec.sizeDecimals),
    maxIcebergSz: '9999999999.0000000000000000',
    maxLmtAmt: '20000000',
    maxLmtSz: spec.maxQty,
    maxMktAmt: spec.maxNotional,
    maxMktSz: spec.maxNotional,
    maxStopSz: spec.maxQty,
    maxTriggerSz: spec.maxQty,
    maxTwapSz: spec.maxQty,
    minSz: spec.minQty,
    optType: '',
    quoteCcy: quote,
    settleCcy: '',
    state: 'live',
    stk: '',
    tickSz: tick(spec.priceDecimals),
    uly: '',
  };
}
