import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CandleBuilder, decodeCandleValue, encodeCandleValue } from '../../src/marketdata/candles.ts';
import { compareDecimal, divideDecimal, multiplyDecimal } from '../../src/marketdata/decimal.ts';
import type { Trade } from '../../src/marketdata/types.ts';
import { decimal, product, ratio, units } from '../helpers/exact.ts';

const T0 = Date.UTC(2024, 0, 1);

function trade(i: number, price: string, amount: string, ts: number): Trade {
  return {
    exchange: 'sim1',
    symbol: 'BTC/USDT',
    id: String(i),
    price,
    amount,
    side: 'buy',
    exchangeTs: ts,
    receiveTs: ts,
  };
}

const decimalArb = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.integer({ min: 0, max: 8 }))
  .map(([u, scale]) => decimal(u * 10n ** BigInt(24 - scale)));

describe('decimal additions', () => {
  it('multiplies, compares and divides exactly (property, against BigInt)', () => {
    fc.assert(
      fc.property(decimalArb, decimalArb, (a, b) => {
        expect(units(multiplyDecimal(a, b))).toBe(product(a, b));
        const cmp = compareDecimal(a, b);
        expect(cmp).toBe(units(a) < units(b) ? -1 : units(a) > units(b) ? 1 : 0);
        expect(divideDecimal(a, b, 6)).toBe(ratio(units(a), units(b), 6));
        expect(divideDecimal(`-${a}`, b, 2)).toBe(ratio(-units(a), units(b), 2));
      }),
    );
  });

  it('rounds half away from zero', () => {
    expect(divideDecimal('1', '8', 2)).toBe('0.13');
    expect(divideDecimal('-1', '8', 2)).toBe('-0.13');
    expect(divideDecimal('1', '3', 4)).toBe('0.3333');
    expect(() => divideDecimal('1', '0', 2)).toThrow(RangeError);
  });
});

describe('CandleBuilder', () => {
  it('folds trades into 1m, 5m and 1h candles with exact OHLCV', () => {
    const b = new CandleBuilder();
    b.load('sim1', 'BTC/USDT', []);
    b.apply(trade(1, '100.5', '0.1', T0 + 1_000));
    b.apply(trade(2, '101', '0.2', T0 + 2_000));
    const touched = b.apply(trade(3, '99.9', '0.3', T0 + 61_000));
    expect(touched.map((c) => [c.interval, c.start])).toEqual([
      ['1m', T0 + 60_000],
      ['5m', T0],
      ['1h', T0],
    ]);
    expect(touched[1]).toEqual({
      interval: '5m',
      start: T0,
      open: '100.5',
      high: '101',
      low: '99.9',
      close: '99.9',
      volume: '0.6',
      quoteVolume: '60.22',
      trades: 3,
    });
    expect(decodeCandleValue('5m', T0, encodeCandleValue(touched[1]!))).toEqual(touched[1]);
  });

  it('continues a loaded candle and leaves a late trade out of the intervals it is late for', () => {
    const b = new CandleBuilder();
    b.load('sim1', 'BTC/USDT', [
      {
        interval: '1h',
        start: T0,
        open: '1',
        high: '2',
        low: '1',
        close: '2',
        volume: '3',
        quoteVolume: '5',
        trades: 2,
      },
    ]);
    const [m1, m5, h1] = b.apply(trade(3, '1.5', '1', T0 + 120_000));
    expect(m1?.trades).toBe(1);
    expect(m5?.trades).toBe(1);
    expect(h1).toMatchObject({ open: '1', close: '1.5', volume: '4', quoteVolume: '6.5', trades: 3 });
    const late = b.apply(trade(4, '7', '1', T0 + 30_000));
    expect(late.map((c) => c.interval)).toEqual(['5m', '1h']);
    expect(b.late).toBe(1);
  });
});
