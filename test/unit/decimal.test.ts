import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDecimal,
  canonicalDecimal,
  formatDecimal,
  isDecimalString,
  isZeroDecimal,
  midpointDecimal,
  parseDecimal,
  subtractDecimal,
  ticksToDecimal,
} from '../../src/marketdata/decimal.ts';

const CANONICAL_RE = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/** Independent of decimal.ts: the value of a decimal string as an integer count of 10^-scale. */
function scaledAt(value: string, scale: number): bigint {
  const negative = value.startsWith('-');
  const [whole = '', fraction = ''] = value.replace(/^-/, '').split('.');
  if (fraction.replace(/0+$/, '').length > scale) throw new Error(`${value} has more than ${scale} places`);
  const units = BigInt(whole + fraction.padEnd(scale, '0').slice(0, scale));
  return negative ? -units : units;
}

function expectCanonical(value: string): void {
  expect(value).toMatch(CANONICAL_RE);
  expect(value).not.toBe('-0');
}

/** A decimal as (units, scale) plus a string spelling of it, with optional leading/trailing zeros. */
const spelledDecimal = fc
  .record({
    units: fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }),
    scale: fc.nat({ max: 12 }),
    leadingZeros: fc.nat({ max: 2 }),
    trailingZeros: fc.nat({ max: 3 }),
  })
  .map(({ units, scale, leadingZeros, trailingZeros }) => {
    const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, '0');
    const whole = '0'.repeat(leadingZeros) + digits.slice(0, digits.length - scale);
    const fraction = digits.slice(digits.length - scale) + '0'.repeat(scale > 0 ? trailingZeros : 0);
    const text = `${units < 0n ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
    return { units, scale, text };
  });

describe('parseDecimal / formatDecimal / canonicalDecimal', () => {
  it('canonicalises the documented example and zero spellings', () => {
    expect(canonicalDecimal('064210.50')).toBe('64210.5');
    expect(canonicalDecimal('0.000')).toBe('0');
    expect(canonicalDecimal('-0.0')).toBe('0');
    expect(canonicalDecimal('100')).toBe('100');
    expect(canonicalDecimal('0.010')).toBe('0.01');
  });

  it('rejects what is not a decimal string', () => {
    for (const bad of ['', '.5', '5.', '1e3', '+1', ' 1', '1,5', 'NaN', '0x10', '--1', '1.2.3']) {
      expect(isDecimalString(bad), bad).toBe(false);
      expect(() => parseDecimal(bad), bad).toThrow(RangeError);
    }
    expect(isDecimalString('1'.repeat(65))).toBe(false);
  });

  it('isDecimalString agrees with the decimal pattern on arbitrary strings (property)', () => {
    const pattern = /^(-)?(\d+)(?:\.(\d+))?$/;
    const decimalish = fc
      .array(fc.constantFrom('0', '1', '9', '-', '.', 'e', ' ', '+', '٣', '\n'), { maxLength: 70 })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(fc.oneof(decimalish, fc.string({ maxLength: 70 })), (value) => {
        expect(isDecimalString(value)).toBe(pattern.test(value) && value.length <= 64);
      }),
      { numRuns: 5_000 },
    );
    expect(isDecimalString('1'.repeat(64))).toBe(true);
    expect(isDecimalString('-0.5')).toBe(true);
    expect(isDecimalString('12\n')).toBe(false);
  });

  it('keeps the exact value through parse, format and canonical (property)', () => {
    fc.assert(
      fc.property(spelledDecimal, ({ units, scale, text }) => {
        expect(isDecimalString(text) || text.length > 64).toBe(true);
        const canonical = canonicalDecimal(text);
        expectCanonical(canonical);
        expect(scaledAt(canonical, scale)).toBe(units);
        expect(formatDecimal(parseDecimal(text))).toBe(canonical);
        expect(formatDecimal({ units, scale })).toBe(canonical);
        // Idempotent, and a canonical string parses back to itself.
        expect(canonicalDecimal(canonical)).toBe(canonical);
        expect(isZeroDecimal(text)).toBe(units === 0n);
      }),
    );
  });
});

describe('exact arithmetic', () => {
  it('has no float artefacts', () => {
    expect(addDecimal('0.1', '0.2')).toBe('0.3');
    expect(subtractDecimal('0.3', '0.1')).toBe('0.2');
    expect(addDecimal('64210.4', '0.1')).toBe('64210.5');
    expect(midpointDecimal('64210.5', '64210.6')).toBe('64210.55');
    expect(midpointDecimal('1', '2')).toBe('1.5');
    expect(midpointDecimal('0.1', '0.2')).toBe('0.15');
    expect(subtractDecimal('1', '1.000')).toBe('0');
  });

  it('add and subtract agree with BigInt arithmetic on scaled integers (property)', () => {
    fc.assert(
      fc.property(spelledDecimal, spelledDecimal, (a, b) => {
        const scale = Math.max(a.scale, b.scale);
        const x = a.units * 10n ** BigInt(scale - a.scale);
        const y = b.units * 10n ** BigInt(scale - b.scale);
        const sum = addDecimal(a.text, b.text);
        const difference = subtractDecimal(a.text, b.text);
        expectCanonical(sum);
        expectCanonical(difference);
        expect(scaledAt(sum, scale)).toBe(x + y);
        expect(scaledAt(difference, scale)).toBe(x - y);
        expect(addDecimal(b.text, a.text)).toBe(sum);
      }),
    );
  });

  it('midpoint is exact with one extra place (property)', () => {
    fc.assert(
      fc.property(spelledDecimal, spelledDecimal, (a, b) => {
        const scale = Math.max(a.scale, b.scale);
        const x = a.units * 10n ** BigInt(scale - a.scale);
        const y = b.units * 10n ** BigInt(scale - b.scale);
        const mid = midpointDecimal(a.text, b.text);
        expectCanonical(mid);
        expect(scaledAt(mid, scale + 1) * 2n).toBe((x + y) * 10n);
        expect(midpointDecimal(b.text, a.text)).toBe(mid);
      }),
    );
  });

  it('sums on a 0.01 grid never grow extra places, unlike floats', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { maxLength: 30 }), (cents) => {
        let total = '0';
        for (const c of cents) total = addDecimal(total, ticksToDecimal(c, '0.01'));
        expect(scaledAt(total, 2)).toBe(cents.reduce((s, c) => s + BigInt(c), 0n));
      }),
    );
  });
});

describe('ticksToDecimal', () => {
  it('formats tick counts exactly', () => {
    expect(ticksToDecimal(642105, '0.1')).toBe('64210.5');
    expect(ticksToDecimal(3, '0.1')).toBe('0.3');
    expect(ticksToDecimal(42137, '0.000001')).toBe('0.042137');
    expect(ticksToDecimal(0, '0.01')).toBe('0');
    expect(ticksToDecimal(7, '5')).toBe('35');
  });

  it('equals ticks x tickSize (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        spelledDecimal.filter((d) => d.units > 0n),
        (ticks, tick) => {
          const value = ticksToDecimal(ticks, tick.text);
          expectCanonical(value);
          expect(scaledAt(value, tick.scale)).toBe(BigInt(ticks) * tick.units);
        },
      ),
    );
  });
});
