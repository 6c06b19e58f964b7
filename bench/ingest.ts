/**
 * Ingest throughput: book updates per second written into a private Redis.
 *
 *   npx tsx bench/ingest.ts [--n=20000] [--warm=5000] [--window=256] [--books=10] [--ks=10,4,2]
 *
 * Variants, all on one ioredis connection made like the production writer (`createRedis(url,
 * 'writer')`), all fed the same pre-generated events (fixed seed) and all holding the same number
 * of updates in flight (`--window`), so only the commands per update differ:
 *   script     BookStore.writeBookEvent: 1 EVALSHA per update (our path)
 *   per-level  B-per-level baseline: HSET / HDEL per changed level (the side hashes), HSET meta, PUBLISH
 *              (K+2 commands per update, pipelined, no (epoch, seq) check)
 *   ingester   the real Ingester (normalise, sequence, encode, EVALSHA) fed by a replay feed
 *   awaited-*  naive: await every command before the next (closed loop), for scale
 * Goals (performance-anchors.md §6): G4 script >= 3x per-level at K=10, >= 20k/s at K=10,
 * >= 30k/s at K<=4; G3 round trips per update (evalsha+eval calls / updates) == 1.00.
 */
import { loadavg } from 'node:os';
import { Ingester } from '../src/ingest/ingester.ts';
import { createLogger } from '../src/log.ts';
import type { BookEvent, RawBookUpdate } from '../src/marketdata/types.ts';
import { BookStore } from '../src/redis/book-store.ts';
import { createRedis, type RedisClient } from '../src/redis/connection.ts';
import { bookChannel, bookKeys } from '../src/redis/keys.ts';
import { encodeBookEvent } from '../src/wire/codec.ts';
import {
  callsDelta,
  commandCalls,
  flag,
  fmt,
  fmtInt,
  type GoalLine,
  goal,
  header,
  median,
  printHeader,
  procCpuSeconds,
  ReplayFeed,
  selfCpuSeconds,
  startPrivateRedis,
  table,
} from './lib.ts';
import { generateWorkload } from './workload.ts';

const SEED = 20261126;
const N = flag('n', 20_000);
const WARM = flag('warm', 5_000);
const WINDOW = flag('window', 256);
const BOOKS = flag('books', 10);
const LEVELS = flag('levels', 50);
const REPEATS = flag('repeats', 3);
const NAIVE_MS = flag('naive-ms', 400);
const KS = flag('ks', '10,4,2')
  .split(',')
  .map((k) => Number(k));
const AUTOPIPELINE = flag('autopipeline', 0) === 1;

/** Keeps `window` operations in flight: each completion issues the next. */
function runWindowed(count: number, window: number, issue: (i: number) => Promise<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (count === 0) {
      resolve();
      return;
    }
    let next = 0;
    let done = 0;
    const launch = () => {
      const i = next++;
      issue(i).then(() => {
        done += 1;
        if (done === count) resolve();
        else if (next < count) launch();
      }, reject);
    };
    while (next < Math.min(window, count)) launch();
  });
}

/**
 * The B-per-level baseline: one command per changed level (HSET/HDEL on the side's hash, the
 * production encoding's keys), then meta + PUBLISH.
 */
function writePerLevel(
  redis: RedisClient,
  region: string,
  event: BookEvent,
  message: string,
): Promise<unknown> {
  const k = bookKeys(region, event.exchange, event.symbol);
  const ops: Promise<unknown>[] = [];
  if (event.kind === 'snapshot') ops.push(redis.del(k.bids, k.asks));
  const side = (levels: BookEvent['bids'], key: string) => {
    for (const [price, size] of levels) {
      ops.push(Number(size) === 0 ? redis.hdel(key, price) : redis.hset(key, price, size));
    }
  };
  side(event.bids, k.bids);
  side(event.asks, k.asks);
  ops.push(
    redis.hset(
      k.meta,
      'epoch',
      event.epoch,
      'seq',
      event.seq,
      'exchangeTs',
      event.exchangeTs,
      'receiveTs',
      event.receiveTs,
    ),
  );
  ops.push(redis.publish(bookChannel(region, event.exchange, event.symbol), message));
  return Promise.all(ops);
}

async function writePerLevelAwaited(redis: RedisClient, region: string, event: BookEvent, message: string) {
  const k = bookKeys(region, event.exchange, event.symbol);
  if (event.kind === 'snapshot') await redis.del(k.bids, k.asks);
  for (const [levels, key] of [
    [event.bids, k.bids],
    [event.asks, k.asks],
  ] as const) {
    for (const [price, size] of levels) {
      if (Number(size) === 0) await redis.hdel(key, price);
      else await redis.hset(key, price, size);
    }
  }
  await redis.hset(k.meta, 'epoch', event.epoch, 'seq', event.seq, 'exchangeTs', event.exchangeTs);
  await redis.publish(bookChannel(region, event.exchange, event.symbol), message);
}

function rawOf(event: BookEvent): RawBookUpdate {
  return {
    kind: event.kind,
    exchange: event.exchange,
    symbol: event.symbol,
    bids: event.bids,
    asks: event.asks,
    exchangeTs: event.exchangeTs,
    receiveTs: event.receiveTs,
  };
}

interface Sample {
  updates: number;
  seconds: number;
  rate: number;
  nodeCpuUs: number;
  redisCpuUs: number;
  /** Commands Redis executed per update (all but INFO), including those called inside scripts. */
  commandsPerUpdate: number;
  /** evalsha + eval calls per update. */
  scriptCallsPerUpdate: number;
  commands: number;
  scriptCalls: number;
}

async function measure(redis: RedisClient, redisPid: number, updates: number, run: () => Promise<unknown>) {
  const before = await commandCalls(redis);
  const cpu0 = selfCpuSeconds();
  const rcpu0 = procCpuSeconds(redisPid);
  const t0 = performance.now();
  const counted = await run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = selfCpuSeconds();
  const rcpu1 = procCpuSeconds(redisPid);
  const after = await commandCalls(redis);
  const n = typeof counted === 'number' ? counted : updates;
  if (process.env.BENCH_DEBUG) {
    const d = [...after].map(([k, v]) => `${k}=${v - (before.get(k) ?? 0)}`).join(' ');
    console.log(
      `# debug ${n} updates: ${d} · ${(await redis.info('commandstats')).match(/cmdstat_evalsha:.*/)?.[0]}`,
    );
  }
  const sample: Sample = {
    updates: n,
    seconds,
    rate: n / seconds,
    nodeCpuUs: ((cpu1 - cpu0) * 1e6) / n,
    redisCpuUs: ((rcpu1 - rcpu0) * 1e6) / n,
    commandsPerUpdate: callsDelta(before, after) / n,
    scriptCallsPerUpdate: bookScriptCalls(before, after) / n,
    commands: callsDelta(before, after),
    scriptCalls: bookScriptCalls(before, after),
  };
  return sample;
}

/**
 * evalsha + eval calls that were book writes: the Ingester also flushes feed statuses once a
 * second with a script of its own (WRITE_FEED_STATUS), which is the only caller of PEXPIRE.
 */
function bookScriptCalls(before: Map<string, number>, after: Map<string, number>): number {
  return callsDelta(before, after, ['evalsha', 'eval']) - callsDelta(before, after, ['pexpire']);
}

type Variant = 'script' | 'per-level' | 'ingester' | 'awaited-script' | 'awaited-per-level';

async function main(): Promise<void> {
  const { server: redisServer, url: redisUrl } = await startPrivateRedis();
  const log = createLogger('silent');
  const writer = createRedis(redisUrl, 'writer', AUTOPIPELINE ? { enableAutoPipelining: true } : {});
  const admin = createRedis(redisUrl, 'command', { enableAutoPipelining: false });
  const started = performance.now();
  try {
    printHeader(await header('bench/ingest.ts', admin));
    console.log(
      `# seed ${SEED} · ${BOOKS} books × ${LEVELS} levels/side · warm-up ${WARM} updates, then ` +
        `${REPEATS} × ${N} updates per variant (median) · ${WINDOW} updates in flight · ` +
        `writer autopipelining ${AUTOPIPELINE ? 'on' : 'off (production writer config)'} · redis pid ${redisServer.pid}`,
    );
    const results = new Map<string, Sample[]>();
    const add = (k: number, v: Variant, s: Sample) => {
      const key = `${k}:${v}`;
      results.set(key, [...(results.get(key) ?? []), s]);
    };
    const checks: string[] = [];

    for (const K of KS) {
      const genStart = performance.now();
      const work = generateWorkload({
        seed: SEED + K,
        books: BOOKS,
        levels: LEVELS,
        k: K,
        deltas: WARM + REPEATS * N,
      });
      const events = work.events;
      const messages = events.map((e) => encodeBookEvent(e));
      console.log(
        `# K=${K}: generated ${events.length} events in ${fmt((performance.now() - genStart) / 1000)} s`,
      );
      await admin.flushall();

      const scriptStore = new BookStore(writer, `k${K}-script`);
      const levelRegion = `k${K}-level`;
      const ingestStore = new BookStore(writer, `k${K}-ingest`);
      const feed = new ReplayFeed(work.markets);
      let onWritten: () => void = () => {};
      const ingester = new Ingester({ store: ingestStore, feeds: [feed], log, onWritten: () => onWritten() });
      await ingester.start();
      const sink = feed.sink!;
      // Through the Ingester: the same window, counted by its onWritten callback. A rejected or
      // failed update never reports, so a watchdog turns a stall into an error instead of a hang.
      const ingestRange = (from: number, to: number) =>
        new Promise<void>((resolve, reject) => {
          let next = from;
          let done = 0;
          const count = to - from;
          let progress = performance.now();
          const watchdog = setInterval(() => {
            if (performance.now() - progress < 5_000) return;
            clearInterval(watchdog);
            reject(new Error(`ingester stalled at ${done}/${count}: ${JSON.stringify(ingester.stats)}`));
          }, 1_000);
          const issue = () => {
            while (next < to && next - from - done < WINDOW) sink.book(rawOf(events[next++]!));
          };
          onWritten = () => {
            done += 1;
            progress = performance.now();
            if (done === count) {
              clearInterval(watchdog);
              resolve();
            } else issue();
          };
          issue();
        });

      const ranges: [number, number][] = [[0, BOOKS + WARM]];
      for (let r = 0; r < REPEATS; r++) {
        const from = BOOKS + WARM + r * N;
        ranges.push([from, from + N]);
      }
      for (const [i, [from, to]] of ranges.entries()) {
        const count = to - from;
        const s1 = await measure(admin, redisServer.pid, count, () =>
          runWindowed(count, WINDOW, (j) =>
            scriptStore.writeBookEvent(events[from + j]!, messages[from + j]!),
          ),
        );
        const s2 = await measure(admin, redisServer.pid, count, () =>
          runWindowed(count, WINDOW, (j) =>
            writePerLevel(writer, levelRegion, events[from + j]!, messages[from + j]!),
          ),
        );
        const s3 = await measure(admin, redisServer.pid, count, () => ingestRange(from, to));
        for (const [name, smp] of [
          ['script', s1],
          ['ingester', s3],
        ] as const) {
          if (smp.scriptCalls !== smp.updates) {
            console.log(
              `# K=${K} ${name} run ${i}: ${smp.scriptCalls} evalsha+eval calls for ${smp.updates} updates`,
            );
          }
        }
        if (i > 0) {
          add(K, 'script', s1);
          add(K, 'per-level', s2);
          add(K, 'ingester', s3);
        }
      }
      if (ingester.stats.writeErrors > 0 || ingester.stats.rejected > 0) {
        checks.push(
          `K=${K}: ingester writeErrors=${ingester.stats.writeErrors} rejected=${ingester.stats.rejected}`,
        );
      }
      // The same final book in Redis for every variant, and the generator's.
      for (const [symbol, expected] of work.finalBooks) {
        for (const region of [scriptStore.region, levelRegion, ingestStore.region]) {
          const got = await new BookStore(admin, region).readBook('bench', symbol, 0);
          const same =
            got !== null &&
            JSON.stringify(got.bids) === JSON.stringify(expected.bids) &&
            JSON.stringify(got.asks) === JSON.stringify(expected.asks);
          if (!same) checks.push(`K=${K} ${region} ${symbol}: stored book differs from the generator's`);
        }
      }

      // Naive closed loop, for scale: await each round trip before the next.
      for (let r = 0; r < REPEATS; r++) {
        for (const v of ['awaited-script', 'awaited-per-level'] as const) {
          const region = `k${K}-${v}`;
          const store = new BookStore(writer, region);
          let i = r === 0 ? 0 : (awaitedNext.get(region) ?? 0);
          const s = await measure(admin, redisServer.pid, 0, async () => {
            const until = performance.now() + NAIVE_MS;
            let n = 0;
            while (performance.now() < until && i < events.length) {
              if (v === 'awaited-script') await store.writeBookEvent(events[i]!, messages[i]!);
              else await writePerLevelAwaited(writer, region, events[i]!, messages[i]!);
              i += 1;
              n += 1;
            }
            return n;
          });
          awaitedNext.set(region, i);
          add(K, v, s);
        }
      }
      await ingester.stop();
    }

    // Report.
    const rows: string[][] = [
      [
        'K',
        'variant',
        'updates/s (median)',
        'runs',
        'vs per-level',
        'cmds executed/update',
        'evalsha+eval/update',
        'node CPU µs/update',
        'redis CPU µs/update',
      ],
    ];
    const med = (K: number, v: Variant, f: (s: Sample) => number) =>
      median((results.get(`${K}:${v}`) ?? []).map(f));
    for (const K of KS) {
      const base = med(K, 'per-level', (s) => s.rate);
      for (const v of ['script', 'per-level', 'ingester', 'awaited-script', 'awaited-per-level'] as const) {
        const samples = results.get(`${K}:${v}`) ?? [];
        rows.push([
          String(K),
          v,
          fmtInt(med(K, v, (s) => s.rate)),
          samples.map((s) => fmtInt(s.rate)).join(' / '),
          `${fmt(med(K, v, (s) => s.rate) / base)}×`,
          fmt(med(K, v, (s) => s.commandsPerUpdate)),
          fmt(med(K, v, (s) => s.scriptCallsPerUpdate)),
          fmt(
            med(K, v, (s) => s.nodeCpuUs),
            1,
          ),
          fmt(
            med(K, v, (s) => s.redisCpuUs),
            1,
          ),
        ]);
      }
    }
    console.log('');
    console.log(table(rows));
    console.log('');

    const goals: GoalLine[] = [];
    if (KS.includes(10)) {
      const ours = med(10, 'script', (s) => s.rate);
      const base = med(10, 'per-level', (s) => s.rate);
      goals.push(
        goal({
          goal: 'G4 ingest ratio K=10 (script vs per-level)',
          value: ours,
          baseline: base,
          ratio: ours / base,
          threshold: 'ratio >= 3',
          pass: ours / base >= 3,
          unit: 'updates/s',
        }),
      );
    }
    for (const K of KS) {
      const ours = med(K, 'script', (s) => s.rate);
      const base = med(K, 'per-level', (s) => s.rate);
      const min = K >= 10 ? 20_000 : K <= 4 ? 30_000 : Number.NaN;
      if (Number.isNaN(min)) continue;
      goals.push(
        goal({
          goal: `G4 ingest absolute K=${K} (script)`,
          value: ours,
          baseline: base,
          ratio: ours / base,
          threshold: `value >= ${min}`,
          pass: ours >= min,
          unit: 'updates/s',
        }),
      );
    }
    // G3: exactly one round trip per update, over every measured script and ingester run.
    const all = KS.flatMap((K) => [
      ...(results.get(`${K}:script`) ?? []),
      ...(results.get(`${K}:ingester`) ?? []),
    ]);
    const calls = all.reduce((a, s) => a + s.scriptCalls, 0);
    const updates = all.reduce((a, s) => a + s.updates, 0);
    const baseRuns = KS.flatMap((K) => results.get(`${K}:per-level`) ?? []);
    const baseCmds =
      baseRuns.reduce((a, s) => a + s.commands, 0) / baseRuns.reduce((a, s) => a + s.updates, 0);
    goals.push(
      goal({
        goal: 'G3 round trips per update (INFO commandstats evalsha+eval / updates)',
        value: calls / updates,
        baseline: baseCmds,
        ratio: baseCmds / (calls / updates),
        threshold: 'value == 1.00',
        pass: calls === updates,
        unit: 'commands/update',
      }),
    );
    goals.push(
      goal({
        goal: 'ingest correctness (stored books equal the generator, no write errors)',
        value: checks.length,
        baseline: null,
        ratio: null,
        threshold: 'value == 0',
        pass: checks.length === 0,
        unit: 'problems',
      }),
    );
    for (const c of checks) console.log(`! ${c}`);
    console.log('');
    console.log(
      table([
        ['goal', 'value', 'baseline', 'ratio', 'threshold', 'pass'],
        ...goals.map((g) => [
          g.goal,
          `${fmt(g.value)} ${g.unit}`,
          g.baseline === null ? '—' : fmt(g.baseline),
          g.ratio === null ? '—' : `${fmt(g.ratio)}×`,
          g.threshold,
          g.pass ? 'PASS' : 'FAIL',
        ]),
      ]),
    );
    console.log(
      `# total ${fmt((performance.now() - started) / 1000, 1)} s · loadavg ${loadavg()
        .map((l) => fmt(l))
        .join(' ')}`,
    );
  } finally {
    writer.disconnect();
    admin.disconnect();
    await redisServer.stop();
  }
}

const awaitedNext = new Map<string, number>();

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
