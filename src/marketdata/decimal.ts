/**
 * Exact decimal arithmetic on strings, for prices and sizes that reach the API.
 * A value is held as a scaled BigInt (`units / 10^scale`), so nothing is ever rounded
 * through a float. Ordering inside books uses `Number(price)`, which is exact enough to
 * order distinct decimals of fewer than 15 significant digits; the string stays the truth.
 */
const DECIMAL_RE = /^(-)?(\d+)(?:\.(\d+))?$/;

export interface ScaledDecimal {
  units: bigint;
  scale: number;
}

export function isDecimalString(value: string): boolean {
  return DECIMAL_RE.test(value) && value.length <= 64;
}

export function parseDecimal(value: string): ScaledDecimal {
  const match = DECIMAL_RE.exec(value);
  if (!match) throw new RangeError(`not a decimal string: ${JSON.stringify(value)}`);
  const [, sign, whole, fraction = ''] = match;
  const units = BigInt(`${whole}${fraction}`);
  return { units: sign ? -units : units, scale: fraction.length };
}

export function formatDecimal({ units, scale }: ScaledDecimal): string {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    const whole = digits.slice(0, -scale);
    const fraction = digits.slice(-scale).replace(/0+$/, '');
    digits = fraction ? `${whole}.${fraction}` : whole;
  }
  return negative && digits !== '0' ? `-${digits}` : digits;
}

/** Canonical form: no trailing fractional zeros, no leading zeros ("064210.50" -> "64210.5"). */
export function canonicalDecimal(value: string): string {
  return formatDecimal(parseDecimal(value));
}

function align(a: ScaledDecimal, b: ScaledDecimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
}

export function addDecimal(a: string, b: string): string {
  const [x, y, scale] = align(parseDecimal(a), parseDecimal(b));
  return formatDecimal({ units: x + y, scale });
}

export function subtractDecimal(a: string, b: string): string {
  const [x, y, scale] = align(parseDecimal(a), parseDecimal(b));
  return formatDecimal({ units: x - y, scale });
}

/** Exact midpoint: one extra decimal place always suffices for a division by two. */
export function midpointDecimal(a: string, b: string): string {
  const [x, y, scale] = align(parseDecimal(a), parseDecimal(b));
  return formatDecimal({ units: ((x + y) * 10n) / 2n, scale: scale + 1 });
}

export function isZeroDecimal(value: string): boolean {
  return parseDecimal(value).units === 0n;
}

/** Formats an integer count of ticks as a decimal, given the tick size as a decimal string. */
export function ticksToDecimal(ticks: number, tickSize: string): string {
  const tick = parseDecimal(tickSize);
  return formatDecimal({ units: BigInt(ticks) * tick.units, scale: tick.scale });
}
