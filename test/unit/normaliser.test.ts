import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NormaliseError, normaliseBookUpdate, normaliseTrade } from '../../src/marketdata/normaliser.ts';
import type { Level, RawBookUpdate } from '../../src/marketdata/types.ts';

function update(overrides: Partial<RawBookUpdate> = {}): RawBookUpdate {
  return {
    kind: 'delta',
    exchange: 'binance',
    symbol: 'BTC/USDT',
    bids: [['64210.5', '1']],
    asks: [['64210.6', '2']],
    exchangeTs: 1,
    receiveTs: 2,
    ...overrides,
  };
}

describe('normaliseBookUpdate', () => {
  it('canonicalises prices and sizes', () => {
    const out = normaliseBookUpdate(
      update({ bids: [['064210.50', '1.2500']], asks: [['64210.60', '0.000']] }),
    );
    expect(out.bids).toEqual([['64210.5', '1.25']]);
    expect(out.asks).toEqual([['64210.6', '0']]);
    expect(out.exchange).toBe('binance');
    expect(out.exchangeTs).toBe(1);
  });

  it('keeps the last size for a price repeated in one message, however it is spelled', () => {
    const out = normaliseBookUpdate(
      update({
        bids: [
          ['100', '1'],
          ['99', '5'],
          ['100.00', '3'],
        ],
      }),
    );
    expect(out.bids).toEqual([
      ['100', '3'],
      ['99', '5'],
    ]);
  });

  it.each<[string, Level]>([
    ['exponent', ['1e3', '1']],
    ['empty price', ['', '1']],
    ['trailing point', ['100.', '1']],
    ['NaN', ['NaN', '1']],
    ['negative size', ['100', '-1']],
    ['negative price', ['-100', '1']],
    ['zero price', ['0.00', '1']],
    ['space', ['100 ', '1']],
  ])('rejects a bad level (%s)', (_name, level) => {
    expect(() => normaliseBookUpdate(update({ asks: [level] }))).toThrow(NormaliseError);
    expect(() => normaliseBookUpdate(update({ bids: [level] }))).toThrow(NormaliseError);
  });

  it.each(['Binance', 'bin ance', '', 'bin.ance', 'binance/'])('rejects exchange id %j', (exchange) => {
    expect(() => normaliseBookUpdate(update({ exchange }))).toThrow(NormaliseError);
  });

  it.each(['btc/usdt', 'BTCUSDT', 'BTC/', '/USDT', 'BTC-USDT', 'BTC/USDT:', ''])(
    'rejects symbol %j',
    (symbol) => {
      expect(() => normaliseBookUpdate(update({ symbol }))).toThrow(NormaliseError);
    },
  );

  it('accepts a settled derivative symbol', () => {
    expect(normaliseBookUpdate(update({ symbol: 'BTC/USDT:USDT' })).symbol).toBe('BTC/USDT:USDT');
  });

  it('rejects non-finite timestamps', () => {
    expect(() => normaliseBookUpdate(update({ exchangeTs: Number.NaN }))).toThrow(NormaliseError);
    expect(() => normaliseBookUpdate(update({ receiveTs: Number.POSITIVE_INFINITY }))).toThrow(
      NormaliseError,
    );
  });

  it('output is canonical, unique per price and a fixed point (property)', () => {
    const decimal = fc
      .tuple(fc.nat({ max: 99999 }), fc.nat({ max: 3 }), fc.nat({ max: 2 }))
      .map(([n, places, zeros]) => {
        const s = String(n).padStart(places + 1, '0');
        const text = places ? `${s.slice(0, -places)}.${s.slice(-places)}` : s;
        return `${'0'.repeat(zeros)}${text}${places ? '0'.repeat(zeros) : ''}`;
      });
    const level = fc.tuple(decimal, decimal).filter(([p]) => Number(p) !== 0);
    fc.assert(
      fc.property(fc.array(level, { maxLength: 20 }), fc.array(level, { maxLength: 20 }), (bids, asks) => {
        const out = normaliseBookUpdate(update({ bids, asks }));
        for (const [input, side] of [
          [bids, out.bids],
          [asks, out.asks],
        ] as const) {
          expect(new Set(side.map(([p]) => p)).size).toBe(side.length);
          for (const [p, s] of side) {
            expect(p).toMatch(/^(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/);
            expect(s).toMatch(/^(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/);
            // Last write wins.
            const last = input.findLast(([q]) => Number(q) === Number(p))!;
            expect(Number(s)).toBe(Number(last[1]));
          }
          expect(new Set(side.map(([p]) => Number(p)))).toEqual(new Set(input.map(([p]) => Number(p))));
        }
        expect(normaliseBookUpdate(out)).toEqual(out);
      }),
    );
  });
});

describe('normaliseTrade', () => {
  const trade = {
    exchange: 'sim1',
    symbol: 'BTC/USDT',
    id: '1',
    price: '064210.50',
    amount: '0.0100',
    side: 'buy' as const,
    exchangeTs: 1,
    receiveTs: 1,
  };

  it('canonicalises price and amount', () => {
    expect(normaliseTrade(trade)).toMatchObject({ price: '64210.5', amount: '0.01' });
  });

  it('rejects non-decimal price or amount', () => {
    expect(() => normaliseTrade({ ...trade, price: '6.4e4' })).toThrow(NormaliseError);
    expect(() => normaliseTrade({ ...trade, amount: '' })).toThrow(NormaliseError);
  });
});
