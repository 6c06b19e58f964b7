import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.ts';
import { newOrder } from '../../src/trading/new-order.ts';
import { beginWrite, createWrite, newSession } from '../../src/trading/session-write.ts';
import { TradingStore } from '../../src/trading/trading-store.ts';
import type { Order, OrderStatus } from '../../src/trading/types.ts';
import type { VenueOrderReport } from '../../src/trading/venue.ts';
import { terminalReportKind } from '../../src/trading/venue-fills.ts';
import { VenueReconciliation } from '../../src/trading/venue-reconciliation.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION } from '../helpers/stack.ts';
import { ScriptedMarket } from './support.ts';

const CLIENT = 'c-reports';

function report(status: VenueOrderReport['status'], filled: string, cost: string): VenueOrderReport {
  return { venueClientOrderId: 'x', venueOrderId: 'v-1', status, filled, cost, last: null, executions: null };
}

describe('venue reports for orders no longer open', () => {
  let redis: TestRedis;
  let store: TradingStore;
  let metrics: Metrics;
  let reconciliation: VenueReconciliation;
  const logged: Record<string, unknown>[] = [];

  /** A real-venue order of a new session, stored as `status` with `filled` of its 0.5. */
  const storedOrder = async (status: OrderStatus, filled: string): Promise<Order> => {
    const session = newSession(CLIENT, REGION, new Map([['USDT', '1000']]), Date.now());
    await store.write(CLIENT, createWrite(session));
    const request = {
      sessionId: session.id,
      exchange: 'lab',
      symbol: 'BTC/USDT',
      side: 'BUY' as const,
      type: 'LIMIT' as const,
      price: '100',
      amount: '0.5',
      timeInForce: 'GTC' as const,
      postOnly: false,
      clientOrderId: null,
    };
    const order = newOrder(
      { session, market: ScriptedMarket.market, request, fingerprint: 'f' },
      'CCXT',
      REGION,
      1,
      Date.now(),
    );
    Object.assign(order, { status, filled, cost: String(Number(filled) * 100) });
    session.orderCount = 1;
    const write = beginWrite(session);
    write.orders = [order];
    expect(await store.write(CLIENT, write)).toBe('ok');
    return order;
  };
  const ignored = async (kind: string) =>
    (await metrics.venueReportsIgnored.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0;

  beforeAll(async () => {
    redis = await startTestRedis();
    store = new TradingStore(redis.client());
    metrics = new Metrics({ defaultMetrics: false });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    reconciliation = new VenueReconciliation({
      store,
      log: pino({ level: 'warn' }, sink),
      now: Date.now,
      venues: new Map(),
      metrics,
    });
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('classifies what the report says beyond the recorded end', () => {
    const order = { status: 'FILLED', filled: '0.5' } as Order;
    expect(terminalReportKind(order, report('FILLED', '0.5', '50'))).toBe('duplicate');
    expect(
      terminalReportKind({ ...order, status: 'CANCELED', filled: '0.2' }, report('FILLED', '0.5', '50')),
    ).toBe('more_filled');
    expect(terminalReportKind({ ...order, status: 'CANCELED' }, report('OPEN', '0.5', '50'))).toBe(
      'other_end',
    );
  });

  it('a fill reported for a canceled order changes nothing, and is logged, counted and kept for reconciliation', async () => {
    const order = await storedOrder('CANCELED', '0.2');
    const before = await store.readSession(CLIENT, order.sessionId);
    const after = await reconciliation.applyReport(CLIENT, order.id, report('FILLED', '0.5', '50'));
    expect(after).toMatchObject({ id: order.id, status: 'CANCELED', filled: '0.2' });
    expect(await store.readSession(CLIENT, order.sessionId)).toEqual(before);
    expect(await ignored('more_filled')).toBe(1);
    expect(logged.at(-1)).toMatchObject({
      level: 40,
      msg: 'venue report for an order no longer open ignored',
      order: order.id,
      exchange: 'lab',
      kind: 'more_filled',
      detail: 'venue FILLED filled 0.5 cost 50; recorded CANCELED filled 0.2 cost 20',
    });
    const audit = await store.readAudit(CLIENT);
    expect(audit.at(-1)).toMatchObject({
      action: 'venueReport',
      session: order.sessionId,
      order: order.id,
      result: 'ignored:more_filled',
      detail: 'venue FILLED filled 0.5 cost 50; recorded CANCELED filled 0.2 cost 20',
    });
  });

  it('a late repeat of the recorded end is counted as a duplicate', async () => {
    const order = await storedOrder('FILLED', '0.5');
    const lines = logged.length;
    await reconciliation.applyReport(CLIENT, order.id, report('FILLED', '0.5', '50'));
    expect(await ignored('duplicate')).toBe(1);
    expect(logged.length).toBe(lines + 1);
    expect((await store.readAudit(CLIENT)).at(-1)).toMatchObject({ result: 'ignored:duplicate' });
  });

  it('a report for an open order is applied, not counted', async () => {
    const order = await storedOrder('NEW', '0');
    const after = await reconciliation.applyReport(CLIENT, order.id, report('FILLED', '0.5', '50'));
    expect(after).toMatchObject({ status: 'FILLED', filled: '0.5' });
    expect((await metrics.venueReportsIgnored.get()).values.reduce((n, v) => n + v.value, 0)).toBe(2);
  });
});
