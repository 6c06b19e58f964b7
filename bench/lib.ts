/**
 * Shared helpers for the benchmarks: versions and machine header, statistics, CPU accounting,
 * `INFO commandstats` deltas and the report format (one JSON line per goal plus a table).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Feed, FeedSink } from '../src/marketdata/feed.ts';
import type { Market } from '../src/marketdata/types.ts';
import { createRedis, type RedisClient } from '../src/redis/connection.ts';
import { type LocalRedisServer, startLocalRedis } from '../src/redis/local-server.ts';
import type { Runtime } from '../src/runtime.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function packageVersion(name: string): string {
  try {
    const json = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return json.version ?? '?';
  } catch {
    return 'not installed';
  }
}

export function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1]?.trim() ?? '?';
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? '?';
}

export interface Header {
  bench: string;
  date: string;
  node: string;
  redis: string;
  ioredis: string;
  graphqlYoga: string;
  graphql: string;
  graphqlWs: string;
  ws: string;
  nproc: number;
  cpu: string;
  commit: string;
}

function gitHead(): string {
  // `git rev-parse`, not .git/HEAD: in a worktree .git is a file pointing elsewhere.
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

export async function header(bench: string, redis: RedisClient): Promise<Header> {
  const info = await redis.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  return {
    bench,
    date: new Date().toISOString(),
    node: process.version,
    redis: redisVersion,
    ioredis: packageVersion('ioredis'),
    graphqlYoga: packageVersion('graphql-yoga'),
    graphql: packageVersion('graphql'),
    graphqlWs: packageVersion('graphql-ws'),
    ws: packageVersion('ws'),
    nproc: cpus().length,
    cpu: cpuModel(),
    commit: gitHead(),
  };
}

export function printHeader(h: Header): void {
  console.log(`# ${h.bench} — ${h.date}`);
  console.log(
    `# node ${h.node} · redis ${h.redis} · ioredis ${h.ioredis} · graphql-yoga ${h.graphqlYoga} · ` +
      `graphql ${h.graphql} · graphql-ws ${h.graphqlWs} · ws ${h.ws}`,
  );
  console.log(`# ${h.nproc} × ${h.cpu} · commit ${h.commit}`);
  console.log(`HEADER ${JSON.stringify(h)}`);
}

/** The load average line every benchmark prints: other work on the (shared) machine shows here. */
export function loadLine(): string {
  return `# load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')} (1 / 5 / 15 min) on ${cpus().length} cores`;
}

/** `printHeader` with the versions of a throwaway private Redis, then the load average. */
export async function printBenchHeader(bench: string): Promise<void> {
  const probe = await startPrivateRedis();
  const admin = createRedis(probe.url, 'command');
  try {
    printHeader(await header(bench, admin));
  } finally {
    admin.disconnect();
    await probe.server.stop();
  }
  console.log(loadLine());
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of an already sorted array (p in 0..100). */
export function percentileSorted(sorted: Float64Array | readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** p50/p99/p99.9/max of latencies in ms. */
export function summarise(samples: readonly number[] | Float64Array): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  return {
    n: sorted.length,
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    p999: percentileSorted(sorted, 99.9),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** CPU seconds (user + system) a process used so far, from /proc; NaN where unavailable. */
export function procCpuSeconds(pid: number, only: 'all' | 'system' = 'all'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (only === 'system' ? stime : utime + stime) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** `INFO commandstats` as command name -> calls. */
export async function commandCalls(redis: RedisClient): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) calls.set(m[1]!, Number(m[2]));
  }
  return calls;
}

export function callsDelta(
  before: Map<string, number>,
  after: Map<string, number>,
  names?: readonly string[],
): number {
  let total = 0;
  for (const [name, calls] of after) {
    if (names ? !names.includes(name) : name === 'info') continue;
    total += calls - (before.get(name) ?? 0);
  }
  return total;
}

export interface GoalLine {
  goal: string;
  value: number;
  baseline: number | null;
  ratio: number | null;
  threshold: string;
  pass: boolean;
  unit: string;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function goal(line: GoalLine): GoalLine {
  const out: GoalLine = {
    ...line,
    value: round(line.value, 3),
    baseline: line.baseline === null ? null : round(line.baseline, 3),
    ratio: line.ratio === null ? null : round(line.ratio, 3),
  };
  console.log(`GOAL ${JSON.stringify(out)}`);
  return out;
}

/** A plain fixed-width table, first column left-aligned, the others right-aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const fmt = (row: readonly string[]) =>
    `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const [head, ...body] = rows;
  if (!head) return '';
  return [
    fmt(head),
    `|${widths.map((w, i) => `${i === 0 ? ':' : '-'}${'-'.repeat(w)}${i === 0 ? '-' : ':'}`).join('|')}|`,
    ...body.map(fmt),
  ].join('\n');
}

export function fmtInt(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—';
}

export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '—';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `attempt` every 200 ms until it succeeds; past `timeoutMs`, throws its last error. */
export async function untilOk(attempt: () => Promise<unknown>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(200);
    }
  }
}

/** The simulator and the ingester in this process (`ingest` only, silent) writing into `redisUrl`. */
export async function startSimulatorIngest(
  redisUrl: string,
  region: string,
  updatesPerSecond: number,
): Promise<Runtime> {
  // Loaded here: the runtime is the whole server, which most benchmarks do not need.
  const [{ loadConfig }, { createLogger }, { startRuntime }] = await Promise.all([
    import('../src/config.ts'),
    import('../src/log.ts'),
    import('../src/runtime.ts'),
  ]);
  return startRuntime({
    config: loadConfig({
      REDIS_URL: redisUrl,
      REGION: region,
      PORT: '0',
      LOG_LEVEL: 'silent',
      SIM_UPDATES_PER_SEC: String(updatesPerSecond),
    }),
    log: createLogger('silent'),
    ingest: true,
    serve: false,
    launchRedis: false,
  });
}

/** Reads `--name=value` flags; numbers where the default is a number. */
export function flag(name: string, fallback: number): number;
export function flag(name: string, fallback: string): string;
export function flag(name: string, fallback: number | string): number | string {
  const prefix = `--${name}=`;
  const arg = process.argv.find((a) => a.startsWith(prefix));
  if (arg === undefined) return fallback;
  const raw = arg.slice(prefix.length);
  return typeof fallback === 'number' ? Number(raw) : raw;
}

/**
 * A private redis-server (startLocalRedis) that also requires a random password: on a shared
 * machine a stray client of some earlier Redis on the same port (a reconnecting ioredis from
 * another test run) could otherwise land in ours and skew INFO commandstats and CPU figures.
 */
export async function startPrivateRedis(
  /** More redis-server arguments. @default none */
  args: readonly string[] = [],
): Promise<{ server: LocalRedisServer; url: string; password: string }> {
  const password = randomBytes(12).toString('hex');
  const server = await startLocalRedis({ args: ['--requirepass', password, ...args] });
  return { server, url: `redis://:${password}@127.0.0.1:${server.port}`, password };
}

/** A feed the benchmark drives by hand: it only hands the Ingester its sink and markets. */
export class ReplayFeed implements Feed {
  readonly name = 'replay';
  sink: FeedSink | undefined;
  constructor(private readonly list: Market[]) {}
  markets(): Market[] {
    return this.list;
  }
  async start(sink: FeedSink): Promise<void> {
    this.sink = sink;
  }
  async stop(): Promise<void> {}
}

/** Runs a benchmark's main: exit 0 when it ends (open handles do not keep it alive), 1 on an error. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
