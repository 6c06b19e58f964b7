import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ingester } from '../../src/ingest/ingester.ts';
import { createLogger } from '../../src/log.ts';
import type { BookEvent, Trade } from '../../src/marketdata/types.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { ClientBook, checkClients } from '../helpers/book-checker.ts';
import {
  type Clients,
  executeOk,
  followBook,
  subscribe,
  trackedClients,
} from '../helpers/graphql-clients.ts';
import { fillMemory, oomArgs } from '../helpers/oom.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';
import { SteppedFeed } from '../helpers/stepped-feed.ts';

/**
 * Redis out of memory (`maxmemory` + `noeviction`): every write is refused until memory is freed.
 * Books must not reset in a storm (a snapshot attempt per feed update), trade subscribers must be
 * told what was lost, and everything must come back once memory is freed.
 */
const BOOKS: Array<[string, string]> = [
  ['sim1', 'BTC/USDT'],
  ['sim1', 'ETH/USDT'],
];

const TRADES = `subscription Trades($exchange: String!, $symbol: String!) {
  trades(exchange: $exchange, symbol: $symbol) { id lostBefore }
}`;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;
const written: Trade[] = [];

beforeAll(async () => {
  redis = await startTestRedis({ args: oomArgs() });
  stack = await startStack(redis, {
    simulator: { seed: 5, updatesPerSecond: 50, venues: ['sim1'], symbols: ['BTC/USDT', 'ETH/USDT'] },
    ingester: { onTradeWritten: (trade) => written.push(trade) },
  });
  clients = trackedClients();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

describe('Redis out of memory', () => {
  it('backs off instead of resetting books in a storm, announces lost trades, and recovers', async () => {
    const ingester = stack.ingester!;
    const ws = clients.ws(stack.wsUrl);
    const books = BOOKS.map(([exchange, symbol]) => new ClientBook(exchange, symbol, 10));
    const handles = books.map((book) => followBook(ws, book));
    const trades = new Map<string, Array<{ id: string; lostBefore: number }>>();
    const tradeHandles = BOOKS.map(([exchange, symbol]) => {
      const got: Array<{ id: string; lostBefore: number }> = [];
      trades.set(symbol, got);
      return subscribe<{ id: string; lostBefore: number }>(ws, TRADES, { exchange, symbol }, (t) =>
        got.push(t),
      );
    });
    await Promise.all(books.map((book) => book.until(() => book.hasBook)));
    await expect
      .poll(() => BOOKS.every(([, symbol]) => trades.get(symbol)!.length > 0), { timeout: 60_000 })
      .toBe(true);
    const resetsBefore = books.map((book) => book.resets.length);

    await fillMemory(stack.redis);
    const errorsAtFill = ingester.stats.writeErrors;
    // Long enough that a storm would show: each book's writes refused several times over, and
    // trades lost on both markets (about two seconds at 50 updates a second).
    await expect
      .poll(
        () =>
          ingester.stats.writeErrors - errorsAtFill - ingester.stats.tradesLost >= 6 &&
          ingester.stats.tradesLost >= 4,
        { timeout: 60_000, interval: 50 },
      )
      .toBe(true);
    // While memory is full, no subscriber's book was reset more than once (the outage's RESET
    // comes with the snapshot that reopens the book, once Redis accepts it).
    expect(books.map((book, i) => book.resets.length - resetsBefore[i]!)).toEqual([0, 0]);

    const freedAt = Date.now();
    await stack.redis.del('test:junk');
    const fresh = books.map((book, i) =>
      book
        .until(() => book.resets.length > resetsBefore[i]! && book.hasBook)
        .then(() => Date.now() - freedAt),
    );
    const firstFreshMs = await Promise.race(fresh);
    const allFreshMs = Math.max(...(await Promise.all(fresh)));
    console.log(
      `OOM (maxmemory + noeviction): first fresh book ${firstFreshMs} ms after memory was freed, every book ${allFreshMs} ms`,
    );

    // Exactly one RESET per book for the whole outage.
    expect(books.map((book, i) => book.resets.length - resetsBefore[i]!)).toEqual([1, 1]);
    // Books: nothing lost, every message matches the writer's book at its seq.
    await Promise.all(books.map((book) => book.untilCaughtUp(stack.reference)));
    expect(checkClients(stack.reference, books)).toEqual([]);

    // Trades: every lost one announced by the next trade written of its market, and the
    // subscribers got exactly the trades written, in order.
    const lost = ingester.stats.tradesLost;
    await expect
      .poll(() => written.reduce((sum, t) => sum + (t.lostBefore ?? 0), 0), { timeout: 60_000 })
      .toBe(lost);
    for (const [exchange, symbol] of BOOKS) {
      const mine = written.filter((t) => t.exchange === exchange && t.symbol === symbol);
      const got = trades.get(symbol)!;
      await expect.poll(() => got.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(mine.length);
      const start = mine.findIndex((t) => t.id === got[0]!.id);
      expect(got.slice(0, mine.length - start)).toEqual(
        mine.slice(start).map((t) => ({ id: t.id, lostBefore: t.lostBefore ?? 0 })),
      );
      expect(got.some((t) => t.lostBefore > 0)).toBe(true);
      // The stream keeps the count too: the query shows the same trades with the same counts.
      const { trades: stored } = await executeOk<{ trades: Array<{ id: string; lostBefore: number }> }>(
        stack.app,
        `query ($e: String!, $s: String!) { trades(exchange: $e, symbol: $s, limit: 1000) { id lostBefore } }`,
        { e: exchange, s: symbol },
      );
      const announced = mine.filter((t) => (t.lostBefore ?? 0) > 0);
      expect(stored.filter((t) => t.lostBefore > 0).reverse()).toEqual(
        announced.map((t) => ({ id: t.id, lostBefore: t.lostBefore })),
      );
    }
    for (const handle of [...handles, ...tradeHandles]) {
      expect(handle.errors).toEqual([]);
      handle.unsubscribe();
    }
  });
});

describe('a book whose writes Redis refuses (OOM)', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startTestRedis({ args: oomArgs() });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('asks the feed for a snapshot once per backoff step, writes nothing meanwhile, and logs short lines', async () => {
    const writer = createRedis(server.url, 'writer');
    writer.on('error', () => {});
    const admin = server.client();
    const lines: string[] = [];
    const log = createLogger('info', { destination: { write: (line: string) => void lines.push(line) } });
    let now = 1_000_000;
    const feed = new SteppedFeed();
    const written: BookEvent[] = [];
    const ingester = new Ingester({
      store: new BookStore(writer, 'test'),
      feeds: [feed],
      log,
      // The backoff's own clock, moved by the test; the longest wait of each step (jitter 1).
      reopenBackoff: { now: () => now, random: () => 0.999_999 },
      onWritten: (event) => written.push(event),
    });
    await ingester.start();
    feed.step(3);
    await ingester.drain();
    expect(written.map((e) => e.kind)).toEqual(['snapshot', 'delta', 'delta']);

    await fillMemory(admin);
    /** Steps the feed `rounds` times, then checks snapshots asked for and failed writes so far. */
    const round = async (rounds: number, asked: number, errors: number) => {
      feed.step(rounds);
      await ingester.drain();
      expect([feed.snapshotsAsked, ingester.stats.writeErrors]).toEqual([asked, errors]);
    };
    await round(1, 0, 1);
    // Within the first wait (250 ms), 50 updates ask for no snapshot and write nothing.
    await round(50, 0, 1);
    now += 250;
    // One snapshot asked for; Redis refused it whole (no DEL let through: written is unchanged).
    await round(1, 1, 2);
    await round(20, 1, 2);
    // The second wait is 500 ms.
    now += 250;
    await round(20, 1, 2);
    now += 250;
    await round(1, 2, 3);
    expect(written).toHaveLength(3);
    const stored = await new BookStore(admin, 'test').readBook('sim1', 'BTC/USDT', 0);
    expect(stored?.seq).toBe(3);

    await admin.del('test:junk');
    now += 1_000;
    await round(5, 3, 3);
    expect(written[3]).toMatchObject({ kind: 'snapshot', seq: 1 });
    expect(written[3]!.epoch).not.toBe(written[0]!.epoch);
    const expected = feed.sim.snapshot('sim1', 'BTC/USDT')!;
    const after = await new BookStore(admin, 'test').readBook('sim1', 'BTC/USDT', 0);
    expect(after?.bids).toEqual(expected.bids);
    expect(after?.asks).toEqual(expected.asks);

    // Write-failure lines: the command and key, never the script's arguments (prices, sizes).
    const failures = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.command);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.filter((l) => l.command === 'write_book').length).toBeLessThanOrEqual(3);
    for (const line of lines.filter((l) => l.includes('"command"'))) {
      expect(line.length).toBeLessThan(400);
      expect(line.toLowerCase()).not.toContain('evalsha');
      expect(line).not.toContain('"args"');
    }
    // The book's line (other writes fail too, such as the feed status a timer re-asserts, and may
    // come first on a slow machine).
    expect(failures.find((l) => l.command === 'write_book')).toMatchObject({
      key: expect.stringContaining('BTC/USDT'),
    });
    await ingester.stop();
    writer.disconnect();
  });
});
