import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ingester } from '../../src/ingest/ingester.ts';
import { OrderBook } from '../../src/marketdata/order-book.ts';
import { type RecordLine, ReplayFeed, readRecording } from '../../src/marketdata/recording.ts';
import { bookId, type Trade } from '../../src/marketdata/types.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { executeOk } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, silentLog, startStack } from '../helpers/stack.ts';

const SAMPLE = fileURLToPath(new URL('../../data/sample-sim.ndjson.gz', import.meta.url));
const CLI = fileURLToPath(new URL('../../bin/bookgraph-dev.js', import.meta.url));
const ALL = 10_000;

let redis: TestRedis;
let stack: Stack;
let lines: RecordLine[];
const trades: Trade[] = [];
const progress: number[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, { ingest: false });
  lines = await readRecording(SAMPLE);
  const feed = new ReplayFeed(lines, { speed: 0, onProgress: (done) => progress.push(done) });
  const ingester = new Ingester({
    store: new BookStore(redis.client(), REGION),
    feeds: [feed],
    log: silentLog,
    onWritten: stack.reference.record,
    onTradeWritten: (t) => trades.push(t),
  });
  await ingester.start();
  await feed.done;
  await ingester.stop();
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

type BookLine = Extract<RecordLine, { type: 'book' }>;

describe('replay of the shipped recording', () => {
  it('reproduces the recorded book at every seq of every book', () => {
    const recorded = lines.filter((l): l is BookLine => l.type === 'book');
    expect(recorded.length).toBeGreaterThan(300);
    expect(stack.reference.violations).toEqual([]);
    const books = new Map<string, OrderBook>();
    /** Recorded epochs of each book, in order, to pair with the replay's epochs. */
    const epochs = new Map<string, string[]>();
    let compared = 0;
    for (const { event } of recorded) {
      const id = bookId(event.exchange, event.symbol);
      let book = books.get(id);
      if (!book) {
        book = new OrderBook();
        books.set(id, book);
      }
      if (event.kind === 'snapshot') book.replace(event.bids, event.asks);
      else book.apply(event.bids, event.asks);
      const seen = epochs.get(id) ?? [];
      if (!seen.includes(event.epoch)) seen.push(event.epoch);
      epochs.set(id, seen);
      const replayEpoch = stack.reference.epochs(event.exchange, event.symbol)[seen.indexOf(event.epoch)];
      expect(replayEpoch, `${id} epoch ${seen.length} was replayed`).toBeDefined();
      const replayed = stack.reference.top(event.exchange, event.symbol, replayEpoch!, event.seq, ALL);
      expect(replayed, `${id} seq ${event.seq}`).toEqual(book.top(ALL));
      compared += 1;
    }
    expect(compared).toBe(recorded.length);
    expect(progress.at(-1)).toBe(lines.filter((l) => l.type !== 'header' && l.type !== 'markets').length);
  });

  it('leaves Redis and the API holding the recorded final books and trades', async () => {
    const store = new BookStore(redis.client(), REGION);
    const finals = new Map<string, OrderBook>();
    for (const line of lines) {
      if (line.type !== 'book') continue;
      const id = bookId(line.event.exchange, line.event.symbol);
      const book = finals.get(id) ?? new OrderBook();
      if (line.event.kind === 'snapshot') book.replace(line.event.bids, line.event.asks);
      else book.apply(line.event.bids, line.event.asks);
      finals.set(id, book);
    }
    expect(finals.size).toBe(12);
    for (const [id, book] of finals) {
      const [exchange, symbol] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
      const stored = await store.readBook(exchange, symbol, 0);
      expect({ bids: stored?.bids, asks: stored?.asks }).toEqual(book.top(ALL));
    }
    const data = await executeOk<{ orderBook: { bids: { price: string; size: string }[]; stale: boolean } }>(
      stack.app,
      '{ orderBook(exchange: "sim2", symbol: "ETH/USDT", depth: 5) { stale bids { price size } } }',
    );
    expect(data.orderBook.bids.map((l) => [l.price, l.size])).toEqual(
      finals.get('sim2:ETH/USDT')!.top(5).bids,
    );
    expect(data.orderBook.stale).toBe(false);
    const recordedTrades = lines.flatMap((l) => (l.type === 'trade' ? [l.trade] : []));
    expect(trades.map((t) => [t.exchange, t.symbol, t.id, t.price, t.amount, t.side, t.exchangeTs])).toEqual(
      recordedTrades.map((t) => [t.exchange, t.symbol, t.id, t.price, t.amount, t.side, t.exchangeTs]),
    );
  });
});

describe('bookgraph record and replay (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bookgraph-record-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[], env: Record<string, string>) {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stderr: err };
  }

  it('records the simulator to gzipped NDJSON, and replays it into Redis with progress', async () => {
    const file = join(dir, 'rec.ndjson.gz');
    const recorded = await run(['record', '--out', file, '--gzip', '--duration', '0.5'], {
      FEEDS: 'sim',
      SIM_UPDATES_PER_SEC: '20',
    });
    expect(recorded.code, recorded.stderr).toBe(0);
    const read = await readRecording(file);
    expect(read.some((l) => l.type === 'markets')).toBe(true);
    const events = read.filter((l) => l.type === 'book').length;
    expect(events).toBeGreaterThanOrEqual(12);

    const target = await startTestRedis();
    try {
      const replayed = await run(['replay', file, '--speed', '0'], { REDIS_URL: target.url, REGION: 'cli' });
      expect(replayed.code, replayed.stderr).toBe(0);
      expect(replayed.stderr).toMatch(/100%/);
      expect(replayed.stderr).toContain(`wrote ${events} book events`);
      const store = new BookStore(target.client(), 'cli');
      expect(await store.readExchanges()).toEqual(['sim1', 'sim2', 'sim3']);
    } finally {
      await target.stop();
    }
    const usage = await run(['replay'], {});
    expect(usage.code).toBe(2);
  });
});
