import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeldBookResults } from '../../src/server/plugins/held-book-results.ts';
import { ClientBook } from '../helpers/book-checker.ts';
import { type Clients, executeOk, followBook, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/**
 * A query on books this server holds live keeps its answer while the books do not change
 * (src/server/plugins/held-book-results.ts): the same answer as a new execution, never an older
 * book, never `stale: false` once the book went stale, per set of variables.
 */
const EXCHANGE = 'sim1';
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];
const STALE_AFTER_MS = 1_500;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;
const results = new HeldBookResults();

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 11, updatesPerSecond: 20, venues: [EXCHANGE], symbols: SYMBOLS },
    limits: { staleAfterMs: STALE_AFTER_MS },
    heldBookResults: results,
  });
  clients = trackedClients();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

interface Answer {
  symbol: string;
  seq: number;
  stale: boolean;
  bids: { price: string; size: string }[];
}

const QUERY =
  'query Book($s: String!, $d: Int) { orderBook(exchange: "sim1", symbol: $s, depth: $d) { symbol seq stale bids { price size } } }';
const ask = (symbol: string, depth = 5) =>
  executeOk<{ orderBook: Answer }>(stack.app, QUERY, { s: symbol, d: depth }).then((d) => d.orderBook);

/** What the server's replica holds now, as the query would show it. */
function held(symbol: string, depth = 5) {
  const replica = stack.hub.liveReplica(EXCHANGE, symbol)!;
  return { seq: replica.seq, bids: replica.book.top(depth).bids.map(([price, size]) => ({ price, size })) };
}

describe('answers of queries on held books', () => {
  it('are reused while the book stands still, and follow it as soon as it moves', async () => {
    for (const symbol of SYMBOLS) {
      const book = new ClientBook(EXCHANGE, symbol, 20);
      followBook(clients.ws(stack.wsUrl), book);
      await book.until(() => book.messages.filter((m) => m.type === 'DELTA').length >= 3);
    }
    await stack.stopIngester();
    await expect.poll(() => SYMBOLS.every((s) => stack.hub.liveReplica(EXCHANGE, s))).toBe(true);

    const first = await ask(SYMBOLS[0]!);
    const hits = results.hits;
    const again = await ask(SYMBOLS[0]!);
    expect(results.hits, 'the second answer was the kept one').toBe(hits + 1);
    expect(again).toEqual(first);
    expect({ seq: again.seq, bids: again.bids }).toEqual(held(SYMBOLS[0]!));
    // Other variables, another answer: the other book, and another depth of the same one.
    const other = await ask(SYMBOLS[1]!);
    expect(other.symbol).toBe(SYMBOLS[1]);
    expect({ seq: other.seq, bids: other.bids }).toEqual(held(SYMBOLS[1]!));
    expect((await ask(SYMBOLS[0]!, 3)).bids).toEqual(held(SYMBOLS[0]!, 3).bids);
    // Literal arguments (read once per document): the same, without variables.
    const literal =
      '{ orderBook(exchange: "sim1", symbol: "ETH/USDT", depth: 5) { seq bids { price size } } }';
    const once = await executeOk<{ orderBook: Omit<Answer, 'symbol' | 'stale'> }>(stack.app, literal);
    const literalHits = results.hits;
    const twice = await executeOk<{ orderBook: Omit<Answer, 'symbol' | 'stale'> }>(stack.app, literal);
    expect(results.hits).toBe(literalHits + 1);
    expect(twice.orderBook).toEqual(once.orderBook);
    expect(twice.orderBook).toEqual(held(SYMBOLS[1]!));

    // The book moves: the next answer is the new book, not the kept one.
    const before = first.seq;
    await stack.startIngester();
    await expect.poll(() => stack.hub.liveReplica(EXCHANGE, SYMBOLS[0]!)?.seq ?? 0).toBeGreaterThan(before);
    await stack.stopIngester();
    const moved = await ask(SYMBOLS[0]!);
    expect(moved.seq).toBeGreaterThan(before);
    expect({ seq: moved.seq, bids: moved.bids }).toEqual(held(SYMBOLS[0]!));
  });

  it('never answers `stale: false` for a book that went stale since its answer was kept', async () => {
    // The writer is stopped (previous test): the book stands still and will go stale.
    await expect.poll(() => stack.hub.liveReplica(EXCHANGE, SYMBOLS[1]!)).toBeDefined();
    const replica = stack.hub.liveReplica(EXCHANGE, SYMBOLS[1]!)!;
    const fresh = Date.now() - replica.receiveTs <= STALE_AFTER_MS;
    const answer = await ask(SYMBOLS[1]!);
    if (fresh) expect(answer.stale).toBe(false);
    await expect
      .poll(() => Date.now() - replica.receiveTs, { timeout: 30_000 })
      .toBeGreaterThan(STALE_AFTER_MS + 50);
    const later = await ask(SYMBOLS[1]!);
    expect(later.stale).toBe(true);
    expect(later.seq).toBe(answer.seq);
  });

  it('keeps nothing for operations that read anything but held books', async () => {
    const misses = results.misses;
    const hits = results.hits;
    await executeOk(
      stack.app,
      '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 5) { seq } region }',
    );
    await executeOk(
      stack.app,
      '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 5) { seq } region }',
    );
    expect([results.hits, results.misses]).toEqual([hits, misses]);
  });
});
