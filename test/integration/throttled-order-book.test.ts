import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameTop, type WireLevel } from '../helpers/book-checker.ts';
import { type Clients, subscribe, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/**
 * `Subscription.orderBook(throttleMs)`: whole books, conflated to about one per interval, each
 * equal to the writer's book at its seq, and the final state always delivered.
 */
const EXCHANGE = 'sim1';
const SYMBOL = 'BTC/USDT';
const THROTTLE_MS = 200;
const UPDATES_PER_SEC = 100;

interface ThrottledBook {
  epoch: string;
  seq: number;
  bids: WireLevel[];
  asks: WireLevel[];
}

const QUERY = `subscription Throttled($exchange: String!, $symbol: String!, $depth: Int!, $throttleMs: Int!) {
  orderBook(exchange: $exchange, symbol: $symbol, depth: $depth, throttleMs: $throttleMs) {
    epoch seq bids { price size } asks { price size }
  }
}`;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 3, updatesPerSecond: UPDATES_PER_SEC, venues: [EXCHANGE], symbols: [SYMBOL] },
  });
  clients = trackedClients();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

const toTop = (b: ThrottledBook) => ({
  bids: b.bids.map((l) => [l.price, l.size] as const),
  asks: b.asks.map((l) => [l.price, l.size] as const),
});

describe('throttled orderBook subscription', () => {
  it('sends at most about one book per interval, each correct, and the final state last', async () => {
    const ws = clients.ws(stack.wsUrl);
    // depth 100 holds the whole simulated book (at most 80 levels a side), so every event changes
    // it; depth 5 sees only the events that touch its window.
    const depths = [5, 100];
    const received = depths.map(() => [] as { at: number; book: ThrottledBook }[]);
    let wake = () => {};
    const handles = depths.map((depth, i) =>
      subscribe<ThrottledBook>(
        ws,
        QUERY,
        { exchange: EXCHANGE, symbol: SYMBOL, depth, throttleMs: THROTTLE_MS },
        (book) => {
          received[i]!.push({ at: performance.now(), book });
          wake();
        },
      ),
    );
    await stack.reference.until(() => received.every((r) => r.length > 0), 60_000, 'first books');
    const target = stack.reference.count(EXCHANGE, SYMBOL) + 150;
    await stack.reference.until(() => stack.reference.count(EXCHANGE, SYMBOL) >= target, 60_000, 'events');
    await stack.stopIngester();
    const final = stack.reference.last(EXCHANGE, SYMBOL)!;

    // The final state arrives within an interval of the last change, without another event.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('final books never arrived')), 60_000);
      const check = () => {
        const done = depths.every((depth, i) => {
          const last = received[i]!.at(-1)?.book;
          const expected = stack.reference.top(EXCHANGE, SYMBOL, final.epoch, final.seq, depth)!;
          return last !== undefined && sameTop(toTop(last), expected);
        });
        if (done) {
          clearTimeout(timer);
          resolve();
        }
      };
      wake = check;
      check();
    });
    for (const h of handles) h.unsubscribe();

    for (const [i, depth] of depths.entries()) {
      const messages = received[i]!;
      const books = messages.map((m) => m.book);
      // Loose bound: the first book at once, then at most one per interval (+ slack for timers).
      const span = messages.at(-1)!.at - messages[0]!.at;
      expect(messages.length, `depth ${depth}: ${messages.length} books in ${span} ms`).toBeLessThanOrEqual(
        span / THROTTLE_MS + 2,
      );
      expect(messages.length, `depth ${depth} conflates`).toBeGreaterThan(2);
      for (let k = 1; k < books.length; k++) {
        expect(books[k]!.epoch).toBe(books[k - 1]!.epoch);
        expect(books[k]!.seq, `depth ${depth}: seq strictly increasing`).toBeGreaterThan(books[k - 1]!.seq);
      }
      for (const book of books) {
        const expected = stack.reference.top(EXCHANGE, SYMBOL, book.epoch, book.seq, depth);
        expect(expected, `depth ${depth}: (${book.epoch}, ${book.seq}) was written`).toBeDefined();
        expect(sameTop(toTop(book), expected!), `depth ${depth}: book at seq ${book.seq}`).toBe(true);
        expect(book.bids.length).toBeLessThanOrEqual(depth);
        expect(book.asks.length).toBeLessThanOrEqual(depth);
      }
      const last = books.at(-1)!;
      expect(last.epoch).toBe(final.epoch);
      // The last book is sent after the last event that changed its window, and carries the
      // replica's seq at that moment: the final seq for the whole book; for a narrow window, at
      // least the last window change (later events only touched deeper levels).
      const lastChange = stack.reference.lastWindowChange(EXCHANGE, SYMBOL, final.epoch, final.seq, depth);
      expect(last.seq, `depth ${depth}: last seq`).toBeGreaterThanOrEqual(lastChange);
      expect(last.seq).toBeLessThanOrEqual(final.seq);
      if (depth === 100) expect(last.seq).toBe(final.seq);
    }
    for (const h of handles) expect(h.errors).toEqual([]);
  });
});
