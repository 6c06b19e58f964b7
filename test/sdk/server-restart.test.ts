import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BookgraphClient,
  BookgraphError,
  createBookgraphClient,
  watchOrderBook,
} from '../../sdk/src/index.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { freePort, type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { ReferenceLog } from '../helpers/book-checker.ts';
import { WatchRecorder } from './support.ts';

/**
 * Issue 14 rows 9/10: graphql-ws gave up after 5 retries (~5–7 s) and the watch ended with
 * "[object Object]". The only server is now gone for over 15 s and tried far more than 5 times;
 * the watch waits it out, announces the loss and the return, and keeps the writer's book.
 */
const EXCHANGE = 'sim1';
const SYMBOL = 'BTC/USDT';
const DEPTH = 5;
const OUTAGE_MS = 15_500;
const log = createLogger('silent');

describe('SDK watchOrderBook across a restart of the only server', () => {
  let redis: LocalRedisServer;
  let config: Config;
  let ingest: Runtime;
  let serve: Runtime | undefined;
  let refuser: Server | undefined;
  const reference = new ReferenceLog();
  const clients: BookgraphClient[] = [];

  const startServer = () => startRuntime({ config, log, ingest: false, serve: true, launchRedis: false });

  beforeAll(async () => {
    redis = await startLocalRedis();
    config = loadConfig({
      REDIS_URL: redis.url,
      PORT: String(await freePort()),
      LOG_LEVEL: 'silent',
      SIM_UPDATES_PER_SEC: '20',
      ALLOW_ANONYMOUS_MARKETDATA: '1',
    });
    ingest = await startRuntime({
      config: { ...config, http: { ...config.http, port: 0 } },
      log,
      ingest: true,
      serve: false,
      launchRedis: false,
      onWritten: reference.record,
    });
    serve = await startServer();
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.dispose()));
    refuser?.close();
    await serve?.stop();
    await ingest?.stop();
    await redis?.stop();
  });

  it('survives 15+ s without a server (many retries), announces it, and keeps a correct book', async () => {
    const port = config.http.port;
    const client = createBookgraphClient({
      url: `http://127.0.0.1:${port}/graphql`,
      retry: { initialDelayMs: 100, maxDelayMs: 2_000 },
    });
    clients.push(client);
    const w = new WatchRecorder(
      watchOrderBook(client, { exchange: EXCHANGE, symbol: SYMBOL, depth: DEPTH }),
      EXCHANGE,
      SYMBOL,
      DEPTH,
    );
    const connection: boolean[] = [];
    const errors: string[] = [];
    w.watch.on('connection', (connected) => connection.push(connected));
    w.watch.on('error', (error) => errors.push(error.message));
    await w.until(() => w.count('DELTA') >= 5, 60_000, 'a live book');

    const stoppedAt = Date.now();
    await serve!.stop();
    serve = undefined;
    // While the server is gone, its port refuses every connection, counting the tries.
    let tries = 0;
    refuser = createServer((socket) => {
      tries += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => refuser!.listen(port, '127.0.0.1', resolve));
    await expect
      .poll(() => tries >= 8 && Date.now() - stoppedAt >= OUTAGE_MS, { timeout: 120_000, interval: 200 })
      .toBe(true);
    await new Promise<void>((resolve) => refuser!.close(() => resolve()));
    refuser = undefined;
    expect(w.watch.current()).toBeDefined();
    serve = await startServer();

    await w.until(
      () => w.drops.includes('RECONNECT') && w.sinceLastDrop().filter((c) => c.type === 'DELTA').length >= 5,
      60_000,
      'the book back: RECONNECT, a snapshot and 5 deltas',
    );
    await w.untilCovered(reference);
    await w.watch.close();

    expect(errors).toEqual([]);
    // Down while the server is gone (once: each failed try is no news), then up again.
    expect(connection).toEqual([false, true]);
    expect(w.drops).toEqual(['RECONNECT']);
    expect(w.sinceLastDrop()[0]?.type).toBe('SNAPSHOT');
    expect(w.verifyAgainst(reference)).toEqual([]);
  });

  it('reports a connection that cannot be made as readable text', async () => {
    const nowhere = await freePort();
    const client = createBookgraphClient({
      url: `http://127.0.0.1:${nowhere}/graphql`,
      retry: { attempts: 0 },
    });
    clients.push(client);
    const watch = watchOrderBook(client, { exchange: EXCHANGE, symbol: SYMBOL });
    const error = await watch.ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BookgraphError);
    const text = String(error);
    expect(text).not.toContain('[object Object]');
    // ws (Node.js 20) names the refusal; the built-in WebSocket of Node.js 22+ says nothing more
    // than that the connection failed.
    expect(text).toMatch(/ECONNREFUSED|connection closed: 10\d\d|connection failed/);
  });
});
