import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDecimal,
  compareDecimal,
  multiplyDecimal,
  subtractDecimal,
} from '../../src/marketdata/decimal.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { subscribe } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';
import {
  CANCEL_ORDER,
  type CreatedClient,
  createClientWithCli,
  OPEN_SESSION,
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

describe('paper trading over graphql-ws, against live books', () => {
  let redis: TestRedis;
  let stack: Stack;
  let lab: ScriptedMarket;
  let alice: CreatedClient;
  let ws: Client;
  let sessionId: string;
  const updates: UpdateView[] = [];
  let onUpdate: () => void = () => {};

  const place = async (input: Record<string, unknown>) => {
    const result = await wsRequest<{ placeOrder: PlaceResult }>(ws, PLACE_ORDER, { input });
    expect(result.errors).toBeUndefined();
    return result.data!.placeOrder;
  };
  const untilUpdates = async (n: number) => {
    const waiter = waitFor(() => updates.length >= n, 5_000, `${n} order updates`);
    onUpdate = waiter.check;
    await waiter.done;
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    stack = await startStack(redis, {
      simulator: { updatesPerSecond: 20 },
      limits: SCRIPTED_BOOK_LIMITS,
    });
    lab = new ScriptedMarket(new BookStore(redis.client(), REGION));
    await lab.start();
    alice = await createClientWithCli(redis.url, 'alice');
    ws = wsClient(stack.wsUrl, alice.key);
    const opened = await wsRequest<{ openSession: { id: string; status: string; region: string } }>(
      ws,
      OPEN_SESSION,
      {
        balances: [
          { asset: 'USDT', amount: '100000' },
          { asset: 'BTC', amount: '1' },
        ],
      },
    );
    expect(opened.errors).toBeUndefined();
    sessionId = opened.data!.openSession.id;
    expect(opened.data!.openSession).toMatchObject({ status: 'OPEN', region: REGION });
    const handle = subscribe<UpdateView>(ws, ORDER_UPDATES, { sessionId }, (u) => {
      updates.push(u);
      onUpdate();
    });
    // The subscription is live once a first update arrives; make one with a tiny resting order.
    await new Promise((r) => setTimeout(r, 200));
    expect(handle.errors).toEqual([]);
  });

  afterAll(async () => {
    await ws?.dispose();
    await stack?.stop();
    await redis?.stop();
  });

  it('fills a market order by walking the simulator book, as taker, with fees', async () => {
    const order = await place(
      orderInput(sessionId, { exchange: 'sim1', type: 'MARKET', price: null, amount: '0.01' }),
    );
    expect(order.__typename).toBe('Order');
    expect(order.status).toBe('FILLED');
    expect(order.filled).toBe('0.01');
    expect(order.fills!.length).toBeGreaterThan(0);
    for (const fill of order.fills!) expect(fill.liquidity).toBe('TAKER');
    const value = order.fills!.reduce((sum, f) => addDecimal(sum, multiplyDecimal(f.price, f.amount)), '0');
    expect(order.fee).toBe(multiplyDecimal(value, '0.0005'));
    await untilUpdates(1 + order.fills!.length);
    expect(updates.map((u) => u.type)).toEqual(['NEW', ...order.fills!.map(() => 'FILL')]);
    expect(updates.at(-1)!.order.status).toBe('FILLED');
  });

  it('rests a limit order, fills it partly when the book crosses it, then cancels it', async () => {
    const before = updates.length;
    const order = await place(
      orderInput(sessionId, { price: '99.5', amount: '0.5', clientOrderId: 'rest-1' }),
    );
    expect(order).toMatchObject({ __typename: 'Order', status: 'NEW', filled: '0', remaining: '0.5' });
    await untilUpdates(before + 1);

    // An ask at 99.5 for 0.2 crosses the bid: a maker fill at the order's price.
    await lab.delta([], [['99.5', '0.2']]);
    await untilUpdates(before + 2);
    const fill = updates[before + 1]!;
    expect(fill).toMatchObject({
      type: 'FILL',
      order: { id: order.id, status: 'PARTIALLY_FILLED', filled: '0.2' },
    });
    expect(fill.fill).toMatchObject({
      price: '99.5',
      amount: '0.2',
      liquidity: 'MAKER',
      fee: multiplyDecimal('19.9', '0.0002'),
    });
    await lab.delta([], [['99.5', '0']]);

    const canceled = await wsRequest<{ cancelOrder: PlaceResult }>(ws, CANCEL_ORDER, {
      clientOrderId: 'rest-1',
    });
    expect(canceled.data!.cancelOrder).toMatchObject({
      __typename: 'Order',
      status: 'CANCELED',
      filled: '0.2',
      remaining: '0.3',
    });
    await untilUpdates(before + 3);
    expect(updates[before + 2]).toMatchObject({
      type: 'CANCELED',
      order: { id: order.id, status: 'CANCELED' },
    });

    const again = await wsRequest<{ cancelOrder: PlaceResult }>(ws, CANCEL_ORDER, { id: order.id });
    expect(again.data!.cancelOrder).toMatchObject({ __typename: 'OrderRejected', code: 'ORDER_REJECTED' });
  });

  it('applies IOC, FOK and post-only semantics', async () => {
    const fok = await place(orderInput(sessionId, { price: '100.2', amount: '5', timeInForce: 'FOK' }));
    expect(fok).toMatchObject({ status: 'EXPIRED', filled: '0' });

    const ioc = await place(orderInput(sessionId, { price: '100.1', amount: '1.5', timeInForce: 'IOC' }));
    expect(ioc).toMatchObject({
      status: 'EXPIRED',
      filled: '1',
      remaining: '0.5',
      averagePrice: expect.stringMatching(/^100\.1/),
    });

    const post = await place(orderInput(sessionId, { price: '100.1', amount: '0.1', postOnly: true }));
    expect(post).toMatchObject({ __typename: 'OrderRejected', reason: 'POST_ONLY_WOULD_TAKE' });
    expect((post as unknown as { order: { status: string; rejectReason: string } }).order).toMatchObject({
      status: 'REJECTED',
      rejectReason: 'POST_ONLY_WOULD_TAKE',
    });

    const crossing = await place(orderInput(sessionId, { price: '100.2', amount: '2', timeInForce: 'GTC' }));
    // Takes 1 at 100.1 and 1 at 100.2 at once: FILLED as taker.
    expect(crossing).toMatchObject({ status: 'FILLED', filled: '2' });
    expect(crossing.fills!.map((f) => [f.price, f.amount, f.liquidity])).toEqual([
      ['100.1', '1', 'TAKER'],
      ['100.2', '1', 'TAKER'],
    ]);

    const sell = await place(
      orderInput(sessionId, { side: 'SELL', type: 'MARKET', price: null, amount: '0.5' }),
    );
    expect(sell).toMatchObject({ status: 'FILLED', filled: '0.5' });
    expect(sell.fills!.map((f) => f.price)).toEqual(['100']);
  });

  it('sends every state change and fill in orderUpdates, seq 1, 2, 3… with nothing missing', async () => {
    const { data } = await wsRequest<{ session: { lastSeq: number } }>(
      ws,
      `query($id: ID!) { session(id: $id) { lastSeq } }`,
      {
        id: sessionId,
      },
    );
    await untilUpdates(data!.session.lastSeq);
    expect(updates.map((u) => u.seq)).toEqual(Array.from({ length: data!.session.lastSeq }, (_, i) => i + 1));
    expect(new Set(updates.map((u) => u.sessionId))).toEqual(new Set([sessionId]));

    // A late subscriber replays them with afterSeq.
    const replayed: UpdateView[] = [];
    const waiter = waitFor(() => replayed.length >= data!.session.lastSeq - 3, 60_000, 'replay');
    const late = subscribe<UpdateView>(ws, ORDER_UPDATES, { sessionId, afterSeq: 3 }, (u) => {
      replayed.push(u);
      waiter.check();
    });
    await waiter.done;
    late.unsubscribe();
    expect(replayed.map((u) => u.seq)).toEqual(updates.slice(3).map((u) => u.seq));
  });

  it('keeps balances, positions and PnL exact, marked to the live mid', async () => {
    const { data, errors } = await wsRequest<{
      session: {
        balances: { asset: string; total: string; locked: string; available: string; initial: string }[];
        positions: {
          exchange: string;
          quantity: string;
          cost: string;
          realisedPnl: string;
          unrealisedPnl: string | null;
          markPrice: string | null;
          fees: string;
        }[];
        fills: { orderId: string; price: string; amount: string; fee: string }[];
      };
    }>(
      ws,
      `query($id: ID!) { session(id: $id) {
        balances { asset initial total locked available }
        positions { exchange symbol asset quantity cost markPrice realisedPnl unrealisedPnl fees }
        fills(first: 1000) { orderId side price amount fee }
      } }`,
      { id: sessionId },
    );
    expect(errors).toBeUndefined();
    const s = data!.session;
    // Balances follow from the fills exactly: USDT pays value + fee on buys, gets value − fee on sells.
    let usdt = '100000';
    let btc = '1';
    const { data: sides } = await wsRequest<{ session: { fills: { side: string }[] } }>(
      ws,
      `query($id: ID!) { session(id: $id) { fills(first: 1000) { side } } }`,
      {
        id: sessionId,
      },
    );
    s.fills.forEach((f, i) => {
      const value = multiplyDecimal(f.price, f.amount);
      if (sides!.session.fills[i]!.side === 'BUY') {
        usdt = subtractDecimal(usdt, addDecimal(value, f.fee));
        btc = addDecimal(btc, f.amount);
      } else {
        usdt = addDecimal(usdt, subtractDecimal(value, f.fee));
        btc = subtractDecimal(btc, f.amount);
      }
    });
    expect(s.balances).toEqual([
      { asset: 'BTC', initial: '1', total: btc, locked: '0', available: btc },
      { asset: 'USDT', initial: '100000', total: usdt, locked: '0', available: usdt },
    ]);
    const labPosition = s.positions.find((p) => p.exchange === 'lab')!;
    expect(labPosition.quantity).toBe('2.7'); // 0.2 + 1 + 2 − 0.5
    expect(labPosition.markPrice).not.toBeNull();
    expect(labPosition.unrealisedPnl).toBe(
      subtractDecimal(multiplyDecimal('2.7', labPosition.markPrice!), labPosition.cost),
    );
    expect(compareDecimal(labPosition.fees, '0')).toBe(1);
    expect(s.positions.find((p) => p.exchange === 'sim1')).toMatchObject({
      quantity: '0.01',
      unrealisedPnl: expect.any(String),
    });
  });
});
