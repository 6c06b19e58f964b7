import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForCondition } from '../helpers/book-checker.ts';
import { type Clients, executeOk, subscribe, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

const X = 'sim1';
const S = 'BTC/USDT';
// Short enough to watch a book go stale, long enough that a loaded machine does not fake it.
const STALE_MS = 1_500;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;

interface WireHealth {
  exchange: string;
  feed: string | null;
  state: string;
  status: {
    region: string;
    connected: boolean;
    messages: number;
    messagesPerSecond: number;
    gaps: number;
    resyncs: number;
    errors: number;
    lastError: string | null;
    lastMessageTimestamp: number | null;
  } | null;
}
const HEALTH = `exchange feed state status { region connected messages messagesPerSecond gaps resyncs errors lastError lastMessageTimestamp }`;

interface WireUpdate {
  type: string;
  seq: number;
  prevSeq: number | null;
  stale: boolean;
  bids: unknown[];
  asks: unknown[];
}

const statusStream: WireHealth[] = [];
const throttled: { seq: number; stale: boolean }[] = [];
const updates: WireUpdate[] = [];
const wake = new Set<() => void>();
const listen = (w: () => void) => {
  wake.add(w);
  return () => wake.delete(w);
};
const woke = () => {
  for (const w of [...wake]) w();
};
const until = (condition: () => boolean, what: string) => waitForCondition(condition, listen, 60_000, what);

/** Asks again every 50 ms until the answer satisfies `ok`: a condition wait on a query. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const feeds = async () =>
  (await executeOk<{ feeds: WireHealth[] }>(stack.app, `{ feeds(exchange: "${X}") { ${HEALTH} } }`)).feeds;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 4, updatesPerSecond: 30, venues: [X], symbols: [S] },
    limits: { staleAfterMs: STALE_MS },
    ingester: { feedStatus: { intervalMs: 100, ttlMs: 3_000 } },
  });
  clients = trackedClients();
  const ws = clients.ws(stack.wsUrl);
  subscribe<WireHealth>(ws, `subscription { feedStatus(exchange: "${X}") { ${HEALTH} } }`, {}, (h) => {
    statusStream.push(h);
    woke();
  });
  subscribe<{ seq: number; stale: boolean }>(
    ws,
    `subscription { orderBook(exchange: "${X}", symbol: "${S}", depth: 5, throttleMs: 20) { seq stale } }`,
    {},
    (b) => {
      throttled.push(b);
      woke();
    },
  );
  subscribe<WireUpdate>(
    clients.sse(stack.httpUrl),
    `subscription { orderBookUpdates(exchange: "${X}", symbol: "${S}", depth: 5, staleNotices: true) {
      type seq prevSeq stale bids { price size } asks { price size } } }`,
    {},
    (u) => {
      updates.push(u);
      woke();
    },
  );
  await until(() => throttled.length > 3 && updates.length > 3, 'books streaming');
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

describe('feed health', () => {
  it('answers per exchange and feed: connected, message counts and rate', async () => {
    const [health] = await eventually(feeds, (f) => (f[0]?.status?.messagesPerSecond ?? 0) > 0, 'a rate');
    expect(health).toMatchObject({
      exchange: X,
      feed: 'simulator',
      state: 'CONNECTED',
      status: { region: 'test', connected: true, gaps: 0, errors: 0, lastError: null },
    });
    expect(health!.status!.messages).toBeGreaterThan(0);
    expect(statusStream[0]?.exchange).toBe(X);
  });

  it("folds the feed's health events: errors, resyncs, a disconnection, published at once", async () => {
    const ingester = stack.ingester!;
    const at = Date.now();
    ingester.health({ exchange: X, kind: 'error', message: 'venue said no', at });
    ingester.health({ exchange: X, kind: 'resync', symbol: S, message: 'gap', at });
    ingester.health({ exchange: X, kind: 'disconnected', at });
    await until(() => statusStream.at(-1)?.state === 'DISCONNECTED', 'DISCONNECTED on the stream');
    const [health] = await feeds();
    expect(health).toMatchObject({
      state: 'DISCONNECTED',
      status: { connected: false, errors: 1, resyncs: 1, lastError: 'venue said no' },
    });
    ingester.health({ exchange: X, kind: 'connected', at: Date.now() });
    await until(() => statusStream.at(-1)?.state === 'CONNECTED', 'CONNECTED on the stream');
  });

  it('a silent book tells its subscribers: throttled stream re-sends it stale, updates get a notice', async () => {
    await stack.stopIngester();
    const lastSeq = stack.reference.last(X, S)!.seq;
    await until(() => throttled.at(-1)?.stale === true, 'a stale throttled book').catch((e) => {
      console.log(JSON.stringify(throttled.slice(-3)), JSON.stringify(updates.slice(-3)), lastSeq);
      throw e;
    });
    expect(throttled.at(-1)?.seq).toBe(lastSeq);
    expect(throttled.slice(0, -1).every((b) => !b.stale)).toBe(true);

    await until(() => updates.at(-1)?.stale === true, 'a stale notice');
    const notice = updates.at(-1)!;
    const previous = updates.at(-2)!;
    expect(notice).toMatchObject({ type: 'DELTA', stale: true, bids: [], asks: [] });
    expect(notice.prevSeq).toBe(previous.seq);
    expect(notice.seq).toBe(notice.prevSeq);

    const book = await executeOk<{ orderBook: { stale: boolean; seq: number } }>(
      stack.app,
      `{ orderBook(exchange: "${X}", symbol: "${S}", depth: 1) { stale seq } }`,
    );
    expect(book.orderBook).toEqual({ stale: true, seq: lastSeq });
  });

  it('feed status turns DISCONNECTED when the ingester stops, and UNKNOWN once it expires', async () => {
    await until(() => statusStream.some((h) => h.state === 'UNKNOWN'), 'UNKNOWN on the stream');
    const [health] = await eventually(feeds, (f) => f[0]?.feed === null, 'the status to expire');
    expect(health).toEqual({ exchange: X, feed: null, state: 'UNKNOWN', status: null });
    const states = statusStream.map((h) => h.state);
    expect(states.lastIndexOf('DISCONNECTED')).toBeLessThan(
      states.indexOf('UNKNOWN', states.lastIndexOf('CONNECTED')),
    );
  });

  it('a book that resumes is fresh again on both streams', async () => {
    const before = updates.length;
    await stack.startIngester();
    // A restarted feed opens a new epoch: RESET + SNAPSHOT, fresh.
    await until(
      () => updates.slice(before).some((u) => u.type === 'SNAPSHOT' && !u.stale),
      'a fresh snapshot',
    );
    await until(() => throttled.at(-1)?.stale === false, 'a fresh throttled book');
    await eventually(feeds, (f) => f[0]?.state === 'CONNECTED', 'CONNECTED again');
  });
});
