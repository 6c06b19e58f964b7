import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlternativeBookWriter } from '../../bench/replication-encodings.ts';
import { OrderBook } from '../../src/marketdata/order-book.ts';
import type { BookEvent, Level } from '../../src/marketdata/types.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis, type RedisClient } from '../../src/redis/connection.ts';
import { bookKeys, legacyBookKeys } from '../../src/redis/keys.ts';
import { RegionalBooks } from '../../src/redis/regional-books.ts';
import { isFencedError } from '../../src/redis/writer-lease.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

/**
 * Book encoding v2 (a HASH per side, lean meta) against a real Redis: the stored book equals the
 * writer's through snapshot / delta / removal chains, and a rolling deploy from v1 never lets a
 * reader of either version read the other's keys as its own.
 */
const X = 'venue';
/** The channel message the write script publishes: nobody listens in this file, any text will do. */
const message = (event: BookEvent) => JSON.stringify(event);
const S = 'BTC/USDT';

let redis: TestRedis;
let commands: RedisClient;

beforeAll(async () => {
  redis = await startTestRedis();
  commands = createRedis(redis.url, 'command');
});

afterAll(async () => {
  commands?.disconnect();
  await redis?.stop();
});

function event(
  region: string,
  kind: BookEvent['kind'],
  epoch: string,
  seq: number,
  bids: Level[],
  asks: Level[],
  receiveTs = Date.now(),
): BookEvent {
  return { region, exchange: X, symbol: S, kind, epoch, seq, exchangeTs: receiveTs, receiveTs, bids, asks };
}

/** Prices that order differently as doubles and as decimals, and sizes 0 (a removal) among others. */
const price = fc.oneof(
  fc.integer({ min: 1, max: 40 }).map((n) => String(100 + n / 4)),
  fc.constantFrom('0.1', '0.10000000000000000001', '0.1000000000000000001'),
);
const size = fc.oneof(
  fc.constant('0'),
  fc.integer({ min: 1, max: 999 }).map((n) => `${n / 100}`),
);
const levels = fc.uniqueArray(fc.tuple(price, size), { selector: (l) => l[0], maxLength: 12 });

describe('book encoding v2', () => {
  it('stores the book the events make, best first at every depth, through snapshot/delta/removal chains', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), levels, levels), { minLength: 1, maxLength: 12 }),
        async (steps) => {
          run += 1;
          const region = `p${run}`;
          const store = new BookStore(commands, region);
          const expected = new OrderBook();
          let seq = 0;
          let epoch = 'e0';
          for (const [isSnapshot, bids, asks] of steps) {
            const snapshot = isSnapshot || seq === 0;
            if (snapshot) {
              epoch = `e${seq}`;
              seq = 1;
              const kept = (l: Level[]) => l.filter(([, s]) => s !== '0');
              expected.replace(kept(bids), kept(asks));
            } else {
              seq += 1;
              expected.apply(bids, asks);
            }
            const e = event(region, snapshot ? 'snapshot' : 'delta', epoch, seq, bids, asks);
            await store.writeBookEvent(e, message(e));
            const all = await store.readBook(X, S, 0);
            expect(all).toMatchObject({ epoch, seq, ...expected.top(1_000) });
            const top3 = await store.readBook(X, S, 3);
            expect(top3).toMatchObject(expected.top(3));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("keeps epoch and token from the snapshot through deltas, and stores a new holder's higher token", async () => {
    // That a delta replicates only `seq exchangeTs receiveTs` is checked byte for byte by the
    // replication bench (test/bench/replication.test.ts: production == hash-lean-meta).
    const store = new BookStore(commands, 'lean');
    const meta = bookKeys('lean', X, S).meta;
    const snap = event('lean', 'snapshot', 'e1', 1, [['10', '1']], [['11', '1']], 1_000);
    await store.writeBookEvent(snap, message(snap), 7);
    const delta = event('lean', 'delta', 'e1', 2, [['10', '2']], [], 2_000);
    await store.writeBookEvent(delta, message(delta), 7);
    expect(await commands.hgetall(meta)).toEqual({
      epoch: 'e1',
      seq: '2',
      exchangeTs: '2000',
      receiveTs: '2000',
      token: '7',
    });
    const next = event('lean', 'delta', 'e1', 3, [['10', '3']], [], 3_000);
    await store.writeBookEvent(next, message(next), 9);
    expect(await commands.hget(meta, 'token')).toBe('9');
    const stale = event('lean', 'delta', 'e1', 4, [['10', '4']], [], 4_000);
    expect(isFencedError(await store.writeBookEvent(stale, message(stale), 7).catch((e) => e))).toBe(true);
    expect(await commands.type(bookKeys('lean', X, S).bids)).toBe('hash');
  });

  it("keeps the venue's sequence in the meta with the event it came with, and drops it with an event without one", async () => {
    const store = new BookStore(commands, 'vs');
    const meta = bookKeys('vs', X, S).meta;
    const withSeq = (e: BookEvent, venueSeq: number): BookEvent => ({ ...e, venueSeq });
    const snap = withSeq(
      event('vs', 'snapshot', 'e1', 1, [['10', '1']], [['11', '1']], 1_000),
      160_000_000_001,
    );
    await store.writeBookEvent(snap, message(snap));
    expect(await store.readBook(X, S, 0)).toMatchObject({
      seq: 1,
      venueSeq: 160_000_000_001,
      exchangeTs: 1_000,
    });
    const delta = withSeq(event('vs', 'delta', 'e1', 2, [['10', '2']], [], 2_000), 160_000_000_007);
    await store.writeBookEvent(delta, message(delta));
    expect(await commands.hget(meta, 'venueSeq')).toBe('2:160000000007');
    expect(await store.readBook(X, S, 0)).toMatchObject({
      seq: 2,
      venueSeq: 160_000_000_007,
      exchangeTs: 2_000,
    });
    // A refused write (a gap) leaves the stored venue sequence alone.
    const gap = withSeq(event('vs', 'delta', 'e1', 4, [['10', '9']], [], 3_000), 160_000_000_099);
    await expect(store.writeBookEvent(gap, message(gap))).rejects.toThrow(/BOOKGRAPH_SEQ/);
    expect(await commands.hget(meta, 'venueSeq')).toBe('2:160000000007');
    // An event without one (a venue without sequence numbers, a new epoch from another feed):
    // the old number must not outlive the event it belonged to.
    const next = event('vs', 'delta', 'e1', 3, [['10', '3']], [], 3_000);
    await store.writeBookEvent(next, message(next));
    expect(await commands.hexists(meta, 'venueSeq')).toBe(0);
    const read = await store.readBook(X, S, 0);
    expect(read).toMatchObject({ seq: 3 });
    expect(read && 'venueSeq' in read).toBe(false);
    const resnap = withSeq(event('vs', 'snapshot', 'e2', 1, [['10', '1']], [], 4_000), 5);
    await store.writeBookEvent(resnap, message(resnap));
    expect(await store.readBook(X, S, 0)).toMatchObject({ epoch: 'e2', seq: 1, venueSeq: 5 });
    // A writer from before the field (a rollback) moves seq on and leaves `venueSeq` as it was:
    // the old number is not served beside the newer seq.
    await commands.hset(meta, 'seq', '2');
    const rolledBack = await store.readBook(X, S, 0);
    expect(rolledBack).toMatchObject({ epoch: 'e2', seq: 2 });
    expect(rolledBack && 'venueSeq' in rolledBack).toBe(false);
  });
});

describe('a rolling deploy from encoding v1', () => {
  it('reads a v1 copy, empties it at the first v2 snapshot, reads the newer copy after a rollback, and fences older tokens', async () => {
    const region = 'roll';
    const v1Writer = new AlternativeBookWriter(commands, region, 'zset-sizes');
    const v2 = new BookStore(commands, region);
    const copies = new RegionalBooks(v2, [region]);
    const v1 = legacyBookKeys(region, X, S);

    // A v1 ingester writes the copy: the v2 reader reads it, and counts it as written.
    const old = event(
      region,
      'snapshot',
      'old',
      1,
      [
        ['100', '1'],
        ['99', '2'],
      ],
      [['101', '3']],
      5_000,
    );
    await v1Writer.write(old, message(old), 3);
    expect(await v2.readBook(X, S, 1)).toMatchObject({
      epoch: 'old',
      seq: 1,
      bids: [['100', '1']],
      asks: [['101', '3']],
    });
    expect(await copies.readCopyTimes(X, S)).toEqual([{ region, lastWriteTs: 5_000 }]);

    // The v2 ingester takes the lease (a higher token) and opens the book with a snapshot: the v1
    // keys are emptied, the v1 meta keeps only the token (a v1 reader finds no book, a v1 writer is fenced).
    const fresh = event(region, 'snapshot', 'new', 1, [['200', '1']], [['201', '1']], 6_000);
    await v2.writeBookEvent(fresh, message(fresh), 4);
    expect(await commands.exists(v1.bids, v1.asks, v1.sizes)).toBe(0);
    expect(await commands.hgetall(v1.meta)).toEqual({ token: '4' });
    expect(await v2.readBook(X, S, 0)).toMatchObject({ epoch: 'new', bids: [['200', '1']] });
    expect(await copies.readCopyTimes(X, S)).toEqual([{ region, lastWriteTs: 6_000 }]);

    // A second v2 snapshot leaves the v1 meta alone (no replicated write once the v1 book is gone).
    const again = event(region, 'snapshot', 'new2', 1, [['210', '1']], [], 6_500);
    await v2.writeBookEvent(again, message(again), 4);
    expect(await commands.hgetall(v1.meta)).toEqual({ token: '4' });

    // Rollback: a v1 ingester takes over (token 5) and writes a newer book: it is the one read.
    const back = event(region, 'snapshot', 'back', 1, [['300', '1']], [], 7_000);
    await v1Writer.write(back, message(back), 5);
    await commands.hset(v1.meta, 'token', '5');
    expect(await v2.readBook(X, S, 0)).toMatchObject({ epoch: 'back', bids: [['300', '1']] });
    expect(await copies.readCopyTimes(X, S)).toEqual([{ region, lastWriteTs: 7_000 }]);

    // The v2 writer that lost the lease (token 4) is fenced by the v1 meta's token: nothing written.
    const stalled = event(region, 'delta', 'new2', 2, [['211', '1']], [], 8_000);
    const refused = await v2.writeBookEvent(stalled, message(stalled), 4).catch((e: unknown) => e);
    expect(isFencedError(refused)).toBe(true);
    expect(await commands.hget(bookKeys(region, X, S).meta, 'seq')).toBe('1');
    expect(await v2.readBook(X, S, 0)).toMatchObject({ epoch: 'back' });
    // Its trades too (the trade keys are shared by both encodings).
    const trade = {
      exchange: X,
      symbol: S,
      id: 't1',
      price: '300',
      amount: '1',
      side: 'buy' as const,
      exchangeTs: 8_000,
      receiveTs: 8_000,
    };
    const tradeRefused = await v2.writeTrade(trade, '{}', undefined, 4).catch((e: unknown) => e);
    expect(isFencedError(tradeRefused)).toBe(true);
    expect(await v2.readTrades(X, S, 10)).toEqual([]);
    await v2.writeTrade(trade, '{}', undefined, 5);
    expect((await v2.readTrades(X, S, 10)).map((t) => t.id)).toEqual(['t1']);
  });
});
