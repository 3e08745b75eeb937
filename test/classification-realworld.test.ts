import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLegacyResidentId, makeResidentId } from '../src/standards/resident-id.ts';
import { startTestApp, type TestApp } from './helpers.ts';

// Real-world exports through the platform: messy formats, a serial column, a sensitive
// category and a free-text column; the classification view carries the new evidence.

let t: TestApp;
let steward: string;

const FIELDS = [
  { name: 'id_number', label: '证件号码', dataType: 'text' },
  { name: 'serial', label: '流水号', dataType: 'text' },
  { name: 'ethnicity', label: '民族', dataType: 'text' },
  { name: 'note', label: '备注', dataType: 'text' },
];
const id18 = (i: number) =>
  makeResidentId('330106', `19${50 + (i % 45)}-0${1 + (i % 9)}-1${i % 10}`, i % 1000);
const id15 = (i: number) => makeLegacyResidentId('330106', `19${50 + (i % 45)}-0${1 + (i % 9)}-2${i % 8}`, i);
const mobile = (i: number) => `13${i % 10}${String(10_000_000 + i * 7919).slice(-8)}`;

function messyId(i: number): string {
  const v = id18(i);
  return [v, id15(i), `'${v}`, `${v.slice(0, 6)} ${v.slice(6, 14)} ${v.slice(14)}`, v][i % 5]!;
}

const csv = [
  '证件号码,流水号,民族,备注',
  ...Array.from({ length: 60 }, (_, i) =>
    [
      messyId(i),
      String(13_900_000_000 + i * 17),
      i % 5 ? '汉族' : '回族',
      i % 2 ? '材料齐全，同意受理。' : `申请人王某，联系电话${mobile(i)}，住址杭州市西湖区文三路${i + 1}号。`,
    ].join(','),
  ),
].join('\n');

beforeAll(async () => {
  t = await startTestApp();
  steward = await t.login('steward.health');
});
afterAll(async () => {
  await t?.close();
});

describe('classification on real-world data', () => {
  it('counts messy formats, rejects a serial column, grades a sensitive category and finds entities in free text', async () => {
    const created = await t.request({
      method: 'POST',
      url: '/v1/resources',
      token: steward,
      payload: {
        name: '来访登记',
        theme: 'health',
        updateCycle: 'monthly',
        sharingType: 'conditional',
        sharingConditions: '依法履职需要',
        openType: 'not_open',
        fields: FIELDS,
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { code } = created.json() as { code: string };
    const uploaded = await t.request({
      method: 'POST',
      url: `/v1/resources/${code}/versions?filename=data.csv&wait=true`,
      token: steward,
      headers: { 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const res = await t.request({
      method: 'GET',
      url: `/v1/resources/${code}/classification`,
      token: steward,
    });
    expect(res.statusCode, res.body).toBe(200);
    const view = res.json() as {
      grade: string;
      fields: {
        name: string;
        grade: string;
        detector: string | null;
        scan: { ratio: number; evidence: Record<string, unknown> & { samples: string[] } };
      }[];
    };
    const field = (name: string) => view.fields.find((f) => f.name === name)!;

    expect(field('id_number')).toMatchObject({ grade: 'g4', detector: 'cn_resident_id' });
    expect(field('id_number').scan.ratio).toBe(1);
    expect(field('id_number').scan.evidence.formats).toMatchObject({
      legacy_15: 12,
      excel_text: 12,
      grouped: 12,
    });

    expect(field('serial').detector).toBeNull();
    expect(field('serial').scan.evidence.rules).toEqual(['sequence:cn_mobile']);
    expect(field('serial').scan.evidence.shape).toMatchObject({ monotonic: 1, meanGap: 17, unique: 1 });

    expect(field('ethnicity')).toMatchObject({ grade: 'g4', detector: 'ethnicity' });
    expect(field('ethnicity').scan.evidence.basis).toMatch(/GB\/T 3304/);

    // The field is free text (its default mask redact_spans); the scan names the entity type.
    expect(field('note')).toMatchObject({
      grade: 'g3',
      detector: 'free_text',
      scan: { detector: 'cn_mobile' },
    });
    expect(field('note').scan.evidence.freeText).toEqual({
      entities: { cn_mobile: 30, person_name: 30, address: 30 },
      valuesWithEntities: 30,
      mask: 'redact_spans',
    });
    for (const s of field('note').scan.evidence.samples)
      expect(s).toMatch(/^申请人王\*\*，联系电话1\d\d\*{4}\d{4}，住址杭州市西湖区\*{4}。$/);
  });
});
