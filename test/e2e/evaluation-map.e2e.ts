/**
 * Issue #23's map in the browser: an index over the districts of the demo city (云岚市 borrows
 * Hangzhou's codes, 330100), scored for some of them; the data bureau opens the evaluation
 * dashboard and finds the map beside the radar and the trend — one area per district of the
 * GB/T 2260 list, the ones without a score grey and marked no data, and the card saying the map is
 * a schematic (no boundaries file offline). Screenshots: test-output/screenshots/evaluation-map-*.png.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { childDivisions } from '../../src/standards/region.ts';
import { type ConsoleApp, startConsoleApp } from './support.ts';

const DISTRICTS = childDivisions('330100');
// Scored: four districts; the others have no figures reported.
const SCORED: Record<string, number> = { '330102': 9, '330105': 6, '330106': 3, '330108': 1 };

let app: ConsoleApp;
let admin: string;

beforeAll(async () => {
  app = await startConsoleApp('evaluation-map');
  admin = await app.t.login('admin');
  const civil = await app.t.login('steward.civil');
  await app.call('POST', '/v1/indicators', civil, {
    code: 'LIBRARIES',
    nameZh: '区县公共图书馆数量',
    nameEn: 'Public libraries',
    definition: '区县公共图书馆数量',
    unit: '个',
    dataType: 'integer',
    period: 'year',
    level: 'district',
    source: { kind: 'reported' },
    rule: { min: 0 },
  });
  await app.call('POST', '/v1/forms', admin, {
    code: 'F-LIB',
    nameZh: '区县文化设施年报',
    nameEn: 'District culture (yearly)',
    year: 2026,
    period: 'year',
    level: 'district',
    basis: 'catalogue',
    indicators: ['LIBRARIES'],
  });
  await app.call('POST', '/v1/forms/F-LIB/issue', admin);
  for (const [unitCode, value] of Object.entries(SCORED)) {
    await app.call('POST', '/v1/forms/F-LIB/submissions', admin, {
      period: '2026',
      unitCode,
      values: { LIBRARIES: value },
    });
  }
  await app.call('POST', '/v1/evaluation/indexes', admin, {
    code: 'CULTURE',
    nameZh: '区县文化设施指数',
    nameEn: 'District culture index',
    aggregation: 'arithmetic',
    dimensions: [
      {
        code: 'libraries',
        nameZh: '图书馆',
        nameEn: 'Libraries',
        weight: 1,
        indicators: [{ code: 'LIBRARIES', weight: 1, normalization: { method: 'fixed', min: 0, max: 10 } }],
      },
    ],
  });
  await app.call('POST', '/v1/evaluation/indexes/CULTURE/publish', admin);
}, 240_000);

afterAll(async () => {
  await app?.close();
});

it('the evaluation dashboard maps the index by district, as a schematic it names as such', async () => {
  const page = await app.open(admin, { width: 1366, height: 900 }, '/indicators');
  await page.getByRole('tab', { name: '评价指数' }).click();
  await page.getByRole('combobox', { name: '评价指数' }).click();
  await page.locator('.ant-select-item-option', { hasText: '区县文化设施指数' }).click();
  await expect.poll(() => page.locator('.ant-table-tbody tr.ant-table-row').count()).toBe(4);

  const card = page.getByTestId('evaluation-map');
  await expect.poll(() => card.locator('[data-chart-state="drawn"]').count(), { timeout: 15_000 }).toBe(1);
  await expect.poll(() => card.getAttribute('data-schematic')).toBe('true');
  await card.getByText('示意图，非实际边界').waitFor();
  await card.getByText('各区县得分 · 浙江省杭州市').waitFor();

  // One area per district: the SVG map draws each as a path with the areas' white border.
  const areas = card.locator('svg path[stroke="#fff"], svg path[stroke="#ffffff"]');
  await expect.poll(() => areas.count()).toBe(DISTRICTS.length);
  // Each area is labelled with its district and its score, or no data.
  const labels = (await card.locator('svg text').allTextContents()).join(' ');
  for (const d of DISTRICTS) expect(labels).toContain(d.name);
  expect(labels).toContain('0.9000');
  expect((labels.match(/无数据/g) ?? []).length).toBe(DISTRICTS.length - Object.keys(SCORED).length);
  await app.shot(page, 'desktop');

  // The tooltip names the district, its code, score and rank.
  await card.scrollIntoViewIfNeeded();
  const first = areas.first();
  const area = (await first.boundingBox())!;
  await page.mouse.move(area.x + area.width / 2, area.y + area.height / 2);
  const tooltip = card
    .locator('div')
    .filter({ hasText: /第 1 名/ })
    .last();
  await tooltip.waitFor();
  expect(await tooltip.textContent()).toContain('上城区（330102）');
  await app.shot(page, 'tooltip');

  // In English, the same map says the same things in English.
  await page.getByText('EN', { exact: true }).click();
  await card.getByText('schematic, not real boundaries').waitFor();
  await expect
    .poll(async () => (await card.locator('svg text').allTextContents()).join(' '))
    .toContain('no data');
  await app.shot(page, 'desktop-en');

  // At phone width the map keeps inside the page.
  const phone = await app.open(admin, { width: 390, height: 844 }, '/indicators');
  await phone.getByRole('tab', { name: '评价指数' }).click();
  await phone.getByRole('combobox', { name: '评价指数' }).click();
  await phone.locator('.ant-select-item-option', { hasText: '区县文化设施指数' }).click();
  const phoneCard = phone.getByTestId('evaluation-map');
  await expect
    .poll(() => phoneCard.locator('[data-chart-state="drawn"]').count(), { timeout: 15_000 })
    .toBe(1);
  const map = (await phoneCard.locator('svg').first().boundingBox())!;
  expect(map.x).toBeGreaterThanOrEqual(0);
  expect(map.x + map.width).toBeLessThanOrEqual(390);
  expect(await phoneCard.locator('svg path[stroke="#fff"], svg path[stroke="#ffffff"]').count()).toBe(
    DISTRICTS.length,
  );
  await app.shot(phone, 'phone');
  expect(app.pageErrors).toEqual([]);
});
