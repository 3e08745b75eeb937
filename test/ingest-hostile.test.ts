/**
 * Issue #16 through the API: hostile files end in a clear 4xx or a loaded version with every row
 * accounted for — never a 500, a crash, a poisoned resource or a silently lost row.
 */
import ExcelJS from 'exceljs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_IMPORT_COLUMNS } from '../src/ingest/stats.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { blownUpWorkbook, brokenNdjson, hostileHeaderCsv, wideCsv } from './support/hostile-files.ts';

let t: TestApp;
let steward: string;

beforeAll(async () => {
  t = await startTestApp({ IMPORT_MEMORY_MB: '64' });
  steward = await t.login('steward.health');
});
afterAll(() => t.close());

let resources = 0;
async function createResource(fields: unknown[] = []) {
  const res = await t.request({
    method: 'POST',
    url: '/v1/resources',
    token: steward,
    payload: {
      name: `敌意文件测试 ${++resources}`,
      theme: 'health',
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '业务需要',
      openType: 'not_open',
      fields,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { code: string; id: string };
}

function upload(code: string, body: Buffer | string, query: string) {
  return t.request({
    method: 'POST',
    url: `/v1/resources/${code}/versions?wait=true&${query}`,
    token: steward,
    headers: { 'content-type': 'application/octet-stream' },
    payload: body,
  });
}

function preview(body: Buffer | string, query: string) {
  return t.request({
    method: 'POST',
    url: `/v1/imports/preview?${query}`,
    token: steward,
    headers: { 'content-type': 'application/octet-stream' },
    payload: body,
  });
}

async function resourceFields(code: string) {
  const res = await t.request({ method: 'GET', url: `/v1/resources/${code}`, token: steward });
  return res.json().fields as { name: string; label: string; dataType: string }[];
}

describe('memory budget (kinds 1 and 2)', () => {
  it('a workbook listing 200,000 sheets: a 422 naming the part, the server alive', async () => {
    const res = await preview(blownUpWorkbook({ sheets: 200_000 }), 'filename=sheets.xlsx');
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.details).toMatchObject({
      fileError: 'FILE_OVER_BUDGET',
      part: 'xl/workbook.xml (sheets)',
    });
    expect(res.json().error.message).toContain('100000');
  });

  it('a preview answers at most 100 sheet names, and says how many there are', async () => {
    const res = await preview(blownUpWorkbook({ sheets: 150, relationships: 150 }), 'filename=s.xlsx');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().sheets).toHaveLength(100);
    expect(res.json().sheetCount).toBe(150);
  });

  it('shared strings past IMPORT_MEMORY_MB (64 here): a 422 naming the limit', async () => {
    const res = await preview(
      blownUpWorkbook({ sharedStrings: 2_100_000, stringChars: 1, varied: true }),
      'filename=strings.xlsx',
    );
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.details).toMatchObject({
      fileError: 'FILE_OVER_BUDGET',
      limitBytes: 64 * 1024 * 1024,
    });
    expect(res.json().error.message).toContain('IMPORT_MEMORY_MB');
  });
});

describe('what PostgreSQL would refuse is refused earlier (kind 3)', () => {
  it('hostile header names become safe columns, the originals kept as labels; the import loads', async () => {
    const { code } = await createResource();
    const { csv, header } = hostileHeaderCsv();
    const res = await upload(code, csv, 'filename=names.csv&adoptInferredFields=true');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ rows: 1, badRows: 0 });
    const fields = await resourceFields(code);
    expect(fields).toHaveLength(header.length);
    const names = fields.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
      expect(['_row', 'ctid', 'xmin', 'tableoid']).not.toContain(name);
    }
    expect(fields[0]!.label).toBe('_row');
    expect(fields[1]!.label).toBe('ctid');
    expect(names[4]).toBe('select');
    expect(fields[8]!.label).toHaveLength(100);
    expect(fields[9]!.label).toBe('a b');
    // A later import of the same file maps by label and loads again.
    const again = await upload(code, csv, 'filename=names.csv');
    expect(again.statusCode, again.body).toBe(201);
  });

  it('a decimal PostgreSQL cannot hold (1e999999) is a bad row, not a 500, and is not echoed whole', async () => {
    const { code } = await createResource([{ name: 'amount', label: '金额', dataType: 'decimal' }]);
    const huge = `1${'0'.repeat(1000)}e999999`;
    const csv = `金额\n1.5\n1e999999\n${huge}\n-2.25e3\n0.${'1'.repeat(16_384)}\n`;
    const res = await upload(code, csv, 'filename=amounts.csv&maxErrors=10');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ rows: 2, badRows: 3 });
    for (const bad of res.json().badRowReport) {
      expect(bad.code).toBe('VALUE_NUMERIC_RANGE');
      expect(bad.en.length).toBeLessThan(300);
    }
    // Inference does not propose decimal for such a column.
    const previewed = await preview(`x\n1.5\n1e999999\n`, 'filename=p.csv');
    expect(previewed.json().inferredFields[0].dataType).toBe('text');
  });

  it(`the column ceiling is the same in preview and import: ${MAX_IMPORT_COLUMNS} load, one more is a 422`, async () => {
    const { code } = await createResource();
    const res = await upload(code, wideCsv(MAX_IMPORT_COLUMNS), 'filename=wide.csv&adoptInferredFields=true');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().rows).toBe(1);
    const over = wideCsv(MAX_IMPORT_COLUMNS + 1);
    const previewed = await preview(over, 'filename=wider.csv');
    expect(previewed.statusCode).toBe(422);
    expect(previewed.json().error.details.fileError).toBe('FILE_TOO_MANY_COLUMNS');
    const other = await createResource();
    const refused = await upload(other.code, over, 'filename=wider.csv&adoptInferredFields=true');
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.details.fileError).toBe('FILE_TOO_MANY_COLUMNS');
  });
});

describe('a failed import leaves nothing behind (kind 4)', () => {
  it('adopted fields, statistics and catalog text roll back with the failed version', async () => {
    const { code } = await createResource();
    // 1,000 integer rows make the inferred type integer; the 1,001st does not fit it.
    const rows = Array.from({ length: 1000 }, (_, i) => `${i},名${i}`);
    const failing = `_row,名称\n${rows.join('\n')}\nnot-a-number,x\n`;
    const res = await upload(code, failing, 'filename=poison.csv&adoptInferredFields=true');
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.code).toBe('TOO_MANY_BAD_ROWS');
    expect(await resourceFields(code)).toEqual([]);
    const versions = await t.request({
      method: 'GET',
      url: `/v1/resources/${code}/versions`,
      token: steward,
    });
    expect(versions.json().map((v: { state: string }) => v.state)).toEqual(['failed']);
    // The resource is not poisoned: a clean import into it adopts and loads.
    const clean = await upload(code, `_row,名称\n1,a\n2,b\n`, 'filename=clean.csv&adoptInferredFields=true');
    expect(clean.statusCode, clean.body).toBe(201);
    expect((await resourceFields(code)).map((f) => f.label)).toEqual(['_row', '名称']);
  });
});

describe('every row is accounted for (kind 5)', () => {
  it('loaded + reported bad = rows read, in every format', async () => {
    const { text, bad } = brokenNdjson(60, 7);
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('s');
    sheet.addRow(['a']);
    for (let i = 0; i < 30; i++) sheet.addRow([i % 9 === 8 ? 'x' : i]);
    const files: [string, Buffer | string, number, number][] = [
      ['rows.ndjson', text, 60, bad],
      ['rows.json', `[{"a":1},{"a":"x"},{"a":2},3,{"a":4}]`, 5, 2],
      ['rows.csv', 'a,b\n1,2\n3\n"x",5\n4,4\n', 4, 2],
      ['rows.xlsx', Buffer.from(await workbook.xlsx.writeBuffer()), 30, 3],
      [
        'rows.parquet',
        Buffer.from(
          parquetWriteBuffer({
            columnData: [
              {
                name: 'a',
                data: Array.from({ length: 50 }, (_, i) => (i % 10 === 9 ? 'x' : String(i))),
                type: 'STRING',
              },
            ],
            rowGroupSize: 7,
          }),
        ),
        50,
        5,
      ],
    ];
    for (const [name, body, rows, badRows] of files) {
      const { code } = await createResource([{ name: 'a', label: 'a', dataType: 'integer' }]);
      const res = await upload(code, body, `filename=${name}&maxErrors=100&bulk=false`);
      expect(res.statusCode, `${name}: ${res.body}`).toBe(201);
      expect(res.json().rows + res.json().badRows, name).toBe(rows);
      expect(res.json().badRows, name).toBe(badRows);
    }
  });
});

describe('the file name decides the format (kind 6)', () => {
  it('CSV text named .xlsx or .parquet is a 422 naming both; a .tsv with commas is read with tabs', async () => {
    const { code } = await createResource([
      { name: 'a', label: 'a', dataType: 'text' },
      { name: 'b', label: 'b', dataType: 'text' },
    ]);
    for (const name of ['data.xlsx', 'data.parquet']) {
      const res = await upload(code, 'a,b\n1,2\n', `filename=${name}`);
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error.details.fileError).toBe('FILE_FORMAT_MISMATCH');
      expect(res.json().error.message).toMatch(/says (XLSX|Parquet) but the content is text/);
    }
    const tsv = await upload(code, 'a\tb\n1,5\t2,5\n', 'filename=data.tsv');
    expect(tsv.statusCode, tsv.body).toBe(201);
    const previewed = await preview('a\tb\n1,5\t2,5\n', 'filename=data.tsv');
    expect(previewed.json()).toMatchObject({ delimiter: '\t', sampleRows: [['1,5', '2,5']] });
    const ndjson = await preview('["a","b"]\n[1,2]\n', 'filename=rows.ndjson');
    expect(ndjson.statusCode, ndjson.body).toBe(200);
    expect(ndjson.json()).toMatchObject({ format: 'ndjson', header: ['a', 'b'] });
    const bare = await preview('"just a string"', 'filename=x.json');
    expect(bare.statusCode).toBe(422);
    expect(bare.json().error.details.fileError).toBe('FILE_FORMAT_MISMATCH');
  });
});
