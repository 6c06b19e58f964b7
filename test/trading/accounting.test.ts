import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDecimal, compareDecimal, formatDecimal, multiplyDecimal } from '../../src/marketdata/decimal.ts';
import { applyToPosition, unrealisedPnl } from '../../src/trading/accounting.ts';
import { homeRegion, newSessionId, orderId, parseOrderId } from '../../src/trading/ids.ts';
import { canTransition, IllegalTransitionError, transition } from '../../src/trading/order-machine.ts';
import type { Order, Position } from '../../src/trading/types.ts';

function position(): Position {
  return {
    exchange: 'x',
    symbol: 'BTC/USDT',
    base: 'BTC',
    quote: 'USDT',
    quantity: '0',
    cost: '0',
    realisedPnl: '0',
    fees: '0',
  };
}

describe('position accounting', () => {
  it('realises the difference on a round trip, exactly, fees deducted', () => {
    const p = position();
    applyToPosition(p, 'BUY', '100.1', '0.3', '0.01');
    applyToPosition(p, 'BUY', '100.3', '0.1', '0.01');
    applyToPosition(p, 'SELL', '101', '0.4', '0.02');
    expect(p).toMatchObject({ quantity: '0', cost: '0', fees: '0.04', realisedPnl: '0.3' });
  });

  it('flips from long to short through zero', () => {
    const p = position();
    applyToPosition(p, 'BUY', '10', '1', '0');
    applyToPosition(p, 'SELL', '12', '3', '0');
    expect(p).toMatchObject({ quantity: '-2', cost: '-24', realisedPnl: '2' });
    expect(unrealisedPnl(p, '11')).toBe('2');
  });

  it('realised + unrealised equals cash flow at any mark (property)', () => {
    const trade = fc.record({
      side: fc.constantFrom('BUY' as const, 'SELL' as const),
      price: fc.integer({ min: 1, max: 100_000 }).map((n) => formatDecimal({ units: BigInt(n), scale: 1 })),
      amount: fc.integer({ min: 1, max: 1_000 }).map((n) => formatDecimal({ units: BigInt(n), scale: 3 })),
    });
    fc.assert(
      fc.property(
        fc.array(trade, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 100_000 }),
        (trades, m) => {
          const mark = formatDecimal({ units: BigInt(m), scale: 1 });
          const p = position();
          let cash = '0';
          let held = '0';
          for (const t of trades) {
            applyToPosition(p, t.side, t.price, t.amount, '0');
            const value = formatDecimal({
              units: BigInt(t.price.replace('.', '')) * BigInt(t.amount.replace('.', '')),
              scale: (t.price.split('.')[1]?.length ?? 0) + (t.amount.split('.')[1]?.length ?? 0),
            });
            cash = t.side === 'BUY' ? addDecimal(cash, `-${value}`) : addDecimal(cash, value);
            held = t.side === 'BUY' ? addDecimal(held, t.amount) : addDecimal(held, `-${t.amount}`);
          }
          expect(p.quantity).toBe(held);
          // Cash + held × mark, against realised + unrealised: equal up to the one cut ratio.
          const total = addDecimal(p.realisedPnl, unrealisedPnl(p, mark));
          const truth = addDecimal(
            cash,
            formatDecimal({
              units:
                BigInt(held.replace('.', '').replace('-', '')) *
                BigInt(mark.replace('.', '')) *
                (held.startsWith('-') ? -1n : 1n),
              scale: (held.split('.')[1]?.length ?? 0) + (mark.split('.')[1]?.length ?? 0),
            }),
          );
          const diff = Math.abs(
            Number(addDecimal(total, truth.startsWith('-') ? truth.slice(1) : `-${truth}`)),
          );
          expect(diff).toBeLessThan(1e-12);
        },
      ),
    );
  });
});

describe('decimal multiply and compare (used by accounting)', () => {
  it('multiplies exactly and compares across scales', () => {
    expect(multiplyDecimal('0.1', '0.2')).toBe('0.02');
    expect(multiplyDecimal('64210.5', '0.00001')).toBe('0.642105');
    expect(multiplyDecimal('-1.5', '2')).toBe('-3');
    expect(compareDecimal('1.10', '1.1')).toBe(0);
    expect(compareDecimal('0.0001', '0.001')).toBe(-1);
    expect(compareDecimal('-2', '-10')).toBe(1);
  });
});

describe('order state machine', () => {
  const order = { id: 'o', status: 'NEW', updatedAt: 0 } as Order;
  it('allows only the documented transitions', () => {
    expect(canTransition('NEW', 'PARTIALLY_FILLED')).toBe(true);
    expect(canTransition('PARTIALLY_FILLED', 'REJECTED')).toBe(false);
    expect(canTransition('FILLED', 'CANCELED')).toBe(false);
    expect(canTransition('CANCELED', 'NEW')).toBe(false);
    const o = { ...order };
    transition(o, 'FILLED', 5);
    expect(o).toMatchObject({ status: 'FILLED', updatedAt: 5 });
    expect(() => transition(o, 'CANCELED', 6)).toThrow(IllegalTransitionError);
  });

  it('ids name their home region', () => {
    const sid = newSessionId('eu-west-1', Date.now());
    const oid = orderId(sid, 7);
    expect(homeRegion(sid)).toBe('eu-west-1');
    expect(homeRegion(oid)).toBe('eu-west-1');
    expect(parseOrderId(oid)).toEqual({ sessionId: sid, n: 7 });
    expect(parseOrderId('ses_x_1')).toBeNull();
  });
});
