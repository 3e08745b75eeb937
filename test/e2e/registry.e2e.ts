/**
 * Issue #19 in the browser: the health commission's data steward submits a first registration of
 * a published resource from the registry page (pre-filled from the catalog); the data bureau finds
 * it in the inbox with its working-day deadline, returns it for correction (the steward resubmits
 * it), accepts it, passes the review, puts it on public notice, answers an objection and, once the
 * notice is over, registers it; the certificate shows its code, opens as a PDF and links to the
 * public page; one click shows it in English. The inbox once more at phone width.
 * Screenshots go to test-output/screenshots/ (registry-*.png).
 */
import fs from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadedResource } from '../helpers.ts';
import { type ConsoleApp, choose, expectNoOverflow, startConsoleApp } from './support.ts';

const NAME = '门诊就诊人次统计';
const DESKTOP = { width: 1366, height: 768 };

let app: ConsoleApp;
let t: ConsoleApp['t'];
const call: ConsoleApp['call'] = (...args) => app.call(...args);
const shot: ConsoleApp['shot'] = (page, name) => app.shot(page, name);

let admin: string;
let health: string;
let resourceId: string;
let registrationId: string;

/** A China civil date `days` from today. */
const chinaDay = (days = 0) =>
  new Date(Date.now() + 8 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  app = await startConsoleApp('registry');
  t = app.t;
  admin = await t.login('admin');
  health = await t.login('steward.health');
  const resource = await loadedResource(t, health, {
    name: NAME,
    fields: [
      { name: 'district', label: '所属区县', dataType: 'text' },
      { name: 'visits', label: '就诊人次', dataType: 'integer' },
    ],
    grades: { district: ['g1', null], visits: ['g2', null] },
    rows: [{ district: '西湖区', visits: 1200 }],
  });
  resourceId = resource.id;
}, 240_000);

afterAll(async () => {
  await app?.close();
});

const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });
/** The registration's state, beside the page's title. */
const stateTag = (page: Page) => page.locator('h1 + * [data-state]');

it('the holder’s data steward submits a first registration from the page', async () => {
  const page = await app.open(health, DESKTOP, '/registrations');
  await page.getByRole('heading', { name: '资源登记', level: 1 }).waitFor();
  await page.getByRole('button', { name: '新登记申请' }).click();
  const dialog = page.getByRole('dialog');
  await choose(page, dialog.getByRole('combobox', { name: '登记的数据资源（本单位已发布）' }), NAME);
  // Pre-filled from the catalog: the name and the data items.
  await expect.poll(() => dialog.getByLabel('资源名称', { exact: true }).inputValue()).toBe(NAME);
  await expect.poll(() => dialog.getByRole('textbox', { name: '中文名' }).count()).toBe(2);
  const texts: Record<string, string> = {
    资源摘要: '全市门诊就诊人次按区县、月份统计',
    数据规模: '约 12 万行，每月新增 1 万行',
    数据来源: '医院信息系统上报',
    存储位置: '云岚市政务云',
    存储方式: 'PostgreSQL 数据库',
    拟使用用途: '授权运营，开发医疗资源配置分析产品',
    数据质量说明: '字段完整率 99%，经卫健委质控',
    拟授权运营范围: '医疗健康领域授权运营',
    '承诺人（签字）': '卫健委数据专员',
  };
  for (const [label, value] of Object.entries(texts))
    await dialog.getByLabel(label, { exact: true }).fill(value);
  await shot(page, 'submit-form');
  await button(page, '提交登记申请').click();
  await page.waitForURL(/\/registrations\/rgn_/);
  registrationId = page.url().split('/').pop()!;
  await expect.poll(() => stateTag(page).textContent()).toBe('待受理');
  await page
    .getByText(/^受理：\d{4}-\d{2}-\d{2} 前$/)
    .first()
    .waitFor();
  await shot(page, 'submitted');

  const saved = await call('GET', `/v1/registry/registrations/${registrationId}`, admin);
  expect(saved).toMatchObject({
    kind: 'first',
    state: 'submitted',
    subject: { type: 'resource', id: resourceId, name: NAME },
    content: {
      name: NAME,
      volume: texts.数据规模,
      fields: [
        { name: 'district', label: '所属区县', dataType: 'text' },
        { name: 'visits', label: '就诊人次', dataType: 'integer' },
      ],
    },
    commitment: { signatory: '卫健委数据专员', signedOn: chinaDay() },
  });
});

it('the registry takes it through acceptance, review and notice to the certificate', async () => {
  const page = await app.open(admin, DESKTOP, '/registrations');
  await choose(page, page.getByRole('combobox', { name: '状态' }), '待受理');
  const row = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: NAME });
  await expect.poll(() => page.locator('.ant-table-tbody tr.ant-table-row').count()).toBe(1);
  await row.getByText('待受理').waitFor();
  expect(await row.textContent()).toMatch(/受理：\d{4}-\d{2}-\d{2} 前/);
  await shot(page, 'inbox-desktop');
  await row.getByRole('link', { name: NAME }).click();
  await page.getByRole('navigation', { name: '当前位置' }).getByText('登记申请').waitFor();

  // Returned for correction with a reason; the holder corrects the content and submits it again.
  await button(page, '退回补正').click();
  const reasonDialog = page.getByRole('dialog');
  await reasonDialog.getByLabel('理由').fill('数据规模请写明总行数与年增量。');
  await reasonDialog.getByRole('button', { name: '退回补正' }).click();
  await expect.poll(() => stateTag(page).textContent()).toBe('已退回补正');
  const holder = await app.open(health, DESKTOP, `/registrations/${registrationId}`);
  await holder.getByText('数据规模请写明总行数与年增量。').waitFor();
  await button(holder, '补正后重新提交').click();
  const form = holder.getByRole('dialog');
  await expect.poll(() => form.getByLabel('资源名称', { exact: true }).inputValue()).toBe(NAME);
  await form.getByLabel('数据规模', { exact: true }).fill('共 12 万行，每年新增约 12 万行');
  await form.getByRole('button', { name: '提交登记申请' }).click();
  await expect.poll(() => stateTag(holder).textContent()).toBe('待受理');
  await shot(holder, 'resubmitted');
  await holder.context().close();
  await page.reload();
  await expect.poll(() => stateTag(page).textContent()).toBe('待受理');

  for (const [action, state] of [
    ['受理', '已受理，审核中'],
    ['形式审核通过', '审核通过'],
    ['开始公示', '公示中'],
  ] as const) {
    await button(page, action).click();
    await expect.poll(() => stateTag(page).textContent()).toBe(state);
  }
  // During the notice registering waits for its end.
  const register = button(page, '登记赋码');
  expect(await register.isDisabled()).toBe(true);
  await page
    .getByText(/^公示期至 \d{4}-\d{2}-\d{2}，期满后方可登记$/)
    .first()
    .waitFor();

  // A real-name objection (another department, through the API), answered by the registry.
  await call(
    'POST',
    `/v1/registry/registrations/${registrationId}/objections`,
    await t.login('steward.psb'),
    {
      realName: '公安局数据专员',
      text: '就诊人次口径与公安人口数据不一致，请说明。',
    },
  );
  await page.reload();
  const objection = page.locator('.ant-list-item', { hasText: '公安局数据专员' });
  await objection.getByText('待答复').waitFor();
  await objection.getByRole('button', { name: '答复异议' }).click();
  const dialog = page.getByRole('dialog');
  await dialog
    .getByLabel('答复', { exact: true })
    .fill('口径为医疗机构接诊人次，已在登记内容中说明，不涉及人口数。');
  await dialog.getByRole('button', { name: '答复异议' }).click();
  await objection.getByText('不成立').waitFor();
  await shot(page, 'notice');

  // The notice ends (its last day moved to yesterday: a browser test cannot wait ten working days).
  await t.database.db
    .updateTable('registrations')
    .set({ notice_from: chinaDay(-15), notice_until: chinaDay(-1) })
    .where('id', '=', registrationId)
    .execute();
  await page.reload();
  await expect.poll(() => register.isDisabled()).toBe(false);
  await register.click();
  await expect.poll(() => stateTag(page).textContent()).toBe('已登记');

  const certificate = page.getByTestId('certificate');
  const code = ((await certificate.getByTestId('certificate-code').textContent()) ?? '').trim();
  expect(code).toMatch(new RegExp(`^DJ${chinaDay().slice(0, 4)}\\d{6}[0-9A-Z*]$`));
  const registered = await call('GET', `/v1/registry/registrations/${registrationId}`, admin);
  expect(registered).toMatchObject({
    state: 'registered',
    code,
    reason: null,
    content: { volume: '共 12 万行，每年新增约 12 万行' },
  });
  await certificate.getByText('有效', { exact: true }).waitFor();
  await shot(page, 'certificate');

  // The printable certificate opens as a PDF in a new tab.
  const [popup] = await Promise.all([
    page.context().waitForEvent('page'),
    certificate.getByRole('button', { name: '打开证书 PDF' }).click(),
  ]);
  expect(popup.url()).toMatch(/^blob:/);
  await popup.close();
  // The signed certificate of the current version, as a file for checking offline.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    certificate.getByRole('button', { name: '下载签名证书（JSON）' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`${code}-v1.json`);
  const signed = JSON.parse(await fs.readFile((await download.path())!, 'utf8'));
  expect(signed).toMatchObject({ certificate: { code, version: 1, status: 'registered' } });
  expect(signed.signature.value).toEqual(expect.any(String));
  // The public page of the code, as anyone reaches it.
  const link = certificate.getByRole('link', { name: '公示查询页' });
  expect(await link.getAttribute('href')).toBe(`/registry/${code}`);
  const publicPage = await t.request({ method: 'GET', url: `/registry/${code}` });
  expect(publicPage.statusCode).toBe(200);
  expect(publicPage.body).toContain(code);

  // English one click away.
  await page.getByText('EN', { exact: true }).click();
  await certificate.getByText('Registration certificate').waitFor();
  await expect.poll(() => stateTag(page).textContent()).toBe('Registered');
  await shot(page, 'certificate-en');
});

it('the inbox at phone width', async () => {
  const page = await app.open(admin, { width: 390, height: 844 }, '/registrations');
  const row = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: NAME });
  await row.getByText('已登记').waitFor();
  await shot(page, 'inbox-phone');
  await expectNoOverflow(page);
  expect(app.pageErrors).toEqual([]);
});
