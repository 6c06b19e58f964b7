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
import { tick } from './fake-binance.ts';
import { isMultiple } from './fake-binance-orders.ts';
import { FAKE_MARKETS, type FakeMarketSpec, venueId } from './fake-market.ts';
import { type FakeOkx, startFakeOkx } from './fake-okx.ts';
import {
  currencies,
  type FakeOkxOrder,
  failure,
  itemFailure,
  orderJson,
  sameSignature,
  sign,
  type TradeItem,
  tradeAnswer,
} from './okx-trade-shapes.ts';
import {
  type RestAnswer,
  sendJson,
  type VenueAnswer,
  type VenuePlugin,
  type VenueRequest,
} from './venue-server.ts';

/**
 * OKX v5's signed spot trading API on the fake venue's port, as ccxt's okx class drives it:
 * `POST /api/v5/trade/batch-orders` (ccxt's createOrder) and `/trade/order`, `POST /api/v5/trade/cancel-order`, `GET /api/v5/trade/order`,
 * `GET /api/v5/asset/currencies` (ccxt's loadMarkets asks for it once it has keys) and the private
 * WebSocket `/ws/v5/private` (`op: login`, then the `orders` channel). Every signed request is
 * checked as OKX does: `OK-ACCESS-KEY` (50111), `OK-ACCESS-PASSPHRASE` (50105), the base64
 * HMAC-SHA256 of timestamp + method + path + body in `OK-ACCESS-SIGN` (50113), and a timestamp
 * within 30 s (50102). A placement or cancel is answered with the ids alone (`sCode`/`sMsg`), as
 * OKX does; the order's state is in `GET /trade/order` and on the `orders` channel.
 *
 * `clOrdId` must be 1-32 alphanumerics (51000) and unique among open orders (51016). Takers
 * match against the fake's published book, as the Binance fake does; what rests fills when a test
 * says a counterparty traded against it (`fill`). Market buys are modelled with `tgtCcy=base_ccy`
 * (what ccxt sends for spot) only.
 */
export type { FakeOkxOrder, OkxState } from './okx-trade-shapes.ts';

export interface FakeOkxAccount {
  apiKey: string;
  secret: string;
  passphrase: string;
  balances: Record<string, string>;
}

export interface FakeOkxOrders {
  readonly plugin: VenuePlugin;
  readonly orders: readonly FakeOkxOrder[];
  /** `POST /api/v5/trade/order` requests received: the `clOrdId` sent and the outcome. */
  readonly placements: readonly { clOrdId: string | undefined; outcome: string }[];
  /** Every `orders` channel push, in order. */
  readonly pushes: readonly Record<string, unknown>[];
  /** Signed requests and logins refused for their key, passphrase, signature or timestamp. */
  readonly refused: readonly string[];
  /** The next placement is executed, then its connection is cut before the answer. */
  dropNextOrderResponse(): void;
  fill(clOrdId: string, amount: string): void;
  order(clOrdId: string): FakeOkxOrder | undefined;
  balance(asset: string): { free: string; locked: string };
  /** Resolves once a logged-in socket subscribed the `orders` channel. */
  untilOrderStream(timeoutMs?: number): Promise<void>;
}

const CLORDID = /^[A-Za-z0-9]{1,32}$/;
const MAX_SKEW_MS = 30_000;

export function createFakeOkxOrders(
  account: FakeOkxAccount,
  book: (symbol: string) => { bids: Level[]; asks: Level[] },
  markets: readonly FakeMarketSpec[] = FAKE_MARKETS,
): FakeOkxOrders {
  const specs = new Map(markets.map((m) => [venueId(m.symbol, '-'), m]));
  const free = new Map(Object.entries(account.balances).map(([a, v]) => [a, canonicalDecimal(v)]));
  const locked = new Map<string, string>();
  const orders: FakeOkxOrder[] = [];
  const placements: { clOrdId: string | undefined; outcome: string }[] = [];
  const pushes: Record<string, unknown>[] = [];
  const refused: string[] = [];
  /** Logged-in private sockets, and whether each subscribed the orders channel. */
  const sockets = new Map<WebSocket, boolean>();
  const waiters = new Wakeups();
  let nextOrdId = 600_000_000_000_000_000n;
  let nextTradeId = 1;
  let dropNext = false;

  const get = (m: Map<string, string>, asset: string) => m.get(asset) ?? '0';
  const move = (m: Map<string, string>, asset: string, delta: string) =>
    m.set(asset, addDecimal(get(m, asset), delta));
  const neg = (v: string) => subtractDecimal('0', v);
  const assets = (o: FakeOkxOrder) => {
    const [base, quote] = o.unified.split('/') as [string, string];
    return { base, quote };
  };

  /** An `orders` channel push, as OKX sends one per change of an order. */
  const push = (o: FakeOkxOrder, fill: boolean) => {
    const data = {
      ...orderJson(o),
      amendResult: '',
      code: '0',
      execType: fill && o.last ? (o.last.maker ? 'M' : 'T') : '',
      fillFee: '0',
      fillFeeCcy: '',
      fillNotionalUsd: '',
      fillPx: fill && o.last ? o.last.px : '',
      fillSz: fill && o.last ? o.last.sz : '0',
      msg: '',
      notionalUsd: '',
      reqId: '',
    };
    pushes.push(data);
    for (const [socket, subscribed] of sockets)
      if (subscribed)
        sendJson(socket, { arg: { channel: 'orders', instType: 'ANY', uid: '1' }, data: [data] });
  };

  const execute = (o: FakeOkxOrder, qty: string, price: string, maker: boolean) => {
    const { base, quote } = assets(o);
    const value = multiplyDecimal(qty, price);
    o.accFillSz = addDecimal(o.accFillSz, qty);
    o.cumQuote = addDecimal(o.cumQuote, value);
    o.uTime = Date.now();
    o.last = { sz: qty, px: price, tradeId: String(nextTradeId++), maker, time: o.uTime };
    o.state = compareDecimal(o.accFillSz, o.sz) >= 0 ? 'filled' : 'partially_filled';
    if (o.side === 'buy') {
      const release = o.ordType === 'market' ? '0' : multiplyDecimal(qty, o.px);
      move(locked, quote, neg(release));
      o.locked = subtractDecimal(o.locked, release);
      if (o.ordType === 'market') move(free, quote, neg(value));
      move(free, base, qty);
    } else {
      move(locked, base, neg(qty));
      o.locked = subtractDecimal(o.locked, qty);
      move(free, quote, value);
    }
    push(o, true);
  };

  const close = (o: FakeOkxOrder) => {
    const { base, quote } = assets(o);
    const asset = o.side === 'buy' ? quote : base;
    move(locked, asset, neg(o.locked));
    move(free, asset, o.locked);
    o.locked = '0';
    o.state = 'canceled';
    o.uTime = Date.now();
    push(o, false);
  };

  /** What a taker would fill now, [price, qty] per level within its limit. */
  const takerPlan = (o: FakeOkxOrder): Level[] => {
    const levels = o.side === 'buy' ? book(o.unified).asks : book(o.unified).bids;
    const out: Level[] = [];
    let left = o.sz;
    for (const [price, size] of levels) {
      const within =
        o.ordType === 'market' ||
        (o.side === 'buy' ? compareDecimal(price, o.px) <= 0 : compareDecimal(price, o.px) >= 0);
      if (!within || isZeroDecimal(left)) break;
      const qty = compareDecimal(size, left) <= 0 ? size : left;
      out.push([price, qty]);
      left = subtractDecimal(left, qty);
    }
    return out;
  };

  /** Checks key, passphrase, signature and timestamp of a signed REST request. */
  const verify = (request: VenueRequest): RestAnswer | undefined => {
    const header = (name: string) => {
      const v = request.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const refuse = (answer: RestAnswer) => {
      refused.push((answer.body as { msg: string }).msg);
      return answer;
    };
    if (header('ok-access-key') !== account.apiKey)
      return refuse(failure(401, '50111', 'Invalid OK-ACCESS-KEY'));
    if (header('ok-access-passphrase') !== account.passphrase)
      return refuse(failure(401, '50105', 'Invalid OK-ACCESS-PASSPHRASE'));
    const timestamp = header('ok-access-timestamp') ?? '';
    const path = `${request.url.pathname}${request.url.search}`;
    const expected = sign(account.secret, `${timestamp}${request.method}${path}${request.body}`);
    if (!sameSignature(header('ok-access-sign'), expected))
      return refuse(failure(401, '50113', 'Invalid Sign'));
    const at = Date.parse(timestamp);
    if (!Number.isFinite(at) || Math.abs(Date.now() - at) > MAX_SKEW_MS)
      return refuse(failure(401, '50102', 'Timestamp request expired'));
    return undefined;
  };

  const find = (instId: string | null | undefined, clOrdId?: string | null, ordId?: string | null) =>
    [...orders]
      .reverse()
      .find((o) => o.instId === instId && (clOrdId ? o.clOrdId === clOrdId : o.ordId === ordId));

  const isOpen = (o: FakeOkxOrder) => o.state === 'live' || o.state === 'partially_filled';

  const placeOrder = (body: Record<string, string | undefined>): TradeItem => {
    const clOrdId = body.clOrdId ?? '';
    const refuse = (sCode: string, sMsg: string) => {
      placements.push({ clOrdId: body.clOrdId, outcome: `${sCode} ${sMsg}` });
      return itemFailure(clOrdId, sCode, sMsg);
    };
    const spec = specs.get(body.instId ?? '');
    if (!spec) return refuse('51001', "Instrument ID doesn't exist.");
    if (body.clOrdId !== undefined && !CLORDID.test(body.clOrdId))
      return refuse('51000', 'Parameter clOrdId error');
    if (body.tdMode !== 'cash') return refuse('51000', 'Parameter tdMode error');
    const side = body.side;
    const ordType = body.ordType;
    if (side !== 'buy' && side !== 'sell') return refuse('51000', 'Parameter side error');
    if (!['limit', 'market', 'post_only', 'ioc', 'fok'].includes(ordType ?? ''))
      return refuse('51000', 'Parameter ordType error');
    if (ordType === 'market' && side === 'buy' && body.tgtCcy !== 'base_ccy')
      return refuse('51000', 'Parameter tgtCcy error (the fake models base_ccy market buys only)');
    const sz = body.sz ?? '';
    const px = body.px ?? '';
    if (!/^\d+(\.\d+)?$/.test(sz)) return refuse('51000', 'Parameter sz error');
    if (ordType !== 'market' && !/^\d+(\.\d+)?$/.test(px)) return refuse('51000', 'Parameter px error');
    if (!isMultiple(sz, tick(spec.sizeDecimals)))
      return refuse('51121', 'Order quantity must be a multiple of the lot size.');
    if (compareDecimal(sz, spec.minQty) < 0)
      return refuse('51020', 'Your order should meet or exceed the minimum order amount.');
    if (ordType !== 'market' && !isMultiple(px, tick(spec.priceDecimals)))
      return refuse('51006', 'Order price is not within the price limit.');
    if (orders.some((o) => o.clOrdId === clOrdId && clOrdId !== '' && isOpen(o)))
      return refuse('51016', 'Duplicated clOrdId');
    const now = Date.now();
    const order: FakeOkxOrder = {
      instId: body.instId!,
      unified: spec.symbol,
      ordId: String(nextOrdId++),
      clOrdId,
      side,
      ordType: ordType as FakeOkxOrder['ordType'],
      px: ordType === 'market' ? '0' : canonicalDecimal(px),
      sz: canonicalDecimal(sz),
      accFillSz: '0',
      cumQuote: '0',
      state: 'live',
      cTime: now,
      uTime: now,
      locked: '0',
      last: null,
    };
    const plan = takerPlan(order);
    const { base, quote } = assets(order);
    const planValue = plan.reduce((sum, [p, q]) => addDecimal(sum, multiplyDecimal(p, q)), '0');
    const asset = side === 'buy' ? quote : base;
    const need =
      side === 'sell' ? order.sz : ordType === 'market' ? planValue : multiplyDecimal(order.sz, order.px);
    if (compareDecimal(need, get(free, asset)) > 0)
      return refuse('51008', `Order failed. Insufficient ${asset} balance in account.`);
    orders.push(order);
    placements.push({ clOrdId: body.clOrdId, outcome: 'accepted' });
    order.locked = ordType === 'market' ? '0' : need;
    move(free, asset, neg(order.locked));
    move(locked, asset, order.locked);
    push(order, false);
    const planned = plan.reduce((sum, [, q]) => addDecimal(sum, q), '0');
    // A post-only order that would take, and a FOK that cannot fill whole, are canceled at once.
    const refusedToTake =
      (ordType === 'post_only' && plan.length > 0) ||
      (ordType === 'fok' && compareDecimal(planned, order.sz) < 0);
    if (!refusedToTake && ordType !== 'post_only') for (const [p, q] of plan) execute(order, q, p, false);
    if (refusedToTake || (isOpen(order) && (ordType === 'market' || ordType === 'ioc' || ordType === 'fok')))
      close(order);
    return { clOrdId, ordId: order.ordId, sCode: '0', sMsg: 'Order placed', tag: '', ts: String(now) };
  };

  const cancelOrder = (body: Record<string, string | undefined>): TradeItem => {
    const order = find(body.instId, body.clOrdId, body.ordId);
    if (!order || !isOpen(order))
      return itemFailure(
        body.clOrdId ?? '',
        '51400',
        'Order cancellation failed as the order has been filled, canceled or does not exist.',
      );
    close(order);
    return { clOrdId: order.clOrdId, ordId: order.ordId, sCode: '0', sMsg: '', ts: String(Date.now()) };
  };

  /** A placement done, its answer lost on the way (`dropNextOrderResponse`). */
  const dropAfter = (answer: RestAnswer): VenueAnswer => {
    if (!dropNext || (answer.body as { code: string }).code !== '0') return answer;
    dropNext = false;
    return { drop: true };
  };

  const handle = (request: VenueRequest) => {
    const endpoint = `${request.method} ${request.url.pathname}`;
    const known = [
      'POST /api/v5/trade/order',
      'POST /api/v5/trade/batch-orders',
      'POST /api/v5/trade/cancel-order',
      'GET /api/v5/trade/order',
      'GET /api/v5/asset/currencies',
    ];
    if (!known.includes(endpoint)) return undefined;
    const refusal = verify(request);
    if (refusal) {
      if (endpoint.includes('order')) placements.push({ clOrdId: undefined, outcome: 'refused' });
      return refusal;
    }
    const body = request.body ? JSON.parse(request.body) : {};
    const query = request.url.searchParams;
    switch (endpoint) {
      case 'POST /api/v5/trade/order':
        return dropAfter(tradeAnswer([placeOrder(body)]));
      case 'POST /api/v5/trade/batch-orders':
        // ccxt's createOrder places through the batch endpoint, one order in the list.
        if (!Array.isArray(body) || body.length === 0 || body.length > 20)
          return failure(200, '50014', 'Parameter batch orders can not be empty.');
        return dropAfter(tradeAnswer(body.map(placeOrder)));
      case 'POST /api/v5/trade/cancel-order':
        return tradeAnswer([cancelOrder(body)]);
      case 'GET /api/v5/trade/order': {
        const order = find(query.get('instId'), query.get('clOrdId'), query.get('ordId'));
        return order
          ? { status: 200, body: { code: '0', msg: '', data: [orderJson(order)] } }
          : failure(200, '51603', 'Order does not exist');
      }
      default:
        return { status: 200, body: { code: '0', msg: '', data: currencies(markets) } };
    }
  };

  const connection = (socket: WebSocket, path: string): boolean => {
    if (path !== '/ws/v5/private') return false;
    socket.on('close', () => sockets.delete(socket));
    socket.on('message', (raw) => {
      const text = raw.toString();
      if (text === 'ping') {
        if (socket.readyState === socket.OPEN) socket.send('pong');
        return;
      }
      const request = JSON.parse(text) as { op?: string; args?: Record<string, string>[] };
      if (request.op === 'login') {
        const arg = request.args?.[0] ?? {};
        const expected = sign(account.secret, `${arg.timestamp}GET/users/self/verify`);
        const fresh = Math.abs(Date.now() - Number(arg.timestamp) * 1000) <= MAX_SKEW_MS;
        if (
          arg.apiKey !== account.apiKey ||
          arg.passphrase !== account.passphrase ||
          !sameSignature(arg.sign, expected) ||
          !fresh
        ) {
          refused.push('Login failed.');
          sendJson(socket, { event: 'error', code: '60009', msg: 'Login failed.', connId: 'fake' });
          return;
        }
        sockets.set(socket, false);
        sendJson(socket, { event: 'login', code: '0', msg: '', connId: 'fake' });
        return;
      }
      for (const arg of request.args ?? []) {
        if (!sockets.has(socket)) {
          sendJson(socket, { event: 'error', code: '60011', msg: 'Please log in', connId: 'fake' });
        } else if (request.op === 'subscribe' && arg.channel === 'orders') {
          sockets.set(socket, true);
          sendJson(socket, { event: 'subscribe', arg, connId: 'fake' });
        } else {
          sendJson(socket, {
            event: 'error',
            code: '60018',
            msg: `Wrong URL or channel:${arg.channel} doesn't exist.`,
            connId: 'fake',
          });
        }
      }
      waiters.notify();
    });
    return true;
  };

  return {
    plugin: { request: handle, connection },
    orders,
    placements,
    pushes,
    refused,
    dropNextOrderResponse() {
      dropNext = true;
    },
    fill(clOrdId, amount) {
      const order = [...orders].reverse().find((o) => o.clOrdId === clOrdId);
      if (!order || !isOpen(order)) throw new Error(`no open fake OKX order ${clOrdId}`);
      const left = subtractDecimal(order.sz, order.accFillSz);
      execute(order, compareDecimal(amount, left) < 0 ? canonicalDecimal(amount) : left, order.px, true);
    },
    order: (clOrdId) => [...orders].reverse().find((o) => o.clOrdId === clOrdId),
    balance: (asset) => ({ free: get(free, asset), locked: get(locked, asset) }),
    untilOrderStream(timeoutMs = 60_000) {
      return waiters.until(
        () => [...sockets.values()].some(Boolean),
        timeoutMs,
        'an orders stream on the fake OKX',
      );
    },
  };
}

/** The fake OKX of the market-data tests, with its trading API and private order stream. */
export async function startFakeOkxWithOrders(
  account: FakeOkxAccount,
  options: { seed?: number; markets?: readonly FakeMarketSpec[] } = {},
): Promise<{ venue: FakeOkx; trading: FakeOkxOrders }> {
  let venue: FakeOkx | undefined;
  const trading = createFakeOkxOrders(
    account,
    (symbol) => {
      if (!venue) throw new Error('fake OKX not started');
      return venue.book(symbol);
    },
    options.markets,
  );
  venue = await startFakeOkx({ ...options, plugins: [trading.plugin] });
  return { venue, trading };
}
