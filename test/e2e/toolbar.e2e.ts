/**
 * Issue #18 in the browser: the admin's user list has the list toolbar. A column hidden with the
 * column picker (used from the keyboard) is gone and stays gone after a reload; refresh asks the
 * server again; the CSV export downloads UTF-8 with a byte order mark, Chinese column titles and
 * the rows listed, without the hidden column. At phone width the toolbar wraps within the page.
 * Screenshot: test-output/screenshots/toolbar-users.png.
 */
import fs from 'node:fs/promises';
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
