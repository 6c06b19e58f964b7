import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SIM_SYMBOLS } from '../../src/marketdata/simulator.ts';
import type { Runtime } from '../../src/runtime.ts';
import { rawWsClient } from '../helpers/raw-ws.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/** Each side seven times over (aliases): a stalled socket fills within seconds, even on a starved machine. */
const SIDES = Array.from(
  { length: 7 },
  (_, i) => `b${i}: bids { price size } a${i}: asks { price size }`,
).join(' ');
const BIG_BOOK = (exchange: string, symbol: string) =>
  `subscription { orderBook(exchange: "${exchange}", symbol: "${symbol}", depth: 100, throttleMs: 10) {
    seq ${SIDES} } }`;

describe('a subscriber that stops reading its WebSocket', () => {
  let redis: TestRedis;
  let runtime: Runtime;
  let healthy: Client;

  beforeAll(async () => {
    redis = await startTestRedis();
    runtime = await startTestRuntime(redis.url, {
      SIM_UPDATES_PER_SEC: '100',
      SUBSCRIBER_BUFFER_MAX_BYTES: String(64 * 1024),
      SLOW_SUBSCRIBER_DISCONNECT_MS: '1000',
      // A paused client answers no ping either: graphql-ws's keep-alive (12 s) would terminate it
      // (1006) before a starved machine has filled its buffers, or before it read up to its 1013.
      WS_KEEPALIVE_MS: '600000',
    });
  });
  afterAll(async () => {
    await healthy?.dispose();
    await runtime?.stop();
    await redis?.stop();
  });

  it('is closed with 1013 once its socket stays full, while others keep their stream', async () => {
    const url = `ws://127.0.0.1:${runtime.port}/graphql`;
    const slow = await rawWsClient(url);
    // Every book at full depth, every 10 ms: megabytes a second for a client that never reads.
    let id = 0;
    for (const exchange of ['sim1', 'sim2', 'sim3']) {
      for (const symbol of SIM_SYMBOLS) {
        id += 1;
        slow.subscribe(String(id), BIG_BOOK(exchange, symbol));
      }
    }
    await slow.until(() => slow.frames.some((f) => f.type === 'next'), 60_000, 'a first message');
    slow.pause();

    healthy = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
    const seqs: number[] = [];
    let healthyDone = false;
    const done = (async () => {
      for await (const message of healthy.iterate({
        query:
          'subscription { orderBookUpdates(exchange: "sim1", symbol: "ETH/USDT", depth: 5) { type seq prevSeq } }',
      })) {
        const update = (
          message.data as { orderBookUpdates: { type: string; seq: number; prevSeq: number | null } }
        ).orderBookUpdates;
        if (update.type === 'DELTA') expect(update.prevSeq).toBe(seqs.at(-1));
        seqs.push(update.seq);
        // Until the test has seen what it needs: a fixed count ran out on a loaded machine before
        // the slow socket was cut (it takes longer there to fill).
        if (healthyDone) break;
      }
    })();

    // The server gives up on the stalled socket; the client, reading again, finds the 1013 close.
    // Generous: the kernel's loopback buffers (megabytes) fill first, and on a loaded machine the
    // server produces far less than its megabytes a second.
    await expect
      .poll(
        async () =>
          (await (await fetch(`http://127.0.0.1:${runtime.port}/metrics`)).text()).match(
            /bookgraph_slow_subscriber_disconnects_total (\d+)/,
          )?.[1],
        { timeout: 240_000, interval: 250 },
      )
      .toBe('1');
    slow.resume();
    expect(await slow.closed).toBe(1013);
    const atClose = seqs.length;
    // The healthy subscriber goes on receiving, in order, after the slow one was cut.
    await expect.poll(() => seqs.length, { timeout: 60_000 }).toBeGreaterThan(atClose + 20);
    expect(seqs[0]).toBeGreaterThan(0);
    healthyDone = true;
    await healthy.dispose();
    await done.catch(() => {});
  });
});
