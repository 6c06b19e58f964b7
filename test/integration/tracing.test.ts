import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/** OTLP/JSON as the exporter sends it (only the fields the assertions read). */
interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

interface ReceivedSpan extends OtlpSpan {
  service: string | undefined;
}

const SPAN_KIND_SERVER = 2;
const STATUS_ERROR = 2;

function plain(value: OtlpValue | undefined): unknown {
  if (!value) return undefined;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  return value.stringValue ?? value.intValue;
}

function attr(span: OtlpSpan | undefined, key: string): unknown {
  return plain(span?.attributes?.find((a) => a.key === key)?.value);
}

/** A tiny OTLP/HTTP receiver: accepts POST /v1/traces (JSON, gzip or not) and keeps every span. */
async function startReceiver(): Promise<{
  url: string;
  spans: ReceivedSpan[];
  requests: number;
  close(): Promise<void>;
}> {
  const state = { spans: [] as ReceivedSpan[], requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests += 1;
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      expect(req.headers['content-type']).toContain('application/json');
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const parsed = JSON.parse(body.toString('utf8')) as OtlpRequest;
      for (const rs of parsed.resourceSpans ?? []) {
        const service = plain(rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value);
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? [])
            state.spans.push({ ...span, service: typeof service === 'string' ? service : undefined });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: state.spans,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A W3C traceparent with a fresh, sampled trace. */
function traceparent(): { header: string; traceId: string; parentId: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${parentId}-01`, traceId, parentId };
}

async function post(port: number, query: string, headers: Record<string, string> = {}) {
  return fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
}

/** A graphql-ws client whose WebSocket upgrade request carries `headers`. */
function wsClient(port: number, headers: Record<string, string>) {
  class WithHeaders extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  }
  return createClient({
    url: `ws://127.0.0.1:${port}/graphql`,
    webSocketImpl: WithHeaders,
    retryAttempts: 0,
  });
}

/** Log lines written through a pino destination stream. */
function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    destination: {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}

async function waitFor<T>(find: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('OpenTelemetry tracing (OTEL_ENABLED=1)', () => {
  let redisServer: LocalRedisServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let runtime: Runtime;
  let admin: Redis;
  const logs = captureLogs();

  beforeAll(async () => {
    redisServer = await startLocalRedis();
    admin = new Redis(redisServer.url);
    receiver = await startReceiver();
    const config = loadConfig({
      REDIS_URL: redisServer.url,
      PORT: '0',
      SIM_UPDATES_PER_SEC: '5',
      OTEL_ENABLED: '1',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // Only operations whose caller sent a sampled traceparent: every span below is one of ours.
      OTEL_TRACES_SAMPLER_ARG: '0',
      // The receiver shares the test's event loop: on a loaded machine one export can take > 10 s.
      OTEL_EXPORTER_OTLP_TIMEOUT: '120000',
      INGEST_TRACE_SAMPLE_RATIO: '0.25',
    });
    const log = createLogger('info', { destination: logs.destination });
    runtime = await startRuntime({ config, log, ingest: true, serve: true, launchRedis: false });
  });
  afterAll(async () => {
    await runtime?.stop();
    await admin?.call('ACL', 'SETUSER', 'default', '+@all');
    admin?.disconnect();
    await receiver?.close();
    await redisServer?.stop();
  });

  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

  it('a query continues the caller trace: one server span with bounded attributes, Redis calls as children', async () => {
    const tp = traceparent();
    const res = await post(
      runtime.port!,
      '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 3) { seq } }',
      { traceparent: tp.header, 'x-request-id': 'trace-query-1' },
    );
    expect(res.status).toBe(200);
    await runtime.tracing.flush();
    const span = await waitFor(
      () => spansOf(tp.traceId).find((s) => s.name === 'query orderBook'),
      'the query span',
    );
    expect(span.kind).toBe(SPAN_KIND_SERVER);
    expect(span.parentSpanId).toBe(tp.parentId);
    expect(span.service).toBe('bookgraph-start');
    expect(attr(span, 'graphql.operation.type')).toBe('query');
    expect(attr(span, 'bookgraph.graphql.root_field')).toBe('orderBook');
    expect(attr(span, 'bookgraph.request_id')).toBe('trace-query-1');
    expect(attr(span, 'bookgraph.graphql.error_codes')).toBeUndefined();
    // No variables, no query text, no operation name: only bounded attributes.
    expect((span.attributes ?? []).map((a) => a.key).sort()).toEqual([
      'bookgraph.graphql.root_field',
      'bookgraph.request_id',
      'graphql.operation.type',
    ]);
    const redis = spansOf(tp.traceId).find((s) => s.name === 'redis read_book');
    expect(redis?.parentSpanId).toBe(span.spanId);
    expect(attr(redis, 'db.operation.name')).toBe('read_book');
  });

  it('error codes of an answered query are on its span', async () => {
    const tp = traceparent();
    await post(runtime.port!, '{ orderBook(exchange: "sim1", symbol: "NOPE/USDT") { seq } }', {
      traceparent: tp.header,
    });
    await runtime.tracing.flush();
    const span = await waitFor(
      () => spansOf(tp.traceId).find((s) => s.name === 'query orderBook'),
      'the failed query span',
    );
    expect(attr(span, 'bookgraph.graphql.error_codes')).toEqual(['MARKET_NOT_FOUND']);
    expect(span.status?.code).not.toBe(STATUS_ERROR);
  });

  it('a graphql-ws subscription continues the trace of its upgrade request', async () => {
    const tp = traceparent();
    const client = wsClient(runtime.port!, { traceparent: tp.header });
    const iterator = client.iterate({
      query: 'subscription { orderBookUpdates(exchange: "sim2", symbol: "ETH/USDT", depth: 5) { type seq } }',
    });
    const first = await iterator.next();
    expect(first.done).toBe(false);
    await iterator.return?.();
    await client.dispose();
    await runtime.tracing.flush();
    const span = await waitFor(
      () => spansOf(tp.traceId).find((s) => s.name === 'subscription orderBookUpdates'),
      'the subscription span',
    );
    expect(span.kind).toBe(SPAN_KIND_SERVER);
    expect(span.parentSpanId).toBe(tp.parentId);
    expect(attr(span, 'graphql.operation.type')).toBe('subscription');
    expect(attr(span, 'bookgraph.graphql.root_field')).toBe('orderBookUpdates');
  });

  it('an SSE subscription continues the trace of its request', async () => {
    const tp = traceparent();
    const controller = new AbortController();
    const query =
      'subscription { orderBookUpdates(exchange: "sim3", symbol: "BTC/USDT", depth: 2) { type seq } }';
    const res = await fetch(`http://127.0.0.1:${runtime.port}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { accept: 'text/event-stream', traceparent: tp.header },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('event');
    controller.abort();
    await runtime.tracing.flush();
    const span = await waitFor(
      () => spansOf(tp.traceId).find((s) => s.name === 'subscription orderBookUpdates'),
      'the SSE subscription span',
    );
    expect(span.parentSpanId).toBe(tp.parentId);
  });

  it('traces sampled ingest writes with their Redis script call', async () => {
    await runtime.tracing.flush();
    const write = await waitFor(
      () => receiver.spans.find((s) => s.name === 'ingest write_book'),
      'an ingest span',
    );
    expect(write.parentSpanId ?? '').toBe('');
    expect(attr(write, 'bookgraph.exchange')).toMatch(/^sim[123]$/);
    const redis = receiver.spans.find((s) => s.traceId === write.traceId && s.name === 'redis write_book');
    expect(redis?.parentSpanId).toBe(write.spanId);
  });

  it('an unexpected error is masked, logged with the response request id and trace id, and marks the span', async () => {
    const tp = traceparent();
    // Redis refuses scripts: the book read fails with NOPERM, an error no resolver expects.
    await admin.call('ACL', 'SETUSER', 'default', '-evalsha', '-eval');
    let res: Response;
    try {
      res = await post(
        runtime.port!,
        '{ orderBook(exchange: "sim3", symbol: "ETH/USDT", depth: 3) { seq } }',
        {
          traceparent: tp.header,
        },
      );
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', '+@all');
    }
    const body = (await res.json()) as { errors?: { message: string }[] };
    expect(body.errors?.[0]?.message).toBe('Unexpected error.');
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const line = await waitFor(
      () => logs.lines.find((l) => l.msg === 'unexpected error' && l.requestId === requestId),
      'the unexpected error log line',
    );
    expect(line.level).toBe(50);
    expect(line.traceId).toBe(tp.traceId);
    expect(String((line.err as { message?: string } | undefined)?.message)).toContain('NOPERM');
    await runtime.tracing.flush();
    const span = await waitFor(
      () => spansOf(tp.traceId).find((s) => s.name === 'query orderBook'),
      'the span of the failed query',
    );
    expect(attr(span, 'bookgraph.graphql.error_codes')).toEqual(['INTERNAL']);
    expect(span.status?.code).toBe(STATUS_ERROR);
  });

  it('stop() flushes spans not yet exported', async () => {
    const tp = traceparent();
    await post(runtime.port!, '{ region }', { traceparent: tp.header });
    await runtime.stop();
    expect(spansOf(tp.traceId).map((s) => s.name)).toContain('query region');
  });
});

describe('tracing off (the default)', () => {
  let redisServer: LocalRedisServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let runtime: Runtime;

  beforeAll(async () => {
    redisServer = await startLocalRedis();
    receiver = await startReceiver();
    runtime = await startTestRuntime(redisServer.url, {
      // An endpoint is configured, but OTEL_ENABLED is not set.
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await receiver?.close();
    await redisServer?.stop();
  });

  it('sends nothing, whatever callers send', async () => {
    expect(runtime.tracing.enabled).toBe(false);
    const tp = traceparent();
    const res = await post(
      runtime.port!,
      '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 3) { seq } }',
      {
        traceparent: tp.header,
      },
    );
    expect(res.status).toBe(200);
    const client = wsClient(runtime.port!, { traceparent: tp.header });
    const iterator = client.iterate({
      query: 'subscription { orderBookUpdates(exchange: "sim1", symbol: "ETH/USDT", depth: 5) { type seq } }',
    });
    await iterator.next();
    await iterator.return?.();
    await client.dispose();
    await runtime.tracing.flush();
    await runtime.stop();
    expect(receiver.requests).toBe(0);
    expect(receiver.spans).toEqual([]);
  });
});
