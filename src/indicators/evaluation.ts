import { auditAs } from '../audit/append.ts';
import { type AccessRule, authorize } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { applyTransition, type Lifecycle } from '../core/lifecycle.ts';
import { computeIndex, type IndexSpec, type Normalization, type RawTable } from '../rules/composite.ts';
import { periodKind } from './forms.ts';
import { platformValues, unitsWithin } from './platform.ts';
import { evaluationReportPdf } from './report.ts';
import { INDICATOR_READ, raced } from './service.ts';
import {
  type IndexRow,
  type IndexState,
  type IndicatorRow,
  type IndicatorSource,
  indicatorStore as store,
} from './store.ts';

/**
 * The evaluation index engine: a published definition (dimensions of dictionary indicators, with
 * weights, a normalization per indicator and an aggregation) computed for every unit that holds
 * values in a period — scores, ranks, each dimension's contribution, the change from an earlier
 * period — with each input traced to the value and the submission it came from. The math is
 * src/rules/composite.ts; this file loads the values and keeps the definitions.
 */

export type IndexEvent = 'publish' | 'retire';
export const INDEXES: Lifecycle<IndexState, IndexEvent> = {
  objectType: 'evaluation_index',
  table: 'evaluation_indexes',
  transitions: [
    { from: ['draft'], event: 'publish', to: 'published' },
    { from: ['draft', 'published'], event: 'retire', to: 'retired' },
  ],
};

/** The data bureau defines and publishes indices; every signed-in user reads results. */
export const INDEX_ADMIN: AccessRule = { roles: ['platform_admin'], scope: 'indicators' };

export interface IndexInput {
  code: string;
  nameZh: string;
  nameEn: string;
  aggregation: IndexSpec['aggregation'];
  minCoverage?: number | undefined;
  dimensions: Array<{
    code: string;
    nameZh: string;
    nameEn: string;
    weight: number;
    indicators: Array<{
      code: string;
      weight: number;
      normalization: Normalization;
      direction?: 'higher' | 'lower' | undefined;
    }>;
  }>;
}

function indexView(row: IndexRow) {
  const definition = row.definition as unknown as Omit<IndexInput, 'code' | 'nameZh' | 'nameEn'>;
  return {
    id: row.id,
    code: row.code,
    nameZh: row.name_zh,
    nameEn: row.name_en,
    state: row.state,
    ownerOrgId: row.owner_org_id,
    aggregation: definition.aggregation,
    minCoverage: definition.minCoverage ?? 0.5,
    dimensions: definition.dimensions,
    createdAt: row.created_at.toISOString(),
  };
}
export type IndexView = ReturnType<typeof indexView>;

async function findIndex(ctx: Ctx, code: string): Promise<IndexRow> {
  const row = await store.findIndex(ctx.db, code);
  if (!row) throw new AppError('NOT_FOUND', { objectType: 'evaluation_index', code });
  return row;
}

const indicatorCodes = (input: Pick<IndexInput, 'dimensions'>) =>
  input.dimensions.flatMap((d) => d.indicators.map((i) => i.code));

export async function createIndex(ctx: Ctx, input: IndexInput): Promise<IndexView> {
  const principal = authorize(ctx.principal, INDEX_ADMIN);
  const codes = indicatorCodes(input);
  if (new Set(codes).size !== codes.length)
    throw new AppError('VALIDATION_FAILED', { field: 'dimensions', reason: 'indicator_repeated' });
  if (new Set(input.dimensions.map((d) => d.code)).size !== input.dimensions.length) {
    throw new AppError('VALIDATION_FAILED', { field: 'dimensions', reason: 'dimension_repeated' });
  }
  for (const d of input.dimensions) {
    for (const i of d.indicators) {
      if (i.normalization.method === 'fixed' && !(i.normalization.max > i.normalization.min)) {
        throw new AppError('VALIDATION_FAILED', {
          field: 'normalization',
          code: i.code,
          reason: 'max_not_above_min',
        });
      }
    }
  }
  const rows = await store.indicatorsByCodes(ctx.db, codes);
  for (const code of codes) {
    if (!rows.some((r) => r.code === code && r.state === 'active')) {
      throw new AppError('VALIDATION_FAILED', { field: 'dimensions', code, reason: 'unknown_or_inactive' });
    }
  }
  // Scores compare units of one level over one period: the inputs must be collected alike.
  if (new Set(rows.map((r) => `${r.level}/${r.period}`)).size > 1) {
    throw new AppError('VALIDATION_FAILED', { field: 'dimensions', reason: 'mixed_level_or_period' });
  }
  const { code, nameZh, nameEn, ...definition } = input;
  return raced(() =>
    withTx(ctx.db, async (tx) => {
      if (await store.findIndex(tx, code)) throw new AppError('CONFLICT', { field: 'code', code });
      const id = newId('eix');
      const now = new Date();
      await store.insertIndex(tx, {
        id,
        code,
        name_zh: nameZh,
        name_en: nameEn,
        definition: JSON.stringify(definition),
        state: 'draft',
        owner_org_id: principal.orgId,
        created_by: principal.userId,
        created_at: now,
        updated_at: now,
      });
      await auditAs(ctx, tx, 'evaluation_index.create', 'evaluation_index', id, { code, indicators: codes });
      return indexView((await store.findIndex(tx, code))!);
    }),
  );
}

export async function listIndexes(ctx: Ctx) {
  authorize(ctx.principal, INDICATOR_READ);
  return (await store.listIndexes(ctx.db)).map(indexView);
}

export async function getIndex(ctx: Ctx, code: string) {
  authorize(ctx.principal, INDICATOR_READ);
  return indexView(await findIndex(ctx, code));
}

export async function actOnIndex(ctx: Ctx, code: string, event: IndexEvent): Promise<IndexView> {
  authorize(ctx.principal, INDEX_ADMIN);
  const index = await findIndex(ctx, code);
  return withTx(ctx.db, async (tx) =>
    indexView(
      await applyTransition<IndexState, IndexEvent, IndexRow>(tx, INDEXES, index, event, {
        set: { updated_at: new Date() },
        audit: (tx) => auditAs(ctx, tx, `evaluation_index.${event}`, 'evaluation_index', index.id, { code }),
      }),
    ),
  );
}

interface Input {
  value: number;
  valueId: string | null;
  submissionId: string | null;
  derivedFrom: string[] | null;
}

/**
 * The values of the index's indicators in a period, unit → code → input. A formula indicator is
 * computed per unit from its parts (sum, or ratio of the first to the second) where all are held;
 * a platform figure is counted from the platform's own records (`platform.ts`).
 */
async function loadInputs(ctx: Ctx, indicators: IndicatorRow[], period: string, within: string | undefined) {
  const formulas = indicators.filter((i) => i.source_kind === 'formula');
  const partCodes = formulas.flatMap((f) => (f.source as Extract<IndicatorSource, { kind: 'formula' }>).of);
  const parts = await store.indicatorsByCodes(ctx.db, partCodes);
  const all = [...indicators, ...parts];
  const codeOf = new Map(all.map((i) => [i.id, i.code]));
  const values = await store.valuesOf(
    ctx.db,
    all.map((i) => i.id),
    [period],
    within,
  );
  const table = new Map<string, Map<string, Input>>();
  for (const v of values) {
    const row = table.get(v.unit_code) ?? new Map<string, Input>();
    row.set(codeOf.get(v.indicator_id)!, {
      value: v.value,
      valueId: v.id,
      submissionId: v.submission_id,
      derivedFrom: null,
    });
    table.set(v.unit_code, row);
  }
  // The platform's own figures, counted now for every unit the results cover (before the
  // formulas, which may take them as parts).
  for (const p of all.filter((i) => i.source_kind === 'platform')) {
    const { metric } = p.source as Extract<IndicatorSource, { kind: 'platform' }>;
    const units = new Set([...table.keys(), ...unitsWithin(within, p.level)]);
    const counted = await platformValues(ctx, metric, p.level, period, units, within);
    for (const [unit, value] of counted) {
      const row = table.get(unit) ?? new Map<string, Input>();
      row.set(p.code, { value, valueId: null, submissionId: null, derivedFrom: [`platform:${metric}`] });
      table.set(unit, row);
    }
  }
  for (const row of table.values()) {
    for (const f of formulas) {
      const source = f.source as Extract<IndicatorSource, { kind: 'formula' }>;
      const got = source.of.map((c) => row.get(c)?.value);
      if (got.some((v) => v === undefined)) continue;
      const value =
        source.op === 'sum'
          ? got.reduce((a, b) => a! + b!, 0)!
          : got[1] === 0
            ? undefined
            : got[0]! / got[1]!;
      if (value !== undefined)
        row.set(f.code, { value, valueId: null, submissionId: null, derivedFrom: source.of });
    }
  }
  return table;
}

function specOf(view: IndexView): IndexSpec {
  return { aggregation: view.aggregation, minCoverage: view.minCoverage, dimensions: view.dimensions };
}

function scoresFor(spec: IndexSpec, inputs: Map<string, Map<string, Input>>, codes: string[]) {
  const raw: RawTable = new Map();
  for (const [unit, row] of inputs) {
    const values = new Map<string, number>();
    for (const code of codes) {
      const input = row.get(code);
      if (input) values.set(code, input.value);
    }
    if (values.size > 0) raw.set(unit, values);
  }
  return computeIndex(spec, raw);
}

/** Results of a published index for a period (units within a code prefix), with the change from `previousPeriod`. */
export async function indexResults(
  ctx: Ctx,
  code: string,
  query: { period: string; previousPeriod?: string | undefined; within?: string | undefined },
) {
  authorize(ctx.principal, INDICATOR_READ);
  const view = indexView(await findIndex(ctx, code));
  if (view.state !== 'published') {
    throw new AppError('INVALID_TRANSITION', {
      objectType: 'evaluation_index',
      state: view.state,
      event: 'compute',
    });
  }
  const codes = indicatorCodes(view);
  const indicators = await store.indicatorsByCodes(ctx.db, codes);
  for (const p of [query.period, query.previousPeriod]) {
    if (p !== undefined && periodKind(p) !== indicators[0]?.period) {
      throw new AppError('VALIDATION_FAILED', {
        field: 'period',
        period: p,
        expected: indicators[0]?.period,
      });
    }
  }
  const spec = specOf(view);
  const inputs = await loadInputs(ctx, indicators, query.period, query.within);
  const current = scoresFor(spec, inputs, codes);
  const previous = query.previousPeriod
    ? new Map(
        scoresFor(spec, await loadInputs(ctx, indicators, query.previousPeriod, query.within), codes).map(
          (r) => [r.unit, r.score],
        ),
      )
    : null;
  return {
    index: view.code,
    period: query.period,
    previousPeriod: query.previousPeriod ?? null,
    units: current
      .map((r) => {
        const before = previous?.get(r.unit) ?? null;
        const row = inputs.get(r.unit)!;
        return {
          unitCode: r.unit,
          score: r.score,
          rank: r.rank,
          coverage: r.coverage,
          previousScore: before,
          change: r.score !== null && before !== null ? r.score - before : null,
          dimensions: r.dimensions,
          inputs: codes
            .filter((c) => row.has(c))
            .map((c) => ({ indicator: c, ...row.get(c)!, normalized: r.normalized[c] ?? null })),
        };
      })
      .sort(
        (a, b) =>
          (a.rank ?? Number.POSITIVE_INFINITY) - (b.rank ?? Number.POSITIVE_INFINITY) ||
          a.unitCode.localeCompare(b.unitCode),
      ),
  };
}
export type IndexResults = Awaited<ReturnType<typeof indexResults>>;

/** The printable report of an index's results (PDF, Chinese font embedded): same query, same numbers. */
export async function indexReport(
  ctx: Ctx,
  code: string,
  query: { period: string; previousPeriod?: string | undefined; within?: string | undefined },
): Promise<Buffer> {
  const results = await indexResults(ctx, code, query);
  const view = indexView(await findIndex(ctx, code));
  return evaluationReportPdf(view, results, { within: query.within, generatedAt: new Date() });
}
