/**
 * One fan-out run of bench/fanout.ts: a private Redis fed by the real Ingester at a fixed rate,
 * one server child (bookgraph's `serve` runtime or the naive peer), `subscribers` graphql-ws
 * subscribers spread over the books, and what the run cost the server per delivered message.
 */

import type { Socket } from 'node:net';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
  awaitLastTouches,
  BOOK_SUBSCRIPTION,
  checkLoss,
  emit,
  type LossCheck,
  openSubscribers,
  type Plan,
  startSource,
} from './book-workload.ts';
import type { ChildStats } from './child-ipc.ts';
import { type LatencySummary, sleep, summarise } from './lib.ts';

export interface FanoutScenario {
  subscribers: number;
  /** Book updates per second, over all books. */
  rate: number;
}

/** A server under test: bench/server-child.ts's forked children, or bench/cli-server.ts's `bookgraph serve`. */
export interface BenchServer {
  port: number;
  cpu(): Promise<ChildStats>;
  stop(): Promise<void>;
  /** The server's processes (a cluster's primary and workers), for CPU pinning. */
  pids?(): number[];
}

export interface FanoutRunOptions {
  scenario: FanoutScenario;
  /** The server's name in the report. */
  server: string;
  /** Starts the server against the run's private Redis. */
  start(redisUrl: string): Promise<BenchServer>;
  plan: Plan;
  warmSeconds: number;
  subsPerConn: number;
  /** How long to wait for the last messages after the last update. @default 20 s */
  drainMs?: number;
  /**
   * Extra subscribers, one socket each, on every book, that read their first message and then
   * stop reading (not counted in the figures): what they cost the others. @default 0
   */
  slowConsumers?: number;
}

export interface FanoutRun extends LossCheck {
  server: string;
  scenario: FanoutScenario;
  subscribers: number;
  /** Subscribers that got no SNAPSHOT. */
  notReady: number;
  seqErrors: number;
  /** Window-changing updates of watched books in the whole run (warm-up included). */
  updates: number;
  /** Messages of the measured updates delivered per second: from the measured part's start to its last receipt. */
  deliveredPerSecond: number;
  /** GraphQL executions of subscription events in the whole run. */
  executions: number;
  executionsPerUpdate: number;
  /** Server CPU seconds from the first update to the end of the drain. */
  serverCpuSeconds: number;
  /** Per delivered DELTA (SNAPSHOTs excluded), warm-up included. */
  cpuUsPerMessage: number;
  /** The kernel's share of the server's CPU (system / (user + system)). */
  systemShare: number;
  /** Server CPU, % of one core. */
  serverCpuPercent: number;
  latency: LatencySummary;
  lagP99: number;
  /** The load generator's (this process's) event-loop delay over the run, ms. */
  generatorLoopDelayMs: { p99: number; max: number };
  serverRssMb: number;
  load1: number;
  /** Per book, the JSON of each message (by seq) of the book's first subscriber: for comparing servers. */
  payloads: Map<number, Map<number, string>>;
}

export async function runFanout(o: FanoutRunOptions): Promise<FanoutRun> {
  const p = o.plan;
  const books = p.markets.length;
  const warmCount = o.warmSeconds * o.scenario.rate;
  const source = await startSource(p.markets, p.snapshots);
  const server = await o.start(source.url);
  try {
    const samples: number[] = [];
    const payloads = new Map<number, Map<number, string>>();
    const recorder = new Map<number, number>(); // book -> index of its first subscriber
    let emittedAt: Float64Array = new Float64Array(0);
    let lastReceipt = 0;
    const set = await openSubscribers({
      url: `ws://127.0.0.1:${server.port}/graphql`,
      markets: p.markets,
      depth: p.depth,
      subscribers: o.scenario.subscribers,
      subsPerConn: o.subsPerConn,
      rounds: Math.ceil(p.deltas.length / books),
      onDelta: (sub, u, t) => {
        const i = (u.seq - 2) * books + sub.book;
        if (i >= warmCount && i < emittedAt.length) {
          samples.push(t - emittedAt[i]!);
          lastReceipt = t;
        }
      },
      onMessage: (sub, index, data) => {
        if (!recorder.has(sub.book)) recorder.set(sub.book, index);
        if (recorder.get(sub.book) !== index) return;
        let byBook = payloads.get(sub.book);
        if (!byBook) {
          byBook = new Map();
          payloads.set(sub.book, byBook);
        }
        byBook.set(data.orderBookUpdates.seq, JSON.stringify(data));
      },
    });
    const slow = await openSlowConsumers(`ws://127.0.0.1:${server.port}/graphql`, p, o.slowConsumers ?? 0);
    const watched = new Set(set.subs.map((s) => s.book));
    let updates = 0;
    for (let i = 0; i < p.deltas.length; i++) if (p.touches[i] && watched.has(i % books)) updates += 1;

    // CPU and executions are sampled while the server is idle (every SNAPSHOT delivered, then
    // after the drain), over IPC: a sample taken while it works through a backlog would be
    // answered late, after the work it should precede.
    const begin = await server.cpu();
    // This process's own event-loop delay over the run: a receipt is timed when the client's
    // handler runs, so a stall here (GC, a burst of messages) adds to every latency it delays.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const t0 = performance.now();
    const start = { t: 0 };
    const emission = emit(p, source.feed.sink!, o.scenario.rate, warmCount, () => {
      start.t = performance.now();
    });
    emittedAt = emission.emittedAt;
    const lag = await emission.done;
    await source.ingester.drain();
    await awaitLastTouches(p, set.subs, o.drainMs ?? 20_000);
    await sleep(100);
    const end = await server.cpu();
    loopDelay.disable();
    const seconds = (performance.now() - t0) / 1000;
    const loss = checkLoss(p, set.subs, 0);
    const measured = checkLoss(p, set.subs, warmCount);
    await set.dispose();
    for (const ws of slow) ws.terminate();
    const serverCpuSeconds = end.seconds - begin.seconds;
    const executions = end.executions - begin.executions;
    return {
      server: o.server,
      scenario: o.scenario,
      subscribers: set.subs.length,
      notReady: set.notReady,
      seqErrors: source.seqErrors,
      ...loss,
      updates,
      deliveredPerSecond: (measured.delivered * 1000) / (lastReceipt - start.t),
      executions,
      executionsPerUpdate: executions / updates,
      serverCpuSeconds,
      cpuUsPerMessage: (serverCpuSeconds * 1e6) / loss.delivered,
      systemShare: (end.systemSeconds - begin.systemSeconds) / serverCpuSeconds,
      serverCpuPercent: (serverCpuSeconds / seconds) * 100,
      latency: summarise(samples),
      lagP99: summarise(lag).p99,
      generatorLoopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      serverRssMb: end.rss / 2 ** 20,
      load1: loadavg()[0]!,
      payloads,
    };
  } finally {
    await server.stop();
    await source.close();
  }
}

/** `lost N` and, when N > 0, what it is made of. */
export function lossText(r: FanoutRun): string {
  const lost = lossOf(r);
  if (lost === 0) return 'lost 0';
  return (
    `lost ${lost} (missing ${r.missing}, gaps ${r.gaps}, RESET/errors ${r.resets}, final window ${r.contentMismatches}, ` +
    `seq errors ${r.seqErrors}, no SNAPSHOT ${r.notReady})`
  );
}

/** All losses of a run: missing, prevSeq gaps, RESET/errors, final-window mismatches, seq errors, no SNAPSHOT. */
export function lossOf(r: FanoutRun): number {
  return r.missing + r.gaps + r.resets + r.contentMismatches + r.seqErrors + r.notReady;
}

/** Messages (per book and seq) whose JSON differs between two runs of the same plan, of those both got. */
export function payloadDifferences(a: FanoutRun, b: FanoutRun): { compared: number; different: number } {
  let compared = 0;
  let different = 0;
  for (const [book, messages] of a.payloads) {
    const other = b.payloads.get(book);
    if (!other) continue;
    for (const [seq, json] of messages) {
      const theirs = other.get(seq);
      if (theirs === undefined) continue;
      compared += 1;
      if (theirs !== json) different += 1;
    }
  }
  return { compared, different };
}

/**
 * `count` graphql-ws sockets that subscribe to every book of the plan with the others' operation
 * (so they share its executions: what is measured is the stall alone), read until the first
 * message, then stop reading their socket for good.
 */
async function openSlowConsumers(url: string, p: Plan, count: number): Promise<WebSocket[]> {
  const query = BOOK_SUBSCRIPTION;
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, 'graphql-transport-ws');
      ws.once('error', reject);
      ws.once('open', () => ws.send('{"type":"connection_init"}'));
      ws.on('message', (data) => {
        const text = String(data);
        if (text.startsWith('{"type":"connection_ack"')) {
          for (const [i, m] of p.markets.entries()) {
            const variables = { exchange: m.exchange, symbol: m.symbol, depth: p.depth };
            ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query, variables } }));
          }
          return;
        }
        if (text.includes('"type":"next"')) {
          (ws as unknown as { _socket: Socket })._socket.pause();
          ws.removeAllListeners('message');
          resolve(ws);
        }
      });
    });
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i++) sockets.push(await open());
  return sockets;
}
