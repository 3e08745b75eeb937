import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrateAudit } from '../src/audit/integrate.ts';
import * as catalog from '../src/catalog/service.ts';
import { type Ctx, cliCtx } from '../src/core/context.ts';
import { AppError } from '../src/core/errors.ts';
import { DEFAULT_CJK_FONT } from '../src/core/pdf.ts';
import { isRegistrationCode, verifyCertificate } from '../src/registry/certificate.ts';
import { verifyCertificateFile } from '../src/registry/cli.ts';
import * as registry from '../src/registry/service.ts';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
let keyDir: string;
let admin: Ctx;
let holder: Ctx;
let other: Ctx;
let adminToken: string;

// China civil time 10:00 on the given day.
const at = (day: string) => new Date(`${day}T02:00:00Z`);

const content = (name: string): registry.RegistrationContent => ({
  name,
  summary: '全市门诊就诊人次按区县、月份统计',
  fields: [
    { name: 'district', label: '所属区县', dataType: 'text' },
    { name: 'visits', label: '就诊人次', dataType: 'integer' },
  ],
  volume: '约 12 万行，每月新增 1 万行',
  source: '医院信息系统上报',
  updateCycle: '每月',
  grade: '一般数据（第二级）',
  storageLocation: '云岚市政务云',
  storageMethod: 'PostgreSQL 数据库',
  intendedUse: '授权运营，开发医疗资源配置分析产品',
  qualityDescription: '字段完整率 99%，经卫健委质控',
  operationScope: '医疗健康领域授权运营',
});
const commitment: registry.Commitment = {
  signatory: '卫健委数据专员',
  signedOn: '2025-09-25',
  text: '本单位承诺所登记数据来源合法、内容真实，依法依规使用。',
};

async function newResource(name: string) {
  return catalog.createResource(holder, {
    name,
    summary: '测试资源',
    theme: 'social_security',
    updateCycle: 'monthly',
    sharingType: 'conditional',
    sharingConditions: '用于授权运营',
    openType: 'not_open',
    fields: [
      { name: 'district', label: '所属区县', dataType: 'text' },
      { name: 'visits', label: '就诊人次', dataType: 'integer' },
    ],
  });
}

async function refused(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** Through the whole workflow to a registered first registration, on the given days. */
async function registerFirst(name: string, day = '2025-06-02') {
  const resource = await newResource(name);
  const r = await registry.submitRegistration(
    holder,
    { kind: 'first', subjectType: 'resource', subjectId: resource.id, content: content(name), commitment },
    at(day),
  );
  await registry.actOnRegistration(admin, r.id, 'accept', {}, at(day));
  await registry.actOnRegistration(admin, r.id, 'review', {}, at(day));
  const noticed = await registry.actOnRegistration(admin, r.id, 'publish', {}, at(day));
  const done = await registry.actOnRegistration(
    admin,
    r.id,
    'register',
    {},
    at(nextDay(noticed.dates.noticeUntil!)),
  );
  return { resource, registration: done };
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

beforeAll(async () => {
  keyDir = await fs.mkdtemp(path.join(os.tmpdir(), 'shutong-registry-'));
  t = await startTestApp({ AUDIT_KEY_FILE: path.join(keyDir, 'key.pem') });
  admin = await t.actAs('admin');
  holder = await t.actAs('steward.health');
  other = await t.actAs('steward.psb');
  adminToken = await t.login('admin');
});
afterAll(async () => {
  await t?.close();
  await fs.rm(keyDir, { recursive: true, force: true });
});

describe('registration workflow with working-day deadlines', () => {
  it('counts acceptance, review and notice in working days across National Day 2025', async () => {
    const resource = await newResource('门诊就诊人次统计');
    // Friday 26 September 2025: three working days are Sun 28 (make-up day), Mon 29, Tue 30.
    const r = await registry.submitRegistration(
      holder,
      {
        kind: 'first',
        subjectType: 'resource',
        subjectId: resource.id,
        content: content(resource.name),
        commitment,
      },
      at('2025-09-26'),
    );
    expect(r.state).toBe('submitted');
    expect(r.dates.acceptDue).toBe('2025-09-30');
    expect(r.step).toEqual({ name: 'accept', due: '2025-09-30' });

    // Still in time on the last day; overdue on the first working day after the holiday.
    expect(await registry.overdueAt(t.database.db, '2025-09-30')).toEqual([]);
    const late = await registry.overdueAt(t.database.db, '2025-10-09');
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({
      step: 'accept',
      due: '2025-09-30',
      workingDaysOverdue: 1,
      calendarCertain: true,
    });
    // During the holiday no working day has passed yet.
    expect((await registry.overdueAt(t.database.db, '2025-10-05'))[0]?.workingDaysOverdue).toBe(0);

    // Accepted Tue 30 Sep: 20 working days skip 1–8 Oct and count Saturday 11 Oct.
    const accepted = await registry.actOnRegistration(admin, r.id, 'accept', {}, at('2025-09-30'));
    expect(accepted.state).toBe('accepted');
    expect(accepted.dates.reviewDue).toBe('2025-11-04');
    const reviewLate = await registry.overdueAt(t.database.db, '2025-11-05');
    expect(reviewLate[0]).toMatchObject({ step: 'review', due: '2025-11-04', workingDaysOverdue: 1 });

    // Reviewed and published on the make-up Saturday: ten working days of notice end Fri 24 Oct.
    const reviewed = await registry.actOnRegistration(admin, r.id, 'review', {}, at('2025-10-11'));
    expect(reviewed.state).toBe('reviewed');
    const notice = await registry.actOnRegistration(admin, r.id, 'publish', {}, at('2025-10-11'));
    expect(notice.state).toBe('notice');
    expect(notice.dates.noticeFrom).toBe('2025-10-11');
    expect(notice.dates.noticeUntil).toBe('2025-10-24');

    // Not before the notice is over.
    expect(
      (await refused(registry.actOnRegistration(admin, r.id, 'register', {}, at('2025-10-24')))).code,
    ).toBe('NOTICE_NOT_OVER');
    // A real-name objection during the notice must be answered first.
    const objected = await registry.lodgeObjection(
      other,
      r.id,
      { realName: '王五', text: '字段说明与实际不符' },
      at('2025-10-20'),
    );
    expect(objected.objections).toHaveLength(1);
    expect(
      (await refused(registry.actOnRegistration(admin, r.id, 'register', {}, at('2025-10-27')))).code,
    ).toBe('OBJECTIONS_OPEN');
    // No objections after the notice.
    expect(
      (
        await refused(
          registry.lodgeObjection(other, r.id, { realName: '王五', text: '迟到' }, at('2025-10-27')),
        )
      ).code,
    ).toBe('INVALID_TRANSITION');
    // Only the registry answers.
    const objectionId = objected.objections[0]!.id;
    expect(
      (await refused(registry.answerObjection(holder, r.id, objectionId, { answer: 'x', upheld: false })))
        .code,
    ).toBe('FORBIDDEN');
    await registry.answerObjection(admin, r.id, objectionId, { answer: '经核实字段说明无误', upheld: false });
    expect(
      (await refused(registry.answerObjection(admin, r.id, objectionId, { answer: 'again', upheld: false })))
        .code,
    ).toBe('CONFLICT');

    const registered = await registry.actOnRegistration(admin, r.id, 'register', {}, at('2025-10-27'));
    expect(registered.state).toBe('registered');
    expect(registered.code).not.toBeNull();
    expect(isRegistrationCode(registered.code!)).toBe(true);
    expect(registered.code!.startsWith('DJ2025')).toBe(true);
    expect(registered.dates.registeredOn).toBe('2025-10-27');
    expect(registered.dates.validUntil).toBe('2028-10-27');
    expect(registered.step).toBeNull();
    expect(await registry.overdueAt(t.database.db, '2025-12-01')).toEqual([]);
  });

  it('reports each late step once per deadline, and the monitor raises it as an alert', async () => {
    const resource = await newResource('逾期登记');
    const r = await registry.submitRegistration(
      holder,
      {
        kind: 'first',
        subjectType: 'resource',
        subjectId: resource.id,
        content: content(resource.name),
        commitment,
      },
      at('2025-09-26'),
    );
    const system = cliCtx(t.database.db, t.config);
    const reports = async () =>
      (
        await t.database.db
          .selectFrom('audit_events')
          .select(['org_id', 'details'])
          .where('action', '=', 'registration.overdue')
          .where('object_id', '=', r.id)
          .orderBy('queued')
          .execute()
      ).map((e) => ({ orgId: e.org_id, ...(e.details as { step: string }) }));
    // In time on the due day; late after the holiday, reported once however often the sweep runs.
    await registry.reportOverdueRegistrations(system, at('2025-09-30'));
    expect(await reports()).toEqual([]);
    expect(await registry.reportOverdueRegistrations(system, at('2025-10-09'))).toBeGreaterThanOrEqual(1);
    expect(await registry.reportOverdueRegistrations(system, at('2025-10-09'))).toBe(0);
    await registry.reportOverdueRegistrations(system, at('2025-10-10'));
    expect(await reports()).toEqual([
      {
        orgId: r.registrantOrgId,
        step: 'accept',
        dueOn: '2025-09-30',
        workingDaysOverdue: 1,
        calendarCertain: true,
      },
    ]);
    // The next step has its own deadline, reported again when it passes.
    await registry.actOnRegistration(admin, r.id, 'accept', {}, at('2025-10-10'));
    await registry.reportOverdueRegistrations(system, at('2025-11-07'));
    await registry.reportOverdueRegistrations(system, at('2025-11-08'));
    expect((await reports()).map((e) => e.step)).toEqual(['accept', 'review']);
    await expect(registry.reportOverdueRegistrations(holder)).rejects.toMatchObject({ code: 'FORBIDDEN' });

    await integrateAudit(t.database.db);
    const security = await t.login('security');
    const monitor = (method: 'GET' | 'POST', url: string) =>
      t.request({ method, url, token: security, ...(method === 'POST' ? { payload: {} } : {}) });
    expect((await monitor('POST', '/v1/monitor/evaluate')).statusCode).toBe(200);
    const alerts = (await monitor('GET', '/v1/monitor/alerts?rule=registry_overdue&limit=100')).json()
      .items as Array<{ details: { objectId: string; step: string } }>;
    expect(
      alerts
        .filter((a) => a.details.objectId === r.id)
        .map((a) => a.details.step)
        .sort(),
    ).toEqual(['accept', 'review']);
    expect(alerts.find((a) => a.details.objectId === r.id)).toMatchObject({
      severity: 'warning',
      subject: { type: 'organization', id: r.registrantOrgId },
    });
  });

  it('refuses every transition the table does not declare, and callers without the role', async () => {
    const resource = await newResource('学校名录');
    const submit = (now = at('2025-03-03')) =>
      registry.submitRegistration(
        holder,
        {
          kind: 'first',
          subjectType: 'resource',
          subjectId: resource.id,
          content: content(resource.name),
          commitment,
        },
        now,
      );
    // Only the holder registers its resource.
    expect(
      (
        await refused(
          registry.submitRegistration(other, {
            kind: 'first',
            subjectType: 'resource',
            subjectId: resource.id,
            content: content(resource.name),
            commitment,
          }),
        )
      ).code,
    ).toBe('FORBIDDEN');
    const r = await submit();
    // One open registration per subject.
    expect((await refused(submit())).code).toBe('CONFLICT');
    // A change needs a code; a first registration must not have one.
    expect(
      (
        await refused(
          registry.submitRegistration(holder, {
            kind: 'change',
            subjectType: 'resource',
            subjectId: resource.id,
            content: content(resource.name),
            commitment,
          }),
        )
      ).code,
    ).toBe('VALIDATION_FAILED');

    const steps: registry.ActInput = {};
    for (const event of ['review', 'publish', 'register', 'reject', 'resubmit'] as const) {
      const who = event === 'resubmit' ? holder : admin;
      const err = await refused(registry.actOnRegistration(who, r.id, event, { reason: 'x', ...steps }));
      expect(err.code, event).toBe('INVALID_TRANSITION');
    }
    // The registrant cannot accept; the registry must give a reason to return.
    expect((await refused(registry.actOnRegistration(holder, r.id, 'accept'))).code).toBe('FORBIDDEN');
    expect((await refused(registry.actOnRegistration(admin, r.id, 'return', {}))).code).toBe(
      'VALIDATION_FAILED',
    );
    // Another organization cannot withdraw it.
    expect((await refused(registry.actOnRegistration(other, r.id, 'withdraw'))).code).toBe('FORBIDDEN');

    // Returned for correction, resubmitted: a new three-day clock.
    const returned = await registry.actOnRegistration(
      admin,
      r.id,
      'return',
      { reason: '缺少质量说明' },
      at('2025-03-04'),
    );
    expect(returned.state).toBe('returned');
    expect(returned.reason).toBe('缺少质量说明');
    expect(returned.step).toBeNull();
    const again = await registry.actOnRegistration(
      holder,
      r.id,
      'resubmit',
      { content: { ...content(resource.name), qualityDescription: '补充：抽检 1000 条，准确率 99.5%' } },
      at('2025-03-07'),
    );
    expect(again.state).toBe('submitted');
    expect(again.dates.submittedOn).toBe('2025-03-07');
    expect(again.dates.acceptDue).toBe('2025-03-12');
    expect(again.content.qualityDescription).toContain('抽检');
    expect(again.reason).toBeNull();

    await registry.actOnRegistration(admin, r.id, 'accept', {}, at('2025-03-10'));
    // Rejected in review, with a reason; nothing follows a rejection.
    const rejected = await registry.actOnRegistration(admin, r.id, 'reject', { reason: '数据来源不合法' });
    expect(rejected.state).toBe('rejected');
    expect(rejected.reason).toBe('数据来源不合法');
    for (const event of ['accept', 'review', 'publish', 'register', 'reject', 'withdraw'] as const) {
      const who = event === 'withdraw' ? holder : admin;
      expect((await refused(registry.actOnRegistration(who, r.id, event, { reason: 'x' }))).code, event).toBe(
        'INVALID_TRANSITION',
      );
    }
    // Withdrawal of a fresh submission.
    const second = await submit();
    expect((await registry.actOnRegistration(holder, second.id, 'withdraw')).state).toBe('withdrawn');
  });

  it('rejects a registration whose objection is upheld', async () => {
    const resource = await newResource('企业登记信息');
    const r = await registry.submitRegistration(
      holder,
      {
        kind: 'first',
        subjectType: 'resource',
        subjectId: resource.id,
        content: content(resource.name),
        commitment,
      },
      at('2025-05-06'),
    );
    await registry.actOnRegistration(admin, r.id, 'accept', {}, at('2025-05-06'));
    await registry.actOnRegistration(admin, r.id, 'review', {}, at('2025-05-07'));
    const notice = await registry.actOnRegistration(admin, r.id, 'publish', {}, at('2025-05-07'));
    const objected = await registry.lodgeObjection(
      other,
      r.id,
      { realName: '李四', text: '该数据归我局所有' },
      at('2025-05-08'),
    );
    await registry.answerObjection(admin, r.id, objected.objections[0]!.id, {
      answer: '异议成立',
      upheld: true,
    });
    const after = at(nextDay(notice.dates.noticeUntil!));
    expect((await refused(registry.actOnRegistration(admin, r.id, 'register', {}, after))).code).toBe(
      'OBJECTIONS_OPEN',
    );
    expect(
      (await registry.actOnRegistration(admin, r.id, 'reject', { reason: '异议成立' }, after)).state,
    ).toBe('rejected');
  });
});

describe('certificates', () => {
  it('are signed with SM2, verify offline, and refuse tampering', async () => {
    const { registration } = await registerFirst('居民健康档案统计');
    const code = registration.code!;
    const res = await t.request({ method: 'GET', url: `/v1/registry/certificates/${code}` });
    expect(res.statusCode).toBe(200);
    const history = res.json();
    expect(history.status).toBe('registered');
    const signed = history.current;
    expect(signed.certificate.code).toBe(code);
    expect(signed.certificate.holder.name).toContain('卫生健康委员会');

    const keyRes = await t.request({ method: 'GET', url: '/v1/registry/public-key' });
    const pem = keyRes.json().publicKeyPem as string;
    expect(verifyCertificate(signed, pem)).toMatchObject({ valid: true, reason: 'ok', code, version: 1 });

    // Offline, as `shutong registry verify-certificate FILE --pubkey K`.
    const file = path.join(keyDir, 'cert.json');
    const pubFile = path.join(keyDir, 'pub.pem');
    await fs.writeFile(file, JSON.stringify(signed, null, 2));
    await fs.writeFile(pubFile, pem);
    const ok = await verifyCertificateFile(file, pubFile);
    expect(ok.code).toBe(0);
    expect(ok.lines[0]).toContain(`OK: ${code}`);

    // Attacks: altered content, altered validity, a signature moved onto another certificate, another key.
    const tampered = structuredClone(signed);
    tampered.certificate.content.volume = '约 1 亿行';
    expect(verifyCertificate(tampered, pem)).toMatchObject({ valid: false, reason: 'bad_signature' });
    await fs.writeFile(file, JSON.stringify(tampered));
    const bad = await verifyCertificateFile(file, pubFile);
    expect(bad.code).toBe(1);
    expect(bad.lines[0]).toContain('FAILED');
    const extended = structuredClone(signed);
    extended.certificate.validUntil = '2099-01-01';
    expect(verifyCertificate(extended, pem).valid).toBe(false);
    const { generateKeyPairSync } = await import('node:crypto');
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'SM2' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(verifyCertificate(signed, String(otherKey))).toMatchObject({ valid: false, reason: 'wrong_key' });
    expect(verifyCertificate({ certificate: { type: 'x' } }, pem)).toMatchObject({
      valid: false,
      reason: 'malformed',
    });

    // The server's check says the same and whether the version is current.
    const checked = await t.request({
      method: 'POST',
      url: '/v1/registry/certificates/verify',
      payload: signed,
    });
    expect(checked.json()).toMatchObject({ valid: true, current: true });
    const refusedCheck = await t.request({
      method: 'POST',
      url: '/v1/registry/certificates/verify',
      payload: tampered,
    });
    expect(refusedCheck.json()).toMatchObject({ valid: false, reason: 'bad_signature', current: null });

    // The public page, without signing in, and the printable PDF with the Chinese font embedded.
    const page = await t.request({ method: 'GET', url: `/registry/${code}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain(code);
    expect(page.body).toContain('居民健康档案统计');
    expect(page.body).toContain('<svg');
    expect((await t.request({ method: 'GET', url: '/registry/DJ2025999999X' })).statusCode).toBe(404);

    await expect(fs.access(DEFAULT_CJK_FONT)).resolves.toBeUndefined();
    const pdf = await t.request({ method: 'GET', url: `/v1/registry/certificates/${code}/pdf` });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    const bytes = pdf.rawPayload.toString('latin1');
    expect(bytes.startsWith('%PDF')).toBe(true);
    expect(bytes).toMatch(/FontFile2/); // the CJK font is embedded (a subset)
    expect(bytes).toMatch(/WenQuanYiMicroHei/);
    expect(bytes).toMatch(/\/Subtype \/Image/); // the QR code
  });

  it('keep the history through a change and a cancellation', async () => {
    const { resource, registration } = await registerFirst('药品零售许可信息');
    const code = registration.code!;
    // A first registration of a registered resource is refused; a change names its code.
    expect(
      (
        await refused(
          registry.submitRegistration(holder, {
            kind: 'first',
            subjectType: 'resource',
            subjectId: resource.id,
            content: content(resource.name),
            commitment,
          }),
        )
      ).code,
    ).toBe('CONFLICT');
    const change = await registry.submitRegistration(
      holder,
      {
        kind: 'change',
        subjectType: 'resource',
        subjectId: resource.id,
        code,
        content: { ...content(resource.name), updateCycle: '每周' },
        commitment,
      },
      at('2025-07-01'),
    );
    await registry.actOnRegistration(admin, change.id, 'accept', {}, at('2025-07-01'));
    await registry.actOnRegistration(admin, change.id, 'review', {}, at('2025-07-02'));
    const noticed = await registry.actOnRegistration(admin, change.id, 'publish', {}, at('2025-07-02'));
    const changed = await registry.actOnRegistration(
      admin,
      change.id,
      'register',
      {},
      at(nextDay(noticed.dates.noticeUntil!)),
    );
    expect(changed.code).toBe(code);
    // The change keeps the term of validity of what it changes.
    expect(changed.dates.validUntil).toBe(registration.dates.validUntil);
    expect((await registry.getRegistration(admin, registration.id)).state).toBe('superseded');

    const v2 = (await t.request({ method: 'GET', url: `/v1/registry/certificates/${code}` })).json();
    expect(v2.versions.map((v: { version: number; status: string }) => [v.version, v.status])).toEqual([
      [2, 'current'],
      [1, 'superseded'],
    ]);
    expect(v2.current.certificate.content.updateCycle).toBe('每周');
    const v1 = (
      await t.request({ method: 'GET', url: `/v1/registry/certificates/${code}/versions/1` })
    ).json();
    expect(v1.certificate.content.updateCycle).toBe('每月');
    const v1Check = await t.request({ method: 'POST', url: '/v1/registry/certificates/verify', payload: v1 });
    expect(v1Check.json()).toMatchObject({ valid: true, current: false });

    // Cancellation: ten working days for the review and no public notice.
    const cancel = await registry.submitRegistration(
      holder,
      {
        kind: 'cancellation',
        subjectType: 'resource',
        subjectId: resource.id,
        code,
        content: content(resource.name),
        commitment,
      },
      at('2025-09-26'),
    );
    const accepted = await registry.actOnRegistration(admin, cancel.id, 'accept', {}, at('2025-09-30'));
    // 9, 10, 11 (make-up Saturday), 13–17, 20, 21 October.
    expect(accepted.dates.reviewDue).toBe('2025-10-21');
    await registry.actOnRegistration(admin, cancel.id, 'review', {}, at('2025-10-09'));
    expect((await refused(registry.actOnRegistration(admin, cancel.id, 'publish'))).code).toBe(
      'INVALID_TRANSITION',
    );
    const cancelled = await registry.actOnRegistration(admin, cancel.id, 'register', {}, at('2025-10-09'));
    expect(cancelled.state).toBe('registered');
    expect((await registry.getRegistration(admin, changed.id)).state).toBe('cancelled');

    const final = (await t.request({ method: 'GET', url: `/v1/registry/certificates/${code}` })).json();
    expect(final.status).toBe('cancelled');
    expect(final.versions).toHaveLength(3);
    expect(final.versions[0]).toMatchObject({ version: 3, status: 'cancelled', kind: 'cancellation' });
    const page = await t.request({ method: 'GET', url: `/registry/${code}` });
    expect(page.body).toContain('已注销');
  });
});

describe('registry API', () => {
  it('runs the workflow over HTTP with the declared access', async () => {
    const stewardToken = await t.login('steward.health');
    const consumerToken = await t.login('consumer.civil');
    const resource = await newResource('出生医学证明统计');
    const body = {
      kind: 'first',
      subjectType: 'resource',
      subjectId: resource.id,
      content: content(resource.name),
      commitment,
    };
    expect(
      (await t.request({ method: 'POST', url: '/v1/registry/registrations', payload: body })).statusCode,
    ).toBe(401);
    expect(
      (
        await t.request({
          method: 'POST',
          url: '/v1/registry/registrations',
          payload: body,
          token: consumerToken,
        })
      ).statusCode,
    ).toBe(403);
    const bad = await t.request({
      method: 'POST',
      url: '/v1/registry/registrations',
      payload: { ...body, commitment: { signatory: 'x' } },
      token: stewardToken,
    });
    expect(bad.statusCode).toBe(400);
    const created = await t.request({
      method: 'POST',
      url: '/v1/registry/registrations',
      payload: body,
      token: stewardToken,
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect(
      (
        await t.request({
          method: 'POST',
          url: `/v1/registry/registrations/${id}/accept`,
          token: stewardToken,
        })
      ).statusCode,
    ).toBe(403);
    const accepted = await t.request({
      method: 'POST',
      url: `/v1/registry/registrations/${id}/accept`,
      token: adminToken,
    });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json().state).toBe('accepted');
    const wrong = await t.request({
      method: 'POST',
      url: `/v1/registry/registrations/${id}/publish`,
      token: adminToken,
    });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().error.code).toBe('INVALID_TRANSITION');
    const list = await t.request({
      method: 'GET',
      url: '/v1/registry/registrations?state=accepted',
      token: consumerToken,
    });
    expect(list.json().items.some((r: { id: string }) => r.id === id)).toBe(true);
    const overdue = await t.request({ method: 'GET', url: '/v1/registry/overdue', token: adminToken });
    expect(overdue.statusCode).toBe(200);
    // Every registry step is audited.
    const entries = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('object_id', '=', id)
      .orderBy('time')
      .execute();
    expect(entries.map((e) => e.action)).toEqual(['registry.submit', 'registry.accept']);
  });
});
