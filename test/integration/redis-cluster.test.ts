import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import { isCluster } from '../../src/redis/connection.ts';
import { bookChannel, bookKeys } from '../../src/redis/keys.ts';
import { ClientBook } from '../helpers/book-checker.ts';
import { type Clients, followBook, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestCluster, type TestCluster } from '../helpers/redis-topologies.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import { expectNothingLostThrough, expectRuntimeServesBooks } from '../helpers/topology-checks.ts';

/**
 * The ingester and the server on a real Redis Cluster (3 masters + 3 replicas, REDIS_URL
 * `redis+cluster://…`): scripts and pipelines stay in one slot, book channels are sharded
 * (SPUBLISH / SSUBSCRIBE on the shard that owns the book), and a live book loses nothing through
 * a failover of the master that owns it, manual (CLUSTER FAILOVER) and forced (SIGKILL).
 */
let cluster: TestCluster;
let stack: Stack;
let clients: Clients;

const SIMULATOR = { seed: 11, updatesPerSecond: 15, venues: ['sim1'], symbols: ['BTC/USDT', 'ETH/USDT'] };

beforeAll(async () => {
  cluster = await startTestCluster();
  stack = await startStack(cluster, { simulator: SIMULATOR });
  clients = trackedClients();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await cluster?.stop();
});

describe('Redis Cluster', () => {
  it('connects as a Cluster and registers markets across slots (exchange set and market hash apart)', async () => {
    expect(isCluster(stack.redis)).toBe(true);
    const store = new BookStore(stack.redis, REGION);
    await expect.poll(() => store.readExchanges(), { timeout: 60_000 }).toContain('sim1');
    expect((await store.readMarkets('sim1')).map((m) => m.symbol)).toEqual(['BTC/USDT', 'ETH/USDT']);
    const book = await store.readBook('sim1', 'BTC/USDT', 5);
    expect(book?.bids.length).toBe(5);
  });

  it('publishes book events on the sharded channel of the shard that owns the book', async () => {
    const ws = clients.ws(stack.wsUrl);
    const book = new ClientBook('sim1', 'ETH/USDT', 5);
    const handle = followBook(ws, book);
    await book.until(() => book.messages.length > 2);
    const channel = bookChannel(REGION, 'sim1', 'ETH/USDT');
    // Same slot as the book's keys: the write script may SPUBLISH on it.
    expect(calculateSlot(channel)).toBe(calculateSlot(bookKeys(REGION, 'sim1', 'ETH/USDT').meta));
    const owner = cluster.admin(await cluster.masterOf(channel));
    const [, shardSubscribers] = (await owner.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
    const [, plainSubscribers] = (await owner.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
    expect({ shardSubscribers, plainSubscribers }).toEqual({ shardSubscribers: 1, plainSubscribers: 0 });
    handle.unsubscribe();
    // Once nobody watches the book (after the hub's idle delay) the shard subscription ends.
    const shardSubscribersNow = async () =>
      ((await owner.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1];
    await expect.poll(shardSubscribersNow, { timeout: 60_000 }).toBe(0);
  });

  it('runs `bookgraph start` from REDIS_URL=redis+cluster://… alone', async () => {
    await expectRuntimeServesBooks(cluster.url, clients);
  });

  it('loses nothing of a live book through a failover of the master that owns it', async () => {
    const watched = bookChannel(REGION, 'sim1', 'BTC/USDT');
    const oldMaster = await cluster.masterOf(watched);
    let newMaster = 0;
    await expectNothingLostThrough(
      stack,
      clients,
      [
        ['sim1', 'BTC/USDT', 10],
        ['sim1', 'ETH/USDT', 5],
      ],
      async () => {
        newMaster = await cluster.failover(watched);
      },
    );
    expect(newMaster).not.toBe(oldMaster);
    expect(await cluster.masterOf(watched)).toBe(newMaster);
  });

  it('loses nothing of a live book when the master that owns it is killed (SIGKILL)', async () => {
    await stack.startIngester();
    const watched = bookChannel(REGION, 'sim1', 'ETH/USDT');
    const killed = await cluster.masterOf(watched);
    let promoted = 0;
    await expectNothingLostThrough(
      stack,
      clients,
      [
        ['sim1', 'ETH/USDT', 10],
        ['sim1', 'BTC/USDT', 5],
      ],
      async () => {
        promoted = await cluster.killMaster(watched);
      },
    );
    expect(promoted).not.toBe(killed);
  });
});
