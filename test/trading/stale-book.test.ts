import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionKeys } from '../../src/redis/keys.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';
import {
  type CreatedClient,
  createClientWithCli,
  gqlOk,
  openSessionOver,
  orderInput,
  PLACE_ORDER,
  type PlaceResult,
} from './support.ts';

const STALE_AFTER_MS = 1_000;
const STALE = `query { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 1) { stale asks { price } } }`;

describe('paper orders never fill against a stale book', () => {
  let redis: TestRedis;
  let stack: Stack;
  let alice: CreatedClient;
  let sessionId: string;

  const place = async (overrides: Record<string, unknown>) =>
    (
      await gqlOk<{ placeOrder: PlaceResult }>(
        stack.app,
        PLACE_ORDER,
        { input: orderInput(sessionId, { exchange: 'sim1', ...overrides }) },
        alice.key,
      )
    ).placeOrder;
  const market = () => place({ type: 'MARKET', price: null, amount: '0.01' });
  const isStale = async () =>
    (await gqlOk<{ orderBook: { stale: boolean } }>(stack.app, STALE, {}, alice.key)).orderBook.stale;

  /** Every key of the session (hash, orders, fills, updates, applied operations) as DUMPs. */
  const sessionState = async () => {
    const client = redis.client();
    const keys = Object.values(sessionKeys(alice.id, sessionId));
    return Promise.all(keys.map(async (k) => (await client.dumpBuffer(k))?.toString('hex') ?? null));
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    stack = await startStack(redis, {
      simulator: { updatesPerSecond: 20 },
      limits: { staleAfterMs: STALE_AFTER_MS },
    });
    alice = await createClientWithCli(redis.url, 'alice');
    sessionId = await openSessionOver(stack.app, alice, [{ asset: 'USDT', amount: '1000000' }]);
  });

  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('fills a market order while the book is fresh', async () => {
    await expect.poll(isStale, { timeout: 60_000 }).toBe(false);
    expect(await market()).toMatchObject({ __typename: 'Order', status: 'FILLED' });
  });

  it('refuses market and crossing orders once the writer stopped, writing nothing; a resting limit is taken', async () => {
    await stack.stopIngester();
    await expect.poll(isStale, { timeout: 60_000 }).toBe(true);
    const before = await sessionState();
    const book = await gqlOk<{ orderBook: { asks: { price: string }[] } }>(stack.app, STALE, {}, alice.key);
    const crossing = { price: book.orderBook.asks[0]!.price, amount: '0.01' };
    for (const refused of [await market(), await place(crossing)]) {
      expect(refused).toMatchObject({
        __typename: 'OrderRejected',
        code: 'ORDER_REJECTED',
        reason: 'BOOK_STALE',
        order: null,
        message: expect.stringContaining('stale'),
      });
    }
    expect(await sessionState()).toEqual(before);
    // Resting does not trade on the stale prices: it is accepted, and fills only on fresh ones.
    const resting = await place({ price: '1', amount: '10' });
    expect(resting).toMatchObject({ __typename: 'Order', status: 'NEW' });
  });

  it('fills again once the book is fresh', async () => {
    await stack.startIngester();
    await expect.poll(isStale, { timeout: 60_000 }).toBe(false);
    expect(await market()).toMatchObject({ __typename: 'Order', status: 'FILLED' });
  });
});
