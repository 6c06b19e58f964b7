import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  type BookgraphClient,
  type BookgraphClientOptions,
  BookgraphError,
  createBookgraphClient,
  MarketsDocument,
  type MarketsQuery,
  OrderBookDocument,
  OrderBookUpdatesDocument,
  ThrottledOrderBookDocument,
  TickersDocument,
} from '../../sdk/src/index.ts';
import { createKey } from '../edge/support.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/** The SDK client against a real server: typed results, typed errors, every transport, retries. */

let redis: TestRedis;
let stack: Stack;
const clients: BookgraphClient[] = [];
let readerKey: string;

beforeAll(async () => {
  redis = await startTestRedis();
  readerKey = (await createKey(redis.client(), 'sdk-reader', ['marketdata:read'])).key;
  stack = await startStack(redis, { simulator: { seed: 3, updatesPerSecond: 20, venues: ['sim1'] } });
  await stack.reference.until(() => stack.reference.count('sim1', 'BTC/USDT') > 0);
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.dispose()));
  await stack?.stop();
  await redis?.stop();
});

function client(options: Partial<BookgraphClientOptions> = {}): BookgraphClient {
  const c = createBookgraphClient({
    url: stack.httpUrl,
    retry: { attempts: 2, initialDelayMs: 20 },
    ...options,
  });
  clients.push(c);
  return c;
}

/** A fetch that records every request it passes on. */
function recordingFetch(): { fetch: typeof fetch; requests: Request[] } {
  const requests: Request[] = [];
  return {
    requests,
    fetch: (input, init) => {
      const request = new Request(input, init);
      requests.push(request.clone());
      return fetch(request);
    },
  };
}

describe('typed queries over HTTP', () => {
  it('returns typed data', async () => {
    const c = client();
    const markets = await c.query(MarketsDocument, { exchange: 'sim1' });
    expectTypeOf(markets).toEqualTypeOf<MarketsQuery>();
    expect(markets.region).toBe('test');
    expect(markets.markets.map((m) => m.symbol)).toEqual(['BTC/USDT', 'ETH/USDT', 'KITE/USDT', 'SOL/USDT']);

    const { orderBook } = await c.query(OrderBookDocument, {
      exchange: 'sim1',
      symbol: 'BTC/USDT',
      depth: 3,
    });
    expectTypeOf(orderBook.seq).toEqualTypeOf<number>();
    expectTypeOf(orderBook.bids[0]!.price).toEqualTypeOf<string>();
    expect(orderBook.bids).toHaveLength(3);
    expect(orderBook.asks).toHaveLength(3);
    expect(orderBook.seq).toBeGreaterThan(0);

    const { tickers } = await c.query(TickersDocument, { exchange: 'sim1' });
    expect(tickers).toHaveLength(4);
    expect(tickers[0]?.bestBid?.price).toMatch(/^\d+(\.\d+)?$/);
  });

  it('throws BookgraphError with the code, status and request id for MARKET_NOT_FOUND', async () => {
    const { fetch, requests } = recordingFetch();
    const c = client({ fetch });
    const error = await c
      .query(OrderBookDocument, { exchange: 'sim1', symbol: 'NOPE/USDT' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BookgraphError);
    const e = error as BookgraphError;
    expect(e.code).toBe('MARKET_NOT_FOUND');
    expect(e.status).toBe(200);
    expect(e.requestId).toMatch(/^[\w.:-]{1,64}$/);
    expect(e.errors[0]?.path).toEqual(['orderBook']);
    expect(BookgraphError.is(e, 'MARKET_NOT_FOUND')).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('carries the caller request id, BAD_USER_INPUT issues and EXCHANGE_NOT_FOUND', async () => {
    const c = client();
    const bad = (await c
      .query(
        OrderBookDocument,
        { exchange: 'sim1', symbol: 'BTC/USDT', depth: 0 },
        { headers: { 'x-request-id': 'sdk-test-1' } },
      )
      .catch((e: unknown) => e)) as BookgraphError;
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect(bad.requestId).toBe('sdk-test-1');
    expect(bad.issues.length).toBeGreaterThan(0);

    const exchange = (await c
      .query(MarketsDocument, { exchange: 'nowhere' })
      .catch((e: unknown) => e)) as BookgraphError;
    expect(exchange.code).toBe('EXCHANGE_NOT_FOUND');
  });

  it('sends the token as a bearer header', async () => {
    const { fetch, requests } = recordingFetch();
    const c = client({ fetch, token: async () => readerKey });
    await c.query(MarketsDocument, { exchange: 'sim1' });
    expect(requests[0]?.headers.get('authorization')).toBe(`Bearer ${readerKey}`);
    expect(requests[0]?.headers.get('content-type')).toBe('application/json');
  });

  it('retries 5xx and network errors with backoff, then gives up with NETWORK_ERROR', async () => {
    let calls = 0;
    const flaky: typeof fetch = (input, init) => {
      calls += 1;
      if (calls === 1) return Promise.reject(new TypeError('fetch failed'));
      if (calls === 2) return Promise.resolve(new Response('busy', { status: 503 }));
      return fetch(input, init);
    };
    const c = client({ fetch: flaky, retry: { attempts: 3, initialDelayMs: 10, jitter: false } });
    const { region } = await c.query(MarketsDocument, { exchange: 'sim1' });
    expect(region).toBe('test');
    expect(calls).toBe(3);

    const closed = await freePort();
    const dead = client({
      url: `http://127.0.0.1:${closed}/graphql`,
      retry: { attempts: 2, initialDelayMs: 10 },
    });
    const error = (await dead
      .query(MarketsDocument, { exchange: 'sim1' })
      .catch((e: unknown) => e)) as BookgraphError;
    expect(error).toBeInstanceOf(BookgraphError);
    expect(error.code).toBe('NETWORK_ERROR');
  });

  it('retries an answer whose body stalls past the timeout, and names it a network error, not HTTP_ERROR', async () => {
    // A real server that sends the status and headers, then nothing more, on its first request.
    let calls = 0;
    const stalled: import('node:http').ServerResponse[] = [];
    const server: Server = createServer((req, res) => {
      calls += 1;
      res.writeHead(200, { 'content-type': 'application/graphql-response+json' });
      if (calls === 1) {
        res.write('{"data":');
        stalled.push(res);
        return;
      }
      req.resume();
      res.end(JSON.stringify({ data: { region: 'stalled-then-fine', markets: [] } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
    try {
      // The stall outlasts any timeout; 3 s leaves the healthy answer time on a starved machine
      // (with 300 ms, four suites at once timed the second answer out too: 3 calls).
      const retried = client({ url, timeoutMs: 3_000, retry: { attempts: 2, initialDelayMs: 10 } });
      expect((await retried.query(MarketsDocument, { exchange: 'sim1' })).region).toBe('stalled-then-fine');
      expect(calls).toBe(2);
      calls = 0;
      const once = client({ url, timeoutMs: 3_000, retry: { attempts: 0 } });
      const error = (await once
        .query(MarketsDocument, { exchange: 'sim1' })
        .catch((e: unknown) => e)) as BookgraphError;
      expect(error).toBeInstanceOf(BookgraphError);
      expect(error.code).toBe('NETWORK_ERROR');
      expect(calls).toBe(1);
    } finally {
      for (const res of stalled) res.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a response that is not a GraphQL result as HTTP_ERROR, without retrying a 4xx', async () => {
    let calls = 0;
    const proxy: typeof fetch = () => {
      calls += 1;
      return Promise.resolve(
        new Response('<html>forbidden</html>', { status: 403, headers: { 'content-type': 'text/html' } }),
      );
    };
    const error = (await client({ fetch: proxy })
      .query(MarketsDocument, { exchange: 'sim1' })
      .catch((e: unknown) => e)) as BookgraphError;
    expect(error.code).toBe('HTTP_ERROR');
    expect(error.status).toBe(403);
    expect(calls).toBe(1);
  });
});

const transports: [string, Partial<BookgraphClientOptions>][] = [
  ['graphql-ws', { transport: 'ws' }],
  ['SSE, distinct connections', { transport: 'sse' }],
  // A single-connection stream is reserved by, and belongs to, an API key (issue 10).
  ['SSE, single connection', { transport: 'sse', sse: { singleConnection: true }, token: () => readerKey }],
];

describe('typed subscriptions', () => {
  it.each(transports)('yields typed messages over %s and unsubscribes on break', async (_name, options) => {
    const c = client(options);
    const types: string[] = [];
    for await (const { orderBookUpdates } of c.subscribe(OrderBookUpdatesDocument, {
      exchange: 'sim1',
      symbol: 'BTC/USDT',
      depth: 5,
    })) {
      expectTypeOf(orderBookUpdates.prevSeq).toEqualTypeOf<number | null>();
      types.push(orderBookUpdates.type);
      if (types.length === 3) break;
    }
    expect(types).toEqual(['SNAPSHOT', 'DELTA', 'DELTA']);

    const throttled = c.subscribe(ThrottledOrderBookDocument, {
      exchange: 'sim1',
      symbol: 'ETH/USDT',
      depth: 2,
      throttleMs: 50,
    });
    const first = await throttled.next();
    await throttled.return?.();
    expect(first.done).toBe(false);
    expect(first.value?.orderBook.bids).toHaveLength(2);
  });

  it.each(transports)('throws BookgraphError MARKET_NOT_FOUND over %s', async (_name, options) => {
    const updates = client(options).subscribe(OrderBookUpdatesDocument, {
      exchange: 'sim1',
      symbol: 'NOPE/USDT',
    });
    const error = (await updates.next().catch((e: unknown) => e)) as BookgraphError;
    expect(error).toBeInstanceOf(BookgraphError);
    expect(error.code).toBe('MARKET_NOT_FOUND');
  });

  it('ends a quiet subscription at once when its signal aborts', async () => {
    const abort = new AbortController();
    // 60 s throttle: after the first book nothing arrives, so only the abort can end the loop.
    const updates = client().subscribe(
      ThrottledOrderBookDocument,
      { exchange: 'sim1', symbol: 'BTC/USDT', throttleMs: 60_000 },
      { signal: abort.signal },
    );
    await updates.next();
    const pending = updates.next();
    abort.abort();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });

  it('single connection mode shares one stream at /graphql/stream', async () => {
    const { fetch, requests } = recordingFetch();
    const c = client({ transport: 'sse', sse: { singleConnection: true }, fetch, token: readerKey });
    const a = c.subscribe(OrderBookUpdatesDocument, { exchange: 'sim1', symbol: 'BTC/USDT', depth: 1 });
    const b = c.subscribe(OrderBookUpdatesDocument, { exchange: 'sim1', symbol: 'ETH/USDT', depth: 1 });
    const [first, second] = await Promise.all([a.next(), b.next()]);
    await Promise.all([a.return?.(), b.return?.()]);
    expect(first.value?.orderBookUpdates.symbol).toBe('BTC/USDT');
    expect(second.value?.orderBookUpdates.symbol).toBe('ETH/USDT');
    const streams = requests.filter((r) => r.headers.get('accept')?.includes('text/event-stream'));
    expect(streams).toHaveLength(1);
    expect(new URL(streams[0]!.url).pathname).toBe('/graphql/stream');
    expect(requests.every((r) => r.headers.get('authorization') === `Bearer ${readerKey}`)).toBe(true);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server: Server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
