import { sql } from 'kysely';
import { expect } from 'vitest';
import { spanMaskSql } from '../src/gateway/span-masked.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { sharingFixture } from './sharing-fixture.ts';
import { parseCsv } from './support/csv-parse.ts';

/**
 * Shared by test/span-masked.test.ts and test/span-masked.server.test.ts.
 *
 * Span-masked copies (issue 17, speed of `redact_spans`): a free-text field's masked text is built
 * once per version and served from there. Whatever is served from a copy must equal, row for row,
 * what the expression gives over the version's table — in a JSON page, CSV, NDJSON and an export —
 * and a copy of another version or of other definitions, a dropped copy or a failed build must
 * never change an answer. Copies are tampered with on purpose below: a test that reads the served
 * values would see it if the gateway read a copy it should not.
 */
/** The app, the fixture's actors, and the resource and contract every test reads through. */
export const s = {} as {
  t: TestApp;
  f: ReturnType<typeof sharingFixture>;
  code: string;
  resourceId: string;
  contract: string;
};

export const FIELDS = [
  { name: 'case_no', label: '受理编号', dataType: 'text', isKey: true },
  { name: 'remarks', label: '备注', dataType: 'text' },
];
const idNumber = (i: number) => makeResidentId('330106', `19${60 + (i % 30)}-0${1 + (i % 9)}-1${i % 10}`, i);
const mobile = (i: number) => `13${i % 10}${String(10_000_000 + i * 7919).slice(-8)}`;
export const remarksOf = (version: number) =>
  Array.from({ length: 40 }, (_, i) =>
    i % 3 === 2
      ? `材料齐全，同意受理（第${version}版）。`
      : `申请人王小明身份证号${idNumber(i + version)}，联系电话${mobile(i + version)}，住址杭州市西湖区文三路${i + 1}号。`,
  );
const quote = (v: string) => `"${v.replaceAll('"', '""')}"`;
const csvOf = (remarks: string[]) =>
  `case_no,remarks\n${remarks.map((r, i) => `C${String(i).padStart(3, '0')},${quote(r)}`).join('\n')}\n`;

export async function upload(remarks: string[]) {
  const up = await s.t.request({
    method: 'POST',
    url: `/v1/resources/${s.code}/versions?filename=v.csv&wait=true`,
    token: s.f.tokens.steward,
    headers: { 'content-type': 'text/csv' },
    payload: csvOf(remarks),
  });
  expect(up.statusCode, up.body).toBe(201);
  // The case number is public (served raw): the key the answers are compared by. Classification
  // of each version would leave it unassessed (suppressed).
  await db()
    .updateTable('resource_fields')
    .set({ grade: 'g1', detector: null })
    .where('resource_id', '=', s.resourceId)
    .where('name', '=', 'case_no')
    .execute();
}

export const db = () => s.t.database.db;
export const current = () =>
  db()
    .selectFrom('resources')
    .innerJoin('dataset_versions', 'dataset_versions.id', 'resources.current_version_id')
    .select(['dataset_versions.id as versionId', 'dataset_versions.table_name as table'])
    .where('resources.code', '=', s.code)
    .executeTakeFirstOrThrow();
export const registry = () =>
  sql<{ table_name: string; version_id: string; field: string; digest: string; row_count: string }>`
    SELECT table_name, version_id, field, digest, row_count::text FROM span_masked
    WHERE resource_id = ${s.resourceId} ORDER BY field, digest`
    .execute(db())
    .then((r) => r.rows);
export const exists = async (table: string) =>
  (await sql<{ r: string | null }>`SELECT to_regclass(${`datasets.${table}`})::text AS r`.execute(db()))
    .rows[0]!.r !== null;
export const copyTable = (name: string) => sql.table(`datasets.${name}`);

/** What the expression gives over the current version's table: case_no → masked remarks. */
export async function expressionAnswer(): Promise<Map<string, string | null>> {
  const { table } = await current();
  const { rows } = await sql<{ case_no: string; v: string | null }>`
    SELECT case_no, ${spanMaskSql('remarks')} AS v FROM ${copyTable(table)}`.execute(db());
  return new Map(rows.map((r) => [r.case_no, r.v]));
}

/** The served (case_no, remarks) pairs in every form of answer, each as a map. */
export async function servedAnswers(): Promise<Record<string, Map<string, unknown>>> {
  const get = (url: string, accept?: string) =>
    s.t.request({ method: 'GET', url, token: s.f.tokens.key, ...(accept ? { headers: { accept } } : {}) });
  const base = `/v1/gateway/contracts/${s.contract}`;
  const page = await s.f.rows(s.contract, 'select=case_no,remarks&limit=1000');
  expect(page.statusCode, page.body).toBe(200);
  const json = (page.json().items as { case_no: string; remarks: string }[]).map(
    (r) => [r.case_no, r.remarks] as const,
  );
  const ndjson = await get(`${base}/rows?select=case_no,remarks&format=ndjson&limit=1000`);
  expect(ndjson.statusCode, ndjson.body).toBe(200);
  const nd = ndjson.body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { case_no: string; remarks: string })
    .map((r) => [r.case_no, r.remarks] as const);
  const csv = await get(`${base}/rows?select=case_no,remarks&limit=1000`, 'text/csv');
  expect(csv.statusCode, csv.body).toBe(200);
  const csvRows = parseCsv(csv.body.replace(/^\uFEFF/, ''))
    .slice(1)
    .map((r) => [r[0]!, r[1]!] as const);
  const exported = await get(`${base}/export?format=jsonl`);
  expect(exported.statusCode, exported.body).toBe(200);
  const ex = exported.body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { case_no: string; remarks: string })
    .map((r) => [r.case_no, r.remarks] as const);
  return { json: new Map(json), ndjson: new Map(nd), csv: new Map(csvRows), export: new Map(ex) };
}

export async function expectServedAsExpression() {
  const expected = await expressionAnswer();
  expect(expected.size).toBe(40);
  const served = await servedAnswers();
  for (const [form, answer] of Object.entries(served)) expect([form, answer]).toEqual([form, expected]);
}

/** Starts the app and makes the resource (one version published) and a rows contract on it. */
export async function setup() {
  s.t = await startTestApp();
  s.f = sharingFixture(s.t);
  await s.f.login();
  const created = await s.f.call('POST', '/v1/resources', s.f.tokens.steward, {
    name: '受理记录（脱敏副本）',
    theme: 'health',
    updateCycle: 'monthly',
    sharingType: 'conditional',
    sharingConditions: '依法履职需要',
    openType: 'not_open',
    fields: FIELDS,
  });
  expect(created.statusCode, created.body).toBe(201);
  s.code = created.json().code as string;
  s.resourceId = created.json().id as string;
  await upload(remarksOf(1));
  await s.t.publish(s.code, s.f.tokens.steward);
  s.contract = await s.f.contractFor(s.code, {}, { fields: ['case_no', 'remarks'], operations: ['rows'] });
}

export async function teardown() {
  await s.t?.close();
}
