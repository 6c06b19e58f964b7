/**
 * Exact decimal arithmetic for tests, independent of src/marketdata/decimal.ts: a decimal string
 * as a BigInt count of 10^-SCALE.
 */
export const SCALE = 24;

export function units(value: string): bigint {
  const negative = value.startsWith('-');
  const [whole = '0', fraction = ''] = value.replace(/^-/, '').split('.');
  if (fraction.length > SCALE) throw new Error(`${value} has more than ${SCALE} places`);
  const u = BigInt(whole + fraction.padEnd(SCALE, '0'));
  return negative ? -u : u;
}

export function decimal(u: bigint): string {
  const negative = u < 0n;
  const digits = (negative ? -u : u).toString().padStart(SCALE + 1, '0');
  const whole = digits.slice(0, -SCALE);
  const fraction = digits.slice(-SCALE).replace(/0+$/, '');
  const text = fraction ? `${whole}.${fraction}` : whole;
  return negative && text !== '0' ? `-${text}` : text;
}

/** a × b for decimal strings, as units. */
export function product(a: string, b: string): bigint {
  return (units(a) * units(b)) / 10n ** BigInt(SCALE);
}

/** n / d (units) rounded half away from zero to `places`, as a decimal string. */
export function ratio(n: bigint, d: bigint, places: number): string {
  const negative = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  const scaled = an * 10n ** BigInt(places);
  let q = scaled / ad;
  if ((scaled % ad) * 2n >= ad) q += 1n;
  const signed = negative ? -q : q;
  return decimal(signed * 10n ** BigInt(SCALE - places));
}
