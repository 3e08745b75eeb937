import { createHash, randomBytes, randomInt } from 'node:crypto';
import { floor, isqrt, type Rational, rational } from './rational.ts';

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

function belowFromBytes(n: bigint, bytes: (count: number) => Buffer): bigint {
  const bits = n.toString(2).length;
  const count = Math.ceil(bits / 8);
  const excess = BigInt(count * 8 - bits);
  for (;;) {
    const value = BigInt(`0x${bytes(count).toString('hex')}`) >> excess;
    if (value < n) return value;
  }
}

/** The operating system's CSPRNG through node:crypto: what releases use. */
export const cryptoSource: RandomSource = {
  below(n) {
    if (n < 1n) throw new RangeError('below(n) needs n ≥ 1');
    if (n <= RANDOM_INT_LIMIT) return BigInt(randomInt(Number(n)));
    return belowFromBytes(n, randomBytes);
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

/** Bernoulli(p) for a rational p in [0, 1]. */
export function bernoulli(p: Rational, source: RandomSource): boolean {
  return source.below(p.d) < p.n;
}

/** Bernoulli(exp(−γ)) for a rational γ ≥ 0 (CKS Algorithm 1). */
export function bernoulliExp(gamma: Rational, source: RandomSource): boolean {
  if (gamma.n < 0n) throw new RangeError('γ must be ≥ 0');
  if (gamma.n <= gamma.d) {
    // γ ≤ 1: K is the first index with A_K = 0 for A_k ~ Bernoulli(γ/k); exp(−γ) = P(K odd).
    let k = 1n;
    while (bernoulli(rational(gamma.n, gamma.d * k), source)) k += 1n;
    return k % 2n === 1n;
  }
  const whole = floor(gamma);
  for (let i = 0n; i < whole; i++) if (!bernoulliExp(rational(1n), source)) return false;
  return bernoulliExp(rational(gamma.n - whole * gamma.d, gamma.d), source);
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
    if (!bernoulliExp(rational(u, t), source)) continue;
    let v = 0n;
    while (bernoulliExp(rational(1n), source)) v += 1n;
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
    const y = discreteLaplace(rational(t), source);
    const abs = y < 0n ? -y : y;
    // γ = (|y| − σ²/t)² / 2σ² with σ² = a/b: (|y|·t·b − a)² / (2·a·t²·b).
    const a = sigma2.n;
    const b = sigma2.d;
    const diff = abs * t * b - a;
    if (bernoulliExp(rational(diff * diff, 2n * a * t * t * b), source)) return y;
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
