/**
 * 差评整改 (the staff console's rectification page, issue 22) in the browser. The demo mother
 * applies for 新生儿出生一件事 through the API; the hospital and the health window finish their
 * steps there, and she rates both badly: the birth certificate named with text, the vaccination
 * anonymously. The hospital's data steward finds the named case on /rectification, reads the
 * rating in words, verifies and rectifies it, cannot close it without the return visit's note
 * (the dialog holds the close back; the API refuses it too) and closes it with one. The health
 * window, at phone width (no horizontal overflow), finds the other case marked overdue and under
 * the list's filters (overdue only, by state), appeals it; the platform admin
 * dismisses the appeal; the health window, on a page made stale by a move elsewhere, reads the
 * server's refusal in the dialog in Chinese and in English. Each move is checked through the API,
 * and each state offers only the moves CASE_LIFECYCLE allows to the reader. Screenshots go to
 * test-output/screenshots/ (rectification-*.png).
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ConsoleApp, choose, demoMotherApplies, expectNoOverflow, startConsoleApp } from './support.ts';

const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 360, height: 780 };
const BUNDLE = '新生儿出生一件事';
const TEXT = '窗口让我来回跑了三趟，材料清单与现场要求不一致';

interface CaseView {
  id: string;
  state: string;
  returnVisit: boolean;
  workingDaysOverdue: number;
  notes: Record<string, { by: string; on: string; note: string }>;
}

let app: ConsoleApp;
let t: ConsoleApp['t'];
const call: ConsoleApp['call'] = (...args) => app.call(...args);
let named: { caseId: string; step: string };
let anonymous: { caseId: string; step: string };

/** The department's staff move the step to done, as at the window. */
async function finish(applicationId: string, step: string, token: string): Promise<void> {
  const at = `/v1/services/applications/${applicationId}/steps/${step}`;
  for (const event of ['accept', 'start', 'complete']) await call('POST', `${at}/${event}`, token);
}

beforeAll(async () => {
  app = await startConsoleApp('rectification', { demoData: true });
  t = app.t;
  const mother = await demoMotherApplies(app);
  const { applicationId } = mother;
  await finish(applicationId, 'birth_certificate', await t.login('steward.hospital'));
  await finish(applicationId, 'vaccination', await t.login('consumer.health'));
  const application = await call('GET', `/v1/services/applications/${applicationId}`, mother.token);
  const nameOf = (key: string) =>
    (application.steps as { key: string; name: string }[]).find((s) => s.key === key)!.name;
  const rate = async (step: string, level: number, isNamed: boolean, text: string) => {
    const rating = await call('POST', '/v1/ratings', mother.token, {
      applicationId,
      step,
      channel: 'online',
      level,
      indicators: { efficiency: 2, guideAccuracy: 1, convenience: 3, usability: 4 },
      text,
      named: isNamed,
    });
    expect(rating.case?.state).toBe('open');
    return { caseId: rating.case.id as string, step: nameOf(step) };
  };
  named = await rate('birth_certificate', 2, true, TEXT);
  anonymous = await rate('vaccination', 1, false, '接种预约一直约不上');
}, 300_000);

afterAll(async () => {
  await app?.close();
});

const caseOf = (id: string, token: string): Promise<CaseView> =>
  call('GET', `/v1/ratings/cases/${id}`, token);

/** A button by its label (antd spaces two-character labels, 核 实). */
const button = (scope: Page | Locator, label: string) =>
  scope.getByRole('button', { name: new RegExp(`(^|\\s)${[...label].join('\\s?')}$`) });

const ALL_MOVES = ['核实', '申诉', '申诉成立', '申诉不成立', '整改', '解释说明', '办结'];

/** Exactly these moves are offered on the case's page (and no other). */
async function expectMoves(page: Page, allowed: string[]): Promise<void> {
  const main = page.locator('#main');
  for (const label of allowed) await button(main, label).waitFor();
  for (const label of ALL_MOVES.filter((l) => !allowed.includes(l)))
    expect(await button(main, label).count(), `${label} offered`).toBe(0);
}

/** Makes a move through its dialog with a note and waits until the API shows the case in `state`. */
async function move(
  page: Page,
  label: string,
  note: string,
  expected: { caseId: string; state: string; token: string },
): Promise<CaseView> {
  await button(page.locator('#main'), label).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('处理说明').fill(note);
  await button(dialog, label).click();
  await dialog.waitFor({ state: 'hidden' });
  await expect.poll(async () => (await caseOf(expected.caseId, expected.token)).state).toBe(expected.state);
  return caseOf(expected.caseId, expected.token);
}

it('the hospital verifies, rectifies and closes a named bad rating after the return visit', async () => {
  const hospital = await t.login('steward.hospital');
  const page = await app.open(hospital, DESKTOP, '/rectification');
  await page.getByRole('heading', { name: '差评整改', level: 1 }).waitFor();
  const row = page.locator('.ant-table-tbody tr.ant-table-row', { hasText: named.step });
  await row.getByText('待核实').waitFor();
  await row.getByText(BUNDLE).waitFor();
  await row.getByText('2 分 · 不满意').waitFor();
  // Only the hospital's case: the health window's is not listed here.
  expect(await page.locator('.ant-table-tbody tr.ant-table-row', { hasText: anonymous.step }).count()).toBe(
    0,
  );
  await app.shot(page, 'list');

  await row.getByRole('link', { name: named.step }).click();
  await page.waitForURL(`${app.base}/rectification/${named.caseId}`);
  const rating = page.getByTestId('rating');
  await rating.getByText(TEXT).waitFor();
  await rating.getByText('实名评价').waitFor();
  await rating.getByText('办事效率').waitFor();
  expect(await rating.textContent()).toContain('总体评价2 分 · 不满意');
  expect(await rating.textContent()).toContain('办事指南准确性1 分 · 非常不满意');
  await expectMoves(page, ['核实', '申诉']);

  let c = await move(page, '核实', '经核实，窗口材料清单未及时更新', {
    caseId: named.caseId,
    state: 'verified',
    token: hospital,
  });
  expect(c.notes.verify?.note).toBe('经核实，窗口材料清单未及时更新');
  await page.getByTestId('note-verify').getByText('经核实，窗口材料清单未及时更新').waitFor();
  await expectMoves(page, ['整改', '解释说明']);

  c = await move(page, '整改', '已更新材料清单并培训窗口人员', {
    caseId: named.caseId,
    state: 'rectified',
    token: hospital,
  });
  expect(c.notes.rectify?.note).toBe('已更新材料清单并培训窗口人员');
  await expectMoves(page, ['办结']);

  // A named rating's case closes only after the return visit: the dialog asks for its note and
  // holds the close back without it; the API refuses it too.
  await button(page.locator('#main'), '办结').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('处理说明').fill('整改完成');
  await button(dialog, '办结').click();
  await dialog.getByText('实名差评须先回访：请填写回访记录（至少 2 个字）').waitFor();
  expect((await caseOf(named.caseId, hospital)).state).toBe('rectified');
  const bare = await t.request({
    method: 'POST',
    url: `/v1/ratings/cases/${named.caseId}/close`,
    token: hospital,
    payload: { note: '整改完成' },
  });
  expect(bare.statusCode).toBe(409);
  expect((await caseOf(named.caseId, hospital)).state).toBe('rectified');
  await app.shot(page, 'close-needs-visit');

  await dialog.getByLabel('回访记录').fill('电话回访，群众表示满意');
  await button(dialog, '办结').click();
  await dialog.waitFor({ state: 'hidden' });
  await expect.poll(async () => (await caseOf(named.caseId, hospital)).state).toBe('closed');
  c = await caseOf(named.caseId, hospital);
  expect(c.notes.close?.note).toBe('整改完成');
  expect(c.notes.returnVisit?.note).toBe('电话回访，群众表示满意');
  await page.getByTestId('note-returnVisit').getByText('电话回访，群众表示满意').waitFor();
  await page.locator('#main').getByText('已办结').first().waitFor();
  await expectMoves(page, []);
  await app.shot(page, 'closed');
  expect(app.pageErrors).toEqual([]);
});

it('the health window appeals at phone width, the platform dismisses it, a stale move is refused', async () => {
  const health = await t.login('consumer.health');
  // A month past its deadline (a browser test cannot wait working days): the list marks it overdue
  // by as many working days as the API counts, and keeps it under "overdue only".
  const monthAgo = new Date(Date.now() + 8 * 3_600_000 - 30 * 86_400_000).toISOString().slice(0, 10);
  await t.database.db
    .updateTable('rectification_cases')
    .set({ due_on: monthAgo })
    .where('id', '=', anonymous.caseId)
    .execute();
  const late = await caseOf(anonymous.caseId, health);
  expect(late.workingDaysOverdue).toBeGreaterThan(0);
  const list = await app.open(health, PHONE, '/rectification');
  const row = list.locator('.ant-table-tbody tr.ant-table-row', { hasText: anonymous.step });
  await row.getByText('待核实').waitFor();
  await row.getByTestId('overdue').getByText(`逾期 ${late.workingDaysOverdue} 个工作日`).waitFor();
  await list.getByLabel('只看逾期').check();
  await row.getByText('待核实').waitFor();
  await choose(list, list.getByLabel('状态'), '已核实');
  await list.getByText('暂无整改件').waitFor();
  // A fresh page: the keyboard picker walks down from the option chosen before, so going back up
  // to the first state is done from an empty filter.
  await list.reload();
  await row.getByText('待核实').waitFor();
  await choose(list, list.getByLabel('状态'), '待核实');
  await row.getByText('待核实').waitFor();
  await expectNoOverflow(list);
  await app.shot(list, 'list-phone');
  await row.getByRole('link', { name: anonymous.step }).click();
  await list.waitForURL(`${app.base}/rectification/${anonymous.caseId}`);
  const page = list;
  await page.getByTestId('rating').getByText('匿名评价').waitFor();
  await expectMoves(page, ['核实', '申诉']);
  await expectNoOverflow(page);
  const appealed = await move(page, '申诉', '该时段疫苗到货延迟，非本窗口原因', {
    caseId: anonymous.caseId,
    state: 'appealed',
    token: health,
  });
  expect(appealed.notes.appeal?.note).toBe('该时段疫苗到货延迟，非本窗口原因');
  // The appeal is the platform's to review: the department has no move meanwhile.
  await expectMoves(page, []);
  await expectNoOverflow(page);
  await app.shot(page, 'appealed-phone');

  const admin = await t.login('admin');
  const review = await app.open(admin, DESKTOP, `/rectification/${anonymous.caseId}`);
  await review.getByTestId('note-appeal').getByText('该时段疫苗到货延迟，非本窗口原因').waitFor();
  await expectMoves(review, ['申诉成立', '申诉不成立']);
  const dismissed = await move(review, '申诉不成立', '预约系统可提前提示，申诉不予支持', {
    caseId: anonymous.caseId,
    state: 'verified',
    token: admin,
  });
  expect(dismissed.notes.dismiss?.note).toBe('预约系统可提前提示，申诉不予支持');
  // Back with the department, which the platform does not act for.
  await expectMoves(review, []);

  await page.reload();
  await expectMoves(page, ['整改', '解释说明']);
  // Someone else at the window explains meanwhile; this page still offers rectify.
  await call('POST', `/v1/ratings/cases/${anonymous.caseId}/explain`, health, { note: '已向群众解释' });
  await button(page.locator('#main'), '整改').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('处理说明').fill('已调整预约号源');
  await button(dialog, '整改').click();
  const refusal = dialog.getByRole('alert');
  await expect
    .poll(() => refusal.textContent())
    .toContain('rectification_case 处于 explained 状态，不能执行 rectify');
  await expectNoOverflow(page);
  await app.shot(page, 'refused-phone');
  expect((await caseOf(anonymous.caseId, health)).state).toBe('explained');
  await button(dialog, '取消').click();
  await dialog.waitFor({ state: 'hidden' });
  // In English, the same refusal in the server's English words.
  await page.getByText('EN', { exact: true }).click();
  await button(page.locator('#main'), 'Rectify').click();
  await dialog.getByLabel('Note').fill('Booking slots adjusted');
  await button(dialog, 'Rectify').click();
  await expect.poll(() => refusal.textContent()).toContain('rectification_case is explained; cannot rectify');
  expect((await caseOf(anonymous.caseId, health)).state).toBe('explained');
  expect(app.pageErrors).toEqual([]);
});
