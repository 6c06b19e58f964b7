import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';

const log = createLogger('silent');
/** Reads Redis on every call (no replica in between). */
const QUERY = '{ exchanges markets(exchange: "sim1") { symbol } }';
/** The command timeout: short, yet long enough for a loaded machine to start the runtimes. */
const COMMAND_TIMEOUT_MS = 3_000;
/**
 * How long the self-ending outages (CLIENT PAUSE, DEBUG SLEEP) last. A query that waited the outage
 * out would get its data back; answering UNAVAILABLE while the outage lasts is what fails fast.
 */
const OUTAGE_S = 30;

async function ready(port: number): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: res.status, text: await res.text() };
}

interface Answer {
  ms: number;
  codes: unknown[];
  exchanges: unknown;
}

async function query(port: number): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = (await res.json()) as {
    data?: { exchanges?: unknown } | null;
    errors?: { extensions?: { code?: unknown } }[];
  };
  return {
    ms: Date.now() - started,
    codes: (body.errors ?? []).map((e) => e.extensions?.code),
    exchanges: body.data?.exchanges,
  };
}

describe('Redis outages: /ready says so, queries fail fast with UNAVAILABLE, both recover', () => {
  let redis: LocalRedisServer;
  let proxy: FaultProxy;
  let direct: Redis;
  const runtimes: Record<'serve' | 'ingest' | 'start', Runtime | undefined> = {
    serve: undefined,
    ingest: undefined,
    start: undefined,
  };
  const ports = () => Object.values(runtimes).map((r) => r!.port!);
  const graphqlPorts = () => [runtimes.serve!.port!, runtimes.start!.port!];

  beforeAll(async () => {
    redis = await startLocalRedis({ args: ['--enable-debug-command', 'yes'] });
    proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.port });
    direct = new Redis(redis.url);
    const config = loadConfig({
      REDIS_URL: proxy.url,
      PORT: '0',
      LOG_LEVEL: 'silent',
      SIM_UPDATES_PER_SEC: '5',
      ALLOW_ANONYMOUS_MARKETDATA: '1',
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      READY_REDIS_TIMEOUT_MS: '500',
      BOOK_STALE_MS: '60000',
    });
    const base = { config, log, launchRedis: false } as const;
    runtimes.ingest = await startRuntime({ ...base, ingest: true, serve: false });
    runtimes.serve = await startRuntime({ ...base, ingest: false, serve: true });
    runtimes.start = await startRuntime({ ...base, ingest: true, serve: true });
  });
  afterAll(async () => {
    proxy?.endBlackhole();
    for (const runtime of Object.values(runtimes)) await runtime?.stop();
    direct?.disconnect();
    await proxy?.stop();
    await redis?.stop();
  });

  async function expectAllReady(): Promise<void> {
    for (const port of ports()) {
      await expect.poll(async () => (await ready(port)).status, { timeout: 60_000, interval: 100 }).toBe(200);
    }
    for (const port of graphqlPorts()) {
      await expect
        .poll(async () => (await query(port)).exchanges, { timeout: 60_000, interval: 100 })
        .toEqual(['sim1', 'sim2', 'sim3']);
    }
  }

  /** While the outage lasts: every role's /ready turns 503 naming the silent connection, queries fail fast. */
  async function expectOutageSeen(reason: RegExp): Promise<void> {
    for (const port of ports()) {
      await expect.poll(async () => (await ready(port)).status, { timeout: 60_000, interval: 50 }).toBe(503);
      expect((await ready(port)).text).toMatch(reason);
    }
    for (const port of graphqlPorts()) {
      const answer = await query(port);
      expect(answer.codes.length).toBeGreaterThan(0);
      expect(new Set(answer.codes)).toEqual(new Set(['UNAVAILABLE']));
      expect(answer.ms).toBeLessThan(OUTAGE_S * 1000);
    }
  }

  it('is ready and answers while Redis does', async () => {
    await expectAllReady();
  });

  it('blackholed Redis (connections up, nothing answers)', async () => {
    proxy.blackhole(600_000);
    await expectOutageSeen(/redis (command|writer|subscriber): no PING reply/);
    // The serve role probes its pub/sub connection too.
    expect((await ready(runtimes.serve!.port!)).text).toMatch(/redis subscriber: no PING reply/);
    proxy.endBlackhole();
    await expectAllReady();
  });

  it('CLIENT PAUSE on the test redis-server', async () => {
    await direct.call('client', 'pause', String(OUTAGE_S * 1000), 'ALL');
    await expectOutageSeen(/no PING reply/);
    // The pause ends by itself (CLIENT UNPAUSE would wait behind it).
    await expectAllReady();
  });

  it('DEBUG SLEEP on the test redis-server', async () => {
    const asleep = direct.call('debug', 'sleep', String(OUTAGE_S));
    await expectOutageSeen(/no PING reply/);
    await asleep;
    await expectAllReady();
  });
});
