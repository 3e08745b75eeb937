/**
 * Composite indices: normalization of raw indicator values to [0, 1], and weighted aggregation
 * over a hierarchy (dimensions of indicators). Pure functions; the evaluation engine
 * (src/indicators/evaluation.ts) feeds them values from the indicator dictionary.
 *
 * Normalization methods, each named after the index that uses it:
 * - `minmax` — relative min–max over the units compared: (x − min) / (max − min).
 * - `egdi` — UN E-Government Development Index (UN E-Government Survey, Annex "Survey
 *   Methodology"): each component is z-score standardised, then min–max normalised to 0–1. A
 *   z-score is an increasing affine map, and min–max is invariant under those, so the result equals
 *   plain min–max of the (capped) raw values; it is computed the documented way all the same. The
 *   optional `cap` is the TII rule: subscriptions per 100 inhabitants are capped (at 120) before
 *   standardising, so saturation does not reward more SIM cards.
 * - `fixed` — EU DESI (Digital Economy and Society Index methodological note): min–max against fixed
 *   bounds chosen once, (x − lo) / (hi − lo) clamped to [0, 1], so scores of different years and
 *   different sets of units compare.
 * - `binary` — UN LOSI (Local Online Service Index): each indicator is a yes/no feature (1/0); a
 *   criterion's score is the share of its features present (arithmetic mean with equal weights).
 *
 * `direction: 'lower'` (e.g. days to process) mirrors the normalised value: 1 − v.
 *
 * Aggregation: `arithmetic` Σ wᵢvᵢ / Σ wᵢ; `geometric` Π vᵢ^(wᵢ/Σw) (a zero in any part makes the
 * whole zero — the point of geometric aggregation: weak parts are not compensated).
 *
 * Missing data (stated, not guessed): a missing value is left out and the weights of the values
 * present are renormalised to sum to 1 — within a dimension and across dimensions. A unit whose
 * present weight share falls below `minCoverage` (default 0.5) of the total gets no score (null),
 * so an index is never made of a sliver of its indicators. Coverage is reported with every score.
 */

export type Normalization =
  | { method: 'minmax' }
  | { method: 'egdi'; cap?: number | undefined }
  | { method: 'fixed'; min: number; max: number }
  | { method: 'binary' };

export type Aggregation = 'arithmetic' | 'geometric';

export interface IndicatorSpec {
  code: string;
  weight: number;
  normalization: Normalization;
  direction?: 'higher' | 'lower' | undefined;
}

export interface DimensionSpec {
  code: string;
  weight: number;
  indicators: IndicatorSpec[];
}

export interface IndexSpec {
  aggregation: Aggregation;
  minCoverage?: number | undefined;
  dimensions: DimensionSpec[];
}

/** Raw values: unit → indicator code → value (absent when not reported). */
export type RawTable = Map<string, Map<string, number>>;

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Arithmetic mean and population standard deviation (the survey standardises over all countries). */
export function meanAndSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, sd: Math.sqrt(variance) };
}

export function zScores(values: readonly number[]): number[] {
  const { mean, sd } = meanAndSd(values);
  return values.map((v) => (sd === 0 ? 0 : (v - mean) / sd));
}

/** (x − min) / (max − min) over the set; all equal → every unit gets 1 (nobody is behind). */
export function minMax(values: readonly number[]): number[] {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return values.map((v) => (max === min ? 1 : (v - min) / (max - min)));
}

export function fixedBounds(value: number, min: number, max: number): number {
  if (!(max > min)) throw new RangeError(`fixed bounds need max > min (got ${min}, ${max})`);
  return clamp01((value - min) / (max - min));
}

/**
 * Normalises one indicator across units. `values` holds the units that reported it; the result is
 * keyed the same way.
 */
export function normalize(values: ReadonlyMap<string, number>, spec: IndicatorSpec): Map<string, number> {
  const units = [...values.keys()];
  const raw = units.map((u) => values.get(u)!);
  let scaled: number[];
  const n = spec.normalization;
  switch (n.method) {
    case 'minmax':
      scaled = raw.length ? minMax(raw) : [];
      break;
    case 'egdi': {
      const capped = n.cap === undefined ? raw : raw.map((v) => Math.min(v, n.cap!));
      scaled = raw.length ? minMax(zScores(capped)) : [];
      break;
    }
    case 'fixed':
      scaled = raw.map((v) => fixedBounds(v, n.min, n.max));
      break;
    case 'binary':
      scaled = raw.map((v) => (v > 0 ? 1 : 0));
      break;
  }
  const out = new Map<string, number>();
  units.forEach((u, i) => {
    const v = clamp01(scaled[i]!);
    out.set(u, spec.direction === 'lower' ? 1 - v : v);
  });
  return out;
}

/** Weighted aggregation of the parts present; null when none is. */
export function aggregate(
  parts: ReadonlyArray<{ weight: number; value: number | null }>,
  method: Aggregation,
): { value: number | null; coverage: number } {
  const total = parts.reduce((a, p) => a + p.weight, 0);
  const present = parts.filter((p): p is { weight: number; value: number } => p.value !== null);
  const weight = present.reduce((a, p) => a + p.weight, 0);
  const coverage = total > 0 ? weight / total : 0;
  if (weight === 0) return { value: null, coverage };
  if (method === 'arithmetic') {
    return { value: clamp01(present.reduce((a, p) => a + p.weight * p.value, 0) / weight), coverage };
  }
  if (present.some((p) => p.value === 0)) return { value: 0, coverage };
  const log = present.reduce((a, p) => a + (p.weight / weight) * Math.log(p.value), 0);
  return { value: clamp01(Math.exp(log)), coverage };
}

export interface DimensionScore {
  code: string;
  score: number | null;
  coverage: number;
  /** Share of the composite this dimension contributes (arithmetic aggregation only; sums to the score). */
  contribution: number | null;
}

export interface UnitScore {
  unit: string;
  score: number | null;
  coverage: number;
  rank: number | null;
  dimensions: DimensionScore[];
  /** Indicator code → normalised value, for tracing a score back to its inputs. */
  normalized: Record<string, number>;
}

/** Scores closer than this are equal: the same figures summed in another order differ in the last bits. */
const TIE = 1e-9;

/** Standard competition ranking ("1224"): equal scores share a rank; units without a score have none. */
export function rankScores(scores: ReadonlyArray<number | null>): Array<number | null> {
  return scores.map((s) => (s === null ? null : 1 + scores.filter((o) => o !== null && o > s + TIE).length));
}

/** Computes the index for every unit in `raw`. */
export function computeIndex(spec: IndexSpec, raw: RawTable): UnitScore[] {
  const units = [...raw.keys()].sort();
  const minCoverage = spec.minCoverage ?? 0.5;
  const normalized = new Map<string, Map<string, number>>();
  for (const dimension of spec.dimensions) {
    for (const indicator of dimension.indicators) {
      const values = new Map<string, number>();
      for (const u of units) {
        const v = raw.get(u)!.get(indicator.code);
        if (v !== undefined && Number.isFinite(v)) values.set(u, v);
      }
      normalized.set(indicator.code, normalize(values, indicator));
    }
  }
  const dimensionWeight = spec.dimensions.reduce((a, d) => a + d.weight, 0);
  const results = units.map((unit) => {
    const trace: Record<string, number> = {};
    const dimensions = spec.dimensions.map((dimension) => {
      const parts = dimension.indicators.map((indicator) => {
        const v = normalized.get(indicator.code)!.get(unit);
        if (v !== undefined) trace[indicator.code] = v;
        return { weight: indicator.weight, value: v ?? null };
      });
      const { value, coverage } = aggregate(parts, spec.aggregation);
      return { code: dimension.code, weight: dimension.weight, score: value, coverage };
    });
    const overall = aggregate(
      dimensions.map((d) => ({ weight: d.weight, value: d.score })),
      spec.aggregation,
    );
    // Coverage over the whole tree: the weight share of indicators present.
    const coverage =
      dimensionWeight > 0 ? dimensions.reduce((a, d) => a + d.weight * d.coverage, 0) / dimensionWeight : 0;
    const score = overall.value !== null && coverage >= minCoverage ? overall.value : null;
    const presentWeight = dimensions.reduce((a, d) => a + (d.score === null ? 0 : d.weight), 0);
    return {
      unit,
      score,
      coverage,
      rank: null as number | null,
      normalized: trace,
      dimensions: dimensions.map((d) => ({
        code: d.code,
        score: d.score,
        coverage: d.coverage,
        contribution:
          spec.aggregation === 'arithmetic' && score !== null && d.score !== null && presentWeight > 0
            ? (d.weight * d.score) / presentWeight
            : null,
      })),
    };
  });
  const ranks = rankScores(results.map((r) => r.score));
  results.forEach((r, i) => {
    r.rank = ranks[i]!;
  });
  return results;
}
