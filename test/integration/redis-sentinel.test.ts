import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import { bookKeys } from '../../src/redis/keys.ts';
import { type Clients, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestSentinel, type TestSentinel } from '../helpers/redis-topologies.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import { expectNothingLostThrough, expectRuntimeServesBooks } from '../helpers/topology-checks.ts';

/**
 * The ingester and the server on a Sentinel-managed primary (REDIS_URL
 * `redis+sentinel://s1,s2,s3/<master>`): a primary, a replica and three sentinels. Through a
 * SENTINEL FAILOVER, ioredis follows the new primary and a live book loses nothing.
 */
let sentinel: TestSentinel;
let stack: Stack;
let clients: Clients;

beforeAll(async () => {
  sentinel = await startTestSentinel();
  stack = await startStack(sentinel, {
    simulator: { seed: 12, updatesPerSecond: 15, venues: ['sim1'], symbols: ['BTC/USDT', 'ETH/USDT'] },
  });
  clients = trackedClients();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await sentinel?.stop();
});

describe('Redis Sentinel', () => {
  it('finds the primary through the sentinels', async () => {
    expect(await sentinel.primaryPort()).toBe(sentinel.primary.port);
    const store = new BookStore(stack.redis, REGION);
    await expect.poll(() => store.readExchanges(), { timeout: 60_000 }).toContain('sim1');
    // The app's writes reached the primary that Sentinel names, and were replicated.
    const onPrimary = await sentinel.admin(sentinel.primary.port).smembers(`bg:${REGION}:exchanges`);
    expect(onPrimary).toContain('sim1');
  });

  it('runs `bookgraph start` from REDIS_URL=redis+sentinel://… alone', async () => {
    await expectRuntimeServesBooks(sentinel.url, clients);
  });

  it('loses nothing of a live book through a failover, and follows the new primary', async () => {
    let promoted = 0;
    await expectNothingLostThrough(
      stack,
      clients,
      [
        ['sim1', 'BTC/USDT', 10],
        ['sim1', 'ETH/USDT', 5],
      ],
      async () => {
        promoted = await sentinel.failover();
      },
    );
    expect(promoted).toBe(sentinel.replica.port);
    // The events written after the failover are on the new primary.
    const meta = await sentinel.admin(promoted).hget(bookKeys(REGION, 'sim1', 'BTC/USDT').meta, 'seq');
    expect(Number(meta)).toBe(stack.reference.last('sim1', 'BTC/USDT')?.seq);
  });
});
