/**
 * 办件 (the department staff's console page for "get one thing done", issue 22) in the browser.
 * The demo mother applies for 新生儿出生一件事 through the API. The hospital's data steward (the
 * first step's department) finds it on /cases, opens it and accepts, starts, pre-fills (nothing
 * to pull: no contract, said in words) and completes the birth certificate; the police window
 * does the same with the household step, whose pre-fill pulls the baby's data from the birth
 * certificates and shows it. Each move is checked through the API, and each state offers only the
 * moves STEP_LIFECYCLE allows. The social security window, at phone width (no horizontal
 * overflow; a step pushed past its deadline marked overdue in the list), returns the medical insurance step with a reason (required); the health window, on a
 * page made stale by a move elsewhere, tries to refuse a step already done and reads the server's
 * refusal in the dialog. Screenshots go to test-output/screenshots/ (cases-*.png).
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ConsoleApp, demoMotherApplies, expectNoOverflow, startConsoleApp } from './support.ts';

const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 360, height: 780 };
const BUNDLE = '新生儿出生一件事';

interface Step {
  key: string;
  name: string;
  orgId: string;
  state: string;
  reason: string | null;
  prefill: Record<string, { value: unknown }>;
}

let app: ConsoleApp;
let t: ConsoleApp['t'];
const call: ConsoleApp['call'] = (...args) => app.call(...args);
let applicationId: string;

beforeAll(async () => {
  app = await startConsoleApp('cases', { demoData: true });
  t = app.t;
  const mother = await demoMotherApplies(app);
  applicationId = mother.applicationId;
  const application = await call('GET', `/v1/services/applications/${applicationId}`, mother.token);
  expect(application.subjectKey).toBe(mother.idNumber);
}, 300_000);

afterAll(async () => {
  await app?.close();
});

async function stepOf(key: string, token: string): Promise<Step> {
  const application = await call('GET', `/v1/services/applications/${applicationId}`, token);
  return (application.steps as Step[]).find((s) => s.key === key)!;
}

/** A button by its label (antd spaces two-character labels, 受 理; an icon names itself first). */
const button = (scope: Page | Locator, label: string) =>
  scope.getByRole('button', { name: new RegExp(`(^|\\s)${[...label].join('\\s?')}$`) });

/** One step on the detail page's timeline. */
const stepItem = (page: Page, key: string) => page.getByTestId(`step-${key}`);

const ALL_MOVES = ['受理', '开始办理', '办结', '退回补正', '不予办理'];

/**
 * Exactly these moves are offered on the step's row (and no other). The page redraws after the
 * server has answered a move, so a move the old state offered is waited out rather than counted
 * at once (a loaded machine showed 办结 still drawn just after the API said done).
 */
async function expectMoves(step: Locator, allowed: string[]): Promise<void> {
  for (const label of allowed) await button(step, label).waitFor();
  for (const label of ALL_MOVES.filter((l) => !allowed.includes(l)))
    await expect.poll(() => button(step, label).count(), { message: `${label} offered` }).toBe(0);
}

/** Clicks a move and waits until the API shows the step in `state`. */
async function move(page: Page, key: string, label: string, state: string, token: string) {
  await button(stepItem(page, key), label).click();
  await expect.poll(async () => (await stepOf(key, token)).state).toBe(state);
}

it('the first step’s department finds the application, moves its step to done and pre-fills', async () => {
  const hospital = await t.login('steward.hospital');
  const page = await app.open(hospital, DESKTOP, '/cases');
  await page.getByRole('heading', { name: '办件', level: 1 }).waitFor();
  const row = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: BUNDLE });
  await row.getByTestId('case-step-birth_certificate').getByText('待受理').waitFor();
  // Only the hospital's own step is listed there, not the other departments'.
  expect(await row.getByTestId('case-step-household').count()).toBe(0);
  await app.shot(page, 'list');

  await row.getByRole('link', { name: BUNDLE }).click();
  await page.waitForURL(`${app.base}/cases/${applicationId}`);
  const own = stepItem(page, 'birth_certificate');
  await own.getByText('本部门').waitFor();
  await expectMoves(own, ['受理', '退回补正', '不予办理']);
  // Other departments' steps offer nothing here.
  expect(await stepItem(page, 'household').getByRole('button').count()).toBe(0);

  await move(page, 'birth_certificate', '受理', 'accepted', hospital);
  await expectMoves(own, ['开始办理', '退回补正', '不予办理']);
  await move(page, 'birth_certificate', '开始办理', 'in_progress', hospital);
  await expectMoves(own, ['办结', '退回补正', '不予办理']);

  // The hospital holds the certificate itself: no contract gives it the baby's name, said in words.
  await button(own, '预填').click();
  const dialog = page.getByRole('dialog', { name: '经共享数据预填' });
  await dialog.getByTestId('missing-baby_name').getByText('本部门没有生效的共享协议提供此项').waitFor();
  await dialog.getByText('新生儿姓名').waitFor();
  await button(dialog, '知道了').click();
  await dialog.waitFor({ state: 'hidden' });

  await move(page, 'birth_certificate', '办结', 'done', hospital);
  await expectMoves(own, []);
  // Completing the first step released the two that depend on it.
  expect((await stepOf('household', hospital)).state).toBe('submitted');
  await stepItem(page, 'household').getByText('待受理').waitFor();
  await app.shot(page, 'detail-done');
});

it('the police window pre-fills the household step from the birth certificate and completes it', async () => {
  const psb = await t.login('consumer.psb');
  const page = await app.open(psb, DESKTOP, `/cases/${applicationId}`);
  const own = stepItem(page, 'household');
  await move(page, 'household', '受理', 'accepted', psb);
  await move(page, 'household', '开始办理', 'in_progress', psb);

  await button(own, '预填').click();
  const dialog = page.getByRole('dialog', { name: '经共享数据预填' });
  await dialog.getByText('已获取').waitFor();
  const pulled = (await stepOf('household', psb)).prefill;
  expect(Object.keys(pulled)).toContain('baby_sex');
  const sex = String(pulled.baby_sex!.value);
  expect(sex).not.toBe('');
  // The value the server pulled is the one shown, under the field's label, with the data's provider.
  const shown = dialog.getByTestId('prefilled-baby_sex');
  expect(await shown.textContent()).toContain(`新生儿性别：${sex}`);
  expect(await shown.textContent()).toContain('数据提供部门：');
  await app.shot(page, 'prefill');
  await button(dialog, '知道了').click();
  await dialog.waitFor({ state: 'hidden' });
  // And the step keeps it, marked as shared data.
  await own.getByText(`新生儿性别：${sex}`).waitFor();

  await move(page, 'household', '办结', 'done', psb);
  await expectMoves(own, []);
});

it('the social security window returns a step with a reason at phone width', async () => {
  const hrss = await t.login('consumer.hrss');
  // A month past its deadline (a browser test cannot wait working days): the list marks it overdue
  // by as many working days as GET /v1/services/overdue counts.
  const monthAgo = new Date(Date.now() + 8 * 3_600_000 - 30 * 86_400_000).toISOString().slice(0, 10);
  await t.database.db
    .updateTable('service_application_steps')
    .set({ due_on: monthAgo })
    .where('application_id', '=', applicationId)
    .where('step_key', '=', 'social_security_card')
    .execute();
  const overdue = (await call('GET', '/v1/services/overdue', hrss)) as {
    step: string;
    workingDaysOverdue: number;
  }[];
  const late = overdue.find((o) => o.step === 'social_security_card');
  expect(late?.workingDaysOverdue).toBeGreaterThan(0);
  const list = await app.open(hrss, PHONE, '/cases');
  await list.getByTestId('case-step-medical_insurance').getByText('待受理').waitFor();
  expect(await list.getByTestId('case-step-medical_insurance').getByTestId('overdue').count()).toBe(0);
  await list
    .getByTestId('case-step-social_security_card')
    .getByTestId('overdue')
    .getByText(`逾期 ${late!.workingDaysOverdue} 个工作日`)
    .waitFor();
  await expectNoOverflow(list);
  await app.shot(list, 'list-phone');
  await list.getByRole('link', { name: BUNDLE }).click();
  await list.waitForURL(`${app.base}/cases/${applicationId}`);
  const page = list;
  const own = stepItem(page, 'medical_insurance');
  await expectMoves(own, ['受理', '退回补正', '不予办理']);
  await expectNoOverflow(page);
  await button(own, '退回补正').click();
  const dialog = page.getByRole('dialog');
  await button(dialog, '退回补正').click();
  // The reason is required: nothing is sent without one.
  await dialog.getByText('请说明理由（至少 2 个字）').waitFor();
  expect((await stepOf('medical_insurance', hrss)).state).toBe('submitted');
  const reason = '请补充监护人本人的联系电话';
  await dialog.getByLabel('理由').fill(reason);
  await button(dialog, '退回补正').click();
  await dialog.waitFor({ state: 'hidden' });
  await expect
    .poll(async () => {
      const step = await stepOf('medical_insurance', hrss);
      return { state: step.state, reason: step.reason };
    })
    .toEqual({ state: 'returned', reason });
  // Returned: the applicant resubmits, the department has no move left.
  await own.getByTestId('step-reason').getByText(reason).waitFor();
  await expectMoves(own, []);
  await expectNoOverflow(page);
  await app.shot(page, 'returned-phone');
});

it('a move the step’s state no longer allows is refused with the server’s words in the dialog', async () => {
  const health = await t.login('consumer.health');
  const page = await app.open(health, DESKTOP, `/cases/${applicationId}`);
  const own = stepItem(page, 'vaccination');
  await expectMoves(own, ['受理', '退回补正', '不予办理']);
  // Someone else at the window finishes the step meanwhile; this page still offers the old moves.
  const at = `/v1/services/applications/${applicationId}/steps/vaccination`;
  for (const event of ['accept', 'start', 'complete']) await call('POST', `${at}/${event}`, health);
  await button(own, '不予办理').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('理由').fill('材料不全');
  await button(dialog, '不予办理').click();
  const refusal = dialog.getByRole('alert');
  await expect.poll(() => refusal.textContent()).toContain('service_step 处于 done 状态，不能执行 refuse');
  await app.shot(page, 'refused-move');
  expect((await stepOf('vaccination', health)).state).toBe('done');
  await button(dialog, '取消').click();
  await dialog.waitFor({ state: 'hidden' });
  // In English, the same refusal in the server's English words.
  await page.getByText('EN', { exact: true }).click();
  await button(own, 'Refuse').click();
  await dialog.getByRole('textbox').fill('Incomplete documents');
  await button(dialog, 'Refuse').click();
  await expect.poll(() => refusal.textContent()).toContain('service_step is done; cannot refuse');
  expect((await stepOf('vaccination', health)).state).toBe('done');
  expect(app.pageErrors).toEqual([]);
});
