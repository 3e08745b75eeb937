import type { RawBuilder } from 'kysely';
import { auditAs } from '../audit/append.ts';
import * as audit from '../audit/service.ts';
import * as catalog from '../catalog/service.ts';
import { type AccessRule, authorize, hasRole, type Principal, SYSTEM_PRINCIPAL } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { nextState, type TransitionTable } from '../core/lifecycle.ts';
import * as identity from '../identity/service.ts';
import * as registry from '../registry/service.ts';
import * as sharing from '../sharing/service.ts';
import { addWorkingDays, chinaDate } from '../standards/working-days.ts';
import {
  type AgreementRow,
  type AgreementScope,
  type AgreementState,
  type BillLine,
  type BillRow,
  type CapRow,
  type Lineage,
  type OperationTerms,
  type PlanRow,
  type PlanState,
  type PriceRow,
  type ProductRow,
  type Purpose,
  type Selection,
  type SubscriptionRow,
  operationStore as store,
  type Unit,
} from './store.ts';

/**
 * Authorized operation of public data (授权运营, 发改数据规〔2025〕27号) and its prices
 * (发改价格〔2025〕65号): operation plans and the competition choosing an operator, agreements
 * (term ≤ OPERATION_MAX_TERM_YEARS), data products with lineage, cap fees per product and unit,
 * the operator's maximum allowed revenue per year, customers' subscriptions through their own
 * sharing contracts, monthly bills metered from the gateway's audit entries, and the yearly
 * disclosure. Money is integer fen throughout.
 */

/** The implementing body (实施机构): the data bureau running the platform. */
export const OPERATION_ADMIN: AccessRule = { roles: ['platform_admin'], scope: 'operation' };
/** An operator's staff (and the implementing body). */
export const OPERATOR: AccessRule = {
  roles: ['data_steward', 'org_admin', 'platform_admin'],
  scope: 'operation',
};
export const OPERATION_READ: AccessRule = { roles: 'any', scope: 'operation' };

export const PLAN_LIFECYCLE: TransitionTable<PlanState, 'approve' | 'select' | 'withdraw'> = [
  { from: ['draft'], event: 'approve', to: 'approved' },
  { from: ['approved'], event: 'select', to: 'selected' },
  { from: ['draft', 'approved'], event: 'withdraw', to: 'withdrawn' },
];
export const AGREEMENT_LIFECYCLE: TransitionTable<AgreementState, 'terminate' | 'expire'> = [
  { from: ['active'], event: 'terminate', to: 'terminated' },
  { from: ['active'], event: 'expire', to: 'expired' },
];

const FREE_PURPOSES: readonly Purpose[] = ['public_governance', 'public_welfare'];
const BYTES_PER_VOLUME_UNIT = 1_048_576; // 'volume' is charged per MiB delivered
/** 65号: 准许利润率 ≤ the previous year's average 10-year government bond yield + 6 points. */
export const PROFIT_MARGIN_OVER_BOND_BP = 600;

function platformCtx(ctx: Ctx): Ctx {
  return { ...ctx, principal: SYSTEM_PRINCIPAL };
}

function notFound(objectType: string, id: string) {
  return new AppError('NOT_FOUND', { objectType, id });
}

function invalid(field: string, zh: string, en: string, details: Record<string, unknown> = {}) {
  return new AppError(
    'VALIDATION_FAILED',
    { field, ...details },
    { zh: `${field}：${zh}`, en: `${field}: ${en}` },
  );
}

// ---------------------------------------------------------------------------- views

function planView(p: PlanRow) {
  return {
    id: p.id,
    name: p.name,
    mode: p.mode,
    resourceIds: p.resource_ids,
    scenarios: p.scenarios as unknown as string[],
    selectionMethod: p.selection_method,
    securityMeasures: p.security_measures,
    termYears: p.term_years,
    state: p.state,
    approvedBy: p.approved_by,
    approvedAt: p.approved_at ? p.approved_at.toISOString() : null,
    selection: (p.selection as unknown as Selection | null) ?? null,
    createdAt: p.created_at.toISOString(),
  };
}
export type PlanView = ReturnType<typeof planView>;

function agreementView(a: AgreementRow) {
  return {
    id: a.id,
    planId: a.plan_id,
    operatorOrgId: a.operator_org_id,
    scope: a.scope as unknown as AgreementScope,
    scenarios: a.scenarios as unknown as string[],
    validFrom: a.valid_from,
    validTo: a.valid_to,
    duties: a.duties,
    pricing: a.pricing,
    revenue: a.revenue,
    exitTerms: a.exit_terms,
    state: a.state,
    createdAt: a.created_at.toISOString(),
  };
}
export type AgreementView = ReturnType<typeof agreementView>;

function priceView(p: PriceRow) {
  return {
    unit: p.unit,
    capFen: p.cap_fen,
    priceFen: p.price_fen,
    trial: p.trial,
    basis: p.basis,
    updatedAt: p.updated_at.toISOString(),
  };
}

function productView(p: ProductRow, prices: PriceRow[], registrationCode: string | null) {
  return {
    id: p.id,
    agreementId: p.agreement_id,
    operatorOrgId: p.operator_org_id,
    name: p.name,
    kind: p.kind,
    summary: p.summary,
    lineage: p.lineage as unknown as Lineage,
    prices: prices.filter((x) => x.product_id === p.id).map(priceView),
    registrationCode,
    createdAt: p.created_at.toISOString(),
  };
}
export type ProductView = ReturnType<typeof productView>;

function capView(c: CapRow) {
  return {
    operatorOrgId: c.operator_org_id,
    year: c.year,
    costs: c.costs as unknown as Array<{ item: string; amountFen: number }>,
    operatingCostFen: c.operating_cost_fen,
    profitRateBp: c.profit_rate_bp,
    bondYieldBp: c.bond_yield_bp,
    taxFen: c.tax_fen,
    maxRevenueFen: c.max_revenue_fen,
    carriedOverFen: c.carried_over_fen,
    effectiveMaxFen: c.max_revenue_fen - c.carried_over_fen,
    trial: c.trial,
    closedRevenueFen: c.closed_revenue_fen,
    closedAt: c.closed_at ? c.closed_at.toISOString() : null,
  };
}
export type CapView = ReturnType<typeof capView>;

function subscriptionView(s: SubscriptionRow) {
  return {
    id: s.id,
    productId: s.product_id,
    contractId: s.contract_id,
    customerOrgId: s.customer_org_id,
    purpose: s.purpose,
    free: FREE_PURPOSES.includes(s.purpose),
    unit: s.unit,
    createdAt: s.created_at.toISOString(),
  };
}
export type SubscriptionView = ReturnType<typeof subscriptionView>;

function billView(b: BillRow) {
  return {
    id: b.id,
    subscriptionId: b.subscription_id,
    contractId: b.contract_id,
    operatorOrgId: b.operator_org_id,
    customerOrgId: b.customer_org_id,
    month: b.month,
    lines: b.lines as unknown as BillLine[],
    totalFen: b.total_fen,
    metered: b.audit_seqs as unknown as { first: number | null; last: number | null; calls: number },
    issuedAt: b.issued_at.toISOString(),
  };
}
export type BillView = ReturnType<typeof billView>;

// ---------------------------------------------------------------------------- plans

export interface PlanInput {
  name: string;
  mode: PlanRow['mode'];
  resourceIds: string[];
  scenarios: string[];
  selectionMethod: PlanRow['selection_method'];
  securityMeasures: string;
  termYears: number;
}

/** What the forms must keep, so that they say it before the server refuses it. */
export function operationRules(ctx: Ctx) {
  authorize(ctx.principal, OPERATION_READ);
  return { maxTermYears: ctx.config.operationMaxTermYears };
}

export async function createPlan(ctx: Ctx, input: PlanInput): Promise<PlanView> {
  const principal = authorize(ctx.principal, OPERATION_ADMIN);
  if (input.termYears > ctx.config.operationMaxTermYears) {
    throw new AppError('TERM_TOO_LONG', { field: 'termYears', maxYears: ctx.config.operationMaxTermYears });
  }
  for (const id of input.resourceIds) await catalog.getResource(platformCtx(ctx), id);
  return withTx(ctx.db, async (tx) => {
    const row = await store.insertPlan(tx, {
      id: newId('pln'),
      name: input.name,
      mode: input.mode,
      resource_ids: input.resourceIds,
      scenarios: JSON.stringify(input.scenarios),
      selection_method: input.selectionMethod,
      security_measures: input.securityMeasures,
      term_years: input.termYears,
      state: 'draft',
      created_by: principal.userId,
      updated_at: new Date(),
    });
    await auditAs(ctx, tx, 'operation.plan.create', 'operation_plan', row.id, { name: input.name });
    return planView(row);
  });
}

export async function approvePlan(ctx: Ctx, id: string): Promise<PlanView> {
  const principal = authorize(ctx.principal, OPERATION_ADMIN);
  return withTx(ctx.db, async (tx) => {
    const plan = await store.findPlan(tx, id);
    if (!plan) throw notFound('operation_plan', id);
    const to = nextState(PLAN_LIFECYCLE, 'operation_plan', plan.state, 'approve');
    const row = await store.transitionPlan(tx, id, plan.state, to, {
      approved_by: principal.userId,
      approved_at: new Date(),
    });
    if (!row) throw new AppError('INVALID_TRANSITION', { objectType: 'operation_plan', state: plan.state });
    await auditAs(ctx, tx, 'operation.plan.approve', 'operation_plan', id);
    return planView(row);
  });
}

export interface SelectionInput {
  candidates: Array<{ orgId: string; score: number }>;
  noticeWorkingDays?: number | undefined;
}

/** Records the competition: candidates with scores; the highest score wins and is put on notice. */
export async function selectOperator(
  ctx: Ctx,
  id: string,
  input: SelectionInput,
  now = new Date(),
): Promise<PlanView> {
  authorize(ctx.principal, OPERATION_ADMIN);
  if (input.candidates.length === 0)
    throw invalid('candidates', '至少一个候选单位', 'at least one candidate');
  const candidates = [];
  for (const c of input.candidates) {
    const org = await identity.getOrganization(platformCtx(ctx), c.orgId);
    candidates.push({ orgId: org.id, name: org.name, score: c.score });
  }
  candidates.sort((a, b) => b.score - a.score);
  if (candidates.length > 1 && candidates[0]!.score === candidates[1]!.score) {
    throw invalid(
      'candidates',
      '最高分并列，须再行比选',
      'a tie for the highest score must be resolved first',
    );
  }
  const winner = candidates[0]!;
  const winnerOrg = await identity.getOrganization(platformCtx(ctx), winner.orgId);
  if (winnerOrg.type !== 'authorized_operator') {
    throw invalid(
      'candidates',
      '中选单位须为授权运营单位类型的组织',
      'the winner must be an authorized operator organization',
    );
  }
  const today = chinaDate(now);
  const selection: Selection = {
    candidates,
    winnerOrgId: winner.orgId,
    noticeFrom: today,
    noticeUntil: addWorkingDays(today, input.noticeWorkingDays ?? 5),
    decidedOn: today,
  };
  return withTx(ctx.db, async (tx) => {
    const plan = await store.findPlan(tx, id);
    if (!plan) throw notFound('operation_plan', id);
    const to = nextState(PLAN_LIFECYCLE, 'operation_plan', plan.state, 'select');
    const row = await store.transitionPlan(tx, id, plan.state, to, { selection: JSON.stringify(selection) });
    if (!row) throw new AppError('INVALID_TRANSITION', { objectType: 'operation_plan', state: plan.state });
    await auditAs(ctx, tx, 'operation.plan.select', 'operation_plan', id, {
      winner: winner.orgId,
      candidates: candidates.length,
    });
    return planView(row);
  });
}

export async function listPlans(ctx: Ctx): Promise<PlanView[]> {
  authorize(ctx.principal, OPERATION_READ);
  return (await store.listPlans(ctx.db)).map(planView);
}

export async function getPlan(ctx: Ctx, id: string): Promise<PlanView> {
  authorize(ctx.principal, OPERATION_READ);
  const plan = await store.findPlan(ctx.db, id);
  if (!plan) throw notFound('operation_plan', id);
  return planView(plan);
}

// ---------------------------------------------------------------------------- agreements

export interface AgreementInput {
  planId: string;
  scope: AgreementScope;
  scenarios: string[];
  validFrom: string;
  validTo: string;
  duties: string;
  pricing: string;
  revenue: string;
  exitTerms: string;
}

function addYears(day: string, years: number): string {
  const shifted = `${Number(day.slice(0, 4)) + years}${day.slice(4)}`;
  return shifted.endsWith('-02-29') && Number.isNaN(Date.parse(`${shifted}T00:00:00Z`))
    ? shifted.replace('-02-29', '-02-28')
    : shifted;
}

export async function createAgreement(ctx: Ctx, input: AgreementInput): Promise<AgreementView> {
  const principal = authorize(ctx.principal, OPERATION_ADMIN);
  const plan = await store.findPlan(ctx.db, input.planId);
  if (!plan) throw notFound('operation_plan', input.planId);
  if (plan.state !== 'selected' || !plan.selection) {
    throw new AppError(
      'INVALID_TRANSITION',
      { objectType: 'operation_plan', state: plan.state, event: 'agreement' },
      {
        zh: '方案须已批准并完成运营单位选择',
        en: 'The plan must be approved and its operator selected first',
      },
    );
  }
  const selection = plan.selection as unknown as Selection;
  if (input.validTo <= input.validFrom) throw invalid('validTo', '须晚于起始日', 'must be after validFrom');
  const maxYears = Math.min(ctx.config.operationMaxTermYears, plan.term_years);
  if (input.validTo > addYears(input.validFrom, maxYears)) {
    throw new AppError('TERM_TOO_LONG', {
      field: 'validTo',
      maxYears,
      latest: addYears(input.validFrom, maxYears),
    });
  }
  // The scope: resources of the plan, fields that exist.
  for (const r of input.scope.resources) {
    if (!plan.resource_ids.includes(r.resourceId))
      throw new AppError('OUT_OF_SCOPE', { field: 'scope', resourceId: r.resourceId });
    const resource = await catalog.getResource(platformCtx(ctx), r.resourceId);
    const unknown = r.fields.filter((f) => !resource.fields.some((x) => x.name === f));
    if (unknown.length > 0)
      throw invalid('scope', '字段不存在', 'unknown fields', { resourceId: r.resourceId, unknown });
  }
  return withTx(ctx.db, async (tx) => {
    const row = await store.insertAgreement(tx, {
      id: newId('agr'),
      plan_id: plan.id,
      operator_org_id: selection.winnerOrgId,
      scope: JSON.stringify(input.scope),
      scenarios: JSON.stringify(input.scenarios),
      valid_from: input.validFrom,
      valid_to: input.validTo,
      duties: input.duties,
      pricing: input.pricing,
      revenue: input.revenue,
      exit_terms: input.exitTerms,
      state: 'active',
      created_by: principal.userId,
      updated_at: new Date(),
    });
    await auditAs(ctx, tx, 'operation.agreement.create', 'operation_agreement', row.id, {
      operator: selection.winnerOrgId,
      validTo: input.validTo,
    });
    return agreementView(row);
  });
}

export async function terminateAgreement(ctx: Ctx, id: string, reason: string): Promise<AgreementView> {
  authorize(ctx.principal, OPERATION_ADMIN);
  return withTx(ctx.db, async (tx) => {
    const a = await store.findAgreement(tx, id);
    if (!a) throw notFound('operation_agreement', id);
    const to = nextState(AGREEMENT_LIFECYCLE, 'operation_agreement', a.state, 'terminate');
    const row = await store.transitionAgreement(tx, id, a.state, to);
    if (!row) throw new AppError('INVALID_TRANSITION', { objectType: 'operation_agreement', state: a.state });
    await auditAs(ctx, tx, 'operation.agreement.terminate', 'operation_agreement', id, { reason });
    return agreementView(row);
  });
}

export async function listAgreements(ctx: Ctx): Promise<AgreementView[]> {
  const principal = authorize(ctx.principal, OPERATION_READ);
  const all = hasRole(principal, 'platform_admin', 'auditor');
  return (await store.listAgreements(ctx.db, all ? undefined : principal.orgId)).map(agreementView);
}

export async function getAgreement(ctx: Ctx, id: string): Promise<AgreementView> {
  const principal = authorize(ctx.principal, OPERATION_READ);
  const a = await store.findAgreement(ctx.db, id);
  if (!a) throw notFound('operation_agreement', id);
  authorize(principal, {
    ...OPERATION_READ,
    orgId: a.operator_org_id,
    crossOrg: ['platform_admin', 'auditor'],
  });
  return agreementView(a);
}

// ---------------------------------------------------------------------------- products

export interface ProductInput {
  agreementId: string;
  name: string;
  kind: ProductRow['kind'];
  summary: string;
  lineage: Lineage;
}

export async function createProduct(ctx: Ctx, input: ProductInput, now = new Date()): Promise<ProductView> {
  const principal = authorize(ctx.principal, OPERATOR);
  const a = await store.findAgreement(ctx.db, input.agreementId);
  if (!a) throw notFound('operation_agreement', input.agreementId);
  authorize(principal, { ...OPERATOR, orgId: a.operator_org_id });
  const today = chinaDate(now);
  if (a.state !== 'active' || today < a.valid_from || today > a.valid_to) {
    throw new AppError('OUT_OF_SCOPE', {
      field: 'agreementId',
      state: a.state,
      validFrom: a.valid_from,
      validTo: a.valid_to,
    });
  }
  if (input.lineage.resources.length === 0)
    throw invalid('lineage', '须列出所用资源', 'name the resources used');
  const scope = a.scope as unknown as AgreementScope;
  for (const r of input.lineage.resources) {
    const granted = scope.resources.find((s) => s.resourceId === r.resourceId);
    const outside = granted ? r.fields.filter((f) => !granted.fields.includes(f)) : r.fields;
    if (!granted || outside.length > 0) {
      throw new AppError('OUT_OF_SCOPE', { field: 'lineage', resourceId: r.resourceId, fields: outside });
    }
  }
  return withTx(ctx.db, async (tx) => {
    const row = await store.insertProduct(tx, {
      id: newId('prd'),
      agreement_id: a.id,
      operator_org_id: a.operator_org_id,
      name: input.name,
      kind: input.kind,
      summary: input.summary,
      lineage: JSON.stringify(input.lineage),
      created_by: principal.userId,
    });
    await auditAs(ctx, tx, 'operation.product.create', 'data_product', row.id, {
      agreement: a.id,
      lineage: input.lineage,
    });
    return productView(row, [], null);
  });
}

async function productViews(ctx: Ctx, rows: ProductRow[]): Promise<ProductView[]> {
  const prices = await store.prices(
    ctx.db,
    rows.map((r) => r.id),
  );
  const codes = await Promise.all(rows.map((r) => registry.currentCode(ctx.db, 'product', r.id)));
  return rows.map((r, i) => productView(r, prices, codes[i] ?? null));
}

export async function listProducts(ctx: Ctx, operatorOrgId?: string): Promise<ProductView[]> {
  authorize(ctx.principal, OPERATION_READ);
  return productViews(ctx, await store.listProducts(ctx.db, operatorOrgId));
}

export async function getProduct(ctx: Ctx, id: string): Promise<ProductView> {
  authorize(ctx.principal, OPERATION_READ);
  const row = await store.findProduct(ctx.db, id);
  if (!row) throw notFound('data_product', id);
  return (await productViews(ctx, [row]))[0]!;
}

// The registry registers products (26号/27号): it learns their name and operator from here.
registry.registerSubjectResolver('product', async (ctx, id) => {
  const row = await store.findProduct(ctx.db, id);
  if (!row) throw notFound('data_product', id);
  return { name: row.name, ownerOrgId: row.operator_org_id };
});

// ---------------------------------------------------------------------------- prices

/** The implementing body sets the cap fee (上限收费标准) of a product per charging unit. */
export async function setCapFee(
  ctx: Ctx,
  productId: string,
  input: { unit: Unit; capFen: number; basis: string },
  now = new Date(),
): Promise<ProductView> {
  authorize(ctx.principal, OPERATION_ADMIN);
  const product = await store.findProduct(ctx.db, productId);
  if (!product) throw notFound('data_product', productId);
  const year = Number(chinaDate(now).slice(0, 4));
  const trial = await isTrial(ctx.db, product.operator_org_id, year);
  await withTx(ctx.db, async (tx) => {
    const existing = await store.findPrice(tx, productId, input.unit);
    if (existing?.price_fen != null && existing.price_fen > input.capFen) {
      throw new AppError(
        'PRICE_ABOVE_CAP',
        { field: 'capFen', priceFen: existing.price_fen, capFen: input.capFen },
        {
          zh: `现行收费 ${existing.price_fen} 分高于新上限 ${input.capFen} 分，运营单位须先调低收费`,
          en: `The current price ${existing.price_fen} fen is above the new cap ${input.capFen} fen; the operator must lower it first`,
        },
      );
    }
    await store.upsertCap(tx, {
      product_id: productId,
      unit: input.unit,
      cap_fen: input.capFen,
      price_fen: existing?.price_fen ?? null,
      trial,
      basis: input.basis,
      updated_at: new Date(),
    });
    await auditAs(ctx, tx, 'operation.price.cap', 'data_product', productId, {
      unit: input.unit,
      capFen: input.capFen,
      trial,
    });
  });
  return getProduct(ctx, productId);
}

/** The operator sets its actual price, at or below the cap: above it is refused. */
export async function setPrice(
  ctx: Ctx,
  productId: string,
  input: { unit: Unit; priceFen: number },
): Promise<ProductView> {
  const principal = authorize(ctx.principal, OPERATOR);
  const product = await store.findProduct(ctx.db, productId);
  if (!product) throw notFound('data_product', productId);
  authorize(principal, { ...OPERATOR, orgId: product.operator_org_id });
  await withTx(ctx.db, async (tx) => {
    const cap = await store.findPrice(tx, productId, input.unit);
    if (!cap) {
      throw new AppError(
        'PRICE_ABOVE_CAP',
        { field: 'priceFen', unit: input.unit, capFen: null },
        {
          zh: `该产品按「${input.unit}」计费尚无上限收费标准，不能收费`,
          en: `No cap fee is set for this product per ${input.unit}; it cannot be charged`,
        },
      );
    }
    if (input.priceFen > cap.cap_fen) {
      throw new AppError(
        'PRICE_ABOVE_CAP',
        { field: 'priceFen', unit: input.unit, priceFen: input.priceFen, capFen: cap.cap_fen },
        {
          zh: `实际收费 ${input.priceFen} 分高于上限收费标准 ${cap.cap_fen} 分（每${unitZh(input.unit)}）`,
          en: `The price ${input.priceFen} fen is above the cap fee of ${cap.cap_fen} fen per ${input.unit}`,
        },
      );
    }
    await store.setPrice(tx, productId, input.unit, input.priceFen);
    await auditAs(ctx, tx, 'operation.price.set', 'data_product', productId, {
      unit: input.unit,
      priceFen: input.priceFen,
    });
  });
  return getProduct(ctx, productId);
}

function unitZh(unit: Unit): string {
  return { call: '次调用', row: '行', month: '月', volume: 'MiB' }[unit];
}

/** An operator without a full year of operation (no closed previous year) charges trial fees. */
async function isTrial(db: Executor, operatorOrgId: string, year: number): Promise<boolean> {
  const previous = await store.findCap(db, operatorOrgId, year - 1);
  return !previous?.closed_at;
}

// ---------------------------------------------------------------------------- revenue caps

export interface RevenueCapInput {
  costs: Array<{ item: string; amountFen: number }>;
  profitRateBp: number;
  bondYieldBp: number;
  taxFen: number;
}

/** 最高准许收入 = 经营成本 + 经营成本 × 准许利润率 + 税金, less the previous year's excess. */
export function maximumRevenue(input: RevenueCapInput): { operatingCostFen: number; maxRevenueFen: number } {
  const operatingCostFen = input.costs.reduce((sum, c) => sum + c.amountFen, 0);
  const profit = Math.floor((operatingCostFen * input.profitRateBp) / 10_000);
  return { operatingCostFen, maxRevenueFen: operatingCostFen + profit + input.taxFen };
}

export async function setRevenueCap(
  ctx: Ctx,
  operatorOrgId: string,
  year: number,
  input: RevenueCapInput,
): Promise<CapView> {
  authorize(ctx.principal, OPERATION_ADMIN);
  if (input.profitRateBp > input.bondYieldBp + PROFIT_MARGIN_OVER_BOND_BP) {
    throw invalid(
      'profitRateBp',
      '准许利润率不得高于十年期国债平均收益率加 6 个百分点',
      'the profit rate may not exceed the 10-year bond yield plus 6 points',
      {
        maxBp: input.bondYieldBp + PROFIT_MARGIN_OVER_BOND_BP,
      },
    );
  }
  if (input.costs.length === 0) throw invalid('costs', '须列出成本构成', 'list the cost breakdown');
  const org = await identity.getOrganization(platformCtx(ctx), operatorOrgId);
  if (org.type !== 'authorized_operator')
    throw invalid('operatorOrgId', '不是授权运营单位', 'not an authorized operator');
  const { operatingCostFen, maxRevenueFen } = maximumRevenue(input);
  return withTx(ctx.db, async (tx) => {
    const previous = await store.findCap(tx, operatorOrgId, year - 1);
    const carried = previous?.closed_revenue_fen != null ? excessOf(previous) : 0;
    const row = await store.upsertRevenueCap(tx, {
      operator_org_id: operatorOrgId,
      year,
      costs: JSON.stringify(input.costs),
      operating_cost_fen: operatingCostFen,
      profit_rate_bp: input.profitRateBp,
      bond_yield_bp: input.bondYieldBp,
      tax_fen: input.taxFen,
      max_revenue_fen: maxRevenueFen,
      carried_over_fen: carried,
      trial: !previous?.closed_at,
    });
    await auditAs(ctx, tx, 'operation.revenue_cap.set', 'organization', operatorOrgId, {
      year,
      maxRevenueFen,
      carriedOverFen: carried,
    });
    return capView(row);
  });
}

function excessOf(cap: CapRow): number {
  return Math.max(0, (cap.closed_revenue_fen ?? 0) - (cap.max_revenue_fen - cap.carried_over_fen));
}

/**
 * Closes an operator's year: its revenue is the sum of its bills; what exceeds the effective
 * maximum is carried over and deducted from the next year's maximum.
 */
export async function closeRevenueYear(ctx: Ctx, operatorOrgId: string, year: number): Promise<CapView> {
  authorize(ctx.principal, OPERATION_ADMIN);
  return withTx(ctx.db, async (tx) => {
    const cap = await store.findCap(tx, operatorOrgId, year);
    if (!cap) throw notFound('revenue_cap', `${operatorOrgId}/${year}`);
    const revenue = await store.revenue(tx, operatorOrgId, year);
    const closed = await store.closeCap(tx, operatorOrgId, year, revenue);
    if (!closed) throw new AppError('CONFLICT', { field: 'year', reason: 'already_closed' });
    const excess = excessOf(closed);
    if (await store.findCap(tx, operatorOrgId, year + 1))
      await store.setCarriedOver(tx, operatorOrgId, year + 1, excess);
    await auditAs(ctx, tx, 'operation.revenue_cap.close', 'organization', operatorOrgId, {
      year,
      revenueFen: revenue,
      excessFen: excess,
    });
    return capView(closed);
  });
}

export async function listRevenueCaps(ctx: Ctx, year?: number): Promise<CapView[]> {
  authorize(ctx.principal, OPERATION_READ);
  return (await store.listCaps(ctx.db, year)).map(capView);
}

// ---------------------------------------------------------------------------- subscriptions

/**
 * The contracts a product's operator may record a subscription under: those in force today, of
 * any customer, on a resource in the product's lineage — with the customer's and the resource's
 * names, so the form offers a choice instead of asking for a typed contract id.
 */
export async function subscribableContracts(ctx: Ctx, productId: string) {
  const principal = authorize(ctx.principal, OPERATOR);
  const product = await store.findProduct(ctx.db, productId);
  if (!product) throw notFound('data_product', productId);
  authorize(principal, { ...OPERATOR, orgId: product.operator_org_id });
  const lineage = product.lineage as unknown as Lineage;
  const contracts = await sharing.contractsInForce(
    ctx.db,
    null,
    lineage.resources.map((r) => r.resourceId),
  );
  const customers = await identity.organizationNames(
    ctx,
    contracts.map((c) => c.consumer_org_id),
  );
  const resources = new Map<string, string>();
  for (const id of new Set(contracts.map((c) => c.resource_id)))
    resources.set(id, (await catalog.getResource(platformCtx(ctx), id)).name);
  return contracts.map((c) => ({
    contractId: c.id,
    customerOrgId: c.consumer_org_id,
    customerName: customers.get(c.consumer_org_id) ?? c.consumer_org_id,
    resourceId: c.resource_id,
    resourceName: resources.get(c.resource_id) ?? c.resource_id,
    validTo: c.valid_to.toISOString(),
  }));
}

/**
 * A customer's use of a product through its own sharing contract (whose resource is in the
 * product's lineage). Public governance and public welfare use is free: its bills are zero,
 * whatever the price sheet says.
 */
export async function subscribe(
  ctx: Ctx,
  input: { productId: string; contractId: string; purpose: Purpose; unit: Unit },
): Promise<SubscriptionView> {
  const principal = authorize(ctx.principal, OPERATOR);
  const product = await store.findProduct(ctx.db, input.productId);
  if (!product) throw notFound('data_product', input.productId);
  authorize(principal, { ...OPERATOR, orgId: product.operator_org_id });
  const contract = await sharing.getContract(platformCtx(ctx), input.contractId);
  const lineage = product.lineage as unknown as Lineage;
  if (!lineage.resources.some((r) => r.resourceId === contract.resourceId)) {
    throw new AppError('OUT_OF_SCOPE', { field: 'contractId', resourceId: contract.resourceId });
  }
  const free = FREE_PURPOSES.includes(input.purpose);
  if (!free) {
    const prices = await store.prices(ctx.db, [product.id]);
    const price = prices.find((p) => p.unit === input.unit);
    if (!price || price.price_fen === null) {
      throw invalid('unit', '该计费单位尚未定价', 'no price is set for this unit', { unit: input.unit });
    }
  }
  return withTx(ctx.db, async (tx) => {
    const row = await store.insertSubscription(tx, {
      id: newId('sub'),
      product_id: product.id,
      contract_id: contract.id,
      customer_org_id: contract.consumerOrgId,
      purpose: input.purpose,
      unit: input.unit,
      created_by: principal.userId,
    });
    await auditAs(ctx, tx, 'operation.subscribe', 'data_product', product.id, {
      subscription: row.id,
      contract: contract.id,
      purpose: input.purpose,
    });
    return subscriptionView(row);
  });
}

export async function listSubscriptions(ctx: Ctx): Promise<SubscriptionView[]> {
  const principal = authorize(ctx.principal, OPERATION_READ);
  if (hasRole(principal, 'platform_admin', 'auditor'))
    return (await store.listSubscriptions(ctx.db, {})).map(subscriptionView);
  const own = await store.listProducts(ctx.db, principal.orgId);
  const asOperator = await store.listSubscriptions(ctx.db, { productIds: own.map((p) => p.id) });
  const asCustomer = await store.listSubscriptions(ctx.db, { customerOrgId: principal.orgId });
  const seen = new Set<string>();
  return [...asOperator, ...asCustomer]
    .filter((s) => !seen.has(s.id) && seen.add(s.id))
    .map(subscriptionView);
}

// ---------------------------------------------------------------------------- metering and bills

export interface Metering {
  calls: number;
  rows: number;
  bytes: number;
  first: number | null;
  last: number | null;
}

/** A China calendar month as UTC instants [from, to). */
export function monthRange(month: string): { from: Date; to: Date } {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw invalid('month', '格式为 YYYY-MM', 'must be YYYY-MM');
  const [y, m] = month.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  return { from: new Date(`${month}-01T00:00:00+08:00`), to: new Date(`${next}-01T00:00:00+08:00`) };
}

/**
 * The gateway's served calls on a contract in a month, read from the audit log (`gateway.rows`
 * and `gateway.aggregate` entries; refused calls are not charged).
 */
export async function meter(ctx: Ctx, contractId: string, month: string): Promise<Metering> {
  const { from, to } = monthRange(month);
  // An archived month's calls are in the archive's files: metering it here would bill nothing.
  const archived = await audit.archivedUntil(ctx);
  if (archived && from < archived) {
    throw new AppError('AUDIT_ENTRY_ARCHIVED', { month, archivedUntil: archived.toISOString() });
  }
  const total: Metering = { calls: 0, rows: 0, bytes: 0, first: null, last: null };
  let cursor: string | undefined;
  do {
    const page = await audit.listEntries(platformCtx(ctx), {
      objectType: 'contract',
      objectId: contractId,
      from,
      to,
      order: 'asc',
      limit: 500,
      cursor,
    });
    for (const e of page.items) {
      if (e.action !== 'gateway.rows' && e.action !== 'gateway.aggregate') continue;
      const d = (e.details ?? {}) as { rows?: number; bytes?: number };
      total.calls++;
      total.rows += Number(d.rows ?? 0);
      total.bytes += Number(d.bytes ?? 0);
      total.first ??= e.seq;
      total.last = e.seq;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return total;
}

function billLines(
  sub: SubscriptionRow,
  product: ProductRow,
  price: PriceRow | undefined,
  m: Metering,
): BillLine[] {
  const free = FREE_PURPOSES.includes(sub.purpose);
  const unitPrice = free ? 0 : (price?.price_fen ?? 0);
  const quantity = {
    call: m.calls,
    row: m.rows,
    month: 1,
    volume: Math.ceil(m.bytes / BYTES_PER_VOLUME_UNIT),
  }[sub.unit];
  const label = free
    ? `${product.name}（公共治理/公益事业用途，免费）`
    : `${product.name}${price?.trial ? '（试行收费标准）' : ''}`;
  return [
    {
      description: label,
      unit: sub.unit,
      quantity,
      unitPriceFen: unitPrice,
      amountFen: quantity * unitPrice,
    },
  ];
}

async function computeBill(ctx: Ctx, sub: SubscriptionRow, month: string) {
  const product = (await store.findProduct(ctx.db, sub.product_id))!;
  const price = (await store.prices(ctx.db, [product.id])).find((p) => p.unit === sub.unit);
  const metering = await meter(ctx, sub.contract_id, month);
  const lines = billLines(sub, product, price, metering);
  return { product, metering, lines, totalFen: lines.reduce((s, l) => s + l.amountFen, 0) };
}

/** Issues the month's bill of a subscription (once; a second call returns the bill issued). */
export async function issueBill(
  ctx: Ctx,
  subscriptionId: string,
  month: string,
  now = new Date(),
): Promise<BillView> {
  authorize(ctx.principal, OPERATOR);
  const sub = await store.findSubscription(ctx.db, subscriptionId);
  if (!sub) throw notFound('product_subscription', subscriptionId);
  const product = (await store.findProduct(ctx.db, sub.product_id))!;
  authorize(ctx.principal, { ...OPERATOR, orgId: product.operator_org_id });
  if (monthRange(month).to > now)
    throw invalid('month', '只能为已结束的月份出账', 'only a month that has ended can be billed');
  const existing = await store.billFor(ctx.db, sub.id, month);
  if (existing) return billView(existing);
  const bill = await computeBill(ctx, sub, month);
  return withTx(ctx.db, async (tx) => {
    const row = await store.insertBill(tx, {
      id: newId('bil'),
      subscription_id: sub.id,
      contract_id: sub.contract_id,
      operator_org_id: product.operator_org_id,
      customer_org_id: sub.customer_org_id,
      month,
      lines: JSON.stringify(bill.lines),
      total_fen: bill.totalFen,
      audit_seqs: JSON.stringify({
        first: bill.metering.first,
        last: bill.metering.last,
        calls: bill.metering.calls,
      }),
    });
    const issued = row ?? (await store.billFor(tx, sub.id, month))!;
    if (row)
      await auditAs(ctx, tx, 'operation.bill', 'bill', row.id, {
        subscription: sub.id,
        month,
        totalFen: bill.totalFen,
      });
    return billView(issued);
  });
}

/** Recomputes a bill from the audit log and says whether it matches what was issued. */
export async function reproduceBill(ctx: Ctx, id: string) {
  const bill = await getBill(ctx, id);
  const sub = (await store.findSubscription(ctx.db, bill.subscriptionId))!;
  const again = await computeBill(ctx, sub, bill.month);
  // jsonb keeps its own key order: compare line by line, field by field.
  const same = (a: BillLine, b: BillLine) =>
    a.description === b.description &&
    a.unit === b.unit &&
    a.quantity === b.quantity &&
    a.unitPriceFen === b.unitPriceFen &&
    a.amountFen === b.amountFen;
  const matches =
    again.totalFen === bill.totalFen &&
    again.lines.length === bill.lines.length &&
    again.lines.every((line, i) => same(line, bill.lines[i]!));
  return {
    billId: id,
    matches,
    issued: { lines: bill.lines, totalFen: bill.totalFen },
    recomputed: { lines: again.lines, totalFen: again.totalFen },
  };
}

function canSeeBill(principal: Principal, b: BillRow) {
  return (
    hasRole(principal, 'platform_admin', 'auditor') ||
    principal.orgId === b.operator_org_id ||
    principal.orgId === b.customer_org_id
  );
}

export async function getBill(ctx: Ctx, id: string): Promise<BillView> {
  const principal = authorize(ctx.principal, OPERATION_READ);
  const b = await store.findBill(ctx.db, id);
  if (!b || !canSeeBill(principal, b)) throw notFound('bill', id);
  return billView(b);
}

export async function listBills(ctx: Ctx, month?: string): Promise<BillView[]> {
  const principal = authorize(ctx.principal, OPERATION_READ);
  const rows = await store.listBills(ctx.db, month ? { monthPrefix: month } : {});
  return rows.filter((b) => canSeeBill(principal, b)).map(billView);
}

// ---------------------------------------------------------------------------- disclosure

/**
 * The yearly disclosure (due by the end of March for the previous year), generated from the
 * records: the implementing body's authorizations and cap fees; each operator's authorized
 * resources, products and actual fees, revenue against its maximum. Public.
 */
export async function disclosure(ctx: Ctx, year: number) {
  const pctx = platformCtx(ctx);
  const agreements = (await store.listAgreements(ctx.db)).filter(
    (a) => a.valid_from <= `${year}-12-31` && a.valid_to >= `${year}-01-01`,
  );
  const operatorIds = [...new Set(agreements.map((a) => a.operator_org_id))].sort();
  const operators = [];
  for (const orgId of operatorIds) {
    const org = await identity.getOrganization(pctx, orgId);
    const own = agreements.filter((a) => a.operator_org_id === orgId);
    const resources = [];
    for (const a of own) {
      for (const r of (a.scope as unknown as AgreementScope).resources) {
        const res = await catalog.getResource(pctx, r.resourceId);
        resources.push({
          resourceId: res.id,
          code: res.code,
          name: res.name,
          provider: res.provider.name,
          fields: r.fields,
          agreementId: a.id,
        });
      }
    }
    const products = (await productViews(ctx, await store.listProducts(ctx.db, orgId))).filter((p) =>
      own.some((a) => a.id === p.agreementId),
    );
    const cap = await store.findCap(ctx.db, orgId, year);
    const revenueFen = await store.revenue(ctx.db, orgId, year);
    operators.push({
      orgId,
      name: org.name,
      uscc: org.uscc,
      agreements: own.map((a) => ({
        id: a.id,
        validFrom: a.valid_from,
        validTo: a.valid_to,
        scenarios: a.scenarios as unknown as string[],
        state: a.state,
      })),
      authorizedResources: resources,
      products: products.map((p) => ({
        id: p.id,
        name: p.name,
        kind: p.kind,
        registrationCode: p.registrationCode,
        fees: p.prices,
      })),
      revenue: {
        maxRevenueFen: cap?.max_revenue_fen ?? null,
        carriedOverFen: cap?.carried_over_fen ?? null,
        actualFen: revenueFen,
        trial: cap?.trial ?? true,
      },
    });
  }
  return {
    year,
    dueBy: `${year + 1}-03-31`,
    generatedAt: new Date().toISOString(),
    implementingBody: { authorizations: agreements.length, operators: operators.length },
    operators,
  };
}
export type Disclosure = Awaited<ReturnType<typeof disclosure>>;

// ---------------------------------------------------------------------------- the gateway's check

/**
 * The authorized operation agreements of a contract's consumer covering its resource, for the
 * gateway's admission query (a scalar subquery, like the emergency stop's): an operator reaches
 * agreement-scoped data through the gateway only while an agreement is in force, and only the
 * fields it grants.
 */
export function operationTermsSql(ids: {
  orgId: RawBuilder<unknown>;
  resourceId: RawBuilder<unknown>;
}): RawBuilder<OperationTerms[] | null> {
  return store.termsCoveringJson(ids);
}

/**
 * What the agreements allow a gateway call: `null` when none covers the resource (an ordinary
 * sharing contract, decided by the contract alone); otherwise the fields of the agreements in force
 * today (Beijing date) — and a refusal when every one of them is terminated, expired or not yet
 * begun, so ending an agreement ends the operator's use from the next request on every node.
 */
export function operationFields(
  terms: OperationTerms[] | null,
  now = new Date(),
): ReadonlySet<string> | null {
  if (!terms || terms.length === 0) return null;
  const today = chinaDate(now);
  const inForce = terms.filter((a) => a.state === 'active' && a.validFrom <= today && today <= a.validTo);
  if (inForce.length === 0) {
    throw new AppError('OPERATION_AGREEMENT_NOT_IN_FORCE', {
      agreements: terms.map((a) => ({
        id: a.id,
        state: a.state,
        validFrom: a.validFrom,
        validTo: a.validTo,
      })),
    });
  }
  return new Set(inForce.flatMap((a) => a.fields));
}
