/**
 * Replication cost: the bytes Redis ships to its replicas per book update, as a proxy for what
 * Active-Active ships between regions (both replicate a script's effects, not the script).
 *
 *   npm run bench:replication -- [--rounds=600] [--snapshot-every=100] [--runs=3] [--seed=42]
 *
 * Each run: a private primary with a replication tap attached (bench/replication-tap.ts, a replica
 * that counts the stream byte for byte); the simulator (one venue, four books) through the real
 * Ingester and BookStore (the production WRITE_BOOK_EVENT, book encoding v2, and WRITE_TRADE), every
 * `snapshot-every` rounds a snapshot per book instead of a delta; then the very same sequenced
 * events written again in each alternative encoding (bench/replication-encodings.ts, one script
 * call per update). Every variant writes under its own region name of the same length, so key and
 * channel names cost the same (v1's `zset-sizes` keys lack the 3-byte `v2:` segment). Checks: the
 * tap saw exactly `master_repl_offset`'s advance, every alternative's final books equal
 * production's, one script call per alternative update, production's book writes replicate exactly
 * the bytes of `hash-lean-meta` (the encoding it adopted).
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Ingester } from '../src/ingest/ingester.ts';
import { createLogger } from '../src/log.ts';
import { MarketSimulator } from '../src/marketdata/simulator.ts';
import type { BookEvent, Market } from '../src/marketdata/types.ts';
import { BookStore } from '../src/redis/book-store.ts';
import { createRedis } from '../src/redis/connection.ts';
import { bookKeys } from '../src/redis/keys.ts';
import { encodeBookEvent } from '../src/wire/codec.ts';
import {
  callsDelta,
  commandCalls,
  flag,
  fmt,
  fmtInt,
  header,
  median,
  printHeader,
  ReplayFeed,
  startPrivateRedis,
} from './lib.ts';
import { costByRegion, replicatedWrites } from './replication-classify.ts';
import { ALTERNATIVE_ENCODINGS, AlternativeBookWriter } from './replication-encodings.ts';
import {
  type ReplicationRun,
  report,
  VARIANTS,
  type Variant,
  type VariantCost,
} from './replication-report.ts';
import { openReplicationTap } from './replication-tap.ts';

export type { ReplicationRun, Variant, VariantCost };

export interface ReplicationBenchOptions {
  /** Simulator rounds; each is one update per book and the trades it made. */
  rounds: number;
  /** Every this many rounds each book gets a snapshot instead of a delta. */
  snapshotEvery: number;
  /** Simulator seed. */
  seed: number;
  /** Timed reads per variant and depth. @default 200 */
  reads?: number;
  /** Simulated venues. @default ['sim1'] */
  venues?: readonly string[];
}

/** Stored elements per book level: a ZSET member and a sizes field, or one of either. */
const ELEMENTS_PER_LEVEL: Record<Variant, number> = {
  current: 1,
  'zset-sizes': 2,
  'hash-per-side': 1,
  'hash-lean-meta': 1,
  'member-zset': 1,
};

/** Region names of one length, so every variant's keys and channels cost the same bytes. */
const regionOf = (i: number) => `v${i}`;

/** Levels removed by deltas, and levels present when each snapshot replaced its book. */
function levelStats(events: readonly BookEvent[]): {
  deleted: number;
  underSnapshots: number;
  replacingSnapshots: number;
} {
  const books = new Map<string, { bids: Set<string>; asks: Set<string> }>();
  let deleted = 0;
  let underSnapshots = 0;
  let replacingSnapshots = 0;
  for (const e of events) {
    const id = `${e.exchange}|${e.symbol}`;
    let book = books.get(id);
    if (e.kind === 'snapshot') {
      if (book) {
        underSnapshots += book.bids.size + book.asks.size;
        replacingSnapshots += 1;
      }
      book = { bids: new Set(), asks: new Set() };
      books.set(id, book);
    }
    if (!book) continue;
    for (const [set, levels] of [
      [book.bids, e.bids],
      [book.asks, e.asks],
    ] as const) {
      for (const [price, size] of levels) {
        if (Number(size) !== 0) set.add(price);
        else if (set.delete(price)) deleted += 1;
      }
    }
  }
  return { deleted, underSnapshots, replacingSnapshots };
}

/** Resolves once `count()` reaches `target`; fails after 60 s without progress. */
function until(count: () => number, target: number, what: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let last = count();
    let lastProgress = Date.now();
    const check = setInterval(() => {
      const now = count();
      if (now >= target) {
        clearInterval(check);
        resolve();
      } else if (now > last) {
        last = now;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > 60_000) {
        clearInterval(check);
        reject(new Error(`stalled at ${now}/${target}: ${what()}`));
      }
    }, 2);
  });
}

/**
 * Median µs per read of each variant at depth 10 and 0 (all), interleaved so they share the
 * machine's noise. Keyed `<variant>:<depth>`.
 */
async function readTimes(
  readers: Map<Variant, (m: Market, depth: number) => Promise<unknown>>,
  markets: readonly Market[],
  reads: number,
): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>();
  for (let i = 0; i < reads; i++) {
    const market = markets[i % markets.length]!;
    for (const depth of [10, 0]) {
      for (const [variant, read] of readers) {
        const t0 = performance.now();
        await read(market, depth);
        const key = `${variant}:${depth}`;
        samples.set(key, [...(samples.get(key) ?? []), (performance.now() - t0) * 1000]);
      }
    }
  }
  return new Map([...samples].map(([key, us]) => [key, median(us)]));
}

export async function runReplicationOnce(options: ReplicationBenchOptions): Promise<ReplicationRun> {
  // The tap never ACKs and reads a plain RDB: no timeout on it, no diskless transfer, no pings.
  const { server, url, password } = await startPrivateRedis([
    '--repl-timeout',
    '3600',
    '--repl-diskless-sync',
    'no',
    '--repl-ping-replica-period',
    '3600',
  ]);
  const writer = createRedis(url, 'writer');
  const admin = createRedis(url, 'command', { enableAutoPipelining: false });
  const tap = await openReplicationTap(server.port, password);
  const problems: string[] = [];
  try {
    let now = 1_700_000_000_000;
    const simulator = new MarketSimulator({
      seed: options.seed,
      venues: options.venues ?? ['sim1'],
      clock: () => now,
    });
    const feed = new ReplayFeed(simulator.markets());
    const events: BookEvent[] = [];
    let trades = 0;
    const store = new BookStore(writer, regionOf(0));
    const ingester = new Ingester({
      store,
      feeds: [feed],
      log: createLogger('silent'),
      onWritten: (event) => events.push(event),
      onTradeWritten: () => {
        trades += 1;
      },
    });
    await ingester.start();
    const sink = feed.sink!;
    let sentBooks = 0;
    let sentTrades = 0;
    for (let round = 0; round < options.rounds; round++) {
      now += 100;
      const { books, trades: made } = simulator.round();
      const snapshotRound = round > 0 && round % options.snapshotEvery === 0;
      for (const update of books) {
        sink.book(snapshotRound ? simulator.snapshot(update.exchange, update.symbol)! : update);
      }
      for (const trade of made) sink.trade(trade);
      sentBooks += books.length;
      sentTrades += made.length;
      // A few rounds in flight at most, so no update waits at the per-book cap (none merged).
      if (round % 8 === 7 || round === options.rounds - 1) {
        await until(
          () => events.length + trades,
          sentBooks + sentTrades,
          () => JSON.stringify(ingester.stats),
        );
      }
    }
    await ingester.stop();
    if (ingester.stats.merged > 0 || ingester.stats.writeErrors > 0 || ingester.stats.rejected > 0) {
      problems.push(`ingester: ${JSON.stringify(ingester.stats)}`);
    }
    const markets = simulator.markets();
    const token =
      (await admin.hget(bookKeys(regionOf(0), markets[0]!.exchange, markets[0]!.symbol).meta, 'token')) ??
      '0';

    const roundTrips = new Map<Variant, number>();
    const readers = new Map<Variant, (m: Market, depth: number) => Promise<unknown>>([
      ['current', (m, depth) => store.readBook(m.exchange, m.symbol, depth)],
    ]);
    for (const [i, encoding] of ALTERNATIVE_ENCODINGS.entries()) {
      const region = regionOf(i + 1);
      const alt = new AlternativeBookWriter(writer, region, encoding);
      readers.set(encoding, (m, depth) => alt.read(m.exchange, m.symbol, depth));
      await alt.load();
      const before = await commandCalls(admin);
      for (let from = 0; from < events.length; from += 256) {
        await Promise.all(
          events
            .slice(from, from + 256)
            .map((e) => alt.write(e, encodeBookEvent({ ...e, region }), Number(token))),
        );
      }
      const calls = callsDelta(before, await commandCalls(admin), ['evalsha', 'eval']);
      roundTrips.set(encoding, calls / events.length);
      for (const m of markets) {
        const want = await store.readBook(m.exchange, m.symbol, 0);
        const got = await alt.read(m.exchange, m.symbol);
        if (JSON.stringify([want?.bids, want?.asks]) !== JSON.stringify([got.bids, got.asks])) {
          problems.push(`${encoding} ${m.exchange} ${m.symbol}: final book differs from production's`);
        }
      }
    }

    const readUs = await readTimes(readers, markets, options.reads ?? 200);

    const offset = Number(/master_repl_offset:(\d+)/.exec(await admin.info('replication'))?.[1]);
    await tap.waitFor(offset);
    const offsetBytes = offset - tap.startOffset;
    if (tap.bytes() !== offsetBytes) {
      problems.push(`tap received ${tap.bytes()} bytes, master_repl_offset moved ${offsetBytes}`);
    }
    const byRegion = costByRegion(replicatedWrites(tap.commands));
    const stats = levelStats(events);
    const variants = VARIANTS.map((variant, i): VariantCost => {
      const cost = byRegion.get(regionOf(i));
      if (!cost) throw new Error(`no replicated writes for ${variant}`);
      return {
        variant,
        ...cost,
        deletedLevels: stats.deleted,
        snapshotTombstones: stats.underSnapshots * ELEMENTS_PER_LEVEL[variant],
        replacingSnapshots: stats.replacingSnapshots,
        roundTripsPerUpdate: variant === 'current' ? Number.NaN : roundTrips.get(variant)!,
        readTop10Us: readUs.get(`${variant}:10`)!,
        readAllUs: readUs.get(`${variant}:0`)!,
      };
    });
    // Production adopted hash-lean-meta (book encoding v2): its replicated book writes must be
    // the very same bytes as the independent alternative's.
    const lean = variants.find((v) => v.variant === 'hash-lean-meta')!;
    for (const kind of ['delta', 'snapshot'] as const) {
      if (variants[0]![kind].bytes !== lean[kind].bytes) {
        problems.push(
          `production ${kind}s replicated ${variants[0]![kind].bytes} B, hash-lean-meta's ${lean[kind].bytes} B`,
        );
      }
    }
    for (const v of variants) {
      const writes = v.delta.count + v.snapshot.count;
      if (writes !== events.length)
        problems.push(`${v.variant}: ${writes} book writes replicated, ${events.length} events`);
    }
    return { variants, tapBytes: tap.bytes(), offsetBytes, problems };
  } finally {
    tap.close();
    writer.disconnect();
    admin.disconnect();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const options: ReplicationBenchOptions = {
    rounds: flag('rounds', 600),
    snapshotEvery: flag('snapshot-every', 100),
    seed: flag('seed', 42),
  };
  const runs = flag('runs', 3);
  const started = performance.now();
  const probe = await startPrivateRedis();
  const admin = createRedis(probe.url, 'command');
  printHeader(await header('bench/replication.ts', admin));
  admin.disconnect();
  await probe.server.stop();
  console.log(
    `# seed ${options.seed} · sim1 (4 books) · ${options.rounds} rounds, a snapshot per book every ` +
      `${options.snapshotEvery} · ${runs} runs (median) · bytes = replication stream (RESP, effects)`,
  );
  const results: ReplicationRun[] = [];
  for (let r = 0; r < runs; r++) {
    const run = await runReplicationOnce(options);
    results.push(run);
    const c = run.variants[0]!;
    console.log(
      `# run ${r + 1}: ${fmtInt(c.delta.count)} deltas, ${c.snapshot.count} snapshots, ${c.trade.count} trades, ` +
        `${c.deletedLevels} deleted levels · tap ${fmtInt(run.tapBytes)} B = offset ${fmtInt(run.offsetBytes)} B · ` +
        `other (lease, feed status, markets) ${fmtInt(c.other.bytes)} B`,
    );
    for (const p of run.problems) console.log(`! ${p}`);
  }
  report(results);
  const problems = results.flatMap((r) => r.problems).length;
  console.log(
    `# ${problems} problems · total ${fmt((performance.now() - started) / 1000, 1)} s · loadavg ${loadavg()
      .map((l) => fmt(l))
      .join(' ')}`,
  );
  if (problems > 0) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
