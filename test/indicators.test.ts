import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countiesOf } from '../src/standards/region.ts';
import { makeUscc } from '../src/standards/uscc.ts';
import { DEMO_PASSWORD, loadedResource, startTestApp, type TestApp } from './helpers.ts';
import { pdfText } from './support/pdf-text.ts';

/**
 * Issue #23 through HTTP: one indicator dictionary, one-form reporting that collects each figure
 * once, and the evaluation index computed from the values reported.
 */
let t: TestApp;
let admin: string;
let civil: string; // 民政局 steward: owns the population indicators
let health: string; // 卫健委 steward: a second department needing the same figures
let xihu: string; // a grassroots steward in 西湖区 (330106)
let binjiang: string; // a grassroots steward in 滨江区 (330108)

const UNIT1 = '330106001001';
const UNIT2 = '330106001002';

async function grassroots(region: string, username: string) {
  const org = await t.request({
    method: 'POST',
    url: '/v1/organizations',
    token: admin,
    payload: {
      name: `云岚市${username}街道办事处`,
      type: 'government_department',
      level: 'county',
      regionCode: region,
      uscc: makeUscc('1', '1', region, Math.random().toString().slice(2, 10)),
    },
  });
  expect(org.statusCode).toBe(201);
  const user = await t.request({
    method: 'POST',
    url: '/v1/users',
    token: admin,
    payload: {
      orgId: org.json().id,
      username,
      displayName: `${username} 网格员`,
      password: DEMO_PASSWORD,
      roles: ['data_steward'],
    },
  });
  expect(user.statusCode).toBe(201);
  return t.login(username);
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
  civil = await t.login('steward.civil');
  health = await t.login('steward.health');
  xihu = await grassroots('330106', 'grid.xihu');
  binjiang = await grassroots('330108', 'grid.binjiang');
});
afterAll(() => t.close());

const post = (url: string, token: string, payload?: object) =>
  t.request({ method: 'POST', url, token, ...(payload ? { payload } : {}) });
const get = (url: string, token: string) => t.request({ method: 'GET', url, token });

const indicator = (code: string, definition: string, extra: Record<string, unknown> = {}) => ({
  code,
  nameZh: definition,
  nameEn: code,
  definition,
  unit: '人',
  dataType: 'integer',
  period: 'year',
  level: 'community',
  source: { kind: 'reported' },
  rule: { min: 0 },
  ...extra,
});

describe('the indicator dictionary', () => {
  it('defines each indicator once and refuses a second one with the same definition', async () => {
    for (const [code, definition] of [
      ['POP', '社区常住人口总数'],
      ['ELD', '社区60周岁及以上常住人口数'],
      ['YOUNG', '社区60周岁以下常住人口数'],
    ] as const) {
      const res = await post('/v1/indicators', civil, indicator(code, definition));
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ code, version: 1, state: 'active', source: { kind: 'reported' } });
    }
    const clinics = await post(
      '/v1/indicators',
      health,
      indicator('CLINICS', '社区卫生服务站数量', { unit: '个' }),
    );
    expect(clinics.statusCode).toBe(201);
    // The same definition in other spacing and punctuation is the same figure.
    const again = await post('/v1/indicators', health, indicator('H-ELD', '社区 60 周岁及以上常住人口数。'));
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({
      code: 'INDICATOR_DUPLICATE',
      details: { existing: 'ELD', reason: 'same_definition' },
    });
    expect(again.json().error.messages['zh-CN']).toContain('指标');
  });

  it('keeps versions, and only the owning department revises', async () => {
    const res = await t.request({
      method: 'PATCH',
      url: '/v1/indicators/POP',
      token: civil,
      payload: { nameEn: 'Resident population', rule: { min: 0, max: 100000 } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ version: 2, nameEn: 'Resident population' });
    const detail = (await get('/v1/indicators/POP', health)).json();
    expect(detail.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(detail.versions[0].snapshot.nameEn).toBe('POP');
    const foreign = await t.request({
      method: 'PATCH',
      url: '/v1/indicators/POP',
      token: health,
      payload: { unit: '户' },
    });
    expect(foreign.statusCode).toBe(403);
  });

  it('finds near-duplicates and merges them (the data bureau only)', async () => {
    expect(
      (await post('/v1/indicators', health, indicator('H-OLD', '社区60周岁及以上常住老年人口数'))).statusCode,
    ).toBe(201);
    const pairs = (await get('/v1/indicators/near-duplicates', civil)).json();
    expect(pairs).toContainEqual(expect.objectContaining({ a: 'ELD', b: 'H-OLD' }));
    expect((await post('/v1/indicators/H-OLD/merge', health, { into: 'ELD' })).statusCode).toBe(403);
    const merged = await post('/v1/indicators/H-OLD/merge', admin, { into: 'ELD' });
    expect(merged.statusCode, merged.body).toBe(200);
    expect(merged.json()).toMatchObject({ state: 'merged' });
    expect(merged.json().mergedInto).toMatch(/^ind_/);
    // A merged indicator cannot be merged or retired again: the lifecycle refuses.
    const twice = await post('/v1/indicators/H-OLD/retire', health);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('INVALID_TRANSITION');
  });

  it('refuses bad input with 400', async () => {
    const bad = [
      indicator('X1', '甲', { dataType: 'text' }),
      indicator('X2', '乙', { source: { kind: 'formula', op: 'ratio', of: ['POP', 'ELD', 'YOUNG'] } }),
      indicator('X3', '丙', { source: { kind: 'formula', op: 'sum', of: ['POP', 'NOPE'] } }),
      indicator('X4', '丁', { rule: { min: 5, max: 1 } }),
      { ...indicator('X5', '戊'), extra: true },
    ];
    for (const payload of bad) {
      const res = await post('/v1/indicators', civil, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });
});

let submission1: string;

describe('one-form reporting (一表通)', () => {
  it('keeps the catalogue to the data bureau; outside it a form needs an approval on record', async () => {
    const form = {
      code: 'F-CIVIL',
      nameZh: '社区人口年报',
      nameEn: 'Community population',
      year: 2026,
      period: 'year',
      level: 'community',
      indicators: ['POP', 'ELD', 'YOUNG'],
      checks: [{ kind: 'sum', total: 'POP', parts: ['ELD', 'YOUNG'] }],
    };
    expect((await post('/v1/forms', civil, { ...form, basis: 'catalogue' })).statusCode).toBe(403);
    const noApproval = await post('/v1/forms', civil, { ...form, basis: 'one_off' });
    expect(noApproval.statusCode).toBe(400);
    const created = await post('/v1/forms', admin, { ...form, basis: 'catalogue' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ state: 'draft', basis: 'catalogue' });
    const oneOff = await post('/v1/forms', health, {
      code: 'F-HEALTH',
      nameZh: '社区卫生年报',
      nameEn: 'Community health',
      year: 2026,
      period: 'year',
      level: 'community',
      basis: 'one_off',
      approval: '云岚数据〔2026〕7号 一事一报审批',
      indicators: ['POP', 'ELD', 'CLINICS'],
    });
    expect(oneOff.statusCode, oneOff.body).toBe(201);
    // A merged indicator is no longer offered.
    const merged = await post('/v1/forms', health, {
      ...form,
      code: 'F-X',
      basis: 'after_filing',
      approval: '备案',
      indicators: ['H-OLD'],
      checks: [],
    });
    expect(merged.statusCode).toBe(400);
  });

  it('refuses submissions to a form not issued, then issues', async () => {
    const early = await post('/v1/forms/F-CIVIL/submissions', xihu, {
      period: '2026',
      unitCode: UNIT1,
      values: { POP: 1, ELD: 0, YOUNG: 1 },
    });
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('INVALID_TRANSITION');
    expect((await post('/v1/forms/F-CIVIL/issue', health)).statusCode).toBe(403);
    expect((await post('/v1/forms/F-CIVIL/issue', admin)).json().state).toBe('issued');
    expect((await post('/v1/forms/F-HEALTH/issue', health)).json().state).toBe('issued');
    expect((await post('/v1/forms/F-HEALTH/issue', health)).statusCode).toBe(409);
  });

  it('shows a unit one merged to-do: 2 forms, 6 item slots, 4 indicators', async () => {
    const res = await get(`/v1/forms/todo?unitCode=${UNIT1}&period=2026`, xihu);
    expect(res.statusCode, res.body).toBe(200);
    const todo = res.json();
    expect(todo.measure).toMatchObject({
      forms: 2,
      items: 6,
      indicators: 4,
      prefilled: 0,
      prefilledShare: 0,
    });
    expect(todo.items.find((i: { code: string }) => i.code === 'POP').forms).toEqual(['F-CIVIL', 'F-HEALTH']);
    const catalogue = (await get('/v1/forms?year=2026', civil)).json();
    expect(catalogue.measure).toMatchObject({ forms: 2, onCatalogue: 1, items: 6, indicators: 4 });
  });

  it('validates values: types, ranges and parts adding up to the total', async () => {
    const submit = (values: Record<string, number>) =>
      post('/v1/forms/F-CIVIL/submissions', xihu, { period: '2026', unitCode: UNIT1, values });
    const sum = await submit({ POP: 1000, ELD: 300, YOUNG: 600 });
    expect(sum.statusCode).toBe(422);
    expect(sum.json().error).toMatchObject({
      code: 'REPORT_CHECK_FAILED',
      details: { failures: [{ indicator: 'POP', rule: 'sum', value: 1000, expected: 900 }] },
    });
    const types = await submit({ POP: 1000.5, ELD: -1, YOUNG: 1001.5 });
    expect(types.statusCode).toBe(422);
    expect(
      types
        .json()
        .error.details.failures.map((f: { rule: string }) => f.rule)
        .sort(),
    ).toEqual(['integer', 'integer', 'min']);
    const missing = await submit({ POP: 1000 });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details.missing).toEqual(['ELD', 'YOUNG']);
    expect((await submit({ POP: 1, ELD: 0, YOUNG: 1, CLINICS: 2 })).statusCode).toBe(400);
  });

  it('refuses units of the wrong level, periods of the wrong year and units outside the area', async () => {
    const base = { values: { POP: 1000, ELD: 300, YOUNG: 700 } };
    for (const [period, unitCode] of [
      ['2026', '330106001'],
      ['2025', UNIT1],
      ['2026-03', UNIT1],
      ['2026', '999999001001'],
    ]) {
      const res = await post('/v1/forms/F-CIVIL/submissions', xihu, { ...base, period, unitCode });
      expect(res.statusCode, `${period} ${unitCode}`).toBe(400);
    }
    const outside = await post('/v1/forms/F-CIVIL/submissions', binjiang, {
      ...base,
      period: '2026',
      unitCode: UNIT1,
    });
    expect(outside.statusCode).toBe(403);
    expect(outside.json().error.code).toBe('OUTSIDE_JURISDICTION');
  });

  it('property: a reporter reaches the units of their own area and no other', async () => {
    const counties = countiesOf('330100').map((c) => c.code);
    const digits = fc.integer({ min: 1, max: 999 }).map((n) => String(n).padStart(3, '0'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...counties), digits, digits, async (county, town, community) => {
        const unitCode = `${county}${town}${community}`;
        const res = await get(`/v1/forms/todo?unitCode=${unitCode}&period=2026`, binjiang);
        expect(res.statusCode).toBe(county === '330108' ? 200 : 403);
      }),
      { numRuns: 25 },
    );
  });

  it('collects once: a figure entered on one form fills the other; a different figure is refused', async () => {
    const first = await post('/v1/forms/F-CIVIL/submissions', xihu, {
      period: '2026',
      unitCode: UNIT1,
      values: { POP: 1000, ELD: 300, YOUNG: 700 },
    });
    expect(first.statusCode, first.body).toBe(201);
    submission1 = first.json().id;
    expect(first.json().items.every((i: { source: string }) => i.source === 'entered')).toBe(true);

    const twice = await post('/v1/forms/F-CIVIL/submissions', xihu, {
      period: '2026',
      unitCode: UNIT1,
      values: { POP: 1000, ELD: 300, YOUNG: 700 },
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error).toMatchObject({
      code: 'SUBMISSION_DUPLICATE',
      details: { submissionId: submission1 },
    });

    const todo = (await get(`/v1/forms/todo?unitCode=${UNIT1}&period=2026`, xihu)).json();
    expect(todo.measure).toMatchObject({ indicators: 4, prefilled: 3, prefilledShare: 0.75 });
    expect(todo.items.find((i: { code: string }) => i.code === 'POP').prefill).toMatchObject({
      value: 1000,
      submissionId: submission1,
    });

    // The health form asks for POP and ELD again: only the clinics are entered.
    const second = await post('/v1/forms/F-HEALTH/submissions', xihu, {
      period: '2026',
      unitCode: UNIT1,
      values: { CLINICS: 3 },
    });
    expect(second.statusCode, second.body).toBe(201);
    const items = Object.fromEntries(second.json().items.map((i: { code: string }) => [i.code, i]));
    expect(items.POP).toMatchObject({ value: 1000, source: 'reused', from: submission1 });
    expect(items.CLINICS).toMatchObject({ value: 3, source: 'entered' });

    // Another unit: a second, different population figure is refused, the same one is merged.
    expect(
      (
        await post('/v1/forms/F-CIVIL/submissions', xihu, {
          period: '2026',
          unitCode: UNIT2,
          values: { POP: 500, ELD: 100, YOUNG: 400 },
        })
      ).statusCode,
    ).toBe(201);
    const conflict = await post('/v1/forms/F-HEALTH/submissions', xihu, {
      period: '2026',
      unitCode: UNIT2,
      values: { POP: 501, CLINICS: 5 },
    });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error).toMatchObject({
      code: 'VALUE_ALREADY_REPORTED',
      details: { conflicts: [{ indicator: 'POP', held: 500, given: 501 }] },
    });
    const same = await post('/v1/forms/F-HEALTH/submissions', xihu, {
      period: '2026',
      unitCode: UNIT2,
      values: { POP: 500, CLINICS: 5 },
    });
    expect(same.statusCode, same.body).toBe(201);
    expect(same.json().items.find((i: { code: string }) => i.code === 'POP').source).toBe('reused');
  });

  it('of two forms racing to report different figures for one unit, exactly one wins', async () => {
    const unit = '330106002001';
    const [a, b] = await Promise.all([
      post('/v1/forms/F-CIVIL/submissions', xihu, {
        period: '2026',
        unitCode: unit,
        values: { POP: 10, ELD: 4, YOUNG: 6 },
      }),
      post('/v1/forms/F-HEALTH/submissions', xihu, {
        period: '2026',
        unitCode: unit,
        values: { POP: 11, ELD: 5, CLINICS: 1 },
      }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([201, 409]);
    const loser = a.statusCode === 409 ? a : b;
    expect(loser.json().error.code).toBe('VALUE_ALREADY_REPORTED');
    const held = (await get(`/v1/indicators/POP/values?period=2026&within=${unit}`, civil)).json();
    expect(held).toHaveLength(1);
    expect(held[0].value).toBe(a.statusCode === 201 ? 10 : 11);
  });

  it('lets every department read the one value, with where it came from', async () => {
    for (const token of [health, civil, await t.login('consumer.civil')]) {
      const res = await get('/v1/indicators/POP/values?period=2026&within=330106001', token);
      expect(res.statusCode).toBe(200);
      expect(res.json().map((v: { unitCode: string; value: number }) => [v.unitCode, v.value])).toEqual([
        [UNIT1, 1000],
        [UNIT2, 500],
      ]);
      expect(res.json()[0].submissionId).toBe(submission1);
    }
  });

  it('returns for correction, resubmits, accepts — and refuses moves the lifecycle does not have', async () => {
    expect(
      (await post(`/v1/forms/submissions/${submission1}/return`, health, { reason: 'x' })).statusCode,
    ).toBe(403);
    // The city's form: the district (330106) signs the community's report off before the city
    // decides; the town has no government department of its own and is skipped.
    const early = await post(`/v1/forms/submissions/${submission1}/accept`, admin);
    expect(early.statusCode).toBe(409);
    expect(early.json().error).toMatchObject({
      code: 'SIGNOFF_PENDING',
      details: { awaiting: { level: 'district', unitCode: '330106' } },
    });
    const signed = await post(`/v1/forms/submissions/${submission1}/signoff`, xihu, {});
    expect(signed.statusCode, signed.body).toBe(200);
    expect(signed.json().chain).toMatchObject({
      round: 1,
      signedOff: true,
      awaiting: { by: 'department' },
      steps: [
        { level: 'town', unitCode: '330106001', state: 'skipped' },
        { level: 'district', unitCode: '330106', state: 'signed' },
      ],
    });
    const returned = await post(`/v1/forms/submissions/${submission1}/return`, admin, {
      reason: '人口数有误',
    });
    expect(returned.statusCode).toBe(200);
    expect(returned.json()).toMatchObject({ state: 'returned', reason: '人口数有误' });
    const acceptReturned = await post(`/v1/forms/submissions/${submission1}/accept`, admin);
    expect(acceptReturned.statusCode).toBe(409);
    expect(acceptReturned.json().error.code).toBe('INVALID_TRANSITION');

    const corrected = await post('/v1/forms/F-CIVIL/submissions', xihu, {
      period: '2026',
      unitCode: UNIT1,
      values: { POP: 1001, YOUNG: 701 },
    });
    expect(corrected.statusCode, corrected.body).toBe(201);
    expect(corrected.json()).toMatchObject({ id: submission1, state: 'submitted', reason: null });
    // The corrected report climbs the whole way again.
    expect(corrected.json().chain).toMatchObject({
      round: 2,
      awaiting: { by: 'division', unitCode: '330106' },
    });
    // The corrected figure is the one every form and department now reads.
    const values = (await get('/v1/indicators/POP/values?period=2026&within=330106001001', health)).json();
    expect(values).toMatchObject([{ unitCode: UNIT1, value: 1001 }]);

    expect((await post(`/v1/forms/submissions/${submission1}/signoff`, xihu, {})).statusCode).toBe(200);
    expect((await post(`/v1/forms/submissions/${submission1}/accept`, admin)).json().state).toBe('accepted');
    expect(
      (await post(`/v1/forms/submissions/${submission1}/return`, admin, { reason: 'y' })).statusCode,
    ).toBe(409);
    // An accepted figure is not changed by another form either.
    const late = await post('/v1/forms/F-CIVIL/submissions', xihu, {
      period: '2026',
      unitCode: UNIT1,
      values: { POP: 1002, ELD: 300, YOUNG: 702 },
    });
    expect(late.statusCode).toBe(409);
  });

  it('rolls accepted submissions up to the town and the city', async () => {
    const res = await get(`/v1/forms/F-CIVIL/rollup?unitCode=330106001&period=2026`, civil);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      units: 1,
      items: [
        { code: 'POP', value: 1001, units: 1 },
        { code: 'ELD', value: 300, units: 1 },
        { code: 'YOUNG', value: 701, units: 1 },
      ],
    });
    // The city's units share 3301: the city's roll-up finds them too (it found none before).
    const city = await get(`/v1/forms/F-CIVIL/rollup?unitCode=330100&period=2026`, civil);
    expect(city.json().units).toBe(1);
    expect(city.json().items[0]).toEqual({ code: 'POP', value: 1001, units: 1 });
  });

  it('records every step in the audit log', async () => {
    const actions = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', 'like', 'submission.%')
      .execute();
    expect(actions.map((a) => a.action).sort()).toEqual(
      [
        'submission.accept',
        'submission.create',
        'submission.create',
        'submission.create',
        'submission.create',
        'submission.create',
        'submission.resubmit',
        'submission.return',
        'submission.signoff',
        'submission.signoff',
      ].sort(),
    );
  });
});

describe('the evaluation index', () => {
  const definition = {
    code: 'AGEING',
    nameZh: '社区养老服务指数',
    nameEn: 'Community elderly-care index',
    aggregation: 'arithmetic',
    dimensions: [
      {
        code: 'ageing',
        nameZh: '老龄化',
        nameEn: 'Ageing',
        weight: 1,
        indicators: [
          {
            code: 'ELD-SHARE',
            weight: 1,
            normalization: { method: 'fixed', min: 0, max: 1 },
            direction: 'lower',
          },
        ],
      },
      {
        code: 'services',
        nameZh: '服务设施',
        nameEn: 'Services',
        weight: 1,
        indicators: [{ code: 'CLINICS', weight: 1, normalization: { method: 'minmax' } }],
      },
    ],
  };

  it('computes from a formula over dictionary indicators: ELD-SHARE = ELD / POP', async () => {
    const res = await post(
      '/v1/indicators',
      civil,
      indicator('ELD-SHARE', '社区60周岁及以上人口占常住人口比例', {
        unit: '比例',
        dataType: 'decimal',
        source: { kind: 'formula', op: 'ratio', of: ['ELD', 'POP'] },
        rule: {},
      }),
    );
    expect(res.statusCode, res.body).toBe(201);
    // Computed figures are not asked of anyone.
    const onForm = await post('/v1/forms', admin, {
      code: 'F-SHARE',
      nameZh: '比例',
      nameEn: 'Share',
      year: 2026,
      period: 'year',
      level: 'community',
      basis: 'catalogue',
      indicators: ['ELD-SHARE'],
    });
    expect(onForm.statusCode).toBe(400);
  });

  it('is defined and published by the data bureau only', async () => {
    expect((await post('/v1/evaluation/indexes', civil, definition)).statusCode).toBe(403);
    const unknown = structuredClone(definition);
    unknown.code = 'BAD';
    unknown.dimensions[1]!.indicators[0]!.code = 'NOPE';
    expect((await post('/v1/evaluation/indexes', admin, unknown)).statusCode).toBe(400);
    const created = await post('/v1/evaluation/indexes', admin, definition);
    expect(created.statusCode, created.body).toBe(201);
    const early = await get('/v1/evaluation/indexes/AGEING/results?period=2026', civil);
    expect(early.statusCode).toBe(409);
    expect((await post('/v1/evaluation/indexes/AGEING/publish', civil)).statusCode).toBe(403);
    expect((await post('/v1/evaluation/indexes/AGEING/publish', admin)).json().state).toBe('published');
  });

  it('scores, ranks and traces every input back to the value reported', async () => {
    const res = await get(
      '/v1/evaluation/indexes/AGEING/results?period=2026&previousPeriod=2025&within=330106001',
      health,
    );
    expect(res.statusCode, res.body).toBe(200);
    const [first, second] = res.json().units;
    // Unit 2: share 100/500 = 0.2 → 1 − 0.2 = 0.8; clinics 5 is the max → 1; mean 0.9.
    expect(first).toMatchObject({ unitCode: UNIT2, rank: 1, previousScore: null, change: null });
    expect(first.score).toBeCloseTo(0.9, 12);
    // Unit 1: share 300/1001 → 1 − 0.2997003 = 0.7002997; clinics 3 is the min → 0; mean 0.35014985.
    expect(second).toMatchObject({ unitCode: UNIT1, rank: 2, coverage: 1 });
    expect(second.score).toBeCloseTo((1 - 300 / 1001) / 2, 12);
    expect(second.dimensions.map((d: { contribution: number }) => d.contribution)).toEqual([
      expect.closeTo((1 - 300 / 1001) / 2, 12),
      0,
    ]);
    const inputs = Object.fromEntries(second.inputs.map((i: { indicator: string }) => [i.indicator, i]));
    expect(inputs['ELD-SHARE']).toMatchObject({ derivedFrom: ['ELD', 'POP'], valueId: null });
    expect(inputs['ELD-SHARE'].value).toBeCloseTo(300 / 1001, 12);
    expect(inputs.CLINICS).toMatchObject({ value: 3, normalized: 0 });
    expect(inputs.CLINICS.submissionId).toMatch(/^rsb_/);
    expect(inputs.CLINICS.valueId).toMatch(/^ivl_/);
  });

  it('prints the same results as a report, Chinese font embedded', async () => {
    const query = 'period=2026&previousPeriod=2025&within=330106001';
    const res = await get(`/v1/evaluation/indexes/AGEING/report?${query}`, health);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const bytes = res.rawPayload.toString('latin1');
    expect(bytes.startsWith('%PDF')).toBe(true);
    expect(bytes).toMatch(/FontFile2/);
    expect(bytes).toMatch(/WenQuanYiMicroHei/);
    const text = pdfText(res.rawPayload);
    expect(text).toContain('社区养老服务指数评价报告');
    expect(text).toContain('期间 Period：2026（对比 compared with 2025）');
    // The ranking as the results API gives it: unit 2 first at 0.9, unit 1 second at 0.3501.
    const results = (await get(`/v1/evaluation/indexes/AGEING/results?${query}`, health)).json();
    // Table cells wrap; read the text as one run.
    const flat = text.replaceAll('\n', '');
    const units = results.units as Array<{ unitCode: string; score: number }>;
    expect(units.map((u) => u.unitCode)).toEqual([UNIT2, UNIT1]);
    for (const u of units) expect(flat).toContain(`${u.unitCode}${u.score.toFixed(4)}`);
    expect(flat.indexOf(`${UNIT2}0.9000`)).toBeLessThan(flat.indexOf(`${UNIT1}0.3501`));
    // The method, each normalization named with the published index it comes from.
    expect(text).toContain('DESI');
    expect(text).toContain('最小–最大值归一');
    expect(text).toContain('越低越好');
    expect((await get(`/v1/evaluation/indexes/NOPE/report?period=2026`, health)).statusCode).toBe(404);
    expect((await get(`/v1/evaluation/indexes/AGEING/report?period=2026-Q1`, health)).statusCode).toBe(400);
  });

  it('says so when the server has no Chinese font, instead of printing boxes', async () => {
    const before = process.env.PDF_CJK_FONT;
    process.env.PDF_CJK_FONT = '/nonexistent/font.ttc';
    try {
      const res = await get('/v1/evaluation/indexes/AGEING/report?period=2026', health);
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatchObject({
        code: 'PDF_FONT_MISSING',
        details: { font: '/nonexistent/font.ttc' },
      });
      expect(res.json().error.messages['zh-CN']).toContain('中文字体');
    } finally {
      if (before === undefined) delete process.env.PDF_CJK_FONT;
      else process.env.PDF_CJK_FONT = before;
    }
  });

  it('refuses a period of another kind', async () => {
    expect((await get('/v1/evaluation/indexes/AGEING/results?period=2026-Q1', civil)).statusCode).toBe(400);
    expect((await get('/v1/evaluation/indexes/AGEING/results?period=26', civil)).statusCode).toBe(400);
  });
});

describe('deadlines and reminders', () => {
  // Hand-counted on the State Council's 2025 arrangement: January ends inside the Spring Festival
  // (Jan 28 – Feb 4 off, Saturday Feb 8 a make-up working day): Feb 5, 6, 7, 8, 10 → due Feb 10.
  // April ends before May Day (May 1–5 off): May 6, 7, 8, 9, 12 → due May 12.
  const JANUARY_DUE = '2025-02-10';
  const APRIL_DUE = '2025-05-12';
  type Reminder = { formCode: string; period: string; dueOn: string; overdue: boolean; returned: boolean };
  const reminders = async (token: string, unitCode?: string) => {
    const res = await get(`/v1/forms/reminders${unitCode ? `?unitCode=${unitCode}` : ''}`, token);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { unitCode: string; today: string; items: Reminder[] };
  };
  const mine = (r: { items: Reminder[] }) => r.items.filter((i) => i.formCode === 'F-VISITS');

  beforeAll(async () => {
    const visits = await post(
      '/v1/indicators',
      civil,
      indicator('VISITS', '社区网格员月度入户走访户数', { period: 'month', unit: '户' }),
    );
    expect(visits.statusCode, visits.body).toBe(201);
    const form = await post('/v1/forms', admin, {
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
    expect(form.statusCode, form.body).toBe(201);
    expect(form.json().dueWorkingDays).toBe(5);
    expect((await post('/v1/forms/F-VISITS/issue', admin)).statusCode).toBe(200);
  });

  it('dates each report by working days after its period, across the holidays', async () => {
    const todo = (await get(`/v1/forms/todo?unitCode=${UNIT1}&period=2025-04`, xihu)).json();
    expect(todo.forms).toEqual([
      expect.objectContaining({ code: 'F-VISITS', dueOn: APRIL_DUE, overdue: true, calendarCertain: true }),
    ]);
    const january = (await reminders(xihu, UNIT1)).items.find((i) => i.period === '2025-01');
    expect(january).toMatchObject({ dueOn: JANUARY_DUE, overdue: true });
  });

  it('reminds a unit of every ended period not reported, drops what it submits, and brings back what is returned', async () => {
    const before = mine(await reminders(xihu, UNIT1));
    // Every month of 2025 has ended and is past due (this runs after February 2026).
    expect(before.map((i) => i.period)).toEqual(
      Array.from({ length: 12 }, (_, m) => `2025-${String(m + 1).padStart(2, '0')}`),
    );
    expect(before.every((i) => i.overdue && !i.returned)).toBe(true);
    const submitted = await post('/v1/forms/F-VISITS/submissions', xihu, {
      period: '2025-03',
      unitCode: UNIT1,
      values: { VISITS: 120 },
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    expect(mine(await reminders(xihu, UNIT1)).map((i) => i.period)).not.toContain('2025-03');
    // Another unit's reminders are its own.
    expect(mine(await reminders(xihu, UNIT2)).map((i) => i.period)).toContain('2025-03');
    const returned = await post(`/v1/forms/submissions/${submitted.json().id}/return`, admin, {
      reason: '走访户数与台账不符',
    });
    expect(returned.statusCode, returned.body).toBe(200);
    const back = mine(await reminders(xihu, UNIT1)).find((i) => i.period === '2025-03');
    expect(back).toMatchObject({ returned: true, overdue: true });
  });

  it('names no period that has not ended, reads the caller’s own unit by default, and keeps to the area', async () => {
    const future = await post('/v1/forms', admin, {
      code: 'F-FUTURE',
      nameZh: '未来年报',
      nameEn: 'A later year',
      year: 2099,
      period: 'month',
      level: 'community',
      basis: 'catalogue',
      indicators: ['VISITS'],
    });
    expect(future.statusCode, future.body).toBe(201);
    expect(future.json().dueWorkingDays).toBe(10);
    await post('/v1/forms/F-FUTURE/issue', admin);
    expect((await reminders(xihu, UNIT1)).items.some((i) => i.formCode === 'F-FUTURE')).toBe(false);
    // The steward's organization is the district 330106: its own reminders are the district's.
    const own = await reminders(xihu);
    expect(own.unitCode).toBe('330106');
    expect(own.items.some((i) => i.formCode === 'F-VISITS')).toBe(false);
    const outside = await get(`/v1/forms/reminders?unitCode=${UNIT1}`, binjiang);
    expect(outside.statusCode).toBe(403);
    expect((await get('/v1/forms/reminders?unitCode=12', xihu)).statusCode).toBe(400);
    const tooLate = await post('/v1/forms', admin, {
      code: 'F-LATE',
      nameZh: '超期',
      nameEn: 'Too late',
      year: 2026,
      period: 'month',
      level: 'community',
      basis: 'catalogue',
      indicators: ['VISITS'],
      dueWorkingDays: 61,
    });
    expect(tooLate.statusCode).toBe(400);
    expect(tooLate.body).toContain('dueWorkingDays');
  });
});

describe('pre-filled from shared data, through contracts', () => {
  // The health commission already keeps the number of contracted family-doctor teams per community
  // and year as a catalog resource; the community should not count them again.
  const UNIT3 = '330106001003'; // a community of 西湖区 the resource has no row for
  const BINJIANG = '330108001001';
  let resource: { id: string; code: string };
  let xihuConsumer: string;
  let contractId: string;
  type Item = { code: string; prefill: null | { value: number; source: string; contractId: string | null } };
  const todoItem = async (unitCode: string, token = xihu) => {
    const res = await get(`/v1/forms/todo?unitCode=${unitCode}&period=2025`, token);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().items as Item[]).find((i) => i.code === 'TEAMS')!;
  };
  const pull = (unitCode: string, token = xihu) =>
    post('/v1/forms/todo/prefill', token, { unitCode, period: '2025' });

  beforeAll(async () => {
    resource = await loadedResource(t, health, {
      name: '社区家庭医生签约团队统计',
      fields: [
        { name: 'unit_code', label: '社区代码', dataType: 'text', isKey: true },
        { name: 'period', label: '统计年度', dataType: 'text' },
        { name: 'teams', label: '签约团队数', dataType: 'integer' },
      ],
      grades: { unit_code: ['g1', null], period: ['g1', null], teams: ['g1', null] },
      rows: [
        { unit_code: UNIT1, period: '2025', teams: 3 },
        { unit_code: UNIT2, period: '2025', teams: 5 },
        { unit_code: UNIT1, period: '2024', teams: 2 },
        { unit_code: BINJIANG, period: '2025', teams: 4 },
      ],
    });
    const source = { kind: 'resource_field', resourceId: resource.id, field: 'teams' };
    // Unit and period fields go together, and must be fields of the resource.
    const half = await post(
      '/v1/indicators',
      health,
      indicator('TEAMS', '社区家庭医生签约团队数', {
        unit: '个',
        source: { ...source, unitField: 'unit_code' },
      }),
    );
    expect(half.statusCode).toBe(400);
    const unknown = await post(
      '/v1/indicators',
      health,
      indicator('TEAMS', '社区家庭医生签约团队数', {
        unit: '个',
        source: { ...source, unitField: 'unit_code', periodField: 'year' },
      }),
    );
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toContain('source.periodField');
    const teams = await post(
      '/v1/indicators',
      health,
      indicator('TEAMS', '社区家庭医生签约团队数', {
        unit: '个',
        source: { ...source, unitField: 'unit_code', periodField: 'period' },
      }),
    );
    expect(teams.statusCode, teams.body).toBe(201);
    const form = await post('/v1/forms', admin, {
      code: 'F-TEAMS',
      nameZh: '社区卫生服务年报',
      nameEn: 'Community health services (yearly)',
      year: 2025,
      period: 'year',
      level: 'community',
      basis: 'catalogue',
      indicators: ['TEAMS', 'POP'],
    });
    expect(form.statusCode, form.body).toBe(201);
    expect((await post('/v1/forms/F-TEAMS/issue', admin)).statusCode).toBe(200);
    // The grassroots organization's own applicant (consumer role) asks for the figure.
    const { org_id } = await t.database.db
      .selectFrom('users')
      .select('org_id')
      .where('username', '=', 'grid.xihu')
      .executeTakeFirstOrThrow();
    const user = await post('/v1/users', admin, {
      orgId: org_id,
      username: 'apply.xihu',
      displayName: '西湖区数据申请员',
      password: DEMO_PASSWORD,
      roles: ['consumer'],
    });
    expect(user.statusCode, user.body).toBe(201);
    xihuConsumer = await t.login('apply.xihu');
  });

  it('names the item no contract covers, reads nothing and asks for it as before', async () => {
    const res = await pull(UNIT1);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().filled).toEqual([]);
    expect(res.json().refused).toContainEqual({ code: 'TEAMS', reason: 'no_contract' });
    expect((await todoItem(UNIT1)).prefill).toBeNull();
    const reads = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', 'like', 'gateway.%')
      .execute();
    expect(reads).toEqual([]);
  });

  it('pre-fills under a contract of the unit’s organization, the contract named as the source', async () => {
    const app = await post('/v1/applications', xihuConsumer, {
      resource: resource.code,
      fields: ['unit_code', 'period', 'teams'],
      purpose: '一表通社区卫生年报预填',
      purposeCategory: 'public_service',
      legalBasis: '国办函〔2022〕102号',
      scenario: '基层报表减负',
      operations: ['rows'],
      requestedTo: new Date(Date.now() + 90 * 86_400_000).toISOString(),
    });
    expect(app.statusCode, app.body).toBe(201);
    const approved = await post(`/v1/applications/${app.json().id}/approve`, health, {});
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().state).toBe('approved');
    contractId = approved.json().contractId;

    const res = await pull(UNIT1);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().filled).toEqual([{ code: 'TEAMS', value: 3, contractId }]);
    const item = res.json().todo.items.find((i: Item) => i.code === 'TEAMS');
    expect(item.prefill).toMatchObject({ value: 3, source: 'shared', contractId, resourceId: resource.id });
    expect(res.json().todo.measure.fromShared).toBe(1);
    // The read is the gateway's own audited call on the contract, and the pull is audited too.
    const reads = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'object_id'])
      .where('action', 'in', ['gateway.rows', 'report.prefill'])
      .execute();
    expect(reads).toContainEqual({ action: 'gateway.rows', object_id: contractId });
    expect(reads).toContainEqual({ action: 'report.prefill', object_id: UNIT1 });
    // No row for the unit and period: named, not guessed.
    expect((await pull(UNIT3)).json().refused).toContainEqual({ code: 'TEAMS', reason: 'no_row' });
  });

  it('submits the shared figure as the unit’s own report, from the contract', async () => {
    const res = await post('/v1/forms/F-TEAMS/submissions', xihu, {
      period: '2025',
      unitCode: UNIT1,
      values: { POP: 900 },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().items).toContainEqual({ code: 'TEAMS', value: 3, source: 'shared', from: contractId });
    expect(res.json().items).toContainEqual(expect.objectContaining({ code: 'POP', source: 'entered' }));
    // Now a reported value: the to-do shows it as reported.
    expect((await todoItem(UNIT1)).prefill).toMatchObject({ value: 3, source: 'reported' });
  });

  it('never lends one organization’s contract to another unit', async () => {
    const res = await pull(BINJIANG, binjiang);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().refused).toContainEqual({ code: 'TEAMS', reason: 'no_contract' });
    expect((await pull(BINJIANG)).statusCode).toBe(403);
  });

  it('stops offering the figure once the contract is revoked: the unit is asked again', async () => {
    expect((await pull(UNIT2)).json().filled).toEqual([{ code: 'TEAMS', value: 5, contractId }]);
    const revoke = await post(`/v1/contracts/${contractId}/revoke`, health, {
      reason: '数据口径调整，重新申请',
    });
    expect(revoke.statusCode, revoke.body).toBe(200);
    expect((await todoItem(UNIT2)).prefill).toBeNull();
    const asked = await post('/v1/forms/F-TEAMS/submissions', xihu, {
      period: '2025',
      unitCode: UNIT2,
      values: { POP: 800 },
    });
    expect(asked.statusCode).toBe(400);
    expect(asked.json().error.details.missing).toEqual(['TEAMS']);
    expect((await pull(UNIT2)).json().refused).toContainEqual({ code: 'TEAMS', reason: 'no_contract' });
    // The figure reported before the revocation stays reported.
    expect((await todoItem(UNIT1)).prefill).toMatchObject({ value: 3, source: 'reported' });
  });
});
