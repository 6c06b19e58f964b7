import { AuthenticationError, type Exchange } from 'ccxt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exchangeClass, rebaseUrls } from '../../src/marketdata/ccxt-feed.ts';
import { addDecimal, multiplyDecimal } from '../../src/marketdata/decimal.ts';
import { CcxtVenue } from '../../src/trading/ccxt-venue.ts';
import { VenueCredentialsError } from '../../src/trading/venue-credentials.ts';
import type { FakeOkx } from '../fakes/fake-okx.ts';
import { type FakeOkxOrders, startFakeOkxWithOrders } from '../fakes/fake-okx-orders.ts';
import type { CcxtStack } from '../helpers/ccxt-stack.ts';
import { cliEnv, killChildren, spawnCli } from '../helpers/cli.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { silentLog } from '../helpers/stack.ts';
import { CANCEL_ORDER, type PlaceResult, wsRequest } from './support.ts';
import { startVenueTrading, type VenueSession } from './venue-session.ts';

const ACCOUNT = {
  apiKey: 'okx-key-1',
  secret: 'okx-secret-1',
  passphrase: 'okx-pass-1',
  balances: { USDT: '400000', BTC: '0.5' },
};
const BTC = 'BTC/USDT';

/**
 * OKX through the real path: GraphQL placeOrder -> trading service -> CcxtVenue -> unmodified
 * ccxt's okx class (clientOrderId -> clOrdId, passphrase-signed requests) -> the fake OKX's v5
 * trade endpoints; its `orders` channel pushes come back through ccxt's watchOrders.
 */
describe('ccxt execution venue against the fake OKX', () => {
  let redis: TestRedis;
  let okx: FakeOkx;
  let exchange: FakeOkxOrders;
  let stack: CcxtStack;
  let session: VenueSession;

  const place = (input: Record<string, unknown>) => session.place(input);
  const until = (predicate: () => boolean, what: string) => session.until(predicate, what);
  const updatesOf = (orderId: string) => session.updatesOf(orderId);

  beforeAll(async () => {
    redis = await startTestRedis();
    ({ venue: okx, trading: exchange } = await startFakeOkxWithOrders(ACCOUNT));
    ({ stack, session } = await startVenueTrading({
      redis,
      fake: okx,
      credentials: { apiKey: ACCOUNT.apiKey, secret: ACCOUNT.secret, password: ACCOUNT.passphrase },
      symbol: BTC,
      untilOrderStream: () => exchange.untilOrderStream(),
    }));
  });

  afterAll(async () => {
    await session?.ws.dispose();
    await stack?.stop();
    await okx?.close();
    await redis?.stop();
  });

  it('places a limit order under our client id, reports a maker fill, then cancels it', async () => {
    const order = await place({
      side: 'BUY',
      type: 'LIMIT',
      price: '64000',
      amount: '0.01',
      clientOrderId: 'okx-lim-1',
    });
    expect(order).toMatchObject({ __typename: 'Order', status: 'NEW', filled: '0', remaining: '0.01' });
    // The venue keeps our id (no ccxt broker id): clOrdId is alphanumeric, as OKX requires.
    const [resting] = exchange.orders.filter((o) => o.px === '64000');
    expect(resting).toMatchObject({ side: 'buy', ordType: 'limit', sz: '0.01', state: 'live' });
    expect(resting!.clOrdId).toMatch(/^bg[0-9a-f]{30}$/);
    expect(exchange.placements.at(-1)).toEqual({ clOrdId: resting!.clOrdId, outcome: 'accepted' });
    expect(exchange.balance('USDT')).toEqual({ free: '399360', locked: '640' });

    exchange.fill(resting!.clOrdId, '0.004');
    await until(() => updatesOf(order.id).some((u) => u.type === 'FILL'), 'the partial fill');
    expect(updatesOf(order.id).find((u) => u.type === 'FILL')).toMatchObject({
      order: { status: 'PARTIALLY_FILLED', filled: '0.004', remaining: '0.006' },
      fill: { price: '64000', amount: '0.004', liquidity: 'MAKER' },
    });

    const canceled = await wsRequest<{ cancelOrder: PlaceResult }>(session.ws, CANCEL_ORDER, {
      clientOrderId: 'okx-lim-1',
    });
    expect(canceled.data!.cancelOrder).toMatchObject({
      __typename: 'Order',
      status: 'CANCELED',
      filled: '0.004',
      remaining: '0.006',
    });
    expect(resting!.state).toBe('canceled');
    expect(exchange.balance('USDT')).toEqual({ free: '399744', locked: '0' });
    await until(() => updatesOf(order.id).some((u) => u.type === 'CANCELED'), 'the cancel update');
    expect(updatesOf(order.id).map((u) => [u.type, u.order.status])).toEqual([
      ['NEW', 'NEW'],
      ['FILL', 'PARTIALLY_FILLED'],
      ['CANCELED', 'CANCELED'],
    ]);
  });

  it('fills a market order at the venue (OKX answers with ids; the state is asked for)', async () => {
    const asks = okx.book(BTC).asks;
    const [[p1, s1], [p2]] = asks as [[string, string], [string, string]];
    // More than the best level holds: two levels, at the venue's average price.
    const amount = addDecimal(s1, '0.001');
    const cost = addDecimal(multiplyDecimal(p1, s1), multiplyDecimal(p2, '0.001'));
    const order = await place({ side: 'BUY', type: 'MARKET', amount, clientOrderId: 'okx-mkt-1' });
    expect(order).toMatchObject({ __typename: 'Order', status: 'FILLED', filled: amount, remaining: '0' });
    const atVenue = exchange.orders.at(-1)!;
    expect(atVenue).toMatchObject({ ordType: 'market', state: 'filled', accFillSz: amount, cumQuote: cost });
    const value = order.fills!.reduce((sum, f) => addDecimal(sum, multiplyDecimal(f.price, f.amount)), '0');
    expect(Math.abs(Number(value) - Number(cost))).toBeLessThan(0.01);
    await until(() => updatesOf(order.id).at(-1)?.order.status === 'FILLED', 'the filled update');
  });

  it('records an OKX refusal (51008) as REJECTED with the venue’s words', async () => {
    const result = await place({
      side: 'BUY',
      type: 'LIMIT',
      price: '64000',
      // 640,000 USDT: the session has it, the venue account does not.
      amount: '10',
      clientOrderId: 'okx-big-1',
    });
    expect(result).toMatchObject({
      __typename: 'OrderRejected',
      reason: 'VENUE_REJECTED',
      order: { status: 'REJECTED' },
    });
    expect(result.message).toContain('Insufficient USDT balance');
    expect(exchange.placements.at(-1)!.outcome).toBe(
      '51008 Order failed. Insufficient USDT balance in account.',
    );
  });

  it('a retry after a lost acknowledgement finds the OKX order and never places a second', async () => {
    const input = {
      side: 'BUY',
      type: 'LIMIT',
      price: '63000',
      amount: '0.002',
      clientOrderId: 'okx-lost-1',
    };
    const before = exchange.placements.length;
    exchange.dropNextOrderResponse();
    const first = await place(input);
    expect(first).toMatchObject({ __typename: 'Order', status: 'NEW', clientOrderId: 'okx-lost-1' });
    const sent = exchange.placements.slice(before);
    expect(sent.map((p) => p.outcome)).toEqual(['accepted']);

    const retry = await place(input);
    expect(retry).toMatchObject({ __typename: 'Order', id: first.id, status: 'NEW' });
    expect(exchange.placements.length).toBe(before + 1);

    const canceled = await wsRequest<{ cancelOrder: PlaceResult }>(session.ws, CANCEL_ORDER, {
      id: first.id,
    });
    expect(canceled.data!.cancelOrder).toMatchObject({ __typename: 'Order', status: 'CANCELED' });
    expect(exchange.order(sent[0]!.clOrdId!)!.state).toBe('canceled');
    await until(() => updatesOf(first.id).some((u) => u.type === 'CANCELED'), 'the cancel update');
    expect(updatesOf(first.id).map((u) => u.type)).toEqual(['NEW', 'CANCELED']);
  });

  it('asked nothing the fake does not know', () => {
    expect(okx.unknownRequests).toEqual([]);
  });

  it('refuses to start without the passphrase OKX requires, naming the variable', () => {
    let error: unknown;
    try {
      new CcxtVenue({ exchange: 'okx', apiKey: 'k', secret: 's', log: silentLog });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VenueCredentialsError);
    expect((error as VenueCredentialsError).name).toBe('ConfigError');
    expect((error as VenueCredentialsError).problems).toEqual([
      'EXECUTION_VENUES: okx=ccxt needs OKX_API_PASSWORD',
    ]);
    // A uid where ccxt asks for one (WOO X); a credential bookgraph cannot supply, named too.
    expect(() => new CcxtVenue({ exchange: 'woo', apiKey: 'k', secret: 's', log: silentLog })).toThrow(
      'EXECUTION_VENUES: woo=ccxt needs WOO_API_UID',
    );
    expect(
      () => new CcxtVenue({ exchange: 'woo', apiKey: 'k', secret: 's', uid: '42', log: silentLog }),
    ).not.toThrow();
    expect(
      () => new CcxtVenue({ exchange: 'hyperliquid', apiKey: 'k', secret: 's', log: silentLog }),
    ).toThrow(/needs ccxt credential "privateKey" \(not supported for execution venues\)/);
    // Binance needs none: key and secret are enough.
    expect(
      () => new CcxtVenue({ exchange: 'binance', apiKey: 'k', secret: 's', log: silentLog }),
    ).not.toThrow();
  });

  it('refuses a request with the wrong passphrase as OKX does (50105)', async () => {
    const Okx = exchangeClass('okx');
    const wrong: Exchange = new Okx({
      apiKey: ACCOUNT.apiKey,
      secret: ACCOUNT.secret,
      password: 'not-the-passphrase',
      urls: { api: rebaseUrls(new Okx().urls.api, okx.restUrl, okx.wsUrl) },
    });
    await wrong.loadHttpProxyAgent();
    const before = exchange.refused.length;
    const error = await wrong.fetchOrder('', BTC, { clientOrderId: 'bg0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(String((error as Error).message)).toContain('"code":"50105"');
    expect(exchange.refused.slice(before)).toContain('Invalid OK-ACCESS-PASSPHRASE');
    await wrong.close();
  });
});

describe('bookgraph start with an OKX execution venue', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  afterEach(killChildren);

  afterAll(async () => {
    await redis?.stop();
  });

  it('stops at start without OKX_API_PASSWORD, naming it, without a stack trace', async () => {
    const cli = spawnCli(
      ['start'],
      cliEnv({
        PORT: '0',
        REDIS_URL: redis.url,
        EXECUTION_VENUES: 'okx=ccxt',
        OKX_API_KEY: 'k',
        OKX_API_SECRET: 's',
      }),
    );
    const { code } = await cli.exited;
    expect(code).not.toBe(0);
    expect(cli.stderr()).toContain('EXECUTION_VENUES: okx=ccxt needs OKX_API_PASSWORD');
    expect(cli.stderr()).not.toMatch(/^\s+at /m);
    expect(cli.stdout()).not.toMatch(/serving live books/);
  });
});
