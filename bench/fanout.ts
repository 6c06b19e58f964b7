/**
 * Fan-out against the naive peer (issue 15): bookgraph's `serve` runtime and
 * bench/baselines/naive-peer.ts (graphql-redis-subscriptions, one iterator and one execution per
 * subscriber), same private Redis setup, same publisher, same payloads, interleaved runs.
 *
 *   npm run bench:fanout -- [--scenarios=100x1000,1000x100,5000x20] [--repeats=3] [--warm=2]
 *                           [--measure=10] [--subs-per-conn=1] [--depth=20]
 *                           [--servers=bookgraph,naive-peer]
 *   npm run bench:fanout -- --memory [--subscriptions=50000] [--wave=5000] [--books=20] [--subs-per-conn=100]
 *   npm run bench:fanout -- --slow-consumers=1 [--scenarios=100x1000] [--repeats=3]
 *
 * A scenario `SxR` is S subscribers spread evenly over the 10 books (S/10 per book, one
 * operation and one set of variables per book) and R book updates/s over all books (R/10 per
 * book): every scenario offers S × R / 10 messages/s. Layout per run (2 Node processes +
 * redis-server, a fresh Redis and server each run):
 *   this process   the real Ingester fed pre-generated simulator updates (bench/book-workload.ts,
 *                  open loop) and every graphql-ws client
 *   child process  bookgraph (bench/e2e-server.ts) or the naive peer
 * Per run: GraphQL executions per window-changing update (bookgraph's SharedExecutionStats, the
 * peer's own count), server CPU µs per delivered message (the child's process.cpuUsage over the
 * measured part and its drain), p50/p99 latency from the update's hand-off to the Ingester,
 * losses (bench/e2e.ts's checks) and whether both servers sent the same JSON for the same seq.
 * `--memory`: bench/fanout-memory.ts.
 * `--slow-consumers=N`: bookgraph alone, each run once as is and once with N more subscribers
 * (one socket each, every book) that stop reading after their first message; the goal is the
 * others' p99 raised by at most 20 % (medians of the interleaved repeats).
 */
import { fileURLToPath } from 'node:url';
import { BOOKS, plan, REGION } from './book-workload.ts';
import { runMemory } from './fanout-memory.ts';
import {
  type FanoutRun,
  type FanoutScenario,
  lossOf,
  lossText,
  payloadDifferences,
  runFanout,
} from './fanout-run.ts';
import { flag, fmt, fmtInt, goal, median, printBenchHeader, runMain, table } from './lib.ts';
import { type ServerKind, startServer } from './server-child.ts';

export interface FanoutOptions {
  scenarios: FanoutScenario[];
  servers: ServerKind[];
  repeats: number;
  warmSeconds: number;
  measureSeconds: number;
  subsPerConn: number;
  depth: number;
  /** Runs each server also with this many stalled subscribers (fanout-run.ts). @default 0 */
  slowConsumers?: number;
  /** Called after each run (progress lines). */
  onRun?: (run: FanoutRun, repeat: number) => void;
}

export interface FanoutResult {
  runs: { run: FanoutRun; repeat: number }[];
  /** Messages whose JSON differed between the two servers, of those compared (same repeat, scenario). */
  payloads: { compared: number; different: number };
}

export function parseScenarios(text: string): FanoutScenario[] {
  return text.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`--scenarios: "${part}" is not SUBSCRIBERSxUPDATES_PER_SEC (e.g. 100x1000)`);
    return { subscribers: Number(m[1]), rate: Number(m[2]) };
  });
}

/** Every scenario × server, `repeats` times, interleaved (the servers' order alternates per repeat). */
export async function runFanoutBench(o: FanoutOptions): Promise<FanoutResult> {
  const plans = new Map(
    o.scenarios.map((s) => [s, plan((o.warmSeconds + o.measureSeconds) * s.rate, o.depth)] as const),
  );
  const runs: FanoutResult['runs'] = [];
  const payloads = { compared: 0, different: 0 };
  for (let repeat = 1; repeat <= o.repeats; repeat++) {
    for (const scenario of o.scenarios) {
      const order = repeat % 2 === 1 ? o.servers : [...o.servers].reverse();
      const pair: FanoutRun[] = [];
      const variants = o.slowConsumers ? [0, o.slowConsumers] : [0];
      for (const server of order) {
        for (const slow of repeat % 2 === 1 ? variants : [...variants].reverse()) {
          const run = await runFanout({
            scenario,
            server: slow ? slowLabel(server, slow) : server,
            start: (redisUrl) => startServer(redisUrl, REGION, { kind: server }),
            plan: plans.get(scenario)!,
            warmSeconds: o.warmSeconds,
            subsPerConn: o.subsPerConn,
            slowConsumers: slow,
          });
          runs.push({ run, repeat });
          pair.push(run);
          o.onRun?.(run, repeat);
        }
      }
      if (pair.length === 2 && !o.slowConsumers) {
        const d = payloadDifferences(pair[0]!, pair[1]!);
        payloads.compared += d.compared;
        payloads.different += d.different;
      }
    }
  }
  return { runs, payloads };
}

function slowLabel(server: string, slow: number): string {
  return `${server} + ${slow} stalled`;
}

function label(s: FanoutScenario): string {
  return `${fmtInt(s.subscribers)} subs × ${fmtInt(s.rate)} upd/s`;
}

function report(o: FanoutOptions, result: FanoutResult): void {
  const rows: string[][] = [
    [
      'scenario',
      'server',
      'repeats',
      'delivered msgs/s',
      'exec/update',
      'CPU µs/msg',
      'CPU µs/msg per repeat',
      'system %',
      'server CPU %',
      'p50 ms',
      'p99 ms',
      'lost',
    ],
  ];
  const ratios: { scenario: FanoutScenario; ratio: number; bookgraph: number; peer: number }[] = [];
  const p99 = new Map<string, number>();
  const names = o.servers.flatMap((s) => (o.slowConsumers ? [s, slowLabel(s, o.slowConsumers)] : [s]));
  for (const scenario of o.scenarios) {
    const med = new Map<string, number>();
    for (const server of names) {
      const runs = result.runs
        .filter((r) => r.run.scenario === scenario && r.run.server === server)
        .map((r) => r.run);
      const cpu = median(runs.map((r) => r.cpuUsPerMessage));
      med.set(server, cpu);
      p99.set(`${label(scenario)}\u0000${server}`, median(runs.map((r) => r.latency.p99)));
      rows.push([
        label(scenario),
        server,
        String(runs.length),
        fmtInt(median(runs.map((r) => r.deliveredPerSecond))),
        fmt(median(runs.map((r) => r.executionsPerUpdate))),
        fmt(cpu, 1),
        runs.map((r) => fmt(r.cpuUsPerMessage, 1)).join(' / '),
        fmt(median(runs.map((r) => r.systemShare * 100)), 0),
        fmt(median(runs.map((r) => r.serverCpuPercent)), 0),
        fmt(median(runs.map((r) => r.latency.p50))),
        fmt(median(runs.map((r) => r.latency.p99))),
        String(runs.reduce((a, r) => a + lossOf(r), 0)),
      ]);
    }
    const bookgraph = med.get('bookgraph');
    const peer = med.get('naive-peer');
    if (bookgraph !== undefined && peer !== undefined) {
      ratios.push({ scenario, ratio: peer / bookgraph, bookgraph, peer });
    }
  }
  console.log('');
  console.log(table(rows));
  console.log('');
  for (const r of ratios) {
    goal({
      goal: `CPU per delivered message, naive peer / bookgraph, ${label(r.scenario)} (medians of ${o.repeats})`,
      value: r.ratio,
      baseline: r.peer,
      ratio: r.ratio,
      threshold: 'ratio >= 4',
      pass: r.ratio >= 4,
      unit: '×',
    });
  }
  for (const scenario of o.scenarios) {
    for (const server of o.slowConsumers ? o.servers : []) {
      const alone = p99.get(`${label(scenario)}\u0000${server}`)!;
      const withSlow = p99.get(`${label(scenario)}\u0000${slowLabel(server, o.slowConsumers!)}`)!;
      goal({
        goal: `${server}: others' p99 with ${o.slowConsumers} stalled subscriber(s) / without, ${label(scenario)} (medians of ${o.repeats})`,
        value: withSlow / alone,
        baseline: alone,
        ratio: withSlow / alone,
        threshold: 'ratio <= 1.2',
        pass: withSlow / alone <= 1.2,
        unit: '×',
      });
    }
  }
  const lost = result.runs.reduce((a, r) => a + lossOf(r.run), 0);
  goal({
    goal: 'fan-out losses, all runs (missing, gaps, RESET/errors, final window, seq errors, no SNAPSHOT)',
    value: lost,
    baseline: null,
    ratio: null,
    threshold: 'value == 0',
    pass: lost === 0,
    unit: 'messages',
  });
  console.log(
    `# payloads: ${fmtInt(result.payloads.different)} of ${fmtInt(result.payloads.compared)} messages compared ` +
      '(first subscriber of each book, same seq) differ between the servers',
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const subsPerConnDefault = process.argv.includes('--memory') ? 100 : 1;
  const subsPerConn = flag('subs-per-conn', subsPerConnDefault);
  const servers = flag('servers', 'bookgraph,naive-peer').split(',') as ServerKind[];
  const repeats = flag('repeats', 3);
  await printBenchHeader('bench/fanout.ts');
  if (process.argv.includes('--memory')) {
    await runMemory({
      subscriptions: flag('subscriptions', 50_000),
      wave: flag('wave', 5_000),
      books: flag('books', 20),
      subsPerConn,
      depth: flag('depth', 20),
      servers,
      repeats,
    });
  } else {
    const o: FanoutOptions = {
      scenarios: parseScenarios(flag('scenarios', '100x1000,1000x100,5000x20')),
      servers,
      repeats,
      warmSeconds: flag('warm', 2),
      measureSeconds: flag('measure', 10),
      subsPerConn,
      depth: flag('depth', 20),
      slowConsumers: flag('slow-consumers', 0),
      onRun: (r, repeat) =>
        console.log(
          `# ${label(r.scenario)} ${r.server} #${repeat}: exec/update ${fmt(r.executionsPerUpdate)} · ` +
            `${fmt(r.cpuUsPerMessage, 1)} µs CPU/msg (${fmt(r.systemShare * 100, 0)}% system; ${fmt(r.serverCpuPercent, 0)}% of a core) · ` +
            `delivered ${fmtInt(r.delivered)} · p50 ${fmt(r.latency.p50)} p99 ${fmt(r.latency.p99)} ms · ` +
            `${lossText(r)} · load ${fmt(r.load1)}`,
        ),
    };
    console.log(
      `# ${BOOKS} books · ${o.repeats} interleaved repeats · warm-up ${o.warmSeconds} s + measure ${o.measureSeconds} s · ` +
        `${o.subsPerConn} subscription(s) per WebSocket · depth ${o.depth} · servers ${o.servers.join(', ')}`,
    );
    report(o, await runFanoutBench(o));
  }
  console.log(`# total ${fmt((performance.now() - started) / 1000, 1)} s`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runMain(main);
}
