import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBookgraphClient, watchOrderBook } from '../../sdk/src/index.ts';
import { ApiClientRegistry } from '../../src/auth/api-keys.ts';
import { freePort } from '../../src/redis/local-server.ts';
import { ReferenceLog, sameTop } from '../helpers/book-checker.ts';
import {
  EXCHANGE,
  type FaultResult,
  openTraderAt,
  printResults,
  QUOTE,
  SYMBOL,
} from '../helpers/fault-matrix.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { type CliProcess, recordPublished, spawnBookgraph, untilReady } from '../helpers/processes.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { checkOrders, type Trader } from '../helpers/trader.ts';
import { WatchRecorder } from '../sdk/support.ts';

/**
 * The fault matrix, part 3 (issue 14): the processes die. Real `bookgraph ingest` and `bookgraph
 * serve` processes; book watchers through the SDK (graphql-ws and SSE, reconnecting by
 * themselves) and a trader over HTTP. The writers' reference is what Redis published, heard on a
 * connection of the test's own (Redis itself is not faulted here). Cases run in order on one set
 * of processes; each checks "nothing lost" for every watcher and "no acknowledged order lost or
 * duplicated" for the trader, and reports its recovery time.
 */
const REGION = 'test';
/** A process restarted on a loaded machine takes tens of seconds to start (its sources compiled anew). */
const RECOVERY_BOUND_MS = 180_000;
const BOOKS = [
  [EXCHANGE, SYMBOL],
  [EXCHANGE, 'ETH/USDT'],
] as const;

let redis: TestRedis;
let proxy: FaultProxy;
let serverPort: number;
let server: CliProcess;
const ingesters: { process: CliProcess; port: number }[] = [];
const reference = new ReferenceLog();
let stopRecording: () => void = () => {};
const watchers: WatchRecorder[] = [];
const watchErrors: string[] = [];
let disposeClients: () => Promise<void> = async () => {};
let trader: Trader;
const results: FaultResult[] = [];

const httpUrl = () => `http://127.0.0.1:${serverPort}/graphql`;

async function startIngester(): Promise<{ process: CliProcess; port: number }> {
  const port = await freePort();
  const ingester = {
    port,
    process: spawnBookgraph('ingest', {
      REDIS_URL: redis.url,
      REGION,
      PORT: String(port),
      FEEDS: `sim:${EXCHANGE}`,
      SIM_SEED: '14',
      SIM_UPDATES_PER_SEC: '20',
    }),
  };
  ingesters.push(ingester);
  return ingester;
}

function startServer(): CliProcess {
  // The server talks to Redis through the proxy: the drain case slows its commands down.
  server = spawnBookgraph('serve', {
    REDIS_URL: proxy.url,
    REGION,
    PORT: String(serverPort),
    ALLOW_ANONYMOUS_MARKETDATA: '1',
    DRAIN_TIMEOUT_MS: '30000',
  });
  return server;
}

async function killNine(process: CliProcess): Promise<void> {
  process.kill('SIGKILL');
  await process.exited;
}

beforeAll(async () => {
  redis = await startTestRedis();
  proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.server.port });
  serverPort = await freePort();
  stopRecording = await recordPublished(redis.url, REGION, BOOKS, reference);
  const first = await startIngester();
  startServer();
  await Promise.all([
    untilReady(`http://127.0.0.1:${first.port}/ready`, first.process),
    untilReady(`http://127.0.0.1:${serverPort}/ready`, server),
  ]);

  const clients = (['ws', 'sse'] as const).map((transport) =>
    createBookgraphClient({ url: httpUrl(), transport, retry: { initialDelayMs: 100, maxDelayMs: 1_000 } }),
  );
  disposeClients = async () => {
    await Promise.allSettled(clients.map((c) => c.dispose()));
  };
  for (const client of clients) {
    for (const [exchange, symbol] of BOOKS) {
      const watch = watchOrderBook(client, { exchange, symbol, depth: 10 });
      watch.on('error', (error) => watchErrors.push(`${exchange}:${symbol}: ${error.message}`));
      watchers.push(new WatchRecorder(watch, exchange, symbol, 10));
    }
  }
  await Promise.all(watchers.map((w) => w.until(() => w.count('SNAPSHOT') > 0, 60_000, 'a first book')));

  const { key } = await new ApiClientRegistry(redis.client()).create({
    name: 'matrix-trader',
    scopes: ['marketdata:read', 'trade'],
  });
  const top = reference.last(EXCHANGE, SYMBOL)!;
  const bid = Number(reference.top(EXCHANGE, SYMBOL, top.epoch, top.seq, 1)!.bids[0]![0]);
  trader = await openTraderAt(httpUrl, key, String(Math.floor(bid / 2)));
  await trader.untilAckAfter(0, 'the trader to start');
});

afterAll(async () => {
  await trader?.stop();
  await Promise.all(watchers.map((w) => w.watch.close()));
  await disposeClients();
  stopRecording();
  server?.kill('SIGKILL');
  for (const { process } of ingesters) process.kill('SIGKILL');
  await Promise.all([server?.exited, ...ingesters.map(({ process }) => process.exited)]);
  await proxy?.stop();
  await redis?.stop();
  printResults(results);
});

/** Whether the watcher's book is the writer's latest (the reference's last event). */
function caughtUp(w: WatchRecorder): boolean {
  const last = reference.last(w.exchange, w.symbol);
  const mine = w.checkpoints.at(-1);
  if (!last || !mine || mine.epoch !== last.epoch) return false;
  const expected = reference.top(w.exchange, w.symbol, last.epoch, last.seq, w.depth);
  return expected !== undefined && sameTop(mine.top, expected);
}

/** The same measure and checks as `runFaultCase`, for SDK watchers and processes. */
async function runCase(fault: string, inject: () => Promise<void>): Promise<string[]> {
  const dropsBefore = watchers.map((w) => w.drops.length);
  const retriedBefore = new Map(trader.unknown);
  const started = Date.now();
  await inject();
  const ended = Date.now();
  const counts = watchers.map((w) => w.checkpoints.length);
  const [booksMs, ordersMs] = await Promise.all([
    Promise.all(
      watchers.map((w, i) =>
        w.until(
          () => w.checkpoints.length > counts[i]! && caughtUp(w),
          RECOVERY_BOUND_MS,
          `${w.exchange}:${w.symbol} caught up after ${fault}`,
        ),
      ),
    ).then(() => Date.now() - ended),
    trader.untilAckAfter(ended, `an acknowledgement after ${fault}`).then(() => Date.now() - ended),
  ]);
  await trader.pause();
  await Promise.all(watchers.map((w) => w.untilCovered(reference)));
  const problems = [
    ...watchErrors,
    ...reference.violations,
    ...watchers.flatMap((w) => w.verifyAgainst(reference)),
    ...(await checkOrders(trader, QUOTE, 'BTC')),
  ];
  trader.resume();
  const retried: Record<string, number> = {};
  for (const [why, n] of trader.unknown) {
    if (n > (retriedBefore.get(why) ?? 0)) retried[why] = n - (retriedBefore.get(why) ?? 0);
  }
  results.push({
    fault,
    faultMs: ended - started,
    booksMs,
    ordersMs,
    resets: watchers.flatMap((w, i) => w.drops.slice(dropsBefore[i])),
    retried,
  });
  return problems;
}

describe('fault matrix: processes die, under SDK watchers and a trader', () => {
  it('ingester kill -9, then restarted', async () => {
    const problems = await runCase('ingester kill -9, restarted', async () => {
      await killNine(ingesters.at(-1)!.process);
      // The new one waits out the dead one's writer lease (3 s), then opens new epochs.
      await startIngester();
    });
    expect(problems).toEqual([]);
  });

  it('two ingesters of one venue: the lease holder is killed, the standby takes over', async () => {
    const holder = ingesters.at(-1)!;
    const standby = await startIngester();
    await untilReady(`http://127.0.0.1:${standby.port}/ready`, standby.process);
    const problems = await runCase('two ingesters, holder kill -9', () => killNine(holder.process));
    expect(problems).toEqual([]);
  });

  it('server kill -9: SDK clients and the trader reconnect to its restart', async () => {
    const problems = await runCase('server kill -9, restarted', async () => {
      await killNine(server);
      startServer();
    });
    expect(problems).toEqual([]);
  });

  it('SIGTERM with orders in flight: each is answered, nothing half-written, the process exits', async () => {
    await untilReady(`http://127.0.0.1:${serverPort}/ready`, server);
    let inFlight: number[] = [];
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const problems = await runCase('SIGTERM drain with orders in flight', async () => {
      // Every Redis round trip of the server takes 200 ms more: its mutations are in flight for
      // a while, and the trader always has some.
      proxy.latency(200);
      const slowFrom = Date.now();
      await trader.untilAckAfter(slowFrom + 1_000, 'an acknowledgement on the slow server');
      // Requests sent a good while ago: the server has them (they are not racing its listener).
      const signalAt = Date.now();
      server.kill('SIGTERM');
      inFlight = trader.sentBefore(signalAt - 100);
      exit = await server.exited;
      proxy.latency(0);
      await trader.untilEnded(inFlight);
      expect(exit, server.output()).toEqual({ code: 0, signal: null });
      expect(inFlight.length).toBeGreaterThan(0);
      expect(inFlight.map((id) => trader.outcomes.get(id))).toEqual(inFlight.map(() => 'answered'));
      startServer();
    });
    expect(problems).toEqual([]);
  });
});
