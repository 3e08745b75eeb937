/**
 * 审批中心 and 我的权限 (issue 18) in the browser. The civil affairs consumer applies through the
 * API for three fields of a health resource (g1/g2: the provider's steward decides alone). The
 * health steward opens /approvals, finds it under 待我审批 with the count, opens it and approves
 * in the application's drawer as the console does; back on /approvals it is under 我已审批 with
 * the decision, the Beijing time and the reason. The consumer's /my-permissions shows the new
 * contract's fields, masks and operations, and the consumer's API key with its scopes. Every step
 * is checked through the API; both pages are read at 360 px without sideways scrolling.
 * Screenshots go to test-output/screenshots/ (approvals-*.png).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { sharingFixture } from '../sharing-fixture.ts';
import { type ConsoleApp, expectNoOverflow, startWithApplication } from './support.ts';

const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 360, height: 780 };
const RESOURCE = '门诊就诊统计（审批中心）';
const REASON = '同意，用于低保核验';

let app: ConsoleApp;
let fx: ReturnType<typeof sharingFixture>;
let applicationId: string;
let contractId: string;

beforeAll(async () => {
  ({ app, fx, applicationId } = await startWithApplication('approvals', RESOURCE));
}, 300_000);

afterAll(async () => {
  await app?.close();
});

/** The row of the resource in the open tab's table. */
const rowOf = (page: Page) => page.locator('.ant-tabs-tabpane-active .ant-table-row', { hasText: RESOURCE });

/** What the console shows for an instant: Asia/Shanghai, as `fmtDateTime` formats it. */
const beijing = (iso: string) =>
  new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(new Date(iso));

it('the steward finds the application under 待我审批, approves it, and finds it under 我已审批', async () => {
  const steward = fx.tokens.steward;
  const page = await app.open(steward, DESKTOP, '/approvals');
  await page.getByRole('heading', { name: '审批中心', level: 1 }).waitFor();
  await expect.poll(() => page.getByTestId('approvals-pending-tab').textContent()).toBe('待我审批 1');
  await rowOf(page).getByText('提供方审批').waitFor();
  await app.shot(page, '01-pending');

  await rowOf(page).getByRole('link', { name: '打开申请' }).click();
  await page.waitForURL(`${app.base}/applications?id=${applicationId}`);
  const drawer = page.locator('.ant-drawer-open');
  await drawer.getByText(applicationId).waitFor();
  await drawer.getByRole('button', { name: '批准' }).click();
  const dialog = page.locator('.ant-modal-content');
  await dialog.getByLabel('理由').fill(REASON);
  await dialog.getByRole('button', { name: '批准' }).click();
  await page
    .locator('.ant-message-notice', { hasText: /已批准/ })
    .first()
    .waitFor();

  const decided = await app.call('GET', `/v1/applications/${applicationId}`, steward);
  expect(decided.state).toBe('approved');
  contractId = decided.contractId;
  expect(contractId).toMatch(/^ctr_/);
  const decision = decided.decisions.at(-1);
  expect(decision).toMatchObject({ decision: 'approve', reason: REASON });
  const mine = await app.call('GET', '/v1/applications?decidedBy=me', steward);
  expect(mine.items.map((a: { id: string }) => a.id)).toEqual([applicationId]);

  await page.goto(`${app.base}/approvals`);
  await expect.poll(() => page.getByTestId('approvals-pending-tab').textContent()).toBe('待我审批 0');
  await expect.poll(() => page.getByTestId('approvals-decided-tab').textContent()).toBe('我已审批 1');
  await page.getByRole('tab', { name: /我已审批/ }).click();
  const row = rowOf(page);
  await row.getByText('批准', { exact: true }).waitFor();
  await row.getByText(REASON).waitFor();
  await row.getByText(beijing(decision.at)).waitFor();
  await row.getByText('已批准', { exact: true }).waitFor();
  await app.shot(page, '02-decided');

  const phone = await app.open(steward, PHONE, '/approvals');
  await phone.getByRole('heading', { name: '审批中心', level: 1 }).waitFor();
  await expect.poll(() => phone.getByTestId('approvals-decided-tab').textContent()).toBe('我已审批 1');
  await expectNoOverflow(phone);
  await phone.getByRole('tab', { name: /我已审批/ }).click();
  await rowOf(phone).getByText(REASON).waitFor();
  await expectNoOverflow(phone);
  await app.shot(phone, '03-decided-phone');
});

it('the consumer’s 我的权限 lists the new contract’s fields and operations, and the API key', async () => {
  const consumer = fx.tokens.consumer;
  const contract = await app.call('GET', `/v1/contracts/${contractId}`, consumer);
  expect(contract.state).toBe('active');
  expect(contract.fields).toEqual(['record_no', 'district', 'visits']);
  expect(contract.operations).toEqual(['rows', 'aggregate']);

  const page = await app.open(consumer, DESKTOP, '/my-permissions');
  await page.getByRole('heading', { name: '我的权限', level: 1 }).waitFor();
  const card = page.getByTestId(`permission-${contractId}`);
  await card.getByText(RESOURCE).waitFor();
  for (const label of ['记录编号', '所属区县', '就诊人次'])
    await card.getByText(label, { exact: true }).waitFor();
  await card.getByText('明细查询 · 统计分析').waitFor();
  await card.getByText('全部行').waitFor();
  // The consumer's key from the fixture, with its scopes.
  await page.locator('.ant-tag', { hasText: /^sharing$/ }).waitFor();
  await page.getByTestId('my-roles').getByText('数据使用方').waitFor();
  await app.shot(page, '04-my-permissions');

  const phone = await app.open(consumer, PHONE, '/my-permissions');
  await phone.getByTestId(`permission-${contractId}`).getByText('所属区县', { exact: true }).waitFor();
  await expectNoOverflow(phone);
  await app.shot(phone, '05-my-permissions-phone');
  expect(app.pageErrors).toEqual([]);
});
