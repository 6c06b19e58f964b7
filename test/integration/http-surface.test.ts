import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import type { Runtime } from '../../src/runtime.ts';
import { chooseEncoding } from '../../src/server/plugins/use-compression.ts';
import { writeCrossingBook } from '../helpers/merged-book.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';
import { REGION } from '../helpers/stack.ts';

/**
 * The server's HTTP surface beyond GraphQL itself: compression of whole answers (never of
 * streams), 404 for unknown paths, and consolidation keeping simulated and real venues apart.
 */

let redis: TestRedis;
let runtime: Runtime;
let url: string;

/** A raw GET: status, headers and the bytes on the wire (fetch would decompress them). */
function rawGet(
  path: string,
  headers: Record<string, string>,
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  first: string;
}> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      let bytes = 0;
      let first = '';
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!first) {
          first = chunk.toString('latin1');
          // A stream never ends by itself: its first chunk is enough.
          if (String(res.headers['content-type']).includes('event-stream')) res.destroy();
        }
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, first }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function graphql(
  query: string,
  target = url,
): Promise<{ data?: unknown; errors?: { extensions?: { code?: string } }[] }> {
  const res = await fetch(`${target}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
    body: JSON.stringify({ query }),
  });
  return res.json() as never;
}

beforeAll(async () => {
  redis = await startTestRedis();
  runtime = await startTestRuntime(redis.url, { REGION, GRAPHIQL: '1', ALLOW_ANONYMOUS_MARKETDATA: '1' });
  url = `http://127.0.0.1:${runtime.port}`;
  // A real venue next to the simulated ones, written as its ingester would.
  const store = new BookStore(redis.client(), REGION);
  await store.writeMarkets('binance', [
    {
      exchange: 'binance',
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      tickSize: '0.01',
      lotSize: '0.00001',
      minAmount: '0.00001',
      active: true,
    },
  ]);
  await writeCrossingBook(store, 'binance', 'BTC/USDT', '50000');
});

afterAll(async () => {
  await runtime?.stop();
  await redis?.stop();
});

describe('HTTP surface', () => {
  it('compresses GraphQL answers and the GraphiQL page for clients that accept gzip', async () => {
    const plain = await rawGet('/graphql', { accept: 'text/html' });
    const gzipped = await rawGet('/graphql', { accept: 'text/html', 'accept-encoding': 'gzip, deflate, br' });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.bytes).toBeLessThan(plain.bytes / 3);
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      body: JSON.stringify({ query: '{ region }' }),
    });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(await res.json()).toEqual({ data: { region: REGION } });
  });

  it('never compresses a stream: SSE events go out as they are produced', async () => {
    const query = encodeURIComponent(
      'subscription { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 1) { seq } }',
    );
    const sse = await rawGet(`/graphql?query=${query}`, {
      accept: 'text/event-stream',
      'accept-encoding': 'gzip',
    });
    expect(sse.headers['content-type']).toMatch(/text\/event-stream/);
    // Yoga marks event streams `content-encoding: none` (no proxy may buffer them to compress).
    expect([undefined, 'none']).toContain(sse.headers['content-encoding']);
    expect(sse.first).toMatch(/^(:|event:|data:)/);
  });

  it('unknown paths answer 404 without naming the server; /health still answers', async () => {
    for (const path of ['/nope', '/graphql/extra', '/.env']) {
      const res = await rawGet(path, {});
      expect(res.status, path).toBe(404);
      expect(res.first, path).not.toMatch(/yoga|graphql-yoga/i);
    }
    expect((await rawGet('/health', {})).status).toBe(200);
  });

  it('accept-encoding: gzip first, deflate next, q=0 refused', () => {
    expect(chooseEncoding('br, gzip;q=0.5')).toBe('gzip');
    expect(chooseEncoding('deflate')).toBe('deflate');
    expect(chooseEncoding('gzip;q=0, deflate;q=0')).toBeUndefined();
    expect(chooseEncoding('*')).toBe('gzip');
    expect(chooseEncoding(null)).toBeUndefined();
  });
});

describe('simulated and real venues are not consolidated together', () => {
  const VENUES = '{ consolidatedBook(symbol: "BTC/USDT", depth: 1) { venues { exchange } } }';

  it('by default a symbol real venues list is consolidated over them only', async () => {
    const answer = (await graphql(VENUES)) as {
      data: { consolidatedBook: { venues: { exchange: string }[] } };
    };
    expect(answer.data.consolidatedBook.venues.map((v) => v.exchange)).toEqual(['binance']);
    const liquidity = await graphql('{ liquidity(symbol: "BTC/USDT") { venues { exchange } } }');
    expect(JSON.stringify(liquidity)).not.toMatch(/sim\d/);
  });

  it('naming both kinds is refused as bad input; one kind alone is served', async () => {
    const mixed = await graphql(
      '{ consolidatedBook(symbol: "BTC/USDT", depth: 1, exchanges: ["sim1", "binance"]) { crossed } }',
    );
    expect(mixed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const simOnly = (await graphql(
      '{ consolidatedBook(symbol: "BTC/USDT", depth: 1, exchanges: ["sim1", "sim2"]) { venues { exchange } } }',
    )) as {
      data: { consolidatedBook: { venues: { exchange: string }[] } };
    };
    expect(simOnly.data.consolidatedBook.venues.map((v) => v.exchange).sort()).toEqual(['sim1', 'sim2']);
  });

  it('MIX_SIMULATED_VENUES=1 merges them when asked', async () => {
    const mixing = await startTestRuntime(
      redis.url,
      { REGION, MIX_SIMULATED_VENUES: '1', ALLOW_ANONYMOUS_MARKETDATA: '1' },
      { ingest: false },
    );
    try {
      const answer = (await graphql(VENUES, `http://127.0.0.1:${mixing.port}`)) as {
        data: { consolidatedBook: { venues: { exchange: string }[] } };
      };
      expect(answer.data.consolidatedBook.venues.map((v) => v.exchange).sort()).toEqual([
        'binance',
        'sim1',
        'sim2',
        'sim3',
      ]);
    } finally {
      await mixing.stop();
    }
  });
});
