import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientBook, checkClients } from '../helpers/book-checker.ts';
import { type Clients, followBook, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/**
 * "Nothing lost" end to end: simulator -> Redis -> replica -> view -> graphql-ws / SSE -> client.
 * Every message a client gets must leave it with exactly the writer's top-`depth` book at that
 * message's (epoch, seq), with no gap, duplicate or reordering.
 */
const UPDATES_PER_SEC = 75;
/** Events per book to watch after every client has its first snapshot (~2 s at 75/s). */
const WATCH_EVENTS = 150;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;
/** A real stream from the first test, replayed with faults by the second. */
let recorded: ClientBook | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: {
      seed: 7,
      updatesPerSecond: UPDATES_PER_SEC,
      venues: ['sim1', 'sim2'],
      symbols: ['BTC/USDT', 'ETH/USDT'],
    },
  });
  clients = trackedClients();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

describe('a live stream loses nothing', () => {
  it('keeps every graphql-ws and SSE client book equal to the writer book at every seq', async () => {
    const ws = clients.ws(stack.wsUrl);
    const wsBooks = [
      new ClientBook('sim1', 'BTC/USDT', 5),
      new ClientBook('sim1', 'BTC/USDT', 20),
      new ClientBook('sim1', 'ETH/USDT', 10),
      new ClientBook('sim2', 'BTC/USDT', 10),
      new ClientBook('sim2', 'ETH/USDT', 20),
    ];
    const sseBooks = [new ClientBook('sim1', 'BTC/USDT', 10), new ClientBook('sim2', 'ETH/USDT', 5)];
    const sse = clients.sse(stack.httpUrl);
    const handles = [
      ...wsBooks.map((book) => followBook(ws, book)),
      ...sseBooks.map((book) => followBook(sse, book)),
    ];
    const all = [...wsBooks, ...sseBooks];
    await Promise.all(all.map((book) => book.until(() => book.messages.length > 0)));

    const books = [...new Set(all.map((b) => `${b.exchange}|${b.symbol}`))].map((id) => id.split('|'));
    const targets = books.map(([x, s]) => stack.reference.count(x!, s!) + WATCH_EVENTS);
    await stack.reference.until(
      () => books.every(([x, s], i) => stack.reference.count(x!, s!) >= targets[i]!),
      60_000,
      `${WATCH_EVENTS} more events per book`,
    );
    await stack.stopIngester();
    await Promise.all(all.map((book) => book.untilCaughtUp(stack.reference)));
    for (const handle of handles) handle.unsubscribe();
    recorded = wsBooks[0];

    expect(checkClients(stack.reference, all)).toEqual([]);
    for (const book of all) {
      expect(book.messages[0]?.type, book.name).toBe('SNAPSHOT');
      expect(book.resets, `${book.name} had no reason to reset`).toEqual([]);
      // The stream must have carried the run, not one late snapshot.
      const deltas = book.messages.filter((m) => m.type === 'DELTA').length;
      expect(deltas, `${book.name} deltas`).toBeGreaterThan(WATCH_EVENTS / 4);
    }
    for (const handle of handles) expect(handle.errors, 'no GraphQL errors').toEqual([]);
  });

  it('the checker itself catches a dropped, a duplicated and a reordered delta', () => {
    // Replays the first test's real stream into fresh client books, with one fault each.
    const source = recorded;
    if (!source) throw new Error('the first test recorded no stream');
    const stream = source.messages.slice(0, 7);
    const faults = {
      dropped: [...stream.slice(0, 3), ...stream.slice(4)],
      duplicated: [...stream.slice(0, 4), stream[3]!, ...stream.slice(4)],
      reordered: [...stream.slice(0, 3), stream[4]!, stream[3]!, ...stream.slice(5)],
    };
    for (const [fault, messages] of Object.entries(faults)) {
      const book = new ClientBook('sim1', 'BTC/USDT', 5);
      for (const m of messages) book.apply(m);
      expect(checkClients(stack.reference, [book]).length, fault).toBeGreaterThan(0);
    }
    const clean = new ClientBook('sim1', 'BTC/USDT', 5);
    for (const m of stream) clean.apply(m);
    expect(checkClients(stack.reference, [clean])).toEqual([]);
  });
});
