import { createHash } from 'node:crypto';
import ExcelJS from 'exceljs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import iconv from 'iconv-lite';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ingest from '../src/ingest/service.ts';
import { sweepAbandonedImports } from '../src/ingest/service.ts';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
let steward: string;
let other: string;
let consumer: string;
let resourceCode: string;

const FIELDS = [
  { name: 'name', label: '姓名', dataType: 'text' },
  { name: 'district', label: '所属区县', dataType: 'text' },
  { name: 'visits', label: '就诊人次', dataType: 'integer' },
  { name: 'visit_date', label: '就诊日期', dataType: 'date' },
  { name: 'record_no', label: '记录编号', dataType: 'text', isKey: true },
];

const header = '姓名,所属区县,就诊人次,就诊日期,记录编号';
const rows = [
  '张三,西湖区,3,2024-01-05,R001',
  '李四,滨江区,1,2024-01-06,R002',
  '"王""五",上城区,7,2024-02-01,R003',
  '欧阳娜娜,西湖区,2,2024-02-03,R003',
];
const csv = `${header}\n${rows.join('\n')}\n`;

async function createResource(token: string, fields: unknown[] = FIELDS, name = '门诊就诊记录') {
  const res = await t.request({
    method: 'POST',
    url: '/v1/resources',
    token,
    payload: {
      name,
      theme: 'health',
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '业务需要',
      openType: 'not_open',
      fields,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  // Published (a resource with fields), so that other organizations read it as these tests do.
  if (fields.length > 0) await t.publish(res.json().code, token);
  return res.json();
}

function upload(code: string, body: Buffer | string, query: string, token = steward) {
  return t.request({
    method: 'POST',
    url: `/v1/resources/${code}/versions?${query}`,
    token,
    headers: { 'content-type': 'application/octet-stream' },
    payload: body,
  });
}

async function datasetRows(code: string) {
  const resource = await t.database.db
    .selectFrom('resources')
    .select('current_version_id')
    .where('code', '=', code)
    .executeTakeFirstOrThrow();
  const version = await t.database.db
    .selectFrom('dataset_versions')
    .selectAll()
    .where('id', '=', resource.current_version_id!)
    .executeTakeFirstOrThrow();
  const { rows } = await sql
    .raw<Record<string, unknown>>(`select * from datasets."${version.table_name}" order by _row`)
    .execute(t.database.db);
  return { version, rows };
}

beforeAll(async () => {
  t = await startTestApp();
  steward = await t.login('steward.health');
  other = await t.login('steward.psb');
  consumer = await t.login('consumer.civil');
  resourceCode = (await createResource(steward)).code;
});
afterAll(() => t.close());

describe('importing a version', () => {
  it('loads a UTF-8 CSV with quotes into typed columns, with digest, statistics and duplicate keys', async () => {
    const res = await upload(resourceCode, csv, 'filename=visits.csv&wait=true');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ versionNumber: 1, rows: 4, badRows: 0, duplicateKeys: 1 });
    const { version, rows: stored } = await datasetRows(resourceCode);
    expect(stored.map((r) => r.name)).toEqual(['张三', '李四', '王"五', '欧阳娜娜']);
    expect(stored[0]).toMatchObject({ visits: 3, district: '西湖区' });
    expect(version.source_sm3).toBe(createHash('sm3').update(csv).digest('hex'));
    expect(version.source_name).toBe('visits.csv');
    const listed = (
      await t.request({ method: 'GET', url: `/v1/resources/${resourceCode}/versions/1`, token: steward })
    ).json();
    expect(listed).toMatchObject({ state: 'ready', current: true, rowCount: 4, duplicateKeys: 1 });
    expect(listed.columnStats.visits).toMatchObject({ min: 1, max: 7, nulls: 0, distinctEstimate: 4 });
    expect(listed.columnStats.district.distinctEstimate).toBe(3);
  });

  it('hides minimum and maximum values from people outside the provider', async () => {
    const seen = (
      await t.request({ method: 'GET', url: `/v1/resources/${resourceCode}/versions/1`, token: consumer })
    ).json();
    expect(seen.columnStats.visits.min).toBeNull();
    expect(seen.columnStats.name.max).toBeNull();
    expect(seen.rowCount).toBe(4);
  });

  it('reads GB18030 files as Chinese, never mojibake, and lets --encoding override detection', async () => {
    const gbk = iconv.encode(csv, 'gb18030');
    const res = await upload(resourceCode, gbk, 'filename=visits-gbk.csv&wait=true');
    expect(res.statusCode, res.body).toBe(201);
    const { version, rows: stored } = await datasetRows(resourceCode);
    expect(version.encoding).toBe('gb18030');
    expect(stored.map((r) => r.district)).toEqual(['西湖区', '滨江区', '上城区', '西湖区']);
    const forced = await upload(resourceCode, gbk, 'filename=x.csv&encoding=utf-8&wait=true');
    expect(forced.statusCode).toBe(422);
    expect(forced.json().error.code).toBe('FILE_REJECTED');
  });

  it('loads TSV, JSON arrays, NDJSON, XLSX (first or named sheet) and Parquet', async () => {
    const objects = rows.map((line) => {
      const [name, district, visits, date, no] = line.replaceAll('"王""五"', '王"五').split(',');
      return { 姓名: name, 所属区县: district, 就诊人次: Number(visits), 就诊日期: date, 记录编号: no };
    });
    const tsv = csv.replaceAll(',', '\t').replace('"王""五"', '王五');
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('说明').addRow(['本表说明']);
    const sheet = workbook.addWorksheet('数据');
    sheet.addRow(header.split(','));
    for (const o of objects) sheet.addRow(Object.values(o));
    const xlsx = Buffer.from(await workbook.xlsx.writeBuffer());
    const parquet = Buffer.from(
      parquetWriteBuffer({
        columnData: Object.keys(objects[0]!).map((key) => ({
          name: key,
          data: objects.map((o) => o[key as keyof typeof o]),
          type: key === '就诊人次' ? 'INT32' : 'STRING',
        })),
      }),
    );
    const cases: Array<[string, Buffer | string]> = [
      ['filename=v.tsv', tsv],
      ['filename=v.json', JSON.stringify(objects)],
      ['filename=v.ndjson', objects.map((o) => JSON.stringify(o)).join('\n')],
      ['filename=v.xlsx&sheet=数据', xlsx],
      ['filename=v.xlsx&sheet=2', xlsx],
      ['filename=v.parquet', parquet],
    ];
    for (const [query, body] of cases) {
      const res = await upload(resourceCode, body, `${query}&wait=true`);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(201);
      const { rows: stored } = await datasetRows(resourceCode);
      expect(
        stored.map((r) => r.district),
        query,
      ).toEqual(['西湖区', '滨江区', '上城区', '西湖区']);
      expect(
        stored.map((r) => String(r.visit_date).slice(0, 10)),
        query,
      ).toHaveLength(4);
      expect(
        stored.map((r) => Number(r.visits)),
        query,
      ).toEqual([3, 1, 7, 2]);
    }
  });

  it('fails the whole import on bad rows beyond --max-errors, leaving the previous version current', async () => {
    const before = await datasetRows(resourceCode);
    const badCsv = `${header}\n${rows[0]}\n赵六,西湖区,很多,2024-01-05,R009\n钱七,西湖区,1,2024-02-30,R010\n`;
    const res = await upload(resourceCode, badCsv, 'filename=bad.csv&wait=true');
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('TOO_MANY_BAD_ROWS');
    expect(res.json().error.details.firstBadRows[0]).toMatchObject({ line: 3, code: 'VALUE_NOT_INTEGER' });
    const after = await datasetRows(resourceCode);
    expect(after.version.id).toBe(before.version.id);
    const failed = await t.database.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('state', '=', 'failed')
      .execute();
    expect(failed.length).toBeGreaterThan(0);
    const tables = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_tables where schemaname = 'datasets' and tablename = ${failed[0]!.table_name}`.execute(
      t.database.db,
    );
    expect(tables.rows[0]!.n).toBe(0);

    const tolerated = await upload(resourceCode, badCsv, 'filename=bad.csv&maxErrors=2&wait=true');
    expect(tolerated.statusCode).toBe(201);
    expect(tolerated.json()).toMatchObject({ rows: 1, badRows: 2 });
    expect(tolerated.json().badRowReport.map((r: { line: number }) => r.line)).toEqual([3, 4]);
  });

  it('refuses a file whose header matches no field, and reports unknown and missing columns', async () => {
    const res = await upload(resourceCode, 'a,b\n1,2\n', 'filename=x.csv&wait=true');
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('HEADER_MISMATCH');
    const partial = await upload(resourceCode, '姓名,extra\n张三,1\n', 'filename=x.csv&wait=true');
    expect(partial.statusCode).toBe(201);
    expect(partial.json()).toMatchObject({
      missingFields: ['district', 'visits', 'visit_date', 'record_no'],
      unknownColumns: ['extra'],
    });
  });

  it('refuses a header-only file or one whose every row is bad, unless an empty version is asked for', async () => {
    const code = (await createResource(steward, FIELDS, '空文件检验')).code;
    expect((await upload(code, csv, 'filename=v1.csv&wait=true')).statusCode).toBe(201);
    const before = await datasetRows(code);
    for (const [body, query] of [
      [`${header}\n`, 'filename=empty.csv&wait=true'],
      [`${header}\n赵六,西湖区,很多,2024-01-05,R009\n`, 'filename=bad.csv&maxErrors=5&wait=true'],
    ] as const) {
      const res = await upload(code, body, query);
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'NO_ROWS' });
      expect(res.json().error.message).toMatch(/allowEmpty/);
      expect((await datasetRows(code)).version.id).toBe(before.version.id);
    }
    const empty = await upload(code, `${header}\n`, 'filename=empty.csv&allowEmpty=true&wait=true');
    expect(empty.statusCode, empty.body).toBe(201);
    expect(empty.json()).toMatchObject({ rows: 0, badRows: 0 });
    expect((await datasetRows(code)).rows).toEqual([]);
  });

  it('proposes inferred fields for a resource without fields and adopts them when asked', async () => {
    const bare = await createResource(steward, [], '空气质量监测');
    const file =
      '监测站,PM2.5,监测时间,是否超标\n西湖站,35.5,2024-03-01 08:00:00,否\n滨江站,80.1,2024-03-01 09:00:00,是\n';
    const res = await upload(bare.code, file, 'filename=air.csv&wait=true');
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('FIELDS_REQUIRED');
    expect(res.json().error.details.proposedFields.map((f: { dataType: string }) => f.dataType)).toEqual([
      'text',
      'decimal',
      'timestamp',
      'boolean',
    ]);
    const adopted = await upload(bare.code, file, 'filename=air.csv&adoptInferredFields=true&wait=true');
    expect(adopted.statusCode, adopted.body).toBe(201);
    const resource = (
      await t.request({ method: 'GET', url: `/v1/resources/${bare.code}`, token: steward })
    ).json();
    expect(resource.fields.map((f: { label: string }) => f.label)).toEqual([
      '监测站',
      'PM2.5',
      '监测时间',
      '是否超标',
    ]);
    // Names readable in queries: the headers in pinyin (PM2.5 as pm2_5), not col_1 … col_4.
    expect(resource.fields.map((f: { name: string }) => f.name)).toEqual([
      'jian_ce_zhan',
      'pm2_5',
      'jian_ce_shi_jian',
      'shi_fou_chao_biao',
    ]);
  });

  it('previews a file: encoding, header and inferred fields', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/v1/imports/preview?filename=visits.csv',
      token: steward,
      headers: { 'content-type': 'text/csv' },
      payload: iconv.encode(csv, 'gbk'),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ format: 'csv', encoding: 'gb18030', header: header.split(',') });
    expect(res.json().inferredFields.map((f: { dataType: string }) => f.dataType)).toEqual([
      'text',
      'text',
      'integer',
      'date',
      'text',
    ]);
  });

  it('rolls the current version back to an earlier one', async () => {
    const versions = (
      await t.request({ method: 'GET', url: `/v1/resources/${resourceCode}/versions`, token: consumer })
    ).json();
    const current = versions.find((v: { current: boolean }) => v.current);
    expect(current.number).toBeGreaterThan(1);
    const back = await t.request({
      method: 'POST',
      url: `/v1/resources/${resourceCode}/versions/1/activate`,
      token: steward,
    });
    expect(back.statusCode).toBe(200);
    const { version } = await datasetRows(resourceCode);
    expect(version.number).toBe(1);
    const failed = versions.find((v: { state: string }) => v.state === 'failed');
    const refused = await t.request({
      method: 'POST',
      url: `/v1/resources/${resourceCode}/versions/${failed.number}/activate`,
      token: steward,
    });
    expect(refused.statusCode).toBe(409);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', '=', 'version.activate')
      .execute();
    expect(audit.length).toBe(1);
  });

  it("lets only the provider's data stewards import or roll back", async () => {
    expect((await upload(resourceCode, csv, 'filename=v.csv&wait=true', other)).statusCode).toBe(403);
    expect((await upload(resourceCode, csv, 'filename=v.csv&wait=true', consumer)).statusCode).toBe(403);
    expect(
      (
        await t.request({
          method: 'POST',
          url: `/v1/resources/${resourceCode}/versions/1/activate`,
          token: other,
        })
      ).statusCode,
    ).toBe(403);
    expect((await upload(resourceCode, csv, 'filename=v.csv')).statusCode).toBe(202);
  });

  it('runs in the background with a job that reports progress', async () => {
    const res = await upload(resourceCode, csv, 'filename=bg.csv');
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json();
    let job = (await t.request({ method: 'GET', url: `/v1/jobs/${jobId}`, token: steward })).json();
    for (let i = 0; i < 100 && job.state === 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = (await t.request({ method: 'GET', url: `/v1/jobs/${jobId}`, token: steward })).json();
    }
    expect(job.state).toBe('succeeded');
    expect(job.progress.percent).toBe(100);
    expect(job.result.rows).toBe(4);
    expect((await t.request({ method: 'GET', url: `/v1/jobs/${jobId}`, token: other })).statusCode).toBe(403);
  });

  it('cleans up after an import whose node died: no partial version, the previous one still current', async () => {
    const before = await datasetRows(resourceCode);
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp('/tmp/shutong-ingest-'));
    const file = `${dir}/v.csv`;
    await import('node:fs/promises').then((fs) => fs.writeFile(file, csv));
    const ctx = await t.actAs('steward.health');
    // Prepared (job and loading version exist) but never run: as if the node was killed.
    const prepared = await ingest.prepareImport(ctx, resourceCode, file, { sourceName: 'v.csv' });
    await t.database.db
      .updateTable('jobs')
      .set({ lease_until: new Date(Date.now() - 1000) })
      .where('id', '=', prepared.jobId)
      .execute();
    expect(await sweepAbandonedImports(t.database.db)).toBe(1);
    const version = await t.database.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('id', '=', prepared.versionId)
      .executeTakeFirstOrThrow();
    expect(version.state).toBe('failed');
    const job = (
      await t.request({ method: 'GET', url: `/v1/jobs/${prepared.jobId}`, token: steward })
    ).json();
    expect(job).toMatchObject({ state: 'failed', error: { code: 'NODE_LOST' } });
    expect((await datasetRows(resourceCode)).version.id).toBe(before.version.id);
    expect(await sweepAbandonedImports(t.database.db)).toBe(0);
  });
});
