import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMask } from '../src/rules/masking.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { sharingFixture } from './sharing-fixture.ts';

// Free text with personal data inside, end to end: a provider imports remarks that hold ID
// numbers and mobiles; classification grades the column from what it contains and makes it a
// free-text field; a consumer's contract serves it with each span masked, in every format.

let t: TestApp;
let f: ReturnType<typeof sharingFixture>;
let contract: string;

const FIELDS = [
  { name: 'case_no', label: '受理编号', dataType: 'text', isKey: true },
  { name: 'remarks', label: '备注', dataType: 'text' },
];
const idNumber = (i: number) => makeResidentId('330106', `19${60 + (i % 30)}-0${1 + (i % 9)}-1${i % 10}`, i);
const mobile = (i: number) => `13${i % 10}${String(10_000_000 + i * 7919).slice(-8)}`;
const REMARKS = Array.from({ length: 30 }, (_, i) =>
  i % 3 === 2
    ? '材料齐全，同意受理，转窗口办理。'
    : `申请人身份证号${idNumber(i)}，联系电话${mobile(i)}，材料已核验。`,
);
const quote = (v: string) => `"${v.replaceAll('"', '""')}"`;
const CSV = `case_no,remarks\n${REMARKS.map((r, i) => `C${String(i).padStart(3, '0')},${quote(r)}`).join('\n')}\n`;
// The identifiers in the file: none may reach the consumer in any form of answer.
const SECRETS = REMARKS.flatMap((_, i) => (i % 3 === 2 ? [] : [idNumber(i), mobile(i)]));

function expectNoSecret(body: string) {
  for (const s of SECRETS) expect(body.includes(s), s).toBe(false);
}

beforeAll(async () => {
  t = await startTestApp();
  f = sharingFixture(t);
  await f.login();
  const created = await f.call('POST', '/v1/resources', f.tokens.steward, {
    name: '受理记录',
    theme: 'health',
    updateCycle: 'monthly',
    sharingType: 'conditional',
    sharingConditions: '依法履职需要',
    openType: 'not_open',
    fields: FIELDS,
  });
  expect(created.statusCode, created.body).toBe(201);
  const code = created.json().code as string;
  const up = await t.request({
    method: 'POST',
    url: `/v1/resources/${code}/versions?filename=v.csv&wait=true`,
    token: f.tokens.steward,
    headers: { 'content-type': 'text/csv' },
    payload: CSV,
  });
  expect(up.statusCode, up.body).toBe(201);
  const view = await f.call('GET', `/v1/resources/${code}/classification`, f.tokens.steward);
  expect(view.statusCode, view.body).toBe(200);
  const remarks = (view.json().fields as { name: string }[]).find((x) => x.name === 'remarks');
  // Graded from its most sensitive content (ID numbers: g4); the field is free text, so the
  // default mask is redact_spans; the scan still names the entity type.
  expect(remarks).toMatchObject({
    grade: 'g4',
    detector: 'free_text',
    scan: {
      detector: 'cn_resident_id',
      evidence: { freeText: { entities: { cn_resident_id: 20, cn_mobile: 20 }, mask: 'redact_spans' } },
    },
  });
  // Published once loaded and graded: a regrade after publication would await the bureau again.
  await t.publish(code, f.tokens.steward);
  contract = await f.contractFor(code, {}, { fields: ['case_no', 'remarks'], operations: ['rows'] });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('a free-text field under a contract', () => {
  it('is granted under redact_spans by default', async () => {
    const res = await f.call('GET', `/v1/contracts/${contract}`, f.tokens.consumer);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().masking).toMatchObject({ remarks: 'redact_spans' });
  });

  it('serves the text with each ID number and mobile masked, the rest kept', async () => {
    const res = await f.rows(contract, 'select=remarks');
    expect(res.statusCode, res.body).toBe(200);
    expectNoSecret(res.body);
    const { items, fields } = res.json() as {
      items: { remarks: string }[];
      fields: { name: string; mask: string }[];
    };
    expect(fields.find((x) => x.name === 'remarks')?.mask).toBe('redact_spans');
    // Served in the contract's own order (a keyed permutation), so compared as sorted lists.
    const served = items.map((x) => x.remarks).sort();
    expect(served).toEqual(REMARKS.map((r) => applyMask('redact_spans', r)).sort());
    const masked = served.filter((r) => r.startsWith('申请人'));
    expect(masked).toHaveLength(SECRETS.length / 2);
    for (const r of masked)
      expect(r).toMatch(/^申请人身份证号330106\*{8}\d{3}[0-9X]，联系电话13\d\*{4}\d{4}，材料已核验。$/);
    expect(served).toContain('材料齐全，同意受理，转窗口办理。');
  });

  it('never serves the raw spans in CSV, NDJSON or a plain JSON array either', async () => {
    for (const [query, accept] of [
      ['select=remarks', 'text/csv'],
      ['select=remarks&format=ndjson', undefined],
      ['select=case_no,remarks', 'application/json'],
      ['', 'application/json'],
    ] as const) {
      const res = await t.request({
        method: 'GET',
        url: `/v1/gateway/contracts/${contract}/rows${query ? `?${query}` : ''}`,
        token: f.tokens.key,
        ...(accept ? { headers: { accept } } : {}),
      });
      expect(res.statusCode, `${query} ${res.body}`).toBe(200);
      expectNoSecret(res.body);
      expect(res.body).toContain('，联系电话13');
    }
  });

  it('does not filter, order or aggregate on the masked text', async () => {
    const filtered = await f.rows(contract, `remarks=like.*${mobile(0)}*`);
    expect(filtered.statusCode).toBe(403);
    expect(filtered.json().error.code).toBe('FILTER_ON_MASKED_FIELD');
  });
});
