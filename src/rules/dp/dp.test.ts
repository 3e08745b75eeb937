import { describe, expect, it } from 'vitest';
import {
  bernoulliExp,
  ci95HalfWidth,
  discreteGaussian,
  discreteLaplace,
  epsilonOf,
  gaussianPmf,
  laplacePmf,
  parseDecimal,
  planRelease,
  rational,
  release,
  rhoOfGaussian,
  seededSource,
  toNumber,
} from './index.ts';

/** Pearson's chi-square of `draws` against `pmf`, bins |x| ≤ span, the tails pooled. */
function chiSquare(draws: bigint[], pmf: (x: number) => number, span: number) {
  const counts = new Map<number, number>();
  for (const d of draws) {
    const x = Math.max(-span - 1, Math.min(span + 1, Number(d)));
    counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  let inside = 0;
  let stat = 0;
  for (let x = -span; x <= span; x++) {
    const p = pmf(x);
    inside += p;
    const expected = p * draws.length;
    stat += ((counts.get(x) ?? 0) - expected) ** 2 / expected;
  }
  const tail = (1 - inside) * draws.length;
  const observedTail = (counts.get(-span - 1) ?? 0) + (counts.get(span + 1) ?? 0);
  if (tail > 5) stat += (observedTail - tail) ** 2 / tail;
  return { stat, dof: 2 * span + (tail > 5 ? 1 : 0) };
}

// The chi-square 99.9% quantile is below dof + 4.5·√(2·dof) + 10 for these dofs (Wilson–Hilferty).
const critical = (dof: number) => dof + 4.5 * Math.sqrt(2 * dof) + 10;

describe('exact samplers (Canonne, Kamath, Steinke 2020)', () => {
  it('Bernoulli(exp(−γ)) hits exp(−γ) for γ below and above 1', () => {
    // Also given in other than lowest terms (the samplers build such fractions in their loops).
    for (const [gamma, n] of [
      [rational(1n, 3n), 20_000],
      [rational(5n, 2n), 20_000],
      [{ n: 2n, d: 6n }, 20_000],
      [{ n: 10n, d: 4n }, 20_000],
    ] as const) {
      const source = seededSource(`bexp-${gamma.n}/${gamma.d}`);
      let hits = 0;
      for (let i = 0; i < n; i++) if (bernoulliExp(gamma, source)) hits++;
      const p = Math.exp(-toNumber(gamma));
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(hits / n - p)).toBeLessThan(4 * sd);
    }
  });

  it('the discrete Laplace matches its exact PMF (chi-square, fixed seed)', () => {
    const source = seededSource('laplace');
    const draws = Array.from({ length: 20_000 }, () => discreteLaplace(rational(5n, 2n), source));
    const { stat, dof } = chiSquare(draws, (x) => laplacePmf(2.5, x), 8);
    expect(stat).toBeLessThan(critical(dof));
  });

  it('the discrete Gaussian matches its exact PMF (chi-square, fixed seed), also for a rational σ²', () => {
    for (const [sigma2, span] of [
      [rational(9n), 7],
      [rational(7n, 3n), 4],
    ] as const) {
      const source = seededSource(`gauss-${sigma2.n}/${sigma2.d}`);
      const draws = Array.from({ length: 20_000 }, () => discreteGaussian(sigma2, source));
      const { stat, dof } = chiSquare(draws, (x) => gaussianPmf(toNumber(sigma2), x, 200), span);
      expect(stat).toBeLessThan(critical(dof));
    }
  });

  it('a wrong distribution fails the same test (the test has power)', () => {
    const source = seededSource('power');
    const draws = Array.from({ length: 20_000 }, () => discreteGaussian(rational(12n), source));
    const { stat, dof } = chiSquare(draws, (x) => gaussianPmf(9, x, 200), 7);
    expect(stat).toBeGreaterThan(critical(dof));
  });

  it('draws are integers for huge σ² (sums scaled by a precision) and centred', () => {
    const source = seededSource('huge');
    const sigma2 = rational(10n ** 30n);
    const draws = Array.from({ length: 200 }, () => discreteGaussian(sigma2, source));
    const mean = draws.reduce((a, b) => a + b, 0n) / 200n;
    // σ = 10^15; the mean of 200 draws is within 4σ/√200 ≈ 2.9·10^14.
    expect(mean < 3n * 10n ** 14n && mean > -3n * 10n ** 14n).toBe(true);
    expect(draws.some((d) => d > 10n ** 14n || d < -(10n ** 14n))).toBe(true);
  });

  it('ranges above 2^48 (drawn from bytes) are uniform (chi-square, fixed seed)', () => {
    const source = seededSource('big-range');
    const n = 3n * 2n ** 70n + 1n;
    const bins = new Array<number>(6).fill(0);
    for (let i = 0; i < 12_000; i++) {
      const x = source.below(n);
      expect(x >= 0n && x < n).toBe(true);
      bins[Number((x * 6n) / n)]!++;
    }
    const stat = bins.reduce((acc, c) => acc + (c - 2000) ** 2 / 2000, 0);
    expect(stat).toBeLessThan(critical(5));
  });

  it('the discrete Gaussian of a sum-sized σ² (8·10^11) has the normal shape in units of σ (chi-square, fixed seed)', () => {
    const source = seededSource('sum-sized');
    const sigma = Math.sqrt(8e11);
    // P(Z ≤ −2), P(−2 < Z ≤ −1), P(−1 < Z ≤ 0), then the mirror image.
    const half = [0.0227501, 0.1359051, 0.3413447];
    const expected = [...half, ...[...half].reverse()];
    const bins = new Array<number>(6).fill(0);
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const z = Number(discreteGaussian(rational(800_000_000_000n), source)) / sigma;
      bins[z <= -2 ? 0 : z <= -1 ? 1 : z <= 0 ? 2 : z <= 1 ? 3 : z <= 2 ? 4 : 5]!++;
    }
    const stat = bins.reduce((acc, c, i) => acc + (c - n * expected[i]!) ** 2 / (n * expected[i]!), 0);
    expect(stat).toBeLessThan(critical(5));
  });

  it('the 95% half-width covers at least 95% of the noise', () => {
    for (const sigma2 of [rational(1n, 4n), rational(2n), rational(50n)]) {
      const source = seededSource(`cover-${sigma2.n}`);
      const h = BigInt(ci95HalfWidth(sigma2));
      let inside = 0;
      for (let i = 0; i < 4000; i++) {
        const x = discreteGaussian(sigma2, source);
        if (x <= h && x >= -h) inside++;
      }
      expect(inside / 4000).toBeGreaterThan(0.94);
    }
  });
});

describe('zCDP accounting', () => {
  it('Gaussian noise of scale 4 on sensitivity 1 is ρ = 1/32, ε ≈ 0.688 at δ = 1e-3 (CKS tight conversion)', () => {
    const rho = rhoOfGaussian(rational(1n), rational(16n));
    expect(rho).toEqual(rational(1n, 32n));
    const eps = epsilonOf(toNumber(rho), 1e-3);
    expect(eps).toBeCloseTo(0.688, 3);
    // Tighter than the simple ρ + 2√(ρ ln(1/δ)).
    expect(eps).toBeLessThan(1 / 32 + 2 * Math.sqrt(Math.log(1000) / 32));
  });

  it('parses ρ exactly', () => {
    expect(parseDecimal('0.03125')).toEqual(rational(1n, 32n));
    expect(parseDecimal('1e-3')).toEqual(rational(1n, 1000n));
    expect(() => parseDecimal('-1')).toThrow();
  });
});

describe('release plans', () => {
  const settings = {
    unit: 'person_id',
    maxGroups: 2,
    maxRowsPerGroup: 3,
    bounds: {
      visits: { lower: 0, upper: 10, precision: 0 },
      amount: { lower: 0, upper: 100.5, precision: 1 },
    },
    domains: { district: ['A', 'B', 'C'] },
  };

  it('splits ρ over measurements and derives σ² = Δ²/(2ρ) from L0, L∞ and the bounds', () => {
    const plan = planRelease(
      settings,
      [{ fn: 'count' }, { fn: 'sum', field: 'amount' }],
      ['district'],
      rational(1n),
      10,
    );
    const [count, sum] = plan.measurements;
    // Count: Δ² = L0·L∞² = 2·9 = 18, ρ each 1/2 → σ² = 18.
    expect(count!.sigma2).toEqual(rational(18n));
    // Sum: bound 1005 (scaled by 10), Δ² = 2·(3·1005)² → σ² = Δ².
    expect(sum!.sigma2).toEqual(rational(2n * (3n * 1005n) ** 2n));
    expect(plan.threshold).toBeNull();
  });

  it('a public domain releases every key, found or not; private keys pass a noisy threshold', () => {
    const plan = planRelease(settings, [{ fn: 'count' }], ['district'], rational(1n), 10);
    const out = release(plan, [{ g0: 'A', count: '40' }], seededSource('release'));
    expect(out.rows.map((r) => r.district)).toEqual(['A', 'B', 'C']);
    const privatePlan = planRelease(
      { ...settings, domains: {} },
      [{ fn: 'count' }],
      ['district'],
      rational(1n),
      10,
    );
    const rows = [
      { g0: 'A', count: '1000' },
      { g0: 'B', count: '1' },
    ];
    const out2 = release(privatePlan, rows, seededSource('release2'));
    expect(out2.rows.map((r) => r.district)).toEqual(['A']);
    expect(out2.ci95[0]!.count![1] - out2.ci95[0]!.count![0]).toBeGreaterThan(0);
  });

  it('a NULL group key is its own group, released as null — not merged with the empty string', () => {
    const privatePlan = planRelease(
      { ...settings, domains: {} },
      [{ fn: 'count' }],
      ['district'],
      rational(1n),
      10,
    );
    const rows = [
      { g0: null, count: '100000' },
      { g0: '', count: '500000' },
    ];
    const out = release(privatePlan, rows, seededSource('null-key'));
    expect(out.rows.map((r) => r.district)).toEqual([null, '']);
    // Each group carries its own count (noise is a few dozen here), not the other's.
    expect(Math.abs(Number(out.rows[0]!.count) - 100000)).toBeLessThan(1000);
    expect(Math.abs(Number(out.rows[1]!.count) - 500000)).toBeLessThan(1000);
  });
});
