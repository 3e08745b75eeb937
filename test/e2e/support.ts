/**
 * What the smaller browser tests share: a Shutong server on a fresh database listening on a port
 * of 127.0.0.1 with the built console, Debian's Chromium, pages opened as a signed-in user, and
 * every page error collected (a test ends by expecting none).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { consoleBuildState } from '../../scripts/ensure-console.ts';
import { DEMO_PASSWORD, startTestApp, type TestApp } from '../helpers.ts';
import { sharingFixture } from '../sharing-fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = path.resolve('test-output/screenshots');

export interface ConsoleApp {
  t: TestApp;
  base: string;
  pageErrors: string[];
  /** An API call that must succeed: its JSON answer. */
  call(
    method: 'POST' | 'GET',
    url: string,
    token: string,
    payload?: object,
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of every shape, as light-my-request's json() gives them
  ): Promise<any>;
  /** A page of the console at `at`, signed in with `token`, Chinese, Beijing time. */
  open(token: string, viewport: { width: number; height: number }, at: string): Promise<Page>;
  shot(page: Page, name: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startConsoleApp(
  prefix: string,
  /** `demoData`: the demo city's resources, data and one-thing services too (slower). */
  options: { demoData?: boolean } = {},
): Promise<ConsoleApp> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}`);
  const build = consoleBuildState();
  if (build.stale)
    throw new Error(`the web console build is not usable (${build.reason}): run npm run build`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const t = await startTestApp(
    {
      LOG_LEVEL: 'warn',
      AUDIT_SIGN_INTERVAL_SECONDS: '0',
      MONITOR_INTERVAL_SECONDS: '0',
    },
    options.demoData ? { demoData: true } : {},
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const base = `http://127.0.0.1:${address.port}`;
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const pageErrors: string[] = [];
  return {
    t,
    base,
    pageErrors,
    async call(method, url, token, payload) {
      const res = await t.request({ method, url, token, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
      return res.json();
    },
    async open(token, viewport, at) {
      const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
      await context.addInitScript(`localStorage.setItem('shutong.token', ${JSON.stringify(token)})`);
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
      await page.goto(`${base}${at}`);
      await page.locator('#main').waitFor();
      return page;
    },
    // Animations finished first: a popover or drawer is photographed where it comes to rest.
    shot: (page, name) =>
      page.screenshot({
        path: path.join(SHOTS, `${prefix}-${name}.png`),
        fullPage: true,
        animations: 'disabled',
      }),
    async close() {
      await browser.close();
      await t.close();
    },
  };
}

/**
 * The demo mother (of the demo city's citizens, the one who just gave birth) signs in on the
 * citizen site's API and applies for 新生儿出生一件事, filling exactly the fields no contract gives.
 */
export async function demoMotherApplies(
  app: ConsoleApp,
): Promise<{ token: string; idNumber: string; applicationId: string }> {
  const identities = (await app.t.request({ method: 'GET', url: '/v1/citizen/demo-identities' })).json();
  const mother =
    (identities.citizens as { idNumber: string; name: string; note: string }[]).find((c) =>
      /母亲|妈妈|mother/i.test(`${c.note} ${c.name}`),
    ) ?? identities.citizens[0];
  const login = await app.t.request({
    method: 'POST',
    url: '/v1/citizen/login',
    payload: { idNumber: mother.idNumber, password: DEMO_PASSWORD },
  });
  expect(login.statusCode, login.body).toBe(200);
  const token = login.json().token as string;
  const bundle = await app.call('GET', '/v1/services/bundles/NEWBORN', token);
  const form: Record<string, string> = {};
  for (const step of bundle.steps as { fields: { name: string; label: string; provenance: string }[] }[])
    for (const f of step.fields) if (f.provenance !== 'contract') form[f.name] = `测试${f.label}`;
  const applied = await app.call('POST', `/v1/services/bundles/${bundle.id}/applications`, token, { form });
  return { token, idNumber: mother.idNumber, applicationId: applied.id };
}

/**
 * A console app in which the civil affairs consumer has applied for a new resource of the health
 * steward's (`resource`, conditional sharing): the application is submitted, waiting for the steward.
 */
export async function startWithApplication(
  name: string,
  resource: string,
): Promise<{ app: ConsoleApp; fx: ReturnType<typeof sharingFixture>; applicationId: string }> {
  const app = await startConsoleApp(name);
  const fx = sharingFixture(app.t);
  await fx.login();
  const code = await fx.resource(resource, 'conditional');
  const applied = await fx.apply(code, { fields: ['record_no', 'district', 'visits'] });
  expect(applied.state).toBe('submitted');
  return { app, fx, applicationId: applied.id };
}

/** Picks a Select's option with the keyboard: focus, ArrowDown through the options, Enter. */
export async function choose(page: Page, control: Locator, option: string): Promise<void> {
  await control.focus();
  await page.keyboard.press('ArrowDown');
  await expect.poll(() => control.getAttribute('aria-expanded')).toBe('true');
  const list = await control.getAttribute('aria-controls');
  const active = page.locator(
    `.ant-select-dropdown:has([id="${list}"]) .ant-select-item-option-active .ant-select-item-option-content`,
  );
  // The select moves its active option back to the chosen value a moment after it opens (a timer
  // in rc-select); under load that lands after the first arrow presses. So the walk may go round
  // again: an option is missing only once the list has been walked round three times.
  const seen = new Set<string>();
  for (let presses = 0; ; presses++) {
    const text = ((await active.textContent()) ?? '').trim();
    if (text.startsWith(option)) break;
    seen.add(text);
    if (presses > 3 * seen.size + 3)
      throw new Error(`no option “${option}” (options: ${[...seen].join(', ')})`);
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => ((await active.textContent()) ?? '').trim()).not.toBe(text);
  }
  await page.keyboard.press('Enter');
  await expect.poll(() => control.getAttribute('aria-expanded')).toBe('false');
  await page.locator(`.ant-select-dropdown:has([id="${list}"])`).waitFor({ state: 'hidden' });
}

/** The page does not scroll sideways (a phone's width holds it). */
export async function expectNoOverflow(page: Page): Promise<void> {
  const [scroll, inner] = await page.evaluate<[number, number]>(
    '[document.documentElement.scrollWidth, window.innerWidth]',
  );
  expect(scroll).toBeLessThanOrEqual(inner + 1);
}
