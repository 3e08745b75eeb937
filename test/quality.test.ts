import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import {
  EXPECTED_FAILURES,
  PEOPLE_FIELDS,
  PEOPLE_RULES,
  peopleRows,
  qualityFixture,
  toCsv,
} from './quality-fixture.ts';

let t: TestApp;
let steward: string;
let otherSteward: string;
let consumer: string;
let fx: ReturnType<typeof qualityFixture>;
let code: string;
let districtCode: string;

beforeAll(async () => {
  t = await startTestApp();
  steward = await t.login('steward.health');
  otherSteward = await t.login('steward.psb');
  consumer = await t.login('consumer.civil');
  fx = qualityFixture(t);
  const { districts, resource } = await fx.people(steward);
  code = resource.code;
  districtCode = districts.code;
});
afterAll(() => t.close());

const get = (url: string, token = steward) => t.request({ method: 'GET', url, token });
const put = (url: string, payload: unknown, token = steward) =>
  t.request({ method: 'PUT', url, token, payload: payload as object });

describe('quality rules', () => {
  it('derives default rules from the fields until rules are declared', async () => {
    const res = await get(`/v1/resources/${code}/quality/rules`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.source).toBe('default');
    const ids = body.rules.map((r: { id: string }) => r.id);
    expect(ids).toContain('required:record_no');
    expect(ids).toContain('unique:record_no');
    expect(ids).toContain('null_rate:email');
    expect(ids).toContain('region_code:district_code');
    expect(ids).toContain('timeliness:updated_on');
  });

  it('refuses rules on unknown fields, broken patterns, wrong types and another provider’s references', async () => {
    const url = `/v1/resources/${code}/quality/rules`;
    const cases = [
      [{ kind: 'required', field: 'nope' }, 'unknown_field'],
      [{ kind: 'pattern', field: 'email', pattern: '([' }, 'bad_pattern'],
      [{ kind: 'range', field: 'email', min: 1 }, 'range_needs_number_or_date'],
      [{ kind: 'timeliness', field: 'age' }, 'timeliness_needs_date'],
    ] as const;
    for (const [rule, reason] of cases) {
      const res = await put(url, { rules: [rule] });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.code).toBe('QUALITY_RULE_INVALID');
      expect(res.json().error.details.reason).toBe(reason);
    }
    const { districts: foreign } = await fx.people(otherSteward);
    const res = await put(url, {
      rules: [{ kind: 'reference', field: 'district_code', resource: foreign.code, targetField: 'code' }],
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.details.reason).toBe('reference_not_same_provider');
  });

  it('lets only the provider’s stewards declare rules', async () => {
    const body = { rules: PEOPLE_RULES(districtCode) };
    expect((await put(`/v1/resources/${code}/quality/rules`, body, consumer)).statusCode).toBe(403);
    expect((await put(`/v1/resources/${code}/quality/rules`, body, otherSteward)).statusCode).toBe(403);
    const res = await put(`/v1/resources/${code}/quality/rules`, { ...body, revision: 0 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().source).toBe('declared');
    expect(res.json().revision).toBe(1);
    // A stale revision is a conflict, not a silent overwrite.
    const stale = await put(`/v1/resources/${code}/quality/rules`, { ...body, revision: 0 });
    expect(stale.statusCode).toBe(409);
  });
});

describe('evaluation', () => {
  let v1: number;
  beforeAll(async () => {
    v1 = (await fx.upload(steward, code, toCsv(PEOPLE_FIELDS, peopleRows() as never))).versionNumber;
  });

  it('evaluates a new version when it becomes current, each rule naming its failing rows', async () => {
    const res = await get(`/v1/resources/${code}/quality`);
    expect(res.statusCode, res.body).toBe(200);
    const { report } = res.json();
    expect(report.version).toBe(v1);
    expect(report.trigger).toBe('version');
    expect(report.rulesSource).toBe('declared');
    expect(report.rowCount).toBe(20);
    const failing = Object.fromEntries(
      report.results.map((r: { id: string; failingRows: number[] }) => [r.id, r.failingRows]),
    );
    expect(failing).toMatchObject(EXPECTED_FAILURES);
    const byId = Object.fromEntries(report.results.map((r: { id: string }) => [r.id, r]));
    // One planted defect in twenty judged rows: 95 points; the ID rules judge only rows with an ID.
    expect(byId['range:age']).toMatchObject({ checked: 20, failed: 1, score: 95, passed: false });
    expect(byId['check_digit:person_id']).toMatchObject({ checked: 19, failed: 1 });
    expect(byId['timeliness:updated_on']).toMatchObject({ score: 100, passed: true });
    expect(byId.accessibility).toMatchObject({
      score: 100,
      details: { answers: true, current: true, shared: true },
    });
  });

  it('scores the six dimensions, the overall score and the five-level grade', async () => {
    const { report } = (await get(`/v1/resources/${code}/quality`)).json();
    const dims = Object.fromEntries(
      report.dimensions.map((d: { dimension: string; score: number }) => [d.dimension, d.score]),
    );
    expect(Object.keys(dims)).toEqual([
      'completeness',
      'conformance',
      'accuracy',
      'consistency',
      'timeliness',
      'accessibility',
    ]);
    expect(dims.completeness).toBe(97.5); // required 95, null rate within its limit 100
    expect(dims.timeliness).toBe(100);
    expect(dims.accessibility).toBe(100);
    expect(report.score).toBeGreaterThan(90);
    expect(report.level).toBe(1);
    expect(report.levelName['zh-CN']).toBe('一级（优）');
  });

  it('records an alert when a version drops a level, and shows the trend', async () => {
    const rows = peopleRows().map((r, i) => ({
      ...r,
      email: i % 2 ? 'broken' : '',
      status: 'gone',
      age: 200,
      updated_on: '2020-01-01',
    }));
    const v2 = (await fx.upload(steward, code, toCsv(PEOPLE_FIELDS, rows as never))).versionNumber;
    const res = await get(`/v1/resources/${code}/quality`);
    const body = res.json();
    expect(body.report.version).toBe(v2);
    expect(body.report.level).toBeGreaterThan(1);
    expect(body.trend.map((p: { version: number }) => p.version)).toEqual([v1, v2]);
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]).toMatchObject({ fromLevel: 1, toLevel: body.report.level });
    // Evaluating again records no second alert for the same version.
    const again = await t.request({
      method: 'POST',
      url: `/v1/resources/${code}/quality/evaluate`,
      token: steward,
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().report.trigger).toBe('demand');
    expect(again.json().alerts).toHaveLength(1);
    // The drop is in the audit log.
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['details'])
      .where('action', '=', 'quality.level_drop')
      .execute();
    expect(audit).toHaveLength(1);
    // …and raised by the monitor as an alert on the resource, once however often it evaluates.
    const security = await t.login('security');
    for (let i = 0; i < 2; i++) {
      const evaluated = await t.request({ method: 'POST', url: '/v1/monitor/evaluate', token: security });
      expect(evaluated.statusCode, evaluated.body).toBe(200);
    }
    const alerts = await t.request({
      method: 'GET',
      url: '/v1/monitor/alerts?rule=quality_level_drop',
      token: security,
    });
    expect(alerts.json().items).toHaveLength(1);
    expect(alerts.json().items[0]).toMatchObject({
      subject: { type: 'resource' },
      details: { resourceCode: code, version: v2, fromLevel: 1, toLevel: body.report.level },
    });
    // The earlier version's report is still there on request.
    const old = (await get(`/v1/resources/${code}/quality?version=${v1}`)).json();
    expect(old.report.level).toBe(1);
  });

  it('lets a consumer read the report without the values rule details carry', async () => {
    const res = await get(`/v1/resources/${code}/quality?version=1`, consumer);
    expect(res.statusCode, res.body).toBe(200);
    const timeliness = res.json().report.results.find((r: { kind: string }) => r.kind === 'timeliness');
    expect(timeliness.details.newest).toBeUndefined();
    const mine = (await get(`/v1/resources/${code}/quality?version=1`)).json();
    expect(
      mine.report.results.find((r: { kind: string }) => r.kind === 'timeliness').details.newest,
    ).toBeTruthy();
  });

  it('answers 404 for a version that does not exist and NO_DATA_VERSION for a resource without data', async () => {
    expect((await get(`/v1/resources/${code}/quality?version=99`)).statusCode).toBe(404);
    const empty = await fx.createResource(steward, {
      name: '空资源',
      theme: 'population',
      updateCycle: 'monthly',
      sharingType: 'unconditional',
      openType: 'not_open',
      fields: PEOPLE_FIELDS,
    });
    const res = await get(`/v1/resources/${empty.code}/quality`);
    expect(res.json().error.code).toBe('NO_DATA_VERSION');
  });
});
