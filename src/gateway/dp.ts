import { sql } from 'kysely';
import { appendAudit } from '../audit/append.ts';
import { getResource } from '../catalog/service.ts';
import { authorize, type Principal } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { DATASET_SCHEMA } from '../core/datasets.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { nextState, type TransitionTable } from '../core/lifecycle.ts';
import {
  boundedAggregateSql,
  cmp,
  cryptoSource,
  type DpMetric,
  type DpPlan,
  type DpSettings,
  epsilonOf,
  keptRowsSql,
  pairsValueFields,
  parseDecimal,
  planRelease,
  previewIntervals,
  type RandomSource,
  type Rational,
  rational,
  release,
  sub,
  sumPairsSql,
  toDecimal,
  toNumber,
} from '../rules/dp/index.ts';
import { checkFilter, compileFilter, type Filter, fieldsOf } from '../rules/filters.ts';
import { gradeRank, isGrade } from '../rules/grades.ts';
import { findContract } from '../sharing/service.ts';
import { countiesOf } from '../standards/region.ts';
import { isUndefinedTable } from './derived-tables.ts';
import { ExactMemo } from './dp-memo.ts';
import { builtFor, findPairs, refreshPairs, settingsDigest, settingsOf } from './dp-pairs.ts';
import { admit } from './service.ts';
import * as store from './store.ts';

/**
 * Differential privacy as the way personal data is aggregated (issue 14). A release: admit the
 * call as any gateway call, plan it (bounds and noise from the resource's declared settings and
 * the ρ asked for), spend ρ atomically in the database, run the bounded aggregate in one SQL
 * statement, add exact discrete Gaussian noise, release. A failure before the release refunds
 * the spend. Accounting is O(1) per query: one conditional upsert.
 */

/** A DP contract's total ρ until its provider sets one. */
export const DEFAULT_TOTAL_RHO = '1';
/** The δ at which ρ is shown as (ε, δ). */
export const DISPLAY_DELTA = 1e-6;
const MAX_RHO = rational(10n);

export const DP_RELEASE_LIFECYCLE: TransitionTable<
  'reserved' | 'released' | 'refunded',
  'release' | 'refund'
> = [
  { from: ['reserved'], event: 'release', to: 'released' },
  { from: ['reserved'], event: 'refund', to: 'refunded' },
];

type Granted = Awaited<ReturnType<typeof admit>>;

/** Admissions made for a run of an approved template (gateway/templates.ts): free-form queries are not. */
const templateRuns = new WeakSet<object>();
export function markTemplateRun(granted: Granted): Granted {
  templateRuns.add(granted);
  return granted;
}

/** Once a contract has an approved template, only approved templates run under it (issue 14 §3). */
async function assertFreeFormAllowed(ctx: Ctx, granted: Granted): Promise<void> {
  if (templateRuns.has(granted)) return;
  if (await store.hasApprovedTemplate(ctx.db, granted.contract.id))
    throw new AppError('TEMPLATE_REQUIRED', {
      templates: `/v1/gateway/contracts/${granted.contract.id}/templates`,
    });
}

export interface DpRequest {
  metrics: DpMetric[];
  groupBy?: string[] | undefined;
  filter?: unknown;
  rho: number;
}

// ——— settings ———

export interface DpSettingsInput {
  unit: string;
  maxGroups?: number | undefined;
  maxRowsPerGroup?: number | undefined;
  bounds?: Record<string, { lower: number; upper: number; precision?: number | undefined }> | undefined;
  domains?:
    | Record<string, { values: string[] } | { counties: string; as?: 'code' | 'name' | undefined }>
    | undefined;
}

function settingsView(
  row: NonNullable<Awaited<ReturnType<typeof store.findSettings>>>,
  resourceCode: string,
) {
  return {
    resource: resourceCode,
    unit: row.unit_field,
    maxGroups: row.max_groups,
    maxRowsPerGroup: row.max_rows_per_group,
    bounds: row.bounds,
    domains: row.domains,
    // What a new contract on the resource holds until its provider sets another: shown at approval.
    defaultBudget: rhoView(dec(DEFAULT_TOTAL_RHO)),
    updatedAt: row.updated_at.toISOString(),
  };
}

const invalid = (field: string, zh: string, en: string) =>
  new AppError('VALIDATION_FAILED', { field }, { zh, en });

/** The provider's data steward declares how its resource is aggregated under DP. */
export async function putSettings(ctx: Ctx, resourceCode: string, input: DpSettingsInput) {
  const resource = await getResource(ctx, resourceCode);
  const principal = authorize(ctx.principal, {
    roles: ['data_steward'],
    scope: 'catalog:write',
    orgId: resource.provider.id,
  });
  const fields = new Map(resource.fields.map((f) => [f.name, f]));
  if (!fields.has(input.unit))
    throw invalid('unit', '隐私单位字段不存在', 'The privacy unit field does not exist');
  const bounds: Record<string, { lower: number; upper: number; precision: number }> = {};
  for (const [name, b] of Object.entries(input.bounds ?? {})) {
    const field = fields.get(name);
    if (!field || (field.dataType !== 'integer' && field.dataType !== 'decimal'))
      throw invalid(`bounds.${name}`, '裁剪界只用于数值字段', 'Clamping bounds apply to numeric fields');
    const precision = b.precision ?? (field.dataType === 'integer' ? 0 : 2);
    if (
      !(b.lower <= b.upper) ||
      Math.abs(b.lower) * 10 ** precision > 1e15 ||
      Math.abs(b.upper) * 10 ** precision > 1e15
    )
      throw invalid(`bounds.${name}`, '裁剪界无效', 'Invalid clamping bounds');
    bounds[name] = { lower: b.lower, upper: b.upper, precision };
  }
  const domains: Record<string, string[]> = {};
  for (const [name, d] of Object.entries(input.domains ?? {})) {
    if (!fields.has(name)) throw invalid(`domains.${name}`, '字段不存在', 'The field does not exist');
    if ('values' in d) domains[name] = [...new Set(d.values)];
    else {
      const counties = countiesOf(d.counties);
      if (counties.length === 0)
        throw new AppError('INVALID_REGION_CODE', { field: `domains.${name}.counties`, value: d.counties });
      domains[name] = counties.map((c) => (d.as === 'name' ? c.name : c.code));
    }
  }
  const view = await withTx(ctx.db, async (tx) => {
    const row = await store.saveSettings(tx, {
      resource_id: resource.id,
      unit_field: input.unit,
      max_groups: input.maxGroups ?? 1,
      max_rows_per_group: input.maxRowsPerGroup ?? 1,
      bounds,
      domains,
      updated_by: principal.userId,
    });
    await appendAudit(tx, {
      actorId: principal.userId,
      orgId: principal.orgId,
      action: 'gateway.dp.settings',
      objectType: 'resource',
      objectId: resource.id,
      requestId: ctx.requestId,
      details: {
        unit: input.unit,
        maxGroups: row.max_groups,
        maxRowsPerGroup: row.max_rows_per_group,
        bounds,
        domains,
      },
    });
    return settingsView(row, resource.code);
  });
  // After the commit: the current version's bounded pairs under the new settings (dp-pairs.ts);
  // a failure leaves queries on the row-level statement, and the settings stand.
  await refreshPairs(ctx.db, resource.id).catch(() => {});
  return view;
}

/** ingest's hook: a version became current — its pairs are built and the resource's others dropped. */
export async function onVersionCurrent(ctx: Ctx, event: { resourceId: string }): Promise<void> {
  if (!(await store.findSettings(ctx.db, event.resourceId))) return;
  await refreshPairs(ctx.db, event.resourceId);
}

export async function getSettings(ctx: Ctx, resourceCode: string) {
  const resource = await getResource(ctx, resourceCode);
  const row = await store.findSettings(ctx.db, resource.id);
  if (!row) throw new AppError('DP_NOT_CONFIGURED', { resource: resource.code });
  return settingsView(row, resource.code);
}

// ——— policy ———

/** Personal information: any field graded g3 or above (unassessed counts as g3), or a declared privacy unit. */
export async function isPersonal(ctx: Ctx, resourceId: string): Promise<boolean> {
  const [grades, settings] = await Promise.all([
    store.fieldGrades(ctx.db, resourceId),
    store.findSettings(ctx.db, resourceId),
  ]);
  return settings !== undefined || Object.values(grades).some((g) => isGrade(g) && gradeRank(g) >= 3);
}

/**
 * The exact, k-suppressed aggregate is for non-personal resources: on a resource with personal
 * information an aggregate-only contract is a DP contract (differencing beats suppression).
 */
export async function assertExactAggregateAllowed(ctx: Ctx, granted: Granted): Promise<void> {
  await assertFreeFormAllowed(ctx, granted);
  if (granted.contract.operations.includes('rows')) return;
  if (!(await isPersonal(ctx, granted.contract.resource_id))) return;
  throw new AppError(
    'DP_REQUIRED',
    { dpAggregate: `/v1/gateway/contracts/${granted.contract.id}/dp/aggregate` },
    {
      zh: '该资源含个人信息：仅统计的协议只能通过差分隐私接口 /dp/aggregate 统计',
      en: 'The resource holds personal information: an aggregate-only contract aggregates through /dp/aggregate',
    },
  );
}

// ——— budget ———

function bucketOf(period: 'none' | 'day' | 'month', now = new Date()): string {
  const local = new Date(now.getTime() + 8 * 3_600_000).toISOString();
  return period === 'day'
    ? `d:${local.slice(0, 10)}`
    : period === 'month'
      ? `mo:${local.slice(0, 7)}`
      : 'all';
}

const dec = (text: string) => parseDecimal(text);

function rhoView(rho: Rational, delta = DISPLAY_DELTA) {
  return { rho: Number(toDecimal(rho)), epsilon: epsilonOf(toNumber(rho), delta), delta };
}

async function budgetState(ctx: Ctx, contractId: string) {
  const budget = await store.ensureBudget(ctx.db, contractId, DEFAULT_TOTAL_RHO);
  const bucket = bucketOf(budget.period);
  const spent = dec(await store.spentIn(ctx.db, contractId, bucket));
  const total = dec(String(budget.total_rho));
  const left = cmp(total, spent) > 0 ? sub(total, spent) : rational(0n);
  return { budget, bucket, total, spent, left };
}

function budgetView(state: Awaited<ReturnType<typeof budgetState>>) {
  return {
    period: state.budget.period,
    bucket: state.bucket,
    total: rhoView(state.total),
    spent: rhoView(state.spent),
    remaining: { rho: Number(toDecimal(state.left, 12, 'down')) },
  };
}

/** The contract's budget: its consumer and its provider (and the platform side) may read it. */
export async function getBudget(ctx: Ctx, contractId: string) {
  if (!ctx.principal) throw new AppError('UNAUTHENTICATED');
  const contract = await findContract(ctx.db, contractId);
  const p: Principal = ctx.principal;
  const platform = p.roles.some((r) => r === 'security_officer' || r === 'platform_admin' || r === 'auditor');
  if (
    !contract ||
    (!platform && p.orgId !== contract.consumer_org_id && p.orgId !== contract.provider_org_id)
  )
    throw new AppError('NOT_FOUND', { objectType: 'contract', id: contractId });
  const state = await budgetState(ctx, contractId);
  return { contractId, ...budgetView(state), releases: await store.releaseCount(ctx.db, contractId) };
}

/** The provider's data steward or a security officer sets the total ρ and its period. */
export async function putBudget(
  ctx: Ctx,
  contractId: string,
  input: { rho: number; period?: 'none' | 'day' | 'month' | undefined },
) {
  const contract = await findContract(ctx.db, contractId);
  if (!contract) throw new AppError('NOT_FOUND', { objectType: 'contract', id: contractId });
  const principal = authorize(ctx.principal, {
    roles: ['data_steward', 'security_officer'],
    scope: 'sharing',
    orgId: contract.provider_org_id,
    crossOrg: ['security_officer'],
  });
  const total = rhoOf(input.rho, 'rho', rational(1000n));
  await withTx(ctx.db, async (tx) => {
    await store.setBudget(tx, contractId, toDecimal(total, 15), input.period ?? 'none', principal.userId);
    await appendAudit(tx, {
      actorId: principal.userId,
      orgId: principal.orgId,
      action: 'gateway.dp.budget',
      objectType: 'contract',
      objectId: contractId,
      requestId: ctx.requestId,
      details: { rho: toDecimal(total, 15), period: input.period ?? 'none' },
    });
  });
  return getBudget(ctx, contractId);
}

function rhoOf(value: number, field: string, max: Rational): Rational {
  let rho: Rational;
  try {
    rho = parseDecimal(String(value));
  } catch {
    throw invalid(field, 'ρ 需要正数', 'ρ must be a positive number');
  }
  if (rho.n <= 0n || cmp(rho, max) > 0 || rho.d > 10n ** 15n)
    throw invalid(field, 'ρ 超出范围', 'ρ is out of range');
  return rho;
}

// ——— queries ———

/** This node's memo of exact bounded aggregates (see dp-memo.ts): a repeated query pays for noise only. */
const exactMemo = new ExactMemo();

/** How the memo is doing on this node (entries, bytes, hits, misses): for tests and operators. */
export function exactMemoStats() {
  return exactMemo.stats();
}

/** Empties this node's memo: the benchmark measures first queries with it. Never needed for correctness. */
export function clearExactMemo(): void {
  exactMemo.clear();
}

const sources = { pairs: 0, kept: 0, rows: 0, fallbacks: 0, lastPairs: null as string | null };
/** Where this node's exact aggregates came from (memo misses only): for tests and the benchmark. */
export function exactSourceStats() {
  return { ...sources };
}

/**
 * The exact bounded aggregate the noise is added to (before any noise): the input of `release`.
 * For a group-by the tables of dp-pairs.ts are built for: without any filter (the contract's row
 * filter included), from the materialised pairs — the same rows as the row-level statement
 * (test/dp-pairs.test.ts), so the memo is keyed by the row-level statement and a hit needs no
 * look-up; with a filter, from the filter's rows less the materialised dropped rows — bounding
 * before the filter, within the same sensitivity but not the same numbers, so keyed by its own
 * statement (which names the dropped table). Otherwise, or when a table is gone under the query,
 * the row-level statement. Exported for the equality tests; releases call it only from
 * `aggregate`, after the spend.
 */
export async function exactBoundedAggregate(
  db: Ctx['db'],
  input: {
    contractId: string;
    versionId: string;
    table: string;
    plan: DpPlan;
    settings: DpSettings;
    filters: Array<Filter | null>;
    /** Tests: 'rows' forces the row-level statement (the oracle of the equality test). */
    source?: 'auto' | 'rows';
  },
) {
  const conditions = input.filters.filter((f): f is Filter => f !== null).map(compileFilter);
  const where = conditions.length > 0 ? sql<boolean>`${sql.join(conditions, sql` AND `)}` : null;
  const query = boundedAggregateSql(input.plan, input.settings, {
    table: sql.table(`${DATASET_SCHEMA}.${input.table}`),
    where,
  });
  const run = (q: typeof query) =>
    withTx(db, async (tx) => {
      // Above ~500,000 rows the plan's cost passes jit_above_cost and the server JIT-compiles it:
      // 60–80 ms per query, and the compiled expressions did not win it back measurably (1M rows:
      // median 4.19 s with, 4.14 s without, on a loaded machine). This statement only.
      await sql`SET LOCAL jit = off`.execute(tx);
      return (await q.execute(tx)).rows;
    });
  const compiled = query.compile(db);
  const key = ExactMemo.key({
    contractId: input.contractId,
    versionId: input.versionId,
    sql: input.source === 'rows' ? `rows:${compiled.sql}` : compiled.sql,
    parameters: compiled.parameters,
  });
  const auto = input.source !== 'rows' && builtFor(input.settings, input.plan.groupBy);
  if (auto && where !== null) {
    const digest = settingsDigest(input.settings);
    const dropped = await findPairs(db, input.versionId, digest, input.plan.groupBy, 'dropped');
    if (dropped) {
      const valueFields = [...new Set(input.plan.measurements.filter((m) => m.field).map((m) => m.field!))];
      const kept = (deletionVector: Uint8Array) =>
        sumPairsSql(
          input.plan,
          valueFields,
          sql`(${keptRowsSql(input.plan, input.settings, valueFields, {
            table: sql.table(`${DATASET_SCHEMA}.${input.table}`),
            where,
            dropped: deletionVector,
          })}) b`,
        );
      // Keyed by the statement and the vector's table, whose content never changes under its name.
      const shape = kept(new Uint8Array(0)).compile(db);
      const keptKey = ExactMemo.key({
        contractId: input.contractId,
        versionId: input.versionId,
        sql: `${dropped}\n${shape.sql}`,
        parameters: shape.parameters,
      });
      try {
        return await exactMemo.get(keptKey, async () => {
          const vector = await sql<{
            bits: Uint8Array;
          }>`SELECT bits FROM ${sql.table(`${DATASET_SCHEMA}.${dropped}`)}`.execute(db);
          const rows = await run(kept(vector.rows[0]?.bits ?? new Uint8Array(0)));
          sources.kept++;
          sources.lastPairs = dropped;
          return rows;
        });
      } catch (error) {
        // Dropped between the look-up and the read (new settings or version committed meanwhile).
        if (!isUndefinedTable(error)) throw error;
        sources.fallbacks++;
      }
    }
  }
  return exactMemo.get(key, async () => {
    if (auto && where === null) {
      const pairs = await findPairs(db, input.versionId, settingsDigest(input.settings), input.plan.groupBy);
      if (pairs) {
        try {
          const rows = await run(
            sumPairsSql(
              input.plan,
              pairsValueFields(input.settings),
              sql.table(`${DATASET_SCHEMA}.${pairs}`),
            ),
          );
          sources.pairs++;
          sources.lastPairs = pairs;
          return rows;
        } catch (error) {
          // Dropped between the look-up and the read (new settings or version committed meanwhile).
          if (!isUndefinedTable(error)) throw error;
          sources.fallbacks++;
        }
      }
    }
    sources.rows++;
    return run(query);
  });
}

interface Prepared {
  granted: Granted;
  settings: DpSettings;
  plan: DpPlan;
  filter: Filter | null;
}

async function prepare(
  ctx: Ctx,
  contractId: string,
  request: DpRequest,
  clientIp: string,
  template = false,
): Promise<Prepared> {
  const admitted = await admit(ctx, contractId, 'aggregate', clientIp);
  const granted = template ? markTemplateRun(admitted) : admitted;
  await assertFreeFormAllowed(ctx, granted);
  const row = await store.findSettings(ctx.db, granted.contract.resource_id);
  if (!row) throw new AppError('DP_NOT_CONFIGURED', { resource: granted.contract.resource_id });
  const settings: DpSettings = settingsOf(row);
  // Only granted fields served raw may be grouped, filtered or summed.
  const raw = (name: string, where: string) => {
    const field = granted.fields.find((f) => f.name === name);
    if (!field) throw new AppError('FIELD_NOT_GRANTED', { field: where, name });
    if (field.mask !== 'none')
      throw new AppError('FILTER_ON_MASKED_FIELD', { field: where, name, reason: 'masked' });
    return field;
  };
  const groupBy = request.groupBy ?? [];
  for (const [i, g] of groupBy.entries()) raw(g, `groupBy.${i}`);
  request.metrics.forEach((m, i) => {
    if (m.fn === 'count') return;
    raw(m.field, `metrics.${i}.field`);
    if (!settings.bounds[m.field])
      throw new AppError(
        'VALIDATION_FAILED',
        { field: `metrics.${i}.field`, name: m.field },
        {
          zh: '该字段未声明裁剪界，不能求和或平均',
          en: 'The field has no declared clamping bounds: no sum or mean',
        },
      );
  });
  const filter =
    request.filter === undefined || request.filter === null
      ? null
      : checkFilter(request.filter, granted.fields, 'filter');
  for (const name of fieldsOf(filter)) raw(name, 'filter');
  const rho = rhoOf(request.rho, 'rho', MAX_RHO);
  let plan: DpPlan;
  try {
    plan = planRelease(settings, request.metrics, groupBy, rho, granted.contract.min_group_size);
  } catch (error) {
    throw invalid('metrics', '无法规划该统计', error instanceof Error ? error.message : 'cannot plan');
  }
  return { granted, settings, plan, filter };
}

function planView(plan: DpPlan) {
  return {
    maxGroups: plan.l0,
    maxRowsPerGroup: plan.linf,
    partitionThreshold: plan.threshold,
    publicDomain: plan.threshold === null,
  };
}

/** Cost and the 95% interval half-width of each released number, before spending anything. */
export async function preview(ctx: Ctx, contractId: string, request: DpRequest, clientIp: string) {
  const { plan } = await prepare(ctx, contractId, request, clientIp);
  const state = await budgetState(ctx, contractId);
  return {
    cost: rhoView(plan.rho, DISPLAY_DELTA + plan.selectionDelta),
    ci95: previewIntervals(plan),
    remaining: { rho: Number(toDecimal(state.left, 12, 'down')) },
    affordable: cmp(plan.rho, state.left) <= 0,
    bounding: planView(plan),
  };
}

/** Runs one DP release. `source` is the randomness (node:crypto unless a test injects one). */
export async function aggregate(
  ctx: Ctx,
  contractId: string,
  request: DpRequest,
  clientIp: string,
  source: RandomSource = cryptoSource,
  options: { template?: string } = {},
) {
  const { granted, settings, plan, filter } = await prepare(
    ctx,
    contractId,
    request,
    clientIp,
    options.template !== undefined,
  );
  // The rate limit was counted at admission (every call counts, refused or not).
  const { budget, bucket } = await budgetState(ctx, contractId);
  const cost = toDecimal(plan.rho, 15);
  const releaseId = newId('dpr');
  const details = {
    release: releaseId,
    rho: cost,
    metrics: request.metrics,
    groupBy: plan.groupBy,
    filter,
    template: options.template ?? null,
  };
  const actor = {
    actorId: ctx.principal?.userId ?? null,
    orgId: ctx.principal?.orgId ?? null,
    requestId: ctx.requestId,
  };
  const spentNow = await withTx(ctx.db, async (tx) => {
    const spent = await store.spend(tx, contractId, bucket, cost);
    if (spent === null) return null;
    await store.insertRelease(tx, {
      id: releaseId,
      contract_id: contractId,
      bucket,
      rho: cost,
      state: 'reserved',
      request: details,
    });
    await appendAudit(tx, {
      ...actor,
      action: 'gateway.dp.spend',
      objectType: 'contract',
      objectId: contractId,
      details,
    });
    return spent;
  });
  if (spentNow === null) {
    const state = await budgetState(ctx, contractId);
    throw new AppError('DP_BUDGET_EXHAUSTED', {
      asked: Number(cost),
      remaining: Number(toDecimal(state.left, 12, 'down')),
      period: budget.period,
    });
  }
  let released: ReturnType<typeof release>;
  try {
    const exact = await exactBoundedAggregate(ctx.db, {
      contractId,
      versionId: granted.versionId,
      table: granted.table,
      plan,
      settings,
      filters: [(granted.contract.row_filter ?? null) as Filter | null, filter],
    });
    // Fresh noise on every release, hit or miss: only the exact aggregate is memoised.
    released = release(plan, exact, source);
  } catch (error) {
    // Nothing left the server: the spend is given back.
    await withTx(ctx.db, async (tx) => {
      nextState(DP_RELEASE_LIFECYCLE, 'dp_release', 'reserved', 'refund');
      if (await store.moveRelease(tx, releaseId, 'reserved', 'refunded')) {
        await store.refund(tx, contractId, bucket, cost);
        await appendAudit(tx, {
          ...actor,
          action: 'gateway.dp.refund',
          objectType: 'contract',
          objectId: contractId,
          details: {
            release: releaseId,
            rho: cost,
            error: error instanceof AppError ? error.code : 'INTERNAL',
          },
        });
      }
    });
    throw error;
  }
  await withTx(ctx.db, async (tx) => {
    nextState(DP_RELEASE_LIFECYCLE, 'dp_release', 'reserved', 'release');
    await store.moveRelease(tx, releaseId, 'reserved', 'released');
    await appendAudit(tx, {
      ...actor,
      action: 'gateway.dp.aggregate',
      objectType: 'contract',
      objectId: contractId,
      details: { ...details, rows: released.rows.length },
    });
  });
  const left = sub(dec(String(budget.total_rho)), dec(spentNow));
  return {
    rows: released.rows,
    ci95: released.ci95,
    spent: rhoView(plan.rho, DISPLAY_DELTA + plan.selectionDelta),
    remaining: { rho: Number(toDecimal(cmp(left, rational(0n)) > 0 ? left : rational(0n), 12, 'down')) },
    release: releaseId,
    bounding: planView(plan),
  };
}
