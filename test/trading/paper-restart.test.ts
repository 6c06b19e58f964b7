import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multiplyDecimal } from '../../src/marketdata/decimal.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { openOrdersKey } from '../../src/redis/keys.ts';
import type { ApiLimits } from '../../src/resolvers/deps.ts';
import { subscribe } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import {
  CANCEL_ORDER,
  type CreatedClient,
  createClientWithCli,
  OPEN_SESSION,
  ORDER_STATUS,
  ORDER_UPDATES,
  orderInput,
  PLACE_ORDER,
  type PlaceResult,
  SCRIPTED_BOOK_LIMITS,
  ScriptedMarket,
  type UpdateView,
  waitFor,
  wsClient,
  wsRequest,
} from './support.ts';

/**
 * A resting paper order outlives the server that took it: the region's index of open orders,
 * written in the same script call as each order change, lets a new server watch it again.
 */
describe('resting paper orders across a server restart', () => {
  let redis: TestRedis;
  let stack: Stack | undefined;
  let lab: ScriptedMarket;
  let alice: CreatedClient;
  let ws: Client | undefined;
  let sessionId: string;

  const start = async (limits: Partial<ApiLimits> = SCRIPTED_BOOK_LIMITS) => {
    stack = await startStack(redis, { ingest: false, limits });
    ws = wsClient(stack.wsUrl, alice.key);
    return { stack, ws };
  };
  const stop = async () => {
    await ws?.dispose();
    await stack?.stop();
    ws = undefined;
    stack = undefined;
  };
  const place = async (client: Client, input: Record<string, unknown>) => {
    const result = await wsRequest<{ placeOrder: PlaceResult }>(client, PLACE_ORDER, { input });
    expect(result.errors).toBeUndefined();
    return result.data!.placeOrder;
  };
  const indexed = () => redis.client().zrange(openOrdersKey(alice.id, REGION), 0, -1);

  beforeAll(async () => {
    redis = await startTestRedis();
    lab = new ScriptedMarket(new BookStore(redis.client(), REGION));
    await lab.start();
    alice = await createClientWithCli(redis.url, 'alice-restart');
  });

  afterAll(async () => {
    await stop();
    await redis?.stop();
  });

  it('fills, after a restart, an order that rested before it; a canceled or filled one is not watched', async () => {
    const first = await start();
    const opened = await wsRequest<{ openSession: { id: string } }>(first.ws, OPEN_SESSION, {
      balances: [{ asset: 'USDT', amount: '100000' }],
    });
    expect(opened.errors).toBeUndefined();
    sessionId = opened.data!.openSession.id;

    // One order fills while its server runs, one is canceled, one rests.
    const filled = await place(first.ws, orderInput(sessionId, { price: '99.6', amount: '0.2' }));
    expect(filled).toMatchObject({ __typename: 'Order', status: 'NEW' });
    await lab.delta([], [['99.6', '0.2']]);
    await waitForOrder(first.ws, filled.id, 'FILLED');
    await lab.delta([], [['99.6', '0']]);
    const canceled = await place(first.ws, orderInput(sessionId, { price: '99.5', amount: '0.3' }));
    const result = await wsRequest<{ cancelOrder: PlaceResult }>(first.ws, CANCEL_ORDER, { id: canceled.id });
    expect(result.data!.cancelOrder).toMatchObject({ status: 'CANCELED' });
    const resting = await place(
      first.ws,
      orderInput(sessionId, { price: '99.5', amount: '0.5', clientOrderId: 'survives' }),
    );
    expect(resting).toMatchObject({ __typename: 'Order', status: 'NEW', remaining: '0.5' });
    expect(first.stack.app.trading.venue.restingCount).toBe(1);
    // Only the order still resting is in the region's index.
    expect(await indexed()).toEqual([resting.id]);
    const { data } = await wsRequest<{ session: { lastSeq: number } }>(
      first.ws,
      `query($id: ID!) { session(id: $id) { lastSeq } }`,
      { id: sessionId },
    );
    const lastSeq = data!.session.lastSeq;
    await stop();

    // A new server against the same Redis takes the resting order over, and nothing else.
    const second = await start();
    await waitUntil(() => second.stack.app.trading.venue.restingCount === 1, 'the order watched again');
    const updates: UpdateView[] = [];
    let wake: () => void = () => {};
    const handle = subscribe<UpdateView>(second.ws, ORDER_UPDATES, { sessionId, afterSeq: lastSeq }, (u) => {
      updates.push(u);
      wake();
    });
    // An ask at 99.5 for 1 crosses it: a maker fill of the whole order at its price.
    await lab.delta([], [['99.5', '1']]);
    const waiter = waitFor(() => updates.length >= 1, 60_000, 'the fill after the restart');
    wake = waiter.check;
    await waiter.done;
    expect(handle.errors).toEqual([]);
    expect(updates[0]).toMatchObject({
      seq: lastSeq + 1,
      type: 'FILL',
      order: { id: resting.id, status: 'FILLED', filled: '0.5', remaining: '0' },
      fill: { price: '99.5', amount: '0.5', liquidity: 'MAKER', fee: multiplyDecimal('49.75', '0.0002') },
    });
    await waitForOrder(second.ws, resting.id, 'FILLED');
    await lab.delta([], [['99.5', '0']]);
    // Exactly once: nothing else happened to the session, and the index is empty again.
    await new Promise((r) => setTimeout(r, 200));
    expect(updates.map((u) => [u.seq, u.type, u.order.id])).toEqual([[lastSeq + 1, 'FILL', resting.id]]);
    expect(second.stack.app.trading.venue.restingCount).toBe(0);
    expect(await indexed()).toEqual([]);
    const canceledNow = await wsRequest<{ order: { status: string; filled: string } }>(
      second.ws,
      ORDER_STATUS,
      {
        id: canceled.id,
      },
    );
    expect(canceledNow.data!.order).toMatchObject({ status: 'CANCELED', filled: '0' });
    const filledNow = await wsRequest<{ order: { status: string; filled: string } }>(
      second.ws,
      ORDER_STATUS,
      {
        id: filled.id,
      },
    );
    expect(filledNow.data!.order).toMatchObject({ status: 'FILLED', filled: '0.2' });
  });

  it('does not fill a resting order against a stale book on takeover, only on the next fresh update', async () => {
    const first = await start();
    const resting = await place(first.ws, orderInput(sessionId, { price: '99.4', amount: '0.2' }));
    expect(resting).toMatchObject({ __typename: 'Order', status: 'NEW' });
    await stop();
    // While no server watches it, the book crosses it, then stops moving.
    await lab.delta([], [['99.4', '1']]);
    const crossedAt = Date.now();
    const staleAfterMs = 1_000;
    await new Promise((r) => setTimeout(r, staleAfterMs + 100 - (Date.now() - crossedAt)));

    const second = await start({ staleOverrides: { lab: staleAfterMs } });
    await waitUntil(() => second.stack.app.trading.venue.restingCount === 1, 'the order watched again');
    // The takeover's matching pass sees a crossing but stale book: no fill, for as long as we look.
    for (let i = 0; i < 10; i++) {
      const now = await wsRequest<{ order: { status: string } }>(second.ws, ORDER_STATUS, { id: resting.id });
      expect(now.data!.order.status).toBe('NEW');
      await new Promise((r) => setTimeout(r, 50));
    }
    const freshAt = Date.now();
    await lab.delta([], [['99.4', '1']]);
    await waitForOrder(second.ws, resting.id, 'FILLED');
    const fills = await wsRequest<{ order: { fills: { price: string; timestamp: number }[] } }>(
      second.ws,
      `query($id: ID!) { order(id: $id) { fills { price timestamp } } }`,
      { id: resting.id },
    );
    expect(fills.data!.order.fills).toHaveLength(1);
    expect(fills.data!.order.fills[0]!.price).toBe('99.4');
    expect(fills.data!.order.fills[0]!.timestamp).toBeGreaterThanOrEqual(freshAt);
    await lab.delta([], [['99.4', '0']]);
  });
});

async function waitForOrder(client: Client, id: string, status: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const result = await wsRequest<{ order: { status: string } | null }>(client, ORDER_STATUS, { id });
    if (result.data?.order?.status === status) return;
    if (Date.now() > deadline) throw new Error(`order ${id} not ${status}: ${JSON.stringify(result)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
