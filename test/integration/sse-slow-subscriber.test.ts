import { type IncomingMessage, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * SSE streams get the WebSocket's stall bound (slow-subscriber.test.ts): a reader that stops is cut
 * after SLOW_SUBSCRIBER_DISCONNECT_MS without progress. A file of its own: filling the kernel's
 * loopback buffers of one HTTP connection takes tens of seconds.
 */
/**
 * The whole book every 10 ms, each side seven times over (aliases): megabytes a second, so a
 * reader that stops fills the kernel's socket buffers (several MB on loopback) within seconds.
 */
const SSE_SIDES = Array.from(
  { length: 7 },
  (_, i) => `b${i}: bids { price size } a${i}: asks { price size }`,
);
const SSE_BIG_BOOK = `subscription { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 100, throttleMs: 10) {
  seq ${SSE_SIDES.join(' ')} } }`;

/**
 * The same over a bare socket, whose reading the test stops for sure (`pause()` stops reading the
 * file descriptor: the kernel's buffers fill and TCP pushes back). Resolves after the first book.
 */
function rawSseStream(port: number, query: string): Promise<Socket> {
  const body = JSON.stringify({ query });
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Accept: text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    socket.once('error', reject);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString();
      if (!head.includes('"seq"')) return;
      socket.off('data', onData);
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      expect(head).toContain('text/event-stream');
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

/** An SSE subscription over a plain Node request, so the test can stop reading it. */
function sseStream(port: number, query: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      },
      resolve,
    );
    req.once('error', reject);
    req.end(JSON.stringify({ query }));
  });
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

describe('a subscriber that stops reading its SSE stream', () => {
  let redis: TestRedis;
  let runtime: Runtime;

  beforeAll(async () => {
    redis = await startTestRedis();
    runtime = await startTestRuntime(redis.url, {
      SIM_UPDATES_PER_SEC: '100',
      SLOW_SUBSCRIBER_DISCONNECT_MS: '1000',
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await redis?.stop();
  });

  it('is cut once its connection stays full, while a reading one keeps its stream', {
    timeout: 300_000,
  }, async () => {
    const port = runtime.port!;
    const disconnects = async () =>
      metricValue(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        'bookgraph_slow_subscriber_disconnects_total',
      );
    const before = await disconnects();
    const slow = await rawSseStream(port, SSE_BIG_BOOK);
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    // From here on the client reads nothing: the kernel buffers fill, then the server's.
    slow.pause();

    // The server cuts the stream once its buffer made no progress for a second …
    // (Slow on purpose: the kernel's loopback buffers take megabytes before the server's grows.)
    await expect.poll(disconnects, { timeout: 240_000, interval: 250 }).toBe(before + 1);
    // … which the paused client sees once it reads again: what was sent, then the end.
    slow.resume();
    await slowClosed;
    // A reader that keeps up is not touched.
    const healthy = await sseStream(port, SSE_BIG_BOOK);
    let healthyBytes = 0;
    healthy.on('data', (chunk: Buffer) => {
      healthyBytes += chunk.length;
    });
    await expect.poll(() => healthyBytes, { timeout: 60_000 }).toBeGreaterThan(0);
    const atClose = healthyBytes;
    await expect.poll(() => healthyBytes, { timeout: 60_000 }).toBeGreaterThan(atClose);
    expect(healthy.socket.destroyed).toBe(false);
    expect(await disconnects()).toBe(before + 1);
    healthy.destroy();
  });
});
