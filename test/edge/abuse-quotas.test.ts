import { spawn, spawnSync } from 'node:child_process';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ORDER_BOOK_UPDATES } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';
import { wsClient } from '../trading/support.ts';
import { countUpdates, createKey, gqlPost, healthMs, http, median } from './support.ts';

/**
 * Issue 10, row 6: per-key (and, without a key, per-address) quotas on connections, SSE streams,
 * subscriptions and the request rate, refused with 4029 / 429 + Retry-After / RATE_LIMITED, while
 * other clients' `/health` and streams carry on. Quotas are scaled down to keep it fast.
 */

const QUOTAS = {
  connections: 3,
  sseStreams: 2,
  subscriptionsPerConnection: 3,
  subscriptionsPerKey: 5,
  requestsPerSecond: 1,
  requestBurst: 10,
};
const BOOK = { exchange: 'sim1', symbol: 'BTC/USDT', depth: 5 };
let redis: TestRedis;
let stack: Stack;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, { auth: { anonymousMarketData: true }, edge: { quotas: QUOTAS } });
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await stack?.stop();
  await redis?.stop();
});

/** A graphql-ws client that is connected (or closed: its close code). */
async function connect(key: string): Promise<{ client: Client; closed: Promise<number> }> {
  let onClose: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => {
    onClose = resolve;
  });
  const client = wsClient(stack.wsUrl, key, (code) => onClose(code));
  cleanups.push(() => client.dispose());
  const opened = await new Promise<boolean>((resolve) => {
    client.on('connected', () => resolve(true));
    void closed.then(() => resolve(false));
  });
  return { client, closed: opened ? closed : closed };
}

const follow = (client: Parameters<typeof countUpdates>[0]) => countUpdates(client, BOOK, cleanups);

/** A process posting `{ region }` with `key`, 50 requests at a time, until stopped; resolves with how many it sent. */
function startFlood(port: number, key: string): { nextBatch(): Promise<void>; stop(): Promise<number> } {
  const code = `
    let sent = 0;
    const post = () => fetch('http://127.0.0.1:${port}/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ${key}' },
      body: '{"query":"{ region }"}',
    }).then((r) => r.arrayBuffer()).catch(() => {}).then(() => { sent += 1; });
    process.on('SIGTERM', () => { process.stdout.write(String(sent) + '\\n'); process.exit(0); });
    (async () => { for (;;) { await Promise.all(Array.from({ length: 50 }, post)); process.stdout.write('batch\\n'); } })();
  `;
  const [command, args] = PDEATHSIG
    ? ['setpriv', ['--pdeathsig', 'KILL', process.execPath, '-e', code]]
    : [process.execPath, ['-e', code]];
  const child = spawn(command, args as string[], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const waiting: (() => void)[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const resolve of waiting.splice(0)) resolve();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    /** Resolves when the flooder finishes its next batch of 50 requests. */
    nextBatch: () => new Promise<void>((resolve) => waiting.push(resolve)),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      return Number(out.split('\n').at(-2) ?? 0);
    },
  };
}

const PDEATHSIG = process.platform === 'linux' && spawnSync('setpriv', ['--version']).status === 0;

const codeOf = (errors: readonly { extensions?: Record<string, unknown> }[]) => errors[0]?.extensions?.code;

describe('row 6: per-key quotas', () => {
  it('caps graphql-ws connections per key (close 4029), freeing a slot when one closes', async () => {
    const key = (await createKey(stack.redis, 'sockets')).key;
    const open = [await connect(key), await connect(key), await connect(key)];
    const fourth = await connect(key);
    expect(await fourth.closed).toBe(4029);
    // Another key is not affected.
    const other = await connect((await createKey(stack.redis, 'other')).key);
    expect(other.client).toBeDefined();
    await open[0]!.client.dispose();
    await open[0]!.closed;
    await vi.waitFor(
      async () => {
        const again = await connect(key);
        const early = await Promise.race([again.closed, new Promise<null>((r) => setTimeout(r, 300, null))]);
        expect(early).toBeNull();
      },
      { timeout: 60_000, interval: 200 },
    );
  });

  it('caps subscriptions per connection and per key (RATE_LIMITED)', async () => {
    const key = (await createKey(stack.redis, 'subs')).key;
    const a = await connect(key);
    const onA = [follow(a.client), follow(a.client), follow(a.client)];
    const fourthOnA = follow(a.client);
    await fourthOnA.done;
    expect(codeOf(fourthOnA.errors)).toBe('RATE_LIMITED');
    const b = await connect(key);
    const onB = [follow(b.client), follow(b.client)];
    const sixth = follow(b.client);
    await sixth.done;
    expect(codeOf(sixth.errors)).toBe('RATE_LIMITED');
    await vi.waitFor(() => expect([...onA, ...onB].every((h) => h.count() > 0)).toBe(true), {
      timeout: 60_000,
    });
    // Ending one frees its place.
    onB[0]!.unsubscribe();
    await vi.waitFor(
      async () => {
        const again = follow(b.client);
        await vi.waitFor(() => expect(again.count() + again.errors.length).toBeGreaterThan(0), {
          timeout: 60_000,
        });
        expect(again.errors).toEqual([]);
      },
      { timeout: 60_000, interval: 200 },
    );
  });

  it('caps SSE streams per key (429 with Retry-After)', async () => {
    const key = (await createKey(stack.redis, 'sse')).key;
    const streams = [0, 1].map(() => {
      const controller = new AbortController();
      cleanups.push(() => controller.abort());
      return fetch(stack.httpUrl, {
        method: 'POST',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${key}`,
        },
        body: JSON.stringify({ query: ORDER_BOOK_UPDATES, variables: BOOK }),
      });
    });
    for (const stream of await Promise.all(streams)) expect(stream.status).toBe(200);
    const third = await http(stack.port, '/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${key}`,
      },
      body: JSON.stringify({ query: ORDER_BOOK_UPDATES, variables: BOOK }),
    });
    expect(third.status).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(third.json().errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('limits the request rate per key and per address (429, Retry-After), not other callers', async () => {
    const flooder = (await createKey(stack.redis, 'flooder')).key;
    const calm = (await createKey(stack.redis, 'calm')).key;
    // 60 at once against a bucket of 10 refilled at 1/s: at most 10 + 1 per second they took pass
    // (a loaded machine spreads them out; the bound follows the time they really took).
    const burst = async (key?: string) => {
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 60 }, () => gqlPost(stack.port, '{ region }', {}, key)),
      );
      const seconds = (performance.now() - started) / 1000;
      const passed = answers.filter((a) => a.status === 200).length;
      expect(passed).toBeLessThanOrEqual(
        QUOTAS.requestBurst + Math.ceil(seconds * QUOTAS.requestsPerSecond) + 1,
      );
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length + passed).toBe(60);
      expect(limited.length).toBeGreaterThan(0);
      return limited;
    };
    const limited = await burst(flooder);
    expect(limited[0]!.headers['retry-after']).toBeDefined();
    expect(limited[0]!.json().errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect((await gqlPost(stack.port, '{ region }', {}, calm)).status).toBe(200);
    // Without a key the caller's address has a bucket of its own.
    await burst();
    const metrics = await stack.app.metrics.registry.getSingleMetricAsString(
      'bookgraph_quota_rejections_total',
    );
    for (const quota of ['requests', 'connections', 'subscriptions', 'sse_streams'])
      expect(metrics).toMatch(new RegExp(`quota="${quota}"} [1-9]`));
  });

  it("a flood from one key leaves others' /health fast and their streams flowing", async () => {
    const flooder = (await createKey(stack.redis, 'flood')).key;
    const watcher = await connect((await createKey(stack.redis, 'watcher')).key);
    const stream = follow(watcher.client);
    await vi.waitFor(() => expect(stream.count()).toBeGreaterThan(0), { timeout: 60_000 });
    const idle: number[] = [];
    for (let i = 0; i < 10; i += 1) idle.push(await healthMs(stack.port));

    // The flood comes from another process, as it would: the test's own event loop stays free to
    // measure. It runs until the test kills it (and dies with the test: pdeathsig).
    const flood = startFlood(stack.port, flooder);
    cleanups.push(() => flood.stop());
    await flood.nextBatch();
    const sockets = Array.from({ length: 20 }, () => connect(flooder));
    const during: number[] = [];
    const before = stream.count();
    // One sample per batch the flooder completes: the flood is on throughout.
    for (let i = 0; i < 20; i += 1) {
      await flood.nextBatch();
      during.push(await healthMs(stack.port));
    }
    await vi.waitFor(() => expect(stream.count()).toBeGreaterThan(before + 2), { timeout: 60_000 });
    const sent = await flood.stop();
    const refusedSockets = (
      await Promise.all(
        (
          await Promise.all(sockets)
        ).map((s) => Promise.race([s.closed, new Promise<null>((r) => setTimeout(r, 500, null))])),
      )
    ).filter((c) => c === 4029).length;
    console.info(
      `row 6: /health median ${median(idle).toFixed(1)} ms idle, ${median(during).toFixed(1)} ms (max ${Math.max(
        ...during,
      ).toFixed(
        1,
      )} ms) during a flood of ${sent} requests and 20 sockets from one key (${refusedSockets} refused 4029)`,
    );
    expect(median(during)).toBeLessThan(5_000);
    expect(refusedSockets).toBeGreaterThanOrEqual(20 - QUOTAS.connections);
  });
});
