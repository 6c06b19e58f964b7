import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BookgraphClient,
  type BookgraphClientOptions,
  createBookgraphClient,
  watchOrderBook,
} from '../../sdk/src/index.ts';
import type { BookEvent } from '../../src/marketdata/types.ts';
import { encodeBookEvent } from '../../src/wire/codec.ts';
import { createKey } from '../edge/support.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { lastWritten, publishToBook, type Stack, startStack } from '../helpers/stack.ts';
import { WatchRecorder } from './support.ts';

/**
 * The SDK's local book against a real server and Redis: over every subscription transport it holds
 * exactly the writer's top-`depth` book at every seq it reports, and it recovers from a gap and
 * from an ingester restart (new epoch) by itself.
 */
const EXCHANGE = 'sim1';
const SYMBOL = 'BTC/USDT';
const DEPTH = 10;
/** Deltas a watch must apply before it counts as live (~1 s at 60 updates/s). */
const LIVE_DELTAS = 40;

let redis: TestRedis;
let stack: Stack;
const clients: BookgraphClient[] = [];
let readerKey: string;

beforeAll(async () => {
  redis = await startTestRedis();
  readerKey = (await createKey(redis.client(), 'sdk-reader', ['marketdata:read'])).key;
  stack = await startStack(redis, {
    simulator: { seed: 5, updatesPerSecond: 60, venues: ['sim1', 'sim2'], symbols: [SYMBOL, 'ETH/USDT'] },
  });
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.dispose()));
  await stack?.stop();
  await redis?.stop();
});

function client(options: Partial<BookgraphClientOptions> = {}): BookgraphClient {
  const c = createBookgraphClient({
    url: stack.httpUrl,
    retry: { attempts: 2, initialDelayMs: 50 },
    ...options,
  });
  clients.push(c);
  return c;
}

const transports: [string, Partial<BookgraphClientOptions>][] = [
  ['graphql-ws', { transport: 'ws' }],
  ['SSE, distinct connections', { transport: 'sse' }],
  // A single-connection stream is reserved by, and belongs to, an API key (issue 10).
  ['SSE, single connection', { transport: 'sse', sse: { singleConnection: true }, token: () => readerKey }],
];

describe('watchOrderBook keeps the writer book at every seq', () => {
  it.each(transports)('over %s', async (_name, options) => {
    const c = client(options);
    const watches = [
      new WatchRecorder(
        watchOrderBook(c, { exchange: EXCHANGE, symbol: SYMBOL, depth: DEPTH }),
        EXCHANGE,
        SYMBOL,
        DEPTH,
      ),
      new WatchRecorder(
        watchOrderBook(c, { exchange: 'sim2', symbol: 'ETH/USDT', depth: 3 }),
        'sim2',
        'ETH/USDT',
        3,
      ),
    ];
    const first = await watches[0]!.watch.ready();
    expect(first.bids.length).toBe(DEPTH);
    expect(first.asks.length).toBe(DEPTH);
    await Promise.all(watches.map((w) => w.until(() => w.count('DELTA') >= LIVE_DELTAS)));
    for (const w of watches) {
      await w.untilCovered(stack.reference);
      await w.watch.close();
    }

    for (const w of watches) {
      expect(w.checkpoints[0]?.type).toBe('SNAPSHOT');
      expect(w.verifyAgainst(stack.reference)).toEqual([]);
      expect(w.drops, 'nothing to reset').toEqual([]);
      expect(w.watch.resubscriptions).toBe(0);
      const book = w.watch.current()!;
      // Best first, exact strings, never crossed.
      expect(Number(book.bids[0]!.price)).toBeLessThan(Number(book.asks[0]!.price));
    }
  });
});

describe('watchOrderBook recovers by itself', () => {
  const publish = (message: string) => publishToBook(stack, EXCHANGE, SYMBOL, message);

  it.each(transports)('after a forced gap, over %s', async (_name, options) => {
    const w = new WatchRecorder(
      watchOrderBook(client(options), { exchange: EXCHANGE, symbol: SYMBOL, depth: DEPTH }),
      EXCHANGE,
      SYMBOL,
      DEPTH,
    );
    await w.until(() => w.count('DELTA') >= 3);
    const last = lastWritten(stack, EXCHANGE, SYMBOL);
    const forged: BookEvent = { ...last, kind: 'delta', seq: last.seq + 1_000, bids: [], asks: [] };
    expect(await publish(encodeBookEvent(forged))).toBe(1);
    await w.until(
      () => w.drops.includes('GAP') && w.sinceLastDrop().filter((c) => c.type === 'DELTA').length >= 5,
      60_000,
      'GAP, a snapshot and 5 deltas',
    );
    await w.untilCovered(stack.reference);
    await w.watch.close();

    expect(w.drops).toEqual(['GAP']);
    expect(w.sinceLastDrop()[0]?.type).toBe('SNAPSHOT');
    expect(
      w.checkpoints.some((c) => c.seq >= forged.seq),
      'the forged seq never reaches the book',
    ).toBe(false);
    expect(w.verifyAgainst(stack.reference)).toEqual([]);
  });

  it.each(transports)('after an ingester restart (new epoch), over %s', async (_name, options) => {
    const w = new WatchRecorder(
      watchOrderBook(client(options), { exchange: EXCHANGE, symbol: SYMBOL, depth: DEPTH }),
      EXCHANGE,
      SYMBOL,
      DEPTH,
    );
    await w.until(() => w.count('DELTA') >= 3);
    const oldEpoch = lastWritten(stack, EXCHANGE, SYMBOL).epoch;
    await stack.stopIngester();
    await stack.startIngester();
    const newEpoch = () => stack.reference.epochs(EXCHANGE, SYMBOL).at(-1);
    await stack.reference.until(() => newEpoch() !== oldEpoch, 60_000, 'the new epoch to be written');
    await w.until(
      () =>
        w.watch.current()?.epoch === newEpoch() &&
        w.sinceLastDrop().filter((c) => c.type === 'DELTA').length >= 5,
      60_000,
      'the new epoch, a snapshot and 5 deltas',
    );
    await w.untilCovered(stack.reference);
    await w.watch.close();

    expect(w.drops).toEqual(['NEW_EPOCH']);
    const firstOfNew = w.checkpoints.findIndex((c) => c.epoch === newEpoch());
    expect(w.checkpoints[firstOfNew]?.type).toBe('SNAPSHOT');
    expect(w.checkpoints[firstOfNew - 1]?.epoch).toBe(oldEpoch);
    expect(w.verifyAgainst(stack.reference)).toEqual([]);
  });
});
