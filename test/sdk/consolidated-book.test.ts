import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BookgraphClient,
  BookgraphError,
  type ConsolidatedBookChange,
  createBookgraphClient,
  type LocalConsolidatedBook,
  venueLevels,
  watchConsolidatedBook,
} from '../../sdk/src/index.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { Wakeups } from '../helpers/book-checker.ts';
import { decimal, units } from '../helpers/exact.ts';
import { writeCrossingBook } from '../helpers/merged-book.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import { crossedReference, mergeReference } from './support.ts';

/**
 * The SDK's consolidated-book client against a real server: every book it reports equals the
 * merge, computed here, of the writer's own books at the (epoch, seq) of each venue it names.
 */
const S = 'BTC/USDT';
const VENUES = ['sim1', 'sim2', 'sim3'];
const DEPTH = 10;

let redis: TestRedis;
let stack: Stack;
let client: BookgraphClient;
const seen: { book: LocalConsolidatedBook; change: ConsolidatedBookChange }[] = [];
const wakeups = new Wakeups();
const untilSeen = (condition: () => boolean, what: string, timeoutMs = 60_000) =>
  wakeups.until(condition, timeoutMs, what);

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 33, updatesPerSecond: 50, symbols: [S] },
    limits: { staleAfterMs: 1_500 },
  });
  client = createBookgraphClient({ url: stack.httpUrl, retry: { attempts: 2, initialDelayMs: 50 } });
  await stack.reference.until(() => VENUES.every((v) => stack.reference.count(v, S) > 0));
});

afterAll(async () => {
  await client?.dispose();
  await stack?.stop();
  await redis?.stop();
});

describe('watchConsolidatedBook', () => {
  it('every book equals the merge of the reference books at the venues’ (epoch, seq)', async () => {
    const watch = watchConsolidatedBook(client, { symbol: S, depth: DEPTH, throttleMs: 20 });
    watch.on('change', (book, change) => {
      seen.push({ book, change });
      wakeups.notify();
    });
    const first = await watch.ready();
    expect(first.symbol).toBe(S);
    await untilSeen(() => seen.length >= 30, '30 consolidated books');
    await stack.stopIngester();
    await untilSeen(
      () =>
        watch
          .current()
          ?.venues.every((v) => v.seq === stack.reference.last(v.exchange, S)?.seq && !v.stale) ?? false,
      'the watch to reach the last events',
    );
    expect(seen[0]!.change.first).toBe(true);
    for (const [i, { book, change }] of seen.entries()) {
      expect(book.venues.map((v) => v.exchange)).toEqual(VENUES);
      const expected = mergeReference(stack.reference, S, book.venues, DEPTH);
      expect({ bids: book.bids, asks: book.asks }, `book #${i}`).toEqual(expected);
      expect(book.bestBid).toEqual(expected.bids[0] ?? null);
      expect(book.bestAsk).toEqual(expected.asks[0] ?? null);
      expect(book.crossed).toBe(crossedReference(stack.reference, S, book.venues));
      expect(book.spread).toBe(decimal(units(book.bestAsk!.price) - units(book.bestBid!.price)));
      expect(book.liquidity.symbol).toBe(S);
      expect(book.liquidity.venues.map((v) => v.exchange)).toEqual(VENUES);
      expect(book.liquidity.consolidated.bands.map((b) => b.percent)).toEqual(['0.5', '1', '2']);
      expect(book.connected).toBe(true);
      // One venue's share of a level, read back with venueLevels, is that venue's reference book.
      if (i === seen.length - 1) {
        for (const v of book.venues) {
          const top = stack.reference.top(v.exchange, S, v.epoch, v.seq, DEPTH)!;
          const mine = venueLevels(book.bids, v.exchange);
          expect(mine).toEqual(top.bids.slice(0, mine.length).map(([price, size]) => ({ price, size })));
        }
      }
      if (i > 0) {
        const before = seen[i - 1]!.book;
        const moved = book.venues
          .filter((v) => before.venues.find((b) => b.exchange === v.exchange)?.seq !== v.seq)
          .map((v) => v.exchange);
        expect(change.venuesUpdated).toEqual(moved);
      }
    }
    await watch.close();
    expect(watch.resubscriptions).toBe(0);
  });

  it('reports a crossed book, then venues turning stale', async () => {
    const watch = watchConsolidatedBook(client, { symbol: S, depth: 5, throttleMs: 20 });
    const changes: { book: LocalConsolidatedBook; change: ConsolidatedBookChange }[] = [];
    const changeWakeups = new Wakeups();
    watch.on('change', (book, change) => {
      changes.push({ book, change });
      changeWakeups.notify();
    });
    const until = (condition: () => boolean, what: string) => changeWakeups.until(condition, 60_000, what);
    const book = await watch.ready();
    const bestAsk = book.bestAsk!.price;
    const crossingBid = await writeCrossingBook(new BookStore(redis.client(), REGION), 'sim3', S, bestAsk);
    await until(() => changes.some((c) => c.book.crossed), 'a crossed book');
    const crossed = changes.find((c) => c.book.crossed)!;
    expect(crossed.change.crossedChanged).toBe(true);
    expect(crossed.change.venuesUpdated).toContain('sim3');
    expect(crossed.book.bestBid).toEqual({
      price: crossingBid,
      size: '0.5',
      venues: [{ exchange: 'sim3', size: '0.5' }],
    });
    expect(units(crossed.book.spread!)).toBeLessThan(0n);

    // Nothing is written any more: within the 1.5 s threshold every venue turns stale.
    await until(() => (watch.current()?.staleVenues.length ?? 0) === 3, 'every venue stale');
    // On a loaded machine a venue can turn stale before the crossing write and fresh again with
    // it: each venue is reported stale at least once, and they all end stale.
    const becameStale = [...new Set(changes.flatMap((c) => c.change.becameStale))].sort();
    expect(becameStale).toEqual(VENUES);
    expect(watch.current()).toMatchObject({ stale: true, staleVenues: VENUES });
    await watch.close();
  });

  it('ends with the server’s error for a symbol nobody lists', async () => {
    const watch = watchConsolidatedBook(client, { symbol: 'NOPE/USDT', depth: 5 });
    const errors: BookgraphError[] = [];
    watch.on('error', (e) => errors.push(e));
    await expect(watch.ready()).rejects.toBeInstanceOf(BookgraphError);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('MARKET_NOT_FOUND');
    await expect(watch.ready()).rejects.toMatchObject({ code: 'MARKET_NOT_FOUND' });
    await watch.close();
  });
});
