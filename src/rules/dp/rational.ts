/**
 * Exact non-negative rationals on BigInt, for the samplers and the budget: no floating point
 * touches a noise draw or a budget spend.
 */
export interface Rational {
  readonly n: bigint;
  readonly d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export function rational(n: bigint, d = 1n): Rational {
  if (d === 0n) throw new RangeError('zero denominator');
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
}

export const add = (a: Rational, b: Rational) => rational(a.n * b.d + b.n * a.d, a.d * b.d);
export const sub = (a: Rational, b: Rational) => rational(a.n * b.d - b.n * a.d, a.d * b.d);
export const mul = (a: Rational, b: Rational) => rational(a.n * b.n, a.d * b.d);
export const div = (a: Rational, b: Rational) => rational(a.n * b.d, a.d * b.n);
export const cmp = (a: Rational, b: Rational) => {
  const l = a.n * b.d;
  const r = b.n * a.d;
  return l < r ? -1 : l > r ? 1 : 0;
};
export const floor = (a: Rational) => (a.n >= 0n ? a.n / a.d : -((-a.n + a.d - 1n) / a.d));
export const toNumber = (a: Rational) => Number(a.n) / Number(a.d);

/** Exact parse of a decimal string ("0.03125", "1e-3", "2"): the API's ρ values. */
export function parseDecimal(text: string): Rational {
  const match = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d{1,3}))?$/.exec(text.trim());
  if (!match) throw new RangeError(`not a non-negative decimal: ${text}`);
  const [, whole, fraction = '', exponent = '0'] = match;
  let n = BigInt(whole! + fraction);
  let d = 10n ** BigInt(fraction.length);
  const e = Number(exponent);
  if (e >= 0) n *= 10n ** BigInt(e);
  else d *= 10n ** BigInt(-e);
  return rational(n, d);
}

/** A JS number as the exact rational it denotes (every finite double is a dyadic rational). */
export function fromNumber(x: number): Rational {
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`not a non-negative finite number: ${x}`);
  // toString round-trips a double; parse it exactly as a decimal.
  const text = x.toString();
  return parseDecimal(text.includes('e') && !text.includes('.') ? text : text);
}

/** Fixed-point decimal rendering of a non-negative rational, rounded up at `places` (a spend is never understated) or down (nor a remainder overstated). */
export function toDecimal(a: Rational, places = 12, round: 'up' | 'down' = 'up'): string {
  const scale = 10n ** BigInt(places);
  const scaled = round === 'up' ? (a.n * scale + a.d - 1n) / a.d : (a.n * scale) / a.d;
  const whole = scaled / scale;
  const frac = (scaled % scale).toString().padStart(places, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/** floor(sqrt(n)) for a non-negative BigInt (Newton). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('negative');
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x = (x + n / x) >> 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}
