import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubscribeArgs } from '../../sdk/src/client.ts';
import {
  type BookgraphClient,
  type BookgraphError,
  cancelOrder,
  createBookgraphClient,
  type FollowedOrder,
  followOrders,
  isOrder,
  isTradingError,
  listOrders,
  type OrderFollower,
  type OrderUpdate,
  openSession,
  type PlaceOrderInput,
  placeOrder,
  SessionDocument,
  type TradingOrder,
} from '../../sdk/src/index.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import {
  type CreatedClient,
  createClientWithCli,
  LAB_LIMIT_BUY,
  SCRIPTED_BOOK_LIMITS,
  ScriptedMarket,
} from '../trading/support.ts';

/**
 * `followOrders` against a real server and a market the test writes itself (`lab`): it applies
 * every order update in seq order, recovers from gaps (a replay with `afterSeq`, else a re-read of
 * the session), and ends equal to what `Query.session` says.
 */

let redis: TestRedis;
let stack: Stack;
let lab: ScriptedMarket;
let alice: CreatedClient;
let client: BookgraphClient;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { venues: ['sim1'], symbols: ['BTC/USDT'], updatesPerSecond: 20 },
    limits: SCRIPTED_BOOK_LIMITS,
  });
  lab = new ScriptedMarket(new BookStore(redis.client(), REGION));
  await lab.start();
  alice = await createClientWithCli(redis.url, 'sdk-follow');
  client = createBookgraphClient({
    url: stack.httpUrl,
    token: alice.key,
    retry: { attempts: 2, initialDelayMs: 50 },
  });
});

afterAll(async () => {
  await client?.dispose();
  await stack?.stop();
  await redis?.stop();
});

const BALANCES = [
  { asset: 'USDT', amount: '100000' },
  { asset: 'BTC', amount: '1' },
];

const labLimit = (sessionId: string): PlaceOrderInput => ({ sessionId, ...LAB_LIMIT_BUY });

/** Every order of the session as Query.session / Query.orders says, by id. */
async function sessionOrders(
  sessionId: string,
): Promise<{ orders: Map<string, TradingOrder>; lastSeq: number }> {
  const { session } = await client.query(SessionDocument, { id: sessionId, first: 100 });
  const orders = new Map<string, TradingOrder>();
  for await (const order of listOrders(client, { sessionId }, { pageSize: 3 })) orders.set(order.id, order);
  expect([...orders.keys()].sort()).toEqual(session.orders.edges.map((e) => e.node.id).sort());
  return { orders, lastSeq: session.lastSeq };
}

const withoutFills = ({ fills: _fills, ...order }: FollowedOrder): TradingOrder => order;

/** Resolves once the follower has applied `seq`. */
function untilSeq(follower: OrderFollower, seq: number, timeoutMs = 60_000): Promise<void> {
  if (follower.seq >= seq) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      offResync();
      reject(new Error(`timed out waiting for seq ${seq} (at ${follower.seq})`));
    }, timeoutMs);
    const check = () => {
      if (follower.seq < seq) return;
      clearTimeout(timer);
      off();
      offResync();
      resolve();
    };
    const off = follower.on('update', check);
    const offResync = follower.on('resync', check);
  });
}

/** Places the orders of a small scenario: NEW, FILL (maker, partial), FILLs (taker), CANCELED, REJECTED, EXPIRED. */
async function scenario(sessionId: string, tag: string): Promise<void> {
  const resting = await placeOrder(client, {
    ...labLimit(sessionId),
    price: '99.5',
    amount: '0.5',
    clientOrderId: `${tag}-rest`,
  });
  expect(resting.__typename).toBe('Order');
  await lab.delta([], [['99.5', '0.2']]); // crosses the resting bid: a maker fill of 0.2
  await lab.delta([], [['99.5', '0']]);
  const market = await placeOrder(client, {
    sessionId,
    exchange: 'sim1',
    symbol: 'BTC/USDT',
    side: 'BUY',
    type: 'MARKET',
    amount: '0.01',
  });
  expect(isOrder(market) && market.status).toBe('FILLED');
  const postOnly = await placeOrder(client, {
    sessionId,
    exchange: 'lab',
    symbol: 'BTC/USDT',
    side: 'BUY',
    type: 'LIMIT',
    price: '100.2',
    amount: '0.1',
    postOnly: true,
  });
  expect(postOnly.__typename).toBe('OrderRejected');
  const ioc = await placeOrder(client, {
    sessionId,
    exchange: 'lab',
    symbol: 'BTC/USDT',
    side: 'SELL',
    type: 'LIMIT',
    price: '200',
    amount: '0.1',
    timeInForce: 'IOC',
  });
  expect(isOrder(ioc) && ioc.status).toBe('EXPIRED');
  if (!isOrder(resting)) throw new Error('not placed');
  const canceled = await cancelOrder(client, { id: resting.id });
  expect(isOrder(canceled) && canceled.status).toBe('CANCELED');
}

/** A client whose subscriptions lose the order updates `drop` says, in stream number `n`. */
function lossy(
  inner: BookgraphClient,
  drop: (seq: number, stream: number) => boolean,
): BookgraphClient & {
  streams: number;
} {
  const wrapper = {
    streams: 0,
    url: inner.url,
    query: inner.query.bind(inner),
    mutate: inner.mutate.bind(inner),
    onConnectionChange: inner.onConnectionChange.bind(inner),
    dispose: inner.dispose.bind(inner),
    subscribe<TData, TVariables extends Record<string, unknown>>(
      document: TypedDocumentNode<TData, TVariables>,
      ...args: SubscribeArgs<TVariables>
    ): AsyncIterableIterator<TData> {
      const source = inner.subscribe(document, ...args);
      const n = wrapper.streams++;
      const iterator: AsyncIterableIterator<TData> = {
        async next() {
          for (;;) {
            const result = await source.next();
            if (result.done) return result;
            const seq = (result.value as { orderUpdates?: { seq: number } }).orderUpdates?.seq;
            if (seq !== undefined && drop(seq, n)) continue;
            return result;
          }
        },
        async return() {
          await source.return?.();
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
  };
  return wrapper;
}

describe('followOrders', () => {
  it('applies every update in seq order and ends equal to Query.session', async () => {
    const session = await openSession(client, BALANCES);
    const follower = followOrders(client, { sessionId: session.id });
    const updates: OrderUpdate[] = [];
    follower.on('update', (u) => updates.push(u));
    const iterated: number[] = [];
    const loop = (async () => {
      for await (const u of follower) iterated.push(u.seq);
    })();
    await follower.ready();
    expect(follower.seq).toBe(0);

    await scenario(session.id, 'a');
    const { orders, lastSeq } = await sessionOrders(session.id);
    await untilSeq(follower, lastSeq);

    expect(updates.map((u) => u.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    expect(new Set(updates.map((u) => u.type))).toEqual(
      new Set(['NEW', 'FILL', 'CANCELED', 'REJECTED', 'EXPIRED']),
    );
    expect(follower.orders().map(withoutFills)).toEqual(
      [...orders.values()].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)),
    );
    for (const order of follower.orders()) {
      expect(order).toEqual({ ...orders.get(order.id), fills: order.fills });
    }
    // Fills: the session's own, and each order's sum of fills is its filled amount.
    const { session: read } = await client.query(SessionDocument, { id: session.id, fills: 1000 });
    expect(follower.fills()).toEqual([...read.fills].reverse());
    const rested = follower.orders().find((o) => o.clientOrderId === 'a-rest')!;
    expect(rested).toMatchObject({ status: 'CANCELED', filled: '0.2' });
    expect(rested.fills.map((f) => [f.amount, f.liquidity])).toEqual([['0.2', 'MAKER']]);
    expect(follower.gaps).toBe(0);
    expect(follower.resyncs).toBe(0);

    await follower.close();
    await loop;
    expect(iterated).toEqual(updates.map((u) => u.seq));
  });

  it('starts from the session read (every page), then follows from its lastSeq', async () => {
    const session = await openSession(client, BALANCES);
    await scenario(session.id, 'b');
    const follower = followOrders(client, { sessionId: session.id, pageSize: 2 });
    const resyncs: [string, number][] = [];
    follower.on('resync', (reason, seq) => resyncs.push([reason, seq]));
    await follower.ready();
    const before = await sessionOrders(session.id);
    expect(resyncs).toEqual([['START', before.lastSeq]]);
    expect(follower.orders().map(withoutFills)).toEqual(
      [...before.orders.values()].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)),
    );

    const placed = await placeOrder(client, {
      ...labLimit(session.id),
      price: '99',
      amount: '0.2',
      clientOrderId: 'b-late',
    });
    if (!isOrder(placed)) throw new Error(`not placed: ${placed.__typename}`);
    const seen = await follower.waitForOrder(placed.id, (o) => o.status === 'NEW');
    expect(seen.clientOrderId).toBe('b-late');
    expect(follower.seq).toBe(before.lastSeq + 1);
    await follower.close();
  });

  it('a lost update is a gap: the follower replays it with afterSeq and still sees every update', async () => {
    const session = await openSession(client, BALANCES);
    const leaky = lossy(client, (seq, stream) => stream === 0 && seq === 2);
    const follower = followOrders(leaky, { sessionId: session.id });
    const seqs: number[] = [];
    const gaps: { expected: number; received: number }[] = [];
    follower.on('update', (u) => seqs.push(u.seq));
    follower.on('gap', (g) => gaps.push(g));
    await follower.ready();
    await scenario(session.id, 'c');
    const { orders, lastSeq } = await sessionOrders(session.id);
    await untilSeq(follower, lastSeq);
    expect(gaps).toEqual([{ expected: 2, received: 3 }]);
    expect(seqs).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    expect(follower.resyncs).toBe(0);
    expect(leaky.streams).toBe(2);
    expect(
      follower
        .orders()
        .map(withoutFills)
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
    ).toEqual([...orders.values()].sort((a, b) => (a.id < b.id ? -1 : 1)));
    await follower.close();
  });

  it('an update the server no longer replays: the follower reads the session again', async () => {
    const session = await openSession(client, BALANCES);
    // Seq 2 never arrives, not even in a replay.
    const leaky = lossy(client, (seq) => seq === 2);
    const follower = followOrders(leaky, { sessionId: session.id });
    const resyncs: [string, number][] = [];
    follower.on('resync', (reason, seq) => resyncs.push([reason, seq]));
    await follower.ready();
    await scenario(session.id, 'd');
    const { orders, lastSeq } = await sessionOrders(session.id);
    await untilSeq(follower, lastSeq);
    expect(follower.gaps).toBe(2);
    expect(resyncs[0]).toEqual(['START', 0]);
    expect(resyncs[1]![0]).toBe('GAP');
    expect(follower.resyncs).toBe(1);
    expect(
      follower
        .orders()
        .map(withoutFills)
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
    ).toEqual([...orders.values()].sort((a, b) => (a.id < b.id ? -1 : 1)));
    await follower.close();
  });

  it('another client’s session is SESSION_NOT_FOUND, like a missing one', async () => {
    const follower = followOrders(client, { sessionId: 'ses_test_nope' });
    const errors: BookgraphError[] = [];
    follower.on('error', (e) => errors.push(e));
    await expect(follower.ready()).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(errors.map((e) => e.code)).toEqual(['SESSION_NOT_FOUND']);
    await follower.close();
    // A typed trading error, for comparison: the mutation answers with a result, not an error.
    const result = await placeOrder(client, {
      sessionId: 'ses_test_nope',
      exchange: 'lab',
      symbol: 'BTC/USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '99',
      amount: '0.1',
    });
    expect(isTradingError(result) && result.__typename).toBe('SessionNotFound');
  });
});
