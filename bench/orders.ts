/**
 * Order placement throughput with duplicate retries, against a query baseline in the same run.
 *
 *   npx tsx bench/orders.ts [--clients=20] [--orders=100] [--dup=0.1]
 *
 * One process: a private redis-server, the simulator ingesting, the GraphQL server on a free
 * port (paper trading). Each of N clients (its own API key and session) places `orders` GTC limit
 * buys over HTTP, one at a time; with probability `dup` an order is sent twice, half of those
 * concurrently (two requests in flight) and half as a retry after the first answer. Asserted:
 * every duplicate answers the same order id, and each session holds exactly one order per
 * clientOrderId. Baseline: the same N loops asking `orderBook(depth: 10)` the same number of
 * times over the same HTTP path. Figures: requests/s of both, p50/p99 latency.
 */
import { strict as assert } from 'node:assert';
import { pino } from 'pino';
import { ApiClientRegistry } from '../src/auth/api-keys.ts';
import { Ingester } from '../src/ingest/ingester.ts';
import { MarketSimulator } from '../src/marketdata/simulator.ts';
import { BookHub } from '../src/pubsub/book-hub.ts';
import { ChannelSubscriber } from '../src/pubsub/channel-subscriber.ts';
import { createMarketTopics } from '../src/pubsub/market-topics.ts';
import { BookStore } from '../src/redis/book-store.ts';
import { createRedis } from '../src/redis/connection.ts';
import { createApp } from '../src/server/app.ts';
import { flag, fmt, fmtInt, header, printHeader, sleep, startPrivateRedis, summarise, table } from './lib.ts';

const CLIENTS = flag('clients', 20);
const ORDERS = flag('orders', 100);
const DUP = flag('dup', 0.1);
const REGION = 'bench';

const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename ... on Order { id status } ... on TradingError { code message } } }`;
const BOOK = `query { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 10) { seq bids { price size } } }`;
const OPEN = `mutation { openSession(balances: [{ asset: "USDT", amount: "100000000" }]) { id } }`;

async function main(): Promise<void> {
  const log = pino({ level: 'silent' });
  const { server, url } = await startPrivateRedis();
  const commands = createRedis(url, 'command');
  const subscriber = createRedis(url, 'subscriber');
  const writer = createRedis(url, 'writer');
  const store = new BookStore(commands, REGION);
  const channels = new ChannelSubscriber(subscriber, commands);
  const hub = new BookHub({ store, channels, subscriber, log });
  const ingester = new Ingester({
    store: new BookStore(writer, REGION),
    feeds: [new MarketSimulator({ updatesPerSecond: 10 })],
    log,
  });
  await ingester.start();
  const app = createApp({
    log,
    channels,
    deps: {
      region: REGION,
      store,
      hub,
      topics: createMarketTopics(channels, log),
      log,
      limits: {
        maxDepth: 100,
        minThrottleMs: 10,
        maxThrottleMs: 60_000,
        staleAfterMs: 5_000,
        subscriberQueueMax: 1_000,
      },
      now: Date.now,
      redisReady: () => commands.status === 'ready',
    },
  });
  const port = await app.start(0);
  const endpoint = `http://127.0.0.1:${port}/graphql`;
  printHeader(await header('orders', commands));
  await sleep(500);

  const post = async (query: string, variables: Record<string, unknown>, key: string) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as {
      data?: Record<string, { __typename?: string; id?: string }>;
      errors?: unknown;
    };
    if (body.errors || !body.data) throw new Error(JSON.stringify(body));
    return body.data;
  };

  const registry = new ApiClientRegistry(commands);
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const { client, key } = await registry.create({
        name: `bench-${i}`,
        scopes: ['marketdata:read', 'trade'],
      });
      const sessionId = (await post(OPEN, {}, key)).openSession!.id!;
      return { id: client.id, key, sessionId };
    }),
  );

  // Baseline: orderBook queries, same loops, same HTTP path.
  const baseLatency: number[] = [];
  const baseStart = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < ORDERS; i++) {
        const t = performance.now();
        await post(BOOK, {}, c.key);
        baseLatency.push(performance.now() - t);
      }
    }),
  );
  const baseSeconds = (performance.now() - baseStart) / 1000;

  // Orders, with duplicate retries (some concurrent).
  const latency: number[] = [];
  let requests = 0;
  let duplicates = 0;
  let concurrentDuplicates = 0;
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const start = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < ORDERS; i++) {
        const input = {
          sessionId: c.sessionId,
          exchange: 'sim1',
          symbol: 'BTC/USDT',
          side: 'BUY',
          type: 'LIMIT',
          price: (50_000 + i).toFixed(1),
          amount: '0.001',
          clientOrderId: `b-${i}`,
        };
        const once = async () => {
          const t = performance.now();
          const result = (await post(PLACE, { input }, c.key)).placeOrder!;
          latency.push(performance.now() - t);
          requests += 1;
          assert.equal(result.__typename, 'Order', JSON.stringify(result));
          return result.id!;
        };
        const roll = random();
        if (roll < DUP / 2) {
          duplicates += 1;
          concurrentDuplicates += 1;
          const [a, b] = await Promise.all([once(), once()]);
          assert.equal(a, b, 'a concurrent duplicate made a second order');
        } else if (roll < DUP) {
          duplicates += 1;
          const a = await once();
          assert.equal(await once(), a, 'a retry made a second order');
        } else {
          await once();
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;

  // Exactly one order per clientOrderId, per client.
  for (const c of clients) {
    const session = await app.trading.service.store.readSession(c.id, c.sessionId);
    assert.equal(
      session?.orderCount,
      ORDERS,
      `client ${c.id}: ${session?.orderCount} orders for ${ORDERS} clientOrderIds`,
    );
    const orders = await app.trading.service.store.allOrders(c.id, c.sessionId);
    assert.equal(new Set(orders.map((o) => o.clientOrderId)).size, ORDERS);
  }

  const b = summarise(baseLatency);
  const o = summarise(latency);
  console.log(
    table([
      ['workload', 'requests', 'req/s', 'p50 ms', 'p99 ms'],
      [
        'orderBook query (baseline)',
        fmtInt(baseLatency.length),
        fmtInt(baseLatency.length / baseSeconds),
        fmt(b.p50),
        fmt(b.p99),
      ],
      ['placeOrder (incl. duplicates)', fmtInt(requests), fmtInt(requests / seconds), fmt(o.p50), fmt(o.p99)],
    ]),
  );
  console.log(
    `clients ${CLIENTS} × orders ${ORDERS}; duplicates ${duplicates} (${concurrentDuplicates} concurrent); ` +
      `orders made ${CLIENTS * ORDERS} = clientOrderIds ${CLIENTS * ORDERS} ✓; placeOrder/orderBook throughput ${fmt(requests / seconds / (baseLatency.length / baseSeconds))}`,
  );

  await app.stop();
  hub.close();
  await ingester.stop();
  for (const c of [commands, subscriber, writer]) c.disconnect();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
