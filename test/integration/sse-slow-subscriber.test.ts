import { type IncomingMessage, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { TOKEN_HEADER_KEY } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime.ts';
import { SSE_STREAM_ENDPOINT } from '../../src/server/plugins/use-graphql-sse.ts';
import { createKey } from '../edge/support.ts';
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
 * An SSE stream over a bare socket, whose reading the test stops for sure (`pause()` stops reading
 * the file descriptor: the kernel's buffers fill and TCP pushes back). `request` is the raw HTTP
 * request; `opened` runs once the response head is in (to send the operation of a reserved
 * stream). Resolves after the first book.
 */
function rawStream(
  port: number,
  request: string,
  opened: () => Promise<void> = async () => {},
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.once('error', reject);
    let head = '';
    let started = false;
    const onData = (chunk: Buffer) => {
      head += chunk.toString();
      if (!started && head.includes('\r\n\r\n')) {
        started = true;
        expect(head).toMatch(/^HTTP\/1\.1 200/);
        expect(head).toContain('text/event-stream');
        opened().catch(reject);
      }
      if (!head.includes('"seq"')) return;
      socket.off('data', onData);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

/** `query` as its own `text/event-stream` response (distinct connections mode, on /graphql). */
function rawSseStream(port: number, query: string): Promise<Socket> {
  const body = JSON.stringify({ query });
  return rawStream(
    port,
    `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Accept: text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * `query` over a reserved stream (single connection mode, on /graphql/stream): PUT reserves a
 * token, the bare socket listens with it (GET), then the operation is POSTed with the token.
 */
async function rawSingleConnectionStream(port: number, query: string, key: string): Promise<Socket> {
  const url = `http://127.0.0.1:${port}${SSE_STREAM_ENDPOINT}`;
  // A reservation belongs to the key that made it (and needs one).
  const authorization = `Bearer ${key}`;
  const reserved = await fetch(url, { method: 'PUT', headers: { authorization } });
  expect(reserved.status).toBe(201);
  const token = await reserved.text();
  return rawStream(
    port,
    `GET ${SSE_STREAM_ENDPOINT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n` +
      `Authorization: ${authorization}\r\n${TOKEN_HEADER_KEY}: ${token}\r\n\r\n`,
    async () => {
      const sent = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization, [TOKEN_HEADER_KEY]: token },
        body: JSON.stringify({ query, extensions: { operationId: 'slow' } }),
      });
      expect(sent.status).toBe(202);
    },
  );
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
  let key: string;

  beforeAll(async () => {
    redis = await startTestRedis();
    key = (await createKey(redis.client(), 'sse-slow', ['marketdata:read'])).key;
    runtime = await startTestRuntime(redis.url, {
      SIM_UPDATES_PER_SEC: '100',
      SLOW_SUBSCRIBER_DISCONNECT_MS: '1000',
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await redis?.stop();
  });

  it('is cut once its connection stays full, in both SSE modes, while a reading one keeps its stream', {
    timeout: 300_000,
  }, async () => {
    const port = runtime.port!;
    const disconnects = async () =>
      metricValue(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        'bookgraph_slow_subscriber_disconnects_total',
      );
    const before = await disconnects();
    // Both at once (filling loopback buffers takes a while): one stream per operation, and one
    // reserved stream carrying the operation.
    const slow = await Promise.all([
      rawSseStream(port, SSE_BIG_BOOK),
      rawSingleConnectionStream(port, SSE_BIG_BOOK, key),
    ]);
    const closed = slow.map(
      (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
    // From here on the clients read nothing: the kernel buffers fill, then the server's.
    for (const socket of slow) socket.pause();

    // The server cuts each stream once its buffer made no progress for a second …
    // (Slow on purpose: the kernel's loopback buffers take megabytes before the server's grows.)
    await expect.poll(disconnects, { timeout: 240_000, interval: 250 }).toBe(before + 2);
    // … which the paused clients see once they read again: what was sent, then the end.
    for (const socket of slow) socket.resume();
    await Promise.all(closed);
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
    expect(await disconnects()).toBe(before + 2);
    healthy.destroy();
  });
});
