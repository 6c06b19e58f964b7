import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOrdersKey } from '../../src/redis/keys.ts';
import { CcxtVenue } from '../../src/trading/ccxt-venue.ts';
import type { FakeBinance } from '../fakes/fake-binance.ts';
import { type FakeBinanceOrders, startFakeBinanceWithOrders } from '../fakes/fake-binance-orders.ts';
import { type CcxtStack, startCcxtStack } from '../helpers/ccxt-stack.ts';
import { subscribe } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, silentLog } from '../helpers/stack.ts';
import {
  type CreatedClient,
  createClientWithCli,
  OPEN_SESSION,
  ORDER_STATUS,
  ORDER_UPDATES,
  PLACE_ORDER,
  type PlaceResult,
  type UpdateView,
  waitFor,
  wsClient,
  wsRequest,
} from './support.ts';

const ACCOUNT = { apiKey: 'fake-key-2', secret: 'fake-secret-2', balances: { USDT: '100000', BTC: '0.5' } };
const BTC = 'BTC/USDT';

/**
 * What a real venue did to an order while nobody listened (the server was down, or its order
 * stream was cut) is found on start and on each reconnection of the stream, by a lookup of every
 * open venue order of the region, and recorded once.
 */
describe('ccxt venue orders reconciled after a restart or a lost order stream', () => {
  let redis: TestRedis;
  let binance: FakeBinance;
  let exchange: FakeBinanceOrders;
  let stack: CcxtStack | undefined;
  let ws: Client | undefined;
  let alice: CreatedClient;
  let sessionId: string;
  const updates: UpdateView[] = [];
  const wakes = new Set<() => void>();

  const start = async () => {
    const venue = new CcxtVenue({
      exchange: 'binance',
      apiKey: ACCOUNT.apiKey,
      secret: ACCOUNT.secret,
      restUrl: binance.restUrl,
      wsUrl: binance.wsUrl,
      backoff: { initialDelayMs: 20, maxDelayMs: 200 },
      log: silentLog,
    });
    stack = await startCcxtStack(redis, binance, {}, { venues: [venue] });
    await stack.reference.until(
      () => stack!.reference.count('binance', BTC) > 0,
      60_000,
      'the first snapshot',
    );
    await exchange.untilUserStream();
    ws = wsClient(stack.wsUrl, alice.key);
    return ws;
  };
  const stop = async () => {
    await ws?.dispose();
    await stack?.stop();
    ws = undefined;
    stack = undefined;
  };
  const follow = (client: Client, afterSeq: number) => {
    const handle = subscribe<UpdateView>(client, ORDER_UPDATES, { sessionId, afterSeq }, (u) => {
      updates.push(u);
      for (const wake of [...wakes]) wake();
    });
    expect(handle.errors).toEqual([]);
  };
  const until = async (predicate: () => boolean, what: string) => {
    const waiter = waitFor(predicate, 10_000, what);
    wakes.add(waiter.check);
    try {
      await waiter.done;
    } finally {
      wakes.delete(waiter.check);
    }
  };
  const updatesOf = (orderId: string) => updates.filter((u) => u.order.id === orderId);
  const place = async (client: Client, input: Record<string, unknown>) => {
    const result = await wsRequest<{ placeOrder: PlaceResult }>(client, PLACE_ORDER, {
      input: { sessionId, exchange: 'binance', symbol: BTC, side: 'BUY', type: 'LIMIT', ...input },
    });
    expect(result.errors).toBeUndefined();
    return result.data!.placeOrder;
  };
  const orderNow = async (client: Client, id: string) => {
    const result = await wsRequest<{ order: { status: string; filled: string; remaining: string } }>(
      client,
      ORDER_STATUS,
      { id },
    );
    return result.data!.order;
  };
  /** No update may follow: a report the venue repeats (stream and lookup) changes nothing. */
  const settle = () => new Promise((r) => setTimeout(r, 300));

  beforeAll(async () => {
    redis = await startTestRedis();
    ({ venue: binance, trading: exchange } = await startFakeBinanceWithOrders(ACCOUNT));
    alice = await createClientWithCli(redis.url, 'alice-venue-restart');
    const client = await start();
    const opened = await wsRequest<{ openSession: { id: string } }>(client, OPEN_SESSION, {
      balances: [{ asset: 'USDT', amount: '1000000' }],
    });
    expect(opened.errors).toBeUndefined();
    sessionId = opened.data!.openSession.id;
    follow(client, 0);
  });

  afterAll(async () => {
    await stop();
    await binance?.close();
    await redis?.stop();
  });

  it('records a fill made while the server was down, once, after it starts again', async () => {
    const order = await place(ws!, { price: '64000', amount: '0.01', clientOrderId: 'down-1' });
    expect(order).toMatchObject({ __typename: 'Order', status: 'NEW', remaining: '0.01' });
    const atVenue = exchange.orders.find((o) => o.price === '64000' && o.status === 'NEW')!;
    expect(await redis.client().zrange(openOrdersKey(alice.id, REGION), 0, -1)).toContain(order.id);
    await until(() => updatesOf(order.id).length === 1, 'the NEW update');
    const lastSeq = updates.at(-1)!.seq;
    await stop();

    // A counterparty takes 0.004 while no server of the region listens.
    exchange.fill(atVenue.clientOrderId, '0.004');

    const client = await start();
    follow(client, lastSeq);
    await until(() => updatesOf(order.id).some((u) => u.type === 'FILL'), 'the fill made while down');
    await settle();
    expect(updatesOf(order.id).map((u) => [u.type, u.order.status, u.order.filled])).toEqual([
      ['NEW', 'NEW', '0'],
      ['FILL', 'PARTIALLY_FILLED', '0.004'],
    ]);
    expect(updatesOf(order.id)[1]!.fill).toMatchObject({ price: '64000', amount: '0.004' });
    expect(await orderNow(client, order.id)).toMatchObject({
      status: 'PARTIALLY_FILLED',
      filled: '0.004',
      remaining: '0.006',
    });
    // The stream still moves it: the rest fills, on the stream, once.
    exchange.fill(atVenue.clientOrderId, '0.006');
    await until(() => updatesOf(order.id).at(-1)?.order.status === 'FILLED', 'the last fill');
    await settle();
    expect(updatesOf(order.id).map((u) => u.type)).toEqual(['NEW', 'FILL', 'FILL']);
    expect(await redis.client().zrange(openOrdersKey(alice.id, REGION), 0, -1)).not.toContain(order.id);
  });

  it('records a fill made while the order stream was cut, once, when it reconnects', async () => {
    const order = await place(ws!, { price: '63900', amount: '0.01', clientOrderId: 'cut-1' });
    expect(order).toMatchObject({ __typename: 'Order', status: 'NEW' });
    const atVenue = exchange.orders.find((o) => o.price === '63900' && o.status === 'NEW')!;
    await until(() => updatesOf(order.id).length === 1, 'the NEW update');
    const reportsBefore = exchange.reports.length;

    // Every venue socket is cut; the fill's executionReport goes nowhere.
    binance.dropConnections();
    exchange.fill(atVenue.clientOrderId, '0.01');
    expect(exchange.reports.length).toBe(reportsBefore + 1);

    await until(() => updatesOf(order.id).some((u) => u.type === 'FILL'), 'the fill made while cut');
    await settle();
    expect(updatesOf(order.id).map((u) => [u.type, u.order.status, u.order.filled])).toEqual([
      ['NEW', 'NEW', '0'],
      ['FILL', 'FILLED', '0.01'],
    ]);
    expect(await orderNow(ws!, order.id)).toMatchObject({ status: 'FILLED', filled: '0.01', remaining: '0' });
    expect(updates.map((u) => u.seq)).toEqual([...new Set(updates.map((u) => u.seq))]);
  });
});
