import { createHash, randomBytes, randomInt } from 'node:crypto';
import { floor, isqrt, type Rational } from './rational.ts';

/**
 * Exact samplers of Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential
 * Privacy" (NeurIPS 2020), Algorithms 1–3: Bernoulli(exp(−γ)), the discrete Laplace and the
 * discrete Gaussian, on BigInt with rational parameters. Every branch is decided by comparing
 * uniform integers, so the output follows the stated distribution exactly — no floating point,
 * hence none of the attacks on floating-point noise (Mironov 2012; Casacuberta et al. 2022).
 */
export interface RandomSource {
  /** A uniform integer in [0, n), n ≥ 1. */
  below(n: bigint): bigint;
}

const RANDOM_INT_LIMIT = 2n ** 48n - 1n;

/** Bits of n ≥ 1, without formatting n as a binary string. */
function bitLength(n: bigint): number {
  let bits = 0;
  while (n >= 1n << 64n) {
    n >>= 64n;
    bits += 64;
  }
  let low = Number(n);
  while (low >= 1) {
    low = Math.floor(low / 2);
    bits++;
  }
  return bits;
}

/** Rejection sampling on ⌈bits/8⌉ bytes, the excess bits dropped: uniform on [0, n), acceptance ≥ 1/2. */
function belowFromBytes(n: bigint, bytes: (count: number) => Buffer): bigint {
  const bits = bitLength(n);
  const count = Math.ceil(bits / 8);
  const excess = BigInt(count * 8 - bits);
  for (;;) {
    const chunk = bytes(count);
    let value = 0n;
    let i = 0;
    for (; i + 6 <= count; i += 6) value = (value << 48n) | BigInt(chunk.readUIntBE(i, 6));
    if (i < count) value = (value << BigInt(8 * (count - i))) | BigInt(chunk.readUIntBE(i, count - i));
    value >>= excess;
    if (value < n) return value;
  }
}

/**
 * The CSPRNG's bytes taken from a pool refilled 4 KiB at a time: one call into OpenSSL per pool,
 * not per draw (the noise of a sum asks for ranges above 2^48 several times per number).
 */
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;
function pooledBytes(count: number): Buffer {
  if (poolAt + count > pool.length) {
    pool = randomBytes(Math.max(POOL_SIZE, count));
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + count);
  poolAt += count;
  return out;
}

/** The operating system's CSPRNG through node:crypto: what releases use. */
export const cryptoSource: RandomSource = {
  below(n) {
    if (n < 1n) throw new RangeError('below(n) needs n ≥ 1');
    if (n <= RANDOM_INT_LIMIT) return BigInt(randomInt(Number(n)));
    return belowFromBytes(n, pooledBytes);
  },
};

/**
 * A deterministic source for tests (SHA-256 in counter mode from a seed): same seed, same
 * draws. Never used for a release.
 */
export function seededSource(seed: string): RandomSource {
  let counter = 0;
  let pool = Buffer.alloc(0);
  const bytes = (count: number) => {
    while (pool.length < count) {
      const block = createHash('sha256').update(`${seed}:${counter++}`).digest();
      pool = Buffer.concat([pool, block]);
    }
    const out = pool.subarray(0, count);
    pool = pool.subarray(count);
    return out;
  };
  return {
    below(n) {
      if (n < 1n) throw new RangeError('below(n) needs n ≥ 1');
      return belowFromBytes(n, bytes);
    },
  };
}

/**
 * A fraction n/d (d > 0) not reduced to lowest terms. The samplers only compare uniform integers
 * with numerators (P(below(d) < n) = n/d whatever the common factors), so the gcd that
 * `rational` takes on every construction — most of a draw's time for a sum's large σ² — is
 * skipped inside the loops. Same distribution, exactly.
 */
const frac = (n: bigint, d: bigint): Rational => ({ n, d });
const ONE = frac(1n, 1n);

/** Bernoulli(p) for a rational p in [0, 1] (lowest terms or not). */
export function bernoulli(p: Rational, source: RandomSource): boolean {
  return source.below(p.d) < p.n;
}

/** Bernoulli(exp(−γ)) for a rational γ ≥ 0 (CKS Algorithm 1), γ in lowest terms or not. */
export function bernoulliExp(gamma: Rational, source: RandomSource): boolean {
  if (gamma.n < 0n || gamma.d <= 0n) throw new RangeError('γ must be ≥ 0');
  if (gamma.n <= gamma.d) {
    // γ ≤ 1: K is the first index with A_K = 0 for A_k ~ Bernoulli(γ/k); exp(−γ) = P(K odd).
    let k = 1n;
    while (source.below(gamma.d * k) < gamma.n) k += 1n;
    return k % 2n === 1n;
  }
  const whole = gamma.n / gamma.d;
  for (let i = 0n; i < whole; i++) if (!bernoulliExp(ONE, source)) return false;
  return bernoulliExp(frac(gamma.n - whole * gamma.d, gamma.d), source);
}

/**
 * The discrete Laplace with scale t (P(x) ∝ exp(−|x|/t)) for a rational t > 0 (CKS Algorithm 2
 * with t = num/den: P(x) ∝ exp(−|x|·den/num)).
 */
export function discreteLaplace(scale: Rational, source: RandomSource): bigint {
  const t = scale.n; // the algorithm's t
  const s = scale.d; // the algorithm's s
  if (t <= 0n) throw new RangeError('scale must be > 0');
  for (;;) {
    const u = source.below(t);
    if (!bernoulliExp(frac(u, t), source)) continue;
    let v = 0n;
    while (bernoulliExp(ONE, source)) v += 1n;
    const x = u + t * v;
    const y = x / s;
    const negative = source.below(2n) === 1n;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** The discrete Gaussian with variance parameter σ² (P(x) ∝ exp(−x²/2σ²)), σ² rational > 0 (CKS Algorithm 3). */
export function discreteGaussian(sigma2: Rational, source: RandomSource): bigint {
  if (sigma2.n <= 0n) throw new RangeError('σ² must be > 0');
  const t = isqrt(floor(sigma2)) + 1n; // ⌊σ⌋ + 1
  for (;;) {
    const y = discreteLaplace(frac(t, 1n), source);
    const abs = y < 0n ? -y : y;
    // γ = (|y| − σ²/t)² / 2σ² with σ² = a/b: (|y|·t·b − a)² / (2·a·t²·b).
    const a = sigma2.n;
    const b = sigma2.d;
    const diff = abs * t * b - a;
    if (bernoulliExp(frac(diff * diff, 2n * a * t * t * b), source)) return y;
  }
}

/** Exact PMFs (as doubles, for tests and the confidence intervals' documentation). */
export function laplacePmf(scale: number, x: number): number {
  const q = Math.exp(-1 / scale);
  return ((1 - q) / (1 + q)) * q ** Math.abs(x);
}

export function gaussianPmf(sigma2: number, x: number, support = 2000): number {
  let z = 0;
  for (let y = -support; y <= support; y++) z += Math.exp((-y * y) / (2 * sigma2));
  return Math.exp((-x * x) / (2 * sigma2)) / z;
}
