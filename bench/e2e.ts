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
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Ingester } from '../src/ingest/ingester.ts';
import { createLogger } from '../src/log.ts';
import type { FeedSink } from '../src/marketdata/feed.ts';
import { diffLevels } from '../src/marketdata/level-diff.ts';
import { OrderBook } from '../src/marketdata/order-book.ts';
import { MarketSimulator, SIM_SYMBOLS, SIM_VENUES } from '../src/marketdata/simulator.ts';
import type { Level, Market, RawBookUpdate } from '../src/marketdata/types.ts';
import { BookStore } from '../src/redis/book-store.ts';
import { createRedis } from '../src/redis/connection.ts';
import { bookChannel } from '../src/redis/keys.ts';
import type { LocalRedisServer } from '../src/redis/local-server.ts';
import {
  flag,
  fmt,
  type GoalLine,
  goal,
  header,
  type LatencySummary,
  median,
  printHeader,
  procCpuSeconds,
  ReplayFeed,
  selfCpuSeconds,
  sleep,
  startPrivateRedis,
  summarise,
  table,
} from './lib.ts';
import { startServer } from './server-child.ts';

const SEED = 42;
const REGION = 'bench';
const RATE = flag('rate', 1000);
const WARM_S = flag('warm', 2);
const MEASURE_S = flag('measure', 10);
const REPEATS = flag('repeats', 3);
const SUBS_PER_BOOK = flag('subs-per-book', 10);
const SUBS_PER_CONN = flag('subs-per-conn', 1);
const DEPTH = flag('depth', 20);
const BOOKS = 10;

// ---------------------------------------------------------------- workload

interface Plan {
  markets: Market[];
  snapshots: RawBookUpdate[];
  /** Emission order: round-robin over the books, book = i % BOOKS, seq = floor(i / BOOKS) + 2. */
  deltas: RawBookUpdate[];
  /** Whether delta i changed its book's top-DEPTH window (so a subscriber must receive it). */
  touches: Uint8Array;
  /** Each book's top-DEPTH window after the last delta. */
  finalTop: { bids: Level[]; asks: Level[] }[];
}

function plan(total: number): Plan {
  const sim = new MarketSimulator({
    seed: SEED,
    venues: SIM_VENUES.map((v) => v.id),
    symbols: SIM_SYMBOLS,
    clock: () => 1_700_000_000_000,
  });
  // 3 venues x 4 symbols = 12 books; drop two thin sim3 books to keep exactly 10.
  const keep = sim
    .markets()
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => !(m.exchange === 'sim3' && (m.symbol === 'SOL/USDT' || m.symbol === 'KITE/USDT')));
  if (keep.length !== BOOKS) throw new Error(`expected ${BOOKS} books, got ${keep.length}`);
  const first = sim.round().books;
  const snapshots = keep.map(({ i }) => first[i]!);
  const models = snapshots.map((s) => OrderBook.from(s.bids, s.asks));
  const deltas: RawBookUpdate[] = [];
  const touches = new Uint8Array(total);
  while (deltas.length < total) {
    const books = sim.round().books;
    for (const [b, { i }] of keep.entries()) {
      if (deltas.length >= total) break;
      const update = books[i]!;
      const model = models[b]!;
      const before = model.top(DEPTH);
      model.apply(update.bids, update.asks);
      const after = model.top(DEPTH);
      touches[deltas.length] =
        diffLevels(before.bids, after.bids).length > 0 || diffLevels(before.asks, after.asks).length > 0
          ? 1
          : 0;
      deltas.push(update);
    }
  }
  return {
    markets: keep.map(({ m }) => m),
    snapshots,
    deltas,
    touches,
    finalTop: models.map((m) => m.top(DEPTH)),
  };
}

// ---------------------------------------------------------------- source

interface Source {
  redis: LocalRedisServer;
  url: string;
  ingester: Ingester;
  feed: ReplayFeed;
  seqErrors: number;
  close(): Promise<void>;
}

async function startSource(p: Plan): Promise<Source> {
  const { server: redis, url } = await startPrivateRedis();
  const writer = createRedis(url, 'writer');
  const feed = new ReplayFeed(p.markets);
  const bookIndex = new Map(p.markets.map((m, b) => [`${m.exchange} ${m.symbol}`, b]));
  const source: Source = {
    redis,
    url,
    feed,
    seqErrors: 0,
    ingester: new Ingester({
      store: new BookStore(writer, REGION),
      feeds: [feed],
      log: createLogger('silent'),
      // The sequencer must number the deltas exactly as the plan assumes.
      onWritten: (event) => {
        const b = bookIndex.get(`${event.exchange} ${event.symbol}`);
        if (b === undefined || event.seq !== nextSeq[b]) source.seqErrors += 1;
        nextSeq[b ?? 0] = event.seq + 1;
      },
    }),
    async close() {
      await source.ingester.stop();
      writer.disconnect();
      await redis.stop();
    },
  };
  const nextSeq = new Array<number>(BOOKS).fill(1);
  await source.ingester.start();
  for (const s of p.snapshots) feed.sink?.book(s);
  await source.ingester.drain();
  return source;
}

interface Emission {
  /** performance.now() at which delta i was handed to the Ingester; filled in as it goes. */
  emittedAt: Float64Array;
  /** Resolves after the last delta, with the scheduler lag (ms) of each measured delta. */
  done: Promise<number[]>;
}

/** Open loop: delta i is due at t0 + i/RATE; whatever is due is emitted, however late. */
function emit(p: Plan, sink: FeedSink, onMeasureStart: () => void): Emission {
  const total = p.deltas.length;
  const warmCount = WARM_S * RATE;
  const emittedAt = new Float64Array(total);
  const lag: number[] = [];
  const interval = 1000 / RATE;
  const t0 = performance.now() + 5;
  let i = 0;
  const done = new Promise<number[]>((resolve) => {
    const tick = () => {
      while (i < total && t0 + i * interval <= performance.now()) {
        if (i === warmCount) onMeasureStart();
        const now = performance.now();
        emittedAt[i] = now;
        if (i >= warmCount) lag.push(now - (t0 + i * interval));
        sink.book(p.deltas[i]!);
        i += 1;
      }
      if (i < total) setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
      else resolve(lag);
    };
    setTimeout(tick, 5);
  });
  return { emittedAt, done };
}

// ---------------------------------------------------------------- runs

interface RunResult {
  mode: 'redis-hop' | 'e2e';
  repeat: number;
  latency: LatencySummary;
  lag: LatencySummary;
  /** Messages expected (window-touching deltas per subscriber) and received, in the measured window. */
  expected: number;
  delivered: number;
  missing: number;
  gaps: number;
  resets: number;
  contentMismatches: number;
  seqErrors: number;
  subscribers: number;
  /** CPU % of one core over the measured window. */
  cpuLoad: number;
  cpuServer: number;
  cpuRedis: number;
  /** Server CPU µs per message delivered to a subscriber (NaN for the Redis hop). */
  serverUsPerMessage: number;
  serverRssMb: number;
  /** 1-minute load average at the end of the run: other work on the (shared) machine shows here. */
  load1: number;
}

async function redisHopRun(p: Plan, repeat: number): Promise<RunResult> {
  const source = await startSource(p);
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
  const emission = emit(p, source.feed.sink!, () => {
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
    serverUsPerMessage: Number.NaN,
    cpuRedis: ((procCpuSeconds(source.redis.pid) - cpu.redis) / seconds) * 100,
    serverRssMb: Number.NaN,
    load1: loadavg()[0]!,
  };
  subscriber.disconnect();
  await source.close();
  return out;
}

const SUBSCRIPTION = /* GraphQL */ `
  subscription Book($exchange: String!, $symbol: String!, $depth: Int!) {
    orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) {
      type
      seq
      prevSeq
      bids { price size }
      asks { price size }
      receiveTimestamp
    }
  }
`;

interface WireLevel {
  price: string;
  size: string;
}
interface UpdateData {
  orderBookUpdates: {
    type: 'SNAPSHOT' | 'DELTA' | 'RESET';
    seq: number;
    prevSeq: number | null;
    bids: WireLevel[];
    asks: WireLevel[];
    receiveTimestamp: number;
  };
}

class Subscriber {
  snapshotSeq = -1;
  lastSeq = -1;
  gaps = 0;
  resets = 0;
  errors = 0;
  readonly received: Uint8Array;
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();
  constructor(
    readonly book: number,
    rounds: number,
  ) {
    this.received = new Uint8Array(rounds + 2);
  }

  window(): { bids: Level[]; asks: Level[] } {
    const sorted = (m: Map<string, string>, desc: boolean): Level[] =>
      [...m].sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])));
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }
}

async function e2eRun(p: Plan, repeat: number): Promise<RunResult> {
  const source = await startSource(p);
  const server = await startServer(source.url, REGION);
  const warmCount = WARM_S * RATE;
  const rounds = Math.ceil(p.deltas.length / BOOKS);
  const samples: number[] = [];
  const subs: Subscriber[] = [];
  const clients: Client[] = [];
  let emittedAt: Float64Array = new Float64Array(0);
  const url = `ws://127.0.0.1:${server.port}/graphql`;
  let client: Client | undefined;
  for (let s = 0; s < BOOKS * SUBS_PER_BOOK; s++) {
    if (s % SUBS_PER_CONN === 0) {
      client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(client);
    }
    const b = Math.floor(s / SUBS_PER_BOOK) % BOOKS;
    // Spread subscribers of one book over connections: s-th subscriber -> book s % BOOKS when
    // several share a connection, so each connection carries different books.
    const book = SUBS_PER_CONN > 1 ? s % BOOKS : b;
    const sub = new Subscriber(book, rounds);
    subs.push(sub);
    const m = p.markets[book]!;
    client!.subscribe<UpdateData>(
      { query: SUBSCRIPTION, variables: { exchange: m.exchange, symbol: m.symbol, depth: DEPTH } },
      {
        next: (result) => {
          const t = performance.now();
          const u = result.data?.orderBookUpdates;
          if (!u) {
            sub.errors += 1;
            return;
          }
          if (u.type === 'RESET') {
            sub.resets += 1;
            return;
          }
          if (u.type === 'SNAPSHOT') {
            if (sub.snapshotSeq >= 0) sub.resets += 1; // a second snapshot is a discontinuity
            sub.snapshotSeq = u.seq;
            sub.lastSeq = u.seq;
            sub.bids.clear();
            sub.asks.clear();
            for (const l of u.bids) sub.bids.set(l.price, l.size);
            for (const l of u.asks) sub.asks.set(l.price, l.size);
            return;
          }
          if (u.prevSeq !== sub.lastSeq) sub.gaps += 1;
          sub.lastSeq = u.seq;
          if (u.seq < sub.received.length) sub.received[u.seq] = 1;
          for (const l of u.bids) {
            if (l.size === '0') sub.bids.delete(l.price);
            else sub.bids.set(l.price, l.size);
          }
          for (const l of u.asks) {
            if (l.size === '0') sub.asks.delete(l.price);
            else sub.asks.set(l.price, l.size);
          }
          const i = (u.seq - 2) * BOOKS + sub.book;
          if (i >= warmCount && i < emittedAt.length) samples.push(t - emittedAt[i]!);
        },
        error: () => {
          sub.errors += 1;
        },
        complete: () => {},
      },
    );
  }
  const deadline = performance.now() + 20_000;
  while (subs.some((s) => s.snapshotSeq < 0) && performance.now() < deadline) await sleep(20);
  const notReady = subs.filter((s) => s.snapshotSeq < 0).length;
  if (notReady > 0) console.log(`! ${notReady} subscribers got no SNAPSHOT within 20 s`);

  const cpu = { t: 0, load: 0, redis: 0, serverSeconds: 0 };
  const emission = emit(p, source.feed.sink!, () => {
    cpu.t = performance.now();
    cpu.load = selfCpuSeconds();
    cpu.redis = procCpuSeconds(source.redis.pid);
    // From /proc, not over IPC: a saturated server answers IPC late, after the window.
    cpu.serverSeconds = procCpuSeconds(server.child.pid!);
  });
  emittedAt = emission.emittedAt;
  const lag = await emission.done;
  await source.ingester.drain();
  // Let the last updates through: until every subscriber saw its book's last window change, up to 2 s.
  const lastTouch = new Array<number>(BOOKS).fill(0);
  p.touches.forEach((t, i) => {
    if (t) lastTouch[i % BOOKS] = Math.floor(i / BOOKS) + 2;
  });
  const until = performance.now() + 2_000;
  while (performance.now() < until && subs.some((s) => s.lastSeq < lastTouch[s.book]!)) await sleep(20);
  await sleep(100);
  const seconds = (performance.now() - cpu.t) / 1000;
  const serverSeconds = procCpuSeconds(server.child.pid!) - cpu.serverSeconds;
  const serverEnd = await server.cpu();

  let expected = 0;
  let delivered = 0;
  let contentMismatches = 0;
  for (const sub of subs) {
    for (let i = Math.max(warmCount, 0); i < p.deltas.length; i++) {
      if (i % BOOKS !== sub.book || !p.touches[i]) continue;
      const seq = Math.floor(i / BOOKS) + 2;
      if (seq <= sub.snapshotSeq) continue;
      expected += 1;
      if (sub.received[seq]) delivered += 1;
    }
    const want = p.finalTop[sub.book]!;
    const got = sub.window();
    if (JSON.stringify(got) !== JSON.stringify(want)) contentMismatches += 1;
  }
  const out: RunResult = {
    mode: 'e2e',
    repeat,
    latency: summarise(samples),
    lag: summarise(lag),
    expected,
    delivered,
    missing: expected - delivered,
    gaps: subs.reduce((a, s) => a + s.gaps, 0),
    resets: subs.reduce((a, s) => a + s.resets + s.errors, 0),
    contentMismatches,
    seqErrors: source.seqErrors,
    subscribers: subs.length,
    cpuLoad: ((selfCpuSeconds() - cpu.load) / seconds) * 100,
    cpuServer: (serverSeconds / seconds) * 100,
    cpuRedis: ((procCpuSeconds(source.redis.pid) - cpu.redis) / seconds) * 100,
    serverUsPerMessage: (serverSeconds * 1e6) / delivered,
    serverRssMb: serverEnd.rss / 2 ** 20,
    load1: loadavg()[0]!,
  };
  await Promise.all(clients.map((c) => c.dispose()));
  await server.stop();
  await source.close();
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = performance.now();
  const total = (WARM_S + MEASURE_S) * RATE;
  const p = plan(total);
  const touched = p.touches.reduce((a, t) => a + t, 0);
  {
    const probe = await startPrivateRedis();
    const admin = createRedis(probe.url, 'command');
    printHeader(await header('bench/e2e.ts', admin));
    admin.disconnect();
    await probe.server.stop();
  }
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
          `content=${result.contentMismatches} cpu load/server/redis=${fmt(result.cpuLoad, 0)}/${fmt(result.cpuServer, 0)}/${fmt(result.cpuRedis, 0)}% ` +
          `server µs/msg=${fmt(result.serverUsPerMessage, 1)} load1=${fmt(result.load1, 2)}`,
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

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
