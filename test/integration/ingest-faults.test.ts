import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ingester } from '../../src/ingest/ingester.ts';
import type { BookEvent } from '../../src/marketdata/types.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { silentLog } from '../helpers/stack.ts';
import { SteppedFeed } from '../helpers/stepped-feed.ts';

describe('ingest while Redis fails', () => {
  let server: LocalRedisServer;
  let restarted: LocalRedisServer | undefined;

  beforeAll(async () => {
    server = await startLocalRedis();
  });
  afterAll(async () => {
    await server?.stop();
    await restarted?.stop();
  });

  it('attempts one write per feed update while Redis is down, then reopens the book with a snapshot', async () => {
    const writer = createRedis(server.url, 'writer', { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    writer.on('error', () => {});
    const feed = new SteppedFeed();
    const written: BookEvent[] = [];
    const ingester = new Ingester({
      store: new BookStore(writer, 'test'),
      feeds: [feed],
      log: silentLog,
      onWritten: (event) => written.push(event),
    });
    await ingester.start();
    feed.step(5);
    await ingester.drain();
    expect(written.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);

    const port = server.port;
    await server.stop();
    feed.step(3);
    await ingester.drain();
    // Each update failed once; none begot a retry of its own.
    expect(ingester.stats.writeErrors).toBe(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(ingester.stats.writeErrors).toBe(3);

    restarted = await startLocalRedis({ args: [], port });
    await new Promise<void>((resolve) =>
      writer.status === 'ready' ? resolve() : writer.once('ready', () => resolve()),
    );
    feed.step(2);
    await ingester.drain();
    const reopened = written.slice(5);
    expect(reopened[0]?.kind).toBe('snapshot');
    expect(reopened[0]?.epoch).not.toBe(written[0]!.epoch);
    const check = new Redis(restarted.url);
    const stored = await new BookStore(check, 'test').readBook('sim1', 'BTC/USDT', 0);
    const expected = feed.sim.snapshot('sim1', 'BTC/USDT')!;
    expect(stored?.bids).toEqual(expected.bids);
    expect(stored?.asks).toEqual(expected.asks);
    check.disconnect();
    await ingester.stop();
    writer.disconnect();
  });
});

describe('ingest while Redis is slow but connected', () => {
  let server: LocalRedisServer;

  beforeAll(async () => {
    server = await startLocalRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps at most the cap of writes in flight per book, merges the rest, and the stored book ends exact', async () => {
    const writer = createRedis(server.url, 'writer');
    const admin = new Redis(server.url);
    const feed = new SteppedFeed();
    const written: BookEvent[] = [];
    const ingester = new Ingester({
      store: new BookStore(writer, 'test'),
      feeds: [feed],
      log: silentLog,
      maxInFlightPerBook: 4,
      onWritten: (event) => written.push(event),
    });
    await ingester.start();
    feed.step(3);
    await ingester.drain();

    // Writes (scripts included) wait while the pause lasts; the feed goes on meanwhile.
    await admin.call('CLIENT', 'PAUSE', '1000', 'WRITE');
    feed.step(400);
    expect(ingester.stats.maxInFlight).toBe(4);
    expect(ingester.stats.merged).toBeGreaterThan(300);
    await ingester.drain();

    // One epoch, seq +1 per written event: merged updates are one event each, never a gap.
    expect(new Set(written.map((e) => e.epoch)).size).toBe(1);
    expect(written.map((e) => e.seq)).toEqual(written.map((_, i) => i + 1));
    expect(written.length).toBeLessThan(3 + 400);
    const stored = await new BookStore(admin, 'test').readBook('sim1', 'BTC/USDT', 0);
    const expected = feed.sim.snapshot('sim1', 'BTC/USDT')!;
    expect(stored?.bids).toEqual(expected.bids);
    expect(stored?.asks).toEqual(expected.asks);
    expect(stored?.seq).toBe(written.length);
    await ingester.stop();
    writer.disconnect();
    admin.disconnect();
  });
});

describe('ingest when a reply is lost', () => {
  let server: LocalRedisServer;
  let proxy: FaultProxy;

  beforeAll(async () => {
    server = await startLocalRedis();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: server.port });
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  it('writes a trade whose reply was lost once: the writer connection never resends a command', async () => {
    const writer = createRedis(proxy.url, 'writer');
    writer.on('error', () => {});
    const admin = new Redis(server.url);
    const feed = new SteppedFeed();
    const ingester = new Ingester({ store: new BookStore(writer, 'test'), feeds: [feed], log: silentLog });
    await ingester.start();
    feed.step(3);
    await ingester.drain();

    const dropped = proxy.dropNextReply((command) => command.some((arg) => arg.includes(':trades:')));
    let lost = false;
    void dropped.then(() => {
      lost = true;
    });
    for (let round = 0; !lost && round < 10_000; round++) {
      feed.step(1, { trades: true });
      await ingester.drain();
    }
    expect(lost, 'a trade write lost its reply').toBe(true);
    await new Promise<void>((resolve) =>
      writer.status === 'ready' ? resolve() : writer.once('ready', () => resolve()),
    );
    feed.step(20, { trades: true });
    await ingester.drain();

    const stream = await admin.xrange('bg:test:trades:{sim1:BTC/USDT}', '-', '+');
    const ids = stream.map(([, fields]) => fields[fields.indexOf('id') + 1]);
    expect(ids.length).toBeGreaterThan(1);
    expect(new Set(ids).size, `trade ids written: ${ids.join(',')}`).toBe(ids.length);
    await ingester.stop();
    writer.disconnect();
    admin.disconnect();
  });
});
