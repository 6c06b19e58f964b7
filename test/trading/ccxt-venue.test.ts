import { AuthenticationError, type Exchange } from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeClass, rebaseUrls } from '../../src/marketdata/ccxt-feed.ts';
import { compareDecimal, multiplyDecimal, subtractDecimal } from '../../src/marketdata/decimal.ts';
import type { FakeBinance } from '../fakes/fake-binance.ts';
import { type FakeBinanceOrders, startFakeBinanceWithOrders } from '../fakes/fake-binance-orders.ts';
import type { CcxtStack } from '../helpers/ccxt-stack.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { CANCEL_ORDER, type PlaceResult, wsRequest } from './support.ts';
import { startVenueTrading, type VenueSession } from './venue-session.ts';

const ACCOUNT = { apiKey: 'fake-key-1', secret: 'fake-secret-1', balances: { USDT: '100000', BTC: '0.5' } };
const BTC = 'BTC/USDT';

/**
 * The real path: GraphQL placeOrder over graphql-ws -> trading service -> CcxtVenue -> unmodified
 * ccxt -> the fake Binance's signed order endpoints; its executionReports come back through ccxt's
 * watchOrders and move the orders to orderUpdates.
 */
describe('ccxt execution venue against the fake Binance', () => {
  let redis: TestRedis;
  let binance: FakeBinance;
  let exchange: FakeBinanceOrders;
  let stack: CcxtStack;
  let session: VenueSession;

  const place = (input: Record<string, unknown>) => session.place(input);
  const until = (predicate: () => boolean, what: string) => session.until(predicate, what);
  const updatesOf = (orderId: string) => session.updatesOf(orderId);
  const venueOrders = (clientOrderId: string) =>
    exchange.orders.filter((o) => o.clientOrderId === clientOrderId);

  beforeAll(async () => {
    redis = await startTestRedis();
    ({ venue: binance, trading: exchange } = await startFakeBinanceWithOrders(ACCOUNT));
    ({ stack, session } = await startVenueTrading({
      redis,
      fake: binance,
      credentials: { apiKey: ACCOUNT.apiKey, secret: ACCOUNT.secret },
      symbol: BTC,
      untilOrderStream: () => exchange.untilUserStream(),
    }));
  });

  afterAll(async () => {
    await session?.ws.dispose();
    await stack?.stop();
    await binance?.close();
    await redis?.stop();
  });

  it('places a limit order, which the venue fills partly, then cancels it', async () => {
    const order = await place({
      side: 'BUY',
      type: 'LIMIT',
      price: '64000',
      amount: '0.01',
      clientOrderId: 'lim-1',
    });
    expect(order).toMatchObject({ __typename: 'Order', status: 'NEW', filled: '0', remaining: '0.01' });
    const [resting] = exchange.orders.filter((o) => o.price === '64000');
    expect(resting).toMatchObject({ side: 'BUY', type: 'LIMIT', origQty: '0.01', status: 'NEW' });
    expect(resting!.clientOrderId).toMatch(/^bg[A-Za-z0-9_-]{30}$/);
    expect(exchange.balance('USDT')).toEqual({ free: '99360', locked: '640' });

    // A counterparty takes 0.004 of it at its price: an executionReport on the user stream.
    exchange.fill(resting!.clientOrderId, '0.004');
    await until(() => updatesOf(order.id).some((u) => u.type === 'FILL'), 'the partial fill');
    const fill = updatesOf(order.id).find((u) => u.type === 'FILL')!;
    expect(fill).toMatchObject({
      order: { status: 'PARTIALLY_FILLED', filled: '0.004', remaining: '0.006' },
      fill: { price: '64000', amount: '0.004', liquidity: 'MAKER', fee: multiplyDecimal('256', '0.0002') },
    });

    const canceled = await wsRequest<{ cancelOrder: PlaceResult }>(session.ws, CANCEL_ORDER, {
      clientOrderId: 'lim-1',
    });
    expect(canceled.data!.cancelOrder).toMatchObject({
      __typename: 'Order',
      status: 'CANCELED',
      filled: '0.004',
      remaining: '0.006',
    });
    expect(resting!.status).toBe('CANCELED');
    expect(exchange.balance('USDT')).toEqual({ free: '99744', locked: '0' });
    await until(() => updatesOf(order.id).some((u) => u.type === 'CANCELED'), 'the cancel update');
    expect(updatesOf(order.id).map((u) => [u.type, u.order.status])).toEqual([
      ['NEW', 'NEW'],
      ['FILL', 'PARTIALLY_FILLED'],
      ['CANCELED', 'CANCELED'],
    ]);
  });

  it('fills a market order at the venue, level by level', async () => {
    const asks = binance.book(BTC).asks;
    const order = await place({ side: 'BUY', type: 'MARKET', amount: '0.9', clientOrderId: 'mkt-1' });
    // What the fake's book gives 0.9 BTC, walking its asks from the best.
    const expected: { price: string; amount: string }[] = [];
    let left = '0.9';
    for (const [price, size] of asks) {
      if (compareDecimal(left, '0') <= 0) break;
      const amount = compareDecimal(size, left) <= 0 ? size : left;
      expected.push({ price, amount });
      left = subtractDecimal(left, amount);
    }
    expect(expected.length).toBeGreaterThan(1);
    expect(order).toMatchObject({ __typename: 'Order', status: 'FILLED', filled: '0.9', remaining: '0' });
    expect(order.fills!.map((f) => ({ price: f.price, amount: f.amount }))).toEqual(expected);
    for (const f of order.fills!) {
      expect(f.liquidity).toBe('TAKER');
      expect(f.fee).toBe(multiplyDecimal(multiplyDecimal(f.price, f.amount), '0.0005'));
    }
    const [atVenue] = venueOrders(exchange.orders.at(-1)!.clientOrderId);
    expect(atVenue).toMatchObject({ type: 'MARKET', status: 'FILLED', executedQty: '0.9' });
    await until(() => updatesOf(order.id).at(-1)?.order.status === 'FILLED', 'the filled update');
    expect(updatesOf(order.id).map((u) => u.type)).toEqual(['NEW', ...expected.map(() => 'FILL')]);
  });

  it('records a venue refusal as REJECTED, with a typed result', async () => {
    // 2 BTC at 64000 is 128000 USDT: the session has it, the venue account does not.
    const before = exchange.placements.length;
    const result = await place({
      side: 'BUY',
      type: 'LIMIT',
      price: '64000',
      amount: '2',
      clientOrderId: 'big-1',
    });
    expect(result).toMatchObject({
      __typename: 'OrderRejected',
      code: 'ORDER_REJECTED',
      reason: 'VENUE_REJECTED',
      order: { status: 'REJECTED', rejectReason: 'VENUE_REJECTED' },
    });
    expect(result.message).toContain('Account has insufficient balance for requested action.');
    expect(exchange.placements.slice(before).map((p) => p.outcome)).toEqual([
      JSON.stringify({ code: -2010, msg: 'Account has insufficient balance for requested action.' }),
    ]);
    const id = (result.order as { id: string }).id;
    await until(() => updatesOf(id).length === 2, 'the rejection update');
    expect(updatesOf(id).map((u) => [u.type, u.order.status])).toEqual([
      ['NEW', 'NEW'],
      ['REJECTED', 'REJECTED'],
    ]);
    // Nothing stays reserved, and a retry gets the same answer without asking the venue again.
    const again = await place({
      side: 'BUY',
      type: 'LIMIT',
      price: '64000',
      amount: '2',
      clientOrderId: 'big-1',
    });
    expect(again).toMatchObject({ __typename: 'OrderRejected', reason: 'VENUE_REJECTED', order: { id } });
    expect(exchange.placements.length).toBe(before + 1);
  });

  it('a retry after a lost acknowledgement finds the venue order and never places a second', async () => {
    const input = { side: 'BUY', type: 'LIMIT', price: '63000', amount: '0.002', clientOrderId: 'lost-1' };
    const before = exchange.placements.length;
    exchange.dropNextOrderResponse();
    const first = await place(input);
    // Recorded before the venue was asked; the venue took it but its answer never arrived.
    expect(first).toMatchObject({ __typename: 'Order', status: 'NEW', clientOrderId: 'lost-1' });
    const sent = exchange.placements.slice(before);
    expect(sent.map((p) => p.outcome)).toEqual(['accepted']);

    const retry = await place(input);
    expect(retry).toMatchObject({ __typename: 'Order', id: first.id, status: 'NEW' });
    expect(exchange.placements.length).toBe(before + 1);
    expect(venueOrders(sent[0]!.clientOrderId)).toHaveLength(1);

    const canceled = await wsRequest<{ cancelOrder: PlaceResult }>(session.ws, CANCEL_ORDER, {
      id: first.id,
    });
    expect(canceled.data!.cancelOrder).toMatchObject({ __typename: 'Order', status: 'CANCELED' });
    expect(venueOrders(sent[0]!.clientOrderId).map((o) => o.status)).toEqual(['CANCELED']);
    await until(() => updatesOf(first.id).some((u) => u.type === 'CANCELED'), 'the cancel update');
    expect(updatesOf(first.id).map((u) => u.type)).toEqual(['NEW', 'CANCELED']);
    expect(exchange.placements.length).toBe(before + 1);
  });

  it('delivers every update of the session in seq order, without gaps or repeats', async () => {
    const { updates, sessionId } = session;
    expect(updates.length).toBeGreaterThan(8);
    expect(updates.map((u) => u.seq)).toEqual(updates.map((_, i) => i + 1));
    expect(new Set(updates.map((u) => u.sessionId))).toEqual(new Set([sessionId]));
  });

  it('refuses a request signed with the wrong secret as Binance does (-1022)', async () => {
    const Binance = exchangeClass('binance');
    const wrong: Exchange = new Binance({
      apiKey: ACCOUNT.apiKey,
      secret: 'not-the-secret',
      urls: { api: rebaseUrls(new Binance().urls.api, binance.restUrl, binance.wsUrl) },
    });
    await wrong.loadHttpProxyAgent();
    const refused = exchange.refusedSignatures;
    const error = await wrong.fetchBalance().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(String((error as Error).message)).toContain('"code":-1022');
    expect(exchange.refusedSignatures).toBeGreaterThan(refused);
    expect(binance.unknownRequests).toEqual([]);
    await wrong.close();
  });
});
