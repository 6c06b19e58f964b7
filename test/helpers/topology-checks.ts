import { expect } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startRuntime } from '../../src/runtime.ts';
import { ClientBook, checkClients } from './book-checker.ts';
import { type Clients, executeOk, followBook, subscribe } from './graphql-clients.ts';
import type { Stack } from './stack.ts';

/**
 * `bookgraph start` (simulator, ingester, server) configured with `REDIS_URL=<url>` alone, as an
 * operator runs it: it must answer a book query and stream a live book, then stop cleanly.
 */
export async function expectRuntimeServesBooks(url: string, clients: Clients): Promise<void> {
  const runtime = await startRuntime({
    config: loadConfig({ REDIS_URL: url, PORT: '0', FEEDS: 'sim', NODE_ENV: 'test' }),
    log: createLogger('silent'),
    ingest: true,
    serve: true,
    launchRedis: false,
  });
  try {
    const app = runtime.app!;
    const query = '{ orderBook(exchange: "sim2", symbol: "ETH/USDT", depth: 3) { bids { price } } }';
    await expect
      .poll(
        async () => (await executeOk<{ orderBook: { bids: unknown[] } }>(app, query)).orderBook.bids.length,
        {
          timeout: 60_000,
        },
      )
      .toBe(3);
    const ws = clients.ws(`ws://127.0.0.1:${runtime.port}/graphql`);
    const book = new ClientBook('sim2', 'ETH/USDT', 3);
    const handle = followBook(ws, book);
    // Trades travel on a plain (not sharded) channel, on every topology.
    let gotTrade: () => void = () => {};
    const traded = new Promise<void>((resolve) => {
      gotTrade = resolve;
    });
    const trades = subscribe(
      ws,
      'subscription { trades(exchange: "sim2", symbol: "ETH/USDT") { price } }',
      {},
      () => gotTrade(),
    );
    await book.until(() => book.messages.some((m) => m.type === 'DELTA'));
    await traded;
    handle.unsubscribe();
    trades.unsubscribe();
    expect(book.violations).toEqual([]);
    expect([...handle.errors, ...trades.errors]).toEqual([]);
  } finally {
    await runtime.stop();
  }
}

/** Events per book to see before and again after the failover. */
const WATCH_EVENTS = 30;

/**
 * The live-book "nothing lost" run across a Redis failover: graphql-ws clients follow `books`,
 * the writer writes WATCH_EVENTS more events per book, `failover()` runs, the writer writes
 * WATCH_EVENTS more per book on the new primary, then stops; every client must catch up with the
 * writer's last book, and every message must leave it with the writer's book at that (epoch, seq).
 * A discontinuity is allowed only as a RESET followed by a SNAPSHOT (the checker's contract).
 */
export async function expectNothingLostThrough(
  stack: Stack,
  clients: Clients,
  books: readonly [exchange: string, symbol: string, depth: number][],
  failover: () => Promise<unknown>,
): Promise<ClientBook[]> {
  const ws = clients.ws(stack.wsUrl);
  const followed = books.map(([exchange, symbol, depth]) => new ClientBook(exchange, symbol, depth));
  const handles = followed.map((book) => followBook(ws, book));
  await Promise.all(followed.map((book) => book.until(() => book.messages.length > 0)));

  const moreEvents = async (what: string) => {
    const targets = followed.map((b) => stack.reference.count(b.exchange, b.symbol) + WATCH_EVENTS);
    await stack.reference.until(
      () => followed.every((b, i) => stack.reference.count(b.exchange, b.symbol) >= targets[i]!),
      60_000,
      `${WATCH_EVENTS} more events per book ${what}`,
    );
  };
  await moreEvents('before the failover');
  const before = followed.map((b) => b.messages.length);
  await failover();
  await moreEvents('after the failover');
  await stack.stopIngester();
  await Promise.all(followed.map((book) => book.untilCaughtUp(stack.reference)));
  for (const handle of handles) handle.unsubscribe();

  expect(checkClients(stack.reference, followed)).toEqual([]);
  for (const [i, book] of followed.entries()) {
    // The stream carried on after the failover: DELTAs, not one late snapshot. (How many depends on
    // how many events touch the window and how many fold into a resync's SNAPSHOT: on a machine
    // running four suites, 2 DELTAs for 30 events.)
    const deltas = book.messages.slice(before[i]!).filter((m) => m.type === 'DELTA').length;
    expect(deltas, `${book.name} DELTAs after the failover`).toBeGreaterThanOrEqual(1);
  }
  for (const handle of handles) expect(handle.errors, 'no GraphQL errors').toEqual([]);
  return followed;
}
