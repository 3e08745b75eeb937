import { auditAs } from '../audit/append.ts';
import * as catalog from '../catalog/service.ts';
import { type AccessRule, authorize, hasRole, SYSTEM_PRINCIPAL } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { applyTransition, type Lifecycle } from '../core/lifecycle.ts';
import {
  type DataType,
  type IndicatorRow,
  type IndicatorRule,
  type IndicatorSource,
  type IndicatorState,
  type Level,
  type PeriodKind,
  PLATFORM_LEVELS,
  indicatorStore as store,
} from './store.ts';

/**
 * The indicator dictionary (issue #23): every figure the platform collects or computes is defined
 * here once — code, names, definition, unit, type, period, level of collection, owning
 * department, source and validation rule — and the grassroots forms (forms.ts) and the
 * evaluation index (evaluation.ts) reference it by code. Two active indicators may not share a
 * definition or a source: the second is refused with the first's code, and existing near-duplicates
 * are listed and merged (its values and form items move to the one kept).
 */

/** A reporting unit's reports due soon or overdue (forms.ts), for other capabilities' to-do lists. */
export { REPORTERS, reminders } from './forms.ts';

export type IndicatorEvent = 'merge' | 'retire';
export const INDICATORS: Lifecycle<IndicatorState, IndicatorEvent> = {
  objectType: 'indicator',
  table: 'indicators',
  transitions: [
    { from: ['active'], event: 'merge', to: 'merged' },
    { from: ['active'], event: 'retire', to: 'retired' },
  ],
};

/** Anyone signed in reads the dictionary and the values reported against it: collected once, read by all. */
export const INDICATOR_READ: AccessRule = { roles: 'any', scope: 'indicators' };
/** Departments define the indicators they own. */
export const INDICATOR_WRITE: AccessRule = {
  roles: ['data_steward', 'org_admin', 'platform_admin'],
  scope: 'indicators',
};
/** The data bureau keeps the dictionary whole: merging duplicates is its call. */
export const INDICATOR_ADMIN: AccessRule = { roles: ['platform_admin'], scope: 'indicators' };

/**
 * Runs a transaction whose checks a racing node may have passed too: the unique constraints of
 * migration 0020 then decide, and the loser gets the 409 the check would have given it.
 */
export async function raced<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (code !== '23505') throw error;
    const details = { reason: 'changed_concurrently', constraint };
    if (constraint?.startsWith('indicator_values')) throw new AppError('VALUE_ALREADY_REPORTED', details);
    if (constraint?.startsWith('report_submissions')) throw new AppError('SUBMISSION_DUPLICATE', details);
    if (constraint === 'indicators_definition_key' || constraint === 'indicators_source_key') {
      throw new AppError('INDICATOR_DUPLICATE', details);
    }
    throw new AppError('CONFLICT', details);
  }
}

/** Lookups made on the caller's behalf after the caller has been authorized. */
export function platformCtx(ctx: Ctx): Ctx {
  return { ...ctx, principal: SYSTEM_PRINCIPAL };
}

export interface IndicatorInput {
  code: string;
  nameZh: string;
  nameEn: string;
  definition: string;
  unit: string;
  dataType: DataType;
  period: PeriodKind;
  level: Level;
  ownerOrgId?: string | undefined;
  source: IndicatorSource;
  rule?: IndicatorRule | undefined;
}

export type IndicatorPatch = Partial<Omit<IndicatorInput, 'code' | 'ownerOrgId'>>;

/** Case, width, spaces and punctuation do not make a different definition. */
export function definitionKey(definition: string): string {
  return definition
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]+/gu, '');
}

function sourceKey(source: IndicatorSource, level: Level, period: PeriodKind): string {
  switch (source.kind) {
    case 'reported':
      return '';
    case 'resource_field':
      return `field:${source.resourceId}:${source.field}`;
    case 'formula':
      // A sum does not depend on the order of its parts; a ratio does.
      return `formula:${source.op}:${(source.op === 'sum' ? [...source.of].sort() : source.of).join(',')}`;
    case 'platform':
      // One figure per metric, level and period kind: the same metric a city counts yearly and a
      // district monthly are two indicators, the same one twice is a duplicate.
      return `platform:${source.metric}:${level}:${period}`;
  }
}

export function indicatorView(row: IndicatorRow) {
  return {
    id: row.id,
    code: row.code,
    version: row.version,
    nameZh: row.name_zh,
    nameEn: row.name_en,
    definition: row.definition,
    unit: row.unit,
    dataType: row.data_type,
    period: row.period,
    level: row.level,
    ownerOrgId: row.owner_org_id,
    source: row.source,
    rule: row.rule,
    state: row.state,
    mergedInto: row.merged_into,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
export type IndicatorView = ReturnType<typeof indicatorView>;

/** The fields a version records: what the indicator means, not its bookkeeping. */
function snapshot(row: IndicatorRow | ReturnType<typeof indicatorView>) {
  const view = 'name_zh' in row ? indicatorView(row) : row;
  const { id: _id, state: _state, mergedInto: _m, createdAt: _c, updatedAt: _u, ...meaning } = view;
  return meaning;
}

export async function findIndicatorRow(ctx: Ctx, code: string): Promise<IndicatorRow> {
  const row = await store.findIndicator(ctx.db, code);
  if (!row) throw new AppError('NOT_FOUND', { objectType: 'indicator', code });
  return row;
}

function duplicateError(existing: IndicatorRow, key: string) {
  const reason = existing.definition_key === key ? 'same_definition' : 'same_source';
  return new AppError('INDICATOR_DUPLICATE', { existing: existing.code, reason });
}

async function checkSource(ctx: Ctx, source: IndicatorSource, level: Level, period: PeriodKind) {
  if (source.kind === 'resource_field') {
    const resource = await catalog.getResource(platformCtx(ctx), source.resourceId);
    for (const key of ['field', 'unitField', 'periodField'] as const) {
      const name = source[key];
      if (name !== undefined && !resource.fields.some((f) => f.name === name)) {
        throw new AppError('VALIDATION_FAILED', { field: `source.${key}`, resourceId: resource.id, name });
      }
    }
    // A unit's row is found by both keys or not at all.
    if ((source.unitField === undefined) !== (source.periodField === undefined)) {
      throw new AppError('VALIDATION_FAILED', { field: 'source', reason: 'unit_and_period_fields_together' });
    }
  }
  if (source.kind === 'platform' && !PLATFORM_LEVELS.has(level)) {
    // Organizations sit at districts and cities: below them the platform has nothing to credit.
    throw new AppError('VALIDATION_FAILED', { field: 'level', level, reason: 'platform_figure_level' });
  }
  if (source.kind === 'formula') {
    if (source.op === 'ratio' && source.of.length !== 2) {
      throw new AppError('VALIDATION_FAILED', { field: 'source.of', reason: 'ratio_needs_two' });
    }
    const parts = await store.indicatorsByCodes(ctx.db, source.of);
    for (const code of source.of) {
      const part = parts.find((p) => p.code === code);
      // One level of formulas, over indicators of the same period and level: a formula is computed
      // from the values of one unit and period.
      if (
        !part ||
        part.state !== 'active' ||
        part.source_kind === 'formula' ||
        part.level !== level ||
        part.period !== period
      ) {
        throw new AppError('VALIDATION_FAILED', { field: 'source.of', code, reason: 'unusable_part' });
      }
    }
  }
}

function checkRule(rule: IndicatorRule | undefined) {
  if (rule?.min !== undefined && rule.max !== undefined && rule.min > rule.max) {
    throw new AppError('VALIDATION_FAILED', { field: 'rule', reason: 'min_above_max' });
  }
}

export async function createIndicator(ctx: Ctx, input: IndicatorInput): Promise<IndicatorView> {
  const principal = authorize(ctx.principal, INDICATOR_WRITE);
  const ownerOrgId = input.ownerOrgId ?? principal.orgId;
  authorize(principal, { ...INDICATOR_WRITE, orgId: ownerOrgId });
  checkRule(input.rule);
  await checkSource(ctx, input.source, input.level, input.period);
  const key = definitionKey(input.definition);
  const source = sourceKey(input.source, input.level, input.period);
  return raced(() =>
    withTx(ctx.db, async (tx) => {
      if (await store.findIndicator(tx, input.code)) {
        throw new AppError('CONFLICT', { field: 'code', code: input.code });
      }
      const existing = await store.findDuplicate(tx, key, source || null, null);
      if (existing) throw duplicateError(existing, key);
      const now = new Date();
      const id = newId('ind');
      await store.insertIndicator(tx, {
        id,
        code: input.code,
        name_zh: input.nameZh,
        name_en: input.nameEn,
        definition: input.definition,
        definition_key: key,
        unit: input.unit,
        data_type: input.dataType,
        period: input.period,
        level: input.level,
        owner_org_id: ownerOrgId,
        source_kind: input.source.kind,
        source_key: source,
        source: JSON.stringify(input.source),
        rule: JSON.stringify(input.rule ?? {}),
        state: 'active',
        created_by: principal.userId,
        created_at: now,
        updated_at: now,
      });
      const row = (await store.findIndicator(tx, input.code))!;
      await store.insertVersion(tx, {
        indicator_id: id,
        version: 1,
        snapshot: JSON.stringify(snapshot(row)),
        changed_by: principal.userId,
      });
      await auditAs(ctx, tx, 'indicator.create', 'indicator', id, {
        code: input.code,
        source: input.source.kind,
      });
      return indicatorView(row);
    }),
  );
}

/** A change makes the next version; the versions before it stay readable. */
export async function updateIndicator(ctx: Ctx, code: string, patch: IndicatorPatch): Promise<IndicatorView> {
  const principal = authorize(ctx.principal, INDICATOR_WRITE);
  const current = await findIndicatorRow(ctx, code);
  authorize(principal, { ...INDICATOR_WRITE, orgId: current.owner_org_id });
  const next = { ...indicatorView(current), ...patch };
  checkRule(next.rule);
  if (patch.source || patch.level || patch.period)
    await checkSource(ctx, next.source, next.level, next.period);
  const key = definitionKey(next.definition);
  const source = sourceKey(next.source, next.level, next.period);
  return raced(() =>
    withTx(ctx.db, async (tx) => {
      const row = await store.findIndicator(tx, code);
      if (!row || row.version !== current.version || row.state !== 'active') {
        throw new AppError('INVALID_TRANSITION', {
          objectType: 'indicator',
          state: row?.state,
          event: 'update',
        });
      }
      const existing = await store.findDuplicate(tx, key, source || null, row.id);
      if (existing) throw duplicateError(existing, key);
      const version = row.version + 1;
      await store.updateIndicator(tx, row.id, {
        version,
        name_zh: next.nameZh,
        name_en: next.nameEn,
        definition: next.definition,
        definition_key: key,
        unit: next.unit,
        data_type: next.dataType,
        period: next.period,
        level: next.level,
        source_kind: next.source.kind,
        source_key: source,
        source: JSON.stringify(next.source),
        rule: JSON.stringify(next.rule),
        updated_at: new Date(),
      });
      const updated = (await store.findIndicator(tx, code))!;
      await store.insertVersion(tx, {
        indicator_id: row.id,
        version,
        snapshot: JSON.stringify(snapshot(updated)),
        changed_by: principal.userId,
      });
      await auditAs(ctx, tx, 'indicator.update', 'indicator', row.id, {
        code,
        version,
        changed: Object.keys(patch),
      });
      return indicatorView(updated);
    }),
  );
}

export async function getIndicator(ctx: Ctx, code: string) {
  authorize(ctx.principal, INDICATOR_READ);
  const row = await findIndicatorRow(ctx, code);
  const versions = await store.versions(ctx.db, row.id);
  return {
    ...indicatorView(row),
    versions: versions.map((v) => ({
      version: v.version,
      snapshot: v.snapshot,
      changedBy: v.changed_by,
      changedAt: v.changed_at.toISOString(),
    })),
  };
}

export async function listIndicators(
  ctx: Ctx,
  query: { state?: IndicatorState | undefined; q?: string | undefined },
) {
  authorize(ctx.principal, INDICATOR_READ);
  return (await store.listIndicators(ctx.db, query)).map(indicatorView);
}

/** Character bigrams of a folded definition, for near-duplicate detection. */
function bigrams(text: string): Set<string> {
  const grams = new Set<string>();
  for (let i = 0; i + 1 < text.length; i++) grams.add(text.slice(i, i + 2));
  return grams;
}

/** Jaccard similarity of two sets. */
export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let common = 0;
  for (const x of a) if (b.has(x)) common++;
  return common / (a.size + b.size - common);
}

export const NEAR_DUPLICATE_SIMILARITY = 0.6;

/**
 * Pairs of active indicators that look like the same figure: the same unit, period and level, and
 * definitions whose character bigrams overlap by at least NEAR_DUPLICATE_SIMILARITY (Jaccard). Exact
 * duplicates never get this far (they are refused); these are for a person to look at and merge.
 */
export async function nearDuplicates(ctx: Ctx) {
  authorize(ctx.principal, INDICATOR_READ);
  const rows = await store.listIndicators(ctx.db, { state: 'active' });
  const grams = rows.map((r) => bigrams(r.definition_key));
  const pairs: Array<{ a: string; b: string; similarity: number }> = [];
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      const a = rows[i]!;
      const b = rows[j]!;
      if (a.unit !== b.unit || a.period !== b.period || a.level !== b.level) continue;
      const similarity = jaccard(grams[i]!, grams[j]!);
      if (similarity >= NEAR_DUPLICATE_SIMILARITY) {
        pairs.push({ a: a.code, b: b.code, similarity: Math.round(similarity * 1000) / 1000 });
      }
    }
  }
  return pairs.sort((x, y) => y.similarity - x.similarity);
}

/**
 * Merges `code` into `into`: the forms that listed it list `into`, its values become values of
 * `into`, and it is kept as `merged` (its history stays). Refused where both hold a different
 * value for the same unit and period — someone must decide which figure is right first.
 */
export async function mergeIndicator(ctx: Ctx, code: string, into: string): Promise<IndicatorView> {
  authorize(ctx.principal, INDICATOR_ADMIN);
  if (code === into) throw new AppError('VALIDATION_FAILED', { field: 'into', reason: 'same_indicator' });
  return withTx(ctx.db, async (tx) => {
    const source = await store.findIndicator(tx, code);
    const target = await store.findIndicator(tx, into);
    if (!source) throw new AppError('NOT_FOUND', { objectType: 'indicator', code });
    if (!target || target.state !== 'active')
      throw new AppError('NOT_FOUND', { objectType: 'indicator', code: into });
    if (source.unit !== target.unit || source.period !== target.period || source.level !== target.level) {
      throw new AppError('VALIDATION_FAILED', { field: 'into', reason: 'unit_period_or_level_differ' });
    }
    const overlaps = await store.overlappingValues(tx, source.id, target.id);
    const conflicts = overlaps.filter((o) => o.a !== o.b);
    if (conflicts.length > 0) {
      throw new AppError('CONFLICT', {
        reason: 'values_differ',
        conflicts: conflicts
          .slice(0, 20)
          .map((c) => ({ period: c.period, unitCode: c.unit_code, [code]: c.a, [into]: c.b })),
      });
    }
    const row = await applyTransition<IndicatorState, IndicatorEvent, IndicatorRow>(
      tx,
      INDICATORS,
      source,
      'merge',
      {
        set: { merged_into: target.id, updated_at: new Date() },
        audit: (tx) => auditAs(ctx, tx, 'indicator.merge', 'indicator', source.id, { code, into }),
      },
    );
    await store.repointItems(tx, source.id, target.id);
    // Equal values for the same unit and period are one figure: the target's stays.
    await store.dropValues(tx, source.id, overlaps);
    await store.moveValues(tx, source.id, target.id);
    return indicatorView(row);
  });
}

export async function retireIndicator(ctx: Ctx, code: string): Promise<IndicatorView> {
  const principal = authorize(ctx.principal, INDICATOR_WRITE);
  const current = await findIndicatorRow(ctx, code);
  authorize(principal, { ...INDICATOR_WRITE, orgId: current.owner_org_id });
  return withTx(ctx.db, async (tx) =>
    indicatorView(
      await applyTransition<IndicatorState, IndicatorEvent, IndicatorRow>(tx, INDICATORS, current, 'retire', {
        set: { updated_at: new Date() },
        audit: (tx) => auditAs(ctx, tx, 'indicator.retire', 'indicator', current.id, { code }),
      }),
    ),
  );
}

export function isPlatformAdmin(ctx: Ctx): boolean {
  return ctx.principal !== null && hasRole(ctx.principal, 'platform_admin');
}

/**
 * The values reported against an indicator: collected once by the grassroots units, read here
 * by every department that needs them, each with the submission it came from.
 */
export async function readValues(
  ctx: Ctx,
  code: string,
  query: { period: string; within?: string | undefined },
) {
  authorize(ctx.principal, INDICATOR_READ);
  const row = await findIndicatorRow(ctx, code);
  const values = await store.valuesOf(ctx.db, [row.id], [query.period], query.within);
  return values.map((v) => ({
    id: v.id,
    unitCode: v.unit_code,
    period: v.period,
    value: v.value,
    submissionId: v.submission_id,
    reportedBy: v.reported_by,
    reportedAt: v.reported_at.toISOString(),
  }));
}
