import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrateAudit } from '../src/audit/integrate.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * Citizens on the services (issue 22): signed in through the local identity provider, their
 * sessions reach the services and nothing else; an application is about whoever applies — a
 * citizen herself, a family member who consented, an organization's own credit code — never about
 * a key the applicant types; consents have a term and end when revoked.
 */
let t: TestApp;
let admin = '';
let enterprise = '';
let life = '';
let business = '';
let lifeToo = '';
const MOTHER = makeResidentId('330106', '1993-04-12', 42);
const FATHER = makeResidentId('330106', '1991-02-03', 17);
const STRANGER = makeResidentId('330108', '1980-01-01', 5);

const call = (method: 'GET' | 'POST' | 'PATCH', url: string, token?: string, payload?: object) =>
  t.request({ method, url, ...(token ? { token } : {}), ...(payload !== undefined ? { payload } : {}) });

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
  enterprise = await t.login('consumer.enterprise');
  const orgOf = async (u: string) => (await t.actAs(u)).principal!.orgId;
  const bundle = async (code: string, eventKind: string) => {
    const res = await call('POST', '/v1/services/bundles', admin, {
      code,
      name: code,
      nameEn: code,
      eventKind,
      leadOrgId: await orgOf('steward.health'),
      promisedWorkingDays: 3,
      eligibility: ['本市户籍'],
      steps: [
        {
          key: 'only',
          name: '唯一步骤',
          orgId: await orgOf('steward.health'),
          dependsOn: [],
          workingDays: 1,
          fields: [{ name: 'phone', label: '联系电话' }],
        },
      ],
    });
    expect(res.statusCode, res.body).toBe(201);
    expect((await call('POST', `/v1/services/bundles/${code}/publish`, admin)).statusCode).toBe(200);
    return res.json().id as string;
  };
  life = await bundle('LIFE', 'life');
  business = await bundle('BIZ', 'business');
  lifeToo = await bundle('LIFE-TOO', 'life');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('citizen sign-in', () => {
  it('signs a citizen in by resident ID number; a wrong password or a bad ID number is refused clearly', async () => {
    const { token } = await t.citizen(MOTHER, '林晓');
    const me = await call('GET', '/v1/citizen/me', token);
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json()).toEqual({
      kind: 'citizen',
      name: '林晓',
      idNumberMasked: `${MOTHER.slice(0, 3)}***********${MOTHER.slice(-4)}`,
      organization: null,
    });
    const wrong = await call('POST', '/v1/citizen/login', undefined, {
      idNumber: MOTHER,
      password: 'x'.repeat(12),
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('LOGIN_FAILED');
    const badDigit = `${MOTHER.slice(0, 17)}${MOTHER.at(-1) === '0' ? '1' : '0'}`;
    const bad = await call('POST', '/v1/citizen/login', undefined, {
      idNumber: badDigit,
      password: 'x'.repeat(12),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('idNumber');
    expect(bad.json().error.messages['zh-CN']).toContain('校验码');
  });

  it('reaches the services and nothing else: catalog, sharing, audit and identity answer 403', async () => {
    const { token } = await t.citizen(MOTHER, '林晓');
    expect((await call('GET', '/v1/services/bundles', token)).statusCode).toBe(200);
    for (const url of [
      '/v1/catalog/search',
      '/v1/contracts',
      '/v1/audit/entries',
      '/v1/me',
      '/v1/organizations',
    ]) {
      const res = await call('GET', url, token);
      expect(res.statusCode, url).toBe(403);
    }
    // An organization's account is still what it was.
    expect((await call('GET', '/v1/citizen/me', enterprise)).json()).toMatchObject({
      kind: 'organization',
      idNumberMasked: null,
      organization: { uscc: expect.stringMatching(/^[0-9A-Z]{18}$/) },
    });
  });

  it('keeps citizens out of the staff directories and their role out of an administrator’s hands', async () => {
    const { ctx } = await t.citizen(MOTHER, '林晓');
    const orgs = (await call('GET', '/v1/organizations?limit=200', admin)).json();
    expect(orgs.items.map((o: { id: string }) => o.id)).not.toContain(ctx.principal!.orgId);
    const users = (await call('GET', '/v1/users?limit=200', admin)).json();
    expect(users.items.map((u: { id: string }) => u.id)).not.toContain(ctx.principal!.userId);
    const grant = await call('PATCH', `/v1/users/${ctx.principal!.userId}`, admin, { roles: ['consumer'] });
    expect(grant.statusCode).toBe(400);
    const staff = await call('POST', '/v1/users', admin, {
      orgId: (await t.actAs('steward.health')).principal!.orgId,
      username: 'fake.citizen',
      displayName: '假公众',
      password: 'a-long-password',
      roles: ['citizen'],
    });
    expect(staff.statusCode).toBe(400);
  });
});

describe('whose data an application is about', () => {
  it('is the citizen herself for a life event, whatever key she types', async () => {
    const { token } = await t.citizen(MOTHER, '林晓');
    const own = await call('POST', `/v1/services/bundles/${life}/applications`, token, {
      form: { phone: '1' },
    });
    expect(own.statusCode, own.body).toBe(201);
    expect(own.json()).toMatchObject({ subjectKey: MOTHER, consentId: null });
    // She reads no organization directory, yet sees whom each step goes to.
    expect(own.json().steps[0].orgName).toBe('云岚市卫生健康委员会');
    const bundle = (await call('GET', `/v1/services/bundles/${life}`, token)).json();
    expect(bundle.steps[0].orgName).toBe('云岚市卫生健康委员会');
    expect(bundle.steps[0].fields[0]).toMatchObject({
      name: 'phone',
      provenance: 'asked',
      providerName: null,
    });
    const other = await call('POST', `/v1/services/bundles/${life}/applications`, token, {
      subjectKey: STRANGER,
      form: { phone: '1' },
    });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.details).toMatchObject({ field: 'subjectKey', reason: 'subject' });
    const biz = await call('POST', `/v1/services/bundles/${business}/applications`, token, {
      form: { phone: '1' },
    });
    expect(biz.statusCode).toBe(400);
    expect(biz.json().error.messages.en).toContain('enterprise');
  });

  it('is the organization’s own credit code for a business event; a life event is refused to it', async () => {
    const me = (await call('GET', '/v1/citizen/me', enterprise)).json();
    const own = await call('POST', `/v1/services/bundles/${business}/applications`, enterprise, {
      form: { phone: '1' },
    });
    expect(own.statusCode, own.body).toBe(201);
    expect(own.json().subjectKey).toBe(me.organization.uscc);
    const lifeEvent = await call('POST', `/v1/services/bundles/${life}/applications`, enterprise, {
      form: { phone: '1' },
    });
    expect(lifeEvent.statusCode).toBe(400);
  });

  it('never lets any typed key other than one’s own through (property)', async () => {
    const { token } = await t.citizen(MOTHER, '林晓');
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[0-9A-Za-z]{1,24}$/), async (key) => {
        fc.pre(key.toUpperCase() !== MOTHER);
        const res = await call('POST', `/v1/services/bundles/${life}/applications`, token, {
          subjectKey: key,
          form: { phone: '1' },
        });
        expect(res.statusCode).toBe(403);
      }),
      { numRuns: 25 },
    );
  });
});

describe('family consent', () => {
  let consentId = '';

  it('lets the father authorize the mother, who then applies with his data', async () => {
    const father = await t.citizen(FATHER, '陈立');
    const mother = await t.citizen(MOTHER, '林晓');
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const res = await call('POST', '/v1/citizen/consents', father.token, {
      granteeIdNumber: MOTHER.toLowerCase(),
      granteeName: '林晓',
      relation: 'spouse',
      validUntil: until,
    });
    expect(res.statusCode, res.body).toBe(201);
    consentId = res.json().id;
    expect(res.json()).toMatchObject({
      state: 'active',
      inForce: true,
      relation: 'spouse',
      validUntil: until,
    });
    expect(JSON.stringify(res.json())).not.toContain(MOTHER);
    const received = (await call('GET', '/v1/citizen/consents', mother.token)).json().received;
    expect(received).toEqual([
      expect.objectContaining({ id: consentId, grantorName: '陈立', inForce: true }),
    ]);
    const applied = await call('POST', `/v1/services/bundles/${life}/applications`, mother.token, {
      consentId,
      form: { phone: '1' },
    });
    expect(applied.statusCode, applied.body).toBe(201);
    expect(applied.json()).toMatchObject({ subjectKey: FATHER, consentId });
    // The consent is the mother's, not anyone's who learns its id.
    const stranger = await t.citizen(STRANGER, '路人');
    const stolen = await call('POST', `/v1/services/bundles/${life}/applications`, stranger.token, {
      consentId,
      form: { phone: '1' },
    });
    expect(stolen.statusCode).toBe(404);
    expect((await call('POST', `/v1/citizen/consents/${consentId}/revoke`, stranger.token)).statusCode).toBe(
      404,
    );
    // A department's account neither gives nor uses consents.
    expect((await call('GET', '/v1/citizen/consents', enterprise)).statusCode).toBe(403);
    await integrateAudit(t.database.db);
    const audit = await call(
      'GET',
      `/v1/audit/entries?action=service_consent.grant&objectId=${consentId}`,
      await t.login('auditor'),
    );
    expect(audit.json().items).toHaveLength(1);
    expect(JSON.stringify(audit.json())).not.toContain(MOTHER);
  });

  it('refuses a consent to oneself, past its day, or longer than three years', async () => {
    const father = await t.citizen(FATHER, '陈立');
    const body = (over: Record<string, unknown>) => ({
      granteeIdNumber: MOTHER,
      granteeName: '林晓',
      relation: 'spouse',
      validUntil: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
      ...over,
    });
    for (const over of [
      { granteeIdNumber: FATHER },
      { validUntil: '2020-01-01' },
      { validUntil: '2099-01-01' },
      { granteeIdNumber: '123' },
      { relation: 'neighbour' },
    ]) {
      const res = await call('POST', '/v1/citizen/consents', father.token, body(over));
      expect(res.statusCode, JSON.stringify(over)).toBe(400);
    }
  });

  it('ends when revoked: the next application under it is refused, the record stays', async () => {
    const father = await t.citizen(FATHER, '陈立');
    const mother = await t.citizen(MOTHER, '林晓');
    const revoked = await call('POST', `/v1/citizen/consents/${consentId}/revoke`, father.token);
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json()).toMatchObject({ state: 'revoked', inForce: false });
    expect((await call('POST', `/v1/citizen/consents/${consentId}/revoke`, mother.token)).statusCode).toBe(
      409,
    );
    const res = await call('POST', `/v1/services/bundles/${life}/applications`, mother.token, {
      consentId,
      form: { phone: '1' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.details.reason).toBe('consent_not_in_force');
    expect((await call('GET', '/v1/citizen/consents', father.token)).json().given).toEqual([
      expect.objectContaining({ id: consentId, state: 'revoked' }),
    ]);
    // The grantee may give a consent up too.
    const second = await call('POST', '/v1/citizen/consents', father.token, {
      granteeIdNumber: MOTHER,
      granteeName: '林晓',
      relation: 'spouse',
      validUntil: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
    });
    const declined = await call('POST', `/v1/citizen/consents/${second.json().id}/revoke`, mother.token);
    expect(declined.statusCode, declined.body).toBe(200);
    expect(declined.json()).toMatchObject({ state: 'revoked', grantorName: '陈立' });
  });

  it('covers only the bundles it names, when it names some', async () => {
    const father = await t.citizen(FATHER, '陈立');
    const mother = await t.citizen(MOTHER, '林晓');
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const grant = (bundleIds: string[]) =>
      call('POST', '/v1/citizen/consents', father.token, {
        granteeIdNumber: MOTHER,
        granteeName: '林晓',
        relation: 'spouse',
        validUntil: until,
        bundleIds,
      });
    for (const bad of [['BIZ'], ['NO-SUCH-BUNDLE']]) {
      const refused = await grant(bad);
      expect(refused.statusCode, bad[0]).toBe(400);
      expect(refused.json().error.details.field).toBe('bundleIds.0');
    }
    const scoped = await grant(['LIFE']);
    expect(scoped.statusCode, scoped.body).toBe(201);
    expect(scoped.json().bundles).toEqual([{ id: life, code: 'LIFE', name: 'LIFE' }]);
    const received = (await call('GET', '/v1/citizen/consents', mother.token)).json().received;
    expect(received.find((c: { id: string }) => c.id === scoped.json().id).bundles).toEqual([
      { id: life, code: 'LIFE', name: 'LIFE' },
    ]);
    const other = await call('POST', `/v1/services/bundles/${lifeToo}/applications`, mother.token, {
      consentId: scoped.json().id,
      form: { phone: '1' },
    });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.details.reason).toBe('consent_not_for_bundle');
    const named = await call('POST', `/v1/services/bundles/${life}/applications`, mother.token, {
      consentId: scoped.json().id,
      form: { phone: '1' },
    });
    expect(named.statusCode, named.body).toBe(201);
    expect(named.json()).toMatchObject({ subjectKey: FATHER, consentId: scoped.json().id });
    await call('POST', `/v1/citizen/consents/${scoped.json().id}/revoke`, father.token);
  });
});

describe('notifications to the applicant', () => {
  it('tells the applicant of every department move and the end, in both languages, hers alone', async () => {
    const mother = await t.citizen(MOTHER, '林晓');
    const before = (await call('GET', '/v1/citizen/notifications', mother.token)).json();
    await call('POST', '/v1/citizen/notifications/read', mother.token, {});
    const applied = await call('POST', `/v1/services/bundles/${life}/applications`, mother.token, {
      form: { phone: '1' },
    });
    const id = applied.json().id as string;
    const health = await t.login('steward.health');
    const step = (event: string, payload?: object) =>
      call('POST', `/v1/services/applications/${id}/steps/only/${event}`, health, payload ?? {});
    expect((await step('accept')).statusCode).toBe(200);
    expect((await step('return', { reason: '请补充联系电话' })).statusCode).toBe(200);
    expect(
      (await call('POST', `/v1/services/applications/${id}/steps/only/resubmit`, mother.token, {}))
        .statusCode,
    ).toBe(200);
    for (const event of ['accept', 'start', 'complete']) expect((await step(event)).statusCode).toBe(200);
    const page = (await call('GET', '/v1/citizen/notifications?unread=true', mother.token)).json();
    expect(page.items.map((n: { kind: string }) => n.kind)).toEqual([
      'application_complete',
      'step_complete',
      'step_start',
      'step_accept',
      'step_return',
      'step_accept',
    ]);
    expect(page.unread).toBe(6);
    const returned = page.items.find((n: { kind: string }) => n.kind === 'step_return');
    expect(returned).toMatchObject({ applicationId: id, read: false });
    expect(returned.message.zh).toBe('云岚市卫生健康委员会「唯一步骤」退回补正：请补充联系电话');
    expect(returned.message.en).toContain('returned for correction: 请补充联系电话');
    // Another person's ids change nothing; her own are marked one by one or all at once.
    const father = await t.citizen(FATHER, '陈立');
    const stranger = await call('POST', '/v1/citizen/notifications/read', father.token, {
      ids: [returned.id],
    });
    expect(stranger.json().marked).toBe(0);
    expect((await call('GET', '/v1/citizen/notifications', father.token)).json().items).not.toContainEqual(
      expect.objectContaining({ id: returned.id }),
    );
    const one = await call('POST', '/v1/citizen/notifications/read', mother.token, { ids: [returned.id] });
    expect(one.json()).toEqual({ marked: 1, unread: 5 });
    const all = await call('POST', '/v1/citizen/notifications/read', mother.token, {});
    expect(all.json()).toEqual({ marked: 5, unread: 0 });
    expect(before.items.length).toBeGreaterThanOrEqual(0);
  });

  it('tells the grantee of a consent given and revoked, and the grantor of one given up', async () => {
    const father = await t.citizen(FATHER, '陈立');
    const mother = await t.citizen(MOTHER, '林晓');
    await call('POST', '/v1/citizen/notifications/read', mother.token, {});
    await call('POST', '/v1/citizen/notifications/read', father.token, {});
    const until = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const given = await call('POST', '/v1/citizen/consents', father.token, {
      granteeIdNumber: MOTHER,
      granteeName: '林晓',
      relation: 'spouse',
      validUntil: until,
    });
    const told = (await call('GET', '/v1/citizen/notifications?unread=true', mother.token)).json().items;
    expect(told).toEqual([
      expect.objectContaining({
        kind: 'consent_granted',
        message: expect.objectContaining({ zh: `陈立 授权您使用其信息代为申请，至 ${until}` }),
      }),
    ]);
    await call('POST', `/v1/citizen/consents/${given.json().id}/revoke`, mother.token);
    const grantor = (await call('GET', '/v1/citizen/notifications?unread=true', father.token)).json().items;
    expect(grantor).toEqual([
      expect.objectContaining({
        kind: 'consent_revoked',
        message: expect.objectContaining({ zh: '林晓 不再使用您给出的授权' }),
      }),
    ]);
  });
});

describe('conditions of application, checked on whose data it is', () => {
  // A man registered outside the city, 76 this year: fails all three checked rules below.
  const ELDER = makeResidentId('340104', '1950-05-05', 9);
  const rules = [
    '已取得出生医学证明',
    { kind: 'region', text: '户籍在云岚市', prefixes: ['3301'] },
    { kind: 'age', text: '年满 18 周岁且不超过 45 周岁', min: 18, max: 45 },
    { kind: 'sex', text: '由母亲申请', sex: 'female' },
  ];
  let ruled = '';

  beforeAll(async () => {
    const health = (await t.actAs('steward.health')).principal!.orgId;
    const res = await call('POST', '/v1/services/bundles', admin, {
      code: 'RULED',
      name: '有条件的事项',
      nameEn: 'Conditional',
      eventKind: 'life',
      leadOrgId: health,
      promisedWorkingDays: 3,
      eligibility: rules,
      steps: [
        {
          key: 'only',
          name: '唯一步骤',
          orgId: health,
          dependsOn: [],
          workingDays: 1,
          fields: [{ name: 'phone', label: '联系电话' }],
        },
      ],
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().eligibility).toEqual(rules.map((r) => (typeof r === 'string' ? r : r.text)));
    expect(res.json().eligibilityRules[0]).toEqual({ kind: 'note', text: '已取得出生医学证明' });
    expect(res.json().eligibilityRules.slice(1)).toEqual(rules.slice(1));
    ruled = res.json().id;
    expect((await call('POST', `/v1/services/bundles/${ruled}/publish`, admin)).statusCode).toBe(200);
  });

  it('admits the subject who meets them; the declared text is left for her to confirm', async () => {
    const { token } = await t.citizen(MOTHER, '林晓');
    const check = await call('GET', `/v1/services/bundles/${ruled}/eligibility`, token);
    expect(check.statusCode, check.body).toBe(200);
    expect(check.json()).toEqual({
      eligible: true,
      results: [
        { text: '已取得出生医学证明', kind: 'note', met: null },
        { text: '户籍在云岚市', kind: 'region', met: true },
        { text: '年满 18 周岁且不超过 45 周岁', kind: 'age', met: true },
        { text: '由母亲申请', kind: 'sex', met: true },
      ],
    });
    const applied = await call('POST', `/v1/services/bundles/${ruled}/applications`, token, {
      form: { phone: '1' },
    });
    expect(applied.statusCode, applied.body).toBe(201);
  });

  it('refuses the subject who does not, naming each unmet condition and why (422), and writes nothing', async () => {
    const stranger = await t.citizen(STRANGER, '路人'); // 3301xx, born 1980, sequence 5: a man of 46
    const check = (await call('GET', `/v1/services/bundles/${ruled}/eligibility`, stranger.token)).json();
    expect(check.eligible).toBe(false);
    expect(check.results.map((r: { met: boolean | null }) => r.met)).toEqual([null, true, false, false]);
    expect(check.results[2].reason.zh).toContain('46');
    const before = (await call('GET', '/v1/services/applications', stranger.token)).json().items.length;
    const refused = await call('POST', `/v1/services/bundles/${ruled}/applications`, stranger.token, {
      form: { phone: '1' },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error).toMatchObject({
      code: 'SERVICE_NOT_ELIGIBLE',
      details: { rules: ['年满 18 周岁且不超过 45 周岁', '由母亲申请'] },
    });
    expect(refused.json().error.messages['zh-CN']).toContain(
      '年满 18 周岁且不超过 45 周岁（申请对象年龄 46 周岁',
    );
    expect(refused.json().error.messages.en).toContain('the subject must be female');
    expect((await call('GET', '/v1/services/applications', stranger.token)).json().items.length).toBe(before);
  });

  it('checks the family member whose data is used under a consent, not the applicant', async () => {
    const elder = await t.citizen(ELDER, '林老');
    const mother = await t.citizen(MOTHER, '林晓');
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const consent = await call('POST', '/v1/citizen/consents', elder.token, {
      granteeIdNumber: MOTHER,
      granteeName: '林晓',
      relation: 'parent',
      validUntil: until,
    });
    expect(consent.statusCode, consent.body).toBe(201);
    const consentId = consent.json().id;
    const check = (
      await call('GET', `/v1/services/bundles/${ruled}/eligibility?consentId=${consentId}`, mother.token)
    ).json();
    expect(check.results.map((r: { met: boolean | null }) => r.met)).toEqual([null, false, false, false]);
    expect(check.results[1].reason.zh).toContain('340104');
    const refused = await call('POST', `/v1/services/bundles/${ruled}/applications`, mother.token, {
      consentId,
      form: { phone: '1' },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.details.rules).toHaveLength(3);
  });

  it('refuses rules that cannot be checked as written', async () => {
    const health = (await t.actAs('steward.health')).principal!.orgId;
    const body = (eligibility: unknown[]) => ({
      code: 'BAD-RULES',
      name: '坏条件',
      nameEn: 'Bad rules',
      eventKind: 'life',
      leadOrgId: health,
      promisedWorkingDays: 1,
      eligibility,
      steps: [{ key: 'only', name: '步骤', orgId: health, dependsOn: [], workingDays: 1, fields: [] }],
    });
    for (const bad of [
      [{ kind: 'age', text: '年龄', min: 60, max: 18 }],
      [{ kind: 'region', text: '地区', prefixes: ['33a1'] }],
      [{ kind: 'income', text: '收入' }],
      [{ kind: 'sex', text: '性别', sex: 'other' }],
    ]) {
      const res = await call('POST', '/v1/services/bundles', admin, body(bad));
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
  });
});
