/**
 * The citizen site (/citizen/) in the browser, at phone width (360×780) and desktop (1366×768).
 * The father logs in with the keyboard only (Tab and Enter) and consents that the mother applies
 * with his data; the mother logs in with the demo identity button, sees that consent offered on
 * 新生儿出生一件事 and applies for herself on her phone (the birth certificate is keyed by her ID
 * number): the exempted materials (免提交) are listed and not asked, the empty form's errors are
 * announced and tied to their fields. The departments move every step
 * through the API (one pre-fill from shared data, which the site shows as such, and one return
 * that she resubmits on the site) until she sees it done and rates a step. The demo enterprise
 * does 企业信息变更一件事 the same way at desktop width. The father revokes his consent and the
 * mother's form no longer offers it. Every main page at both widths: named
 * controls, landmarks, headings in order, no horizontal overflow at 360, a screenshot
 * (test-output/screenshots/citizen-*.png), and no page error.
 */
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ConsoleApp, startConsoleApp } from './support.ts';

const PHONE = { width: 360, height: 780 };
const DESKTOP = { width: 1366, height: 768 };
const DEMO_PASSWORD = 'shutong-demo';

interface Identities {
  citizens: { idNumber: string; name: string; note: string }[];
  enterprises: { username: string; name: string; note: string }[];
}
interface FieldPlan {
  name: string;
  label: string;
  provenance: 'contract' | 'no_contract' | 'asked';
}
interface Bundle {
  id: string;
  code: string;
  name: string;
  steps: { key: string; name: string; orgId: string; fields: FieldPlan[] }[];
  eligibilityRules: { kind: string; text: string }[];
}
interface Step {
  key: string;
  name: string;
  orgId: string;
  state: string;
  prefill: Record<string, { value: unknown }>;
}

let app: ConsoleApp;
let t: ConsoleApp['t'];
let browser: Browser;
const call: ConsoleApp['call'] = (...args) => app.call(...args);
const shot: ConsoleApp['shot'] = (page, name) => app.shot(page, name);

let admin: string;
let identities: Identities;
let mother: Identities['citizens'][number];
let father: Identities['citizens'][number];
let enterprise: Identities['enterprises'][number];
/** Each department's staff token, by organization id. */
const staff = new Map<string, string>();

beforeAll(async () => {
  app = await startConsoleApp('citizen', { demoData: true });
  t = app.t;
  admin = await t.login('admin');
  identities = (await t.request({ method: 'GET', url: '/v1/citizen/demo-identities' })).json();
  const find = (pattern: RegExp, fallback: number) =>
    identities.citizens.find((c) => pattern.test(`${c.note} ${c.name}`)) ?? identities.citizens[fallback]!;
  mother = find(/母亲|妈妈|mother/i, 0);
  father = find(/父亲|爸爸|father/i, 1);
  enterprise = identities.enterprises[0]!;
  expect(mother).toBeDefined();
  expect(father).toBeDefined();
  expect(mother.idNumber).not.toBe(father.idNumber);
  expect(enterprise).toBeDefined();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** A fresh browser (no session) at the site's path. */
async function open(viewport: { width: number; height: number }, at = '/citizen/'): Promise<Page> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => app.pageErrors.push(`${page.url()}: ${error.message}`));
  await page.goto(`${app.base}${at}`);
  await page.locator('#main').waitFor();
  return page;
}

/** The staff token of a user who handles steps at `orgId` (a data steward or the org's admin). */
async function staffOf(orgId: string): Promise<string> {
  const known = staff.get(orgId);
  if (known) return known;
  const users = await call('GET', '/v1/users?limit=200', admin);
  const user = (users.items as { orgId: string; username: string; roles: string[] }[]).find(
    (u) => u.orgId === orgId && u.roles.some((r) => ['data_steward', 'org_admin', 'consumer'].includes(r)),
  );
  expect(user, `a staff member of ${orgId}`).toBeDefined();
  const token = await t.login(user!.username);
  staff.set(orgId, token);
  return token;
}

async function bundle(code: string): Promise<Bundle> {
  return call('GET', `/v1/services/bundles/${code}`, admin);
}

/** Fields the merged form asks (each once) and the ones no step asks any more (免提交). */
function plan(b: Bundle) {
  const asked = new Map<string, string>();
  for (const s of b.steps)
    for (const f of s.fields)
      if (f.provenance !== 'contract' && !asked.has(f.name)) asked.set(f.name, f.label);
  const exempted = new Map<string, string>();
  for (const s of b.steps)
    for (const f of s.fields)
      if (f.provenance === 'contract' && !asked.has(f.name)) exempted.set(f.name, f.label);
  return { asked, exempted };
}

function valueFor(name: string, label: string): string {
  if (/date|_on$|日期/.test(`${name}${label}`)) return '2026-12-01';
  if (/phone|mobile|电话|手机/.test(`${name}${label}`)) return '13800138000';
  if (/uscc|credit|信用代码/.test(`${name}${label}`)) return '91330106MA2TEST01X';
  return `测试${label}`.slice(0, 40);
}

/** Every control has an accessible name, the landmarks are there once, headings go down one level at a time. */
async function checkAccessibility(page: Page, label: string): Promise<void> {
  const tree = await page.locator('body').ariaSnapshot();
  const unnamed = tree
    .split('\n')
    .filter((line) =>
      /^\s*- (button|link|textbox|combobox|radio|checkbox|searchbox|spinbutton|listbox)(\s*$|:|\s\[)/.test(
        line,
      ),
    );
  expect(unnamed, `${label}: controls without a name`).toEqual([]);
  // The same, read from the DOM: every visible control's accessible name is not empty.
  const nameless = await page.evaluate<string[]>(`
    [...document.querySelectorAll('a[href], button, input, select, textarea')]
      .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
      .filter((el) => {
        const labelled = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
        const labels = el.labels ? [...el.labels].map((l) => l.textContent || '').join('') : '';
        return !(labelled || labels.trim() || (el.textContent || '').trim() || el.getAttribute('title'));
      })
      .map((el) => el.outerHTML.slice(0, 120))
  `);
  expect(nameless, `${label}: controls without a name (DOM)`).toEqual([]);
  expect(await page.getByRole('banner').count(), `${label}: header`).toBe(1);
  expect(await page.getByRole('main').count(), `${label}: main`).toBe(1);
  expect(await page.getByRole('navigation', { name: '主导航' }).count(), `${label}: nav`).toBe(1);
  const levels = await page.evaluate<number[]>(
    `[...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => Number(h.tagName.slice(1)))`,
  );
  expect(levels[0], `${label}: the first heading is the h1`).toBe(1);
  expect(levels.filter((l) => l === 1).length, `${label}: one h1`).toBe(1);
  for (let i = 1; i < levels.length; i++)
    expect(
      levels[i]! - levels[i - 1]!,
      `${label}: heading ${i} skips a level (${levels.join(',')})`,
    ).toBeLessThanOrEqual(1);
}

/** Screenshot, accessibility checks and, at phone width, no horizontal overflow. */
async function review(page: Page, name: string, width: number): Promise<void> {
  await page.evaluate('document.fonts.ready');
  await checkAccessibility(page, name);
  if (width <= 360) {
    const scroll = await page.evaluate<number>('document.documentElement.scrollWidth');
    expect(scroll, `${name}: no horizontal overflow at ${width} px`).toBeLessThanOrEqual(360);
  }
  await shot(page, `${name}-${width}`);
}

async function loginWithDemoButton(page: Page, name: string): Promise<void> {
  if (!page.url().includes('/login')) await page.goto(`${app.base}/citizen/login`);
  await page.getByRole('button', { name: `填入演示账号：${name}` }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `已填入 ${name}` })
    .waitFor();
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: '办事服务' }).waitFor();
}

/** The application's steps as the applicant sees them through the API. */
async function stepsOf(applicationId: string, token: string): Promise<Step[]> {
  return (await call('GET', `/v1/services/applications/${applicationId}`, token)).steps;
}

/**
 * The departments move every released step to done, through the API: accept, start, complete.
 * `prefillStep` is pre-filled through shared data first; `returnStep` is returned once, and then
 * `onReturned` (the applicant resubmitting on the site) runs before the departments go on.
 */
async function handleAll(
  applicationId: string,
  applicantToken: string,
  options: { prefillStep?: string; returnStep?: string; onReturned?: () => Promise<void> } = {},
): Promise<void> {
  let returned = false;
  for (let round = 0; round < 40; round++) {
    const steps = await stepsOf(applicationId, applicantToken);
    const open = steps.filter((s) => ['submitted', 'accepted', 'in_progress'].includes(s.state));
    if (open.length === 0) {
      if (steps.every((s) => s.state === 'done')) return;
      throw new Error(`steps stuck: ${steps.map((s) => `${s.key}=${s.state}`).join(', ')}`);
    }
    for (const s of open) {
      const token = await staffOf(s.orgId);
      const at = `/v1/services/applications/${applicationId}/steps/${s.key}`;
      if (s.state === 'submitted') await call('POST', `${at}/accept`, token);
      else if (s.state === 'accepted') {
        if (s.key === options.returnStep && !returned) {
          await call('POST', `${at}/return`, token, {
            reason: '请核对后重新提交：出生医学证明信息需与医院记录一致',
          });
          returned = true;
          await options.onReturned?.();
          continue;
        }
        if (s.key === options.prefillStep) {
          const result = await call('POST', `${at}/prefill`, token);
          expect(
            result.filled.length,
            `pre-filled ${s.key}: ${JSON.stringify(result.missing)}`,
          ).toBeGreaterThan(0);
        }
        await call('POST', `${at}/start`, token);
      } else await call('POST', `${at}/complete`, token);
    }
  }
  throw new Error('the steps did not finish');
}

const nav = (page: Page) => page.getByRole('navigation', { name: '主导航' });

/** The applicant's token: the site keeps it in localStorage. */
async function tokenOf(page: Page): Promise<string> {
  const token = await page.evaluate<string | null>(`localStorage.getItem('shutong.citizen.token')`);
  expect(token).toBeTruthy();
  return token!;
}

/** Fills and sends the rating form of one done step on the application page. */
async function rate(page: Page, stepName: string, named: boolean): Promise<void> {
  await page.getByRole('button', { name: `评价：${stepName}` }).click();
  const form = page.getByRole('form', { name: `评价 ${stepName}` });
  await form.getByRole('radio', { name: '非常满意' }).check();
  for (const indicator of ['办事效率', '办事指南准确性', '办理便捷程度', '网站易用性'])
    await form.getByRole('combobox', { name: indicator }).selectOption({ label: '满意' });
  await form.getByRole('textbox', { name: '意见建议' }).fill('一次办好，不用跑腿');
  await form.getByRole('radio', { name: named ? /实名评价/ : '匿名评价' }).check();
  await form.getByRole('button', { name: '提交评价' }).click();
  await page.getByText('感谢您的评价！').waitFor();
}

it('the father logs in with the keyboard only and consents that the mother applies with his data', async () => {
  const page = await open(PHONE, '/citizen/login');
  await page.getByRole('heading', { level: 1, name: '登录' }).waitFor();
  await review(page, 'login', 360);
  // Tab from the top of the page to the ID number field (no mouse), type, Tab to the password, Enter.
  expect(await page.getByRole('textbox', { name: '身份证号' }).count()).toBe(1);
  let reached = false;
  for (let i = 0; i < 20 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate<boolean>(`document.activeElement?.id === 'login-id'`);
  }
  expect(reached, 'Tab reaches the ID number field').toBe(true);
  // An empty password: the error is announced and tied to the field.
  await page.keyboard.type(father.idNumber);
  await page.keyboard.press('Enter');
  const alert = page.getByRole('alert');
  await alert.getByText('请输入密码').waitFor();
  const password = page.getByLabel('密码', { exact: true });
  expect(await password.getAttribute('aria-invalid')).toBe('true');
  const described = (await password.getAttribute('aria-describedby')) ?? '';
  expect(await page.locator(`#${described.split(' ').at(-1)}`).textContent()).toContain('请输入密码');
  expect(await page.evaluate<boolean>(`document.activeElement?.id === 'login-password'`)).toBe(true);
  // A wrong password: the server's refusal is announced, the page stays.
  await page.keyboard.type('not-the-password');
  await page.keyboard.press('Enter');
  await page.getByRole('alert').filter({ hasText: '用户名或密码错误' }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/citizen/login');
  expect(await page.evaluate<boolean>(`document.activeElement?.id === 'login-password'`)).toBe(true);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(DEMO_PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: '办事服务' }).waitFor();

  await nav(page).getByRole('link', { name: '家人授权' }).click();
  await page.getByRole('heading', { level: 1, name: '家人授权' }).waitFor();
  await page.getByRole('textbox', { name: '被授权人姓名' }).fill(mother.name);
  await page.getByRole('textbox', { name: '被授权人身份证号' }).fill(mother.idNumber);
  await page.getByRole('combobox', { name: '与您的关系' }).selectOption('spouse');
  // For the newborn's application only, not for every personal service.
  await page
    .getByRole('group', { name: '用于哪些事项' })
    .getByRole('checkbox', { name: '新生儿出生一件事' })
    .check();
  await page.getByRole('button', { name: '确认授权' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `已授权 ${mother.name}` })
    .waitFor();
  const given = page.getByRole('region', { name: '我给出的授权' });
  await given.getByText('有效').waitFor();
  await given.getByRole('button', { name: `撤销对 ${mother.name} 的授权` }).waitFor();
  await review(page, 'family', 360);
  const consents = await call('GET', '/v1/citizen/consents', await tokenOf(page));
  expect(consents.given).toMatchObject([
    { granteeName: mother.name, relation: 'spouse', inForce: true, bundles: [{ code: 'NEWBORN' }] },
  ]);
  await given.getByText('适用事项：新生儿出生一件事').waitFor();
});

it('the mother applies for the newborn bundle on her phone, the consent offered, follows it to done and rates', async () => {
  const newborn = await bundle('NEWBORN');
  const { asked, exempted } = plan(newborn);
  expect(exempted.size, 'the newborn bundle exempts materials').toBeGreaterThan(0);

  const page = await open(PHONE);
  await page.getByRole('heading', { level: 1, name: '登录' }).waitFor();
  await loginWithDemoButton(page, mother.name);
  const token = await tokenOf(page);
  await review(page, 'bundles', 360);
  await page.getByRole('searchbox', { name: '搜索事项' }).fill('出生');
  await page.getByText('共 1 个事项').waitFor();
  await page.getByRole('link', { name: newborn.name }).click();
  await page.getByRole('heading', { level: 1, name: newborn.name }).waitFor();

  // 免提交: every exempted material is listed, and none of them is a field of the form.
  const listed = page.getByTestId('exempted');
  for (const label of exempted.values()) await listed.getByText(label, { exact: true }).waitFor();
  const form = page.getByRole('form', { name: '在线申请' });
  for (const label of exempted.values())
    expect(await form.getByRole('textbox', { name: label, exact: true }).count(), label).toBe(0);
  for (const label of asked.values()) await form.getByRole('textbox', { name: label, exact: true }).waitFor();
  await page.getByRole('heading', { name: '办理流程' }).waitFor();
  // The conditions the server checks are checked for her before she fills anything in.
  const checked = newborn.eligibilityRules.filter((r) => r.kind !== 'note').length;
  expect(checked).toBeGreaterThan(0);
  await form
    .getByTestId('eligibility-check')
    .getByText(`系统核验的申请条件均符合（${checked} 项）`)
    .waitFor();
  expect(await page.getByText('系统核验', { exact: true }).count()).toBe(checked);
  await review(page, 'bundle', 360);

  // The empty form: errors announced (role=alert), each field marked invalid and described by its error.
  await form.getByRole('button', { name: '提交申请' }).click();
  await form.getByRole('alert').waitFor();
  const [firstName, firstLabel] = [...asked.entries()][0]!;
  const first = form.getByRole('textbox', { name: firstLabel, exact: true });
  expect(await first.getAttribute('aria-invalid')).toBe('true');
  expect(await first.getAttribute('aria-describedby')).toContain(`apply-${firstName}-error`);
  expect(await form.locator(`#apply-${firstName}-error`).textContent()).toContain(`请填写${firstLabel}`);
  await shot(page, 'bundle-errors-360');

  // The father's consent is offered (the family option with his name), but she applies for herself:
  // the birth certificate the departments read is keyed by the mother's ID number.
  const received = await call('GET', '/v1/citizen/consents', token);
  const consent = received.received.find((c: { grantorName: string }) => c.grantorName === father.name);
  expect(consent).toMatchObject({ inForce: true, relation: 'spouse' });
  await form.getByRole('radio', { name: '使用家人授权的数据申请' }).check();
  const choice = form.getByRole('combobox', { name: '选择家人授权' });
  await choice.selectOption(consent.id);
  expect(await choice.locator('option:checked').textContent()).toContain(father.name);
  await shot(page, 'bundle-consent-360');
  await form.getByRole('radio', { name: new RegExp(`^本人：${mother.name}`) }).check();
  expect(await choice.count()).toBe(0);
  for (const [name, label] of asked)
    await form.getByRole('textbox', { name: label, exact: true }).fill(valueFor(name, label));
  await form.getByRole('button', { name: '提交申请' }).click();
  await page.getByRole('status').filter({ hasText: '申请已提交' }).waitFor();
  const applicationId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
  const created = await call('GET', `/v1/services/applications/${applicationId}`, token);
  expect(Object.keys(created.form).sort()).toEqual([...asked.keys()].sort());
  expect(created).toMatchObject({ subjectKey: mother.idNumber, consentId: null });
  await review(page, 'application-submitted', 360);

  // The departments work; one step is pre-filled from shared data, one is returned and resubmitted.
  const prefillStep = newborn.steps.find((s) => s.fields.some((f) => f.provenance === 'contract'))!;
  const returnStep = newborn.steps[0]!;
  await handleAll(applicationId, token, {
    prefillStep: prefillStep.key,
    returnStep: returnStep.key,
    onReturned: async () => {
      await page.reload();
      const card = page
        .getByRole('listitem')
        .filter({ has: page.getByRole('heading', { name: returnStep.name }) });
      await card.getByText('退回补正').waitFor();
      await card.getByText('出生医学证明信息需与医院记录一致').waitFor();
      await review(page, 'application-returned', 360);
      await card.getByRole('button', { name: `已补正，重新提交：${returnStep.name}` }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `已重新提交“${returnStep.name}”` })
        .waitFor();
    },
  });
  await page.reload();
  await page.getByText('已办结', { exact: true }).first().waitFor();
  expect(await page.getByText(`已办结 ${newborn.steps.length}/${newborn.steps.length} 个事项`).count()).toBe(
    1,
  );
  // The pre-filled values are marked as from shared data, next to the step that got them.
  const prefilled = await stepsOf(applicationId, token);
  const filled = prefilled.find((s) => s.key === prefillStep.key)!;
  const card = page
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { name: prefillStep.name }) });
  await card.getByText('来自共享数据').first().waitFor();
  expect(Object.keys(filled.prefill).length).toBeGreaterThan(0);
  for (const { value } of Object.values(filled.prefill)) {
    // Timestamps show in Beijing time to the minute.
    const text = /^\d{4}-\d{2}-\d{2}T/.test(String(value))
      ? new Date(new Date(String(value)).getTime() + 8 * 3_600_000)
          .toISOString()
          .slice(0, 16)
          .replace('T', ' ')
      : String(value);
    await card.getByText(text).first().waitFor();
  }
  await review(page, 'application-done', 360);

  await rate(page, newborn.steps[0]!.name, true);
  await shot(page, 'application-rated-360');
  // Which steps she rated comes from the server: after a reload the rated step offers no form.
  await page.reload();
  const rated = page
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { name: newborn.steps[0]!.name }) });
  await rated.getByText('您已评价该事项。').waitFor();
  expect(await page.getByRole('button', { name: `评价：${newborn.steps[0]!.name}` }).count()).toBe(0);
  await page.getByRole('button', { name: `评价：${newborn.steps[1]!.name}` }).waitFor();
  const applications = await call('GET', '/v1/services/applications', token);
  expect(applications.items[0]).toMatchObject({ id: applicationId, state: 'done' });

  await nav(page).getByRole('link', { name: '我的申请' }).click();
  await page.getByRole('link', { name: new RegExp(newborn.name) }).waitFor();
  await review(page, 'applications', 360);
  await nav(page).getByRole('link', { name: '满意度统计' }).click();
  await page.getByRole('table', { name: '各部门满意度' }).waitFor();
  await review(page, 'stats', 360);
});

it('the demo enterprise does the enterprise change bundle at desktop width', async () => {
  const change = await bundle('ENTERPRISE-CHANGE');
  const { asked, exempted } = plan(change);
  const page = await open(DESKTOP, '/citizen/login');
  await review(page, 'login', 1366);
  await loginWithDemoButton(page, enterprise.name);
  await page.getByText(`已登录：`).waitFor();
  await review(page, 'bundles', 1366);
  await page.getByRole('link', { name: change.name }).click();
  await page.getByRole('heading', { level: 1, name: change.name }).waitFor();
  const form = page.getByRole('form', { name: '在线申请' });
  await form.getByText('以本单位名义申请').waitFor();
  expect(await form.getByRole('radio', { name: '使用家人授权的数据申请' }).count()).toBe(0);
  for (const label of exempted.values()) {
    await page.getByTestId('exempted').getByText(label, { exact: true }).waitFor();
    expect(await form.getByRole('textbox', { name: label, exact: true }).count(), label).toBe(0);
  }
  await review(page, 'bundle', 1366);
  for (const [name, label] of asked)
    await form.getByRole('textbox', { name: label, exact: true }).fill(valueFor(name, label));
  await form.getByRole('button', { name: '提交申请' }).click();
  await page.getByRole('status').filter({ hasText: '申请已提交' }).waitFor();
  const applicationId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
  const token = await tokenOf(page);
  await handleAll(applicationId, token);
  await page.reload();
  await page.getByText(`已办结 ${change.steps.length}/${change.steps.length} 个事项`).waitFor();
  await review(page, 'application-done', 1366);
  await rate(page, change.steps.at(-1)!.name, false);
  await nav(page).getByRole('link', { name: '我的申请' }).click();
  await page.getByRole('link', { name: new RegExp(change.name) }).waitFor();
  await review(page, 'applications', 1366);
  await nav(page).getByRole('link', { name: '满意度统计' }).click();
  const table = page.getByRole('table', { name: '各部门满意度' });
  await table.waitFor();
  expect(await table.getByRole('row').count()).toBeGreaterThanOrEqual(2);
  await review(page, 'stats', 1366);
  // English, one click; back to Chinese.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { level: 1, name: 'Service satisfaction' }).waitFor();
  expect(await page.evaluate<string>('document.documentElement.lang')).toBe('en');
  await shot(page, 'stats-en-1366');
  await page.getByRole('button', { name: '中文' }).click();
  await page.getByRole('heading', { level: 1, name: '服务满意度统计' }).waitFor();
});

it('the mother’s pages at desktop width, the family consent received then revoked, and /citizen redirecting', async () => {
  const page = await open(DESKTOP, '/citizen');
  expect(new URL(page.url()).pathname).toBe('/citizen/login');
  await loginWithDemoButton(page, mother.name);
  await nav(page).getByRole('link', { name: '家人授权' }).click();
  const received = page.getByRole('region', { name: '我收到的授权' });
  await received.getByText(`您可以使用 ${father.name} 的信息代为申请。`).waitFor();
  // Either person ends a consent: the mother may give it up as well.
  await received.getByRole('button', { name: `不再接受 ${father.name} 的授权` }).waitFor();
  await review(page, 'family', 1366);
  await nav(page).getByRole('link', { name: '我的申请' }).click();
  await page
    .getByRole('link', { name: /新生儿/ })
    .first()
    .click();
  await page.getByText('来自共享数据').first().waitFor();
  await review(page, 'application', 1366);
  // What the departments did reached her as messages; she marks them read.
  await nav(page)
    .getByRole('link', { name: /^办件消息（\d+ 条未读）$/ })
    .click();
  const messages = page.getByTestId('messages');
  await messages.getByText('「新生儿出生一件事」全部办结').waitFor();
  await messages.getByText(`${father.name} 授权您使用其信息代为申请`, { exact: false }).waitFor();
  expect(await messages.getByText(/退回补正：/).count()).toBeGreaterThanOrEqual(1);
  await review(page, 'messages', 1366);
  await page.getByRole('button', { name: '全部标为已读' }).click();
  await page.getByText('0 条未读').waitFor();
  await nav(page).getByRole('link', { name: '办件消息', exact: true }).waitFor();
  await nav(page).getByRole('link', { name: '办事服务' }).click();
  await page
    .getByRole('link', { name: /新生儿/ })
    .first()
    .click();
  await page.getByTestId('exempted').waitFor();
  await review(page, 'bundle-mother', 1366);

  // The father revokes his consent: the mother's newborn form no longer offers it.
  const fatherPage = await open(DESKTOP, '/citizen/login');
  await loginWithDemoButton(fatherPage, father.name);
  await nav(fatherPage).getByRole('link', { name: '家人授权' }).click();
  const given = fatherPage.getByRole('region', { name: '我给出的授权' });
  await given.getByRole('button', { name: `撤销对 ${mother.name} 的授权` }).click();
  await fatherPage
    .getByRole('status')
    .filter({ hasText: `已撤销对 ${mother.name} 的授权` })
    .waitFor();
  await given.getByText('已撤销').waitFor();
  expect(await given.getByRole('button').count()).toBe(0);
  await page.reload();
  await page.getByTestId('exempted').waitFor();
  const family = page.getByRole('radio', { name: '使用家人授权的数据申请' });
  await page.getByText('暂无有效的家人授权。').waitFor();
  expect(await family.isDisabled()).toBe(true);
  expect(app.pageErrors).toEqual([]);
});
