import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shanghaiDays } from '../src/gateway/usage.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';

/**
 * Issue #23 through HTTP: platform activity as dictionary indicators — resources shared, gateway
 * calls, bundles done, satisfaction rate — counted from the platform's own records per district
 * or city and period, nobody reporting them. The activity is made here through the platform
 * (contracts and gateway calls, a "get one thing done" application completed and rated), so each
 * district's figure is known by hand.
 */
let t: TestApp;
let tokens: Actors;
let admin: string;
let fixture: ReturnType<typeof sharingFixture>;
const year = shanghaiDays(1)[0]!.slice(0, 4);

const post = (url: string, token: string, payload?: object) =>
  t.request({ method: 'POST', url, token, ...(payload ? { payload } : {}) });
const get = (url: string, token: string) => t.request({ method: 'GET', url, token });

const platform = (code: string, metric: string, level = 'district', extra: object = {}) => ({
  code,
  nameZh: code,
  nameEn: code,
  definition: `平台${metric}（${level}）`,
  unit: metric === 'satisfaction_rate' ? '%' : '个',
  dataType: metric === 'satisfaction_rate' ? 'decimal' : 'integer',
  period: 'year',
  level,
  source: { kind: 'platform', metric },
  ...extra,
});

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
  fixture = sharingFixture(t);
  ({ tokens } = fixture);
  await fixture.login();
  // Gateway calls: the civil affairs bureau (a city department, 330100) three, the mobility
  // company (滨江区 330108) two, on one resource of the health commission (330100).
  const code = await fixture.resource('平台指标测试明细', 'conditional');
  const civil = await fixture.contractFor(code);
  const mobilityUser = await t.login('consumer.mobility');
  const mobility = await fixture.contractFor(code, {}, {}, mobilityUser);
  const mobilityKey = (
    await post('/v1/api-keys', mobilityUser, { name: 'platform-figures', scopes: ['gateway'] })
  ).json().secret as string;
  for (const [contract, key, n] of [
    [civil, tokens.key, 3],
    [mobility, mobilityKey, 2],
  ] as const) {
    for (let i = 0; i < n; i++) expect((await fixture.rows(contract, 'limit=1', key)).statusCode).toBe(200);
  }
  // A bundle led by the hospital (西湖区 330106): one application done, its step rated 5 and 2.
  const hospitalOrg = (await t.actAs('steward.hospital')).principal!.orgId;
  const hospital = await t.login('steward.hospital');
  const bundle = await post('/v1/services/bundles', admin, {
    code: 'PLAT',
    name: '平台指标测试一件事',
    nameEn: 'Platform figures test',
    eventKind: 'business',
    leadOrgId: hospitalOrg,
    promisedWorkingDays: 5,
    steps: [
      { key: 'a', name: 'a', orgId: hospitalOrg, dependsOn: [], workingDays: 3, fields: [] },
      { key: 'b', name: 'b', orgId: hospitalOrg, dependsOn: [], workingDays: 3, fields: [] },
    ],
  });
  expect(bundle.statusCode, bundle.body).toBe(201);
  await post(`/v1/services/bundles/${bundle.json().id}/publish`, admin);
  const application = await post(`/v1/services/bundles/${bundle.json().id}/applications`, tokens.enterprise, {
    form: {},
  });
  expect(application.statusCode, application.body).toBe(201);
  const id = application.json().id as string;
  for (const step of ['a', 'b'])
    for (const event of ['accept', 'start', 'complete'])
      expect(
        (await post(`/v1/services/applications/${id}/steps/${step}/${event}`, hospital)).statusCode,
      ).toBe(200);
  expect((await get(`/v1/services/applications/${id}`, tokens.enterprise)).json().state).toBe('done');
  for (const [step, level] of [
    ['a', 5],
    ['b', 2],
  ] as const) {
    const rating = await post('/v1/ratings', tokens.enterprise, {
      applicationId: id,
      step,
      channel: 'online',
      level,
      indicators: { efficiency: level, guideAccuracy: level, convenience: level, usability: level },
      text: level < 3 ? '等了很久' : '很快',
      named: true,
    });
    expect(rating.statusCode, rating.body).toBe(201);
  }
}, 180_000);
afterAll(() => t.close());

describe('platform activity as indicators', () => {
  it('defines them at districts and cities only, never in a form, one per metric, level and period', async () => {
    for (const [code, metric] of [
      ['P-SHARED', 'resources_shared'],
      ['P-CALLS', 'gateway_calls'],
      ['P-DONE', 'bundles_done'],
      ['P-SATISFIED', 'satisfaction_rate'],
    ] as const) {
      const res = await post('/v1/indicators', admin, platform(code, metric));
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().source).toEqual({ kind: 'platform', metric });
    }
    for (const [code, metric] of [
      ['P-CALLS-CITY', 'gateway_calls'],
      ['P-SHARED-CITY', 'resources_shared'],
      ['P-DONE-CITY', 'bundles_done'],
    ] as const) {
      const city = await post('/v1/indicators', admin, platform(code, metric, 'city'));
      expect(city.statusCode, city.body).toBe(201);
    }
    const community = await post(
      '/v1/indicators',
      admin,
      platform('P-CALLS-COMM', 'gateway_calls', 'community'),
    );
    expect(community.statusCode).toBe(400);
    expect(community.json().error.details).toMatchObject({ reason: 'platform_figure_level' });
    const twice = await post(
      '/v1/indicators',
      admin,
      platform('P-CALLS-2', 'gateway_calls', 'district', { definition: '另一种说法的调用量' }),
    );
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error).toMatchObject({
      code: 'INDICATOR_DUPLICATE',
      details: { reason: 'same_source' },
    });
    const form = await post('/v1/forms', admin, {
      code: 'P-FORM',
      nameZh: '不该有的报表',
      nameEn: 'P-FORM',
      year: Number(year),
      period: 'year',
      level: 'district',
      basis: 'catalogue',
      indicators: ['P-CALLS'],
    });
    expect(form.statusCode).toBe(400);
    expect(form.json().error.details).toMatchObject({ code: 'P-CALLS', reason: 'computed' });
  });

  it('counts each district’s figures from the platform’s records, traced to their metric', async () => {
    const index = (code: string, indicators: string[]) => ({
      code,
      nameZh: code,
      nameEn: code,
      aggregation: 'arithmetic',
      minCoverage: 0,
      dimensions: [
        {
          code: 'activity',
          nameZh: '平台应用',
          nameEn: 'Platform activity',
          weight: 1,
          indicators: indicators.map((c) => ({ code: c, weight: 1, normalization: { method: 'minmax' } })),
        },
      ],
    });
    for (const [code, indicators] of [
      ['PLATFORM-D', ['P-SHARED', 'P-CALLS', 'P-DONE', 'P-SATISFIED']],
      ['PLATFORM-C', ['P-CALLS-CITY', 'P-SHARED-CITY', 'P-DONE-CITY']],
    ] as const) {
      expect((await post('/v1/evaluation/indexes', admin, index(code, [...indicators]))).statusCode).toBe(
        201,
      );
      expect((await post(`/v1/evaluation/indexes/${code}/publish`, admin)).statusCode).toBe(200);
    }
    const res = await get(`/v1/evaluation/indexes/PLATFORM-D/results?period=${year}&within=3301`, admin);
    expect(res.statusCode, res.body).toBe(200);
    const figures = Object.fromEntries(
      res
        .json()
        .units.map((u: { unitCode: string; inputs: Array<{ indicator: string; value: number }> }) => [
          u.unitCode,
          Object.fromEntries(u.inputs.map((i) => [i.indicator, i.value])),
        ]),
    );
    // Every district of the city is covered, active or not.
    expect(Object.keys(figures).sort()).toEqual([
      '330102',
      '330105',
      '330106',
      '330108',
      '330109',
      '330110',
      '330111',
      '330112',
      '330113',
      '330114',
      '330122',
      '330127',
      '330182',
    ]);
    // The mobility company's two calls in 滨江区; the hospital's bundle and its ratings (5 and 2:
    // one of two satisfied) in 西湖区; the resource is shared by a city department, no district's.
    expect(figures['330108']).toEqual({ 'P-SHARED': 0, 'P-CALLS': 2, 'P-DONE': 0 });
    expect(figures['330106']).toEqual({ 'P-SHARED': 0, 'P-CALLS': 0, 'P-DONE': 1, 'P-SATISFIED': 50 });
    expect(figures['330102']).toEqual({ 'P-SHARED': 0, 'P-CALLS': 0, 'P-DONE': 0 });
    const traced = res.json().units.find((u: { unitCode: string }) => u.unitCode === '330108');
    expect(traced.inputs.find((i: { indicator: string }) => i.indicator === 'P-CALLS')).toMatchObject({
      valueId: null,
      submissionId: null,
      derivedFrom: ['platform:gateway_calls'],
    });
    // The city counts what every organization in it did: 3 + 2 calls, the one resource under two
    // contracts, the bundle its hospital led.
    const city = await get(`/v1/evaluation/indexes/PLATFORM-C/results?period=${year}`, admin);
    expect(city.statusCode, city.body).toBe(200);
    const cityUnit = city.json().units.find((u: { unitCode: string }) => u.unitCode === '330100');
    expect(
      Object.fromEntries(
        cityUnit.inputs.map((i: { indicator: string; value: number }) => [i.indicator, i.value]),
      ),
    ).toEqual({ 'P-CALLS-CITY': 5, 'P-SHARED-CITY': 1, 'P-DONE-CITY': 1 });
  });

  it('counts nothing in a period without activity', async () => {
    const res = await get(`/v1/evaluation/indexes/PLATFORM-C/results?period=${Number(year) - 5}`, admin);
    expect(res.statusCode, res.body).toBe(200);
    for (const unit of res.json().units)
      for (const input of unit.inputs) expect(input.value, `${unit.unitCode} ${input.indicator}`).toBe(0);
  });
});
