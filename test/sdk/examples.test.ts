import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as dashboard } from '../../examples/dashboard.ts';
import { main as tokenIssuer } from '../../examples/token-issuer.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/** The examples, run as an integrator would, against a real server. */

let redis: TestRedis;
let stack: Stack;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, { simulator: { seed: 9, updatesPerSecond: 30 } });
  await stack.reference.until(() =>
    ['sim1', 'sim2', 'sim3'].every((v) => stack.reference.count(v, 'KITE/USDT') > 0),
  );
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

const DECIMAL = /^\d+(\.\d+)?$/;

describe('examples', () => {
  it('dashboard prints a table of the books and tickers of an exchange', async () => {
    const lines: string[] = [];
    const rows = await dashboard({ url: stack.httpUrl, exchange: 'sim2', print: (l) => lines.push(l) });
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

  it('token-issuer prints spread and depth of the token on every venue as they change', async () => {
    const lines: string[] = [];
    const last = await tokenIssuer({
      url: stack.httpUrl,
      symbol: 'KITE/USDT',
      updates: 30,
      durationMs: 20_000,
      print: (l) => lines.push(l),
    });
    expect(lines[0]).toBe('KITE/USDT on sim1, sim2, sim3, top 10 levels (depth = bid size / ask size)');
    const changes = lines.slice(1, -1);
    expect(changes).toHaveLength(30);
    for (const line of changes) {
      expect(line).toMatch(
        /^sim[123]\s+seq\s+\d+ {2}bid [\d.]+ ask [\d.]+ spread [\d.]+ {2}depth [\d.]+ \/ [\d.]+$/,
      );
    }
    expect(new Set(changes.map((l) => l.slice(0, 4)))).toEqual(new Set(['sim1', 'sim2', 'sim3']));
    expect(lines.at(-1)).toMatch(/^best bid [\d.]+ on sim[123], best ask [\d.]+ on sim[123]$/);
    expect([...last.keys()].sort()).toEqual(['sim1', 'sim2', 'sim3']);
    for (const line of last.values()) {
      // The printed book is the writer's book at that seq (spread from its exact top).
      const top = stack.reference.top(line.venue, 'KITE/USDT', line.epoch, line.seq, 10);
      expect(top).toBeDefined();
      expect(line.bid).toBe(top!.bids[0]![0]);
      expect(line.ask).toBe(top!.asks[0]![0]);
    }
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
