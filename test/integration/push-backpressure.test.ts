import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime.ts';
import { type RawWsClient, rawWsClient, updatesOf } from '../helpers/raw-ws.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * The push path's first slow-subscriber bound: a socket over SUBSCRIBER_BUFFER_MAX_BYTES makes its
 * subscriptions hold their messages; past SUBSCRIBER_QUEUE_MAX held messages a subscription is
 * conflated to RESET (CONFLATED) + SNAPSHOT; once the client reads again, every stream is whole.
 */
/** Each side seven times over (aliases), so the kernel's buffers fill fast even on a starved machine. */
const SIDES = Array.from(
  { length: 7 },
  (_, i) => `b${i}: bids { price size } a${i}: asks { price size }`,
).join(' ');
const FILL = `subscription { orderBook(exchange: "sim1", symbol: "ETH/USDT", depth: 100, throttleMs: 10) {
  seq ${SIDES} } }`;
const UPDATES = `subscription { orderBookUpdates(exchange: "sim1", symbol: "BTC/USDT", depth: 100) {
  type seq prevSeq reason bids { price size } asks { price size } } }`;

let redis: TestRedis;
let runtime: Runtime;
let client: RawWsClient | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
  runtime = await startTestRuntime(redis.url, {
    SIM_UPDATES_PER_SEC: '200',
    SUBSCRIBER_QUEUE_MAX: '10',
    SUBSCRIBER_BUFFER_MAX_BYTES: String(16 * 1024),
    // Never cut here: this test is about holding and conflating (slow-subscriber.test.ts cuts).
    SLOW_SUBSCRIBER_DISCONNECT_MS: '600000',
    // A paused client answers no ping either: graphql-ws's keep-alive (12 s) would terminate it
    // (1006) before a starved machine has filled its buffers. Not what this test is about.
    WS_KEEPALIVE_MS: '600000',
  });
});

afterAll(async () => {
  client?.close();
  await runtime?.stop();
  await redis?.stop();
});

const metric = async (name: string) =>
  Number(
    (await (await fetch(`http://127.0.0.1:${runtime.port}/metrics`)).text()).match(
      new RegExp(`^${name} (\\d+)`, 'm'),
    )?.[1] ?? 0,
  );

describe('a push-path subscriber whose socket stays full', () => {
  it('is conflated to RESET + SNAPSHOT, and its stream stays whole in order', async () => {
    client = await rawWsClient(`ws://127.0.0.1:${runtime.port}/graphql`);
    const c = client;
    c.subscribe('u', UPDATES);
    // Whole books every 10 ms fill the kernel's buffers quickly, so the socket's own buffer grows.
    for (const id of ['f1', 'f2', 'f3']) c.subscribe(id, FILL);
    await c.until(() => updatesOf(c.frames, 'u').length > 0, 60_000, 'the first message');
    c.pause();
    await expect
      .poll(() => metric('bookgraph_subscriber_conflations_total'), { timeout: 240_000, interval: 250 })
      .toBeGreaterThan(0);
    c.resume();
    const conflatedAt = () => updatesOf(c.frames, 'u').findIndex((u) => u.reason === 'CONFLATED');
    await c.until(
      () => conflatedAt() >= 0 && updatesOf(c.frames, 'u').length > conflatedAt() + 5,
      120_000,
      'messages after the conflation',
    );
    const updates = updatesOf(c.frames, 'u');
    expect(updates[0]!.type).toBe('SNAPSHOT');
    for (let i = 1; i < updates.length; i++) {
      const [before, update] = [updates[i - 1]!, updates[i]!];
      if (update.type === 'DELTA') expect(update.prevSeq, `message ${i}`).toBe(before.seq);
      if (before.type === 'RESET') expect(update.type, `after the RESET at ${i - 1}`).toBe('SNAPSHOT');
      if (update.type === 'RESET') expect(update.reason).toBe('CONFLATED');
    }
    // Held, never cut: the socket stays open.
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });
});
