import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/local-server.ts';
import type { Runtime } from '../../src/runtime.ts';
import { type FakeBinance, startFakeBinance } from '../fakes/fake-binance.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * `bookgraph ingest` with its venue unreachable at start (issue 11): it used to exit 1 with a raw
 * stack trace and never open its ops port, a crash loop under Kubernetes. Now the ops port comes
 * up first, `/ready` says why it is not ready, market loading retries with backoff, and once the
 * venue answers the feed starts and `/ready` turns 200.
 */
let redis: TestRedis;
let venue: FakeBinance | undefined;
let runtime: Runtime | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
});

afterAll(async () => {
  await runtime?.stop();
  await venue?.close();
  await redis?.stop();
});

/** The ops endpoint's answer once `accept` takes it (polled: the process gives no event to wait on). */
async function until(url: string, accept: (status: number, text: string) => boolean, what: string) {
  const deadline = Date.now() + 60_000;
  let last = '';
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    const text = res ? await res.text() : '';
    last = `${res?.status}: ${text}`;
    if (res && accept(res.status, text)) return { status: res.status, text };
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last answer ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('ingest with an unreachable venue', () => {
  it('answers /health and /ready (with the reason) at once, retries, and starts once the venue is up', async () => {
    const venuePort = await freePort();
    const opsPort = await freePort();
    const starting = startTestRuntime(
      redis.url,
      {
        FEEDS: 'ccxt:binance',
        SYMBOLS: 'BTC/USDT',
        EXCHANGE_REST_URL: `http://127.0.0.1:${venuePort}`,
        EXCHANGE_WS_URL: `ws://127.0.0.1:${venuePort}`,
        PORT: String(opsPort),
      },
      { serve: false },
    );
    let failed: unknown;
    starting.catch((error) => {
      failed = error;
    });
    const notReady = await until(
      `http://127.0.0.1:${opsPort}/ready`,
      (status, text) => status === 503 && text.includes('loading markets failed'),
      '/ready to name the unreachable venue',
    );
    expect(notReady.text).toMatch(
      /ingest starting: ccxt:binance: loading markets failed \d+ time\(s\), retrying/,
    );
    expect((await fetch(`http://127.0.0.1:${opsPort}/health`)).status).toBe(200);
    expect(failed).toBeUndefined();

    venue = await startFakeBinance({ port: venuePort });
    runtime = await starting;
    await until(
      `http://127.0.0.1:${opsPort}/ready`,
      (status) => status === 200,
      '/ready once books are written',
    );
    expect(venue.unknownRequests).toEqual([]);
  });
});
