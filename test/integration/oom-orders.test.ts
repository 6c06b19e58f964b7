import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import { fillMemory, oomArgs } from '../helpers/oom.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import {
  type CreatedClient,
  createClientWithCli,
  gql,
  gqlOk,
  openSessionOver,
  orderInput,
  PLACE_ORDER,
  type PlaceResult,
  SCRIPTED_BOOK_LIMITS,
  ScriptedMarket,
  SESSION_STATE as SESSION,
} from '../trading/support.ts';

/**
 * Redis out of memory (`maxmemory` + `noeviction`) refuses a placement's write: the client gets
 * the typed, retryable `UNAVAILABLE` (not INTERNAL_SERVER_ERROR), nothing of the order is kept,
 * and the same placement succeeds once memory is freed.
 */
describe('placeOrder while Redis is out of memory', () => {
  let redis: TestRedis;
  let stack: Stack;
  let alice: CreatedClient;
  let sessionId: string;

  beforeAll(async () => {
    redis = await startTestRedis({ args: oomArgs() });
    stack = await startStack(redis, { ingest: false, limits: SCRIPTED_BOOK_LIMITS });
    await new ScriptedMarket(new BookStore(redis.client(), REGION)).start();
    alice = await createClientWithCli(redis.url, 'alice');
    sessionId = await openSessionOver(stack.app, alice);
  });

  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('answers UNAVAILABLE, writes nothing, and places the order once memory is freed', async () => {
    const admin = redis.client();
    const before = await gqlOk(stack.app, SESSION, { id: sessionId }, alice.key);
    await fillMemory(admin);

    // A resting limit buy (below the ask) and one that fills on arrival: both are refused whole.
    for (const price of ['99', '100.1']) {
      const input = orderInput(sessionId, { price, amount: '0.2', clientOrderId: `oom-${price}` });
      const refused = await gql<{ placeOrder: PlaceResult }>(stack.app, PLACE_ORDER, { input }, alice.key);
      expect(refused.data?.placeOrder ?? null).toBeNull();
      expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['UNAVAILABLE']);
      expect(refused.errors?.[0]?.message).not.toMatch(/OOM|maxmemory/);
    }
    // Nothing written: the session (balances, orders, updates) is as it was.
    expect(await gqlOk(stack.app, SESSION, { id: sessionId }, alice.key)).toEqual(before);

    await admin.del('test:junk');
    const input = orderInput(sessionId, { price: '99', amount: '0.2', clientOrderId: 'oom-99' });
    const placed = await gqlOk<{ placeOrder: PlaceResult }>(stack.app, PLACE_ORDER, { input }, alice.key);
    expect(placed.placeOrder).toMatchObject({ __typename: 'Order', status: 'NEW', clientOrderId: 'oom-99' });
  });
});
