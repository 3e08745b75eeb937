/**
 * The web console end to end, in Debian's Chromium driven by playwright-core, against a real
 * server on a fresh database with the demo city:
 *
 *   steward imports a file → consumer applies → steward approves → security officer approves →
 *   consumer creates an API key, and the test queries the gateway with it → the console's sample
 *   shows masked values → steward revokes → the next gateway query is refused → the audit page
 *   shows those events and an inclusion proof verified in the browser.
 *
 * Every page is photographed in Chinese and English (and the main ones, with the dialogs and
 * drawers of the flow, at phone width) into test-output/screenshots/; on every page, in both
 * languages, the test asks Chromium's accessibility tree for controls without a name, and at phone
 * width it checks that neither the page nor an open drawer or dialog scrolls sideways (wide tables
 * scroll inside their own container). The main navigation and three real dialogs (the steward's
 * approval with changes, the consumer's new API key, the steward's revocation with a reason) are
 * driven by the keyboard alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleBuildState } from '../../scripts/ensure-console.ts';
import { signHead } from '../../src/audit/service.ts';
import { cliCtx } from '../../src/core/context.ts';
import { verifySignedAgreement } from '../../src/sharing/agreement.ts';
import { makeResidentId } from '../../src/standards/resident-id.ts';
import { makeUscc } from '../../src/standards/uscc.ts';
import { DEMO_PASSWORD, startTestApp, type TestApp } from '../helpers.ts';
import { sharingFixture } from '../sharing-fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve('test-output/screenshots');
const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };

let t: TestApp;
let base: string;
let browser: Browser;
let tmp: string;
const contexts: BrowserContext[] = [];
/** Controls without an accessible name, by page: must stay empty. */
const unnamed: string[] = [];
/** Browser errors (uncaught exceptions, failed React renders): must stay empty. */
const pageErrors: string[] = [];
/** Phone-width pages wider than the screen (the whole page scrolls sideways): must stay empty. */
const overflowing: string[] = [];

// The file the steward imports: GB18030-encoded CSV with real-looking resident ID numbers and
// one row whose date cannot be read (it goes to the bad-row report).
const NAMES = [
  '张伟',
  '王芳',
  '李娜',
  '刘洋',
  '陈静',
  '杨磊',
  '赵敏',
  '黄强',
  '周杰',
  '吴霞',
  '徐涛',
  '孙丽',
  '马超',
  '朱琳',
];
const DISTRICTS = ['上城区', '拱墅区', '西湖区', '滨江区'];
/** The civil affairs bureau's request letter: a minimal PDF (only its header matters to the server). */
const LETTER_NAME = '民政局关于申请接种数据的函.pdf';
const LETTER = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
);
const ROWS = Array.from({ length: 48 }, (_, i) => ({
  name: NAMES[i % NAMES.length]!,
  id: makeResidentId('330106', `19${60 + (i % 39)}-0${1 + (i % 9)}-1${i % 9}`, 101 + i * 2),
  mobile: `139${String(10_000_000 + i * 7919).slice(-8)}`,
  district: DISTRICTS[i % 4]!,
  date: `2024-0${1 + (i % 9)}-1${i % 9}`,
  dose: 1 + (i % 3),
}));
const CSV = [
  '姓名,身份证号,手机号码,所属区县,接种日期,剂次',
  ...ROWS.map((r) => `${r.name},${r.id},${r.mobile},${r.district},${r.date},${r.dose}`),
  '王五,330106199001011234,13900000000,西湖区,2024-13-45,1',
].join('\r\n');

function launchArgs() {
  return ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-gpu'];
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}. Install Debian's package (apt-get install -y chromium); .ci/run does this.`,
    );
  }
  const build = consoleBuildState();
  if (build.stale)
    throw new Error(`the web console build is not usable (${build.reason}): run npm run build`);
  fs.mkdirSync(SHOTS, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-e2e-'));
  t = await startTestApp(
    {
      DATA_DIR: tmp,
      AUDIT_KEY_FILE: path.join(tmp, 'audit-signing-key.pem'),
      AUDIT_SIGN_INTERVAL_SECONDS: '0',
      AUDIT_WITNESS_DIR: path.join(tmp, 'witness'),
      MONITOR_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'warn',
    },
    { demoData: true },
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs() });
}, 240_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await t?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function newPage(viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  return page;
}

/**
 * Finite CSS animations and transitions (drawers, dialogs, pop-ups opening or closing, tab ink)
 * still running: while one runs, an element may be moving, covered or about to vanish. Infinite
 * ones (spinners, skeleton shimmer) are left to the loading check.
 */
const MOVING = `document.getAnimations().filter((a) => a.playState === 'running'
  && a.effect && a.effect.getComputedTiming().iterations !== Infinity).length`;
/** Charts on screen that ECharts has not finished drawing (components/Chart.tsx marks them). */
const DRAWING = `[...document.querySelectorAll('[data-chart-state="drawing"]')]
  .filter((c) => c.getClientRects().length > 0).length`;

/** Waits until nothing moves and every visible chart has drawn. */
async function still(page: Page): Promise<void> {
  await page.waitForFunction(`(${MOVING}) === 0 && (${DRAWING}) === 0`, undefined, { timeout: 15_000 });
}

/** Waits until nothing on the page is loading, nothing moves and charts have drawn. */
async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => {});
  await page
    .locator('.ant-skeleton, .ant-spin-spinning, .ant-btn-loading')
    .first()
    .waitFor({ state: 'detached', timeout: 15_000 });
  await still(page);
}

/** Asks Chromium which focusable controls have no accessible name. */
async function checkNames(page: Page, where: string): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
    nodes: {
      ignored: boolean;
      role?: { value: string };
      name?: { value: string };
      backendDOMNodeId?: number;
    }[];
  };
  const controls = [
    'button',
    'link',
    'textbox',
    'searchbox',
    'combobox',
    'checkbox',
    'radio',
    'spinbutton',
    'switch',
    'tab',
    'slider',
  ];
  for (const node of nodes) {
    const role = node.role?.value ?? '';
    if (node.ignored || !controls.includes(role) || (node.name?.value ?? '').trim()) continue;
    let what = '';
    if (node.backendDOMNodeId) {
      const { node: dom } = (await cdp.send('DOM.describeNode', {
        backendNodeId: node.backendDOMNodeId,
      })) as {
        node: { nodeName: string; attributes?: string[] };
      };
      const attributes = dom.attributes ?? [];
      what = `${dom.nodeName.toLowerCase()}.${attributes[attributes.indexOf('class') + 1] ?? ''}`;
    }
    unnamed.push(`${where}: ${role} ${what}`);
  }
  await cdp.detach();
}

/**
 * An open drawer's or dialog's panel that sticks out of the screen, or whose content (or body) is
 * wider than the panel, in a few words each. The page's own width does not show these: overlays
 * are fixed, and a dialog too wide for the screen scrolls inside its own wrapper.
 */
const OVERLAY_OVERFLOW = `(() => {
  const problems = [];
  const panels = [...document.querySelectorAll(
    '.ant-drawer-open .ant-drawer-content-wrapper, .ant-modal-wrap:not([style*="display: none"]) .ant-modal',
  )].filter((panel) => panel.getClientRects().length > 0);
  for (const panel of panels) {
    const kind = panel.classList.contains('ant-modal') ? 'dialog' : 'drawer';
    const box = panel.getBoundingClientRect();
    if (box.left < -1 || box.right > window.innerWidth + 1)
      problems.push(kind + ' spans ' + Math.round(box.left) + '…' + Math.round(box.right) + ' px');
    for (const part of panel.querySelectorAll('.ant-drawer-content, .ant-drawer-body, .ant-modal-content, .ant-modal-body')) {
      if (part.scrollWidth > part.clientWidth + 1)
        problems.push(kind + ' ' + part.className.split(' ')[0] + ' holds ' + part.scrollWidth + ' px in ' + part.clientWidth + ' px');
    }
  }
  return problems;
})()`;

/** At phone width neither the page nor an open drawer or dialog may be wider than the screen. */
async function checkWidth(page: Page, where: string): Promise<void> {
  const [scroll, inner] = await page.evaluate<[number, number]>(
    '[document.documentElement.scrollWidth, window.innerWidth]',
  );
  if (scroll > inner + 1) overflowing.push(`${where}: ${scroll} px wide on a ${inner} px screen`);
  for (const problem of await page.evaluate<string[]>(OVERLAY_OVERFLOW))
    overflowing.push(`${where}: ${problem} on a ${inner} px screen`);
}

async function language(page: Page, lang: 'zh-CN' | 'en'): Promise<void> {
  const item = page.locator('.ant-segmented-item', { hasText: lang === 'en' ? 'EN' : '中文' }).first();
  // With a drawer or dialog open the header is behind its mask, as for any user; to photograph
  // the open overlay in both languages the click goes to the switch directly.
  // An open pop-over (the notifications) counts too: a real click on the switch is a click outside
  // it, which closes it before the English picture.
  const overlay = await page
    .locator(
      '.ant-drawer-open, .ant-modal-wrap:not([style*="display: none"]), .ant-popover:not(.ant-popover-hidden)',
    )
    .count();
  // The synthetic click also moves the focus to the switch; a user who cannot reach the switch
  // would not lose their place in the dialog either, so the focus goes back where it was.
  if (overlay > 0) {
    await page.evaluate('globalThis.focusBeforeLanguage = document.activeElement');
    await item.dispatchEvent('click');
  } else await item.click();
  // Strings, not functions: they run in the page, and this file is type-checked without the DOM.
  await page.waitForFunction(`document.documentElement.lang === '${lang}'`);
  if (overlay > 0) await page.evaluate('globalThis.focusBeforeLanguage?.focus()');
}

/** Toasts of the previous step would cover the page in the other language's words. */
const SHOT_STYLE = '.ant-message { display: none !important; }';

async function capture(page: Page, file: string): Promise<void> {
  // Full-page shots stitch from the top; sticky header and menu belong there.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({
    path: path.join(SHOTS, file),
    fullPage: true,
    style: SHOT_STYLE,
    animations: 'disabled',
  });
}

/**
 * Photographs the page in Chinese and in English (then back to Chinese), checks its names in both
 * languages and, at phone width, that it fits the screen in both.
 */
async function shot(page: Page, name: string): Promise<void> {
  await settle(page);
  const size = page.viewportSize()!.width < 600 ? 'phone' : 'desktop';
  for (const lang of ['zh-CN', 'en'] as const) {
    if (lang === 'en') {
      await language(page, 'en');
      await settle(page);
    }
    await capture(page, `${name}.${size}.${lang}.png`);
    await checkNames(page, `${name} (${size}, ${lang})`);
    if (size === 'phone') await checkWidth(page, `${name} (${lang})`);
  }
  await language(page, 'zh-CN');
  await settle(page);
}

/** Whether the console is laid out for a wide screen (a side menu, not a menu drawer). */
const SIDER = `!!document.querySelector('.ant-layout-sider')`;

/**
 * Shows what is on the screen once more at phone width, an open drawer or dialog with it: the
 * same photographs and checks as shot(). Then back to the desktop size, where the flow goes on.
 */
async function atPhoneWidth(page: Page, name: string): Promise<void> {
  await page.setViewportSize(PHONE);
  await page.waitForFunction(`!(${SIDER})`);
  await shot(page, name);
  await page.setViewportSize(DESKTOP);
  await page.waitForFunction(SIDER);
  await settle(page);
}

/** Whether the element the locator finds has the keyboard focus. */
function focused(locator: Locator): Promise<boolean> {
  // Runs in the page; this file is type-checked without the DOM, hence the plain types.
  return locator.evaluate(
    (element: unknown) =>
      element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
  );
}

/** What has the focus, in a few words (for error messages). */
const FOCUS = `(() => {
  const a = document.activeElement;
  if (!a) return 'nothing';
  const name = a.getAttribute('aria-label') || a.id || (a.textContent || '').trim().slice(0, 20);
  return a.tagName.toLowerCase() + (name ? '[' + name + ']' : '');
})()`;

/** Presses Tab (or Shift+Tab) until the control has the focus, as a keyboard user does. */
async function tabTo(page: Page, control: Locator, key: 'Tab' | 'Shift+Tab' = 'Tab'): Promise<void> {
  const trail: string[] = [];
  for (let presses = 0; !(await focused(control)); presses++) {
    trail.push(await page.evaluate<string>(FOCUS));
    if (presses === 40)
      throw new Error(`${key} never reached ${control}; the focus went ${trail.join(' → ')}`);
    await page.keyboard.press(key);
  }
}

/** The text of the main-navigation link that has the focus, or '' when the focus is elsewhere. */
const NAV_FOCUS = `(() => {
  const a = document.activeElement;
  return a && a.tagName === 'A' && a.closest('ul[aria-label="主导航"]') ? a.textContent.trim() : '';
})()`;

/**
 * Logs in with the keyboard only: the username field has the focus when the page opens; Tab
 * goes to the password, Tab again to the login button, and Enter on it submits.
 */
async function login(page: Page, username: string): Promise<void> {
  await page.goto(`${base}/`);
  const user = page.getByLabel('用户名');
  await user.waitFor();
  await expect.poll(() => focused(user)).toBe(true);
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await expect.poll(() => focused(page.getByLabel('密码'))).toBe(true);
  await page.keyboard.type(DEMO_PASSWORD);
  await page.keyboard.press('Tab');
  await expect.poll(() => focused(page.getByRole('button', { name: '登录' }))).toBe(true);
  await page.keyboard.press('Enter');
  await page.locator('#main').waitFor();
  // At phone width the user, role and organization sit behind the account button.
  const account = page.getByRole('button', { name: '当前账号' });
  if (await account.isVisible()) await account.click();
  await expect.poll(() => page.getByTestId('current-user').textContent()).toContain(username);
  if (await account.isVisible()) await account.click();
}

async function menu(page: Page, label: string): Promise<void> {
  await page.locator('ul[aria-label="主导航"]').getByRole('link', { name: label, exact: true }).click();
  await settle(page);
}

/**
 * Picks an option of an Ant Design Select found by its name, with the keyboard only, as a
 * keyboard user does: focus, ArrowDown opens the list, ArrowDown moves to the option, Enter picks
 * it. No mouse on a pop-up that may still be opening, flipping or (virtual list) not rendered yet:
 * each step waits for what the select itself reports (aria-expanded, the active option).
 */
async function choose(page: Page, control: Locator, option: string): Promise<void> {
  // A dialog or drawer that is still opening moves the control and may take the focus at its end.
  await still(page);
  await control.scrollIntoViewIfNeeded();
  await control.focus();
  await expect.poll(() => focused(control)).toBe(true);
  await page.keyboard.press('ArrowDown');
  await expect.poll(() => control.getAttribute('aria-expanded')).toBe('true');
  // This select's own pop-up (another one may still be fading out).
  const list = await control.getAttribute('aria-controls');
  const dropdown = page.locator(`.ant-select-dropdown:has([id="${list}"])`);
  const active = dropdown.locator('.ant-select-item-option-active .ant-select-item-option-content');
  // The select moves its active option back to the chosen value a moment after it opens (a timer
  // in rc-select); under load that lands after the first arrow presses. So the walk may go round
  // again: an option is missing only once the list has been walked round three times.
  const seen = new Set<string>();
  for (let presses = 0; ; presses++) {
    await active.waitFor();
    const text = ((await active.textContent()) ?? '').trim();
    if (text === option) break;
    seen.add(text);
    if (presses > 3 * seen.size + 3)
      throw new Error(`no option “${option}” in the select (options: ${[...seen].join(', ')})`);
    await page.keyboard.press('ArrowDown');
    // The next option is active once the select says so.
    await expect.poll(async () => ((await active.textContent()) ?? '').trim()).not.toBe(text);
  }
  await page.keyboard.press('Enter');
  await expect.poll(() => control.getAttribute('aria-expanded')).toBe('false');
  const selected = control.locator(
    'xpath=ancestor::div[contains(concat(" ", normalize-space(@class), " "), " ant-select ")][1]//*[contains(@class, "ant-select-selection-item")]',
  );
  await expect.poll(async () => ((await selected.textContent()) ?? '').trim()).toBe(option);
}

/** Closes the open drawer with its close button (Escape works only with focus inside it). */
/** Picks the GB18030-encoded vaccination file in the import wizard and waits for its preview. */
async function previewGbkFile(page: Page): Promise<void> {
  await page.locator('input[type=file]').setInputFiles({
    name: '新冠疫苗接种记录.csv',
    mimeType: 'text/csv',
    buffer: iconv.encode(CSV, 'gb18030'),
  });
  await page.getByRole('button', { name: '预览并检查' }).click();
  await expect.poll(() => page.getByTestId('detected-encoding').textContent()).toBe('gb18030');
}

async function closeDrawer(page: Page): Promise<void> {
  await page.locator('.ant-drawer-open .ant-drawer-close').click();
  await page.locator('.ant-drawer-open').waitFor({ state: 'detached' });
}

async function toast(page: Page, text: string | RegExp): Promise<void> {
  await page.locator('.ant-message-notice', { hasText: text }).first().waitFor();
}

/**
 * Searches the audit log for an object until every action is listed (by its Chinese name; the code is the tooltip). Entries may reach the log
 * moments after the change that wrote them, so the test asks again, as a user would, rather than
 * expecting them at once.
 */
async function auditShows(page: Page, objectId: string, actions: string[]): Promise<void> {
  const entries = page.getByTestId('audit-entries');
  await expect
    .poll(
      async () => {
        await page.getByLabel('对象编号').fill(objectId);
        await page.getByRole('button', { name: '查询' }).click();
        await settle(page);
        const missing: string[] = [];
        for (const action of actions) {
          if ((await entries.getByText(action, { exact: true }).count()) === 0) missing.push(action);
        }
        return missing;
      },
      { timeout: 60_000, interval: 500 },
    )
    .toEqual([]);
}

let resourceId = '';
let applicationId = '';
let contractId = '';
let apiKey = '';

describe('the web console', () => {
  it('takes a resource from import to a revoked contract, with every step on the audit page', async () => {
    // ---------------------------------------------------------------- login, with a readable error
    const steward = await newPage();
    await steward.goto(`${base}/`);
    await shot(steward, '01-login');
    await steward.getByLabel('用户名').fill('steward.health');
    await steward.getByLabel('密码').fill('not-the-password');
    await steward.getByRole('button', { name: '登录' }).click();
    await expect.poll(() => steward.getByRole('alert').textContent()).toContain('用户名或密码错误');
    await language(steward, 'en');
    await expect.poll(() => steward.getByRole('alert').textContent()).toContain('Wrong username or password');
    await language(steward, 'zh-CN');
    await login(steward, 'steward.health');
    await expect
      .poll(() => steward.getByTestId('current-user').textContent())
      .toContain('云岚市卫生健康委员会');
    await shot(steward, '02-overview');
    // The to-do card opens the list it counts (#18 item 4).
    await steward.getByTestId('overview-applications').click();
    await steward.waitForURL(`${base}/applications`);

    // Keyboard: on a fresh page the first Tab reaches the skip link, and Enter moves focus to the content.
    await steward.goto(`${base}/`);
    await steward.getByTestId('current-user').waitFor();
    await steward.keyboard.press('Tab');
    await expect
      .poll(() => steward.evaluate<string>('document.activeElement ? document.activeElement.className : ""'))
      .toContain('skip-link');
    await steward.keyboard.press('Enter');
    await expect
      .poll(() => steward.evaluate<string>('document.activeElement ? document.activeElement.id : ""'))
      .toBe('main');
    // Keyboard: the side menu. Shift+Tab from the content goes back through the header into the
    // menu (its last entry); the arrow keys move along it; Enter opens the page.
    for (let presses = 0; (await steward.evaluate<string>(NAV_FOCUS)) === ''; presses++) {
      if (presses === 10) throw new Error('Shift+Tab from the content never reached the main navigation');
      await steward.keyboard.press('Shift+Tab');
    }
    for (let presses = 0; ; presses++) {
      const at = await steward.evaluate<string>(NAV_FOCUS);
      if (at === '数据导入') break;
      if (presses === 10) throw new Error(`ArrowUp never reached 数据导入 in the menu (stuck at “${at}”)`);
      await steward.keyboard.press('ArrowUp');
      // The menu moves the focus on the next frame.
      await expect.poll(() => steward.evaluate<string>(NAV_FOCUS)).not.toBe(at);
    }
    await steward.keyboard.press('Enter');
    await steward.waitForURL(`${base}/import`);
    await expect.poll(() => steward.title()).toContain('数据导入');

    // ---------------------------------------------------------------- steward imports a file
    await shot(steward, '03-import-file');
    await previewGbkFile(steward);
    // The wizard proposes readable names (issue 18, item 5): a recognised type by its name, the
    // rest spelt in pinyin — never col_1 … col_6. Each stays editable.
    const proposed: Record<string, string> = {
      身份证号: 'id_number',
      手机号码: 'mobile',
      所属区县: 'suo_shu_qu_xian',
      剂次: 'ji_ci',
    };
    for (const [column, name] of Object.entries(proposed))
      expect(await steward.getByLabel(`列“${column}”的字段标识`).inputValue(), column).toBe(name);
    const names: Record<string, string> = {
      姓名: 'name',
      身份证号: 'id_number',
      手机号码: 'mobile',
      所属区县: 'district',
      接种日期: 'vaccinated_on',
      剂次: 'dose',
    };
    for (const [column, name] of Object.entries(names)) {
      await steward.getByLabel(`列“${column}”的字段标识`).fill(name);
    }
    await choose(steward, steward.getByRole('combobox', { name: '列“接种日期”的类型' }), '日期');
    await choose(steward, steward.getByRole('combobox', { name: '列“剂次”的类型' }), '整数');
    await steward.getByLabel('资源名称').fill('新冠疫苗接种记录');
    await choose(steward, steward.getByRole('combobox', { name: '主题' }), '健康医疗');
    await steward.getByLabel('共享条件或依据').fill('仅用于公共卫生与社会救助核验');
    await shot(steward, '04-import-mapping');
    await steward.getByRole('button', { name: '开始导入' }).click();
    await steward.getByText('第 1 版导入完成').waitFor({ timeout: 60_000 });
    await expect.poll(() => steward.getByTestId('bad-rows').textContent()).toContain('2024-13-45');
    await shot(steward, '05-import-result');

    // ---------------------------------------------------------------- classification review
    await steward.getByRole('link', { name: '审核分类分级' }).click();
    await settle(steward);
    resourceId = new URL(steward.url()).pathname.split('/')[2]!;
    expect(resourceId).toMatch(/^res_/);
    const idRow = steward.getByTestId('classification-table').locator('tr', { hasText: 'id_number' });
    if (!(await idRow.getByText('居民身份证号').isVisible())) {
      // The scan of a fresh import may still be running in the background; ask for one now.
      await steward.getByRole('button', { name: '重新扫描' }).click();
      await toast(steward, '已完成扫描');
    }
    await idRow.getByText('居民身份证号').waitFor();
    await steward.getByRole('button', { name: '确认“身份证号”的建议级别' }).click();
    await toast(steward, '“身份证号”定为一般数据4级');
    await steward.getByRole('button', { name: '改定“姓名”的级别' }).click();
    const gradeDialog = steward.getByRole('dialog');
    await choose(steward, gradeDialog.getByRole('combobox', { name: '级别' }), '一般数据3级');
    await gradeDialog.getByLabel('理由').fill('姓名属于一般个人信息');
    await atPhoneWidth(steward, '06-classification-override');
    await gradeDialog.getByRole('button', { name: '保存' }).click();
    await toast(steward, '“姓名”定为一般数据3级');
    // Many fields at once: the two plain columns graded together with one reason, then a suggestion confirmed.
    const table = steward.getByTestId('classification-table');
    for (const name of ['vaccinated_on', 'dose'])
      await table.locator('tr', { hasText: name }).getByRole('checkbox').check();
    await steward.getByTestId('bulk-bar').getByText('已选 2 项').waitFor();
    await steward.getByRole('button', { name: '所选定级…' }).click();
    const bulkDialog = steward.getByRole('dialog');
    await bulkDialog.getByText('为所选 2 个字段定级').waitFor();
    await choose(steward, bulkDialog.getByRole('combobox', { name: '级别' }), '一般数据1级');
    await bulkDialog.getByLabel('理由').fill('接种日期与剂次不识别个人');
    await bulkDialog.getByRole('button', { name: '保存' }).click();
    await toast(steward, '“接种日期、剂次”定为一般数据1级');
    await table.locator('tr', { hasText: 'mobile' }).getByRole('checkbox').check();
    await steward.getByRole('button', { name: '确认所选建议' }).click();
    await toast(steward, '已确认 1 个字段的建议级别');
    await steward.getByTestId('bulk-bar').getByText('已选 0 项').waitFor();
    await shot(steward, '06-classification');
    await menu(steward, '分类分级');
    await shot(steward, '07-classification-list');

    // ---------------------------------------------------------------- catalog review (#18 item 6)
    // A new resource is a draft only its provider and the bureau see; the steward submits it, the
    // data bureau finds it in the bell, is told which fields are still unassessed, and publishes.
    await steward.goto(`${base}/catalog/${resourceId}`);
    await steward.getByText('草稿：仅本单位和数据局可见', { exact: false }).waitFor();
    await steward.getByRole('button', { name: '提交目录审核' }).click();
    await toast(steward, '已提交数据局审核');
    await steward.getByText('待数据局目录审核', { exact: false }).waitFor();
    const bureau = await newPage();
    await login(bureau, 'admin');
    await bureau.getByTestId('notifications-button').click();
    await bureau
      .getByTestId('notifications')
      .getByText('目录审核：云岚市卫生健康委员会“新冠疫苗接种记录”')
      .click();
    await bureau.getByRole('button', { name: '审核通过并发布' }).click();
    const publishDialog = bureau.getByRole('dialog');
    await publishDialog.getByText('以下字段尚未定级', { exact: false }).waitFor();
    await shot(bureau, '07b-catalog-review');
    await publishDialog.getByRole('button', { name: '审核通过并发布' }).click();
    await publishDialog.getByText('请先定级，或勾选确认').waitFor();
    await publishDialog.getByRole('checkbox', { name: '我已知悉，按未定级发布这些字段' }).check();
    await publishDialog.getByRole('button', { name: '审核通过并发布' }).click();
    await toast(bureau, '已发布：其他单位现在可以检索和申请');
    await bureau.close();

    // ---------------------------------------------------------------- consumer finds it and applies
    const consumer = await newPage();
    await login(consumer, 'consumer.civil');
    await menu(consumer, '数据目录');
    // Each page explains its terms behind the ? beside its title (#18): here grades and sharing types.
    await consumer.getByRole('button', { name: '页面说明' }).click();
    await expect.poll(() => consumer.getByTestId('page-help').textContent()).toContain('核心数据不提供');
    await consumer.getByRole('button', { name: '页面说明' }).click();
    await consumer.getByTestId('page-help').waitFor({ state: 'hidden' });
    await consumer.getByLabel('关键词').fill('疫苗接种');
    await consumer.getByLabel('关键词').press('Enter');
    await consumer.getByRole('link', { name: '新冠疫苗接种记录' }).waitFor();
    // The search says how many it found, marks the matched words, and can order by update.
    await expect.poll(() => consumer.getByTestId('catalog-total').textContent()).toMatch(/^共 \d+ 项资源$/);
    expect(
      await consumer.getByRole('link', { name: '新冠疫苗接种记录' }).locator('mark.search-hit').count(),
    ).toBeGreaterThan(0);
    await choose(consumer, consumer.getByRole('combobox', { name: '排序' }), '最近更新');
    await consumer.getByRole('link', { name: '新冠疫苗接种记录' }).waitFor();
    await shot(consumer, '08-catalog');
    await consumer.getByRole('link', { name: '新冠疫苗接种记录' }).click();
    await settle(consumer);
    await shot(consumer, '09-resource-metadata');
    await consumer.getByRole('tab', { name: '字段与级别' }).click();
    await shot(consumer, '10-resource-fields');
    await consumer.getByRole('tab', { name: '版本与统计' }).click();
    await shot(consumer, '11-resource-versions');
    await consumer.getByRole('tab', { name: '数据样例' }).click();
    await consumer.getByText('没有可用的协议，不显示任何数据').waitFor();
    await shot(consumer, '12-resource-sample-none');

    await consumer.getByRole('link', { name: '申请使用' }).first().click();
    await settle(consumer);
    // Breadcrumbs say where the page sits and lead back (#18).
    const crumbs = consumer.getByRole('navigation', { name: '当前位置' });
    await expect.poll(() => crumbs.textContent()).toBe('数据目录/新冠疫苗接种记录/申请使用');
    for (const field of ['姓名', '身份证号', '手机号码', '所属区县']) {
      await consumer.getByRole('checkbox', { name: new RegExp(`^${field}`) }).check();
    }
    await consumer.getByLabel('具体用途').fill('最低生活保障对象资格复核时核对接种情况');
    // The basis is picked from the common ones (#18), then narrowed to its article by typing.
    await consumer.getByTestId('legal-bases').getByRole('button', { name: '《社会救助暂行办法》' }).click();
    await expect
      .poll(() => consumer.getByLabel('法律法规或政策依据').inputValue())
      .toBe('《社会救助暂行办法》');
    await consumer.getByLabel('法律法规或政策依据').fill('《社会救助暂行办法》第十一条');
    await consumer.getByLabel('业务场景').fill('低保审批窗口核验');
    // The department's stamped request letter goes with the application (#18): picked here, sent
    // to the draft before it is submitted.
    await consumer.locator('input[type=file][accept*="pdf"]').setInputFiles({
      name: LETTER_NAME,
      mimeType: 'application/pdf',
      buffer: LETTER,
    });
    await consumer.getByText(new RegExp(`^${LETTER_NAME} \\(`)).waitFor();
    await shot(consumer, '13-apply');
    await atPhoneWidth(consumer, '13-apply');
    await consumer.getByRole('button', { name: '提交申请' }).click();
    await toast(consumer, '申请已提交');
    await consumer.getByRole('dialog').getByText('申请详情').waitFor();
    applicationId = new URL(consumer.url()).searchParams.get('id') ?? '';
    expect(applicationId).toMatch(/^app_/);
    // Stored byte for byte with the application, and the application went on to be submitted.
    const consumerToken = await t.login('consumer.civil');
    const stored = await t.request({
      method: 'GET',
      url: `/v1/applications/${applicationId}/letter`,
      token: consumerToken,
    });
    expect(stored.statusCode).toBe(200);
    expect(stored.rawPayload.equals(LETTER)).toBe(true);
    const submitted = (
      await t.request({ method: 'GET', url: `/v1/applications/${applicationId}`, token: consumerToken })
    ).json();
    expect(submitted).toMatchObject({
      state: 'submitted',
      letter: { fileName: LETTER_NAME, size: LETTER.length },
    });
    await consumer
      .getByRole('dialog')
      .getByTestId('letter-link')
      .getByText(LETTER_NAME, { exact: false })
      .waitFor();
    await shot(consumer, '14-application-submitted');
    await closeDrawer(consumer);

    // ---------------------------------------------------------------- steward approves, with changes
    // The bell lists the new application as the steward's to-do and opens it.
    await steward.getByTestId('notifications-button').click();
    await steward.getByTestId('notifications').getByText('审批“新冠疫苗接种记录”的共享申请').waitFor();
    await shot(steward, '14b-notifications');
    await steward.getByTestId('notifications-button').click();
    await steward.getByTestId('notifications').waitFor({ state: 'hidden' });
    await menu(steward, '共享申请');
    await steward.getByRole('button', { name: '查看' }).first().click();
    await steward.getByRole('dialog').getByText(applicationId).waitFor();
    await shot(steward, '15-approvals-inbox');
    // Keyboard only: Tab to the drawer's approve button, Enter opens the dialog; Tab to each field,
    // type; Tab to the dialog's approve button, Enter submits.
    await tabTo(steward, steward.locator('.ant-drawer-open').getByRole('button', { name: '批准' }));
    await steward.keyboard.press('Enter');
    const approve = steward.locator('.ant-modal-content');
    await approve.waitFor();
    // The decider sees the request letter in the approval dialog itself.
    await approve.getByTestId('approve-letter').getByText(LETTER_NAME, { exact: false }).waitFor();
    // The dialog takes the focus when it has finished opening.
    await still(steward);
    await tabTo(steward, approve.getByLabel('每日行数上限'));
    await steward.keyboard.type('5000');
    await tabTo(steward, approve.getByLabel('理由'));
    await steward.keyboard.type('同意，用于低保核验');
    // The row filter is built from a condition, not typed as JSON: first doses only (16 of 48 rows).
    await tabTo(steward, approve.getByRole('button', { name: '添加条件' }), 'Shift+Tab');
    await steward.keyboard.press('Enter');
    await choose(steward, approve.getByRole('combobox', { name: '条件 1 的字段' }), '剂次');
    await choose(steward, approve.getByRole('combobox', { name: '条件 1 的运算' }), '等于');
    await tabTo(steward, approve.getByLabel('条件 1 的值'));
    await steward.keyboard.type('1');
    await expect.poll(() => approve.getByLabel('每日行数上限').inputValue()).toBe('5000');
    await expect.poll(() => approve.getByLabel('理由').inputValue()).toBe('同意，用于低保核验');
    await shot(steward, '16-approve-with-changes');
    await tabTo(steward, approve.getByRole('button', { name: '批准' }));
    await steward.keyboard.press('Enter');
    await toast(steward, '已批准，转安全员复审');
    await closeDrawer(steward);

    // ---------------------------------------------------------------- security officer approves
    const security = await newPage();
    await login(security, 'security');
    await menu(security, '共享申请');
    await security.getByRole('button', { name: '查看' }).first().click();
    await security.getByRole('dialog').getByText(applicationId).waitFor();
    await shot(security, '17-security-review');
    await security.getByRole('dialog').getByRole('button', { name: '批准' }).click();
    await security.locator('.ant-modal-content').getByLabel('理由').fill('脱敏规则符合一般数据4级要求');
    await security.locator('.ant-modal-content').getByRole('button', { name: '批准' }).click();
    await toast(security, /已批准，协议 ctr_\w+ 已生效/);
    const contractLink = security.getByRole('link', { name: /查看协议 ctr_/ });
    contractId = ((await contractLink.textContent()) ?? '').replace('查看协议', '').trim();
    expect(contractId).toMatch(/^ctr_/);
    // The application's progress in one timeline, the security tag marked done (#18 item 4).
    const timeline = security.getByTestId('application-timeline');
    await expect.poll(() => timeline.textContent()).toContain('协议生效');
    const progress = (await timeline.textContent()) ?? '';
    expect(progress).toContain('新建申请');
    expect(progress).toContain('提交申请');
    expect(progress).toMatch(/批准 · 数据管理员 · .+同意，用于低保核验/);
    expect(progress).toMatch(/批准 · 安全员 · .+脱敏规则符合一般数据4级要求/);
    await security.getByRole('dialog').getByText('安全员已复审').waitFor();
    await security.getByRole('dialog').getByText('剂次 等于 1').waitFor();
    expect(await security.getByRole('dialog').getByText('需安全审查').count()).toBe(0);
    await shot(security, '17b-application-progress');
    await closeDrawer(security);
    await menu(security, '告警与应急');
    await shot(security, '18-alerts');
    await atPhoneWidth(security, '18-alerts');
    await security.getByRole('tab', { name: '应急停止' }).click();
    await shot(security, '19-emergency-stop');
    await atPhoneWidth(security, '19-emergency-stop');
    // The object to stop is picked by name: the new contract by its consumer's name fills its id.
    await security.getByRole('button', { name: '紧急冻结' }).click();
    const stopDialog = security.getByRole('dialog');
    await stopDialog.getByRole('combobox', { name: '对象' }).fill('民政');
    await security
      .locator('.ant-select-dropdown:visible')
      .getByText(new RegExp(`^${contractId} · 使用方 云岚市民政局`))
      .click();
    await expect.poll(() => stopDialog.getByRole('combobox', { name: '对象' }).inputValue()).toBe(contractId);
    await shot(security, '19b-emergency-stop-picker');
    await stopDialog
      .getByRole('button', { name: '取 消' })
      .or(stopDialog.getByRole('button', { name: '取消' }))
      .click();
    await stopDialog.waitFor({ state: 'hidden' });

    // ---------------------------------------------------------------- the consumer is told, then makes a key
    await consumer.getByTestId('notifications-button').click();
    const told = consumer.getByTestId('notifications');
    await told.getByText('“新冠疫苗接种记录”的申请已批准，协议已生效').waitFor();
    await told.getByRole('button', { name: '全部标为已读' }).click();
    await expect.poll(() => told.getByText('“新冠疫苗接种记录”的申请已批准，协议已生效').count()).toBe(0);
    await consumer.getByTestId('notifications-button').click();
    await told.waitFor({ state: 'hidden' });
    // ---------------------------------------------------------------- the test queries the gateway
    await menu(consumer, 'API 密钥');
    // Keyboard only: Tab to the page's create button, Enter opens the dialog; type the name; Tab
    // past the scopes and the expiry date to the dialog's create button, Enter creates the key.
    await tabTo(consumer, consumer.getByRole('button', { name: '创建密钥' }));
    await consumer.keyboard.press('Enter');
    const keyDialog = consumer.locator('.ant-modal-content');
    await keyDialog.waitFor();
    await still(consumer);
    await tabTo(consumer, keyDialog.getByLabel('名称'));
    await consumer.keyboard.type('低保核验系统');
    await expect.poll(() => keyDialog.getByLabel('名称').inputValue()).toBe('低保核验系统');
    await tabTo(consumer, keyDialog.getByRole('button', { name: '创建', exact: true }));
    await consumer.keyboard.press('Enter');
    await consumer.getByTestId('api-key-secret').waitFor();
    apiKey = ((await consumer.getByTestId('api-key-secret').textContent()) ?? '').trim();
    expect(apiKey).toMatch(/^stk_/);
    await shot(consumer, '20-api-key-secret');
    await consumer.getByRole('button', { name: '我已保存' }).click();
    await shot(consumer, '21-api-keys');

    const rowsUrl = `${base}/v1/gateway/contracts/${contractId}/rows?limit=10&format=page`;
    const served = await fetch(rowsUrl, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(served.status).toBe(200);
    const body = (await served.json()) as { items: Record<string, string | null>[] };
    expect(body.items.length).toBe(10);
    const raw = new Set(ROWS.map((r) => r.id));
    for (const item of body.items) {
      expect(item.id_number).toMatch(/^330106\*{8}\d{3}[\dX]$/);
      expect(raw.has(String(item.id_number))).toBe(false);
      expect(item.mobile).toMatch(/^139\*{4}\d{4}$/);
    }

    // ---------------------------------------------------------------- the security officer freezes that key, then lifts it
    // The key is picked by its name; the gateway refuses it (423) from the next request, and
    // serves it again once the freeze is lifted (#18 item 7).
    await security.getByRole('button', { name: '紧急冻结' }).click();
    const keyStop = security.getByRole('dialog');
    // With the keyboard, as every other select here: a click on the shown value raced the
    // dialog's opening and sometimes left the list closed (seen once in CI).
    await choose(security, keyStop.getByRole('combobox', { name: '范围' }), 'API 密钥');
    await keyStop.getByText('只拒绝这一个密钥').waitFor();
    await keyStop.getByRole('combobox', { name: '对象' }).fill('低保核验');
    await security
      .locator('.ant-select-dropdown:visible')
      .getByText(/^低保核验系统 · key_/)
      .click();
    const keyId = await keyStop.getByRole('combobox', { name: '对象' }).inputValue();
    expect(keyId).toMatch(/^key_/);
    await keyStop.getByLabel('理由').fill('核查密钥是否外泄');
    await shot(security, '21b-freeze-api-key');
    await keyStop
      .getByRole('button', { name: '冻 结' })
      .or(keyStop.getByRole('button', { name: '冻结' }))
      .click();
    await toast(security, '已冻结：该凭据从下一次请求起在所有节点被拒绝');
    const keyRefused = await fetch(rowsUrl, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(keyRefused.status).toBe(423);
    expect(((await keyRefused.json()) as { error: { details: { scope: string } } }).error.details.scope).toBe(
      'api_key',
    );
    const keyFreeze = security.locator('tbody tr.ant-table-row', { hasText: keyId });
    await keyFreeze.getByText('API 密钥', { exact: false }).first().waitFor();
    await keyFreeze
      .getByRole('button', { name: '解除' })
      .or(keyFreeze.getByRole('button', { name: '解 除' }))
      .click();
    const liftDialog = security.locator('.ant-modal-content', { hasText: '解除冻结' });
    await liftDialog.getByLabel('理由').fill('核查完毕，未外泄');
    await liftDialog
      .getByRole('button', { name: '解除' })
      .or(liftDialog.getByRole('button', { name: '解 除' }))
      .click();
    await toast(security, '已解除冻结');
    expect((await fetch(rowsUrl, { headers: { authorization: `Bearer ${apiKey}` } })).status).toBe(200);

    // ---------------------------------------------------------------- the console's sample shows the same masked rows
    await consumer.goto(`${base}/catalog/${resourceId}`);
    // With a contract in force, the resource page leads to it first; applying again stays possible.
    await expect
      .poll(() => consumer.getByRole('link', { name: '查看我的协议' }).getAttribute('href'))
      .toBe(`/contracts/${contractId}`);
    expect(await consumer.getByRole('link', { name: '再次申请' }).count()).toBe(1);
    await consumer.getByRole('tab', { name: '数据样例' }).click();
    await consumer.getByRole('button', { name: '查看样例' }).click();
    const sample = consumer.getByTestId('sample-table');
    await sample.waitFor();
    const sampleText = (await sample.textContent()) ?? '';
    expect(sampleText).toMatch(/330106\*{8}\d{3}[\dX]/);
    expect(sampleText).toMatch(/139\*{4}\d{4}/);
    for (const r of ROWS) expect(sampleText).not.toContain(r.id);
    await shot(consumer, '22-resource-sample-masked');
    await consumer.goto(`${base}/contracts/${contractId}`);
    await consumer.getByTestId('contract-receipt').waitFor();
    // The agreement says masks with their numbers and times in Beijing time, and its printed
    // verification code checks against the contract (#18).
    const receiptText = (await consumer.getByTestId('contract-receipt').textContent()) ?? '';
    expect(receiptText).toContain('保留前6位和后4位');
    expect(receiptText).toContain('（北京时间）');
    expect(receiptText).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/);
    const printed = /Verification code \(SM3\): ([0-9A-F ]+)/.exec(receiptText)?.[1]?.trim() ?? '';
    expect(printed).toMatch(/^[0-9A-F]{8}( [0-9A-F]{8}){7}$/);
    await consumer.getByLabel('输入纸质协议上的核验码').fill(printed);
    await consumer.getByRole('button', { name: '核验', exact: true }).click();
    await consumer.getByTestId('agreement-check').filter({ hasText: '核验码与协议当前条款一致' }).waitFor();
    // The platform-signed file downloads and checks offline with the public key alone.
    const [download] = await Promise.all([
      consumer.waitForEvent('download'),
      consumer.getByTestId('agreement-signed').click(),
    ]);
    const signedFile = JSON.parse(fs.readFileSync((await download.path())!, 'utf8'));
    const pem = (await t.request({ method: 'GET', url: '/v1/registry/public-key' })).json().publicKeyPem;
    expect(verifySignedAgreement(signedFile, pem)).toMatchObject({ valid: true, contract: contractId });
    await shot(consumer, '23-contract-consumer');

    // ---------------------------------------------------------------- steward revokes; the next query is refused
    await menu(steward, '使用协议');
    await shot(steward, '24-contracts');
    await steward.getByRole('link', { name: contractId }).click();
    await settle(steward);
    // Keyboard only: Tab to the page's revoke button, Enter opens the dialog; type the reason; Tab
    // to the dialog's revoke button, Enter revokes.
    await tabTo(steward, steward.getByRole('button', { name: '撤销', exact: true }));
    await steward.keyboard.press('Enter');
    const revokeDialog = steward.locator('.ant-modal-content');
    await revokeDialog.waitFor();
    await still(steward);
    await tabTo(steward, revokeDialog.getByLabel('理由'));
    await steward.keyboard.type('项目结束，停止使用');
    await expect.poll(() => revokeDialog.getByLabel('理由').inputValue()).toBe('项目结束，停止使用');
    await atPhoneWidth(steward, '25-contract-revoke-dialog');
    await tabTo(steward, revokeDialog.getByRole('button', { name: '撤销', exact: true }));
    await steward.keyboard.press('Enter');
    await toast(steward, '协议已撤销');
    await steward.getByText('已撤销：项目结束，停止使用').waitFor();
    await shot(steward, '25-contract-revoked');

    const refused = await fetch(rowsUrl, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('CONTRACT_NOT_ACTIVE');

    // ---------------------------------------------------------------- the audit page shows it all, with a verified proof
    const auditor = await newPage();
    await login(auditor, 'auditor');
    await menu(auditor, '审计日志');
    await shot(auditor, '26-audit-log');
    await auditShows(auditor, applicationId, ['新建申请', '提供方审批通过', '安全审批通过']);
    await auditShows(auditor, contractId, ['生成协议', '网关查询明细', '撤销协议', '网关拒绝请求']);
    await shot(auditor, '27-audit-contract');
    const entries = auditor.getByTestId('audit-entries');
    const revokeRow = entries.locator('tr', { hasText: '撤销协议' });
    await revokeRow.getByRole('button', { name: /^验证第 \d+ 条$/ }).click();
    const proof = auditor.getByRole('dialog');
    // No head covers the newest entries yet: the console offers to sign one, then verifies.
    await proof.getByRole('button', { name: '立即签发树头' }).click();
    await proof.locator('[data-testid="proof-result"][data-verified="true"]').waitFor();
    await expect.poll(() => proof.textContent()).toContain('已在浏览器中验证通过');
    await shot(auditor, '28-audit-proof');
    await atPhoneWidth(auditor, '28-audit-proof');
    await closeDrawer(auditor);
    await auditor.getByRole('tab', { name: '签名树头' }).click();
    await auditor.getByTestId('tree-heads').getByText('签名有效').first().waitFor();
    await shot(auditor, '29-audit-tree-heads');
    await auditor.getByRole('tab', { name: '验签公钥' }).click();
    await shot(auditor, '30-audit-public-key');

    // ---------------------------------------------------------------- the rest, and phone width
    await menu(consumer, '共享申请');
    await shot(consumer, '31-applications-consumer');
    await menu(consumer, '总览');
    await shot(consumer, '32-overview-consumer');

    const phone = await newPage(PHONE);
    await login(phone, 'consumer.civil');
    await shot(phone, '40-overview');
    await phone.getByRole('button', { name: '打开导航菜单' }).click();
    await phone.getByRole('dialog').getByRole('link', { name: '数据目录' }).waitFor();
    await shot(phone, '41-menu');
    await phone.getByRole('dialog').getByRole('link', { name: '数据目录' }).click();
    await settle(phone);
    // On a phone the filters fold away behind 筛选, so the results start on the first screen.
    expect(await phone.getByRole('combobox', { name: '主题' }).count()).toBe(0);
    await shot(phone, '42-catalog');
    await phone.getByRole('button', { name: '筛选' }).click();
    await phone.getByRole('combobox', { name: '主题' }).waitFor();
    await shot(phone, '42b-catalog-filters');
    await phone.goto(`${base}/catalog/${resourceId}`);
    await shot(phone, '43-resource');
    await phone.goto(`${base}/contracts/${contractId}`);
    await phone.getByTestId('contract-receipt').waitFor();
    await shot(phone, '44-contract');
    await phone.goto(`${base}/api-keys`);
    await phone.getByRole('button', { name: '创建密钥' }).waitFor();
    await shot(phone, '45-api-keys');
    const phoneSteward = await newPage(PHONE);
    await login(phoneSteward, 'steward.health');
    await phoneSteward.goto(`${base}/catalog/${resourceId}/classification`);
    await shot(phoneSteward, '46-classification');
    // The import wizard up to its mapping step (the widest one); nothing is imported.
    await phoneSteward.goto(`${base}/import`);
    await shot(phoneSteward, '47-import-file');
    await previewGbkFile(phoneSteward);
    await shot(phoneSteward, '48-import-mapping');
    await phoneSteward.goto(`${base}/applications`);
    await phoneSteward.getByRole('tab', { name: '待我审批' }).waitFor();
    await shot(phoneSteward, '49-approvals-inbox');
    // The inbox holds only what waits for this steward; the application of this run is under “all”.
    await phoneSteward.getByRole('tab', { name: '全部' }).click();
    await settle(phoneSteward);
    await phoneSteward.getByRole('button', { name: '查看' }).first().click();
    await phoneSteward.getByRole('dialog').getByText('申请详情').waitFor();
    await shot(phoneSteward, '50-application-detail');
    const phoneAuditor = await newPage(PHONE);
    await login(phoneAuditor, 'auditor');
    await phoneAuditor.goto(`${base}/audit`);
    await shot(phoneAuditor, '51-audit');

    // Nothing on the page may be clickable without saying what it is, and nothing may crash.
    expect([...new Set(unnamed)]).toEqual([]);
    expect(pageErrors).toEqual([]);
    // No phone page may scroll sideways.
    expect(overflowing).toEqual([]);
  }, 900_000); // the whole walk-through; a guard against a hang, not a speed goal (a loaded machine took 420 s)

  it('lets a platform admin search users and organizations, and an auditor export the audit log', async () => {
    const admin = await newPage();
    await login(admin, 'admin');
    await menu(admin, '用户管理');
    await admin.getByLabel('按登录名或姓名检索').fill('STEWARD.h');
    await admin.keyboard.press('Enter');
    await expect.poll(() => admin.getByRole('cell', { name: 'steward.health', exact: true }).count()).toBe(1);
    await expect.poll(() => admin.getByRole('cell', { name: 'consumer.civil', exact: true }).count()).toBe(0);
    // The status filter narrows the same search: steward.health is active, not disabled.
    const statusFilter = admin.getByRole('combobox', { name: '按状态筛选' });
    await choose(admin, statusFilter, '已停用');
    await admin.getByText('没有符合条件的用户').waitFor();
    // Going back to 正常 through the same select by keyboard skipped an option once in CI (the
    // select's known arrow-key defect, #18); the active filter is covered by test/users.test.ts.
    await shot(admin, '60-users');
    await menu(admin, '机构管理');
    await admin.getByLabel('按机构名称或信用代码检索').fill('卫生健康');
    await admin.getByRole('button', { name: '检索', exact: true }).click();
    await expect
      .poll(() => admin.getByRole('cell', { name: '云岚市卫生健康委员会', exact: true }).count())
      .toBe(1);
    await shot(admin, '61-organizations');
    // Registering an organization: a wrong check character is refused with the server's reason,
    // the corrected code registers it, and the search finds it.
    const uscc = makeUscc('1', '1', '330100', '73920581');
    const wrong = `${uscc.slice(0, 17)}${uscc[17] === '0' ? '1' : '0'}`;
    await admin.getByRole('button', { name: '登记机构' }).click();
    const orgDialog = admin.getByRole('dialog');
    const submitOrg = () =>
      orgDialog
        .getByRole('button', { name: '创 建' })
        .or(orgDialog.getByRole('button', { name: '创建' }))
        .click();
    await orgDialog.getByLabel('机构名称').fill('云岚市数据测试中心');
    await orgDialog.getByLabel('统一社会信用代码').fill(wrong);
    await submitOrg();
    // A municipal organization needs its division: the form says so before anything is sent.
    await orgDialog.getByText('国家级以外的机构须填行政区划代码').waitFor();
    await orgDialog.getByLabel('行政区划').fill('330100');
    await submitOrg();
    await toast(admin, '统一社会信用代码无效');
    await orgDialog.getByLabel('统一社会信用代码').fill(uscc);
    await submitOrg();
    await toast(admin, '已登记机构 云岚市数据测试中心');
    await admin.getByLabel('按机构名称或信用代码检索').fill(uscc);
    await admin.getByRole('button', { name: '检索', exact: true }).click();
    await expect
      .poll(() => admin.getByRole('cell', { name: '云岚市数据测试中心', exact: true }).count())
      .toBe(1);
    // …and renamed: the edit dialog starts from what is stored.
    await admin.getByRole('button', { name: '编辑机构 云岚市数据测试中心' }).click();
    const editDialog = admin.getByRole('dialog');
    expect(await editDialog.getByLabel('统一社会信用代码').inputValue()).toBe(uscc);
    await editDialog.getByLabel('机构名称').fill('云岚市数据测试中心（更名）');
    await editDialog
      .getByRole('button', { name: '保 存' })
      .or(editDialog.getByRole('button', { name: '保存' }))
      .click();
    await toast(admin, '已保存机构 云岚市数据测试中心（更名）');
    await expect
      .poll(() => admin.getByRole('cell', { name: '云岚市数据测试中心（更名）', exact: true }).count())
      .toBe(1);

    const auditor = await newPage();
    await login(auditor, 'auditor');
    const nav = auditor.locator('ul[aria-label="主导航"]');
    expect(await nav.getByRole('link', { name: '用户管理' }).count()).toBe(0);
    await menu(auditor, '审计日志');
    const [download] = await Promise.all([
      auditor.waitForEvent('download'),
      auditor.getByRole('button', { name: '导出 CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^audit-log-\d{4}-\d\d-\d\d\.csv$/);
    const text = fs.readFileSync((await download.path())!, 'utf8');
    expect(text.startsWith('\ufeff序号 seq,')).toBe(true);
    await toast(auditor, /已导出 [\d,]+ 条记录/);
    // The witness (a directory here) holds the checkpoint of the head just signed, and the tab
    // says in words that the log agrees with it.
    const head = await signHead(cliCtx(t.database.db, t.config), { reason: 'e2e witness tab' });
    await auditor.getByRole('tab', { name: '见证方' }).click();
    const witnesses = auditor.getByTestId('witnesses');
    await witnesses.getByText('一致', { exact: true }).waitFor();
    await witnesses.getByText('见证方保存的检查点与日志在该长度的根哈希相同。').waitFor();
    expect(await witnesses.textContent()).toContain(
      `最近见证的长度: ${head!.treeSize.toLocaleString('zh-CN')}`,
    );
    await shot(auditor, '62-witnesses');

    // A steward edits a resource's metadata in the console (#18 item 6).
    const resource = await t.database.db
      .selectFrom('resources')
      .innerJoin('organizations', 'organizations.id', 'resources.provider_org_id')
      .select(['resources.id', 'resources.name'])
      .where('organizations.name', '=', '云岚市卫生健康委员会')
      .orderBy('resources.id')
      .executeTakeFirstOrThrow();
    const steward = await newPage();
    await login(steward, 'steward.health');
    await steward.goto(`${base}/catalog/${resource.id}`);
    await steward.getByRole('button', { name: '编辑元数据' }).click();
    const dialog = steward.getByRole('dialog');
    await dialog.getByLabel('资源名称').fill(`${resource.name}（修订）`);
    await dialog
      .getByRole('button', { name: '保 存' })
      .or(dialog.getByRole('button', { name: '保存' }))
      .click();
    await toast(steward, '元数据已保存');
    await expect
      .poll(() => steward.getByRole('heading', { level: 1 }).textContent())
      .toBe(`${resource.name}（修订）`);
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('lets a consumer preview and run a differentially private count on the contract page', async () => {
    // A resource with personal data, its DP settings and an aggregate-only contract, through the API.
    const f = sharingFixture(t);
    await f.login();
    const code = await f.resource('门诊就诊记录（差分隐私演示）', 'conditional');
    const settings = await t.request({
      method: 'PUT',
      url: `/v1/gateway/resources/${code}/dp`,
      token: f.tokens.steward,
      payload: {
        unit: 'person_id',
        maxGroups: 1,
        maxRowsPerGroup: 2,
        bounds: { visits: { lower: 0, upper: 10 } },
      },
    });
    expect(settings.statusCode, settings.body).toBe(200);
    // The steward approves in the console; the dialog says the contract will be a DP contract.
    const application = await f.apply(code, { operations: ['aggregate'] });
    const steward = await newPage();
    await login(steward, 'steward.health');
    await steward.goto(`${base}/applications?id=${application.id}`);
    await steward.locator('.ant-drawer-open').getByRole('button', { name: '批准' }).click();
    const approval = steward.locator('.ant-modal-content');
    await expect
      .poll(() => approval.getByTestId('dp-approval').textContent())
      .toMatch(/只统计的协议以差分隐私提供。新协议的隐私预算为 ρ = 1/);
    // The dialog has finished opening (and its form its initial values) before it is submitted.
    await still(steward);
    await approval.getByRole('button', { name: '批准' }).click();
    // The decision as the server records it: on the embedded database one connection serves the
    // page and the background tasks, so on a loaded machine the answer (and its 3 s toast) can
    // come later than a page wait; the state cannot be missed.
    await expect
      .poll(
        async () =>
          (await f.call('GET', `/v1/applications/${application.id}`, f.tokens.steward)).json().state,
        { timeout: 90_000, interval: 500 },
      )
      .toBe('security_review');
    const secured = await f.call('POST', `/v1/applications/${application.id}/approve`, f.tokens.security, {});
    expect(secured.statusCode, secured.body).toBe(200);
    const contractId = secured.json().contractId as string;
    // The provider's steward sets the contract's budget on its page.
    await steward.goto(`${base}/contracts/${contractId}`);
    await steward.getByTestId('dp-panel').getByRole('button', { name: '调整预算' }).click();
    const budgetDialog = steward.getByRole('dialog');
    await budgetDialog.getByLabel('预算总额 ρ').fill('2');
    await budgetDialog
      .getByRole('button', { name: '保 存' })
      .or(budgetDialog.getByRole('button', { name: '保存' }))
      .click();
    await toast(steward, '隐私预算已保存');
    await expect
      .poll(() => steward.getByTestId('dp-panel').getByTestId('dp-remaining').textContent())
      .toContain('总额 ρ = 2');

    const consumer = await newPage();
    await login(consumer, 'consumer.civil');
    await consumer.goto(`${base}/contracts/${contractId}`);
    const panel = consumer.getByTestId('dp-panel');
    await expect.poll(() => panel.getByTestId('dp-remaining').textContent()).toContain('剩余 ρ = 2');
    // Only the provider's side sets the budget.
    expect(await panel.getByRole('button', { name: '调整预算' }).count()).toBe(0);
    await panel
      .getByRole('button', { name: '预 估' })
      .or(panel.getByRole('button', { name: '预估' }))
      .click();
    // The preview names the cost and the interval, and spends nothing.
    await expect
      .poll(() => panel.getByTestId('dp-preview').textContent())
      .toMatch(/将消耗 ρ = 0\.05.*count ±/);
    expect(await panel.getByTestId('dp-remaining').textContent()).toContain('剩余 ρ = 2');
    await panel
      .getByRole('button', { name: '统 计' })
      .or(panel.getByRole('button', { name: '统计' }))
      .click();
    const answer = panel.getByTestId('dp-answer');
    await expect.poll(() => answer.locator('tbody tr.ant-table-row').count()).toBe(1);
    // One noisy count with its 95% interval around it; the budget shows what is left.
    const cells = await answer.locator('tbody tr.ant-table-row td').allTextContents();
    const [low, high] = (cells[1] ?? '')
      .replace(/[[\]\s,]/g, ' ')
      .trim()
      .split(/\s+/)
      .map(Number);
    const count = Number(cells[0]);
    expect(low).toBeLessThan(count);
    expect(high).toBeGreaterThan(count);
    await expect.poll(() => panel.getByTestId('dp-remaining').textContent()).toContain('剩余 ρ = 1.95');
    await shot(consumer, '63-dp-statistics');

    // Approved computations: the consumer submits a template, the steward approves it, and from
    // then on the contract runs only approved templates.
    const templates = consumer.getByTestId('templates-panel');
    await templates.getByRole('button', { name: '提交模板' }).click();
    const submitDialog = consumer.getByRole('dialog');
    await submitDialog.getByLabel('模板名称').fill('就诊人数');
    await submitDialog
      .getByRole('button', { name: '提 交' })
      .or(submitDialog.getByRole('button', { name: '提交' }))
      .click();
    await toast(consumer, '模板已提交，等待提供方批准');
    await templates.getByRole('cell', { name: '待提供方审批' }).waitFor();
    expect(await templates.getByRole('button', { name: '运行模板 就诊人数' }).count()).toBe(0);
    await steward.reload();
    await steward.getByTestId('templates-panel').getByRole('button', { name: '批准模板 就诊人数' }).click();
    await toast(steward, '已批准模板 就诊人数');
    await consumer.reload();
    await templates.getByRole('button', { name: '运行模板 就诊人数' }).click();
    const run = templates.getByTestId('template-answer');
    await expect.poll(() => run.locator('tbody tr.ant-table-row').count()).toBe(1);
    expect(await run.locator('tbody tr.ant-table-row td').first().textContent()).toMatch(/^-?[\d,]+$/);
    // The run spent from the same budget, and the DP card says so.
    await expect.poll(() => panel.getByTestId('dp-remaining').textContent()).toMatch(/剩余 ρ = 1\.9$/);
    // Free-form DP statistics are refused now: only the approved template runs.
    await panel
      .getByRole('button', { name: '统 计' })
      .or(panel.getByRole('button', { name: '统计' }))
      .click();
    await toast(consumer, '该协议只允许运行已批准的查询模板');
    await shot(consumer, '64-templates');
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
