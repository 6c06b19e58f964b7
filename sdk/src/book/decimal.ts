/**
 * Exact arithmetic on the API's `Decimal` strings ("64210.5"): prices and sizes never go through
 * a float. Enough for a book — compare, add, subtract — without a decimal library.
 */

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

interface Parsed {
  negative: boolean;
  int: string;
  frac: string;
}

function parse(value: string): Parsed {
  const m = DECIMAL.exec(value);
  if (!m) throw new TypeError(`not a decimal: ${JSON.stringify(value)}`);
  const int = m[2]!.replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const zero = int === '0' && frac === '';
  return { negative: m[1] === '-' && !zero, int, frac };
}

/** Whether `value` is a decimal string the API could send. */
export function isDecimal(value: string): boolean {
  return DECIMAL.test(value);
}

/** The canonical form: no leading or trailing zeros ("064210.50" -> "64210.5", "0.0" -> "0"). */
export function normalizeDecimal(value: string): string {
  const { negative, int, frac } = parse(value);
  return `${negative ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** Whether a decimal string is zero ("0", "0.00"): a size of zero removes a level. */
export function isZeroDecimal(value: string): boolean {
  const { int, frac } = parse(value);
  return int === '0' && frac === '';
}

function compareMagnitude(a: Parsed, b: Parsed): number {
  if (a.int.length !== b.int.length) return a.int.length < b.int.length ? -1 : 1;
  if (a.int !== b.int) return a.int < b.int ? -1 : 1;
  const width = Math.max(a.frac.length, b.frac.length);
  const fa = a.frac.padEnd(width, '0');
  const fb = b.frac.padEnd(width, '0');
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b`; exact for any length. */
export function compareDecimal(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (pa.negative !== pb.negative) return pa.negative ? -1 : 1;
  const m = compareMagnitude(pa, pb);
  return pa.negative ? -m : m;
}

function toScaled(value: string, scale: number): bigint {
  const { negative, int, frac } = parse(value);
  const n = BigInt(int + frac.padEnd(scale, '0'));
  return negative ? -n : n;
}

function fromScaled(n: bigint, scale: number): string {
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return normalizeDecimal(`${negative ? '-' : ''}${int}${frac ? `.${frac}` : ''}`);
}

function scaleOf(values: readonly string[]): number {
  return Math.max(0, ...values.map((v) => parse(v).frac.length));
}

/** `a + b`, exactly. */
export function addDecimal(a: string, b: string): string {
  const scale = scaleOf([a, b]);
  return fromScaled(toScaled(a, scale) + toScaled(b, scale), scale);
}

/** `a - b`, exactly. */
export function subtractDecimal(a: string, b: string): string {
  const scale = scaleOf([a, b]);
  return fromScaled(toScaled(a, scale) - toScaled(b, scale), scale);
}

/** The sum of decimal strings, exactly ("0" for none). */
export function sumDecimals(values: readonly string[]): string {
  const scale = scaleOf(values);
  return fromScaled(
    values.reduce((sum, v) => sum + toScaled(v, scale), 0n),
    scale,
  );
}
