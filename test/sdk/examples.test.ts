import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as dashboard } from '../../examples/dashboard.ts';
import { main as placeOrderExample } from '../../examples/place-order.ts';
import { main as tokenIssuer } from '../../examples/token-issuer.ts';
import { addDecimal } from '../../sdk/src/index.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';
import { type CreatedClient, createClientWithCli } from '../trading/support.ts';
import { mergeReference } from './support.ts';

/** The examples, run as an integrator would, against a real server. */

let redis: TestRedis;
let stack: Stack;
let trader: CreatedClient;
let reader: CreatedClient;
const trimmed = (value: string) => addDecimal(value, '0');

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, { simulator: { seed: 9, updatesPerSecond: 30 } });
  await stack.reference.until(() =>
    ['sim1', 'sim2', 'sim3'].every((v) => stack.reference.count(v, 'KITE/USDT') > 0),
  );
  [trader, reader] = await Promise.all([
    createClientWithCli(redis.url, 'examples-trader', 'marketdata:read,trade'),
    createClientWithCli(redis.url, 'examples-reader', 'marketdata:read'),
  ]);
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

const DECIMAL = /^\d+(\.\d+)?$/;

describe('examples', () => {
  it('dashboard prints a table of the books and tickers of an exchange', async () => {
    const lines: string[] = [];
    const rows = await dashboard({
      url: stack.httpUrl,
      exchange: 'sim2',
      timeoutMs: 120_000,
      print: (l) => lines.push(l),
    });
    expect(lines[0]).toBe('sim2 in region test: 4 markets');
    expect(lines[1]).toMatch(/^symbol\s+bid\s+ask\s+spread\s+levels\s+last trade\s+stale$/);
    expect(lines.slice(3).map((l) => l.split(/\s+/)[0])).toEqual([
      'BTC/USDT',
      'ETH/USDT',
      'KITE/USDT',
      'SOL/USDT',
    ]);
    for (const row of rows) {
      expect(row.bid).toMatch(DECIMAL);
      expect(row.ask).toMatch(DECIMAL);
      expect(Number(row.spread)).toBeGreaterThan(0);
      expect(row.bidLevels).toBe(10);
      expect(row.stale).toBe(false);
    }
  });

  it('token-issuer prints the consolidated book and liquidity of the token as they change', async () => {
    const lines: string[] = [];
    const last = await tokenIssuer({
      url: stack.httpUrl,
      symbol: 'KITE/USDT',
      updates: 20,
      throttleMs: 20,
      // Ends after 20 changes; the duration is only a backstop (a loaded machine is slow).
      durationMs: 240_000,
      print: (l) => lines.push(l),
    });
    expect(lines[0]).toBe(
      'KITE/USDT on sim1, sim2, sim3, top 10 levels merged (depth = bid size / ask size)',
    );
    // A loaded machine can let a venue turn stale for a moment: that notice is a line of its own.
    const changes = lines.slice(1, -1).filter((l) => !/ turned stale \(still merged\)$/.test(l));
    expect(changes).toHaveLength(20);
    const D = String.raw`[\d.]+`;
    const V = String.raw`sim[123](\+sim[123])*`;
    const line = new RegExp(
      `^bid ${D} \\(${V}\\) ask ${D} \\(${V}\\) spread -?${D} \\(-?${D} bps\\)  depth ${D} / ${D}  ±1% ${D} / ${D} imbalance -?${D}( {2}CROSSED)?$`,
    );
    for (const l of changes) expect(l).toMatch(line);
    expect(lines.at(-1)).toMatch(/^share of ±1% depth: sim1 [\d.]+, sim2 [\d.]+, sim3 [\d.]+$/);
    expect(last.printed).toBe(20);
    // The last book is the merge of the writer's books at the (epoch, seq) of each venue it names.
    const expected = mergeReference(stack.reference, 'KITE/USDT', last.book.venues, 10);
    expect({ bids: last.book.bids, asks: last.book.asks }).toEqual(expected);
    expect(last.line.bid).toBe(expected.bids[0]!.price);
    expect(last.line.ask).toBe(expected.asks[0]!.price);
    expect(last.line.bidVenues).toEqual(expected.bids[0]!.venues.map((v) => v.exchange));
  });

  it('place-order takes liquidity with an API key and follows the order until it is filled', async () => {
    const lines: string[] = [];
    const run = await placeOrderExample({
      url: stack.httpUrl,
      token: trader.key,
      timeoutMs: 120_000,
      exchange: 'sim1',
      symbol: 'BTC/USDT',
      amount: '0.01',
      take: true,
      print: (l) => lines.push(l),
    });
    expect(lines[0]).toMatch(/^session \S+ opened: 10 BTC, 100000 USDT$/);
    expect(lines[1]).toMatch(/^sim1 BTC\/USDT: bid [\d.]+ ask [\d.]+$/);
    expect(lines[2]).toMatch(/^placing BUY 0\.01 BTC\/USDT LIMIT @ [\d.]+ GTC \(example-\w+\)$/);
    expect(run.result.__typename).toBe('Order');
    expect(run.order).toMatchObject({ status: 'FILLED', filled: '0.01', remaining: '0' });
    expect(run.canceled).toBe(false);
    expect(run.updates.map((u) => u.type)).toEqual(['NEW', ...run.order!.fills.map(() => 'FILL')]);
    const seqs = run.updates.map((u) => u.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(
      lines.filter((l) =>
        /^#\d+ FILL {5}(PARTIALLY_FILLED|FILLED) +filled [\d.]+\/0\.01 {2}fill [\d.]+ @ [\d.]+ fee [\d.]+ USDT TAKER$/.test(
          l,
        ),
      ),
    ).toHaveLength(run.order!.fills.length);
    expect(lines).toContain(
      `order ${run.order!.id} FILLED: filled 0.01/0.01 avg ${trimmed(run.order!.averagePrice!)}, fee ${run.order!.fee} USDT, ${run.order!.fills.length} fills`,
    );
    expect(lines.at(-1)).toMatch(/^session closed: 10\.01 BTC \(\+0\.01\), \d[\d.]* USDT \(-[\d.]+\)$/);
  });

  it('place-order cancels a resting order that does not fill in time', async () => {
    const lines: string[] = [];
    const run = await placeOrderExample({
      url: stack.httpUrl,
      token: trader.key,
      timeoutMs: 120_000,
      side: 'SELL',
      amount: '0.01',
      waitMs: 300,
      print: (l) => lines.push(l),
    });
    expect(run.order).toMatchObject({ status: 'CANCELED', filled: '0' });
    expect(run.canceled).toBe(true);
    expect(run.updates.map((u) => u.type)).toEqual(['NEW', 'CANCELED']);
    expect(lines).toContain('not filled after 300 ms: canceling');
    expect(lines.filter((l) => l.startsWith('#'))).toEqual([
      expect.stringMatching(/^#\d+ NEW {6}NEW {14}filled 0\/0\.01$/),
      expect.stringMatching(/^#\d+ CANCELED CANCELED {9}filled 0\/0\.01$/),
    ]);
    expect(lines.at(-1)).toBe('session closed: 10 BTC (+0), 100000 USDT (+0)');
  });

  it('place-order prints a typed trading error and places nothing', async () => {
    const lines: string[] = [];
    const run = await placeOrderExample({
      url: stack.httpUrl,
      token: trader.key,
      timeoutMs: 120_000,
      amount: '0.000001',
      print: (l) => lines.push(l),
    });
    expect(run.result).toMatchObject({
      __typename: 'InvalidPrecision',
      code: 'INVALID_PRECISION',
      field: 'amount',
    });
    expect(run.order).toBeUndefined();
    expect(lines.at(-1)).toMatch(/^not placed: InvalidPrecision INVALID_PRECISION: /);
  });

  it('place-order without a trade key is refused', async () => {
    await expect(
      placeOrderExample({ url: stack.httpUrl, token: reader.key, print: () => {} }),
    ).rejects.toMatchObject({ name: 'BookgraphError', code: 'FORBIDDEN' });
  });

  it('token-issuer reports an unknown token as MARKET_NOT_FOUND', async () => {
    await expect(
      tokenIssuer({ url: stack.httpUrl, symbol: 'NOPE/USDT', durationMs: 10_000, print: () => {} }),
    ).rejects.toMatchObject({
      name: 'BookgraphError',
      code: 'MARKET_NOT_FOUND',
    });
  });
});
