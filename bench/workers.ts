/**
 * `serve --workers N` against one process (issue 15, "every core"): HTTP queries/s of
 * `orderBook(exchange:"sim1", symbol:"BTC/USDT", depth:20)` served by `bookgraph serve` with
 * 1 worker (one process, no cluster) and with `--workers` N, in interleaved repeats: medians,
 * the ratio, p50/p99, the server's CPU seconds per 1,000 queries, and the load average.
 *
 *   npm run bench:workers -- [--workers=2] [--clients=16] [--seconds=8] [--warm=15] [--repeats=3]
 *
 * Layout: this process runs the simulator + ingester (ingest only, 10 updates/s per book) and
 * the load: `--clients` keep-alive HTTP/1.1 connections (node:http Agent), each sending the next
 * GET /graphql as soon as the previous answer is read; the cluster deals the connections out
 * round-robin, so each worker gets its share. The servers are the real CLI (`bin/bookgraph-dev.js
 * serve`, tsx). Every answer is checked (200, no `errors`, a non-empty book). The load generator
 * shares the machine's cores with the servers: on a 2-core box it caps what 2 workers can show.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, get } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  cpuModel,
  flag,
  fmt,
  fmtInt,
  median,
  procCpuSeconds,
  startPrivateRedis,
  startSimulatorIngest,
  summarise,
  table,
  untilOk,
} from './lib.ts';

const WORKERS = flag('workers', 2);
const CLIENTS = flag('clients', 16);
const SECONDS = flag('seconds', 8);
// Long: each worker compiles (JIT) its hot code on its own, with 1/N of the traffic; with a 2 s
// warm-up two workers spent twice the CPU per query of one process on this machine.
const WARM_S = flag('warm', 15);
const REPEATS = flag('repeats', 3);
const CLI = fileURLToPath(new URL('../bin/bookgraph-dev.js', import.meta.url));
const QUERY = `/graphql?query=${encodeURIComponent('{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 20) { seq bids { price size } asks { price size } } }')}`;

interface Server {
  port: number;
  pids: number[];
  stop(): Promise<void>;
}

/** `bookgraph serve --workers N` on a free port, once it says `bookgraph started` and the book answers. */
async function startServe(workers: number, redisUrl: string): Promise<Server> {
  const child = spawn(process.execPath, [CLI, 'serve', '--workers', String(workers)], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      REGION: 'bench',
      PORT: '0',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      ALLOW_ANONYMOUS_MARKETDATA: '1',
      // One address sends everything here: the per-address request quota would measure itself.
      QUOTA_REQUESTS_PER_SEC: '1000000',
      QUOTA_REQUEST_BURST: '1000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"bookgraph started"'));
      if (line) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  const pids = workers > 1 ? [child.pid ?? 0, ...(started.pids as number[])] : [child.pid ?? 0];
  return {
    port: Number(started.port),
    pids,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

function query(agent: Agent, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    get({ agent, host: '127.0.0.1', port, path: QUERY, headers: { accept: 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const book = res.statusCode === 200 && !text.includes('"errors"') && text.includes('"bids":[{');
        if (book) resolve();
        else reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
      });
    }).on('error', reject);
  });
}

/** `CLIENTS` closed-loop connections for `seconds`: queries/s, latencies, the servers' CPU seconds. */
async function drive(server: Server, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies: number[] = [];
  const cpuBefore = server.pids.reduce((sum, pid) => sum + procCpuSeconds(pid), 0);
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await query(agent, server.port);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = server.pids.reduce((sum, pid) => sum + procCpuSeconds(pid), 0) - cpuBefore;
  agent.destroy();
  return {
    qps: latencies.length / elapsed,
    latency: summarise(latencies),
    cpuPerK: (cpu / latencies.length) * 1000,
  };
}

function untilBook(server: Server): Promise<void> {
  const agent = new Agent({ keepAlive: false });
  return untilOk(() => query(agent, server.port));
}

const redis = await startPrivateRedis();
const ingest = await startSimulatorIngest(redis.url, 'bench', 10);
try {
  console.log(
    `bench:workers  ${new Date().toISOString()}  node ${process.version}  ${cpus().length} × ${cpuModel()}`,
  );
  console.log(
    `${CLIENTS} keep-alive clients, ${REPEATS} interleaved repeats of ${SECONDS} s (${WARM_S} s warm-up) per server`,
  );
  const counts = [1, WORKERS];
  const runs = new Map<number, { qps: number; p50: number; p99: number; cpuPerK: number }[]>(
    counts.map((n) => [n, []]),
  );
  for (let r = 0; r < REPEATS; r++) {
    // Alternate which goes first, so a drift in machine load favours neither.
    for (const n of r % 2 === 0 ? counts : [...counts].reverse()) {
      const server = await startServe(n, redis.url);
      try {
        await untilBook(server);
        await drive(server, WARM_S);
        const m = await drive(server, SECONDS);
        runs.get(n)!.push({ qps: m.qps, p50: m.latency.p50, p99: m.latency.p99, cpuPerK: m.cpuPerK });
        console.log(
          `repeat ${r + 1}, ${n} worker(s): ${fmtInt(m.qps)} queries/s, p50 ${fmt(m.latency.p50)} ms, p99 ${fmt(m.latency.p99)} ms, ` +
            `server CPU ${fmt(m.cpuPerK)} s per 1,000; load ${loadavg()[0]!.toFixed(1)}`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  const rows = counts.map((n) => {
    const list = runs.get(n)!;
    return [
      String(n),
      fmtInt(median(list.map((x) => x.qps))),
      list.map((x) => fmtInt(x.qps)).join(' / '),
      fmt(median(list.map((x) => x.p50))),
      fmt(median(list.map((x) => x.p99))),
      fmt(median(list.map((x) => x.cpuPerK))),
    ];
  });
  console.log(
    table([
      ['workers', 'queries/s (median)', 'per repeat', 'p50 ms', 'p99 ms', 'server CPU s / 1,000'],
      ...rows,
    ]),
  );
  const one = runs.get(1)!;
  const many = runs.get(WORKERS)!;
  const ratios = many.map((x, i) => x.qps / one[i]!.qps);
  console.log(
    `${WORKERS} workers / 1: ${fmt(median(many.map((x) => x.qps)) / median(one.map((x) => x.qps)))} (ratio of medians; per repeat ${ratios.map((x) => fmt(x)).join(' / ')})`,
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((x) => fmt(x, 1))
      .join(' ')} on ${cpus().length} cores`,
  );
} finally {
  await ingest.stop();
  await redis.server.stop();
}
