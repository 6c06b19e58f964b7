/**
 * End-to-end latency: feed -> Ingester -> Redis (EVALSHA + PUBLISH) -> GraphQL server ->
 * graphql-ws client, open loop.
 *
 *   npx tsx bench/e2e.ts [--rate=1000] [--warm=2] [--measure=10] [--repeats=3]
 *                        [--subs-per-book=10] [--subs-per-conn=1] [--depth=20]
 *
 * Layout (2 Node processes + redis-server):
 *   this process   pre-generated simulator updates for 10 books, emitted at a constant rate
 *                  (update i at t0 + i/rate) into the real Ingester (one writer connection), and
 *                  all graphql-ws clients (one WebSocket per subscriber by default)
 *   child process  bench/e2e-server.ts: the production runtime, `serve` only (forked, tsx)
 * Latency = client receipt (performance.now() in the sink's `next`) minus the moment the update
 * was handed to the Ingester, both in this process; the scheduler's own lag (emission minus the
 * planned instant) is reported separately. Baseline in the same run: the raw Redis hop, i.e. the
 * same feed and Ingester into an ioredis subscriber of the 10 channels in this process.
 * Loss: every DELTA's prevSeq must equal the seq of the stream's previous message; every seq the
 * source wrote that changed a subscriber's top-`depth` window (recomputed here with the same
 * OrderBook and diff) must arrive; no RESET; each subscriber's final window must equal the source's.
 */
import { loadavg } from 'node:os';
import { createRedis } from '../src/redis/connection.ts';
import { bookChannel } from '../src/redis/keys.ts';
import {
  awaitLastTouches,
  BOOKS,
  checkLoss,
  emit,
  type LossCheck,
  openSubscribers,
  type Plan,
  plan,
  REGION,
  SEED,
  startSource,
} from './book-workload.ts';
import {
  flag,
  fmt,
  type GoalLine,
  goal,
  type LatencySummary,
  median,
  printBenchHeader,
  procCpuSeconds,
  runMain,
  selfCpuSeconds,
  sleep,
  summarise,
  table,
} from './lib.ts';
import { startServer } from './server-child.ts';

const RATE = flag('rate', 1000);
const WARM_S = flag('warm', 2);
const MEASURE_S = flag('measure', 10);
const REPEATS = flag('repeats', 3);
const SUBS_PER_BOOK = flag('subs-per-book', 10);
const SUBS_PER_CONN = flag('subs-per-conn', 1);
const DEPTH = flag('depth', 20);

// ---------------------------------------------------------------- runs

/** Loss figures: messages expected (window-touching deltas per subscriber) in the measured window. */
interface RunResult extends LossCheck {
  mode: 'redis-hop' | 'e2e';
  repeat: number;
  latency: LatencySummary;
  lag: LatencySummary;
  seqErrors: number;
  subscribers: number;
  /** CPU % of one core over the measured window. */
  cpuLoad: number;
  cpuServer: number;
  cpuRedis: number;
  serverRssMb: number;
  /** 1-minute load average at the end of the run: other work on the (shared) machine shows here. */
  load1: number;
}

async function redisHopRun(p: Plan, repeat: number): Promise<RunResult> {
  const source = await startSource(p.markets, p.snapshots);
  const subscriber = createRedis(source.url, 'subscriber');
  const channels = p.markets.map((m) => bookChannel(REGION, m.exchange, m.symbol));
  const channelIndex = new Map(channels.map((c, b) => [c, b]));
  const warmCount = WARM_S * RATE;
  const lastSeq = new Array<number>(BOOKS).fill(1);
  const samples: number[] = [];
  let emittedAt: Float64Array = new Float64Array(0);
  let gaps = 0;
  let delivered = 0;
  subscriber.on('message', (channel: string, message: string) => {
    const t = performance.now();
    const b = channelIndex.get(channel);
    if (b === undefined) return;
    const seq = (JSON.parse(message) as { q: number }).q;
    if (seq !== lastSeq[b]! + 1) gaps += 1;
    lastSeq[b] = seq;
    const i = (seq - 2) * BOOKS + b;
    if (i >= warmCount) {
      delivered += 1;
      samples.push(t - emittedAt[i]!);
    }
  });
  await subscriber.subscribe(...channels);
  const cpu = { t: 0, load: 0, redis: 0 };
  const emission = emit(p, source.feed.sink!, RATE, WARM_S * RATE, () => {
    cpu.t = performance.now();
    cpu.load = selfCpuSeconds();
    cpu.redis = procCpuSeconds(source.redis.pid);
  });
  emittedAt = emission.emittedAt;
  const lag = await emission.done;
  await source.ingester.drain();
  await sleep(200);
  const seconds = (performance.now() - cpu.t) / 1000;
  const out: RunResult = {
    mode: 'redis-hop',
    repeat,
    latency: summarise(samples),
    lag: summarise(lag),
    expected: MEASURE_S * RATE,
    delivered,
    missing: MEASURE_S * RATE - delivered,
    gaps,
    resets: 0,
    contentMismatches: 0,
    seqErrors: source.seqErrors,
    subscribers: 1,
    cpuLoad: ((selfCpuSeconds() - cpu.load) / seconds) * 100,
    cpuServer: Number.NaN,
    cpuRedis: ((procCpuSeconds(source.redis.pid) - cpu.redis) / seconds) * 100,
    serverRssMb: Number.NaN,
    load1: loadavg()[0]!,
  };
  subscriber.disconnect();
  await source.close();
  return out;
}

async function e2eRun(p: Plan, repeat: number): Promise<RunResult> {
  const source = await startSource(p.markets, p.snapshots);
  const server = await startServer(source.url, REGION);
  const warmCount = WARM_S * RATE;
  const rounds = Math.ceil(p.deltas.length / BOOKS);
  const samples: number[] = [];
  let emittedAt: Float64Array = new Float64Array(0);
  const { subs, notReady, dispose } = await openSubscribers({
    url: `ws://127.0.0.1:${server.port}/graphql`,
    markets: p.markets,
    depth: DEPTH,
    subscribers: BOOKS * SUBS_PER_BOOK,
    subsPerConn: SUBS_PER_CONN,
    rounds,
    readyTimeoutMs: 20_000,
    onDelta: (sub, u, t) => {
      const i = (u.seq - 2) * BOOKS + sub.book;
      if (i >= warmCount && i < emittedAt.length) samples.push(t - emittedAt[i]!);
    },
  });
  if (notReady > 0) console.log(`! ${notReady} subscribers got no SNAPSHOT within 20 s`);

  const cpu = {
    t: 0,
    load: 0,
    redis: 0,
    server: Promise.resolve({ seconds: 0, rss: 0, heapUsed: 0, executions: 0 }),
  };
  const emission = emit(p, source.feed.sink!, RATE, WARM_S * RATE, () => {
    cpu.t = performance.now();
    cpu.load = selfCpuSeconds();
    cpu.redis = procCpuSeconds(source.redis.pid);
    cpu.server = server.cpu();
  });
  emittedAt = emission.emittedAt;
  const lag = await emission.done;
  await source.ingester.drain();
  // Let the last updates through: until every subscriber saw its book's last window change, up to 2 s.
  await awaitLastTouches(p, subs, 2_000);
  await sleep(100);
  const seconds = (performance.now() - cpu.t) / 1000;
  const serverEnd = await server.cpu();
  const serverStart = await cpu.server;

  const loss = checkLoss(p, subs, warmCount);
  const out: RunResult = {
    mode: 'e2e',
    repeat,
    latency: summarise(samples),
    lag: summarise(lag),
    ...loss,
    seqErrors: source.seqErrors,
    subscribers: subs.length,
    cpuLoad: ((selfCpuSeconds() - cpu.load) / seconds) * 100,
    cpuServer: ((serverEnd.seconds - serverStart.seconds) / seconds) * 100,
    cpuRedis: ((procCpuSeconds(source.redis.pid) - cpu.redis) / seconds) * 100,
    serverRssMb: serverEnd.rss / 2 ** 20,
    load1: loadavg()[0]!,
  };
  await dispose();
  await server.stop();
  await source.close();
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = performance.now();
  const total = (WARM_S + MEASURE_S) * RATE;
  const p = plan(total, DEPTH);
  const touched = p.touches.reduce((a, t) => a + t, 0);
  await printBenchHeader('bench/e2e.ts');
  console.log(
    `# seed ${SEED} · ${BOOKS} books (sim1,sim2 × BTC,ETH,SOL,KITE + sim3 × BTC,ETH) · ${RATE} updates/s open loop · ` +
      `warm-up ${WARM_S} s + measure ${MEASURE_S} s · ${REPEATS} repeats · ${SUBS_PER_BOOK} subscribers/book ` +
      `(${BOOKS * SUBS_PER_BOOK}), ${SUBS_PER_CONN} per WebSocket · depth ${DEPTH} · ` +
      `${((100 * touched) / total).toFixed(1)}% of deltas change the top-${DEPTH} window`,
  );
  const runs: RunResult[] = [];
  for (let r = 1; r <= REPEATS; r++) {
    for (const mode of ['redis-hop', 'e2e'] as const) {
      const result = mode === 'e2e' ? await e2eRun(p, r) : await redisHopRun(p, r);
      runs.push(result);
      const l = result.latency;
      console.log(
        `# ${mode} #${r}: n=${l.n} p50=${fmt(l.p50, 3)} p99=${fmt(l.p99, 3)} max=${fmt(l.max, 2)} ms ` +
          `missing=${result.missing} gaps=${result.gaps} resets=${result.resets} ` +
          `content=${result.contentMismatches} cpu load/server/redis=${fmt(result.cpuLoad, 0)}/${fmt(result.cpuServer, 0)}/${fmt(result.cpuRedis, 0)}%`,
      );
    }
  }

  const rows: string[][] = [
    [
      'mode',
      'run',
      'samples',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      'expected',
      'missing',
      'gaps',
      'resets',
      'content≠',
      'sched lag p99 ms',
      'CPU% load',
      'CPU% server',
      'CPU% redis',
      'loadavg 1m',
    ],
  ];
  for (const r of runs) {
    rows.push([
      r.mode,
      String(r.repeat),
      String(r.latency.n),
      fmt(r.latency.p50, 3),
      fmt(r.latency.p99, 3),
      fmt(r.latency.p999, 3),
      fmt(r.latency.max, 2),
      String(r.expected),
      String(r.missing),
      String(r.gaps),
      String(r.resets),
      String(r.contentMismatches),
      fmt(r.lag.p99, 3),
      fmt(r.cpuLoad, 0),
      fmt(r.cpuServer, 0),
      fmt(r.cpuRedis, 0),
      fmt(r.load1, 2),
    ]);
  }
  const med = (mode: RunResult['mode'], f: (r: RunResult) => number) =>
    median(runs.filter((r) => r.mode === mode).map(f));
  for (const mode of ['redis-hop', 'e2e'] as const) {
    rows.push([
      `${mode} median`,
      '',
      '',
      fmt(
        med(mode, (r) => r.latency.p50),
        3,
      ),
      fmt(
        med(mode, (r) => r.latency.p99),
        3,
      ),
      fmt(
        med(mode, (r) => r.latency.p999),
        3,
      ),
      fmt(
        med(mode, (r) => r.latency.max),
        2,
      ),
      '',
      '',
      '',
      '',
      '',
      fmt(
        med(mode, (r) => r.lag.p99),
        3,
      ),
      fmt(
        med(mode, (r) => r.cpuLoad),
        0,
      ),
      fmt(
        med(mode, (r) => r.cpuServer),
        0,
      ),
      fmt(
        med(mode, (r) => r.cpuRedis),
        0,
      ),
      '',
    ]);
  }
  console.log('');
  console.log(table(rows));
  console.log('');

  const e2e = (f: (r: RunResult) => number) => med('e2e', f);
  const hop = (f: (r: RunResult) => number) => med('redis-hop', f);
  const lossAll = runs
    .filter((r) => r.mode === 'e2e')
    .reduce((a, r) => a + r.missing + r.gaps + r.resets + r.contentMismatches + r.seqErrors, 0);
  const lossHop = runs.filter((r) => r.mode === 'redis-hop').reduce((a, r) => a + r.missing + r.gaps, 0);
  const goals: GoalLine[] = [];
  const latencyGoal = (name: string, f: (r: RunResult) => number, max: number) => {
    const value = e2e(f);
    const baseline = hop(f);
    goals.push(
      goal({
        goal: `G5 e2e ${name} (median of ${REPEATS}); baseline = raw Redis hop`,
        value,
        baseline,
        ratio: value / baseline,
        threshold: `value <= ${max} ms`,
        pass: value <= max,
        unit: 'ms',
      }),
    );
  };
  latencyGoal('p50', (r) => r.latency.p50, 2);
  latencyGoal('p99', (r) => r.latency.p99, 10);
  latencyGoal('max', (r) => r.latency.max, 50);
  goals.push(
    goal({
      goal: 'G5 e2e loss (missing + prevSeq gaps + RESET/errors + final-window mismatches + seq errors, all runs)',
      value: lossAll,
      baseline: lossHop,
      ratio: null,
      threshold: 'value == 0',
      pass: lossAll === 0,
      unit: 'messages',
    }),
  );
  console.log('');
  console.log(
    table([
      ['goal', 'value', 'baseline', 'ratio', 'threshold', 'pass'],
      ...goals.map((g) => [
        g.goal,
        `${fmt(g.value, 3)} ${g.unit}`,
        g.baseline === null ? '—' : fmt(g.baseline, 3),
        g.ratio === null ? '—' : `${fmt(g.ratio)}×`,
        g.threshold,
        g.pass ? 'PASS' : 'FAIL',
      ]),
    ]),
  );
  console.log(
    `# server-added latency (e2e − hop, medians): p50 ${fmt(e2e((r) => r.latency.p50) - hop((r) => r.latency.p50), 3)} ms, ` +
      `p99 ${fmt(e2e((r) => r.latency.p99) - hop((r) => r.latency.p99), 3)} ms`,
  );
  console.log(`# total ${fmt((performance.now() - started) / 1000, 1)} s`);
}

runMain(main);
