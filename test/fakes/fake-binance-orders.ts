import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  addDecimal,
  canonicalDecimal,
  compareDecimal,
  isZeroDecimal,
  multiplyDecimal,
  subtractDecimal,
} from '../../src/marketdata/decimal.ts';
import type { Level } from '../../src/marketdata/types.ts';
import { Wakeups } from '../helpers/book-checker.ts';
import { type FakeBinance, type FakeBinancePlugin, startFakeBinance, tick } from './fake-binance.ts';
import { FAKE_MARKETS, type FakeMarketSpec, venueId } from './fake-market.ts';
import { type RestAnswer, sendJson, type VenueAnswer, type VenueRequest } from './venue-server.ts';

/**
 * Binance spot's signed trading API on the fake venue's port, as ccxt's binance class drives it:
 * `POST/DELETE/GET /api/v3/order`, `GET /api/v3/openOrders`, `GET /api/v3/account`,
 * `GET /sapi/v1/capital/config/getall` and `GET /sapi/v1/margin/[isolated/]allPairs` (ccxt's
 * loadMarkets asks for currencies and margin pairs once it has keys),
 * the user data stream over the WebSocket API (`/ws-api/v3`, `userDataStream.subscribe.signature`,
 * which ccxt uses for spot) and the listenKey flavour (`POST/PUT/DELETE /api/v3/userDataStream`,
 * then `/ws/<listenKey>`). Every signed request is checked like the venue does: the API key, an
 * HMAC-SHA256 of the query string and body (`{code:-1022}` when it is wrong), and
 * `timestamp`/`recvWindow` (`{code:-1021}`).
 *
 * Orders match against the fake's own scripted book (the levels it publishes) as takers; the book
 * does not see them, as a paper venue would not. What rests fills when a test says a counterparty
 * traded against it (`fill`). A duplicate `newClientOrderId` of an open order is refused with
 * `{code:-2010, msg:"Duplicate order sent."}`, as Binance does.
 */
export interface FakeAccount {
  apiKey: string;
  secret: string;
  /** Free balances at the start, per asset. */
  balances: Record<string, string>;
}

export type FakeOrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';

export interface FakeOrder {
  symbol: string;
  unified: string;
  orderId: number;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  type: 'LIMIT' | 'MARKET' | 'LIMIT_MAKER';
  timeInForce: 'GTC' | 'IOC' | 'FOK';
  price: string;
  origQty: string;
  executedQty: string;
  cumQuote: string;
  status: FakeOrderStatus;
  time: number;
  updateTime: number;
  /** Quote (buy) or base (sell) the open part holds. */
  locked: string;
}

/** An `executionReport` as it went out on the user data stream. */
export interface ExecutionReport {
  e: 'executionReport';
  s: string;
  c: string;
  C: string;
  x: string;
  X: FakeOrderStatus;
  i: number;
  l: string;
  z: string;
  L: string;
  Z: string;
  [field: string]: unknown;
}

export interface FakeBinanceOrders {
  readonly plugin: FakeBinancePlugin;
  /** Every order the venue accepted, in order. */
  readonly orders: readonly FakeOrder[];
  /** `POST /api/v3/order` requests received (accepted or not). */
  readonly placements: readonly { clientOrderId: string; outcome: string }[];
  /** Every executionReport sent, in order. */
  readonly reports: readonly ExecutionReport[];
  /** Signed requests refused for their signature, timestamp or key. */
  readonly refusedSignatures: number;
  /** The next `POST /api/v3/order` is executed, then its connection is cut before the answer. */
  dropNextOrderResponse(): void;
  /** A counterparty trades `amount` against the resting order at its price (a maker fill). */
  fill(clientOrderId: string, amount: string): void;
  order(clientOrderId: string): FakeOrder | undefined;
  balance(asset: string): { free: string; locked: string };
  /** Resolves once a user data stream is subscribed (WebSocket API or listenKey). */
  untilUserStream(timeoutMs?: number): Promise<void>;
}

const pad = (value: string, decimals = 8): string => {
  const canonical = canonicalDecimal(value);
  const [whole, fraction = ''] = canonical.split('.');
  return `${whole}.${fraction.padEnd(decimals, '0')}`;
};

const error = (status: number, code: number, msg: string): RestAnswer => ({ status, body: { code, msg } });

export function isMultiple(value: string, step: string): boolean {
  const [, fraction = ''] = canonicalDecimal(step).split('.');
  const scaled = multiplyDecimal(value, `1${'0'.repeat(fraction.length)}`);
  const stepScaled = multiplyDecimal(step, `1${'0'.repeat(fraction.length)}`);
  if (scaled.includes('.')) return false;
  return BigInt(scaled) % BigInt(stepScaled) === 0n;
}

export function createFakeBinanceOrders(
  account: FakeAccount,
  book: (symbol: string) => { bids: Level[]; asks: Level[] },
  markets: readonly FakeMarketSpec[] = FAKE_MARKETS,
): FakeBinanceOrders {
  const specs = new Map(markets.map((m) => [venueId(m.symbol, ''), m]));
  const free = new Map(Object.entries(account.balances).map(([a, v]) => [a, canonicalDecimal(v)]));
  const locked = new Map<string, string>();
  const orders: FakeOrder[] = [];
  const placements: { clientOrderId: string; outcome: string }[] = [];
  const reports: ExecutionReport[] = [];
  /** User data streams: the WebSocket API subscription id, or undefined for a listenKey stream. */
  const streams = new Map<WebSocket, number | undefined>();
  const listenKeys = new Set<string>();
  const waiters = new Wakeups();
  let refused = 0;
  let dropNext = false;
  let nextOrderId = 1000;
  let nextTradeId = 1;
  let subscriptionId = 0;

  const get = (m: Map<string, string>, asset: string) => m.get(asset) ?? '0';
  const move = (m: Map<string, string>, asset: string, delta: string) =>
    m.set(asset, addDecimal(get(m, asset), delta));
  const neg = (v: string) => subtractDecimal('0', v);
  const assets = (o: FakeOrder) => {
    const [base, quote] = o.unified.split('/') as [string, string];
    return { base, quote };
  };

  const report = (
    o: FakeOrder,
    x: string,
    last?: { qty: string; price: string; maker: boolean },
    c?: string,
  ) => {
    const event: ExecutionReport = {
      e: 'executionReport',
      E: Date.now(),
      s: o.symbol,
      c: c ?? o.clientOrderId,
      S: o.side,
      o: o.type,
      f: o.timeInForce,
      q: pad(o.origQty),
      p: pad(o.price),
      P: '0.00000000',
      F: '0.00000000',
      g: -1,
      C: c === undefined ? '' : o.clientOrderId,
      x,
      X: o.status,
      r: 'NONE',
      i: o.orderId,
      l: pad(last?.qty ?? '0'),
      z: pad(o.executedQty),
      L: pad(last?.price ?? '0'),
      n: '0',
      N: null,
      T: o.updateTime,
      t: last ? nextTradeId++ : -1,
      I: nextTradeId * 7,
      w: o.status === 'NEW' || o.status === 'PARTIALLY_FILLED',
      m: last?.maker ?? false,
      M: Boolean(last),
      O: o.time,
      Z: pad(o.cumQuote),
      Y: pad(last ? multiplyDecimal(last.qty, last.price) : '0'),
      Q: '0.00000000',
      W: o.time,
      V: 'EXPIRE_MAKER',
    };
    reports.push(event);
    // The WebSocket API wraps each event with its subscription; a listenKey stream sends it bare.
    for (const [socket, id] of streams)
      sendJson(socket, id === undefined ? event : { subscriptionId: id, event });
  };

  const execute = (o: FakeOrder, qty: string, price: string, maker: boolean) => {
    const { base, quote } = assets(o);
    const value = multiplyDecimal(qty, price);
    o.executedQty = addDecimal(o.executedQty, qty);
    o.cumQuote = addDecimal(o.cumQuote, value);
    o.updateTime = Date.now();
    o.status = compareDecimal(o.executedQty, o.origQty) >= 0 ? 'FILLED' : 'PARTIALLY_FILLED';
    if (o.side === 'BUY') {
      const release = o.type === 'MARKET' ? '0' : multiplyDecimal(qty, o.price);
      move(locked, quote, neg(release));
      o.locked = subtractDecimal(o.locked, release);
      if (o.type === 'MARKET') move(free, quote, neg(value));
      move(free, base, qty);
    } else {
      move(locked, base, neg(qty));
      o.locked = subtractDecimal(o.locked, qty);
      move(free, quote, value);
    }
    report(o, 'TRADE', { qty, price, maker });
  };

  const unlock = (o: FakeOrder) => {
    const { base, quote } = assets(o);
    const asset = o.side === 'BUY' ? quote : base;
    move(locked, asset, neg(o.locked));
    move(free, asset, o.locked);
    o.locked = '0';
  };

  /** The levels a taker of `side` meets, best first, within its limit. */
  const crossing = (o: { side: 'BUY' | 'SELL'; unified: string; price: string; type: string }) => {
    const levels = o.side === 'BUY' ? book(o.unified).asks : book(o.unified).bids;
    return levels.filter(
      ([p]) =>
        o.type === 'MARKET' ||
        (o.side === 'BUY' ? compareDecimal(p, o.price) <= 0 : compareDecimal(p, o.price) >= 0),
    );
  };

  /** What a taker would fill now: [price, qty] per level. */
  const takerPlan = (o: FakeOrder): Level[] => {
    const out: Level[] = [];
    let left = o.origQty;
    for (const [price, size] of crossing(o)) {
      if (isZeroDecimal(left)) break;
      const qty = compareDecimal(size, left) <= 0 ? size : left;
      out.push([price, qty]);
      left = subtractDecimal(left, qty);
    }
    return out;
  };

  /** Checks key, signature and timestamp; the merged params, or the venue's refusal. */
  const verify = (request: VenueRequest): URLSearchParams | RestAnswer => {
    const apiKey = request.headers['x-mbx-apikey'];
    if (apiKey !== account.apiKey) {
      refused += 1;
      return error(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    }
    const strip = (part: string) => {
      const match = /(^|&)signature=([0-9a-fA-F]+)/.exec(part);
      return match
        ? { rest: part.replace(match[0], ''), signature: match[2] }
        : { rest: part, signature: undefined };
    };
    const query = strip(request.url.search.replace(/^\?/, ''));
    const body = strip(request.body);
    const signature = query.signature ?? body.signature;
    const expected = createHmac('sha256', account.secret).update(`${query.rest}${body.rest}`).digest('hex');
    if (
      !signature ||
      signature.length !== expected.length ||
      !timingSafeEqual(Buffer.from(signature.toLowerCase()), Buffer.from(expected))
    ) {
      refused += 1;
      return error(400, -1022, 'Signature for this request is not valid.');
    }
    const params = new URLSearchParams(query.rest);
    for (const [k, v] of new URLSearchParams(body.rest)) params.set(k, v);
    const timestamp = Number(params.get('timestamp'));
    const recvWindow = Number(params.get('recvWindow') ?? 5000);
    const now = Date.now();
    if (
      !Number.isFinite(timestamp) ||
      recvWindow > 60_000 ||
      timestamp > now + 1000 ||
      now - timestamp > recvWindow
    ) {
      refused += 1;
      return error(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
    }
    return params;
  };

  const find = (params: URLSearchParams): FakeOrder | undefined => {
    const symbol = params.get('symbol');
    const byClient = params.get('origClientOrderId');
    const byId = params.get('orderId');
    // The newest order with that clientOrderId (an id may be reused once its order is closed).
    return [...orders]
      .reverse()
      .find(
        (o) =>
          o.symbol === symbol &&
          (byClient ? o.clientOrderId === byClient : byId ? String(o.orderId) === byId : false),
      );
  };

  const orderJson = (o: FakeOrder) => ({
    symbol: o.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    price: pad(o.price),
    origQty: pad(o.origQty),
    executedQty: pad(o.executedQty),
    cummulativeQuoteQty: pad(o.cumQuote),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    stopPrice: '0.00000000',
    icebergQty: '0.00000000',
    time: o.time,
    updateTime: o.updateTime,
    isWorking: true,
    workingTime: o.time,
    origQuoteOrderQty: '0.00000000',
    selfTradePreventionMode: 'EXPIRE_MAKER',
  });

  const newOrder = (params: URLSearchParams): RestAnswer => {
    const clientOrderId = params.get('newClientOrderId') ?? `fake-${nextOrderId}`;
    const refuse = (answer: RestAnswer) => {
      placements.push({ clientOrderId, outcome: JSON.stringify(answer.body) });
      return answer;
    };
    const symbol = params.get('symbol') ?? '';
    const spec = specs.get(symbol);
    if (!spec) return refuse(error(400, -1121, 'Invalid symbol.'));
    const side = params.get('side');
    const type = params.get('type');
    const quantity = params.get('quantity');
    if (side !== 'BUY' && side !== 'SELL')
      return refuse(error(400, -1102, "Mandatory parameter 'side' was not sent."));
    if (type !== 'LIMIT' && type !== 'MARKET' && type !== 'LIMIT_MAKER')
      return refuse(error(400, -1116, 'Invalid orderType.'));
    if (!quantity || !/^\d+(\.\d+)?$/.test(quantity))
      return refuse(
        error(400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."),
      );
    const price = params.get('price') ?? '0';
    const timeInForce = params.get('timeInForce') ?? 'GTC';
    if (type !== 'MARKET' && !/^\d+(\.\d+)?$/.test(price))
      return refuse(
        error(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
      );
    if (type === 'LIMIT' && timeInForce !== 'GTC' && timeInForce !== 'IOC' && timeInForce !== 'FOK')
      return refuse(error(400, -1115, 'Invalid timeInForce.'));
    if (!isMultiple(quantity, tick(spec.sizeDecimals)) || compareDecimal(quantity, spec.minQty) < 0)
      return refuse(error(400, -1013, 'Filter failure: LOT_SIZE'));
    if (type !== 'MARKET' && !isMultiple(price, tick(spec.priceDecimals)))
      return refuse(error(400, -1013, 'Filter failure: PRICE_FILTER'));
    if (
      orders.some(
        (o) => o.clientOrderId === clientOrderId && (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED'),
      )
    )
      return refuse(error(400, -2010, 'Duplicate order sent.'));
    const now = Date.now();
    const order: FakeOrder = {
      symbol,
      unified: spec.symbol,
      orderId: nextOrderId++,
      clientOrderId,
      side,
      type,
      timeInForce: type === 'MARKET' ? 'GTC' : (timeInForce as FakeOrder['timeInForce']),
      price: type === 'MARKET' ? '0' : canonicalDecimal(price),
      origQty: canonicalDecimal(quantity),
      executedQty: '0',
      cumQuote: '0',
      status: 'NEW',
      time: now,
      updateTime: now,
      locked: '0',
    };
    const plan = takerPlan(order);
    const { base, quote } = assets(order);
    const planValue = plan.reduce((sum, [p, q]) => addDecimal(sum, multiplyDecimal(p, q)), '0');
    const needAsset = side === 'BUY' ? quote : base;
    const need =
      side === 'SELL'
        ? order.origQty
        : type === 'MARKET'
          ? planValue
          : multiplyDecimal(order.origQty, order.price);
    if (compareDecimal(need, get(free, needAsset)) > 0)
      return refuse(error(400, -2010, 'Account has insufficient balance for requested action.'));
    if (type === 'LIMIT_MAKER' && plan.length > 0)
      return refuse(error(400, -2010, 'Order would immediately match and take.'));
    const notional = type === 'MARKET' ? planValue : multiplyDecimal(order.origQty, order.price);
    if (type !== 'MARKET' && compareDecimal(notional, spec.minNotional) < 0)
      return refuse(error(400, -1013, 'Filter failure: NOTIONAL'));
    orders.push(order);
    placements.push({ clientOrderId, outcome: 'accepted' });
    if (type !== 'MARKET') {
      order.locked = need;
      move(free, needAsset, neg(need));
      move(locked, needAsset, need);
    }
    report(order, 'NEW');
    const planned = plan.reduce((sum, [, q]) => addDecimal(sum, q), '0');
    if (timeInForce === 'FOK' && type === 'LIMIT' && compareDecimal(planned, order.origQty) < 0) {
      order.status = 'EXPIRED';
    } else {
      for (const [p, q] of plan) execute(order, q, p, false);
      if (order.status !== 'FILLED' && (type === 'MARKET' || timeInForce !== 'GTC')) order.status = 'EXPIRED';
    }
    if (order.status === 'EXPIRED') {
      order.updateTime = Date.now();
      unlock(order);
      report(order, 'EXPIRED');
    }
    const respType = params.get('newOrderRespType') ?? (type === 'MARKET' ? 'FULL' : 'ACK');
    const ack = { symbol, orderId: order.orderId, orderListId: -1, clientOrderId, transactTime: order.time };
    if (respType === 'ACK') return { status: 200, body: ack };
    const result = {
      ...ack,
      price: pad(order.price),
      origQty: pad(order.origQty),
      executedQty: pad(order.executedQty),
      origQuoteOrderQty: '0.00000000',
      cummulativeQuoteQty: pad(order.cumQuote),
      status: order.status,
      timeInForce: order.timeInForce,
      type,
      side,
      workingTime: order.time,
      selfTradePreventionMode: 'EXPIRE_MAKER',
    };
    if (respType === 'RESULT') return { status: 200, body: result };
    return {
      status: 200,
      body: {
        ...result,
        fills: plan.map(([p, q], k) => ({
          price: pad(p),
          qty: pad(q),
          commission: '0.00000000',
          commissionAsset: quote,
          tradeId: k + 1,
        })),
      },
    };
  };

  const cancelOrder = (params: URLSearchParams): RestAnswer => {
    const order = find(params);
    if (!order || (order.status !== 'NEW' && order.status !== 'PARTIALLY_FILLED'))
      return error(400, -2011, 'Unknown order sent.');
    order.status = 'CANCELED';
    order.updateTime = Date.now();
    unlock(order);
    const cancelId = params.get('newClientOrderId') ?? `cancel-${order.orderId}`;
    report(order, 'CANCELED', undefined, cancelId);
    return {
      status: 200,
      body: {
        ...orderJson(order),
        origClientOrderId: order.clientOrderId,
        clientOrderId: cancelId,
        transactTime: order.updateTime,
      },
    };
  };

  const handle = (request: VenueRequest): VenueAnswer | undefined => {
    const { method } = request;
    const path = request.url.pathname;
    if (path === '/api/v3/userDataStream') {
      if (request.headers['x-mbx-apikey'] !== account.apiKey) {
        refused += 1;
        return error(401, -2015, 'Invalid API-key, IP, or permissions for action.');
      }
      if (method === 'POST') {
        const listenKey = `lk${listenKeys.size + 1}${'x'.repeat(58)}`;
        listenKeys.add(listenKey);
        return { status: 200, body: { listenKey } };
      }
      if (method === 'PUT' || method === 'DELETE') {
        const key =
          new URLSearchParams(request.body).get('listenKey') ?? request.url.searchParams.get('listenKey');
        if (!key || !listenKeys.has(key)) return error(400, -1125, 'This listenKey does not exist.');
        if (method === 'DELETE') listenKeys.delete(key);
        return { status: 200, body: {} };
      }
      return undefined;
    }
    const signed: Record<string, string> = {
      'POST /api/v3/order': 'order',
      'DELETE /api/v3/order': 'cancel',
      'GET /api/v3/order': 'query',
      'GET /api/v3/openOrders': 'open',
      'GET /api/v3/account': 'account',
      'GET /sapi/v1/capital/config/getall': 'coins',
      'GET /sapi/v1/margin/allPairs': 'margins',
      'GET /sapi/v1/margin/isolated/allPairs': 'margins',
    };
    const endpoint = signed[`${method} ${path}`];
    if (!endpoint) return undefined;
    const params = verify(request);
    if (!(params instanceof URLSearchParams)) {
      if (endpoint === 'order') placements.push({ clientOrderId: '?', outcome: JSON.stringify(params.body) });
      return params;
    }
    switch (endpoint) {
      case 'order': {
        const answer = newOrder(params);
        if (dropNext && answer.status === 200) {
          dropNext = false;
          return { drop: true };
        }
        return answer;
      }
      case 'cancel':
        return cancelOrder(params);
      case 'query': {
        const order = find(params);
        return order ? { status: 200, body: orderJson(order) } : error(400, -2013, 'Order does not exist.');
      }
      case 'open': {
        const symbol = params.get('symbol');
        const open = orders.filter(
          (o) => (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED') && (!symbol || o.symbol === symbol),
        );
        return { status: 200, body: open.map(orderJson) };
      }
      case 'margins':
        // Spot only: no margin pairs.
        return { status: 200, body: [] };
      case 'account': {
        const names = new Set([...free.keys(), ...locked.keys()]);
        return {
          status: 200,
          body: {
            makerCommission: 0,
            takerCommission: 0,
            canTrade: true,
            canWithdraw: false,
            canDeposit: false,
            updateTime: Date.now(),
            accountType: 'SPOT',
            balances: [...names].map((asset) => ({
              asset,
              free: pad(get(free, asset)),
              locked: pad(get(locked, asset)),
            })),
            permissions: ['SPOT'],
          },
        };
      }
      default: {
        const coins = new Set(markets.flatMap((m) => m.symbol.split('/')));
        return {
          status: 200,
          body: [...coins].map((coin) => ({
            coin,
            name: coin,
            depositAllEnable: false,
            withdrawAllEnable: false,
            free: pad(get(free, coin)),
            locked: pad(get(locked, coin)),
            trading: true,
            networkList: [],
          })),
        };
      }
    }
  };

  const connection = (socket: WebSocket, path: string): boolean => {
    const listenKey = /^\/ws\/(.+)$/.exec(path)?.[1];
    if (listenKey && listenKeys.has(listenKey)) {
      streams.set(socket, undefined);
      socket.on('close', () => streams.delete(socket));
      waiters.notify();
      return true;
    }
    if (path !== '/ws-api/v3') return false;
    socket.on('close', () => streams.delete(socket));
    socket.on('message', (raw) => {
      const request = JSON.parse(raw.toString()) as {
        id?: string | number;
        method?: string;
        params?: Record<string, string | number>;
      };
      const answer = (status: number, body: Record<string, unknown>) =>
        sendJson(socket, { id: request.id, status, ...body });
      if (request.method === 'userDataStream.subscribe.signature') {
        const { signature, ...rest } = request.params ?? {};
        const payload = Object.keys(rest)
          .sort()
          .map((k) => `${k}=${rest[k]}`)
          .join('&');
        const expected = createHmac('sha256', account.secret).update(payload).digest('hex');
        const now = Date.now();
        const timestamp = Number(rest.timestamp);
        if (rest.apiKey !== account.apiKey || signature !== expected) {
          refused += 1;
          answer(400, { error: { code: -1022, msg: 'Signature for this request is not valid.' } });
        } else if (!(timestamp <= now + 1000 && now - timestamp <= Number(rest.recvWindow ?? 5000))) {
          refused += 1;
          answer(400, {
            error: { code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' },
          });
        } else {
          const id = subscriptionId++;
          streams.set(socket, id);
          answer(200, { result: { subscriptionId: id } });
          waiters.notify();
        }
      } else if (request.method === 'ping') {
        answer(200, { result: {} });
      } else {
        answer(400, { error: { code: -1, msg: `unknown method ${request.method}` } });
      }
    });
    return true;
  };

  return {
    plugin: { request: handle, connection },
    orders,
    placements,
    reports,
    get refusedSignatures() {
      return refused;
    },
    dropNextOrderResponse() {
      dropNext = true;
    },
    fill(clientOrderId, amount) {
      const order = [...orders].reverse().find((o) => o.clientOrderId === clientOrderId);
      if (!order || (order.status !== 'NEW' && order.status !== 'PARTIALLY_FILLED'))
        throw new Error(`no open fake order ${clientOrderId}`);
      const left = subtractDecimal(order.origQty, order.executedQty);
      execute(order, compareDecimal(amount, left) < 0 ? canonicalDecimal(amount) : left, order.price, true);
    },
    order: (clientOrderId) => [...orders].reverse().find((o) => o.clientOrderId === clientOrderId),
    balance: (asset) => ({ free: get(free, asset), locked: get(locked, asset) }),
    untilUserStream(timeoutMs = 60_000) {
      return waiters.until(() => streams.size > 0, timeoutMs, 'a user data stream on the fake binance');
    },
  };
}

/** The fake Binance of the market-data tests, with its trading API and user data stream. */
export async function startFakeBinanceWithOrders(
  account: FakeAccount,
  options: { seed?: number; markets?: readonly FakeMarketSpec[] } = {},
): Promise<{ venue: FakeBinance; trading: FakeBinanceOrders }> {
  let venue: FakeBinance | undefined;
  const trading = createFakeBinanceOrders(
    account,
    (symbol) => {
      if (!venue) throw new Error('fake binance not started');
      return venue.book(symbol);
    },
    options.markets,
  );
  venue = await startFakeBinance({ ...options, plugins: [trading.plugin] });
  return { venue, trading };
}
