import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Level } from '../../src/marketdata/types.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { bookKeys } from '../../src/redis/keys.ts';
import { ClientBook } from '../helpers/book-checker.ts';
import { type Clients, executeOk, followBook, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { lastWritten, REGION, type Stack, startStack } from '../helpers/stack.ts';

/**
 * `Query.orderBook` answers from the in-process replica when a subscription holds the book live
 * (no READ_BOOK script call), and that answer equals the replica and Redis at the same seq; a
 * replica that is not live (resyncing) is never used: the query reads Redis.
 */
const EXCHANGE = 'sim1';
const SYMBOL = 'BTC/USDT';
const DEPTH = 20;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 7, updatesPerSecond: 30, venues: [EXCHANGE], symbols: [SYMBOL] },
  });
  clients = trackedClients();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

interface Answer {
  epoch: string;
  seq: number;
  region: string;
  bids: { price: string; size: string }[];
  asks: { price: string; size: string }[];
}

const query = () =>
  executeOk<{ orderBook: Answer }>(
    stack.app,
    `{ orderBook(exchange: "${EXCHANGE}", symbol: "${SYMBOL}", depth: ${DEPTH}) { epoch seq region bids { price size } asks { price size } } }`,
  ).then((d) => d.orderBook);

const levels = (side: Answer['bids']): Level[] => side.map((l) => [l.price, l.size] as const);

/** Calls of one command Redis executed so far (evalsha: READ_BOOK and every other script). */
async function calls(command = 'evalsha'): Promise<number> {
  const stats = await stack.redis.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}
const scriptCalls = () => calls('evalsha');

describe('orderBook from the in-process replica', () => {
  it('a held live book: answered without a Redis read, equal to the replica and to Redis at the same seq', async () => {
    const book = new ClientBook(EXCHANGE, SYMBOL, DEPTH);
    followBook(clients.ws(stack.wsUrl), book);
    await book.until(() => book.messages.filter((m) => m.type === 'DELTA').length >= 5);
    // A still book (the writer stopped), so Redis, the replica and the query can be compared.
    await stack.stopIngester();
    await book.untilCaughtUp(stack.reference);
    const replica = stack.hub.liveReplica(EXCHANGE, SYMBOL);
    expect(replica, 'a subscription holds the book live').toBeDefined();

    const before = [await scriptCalls(), await calls('hget')];
    const answer = await query();
    expect(await scriptCalls(), 'no READ_BOOK call: served from the replica').toBe(before[0]);
    expect(await calls('hget'), 'no market read either: no Redis round trip').toBe(before[1]);

    const stored = await new BookStore(stack.redis, REGION).readBook(EXCHANGE, SYMBOL, DEPTH);
    const top = replica!.book.top(DEPTH);
    expect(stored).not.toBeNull();
    expect(answer.seq).toBe(lastWritten(stack, EXCHANGE, SYMBOL).seq);
    expect([answer.epoch, answer.seq, answer.region]).toEqual([
      replica!.epoch,
      replica!.seq,
      replica!.region,
    ]);
    expect([answer.epoch, answer.seq, answer.region]).toEqual([stored!.epoch, stored!.seq, stored!.region]);
    expect(levels(answer.bids)).toEqual(top.bids);
    expect(levels(answer.asks)).toEqual(top.asks);
    expect(levels(answer.bids)).toEqual(stored!.bids);
    expect(levels(answer.asks)).toEqual(stored!.asks);
    expect(answer.bids.length).toBe(DEPTH);

    // The book stands still: asked again, the answer is the one kept (held-book-results.ts), and
    // the metric says so.
    expect(await query()).toEqual(answer);
    const metrics = await (await fetch(`http://127.0.0.1:${stack.port}/metrics`)).text();
    const reused = /bookgraph_held_book_query_answers_total\{answer="reused"\} (\d+)/.exec(metrics)?.[1];
    expect(Number(reused), 'bookgraph_held_book_query_answers_total{answer="reused"}').toBeGreaterThanOrEqual(
      1,
    );
  });

  it('a replica that is resyncing is not used: the query reads Redis', async () => {
    const book = new ClientBook(EXCHANGE, SYMBOL, DEPTH);
    followBook(clients.ws(stack.wsUrl), book);
    await book.until(() => book.hasBook);
    const delivered = lastWritten(stack, EXCHANGE, SYMBOL);
    // Redis now holds an older seq of the same epoch than the replica delivered (writes lost in a
    // failover): after a reconnection the replica refuses that snapshot and stays out of `live`
    // until a new epoch, which cannot come while the writer is stopped.
    await stack.redis.hset(bookKeys(REGION, EXCHANGE, SYMBOL).meta, 'seq', String(delivered.seq - 5));
    const reconnected = new Promise((resolve) => stack.subscriber.once('ready', resolve));
    await stack.redis.client('KILL', 'TYPE', 'pubsub');
    await reconnected;
    await book.until(() => book.lastMessage?.type === 'RESET');
    await expect.poll(() => stack.hub.liveReplica(EXCHANGE, SYMBOL), { timeout: 60_000 }).toBeUndefined();

    const before = await scriptCalls();
    const answer = await query();
    expect(await scriptCalls(), 'READ_BOOK called: served from Redis').toBeGreaterThan(before);
    const stored = await new BookStore(stack.redis, REGION).readBook(EXCHANGE, SYMBOL, DEPTH);
    expect(answer.seq, "Redis's seq, not the replica's").toBe(delivered.seq - 5);
    expect([answer.epoch, answer.seq]).toEqual([stored!.epoch, stored!.seq]);
    expect(levels(answer.bids)).toEqual(stored!.bids);
    expect(levels(answer.asks)).toEqual(stored!.asks);
  });
});
