import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { OrderBook } from '../../src/marketdata/order-book.ts';
import type { BookEvent, Level } from '../../src/marketdata/types.ts';
import { BookHub, type ViewLease } from '../../src/pubsub/book-hub.ts';
import type { ChannelSubscriber } from '../../src/pubsub/channel-subscriber.ts';
import type { BookUpdate } from '../../src/pubsub/depth-view.ts';
import type { BookStore, StoredBook } from '../../src/redis/book-store.ts';
import { encodeBookEvent } from '../../src/wire/codec.ts';

const EXCHANGE = 'fake';
const SYMBOL = 'BTC/USDT';
const REGION = 'test';

/**
 * The writer's side, faked: one book, its Redis copy (what `readBook` answers) and its channel.
 * Messages can be lost (`lose`) or the subscriber connection drop and come back, as in Redis.
 */
class FakeWorld {
  readonly book = new OrderBook();
  epoch = 'e1';
  seq = 0;
  private epochs = 1;
  private readonly handlers = new Map<string, (raw: string) => void>();
  readonly subscriber = new EventEmitter();
  private connected = true;

  readonly store = {
    region: REGION,
    readBook: async (): Promise<StoredBook | null> => {
      if (this.seq === 0) return null;
      const top = this.book.top(1_000);
      return {
        exchange: EXCHANGE,
        symbol: SYMBOL,
        region: REGION,
        epoch: this.epoch,
        seq: this.seq,
        exchangeTs: this.seq,
        receiveTs: Date.now(),
        bids: top.bids,
        asks: top.asks,
      };
    },
  };

  private readonly listen = async (channel: string, onMessage: (raw: string) => void) => {
    this.handlers.set(channel, onMessage);
    return () => {
      if (this.handlers.get(channel) === onMessage) this.handlers.delete(channel);
    };
  };

  /** Book channels are sharded on a Cluster only: here, as on one server, they are plain. */
  readonly channels = { listen: this.listen, listenSharded: this.listen };

  /** Applies levels to the Redis copy and publishes them, unless the message is lost. */
  write(bids: Level[], asks: Level[], options: { lose?: boolean; snapshot?: boolean } = {}): void {
    if (options.snapshot) {
      this.epochs += 1;
      this.epoch = `e${this.epochs}`;
      this.seq = 0;
      this.book.replace(bids, asks);
    } else this.book.apply(bids, asks);
    this.seq += 1;
    const top = this.book.top(1_000);
    const event: BookEvent = {
      kind: options.snapshot ? 'snapshot' : 'delta',
      exchange: EXCHANGE,
      symbol: SYMBOL,
      region: REGION,
      epoch: this.epoch,
      seq: this.seq,
      bids: options.snapshot ? top.bids : bids,
      asks: options.snapshot ? top.asks : asks,
      exchangeTs: this.seq,
      receiveTs: Date.now(),
    };
    if (options.lose || !this.connected) return;
    for (const handler of this.handlers.values()) handler(encodeBookEvent(event));
  }

  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.subscriber.emit('close');
  }

  reconnect(): void {
    if (this.connected) return;
    this.connected = true;
    this.subscriber.emit('ready');
  }

  hub(idleMs = 60_000): BookHub {
    return new BookHub({
      store: this.store as unknown as BookStore,
      channels: this.channels as unknown as ChannelSubscriber,
      subscriber: this.subscriber as unknown as Redis,
      log: pino({ level: 'silent' }),
      idleMs,
    });
  }
}

/** Lets the replica's awaited reads and the hub's timers run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

function seeded(world: FakeWorld): void {
  world.write(
    [
      ['99', '1'],
      ['98', '2'],
      ['97', '3'],
    ],
    [
      ['101', '1'],
      ['102', '2'],
      ['103', '3'],
    ],
  );
}

describe('BookHub view lifetimes', () => {
  it('a view outlives the release of one lease while another still holds it (issue 14 row 3)', async () => {
    const world = new FakeWorld();
    seeded(world);
    const hub = world.hub();
    const first = await hub.acquire(EXCHANGE, SYMBOL, 1);
    const second = await hub.acquire(EXCHANGE, SYMBOL, 1);
    expect(second.view).toBe(first.view);
    const stop = first.view.subscribe(() => {});
    stop();
    // The first ends before the second starts listening (a paper order acquires and releases depth 1 so).
    first.release();
    const seen: BookUpdate['type'][] = [];
    second.view.subscribe((u) => seen.push(u.type));
    world.write([['99.5', '4']], []);
    await settle();
    expect(seen).toEqual(['DELTA']);
    expect(second.view.current()?.bids).toEqual([['99.5', '4']]);
    second.release();
    hub.close();
  });

  it('the last release closes the view, and the replica is evicted after the idle time', async () => {
    const world = new FakeWorld();
    seeded(world);
    const hub = world.hub(0);
    const lease = await hub.acquire(EXCHANGE, SYMBOL, 2);
    const seen: string[] = [];
    lease.view.subscribe((u) => seen.push(u.type));
    lease.release();
    world.write([['99.5', '4']], []);
    await new Promise((r) => setTimeout(r, 1));
    await settle();
    expect(seen).toEqual([]);
    expect(hub.size).toBe(0);
    hub.close();
  });
});

type Op =
  | { kind: 'acquire'; depth: number }
  | { kind: 'release'; index: number }
  | { kind: 'write'; bids: Level[]; asks: Level[]; lose: boolean }
  | { kind: 'snapshot' }
  | { kind: 'disconnect' }
  | { kind: 'reconnect' }
  | { kind: 'settle' };

const level = (low: number) =>
  fc
    .tuple(fc.integer({ min: low, max: low + 9 }), fc.constantFrom('0', '1', '2', '3'))
    .map(([price, size]) => [String(price), size] as Level);

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('acquire' as const), depth: fc.integer({ min: 1, max: 3 }) }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('release' as const), index: fc.nat(20) }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      bids: fc.array(level(90), { maxLength: 3 }),
      asks: fc.array(level(101), { maxLength: 3 }),
      lose: fc.boolean(),
    }),
    weight: 4,
  },
  { arbitrary: fc.constant({ kind: 'snapshot' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'disconnect' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'reconnect' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'settle' as const }), weight: 2 },
);

describe('BookHub and BookReplica under churn (property)', () => {
  it('every held lease ends with a live view equal to the writer book, whatever the lease, loss and reconnect order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const world = new FakeWorld();
        seeded(world);
        const hub = world.hub(0);
        const held: ViewLease[] = [];
        for (const o of ops) {
          if (o.kind === 'acquire') held.push(await hub.acquire(EXCHANGE, SYMBOL, o.depth));
          else if (o.kind === 'release' && held.length > 0)
            held.splice(o.index % held.length, 1)[0]!.release();
          else if (o.kind === 'write') world.write(o.bids, o.asks, { lose: o.lose });
          else if (o.kind === 'snapshot') world.write([['95', '1']], [['105', '1']], { snapshot: true });
          else if (o.kind === 'disconnect') world.disconnect();
          else if (o.kind === 'reconnect') world.reconnect();
          else if (o.kind === 'settle') await settle();
        }
        world.reconnect();
        await settle();
        // A change at the top of every window: each held view must carry it to a listener.
        const seen = held.map(() => [] as BookUpdate[]);
        for (const [i, lease] of held.entries()) lease.view.subscribe((u) => seen[i]!.push(u));
        world.write([['99.5', '9']], [['100.5', '9']]);
        await settle();
        for (const [i, lease] of held.entries()) {
          expect(seen[i]!.length, `lease ${i} (depth ${lease.view.depth}) heard nothing`).toBeGreaterThan(0);
          const top = world.book.top(lease.view.depth);
          const current = lease.view.current();
          expect(current?.seq).toBe(world.seq);
          expect({ bids: current?.bids, asks: current?.asks }).toEqual(top);
        }
        for (const lease of held) lease.release();
        await new Promise((r) => setTimeout(r, 1));
        await settle();
        expect(hub.size).toBe(0);
        hub.close();
      }),
      { numRuns: 150 },
    );
  });
});
