import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * `OPS_PORT` in production: probes and scrapes answer on a port of their own, and `/metrics` is
 * not reachable on the API port (METRICS_ON_API_PORT is off by default there).
 */
describe('OPS_PORT in production', () => {
  let redis: TestRedis;
  let runtime: Runtime;

  beforeAll(async () => {
    redis = await startTestRedis();
    runtime = await startTestRuntime(redis.url, { NODE_ENV: 'production', OPS_PORT: '0', DASHBOARD: '0' });
  });
  afterAll(async () => {
    await runtime?.stop();
    await redis?.stop();
  });

  it('answers /health, /ready and /metrics on the ops port, and /metrics is not on the API port', async () => {
    expect(runtime.opsPort).toBeGreaterThan(0);
    expect(runtime.opsPort).not.toBe(runtime.port);
    const ops = `http://127.0.0.1:${runtime.opsPort}`;
    const api = `http://127.0.0.1:${runtime.port}`;

    const health = await fetch(`${ops}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');

    // Ready once the simulator's first books are written (waited on, with a generous bound).
    let ready = await fetch(`${ops}/ready`);
    for (const until = Date.now() + 60_000; ready.status !== 200 && Date.now() < until; ) {
      await ready.text();
      await new Promise((r) => setTimeout(r, 100));
      ready = await fetch(`${ops}/ready`);
    }
    expect(ready.status).toBe(200);
    expect(await ready.text()).toMatch(/^ready\n/);

    const metrics = await fetch(`${ops}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    // The process's own registry: Redis connections and book metrics, not an empty page.
    expect(text).toMatch(/^# HELP bookgraph_/m);
    expect(text).toMatch(/bookgraph_redis_connected\{role="command"\} 1/);

    // The API port serves GraphQL but not the scrape.
    const onApi = await fetch(`${api}/metrics`);
    expect(onApi.status).toBe(404);
    expect(await onApi.text()).not.toMatch(/# HELP bookgraph_/);
    // Nor does the ops port serve GraphQL.
    const graphqlOnOps = await fetch(`${ops}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(graphqlOnOps.status).toBe(404);
  });
});
