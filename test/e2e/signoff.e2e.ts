/**
 * Multi-level sign-off (逐级签核) in the browser, on the demo city's one-form reporting
 * (src/demo/indicators.ts): a community's report climbs past its town (no department: skipped) to
 * 西湖区, whose steward, on a phone, sees it with its chain and signs it off, and returns another
 * with a reason; the data bureau, whose catalogue form it is, then accepts it at desktop width. The
 * catalogue tab compares last year's departmental forms with this year's merged ones. Screenshots
 * go to test-output/screenshots/ (signoff-*.png).
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliCtx } from '../../src/core/context.ts';
import {
  AFTER_FORMS,
  AFTER_YEAR,
  BEFORE_YEAR,
  COMMUNITY_REPORTER,
  DISTRICT_STEWARD,
  seedIndicators,
  yearForms,
} from '../../src/demo/indicators.ts';
import { type ConsoleApp, expectNoOverflow, startConsoleApp } from './support.ts';

const UNIT = '330106001001';
const FORM = AFTER_FORMS[2]!;
const PHONE = { width: 390, height: 844 };
const REASON = '消防检查次数与台账不符，请核对后重报';

let app: ConsoleApp;
let admin: string;
let district: string;
let climbing: string;

beforeAll(async () => {
  app = await startConsoleApp('signoff');
  await seedIndicators(cliCtx(app.t.database.db, app.t.config));
  admin = await app.t.login('admin');
  district = await app.t.login(DISTRICT_STEWARD);
  // The community's third merged form of the year: it starts climbing at the district.
  const reporter = await app.t.login(COMMUNITY_REPORTER);
  const values = Object.fromEntries(FORM.indicators.map((code, i) => [code, 10 + i]));
  const submitted = await app.call('POST', `/v1/forms/${FORM.code}/submissions`, reporter, {
    period: String(AFTER_YEAR),
    unitCode: UNIT,
    values,
  });
  climbing = submitted.id;
}, 240_000);

afterAll(async () => {
  await app?.close();
});

async function openSignoffs(token: string, viewport: { width: number; height: number }) {
  const page = await app.open(token, viewport, '/indicators');
  await page.getByRole('tab', { name: '逐级签核' }).click();
  return page;
}

/** A unit's report of a form in the sign-off list: a card on a phone, a table row on a desktop. */
const row = (page: Page, formCode: string, unitCode: string): Locator =>
  page.locator('.ant-list-item, .ant-table-row', { hasText: formCode }).filter({ hasText: unitCode });

const submission = (id: string) => app.call('GET', `/v1/forms/submissions/${id}`, admin);

it('the district steward signs a community’s report off on a phone, with its chain shown', async () => {
  const page = await openSignoffs(district, PHONE);
  await page.getByText('本机构签核的区划：330106').waitFor();
  const mine = row(page, FORM.code, UNIT);
  await mine.waitFor();
  // The chain: the town has no department and is skipped, the district is where it waits.
  await mine.getByText('330106001 无机构，跳过').waitFor();
  await mine.getByText('330106 待签核').waitFor();
  await app.shot(page, 'district-phone');
  await expectNoOverflow(page);

  await mine.getByRole('button', { name: '签核' }).click();
  await page.getByText('已签核，报送上行至下一级').waitFor();
  await mine.waitFor({ state: 'detached' });
  const signed = await submission(climbing);
  expect(signed.chain.steps).toMatchObject([
    { unitCode: '330106001', state: 'skipped' },
    { unitCode: '330106', state: 'signed' },
  ]);
  expect(signed.chain.awaiting).toMatchObject({ by: 'department' });
});

it('the district steward returns another report with a reason', async () => {
  const page = await openSignoffs(district, PHONE);
  const other = row(page, AFTER_FORMS[0]!.code, '330106001002');
  await other.getByRole('button', { name: '退回更正' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('理由').fill(REASON);
  await app.shot(page, 'return-phone');
  await dialog.getByRole('button', { name: '退回更正' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByText('已退回，填报单位更正后重新逐级签核').waitFor();
  await other.waitFor({ state: 'detached' });
  await expectNoOverflow(page);
  const subs = await app.call('GET', `/v1/forms/${AFTER_FORMS[0]!.code}/submissions`, admin);
  expect(subs.find((s: { unitCode: string }) => s.unitCode === '330106001002')).toMatchObject({
    state: 'returned',
    reason: REASON,
  });
});

it('the data bureau accepts the report signed off all the way up', async () => {
  const page = await openSignoffs(admin, { width: 1366, height: 768 });
  const mine = row(page, FORM.code, UNIT);
  await mine.getByText('330106 已签核').waitFor();
  await app.shot(page, 'bureau-desktop');
  await mine.getByRole('button', { name: '审核通过' }).click();
  await page.getByText('已审核通过').waitFor();
  await mine.waitFor({ state: 'detached' });
  expect(await submission(climbing)).toMatchObject({ state: 'accepted' });
});

it('the catalogue compares last year’s departmental forms with this year’s merged ones', async () => {
  const page = await app.open(admin, PHONE, '/indicators');
  await page.getByRole('tab', { name: '报表目录' }).click();
  const compare = page.getByTestId('catalogue-compare');
  const cell = (measure: string, column: number) =>
    compare.locator('.ant-table-row', { hasText: measure }).locator('td').nth(column);
  const [before, after] = [yearForms(BEFORE_YEAR), yearForms(AFTER_YEAR)];
  await expect.poll(() => cell('报表数', 1).textContent()).toBe(String(before.length));
  expect(await cell('报表数', 2).textContent()).toBe(String(after.length));
  const slots = (forms: typeof before) => forms.flatMap((f) => f.indicators).length;
  expect(await cell('填报项', 1).textContent()).toBe(String(slots(before)));
  expect(await cell('填报项', 2).textContent()).toBe(String(slots(after)));
  await compare.getByLabel('社区代码（填写后比较已预填比例）').fill(UNIT);
  await expect.poll(() => cell('该社区已预填比例', 2).textContent()).toMatch(/^\d+%$/);
  await app.shot(page, 'catalogue-compare-phone');
  await expectNoOverflow(page);
  expect(app.pageErrors).toEqual([]);
});
