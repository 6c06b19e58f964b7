import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Ingester } from '../../src/ingest/ingester.ts';
import { createLogger } from '../../src/log.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import {
  BOOK_UPDATE_FIELDS,
  ClientBook,
  checkClients,
  type WireBookUpdate,
} from '../helpers/book-checker.ts';
import { type Clients, executeOk, subscribe, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/**
 * Two regions' ingesters on one Redis (the stand-in for Active-Active replication, which brings
 * every region's keys and messages to every region) and the server of region `a`, reading
 * REGIONS = a, b. Region a ingests sim1; region b ingests sim1 and sim2.
 */
/** Generous: a loaded machine must not make a fresh copy look stale (a switch the test did not cause). */
const STALE_MS = 3_000;
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];

let redis: TestRedis;
let stack: Stack;
let clients: Clients;
let regionB: Ingester;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    region: 'a',
    regions: ['a', 'b'],
    limits: { staleAfterMs: STALE_MS },
    copyCheckMs: 100,
    simulator: { seed: 3, updatesPerSecond: 20, venues: ['sim1'], symbols: SYMBOLS },
  });
  regionB = await stack.startRegionIngester('b', {
    seed: 5,
    updatesPerSecond: 20,
    venues: ['sim1', 'sim2'],
    symbols: SYMBOLS,
  });
  clients = trackedClients();
  await stack.reference.until(
    () =>
      stack.reference.last('sim1', 'BTC/USDT', 'a') !== undefined &&
      stack.reference.last('sim1', 'BTC/USDT', 'b') !== undefined &&
      stack.reference.last('sim2', 'ETH/USDT', 'b') !== undefined,
    60_000,
    'both regions to write their books',
  );
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

interface Regional {
  region: string;
}

/** A trade or candle as a subscription delivered it. */
interface TapeItem extends Regional {
  id?: string;
  regionSwitch: boolean;
}

/** The runs of consecutive items from one region: region, first index, length. */
function runs(items: readonly TapeItem[]): { region: string; from: number; length: number }[] {
  const out: { region: string; from: number; length: number }[] = [];
  items.forEach((item, i) => {
    const last = out.at(-1);
    if (last && last.region === item.region) last.length += 1;
    else out.push({ region: item.region, from: i, length: 1 });
  });
  return out;
}

describe('a server reads every region of REGIONS', () => {
  it('serves a venue ingested only by another region, saying region "b"', async () => {
    const data = await executeOk<{
      exchanges: string[];
      markets: { symbol: string }[];
      orderBook: Regional & { bids: unknown[] };
      ticker: Regional & { bestBid: unknown };
    }>(
      stack.app,
      `{
        exchanges
        markets(exchange: "sim2") { symbol }
        orderBook(exchange: "sim2", symbol: "BTC/USDT", depth: 5) { region bids { price } }
        ticker(exchange: "sim2", symbol: "ETH/USDT") { region bestBid { price } }
      }`,
    );
    expect(data.exchanges).toEqual(['sim1', 'sim2']);
    expect(data.markets.map((m) => m.symbol)).toEqual(SYMBOLS);
    expect(data.orderBook.region).toBe('b');
    expect(data.orderBook.bids.length).toBeGreaterThan(0);
    expect(data.ticker.region).toBe('b');
    expect(data.ticker.bestBid).not.toBeNull();

    // Trades and candles come from b's copy too.
    await expect
      .poll(
        async () => {
          const d = await executeOk<{ trades: unknown[]; candles: unknown[] }>(
            stack.app,
            `{ trades(exchange: "sim2", symbol: "BTC/USDT", limit: 5) { price }
               candles(exchange: "sim2", symbol: "BTC/USDT", interval: ONE_MINUTE) { open } }`,
          );
          return d.trades.length > 0 && d.candles.length > 0;
        },
        { timeout: 60_000, interval: 200 },
      )
      .toBe(true);

    const consolidated = await executeOk<{
      consolidatedBook: { venues: (Regional & { exchange: string })[] };
    }>(stack.app, `{ consolidatedBook(symbol: "BTC/USDT", depth: 5) { venues { exchange region } } }`);
    expect(consolidated.consolidatedBook.venues).toEqual([
      { exchange: 'sim1', region: 'a' },
      { exchange: 'sim2', region: 'b' },
    ]);
  });

  it('shows the feed health of every region, per (region, venue)', async () => {
    await expect
      .poll(
        async () => {
          const d = await executeOk<{ feeds: { region: string; exchange: string; state: string }[] }>(
            stack.app,
            '{ feeds { region exchange state } }',
          );
          return d.feeds.map((f) => `${f.region}/${f.exchange}/${f.state}`);
        },
        { timeout: 60_000, interval: 200 },
      )
      .toEqual(['a/sim1/CONNECTED', 'b/sim1/CONNECTED', 'b/sim2/CONNECTED']);

    // The stream too: every region's statuses of the venue as they are published, not only at first.
    const seen = new Map<string, number>();
    const stream = subscribe<{ region: string; exchange: string }>(
      clients.ws(stack.wsUrl),
      'subscription { feedStatus(exchange: "sim1") { region exchange state } }',
      {},
      (h) => seen.set(`${h.region}/${h.exchange}`, (seen.get(`${h.region}/${h.exchange}`) ?? 0) + 1),
    );
    await expect
      .poll(
        () =>
          [...seen]
            .filter(([, n]) => n >= 3)
            .map(([k]) => k)
            .sort(),
        { timeout: 60_000 },
      )
      .toEqual(['a/sim1', 'b/sim1']);
    expect(stream.errors).toEqual([]);
    stream.unsubscribe();
  });

  it('serves its own copy of a venue both regions ingest', async () => {
    const data = await executeOk<{ orderBook: Regional; ticker: Regional }>(
      stack.app,
      `{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 5) { region }
         ticker(exchange: "sim1", symbol: "BTC/USDT") { region } }`,
    );
    expect(data.orderBook.region).toBe('a');
    expect(data.ticker.region).toBe('a');
  });
});

describe('switching copies under live subscriptions', () => {
  it("moves subscribers to b's copy when a's goes stale and back when it is fresh, RESET then SNAPSHOT each time", async () => {
    const ws = clients.ws(stack.wsUrl);
    const book = new ClientBook('sim1', 'BTC/USDT', 10);
    const control = new ClientBook('sim2', 'ETH/USDT', 10);
    const query = `subscription($exchange: String!, $symbol: String!, $depth: Int!) {
      orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) { ${BOOK_UPDATE_FIELDS} region }
    }`;
    const follow = (b: ClientBook) =>
      subscribe<WireBookUpdate>(ws, query, { exchange: b.exchange, symbol: b.symbol, depth: b.depth }, (u) =>
        b.apply(u),
      );
    const handles = [follow(book), follow(control)];
    const whole: string[] = [];
    const throttled = subscribe<Regional>(
      ws,
      'subscription { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 5, throttleMs: 50) { region } }',
      {},
      (b) => whole.push(b.region),
    );
    // The market's trades and candles follow the book's copy (Trade/Candle region, regionSwitch).
    const trades: TapeItem[] = [];
    const tradeStream = subscribe<TapeItem>(
      ws,
      'subscription { trades(exchange: "sim1", symbol: "BTC/USDT") { id region regionSwitch } }',
      {},
      (t) => trades.push(t),
    );
    const candles: TapeItem[] = [];
    const candleStream = subscribe<TapeItem>(
      ws,
      'subscription { candles(exchange: "sim1", symbol: "BTC/USDT", interval: ONE_MINUTE) { start trades region regionSwitch } }',
      {},
      (c) => candles.push(c),
    );
    const market = [tradeStream, candleStream];
    const fromRegion = (items: TapeItem[], region: string) => () => items.at(-1)?.region === region;
    let ended = false;
    for (const h of [...handles, throttled, ...market]) void h.done.then(() => (ended = true));
    const snapshotRegions = () => book.messages.filter((m) => m.type === 'SNAPSHOT').map((m) => m.region);

    await book.untilCaughtUp(stack.reference, 60_000, 'a');
    expect(snapshotRegions()).toEqual(['a']);
    await expect.poll(fromRegion(trades, 'a'), { timeout: 60_000 }).toBe(true);
    await expect.poll(fromRegion(candles, 'a'), { timeout: 60_000 }).toBe(true);

    // Region a's ingester stops: its copy goes stale, b's is fresh.
    await stack.stopIngester();
    await book.until(() => snapshotRegions().length === 2, 60_000, "the switch to b's copy");
    await book.untilCaughtUp(stack.reference, 60_000, 'b');
    const whileOnB = await executeOk<{ orderBook: Regional }>(
      stack.app,
      '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 10) { region } }',
    );
    expect(whileOnB.orderBook.region).toBe('b');
    await expect.poll(() => whole.at(-1), { timeout: 60_000 }).toBe('b');
    await expect.poll(fromRegion(trades, 'b'), { timeout: 60_000 }).toBe(true);
    await expect.poll(fromRegion(candles, 'b'), { timeout: 60_000 }).toBe(true);

    // Region a's ingester is back: its copy is fresh again, and local wins.
    await stack.startIngester();
    await book.until(() => snapshotRegions().length === 3, 60_000, "the switch back to a's copy");
    await book.untilCaughtUp(stack.reference, 60_000, 'a');
    await expect.poll(() => whole.at(-1), { timeout: 60_000 }).toBe('a');
    await expect.poll(fromRegion(trades, 'a'), { timeout: 60_000 }).toBe(true);
    await expect.poll(fromRegion(candles, 'a'), { timeout: 60_000 }).toBe(true);
    expect(snapshotRegions()).toEqual(['a', 'b', 'a']);
    expect(book.resets).toEqual(['REGION_SWITCH', 'REGION_SWITCH']);
    // Each switch: a RESET right before the new copy's SNAPSHOT, never one copy's DELTA on the other's book.
    const snapshots = book.messages.flatMap((m, i) => (m.type === 'SNAPSHOT' ? [i] : []));
    for (const i of snapshots.slice(1)) {
      expect(book.messages[i - 1]).toMatchObject({ type: 'RESET', reason: 'REGION_SWITCH' });
    }

    // Query == stream: with every writer stopped, the copy served stays a's (nothing is fresher).
    await regionB.stop();
    await stack.stopIngester();
    await book.untilCaughtUp(stack.reference, 60_000, 'a');
    await book.untilCovered(stack.reference);
    const last = stack.reference.last('sim1', 'BTC/USDT', 'a')!;
    const queried = await executeOk<{
      orderBook: Regional & { epoch: string; seq: number; bids: { price: string; size: string }[] };
    }>(
      stack.app,
      '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 10) { region epoch seq bids { price size } } }',
    );
    expect(queried.orderBook).toMatchObject({ region: 'a', epoch: last.epoch, seq: last.seq });
    expect(queried.orderBook.bids.map((l) => [l.price, l.size])).toEqual(book.current()?.bids);
    const stored = await new BookStore(stack.redis, 'a').readBook('sim1', 'BTC/USDT', 10);
    expect(stored?.bids).toEqual(book.current()?.bids);
    expect(stored?.asks).toEqual(book.current()?.asks);

    // Each tape is one run per copy served, a <- b <- a, the first item of each later run marked,
    // and each run is a stretch of that copy's own stored trades with nothing skipped.
    for (const tape of [trades, candles]) {
      expect(runs(tape).map((r) => r.region)).toEqual(['a', 'b', 'a']);
      expect(tape.flatMap((t, i) => (t.regionSwitch ? [i] : []))).toEqual(
        runs(tape)
          .slice(1)
          .map((r) => r.from),
      );
    }
    for (const run of runs(trades)) {
      const stored = (await new BookStore(stack.redis, run.region).readTrades('sim1', 'BTC/USDT', 1_000))
        .map((t) => t.id)
        .reverse();
      const ids = trades.slice(run.from, run.from + run.length).map((t) => t.id);
      const at = stored.indexOf(ids[0]!);
      expect(
        at,
        `the first trade of the ${run.region} run is in ${run.region}'s stream`,
      ).toBeGreaterThanOrEqual(0);
      expect(ids).toEqual(stored.slice(at, at + ids.length));
    }

    expect(ended, 'subscriptions stay open').toBe(false);
    expect(checkClients(stack.reference, [book, control])).toEqual([]);
    expect(control.resets, 'a venue only b ingests never switches').toEqual([]);
    expect(new Set(control.messages.map((m) => m.region))).toEqual(new Set(['b']));
    for (const h of [...handles, throttled, ...market]) {
      expect(h.errors).toEqual([]);
      h.unsubscribe();
    }
  });
});

describe('REGIONS from config', () => {
  let own: TestRedis;
  const runtimes: Runtime[] = [];
  afterAll(async () => {
    for (const r of runtimes.reverse()) await r.stop();
    await own?.stop();
  });

  it("reaches the server: a server of region a serves what only region b's ingester writes", async () => {
    own = await startTestRedis();
    const env = { REDIS_URL: own.url, PORT: '0', LOG_LEVEL: 'silent', SIM_UPDATES_PER_SEC: '20' };
    const start = async (vars: Record<string, string>, roles: { ingest: boolean; serve: boolean }) => {
      const runtime = await startRuntime({
        config: loadConfig({ ...env, ...vars }),
        log: createLogger('silent'),
        launchRedis: false,
        ...roles,
      });
      runtimes.push(runtime);
      return runtime;
    };
    await start({ REGION: 'b' }, { ingest: true, serve: false });
    const server = await start(
      { REGION: 'a', REGIONS: 'a,b', ALLOW_ANONYMOUS_MARKETDATA: '1' },
      { ingest: false, serve: true },
    );
    await expect
      .poll(
        async () => {
          const response = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              query:
                '{ region exchanges orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 1) { region } }',
            }),
          });
          return (await response.json()) as unknown;
        },
        { timeout: 60_000, interval: 200 },
      )
      .toEqual({
        data: { region: 'a', exchanges: ['sim1', 'sim2', 'sim3'], orderBook: { region: 'b' } },
      });
  });
});
