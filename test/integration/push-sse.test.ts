import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/server/app.ts';
import type { SharedExecutionStats } from '../../src/server/plugins/use-shared-execution.ts';
import { acceptsEventStream } from '../../src/server/push-sse.ts';
import { subscribe, trackedClients } from '../helpers/graphql-clients.ts';
import { rawWsClient } from '../helpers/raw-ws.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { appOnStack, type Stack, startStack } from '../helpers/stack.ts';

/**
 * The push path over SSE in distinct connections mode (src/server/push-sse.ts): book frames
 * written by the view into the `text/event-stream` response. Checked against the iterator path
 * (`pushPath: false`) of a second app on the same hub, so both serve the very same view events.
 */
const ALL_FIELDS = `subscription All($depth: Int!) {
  orderBookUpdates(exchange: "sim1", symbol: "BTC/USDT", depth: $depth) {
    type exchange symbol region depth epoch seq prevSeq
    bids { price size } asks { price size }
    exchangeTimestamp receiveTimestamp venueSeq stale reason
    alias: seq
  }
}`;
const THROTTLED = `subscription T($depth: Int!) {
  orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: $depth, throttleMs: 50) { seq }
}`;
const TRADES = `subscription { trades(exchange: "sim1", symbol: "BTC/USDT") { price } }`;

let redis: TestRedis;
let stack: Stack;
let iteratorApp: App;
let iteratorPort: number;
const clients = trackedClients();
const streams: RawSse[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 7, updatesPerSecond: 50, venues: ['sim1'], symbols: ['BTC/USDT'] },
  });
  iteratorApp = appOnStack(stack, { pushPath: false });
  iteratorPort = await iteratorApp.start(0);
});

afterAll(async () => {
  for (const stream of streams) stream.close();
  await clients.dispose();
  await iteratorApp?.stop();
  await stack?.stop();
  await redis?.stop();
});

/** An SSE response read as it comes: its head, its raw text, and the parsed events. */
interface RawSse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text(): string;
  events(): { event: string; data: string }[];
  until(done: () => boolean, what: string): Promise<void>;
  ended: Promise<void>;
  close(): void;
}

function rawSse(
  port: number,
  query: string,
  variables: object,
  accept = 'text/event-stream',
): Promise<RawSse> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query, variables });
    let text = '';
    let wake = () => {};
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        headers: { accept, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.setEncoding('utf8');
        const ended = new Promise<void>((done) => res.once('close', done));
        res.on('data', (chunk: string) => {
          text += chunk;
          wake();
        });
        const stream: RawSse = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: () => text,
          events: () =>
            text
              .split('\n\n')
              .slice(0, -1)
              .filter((block) => !block.startsWith(':'))
              .map((block) => ({
                event: /^event: (.*)$/m.exec(block)?.[1] ?? '',
                data: /^data: ?(.*)$/m.exec(block)?.[1] ?? '',
              })),
          async until(done, what) {
            const deadline = Date.now() + 60_000;
            while (!done()) {
              if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
              await new Promise<void>((r) => {
                wake = r;
                setTimeout(r, 1_000);
              });
            }
          },
          ended,
          close: () => req.destroy(),
        };
        streams.push(stream);
        resolve(stream);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

const seqOf = (data: string) =>
  (JSON.parse(data) as { data: { orderBookUpdates: { seq: number } } }).data.orderBookUpdates.seq;

describe('the push path over SSE', () => {
  it('sends, byte for byte, the events the iterator path sends for the same view events', async () => {
    const pushed = await rawSse(stack.port, ALL_FIELDS, { depth: 10 });
    const iterated = await rawSse(iteratorPort, ALL_FIELDS, { depth: 10 });
    for (const stream of [pushed, iterated]) {
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream');
    }
    const deltas = (stream: RawSse) =>
      new Map(
        stream
          .events()
          .filter((e) => e.event === 'next' && e.data.includes('"type":"DELTA"'))
          .map((e) => [seqOf(e.data), e.data]),
      );
    const common = () => {
      const a = deltas(pushed);
      return [...deltas(iterated).keys()].filter((seq) => a.has(seq));
    };
    await pushed.until(() => common().length >= 20, '20 DELTAs on both paths');
    await iterated.until(() => common().length >= 20, '20 DELTAs on both paths');
    const a = deltas(pushed);
    const b = deltas(iterated);
    for (const seq of common()) expect(a.get(seq), `DELTA at seq ${seq}`).toBe(b.get(seq));
    // Whole events only: every block is a comment (ping) or an `event: next` with one data line.
    for (const block of pushed.text().split('\n\n').slice(0, -1)) {
      expect(block).toMatch(/^(:|event: next\ndata: \{.*\})$/);
    }
    const updates = pushed.events().map((e) => JSON.parse(e.data).data.orderBookUpdates);
    expect(updates[0].type).toBe('SNAPSHOT');
    for (let i = 1; i < updates.length; i++) expect(updates[i].prevSeq).toBe(updates[i - 1].seq);
  });

  it('shares the execution of each event between WebSocket and SSE subscribers of one operation', async () => {
    // Only the push path shares across transports: on the iterator path an SSE stream executes
    // its events in its own cache, and `shared` stays 0 with one subscriber per transport.
    const stats: SharedExecutionStats = { executed: 0, shared: 0 };
    const app = appOnStack(stack, { executionStats: stats });
    const port = await app.start(0);
    const ws = await rawWsClient(`ws://127.0.0.1:${port}/graphql`);
    try {
      ws.subscribe('1', ALL_FIELDS, { depth: 12 });
      const sse = await rawSse(port, ALL_FIELDS, { depth: 12 });
      const deltas = () => sse.events().filter((e) => e.data.includes('"type":"DELTA"')).length;
      await sse.until(() => deltas() >= 10, '10 DELTAs over SSE');
      expect(stats.shared).toBeGreaterThanOrEqual(5);
      sse.close();
    } finally {
      ws.close();
      await app.stop();
    }
  });

  it('serves a real graphql-sse client (distinct connections) on both book fields, and releases the view when it leaves', async () => {
    const depth = 9;
    const lease = await stack.hub.acquire('sim1', 'BTC/USDT', depth);
    const view = lease.view;
    try {
      for (const query of [ALL_FIELDS, THROTTLED]) {
        const sse = clients.sse(stack.httpUrl);
        const seqs: number[] = [];
        const handle = subscribe(sse, query, { depth }, (update: { seq: number }) => {
          seqs.push(update.seq);
        });
        await expect.poll(() => seqs.length, { timeout: 60_000 }).toBeGreaterThan(3);
        expect(view.listenerCount).toBe(1);
        handle.unsubscribe();
        await expect.poll(() => view.listenerCount, { timeout: 60_000 }).toBe(0);
        // A raw reader that just goes away releases it too.
        const raw = await rawSse(stack.port, query, { depth });
        await raw.until(() => raw.events().length > 0, 'a first event');
        expect(view.listenerCount).toBe(1);
        raw.close();
        await expect.poll(() => view.listenerCount, { timeout: 60_000 }).toBe(0);
      }
    } finally {
      lease.release();
    }
    const again = await stack.hub.acquire('sim1', 'BTC/USDT', depth);
    expect(again.view).not.toBe(view);
    again.release();
  });

  it('leaves other subscriptions and refused ones to Yoga, and says which requests are SSE', async () => {
    const trades = await rawSse(stack.port, TRADES, {});
    await trades.until(() => trades.events().length >= 2, 'two trades');
    expect(JSON.parse(trades.events()[0]!.data).data.trades.price).toMatch(/^\d/);
    const refused = await rawSse(stack.port, ALL_FIELDS.replace('"sim1"', '"nowhere"'), { depth: 5 });
    await refused.ended;
    expect(refused.text()).toMatch(/event: next\ndata: \{"errors":.*MARKET_NOT_FOUND.*\n\nevent: complete/);

    const accepts = (accept: string | null) =>
      acceptsEventStream(new Request('http://x/graphql', accept === null ? {} : { headers: { accept } }));
    expect(accepts(null)).toBe(true);
    expect(accepts('text/event-stream')).toBe(true);
    expect(accepts('application/json, text/*;q=0.5')).toBe(true);
    expect(accepts('application/json')).toBe(false);
    expect(accepts('text/event-stream;charset=latin1')).toBe(false);
  });
});
