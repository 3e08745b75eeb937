/**
 * Authorized operation (授权运营) in the browser, product → price → bill: the data bureau has an
 * approved plan, a selected operator (云岚市数据运营有限公司) and an agreement granting two
 * fields of a health resource (set up through the API, as the console's own pages show them); on
 * a second plan the bureau approves the draft, records the selection and terminates an agreement
 * from the pages. The operator's data steward registers a data product under the agreement from the products page; the
 * bureau sets its cap fee; the operator's price above the cap is refused with the server's message
 * (in Chinese, and in English one click away), a price under it is saved to the fen; customers
 * subscribe through their own sharing contracts (one from the product page) and call the gateway;
 * the month's bills show their line items in yuan and reproduce from the audit log; the customer
 * sees its own free public-welfare bill; the year's disclosure shows the operator, its product, its
 * fees, its revenue and maximum allowed revenue. The bureau then makes a third plan, an agreement
 * under it (a term beyond the maximum refused with the server's words in the dialog) and next year's
 * revenue cap from the pages' forms, each checked through the API (the cap to the fen). Product,
 * bill and disclosure again at phone width.
 * Screenshots go to test-output/screenshots/ (operation-*.png).
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Ctx } from '../../src/core/context.ts';
import * as op from '../../src/operation/service.ts';
import { sharingFixture } from '../sharing-fixture.ts';
import { type ConsoleApp, choose, expectNoOverflow, startConsoleApp } from './support.ts';

const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };
const OPERATOR_NAME = '云岚市数据运营有限公司';
const CUSTOMER_NAME = '云岚市智慧出行科技有限公司';
const PRODUCT = '区县就诊热度指数';
const SCENARIO = '医疗资源配置分析';
/** This month in China time; bills are issued for it as if it had ended (AFTER_MONTH). */
const THIS_MONTH = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);
const YEAR = Number(THIS_MONTH.slice(0, 4));
const AFTER_MONTH = new Date(Date.now() + 40 * 86_400_000);

let app: ConsoleApp;
let t: ConsoleApp['t'];
const call: ConsoleApp['call'] = (...args) => app.call(...args);
const shot: ConsoleApp['shot'] = (page, name) => app.shot(page, name);
let fx: ReturnType<typeof sharingFixture>;

let admin: string;
let operator: string;
let operatorCtx: Ctx;
let customer: string;
let operatorOrgId: string;
let resourceId: string;
let agreementId: string;
let welfareContract: string;
let paidContract: string;
let productId: string;
let paidBillId: string;

beforeAll(async () => {
  app = await startConsoleApp('operation');
  t = app.t;
  admin = await t.login('admin');
  const orgs = await t.database.db.selectFrom('organizations').select(['id', 'name']).execute();
  operatorOrgId = orgs.find((o) => o.name === OPERATOR_NAME)!.id;
  // The operator's data steward, and a consumer of an enterprise as the paying customer: demo
  // accounts (src/demo/city.ts).
  operator = await t.login('steward.operator');
  operatorCtx = await t.actAs('steward.operator');
  customer = await t.login('consumer.mobility');

  // A health resource, and the plan → selection → agreement the bureau made (issue's earlier part).
  fx = sharingFixture(t);
  await fx.login();
  const code = await fx.resource('门诊就诊记录', 'conditional');
  resourceId = (await call('GET', `/v1/resources/${code}`, admin)).id;
  const plan = await call('POST', '/v1/operation/plans', admin, {
    name: '医疗健康数据授权运营',
    mode: 'domain',
    resourceIds: [resourceId],
    scenarios: [SCENARIO],
    selectionMethod: 'public_tender',
    securityMeasures: '数据不出域，经网关使用',
    termYears: 3,
  });
  await call('POST', `/v1/operation/plans/${plan.id}/approve`, admin);
  const enterprise = orgs.find((o) => o.name === CUSTOMER_NAME)!.id;
  await call('POST', `/v1/operation/plans/${plan.id}/selection`, admin, {
    candidates: [
      { orgId: enterprise, score: 71.5 },
      { orgId: operatorOrgId, score: 88 },
    ],
  });
  const agreement = await call('POST', '/v1/operation/agreements', admin, {
    planId: plan.id,
    scope: { resources: [{ resourceId, fields: ['district', 'visits'] }] },
    scenarios: [SCENARIO],
    validFrom: `${YEAR - 1}-01-01`,
    validTo: `${YEAR + 1}-12-31`,
    duties: '数据安全、个人信息保护、风险监测与应急处置',
    pricing: '按政府指导价收费',
    revenue: '单独核算',
    exitTerms: '期满后衍生数据交还实施机构并删除副本',
  });
  agreementId = agreement.id;
  // Customers' own sharing contracts: the civil affairs bureau (public welfare) and the enterprise.
  welfareContract = await fx.contractFor(code, {}, { fields: ['district', 'visits'], operations: ['rows'] });
  paidContract = await fx.contractFor(
    code,
    {},
    { fields: ['district', 'visits'], operations: ['rows'], purposeCategory: 'industry_development' },
    customer,
  );
}, 300_000);

afterAll(async () => {
  await app?.close();
});

/** The OK button of the open dialog (antd spaces two-character labels: 保 存). */
const ok = (page: Page) => page.getByRole('dialog').locator('.ant-modal-footer .ant-btn-primary');
/** A button by its label, after any icon's name (an antd icon names itself: "plus 登记数据产品"). */
const button = (page: Page, name: string) =>
  page.getByRole('button', { name: new RegExp(`(^|\\s)${name}$`) });

/** The state tag beside the page's title. */
const stateTag = (page: Page) => page.locator('h1 + * [data-state]');

it('the bureau sees the plan with its selection and the agreement with its terms', async () => {
  const page = await app.open(admin, DESKTOP, '/operation');
  await page.getByRole('heading', { name: '授权运营', level: 1 }).waitFor();
  const row = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: SCENARIO });
  await row.getByText(OPERATOR_NAME).waitFor();
  expect(await row.textContent()).toContain(`${YEAR - 1}-01-01 ~ ${YEAR + 1}-12-31`);
  await page
    .locator('.ant-table-tbody tr.ant-table-row', { hasText: '医疗健康数据授权运营' })
    .getByText('已选定运营单位')
    .waitFor();
  await shot(page, 'plans-agreements');

  await page.getByRole('link', { name: '医疗健康数据授权运营' }).click();
  await page.getByRole('navigation', { name: '当前位置' }).getByText('实施方案').waitFor();
  const winner = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: OPERATOR_NAME });
  await winner.getByText('中选').waitFor();
  expect(await winner.textContent()).toContain('88');
  // Selected already: neither approve nor select is offered again.
  expect(await button(page, '批准方案').count()).toBe(0);
  expect(await button(page, '记录选择结果').count()).toBe(0);

  await page.goto(`${app.base}/operation/agreements/${agreementId}`);
  await page.getByText('期满后衍生数据交还实施机构并删除副本').waitFor();
  await page.getByText('门诊就诊记录').first().waitFor();
  await page.getByText('所属区县（district）').waitFor();
  expect(await button(page, '终止协议').count()).toBe(1);
  await shot(page, 'agreement');
  await page.context().close();
  // An auditor reads the agreement but neither terminates it nor registers products under it.
  const auditor = await app.open(await t.login('auditor'), DESKTOP, `/operation/agreements/${agreementId}`);
  await auditor.getByText('期满后衍生数据交还实施机构并删除副本').waitFor();
  expect(await button(auditor, '终止协议').count()).toBe(0);
  expect(await button(auditor, '登记数据产品').count()).toBe(0);
  await auditor.context().close();
});

it('the bureau approves a draft plan, records the selection and terminates an agreement', async () => {
  const plan = await call('POST', '/v1/operation/plans', admin, {
    name: '门诊数据场景授权运营',
    mode: 'scenario',
    resourceIds: [resourceId],
    scenarios: ['门诊预约优化'],
    selectionMethod: 'negotiation',
    securityMeasures: '经网关使用',
    termYears: 2,
  });
  const page = await app.open(admin, DESKTOP, `/operation/plans/${plan.id}`);
  await expect.poll(() => stateTag(page).textContent()).toBe('草案');
  expect(await button(page, '记录选择结果').count()).toBe(0);
  await button(page, '批准方案').click();
  await expect.poll(() => stateTag(page).textContent()).toBe('已批准');
  expect(await button(page, '批准方案').count()).toBe(0);
  await button(page, '记录选择结果').click();
  const dialog = page.getByRole('dialog');
  await choose(page, dialog.getByRole('combobox', { name: '候选单位' }), OPERATOR_NAME);
  await dialog.getByLabel('得分').fill('92.5');
  await ok(page).click();
  await expect.poll(() => stateTag(page).textContent()).toBe('已选定运营单位');
  const winner = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: OPERATOR_NAME });
  await winner.getByText('中选').waitFor();
  expect(await winner.textContent()).toContain('92.5');
  const saved = await call('GET', `/v1/operation/plans/${plan.id}`, admin);
  expect(saved).toMatchObject({ state: 'selected', selection: { winnerOrgId: operatorOrgId } });
  await page
    .getByText(/^\d{4}-\d{2}-\d{2} 确定中选单位，公示期 \d{4}-\d{2}-\d{2} 至 \d{4}-\d{2}-\d{2}。$/)
    .waitFor();
  await shot(page, 'plan-selected');

  // An agreement not yet begun (next year: outside this year's disclosure), terminated.
  const later = await call('POST', '/v1/operation/agreements', admin, {
    planId: plan.id,
    scope: { resources: [{ resourceId, fields: ['district'] }] },
    scenarios: ['门诊预约优化'],
    validFrom: `${YEAR + 1}-01-01`,
    validTo: `${YEAR + 1}-12-31`,
    duties: '数据安全',
    pricing: '按政府指导价',
    revenue: '单独核算',
    exitTerms: '期满删除',
  });
  await page.goto(`${app.base}/operation/agreements/${later.id}`);
  await expect.poll(() => stateTag(page).textContent()).toBe('有效');
  // Not yet in force: no product can be registered under it.
  expect(await button(page, '登记数据产品').count()).toBe(0);
  await button(page, '终止协议').click();
  const reason = page.getByRole('dialog');
  await reason.getByLabel('理由').fill('运营单位放弃该场景');
  await reason.locator('.ant-modal-footer .ant-btn-primary').click();
  await expect.poll(() => stateTag(page).textContent()).toBe('已终止');
  await reason.waitFor({ state: 'hidden' });
  expect(await button(page, '终止协议').count()).toBe(0);
  expect((await call('GET', `/v1/operation/agreements/${later.id}`, admin)).state).toBe('terminated');
  await page.context().close();
});

it('the operator registers a product under the agreement, with its lineage', async () => {
  const page = await app.open(operator, DESKTOP, '/products');
  await page.getByRole('heading', { name: '数据产品', level: 1 }).waitFor();
  await page.getByText('暂无数据产品').waitFor();
  await button(page, '登记数据产品').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('产品名称').fill(PRODUCT);
  await dialog.getByLabel('产品简介').fill('按区县的门诊就诊人次指数');
  // The lineage starts as the agreement's whole scope (both granted fields).
  await dialog.getByText('所属区县', { exact: true }).waitFor();
  await dialog.getByText('就诊人次', { exact: true }).waitFor();
  await shot(page, 'product-form');
  await ok(page).click();
  await page.waitForURL(/\/products\/prd_/);
  productId = page.url().split('/').pop()!;
  await page.getByRole('heading', { name: PRODUCT, level: 1 }).waitFor();
  await page.getByText('尚未设定上限收费标准').first().waitFor();
  const saved = await call('GET', `/v1/operation/products/${productId}`, admin);
  expect(saved).toMatchObject({
    agreementId,
    operatorOrgId,
    name: PRODUCT,
    kind: 'api',
    lineage: { resources: [{ resourceId, fields: ['district', 'visits'] }] },
    prices: [],
  });
  // No cap yet: the operator has nothing to price, and the cap fee is not its to set.
  expect(await button(page, '设定实际收费').count()).toBe(0);
  expect(await button(page, '设定上限收费标准').count()).toBe(0);
  await page.context().close();
});

it('the bureau sets the cap fee in yuan, kept in fen', async () => {
  const page = await app.open(admin, DESKTOP, `/products/${productId}`);
  await button(page, '设定上限收费标准').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('上限收费标准（元）').fill('0.5');
  await dialog.getByLabel('定价依据').fill('算力、存储与人工成本测算');
  await ok(page).click();
  const sheet = page.getByTestId('price-sheet');
  await sheet.getByText('¥0.50/次').waitFor();
  await sheet.getByText('试行收费标准').waitFor();
  expect(await sheet.getByTestId('price-call').textContent()).toBe('未定价');
  const saved = await call('GET', `/v1/operation/products/${productId}`, admin);
  expect(saved.prices).toEqual([
    expect.objectContaining({ unit: 'call', capFen: 50, priceFen: null, basis: '算力、存储与人工成本测算' }),
  ]);
  // The bureau may act for an operator too (OPERATOR includes platform_admin).
  expect(await button(page, '设定实际收费').count()).toBe(1);
  await page.context().close();
});

it('a price above the cap is refused with the server’s message; one under it is saved', async () => {
  const page = await app.open(operator, DESKTOP, `/products/${productId}`);
  await button(page, '设定实际收费').click();
  let dialog = page.getByRole('dialog');
  await expect.poll(() => dialog.getByTestId('price-cap-hint').textContent()).toContain('¥0.50/次');
  // Not an amount in yuan: the form says so before asking the server.
  await dialog.getByLabel('实际收费（元）').fill('0.505');
  await ok(page).click();
  await dialog.getByText('请输入不小于 0 的金额，最多两位小数（元）').waitFor();
  await dialog.getByLabel('实际收费（元）').fill('0.51');
  await ok(page).click();
  // The server's own words, as its API gives them to any client.
  const above = await t.request({
    method: 'PUT',
    url: `/v1/operation/products/${productId}/price`,
    token: operator,
    payload: { unit: 'call', priceFen: 51 },
  });
  expect(above.statusCode).toBe(422);
  const messages = above.json().error.messages as { 'zh-CN': string; en: string };
  expect(messages['zh-CN']).toContain('实际收费 51 分高于上限收费标准 50 分（每次调用）');
  expect(messages.en).toContain('The price 51 fen is above the cap fee of 50 fen per call');
  const refusal = dialog.getByTestId('price-error');
  await expect.poll(() => refusal.textContent()).toBe(messages['zh-CN']);
  await shot(page, 'price-refused');
  expect((await call('GET', `/v1/operation/products/${productId}`, admin)).prices[0].priceFen).toBeNull();

  // English one click away: the same refusal in English.
  await dialog.getByRole('button', { name: /取\s?消/ }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByText('EN', { exact: true }).click();
  await page.getByTestId('price-sheet').getByText('Price sheet').waitFor();
  await page.getByTestId('price-sheet').getByText('¥0.50 per call').waitFor();
  await button(page, 'Set the price').click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Price (yuan)').fill('0.51');
  await ok(page).click();
  await expect.poll(() => dialog.getByTestId('price-error').textContent()).toBe(messages.en);
  await shot(page, 'price-refused-en');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByText('中文', { exact: true }).click();

  // 0.29 元 is exactly 29 分 (not 28.999… as a float would make it).
  await button(page, '设定实际收费').click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('实际收费（元）').fill('0.29');
  await ok(page).click();
  await dialog.waitFor({ state: 'hidden' });
  await expect.poll(() => page.getByTestId('price-call').textContent()).toBe('¥0.29/次');
  const saved = await call('GET', `/v1/operation/products/${productId}`, admin);
  expect(saved.prices[0]).toMatchObject({ unit: 'call', capFen: 50, priceFen: 29 });
  await shot(page, 'priced');

  // The enterprise subscribes for industry use, from the page: its sharing contract is chosen by
  // the customer's and the resource's names (both contracts in force on the resource are offered).
  await button(page, '新增订购').click();
  dialog = page.getByRole('dialog');
  const offered = (await call('GET', `/v1/operation/products/${productId}/contracts`, operator)) as {
    contractId: string;
    customerName: string;
  }[];
  expect(offered.map((c) => c.contractId).sort()).toEqual([paidContract, welfareContract].sort());
  const paidChoice = offered.find((c) => c.contractId === paidContract)!;
  expect(paidChoice.customerName).toBe(CUSTOMER_NAME);
  await choose(page, dialog.getByLabel('共享协议'), `${CUSTOMER_NAME} · `);
  await ok(page).click();
  await dialog.waitFor({ state: 'hidden' });
  const sub = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: CUSTOMER_NAME });
  await sub.getByText('产业发展').waitFor();
  expect(await sub.getByText('免费').count()).toBe(0);
  await page.context().close();
});

it('the month’s bills: line items in yuan, reproduced from the audit log', async () => {
  // The civil affairs bureau's public-welfare use is subscribed through the API.
  const welfare = await call('POST', '/v1/operation/subscriptions', operator, {
    productId,
    contractId: welfareContract,
    purpose: 'public_welfare',
    unit: 'call',
  });
  expect(welfare.free).toBe(true);
  const subs = await call('GET', '/v1/operation/subscriptions', operator);
  const paid = subs.find((s: { contractId: string }) => s.contractId === paidContract);
  // Metered calls through the gateway: 3 free ones, 4 paid ones (and a refused one, not charged).
  for (let i = 0; i < 3; i++) expect((await fx.rows(welfareContract, 'limit=5')).statusCode).toBe(200);
  for (let i = 0; i < 4; i++) expect((await fx.rows(paidContract, 'limit=5', customer)).statusCode).toBe(200);
  expect((await fx.rows(paidContract, 'fields=person_id', customer)).statusCode).not.toBe(200);
  // The month is billed as if it had ended (a browser test cannot wait for the month's end).
  const bill = await op.issueBill(operatorCtx, paid.id, THIS_MONTH, AFTER_MONTH);
  await op.issueBill(operatorCtx, welfare.id, THIS_MONTH, AFTER_MONTH);
  paidBillId = bill.id;
  expect(bill).toMatchObject({ totalFen: 116, lines: [{ quantity: 4, unitPriceFen: 29, amountFen: 116 }] });

  const page = await app.open(admin, DESKTOP, '/bills');
  await page.getByRole('heading', { name: '账单', level: 1 }).waitFor();
  const row = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: '¥1.16' });
  await row.getByText(PRODUCT).waitFor();
  expect(await row.textContent()).toContain(CUSTOMER_NAME);
  await shot(page, 'bills');
  await row.getByRole('link', { name: THIS_MONTH }).click();
  await page.waitForURL(`**/bills/${paidBillId}`);
  const lines = page.getByTestId('bill-lines');
  const line = lines.locator('.ant-table-tbody tr.ant-table-row');
  await line.getByText(PRODUCT).first().waitFor();
  const cells = (await line.locator('td').allTextContents()).map((c) => c.trim());
  expect(cells).toEqual([`${PRODUCT}（试行收费标准）`, '按调用次数', '4', '¥0.29', '¥1.16']);
  expect(await page.getByTestId('bill-lines-total').textContent()).toBe('¥1.16');
  // The lines' toolbar counts them (and exports them with the column titles).
  expect(await page.getByTestId('toolbar-bill-lines').getByTestId('toolbar-count').textContent()).toBe(
    '共 1 条',
  );
  expect(await page.getByTestId('bill-total').textContent()).toBe('¥1.16');
  await page.getByText(`#${bill.metered.first} ~ #${bill.metered.last}`).waitFor();

  await button(page, '由审计日志复算').click();
  const check = page.getByTestId('reproduction');
  await check.getByText('复算结果与账单一致').waitFor();
  expect(await check.textContent()).toContain('合计 ¥1.16');
  const again = page.getByTestId('recomputed-lines');
  expect(
    (await again.locator('.ant-table-tbody tr.ant-table-row td').allTextContents()).map((c) => c.trim()),
  ).toEqual(cells);
  await shot(page, 'bill-reproduced');
  await page.context().close();

  // The civil affairs bureau sees its own bill — free, zero — and not the enterprise's.
  const civil = await app.open(fx.tokens.consumer, DESKTOP, '/bills');
  const own = civil.locator('.ant-table-tbody tr.ant-table-row', { hasText: PRODUCT });
  await own.first().waitFor();
  await expect.poll(() => own.count()).toBe(2); // its bill, and its subscription
  await civil.getByText('¥0.00', { exact: true }).waitFor();
  expect(await civil.getByText('¥1.16').count()).toBe(0);
  await civil.getByText('免费', { exact: true }).waitFor();
  await own.first().getByRole('link', { name: THIS_MONTH }).click();
  await civil.getByText(`${PRODUCT}（公共治理/公益事业用途，免费）`).waitFor();
  expect(await civil.getByTestId('bill-total').textContent()).toBe('¥0.00');
  await civil.context().close();
});

it('the year’s disclosure with the operator’s fees, revenue and maximum allowed revenue', async () => {
  const capSet = await t.request({
    method: 'PUT',
    url: `/v1/operation/revenue-caps/${operatorOrgId}/${YEAR}`,
    token: admin,
    payload: {
      costs: [
        { item: '算力与存储', amountFen: 6_000_000 },
        { item: '人工', amountFen: 4_000_000 },
      ],
      profitRateBp: 800,
      bondYieldBp: 250,
      taxFen: 1234,
    },
  });
  expect(capSet.statusCode, capSet.body).toBe(200);
  const page = await app.open(admin, DESKTOP, `/disclosures?year=${YEAR}`);
  await page.getByRole('heading', { name: '年度披露', level: 1 }).waitFor();
  await page.getByText(`${YEAR} 年度信息披露`).waitFor();
  expect(await page.getByTestId('disclosure-authorizations').textContent()).toBe('1');
  const operatorCard = page.getByTestId('disclosure-operator');
  await operatorCard.getByText(OPERATOR_NAME).waitFor();
  // Actual revenue: the year's bills (¥1.16 + ¥0.00); maximum: 100,000 + 8% + tax 12.34.
  expect(await operatorCard.getByTestId('disclosure-actual').textContent()).toBe('¥1.16');
  await operatorCard.getByText('¥108,012.34').waitFor();
  const product = operatorCard.locator('.ant-table-tbody tr.ant-table-row', { hasText: PRODUCT });
  expect(await product.textContent()).toContain('上限 ¥0.50/次 · 收费 ¥0.29/次');
  await operatorCard
    .locator('.ant-table-tbody tr.ant-table-row', { hasText: '门诊就诊记录' })
    .getByText('district、visits')
    .waitFor();
  const cap = page
    .locator('.ant-card', { hasText: `${YEAR} 年最高准许收入` })
    .locator('.ant-table-tbody tr.ant-table-row')
    .first();
  const capText = await cap.textContent();
  for (const text of ['¥100,000.00', '8.00%（2.50%）', '¥12.34', '¥108,012.34'])
    expect(capText).toContain(text);
  expect(await page.getByRole('link', { name: '打开 PDF' }).getAttribute('href')).toBe(
    `/v1/operation/disclosures/${YEAR}/pdf`,
  );
  const [download] = await Promise.all([page.waitForEvent('download'), button(page, '下载 JSON').click()]);
  expect(download.suggestedFilename()).toBe(`disclosure-${YEAR}.json`);
  const pdf = await t.request({ method: 'GET', url: `/v1/operation/disclosures/${YEAR}/pdf` });
  expect(pdf.statusCode).toBe(200);
  await shot(page, 'disclosure');
  await page.context().close();
});

/** Picks options of a multiple Select with the keyboard: type each one, Enter; then leaves it. */
async function chooseAll(page: Page, control: Locator, options: string[]): Promise<void> {
  await control.focus();
  const select = control.locator('xpath=ancestor::*[contains(concat(" ", @class, " "), " ant-select ")][1]');
  const list = await control.getAttribute('aria-controls');
  const active = page.locator(
    `.ant-select-dropdown:has([id="${list}"]) .ant-select-item-option-active .ant-select-item-option-content`,
  );
  for (const option of options) {
    await control.pressSequentially(option);
    await expect.poll(async () => ((await active.textContent()) ?? '').trim().startsWith(option)).toBe(true);
    await page.keyboard.press('Enter');
    await select.locator('.ant-select-selection-item', { hasText: option }).waitFor();
  }
  // Not Tab: on an open list Tab picks the active option again, which a multiple Select toggles off.
  await control.blur();
  await expect.poll(() => control.getAttribute('aria-expanded')).toBe('false');
}

it('the bureau creates a plan, an agreement and a revenue cap from the pages', async () => {
  const page = await app.open(admin, DESKTOP, '/operation');
  await button(page, '新建运营方案').click();
  let dialog = page.getByRole('dialog');
  // Nothing typed: the form says what is missing before asking the server.
  await ok(page).click();
  await dialog.getByText('请至少选择一项数据资源').waitFor();
  await dialog.getByLabel('方案名称').fill('门诊热度场景授权运营');
  await chooseAll(page, dialog.getByRole('combobox', { name: '数据资源' }), ['门诊就诊记录']);
  await dialog.getByLabel('应用场景').fill('门诊热度分析\n就医引导');
  await choose(page, dialog.getByRole('combobox', { name: '选择方式' }), '竞争性磋商');
  await dialog.getByLabel('安全措施').fill('数据不出域，经网关使用');
  // The server's longest term is said in the form (OPERATION_MAX_TERM_YEARS, 5 by default).
  await dialog.getByText('最长 5 年（本平台的授权运营规则）').waitFor();
  await dialog.getByLabel('授权期限（年）').fill('2');
  await shot(page, 'plan-form');
  await ok(page).click();
  await page.waitForURL(/\/operation\/plans\//);
  const planId = page.url().split('/').pop()!;
  expect(await call('GET', `/v1/operation/plans/${planId}`, admin)).toMatchObject({
    name: '门诊热度场景授权运营',
    mode: 'domain',
    resourceIds: [resourceId],
    scenarios: ['门诊热度分析', '就医引导'],
    selectionMethod: 'negotiation',
    termYears: 2,
    state: 'draft',
  });
  await button(page, '批准方案').click();
  await expect.poll(() => stateTag(page).textContent()).toBe('已批准');
  await button(page, '记录选择结果').click();
  dialog = page.getByRole('dialog');
  await choose(page, dialog.getByRole('combobox', { name: '候选单位' }), OPERATOR_NAME);
  await dialog.getByLabel('得分').fill('90');
  await ok(page).click();
  await expect.poll(() => stateTag(page).textContent()).toBe('已选定运营单位');

  // The agreement: the operator comes from the selection, the fields from the catalog resource.
  await page.goto(`${app.base}/operation`);
  await button(page, '新建授权运营协议').click();
  dialog = page.getByRole('dialog');
  await choose(
    page,
    dialog.getByRole('combobox', { name: '实施方案（已选定运营单位）' }),
    '门诊热度场景授权运营',
  );
  await expect.poll(() => dialog.getByTestId('agreement-operator').textContent()).toBe(OPERATOR_NAME);
  expect(await dialog.getByLabel('应用场景').inputValue()).toBe('门诊热度分析\n就医引导');
  await chooseAll(page, dialog.getByRole('combobox', { name: '门诊就诊记录 授权的字段' }), ['所属区县']);
  await dialog.getByLabel('应用场景').fill('门诊热度分析');
  await dialog.getByLabel('起始日（YYYY-MM-DD）').fill(`${YEAR + 1}-01-01`);
  // Beyond the plan's two years: the server refuses, and its words are shown in the dialog.
  await dialog.getByLabel('截止日（YYYY-MM-DD）').fill(`${YEAR + 4}-01-01`);
  await dialog.getByLabel('安全与合规义务').fill('数据安全、个人信息保护');
  await dialog.getByLabel('收费与价格').fill('按政府指导价收费');
  await dialog.getByLabel('收益分配与核算').fill('单独核算');
  await dialog.getByLabel('退出与交还').fill('期满删除副本');
  await ok(page).click();
  const refusal = dialog.getByTestId('agreement-error');
  await expect.poll(() => refusal.textContent()).toContain('授权运营期限超过允许的最长期限');
  await refusal.scrollIntoViewIfNeeded();
  await shot(page, 'agreement-refused');
  await dialog.getByLabel('截止日（YYYY-MM-DD）').fill(`${YEAR + 2}-12-31`);
  await ok(page).click();
  await page.waitForURL(/\/operation\/agreements\//);
  const made = await call('GET', `/v1/operation/agreements/${page.url().split('/').pop()}`, admin);
  expect(made).toMatchObject({
    planId,
    operatorOrgId,
    scope: { resources: [{ resourceId, fields: ['district'] }] },
    scenarios: ['门诊热度分析'],
    validFrom: `${YEAR + 1}-01-01`,
    validTo: `${YEAR + 2}-12-31`,
    duties: '数据安全、个人信息保护',
    exitTerms: '期满删除副本',
    state: 'active',
  });
  await page.getByText('期满删除副本').waitFor();
  await shot(page, 'agreement-made');

  // Next year's revenue cap: cost lines typed in yuan, kept in fen; rates in percent, kept in bp.
  await page.goto(`${app.base}/disclosures?year=${YEAR + 1}`);
  await page.getByText('该年度尚未核定最高准许收入').waitFor();
  await button(page, '设置最高准许收入').click();
  dialog = page.getByRole('dialog');
  await choose(page, dialog.getByRole('combobox', { name: '运营单位' }), OPERATOR_NAME);
  await dialog.getByLabel('成本项目 1', { exact: true }).fill('算力与存储');
  await dialog.getByLabel('金额 1（元）').fill('12,345.675');
  await ok(page).click();
  await dialog.getByText('请输入不小于 0 的金额，最多两位小数（元）').first().waitFor();
  await dialog.getByLabel('金额 1（元）').fill('12,345.67');
  await button(page, '添加成本项目').click();
  await dialog.getByLabel('成本项目 2', { exact: true }).fill('人工');
  await dialog.getByLabel('金额 2（元）').fill('1000.5');
  await dialog.getByLabel('准许利润率（%）').fill('8');
  await dialog.getByLabel('上年十年期国债平均收益率（%）').fill('2.5');
  await dialog.getByLabel('税金（元）').fill('0.29');
  await shot(page, 'revenue-cap-form');
  await ok(page).click();
  await dialog.waitFor({ state: 'hidden' });
  const caps = await call('GET', `/v1/operation/revenue-caps?year=${YEAR + 1}`, admin);
  expect(caps).toEqual([
    expect.objectContaining({
      operatorOrgId,
      year: YEAR + 1,
      costs: [
        { item: '算力与存储', amountFen: 1_234_567 },
        { item: '人工', amountFen: 100_050 },
      ],
      operatingCostFen: 1_334_617,
      profitRateBp: 800,
      bondYieldBp: 250,
      taxFen: 29,
    }),
  ]);
  const row = page
    .locator('.ant-card', { hasText: `${YEAR + 1} 年最高准许收入` })
    .locator('.ant-table-tbody tr.ant-table-row')
    .first();
  await row.getByText('¥13,346.17').waitFor();
  await shot(page, 'revenue-cap');
  await page.context().close();
});

it('product, bill and disclosure at phone width', async () => {
  const product = await app.open(operator, PHONE, `/products/${productId}`);
  await product.getByTestId('price-call').getByText('¥0.29/次').waitFor();
  await expectNoOverflow(product);
  await shot(product, 'product-phone');
  await product.context().close();
  const bill = await app.open(customer, PHONE, `/bills/${paidBillId}`);
  await expect.poll(() => bill.getByTestId('bill-total').textContent()).toBe('¥1.16');
  await expectNoOverflow(bill);
  await shot(bill, 'bill-phone');
  await bill.context().close();
  const disclosure = await app.open(customer, PHONE, `/disclosures?year=${YEAR}`);
  await disclosure.getByTestId('disclosure-operator').getByText(OPERATOR_NAME).waitFor();
  await expectNoOverflow(disclosure);
  await shot(disclosure, 'disclosure-phone');
  await disclosure.context().close();
  expect(app.pageErrors).toEqual([]);
});
