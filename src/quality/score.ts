import { DIMENSIONS, type Dimension } from './schema.ts';

/**
 * Scores and the five-level grade.
 *
 * DB11/T 2317-2024 (北京市《政务数据质量评估规范》) evaluates the six GB/T 36344 dimensions
 * ("六性评估") and rates data in five levels ("五级评级"). Its weights and level thresholds are
 * not in any public text we could read, so the figures below are OUR choice, kept in this one
 * place: dimension weights (completeness, conformance and accuracy weigh most, as the standard's
 * dimension order suggests), and levels on the 0–100 overall score at 90 / 80 / 70 / 60.
 * A dimension without an applicable rule is "not assessed" and the weights of the others are
 * renormalised, so a resource is not rewarded or punished for what nobody declared.
 */
export const WEIGHTS: Record<Dimension, number> = {
  completeness: 0.2,
  conformance: 0.2,
  accuracy: 0.2,
  consistency: 0.15,
  timeliness: 0.15,
  accessibility: 0.1,
};

export const LEVELS = [
  { level: 1, min: 90, zh: '一级（优）', en: 'Level 1 (excellent)' },
  { level: 2, min: 80, zh: '二级（良）', en: 'Level 2 (good)' },
  { level: 3, min: 70, zh: '三级（中）', en: 'Level 3 (fair)' },
  { level: 4, min: 60, zh: '四级（合格）', en: 'Level 4 (acceptable)' },
  { level: 5, min: 0, zh: '五级（不合格）', en: 'Level 5 (poor)' },
] as const;

export function levelOf(score: number): number {
  return LEVELS.find((l) => score >= l.min)!.level;
}

export function levelName(level: number): { 'zh-CN': string; en: string } {
  const l = LEVELS.find((x) => x.level === level) ?? LEVELS[4];
  return { 'zh-CN': l.zh, en: l.en };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** A row rule's score: the share of the rows it judged that pass, 0–100 (null when it judged none). */
export function passScore(checked: number, failed: number): number | null {
  return checked === 0 ? null : round2((100 * (checked - failed)) / checked);
}

/**
 * A null-rate rule: full marks up to the allowed share of empty values, then one point lost per
 * point of share above it (our choice).
 */
export function nullRateScore(rows: number, empty: number, max: number): number | null {
  if (rows === 0) return null;
  const rate = empty / rows;
  return rate <= max ? 100 : round2(Math.max(0, 100 * (1 - (rate - max))));
}

/** Timeliness: full marks while the newest record is within the allowed age, falling to 0 at twice it. */
export function ageScore(ageDays: number, allowedDays: number): number {
  if (ageDays <= allowedDays) return 100;
  return round2(Math.max(0, 100 * (1 - (ageDays - allowedDays) / allowedDays)));
}

export interface Scored {
  dimension: Dimension;
  score: number | null;
}

export function aggregate(results: readonly Scored[]) {
  const dimensions = DIMENSIONS.map((dimension) => {
    const scores = results
      .filter((r) => r.dimension === dimension && r.score !== null)
      .map((r) => r.score as number);
    return {
      dimension,
      score: scores.length === 0 ? null : round2(scores.reduce((a, b) => a + b, 0) / scores.length),
      weight: WEIGHTS[dimension],
      rules: results.filter((r) => r.dimension === dimension).length,
    };
  });
  const assessed = dimensions.filter((d) => d.score !== null);
  const weight = assessed.reduce((a, d) => a + d.weight, 0);
  const score =
    weight === 0 ? 0 : round2(assessed.reduce((a, d) => a + (d.score as number) * d.weight, 0) / weight);
  return { dimensions, score, level: levelOf(score) };
}

/** Days the newest record may be old for an update cycle (null: irregular, not assessed). */
export const CYCLE_DAYS: Record<string, number | null> = {
  realtime: 1,
  daily: 1,
  weekly: 7,
  monthly: 31,
  quarterly: 92,
  half_yearly: 183,
  yearly: 366,
  irregular: null,
};
