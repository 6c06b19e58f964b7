import { type ChildProcess, spawn } from 'node:child_process';
import { type Client, createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';

const log = createLogger('silent');
const BOOK_QUERY = '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 3) { seq bids { price } } }';

async function post(port: number, query: string, headers: Record<string, string> = {}) {
  return fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

describe('operations: metrics, request ids, readiness and graceful drain', () => {
  let redisServer: LocalRedisServer;
  let runtime: Runtime;
  let redis: Redis;
  const clients: Client[] = [];

  beforeAll(async () => {
    // DEBUG SLEEP lets a test hold a request in flight by blocking Redis for a moment.
    redisServer = await startLocalRedis({ args: ['--enable-debug-command', 'yes'] });
    redis = new Redis(redisServer.url);
    const config = loadConfig({
      REDIS_URL: redisServer.url,
      PORT: '0',
      LOG_LEVEL: 'silent',
      SIM_UPDATES_PER_SEC: '20',
      // Long enough for the test's /ready and in-flight requests to reach the server on a starved
      // machine (with 300 ms, four suites at once saw their connections cut while still idle).
      DRAIN_READY_GRACE_MS: '2000',
      DRAIN_TIMEOUT_MS: '5000',
    });
    runtime = await startRuntime({ config, log, ingest: true, serve: true, launchRedis: false });
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await runtime?.stop();
    redis?.disconnect();
    await redisServer?.stop();
  });

  it('echoes a sane x-request-id and makes one up otherwise', async () => {
    const given = await post(runtime.port!, '{ region }', { 'x-request-id': 'client-42' });
    expect(given.headers.get('x-request-id')).toBe('client-42');
    const insane = await post(runtime.port!, '{ region }', { 'x-request-id': 'bad id with spaces' });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exports live figures at /metrics', async () => {
    const client = createClient({
      url: `ws://127.0.0.1:${runtime.port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    clients.push(client);
    const iterator = client.iterate({
      query: 'subscription { orderBookUpdates(exchange: "sim2", symbol: "ETH/USDT", depth: 5) { type seq } }',
    });
    for (let i = 0; i < 3; i++) await iterator.next();
    await post(runtime.port!, '{ orderBook(exchange: "sim1", symbol: "NOPE/USDT") { seq } }');
    const text = await (await fetch(`http://127.0.0.1:${runtime.port}/metrics`)).text();
    expect(metricValue(text, 'bookgraph_ws_connections')).toBe(1);
    expect(text).toContain('bookgraph_subscriptions_active{field="orderBookUpdates"} 1');
    expect(text).toContain('bookgraph_graphql_errors_total{field="orderBook",code="MARKET_NOT_FOUND"} 1');
    expect(metricValue(text, 'bookgraph_pubsub_messages_received_total')).toBeGreaterThan(0);
    expect(text).toMatch(/bookgraph_ingest_updates_total\{exchange="sim1"\} [1-9]/);
    expect(text).toMatch(/bookgraph_redis_command_duration_seconds_count\{command="write_book"\} [1-9]/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('graphql_yoga_http_duration');
    await iterator.return?.();
  });

  it('is ready while Redis answers and feeds write', async () => {
    const res = await fetch(`http://127.0.0.1:${runtime.port}/ready`);
    expect(res.status).toBe(200);
  });

  it('exports each Redis client role as connected, and feed status per exchange', async () => {
    const text = await (await fetch(`http://127.0.0.1:${runtime.port}/metrics`)).text();
    for (const role of ['command', 'subscriber', 'writer'])
      expect(text).toContain(`bookgraph_redis_connected{role="${role}"} 1`);
    for (const exchange of ['sim1', 'sim2', 'sim3']) {
      expect(text).toContain(`bookgraph_feed_connected{exchange="${exchange}"} 1`);
      // Present from the start (0 until something happens), so rates and alerts work at once.
      expect(metricValue(text, `bookgraph_feed_gaps_total{exchange="${exchange}"}`)).toBe(0);
      expect(metricValue(text, `bookgraph_feed_resyncs_total{exchange="${exchange}"}`)).toBe(0);
      expect(metricValue(text, `bookgraph_feed_errors_total{exchange="${exchange}"}`)).toBe(0);
    }
    // Labels stay bounded: roles and the configured exchanges only.
    const series = text.split('\n').filter((l) => /^bookgraph_(redis_connected|feed_)/.test(l));
    expect(series).toHaveLength(3 + 3 * 4);
  });

  it('drains on stop: /ready 503, in-flight requests finish, WebSockets close with 1012, then the port closes', async () => {
    const port = runtime.port!;
    const client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
    });
    clients.push(client);
    const closeCode = new Promise<number>((resolve) => {
      client.on('closed', (event) => resolve((event as { code: number }).code));
    });
    const iterator = client.iterate({
      query: 'subscription { orderBookUpdates(exchange: "sim1", symbol: "SOL/USDT", depth: 5) { type seq } }',
    });
    await iterator.next();

    // Block Redis (3 s: past the 2 s ready grace, within the 5 s command timeout) so a query is
    // still in flight when the listener closes.
    const blocker = new Redis(redisServer.url);
    const sleeping = blocker.call('DEBUG', 'SLEEP', '3');
    const inflight = post(port, BOOK_QUERY);
    await new Promise((r) => setTimeout(r, 50));
    const stopped = runtime.stop();

    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain('draining');

    const answer = await inflight;
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { data?: { orderBook: { seq: number } } };
    expect(body.data?.orderBook.seq).toBeGreaterThan(0);

    expect(await closeCode).toBe(1012);
    await stopped;
    await sleeping;
    blocker.disconnect();
    await expect(fetch(`http://127.0.0.1:${port}/ready`)).rejects.toThrow();
  });
});

describe('an ingest-only process', () => {
  let redisServer: LocalRedisServer;
  let runtime: Runtime;
  /** The redis-server started again on the same port after the disconnection test. */
  let revived: ChildProcess | undefined;

  beforeAll(async () => {
    redisServer = await startLocalRedis();
    const config = loadConfig({
      REDIS_URL: redisServer.url,
      PORT: '0',
      LOG_LEVEL: 'silent',
      SIM_UPDATES_PER_SEC: '20',
    });
    runtime = await startRuntime({ config, log, ingest: true, serve: false, launchRedis: false });
  });
  afterAll(async () => {
    await runtime?.stop();
    await redisServer?.stop();
    revived?.kill();
  });

  it('answers /health, /ready and /metrics on PORT, and nothing else', async () => {
    const base = `http://127.0.0.1:${runtime.port}`;
    expect(runtime.app).toBeUndefined();
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/bookgraph_ingest_updates_total\{exchange="sim3"\} [1-9]/);
    expect(text).toContain('bookgraph_redis_connected{role="writer"} 1');
    expect(text).not.toContain('role="command"');
    expect(text).toContain('bookgraph_feed_connected{exchange="sim1"} 1');
    expect((await fetch(`${base}/graphql`)).status).toBe(404);
  });

  it('reports the writer disconnected and counts feed gaps when Redis goes away', async () => {
    const base = `http://127.0.0.1:${runtime.port}`;
    await redisServer.stop();
    const deadline = Date.now() + 15_000;
    let text = '';
    for (;;) {
      text = await (await fetch(`${base}/metrics`)).text();
      const gaps = metricValue(text, 'bookgraph_feed_gaps_total{exchange="sim1"}');
      if (text.includes('bookgraph_redis_connected{role="writer"} 0') && gaps > 0) break;
      if (Date.now() > deadline) throw new Error(`no disconnection or gap reported:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(metricValue(text, 'bookgraph_ingest_write_errors_total{exchange="sim1"}')).toBeGreaterThan(0);
    expect((await fetch(`${base}/ready`)).status).toBe(503);

    // Redis back on the same port: the writer reconnects and the gauge says so.
    revived = spawn(
      'redis-server',
      ['--port', String(redisServer.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    for (;;) {
      text = await (await fetch(`${base}/metrics`)).text();
      if (text.includes('bookgraph_redis_connected{role="writer"} 1')) break;
      if (Date.now() > deadline + 60_000) throw new Error(`the writer did not reconnect:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
