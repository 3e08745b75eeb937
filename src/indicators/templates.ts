import { auditAs } from '../audit/append.ts';
import { authorize } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { LOSI_2022_CRITERIA, LOSI_2022_INDICATORS, type LosiIndicator } from '../standards/losi.ts';
import { createIndex, getIndex, INDEX_ADMIN, type IndexInput, type IndexView } from './evaluation.ts';
import { createIndicator } from './service.ts';
import { indicatorStore as store } from './store.ts';

/**
 * Published indices installed in one call: the dictionary indicators they read and the index
 * definition over them. Installing is idempotent — a second call answers the definition already
 * there and creates nothing — so the bureau can run it again after a partial failure (indicators
 * created before the failure are found by code and reused).
 */

export const LOSI_2022_CODE = 'LOSI-2022';

/** The dictionary entry of one LOSI feature: a yes/no reported once a year for a city. */
function losiIndicator(i: LosiIndicator) {
  const criterion = LOSI_2022_CRITERIA.find((c) => c.code === i.criterion)!;
  const wording = i.named
    ? `${i.nameEn}.`
    : 'The survey’s wording of this feature was not on file when the template was written; rename it from the LOSI 2022 questionnaire.';
  return {
    code: i.code,
    nameZh: i.nameZh,
    nameEn: i.nameEn,
    definition:
      `UN Local Online Service Index 2022 (${i.code}), criterion ${criterion.nameEn} (${criterion.nameZh}). ${wording} ` +
      '1 (是) when the feature is found on the city portal, 0 (否) when absent or not found.',
    unit: '是/否',
    dataType: 'boolean' as const,
    period: 'year' as const,
    level: 'city' as const,
    source: { kind: 'reported' as const },
    rule: { min: 0, max: 1 },
  };
}

/**
 * LOSI 2022 as an index definition: one dimension per criterion, weighted by its number of
 * indicators, each indicator weight 1 with binary normalization. With arithmetic aggregation the
 * score is then Σ_c n_c·(k_c/n_c) / 86 = k/86, the share of the 86 features present — each feature
 * weighs the same, as the survey counts them (src/standards/losi.ts cites the sources) — while
 * each dimension's score is its criterion's share. `minCoverage: 1`: LOSI scores absent or not
 * found as 0, so a city whose assessment is incomplete gets no score rather than one renormalised
 * over the answers given.
 */
export function losi2022Definition(): IndexInput {
  return {
    code: LOSI_2022_CODE,
    nameZh: '地方在线服务指数（LOSI 2022）',
    nameEn: 'Local Online Service Index (LOSI 2022)',
    aggregation: 'arithmetic',
    minCoverage: 1,
    dimensions: LOSI_2022_CRITERIA.map((c) => ({
      code: `LOSI-${c.code}`,
      nameZh: c.nameZh,
      nameEn: c.nameEn,
      weight: c.count,
      indicators: LOSI_2022_INDICATORS.filter((i) => i.criterion === c.code).map((i) => ({
        code: i.code,
        weight: 1,
        normalization: { method: 'binary' as const },
      })),
    })),
  };
}

/** Installs LOSI 2022; `created` is false when the index was there already (nothing is changed). */
export async function installLosi2022(ctx: Ctx): Promise<{ index: IndexView; created: boolean }> {
  authorize(ctx.principal, INDEX_ADMIN);
  if (await store.findIndex(ctx.db, LOSI_2022_CODE)) {
    return { index: await getIndex(ctx, LOSI_2022_CODE), created: false };
  }
  const wanted = LOSI_2022_INDICATORS.map(losiIndicator);
  const existing = new Map(
    (
      await store.indicatorsByCodes(
        ctx.db,
        wanted.map((w) => w.code),
      )
    ).map((r) => [r.code, r]),
  );
  let indicatorsCreated = 0;
  for (const w of wanted) {
    const row = existing.get(w.code);
    if (row) {
      // A code taken by something else is not silently borrowed: the index would read other figures.
      if (
        row.state !== 'active' ||
        row.data_type !== 'boolean' ||
        row.level !== w.level ||
        row.period !== w.period
      ) {
        throw new AppError('CONFLICT', { field: 'code', code: w.code, reason: 'not_a_losi_indicator' });
      }
      continue;
    }
    try {
      await createIndicator(ctx, w);
      indicatorsCreated += 1;
    } catch (error) {
      // A second install racing this one created it first: reuse it. The loser's insert may trip
      // the code's unique index or the definition's, whichever PostgreSQL checks first.
      const raced =
        error instanceof AppError && (error.code === 'CONFLICT' || error.code === 'INDICATOR_DUPLICATE');
      if (!raced || !(await store.findIndicator(ctx.db, w.code))) throw error;
    }
  }
  let index: IndexView;
  try {
    index = await createIndex(ctx, losi2022Definition());
  } catch (error) {
    if (
      error instanceof AppError &&
      error.code === 'CONFLICT' &&
      (await store.findIndex(ctx.db, LOSI_2022_CODE))
    ) {
      return { index: await getIndex(ctx, LOSI_2022_CODE), created: false };
    }
    throw error;
  }
  await withTx(ctx.db, (tx) =>
    auditAs(ctx, tx, 'evaluation_index.install_template', 'evaluation_index', index.id, {
      template: 'losi-2022',
      indicatorsCreated,
      indicatorsReused: wanted.length - indicatorsCreated,
    }),
  );
  return { index, created: true };
}
