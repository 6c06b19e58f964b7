/**
 * Exact decimal arithmetic on strings, for prices and sizes that reach the API.
 * A value is held as a scaled BigInt (`units / 10^scale`), so nothing is ever rounded
 * through a float. Ordering inside books uses `Number(price)` as a fast key and this exact
 * comparison where two prices are equal as doubles (`comparePrice` in order-book.ts).
 */
const DECIMAL_RE = /^(-)?(\d+)(?:\.(\d+))?$/;

export interface ScaledDecimal {
  units: bigint;
  scale: number;
}

/**
 * Whether `value` is a decimal string (`DECIMAL_RE`: optional `-`, digits, optionally `.` and
 * digits) of at most 64 characters. Every price and size passes here on ingest and again as the
 * `Decimal` scalar serialises it (84 values per `orderBook(depth: 20)`), so it is a loop over the
 * characters rather than the regular expression, which cost ~10× as much per value in the server's
 * profile; test/unit/decimal.test.ts checks both agree on arbitrary strings.
 */
export function isDecimalString(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > 64) return false;
  let i = value.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const whole = i;
  while (i < length && isDigit(value.charCodeAt(i))) i++;
  if (i === whole) return false;
  if (i === length) return true;
  if (value.charCodeAt(i) !== 46 /* . */) return false;
  const fraction = ++i;
  while (i < length && isDigit(value.charCodeAt(i))) i++;
  return i === length && i > fraction;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
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
  // Feeds almost always send canonical strings already; skip the BigInt round trip for those.
  if (CANONICAL_RE.test(value)) return value;
  return formatDecimal(parseDecimal(value));
}

const CANONICAL_RE = /^(?:-?[1-9]\d*|0|-0(?=\.))(?:\.\d*[1-9])?$/;

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

/** Exact product: scales add, nothing is rounded. */
export function multiplyDecimal(a: string, b: string): string {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  return formatDecimal({ units: x.units * y.units, scale: x.scale + y.scale });
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`, compared exactly. */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const [x, y] = align(parseDecimal(a), parseDecimal(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `a / b` rounded half away from zero to `places` decimal places: the one place where a ratio
 * (a percentage, basis points) has to be cut, and it is cut the same way every time.
 */
export function divideDecimal(a: string, b: string, places: number): string {
  const [x, y] = align(parseDecimal(a), parseDecimal(b));
  if (y === 0n) throw new RangeError('division by zero');
  const numerator = x * 10n ** BigInt(places);
  const negative = numerator < 0n !== y < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = y < 0n ? -y : y;
  let q = n / d;
  if ((n % d) * 2n >= d) q += 1n;
  return formatDecimal({ units: negative ? -q : q, scale: places });
}

/**
 * The decimal a venue sent, back from the float a library parsed it into (ccxt's books hold
 * numbers). A double carries 15 significant decimal digits exactly, so printing 15 and dropping
 * trailing zeros returns the venue's string for any value of up to 15 significant digits, and
 * turns float artefacts (`0.30000000000000004`) back into the decimal they stand for.
 */
export function decimalFromNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  const text = value.toPrecision(15);
  const exponential = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!exponential) return canonicalDecimal(text);
  const [, sign = '', lead = '', fraction = '', exp = '0'] = exponential;
  const power = Number(exp) - fraction.length;
  const digits = BigInt(`${sign}${lead}${fraction}`);
  return power >= 0
    ? formatDecimal({ units: digits * 10n ** BigInt(power), scale: 0 })
    : formatDecimal({ units: digits, scale: -power });
}

/** Decimal places of a decimal string: 2 for "0.01", 0 for "5". */
export function decimalPlaces(value: string): number {
  return parseDecimal(canonicalDecimal(value)).scale;
}
