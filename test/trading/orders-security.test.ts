import { createHash } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientRegistry } from '../../src/auth/api-keys.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { apiClientKey } from '../../src/redis/keys.ts';
import type { App } from '../../src/server/app.ts';
import { TradingStore } from '../../src/trading/trading-store.ts';
import { subscribe } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { appOnStack, REGION, type Stack, startStack } from '../helpers/stack.ts';
import {
  CANCEL_ORDER,
  type CreatedClient,
  cli,
  createClientWithCli,
  gql,
  gqlOk,
  OPEN_SESSION,
  orderInput,
  PLACE_ORDER,
  type PlaceResult,
  SCRIPTED_BOOK_LIMITS,
  ScriptedMarket,
  wsClient,
} from './support.ts';

const SESSION_QUERY = `query($id: ID!) { session(id: $id) { id balances { asset total } } }`;
const ORDER_QUERY = `query($id: ID, $clientOrderId: String) { order(id: $id, clientOrderId: $clientOrderId) { id status } }`;
const ORDERS_QUERY = `query($sessionId: ID!, $first: Int, $after: String) {
  orders(filter: { sessionId: $sessionId }, first: $first, after: $after) { edges { cursor node { id status } } pageInfo { hasNextPage endCursor } }
}`;

/** Keys are re-read this seldom here, so a prompt 4403 can only have come by pub/sub. */
const RECHECK_MS = 120_000;

let redis: TestRedis;
let stack: Stack;
let alice: CreatedClient;
let bob: CreatedClient;

async function openSession(key: string, usdt = '100000'): Promise<string> {
  const data = await gqlOk<{ openSession: { id: string } }>(
    stack.app,
    OPEN_SESSION,
    {
      balances: [
        { asset: 'USDT', amount: usdt },
        { asset: 'BTC', amount: '1' },
      ],
    },
    key,
  );
  return data.openSession.id;
}

async function place(key: string, input: Record<string, unknown>): Promise<PlaceResult> {
  const data = await gqlOk<{ placeOrder: PlaceResult }>(stack.app, PLACE_ORDER, { input }, key);
  return data.placeOrder;
}

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    ingest: false,
    auth: { recheckMs: RECHECK_MS },
    limits: SCRIPTED_BOOK_LIMITS,
  });
  await new ScriptedMarket(new BookStore(redis.client(), REGION)).start(
    [['100', '1']],
    [
      ['100.1', '1'],
      ['100.2', '2'],
    ],
  );
  [alice, bob] = await Promise.all([
    createClientWithCli(redis.url, 'alice'),
    createClientWithCli(redis.url, 'bob'),
  ]);
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

describe('API keys', () => {
  it('are shown once and stored only as a SHA-256 hash', async () => {
    expect(alice.key).toMatch(/^bgk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const stored = await stack.redis.hgetall(apiClientKey(alice.id));
    expect(stored.keyHash).toBe(createHash('sha256').update(alice.key).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(alice.key.slice(21));
    const { stdout } = await cli(['clients', 'list', '--json'], redis.url);
    const listed = JSON.parse(stdout) as { id: string; keyPrefix: string }[];
    expect(listed.map((c) => c.id)).toEqual(expect.arrayContaining([alice.id, bob.id]));
    expect(stdout).not.toContain(alice.key);
    const human = await cli(
      ['clients', 'create', '--name', 'carol', '--scopes', 'marketdata:read'],
      redis.url,
    );
    expect(human.stdout).toMatch(/key {5}bgk_/);
    expect(human.stdout).toMatch(/only time the key is shown/);
  });

  it('trading needs a valid key with the trade scope: UNAUTHENTICATED / FORBIDDEN', async () => {
    const anonymous = await gql(stack.app, OPEN_SESSION, { balances: [{ asset: 'USDT', amount: '1' }] });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await gql(
      stack.app,
      OPEN_SESSION,
      { balances: [{ asset: 'USDT', amount: '1' }] },
      `bgk_${alice.id}_${'A'.repeat(43)}`,
    );
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const reader = await createClientWithCli(redis.url, 'reader', 'marketdata:read');
    const forbidden = await gql(
      stack.app,
      OPEN_SESSION,
      { balances: [{ asset: 'USDT', amount: '1' }] },
      reader.key,
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(forbidden.data).toBeNull();
    const me = await gqlOk<{ me: { id: string; scopes: string[] } }>(
      stack.app,
      '{ me { id scopes } }',
      {},
      reader.key,
    );
    expect(me.me).toEqual({ id: reader.id, scopes: ['marketdata:read'] });
  });

  it('market data without a key only where anonymous access is allowed', async () => {
    // The stack's app is built without auth options: anonymous market data on (as in `start`).
    expect((await gql(stack.app, '{ exchanges }')).errors).toBeUndefined();
    const closed: App = appOnStack(stack, { auth: { anonymousMarketData: false } });
    try {
      const denied = await gql(closed, '{ exchanges }');
      expect(denied.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(denied.data).toBeUndefined();
      const tradeOnly = await createClientWithCli(redis.url, 'trader', 'trade');
      expect((await gql(closed, '{ exchanges }', {}, tradeOnly.key)).errors?.[0]?.extensions?.code).toBe(
        'FORBIDDEN',
      );
      expect(
        (await gqlOk<{ exchanges: string[] }>(closed, '{ exchanges }', {}, alice.key)).exchanges,
      ).toContain('lab');
      // graphql-ws without a key is refused at connection with 4403.
      const port = await closed.start(0);
      const codes: number[] = [];
      const client = wsClient(`ws://127.0.0.1:${port}/graphql`, undefined, (code) => codes.push(code));
      const handle = subscribe(client, '{ exchanges }', {}, () => {});
      await handle.done;
      expect(codes).toContain(4403);
      await client.dispose();
    } finally {
      await closed.stop();
    }
  });

  it('a key revoked mid-connection closes the socket with 4403 by pub/sub, before any re-check', async () => {
    const temp = await createClientWithCli(redis.url, 'temp');
    let closedAt = 0;
    let closeCode = 0;
    let revokeStartedAt = 0;
    const closed = new Promise<void>((resolve) => {
      const client = wsClient(stack.wsUrl, temp.key, (code) => {
        closeCode = code;
        closedAt = Date.now();
        resolve();
      });
      // The first event proves the socket was admitted and is being watched.
      const live = new Promise<void>((first) => {
        subscribe(
          client,
          `subscription { orderBookUpdates(exchange: "lab", symbol: "BTC/USDT", depth: 1) { seq } }`,
          {},
          () => first(),
        );
      });
      void live.then(() => {
        revokeStartedAt = Date.now();
        return cli(['clients', 'revoke', temp.id], redis.url);
      });
    });
    await closed;
    expect(closeCode).toBe(4403);
    // Generous on purpose (the CLI's start-up is inside it, and the machine may be loaded): the
    // point is that the close did not wait for a re-read of the key.
    expect(closedAt - revokeStartedAt).toBeLessThan(RECHECK_MS / 4);
    const after = await gql(stack.app, '{ me { id } }', {}, temp.key);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a key expiring mid-connection closes the socket with 4403 once it expires, not before', async () => {
    const registry = new ApiClientRegistry(stack.redis);
    const expiresAt = Date.now() + 1_200;
    const { key } = await registry.create({ name: 'short', scopes: ['marketdata:read', 'trade'], expiresAt });
    let closedAt = 0;
    let closeCode = 0;
    await new Promise<void>((resolve) => {
      const client = wsClient(stack.wsUrl, key, (code) => {
        closeCode = code;
        closedAt = Date.now();
        resolve();
      });
      subscribe(
        client,
        `subscription { orderBookUpdates(exchange: "lab", symbol: "BTC/USDT", depth: 1) { seq } }`,
        {},
        () => {},
      );
    });
    expect(closeCode).toBe(4403);
    expect(closedAt - expiresAt).toBeGreaterThanOrEqual(0);
    expect(closedAt - expiresAt).toBeLessThan(30_000); // generous: the machine may be loaded
  });
});

describe('idempotent placement', () => {
  it('a retry after success returns the same order; another payload under the id conflicts', async () => {
    const sid = await openSession(alice.key);
    const input = orderInput(sid, { price: '99', amount: '0.2', clientOrderId: 'idem-1' });
    const first = await place(alice.key, input);
    const retry = await place(alice.key, input);
    expect(first.__typename).toBe('Order');
    expect(retry).toEqual(first);
    const conflict = await place(alice.key, { ...input, amount: '0.3' });
    expect(conflict).toMatchObject({
      __typename: 'IdempotencyConflict',
      code: 'IDEMPOTENCY_CONFLICT',
      orderId: first.id,
    });
    // The same clientOrderId is the client's, not the session's.
    const otherSession = await openSession(alice.key);
    const elsewhere = await place(alice.key, { ...input, sessionId: otherSession });
    expect(elsewhere).toMatchObject({ __typename: 'IdempotencyConflict', orderId: first.id });
    // Another client may use the same clientOrderId freely.
    const bobs = await place(
      bob.key,
      orderInput(await openSession(bob.key), { price: '99', amount: '0.2', clientOrderId: 'idem-1' }),
    );
    expect(bobs.__typename).toBe('Order');
    expect(bobs.id).not.toBe(first.id);
  });

  it('10 concurrent placements with one clientOrderId make exactly one order', async () => {
    const sid = await openSession(alice.key);
    const input = orderInput(sid, { price: '98', amount: '0.2', clientOrderId: 'burst-1' });
    const results = await Promise.all(Array.from({ length: 10 }, () => place(alice.key, input)));
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    for (const r of results) expect(r.__typename).toBe('Order');
    const page = await gqlOk<{ orders: { edges: unknown[] } }>(
      stack.app,
      ORDERS_QUERY,
      { sessionId: sid, first: 100 },
      alice.key,
    );
    expect(page.orders.edges).toHaveLength(1);
    const session = await gqlOk<{ session: { balances: { asset: string; locked: string }[] } }>(
      stack.app,
      `query($id: ID!) { session(id: $id) { balances { asset locked } } }`,
      { id: sid },
      alice.key,
    );
    // Reserved once: 0.2 × 98 × (1 + 0.0005).
    expect(session.session.balances).toContainEqual({ asset: 'USDT', locked: '19.6098' });
  });
});

describe('validation', () => {
  let sid: string;
  beforeAll(async () => {
    sid = await openSession(alice.key, '50');
  });

  it('breaks of market rules are typed results, and nothing is written', async () => {
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ price: '100.05' }, { __typename: 'InvalidPrecision', field: 'price', increment: '0.1' }],
      [{ amount: '0.0005' }, { __typename: 'InvalidPrecision', field: 'amount', increment: '0.001' }],
      [
        { amount: '0.001', price: '99' },
        { __typename: 'BelowMinimum', field: 'notional', minimum: '10' },
      ],
      [
        { amount: '1', price: '99' },
        { __typename: 'InsufficientBalance', asset: 'USDT', available: '50' },
      ],
      [{ symbol: 'NOPE/USDT' }, { __typename: 'MarketNotFound', code: 'MARKET_NOT_FOUND' }],
      [
        { side: 'SELL', amount: '2', price: '101' },
        { __typename: 'InsufficientBalance', asset: 'BTC', required: '2' },
      ],
    ];
    for (const [overrides, expected] of cases) {
      expect(await place(alice.key, orderInput(sid, overrides)), JSON.stringify(overrides)).toMatchObject(
        expected,
      );
    }
    const page = await gqlOk<{ orders: { edges: unknown[] } }>(
      stack.app,
      ORDERS_QUERY,
      { sessionId: sid, first: 10 },
      alice.key,
    );
    expect(page.orders.edges).toHaveLength(0);
  });

  it('malformed input is BAD_USER_INPUT (B6) and the server stays healthy', async () => {
    const bad: Record<string, unknown>[] = [
      { amount: '-1' },
      { amount: '0' },
      { amount: '1e309' },
      { price: 'NaN' },
      { amount: `0.${'1'.repeat(40)}` },
      { clientOrderId: 'x'.repeat(10_000) },
      { clientOrderId: 'abc\u200bdef' },
      { clientOrderId: '\u202eevil' },
      { type: 'MARKET' },
      { postOnly: true, timeInForce: 'IOC' },
    ];
    for (const overrides of bad) {
      const result = await gql(stack.app, PLACE_ORDER, { input: orderInput(sid, overrides) }, alice.key);
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(overrides).slice(0, 80)).toBe(
        'BAD_USER_INPUT',
      );
      expect(result.data ?? null).toBeNull();
    }
    expect((await gql(stack.app, '{ region }')).data).toEqual({ region: REGION });
  });
});

describe('isolation', () => {
  let bobSession: string;
  let bobOrder: PlaceResult;

  beforeAll(async () => {
    bobSession = await openSession(bob.key);
    bobOrder = await place(
      bob.key,
      orderInput(bobSession, { price: '97', amount: '0.2', clientOrderId: 'bob-secret' }),
    );
    expect(bobOrder.status).toBe('NEW');
  });

  /** A's answer for B's id must equal A's answer for a missing id, once the ids are swapped. */
  function sameAnswer(forOther: unknown, forMissing: unknown, otherId: string, missingId: string) {
    expect(JSON.stringify(forOther).replaceAll(otherId, '<id>')).toBe(
      JSON.stringify(forMissing).replaceAll(missingId, '<id>'),
    );
  }

  it('queries: session, order (by id and clientOrderId), orders — "not found", same as a missing id', async () => {
    const missingSession = `ses_${REGION}_0000000000000000`;
    const missingOrder = `${missingSession}_000001`;
    const code = (r: { errors?: readonly GraphQLFormattedError[] }) => r.errors?.[0]?.extensions?.code;

    const s1 = await gql(stack.app, SESSION_QUERY, { id: bobSession }, alice.key);
    const s2 = await gql(stack.app, SESSION_QUERY, { id: missingSession }, alice.key);
    expect(code(s1)).toBe('SESSION_NOT_FOUND');
    sameAnswer(s1, s2, bobSession, missingSession);

    const o1 = await gql(stack.app, ORDER_QUERY, { id: bobOrder.id }, alice.key);
    const o2 = await gql(stack.app, ORDER_QUERY, { id: missingOrder }, alice.key);
    expect(code(o1)).toBe('ORDER_NOT_FOUND');
    sameAnswer(o1, o2, bobOrder.id, missingOrder);

    const c1 = await gql(stack.app, ORDER_QUERY, { clientOrderId: 'bob-secret' }, alice.key);
    const c2 = await gql(stack.app, ORDER_QUERY, { clientOrderId: 'nobody-has' }, alice.key);
    expect(code(c1)).toBe('ORDER_NOT_FOUND');
    sameAnswer(c1, c2, 'bob-secret', 'nobody-has');

    const l1 = await gql(stack.app, ORDERS_QUERY, { sessionId: bobSession }, alice.key);
    const l2 = await gql(stack.app, ORDERS_QUERY, { sessionId: missingSession }, alice.key);
    expect(code(l1)).toBe('SESSION_NOT_FOUND');
    sameAnswer(l1, l2, bobSession, missingSession);
  });

  it('mutations: place, cancel, cancel all, close — "not found", and B\'s order is untouched', async () => {
    const missingSession = `ses_${REGION}_0000000000000000`;
    const missingOrder = `${missingSession}_000001`;
    const p1 = await gql(stack.app, PLACE_ORDER, { input: orderInput(bobSession) }, alice.key);
    const p2 = await gql(stack.app, PLACE_ORDER, { input: orderInput(missingSession) }, alice.key);
    expect((p1.data as { placeOrder: PlaceResult }).placeOrder.__typename).toBe('SessionNotFound');
    sameAnswer(p1, p2, bobSession, missingSession);

    const x1 = await gql(stack.app, CANCEL_ORDER, { id: bobOrder.id }, alice.key);
    const x2 = await gql(stack.app, CANCEL_ORDER, { id: missingOrder }, alice.key);
    expect((x1.data as { cancelOrder: PlaceResult }).cancelOrder).toMatchObject({
      __typename: 'OrderNotFound',
      code: 'ORDER_NOT_FOUND',
    });
    sameAnswer(x1, x2, bobOrder.id, missingOrder);

    const y1 = await gql(stack.app, CANCEL_ORDER, { clientOrderId: 'bob-secret' }, alice.key);
    const y2 = await gql(stack.app, CANCEL_ORDER, { clientOrderId: 'nobody-has' }, alice.key);
    sameAnswer(y1, y2, 'bob-secret', 'nobody-has');

    const CANCEL_ALL = `mutation($s: ID!) { cancelAllOrders(sessionId: $s) { __typename ... on TradingError { code message } } }`;
    const a1 = await gql(stack.app, CANCEL_ALL, { s: bobSession }, alice.key);
    const a2 = await gql(stack.app, CANCEL_ALL, { s: missingSession }, alice.key);
    expect(JSON.stringify(a1)).toContain('SESSION_NOT_FOUND');
    sameAnswer(a1, a2, bobSession, missingSession);

    const CLOSE = `mutation($s: ID!) { closeSession(id: $s) { __typename ... on TradingError { code message } } }`;
    const z1 = await gql(stack.app, CLOSE, { s: bobSession }, alice.key);
    const z2 = await gql(stack.app, CLOSE, { s: missingSession }, alice.key);
    sameAnswer(z1, z2, bobSession, missingSession);

    const still = await gqlOk<{ order: { status: string } }>(
      stack.app,
      ORDER_QUERY,
      { id: bobOrder.id },
      bob.key,
    );
    expect(still.order.status).toBe('NEW');
  });

  it('subscriptions: orderUpdates of B\'s session is "not found", same as a missing one', async () => {
    const missingSession = `ses_${REGION}_0000000000000000`;
    const client = wsClient(stack.wsUrl, alice.key);
    try {
      const query = `subscription($s: ID!) { orderUpdates(sessionId: $s) { seq } }`;
      const h1 = subscribe(client, query, { s: bobSession }, () => {});
      const h2 = subscribe(client, query, { s: missingSession }, () => {});
      const [r1, r2] = await Promise.all([h1.done, h2.done]);
      expect(r1.errors?.[0]?.extensions?.code).toBe('SESSION_NOT_FOUND');
      sameAnswer(r1, r2, bobSession, missingSession);
    } finally {
      await client.dispose();
    }
  });
});

describe('audit', () => {
  it("appends every order command, accepted or not, to the client's bounded stream", async () => {
    const store = new TradingStore(stack.redis);
    const entries = await store.readAudit(alice.id);
    const actions = entries.map((e) => `${e.action}:${e.result}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'openSession:accepted',
        'placeOrder:accepted',
        'placeOrder:IdempotencyConflict',
        'placeOrder:InvalidPrecision',
        'placeOrder:SessionNotFound',
        'cancelOrder:OrderNotFound',
      ]),
    );
    for (const e of entries) expect(JSON.stringify(e)).not.toContain(alice.key);
    const bobs = await store.readAudit(bob.id);
    expect(bobs.every((e) => e.result !== 'SessionNotFound')).toBe(true);
  });
});
