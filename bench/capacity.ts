/**
 * Fan-out capacity (issue 15): the largest delivered messages/s at which p99 stays under 100 ms.
 *
 *   npm run bench:capacity -- [--workers=1] [--servers=bookgraph,naive-peer] [--subscribers=1000]
 *                             [--start=2000] [--factor=1.5] [--max=200000] [--repeats=3]
 *                             [--warm=2] [--measure=5] [--p99=100] [--subs-per-conn=1]
 *                             [--pin-server=0]
 *
 * The offered load steps up from `--start` messages/s by `--factor` (`--subscribers` subscribers
 * spread over the 10 books, the book update rate raised: offered = rate × subscribers / 10).
 * Each step is `--repeats` runs per server, interleaved, each with a fresh Redis and server
 * (bench/fanout-run.ts: the real Ingester, graphql-ws clients, loss checks). A server passes a
 * step when the medians hold p99 < `--p99` ms and deliver ≥ 95 % of the offered messages/s
 * (delivered/s = messages of the measured updates over the time from the measured part's start
 * to its last receipt); its first failing step ends its climb. Its capacity is the largest
 * median delivered/s of a passing step.
 *
 * bookgraph runs as the operator runs it, `bookgraph serve` (bench/cli-server.ts), with
 * `--workers N` for each N of `--workers` (a list, e.g. 1,2) above 1: a server that refuses the
 * option is skipped with a note. The naive peer (bench/baselines/naive-peer.ts) is the baseline.
 * The load generator (Ingester + all clients) shares the machine's cores with the server: its
 * CPU is printed per run, and where it saturates a core the ceiling is the machine's, not the
 * server's. `--pin-server=CPUS` (a `taskset` CPU list, e.g. 0) keeps them apart: every process of
 * the server on those CPUs, this process and what it starts (Redis, the clients) on the others,
 * so that a one-worker server's figures are those of one core (Linux, `taskset` from util-linux).
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { plan, REGION } from './book-workload.ts';
import { ServerRefused, startCliServer } from './cli-server.ts';
import { type BenchServer, type FanoutRun, lossOf, lossText, runFanout } from './fanout-run.ts';
import {
  flag,
  fmt,
  fmtInt,
  goal,
  loadLine,
  median,
  printBenchHeader,
  runMain,
  selfCpuSeconds,
  table,
} from './lib.ts';
import { startServer } from './server-child.ts';

const SUBSCRIBERS = flag('subscribers', 1000);
const START = flag('start', 2000);
const FACTOR = flag('factor', 1.5);
const MAX = flag('max', 200_000);
const REPEATS = flag('repeats', 3);
const WARM_S = flag('warm', 2);
const MEASURE_S = flag('measure', 5);
const P99_MS = flag('p99', 100);
const SUBS_PER_CONN = flag('subs-per-conn', 1);
const PIN_SERVER = flag('pin-server', '');
const DEPTH = 20;
const BOOKS = 10;

/** The CPUs of a `taskset` list such as `0`, `0,2` or `0-1`. */
function cpuList(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to))
      throw new Error(`--pin-server: "${list}" is not a CPU list`);
    return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
  });
}

function pin(pid: number, list: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
}

/** `--pin-server`: this process (and what it starts from now on) off the server's CPUs. */
function pinSelf(): void {
  if (!PIN_SERVER) return;
  const server = new Set(cpuList(PIN_SERVER));
  const others = cpus()
    .map((_, i) => i)
    .filter((i) => !server.has(i));
  if (others.length === 0) throw new Error(`--pin-server=${PIN_SERVER} leaves no CPU for the load generator`);
  pin(process.pid, others.join(','));
  console.log(
    `# pinned: server on CPU ${PIN_SERVER}, this process, Redis and the clients on CPU ${others.join(',')}`,
  );
}

/** Starts a server, then (with `--pin-server`) moves all its processes and threads onto its CPUs. */
function pinned(start: (url: string) => Promise<BenchServer>): (url: string) => Promise<BenchServer> {
  if (!PIN_SERVER) return start;
  return async (url) => {
    const server = await start(url);
    const pids = server.pids?.() ?? [];
    if (pids.length === 0) throw new Error('--pin-server: this server does not say its processes');
    for (const pid of pids) pin(pid, PIN_SERVER);
    return server;
  };
}

interface Contender {
  name: string;
  /** Cores the server may use: its worker count. */
  cores: number;
  start(redisUrl: string): Promise<BenchServer>;
  climbing: boolean;
  best: number;
  steps: { offered: number; runs: FanoutRun[]; clientCpu: number[]; pass: boolean }[];
}

function contenders(): Contender[] {
  const servers = flag('servers', 'bookgraph,naive-peer').split(',');
  const workers = flag('workers', '1')
    .split(',')
    .map((w) => {
      const n = Number(w);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--workers: "${w}" is not a positive integer`);
      return n;
    });
  const list: Contender[] = [];
  const contender = (name: string, cores: number, start: Contender['start']): Contender => ({
    name,
    cores,
    start,
    climbing: true,
    best: 0,
    steps: [],
  });
  for (const server of servers) {
    if (server === 'bookgraph') {
      for (const n of workers) {
        list.push(contender(`bookgraph serve ×${n}`, n, (url) => startCliServer(url, REGION, n)));
      }
    } else if (server === 'naive-peer') {
      list.push(contender('naive-peer', 1, (url) => startServer(url, REGION, { kind: 'naive-peer' })));
    } else {
      throw new Error(`--servers: unknown server "${server}" (bookgraph, naive-peer)`);
    }
  }
  return list;
}

async function main(): Promise<void> {
  const started = performance.now();
  await printBenchHeader('bench/capacity.ts');
  pinSelf();
  const list = contenders();
  console.log(
    `# ${fmtInt(SUBSCRIBERS)} subscribers on ${BOOKS} books (${SUBS_PER_CONN} per WebSocket), depth ${DEPTH} · ` +
      `offered from ${fmtInt(START)} msgs/s ×${FACTOR} per step · ${REPEATS} interleaved repeats of ` +
      `${WARM_S} + ${MEASURE_S} s · pass: median p99 < ${P99_MS} ms and ≥ 95 % of the offered rate delivered`,
  );
  for (let offered = START; offered <= MAX && list.some((c) => c.climbing); offered *= FACTOR) {
    const rate = Math.round((offered * BOOKS) / SUBSCRIBERS);
    const p = plan((WARM_S + MEASURE_S) * rate, DEPTH);
    const climbing = list.filter((c) => c.climbing);
    const steps = new Map(
      climbing.map((c) => [c, { offered, runs: [] as FanoutRun[], clientCpu: [] as number[] }]),
    );
    for (let repeat = 1; repeat <= REPEATS; repeat++) {
      const order = repeat % 2 === 1 ? climbing : [...climbing].reverse();
      for (const c of order) {
        if (!c.climbing) continue;
        const cpu0 = selfCpuSeconds();
        const t0 = performance.now();
        let run: FanoutRun;
        try {
          run = await runFanout({
            scenario: { subscribers: SUBSCRIBERS, rate },
            server: c.name,
            start: pinned(c.start),
            plan: p,
            warmSeconds: WARM_S,
            subsPerConn: SUBS_PER_CONN,
            drainMs: 10_000,
          });
        } catch (error) {
          if (!(error instanceof ServerRefused) || c.cores === 1) throw error;
          console.log(`# ${c.name}: skipped, the server refused --workers ${c.cores}: ${error.message}`);
          c.climbing = false;
          continue;
        }
        const clientCpu = ((selfCpuSeconds() - cpu0) / ((performance.now() - t0) / 1000)) * 100;
        steps.get(c)!.runs.push(run);
        steps.get(c)!.clientCpu.push(clientCpu);
        console.log(
          `# ${fmtInt(offered)} msgs/s offered (${rate} upd/s) ${c.name} #${repeat}: delivered ${fmtInt(run.deliveredPerSecond)}/s · ` +
            `p50 ${fmt(run.latency.p50)} p99 ${fmt(run.latency.p99)} ms · ${fmt(run.cpuUsPerMessage, 1)} µs CPU/msg ` +
            `(server ${fmt(run.serverCpuPercent, 0)}%, load generator ~${fmt(clientCpu, 0)}% of a core; its event-loop delay ` +
            `p99 ${fmt(run.generatorLoopDelayMs.p99, 1)} max ${fmt(run.generatorLoopDelayMs.max, 0)} ms) · ${lossText(run)} · load ${fmt(run.load1)}`,
        );
      }
    }
    for (const c of climbing) {
      const step = steps.get(c)!;
      if (step.runs.length === 0) continue;
      const p99 = median(step.runs.map((r) => r.latency.p99));
      const delivered = median(step.runs.map((r) => r.deliveredPerSecond));
      // `expected` counts the whole run (warm-up and measured part): the offered rate over both.
      const offeredActual = median(step.runs.map((r) => r.expected / (WARM_S + MEASURE_S)));
      const pass = p99 < P99_MS && delivered >= 0.95 * offeredActual;
      c.steps.push({ ...step, pass });
      if (pass) c.best = Math.max(c.best, delivered);
      else c.climbing = false;
    }
  }

  const rows = [
    [
      'server',
      'offered msgs/s',
      'delivered/s',
      'p50 ms',
      'p99 ms',
      'p99 per repeat',
      'CPU µs/msg',
      'server CPU %',
      'load gen CPU %',
      'lost',
      'pass',
    ],
  ];
  for (const c of list) {
    for (const s of c.steps) {
      rows.push([
        c.name,
        fmtInt(s.offered),
        fmtInt(median(s.runs.map((r) => r.deliveredPerSecond))),
        fmt(median(s.runs.map((r) => r.latency.p50))),
        fmt(median(s.runs.map((r) => r.latency.p99))),
        s.runs.map((r) => fmt(r.latency.p99, 0)).join(' / '),
        fmt(median(s.runs.map((r) => r.cpuUsPerMessage)), 1),
        fmt(median(s.runs.map((r) => r.serverCpuPercent)), 0),
        fmt(median(s.clientCpu), 0),
        String(s.runs.reduce((a, r) => a + lossOf(r), 0)),
        s.pass ? 'yes' : 'no',
      ]);
    }
  }
  console.log('');
  console.log(table(rows));
  console.log('');
  const peer = list.find((c) => c.name === 'naive-peer');
  for (const c of list) {
    if (c.steps.length === 0) continue;
    const ceiling = c.climbing ? ` (still passing at --max ${fmtInt(MAX)})` : '';
    console.log(
      `# ${c.name}: largest delivered with p99 < ${P99_MS} ms: ${fmtInt(c.best)} msgs/s, ${fmtInt(c.best / c.cores)} per core${ceiling}`,
    );
    if (c === peer) continue;
    goal({
      goal: `${c.name}: largest delivered msgs/s per core with p99 < ${P99_MS} ms; baseline = naive peer`,
      value: c.best / c.cores,
      baseline: peer && peer.steps.length > 0 ? peer.best : null,
      ratio: peer && peer.best > 0 ? c.best / c.cores / peer.best : null,
      threshold: 'value >= 50000',
      pass: c.best / c.cores >= 50_000,
      unit: 'msgs/s',
    });
  }
  console.log(loadLine());
  console.log(`# total ${fmt((performance.now() - started) / 1000, 1)} s`);
}

runMain(main);
