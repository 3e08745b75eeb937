/**
 * Issue #23 in the browser: a grassroots steward, at phone width, opens the merged to-do of a
 * community, sees the figures another form already brought marked as held, enters the one missing
 * and submits; pre-fills a yearly report from a department's shared resource through the unit's
 * contract; the data bureau reads the index results at desktop width. Screenshots go to
 * test-output/screenshots/ (indicators-*.png).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeUscc } from '../../src/standards/uscc.ts';
import { DEMO_PASSWORD, loadedResource } from '../helpers.ts';
import { type ConsoleApp, expectNoOverflow, startConsoleApp } from './support.ts';

const UNIT = '330106001001';

let app: ConsoleApp;
let t: ConsoleApp['t'];
const call: ConsoleApp['call'] = (...args) => app.call(...args);

const indicator = (code: string, nameZh: string, unit = '人') => ({
  code,
  nameZh,
  nameEn: code,
  definition: nameZh,
  unit,
  dataType: 'integer',
  period: 'year',
  level: 'community',
  source: { kind: 'reported' },
  rule: { min: 0 },
});

let admin: string;
let grid: string;

beforeAll(async () => {
  app = await startConsoleApp('indicators');
  t = app.t;
  admin = await t.login('admin');
  const civil = await t.login('steward.civil');
  const health = await t.login('steward.health');
  const org = await call('POST', '/v1/organizations', admin, {
    name: '云岚市西湖区留下街道办事处',
    type: 'government_department',
    level: 'county',
    regionCode: '330106',
    uscc: makeUscc('1', '1', '330106', '23230106'),
  });
  await call('POST', '/v1/users', admin, {
    orgId: org.id,
    username: 'grid.liuxia',
    displayName: '留下街道网格员',
    password: DEMO_PASSWORD,
    roles: ['data_steward'],
  });
  grid = await t.login('grid.liuxia');
  for (const [code, name] of [
    ['POP', '社区常住人口总数'],
    ['ELD', '社区60周岁及以上常住人口数'],
  ]) {
    await call('POST', '/v1/indicators', civil, indicator(code!, name!));
  }
  await call('POST', '/v1/indicators', health, indicator('CLINICS', '社区卫生服务站数量', '个'));
  const form = { year: 2026, period: 'year', level: 'community' };
  await call('POST', '/v1/forms', admin, {
    ...form,
    code: 'F-CIVIL',
    nameZh: '社区人口年报',
    nameEn: 'Community population',
    basis: 'catalogue',
    indicators: ['POP', 'ELD'],
  });
  await call('POST', '/v1/forms', health, {
    ...form,
    code: 'F-HEALTH',
    nameZh: '社区卫生年报',
    nameEn: 'Community health',
    basis: 'one_off',
    approval: '云岚数据〔2026〕7号',
    indicators: ['POP', 'ELD', 'CLINICS'],
  });
  await call('POST', '/v1/forms/F-CIVIL/issue', admin);
  await call('POST', '/v1/forms/F-HEALTH/issue', health);
  // A monthly form of last year, due five working days after each month: every month is overdue.
  await call('POST', '/v1/indicators', civil, {
    ...indicator('VISITS', '社区网格员月度入户走访户数', '户'),
    period: 'month',
  });
  await call('POST', '/v1/forms', admin, {
    code: 'F-VISITS',
    nameZh: '社区走访月报',
    nameEn: 'Community visits (monthly)',
    year: 2025,
    period: 'month',
    level: 'community',
    basis: 'catalogue',
    indicators: ['VISITS'],
    dueWorkingDays: 5,
  });
  await call('POST', '/v1/forms/F-VISITS/issue', admin);
  await call('POST', '/v1/forms/F-CIVIL/submissions', grid, {
    period: '2026',
    unitCode: UNIT,
    values: { POP: 1000, ELD: 300 },
  });
  // A second community, so the index has two units to rank.
  await call('POST', '/v1/forms/F-HEALTH/submissions', grid, {
    period: '2026',
    unitCode: '330106001002',
    values: { POP: 500, ELD: 100, CLINICS: 5 },
  });
}, 240_000);

afterAll(async () => {
  await app?.close();
});

const open = (token: string, viewport: { width: number; height: number }) =>
  app.open(token, viewport, '/indicators');
const shot: ConsoleApp['shot'] = (page, name) => app.shot(page, name);

it('a grassroots steward fills the merged, pre-filled to-do on a phone', async () => {
  const page = await open(grid, { width: 390, height: 844 });
  await page.getByLabel('填报单位代码（12 位社区）').fill(UNIT);
  await page.getByRole('button', { name: '查看待填' }).click();
  await expect.poll(() => page.getByText('已有数据，无需重填').count()).toBe(2);
  await expect.poll(() => page.getByText('2 张报表、5 个填报项合并为 3 个指标，已预填 67%').count()).toBe(1);
  await shot(page, 'todo-phone');
  await expectNoOverflow(page);

  await page.getByRole('spinbutton', { name: '社区卫生服务站数量' }).fill('3');
  await page.getByRole('button', { name: '报送：社区卫生年报' }).click();
  await page.getByRole('button', { name: '已报送：社区卫生年报' }).waitFor();
  await shot(page, 'todo-phone-submitted');
  const values = await call('GET', `/v1/indicators/CLINICS/values?period=2026&within=${UNIT}`, admin);
  expect(values).toMatchObject([{ unitCode: UNIT, value: 3 }]);

  // Reminders: last year's months, each with its working-day deadline (January's runs past the
  // Spring Festival to 2025-02-10), overdue; 填报 opens that month's to-do, and a report made
  // leaves the list.
  const reminders = page.getByTestId('report-reminders');
  const january = reminders.locator('.ant-list-item', { hasText: '社区走访月报 · 2025-01' });
  await january.getByText('应于 2025-02-10 前报送').waitFor();
  await january.getByText('已逾期').waitFor();
  expect(await reminders.locator('.ant-list-item', { hasText: '社区走访月报' }).count()).toBe(12);
  await shot(page, 'reminders-phone');
  await january.getByRole('button', { name: '填报' }).click();
  await page.getByRole('spinbutton', { name: '社区网格员月度入户走访户数' }).fill('86');
  await page.getByRole('button', { name: '报送：社区走访月报' }).click();
  await page.getByRole('button', { name: '已报送：社区走访月报' }).waitFor();
  await expect.poll(() => reminders.locator('.ant-list-item', { hasText: '社区走访月报' }).count()).toBe(11);
  expect(await reminders.getByText('社区走访月报 · 2025-01').count()).toBe(0);
});

it('pre-fills from a department’s shared resource through the unit’s own contract', async () => {
  const health = await t.login('steward.health');
  // The health commission keeps two community figures per year; the street office has a contract
  // for one of them.
  const resource = await loadedResource(t, health, {
    name: '社区家庭医生与护士统计',
    fields: [
      { name: 'unit_code', label: '社区代码', dataType: 'text', isKey: true },
      { name: 'period', label: '统计年度', dataType: 'text' },
      { name: 'teams', label: '签约团队数', dataType: 'integer' },
      { name: 'nurses', label: '社区护士数', dataType: 'integer' },
    ],
    grades: { unit_code: ['g1', null], period: ['g1', null], teams: ['g1', null], nurses: ['g1', null] },
    rows: [{ unit_code: UNIT, period: '2025', teams: 3, nurses: 7 }],
  });
  for (const [code, field, name] of [
    ['TEAMS', 'teams', '社区家庭医生签约团队数'],
    ['NURSES', 'nurses', '社区注册护士数'],
  ] as const) {
    await call('POST', '/v1/indicators', health, {
      ...indicator(code, name, '个'),
      source: {
        kind: 'resource_field',
        resourceId: resource.id,
        field,
        unitField: 'unit_code',
        periodField: 'period',
      },
    });
  }
  await call('POST', '/v1/forms', admin, {
    code: 'F-DOCTORS',
    nameZh: '社区家庭医生年报',
    nameEn: 'Community family doctors (yearly)',
    year: 2025,
    period: 'year',
    level: 'community',
    basis: 'catalogue',
    indicators: ['TEAMS', 'NURSES'],
  });
  await call('POST', '/v1/forms/F-DOCTORS/issue', admin);
  const me = await call('GET', '/v1/me', grid);
  await call('POST', '/v1/users', admin, {
    orgId: me.user.orgId,
    username: 'apply.liuxia',
    displayName: '留下街道数据申请员',
    password: DEMO_PASSWORD,
    roles: ['consumer'],
  });
  const applied = await call('POST', '/v1/applications', await t.login('apply.liuxia'), {
    resource: resource.code,
    fields: ['unit_code', 'period', 'teams'],
    purpose: '一表通家庭医生年报预填',
    purposeCategory: 'public_service',
    legalBasis: '国办函〔2022〕102号',
    scenario: '基层报表减负',
    operations: ['rows'],
    requestedTo: new Date(Date.now() + 90 * 86_400_000).toISOString(),
  });
  const { contractId } = await call('POST', `/v1/applications/${applied.id}/approve`, health, {});

  const page = await open(grid, { width: 390, height: 844 });
  await page.getByLabel('填报单位代码（12 位社区）').fill(UNIT);
  await page.getByLabel('周期').fill('2025');
  await page.getByRole('button', { name: '查看待填' }).click();
  await page.getByTestId('pull-shared').click();
  await page.getByTestId('shared-TEAMS').waitFor();
  expect(await page.getByTestId('shared-TEAMS').textContent()).toContain(contractId);
  await page.getByText('本单位没有覆盖该字段的有效共享合约').waitFor();
  await shot(page, 'todo-phone-shared');
  await page.getByRole('spinbutton', { name: '社区注册护士数' }).fill('7');
  await page.getByRole('button', { name: '报送：社区家庭医生年报' }).click();
  await page.getByRole('button', { name: '已报送：社区家庭医生年报' }).waitFor();
  const teams = await call('GET', `/v1/indicators/TEAMS/values?period=2025&within=${UNIT}`, admin);
  expect(teams).toMatchObject([{ unitCode: UNIT, value: 3 }]);
});

it('the data bureau reads the index results', async () => {
  await call('POST', '/v1/evaluation/indexes', admin, {
    code: 'CARE',
    nameZh: '社区卫生服务指数',
    nameEn: 'Community health service index',
    aggregation: 'arithmetic',
    dimensions: [
      {
        code: 'clinics',
        nameZh: '服务站',
        nameEn: 'Clinics',
        weight: 1,
        indicators: [{ code: 'CLINICS', weight: 1, normalization: { method: 'fixed', min: 0, max: 10 } }],
      },
    ],
  });
  await call('POST', '/v1/evaluation/indexes/CARE/publish', admin);
  const page = await open(admin, { width: 1366, height: 768 });
  await page.getByRole('tab', { name: '评价指数' }).click();
  await page.getByRole('combobox', { name: '评价指数' }).click();
  await page.locator('.ant-select-item-option', { hasText: '社区卫生服务指数' }).click();
  await expect.poll(() => page.locator('.ant-table-tbody tr.ant-table-row').count()).toBe(2);
  await expect.poll(() => page.locator('.ant-table-tbody').textContent()).toContain('0.5000');
  // A radar of the dimensions and five years of scores, for the best-ranked units.
  for (const chart of ['evaluation-radar', 'evaluation-trend']) {
    await expect
      .poll(() => page.getByTestId(chart).locator('[data-chart-state="drawn"]').count(), { timeout: 15_000 })
      .toBe(1);
  }
  await shot(page, 'results-desktop');
  // The printable report opens as a PDF in a new tab.
  const [popup] = await Promise.all([
    page.context().waitForEvent('page'),
    page.getByTestId('evaluation-report').click(),
  ]);
  expect(popup.url()).toMatch(/^blob:/);
  await popup.close();
  await page.getByRole('tab', { name: '报表目录' }).click();
  await expect.poll(() => page.locator('.ant-statistic').count()).toBe(4);
  await shot(page, 'catalogue-desktop');
  expect(app.pageErrors).toEqual([]);
});
