import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis } from '../../src/redis/local-server.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';
import { gql } from '../trading/support.ts';

/**
 * Redis restarting empty (a failover to an empty replica, data loss): the ingester writes again
 * what it owns besides books, so queries answer again without restarting anything.
 */
let redis: TestRedis;
let stack: Stack;
const restarted: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 5, updatesPerSecond: 20, venues: ['sim1'], symbols: ['BTC/USDT'] },
  });
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
  for (const server of restarted) await server.stop();
});

const QUERY = `{ exchanges markets(exchange: "sim1") { symbol }
  orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 1) { seq bids { price } } }`;

describe('Redis restarts empty', () => {
  it('queries answer again within seconds: market metadata and the exchange set are written again', async () => {
    const before = await gql(stack.app, QUERY);
    expect(before.errors).toBeUndefined();
    expect(before.data).toMatchObject({ exchanges: ['sim1'], markets: [{ symbol: 'BTC/USDT' }] });

    process.kill(redis.server.pid, 'SIGKILL');
    await redis.server.stop();
    restarted.push(await startLocalRedis({ port: redis.server.port }));

    await expect
      .poll(
        async () => {
          const after = await gql(stack.app, QUERY);
          return after.errors?.[0]?.extensions?.code ?? (after.data as { exchanges: string[] }).exchanges;
        },
        { timeout: 60_000, interval: 100 },
      )
      .toEqual(['sim1']);
    const after = await gql(stack.app, QUERY);
    expect(after.data).toMatchObject({ markets: [{ symbol: 'BTC/USDT' }] });
  });
});
