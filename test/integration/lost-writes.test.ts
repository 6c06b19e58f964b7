import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookKeys } from '../../src/redis/keys.ts';
import { ClientBook, checkClients } from '../helpers/book-checker.ts';
import { type Clients, followBook, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { lastWritten, REGION, type Stack, startStack } from '../helpers/stack.ts';

/**
 * A failover can lose writes the old primary acknowledged and published (replication is
 * asynchronous): Redis then holds an older seq of the epoch than clients were already shown.
 * The server must not take them back in time with that snapshot; it waits for the writer's new
 * epoch (the writer's next delta is refused there) and announces it with RESET + SNAPSHOT.
 */
const EXCHANGE = 'sim1';
const SYMBOL = 'BTC/USDT';

let redis: TestRedis;
let stack: Stack;
let clients: Clients;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 5, updatesPerSecond: 30, venues: [EXCHANGE], symbols: [SYMBOL] },
  });
  clients = trackedClients();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

/** Script calls the server executed so far (its snapshot reads, once the writer is stopped). */
async function scriptCalls(): Promise<number> {
  const stats = await stack.redis.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe('writes lost in a failover', () => {
  it('never serves a stored book older than one delivered: RESET, then the new epoch', async () => {
    const book = new ClientBook(EXCHANGE, SYMBOL, 10);
    const handle = followBook(clients.ws(stack.wsUrl), book);
    await book.until(() => book.messages.filter((m) => m.type === 'DELTA').length >= 10);
    await stack.stopIngester();
    await book.untilCaughtUp(stack.reference);
    const delivered = lastWritten(stack, EXCHANGE, SYMBOL);

    // What a promoted replica that missed the last 5 writes holds: the same epoch, an older seq.
    await stack.redis.hset(bookKeys(REGION, EXCHANGE, SYMBOL).meta, 'seq', String(delivered.seq - 5));
    const reconnected = new Promise((resolve) => stack.subscriber.once('ready', resolve));
    await stack.redis.client('KILL', 'TYPE', 'pubsub');
    await reconnected;
    await book.until(() => book.lastMessage?.type === 'RESET');
    // Two snapshot reads after the reconnection (the replica saw the older book and retried), or
    // a message after the RESET, whichever comes first.
    const reads = await scriptCalls();
    const settled = async () => (await scriptCalls()) >= reads + 2 || book.lastMessage?.type !== 'RESET';
    await expect.poll(settled, { timeout: 60_000 }).toBe(true);
    expect(book.lastMessage?.type, 'announced, and nothing older shown').toBe('RESET');
    expect(stack.hub.liveReplica(EXCHANGE, SYMBOL)).toBeUndefined();

    // The writer comes back: a new epoch, which the client gets as its next SNAPSHOT.
    await stack.startIngester();
    await book.untilCaughtUp(stack.reference);
    handle.unsubscribe();
    const reset = book.messages.findLastIndex((m) => m.type === 'RESET');
    expect(book.messages[reset + 1]).toMatchObject({ type: 'SNAPSHOT' });
    expect(book.messages[reset + 1]?.epoch).not.toBe(delivered.epoch);
    expect(checkClients(stack.reference, [book])).toEqual([]);
  });
});
