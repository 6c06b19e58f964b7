import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { apiClientKey, clientAuditKey } from '../../src/redis/keys.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { appOnStack, type Stack, startStack } from '../helpers/stack.ts';
import { wsClient } from '../trading/support.ts';
import { createKey, gqlPost, healthMs, http } from './support.ts';

/**
 * Issue 10, rows 1, 3, 5, 7, 9, 10, 11: what one HTTP request may carry, refused before it costs
 * anything, with a typed error, nothing changed, and the server healthy afterwards. Sizes are
 * scaled down (the limits are the production defaults; the documents a few hundred KB in all).
 */

const CACHE_BYTES = 512 * 1024;
let redis: TestRedis;
let stack: Stack;
let trader: { id: string; key: string };
let tradeOnly: { id: string; key: string };

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    introspection: false,
    auth: { anonymousMarketData: true },
    edge: {
      documentCacheMaxBytes: CACHE_BYTES,
      corsOrigins: ['https://app.example.com'],
      metricsOnApiPort: false,
    },
  });
  trader = await createKey(stack.redis, 'trader');
  tradeOnly = await createKey(stack.redis, 'trade-only', ['trade']);
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

const code = (answer: { json(): { errors?: { extensions?: Record<string, unknown> }[] } }) =>
  answer.json().errors?.[0]?.extensions?.code;

describe('row 1: documents of anonymous callers leave memory bounded', () => {
  it('keeps the parse cache within its byte bound, whatever the padding', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 40; i += 1) {
      // Distinct texts of 30 KB each (whitespace passes any token limit): 1.2 MB in all.
      const answer = await gqlPost(stack.port, `{ r${i}: region ${' '.repeat(30_000)}}`);
      expect(answer.status).toBe(200);
    }
    const cache = stack.app.edge.documents;
    expect(cache.bytes).toBeLessThanOrEqual(CACHE_BYTES);
    expect(cache.size).toBeLessThan(40);
    console.info(
      `row 1: 40 distinct 30 KB documents: cache ${cache.size} entries, ${cache.bytes} B; heap ${(
        (process.memoryUsage().heapUsed - heapBefore) / 1e6
      ).toFixed(1)} MB more`,
    );
  });

  it('refuses documents over the size bound before parsing, and never caches them', async () => {
    const cache = stack.app.edge.documents;
    const before = cache.size;
    for (let i = 0; i < 10; i += 1) {
      const answer = await gqlPost(stack.port, `{ r${i}x: region ${' '.repeat(40_000)}}`);
      expect(answer.status).toBe(400);
      expect(code(answer)).toBe('LIMIT_EXCEEDED');
      expect(answer.json().errors?.[0]?.extensions?.limit).toBe('document_bytes');
    }
    expect(cache.size).toBeLessThanOrEqual(before);
  });

  it('refuses a body over its bound (declared or chunked) with 413 before reading it', async () => {
    const big = JSON.stringify({ query: `{ region ${' '.repeat(200_000)}}` });
    const declared = await http(stack.port, '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    const chunked = await http(stack.port, '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
      chunked: true,
    });
    for (const answer of [declared, chunked]) {
      expect(answer.status).toBe(413);
      expect(code(answer)).toBe('LIMIT_EXCEEDED');
    }
    expect(await healthMs(stack.port)).toBeLessThan(5_000);
  });
});

describe('row 3: /graphql/stream reads nothing large and reserves nothing without a key', () => {
  it('refuses large bodies (413) and keyless reservations (401)', async () => {
    const body = 'x'.repeat(1024 * 1024);
    const post = await http(stack.port, '/graphql/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const chunked = await http(stack.port, '/graphql/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      chunked: true,
    });
    expect(post.status).toBe(413);
    expect(chunked.status).toBe(413);
    const reserve = await http(stack.port, '/graphql/stream', {
      method: 'PUT',
      headers: { accept: 'text/plain' },
    });
    expect(reserve.status).toBe(401);
    expect(code(reserve)).toBe('UNAUTHENTICATED');
    expect(await healthMs(stack.port)).toBeLessThan(5_000);
  });
});

describe('row 3: every path Yoga answers GraphQL on goes through the gate', () => {
  // Yoga also serves GraphQL at `/graphql/` and at any URL ending with `/graphql`.
  it('refuses form posts (415) and large bodies (413) there too', async () => {
    const body = JSON.stringify({ query: '{ region }', variables: { pad: 'x'.repeat(1024 * 1024) } });
    for (const path of ['/graphql/', '/x/graphql', '/?a=/graphql']) {
      const form = await http(stack.port, path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'query=%7Bregion%7D',
      });
      expect(form.status).toBe(415);
      const large = await http(stack.port, path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        chunked: true,
      });
      expect(large.status).toBe(413);
      expect(large.json().errors?.[0]?.extensions?.limit).toBe('body_bytes');
    }
    expect(await healthMs(stack.port)).toBeLessThan(5_000);
  });
});

describe('row 3: a body the HTTP gate did not read is bounded alike (use-body-bound.ts)', () => {
  // Yoga's own body bound is off (it cost a stream pipeline per request); a request that reaches
  // Yoga without the gate (yoga.fetch, an embedding server) is bounded by the edge's plugin.
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    stack.app.yoga.fetch('http://bookgraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      duplex: 'half',
    } as RequestInit);
  const chunks = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(text);
        for (let i = 0; i < bytes.length; i += 16 * 1024)
          controller.enqueue(bytes.subarray(i, i + 16 * 1024));
        controller.close();
      },
    });

  it('refuses large bodies with 413 LIMIT_EXCEEDED, declared or streamed, and answers small ones', async () => {
    const body = JSON.stringify({ query: '{ region }', variables: { pad: 'x'.repeat(1024 * 1024) } });
    for (const answer of [await post(body), await post(chunks(body))]) {
      expect(answer.status).toBe(413);
      const json = (await answer.json()) as { errors: { extensions: Record<string, unknown> }[] };
      expect(json.errors[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'body_bytes' });
    }
    const small = await post(chunks(JSON.stringify({ query: '{ region }' })));
    expect(small.status).toBe(200);
    expect(await small.json()).toEqual({ data: { region: expect.any(String) } });
  });
});

describe('row 10: a malformed bearer token is refused on every transport', () => {
  it('HTTP POST, GET and SSE answer 401 UNAUTHENTICATED; graphql-ws closes 4403', async () => {
    const headers = {
      authorization: 'Bearer not-a-bookgraph-key',
      accept: 'application/graphql-response+json',
    };
    const post = await http(stack.port, '/graphql', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ region }' }),
    });
    const get = await http(stack.port, `/graphql?query=${encodeURIComponent('{ region }')}`, { headers });
    const sse = await http(stack.port, `/graphql?query=${encodeURIComponent('{ region }')}`, {
      headers: { ...headers, accept: 'text/event-stream' },
    });
    for (const answer of [post, get, sse]) {
      expect(answer.status).toBe(401);
      expect(code(answer)).toBe('UNAUTHENTICATED');
    }
    const closed = new Promise<number>((resolve) => {
      const client = wsClient(stack.wsUrl, 'not-a-bookgraph-key', (c) => resolve(c));
      client.subscribe({ query: '{ region }' }, { next: () => {}, error: () => {}, complete: () => {} });
    });
    expect(await closed).toBe(4403);
  });
});

describe('row 11: only JSON runs, CORS from an allow-list, /metrics off the API port, 4xx refusals', () => {
  const OPEN = 'mutation { openSession(balances: [{ asset: "USDT", amount: "1" }]) { id } }';

  it('refuses form and multipart posts (415): a cross-site form cannot run a mutation', async () => {
    const auth = { authorization: `Bearer ${trader.key}` };
    const form = await http(stack.port, '/graphql', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${encodeURIComponent(OPEN)}`,
    });
    const boundary = 'x-boundary';
    const multipart = await http(stack.port, '/graphql', {
      method: 'POST',
      headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: OPEN })}\r\n--${boundary}--\r\n`,
    });
    expect(form.status).toBe(415);
    expect(multipart.status).toBe(415);
    const sessions = await gqlPost(stack.port, '{ sessions { id } }', {}, trader.key);
    expect(sessions.json()).toEqual({ data: { sessions: [] } });
  });

  it('answers CORS only for allowed origins', async () => {
    const preflight = (origin: string) =>
      http(stack.port, '/graphql', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const evil = (await preflight('https://evil.example.net')).headers['access-control-allow-origin'];
    expect(evil === undefined || evil === 'https://app.example.com').toBe(true);
    expect((await preflight('https://app.example.com')).headers['access-control-allow-origin']).toBe(
      'https://app.example.com',
    );
  });

  it('does not serve /metrics on the API port when switched off', async () => {
    const metrics = await http(stack.port, '/metrics');
    expect(metrics.status).toBe(404);
    expect(metrics.text).not.toMatch(/bookgraph_/);
  });

  it('answers refusals with 401 and 403 (application/graphql-response+json)', async () => {
    const revoked = await createKey(stack.redis, 'revoked');
    await gqlPost(stack.port, '{ region }', {}, revoked.key);
    await stack.redis.hset(apiClientKey(revoked.id), 'revokedAt', String(Date.now()));
    const unknown = await gqlPost(stack.port, '{ region }', {}, `bgk_${'0'.repeat(16)}_${'A'.repeat(43)}`);
    const forbidden = await gqlPost(stack.port, '{ region }', {}, tradeOnly.key);
    expect(unknown.status).toBe(401);
    expect(code(unknown)).toBe('UNAUTHENTICATED');
    expect(forbidden.status).toBe(403);
    expect(code(forbidden)).toBe('FORBIDDEN');
  });
});

describe('rows 7, 9, 5: names and lists are checked before Redis, errors do not echo them', () => {
  const CONSOLIDATED =
    'query($ex: [String!]) { consolidatedBook(symbol: "BTC/USDT", exchanges: $ex, depth: 5) { bids { price } } }';
  const BOOK =
    'query($ex: String!, $sym: String!) { orderBook(exchange: $ex, symbol: $sym, depth: 5) { seq } }';

  it('caps list arguments (row 7), still serving a list within the cap', async () => {
    const names = Array.from({ length: 1_000 }, (_, i) => `venue${i}`);
    const answer = await gqlPost(stack.port, CONSOLIDATED, { ex: names });
    expect(answer.status).toBe(200);
    expect(code(answer)).toBe('BAD_USER_INPUT');
    expect(answer.json().errors?.[0]?.message).toMatch(/at most 100 items/);
    const within = await gqlPost(stack.port, CONSOLIDATED, { ex: names.slice(0, 100) });
    // Unknown venues are a matter for the resolver (not listed there), not an input error.
    expect(code(within)).not.toBe('BAD_USER_INPUT');
    expect(within.status).toBeLessThan(500);
    expect(await healthMs(stack.port)).toBeLessThan(5_000);
  });

  it('checks exchange and symbol length and characters (row 9), without echoing them', async () => {
    const long = 'x'.repeat(20_000);
    const tooLong = await gqlPost(stack.port, BOOK, { ex: long, sym: 'BTC/USDT' });
    const badChars = await gqlPost(stack.port, BOOK, { ex: 'sim1', sym: 'BTC/USDT} {*' });
    const literal = await gqlPost(
      stack.port,
      `{ orderBook(exchange: "${'y'.repeat(2_000)}", symbol: "B/T", depth: 5) { seq } }`,
    );
    for (const answer of [tooLong, badChars, literal]) {
      expect(code(answer)).toBe('BAD_USER_INPUT');
      expect(answer.text.length).toBeLessThan(1_000);
      expect(answer.text).not.toMatch(/xxxxxxxx|yyyyyyyy|\{\*/);
    }
    const good = await gqlPost(stack.port, BOOK, { ex: 'nope', sym: 'BTC/USDT' });
    expect(code(good)).toMatch(/MARKET_NOT_FOUND|EXCHANGE_NOT_FOUND/);
  });

  it('checks session ids before the audit stream (row 5), which is bounded in time', async () => {
    const audit = clientAuditKey(trader.id);
    const before = await stack.redis.xlen(audit);
    const huge = 's'.repeat(50_000);
    const close = await gqlPost(
      stack.port,
      'mutation($id: ID!) { closeSession(id: $id) { __typename } }',
      { id: huge },
      trader.key,
    );
    const cancelAll = await gqlPost(
      stack.port,
      'mutation($id: ID!) { cancelAllOrders(sessionId: $id) { __typename } }',
      { id: 'ses_x_<script>' },
      trader.key,
    );
    for (const answer of [close, cancelAll]) {
      expect(code(answer)).toBe('BAD_USER_INPUT');
      expect(answer.text.length).toBeLessThan(1_000);
    }
    expect(await stack.redis.xlen(audit)).toBe(before);
    // A well-formed id is audited, and the stream expires when the client goes idle.
    await gqlPost(
      stack.port,
      'mutation { closeSession(id: "ses_test_nosuchsession") { __typename } }',
      {},
      trader.key,
    );
    expect(await stack.redis.xlen(audit)).toBe(before + 1);
    expect(await stack.redis.pttl(audit)).toBeGreaterThan(0);
    expect(await healthMs(stack.port)).toBeLessThan(5_000);
  });
});

describe('graphql-ws handshake time', () => {
  it('accepts a connection_init sent after 3.5 s (a loaded client), and closes a silent socket 4408 after WS_INIT_TIMEOUT_MS', async () => {
    // graphql-ws's own bound (3 s) closed healthy sockets whose connection_init a busy event loop
    // read late; the edge's default is 10 s.
    const open = () =>
      new Promise<{ ws: WebSocket; closed: Promise<number>; at: number }>((resolve, reject) => {
        const ws = new WebSocket(stack.wsUrl, 'graphql-transport-ws');
        const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
        ws.once('open', () => resolve({ ws, closed, at: performance.now() }));
        ws.once('error', reject);
      });
    const [late, silent] = await Promise.all([open(), open()]);
    // The delay under test is the client's own: it sends its init late on purpose.
    await new Promise((r) => setTimeout(r, 3_500));
    const acked = new Promise<string>((resolve) => late.ws.once('message', (m) => resolve(String(m))));
    late.ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    const first = await Promise.race([acked, late.closed.then((code) => `closed ${code}`)]);
    expect(first).toContain('connection_ack');
    expect(await silent.closed).toBe(4408);
    expect(performance.now() - silent.at).toBeGreaterThanOrEqual(9_500);
    late.ws.close();
  });
});

describe('graphql-ws keep-alive', () => {
  it('terminates a socket that answers no ping within WS_KEEPALIVE_MS, and keeps one that does', async () => {
    const app = appOnStack(stack, { edge: { wsKeepAliveMs: 1_000 } });
    const url = `ws://127.0.0.1:${await app.start(0)}/graphql`;
    try {
      const open = (autoPong: boolean) =>
        new Promise<{ ws: WebSocket; closed: Promise<number>; at: number }>((resolve, reject) => {
          const ws = new WebSocket(url, 'graphql-transport-ws', { autoPong });
          const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
          ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: {} })));
          ws.once('message', () => resolve({ ws, closed, at: performance.now() }));
          ws.once('error', reject);
        });
      const [deaf, alive] = await Promise.all([open(false), open(true)]);
      // A ping after 1 s, terminated 1 s later without a pong: no close frame, so 1006.
      expect(await deaf.closed).toBe(1006);
      const lived = performance.now() - deaf.at;
      expect(lived).toBeGreaterThanOrEqual(1_500);
      // Not graphql-ws's default (12 s): that would not even have sent its first ping by then.
      expect(lived).toBeLessThan(12_000);
      // The one that answers went through the same pings and is still open.
      expect(alive.ws.readyState).toBe(WebSocket.OPEN);
      alive.ws.close();
    } finally {
      await app.stop();
    }
  });
});
