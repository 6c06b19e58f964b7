import { request } from 'node:http';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Runtime } from '../../src/runtime.ts';
import { cliEnv, killChildren, type Spawned, spawnCli, startedLine } from '../helpers/cli.ts';
import { ORDER_BOOK_UPDATES } from '../helpers/graphql-clients.ts';
import { processAlive as alive, untilReady } from '../helpers/processes.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * `bookgraph serve --workers 2` as an operator runs it: a node:cluster primary and two workers
 * sharing one port, against a Redis that an in-process ingester (the simulator) writes. The tests
 * of the first block run in order on one cluster: both workers serve, subscriptions work on each,
 * metrics are summed, a worker killed with SIGKILL is replaced, and SIGTERM drains them all.
 */

const WORKER = 'x-bookgraph-worker';
/** The series counting `{ region }` queries: a counter every worker adds to. */
const REGION_QUERIES = [
  'bookgraph_graphql_request_duration_seconds_count',
  'field="region"',
  'type="query"',
] as const;

interface Answer {
  status: number;
  worker: string | undefined;
  body: string;
}

/** One HTTP request on a connection of its own: the primary hands each new connection to the next worker. */
/**
 * Batches of `fresh` requests until every worker in `workers` has answered one (the primary hands
 * connections to whichever worker is free: on a busy machine one worker can take a whole batch).
 */
async function untilEveryWorker(workers: string[], url: string, body?: object): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let batch = 0; batch < 50; batch++) {
    answers.push(...(await Promise.all(Array.from({ length: 6 }, () => fresh(url, body)))));
    if (workers.every((w) => answers.some((a) => a.worker === w))) break;
  }
  return answers;
}

function fresh(url: string, body?: object): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent: false,
        method: body ? 'POST' : 'GET',
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          const worker = res.headers[WORKER];
          resolve({
            status: res.statusCode ?? 0,
            worker: typeof worker === 'string' ? worker : undefined,
            body: text,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** Resolves when the CLI's stdout, past `from`, has a line matching `pattern` (an event it logs). */
function untilLogged(cli: Spawned, pattern: RegExp, from = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const find = () =>
      cli
        .stdout()
        .slice(from)
        .split('\n')
        .find((line) => pattern.test(line));
    const timer = setTimeout(() => reject(new Error(`not logged: ${pattern}\n${cli.stdout()}`)), 120_000);
    const onData = () => {
      const line = find();
      if (line === undefined) return;
      clearTimeout(timer);
      cli.child.stdout?.off('data', onData);
      resolve(line);
    };
    cli.child.stdout?.on('data', onData);
    onData();
  });
}

/** The value of one series in a Prometheus text page (0 when absent), the series named by all of `parts`. */
function series(page: string, name: string, ...parts: string[]): number {
  const line = page
    .split('\n')
    .find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && parts.every((p) => l.includes(p)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

interface Watcher {
  client: WsClient;
  /** The worker whose handshake answered this client. */
  worker: Promise<string>;
  /** The first book message (a SNAPSHOT) and the one after it. */
  twoMessages: Promise<string[]>;
  /** The close code the server ended the socket with. */
  closed: Promise<number>;
}

/** A graphql-ws client on a socket of its own, following sim1 BTC/USDT. */
function watchBook(port: number): Watcher {
  let worker!: (id: string) => void;
  let closed!: (code: number) => void;
  class RecordingSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      this.once('upgrade', (res) => worker(String(res.headers[WORKER])));
      this.once('close', (code) => closed(code));
    }
  }
  const client = createClient({
    url: `ws://127.0.0.1:${port}/graphql`,
    webSocketImpl: RecordingSocket,
    retryAttempts: 0,
  });
  const twoMessages = new Promise<string[]>((resolve, reject) => {
    const types: string[] = [];
    client.subscribe(
      { query: ORDER_BOOK_UPDATES, variables: { exchange: 'sim1', symbol: 'BTC/USDT', depth: 5 } },
      {
        next: (message) => {
          if (message.errors) reject(new Error(JSON.stringify(message.errors)));
          types.push(String((message.data?.orderBookUpdates as { type: string } | undefined)?.type));
          if (types.length === 2) resolve([...types]);
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => undefined,
      },
    );
  });
  return {
    client,
    worker: new Promise((resolve) => {
      worker = resolve;
    }),
    twoMessages,
    closed: new Promise((resolve) => {
      closed = resolve;
    }),
  };
}

/** Watchers on new sockets until every one of `workers` holds at least one (round-robin: two suffice). */
async function watchOnEach(port: number, workers: number): Promise<Watcher[]> {
  const watchers: Watcher[] = [];
  const seen = new Set<string>();
  while (seen.size < workers && watchers.length < workers * 4) {
    const watcher = watchBook(port);
    watchers.push(watcher);
    seen.add(await watcher.worker);
  }
  return watchers;
}

let redis: TestRedis;
let ingester: Runtime;

beforeAll(async () => {
  redis = await startTestRedis();
  ingester = await startTestRuntime(redis.url, { SIM_UPDATES_PER_SEC: '20' }, { serve: false });
});

afterAll(async () => {
  killChildren();
  await ingester?.stop();
  await redis?.stop();
});

function serveEnv(): NodeJS.ProcessEnv {
  return cliEnv({
    REDIS_URL: redis.url,
    PORT: '0',
    OPS_PORT: '0',
    LOG_LEVEL: 'info',
    ALLOW_ANONYMOUS_MARKETDATA: '1',
    DASHBOARD: 'off',
    DRAIN_TIMEOUT_MS: '5000',
  });
}

describe('bookgraph serve --workers 2', () => {
  let cli: Spawned;
  let api: string;
  let ops: string;
  let port: number;
  let pids: number[];
  const watchers: Watcher[] = [];

  beforeAll(async () => {
    cli = spawnCli(['serve', '--workers', '2'], serveEnv());
    const started = await startedLine(cli);
    port = Number(started.port);
    api = `http://127.0.0.1:${port}`;
    ops = `http://127.0.0.1:${Number(started.opsPort)}`;
    pids = started.pids as number[];
    expect(started.workers).toBe(2);
  });

  afterAll(async () => {
    await Promise.allSettled(watchers.map((w) => w.client.dispose()));
  });

  it('serves one port from two worker processes, the primary answering probes for both', async () => {
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(cli.child.pid);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    const answers = await untilEveryWorker(['1', '2'], `${api}/health`);
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]));
    expect(new Set(answers.map((a) => a.worker))).toEqual(new Set(['1', '2']));

    const ready = await fresh(`${ops}/ready`);
    expect(ready).toMatchObject({ status: 200, worker: undefined });
    expect(ready.body).toBe('ready\nworkers: 2 of 2 serving\n');
  });

  it('serves a live book subscription on each worker', async () => {
    watchers.push(...(await watchOnEach(port, 2)));
    expect(new Set(await Promise.all(watchers.map((w) => w.worker)))).toEqual(new Set(['1', '2']));
    for (const watcher of watchers) {
      expect(await watcher.twoMessages).toEqual(['SNAPSHOT', 'DELTA']);
    }
  });

  it('sums metrics over the workers, on the ops port and on the API port', async () => {
    const before = series((await fresh(`${ops}/metrics`)).body, ...REGION_QUERIES);
    const answers = await untilEveryWorker(['1', '2'], `${api}/graphql`, { query: '{ region }' });
    expect(answers.map((a) => a.body)).toEqual(Array(answers.length).fill('{"data":{"region":"local"}}'));
    // Both workers answered some of them, so one worker's count alone would fall short.
    expect(new Set(answers.map((a) => a.worker))).toEqual(new Set(['1', '2']));

    for (const url of [`${ops}/metrics`, `${api}/metrics`]) {
      const page = (await fresh(url)).body;
      expect(series(page, ...REGION_QUERIES) - before, url).toBe(answers.length);
      expect(series(page, 'bookgraph_workers'), url).toBe(2);
      expect(series(page, 'bookgraph_worker_restarts_total'), url).toBe(0);
      // A gauge: every open subscription, whichever worker holds it.
      expect(series(page, 'bookgraph_subscriptions_active', 'field="orderBookUpdates"'), url).toBe(
        watchers.length,
      );
      // `min` over the workers: 1 only while every worker's connection is up.
      expect(series(page, 'bookgraph_redis_connected', 'role="command"'), url).toBe(1);
    }
  });

  it('replaces a worker killed with SIGKILL; the port keeps answering meanwhile, and sums never go down', async () => {
    const counted = series((await fresh(`${ops}/metrics`)).body, ...REGION_QUERIES);
    const from = cli.stdout().length;
    const [victim, survivor] = pids as [number, number];
    process.kill(victim, 'SIGKILL');
    const exited = JSON.parse(await untilLogged(cli, /worker exited unexpectedly/, from));
    expect(exited).toMatchObject({ workerPid: victim, signal: 'SIGKILL' });

    const meanwhile = await Promise.all(Array.from({ length: 6 }, () => fresh(`${api}/health`)));
    expect(meanwhile.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);

    const back = JSON.parse(await untilLogged(cli, /worker serving again/, from));
    expect(back.worker).toBe(3);
    pids = [survivor, back.workerPid as number];
    expect(alive(back.workerPid)).toBe(true);
    const answers = await Promise.all(Array.from({ length: 6 }, () => fresh(`${api}/health`)));
    expect(new Set(answers.map((a) => a.worker))).toEqual(
      new Set([String(exited.worker === 1 ? 2 : 1), '3']),
    );

    // Unready until the new worker's Redis connections are up (the whole pod says so, honestly:
    // connections handed to that worker could not be served yet).
    await untilReady(`${ops}/ready`);
    expect((await fresh(`${ops}/ready`)).body).toBe('ready\nworkers: 2 of 2 serving\n');
    const page = (await fresh(`${ops}/metrics`)).body;
    expect(series(page, 'bookgraph_worker_restarts_total')).toBe(1);
    // The dead worker's count as last scraped stays in the sum: a counter never goes back.
    expect(series(page, ...REGION_QUERIES)).toBe(counted);
  });

  it('SIGTERM drains every worker (1012 to WebSockets) and exits 0 with no worker left', async () => {
    const open = await watchOnEach(port, 2);
    watchers.push(...open);
    await Promise.all(open.map((w) => w.twoMessages));
    cli.child.kill('SIGTERM');
    expect(await Promise.all(open.map((w) => w.closed))).toEqual(open.map(() => 1012));
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    await expect.poll(() => pids.filter(alive), { timeout: 30_000, interval: 50 }).toEqual([]);
    expect(cli.stderr()).toBe('');
  });
});

describe('bookgraph serve --workers: refusals and the primary’s death', () => {
  it('refuses a bad count with a usage line (exit 2), and a bad WORKERS with the variables (exit 1)', async () => {
    const runs = [
      ...['0', 'x', '65', '1.5'].map((n) => ({ args: ['serve', '--workers', n], env: {}, value: n })),
      { args: ['serve', '--workers=-1'], env: {}, value: '-1' },
      { args: ['serve'], env: { WORKERS: 'many' }, value: 'many' },
      { args: ['start', '--workers', '2'], env: {}, value: '' },
    ].map((run) => ({ ...run, cli: spawnCli(run.args, cliEnv({ REDIS_URL: redis.url, ...run.env })) }));
    const results = await Promise.all(runs.map(async (run) => ({ ...run, exit: await run.cli.exited })));
    for (const { args, env, value, cli, exit } of results) {
      const lines = cli.stderr().trim().split('\n');
      if (args[0] === 'start') {
        expect(exit.code).toBe(2);
        expect(lines[0]).toBe('bookgraph start: unknown option --workers');
      } else if ('WORKERS' in env) {
        expect(exit.code).toBe(1);
        expect(lines).toEqual([
          `bookgraph: WORKERS: "${value}" is not a count of 1 to 64, or auto (one per core)`,
        ]);
      } else {
        expect(exit.code, args.join(' ')).toBe(2);
        expect(lines).toEqual([
          `bookgraph serve: --workers: "${value}" is not a count of 1 to 64, or auto (one per core)`,
          '(bookgraph serve --help for usage)',
        ]);
      }
    }
  });

  it('its workers exit when the primary is killed with SIGKILL', async () => {
    const cli = spawnCli(['serve', '--workers', '2'], serveEnv());
    const pids = (await startedLine(cli)).pids as number[];
    expect(pids.filter(alive)).toHaveLength(2);
    cli.child.kill('SIGKILL');
    await cli.exited;
    // Each worker exits as soon as its channel to the primary closes (node:cluster).
    await expect.poll(() => pids.filter(alive), { timeout: 30_000, interval: 50 }).toEqual([]);
  });
});
