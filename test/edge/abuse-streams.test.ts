import { createClient as createSseClient } from 'graphql-sse';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClientRegistry } from '../../src/auth/api-keys.ts';
import { subscribe } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';
import { wsClient, wsRequest } from '../trading/support.ts';
import { countUpdates, createKey, healthMs, http } from './support.ts';

/**
 * Issue 10, rows 2, 4, 8, 12: streams end when their key is withdrawn, on every transport;
 * single-connection SSE streams belong to the key that reserved them; no introspection or
 * suggestions on any transport in production; client protocol errors log one JSON line.
 */

const BOOK = { exchange: 'sim1', symbol: 'BTC/USDT', depth: 5 };
const TOKEN = 'x-graphql-event-stream-token';
let redis: TestRedis;
let stack: Stack;
const logLines: string[] = [];
const disposers: (() => void)[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    introspection: false,
    auth: { anonymousMarketData: false, recheckMs: 120_000 },
    edge: { quotas: { sseReservationTtlMs: 5_000, sseReservations: 3 } },
    log: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
  });
});

afterAll(async () => {
  for (const dispose of disposers) dispose();
  await stack?.stop();
  await redis?.stop();
});

function sse(key: string, singleConnection: boolean) {
  const client = createSseClient({
    url: singleConnection ? `${stack.httpUrl}/stream` : stack.httpUrl,
    singleConnection,
    retryAttempts: 0,
    headers: { authorization: `Bearer ${key}` },
  });
  disposers.push(() => client.dispose());
  return client;
}

const follow = (client: Parameters<typeof countUpdates>[0]) => countUpdates(client, BOOK, disposers);

const flowing = (handle: { count: () => number; errors: unknown[] }, more = 1, what = 'stream') => {
  const from = handle.count();
  return vi.waitFor(
    () =>
      expect(handle.count(), `${what} ${JSON.stringify(handle.errors)}`).toBeGreaterThanOrEqual(from + more),
    { timeout: 60_000 },
  );
};

describe('row 2: a revoked or expired key ends its streams on every transport', () => {
  it('ends both SSE modes with an error event naming the reason, closes graphql-ws 4403, others flow on', async () => {
    const alice = await createKey(stack.redis, 'alice');
    const bob = await createKey(stack.redis, 'bob');
    const distinct = follow(sse(alice.key, false));
    const single = follow(sse(alice.key, true));
    let wsClose: number | undefined;
    const ws = wsClient(stack.wsUrl, alice.key, (code) => {
      wsClose = code;
    });
    disposers.push(() => void ws.dispose());
    const overWs = follow(ws);
    const other = follow(sse(bob.key, false));
    await Promise.all([
      flowing(distinct, 1, 'distinct SSE'),
      flowing(single, 1, 'single SSE'),
      flowing(overWs, 1, 'graphql-ws'),
      flowing(other, 1, 'other key'),
    ]);

    const revokedAt = performance.now();
    await new ApiClientRegistry(stack.redis).revoke(alice.id);
    const ends = await Promise.all(
      [distinct, single].map(async (h) => {
        await h.done;
        return performance.now() - revokedAt;
      }),
    );
    await vi.waitFor(() => expect(wsClose).toBe(4403), { timeout: 60_000 });
    for (const handle of [distinct, single]) {
      const last = handle.errors.at(-1);
      expect(last?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(last?.extensions?.reason).toBe('revoked');
    }
    console.info(
      `row 2: SSE streams ended ${ends.map((ms) => ms.toFixed(0)).join(' / ')} ms after revocation`,
    );
    await flowing(other, 2);
    // The withdrawn key can open nothing new.
    const again = await http(stack.port, '/graphql/stream', {
      method: 'PUT',
      headers: { accept: 'text/plain', authorization: `Bearer ${alice.key}` },
    });
    expect(again.status).toBe(401);
  });

  it('ends a stream when its key expires', async () => {
    const carol = await createKey(stack.redis, 'carol', ['marketdata:read'], Date.now() + 3_000);
    const stream = follow(sse(carol.key, false));
    await flowing(stream);
    await stream.done;
    expect(stream.errors.at(-1)?.extensions?.reason).toBe('expired');
  });
});

describe('row 4: single-connection streams belong to the key that reserved them', () => {
  const reserve = (key: string | undefined, token?: string) =>
    http(stack.port, '/graphql/stream', {
      method: 'PUT',
      headers: {
        accept: 'text/plain',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(token ? { [TOKEN]: token } : {}),
      },
    });

  it('tokens are server-chosen and unguessable; another key or none finds nothing', async () => {
    const owner = await createKey(stack.redis, 'owner');
    const thief = await createKey(stack.redis, 'thief');
    const reserved = await reserve(owner.key);
    expect(reserved.status).toBe(201);
    const token = reserved.text;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A token of the caller's choosing is not one.
    expect((await reserve(owner.key, 'my-own-token')).status).toBe(404);

    const op = JSON.stringify({ query: 'subscription { region }', extensions: { operationId: 'a' } });
    for (const key of [thief.key, undefined]) {
      const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
      const listen = await http(stack.port, `/graphql/stream?token=${token}`, {
        headers: { ...auth, accept: 'text/event-stream' },
      });
      const post = await http(stack.port, '/graphql/stream', {
        method: 'POST',
        headers: { ...auth, [TOKEN]: token, 'content-type': 'application/json' },
        body: op,
      });
      const del = await http(stack.port, '/graphql/stream?operationId=a', {
        method: 'DELETE',
        headers: { ...auth, [TOKEN]: token },
      });
      for (const answer of [listen, post, del]) expect([401, 404]).toContain(answer.status);
    }
    // The owner's stream is intact: it opens and carries the owner's operations.
    const single = follow(sse(owner.key, true));
    await flowing(single);
  });

  it('unopened reservations expire, and a key holds a bounded number', async () => {
    const key = (await createKey(stack.redis, 'hoarder')).key;
    // One reservation opened (it stays), two left unopened.
    const opened = follow(sse(key, true));
    await flowing(opened, 1, 'opened stream');
    const tokens: string[] = [];
    for (let i = 0; i < 2; i += 1) tokens.push((await reserve(key)).text);
    const fourth = await reserve(key);
    expect(fourth.status).toBe(429);
    expect(fourth.headers['retry-after']).toBeDefined();
    // Unopened, they expire (5 s here): the key may reserve again, and the old token is gone.
    await vi.waitFor(async () => expect((await reserve(key)).status).toBe(201), {
      timeout: 60_000,
      interval: 200,
    });
    const listen = await http(stack.port, `/graphql/stream?token=${tokens[0]}`, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
    });
    expect(listen.status).toBe(404);
    await flowing(opened, 2, 'opened stream after the others expired');
  });
});

describe('row 8: no introspection and no suggestions on any transport in production', () => {
  it('refuses introspection over graphql-ws and single-connection SSE, and names no enum value or input field', async () => {
    const reader = await createKey(stack.redis, 'reader');
    const ws = wsClient(stack.wsUrl, reader.key);
    disposers.push(() => void ws.dispose());
    const overWs = await wsRequest(ws, '{ __schema { types { name } } }').catch((e: unknown) => ({
      errors: e as { message: string }[],
    }));
    expect(JSON.stringify(overWs)).toMatch(/introspection/i);
    expect(JSON.stringify(overWs)).not.toMatch(/"types"/);

    const single = subscribe(sse(reader.key, true), '{ __type(name: "Query") { name } }', {}, () => {});
    await single.done;
    expect(JSON.stringify(single.errors)).toMatch(/introspection/i);

    const enumLiteral = await wsRequest(
      ws,
      '{ candles(exchange: "sim1", symbol: "BTC/USDT", interval: ONE_MINUT) { open } }',
    ).catch((e: unknown) => ({ errors: e as { message: string }[] }));
    const enumVariable = await wsRequest(
      ws,
      'query($i: CandleInterval!) { candles(exchange: "sim1", symbol: "BTC/USDT", interval: $i) { open } }',
      { i: 'ONE_MINUT' },
    ).catch((e: unknown) => ({ errors: e as { message: string }[] }));
    const inputField = await wsRequest(
      ws,
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename } }',
      {
        input: {
          sesionId: 'x',
          exchange: 'sim1',
          symbol: 'BTC/USDT',
          side: 'BUY',
          type: 'MARKET',
          amount: '1',
        },
      },
    ).catch((e: unknown) => ({ errors: e as { message: string }[] }));
    for (const answer of [enumLiteral, enumVariable, inputField]) {
      const text = JSON.stringify(answer);
      expect(text).toMatch(/errors/);
      expect(text).not.toMatch(/Did you mean|ONE_MINUTE|"sessionId"/);
    }
  });
});

describe('row 12: a client protocol error is one JSON log line without a stack', () => {
  it('logs an oversized graphql-ws frame as one line and closes the socket 1009', async () => {
    const { default: WebSocket } = await import('ws');
    const from = logLines.length;
    const socket = new WebSocket(stack.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    socket.send('x'.repeat(1024 * 1024));
    expect(await closed).toBe(1009);
    await vi.waitFor(() => expect(logLines.length).toBeGreaterThan(from), { timeout: 60_000 });
    for (const line of logLines.slice(from)) {
      expect(line.trim().split('\n')).toHaveLength(1);
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(JSON.stringify(entry)).not.toMatch(/ at |node_modules|\/work\//);
    }
    expect(await healthMs(stack.port)).toBeLessThan(5_000);
  });
});
