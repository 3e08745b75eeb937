import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ctx } from '../src/core/context.ts';
import { AppError } from '../src/core/errors.ts';
import * as identity from '../src/identity/service.ts';
import * as op from '../src/operation/service.ts';
import * as registry from '../src/registry/service.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { sharingFixture } from './sharing-fixture.ts';

let t: TestApp;
let keyDir: string;
let admin: Ctx;
let operatorCtx: Ctx;
let operatorOrgId: string;
let fx: ReturnType<typeof sharingFixture>;

async function refused(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const THIS_MONTH = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);
const YEAR = Number(THIS_MONTH.slice(0, 4));
const AFTER_MONTH = new Date(Date.now() + 40 * 86_400_000);

beforeAll(async () => {
  keyDir = await fs.mkdtemp(path.join(os.tmpdir(), 'shutong-operation-'));
  t = await startTestApp({ AUDIT_KEY_FILE: path.join(keyDir, 'key.pem') });
  admin = await t.actAs('admin');
  const org = await t.database.db
    .selectFrom('organizations')
    .select('id')
    .where('type', '=', 'authorized_operator')
    .executeTakeFirstOrThrow();
  operatorOrgId = org.id;
  // The operator's data steward is a demo account (src/demo/city.ts).
  operatorCtx = await t.actAs('steward.operator');
  fx = sharingFixture(t);
  await fx.login();
}, 600_000);
afterAll(async () => {
  await t?.close();
  await fs.rm(keyDir, { recursive: true, force: true });
});

describe('authorized operation, prices, bills and disclosure', () => {
  it('runs plan → selection → agreement → product → cap → bills → carry-over → disclosure', {
    timeout: 600_000,
  }, async () => {
    const code = await fx.resource('门诊就诊记录', 'conditional');
    const resource = (
      await t.request({ method: 'GET', url: `/v1/resources/${code}`, token: fx.tokens.steward })
    ).json();

    // Plan: a term above the configured maximum (5 years) is refused.
    const planInput = {
      name: '医疗健康数据授权运营',
      mode: 'domain' as const,
      resourceIds: [resource.id],
      scenarios: ['医疗资源配置分析'],
      selectionMethod: 'public_tender' as const,
      securityMeasures: '数据不出域，经网关和差分隐私聚合使用',
      termYears: 3,
    };
    expect((await refused(op.createPlan(admin, { ...planInput, termYears: 6 }))).code).toBe('TERM_TOO_LONG');
    // The forms learn that maximum from the API before anything is refused.
    const rules = await t.request({ method: 'GET', url: '/v1/operation/rules', token: fx.tokens.steward });
    expect(rules.statusCode, rules.body).toBe(200);
    expect(rules.json()).toEqual({ maxTermYears: 5 });
    expect((await refused(op.createPlan(operatorCtx, planInput))).code).toBe('FORBIDDEN');
    const plan = await op.createPlan(admin, planInput);
    expect(
      (
        await refused(
          op.selectOperator(admin, plan.id, { candidates: [{ orgId: operatorOrgId, score: 90 }] }),
        )
      ).code,
    ).toBe('INVALID_TRANSITION');
    await op.approvePlan(admin, plan.id);
    const enterprise = await t.database.db
      .selectFrom('organizations')
      .select('id')
      .where('type', '=', 'enterprise')
      .executeTakeFirstOrThrow();
    const selected = await op.selectOperator(admin, plan.id, {
      candidates: [
        { orgId: enterprise.id, score: 71.5 },
        { orgId: operatorOrgId, score: 88 },
      ],
    });
    expect(selected.state).toBe('selected');
    expect(selected.selection?.winnerOrgId).toBe(operatorOrgId);
    expect(selected.selection?.candidates.map((c) => c.score)).toEqual([88, 71.5]);

    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const agreementInput = {
      planId: plan.id,
      scope: { resources: [{ resourceId: resource.id, fields: ['district', 'visits'] }] },
      scenarios: ['医疗资源配置分析'],
      validFrom: `${YEAR - 1}-01-01`,
      validTo: `${YEAR + 1}-12-31`,
      duties: '数据安全、个人信息保护、风险监测与应急处置',
      pricing: '按政府指导价收费',
      revenue: '单独核算',
      exitTerms: '期满后衍生数据交还实施机构并删除副本',
    };
    expect(
      (await refused(op.createAgreement(admin, { ...agreementInput, validTo: `${YEAR + 3}-01-02` }))).code,
    ).toBe('TERM_TOO_LONG');
    const agreement = await op.createAgreement(admin, agreementInput);
    expect(agreement.operatorOrgId).toBe(operatorOrgId);
    expect(today >= agreement.validFrom).toBe(true);

    // Product: its lineage must stay inside the agreement's scope.
    const productInput = {
      agreementId: agreement.id,
      name: '区县就诊热度指数',
      kind: 'api' as const,
      summary: '按区县的就诊人次指数',
      lineage: { resources: [{ resourceId: resource.id, fields: ['district', 'visits'] }] },
    };
    expect(
      (
        await refused(
          op.createProduct(operatorCtx, {
            ...productInput,
            lineage: { resources: [{ resourceId: resource.id, fields: ['person_id'] }] },
          }),
        )
      ).code,
    ).toBe('OUT_OF_SCOPE');
    expect((await refused(op.createProduct(await t.actAs('steward.psb'), productInput))).code).toBe(
      'FORBIDDEN',
    );
    const product = await op.createProduct(operatorCtx, productInput);

    // The product can be registered by its operator.
    const reg = await registry.submitRegistration(operatorCtx, {
      kind: 'first',
      subjectType: 'product',
      subjectId: product.id,
      content: {
        name: product.name,
        summary: product.summary,
        fields: [{ name: 'district', label: '区县' }],
        volume: '按次调用',
        source: '门诊就诊记录（授权运营）',
        updateCycle: '每月',
        grade: '一般数据',
        storageLocation: '政务云',
        storageMethod: '数据库',
        intendedUse: '医疗资源配置分析',
        qualityDescription: '与源数据逐月核对',
        operationScope: agreement.id,
      },
      commitment: { signatory: '运营公司', signedOn: today, text: '承诺依法运营' },
    });
    expect(reg.subject).toMatchObject({ type: 'product', id: product.id, name: product.name });
    expect(reg.registrantOrgId).toBe(operatorOrgId);

    // Prices: no price without a cap; a price above the cap is refused with a clear error.
    expect((await refused(op.setPrice(operatorCtx, product.id, { unit: 'call', priceFen: 10 }))).code).toBe(
      'PRICE_ABOVE_CAP',
    );
    expect(
      (await refused(op.setCapFee(operatorCtx, product.id, { unit: 'call', capFen: 50, basis: 'x' }))).code,
    ).toBe('FORBIDDEN');
    const capped = await op.setCapFee(admin, product.id, {
      unit: 'call',
      capFen: 50,
      basis: '算力、存储与人工成本测算',
    });
    expect(capped.prices[0]).toMatchObject({ unit: 'call', capFen: 50, priceFen: null, trial: true });
    const above = await t.request({
      method: 'PUT',
      url: `/v1/operation/products/${product.id}/price`,
      token: await t.login('steward.operator'),
      payload: { unit: 'call', priceFen: 51 },
    });
    expect(above.statusCode).toBe(422);
    expect(above.json().error.code).toBe('PRICE_ABOVE_CAP');
    expect(above.json().error.messages['zh-CN']).toContain('高于上限收费标准 50 分');
    expect(
      (await op.setPrice(operatorCtx, product.id, { unit: 'call', priceFen: 40 })).prices[0]?.priceFen,
    ).toBe(40);
    // Lowering the cap below the price is refused too.
    expect(
      (await refused(op.setCapFee(admin, product.id, { unit: 'call', capFen: 30, basis: 'x' }))).code,
    ).toBe('PRICE_ABOVE_CAP');

    // Two customers through their own contracts: public welfare (free) and industry (paying).
    const welfareContract = await fx.contractFor(code, { fields: ['district', 'visits'] });
    const app = await fx.call(
      'POST',
      '/v1/applications',
      fx.tokens.enterprise,
      fx.application(code, { fields: ['district', 'visits'] }),
    );
    expect(app.statusCode, app.body).toBe(201);
    const approved = await fx.call(
      'POST',
      `/v1/applications/${app.json().id}/approve`,
      fx.tokens.steward,
      {},
    );
    expect(approved.statusCode, approved.body).toBe(200);
    const paidContract = approved.json().contractId as string;
    // The subscription form offers exactly these two contracts, named, to the product's operator only.
    const operatorToken = await t.login('steward.operator');
    const offered = await fx.call('GET', `/v1/operation/products/${product.id}/contracts`, operatorToken);
    expect(offered.statusCode, offered.body).toBe(200);
    const choices = offered.json() as Array<{
      contractId: string;
      customerName: string;
      resourceName: string;
    }>;
    expect(choices.map((c) => c.contractId).sort()).toEqual([welfareContract, paidContract].sort());
    for (const c of choices) {
      expect(c.resourceName).toBe(resource.name);
      expect(c.customerName).not.toMatch(/^org_/);
    }
    const stranger = await fx.call(
      'GET',
      `/v1/operation/products/${product.id}/contracts`,
      fx.tokens.enterprise,
    );
    expect(stranger.statusCode).toBe(403);
    expect(
      (await fx.call('GET', '/v1/operation/products/dp_nonexistent/contracts', operatorToken)).statusCode,
    ).toBe(404);
    const welfare = await op.subscribe(operatorCtx, {
      productId: product.id,
      contractId: welfareContract,
      purpose: 'public_welfare',
      unit: 'call',
    });
    expect(welfare.free).toBe(true);
    const paid = await op.subscribe(operatorCtx, {
      productId: product.id,
      contractId: paidContract,
      purpose: 'industry',
      unit: 'call',
    });
    expect(paid.free).toBe(false);

    // Metered calls through the gateway: 3 for the welfare customer, 4 for the paying one (one refused, not charged).
    for (let i = 0; i < 3; i++) expect((await fx.rows(welfareContract, 'limit=5')).statusCode).toBe(200);
    for (let i = 0; i < 4; i++)
      expect((await fx.rows(paidContract, 'limit=5', fx.tokens.otherKey)).statusCode).toBe(200);
    expect((await fx.rows(paidContract, 'fields=person_id', fx.tokens.otherKey)).statusCode).not.toBe(200);

    // Only a month that has ended is billed.
    expect((await refused(op.issueBill(operatorCtx, paid.id, THIS_MONTH))).code).toBe('VALIDATION_FAILED');
    const freeBill = await op.issueBill(operatorCtx, welfare.id, THIS_MONTH, AFTER_MONTH);
    expect(freeBill.lines).toEqual([
      expect.objectContaining({ unit: 'call', quantity: 3, unitPriceFen: 0, amountFen: 0 }),
    ]);
    expect(freeBill.totalFen).toBe(0);
    const bill = await op.issueBill(operatorCtx, paid.id, THIS_MONTH, AFTER_MONTH);
    expect(bill.lines[0]).toMatchObject({ quantity: 4, unitPriceFen: 40, amountFen: 160 });
    expect(bill.totalFen).toBe(160);
    expect(Number.isInteger(bill.totalFen)).toBe(true);
    // Issuing again returns the same bill.
    expect((await op.issueBill(operatorCtx, paid.id, THIS_MONTH, AFTER_MONTH)).id).toBe(bill.id);

    // Reproduced from the audit log: by the service, and by counting the entries directly.
    expect((await op.reproduceBill(admin, bill.id)).matches).toBe(true);
    const calls = await t.database.db
      .selectFrom('audit_events')
      .select('seq')
      .where('object_id', '=', paidContract)
      .where('action', 'in', ['gateway.rows', 'gateway.aggregate'])
      .execute();
    expect(calls.length * 40).toBe(bill.totalFen);
    // The customer sees its bill; an unrelated organization does not.
    expect((await op.getBill(await t.actAs('consumer.enterprise'), bill.id)).id).toBe(bill.id);
    expect((await refused(op.getBill(await t.actAs('steward.psb'), bill.id))).code).toBe('NOT_FOUND');

    // Maximum allowed revenue: cost + cost × rate + tax; the rate is capped at bond yield + 6 points.
    const capInput = {
      costs: [
        { item: '算力与存储', amountFen: 60 },
        { item: '人工', amountFen: 40 },
      ],
      profitRateBp: 800,
      bondYieldBp: 250,
      taxFen: 2,
    };
    expect(
      (await refused(op.setRevenueCap(admin, operatorOrgId, YEAR, { ...capInput, profitRateBp: 851 }))).code,
    ).toBe('VALIDATION_FAILED');
    const cap = await op.setRevenueCap(admin, operatorOrgId, YEAR, capInput);
    expect(cap).toMatchObject({ operatingCostFen: 100, maxRevenueFen: 110, carriedOverFen: 0, trial: true });
    // Revenue 160 > 110: the excess 50 is deducted from next year's maximum.
    const closed = await op.closeRevenueYear(admin, operatorOrgId, YEAR);
    expect(closed.closedRevenueFen).toBe(160);
    expect((await refused(op.closeRevenueYear(admin, operatorOrgId, YEAR))).code).toBe('CONFLICT');
    const next = await op.setRevenueCap(admin, operatorOrgId, YEAR + 1, capInput);
    expect(next).toMatchObject({ maxRevenueFen: 110, carriedOverFen: 50, effectiveMaxFen: 60, trial: false });

    // The disclosure, generated from the records: JSON, public page and PDF, without signing in.
    const d = await t.request({ method: 'GET', url: `/v1/operation/disclosures/${YEAR}` });
    expect(d.statusCode).toBe(200);
    const disclosure = d.json();
    expect(disclosure.dueBy).toBe(`${YEAR + 1}-03-31`);
    expect(disclosure.operators).toHaveLength(1);
    expect(disclosure.operators[0].authorizedResources[0]).toMatchObject({
      code,
      fields: ['district', 'visits'],
    });
    expect(disclosure.operators[0].products[0]).toMatchObject({
      name: '区县就诊热度指数',
      fees: [expect.objectContaining({ capFen: 50, priceFen: 40 })],
    });
    expect(disclosure.operators[0].revenue).toMatchObject({ maxRevenueFen: 110, actualFen: 160 });
    const page = await t.request({ method: 'GET', url: `/disclosure/${YEAR}` });
    expect(page.body).toContain('区县就诊热度指数');
    const pdf = await t.request({ method: 'GET', url: `/v1/operation/disclosures/${YEAR}/pdf` });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.rawPayload.toString('latin1')).toMatch(/FontFile2/);
  });
});

describe('the gateway under an operation agreement', () => {
  it('serves an operator agreement-scoped data only while an agreement is in force, and only its fields', async () => {
    const code = await fx.resource('门诊就诊记录（授权运营）', 'conditional');
    const resource = (
      await t.request({ method: 'GET', url: `/v1/resources/${code}`, token: fx.tokens.steward })
    ).json();
    await identity.createUser(admin, {
      orgId: operatorOrgId,
      username: 'consumer.operator',
      displayName: '运营公司数据使用人',
      password: 'operator-password-2',
      roles: ['consumer'],
    });
    const operator = await t.login('consumer.operator', 'operator-password-2');
    const contract = await fx.contractFor(
      code,
      {},
      { fields: ['record_no', 'district', 'visits'], operations: ['rows'] },
      operator,
    );
    const served = async () => {
      const res = await fx.rows(contract, 'limit=5', operator);
      return { status: res.statusCode, body: res.json() };
    };
    const fieldsServed = async () =>
      ((await served()).body.fields as Array<{ name: string }>).map((f) => f.name).sort();
    // No agreement covers the resource: an ordinary sharing contract, decided by the contract alone.
    expect(await fieldsServed()).toEqual(['district', 'record_no', 'visits']);

    const plan = await op.createPlan(admin, {
      name: '门诊数据授权运营',
      mode: 'domain',
      resourceIds: [resource.id],
      scenarios: ['门诊资源配置分析'],
      selectionMethod: 'negotiation',
      securityMeasures: '经网关使用',
      termYears: 3,
    });
    await op.approvePlan(admin, plan.id);
    await op.selectOperator(admin, plan.id, { candidates: [{ orgId: operatorOrgId, score: 90 }] });
    const terms = {
      planId: plan.id,
      scenarios: ['门诊资源配置分析'],
      duties: '数据安全',
      pricing: '按政府指导价',
      revenue: '单独核算',
      exitTerms: '期满删除',
    };
    // An agreement not yet begun covers the resource: nothing is in force, the operator is refused.
    const later = await op.createAgreement(admin, {
      ...terms,
      scope: { resources: [{ resourceId: resource.id, fields: ['district', 'visits', 'record_no'] }] },
      validFrom: `${YEAR + 1}-01-01`,
      validTo: `${YEAR + 1}-12-31`,
    });
    const early = await served();
    expect(early.status).toBe(403);
    expect(early.body.error).toMatchObject({
      code: 'OPERATION_AGREEMENT_NOT_IN_FORCE',
      details: { agreements: [{ id: later.id }] },
    });
    // In force, granting two of the contract's three fields: the third is not served, nor usable.
    const now = await op.createAgreement(admin, {
      ...terms,
      scope: { resources: [{ resourceId: resource.id, fields: ['district', 'visits'] }] },
      validFrom: `${YEAR - 1}-01-01`,
      validTo: `${YEAR + 1}-06-30`,
    });
    expect(await fieldsServed()).toEqual(['district', 'visits']);
    const rows = (await served()).body.items as Array<Record<string, unknown>>;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => !('record_no' in r))).toBe(true);
    const probe = await fx.rows(contract, 'record_no=eq.x', operator);
    expect(probe.statusCode, probe.body).toBe(403);
    expect(probe.json().error.details).toMatchObject({ name: 'record_no', reason: 'not_granted' });
    // Personal data (the resource holds g3 fields) is not taken out in bulk by an operator.
    const exported = await t.request({
      method: 'GET',
      url: `/v1/gateway/contracts/${contract}/export?format=jsonl`,
      token: operator,
    });
    expect(exported.statusCode, exported.body).toBe(403);
    expect(exported.json().error.code).toBe('BULK_EXPORT_NOT_ALLOWED');
    // Terminated: refused from the next request, though the sharing contract is still active.
    await op.terminateAgreement(admin, now.id, '运营方违反安全义务');
    const ended = await served();
    expect(ended.status).toBe(403);
    expect(ended.body.error.code).toBe('OPERATION_AGREEMENT_NOT_IN_FORCE');
    const state = await t.request({ method: 'GET', url: `/v1/contracts/${contract}`, token: operator });
    expect(state.json().state).toBe('active');
    // Other consumers' contracts on the resource are not operation and go on.
    const civil = await fx.contractFor(code, {}, { fields: ['district'], operations: ['rows'] });
    expect((await fx.rows(civil, 'limit=1')).statusCode).toBe(200);
  });
});
