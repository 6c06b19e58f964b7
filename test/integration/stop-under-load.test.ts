import { Redis } from 'ioredis';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientRegistry } from '../../src/auth/api-keys.ts';
import { ConnectionGuard } from '../../src/auth/connection-guard.ts';
import { createLogger } from '../../src/log.ts';
import { SIM_SYMBOLS } from '../../src/marketdata/simulator.ts';
import { ChannelSubscriber } from '../../src/pubsub/channel-subscriber.ts';
import { createRedis } from '../../src/redis/connection.ts';
import type { Runtime } from '../../src/runtime.ts';
import { ClientBook } from '../helpers/book-checker.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { followBook, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';
import {
  type CreatedClient,
  createClientWithCli,
  ORDER_UPDATES,
  PLACE_ORDER,
  wsClient,
} from '../trading/support.ts';

/**
 * Every command an ioredis client was asked to send after it was closed (status `close` or `end`): such a
 * command fails with "Connection is closed.", an unhandled rejection if nobody awaits it. This
 * observes the real clients; nothing is replaced.
 */
const afterClose: string[] = [];
const send = Redis.prototype.sendCommand;
function watchCommands(): void {
  Redis.prototype.sendCommand = function (this: Redis, command, stream) {
    if (this.status === 'end' || this.status === 'close')
      afterClose.push(`${this.options.connectionName}: ${command.name}`);
    return send.call(this, command, stream);
  };
}

describe('stop() of a runtime under load', () => {
  let redis: TestRedis;
  let runtime: Runtime;
  let trader: CreatedClient;
  let proxy: FaultProxy;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    redis = await startTestRedis();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.server.port });
    trader = await createClientWithCli(redis.url, 'stopper', 'marketdata:read,trade');
    watchCommands();
    process.on('unhandledRejection', onRejection);
  });
  afterAll(async () => {
    Redis.prototype.sendCommand = send;
    process.off('unhandledRejection', onRejection);
    await runtime?.stop();
    await proxy?.stop();
    await redis?.stop();
  });

  it('sees a command sent on a closed connection (the check below can fail)', async () => {
    const probe = redis.client();
    await probe.ping();
    const ended = new Promise((r) => probe.once('end', r));
    await probe.quit();
    await ended;
    await expect(probe.get('x')).rejects.toThrow('Connection is closed.');
    expect(afterClose).toEqual([`${probe.options.connectionName}: get`]);
    afterClose.length = 0;
  });

  it('a listener ending after shutdown closed the subscriber sends nothing (no unhandled rejection)', async () => {
    const subscriber = createRedis(redis.url, 'subscriber');
    const commands = createRedis(redis.url, 'command');
    const channels = new ChannelSubscriber(subscriber, commands);
    // As runtime.stop() does: channels closed, then the connections; one listener ends after.
    const first = await channels.listen('test:first', () => {});
    channels.close();
    // And without close(): a connection already ended holds no subscription to end.
    const other = new ChannelSubscriber(subscriber, commands);
    const second = await other.listen('test:second', () => {});
    const ended = Promise.all([subscriber, commands].map((c) => new Promise((r) => c.once('end', r))));
    await Promise.all([subscriber.quit(), commands.quit()]);
    await ended;
    first();
    second();
    // A rejected promise is reported unhandled after the microtasks of its turn.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(afterClose).toEqual([]);
    expect(rejections.map(String)).toEqual([]);
  });

  it('a stream admitted while the subscriber is closed: admit resolves and nothing is left unhandled', async () => {
    const subscriber = createRedis(redis.url, 'subscriber');
    const commands = createRedis(redis.url, 'command');
    await commands.ping();
    const guard = new ConnectionGuard({
      registry: new ApiClientRegistry(commands),
      channels: new ChannelSubscriber(subscriber, commands),
      log: createLogger('silent'),
    });
    const ended = new Promise((r) => subscriber.once('end', r));
    await subscriber.quit();
    await ended;
    const principal = { clientId: 'c1', name: 'c1', scopes: new Set<never>(), expiresAt: null };
    const socket = { close: () => {} };
    // SSE streams call admit without awaiting it: a rejection would be unhandled.
    await expect(guard.admit(socket, principal)).resolves.toBeUndefined();
    await expect(guard.admit({ close: () => {} }, principal)).resolves.toBeUndefined();
    guard.close();
    await commands.quit();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(rejections.map(String)).toEqual([]);
    afterClose.length = 0;
  });

  it('ends its timers and background work before closing Redis: no command after close', async () => {
    // Short intervals, so every periodic task (feed status, re-assertion, lease renewal, copy
    // checks, key rechecks) is due many times while the runtime stops.
    runtime = await startTestRuntime(proxy.url, {
      SIM_UPDATES_PER_SEC: '200',
      FEED_STATUS_INTERVAL_MS: '100',
      LOG_LEVEL: 'silent',
    });
    const base = `http://127.0.0.1:${runtime.port}/graphql`;
    const clients = trackedClients();
    const books: ClientBook[] = [];
    const ws = clients.ws(base.replace('http', 'ws'));
    const sse = clients.sse(base);
    for (const exchange of ['sim1', 'sim2']) {
      for (const symbol of SIM_SYMBOLS.slice(0, 3)) {
        const book = new ClientBook(exchange, symbol, 10);
        books.push(book);
        followBook(books.length % 2 === 0 ? ws : sse, book);
      }
    }
    const post = async (query: string, variables: Record<string, unknown>) => {
      const response = await fetch(base, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${trader.key}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(120_000),
      });
      return (await response.json()) as { data?: Record<string, { id?: string }>; errors?: unknown };
    };
    // UNAVAILABLE (the key record not read yet, on a loaded machine) is retried, as a client does.
    let opened: Awaited<ReturnType<typeof post>> = {};
    // Generous: four suites at once kept it failing for over 60 s.
    for (const until = Date.now() + 240_000; !opened.data?.openSession && Date.now() < until; ) {
      // A request that times out on a starved machine is retried the same way.
      opened = await post('mutation($b: [BalanceInput!]!) { openSession(balances: $b) { id } }', {
        b: [{ asset: 'USDT', amount: '1000000' }],
      }).catch(() => ({}));
    }
    const sessionId = opened.data?.openSession?.id;
    expect(sessionId, JSON.stringify(opened)).toBeTruthy();
    const keyed = wsClient(base.replace('http', 'ws'), trader.key);
    let orderUpdates = 0;
    keyed.subscribe(
      { query: ORDER_UPDATES, variables: { sessionId } },
      {
        next: () => {
          orderUpdates += 1;
        },
        error: () => {},
        complete: () => {},
      },
    );

    // Orders and queries in flight while stop() runs; the loop ends once the server is gone.
    let placed = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        try {
          await post(PLACE_ORDER, {
            input: {
              sessionId,
              exchange: 'sim1',
              symbol: SIM_SYMBOLS[0],
              side: 'BUY',
              type: 'LIMIT',
              price: '100',
              amount: '0.2',
            },
          });
          await post('query { orderBook(exchange: "sim2", symbol: "BTC/USDT", depth: 5) { seq } }', {});
          placed += 1;
        } catch {
          // Refused while starting or gone while stopping: the loop ends with `running`.
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
    // Enough in flight to stop under: orders placed (the loop keeps placing while stop() runs),
    // their updates and every book flowing. Generous: four suites at once on two cores placed
    // two orders in 180 s.
    const deadline = Date.now() + 300_000;
    while (
      (placed < 2 || orderUpdates < 2 || books.some((b) => b.messages.length < 3)) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(placed).toBeGreaterThanOrEqual(2);

    // Every Redis round trip 100 ms slower (as in the fault matrix's SIGTERM case): replies to
    // background work are still on their way when the drain ends and the connections close.
    proxy.latency(100);
    const stopping = Date.now();
    await runtime.stop();
    console.log(`stop took ${Date.now() - stopping} ms after ${placed} orders`);
    proxy.latency(0);
    running = false;
    await load;
    await keyed.dispose();
    await clients.dispose();
    // Whatever was still scheduled would run within a few of its intervals: wait them out
    // (feed status every 100 ms, the hub's copy check every second, lease renewal, rechecks).
    await new Promise((r) => setTimeout(r, 3_000));

    expect(afterClose).toEqual([]);
    expect(rejections.map(String)).toEqual([]);
    // Its waits add up to more than the suite's 300 s on a machine running four suites at once.
  }, 900_000);
});
