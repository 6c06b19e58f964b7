import type { WebSocket } from 'ws';
import { createPrng } from '../../src/marketdata/prng.ts';
import { tick } from './fake-binance.ts';
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
import { type CanonicalBook, ScriptedBook } from './scripted-book.ts';
import { sendJson, startVenueServer } from './venue-server.ts';

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

interface OkxBook {
  spec: FakeMarketSpec;
  instId: string;
  book: ScriptedBook;
  seqId: number;
  history: Map<number, CanonicalBook>;
  trades: FakeTrade[];
  breakNext: boolean;
}

interface Subscriber {
  socket: WebSocket;
  channels: Set<string>;
}

export async function startFakeOkx(
  options: { seed?: number; markets?: readonly FakeMarketSpec[] } = {},
): Promise<FakeOkx> {
  const seed = options.seed ?? 11;
  const markets = options.markets ?? FAKE_MARKETS;
  const random = createPrng(seed);
  const books = new Map<string, OkxBook>();
  markets.forEach((spec, i) => {
    const book = new ScriptedBook({ ...spec, seed: seed * 100 + i });
    const seqId = 5_000_000 * (i + 1);
    books.set(spec.symbol, {
      spec,
      instId: venueId(spec.symbol, '-'),
      book,
      seqId,
      history: new Map([[seqId, book.canonical()]]),
      trades: [],
      breakNext: false,
    });
  });
  const byInstId = new Map([...books.values()].map((b) => [b.instId, b]));
  const subscribers = new Set<Subscriber>();
  const waiters = new SubscriptionWaiters();
  const okxLevels = (levels: readonly (readonly [string, string])[]) =>
    levels.map(([px, sz]) => [px, sz, '0', sz === '0' ? '0' : '1']);

  const server = await startVenueServer({
    rest(url) {
      if (url.pathname !== '/api/v5/public/instruments') return undefined;
      const type = url.searchParams.get('instType');
      const data = type === 'SPOT' ? [...books.values()].map((b) => instrument(b.spec)) : [];
      return { status: 200, body: { code: '0', msg: '', data } };
    },
    connection(socket) {
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
          const b = byInstId.get(arg.instId);
          if (!b) {
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
            const { bids, asks } = b.book.levels(400);
            sendJson(socket, {
              arg,
              action: 'snapshot',
              data: [
                {
                  asks: okxLevels(asks),
                  bids: okxLevels(bids),
                  ts: String(VENUE_EPOCH_MS + b.seqId),
                  checksum: 0,
                  prevSeqId: -1,
                  seqId: b.seqId,
                },
              ],
            });
          }
        }
        waiters.notify();
      });
    },
  });

  const publish = (channel: string, instId: string, message: unknown) => {
    for (const s of subscribers) if (s.channels.has(`${channel}:${instId}`)) sendJson(s.socket, message);
  };

  const stepBook = (b: OkxBook) => {
    const prevSeqId = b.seqId;
    b.seqId += 1 + Math.floor(random() * 3);
    const changes = b.book.step();
    b.history.set(b.seqId, b.book.canonical());
    const ts = VENUE_EPOCH_MS + b.seqId;
    const sentPrev = b.breakNext ? prevSeqId - 1 : prevSeqId;
    b.breakNext = false;
    publish('books', b.instId, {
      arg: { channel: 'books', instId: b.instId },
      action: 'update',
      data: [
        {
          asks: okxLevels(changes.asks),
          bids: okxLevels(changes.bids),
          ts: String(ts),
          checksum: 0,
          prevSeqId: sentPrev,
          seqId: b.seqId,
        },
      ],
    });
    if (b.seqId % 3 === 0) {
      const t = b.book.trade();
      const trade: FakeTrade = { id: String(b.trades.length + 1), ...t, ts };
      b.trades.push(trade);
      publish('trades', b.instId, {
        arg: { channel: 'trades', instId: b.instId },
        data: [
          {
            instId: b.instId,
            tradeId: trade.id,
            px: t.price,
            sz: t.amount,
            side: t.side,
            ts: String(ts),
            count: '1',
          },
        ],
      });
    }
  };

  const countSubscribers = (symbol: string, stream: VenueStream) => {
    const key = `${stream === 'book' ? 'books' : 'trades'}:${get(symbol).instId}`;
    return [...subscribers].filter((s) => s.channels.has(key)).length;
  };

  const get = (symbol: string): OkxBook => {
    const b = books.get(symbol);
    if (!b) throw new Error(`fake okx does not list ${symbol}`);
    return b;
  };

  return {
    id: 'okx',
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
    lastSeq: (symbol) => get(symbol).seqId,
    trades: (symbol) => get(symbol).trades,
    subscribers: (symbol, stream) => countSubscribers(symbol, stream),
    untilSubscribed(symbol, stream, timeoutMs = 10_000) {
      return waiters.until(
        () => countSubscribers(symbol, stream) > 0,
        timeoutMs,
        `an okx subscriber of ${symbol} ${stream}`,
      );
    },
    breakNextChain(symbol) {
      get(symbol).breakNext = true;
    },
    dropConnections: () => server.dropConnections(),
    close: () => server.close(),
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
