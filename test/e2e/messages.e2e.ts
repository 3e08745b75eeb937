/**
 * 消息中心 (issue 18) in the browser. The civil affairs consumer applies through the API for three
 * fields of a health resource; the health steward opens the bell, finds the to-do, follows 查看全部
 * to /messages, where the to-do is unread; opening it goes to the application and marks it read,
 * which holds after a reload (the mark is the server's, checked through the API too) and leaves it
 * out of 只看未读. At 360 px neither the page nor the bell scrolls sideways; in English the page
 * and the message are in English. Screenshots go to test-output/screenshots/ (messages-*.png).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { sharingFixture } from '../sharing-fixture.ts';
import { type ConsoleApp, expectNoOverflow, startWithApplication } from './support.ts';

const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 360, height: 780 };
const RESOURCE = '门诊就诊统计（消息中心）';
const TODO = `审批“${RESOURCE}”的共享申请`;

let app: ConsoleApp;
let fx: ReturnType<typeof sharingFixture>;
let applicationId: string;

beforeAll(async () => {
  ({ app, fx, applicationId } = await startWithApplication('messages', RESOURCE));
}, 300_000);

afterAll(async () => {
  await app?.close();
});

const rowOf = (page: Page) => page.locator('.ant-table-row', { hasText: RESOURCE });

interface Message {
  key: string;
  read: boolean;
}
const todoOf = async (token: string): Promise<Message | undefined> =>
  (await app.call('GET', '/v1/messages', token)).items.find(
    (m: Message) => m.key === `decide:${applicationId}`,
  );

it('the steward follows the bell to 消息中心, opens the to-do, and it stays read after a reload', async () => {
  const steward = fx.tokens.steward;
  expect(await todoOf(steward)).toMatchObject({ read: false });
  const page = await app.open(steward, DESKTOP, '/');
  await page.getByTestId('notifications-button').click();
  const bell = page.getByTestId('notifications');
  await bell.getByText(TODO).waitFor();
  await app.shot(page, '01-bell');
  await bell.getByTestId('notifications-all').click();
  await page.waitForURL(`${app.base}/messages`);
  await page.getByRole('heading', { name: '消息中心', level: 1 }).waitFor();
  await bell.waitFor({ state: 'hidden' });
  const row = rowOf(page);
  await row.getByText(TODO).waitFor();
  await row.getByText('未读', { exact: true }).waitFor();
  await app.shot(page, '02-unread');

  // Opening it goes to the application and marks it read, on the server.
  await row.getByRole('link', { name: TODO }).click();
  await page.waitForURL(`${app.base}/applications?id=${applicationId}`);
  await page.locator('.ant-drawer-open').getByText(applicationId).waitFor();
  await expect.poll(async () => (await todoOf(steward))?.read).toBe(true);

  await page.goto(`${app.base}/messages`);
  await rowOf(page).getByText('已读', { exact: true }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: '消息中心', level: 1 }).waitFor();
  await rowOf(page).getByText('已读', { exact: true }).waitFor();
  expect(await rowOf(page).getByText('未读', { exact: true }).count()).toBe(0);
  // Still a to-do in the bell (until it is decided), no longer counted.
  await expect
    .poll(() => page.getByTestId('notifications-button').getAttribute('aria-label'))
    .toBe('待办与消息（0）');
  // 只看未读 leaves it out.
  await page.getByRole('checkbox', { name: '只看未读' }).check();
  await page.getByText('没有消息').waitFor();
  expect(await rowOf(page).count()).toBe(0);
  await app.shot(page, '03-read');

  // Another browser of the same user: the mark is the server's.
  const other = await app.open(steward, DESKTOP, '/messages');
  await rowOf(other).getByText('已读', { exact: true }).waitFor();
  await other.close();
});

it('reads at phone width without sideways scrolling, the bell too', async () => {
  const phone = await app.open(fx.tokens.steward, PHONE, '/messages');
  await rowOf(phone).getByText(TODO).waitFor();
  await expectNoOverflow(phone);
  await phone.getByTestId('notifications-button').click();
  await phone.getByTestId('notifications').getByText(TODO).waitFor();
  await expectNoOverflow(phone);
  // The open bell lies inside the screen (a popover past its edge makes no page scroll to catch).
  const box = (await phone.locator('.ant-popover').filter({ visible: true }).boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(360);
  await app.shot(phone, '04-phone');
});

it('speaks English in the English console', async () => {
  const page = await app.open(fx.tokens.steward, DESKTOP, '/messages');
  await rowOf(page).getByText(TODO).waitFor();
  await page.getByText('EN', { exact: true }).click();
  await page.getByRole('heading', { name: 'Messages', level: 1 }).waitFor();
  const row = rowOf(page);
  await row.getByText(`Decide the application for “${RESOURCE}”`).waitFor();
  await row.getByText('Read', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Mark all as read' }).waitFor();
  await app.shot(page, '05-english');
  expect(app.pageErrors).toEqual([]);
});
