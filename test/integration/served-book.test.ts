import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookEvent, Level } from '../../src/marketdata/types.ts';
import type { ReplicaEvent } from '../../src/pubsub/book-replica.ts';
import { ChannelSubscriber } from '../../src/pubsub/channel-subscriber.ts';
import { ServedBook } from '../../src/pubsub/served-book.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis, type RedisClient } from '../../src/redis/connection.ts';
import { RegionalBooks } from '../../src/redis/regional-books.ts';
import { encodeBookEvent } from '../../src/wire/codec.ts';
import { Wakeups } from '../helpers/book-checker.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { silentLog } from '../helpers/stack.ts';

/**
 * ServedBook, the book a server serves from one region's copy at a time, against a real Redis:
 * two regions' copies written by hand through the write script, and the moves between them.
 */
const X = 'venue';
const S = 'BTC/USDT';

let redis: TestRedis;
let commands: RedisClient;
let subscriber: RedisClient;
let copies: RegionalBooks;
/** One per subscriber connection, as in the server: it counts the channel references. */
let channels: ChannelSubscriber;
const served: ServedBook[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  commands = createRedis(redis.url, 'command');
  subscriber = createRedis(redis.url, 'subscriber');
  copies = new RegionalBooks(new BookStore(commands, 'a'), ['a', 'b', 'c']);
  channels = new ChannelSubscriber(subscriber, commands);
});

afterAll(async () => {
  for (const book of served) book.close();
  commands?.disconnect();
  subscriber?.disconnect();
  await redis?.stop();
});

/** Writes one event of `region`'s copy, as that region's ingester would. */
async function write(
  region: string,
  event: Omit<BookEvent, 'region' | 'exchange' | 'symbol'>,
): Promise<void> {
  const full: BookEvent = { ...event, region, exchange: X, symbol: S };
  await copies.store(region).writeBookEvent(full, encodeBookEvent(full));
}

const snapshot = (epoch: string, bids: Level[], asks: Level[]) => ({
  kind: 'snapshot' as const,
  epoch,
  seq: 1,
  exchangeTs: Date.now(),
  receiveTs: Date.now(),
  bids,
  asks,
});

/** A ServedBook of the venue starting on `region`, and the events it emitted. */
async function serve(region: string) {
  const book = new ServedBook({ store: copies.local, channels, log: silentLog }, copies, X, S, region);
  served.push(book);
  const events: ReplicaEvent[] = [];
  const wakeups = new Wakeups();
  book.subscribe((event) => {
    events.push(event);
    wakeups.notify();
  });
  await book.start();
  const until = (condition: () => boolean, what: string) => wakeups.until(condition, 60_000, what);
  return { book, events, until };
}

describe('ServedBook', () => {
  it("switches a live book to another region's copy with a RESET then that copy's SNAPSHOT, and follows it alone", async () => {
    await write('a', snapshot('ea', [['100', '1']], [['101', '1']]));
    await write('b', snapshot('eb', [['200', '2']], [['201', '2']]));
    const { book, events, until } = await serve('a');
    expect(book.live).toBe(true);
    expect(book.region).toBe('a');
    expect(events.splice(0)).toEqual([{ type: 'snapshot' }]);

    book.switchTo('b');
    expect(book.target).toBe('b');
    await until(() => events.length === 2, 'the switch');
    expect(events).toEqual([{ type: 'reset', reason: 'region-switch' }, { type: 'snapshot' }]);
    expect(book.region).toBe('b');
    expect(book.epoch).toBe('eb');
    expect(book.book.top(5).bids).toEqual([['200', '2']]);

    // a's copy goes on being written; only b's events reach the subscribers now.
    await write('a', { ...snapshot('ea', [['99', '5']], []), kind: 'delta', seq: 2 });
    await write('b', { ...snapshot('eb', [['199', '3']], []), kind: 'delta', seq: 2 });
    await until(() => events.length === 3, "b's delta");
    expect(events[2]).toEqual({ type: 'delta', bids: [['199', '3']], asks: [] });
    expect(book.seq).toBe(2);
    expect(book.book.top(5).bids).toEqual([
      ['200', '2'],
      ['199', '3'],
    ]);
  });

  it('announces no RESET when the copy it leaves never gave subscribers a book', async () => {
    const { book, events, until } = await serve('c');
    expect(book.live).toBe(false);
    book.switchTo('a');
    await until(() => events.length > 0, "a's snapshot");
    expect(events).toEqual([{ type: 'snapshot' }]);
    expect(book.region).toBe('a');
  });

  it('starts on the copy the initial choice names, without a RESET', async () => {
    const book = new ServedBook({ store: copies.local, channels, log: silentLog }, copies, X, S, 'a');
    served.push(book);
    const events: ReplicaEvent[] = [];
    book.subscribe((event) => events.push(event));
    await book.start(async () => 'b');
    expect(book.region).toBe('b');
    expect(book.live).toBe(true);
    expect(events).toEqual([{ type: 'snapshot' }]);
  });

  it('reads when each copy was last written, in REGIONS order', async () => {
    const times = await copies.readCopyTimes(X, S);
    expect(times.map((t) => t.region)).toEqual(['a', 'b', 'c']);
    expect(times[0]!.lastWriteTs).toBeGreaterThan(0);
    expect(times[1]!.lastWriteTs).toBeGreaterThan(0);
    expect(times[2]!.lastWriteTs).toBeNull();
  });
});
