import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeUscc } from '../src/standards/uscc.ts';
import { DEMO_PASSWORD, startTestApp, type TestApp } from './helpers.ts';

/**
 * Issue #23 through HTTP: a grassroots report climbs the divisions between its unit and the
 * form's department — town, district, city — each signing it off or returning it, before the
 * department accepts it; roll-ups count what is signed off at their level.
 */
let t: TestApp;
let admin: string;
let province: string; // 浙江省 provincial statistics: owns the form (region 330000)
let city: string; // the city's civil affairs steward (region 330100): signs at the city
let xihu1: Reviewer; // two stewards of 西湖区 (330106): report for its communities, sign at the district
let xihu2: Reviewer;
let binjiang: string; // 滨江区 (330108): another district, not on the way up
let hospital: string; // a public institution in 330106: not a government department

interface Reviewer {
  token: string;
  userId: string;
  orgId: string;
}

const U1 = '330106001001';
const U2 = '330106001002';
const U3 = '330106002001';
const U4 = '330106002002';

async function organization(name: string, level: string, region: string, usernames: string[]) {
  const org = await post('/v1/organizations', admin, {
    name,
    type: 'government_department',
    level,
    regionCode: region,
    uscc: makeUscc('1', '1', region.slice(0, 6), Math.random().toString().slice(2, 10)),
  });
  expect(org.statusCode, org.body).toBe(201);
  const reviewers: Reviewer[] = [];
  for (const username of usernames) {
    const user = await post('/v1/users', admin, {
      orgId: org.json().id,
      username,
      displayName: `${username} 数据专员`,
      password: DEMO_PASSWORD,
      roles: ['data_steward'],
    });
    expect(user.statusCode, user.body).toBe(201);
    reviewers.push({ token: await t.login(username), userId: user.json().id, orgId: org.json().id });
  }
  return reviewers;
}

const post = (url: string, token: string, payload?: object) =>
  t.request({ method: 'POST', url, token, ...(payload ? { payload } : {}) });
const get = (url: string, token: string) => t.request({ method: 'GET', url, token });

const submit = (form: string, unitCode: string, values: Record<string, number>, token = xihu1.token) =>
  post(`/v1/forms/${form}/submissions`, token, { period: '2026', unitCode, values });
const signoff = (id: string, token: string, comment?: string) =>
  post(`/v1/forms/submissions/${id}/signoff`, token, comment ? { comment } : {});
const waiting = async (token: string) => {
  const res = await get('/v1/forms/signoffs', token);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as { signoff: Array<{ id: string }>; accept: Array<{ id: string }> };
  return { signoff: body.signoff.map((s) => s.id), accept: body.accept.map((s) => s.id) };
};

const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
  city = await t.login('steward.civil');
  hospital = await t.login('steward.hospital');
  province = (await organization('浙江省统计局', 'provincial', '330000', ['prov.stats']))[0]!.token;
  const xihu = await organization('云岚市西湖区人民政府', 'county', '330106', ['xihu.one', 'xihu.two']);
  xihu1 = xihu[0]!;
  xihu2 = xihu[1]!;
  binjiang = (await organization('云岚市滨江区人民政府', 'county', '330108', ['binjiang.one']))[0]!.token;

  for (const [code, name] of [
    ['S-HH', '社区常住户数'],
    ['S-POINTS', '社区便民服务点数量'],
  ] as const) {
    const res = await post('/v1/indicators', city, {
      code,
      nameZh: name,
      nameEn: code,
      definition: name,
      unit: '个',
      dataType: 'integer',
      period: 'year',
      level: 'community',
      source: { kind: 'reported' },
      rule: { min: 0 },
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  const form = (code: string, indicators: string[]) => ({
    code,
    nameZh: `${code} 年报`,
    nameEn: code,
    year: 2026,
    period: 'year',
    level: 'community',
    basis: 'one_off',
    approval: '浙统〔2026〕3号 一事一报审批',
    indicators,
  });
  for (const [token, code, indicators] of [
    [province, 'F-PROV', ['S-HH']],
    [xihu1.token, 'F-DIST', ['S-POINTS']],
  ] as const) {
    expect((await post('/v1/forms', token, form(code, [...indicators]))).statusCode).toBe(201);
    expect((await post(`/v1/forms/${code}/issue`, token)).statusCode).toBe(200);
  }
});
afterAll(() => t.close());

describe('multi-level sign-off (逐级签核)', () => {
  it('lays out the way up from a community to the province: town skipped, then district and city', async () => {
    for (const [unit, households] of [
      [U1, 100],
      [U2, 200],
      [U3, 300],
      [U4, 400],
    ] as const) {
      const res = await submit('F-PROV', unit, { 'S-HH': households });
      expect(res.statusCode, res.body).toBe(201);
      ids[unit] = res.json().id;
    }
    const first = await get(`/v1/forms/submissions/${ids[U1]}`, province);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ state: 'submitted', unitCode: U1 });
    expect(first.json().chain).toEqual({
      round: 1,
      // No organization sits at a town: its step is skipped and the district signs for it.
      steps: [
        expect.objectContaining({ level: 'town', unitCode: '330106001', state: 'skipped' }),
        expect.objectContaining({ level: 'district', unitCode: '330106', state: 'pending', decidedBy: null }),
        expect.objectContaining({ level: 'city', unitCode: '330100', state: 'pending' }),
      ],
      signedOff: false,
      awaiting: { by: 'division', level: 'district', unitCode: '330106', orgId: null },
    });
    // The unit's side and every division on its way up read it; another district does not.
    expect((await get(`/v1/forms/submissions/${ids[U1]}`, city)).statusCode).toBe(200);
    expect((await get(`/v1/forms/submissions/${ids[U1]}`, binjiang)).statusCode).toBe(403);
  });

  it('refuses the department and the city before the district has signed off', async () => {
    for (const res of [
      await post(`/v1/forms/submissions/${ids[U1]}/accept`, province),
      await post(`/v1/forms/submissions/${ids[U1]}/return`, province, { reason: '太早' }),
      await signoff(ids[U1]!, city),
    ]) {
      expect(res.statusCode, res.body).toBe(409);
      const error = res.json().error;
      expect(error).toMatchObject({
        code: 'SIGNOFF_PENDING',
        details: { awaiting: { level: 'district', unitCode: '330106' } },
      });
      expect(error.messages['zh-CN']).toContain('330106');
      expect(error.messages.en).toContain('district 330106');
    }
  });

  it('refuses anyone off the chain with 403', async () => {
    for (const token of [binjiang, hospital]) {
      const res = await signoff(ids[U1]!, token);
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().error).toMatchObject({
        code: 'OUTSIDE_JURISDICTION',
        details: { chain: ['330106', '330100'] },
      });
    }
    // Returning is no different: another district is neither on the chain nor the department.
    const foreign = await post(`/v1/forms/submissions/${ids[U1]}/return`, binjiang, { reason: '无权' });
    expect(foreign.statusCode).toBe(403);
    const consumer = await signoff(ids[U1]!, await t.login('consumer.civil'));
    expect(consumer.statusCode).toBe(403);
  });

  it('lists what waits for each reviewer', async () => {
    const district = await waiting(xihu2.token);
    expect(district.signoff).toEqual(expect.arrayContaining([ids[U1], ids[U2], ids[U3], ids[U4]]));
    expect((await waiting(city)).signoff).not.toContain(ids[U1]);
    expect(await waiting(province)).toEqual({ signoff: [], accept: [] });
  });

  it('of two district reviewers racing on one step, exactly one wins; the other gets 409', async () => {
    const [a, b] = await Promise.all([
      signoff(ids[U1]!, xihu1.token, '已核对台账'),
      signoff(ids[U1]!, xihu2.token, '已核对台账'),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const [winner, loser] = a.statusCode === 200 ? [a, b] : [b, a];
    const error = loser.json().error;
    expect(error).toMatchObject({
      code: 'SIGNOFF_DECIDED',
      details: { level: 'district', unitCode: '330106', state: 'signed' },
    });
    expect(error.messages['zh-CN']).toContain('330106 的签核状态为 已签核');
    expect(error.messages.en).toContain('the step of 330106 is signed');
    const district = winner.json().chain.steps[1];
    expect(district).toMatchObject({ state: 'signed', decidedOrgId: xihu1.orgId, comment: '已核对台账' });
    expect([xihu1.userId, xihu2.userId]).toContain(district.decidedBy);
    expect(winner.json().chain.awaiting).toMatchObject({ by: 'division', level: 'city', unitCode: '330100' });
    // It has moved on: off the district's list, on the city's.
    expect((await waiting(xihu1.token)).signoff).not.toContain(ids[U1]);
    expect((await waiting(city)).signoff).toContain(ids[U1]);
  });

  it('returns at the district: the steps above are cancelled and the corrected report climbs from the bottom', async () => {
    const returned = await post(`/v1/forms/submissions/${ids[U2]}/return`, xihu2.token, {
      reason: '户数与网格台账不符',
    });
    expect(returned.statusCode, returned.body).toBe(200);
    expect(returned.json()).toMatchObject({ state: 'returned', reason: '户数与网格台账不符' });
    expect(returned.json().chain).toMatchObject({
      round: 1,
      awaiting: null,
      steps: [
        { state: 'skipped' },
        { level: 'district', state: 'returned', comment: '户数与网格台账不符', decidedBy: xihu2.userId },
        { level: 'city', state: 'cancelled' },
      ],
    });
    // Decided: the district returned it, the city's step was cancelled.
    for (const [token, state] of [
      [city, 'cancelled'],
      [xihu1.token, 'returned'],
    ] as const) {
      const res = await signoff(ids[U2]!, token);
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toMatchObject({ code: 'SIGNOFF_DECIDED', details: { state } });
    }

    const corrected = await submit('F-PROV', U2, { 'S-HH': 210 });
    expect(corrected.statusCode, corrected.body).toBe(201);
    expect(corrected.json()).toMatchObject({ id: ids[U2], state: 'submitted' });
    expect(corrected.json().chain).toMatchObject({
      round: 2,
      steps: [{ state: 'skipped' }, { state: 'pending', decidedBy: null }, { state: 'pending' }],
      awaiting: { level: 'district' },
    });
    // Order holds in the new round too.
    expect((await signoff(ids[U2]!, city)).statusCode).toBe(409);
    expect((await signoff(ids[U2]!, xihu1.token)).statusCode).toBe(200);
    expect((await signoff(ids[U2]!, city, '同意上报')).json().chain.awaiting).toEqual({
      by: 'department',
      level: null,
      unitCode: null,
      orgId: expect.any(String),
    });
  });

  it('returns at the city, and accepts at the department only once every division has signed', async () => {
    const back = await post(`/v1/forms/submissions/${ids[U1]}/return`, city, { reason: '请附说明' });
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json().chain.steps.map((s: { state: string }) => s.state)).toEqual([
      'skipped',
      'signed',
      'returned',
    ]);
    expect((await post(`/v1/forms/submissions/${ids[U1]}/accept`, province)).statusCode).toBe(409);
    expect((await submit('F-PROV', U1, { 'S-HH': 100 })).statusCode).toBe(201);
    expect((await signoff(ids[U1]!, xihu2.token)).statusCode).toBe(200);
    expect((await signoff(ids[U1]!, city)).statusCode).toBe(200);
    expect((await waiting(province)).accept).toEqual(expect.arrayContaining([ids[U1], ids[U2]]));
    const accepted = await post(`/v1/forms/submissions/${ids[U1]}/accept`, province);
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({
      state: 'accepted',
      chain: { round: 2, signedOff: true, awaiting: null },
    });
    expect((await waiting(province)).accept).not.toContain(ids[U1]);
    // U3 gets the district's sign-off only; U4 none.
    expect((await signoff(ids[U3]!, xihu1.token)).statusCode).toBe(200);
  });

  it('rolls up per level: a town and its district count what the district signed, the city what the city signed', async () => {
    const rollup = async (unitCode: string) => {
      const res = await get(`/v1/forms/F-PROV/rollup?unitCode=${unitCode}&period=2026`, city);
      expect(res.statusCode, res.body).toBe(200);
      return [res.json().units, res.json().items[0].value];
    };
    // U1 accepted (100), U2 signed by the city (210), U3 by the district (300), U4 by no one (400).
    expect(await rollup('330106001')).toEqual([2, 310]);
    expect(await rollup('330106002')).toEqual([1, 300]);
    expect(await rollup('330106')).toEqual([3, 610]);
    expect(await rollup('330100')).toEqual([2, 310]);
    expect(await rollup('330108')).toEqual([0, null]);
  });

  it('needs no sign-off on a district’s own community form: the town has no department', async () => {
    const res = await submit('F-DIST', U1, { 'S-POINTS': 3 });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().chain).toMatchObject({
      steps: [{ level: 'town', state: 'skipped' }],
      signedOff: true,
      awaiting: { by: 'department', orgId: xihu1.orgId },
    });
    const nothing = await signoff(res.json().id, xihu2.token);
    expect(nothing.statusCode).toBe(403);
    expect(nothing.json().error.details.chain).toEqual([]);
    expect((await waiting(xihu2.token)).accept).toContain(res.json().id);
    expect((await post(`/v1/forms/submissions/${res.json().id}/accept`, xihu2.token)).json().state).toBe(
      'accepted',
    );
  });

  it('puts a township office on the chain: the town signs first, for its own town only', async () => {
    const U5 = '330106002003';
    const [town] = await organization('云岚市西湖区转塘街道办事处', 'township', '330106002', [
      'zhuantang.one',
    ]);
    // A community of the town: the town's steward reports for it, not for a community of another town.
    const res = await submit('F-PROV', U5, { 'S-HH': 500 }, town!.token);
    expect(res.statusCode, res.body).toBe(201);
    const foreign = await submit('F-PROV', '330106001003', { 'S-HH': 1 }, town!.token);
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error).toMatchObject({ code: 'OUTSIDE_JURISDICTION' });
    const id = res.json().id as string;
    expect(res.json().chain).toMatchObject({
      steps: [
        { level: 'town', unitCode: '330106002', state: 'pending' },
        { level: 'district', state: 'pending' },
        { level: 'city', state: 'pending' },
      ],
      awaiting: { by: 'division', level: 'town', unitCode: '330106002' },
    });
    // The district waits for the town now; the town's list has it.
    const early = await signoff(id, xihu1.token);
    expect(early.statusCode).toBe(409);
    expect(early.json().error).toMatchObject({
      code: 'SIGNOFF_PENDING',
      details: { awaiting: { level: 'town', unitCode: '330106002' } },
    });
    expect((await waiting(town!.token)).signoff).toEqual([id]);
    // A round opened before the township office existed keeps its skipped town step.
    expect((await get(`/v1/forms/submissions/${ids[U4]}`, city)).json().chain.steps[0].state).toBe('skipped');
    const signed = await signoff(id, town!.token, '街道已核');
    expect(signed.statusCode, signed.body).toBe(200);
    expect(signed.json().chain.steps[0]).toMatchObject({ state: 'signed', decidedOrgId: town!.orgId });
    expect(signed.json().chain.awaiting).toMatchObject({ level: 'district' });
    // The town counts it at its level; the district does not yet.
    const rollup = async (unitCode: string) =>
      (await get(`/v1/forms/F-PROV/rollup?unitCode=${unitCode}&period=2026`, city)).json().units;
    expect(await rollup('330106002')).toBe(2);
    expect(await rollup('330106')).toBe(3);
    expect((await signoff(id, xihu2.token)).statusCode).toBe(200);
    expect(await rollup('330106')).toBe(4);
  });

  it('records every sign-off and return in the audit log, with who and at which level', async () => {
    const entries = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_id', 'details'])
      .where('object_id', '=', ids[U1]!)
      .orderBy('queued')
      .execute();
    expect(entries.map((e) => [e.action, e.details.level ?? null, e.details.round ?? null])).toEqual([
      ['submission.create', null, null],
      ['submission.signoff', 'district', 1],
      ['submission.return', 'city', 1],
      ['submission.resubmit', null, 2],
      ['submission.signoff', 'district', 2],
      ['submission.signoff', 'city', 2],
      ['submission.accept', 'department', 2],
    ]);
    expect(entries[1]!.details).toMatchObject({ unitCode: '330106', comment: '已核对台账', form: 'F-PROV' });
    expect(entries[2]!.details).toMatchObject({ unitCode: '330100', reason: '请附说明' });
    expect([xihu1.userId, xihu2.userId]).toContain(entries[1]!.actor_id);
    expect(entries[4]!.actor_id).toBe(xihu2.userId);
    const u2 = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('object_id', '=', ids[U2]!)
      .where('action', '=', 'submission.return')
      .execute();
    expect(u2).toEqual([
      {
        action: 'submission.return',
        details: expect.objectContaining({
          level: 'district',
          unitCode: '330106',
          reason: '户数与网格台账不符',
        }),
      },
    ]);
  });
});
