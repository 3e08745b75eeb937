import { appendAudit } from '../audit/append.ts';
import { authorize, type Principal } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { nextState, type TransitionTable } from '../core/lifecycle.ts';
import type { DpMetric } from '../rules/dp/index.ts';
import { checkFilter, type Filter, fieldsOf } from '../rules/filters.ts';
import { gradeRank, isGrade } from '../rules/grades.ts';
import { findContract } from '../sharing/service.ts';
import * as dp from './dp.ts';
import { admit, aggregate as exactAggregate } from './service.ts';
import * as store from './store.ts';

/**
 * Approved computations (issue 14 §3). A consumer submits a named query template under its
 * contract — metrics, group-by, and a filter whose values may be typed parameters
 * (`{"field":"district","op":"eq","value":{"param":"d"}}`). The provider's data steward approves it,
 * then the security officer when a field it touches is graded g4 or above. From the first
 * approval on, the contract runs only approved templates, with parameter values, through DP
 * (resources with personal information) or the exact k-suppressed aggregate (others). Every
 * submission, decision and run is audited.
 */
export const PARAM_TYPES = ['text', 'integer', 'decimal', 'date', 'boolean'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

type TemplateState = store.TemplateRow['state'];
export const TEMPLATE_LIFECYCLE: TransitionTable<TemplateState, 'approve' | 'reject'> = [
  { from: ['submitted'], event: 'approve', to: 'security_review', when: 'needs_security' },
  { from: ['submitted', 'security_review'], event: 'approve', to: 'approved' },
  { from: ['submitted', 'security_review'], event: 'reject', to: 'rejected' },
];

export interface TemplateInput {
  name: string;
  metrics: DpMetric[];
  groupBy?: string[] | undefined;
  filter?: unknown;
  params?: Record<string, ParamType> | undefined;
}

const SAMPLE: Record<ParamType, string | number | boolean> = {
  text: 'x',
  integer: 0,
  decimal: '0',
  date: '2000-01-01',
  boolean: true,
};

function checkParam(type: ParamType, value: unknown, name: string): string | number | boolean {
  const bad = () =>
    new AppError(
      'VALIDATION_FAILED',
      { field: `params.${name}` },
      { zh: `参数 ${name} 需要 ${type}`, en: `Parameter ${name} needs a ${type}` },
    );
  switch (type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw bad();
      return value;
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad();
      return String(value);
    case 'boolean':
      if (typeof value !== 'boolean') throw bad();
      return value;
    case 'date':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw bad();
      return value;
    default:
      if (typeof value !== 'string' || value.length > 200 || value.includes('\u0000')) throw bad();
      return value;
  }
}

/** The filter with every `{"param": name}` value replaced by the parameter's value. */
function instantiate(node: unknown, values: (name: string) => unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => instantiate(n, values));
  if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === 'param' && typeof record.param === 'string')
      return values(record.param);
    return Object.fromEntries(keys.map((k) => [k, instantiate(record[k], values)]));
  }
  return node;
}

function paramsUsed(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) paramsUsed(n, out);
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (Object.keys(record).length === 1 && typeof record.param === 'string') out.add(record.param);
    else for (const v of Object.values(record)) paramsUsed(v, out);
  }
  return out;
}

function view(row: store.TemplateRow) {
  return {
    id: row.id,
    contractId: row.contract_id,
    name: row.name,
    metrics: row.metrics as DpMetric[],
    groupBy: row.group_by,
    filter: row.filter ?? null,
    params: row.params,
    mode: row.mode,
    state: row.state,
    needsSecurity: row.needs_security,
    decisions: row.decisions as unknown[],
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
export type TemplateView = ReturnType<typeof view>;

export async function submitTemplate(ctx: Ctx, contractId: string, input: TemplateInput, clientIp: string) {
  const granted = await admit(ctx, contractId, 'aggregate', clientIp);
  const principal = ctx.principal!;
  const params = input.params ?? {};
  const groupBy = input.groupBy ?? [];
  for (const p of paramsUsed(input.filter ?? null))
    if (!(p in params))
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'filter', param: p },
        { zh: `未声明参数 ${p}`, en: `Undeclared parameter ${p}` },
      );
  // The template must be a valid query: check it with sample parameter values.
  const sample = instantiate(input.filter ?? null, (name) => SAMPLE[params[name]!]);
  const filter = sample === null ? null : checkFilter(sample, granted.fields, 'filter');
  const raw = (name: string, where: string) => {
    const field = granted.fields.find((f) => f.name === name);
    if (!field) throw new AppError('FIELD_NOT_GRANTED', { field: where, name });
    if (field.mask !== 'none')
      throw new AppError('FILTER_ON_MASKED_FIELD', { field: where, name, reason: 'masked' });
  };
  groupBy.forEach((g, i) => {
    raw(g, `groupBy.${i}`);
  });
  input.metrics.forEach((m, i) => {
    if (m.fn !== 'count') raw(m.field, `metrics.${i}.field`);
  });
  for (const name of fieldsOf(filter as Filter | null)) raw(name, 'filter');
  const personal = await dp.isPersonal(ctx, granted.contract.resource_id);
  const grades = await store.fieldGrades(ctx.db, granted.contract.resource_id);
  const used = new Set([
    ...groupBy,
    ...input.metrics.flatMap((m) => (m.fn === 'count' ? [] : [m.field])),
    ...fieldsOf(filter as Filter | null),
  ]);
  const needsSecurity = [...used].some((f) => {
    const g = grades[f];
    return g !== undefined && isGrade(g) && gradeRank(g) >= 4;
  });
  return withTx(ctx.db, async (tx) => {
    const row = await store.insertTemplate(tx, {
      id: newId('tpl'),
      contract_id: contractId,
      name: input.name,
      metrics: input.metrics,
      group_by: groupBy,
      filter: input.filter ?? null,
      params,
      mode: personal ? 'dp' : 'exact',
      state: 'submitted',
      needs_security: needsSecurity,
      decisions: [],
      created_by: principal.userId,
    });
    if (!row)
      throw new AppError(
        'CONFLICT',
        { field: 'name', name: input.name },
        { zh: '模板名称已存在', en: 'A template of this name exists' },
      );
    await appendAudit(tx, {
      actorId: principal.userId,
      orgId: principal.orgId,
      action: 'gateway.template.submit',
      objectType: 'contract',
      objectId: contractId,
      requestId: ctx.requestId,
      details: { template: row.id, name: row.name, mode: row.mode },
    });
    return view(row);
  });
}

async function loadTemplate(ctx: Ctx, id: string) {
  const row = await store.findTemplate(ctx.db, id);
  const contract = row ? await findContract(ctx.db, row.contract_id) : undefined;
  if (!row || !contract) throw new AppError('NOT_FOUND', { objectType: 'template', id });
  return { row, contract };
}

/** The provider's data steward decides a submitted template; the security officer one in security review. */
export async function decideTemplate(ctx: Ctx, id: string, event: 'approve' | 'reject', reason: string) {
  const { row, contract } = await loadTemplate(ctx, id);
  const asSecurity = row.state === 'security_review';
  const principal: Principal = authorize(
    ctx.principal,
    asSecurity
      ? { roles: ['security_officer'], scope: 'sharing' }
      : { roles: ['data_steward'], scope: 'sharing', orgId: contract.provider_org_id },
  );
  const to = nextState(
    TEMPLATE_LIFECYCLE,
    'template',
    row.state,
    event,
    row.needs_security && !asSecurity ? ['needs_security'] : [],
  );
  const decisions = [
    ...(row.decisions as unknown[]),
    {
      event,
      by: principal.userId,
      role: asSecurity ? 'security_officer' : 'data_steward',
      reason,
      at: new Date().toISOString(),
    },
  ];
  return withTx(ctx.db, async (tx) => {
    const moved = await store.moveTemplate(tx, id, row.state, to, decisions);
    if (!moved)
      throw new AppError('INVALID_TRANSITION', {
        objectType: 'template',
        state: row.state,
        reason: 'changed_concurrently',
      });
    await appendAudit(tx, {
      actorId: principal.userId,
      orgId: principal.orgId,
      action: `gateway.template.${event}`,
      objectType: 'contract',
      objectId: contract.id,
      requestId: ctx.requestId,
      details: { template: id, state: to, reason },
    });
    return view(moved);
  });
}

/** The contract's templates, for its consumer and its provider. */
export async function listTemplates(ctx: Ctx, contractId: string) {
  if (!ctx.principal) throw new AppError('UNAUTHENTICATED');
  const contract = await findContract(ctx.db, contractId);
  const p = ctx.principal;
  const platform = p.roles.some((r) => r === 'security_officer' || r === 'platform_admin');
  if (
    !contract ||
    (!platform && p.orgId !== contract.consumer_org_id && p.orgId !== contract.provider_org_id)
  )
    throw new AppError('NOT_FOUND', { objectType: 'contract', id: contractId });
  return { items: (await store.templatesOf(ctx.db, contractId)).map(view) };
}

/** Runs an approved template with parameter values (and ρ for a DP template). */
export async function runTemplate(
  ctx: Ctx,
  id: string,
  input: { params?: Record<string, unknown> | undefined; rho?: number | undefined },
  clientIp: string,
) {
  const { row, contract } = await loadTemplate(ctx, id);
  if (ctx.principal?.orgId !== contract.consumer_org_id)
    throw new AppError('NOT_FOUND', { objectType: 'template', id });
  if (row.state !== 'approved')
    throw new AppError(
      'TEMPLATE_REQUIRED',
      { template: id, state: row.state },
      { zh: '模板尚未批准', en: 'The template is not approved' },
    );
  const supplied = input.params ?? {};
  for (const name of Object.keys(supplied))
    if (!(name in row.params))
      throw new AppError(
        'VALIDATION_FAILED',
        { field: `params.${name}` },
        { zh: '未知参数', en: 'Unknown parameter' },
      );
  const values = Object.fromEntries(
    Object.entries(row.params).map(([name, type]) => [
      name,
      checkParam(type as ParamType, supplied[name], name),
    ]),
  );
  const filter = instantiate(row.filter ?? null, (name) => values[name]);
  const metrics = row.metrics as DpMetric[];
  let result: unknown;
  if (row.mode === 'dp') {
    if (input.rho === undefined)
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'rho' },
        { zh: '差分隐私模板需要 ρ', en: 'A DP template needs ρ' },
      );
    result = await dp.aggregate(
      ctx,
      contract.id,
      { metrics, groupBy: row.group_by, filter, rho: input.rho },
      clientIp,
      undefined,
      { template: id },
    );
  } else {
    const granted = dp.markTemplateRun(await admit(ctx, contract.id, 'aggregate', clientIp));
    result = await exactAggregate(ctx, granted, {
      groupBy: row.group_by,
      metrics: metrics.map((m) =>
        m.fn === 'count' ? m : { fn: m.fn === 'mean' ? 'avg' : m.fn, field: m.field },
      ),
      filter,
    });
  }
  await appendAudit(ctx.db, {
    actorId: ctx.principal?.userId ?? null,
    orgId: ctx.principal?.orgId ?? null,
    action: 'gateway.template.run',
    objectType: 'contract',
    objectId: contract.id,
    requestId: ctx.requestId,
    details: { template: id, mode: row.mode, params: values, rho: input.rho ?? null },
  });
  return { template: id, mode: row.mode, result };
}
