import type { Client } from 'graphql-ws';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import { subscribe } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import {
  CANCEL_ORDER,
  type CreatedClient,
  createClientWithCli,
  gql,
  gqlOk,
  OPEN_SESSION,
  ORDER_STATUS,
  ORDER_UPDATES,
  orderInput,
  PLACE_ORDER,
  type PlaceResult,
  SCRIPTED_BOOK_LIMITS,
  ScriptedMarket,
  type UpdateView,
  wsClient,
} from './support.ts';

/** The region that does not own the session: a second server on the same keyspace. */
const OTHER = 'elsewhere';

/** Every key of the test's Redis with its DUMP: equal dumps mean nothing was written. */
async function dumpAll(redis: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const dump = await redis.dumpBuffer(key);
      if (dump) out.set(key, dump.toString('hex'));
    }
  } while (cursor !== '0');
  return out;
}

const WRONG_REGION_FIELDS = `... on TradingError { code message } ... on WrongRegion { homeRegion region }`;

const CANCEL_ALL = `mutation($sessionId: ID!) {
  cancelAllOrders(sessionId: $sessionId) { __typename ${WRONG_REGION_FIELDS} }
}`;
const CLOSE_SESSION = `mutation($id: ID!) {
  closeSession(id: $id) { __typename ${WRONG_REGION_FIELDS} }
}`;
const PLACE = `mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { __typename ${WRONG_REGION_FIELDS} }
}`;
const CANCEL = `mutation($id: ID, $clientOrderId: String) {
  cancelOrder(id: $id, clientOrderId: $clientOrderId) { __typename ${WRONG_REGION_FIELDS} }
}`;
const SESSION = `query($id: ID!) {
  session(id: $id) { id region status lastSeq balances { asset total locked available } }
}`;
const ORDERS = `query($sessionId: ID!) {
  orders(filter: { sessionId: $sessionId }) { edges { node { id status filled clientOrderId } } }
}`;

describe('trading across regions: readable everywhere, written only in the home region', () => {
  let redis: TestRedis;
  let home: Stack;
  let away: Stack;
  let alice: CreatedClient;
  let sessionId: string;
  let resting: PlaceResult;
  const sockets: Client[] = [];

  const placeAtHome = async (input: Record<string, unknown>) => {
    const data = await gqlOk<{ placeOrder: PlaceResult }>(home.app, PLACE_ORDER, { input }, alice.key);
    return data.placeOrder;
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    home = await startStack(redis, { ingest: false, limits: SCRIPTED_BOOK_LIMITS });
    away = await startStack(redis, {
      ingest: false,
      region: OTHER,
      regions: [OTHER, REGION],
      limits: SCRIPTED_BOOK_LIMITS,
    });
    await new ScriptedMarket(new BookStore(redis.client(), REGION)).start();
    alice = await createClientWithCli(redis.url, 'alice');
    const opened = await gqlOk<{ openSession: { id: string; region: string } }>(
      home.app,
      OPEN_SESSION,
      { balances: [{ asset: 'USDT', amount: '10000' }] },
      alice.key,
    );
    sessionId = opened.openSession.id;
    expect(opened.openSession.region).toBe(REGION);
    // One order that fills on arrival (crosses the 100.1 ask), one that rests.
    const filled = await placeAtHome(orderInput(sessionId, { price: '100.1', amount: '0.1' }));
    expect(filled).toMatchObject({ __typename: 'Order', status: 'FILLED' });
    resting = await placeAtHome(orderInput(sessionId, { clientOrderId: 'rest-1' }));
    expect(resting).toMatchObject({ __typename: 'Order', status: 'NEW' });
  });

  afterAll(async () => {
    await Promise.allSettled(sockets.map((s) => s.dispose()));
    await away?.stop();
    await home?.stop();
    await redis?.stop();
  });

  it('serves the session, its orders and each order from the other region as from home', async () => {
    for (const [query, variables] of [
      [SESSION, { id: sessionId }],
      [ORDERS, { sessionId }],
      [ORDER_STATUS, { id: resting.id }],
    ] as const) {
      const there = await gqlOk(away.app, query, variables, alice.key);
      expect(there).toEqual(await gqlOk(home.app, query, variables, alice.key));
    }
    const byClientOrderId = await gqlOk<{ order: { id: string } }>(
      away.app,
      `query { order(clientOrderId: "rest-1") { id } }`,
      {},
      alice.key,
    );
    expect(byClientOrderId.order.id).toBe(resting.id);
  });

  it('resumes orderUpdates in the other region after a seq, without loss, then live', async () => {
    const session = await gqlOk<{ session: { lastSeq: number } }>(
      home.app,
      SESSION,
      { id: sessionId },
      alice.key,
    );
    const lastSeq = session.session.lastSeq;
    expect(lastSeq).toBeGreaterThan(2);
    const ws = wsClient(away.wsUrl, alice.key);
    sockets.push(ws);
    const seen: UpdateView[] = [];
    const handle = subscribe<UpdateView>(ws, ORDER_UPDATES, { sessionId, afterSeq: 1 }, (u) => seen.push(u));
    // Kept updates first: every seq after the one the client had, in order.
    await expect.poll(() => seen.length, { timeout: 60_000 }).toBe(lastSeq - 1);
    // Then live ones, published by the home region.
    const next = await placeAtHome(orderInput(sessionId, { price: '99', amount: '0.2' }));
    expect(next.__typename).toBe('Order');
    await expect.poll(() => seen.at(-1)?.order.id, { timeout: 60_000 }).toBe(next.id);
    expect(seen.map((u) => u.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 2));
    expect(handle.errors).toEqual([]);
    handle.unsubscribe();
  });

  it('refuses every write from the other region with WRONG_REGION, writing nothing', async () => {
    const before = await dumpAll(redis.client());
    const refusals = [
      [PLACE, { input: orderInput(sessionId) }],
      [PLACE, { input: orderInput(sessionId, { clientOrderId: 'away-1' }) }],
      [CANCEL, { id: resting.id }],
      [CANCEL, { clientOrderId: 'rest-1' }],
      [CANCEL_ALL, { sessionId }],
      [CLOSE_SESSION, { id: sessionId }],
    ] as const;
    for (const [mutation, variables] of refusals) {
      const data = await gqlOk<Record<string, Record<string, unknown>>>(
        away.app,
        mutation,
        variables,
        alice.key,
      );
      expect(Object.values(data)[0]).toEqual({
        __typename: 'WrongRegion',
        code: 'WRONG_REGION',
        message: expect.stringContaining(`belongs to region ${REGION}`),
        homeRegion: REGION,
        region: OTHER,
      });
    }
    expect(await dumpAll(redis.client())).toEqual(before);
    // The home region still takes the same writes.
    const canceled = await gqlOk<{ cancelOrder: PlaceResult }>(
      home.app,
      CANCEL_ORDER,
      { id: resting.id },
      alice.key,
    );
    expect(canceled.cancelOrder).toMatchObject({ __typename: 'Order', status: 'CANCELED' });
  });

  it('answers not found, not WRONG_REGION, for what the client does not have', async () => {
    const missing = `ses_${REGION}_0000000000000000`;
    const placed = await gql<{ placeOrder: Record<string, unknown> }>(
      away.app,
      PLACE,
      { input: orderInput(missing) },
      alice.key,
    );
    expect(placed.data?.placeOrder).toMatchObject({ __typename: 'SessionNotFound' });
    const canceled = await gql<{ cancelOrder: Record<string, unknown> }>(
      away.app,
      CANCEL,
      { id: `${sessionId}_000099` },
      alice.key,
    );
    expect(canceled.data?.cancelOrder).toMatchObject({ __typename: 'OrderNotFound' });
  });
  it('a session at home in the other region trades a venue only this region ingests', async () => {
    const opened = await gqlOk<{ openSession: { id: string; region: string } }>(
      away.app,
      OPEN_SESSION,
      { balances: [{ asset: 'USDT', amount: '10000' }] },
      alice.key,
    );
    expect(opened.openSession.region).toBe(OTHER);
    const data = await gqlOk<{ placeOrder: PlaceResult }>(
      away.app,
      PLACE_ORDER,
      { input: orderInput(opened.openSession.id, { price: '100.1', amount: '0.1' }) },
      alice.key,
    );
    expect(data.placeOrder).toMatchObject({ __typename: 'Order', status: 'FILLED' });
  });
});
