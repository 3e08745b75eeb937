import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCtx } from '../src/core/context.ts';
import { findDemoResource } from '../src/demo/resources.ts';
import { seedDemo } from '../src/demo/seed.ts';
import { luhnCheckDigit } from '../src/standards/luhn.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
let steward: string;
let otherSteward: string;
let consumer: string;

const FIELDS = [
  { name: 'id_number', label: '公民身份号码', dataType: 'text' },
  { name: 'name', label: '姓名', dataType: 'text' },
  { name: 'phone', label: '联系电话', dataType: 'text' },
  { name: 'district', label: '所属区县', dataType: 'text' },
  { name: 'visits', label: '就诊人次', dataType: 'integer' },
  { name: 'note', label: '备注', dataType: 'text' },
];
const SURNAMES = [...'张王李刘陈杨赵黄周吴'];
const GIVEN = [...'伟芳娜敏静丽强磊'];
const DISTRICTS = ['西湖区', '滨江区', '上城区', '拱墅区'];

const id = (i: number) => makeResidentId('330106', `19${50 + (i % 45)}-0${1 + (i % 9)}-1${i % 10}`, i % 1000);
const mobile = (i: number) => `13${i % 10}${String(10_000_000 + i * 7919).slice(-8)}`;
const personName = (i: number) => SURNAMES[i % 10]! + GIVEN[Math.floor(i / 10) % 8]!;
const bankCard = (i: number) => {
  const partial = `621700${String(100_000_000_000 + i * 7_654_321).slice(-12)}`;
  return partial + luhnCheckDigit(partial);
};

function csvOf(header: string[], rows: unknown[][]): string {
  return `${header.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
}

const firstFile = csvOf(
  ['公民身份号码', '姓名', '联系电话', '所属区县', '就诊人次', '备注'],
  Array.from({ length: 60 }, (_, i) => [
    id(i),
    personName(i),
    mobile(i),
    DISTRICTS[i % 4],
    i % 7,
    i % 2 ? '复诊' : '初诊',
  ]),
);

async function createResource(token: string, overrides: Record<string, unknown> = {}, fields = FIELDS) {
  const res = await t.request({
    method: 'POST',
    url: '/v1/resources',
    token,
    payload: {
      name: '门诊就诊登记',
      theme: 'health',
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '依法履职需要',
      openType: 'not_open',
      fields,
      ...overrides,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  // Published, so that consumers and other providers read it as these tests do.
  await t.publish(res.json().code, token);
  return res.json() as { id: string; code: string };
}

async function upload(code: string, body: string, token = steward) {
  const res = await t.request({
    method: 'POST',
    url: `/v1/resources/${code}/versions?filename=data.csv&wait=true`,
    token,
    headers: { 'content-type': 'text/csv' },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function classification(code: string, token = steward) {
  const res = await t.request({ method: 'GET', url: `/v1/resources/${code}/classification`, token });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

type FieldView = {
  name: string;
  grade: string;
  detector: string | null;
  scan: {
    confidence: number;
    versionNumber: number;
    suggestedGrade: string;
    evidence: { samples: string[]; headerHint: string | null };
  };
  confirmation: unknown;
};
const field = (view: { fields: FieldView[] }, name: string) => view.fields.find((f) => f.name === name)!;

function setGrade(code: string, name: string, payload: Record<string, unknown>, token = steward) {
  return t.request({ method: 'PUT', url: `/v1/resources/${code}/fields/${name}/grade`, token, payload });
}

async function auditActions(objectId: string) {
  return t.database.db
    .selectFrom('audit_events')
    .select(['action', 'details', 'actor_id'])
    .where('object_id', '=', objectId)
    .orderBy('queued')
    .execute();
}

beforeAll(async () => {
  t = await startTestApp();
  steward = await t.login('steward.health');
  otherSteward = await t.login('steward.psb');
  consumer = await t.login('consumer.civil');
});

afterAll(async () => {
  await t?.close();
});

describe('classification', () => {
  let resource: { id: string; code: string };

  it('grades an import: ID numbers g4, phones and names g3 with masked evidence, ordinary fields unassessed', async () => {
    resource = await createResource(steward);
    await upload(resource.code, firstFile);
    const view = await classification(resource.code);
    expect(view.grade).toBe('g4');
    expect(view.flag).toBeNull();
    expect(field(view, 'id_number')).toMatchObject({
      grade: 'g4',
      detector: 'cn_resident_id',
      confirmation: null,
      scan: {
        detector: 'cn_resident_id',
        suggestedGrade: 'g4',
        ratio: 1,
        nonEmpty: 60,
        rows: 60,
        sampled: false,
      },
    });
    const idScan = field(view, 'id_number').scan;
    expect(idScan.versionNumber).toBe(1);
    expect(idScan.confidence).toBeGreaterThan(0.9);
    expect(idScan.evidence.headerHint).toBe('身份号码');
    expect(idScan.evidence.samples.length).toBeGreaterThan(0);
    for (const s of idScan.evidence.samples) expect(s).toMatch(/^330106\*{8}\d{3}[\dX]$/);
    expect(field(view, 'phone')).toMatchObject({ grade: 'g3', detector: 'cn_mobile' });
    for (const s of field(view, 'phone').scan.evidence.samples) expect(s).toMatch(/^1\d{2}\*{4}\d{4}$/);
    expect(field(view, 'name')).toMatchObject({ grade: 'g3', detector: 'person_name' });
    for (const s of field(view, 'name').scan.evidence.samples) expect(s).toMatch(/^[\u4e00-\u9fff]\*+$/);
    for (const name of ['district', 'visits', 'note']) {
      expect(field(view, name)).toMatchObject({
        grade: 'unassessed',
        detector: null,
        scan: { detector: null },
      });
    }
    // The catalog entry carries the effective grades too: the gateway and sharing read them.
    const entry = (
      await t.request({ method: 'GET', url: `/v1/resources/${resource.code}`, token: consumer })
    ).json();
    expect(entry.grade).toBe('g4');
    expect(entry.fields.find((f: FieldView) => f.name === 'id_number')).toMatchObject({
      grade: 'g4',
      detector: 'cn_resident_id',
    });
  });

  it('shows evidence samples only to the provider’s stewards, security officers and admins (issue #14)', async () => {
    const samplesOf = (view: { fields: FieldView[] }) =>
      view.fields.flatMap((f) => f.scan?.evidence.samples ?? []);
    expect(samplesOf(await classification(resource.code)).length).toBeGreaterThan(0);
    expect(samplesOf(await classification(resource.code, await t.login('security'))).length).toBeGreaterThan(
      0,
    );
    // A consumer, and another provider's steward, see the detector and the grade, never samples:
    // masked samples of many resources together single residents out.
    for (const token of [consumer, otherSteward]) {
      const view = await classification(resource.code, token);
      expect(samplesOf(view)).toEqual([]);
      expect(field(view, 'id_number')).toMatchObject({
        grade: 'g4',
        detector: 'cn_resident_id',
        scan: { detector: 'cn_resident_id', evidence: { headerHint: '身份号码' } },
      });
    }
  });

  it('grades ordinary fields from the metadata: g2 when shared unconditionally, g1 when open', async () => {
    const small = firstFile.split('\n').slice(0, 21).join('\n');
    const shared = await createResource(steward, {
      name: '共享登记',
      sharingType: 'unconditional',
      sharingConditions: '',
    });
    await upload(shared.code, small);
    const open = await createResource(steward, {
      name: '开放登记',
      sharingType: 'unconditional',
      sharingConditions: '',
      openType: 'unconditional',
    });
    await upload(open.code, small);
    const s = await classification(shared.code);
    const o = await classification(open.code);
    expect(field(s, 'district').grade).toBe('g2');
    expect(field(o, 'district').grade).toBe('g1');
    expect(field(o, 'visits').grade).toBe('g1');
    // The metadata is a floor for plain fields, never a ceiling for sensitive ones.
    expect(field(s, 'id_number').grade).toBe('g4');
    expect(field(o, 'phone').grade).toBe('g3');
  });

  it('lets the provider’s steward confirm or override a grade, with a reason when it differs, audited', async () => {
    const missing = await setGrade(resource.code, 'phone', { grade: 'g2' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details.field).toBe('reason');

    const agreed = await setGrade(resource.code, 'name', { grade: 'g3' });
    expect(agreed.statusCode, agreed.body).toBe(200);
    expect(field(agreed.json(), 'name').confirmation).toMatchObject({
      grade: 'g3',
      by: { username: 'steward.health' },
      reason: null,
    });

    const lowered = await setGrade(resource.code, 'phone', { grade: 'g2', reason: '医院对外公布的咨询电话' });
    expect(lowered.statusCode, lowered.body).toBe(200);
    expect(field(lowered.json(), 'phone')).toMatchObject({
      grade: 'g2',
      detector: 'cn_mobile',
      scan: { suggestedGrade: 'g3' },
      confirmation: { grade: 'g2', reason: '医院对外公布的咨询电话', by: { username: 'steward.health' } },
    });
    expect(lowered.json().grade).toBe('g4');

    // The resource grade is the highest field grade: lowering the ID column lowers it.
    const idLowered = await setGrade(resource.code, 'id_number', {
      grade: 'g3',
      reason: '测试数据，号码均为虚构',
    });
    expect(idLowered.statusCode, idLowered.body).toBe(200);
    expect(idLowered.json().grade).toBe('g3');
    const restored = await setGrade(resource.code, 'id_number', { grade: 'g4' });
    expect(restored.json().grade).toBe('g4');

    const events = (await auditActions(resource.id)).filter((e) => e.action === 'field.grade.confirm');
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({ field: 'name', from: 'g3', to: 'g3', override: false, reason: null }),
      expect.objectContaining({
        field: 'phone',
        from: 'g3',
        to: 'g2',
        override: true,
        reason: '医院对外公布的咨询电话',
      }),
      expect.objectContaining({ field: 'id_number', to: 'g3', resourceGrade: { from: 'g4', to: 'g3' } }),
      expect.objectContaining({ field: 'id_number', to: 'g4', override: false }),
    ]);
    const entry = (
      await t.request({ method: 'GET', url: `/v1/resources/${resource.code}`, token: steward })
    ).json();
    expect(entry.fields.find((f: FieldView) => f.name === 'phone').grade).toBe('g2');
  });

  it('refuses grade decisions from anyone but the provider’s stewards', async () => {
    for (const token of [consumer, otherSteward]) {
      expect((await setGrade(resource.code, 'phone', { grade: 'g4', reason: 'x' }, token)).statusCode).toBe(
        403,
      );
      const scan = await t.request({
        method: 'POST',
        url: `/v1/resources/${resource.code}/classification/scan`,
        token,
      });
      expect(scan.statusCode).toBe(403);
      const clear = await t.request({
        method: 'POST',
        url: `/v1/resources/${resource.code}/classification/flag/clear`,
        token,
        payload: { reason: 'x' },
      });
      expect(clear.statusCode).toBe(403);
    }
    expect((await setGrade(resource.code, 'nope', { grade: 'g2', reason: 'x' })).statusCode).toBe(404);
    const bad = await setGrade(resource.code, 'phone', { grade: 'unassessed', reason: 'x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('grade');
  });

  it('decides many fields at once, all or nothing, exactly as one decision after another would', async () => {
    const decide = (code: string, payload: Record<string, unknown>, token = steward) =>
      t.request({ method: 'POST', url: `/v1/resources/${code}/classification/decisions`, token, payload });
    const bulk = await createResource(steward);
    await upload(bulk.code, firstFile);

    // A field with nothing to confirm refuses the whole request, naming it; nothing is written.
    const noSuggestion = await decide(bulk.code, { fields: ['phone', 'district'] });
    expect(noSuggestion.statusCode).toBe(400);
    expect(noSuggestion.json().error.details).toMatchObject({ field: 'fields', name: 'district' });
    const unknown = await decide(bulk.code, { fields: ['phone', 'nope'] });
    expect(unknown.statusCode).toBe(404);
    const noReason = await decide(bulk.code, { fields: ['district', 'visits'], grade: 'g1' });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.details).toMatchObject({ field: 'reason', name: 'district' });
    expect((await decide(bulk.code, { fields: ['phone', 'phone'] })).statusCode).toBe(400);
    for (const token of [consumer, otherSteward])
      expect((await decide(bulk.code, { fields: ['phone'] }, token)).statusCode).toBe(403);
    expect((await classification(bulk.code)).fields.every((f: FieldView) => f.confirmation === null)).toBe(
      true,
    );
    expect((await auditActions(bulk.id)).some((e) => e.action === 'field.grade.confirm')).toBe(false);

    const confirmed = await decide(bulk.code, { fields: ['id_number', 'phone', 'name'] });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const plain = await decide(bulk.code, {
      fields: ['district', 'visits', 'note'],
      grade: 'g1',
      reason: '统计口径字段，不涉及个人信息',
    });
    expect(plain.statusCode, plain.body).toBe(200);

    // The same decisions one by one on a twin resource give the same grades and confirmations.
    const twin = await createResource(steward);
    await upload(twin.code, firstFile);
    for (const name of ['id_number', 'phone', 'name']) {
      const suggested = field(await classification(twin.code), name).scan.suggestedGrade;
      expect((await setGrade(twin.code, name, { grade: suggested })).statusCode).toBe(200);
    }
    for (const name of ['district', 'visits', 'note'])
      expect(
        (await setGrade(twin.code, name, { grade: 'g1', reason: '统计口径字段，不涉及个人信息' })).statusCode,
      ).toBe(200);
    const shape = (view: {
      grade: string;
      fields: Array<FieldView & { confirmation: { grade: string; reason: string | null } | null }>;
    }) => ({
      grade: view.grade,
      fields: view.fields.map((f) => [f.name, f.grade, f.confirmation?.grade, f.confirmation?.reason]),
    });
    expect(shape(plain.json())).toEqual(shape(await classification(twin.code)));
    expect(shape(plain.json()).grade).toBe('g4');
    const audited = (await auditActions(bulk.id)).filter((e) => e.action === 'field.grade.confirm');
    expect(audited.map((e) => (e.details as { field: string }).field)).toEqual([
      'id_number',
      'phone',
      'name',
      'district',
      'visits',
      'note',
    ]);
  });

  it('flags a later import that contradicts the declared grades or brings a new sensitive column', async () => {
    // The steward declares the notes plain data; a bank account field is added.
    expect(
      (await setGrade(resource.code, 'note', { grade: 'g2', reason: '就诊类型，不涉及个人信息' })).statusCode,
    ).toBe(200);
    const current = (
      await t.request({ method: 'GET', url: `/v1/resources/${resource.code}`, token: steward })
    ).json();
    const patched = await t.request({
      method: 'PATCH',
      url: `/v1/resources/${resource.code}`,
      token: steward,
      payload: {
        revision: current.revision,
        fields: [...FIELDS, { name: 'bank_account', label: '银行账号', dataType: 'text' }],
      },
    });
    expect(patched.statusCode, patched.body).toBe(200);

    // Same phones as before (no flag for the confirmed g2), ID numbers now in the notes, bank cards.
    const second = csvOf(
      ['公民身份号码', '姓名', '联系电话', '所属区县', '就诊人次', '备注', '银行账号'],
      Array.from({ length: 60 }, (_, i) => [
        id(i + 100),
        personName(i),
        mobile(i),
        DISTRICTS[i % 4],
        i % 5,
        id(i + 500),
        bankCard(i),
      ]),
    );
    await upload(resource.code, second);
    const view = await classification(resource.code);
    expect(view.flag).not.toBeNull();
    const entries = Object.fromEntries(view.flag.fields.map((e: { field: string }) => [e.field, e]));
    expect(Object.keys(entries).sort()).toEqual(['bank_account', 'note']);
    expect(entries.note).toMatchObject({
      reason: 'declared_grade_contradicted',
      declaredGrade: 'g2',
      previousDetector: null,
      detector: 'cn_resident_id',
      suggestedGrade: 'g4',
      versionNumber: 2,
      confirmation: { grade: 'g2', reason: '就诊类型，不涉及个人信息' },
    });
    expect(entries.bank_account).toMatchObject({
      reason: 'new_sensitive_column',
      declaredGrade: 'unassessed',
      detector: 'bank_card',
      suggestedGrade: 'g4',
    });
    // Until a steward decides, the more sensitive reading applies; the set-aside confirmation is in the flag.
    expect(field(view, 'note')).toMatchObject({
      grade: 'g4',
      detector: 'cn_resident_id',
      confirmation: null,
    });
    expect(field(view, 'bank_account')).toMatchObject({ grade: 'g4', detector: 'bank_card' });
    // Decisions that the data still supports stand.
    expect(field(view, 'phone')).toMatchObject({ grade: 'g2', confirmation: { grade: 'g2' } });
    expect(field(view, 'name').confirmation).toMatchObject({ grade: 'g3' });
    expect((await auditActions(resource.id)).map((e) => e.action)).toContain('classification.flag.raise');

    // Confirming a flagged field resolves its part of the flag; clearing needs a reason and is audited.
    const confirmed = await setGrade(resource.code, 'bank_account', { grade: 'g4' });
    expect(confirmed.json().flag.fields.map((e: { field: string }) => e.field)).toEqual(['note']);
    const noReason = await t.request({
      method: 'POST',
      url: `/v1/resources/${resource.code}/classification/flag/clear`,
      token: steward,
      payload: {},
    });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.details.field).toBe('reason');
    const cleared = await t.request({
      method: 'POST',
      url: `/v1/resources/${resource.code}/classification/flag/clear`,
      token: steward,
      payload: { reason: '备注栏误填身份证号，已通知业务科室更正' },
    });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().flag).toBeNull();
    const again = await t.request({
      method: 'POST',
      url: `/v1/resources/${resource.code}/classification/flag/clear`,
      token: steward,
      payload: { reason: 'x' },
    });
    expect(again.statusCode).toBe(409);
    const clear = (await auditActions(resource.id)).find((e) => e.action === 'classification.flag.clear');
    expect(clear?.details).toMatchObject({
      fields: ['note'],
      reason: '备注栏误填身份证号，已通知业务科室更正',
    });

    // The same data again changes nothing and raises nothing.
    await upload(resource.code, second);
    expect((await classification(resource.code)).flag).toBeNull();
  });

  it('does not flag the first import, whose columns are all new', async () => {
    const fresh = await createResource(steward, { name: '首次导入' });
    await upload(fresh.code, firstFile);
    expect((await classification(fresh.code)).flag).toBeNull();
  });

  it('keeps grades declared before classification and checks new data against them', async () => {
    const declared = await createResource(steward, { name: '事先定级' });
    // As the catalog entry was graded before any scan (e.g. migrated from an older catalog).
    for (const [name, grade, detector] of [
      ['district', 'g1', null],
      ['visits', 'important', null],
      ['note', 'g1', null],
    ] as const) {
      await t.database.db
        .updateTable('resource_fields')
        .set({ grade, detector })
        .where('resource_id', '=', declared.id)
        .where('name', '=', name)
        .execute();
    }
    const file = csvOf(
      ['公民身份号码', '姓名', '联系电话', '所属区县', '就诊人次', '备注'],
      Array.from({ length: 40 }, (_, i) => [
        id(i),
        personName(i),
        mobile(i),
        DISTRICTS[i % 4],
        i,
        personName(i + 3),
      ]),
    );
    await upload(declared.code, file);
    const view = await classification(declared.code);
    expect(field(view, 'district')).toMatchObject({ grade: 'g1', confirmation: { grade: 'g1', by: null } });
    expect(field(view, 'visits')).toMatchObject({ grade: 'important', confirmation: { grade: 'important' } });
    expect(view.grade).toBe('important');
    // Names where plain notes were declared: contradicted even on the first import.
    expect(field(view, 'note')).toMatchObject({ grade: 'g3', detector: 'person_name', confirmation: null });
    expect(view.flag.fields).toEqual([
      expect.objectContaining({ field: 'note', reason: 'declared_grade_contradicted', declaredGrade: 'g1' }),
    ]);
  });

  it('finds the same in a large import (scanned while it loads) as in an on-demand scan of its table', async () => {
    const large = await createResource(steward, { name: '大文件导入' });
    const rows = Array.from({ length: 6_500 }, (_, i) => [
      id(i),
      personName(i),
      mobile(i),
      DISTRICTS[i % 4],
      i % 9,
      i % 3 ? '' : '复诊',
    ]);
    await upload(
      large.code,
      csvOf(['公民身份号码', '姓名', '联系电话', '所属区县', '就诊人次', '备注'], rows),
    );
    const pick = (view: { fields: FieldView[] }) =>
      view.fields.map((f) => {
        const { versionId: _v, scannedAt: _a, ...scan } = f.scan as unknown as Record<string, unknown>;
        return { name: f.name, grade: f.grade, detector: f.detector, scan };
      });
    const imported = await classification(large.code);
    expect(field(imported, 'id_number')).toMatchObject({
      grade: 'g4',
      scan: { rows: 6_500, nonEmpty: 6_500 },
    });
    const rescanned = await t.request({
      method: 'POST',
      url: `/v1/resources/${large.code}/classification/scan`,
      token: steward,
    });
    expect(rescanned.statusCode, rescanned.body).toBe(200);
    expect(pick(rescanned.json())).toEqual(pick(imported));
  });

  it('scans the current version on demand', async () => {
    const none = await createResource(steward, { name: '尚无数据' });
    const empty = await t.request({
      method: 'POST',
      url: `/v1/resources/${none.code}/classification/scan`,
      token: steward,
    });
    expect(empty.statusCode).toBe(409);
    expect(empty.json().error.code).toBe('NO_DATA_VERSION');

    const target = await createResource(steward, { name: '按需扫描' });
    await upload(target.code, firstFile);
    // Forget what the import found, as for a version loaded before classification existed.
    await t.database.db.deleteFrom('field_classifications').where('resource_id', '=', target.id).execute();
    await t.database.db
      .updateTable('resource_fields')
      .set({ grade: 'unassessed', detector: null })
      .where('resource_id', '=', target.id)
      .execute();
    await t.database.db
      .updateTable('resources')
      .set({ grade: 'unassessed' })
      .where('id', '=', target.id)
      .execute();

    const res = await t.request({
      method: 'POST',
      url: `/v1/resources/${target.code}/classification/scan`,
      token: steward,
    });
    expect(res.statusCode, res.body).toBe(200);
    const view = res.json();
    expect(view.grade).toBe('g4');
    expect(field(view, 'id_number')).toMatchObject({
      grade: 'g4',
      detector: 'cn_resident_id',
      scan: { versionNumber: 1, rows: 60, ratio: 1 },
    });
    expect(field(view, 'phone')).toMatchObject({ grade: 'g3', detector: 'cn_mobile' });
    expect(field(view, 'visits')).toMatchObject({
      grade: 'unassessed',
      scan: { detector: null, nonEmpty: 60 },
    });
    expect(
      (await auditActions(target.id)).filter((e) => e.action === 'classification.scan').map((e) => e.details),
    ).toEqual([
      expect.objectContaining({ via: 'import', version: 1 }),
      expect.objectContaining({ via: 'scan', version: 1, grade: { from: 'unassessed', to: 'g4' } }),
    ]);
  });

  it('grades the demo city’s resources as their first versions load', async () => {
    // This app was seeded without the demo data; load it now, through the importer as on a first start.
    await seedDemo(cliCtx(t.database.db, t.config), { force: true, data: true });
    const demo = findDemoResource('residents')!;
    const row = await t.database.db
      .selectFrom('resources')
      .select('code')
      .where('name', '=', demo.name)
      .executeTakeFirstOrThrow();
    // The security officer sees the evidence samples (a consumer would see detector and grade only).
    const view = await classification(row.code, await t.login('security'));
    expect(view.grade).toBe('g4');
    const idField = demo.fields.find((f) => f.label.includes('身份'))!;
    expect(field(view, idField.name)).toMatchObject({ grade: 'g4', detector: 'cn_resident_id' });
    expect(field(view, idField.name).scan.evidence.samples.length).toBeGreaterThan(0);
    const graded = await t.database.db
      .selectFrom('resources')
      .select(['name', 'grade'])
      .where('grade', '<>', 'unassessed')
      .execute();
    expect(graded.length).toBeGreaterThanOrEqual(10);
  });
});
