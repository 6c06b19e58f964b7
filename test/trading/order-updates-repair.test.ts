import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import { sessionKeys, sessionUpdatesChannel } from '../../src/redis/keys.ts';
import { beginWrite, readSessionAndOrder, recordFill } from '../../src/trading/session-write.ts';
import { TradingStore } from '../../src/trading/trading-store.ts';
import type { OrderUpdate } from '../../src/trading/types.ts';
import { subscribe } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import {
  CANCEL_ORDER,
  type CreatedClient,
  createClientWithCli,
  gqlOk,
  ORDER_UPDATES,
  openSessionOver,
  orderInput,
  PLACE_ORDER,
  type PlaceResult,
  SCRIPTED_BOOK_LIMITS,
  ScriptedMarket,
  type UpdateView,
  wsClient,
} from './support.ts';

/**
 * orderUpdates over a subscriber connection that goes away: what pub/sub lost is read back from
 * the session's kept updates, in order, without duplicates.
 */
describe('orderUpdates repairs what pub/sub lost', () => {
  let redis: TestRedis;
  let stack: Stack;
  let alice: CreatedClient;
  let ws: Client;
  let sessionId: string;
  /** The test's own writer of the session: another server of the region, on its own connection. */
  let side: TradingStore;
  const orders: PlaceResult[] = [];
  const seen: UpdateView[] = [];

  const subscribers = async () => {
    const [, count] = (await redis.client().pubsub('NUMSUB', sessionUpdatesChannel(alice.id, sessionId))) as [
      string,
      number,
    ];
    return count;
  };
  /** Every update the session kept, as the client should have seen them. */
  const kept = async () =>
    (await redis.client().xrange(sessionKeys(alice.id, sessionId).events, '-', '+')).map(
      ([, fields]) => (JSON.parse(fields[1]!) as OrderUpdate).seq,
    );

  beforeAll(async () => {
    redis = await startTestRedis();
    stack = await startStack(redis, { ingest: false, limits: SCRIPTED_BOOK_LIMITS });
    await new ScriptedMarket(new BookStore(redis.client(), REGION)).start();
    alice = await createClientWithCli(redis.url, 'alice');
    side = new TradingStore(redis.client());
    sessionId = await openSessionOver(stack.app, alice);
  });

  afterAll(async () => {
    await ws?.dispose();
    await stack?.stop();
    await redis?.stop();
  });

  it('delivers updates live', async () => {
    ws = wsClient(stack.wsUrl, alice.key);
    subscribe<UpdateView>(ws, ORDER_UPDATES, { sessionId }, (u) => seen.push(u));
    await expect.poll(subscribers, { timeout: 60_000 }).toBe(1);
    for (const price of ['99.5', '99.4', '99.3']) {
      const placed = await gqlOk<{ placeOrder: PlaceResult }>(
        stack.app,
        PLACE_ORDER,
        { input: orderInput(sessionId, { price, amount: '0.2' }) },
        alice.key,
      );
      expect(placed.placeOrder.__typename).toBe('Order');
      orders.push(placed.placeOrder);
    }
    await expect.poll(() => seen.length, { timeout: 60_000 }).toBe(3);
  });

  it('fills published while the server subscriber is cut (CLIENT KILL TYPE pubsub) arrive after it reconnects', async () => {
    // Two fills, decided now and written the moment the server's subscriber connection closes:
    // one call, sent well before ioredis reconnects (its first retry waits at least 100 ms).
    const found = await readSessionAndOrder(side, alice.id, sessionId, orders[0]!.id);
    const other = await side.readOrder(alice.id, sessionId, orders[1]!.id);
    const { session, order } = found!;
    const write = beginWrite(session);
    const now = Date.now();
    recordFill(write, session, order, { price: '99.5', amount: '0.2', liquidity: 'MAKER' }, now);
    recordFill(write, session, other!, { price: '99.4', amount: '0.1', liquidity: 'MAKER' }, now);
    write.orders = [order, other!];
    const written = new Promise<string>((resolve, reject) => {
      stack.subscriber.once('close', () => {
        side.write(alice.id, write).then(resolve, reject);
      });
    });
    await redis.client().client('KILL', 'TYPE', 'pubsub');
    expect(await written).toBe('ok');
    await expect.poll(() => seen.length, { timeout: 60_000 }).toBe(5);
    expect(seen.slice(3).map((u) => [u.seq, u.type, u.order.id, u.order.status])).toEqual([
      [4, 'FILL', orders[0]!.id, 'FILLED'],
      [5, 'FILL', orders[1]!.id, 'PARTIALLY_FILLED'],
    ]);
    // Live again: the next update follows, once.
    await expect.poll(subscribers, { timeout: 60_000 }).toBe(1);
    const canceled = await gqlOk<{ cancelOrder: PlaceResult }>(
      stack.app,
      CANCEL_ORDER,
      { id: orders[2]!.id },
      alice.key,
    );
    expect(canceled.cancelOrder.status).toBe('CANCELED');
    await expect.poll(() => seen.length, { timeout: 60_000 }).toBe(6);
    expect(seen.map((u) => u.seq)).toEqual(await kept());
  });

  it('an update that never reached pub/sub is sent before the next one, which shows the gap', async () => {
    // Kept (XADD) but never published: what a message lost on the way looks like to a server.
    const last = seen.at(-1)!;
    const keys = sessionKeys(alice.id, sessionId);
    const forged: OrderUpdate = {
      sessionId,
      seq: last.seq + 1,
      type: 'FILL',
      order: (await side.readOrder(alice.id, sessionId, orders[1]!.id))!,
      fill: null,
      ts: Date.now(),
    };
    await redis.client().xadd(keys.events, '*', 'u', JSON.stringify(forged));
    await redis.client().hset(keys.session, 'seq', String(forged.seq));
    const cancel = await gqlOk<{ cancelOrder: PlaceResult }>(
      stack.app,
      CANCEL_ORDER,
      { id: orders[1]!.id },
      alice.key,
    );
    expect(cancel.cancelOrder.status).toBe('CANCELED');
    await expect.poll(() => seen.length, { timeout: 60_000 }).toBe(8);
    // Read back a page at a time, newest first: the same as the whole stream after a seq.
    const after2 = (await side.readUpdatesAfter(alice.id, sessionId, 2, 2)).map((u) => u.seq);
    expect(after2).toEqual((await kept()).filter((seq) => seq > 2));
    expect(seen.slice(6).map((u) => [u.seq, u.type])).toEqual([
      [forged.seq, 'FILL'],
      [forged.seq + 1, 'CANCELED'],
    ]);
    expect(seen.map((u) => u.seq)).toEqual(await kept());
  });
});
