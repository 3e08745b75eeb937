/**
 * Issue #18 in the browser: the admin's user list has the list toolbar. A column hidden with the
 * column picker (used from the keyboard) is gone and stays gone after a reload; refresh asks the
 * server again; the CSV export downloads UTF-8 with a byte order mark, Chinese column titles and
 * the rows listed, without the hidden column. At phone width the toolbar wraps within the page.
 * Every page the navigation offers a platform admin, a consumer and a data steward opens its ?
 * help with a text in the page's language (Chinese; English once switched), and the lists that
 * gained the toolbar (catalog, audit log and tree heads, freezes and alert rules, products,
 * subscriptions, approvals, classification, indicators) show their count in it.
 * Screenshots: test-output/screenshots/toolbar-users.png, toolbar-help.png.
 */
import fs from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ConsoleApp, expectNoOverflow, startConsoleApp } from './support.ts';

let app: ConsoleApp;
let admin: string;

beforeAll(async () => {
  app = await startConsoleApp('toolbar');
  admin = await app.t.login('admin');
}, 240_000);

afterAll(async () => {
  await app?.close();
});

it('hides a column for good, refreshes and exports the list as CSV', async () => {
  const page = await app.open(admin, { width: 1366, height: 768 }, '/admin/users');
  const toolbar = page.getByRole('toolbar', { name: '列表工具' });
  await page.getByRole('cell', { name: 'admin', exact: true }).waitFor();
  // More users than a page: the API gives no total, so the toolbar counts (and exports) the loaded.
  await expect.poll(() => toolbar.getByTestId('toolbar-count').textContent()).toBe('已加载 20 条（本页）');
  const header = page.getByRole('columnheader', { name: '姓名', exact: true });
  await header.waitFor();

  // The picker from the keyboard: open it, its first box takes the focus, Escape gives it back.
  const picker = toolbar.getByRole('button', { name: '列设置' });
  await picker.focus();
  await page.keyboard.press('Enter');
  const group = page.getByRole('group', { name: '显示的列' });
  await group.waitFor();
  await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.type')).toBe('checkbox');
  await group.getByRole('checkbox', { name: '姓名' }).press('Space');
  await expect.poll(() => header.count()).toBe(0);
  await page.keyboard.press('Escape');
  await group.waitFor({ state: 'hidden' });
  await expect
    .poll(() => page.evaluate<string | undefined>('document.activeElement?.textContent'))
    .toContain('列设置');

  await page.reload();
  await page.getByRole('cell', { name: 'admin', exact: true }).waitFor();
  await page.getByRole('columnheader', { name: '登录名', exact: true }).waitFor();
  expect(await header.count()).toBe(0);

  const refreshed = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/users' && r.ok());
  await toolbar.getByRole('button', { name: '刷新' }).click();
  await refreshed;

  const downloading = page.waitForEvent('download');
  await toolbar.getByRole('button', { name: '导出已加载的 20 条（CSV）' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^users-\d{4}-\d{2}-\d{2}\.csv$/);
  const bytes = await fs.readFile((await download.path()) as string);
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const lines = bytes.subarray(3).toString('utf8').split('\r\n');
  expect(lines[0]).toBe('登录名,所属机构,角色,状态,创建时间');
  expect(lines.some((line) => line.startsWith('admin,') && line.includes('平台管理员'))).toBe(true);
  expect(lines.filter((line) => line !== '')).toHaveLength(21);
  await app.shot(page, 'users');

  await page.setViewportSize({ width: 360, height: 740 });
  await toolbar.getByRole('button', { name: '刷新' }).waitFor();
  await expectNoOverflow(page);
  expect(app.pageErrors).toEqual([]);
}, 120_000);

const DESKTOP = { width: 1366, height: 768 };
const CJK = /[\u4e00-\u9fff]/;

/** The links of the main navigation (the console is in Chinese until switched). */
async function navLinks(page: Page): Promise<string[]> {
  const nav = page.locator('ul[aria-label="主导航"]');
  await nav.getByRole('link').first().waitFor();
  const paths: string[] = [];
  for (const link of await nav.getByRole('link').all()) paths.push((await link.getAttribute('href')) ?? '');
  return paths;
}

/**
 * Opens the page's ? help beside its h1, expects a text in `lang` (not a missing key), closes it
 * again and gives the text.
 */
async function helpOf(page: Page, lang: 'zh' | 'en'): Promise<string> {
  const button = page
    .locator('h1')
    .getByRole('button', { name: lang === 'zh' ? '页面说明' : 'About this page' });
  await button.click();
  const help = page.getByTestId('page-help').filter({ visible: true });
  await help.waitFor();
  const text = ((await help.textContent()) ?? '').trim();
  expect(text.length, page.url()).toBeGreaterThan(0);
  expect(text, page.url()).not.toMatch(/^help\./);
  if (lang === 'zh') expect(text, page.url()).toMatch(CJK);
  else {
    expect(text, page.url()).not.toMatch(CJK);
    expect(text, page.url()).toMatch(/[A-Za-z]{3}/);
  }
  await button.click();
  await help.waitFor({ state: 'hidden' });
  return text;
}

/** Visits each of `paths` and reads its help; the texts by path. */
async function helpEverywhere(page: Page, paths: string[]): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const path of paths) {
    await page.goto(`${app.base}${path}`);
    await page.locator('#main').waitFor();
    texts.set(path, await helpOf(page, 'zh'));
  }
  return texts;
}

/** The toolbar of list `id` shows its count, as `expected` says it. */
async function countShown(page: Page, id: string, expected: RegExp): Promise<void> {
  const count = page.getByTestId(`toolbar-${id}`).getByTestId('toolbar-count');
  await expect.poll(() => count.textContent()).toMatch(expected);
}

const ROWS = /^(共 \d+ 条|已加载 \d+ 条（本页）)$/;

it('every page from the navigation explains itself, and the lists count in their toolbars', async () => {
  const page = await app.open(admin, DESKTOP, '/');
  const adminPaths = await navLinks(page);
  // The platform admin's navigation: at least the pages this issue gave help or a toolbar.
  for (const path of ['/', '/catalog', '/cases', '/rectification', '/my-permissions', '/audit', '/alerts'])
    expect(adminPaths).toContain(path);
  const texts = await helpEverywhere(page, adminPaths);
  // Each page says its own thing, not one text for all.
  expect(new Set(texts.values()).size).toBeGreaterThan(adminPaths.length / 2);

  // The lists that gained the toolbar count in it.
  await page.goto(`${app.base}/catalog`);
  await countShown(page, 'catalog', /^共 \d+ 项资源$/);
  await page.goto(`${app.base}/audit`);
  await countShown(page, 'audit-log', ROWS);
  await page.getByRole('tab', { name: '签名树头' }).click();
  await countShown(page, 'tree-heads', ROWS);
  await page.goto(`${app.base}/alerts`);
  await page.getByRole('tab', { name: '应急停止' }).click();
  await countShown(page, 'freezes', ROWS);
  await page.getByRole('tab', { name: '告警规则' }).click();
  await countShown(page, 'monitor-rules', /^共 [1-9]\d* 条$/);
  await page.goto(`${app.base}/products`);
  await countShown(page, 'products', ROWS);
  await page.goto(`${app.base}/bills`);
  await countShown(page, 'subscriptions', ROWS);
  await page.goto(`${app.base}/classification`);
  await countShown(page, 'classification', ROWS);
  await page.goto(`${app.base}/indicators`);
  await page.getByRole('tab', { name: '指标字典' }).click();
  await countShown(page, 'indicators', ROWS);

  // Switched to English once: the help and the counts follow.
  await page.goto(`${app.base}/catalog`);
  await page.getByText('EN', { exact: true }).click();
  await page.getByRole('heading', { level: 1, name: /Catalog/ }).waitFor();
  await helpOf(page, 'en');
  await countShown(page, 'catalog', /^Resources found: \d+$/);
  await page.locator('h1').getByRole('button', { name: 'About this page' }).click();
  await page.getByTestId('page-help').filter({ visible: true }).waitFor();
  await app.shot(page, 'help');
  await page.context().close();

  // A consumer's pages, and a data steward's (the approvals and the import) in Chinese.
  const consumer = await app.open(await app.t.login('consumer.civil'), DESKTOP, '/');
  const consumerPaths = await navLinks(consumer);
  expect(consumerPaths).toContain('/my-permissions');
  await helpEverywhere(consumer, consumerPaths);
  await consumer.context().close();

  const steward = await app.open(await app.t.login('steward.health'), DESKTOP, '/');
  const stewardPaths = (await navLinks(steward)).filter(
    (path) => !adminPaths.includes(path) && !consumerPaths.includes(path),
  );
  expect(stewardPaths).toContain('/approvals');
  await helpEverywhere(steward, stewardPaths);
  await steward.goto(`${app.base}/approvals`);
  await countShown(steward, 'approvals-pending', ROWS);
  await steward.context().close();
  expect(app.pageErrors).toEqual([]);
  // A guard against a hang, not a speed goal: some thirty pages for three users.
}, 600_000);
