/**
 * Queries as fast as `{ __typename }` (issue 15): HTTP requests/s of
 * `orderBook(exchange:"sim1", symbol:"BTC/USDT", depth:20)` against `{ __typename }` on the same
 * server, in interleaved repeats, with the ratio of medians, p50/p99 and the load average.
 *
 *   npm run bench:queries -- [--seconds=5] [--warm=2] [--repeats=3] [--workers=4] [--rate=10]
 *
 * Layout (2 Node processes + redis-server):
 *   this process   the simulator and ingester (`startRuntime`, ingest only, `--rate` updates/s per
 *                  book) and the load loop: `--workers` concurrent keep-alive HTTP/1.1 clients
 *                  (node:http Agent), each sending the next POST /graphql as soon as the previous
 *                  answer is read
 *   child process  bench/e2e-server.ts: the production runtime, `serve` only (forked, tsx)
 * Two phases, each with its own `{ __typename }` baseline: first nobody watches the book (orderBook
 * reads Redis), then one orderBookUpdates subscription holds it live (orderBook answers from the
 * in-process replica).
 * Every answer is parsed and checked (status 200, no `errors`, a non-empty book): a failing request
 * stops the bench rather than counting as fast. The server's CPU time per request is printed too:
 * on a shared machine it varies less than req/s.
 */
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  cpuModel,
  flag,
  fmt,
  fmtInt,
  median,
  startPrivateRedis,
  startSimulatorIngest,
  summarise,
  table,
  untilOk,
} from './lib.ts';
import { startServer } from './server-child.ts';

const SECONDS = flag('seconds', 5);
const WARM_S = flag('warm', 2);
const REPEATS = flag('repeats', 3);
const WORKERS = flag('workers', 4);
const RATE = flag('rate', 10);
const REGION = 'bench';

interface Operation {
  name: string;
  body: string;
  check(data: Record<string, unknown>): void;
}

const OPERATIONS: readonly Operation[] = [
  {
    name: '{ __typename }',
    body: JSON.stringify({ query: '{ __typename }' }),
    check(data) {
      if (data.__typename !== 'Query') throw new Error(`unexpected answer ${JSON.stringify(data)}`);
    },
  },
  {
    name: 'orderBook(depth: 20)',
    body: JSON.stringify({
      query:
        '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 20) { exchange symbol epoch seq stale ' +
        'receiveTimestamp region bids { price size } asks { price size } bestBid { price size } bestAsk { price size } } }',
    }),
    check(data) {
      const book = data.orderBook as { bids?: unknown[]; asks?: unknown[] } | null;
      if (!book?.bids?.length || !book.asks?.length) throw new Error(`empty book ${JSON.stringify(data)}`);
    },
  },
];

function post(agent: Agent, port: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
          else resolve(text);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function ask(agent: Agent, port: number, op: Operation): Promise<void> {
  const json = JSON.parse(await post(agent, port, op.body)) as {
    data?: Record<string, unknown>;
    errors?: unknown;
  };
  if (json.errors || !json.data) throw new Error(`${op.name}: ${JSON.stringify(json).slice(0, 300)}`);
  op.check(json.data);
}

/** `WORKERS` closed-loop clients for `seconds`: requests/s and latencies (ms) of the measured part. */
async function load(agent: Agent, port: number, op: Operation, seconds: number) {
  const latencies: number[] = [];
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await ask(agent, port, op);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { rps: latencies.length / elapsed, latency: summarise(latencies) };
}

/** Polls until the server answers the book query: the ingester has written its first snapshot. */
function waitForBook(agent: Agent, port: number): Promise<void> {
  return untilOk(() => ask(agent, port, OPERATIONS[1]!));
}

const redis = await startPrivateRedis();
const ingest = await startSimulatorIngest(redis.url, REGION, RATE);
const server = await startServer(redis.url, REGION);
const agent = new Agent({ keepAlive: true, maxSockets: WORKERS });
/** One phase: `REPEATS` interleaved runs of each operation, medians and the ratio to `{ __typename }`. */
async function phase(label: string) {
  const runs = new Map<string, { rps: number; p50: number; p99: number; cpu: number }[]>(
    OPERATIONS.map((o) => [o.name, []]),
  );
  for (let r = 0; r < REPEATS; r++) {
    // Alternate which operation goes first, so a drift in machine load favours neither.
    const order = r % 2 === 0 ? OPERATIONS : [...OPERATIONS].reverse();
    for (const op of order) {
      await load(agent, server.port, op, WARM_S);
      const cpuBefore = await server.cpu();
      const m = await load(agent, server.port, op, SECONDS);
      const cpuUs = ((await server.cpu()).seconds - cpuBefore.seconds) * 1e6;
      const cpuPerRequest = cpuUs / (m.rps * SECONDS);
      runs.get(op.name)!.push({ rps: m.rps, p50: m.latency.p50, p99: m.latency.p99, cpu: cpuPerRequest });
      console.log(
        `${label}, repeat ${r + 1}, ${op.name}: ${fmtInt(m.rps)} req/s, server CPU ${fmtInt(cpuPerRequest)} µs/request, ` +
          `p50 ${fmt(m.latency.p50)} ms, p99 ${fmt(m.latency.p99)} ms`,
      );
    }
  }
  const rows = OPERATIONS.map((op) => {
    const list = runs.get(op.name)!;
    return {
      name: op.name,
      rps: median(list.map((x) => x.rps)),
      p50: median(list.map((x) => x.p50)),
      p99: median(list.map((x) => x.p99)),
      cpu: median(list.map((x) => x.cpu)),
      all: list.map((x) => fmtInt(x.rps)).join(' / '),
    };
  });
  const [base, book] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const ratios = runs.get(book.name)!.map((x, i) => x.rps / runs.get(base.name)![i]!.rps);
  // Server CPU per request: steadier than req/s on a shared machine (what the server spends,
  // whatever else runs); its ratio is typename's cost over orderBook's, comparable to the req/s one.
  return { label, rows, ratio: book.rps / base.rps, ratios, cpuRatio: base.cpu / book.cpu };
}

/** Holds sim1 BTC/USDT live in the server (one orderBookUpdates subscription) until released. */
async function holdBook(port: number): Promise<() => Promise<void>> {
  const client = createClient({
    url: `ws://127.0.0.1:${port}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  let unsubscribe = () => {};
  await new Promise<void>((resolve, reject) => {
    unsubscribe = client.subscribe(
      { query: 'subscription { orderBookUpdates(exchange: "sim1", symbol: "BTC/USDT", depth: 20) { seq } }' },
      { next: () => resolve(), error: reject, complete: () => {} },
    );
  });
  return async () => {
    unsubscribe();
    await client.dispose();
  };
}

try {
  console.log(
    `bench:queries  ${new Date().toISOString()}  node ${process.version}  ${cpus().length} × ${cpuModel()}`,
  );
  console.log(
    `${WORKERS} keep-alive clients, ${REPEATS} interleaved repeats of ${SECONDS} s per operation ` +
      `(${WARM_S} s warm-up each), simulator at ${RATE} updates/s per book`,
  );
  await waitForBook(agent, server.port);
  const phases = [await phase('book not held (read from Redis)')];
  const release = await holdBook(server.port);
  try {
    phases.push(await phase('book held live by a subscription (in-process replica)'));
  } finally {
    await release();
  }
  console.log(
    table([
      ['phase', 'operation', 'req/s (median)', 'req/s per repeat', 'server CPU µs/req', 'p50 ms', 'p99 ms'],
      ...phases.flatMap((ph) =>
        ph.rows.map((s) => [ph.label, s.name, fmtInt(s.rps), s.all, fmtInt(s.cpu), fmt(s.p50), fmt(s.p99)]),
      ),
    ]),
  );
  for (const ph of phases) {
    console.log(
      `${ph.label}: orderBook / __typename ${fmt(ph.ratio)} (ratio of medians; per repeat ` +
        `${ph.ratios.map((x) => fmt(x)).join(' / ')}) — goal ≥ 0.90: ${ph.ratio >= 0.9 ? 'met' : 'not met'}; ` +
        `server CPU per request, __typename / orderBook: ${fmt(ph.cpuRatio)}`,
    );
  }
  console.log(
    `load average at the end: ${loadavg()
      .map((x) => fmt(x, 1))
      .join(' ')} on ${cpus().length} cores`,
  );
  console.log(JSON.stringify({ bench: 'queries', workers: WORKERS, seconds: SECONDS, phases }));
} finally {
  agent.destroy();
  await server.stop();
  await ingest.stop();
  await redis.server.stop();
}
