import * as catalog from '../catalog/service.ts';
import type { Ctx } from '../core/context.ts';
import * as gateway from '../gateway/service.ts';
import * as identity from '../identity/service.ts';
import * as op from '../operation/service.ts';
import * as registry from '../registry/service.ts';
import { registryStore } from '../registry/store.ts';
import { addCalendarDays, addWorkingDays, chinaDate, isWorkingDay } from '../standards/working-days.ts';
import { DEMO_CITY, DEMO_ORGANIZATIONS, stewardUsername } from './city.ts';
import { findDemoResource } from './resources.ts';
import { actAs, type DemoResourceRef, demoResource, ensureDemoContract } from './support.ts';

/**
 * The demo city's authorized operation of public data (授权运营, issue 19), through the same
 * services as the API, each step as the account whose step it is, each record found before it is
 * made (seeding again adds only what is missing):
 *
 * - Registry (26号): the transport bureau's bus ridership and the ecology bureau's air quality
 *   data are registered by their holders' stewards and handled by the data bureau (`admin`):
 *   submitted → accepted → reviewed → public notice → registered, with signed certificates. The
 *   earlier steps are dated in the past through the services' `now`, so that the notice (the
 *   configured working days) has ended by today and the registration is decided today, as the
 *   registry decides it; the audit log records each step when the seed really took it.
 * - Operation (27号, 65号): a plan over both resources, approved; 云岚市数据运营有限公司 selected;
 *   an agreement in force; one data product with a cap fee per call set by the bureau and the
 *   operator's price under it; the operator's maximum allowed revenue for the year.
 * - Customers, each through its own sharing contract on the bus ridership data, applied for and
 *   approved as every contract is: the civil affairs bureau (public welfare, free) and
 *   云岚市智慧出行科技有限公司 (industry, paying per call).
 * - Metered calls and bills. Each customer's calls are real gateway calls on its contract as its
 *   own account (admitted, counted and recorded in the audit log exactly as over HTTP), so they
 *   are dated now: the audit log is a time-ordered Merkle log whose integrator refuses an entry
 *   dated before the last integrated one, so calls of an earlier month cannot be made up — and
 *   should not be. A bill is
 *   for a month that has ended; so that a fresh start shows the bills, the operator issues the
 *   seeding month's bills as at the first moment of the next month (`issueBill`'s `now`, as the
 *   operation tests do). They meter exactly the calls the audit log holds for that month, and
 *   `…/reproduce` recomputes them from it; a later call on those contracts in the same month
 *   would show as a difference when a bill is reproduced, as it should. Seeding again finds the
 *   month of the first seeded call and makes no more calls once that month's bills exist.
 */

const OPERATOR_STEWARD = stewardUsername('operator');
const WELFARE_CUSTOMER = 'consumer.civil';
const PAYING_CUSTOMER = 'consumer.mobility';
const PLAN_NAME = '交通出行与生态环境数据授权运营';
const PRODUCT_NAME = '公交出行与空气质量指数';
const SCENARIO = '绿色出行指数与公交线网优化';
/** Calls each customer makes in the demo month (under the contract's rate limit per minute). */
const WELFARE_CALLS = 8;
const PAYING_CALLS = 22;
const CAP_FEN = 50;
const PRICE_FEN = 30;

/** The demo resources the operation covers, with the fields the agreement grants. */
const SCOPE: Array<{ key: string; fields: string[] }> = [
  { key: 'bus_ridership', fields: ['line_no', 'line_name', 'run_date', 'passengers', 'trips', 'mileage_km'] },
  { key: 'air_quality', fields: ['district', 'observed_at', 'aqi', 'pm25', 'primary_pollutant'] },
];
/** What the customers' contracts ask for (the product's source: bus ridership). */
const CUSTOMER_FIELDS = ['line_no', 'line_name', 'run_date', 'passengers', 'trips'];

/** 10:00 Beijing time on a day: a working-hours instant for a dated step. */
const at = (day: string) => new Date(`${day}T10:00:00+08:00`);

// ---------------------------------------------------------------------------- registry

/**
 * The days of a registration that is decided today: submitted and accepted on a working day S,
 * reviewed 3 working days later, put on notice the next working day, the notice ending before
 * today. The latest such S: the demo's registrations have only just been decided.
 */
export function registrationDays(today: string, noticeWorkingDays: number) {
  for (let back = 1; back < 400; back++) {
    const submitted = addCalendarDays(today, -back);
    if (!isWorkingDay(submitted)) continue;
    const reviewed = addWorkingDays(submitted, 3);
    const published = addWorkingDays(submitted, 4);
    if (addWorkingDays(published, noticeWorkingDays) < today) return { submitted, reviewed, published };
  }
  throw new Error('no registration dates found');
}

async function ensureRegistered(ctx: Ctx, admin: Ctx, resource: DemoResourceRef): Promise<void> {
  if (await registry.currentCode(ctx.db, 'resource', resource.id)) return;
  const spec = findDemoResource(resource.key)!;
  const holder = await actAs(ctx, stewardUsername(spec.provider));
  const days = registrationDays(chinaDate(), ctx.config.registryNoticeWorkingDays);
  const open = (await registryStore.openFor(ctx.db, 'resource', resource.id))[0];
  let state = open?.state;
  let id = open?.id;
  if (!open) {
    const r = await catalog.getResource(admin, resource.code);
    const org = await identity.getOrganization(admin, r.provider.id);
    const created = await registry.submitRegistration(
      holder,
      {
        kind: 'first',
        subjectType: 'resource',
        subjectId: resource.id,
        content: {
          name: r.name,
          summary: r.summary,
          fields: r.fields.map((f) => ({ name: f.name, label: f.label, dataType: f.dataType })),
          volume: `${spec.rows} 条（首个版本）`,
          source: `${org.name}业务系统`,
          updateCycle: spec.updateCycle === 'daily' ? '每日' : '实时',
          grade: '一般数据',
          storageLocation: `${DEMO_CITY.name}政务云`,
          storageMethod: '关系型数据库',
          intendedUse: '共享交换与授权运营',
          qualityDescription: '按数据元标准逐字段校核，导入时检查格式与取值范围',
          operationScope: '授权运营单位经网关按协议范围使用，不导出原始明细',
        },
        commitment: {
          signatory: org.name,
          signedOn: days.submitted,
          text: '本单位承诺所登记数据来源合法、内容真实，依法履行数据安全和个人信息保护义务。',
        },
      },
      at(days.submitted),
    );
    state = created.state;
    id = created.id;
  }
  // Each step as the bureau took it, on its day; a step the seed already took is not taken again.
  const steps: Array<[string, 'accept' | 'review' | 'publish', string]> = [
    ['submitted', 'accept', days.submitted],
    ['accepted', 'review', days.reviewed],
    ['reviewed', 'publish', days.published],
  ];
  for (const [from, event, day] of steps) {
    if (state !== from) continue;
    state = (await registry.actOnRegistration(admin, id!, event, {}, at(day))).state;
  }
  if (state === 'notice') await registry.actOnRegistration(admin, id!, 'register');
}

// ---------------------------------------------------------------------------- contracts

function ensureCustomerContract(
  ctx: Ctx,
  username: string,
  resource: DemoResourceRef,
  purpose: { category: string; text: string; legalBasis: string; scenario: string },
): Promise<string> {
  return ensureDemoContract(ctx, {
    consumer: username,
    resource,
    fields: CUSTOMER_FIELDS,
    purpose: purpose.text,
    purposeCategory: purpose.category,
    legalBasis: purpose.legalBasis,
    scenario: purpose.scenario,
    approval: '用途明确、字段必要，同意共享',
    security: { reason: '安全审查通过', unmasked: false },
  });
}

// ---------------------------------------------------------------------------- metering

/** The first month (China time) in which the contract has a served gateway call, if any. */
async function firstCallMonth(ctx: Ctx, contractId: string): Promise<string | null> {
  const row = await ctx.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.min('time').as('first'))
    .where('object_type', '=', 'contract')
    .where('object_id', '=', contractId)
    .where('action', 'in', ['gateway.rows', 'gateway.aggregate'])
    .executeTakeFirst();
  return row?.first ? chinaDate(new Date(row.first as Date | string)).slice(0, 7) : null;
}

/** Real calls on the contract as its consumer: admitted, queried and recorded like the HTTP endpoint's. */
async function callGateway(ctx: Ctx, username: string, contractId: string, calls: number): Promise<void> {
  const customer = await actAs(ctx, username);
  for (let i = 0; i < calls; i++) {
    const read = await gateway.readThrough(
      customer,
      contractId,
      {
        fields: ['line_no', 'run_date', 'passengers'],
        filter: { field: 'passengers', op: 'gte', value: (i % 5) * 1000 },
        limit: 20,
      },
      '127.0.0.1',
    );
    if ('refused' in read) throw new Error(`demo gateway call refused: ${read.refused}`);
  }
}

function nextMonthStart(month: string): Date {
  return op.monthRange(month).to;
}

// ---------------------------------------------------------------------------- seeding

export async function seedOperation(ctx: Ctx): Promise<void> {
  const admin = await actAs(ctx, 'admin');
  const operator = await actAs(ctx, OPERATOR_STEWARD);
  const operatorOrgId = operator.principal!.orgId;
  const resources = await Promise.all(SCOPE.map((s) => demoResource(ctx, s.key)));
  const bus = resources[0]!;

  for (const r of resources) await ensureRegistered(ctx, admin, r);

  // Plan → approval → selection → agreement.
  let plan = (await op.listPlans(admin)).find((p) => p.name === PLAN_NAME);
  plan ??= await op.createPlan(admin, {
    name: PLAN_NAME,
    mode: 'scenario',
    resourceIds: resources.map((r) => r.id),
    scenarios: [SCENARIO],
    selectionMethod: 'public_tender',
    securityMeasures: '数据不出域：经网关按协议字段调用，原始明细不导出；调用全程记入审计日志',
    termYears: 3,
  });
  if (plan.state === 'draft') plan = await op.approvePlan(admin, plan.id);
  if (plan.state === 'approved') {
    const mobility = DEMO_ORGANIZATIONS.find((o) => o.key === 'mobility')!;
    const rival = await ctx.db
      .selectFrom('organizations')
      .select('id')
      .where('name', '=', mobility.name)
      .executeTakeFirstOrThrow();
    plan = await op.selectOperator(admin, plan.id, {
      candidates: [
        { orgId: operatorOrgId, score: 88.5 },
        { orgId: rival.id, score: 72 },
      ],
    });
  }
  const today = chinaDate();
  let agreement = (await op.listAgreements(admin)).find((a) => a.planId === plan.id && a.state === 'active');
  if (!agreement) {
    // In force from the day it is signed, for the plan's three years.
    const validFrom = today;
    agreement = await op.createAgreement(admin, {
      planId: plan.id,
      scope: { resources: resources.map((r, i) => ({ resourceId: r.id, fields: SCOPE[i]!.fields })) },
      scenarios: [SCENARIO],
      validFrom,
      validTo: addCalendarDays(`${Number(validFrom.slice(0, 4)) + 3}${validFrom.slice(4)}`, -1),
      duties: '落实数据安全和个人信息保护责任，开展风险监测与应急处置，按季度报送运营情况',
      pricing: '按实施机构核定的上限收费标准收费；公共治理、公益事业用途免费',
      revenue: '授权运营收入单独核算，不超过年度最高准许收入，超出部分抵减下一年度',
      exitTerms: '期满或终止后衍生数据交还实施机构，删除全部副本并出具证明',
    });
  }

  // The product, its cap fee (the bureau) and price (the operator); the year's revenue cap.
  let product = (await op.listProducts(admin, operatorOrgId)).find((p) => p.name === PRODUCT_NAME);
  product ??= await op.createProduct(operator, {
    agreementId: agreement.id,
    name: PRODUCT_NAME,
    kind: 'api',
    summary: '按线路和日期给出公交客流、班次与同期空气质量，供出行服务和公交线网优化调用',
    lineage: { resources: resources.map((r, i) => ({ resourceId: r.id, fields: SCOPE[i]!.fields })) },
  });
  if (!product.prices.some((p) => p.unit === 'call'))
    product = await op.setCapFee(admin, product.id, {
      unit: 'call',
      capFen: CAP_FEN,
      basis: '按算力、存储、网络和运维人工成本测算，每次调用不超过 0.50 元',
    });
  if (product.prices.find((p) => p.unit === 'call')?.priceFen == null)
    product = await op.setPrice(operator, product.id, { unit: 'call', priceFen: PRICE_FEN });
  const year = Number(today.slice(0, 4));
  if (!(await op.listRevenueCaps(admin, year)).some((c) => c.operatorOrgId === operatorOrgId))
    await op.setRevenueCap(admin, operatorOrgId, year, {
      costs: [
        { item: '算力与存储', amountFen: 48_000_000 },
        { item: '网络与安全防护', amountFen: 16_000_000 },
        { item: '运营人工', amountFen: 36_000_000 },
      ],
      profitRateBp: 600,
      bondYieldBp: 168,
      taxFen: 6_360_000,
    });

  // The customers, their subscriptions, their calls and the month's bills.
  const customers = [
    {
      username: WELFARE_CUSTOMER,
      purpose: 'public_welfare' as const,
      calls: WELFARE_CALLS,
      contract: {
        category: 'public_service',
        text: '城乡低收入群体公交出行补贴测算',
        legalBasis: '《社会救助暂行办法》',
        scenario: '按线路客流测算公益性出行补贴的覆盖面',
      },
    },
    {
      username: PAYING_CUSTOMER,
      purpose: 'industry' as const,
      calls: PAYING_CALLS,
      contract: {
        category: 'industry_development',
        text: '出行服务应用的公交客流与拥挤度提示',
        legalBasis: '公共数据授权运营协议及数据产品服务合同',
        scenario: '出行应用按线路展示客流热度，推荐错峰出行',
      },
    },
  ];
  const subscriptions = await op.listSubscriptions(admin);
  for (const c of customers) {
    const contractId = await ensureCustomerContract(ctx, c.username, bus, c.contract);
    let sub = subscriptions.find((s) => s.productId === product.id && s.contractId === contractId);
    sub ??= await op.subscribe(operator, {
      productId: product.id,
      contractId,
      purpose: c.purpose,
      unit: 'call',
    });
    const month = (await firstCallMonth(ctx, contractId)) ?? today.slice(0, 7);
    const billed = (await op.listBills(admin, month)).some((b) => b.subscriptionId === sub.id);
    if (billed) continue;
    const made = (await op.meter(admin, contractId, month)).calls;
    if (month === today.slice(0, 7) && made < c.calls)
      await callGateway(ctx, c.username, contractId, c.calls - made);
    await op.issueBill(operator, sub.id, month, nextMonthStart(month));
  }
}
