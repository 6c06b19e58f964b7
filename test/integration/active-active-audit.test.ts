import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientRegistry, SCOPES } from '../../src/auth/api-keys.ts';
import { createRedis, type RedisClient } from '../../src/redis/connection.ts';
import type { Runtime } from '../../src/runtime.ts';
import { ClientBook } from '../helpers/book-checker.ts';
import {
  activeActiveCommands,
  auditCommands,
  type CommandCapture,
  captureCommands,
  commandName,
} from '../helpers/command-audit.ts';
import { followBook, subscribe } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';
import {
  CANCEL_ORDER,
  gqlOk,
  OPEN_SESSION,
  ORDER_UPDATES,
  PLACE_ORDER,
  type PlaceResult,
  wsClient,
  wsRequest,
} from '../trading/support.ts';

/**
 * The Active-Active command audit: the production runtime (`bookgraph start`: simulator, ingester
 * and server in one process) runs queries, live subscriptions and a trading session against its
 * own redis-server while MONITOR records every command it sends (and every command its scripts
 * run). Each must be on docs/active-active-commands.md, and no multi-key command may span slots.
 */
let redis: TestRedis;
let capture: CommandCapture;
let runtime: Runtime;
let admin: RedisClient;
let ws: Client;
let key: string;
let clientId: string;

const MARKET_QUERIES = `query($x: String!, $s: String!) {
  exchanges
  markets(exchange: $x) { symbol }
  orderBook(exchange: $x, symbol: $s, depth: 20) { seq bids { price size } }
  ticker(exchange: $x, symbol: $s) { exchange }
  tickers(exchange: $x) { symbol }
  trades(exchange: $x, symbol: $s, limit: 5) { price }
  candles(exchange: $x, symbol: $s, interval: ONE_MINUTE) { start }
  consolidatedBook(symbol: $s, depth: 5) { bids { price } }
  liquidity(symbol: $s) { symbol }
  feeds { exchange }
  me { id }
  sessions { id }
}`;

beforeAll(async () => {
  redis = await startTestRedis();
  capture = await captureCommands(redis.server.port, 'bookgraph:');
  runtime = await startTestRuntime(redis.url, {
    FEEDS: 'sim',
    SIM_UPDATES_PER_SEC: '20',
    FEED_STATUS_INTERVAL_MS: '200',
    NODE_ENV: 'test',
  });
  // The operator's `bookgraph clients create`: the same registry on a connection of its own.
  admin = createRedis(redis.url, 'command');
  const created = await new ApiClientRegistry(admin).create({ name: 'audit', scopes: SCOPES });
  key = created.key;
  clientId = created.client.id;
  ws = wsClient(`ws://127.0.0.1:${runtime.port}/graphql`, key);
});

afterAll(async () => {
  capture?.stop();
  await ws?.dispose();
  await runtime?.stop();
  admin?.disconnect();
  await redis?.stop();
});

describe('Active-Active command audit', () => {
  it('sends only Active-Active commands, each multi-key one within a slot, through an end-to-end run', async () => {
    const app = runtime.app!;
    // Live books first, so the server reads, subscribes and follows them.
    const book = new ClientBook('sim1', 'BTC/USDT', 10);
    const live = followBook(ws, book);
    await book.until(() => book.messages.length > 5);
    await expect
      .poll(async () => (await gqlOk(app, '{ exchanges }', {}, key)).exchanges, { timeout: 60_000 })
      .toContain('sim1');
    const market = await gqlOk<{ orderBook: { bids: { price: string }[] } }>(
      app,
      MARKET_QUERIES,
      { x: 'sim1', s: 'BTC/USDT' },
      key,
    );

    const opened = await wsRequest<{ openSession: { id: string } }>(ws, OPEN_SESSION, {
      balances: [
        { asset: 'USDT', amount: '100000' },
        { asset: 'BTC', amount: '1' },
      ],
    });
    const sessionId = opened.data!.openSession.id;
    const updates: unknown[] = [];
    // From the session's start (afterSeq 0): the first order may be placed before the subscription is live.
    const orderUpdates = subscribe(ws, ORDER_UPDATES, { sessionId, afterSeq: 0 }, (u) => updates.push(u));
    const base = { sessionId, exchange: 'sim1', symbol: 'BTC/USDT', side: 'BUY', amount: '0.001' };
    const taker = await wsRequest<{ placeOrder: PlaceResult }>(ws, PLACE_ORDER, {
      input: { ...base, type: 'MARKET', clientOrderId: 'audit-1' },
    });
    expect(taker.data?.placeOrder.__typename).toBe('Order');
    const resting = await wsRequest<{ placeOrder: PlaceResult }>(ws, PLACE_ORDER, {
      // At the 20th best bid: valid precision, far enough from the market to rest.
      input: { ...base, type: 'LIMIT', price: market.orderBook.bids.at(-1)!.price, clientOrderId: 'audit-2' },
    });
    expect(resting.data?.placeOrder).toMatchObject({ __typename: 'Order', status: 'NEW' });
    const cancelled = await wsRequest<{ cancelOrder: { __typename: string } }>(ws, CANCEL_ORDER, {
      clientOrderId: 'audit-2',
    });
    expect(cancelled.data?.cancelOrder.__typename).toBe('Order');
    await expect.poll(() => updates.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const closed = await gqlOk<{ closeSession: { __typename: string } }>(
      app,
      'mutation($id: ID!) { closeSession(id: $id) { __typename } }',
      { id: sessionId },
      key,
    );
    expect(closed.closeSession.__typename).toBe('Session');
    await new ApiClientRegistry(admin).revoke(clientId);
    live.unsubscribe();
    orderUpdates.unsubscribe();
    capture.stop();

    const names = new Set(capture.commands.map((c) => commandName(c.args)));
    // The run reached the book write script, the trading scripts, pub/sub and the key registry.
    for (const expected of ['EVALSHA', 'ZADD', 'XADD', 'PUBLISH', 'SUBSCRIBE', 'HSET', 'SADD']) {
      expect(names, expected).toContain(expected);
    }
    const auditor = redis.client();
    expect(await auditCommands(capture.commands, activeActiveCommands(), auditor)).toEqual([]);
  });

  it('the audit catches a command off the list and a multi-key command across slots', async () => {
    const auditor = redis.client();
    const problems = await auditCommands(
      [
        { source: '127.0.0.1:1', args: ['hset', 'bg:x:{a}:h', 'f', 'v'] },
        { source: '127.0.0.1:1', args: ['flushall'] },
        { source: '127.0.0.1:1', args: ['del', 'bg:{a}:1', 'bg:{a}:2'] },
        { source: '127.0.0.1:1', args: ['del', 'bg:{a}:1', 'bg:{b}:2'] },
        { source: '127.0.0.1:2', args: ['evalsha', 'f'.repeat(40), '2', 'bg:{a}:1', 'bg:{b}:2', 'x'] },
        { source: '127.0.0.1:3', args: ['multi'] },
        { source: '127.0.0.1:3', args: ['hset', 'bg:{a}:h', 'f', 'v'] },
        { source: '127.0.0.1:3', args: ['sadd', 'bg:{b}:s', 'm'] },
        { source: '127.0.0.1:3', args: ['exec'] },
      ],
      activeActiveCommands(),
      auditor,
    );
    expect(problems).toEqual([
      'FLUSHALL is not on the Active-Active list (["flushall"])',
      'DEL across slots: bg:{a}:1 bg:{b}:2',
      'EVALSHA across slots: bg:{a}:1 bg:{b}:2',
      'MULTI across slots: bg:{a}:h bg:{b}:s',
    ]);
  });
});
