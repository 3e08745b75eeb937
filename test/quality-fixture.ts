import { expect } from 'vitest';
import { makeResidentId } from '../src/standards/resident-id.ts';
import type { TestApp } from './helpers.ts';

/**
 * A people register with one planted defect per quality rule (row numbers are the version's
 * ordinals, 1 = the first data row), a district reference resource of the same provider, and the
 * rules that judge them: shared by the quality, DCAT, card and export tests.
 */
export const PEOPLE_FIELDS = [
  { name: 'record_no', label: '记录编号', dataType: 'text', isKey: true },
  { name: 'person_id', label: '公民身份号码', dataType: 'text' },
  { name: 'birth_date', label: '出生日期', dataType: 'date' },
  { name: 'district_code', label: '行政区划代码', dataType: 'text' },
  { name: 'age', label: '年龄', dataType: 'integer' },
  { name: 'email', label: '电子邮箱', dataType: 'text' },
  { name: 'status', label: '状态', dataType: 'text' },
  { name: 'updated_on', label: '更新日期', dataType: 'date' },
];

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

export interface PersonRow {
  record_no: string;
  person_id: string;
  birth_date: string;
  district_code: string;
  age: number;
  email: string;
  status: string;
  updated_on: string;
}

/** Twenty rows; row n has the defect the expectations below name. */
export function peopleRows(): PersonRow[] {
  const rows: PersonRow[] = [];
  for (let n = 1; n <= 20; n++) {
    const birth = `19${String(60 + n).padStart(2, '0')}-0${(n % 9) + 1}-1${n % 10}`;
    rows.push({
      record_no: `R${String(n).padStart(3, '0')}`,
      person_id: makeResidentId('330106', birth, 100 + n),
      birth_date: birth,
      district_code: n % 2 ? '330106' : '330108',
      age: 30 + n,
      email: `user${n}@example.cn`,
      status: n % 3 ? 'active' : 'closed',
      updated_on: day(-2 - n),
    });
  }
  const at = (n: number) => rows[n - 1]!;
  // Row 3: check character wrong. Row 4: ID missing. Row 5: birth date not the one in the ID.
  at(3).person_id = `${at(3).person_id.slice(0, 17)}${at(3).person_id.endsWith('0') ? '1' : '0'}`;
  at(4).person_id = '';
  at(5).birth_date = '1999-12-31';
  at(6).district_code = '339999'; // no such GB/T 2260 division
  at(7).age = 150; // out of range
  at(8).email = 'not-an-email';
  at(9).status = 'unknown'; // not in the code list
  at(11).record_no = 'X011'; // does not follow the numbering pattern
  at(12).district_code = '330105'; // a real division, but not in the reference resource
  at(20).record_no = at(19).record_no; // duplicate key
  return rows;
}

export const PEOPLE_RULES = (districtResource: string) => [
  { kind: 'required', field: 'person_id' },
  { kind: 'null_rate', field: 'email', max: 0.1 },
  { kind: 'pattern', field: 'record_no', pattern: '^R[0-9]{3}$' },
  { kind: 'enum', field: 'status', values: ['active', 'closed'] },
  { kind: 'region_code', field: 'district_code' },
  { kind: 'detector', field: 'email', detector: 'email' },
  { kind: 'range', field: 'age', min: 0, max: 120 },
  { kind: 'check_digit', field: 'person_id', standard: 'cn_resident_id' },
  { kind: 'id_birth_date', field: 'person_id', birthField: 'birth_date' },
  { kind: 'unique', fields: ['record_no'] },
  { kind: 'reference', field: 'district_code', resource: districtResource, targetField: 'code' },
  { kind: 'timeliness', field: 'updated_on' },
];

/** Rule id → the failing row numbers planted above. */
export const EXPECTED_FAILURES: Record<string, number[]> = {
  'required:person_id': [4],
  'null_rate:email': [],
  'pattern:record_no': [11],
  'enum:status': [9],
  'region_code:district_code': [6],
  'detector:email': [8],
  'range:age': [7],
  'check_digit:person_id': [3],
  'id_birth_date:person_id+birth_date': [5],
  'unique:record_no': [20],
  'reference:district_code': [6, 12], // row 6's code is no division at all
  'timeliness:updated_on': [],
};

export function toCsv(fields: Array<{ name: string }>, rows: Array<Record<string, unknown>>): string {
  const quote = (v: unknown) => `"${String(v ?? '').replaceAll('"', '""')}"`;
  return `${fields.map((f) => f.name).join(',')}\n${rows.map((r) => fields.map((f) => quote(r[f.name])).join(',')).join('\n')}\n`;
}

export function qualityFixture(t: TestApp) {
  async function createResource(token: string, body: Record<string, unknown>) {
    const res = await t.request({ method: 'POST', url: '/v1/resources', token, payload: body });
    expect(res.statusCode, res.body).toBe(201);
    if ((body.fields as unknown[] | undefined)?.length) await t.publish(res.json().code, token);
    return res.json() as { id: string; code: string };
  }

  async function upload(token: string, code: string, csv: string) {
    const res = await t.request({
      method: 'POST',
      url: `/v1/resources/${code}/versions?filename=v.csv&wait=true`,
      token,
      headers: { 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { versionNumber: number };
  }

  /** The district reference resource and the people resource (no data yet), of the steward's organization. */
  async function people(token: string, overrides: Record<string, unknown> = {}) {
    const districts = await createResource(token, {
      name: '辖区行政区划',
      theme: 'civil_affairs',
      updateCycle: 'yearly',
      sharingType: 'unconditional',
      openType: 'unconditional',
      fields: [
        { name: 'code', label: '区划代码', dataType: 'text', isKey: true },
        { name: 'name', label: '名称', dataType: 'text' },
      ],
    });
    await upload(token, districts.code, 'code,name\n330106,西湖区\n330108,滨江区\n');
    const resource = await createResource(token, {
      name: '居民登记信息',
      summary: '居民基本信息登记（测试）',
      theme: 'population',
      keywords: ['居民'],
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '依法履职需要',
      openType: 'not_open',
      fields: PEOPLE_FIELDS,
      ...overrides,
    });
    return { districts, resource };
  }

  return { createResource, upload, people };
}
