import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookEvent, Level } from '../../src/marketdata/types.ts';
import type { ReplicaEvent } from '../../src/pubsub/book-replica.ts';
import { ChannelSubscriber } from '../../src/pubsub/channel-subscriber.ts';
import { ServedBook } from '../../src/pubsub/served-book.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis, type RedisClient } from '../../src/redis/connection.ts';
import { bookChannel } from '../../src/redis/keys.ts';
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
  symbol = S,
): Promise<void> {
  const full: BookEvent = { ...event, region, exchange: X, symbol };
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
async function serve(region: string, from: RegionalBooks = copies, symbol = S) {
  const book = new ServedBook({ store: from.local, channels, log: silentLog }, from, X, symbol, region);
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

/** A real BookStore whose book reads wait, while `hold` is on, until `release`: a snapshot read held in flight. */
class HeldStore extends BookStore {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  readonly entered = new Wakeups();
  reads = 0;

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async readBook(exchange: string, symbol: string, depth: number) {
    this.reads += 1;
    this.entered.notify();
    await this.gate;
    return super.readBook(exchange, symbol, depth);
  }
}

/** Every region's copy read through a HeldStore (the real script on the real Redis). */
class HeldCopies extends RegionalBooks {
  private readonly held = new Map<string, HeldStore>();
  override store(region: string): HeldStore {
    let store = this.held.get(region);
    if (!store) {
      store = new HeldStore(commands, region);
      this.held.set(region, store);
    }
    return store;
  }
}

describe('a copy switch cancelled while its snapshot loads', () => {
  const T = 'ETH/USDT';
  const delta = (epoch: string, seq: number, bids: Level[]) => ({
    ...snapshot(epoch, bids, []),
    kind: 'delta' as const,
    seq,
  });
  const subscribers = async (channel: string) =>
    Number(((await commands.pubsub('NUMSUB', channel)) as [string, number])[1]);

  /** The served book equals its copy as a query reads it: same region, (epoch, seq) and levels. */
  async function expectQueryEqualsStream(book: ServedBook): Promise<void> {
    const stored = await copies.store(book.region).readBook(X, book.symbol, 0);
    expect(stored).toMatchObject({ region: book.region, epoch: book.epoch, seq: book.seq });
    expect(book.book.top(1_000)).toEqual({ bids: stored?.bids, asks: stored?.asks });
  }

  /** Serves a's copy of `symbol`, then starts a switch to b's copy whose snapshot read is held in flight. */
  async function switchToHeldB(symbol: string) {
    const held = new HeldCopies(new BookStore(commands, 'a'), ['a', 'b', 'c']);
    const served = await serve('a', held, symbol);
    expect(served.events.splice(0)).toEqual([{ type: 'snapshot' }]);
    const b = held.store('b');
    b.hold();
    served.book.switchTo('b');
    await b.entered.until(() => b.reads > 0, 60_000, "the read of b's snapshot");
    return { ...served, b };
  }

  it('stays on its copy with no RESET when the local copy comes back before the new snapshot is read', async () => {
    await write('a', snapshot('ea', [['100', '1']], [['101', '1']]), T);
    await write('b', snapshot('eb', [['200', '2']], [['201', '2']]), T);
    const { book, events, until, b } = await switchToHeldB(T);
    // The local copy is fresh again: the switch is cancelled while b's snapshot is in flight.
    book.switchTo('a');
    expect(book.target).toBe('a');
    b.release();

    // b's copy goes on being written, a's too: only a's deltas reach the subscribers.
    await write('b', delta('eb', 2, [['199', '1']]), T);
    await write('a', delta('ea', 2, [['99', '1']]), T);
    await until(() => events.length > 0, "a's delta");
    expect(events).toEqual([{ type: 'delta', bids: [['99', '1']], asks: [] }]);
    expect(book.region).toBe('a');
    expect(await subscribers(bookChannel('b', X, T))).toBe(0);
    await expectQueryEqualsStream(book);
  });

  it('ends on the third copy with one RESET and its SNAPSHOT when the new copy goes stale before its snapshot is read', async () => {
    const U = 'SOL/USDT';
    await write('a', snapshot('ea', [['10', '1']], [['11', '1']]), U);
    await write('b', snapshot('eb', [['20', '2']], [['21', '2']]), U);
    await write('c', snapshot('ec', [['30', '3']], [['31', '3']]), U);
    const { book, events, until, b } = await switchToHeldB(U);
    // b goes stale too: the choice moves on to c while b's snapshot is still loading.
    book.switchTo('c');
    await until(() => events.length === 2, "the switch to c's copy");
    b.release();
    await write('b', delta('eb', 2, [['19', '1']]), U);
    await write('c', delta('ec', 2, [['29', '1']]), U);
    await until(() => events.length === 3, "c's delta");
    expect(events).toEqual([
      { type: 'reset', reason: 'region-switch' },
      { type: 'snapshot' },
      { type: 'delta', bids: [['29', '1']], asks: [] },
    ]);
    expect(book.region).toBe('c');
    expect(book.epoch).toBe('ec');
    expect(await subscribers(bookChannel('b', X, U))).toBe(0);
    expect(await subscribers(bookChannel('a', X, U))).toBe(0);
    await expectQueryEqualsStream(book);
  });
});
