import { div, mul, type Rational, rational, toNumber } from './rational.ts';

/**
 * Zero-concentrated differential privacy (Bun & Steinke 2016). The discrete Gaussian with
 * variance parameter σ² on a query of L2 sensitivity Δ is ρ-zCDP with ρ = Δ²/(2σ²)
 * (Canonne, Kamath & Steinke 2020, Theorem 14); ρ's add up over releases.
 */
export function rhoOfGaussian(sensitivity2: Rational, sigma2: Rational): Rational {
  return div(sensitivity2, mul(rational(2n), sigma2));
}

/** The σ² that spends exactly ρ on a query of squared L2 sensitivity Δ²: σ² = Δ²/(2ρ). */
export function sigma2For(sensitivity2: Rational, rho: Rational): Rational {
  return div(sensitivity2, mul(rational(2n), rho));
}

/**
 * The tight conversion of ρ-zCDP to (ε, δ)-DP of Canonne, Kamath & Steinke 2020, Corollary 13:
 *   δ = inf_{α>1} exp((α−1)(αρ−ε)) / (α−1) · (1 − 1/α)^α,
 * solved for ε:  ε = inf_{α>1} αρ + (ln(1/δ) + α·ln(1 − 1/α) − ln(α − 1)) / (α − 1).
 * (Public arithmetic on the budget, not on data: doubles are fine here.) Rounded up at 1e-9.
 */
export function epsilonOf(rho: number, delta: number): number {
  if (!(delta > 0 && delta < 1)) throw new RangeError('δ must be in (0, 1)');
  if (rho <= 0) return 0;
  const f = (alpha: number) =>
    alpha * rho + (Math.log(1 / delta) + alpha * Math.log1p(-1 / alpha) - Math.log(alpha - 1)) / (alpha - 1);
  // f is unimodal in α on (1, ∞): golden-section search on ln(α − 1).
  let lo = Math.log(1e-9);
  let hi = Math.log(1e9);
  const g = (u: number) => f(1 + Math.exp(u));
  const phi = (Math.sqrt(5) - 1) / 2;
  let a = hi - phi * (hi - lo);
  let b = lo + phi * (hi - lo);
  let fa = g(a);
  let fb = g(b);
  for (let i = 0; i < 200; i++) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = g(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = g(b);
    }
  }
  const simple = rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
  const eps = Math.min(Math.min(fa, fb), simple);
  return Math.ceil(eps * 1e9) / 1e9;
}

/**
 * The half-width h of a 95% interval of discrete Gaussian noise of variance parameter σ²:
 * P(|X| ≤ h) ≥ 0.95. The discrete Gaussian's variance is below σ² and its tails below the
 * continuous one's on the integers (CKS 2020, Proposition 19), so ⌈1.96σ⌉ covers at least 95%.
 */
export function ci95HalfWidth(sigma2: Rational): number {
  return Math.ceil(1.959964 * Math.sqrt(toNumber(sigma2)));
}

/**
 * Gaussian partition selection: a group whose key is not from a public domain is released
 * only if its noisy count reaches τ. A unit alone adds at most L∞ to at most L0 groups; the
 * chance that such a group's noise lifts it over τ is at most δ (subgaussian tail
 * P(X ≥ x) ≤ exp(−x²/2σ²), union over L0 groups). The contract's k is a pre-threshold.
 */
export function partitionThreshold(
  sigma2: Rational,
  l0: number,
  linf: number,
  k: number,
  delta: number,
): number {
  const sigma = Math.sqrt(toNumber(sigma2));
  return Math.max(k, linf) + Math.ceil(sigma * Math.sqrt(2 * Math.log(l0 / delta)));
}
