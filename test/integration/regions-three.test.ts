import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGION_SPLIT, regionEnv } from '../../src/cli/regions.ts';
import type { Runtime } from '../../src/runtime.ts';
import {
  BOOK_UPDATE_FIELDS,
  ClientBook,
  checkClients,
  ReferenceLog,
  type WireBookUpdate,
} from '../helpers/book-checker.ts';
import { type Clients, executeOk, subscribe, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * The three regions of `bookgraph regions` (its REGION / REGIONS / FEEDS split: each venue
 * ingested by two regions) on one Redis keyspace, each region's ingester and server as separate
 * processes' runtimes, as production deploys them. One region's ingester dies: that region's
 * server moves each affected book to the other ingesting region's copy.
 */
const [ASIA, EUROPE, US] = REGION_SPLIT.map((s) => s.region) as [string, string, string];
/** Generous: a loaded machine must not make a fresh copy look stale (a switch the test did not cause). */
const STALE_MS = '3000';

let redis: TestRedis;
let clients: Clients;
const reference = new ReferenceLog();
const ingesters = new Map<string, Runtime>();
const servers = new Map<string, Runtime>();

beforeAll(async () => {
  redis = await startTestRedis();
  clients = trackedClients();
  for (const split of REGION_SPLIT) {
    const env = { ...regionEnv(split), BOOK_STALE_MS: STALE_MS, SIM_UPDATES_PER_SEC: '20' };
    ingesters.set(
      split.region,
      await startTestRuntime(redis.url, env, { serve: false, onWritten: reference.record }),
    );
    servers.set(
      split.region,
      await startTestRuntime(redis.url, { ...env, ALLOW_ANONYMOUS_MARKETDATA: '1' }, { ingest: false }),
    );
  }
});

afterAll(async () => {
  await clients?.dispose();
  for (const runtime of [...servers.values(), ...ingesters.values()]) await runtime.stop();
  await redis?.stop();
});

const wsUrl = (region: string) => `ws://127.0.0.1:${servers.get(region)!.port}/graphql`;

describe('bookgraph regions: three regions, each venue ingested by two', () => {
  it('serves every venue in every region, its own copy where it ingests one', async () => {
    const ingests = (region: string, venue: string) =>
      REGION_SPLIT.find((s) => s.region === region)?.venues.includes(venue) ?? false;
    for (const split of REGION_SPLIT) {
      // Own copy where the region ingests the venue; else a copy of a region that does.
      await expect
        .poll(
          async () => {
            const data = await executeOk<Record<string, { region: string } | null>>(
              servers.get(split.region)!.app!,
              `{ ${['sim1', 'sim2', 'sim3']
                .map((x) => `${x}: orderBook(exchange: "${x}", symbol: "BTC/USDT", depth: 1) { region }`)
                .join(' ')} }`,
            ).catch(() => undefined);
            return Object.entries(data ?? {}).map(([venue, book]) =>
              split.venues.includes(venue)
                ? book?.region === split.region
                : book?.region !== undefined && ingests(book.region, venue),
            );
          },
          { timeout: 60_000, interval: 200 },
        )
        .toEqual([true, true, true]);
    }
  });

  it("moves a region's books to the other ingesting region when its ingester dies: RESET, no silent gap, query == stream", async () => {
    const ws = clients.ws(wsUrl(ASIA));
    const query = `subscription($exchange: String!, $symbol: String!, $depth: Int!) {
      orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) { ${BOOK_UPDATE_FIELDS} region }
    }`;
    // sim1 is ingested by asia and us-west, sim2 by asia and europe, sim3 (the control) by europe and us-west.
    const books = [
      new ClientBook('sim1', 'BTC/USDT', 10),
      new ClientBook('sim2', 'ETH/USDT', 10),
      new ClientBook('sim3', 'BTC/USDT', 10),
    ];
    const [sim1, sim2, sim3] = books as [ClientBook, ClientBook, ClientBook];
    const handles = books.map((b) =>
      subscribe<WireBookUpdate>(ws, query, { exchange: b.exchange, symbol: b.symbol, depth: b.depth }, (u) =>
        b.apply(u),
      ),
    );
    const trades: { region: string; regionSwitch: boolean }[] = [];
    const tradeStream = subscribe<{ region: string; regionSwitch: boolean }>(
      ws,
      'subscription { trades(exchange: "sim1", symbol: "BTC/USDT") { region regionSwitch } }',
      {},
      (t) => trades.push(t),
    );
    let ended = false;
    for (const h of [...handles, tradeStream]) void h.done.then(() => (ended = true));
    const snapshotRegions = (b: ClientBook) =>
      b.messages.filter((m) => m.type === 'SNAPSHOT').map((m) => m.region);

    await sim1.untilCaughtUp(reference, 60_000, ASIA);
    await sim2.untilCaughtUp(reference, 60_000, ASIA);
    await sim3.until(() => sim3.hasBook, 60_000, 'the control book');
    const controlRegion = sim3.lastMessage!.region!;
    expect([EUROPE, US]).toContain(controlRegion);
    await expect.poll(() => trades.at(-1)?.region, { timeout: 60_000 }).toBe(ASIA);

    // Asia's ingester dies: its two venues move to the other region ingesting each.
    await ingesters.get(ASIA)!.stop();
    ingesters.delete(ASIA);
    await sim1.until(() => snapshotRegions(sim1).length === 2, 60_000, "sim1's switch");
    await sim2.until(() => snapshotRegions(sim2).length === 2, 60_000, "sim2's switch");
    expect(snapshotRegions(sim1)).toEqual([ASIA, US]);
    expect(snapshotRegions(sim2)).toEqual([ASIA, EUROPE]);
    expect(sim1.resets).toEqual(['REGION_SWITCH']);
    expect(sim2.resets).toEqual(['REGION_SWITCH']);
    await sim1.untilCaughtUp(reference, 60_000, US);
    await sim2.untilCaughtUp(reference, 60_000, EUROPE);
    await expect.poll(() => trades.at(-1)?.region, { timeout: 60_000 }).toBe(US);
    expect(trades.filter((t) => t.regionSwitch)).toEqual([{ region: US, regionSwitch: true }]);

    // Query == stream, with every writer stopped so that nothing moves any more.
    for (const [region, runtime] of [...ingesters]) {
      await runtime.stop();
      ingesters.delete(region);
    }
    for (const book of books) {
      await book.untilCovered(reference);
      const last = book.lastMessage!;
      const queried = await executeOk<{
        orderBook: { region: string; epoch: string; seq: number; bids: { price: string; size: string }[] };
      }>(
        servers.get(ASIA)!.app!,
        `{ orderBook(exchange: "${book.exchange}", symbol: "${book.symbol}", depth: 10) { region epoch seq bids { price size } } }`,
      );
      expect(queried.orderBook).toMatchObject({ region: last.region, epoch: last.epoch, seq: last.seq });
      expect(queried.orderBook.bids.map((l) => [l.price, l.size])).toEqual(book.current()?.bids);
    }

    expect(ended, 'subscriptions stay open').toBe(false);
    expect(checkClients(reference, books)).toEqual([]);
    expect(sim3.resets, 'a venue asia does not ingest never switches').toEqual([]);
    expect(new Set(sim3.messages.map((m) => m.region))).toEqual(new Set([controlRegion]));
    for (const h of [...handles, tradeStream]) {
      expect(h.errors).toEqual([]);
      h.unsubscribe();
    }
  });
});
