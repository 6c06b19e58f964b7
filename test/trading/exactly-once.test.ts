import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDecimal, multiplyDecimal, subtractDecimal } from '../../src/marketdata/decimal.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { sessionKeys } from '../../src/redis/keys.ts';
import { beginWrite, createWrite, newSession } from '../../src/trading/session-write.ts';
import { OPS_KEPT, TradingStore } from '../../src/trading/trading-store.ts';
import { type FaultProxy, type RedisCommand, startFaultProxy } from '../helpers/fault-proxy.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import {
  CANCEL_ORDER,
  type CreatedClient,
  createClientWithCli,
  gql,
  gqlOk,
  openSessionOver,
  orderInput,
  PLACE_ORDER,
  type PlaceResult,
  SCRIPTED_BOOK_LIMITS,
  ScriptedMarket,
  SESSION_STATE as SESSION,
} from './support.ts';

interface SessionView {
  lastSeq: number;
  balances: { asset: string; total: string; locked: string }[];
  orders: { edges: { node: { id: string; status: string } }[] };
}

/** The session's write (WRITE_SESSION) that records an update of `type`. */
const sessionWriteOf =
  (type: string) =>
  (command: RedisCommand): boolean =>
    command[0]?.toUpperCase() === 'EVALSHA' && command.some((arg) => arg.includes(`"type":"${type}"`));

describe('exactly once: a trading write whose reply was lost is applied once (ioredis resends it)', () => {
  let redis: TestRedis;
  let proxy: FaultProxy;
  let stack: Stack;
  let alice: CreatedClient;
  let sessionId: string;

  const session = async () =>
    (await gqlOk<{ session: SessionView }>(stack.app, SESSION, { id: sessionId }, alice.key)).session;

  beforeAll(async () => {
    redis = await startTestRedis();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.server.port });
    // The server talks to Redis through the proxy; the test's own writes (the book) do not.
    stack = await startStack(redis, { ingest: false, redisUrl: proxy.url, limits: SCRIPTED_BOOK_LIMITS });
    await new ScriptedMarket(new BookStore(redis.client(), REGION)).start();
    alice = await createClientWithCli(redis.url, 'alice');
    sessionId = await openSessionOver(stack.app, alice);
  });

  afterAll(async () => {
    await stack?.stop();
    await proxy?.stop();
    await redis?.stop();
  });

  it('placeOrder without clientOrderId: one order, the balance charged once, one answer', async () => {
    const before = proxy.connections;
    const dropped = proxy.dropNextReply(sessionWriteOf('NEW'));
    // A limit buy at the ask fills on arrival: the write that records it carries NEW and FILL.
    const answer = await gql<{ placeOrder: PlaceResult }>(
      stack.app,
      PLACE_ORDER,
      { input: orderInput(sessionId, { price: '100.1', amount: '0.1' }) },
      alice.key,
    );
    expect(answer.errors).toBeUndefined();
    const order = answer.data!.placeOrder;
    expect(order).toMatchObject({ __typename: 'Order', status: 'FILLED', filled: '0.1' });
    // The order was written, so its write went through the proxy, which lost its reply.
    await dropped;
    expect(proxy.connections).toBeGreaterThan(before);

    const after = await session();
    expect(after.orders.edges.map((e) => e.node)).toEqual([{ id: order.id, status: 'FILLED' }]);
    const spent = order.fills!.reduce(
      (sum, f) => addDecimal(sum, addDecimal(multiplyDecimal(f.price, f.amount), f.fee)),
      '0',
    );
    expect(after.balances.find((b) => b.asset === 'USDT')?.total).toBe(subtractDecimal('10000', spent));
    // NEW and one FILL: the updates were written (and published) once.
    expect(after.lastSeq).toBe(1 + order.fills!.length);
  });

  it('cancelOrder: answers CANCELED (not ORDER_NOT_OPEN), one CANCELED update', async () => {
    const resting = (
      await gqlOk<{ placeOrder: PlaceResult }>(
        stack.app,
        PLACE_ORDER,
        { input: orderInput(sessionId, { price: '99', amount: '0.2' }) },
        alice.key,
      )
    ).placeOrder;
    expect(resting).toMatchObject({ __typename: 'Order', status: 'NEW' });
    const seqBefore = (await session()).lastSeq;

    const dropped = proxy.dropNextReply(sessionWriteOf('CANCELED'));
    const answer = await gql<{ cancelOrder: PlaceResult }>(
      stack.app,
      CANCEL_ORDER,
      { id: resting.id },
      alice.key,
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.cancelOrder).toMatchObject({
      __typename: 'Order',
      id: resting.id,
      status: 'CANCELED',
    });
    await dropped;
    const after = await session();
    expect(after.lastSeq).toBe(seqBefore + 1);
    expect(after.balances.find((b) => b.asset === 'USDT')?.locked).toBe('0');
  });
});

describe('WRITE_SESSION operation ids', () => {
  let redis: TestRedis;
  let store: TradingStore;

  beforeAll(async () => {
    redis = await startTestRedis();
    store = new TradingStore(redis.client());
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const fresh = () => newSession('c1', REGION, new Map([['USDT', '1']]), Date.now());

  it('a write sent twice (same operation id) is applied once and answered ok twice', async () => {
    const session = fresh();
    await store.write('c1', createWrite(session));
    session.totals.set('USDT', '0.5');
    const write = { ...beginWrite(session), opId: 'op-1' };
    expect(await store.write('c1', write)).toBe('ok');
    const stored = await redis.client().hgetall(sessionKeys('c1', session.id).session);
    // The same call again, as ioredis resends it: no version conflict, no second change.
    expect(await store.write('c1', write)).toBe('ok');
    expect(await redis.client().hgetall(sessionKeys('c1', session.id).session)).toEqual(stored);
    expect(stored).toMatchObject({ ver: '2', 'bal:USDT': '0.5' });
    // A new operation on the version read before is stale, as before.
    expect(await store.write('c1', { ...write, opId: 'op-2' })).toBe('stale');
  });

  it(`keeps the operation ids of the last ${OPS_KEPT} versions only`, async () => {
    const session = fresh();
    await store.write('c1', createWrite(session));
    const extra = 5;
    for (let i = 0; i < OPS_KEPT + extra; i++) {
      expect(await store.write('c1', { ...beginWrite(session), opId: `op-${i}` })).toBe('ok');
    }
    const ops = redis.client();
    const key = sessionKeys('c1', session.id).ops;
    expect(await ops.hlen(key)).toBe(2 * OPS_KEPT);
    expect(await ops.hget(key, 'o:op-0')).toBeNull();
    expect(await ops.hget(key, `o:op-${OPS_KEPT + extra - 1}`)).toBe(session.id);
    expect(await ops.pttl(key)).toBeGreaterThan(0);
  });
});
