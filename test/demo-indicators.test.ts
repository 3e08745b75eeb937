import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCtx } from '../src/core/context.ts';
import {
  AFTER_YEAR,
  BEFORE_YEAR,
  COMMUNITY_REPORTER,
  DEMO_INDEX,
  DEMO_INDICATORS,
  DEMO_REPORTS,
  DISTRICT_STEWARD,
  EVALUATION_YEARS,
  mergedCode,
  RETURN_REASON,
  seedIndicators,
  yearForms,
} from '../src/demo/indicators.ts';
import { countiesOf } from '../src/standards/region.ts';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * The demo city's one-form reporting step (src/demo/indicators.ts), seeded on the demo accounts
 * alone (it needs none of the demo resources): the catalogue measures of both years as the API
 * gives them, each expected figure computed from the forms the seed declares.
 */

let t: TestApp;
let admin: string;
let seconds: number;
beforeAll(async () => {
  t = await startTestApp();
  const started = performance.now();
  expect(await seedIndicators(cliCtx(t.database.db, t.config))).toBe(true);
  seconds = (performance.now() - started) / 1000;
  admin = await t.login('admin');
}, 120_000);
afterAll(() => t.close());

const get = async (url: string, token = admin) => {
  const res = await t.request({ method: 'GET', url, token });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

/** The burden of a year's declared forms: forms, item slots, and the indicators once twins are merged. */
function declared(year: number, onCatalogue: boolean) {
  const forms = yearForms(year);
  const slots = forms.flatMap((f) => f.indicators);
  return {
    forms: forms.length,
    onCatalogue: onCatalogue ? forms.filter((f) => !f.approval).length : 0,
    items: slots.length,
    indicators: new Set(slots.map(mergedCode)).size,
  };
}

describe('the demo city’s one-form reporting', () => {
  it('measures last year’s departmental forms against this year’s merged catalogue', async () => {
    console.info(`demo indicators seeded in ${seconds.toFixed(2)} s`);
    const before = (await get(`/v1/forms?year=${BEFORE_YEAR}`)).measure;
    const after = (await get(`/v1/forms?year=${AFTER_YEAR}`)).measure;
    expect(before).toEqual(declared(BEFORE_YEAR, false));
    expect(after).toEqual(declared(AFTER_YEAR, true));
    // The merge's point: fewer forms, far fewer item slots, each figure asked once this year.
    expect(after.forms).toBeLessThan(before.forms / 2);
    expect(after.items).toBeLessThan(before.items * 0.6);
    expect(after.items).toBe(after.indicators);
    expect(before.items).toBeGreaterThan(before.indicators);
  });

  it('found every twin indicator as a near-duplicate and merged it; none is left', async () => {
    const twins = DEMO_INDICATORS.filter((i) => i.duplicateOf);
    expect(twins.length).toBeGreaterThanOrEqual(5);
    for (const twin of twins) {
      const got = await get(`/v1/indicators/${twin.code}`);
      expect(got).toMatchObject({ state: 'merged' });
    }
    expect(await get('/v1/indicators/near-duplicates')).toEqual([]);
    const active = (await get('/v1/indicators?state=active')) as unknown[];
    expect(active.length).toBeGreaterThanOrEqual(30);
  });

  it('shows a community’s to-do with the figures it already reported pre-filled', async () => {
    const unit = '330106001001';
    const reporter = await t.login(COMMUNITY_REPORTER);
    const todo = await get(`/v1/forms/todo?unitCode=${unit}&period=${AFTER_YEAR}`, reporter);
    const reported = new Set(
      DEMO_REPORTS.filter((r) => r.unitCode === unit && r.year === AFTER_YEAR).flatMap(
        (r) => yearForms(AFTER_YEAR).find((f) => f.code === r.form)!.indicators,
      ),
    );
    const community = yearForms(AFTER_YEAR).filter((f) => f.approval === undefined);
    const items = new Set(community.flatMap((f) => f.indicators)).size;
    expect(todo.measure).toMatchObject({ prefilled: reported.size, prefilledShare: reported.size / items });
    expect(todo.measure.prefilledShare).toBeGreaterThan(0);
    expect(todo.measure.prefilledShare).toBeLessThan(1);
  });

  it('has reports waiting at 西湖区, one returned with its reason, one signed off for the bureau', async () => {
    const district = await t.login(DISTRICT_STEWARD);
    const waiting = await get('/v1/forms/signoffs', district);
    expect(waiting.division).toBe('330106');
    expect(waiting.signoff.map((s: { unitCode: string }) => s.unitCode).sort()).toEqual(
      DEMO_REPORTS.filter((r) => r.reaches === 'pending')
        .map((r) => r.unitCode)
        .sort(),
    );
    const bureau = await get('/v1/forms/signoffs');
    expect(bureau.accept.map((s: { formCode: string }) => s.formCode)).toEqual(
      DEMO_REPORTS.filter((r) => r.reaches === 'signed').map((r) => r.form),
    );
    const returned = DEMO_REPORTS.find((r) => r.reaches === 'returned')!;
    const subs = await get(`/v1/forms/${returned.form}/submissions`);
    const sub = subs.find((s: { unitCode: string }) => s.unitCode === returned.unitCode);
    expect(sub).toMatchObject({ state: 'returned', reason: RETURN_REASON });
  });

  it('ranks every district of the city on the evaluation index for each year', async () => {
    const districts = countiesOf('330100').length;
    for (const year of EVALUATION_YEARS) {
      const results = await get(`/v1/evaluation/indexes/${DEMO_INDEX}/results?period=${year}`);
      expect(results.units).toHaveLength(districts);
      expect(results.units.every((u: { score: number | null }) => u.score !== null)).toBe(true);
    }
  });

  it('adds nothing when seeded again', async () => {
    expect(await seedIndicators(cliCtx(t.database.db, t.config))).toBe(false);
  });
});
