/**
 * The bulk path (src/ingest/bulk.ts: a clean CSV goes to COPY as it is) against the row path, on a
 * PostgreSQL server — the only database with streaming COPY. Whatever the file, both paths must
 * give the same outcome: the same rows, values, bad-row report and statistics. The bulk path may
 * only decline (and leave the file to the row path); it may never store something else.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as catalog from '../src/catalog/service.ts';
import * as classify from '../src/classify/service.ts';
import type { Ctx } from '../src/core/context.ts';
import { AppError } from '../src/core/errors.ts';
import { demoRows } from '../src/demo/data.ts';
import { findDemoResource } from '../src/demo/resources.ts';
import * as ingest from '../src/ingest/service.ts';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
let ctx: Ctx;
let dir: string;

const FIELDS = [
  { name: 'name', label: '姓名', dataType: 'text' as const },
  { name: 'visits', label: '就诊人次', dataType: 'integer' as const },
  { name: 'fee', label: '费用', dataType: 'decimal' as const },
  { name: 'insured', label: '是否医保', dataType: 'boolean' as const },
  { name: 'visit_date', label: '就诊日期', dataType: 'date' as const },
  { name: 'visited_at', label: '就诊时间', dataType: 'timestamp' as const },
  { name: 'record_no', label: '记录编号', dataType: 'text' as const, isKey: true },
];
const HEADER = FIELDS.map((f) => f.label);

beforeAll(async () => {
  t = await startTestApp();
  ctx = await t.actAs('steward.health');
  dir = await mkdtemp(path.join(tmpdir(), 'shutong-bulk-'));
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

let files = 0;
async function newResource() {
  return catalog.createResource(ctx, {
    name: `门诊记录 ${++files}`,
    theme: 'health',
    updateCycle: 'daily',
    sharingType: 'not_shared',
    sharingConditions: '测试',
    openType: 'not_open',
    fields: FIELDS,
  });
}

type Outcome =
  | {
      ok: true;
      result: ingest.ImportResult;
      rows: Record<string, string | null>[];
      stats: unknown;
      sm3: string | null;
      duplicates: unknown;
    }
  | { ok: false; error: string; details: unknown };

/** One import of `bytes`, and what it left: the outcome (or error code), the rows as text, the statistics. */
async function importOnce(
  code: string,
  bytes: Buffer | string,
  options: ingest.ImportOptions = {},
): Promise<Outcome> {
  const file = path.join(dir, `f${++files}.csv`);
  await writeFile(file, bytes);
  try {
    const result = await (await ingest.prepareImport(ctx, code, file, { ...options, classify: false })).run();
    const version = await t.database.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('id', '=', result.versionId)
      .executeTakeFirstOrThrow();
    const columns = ['_row', ...FIELDS.map((f) => f.name)].map((c) => `"${c}"::text AS "${c}"`).join(', ');
    const { rows } = await sql
      .raw<Record<string, string | null>>(
        `SELECT ${columns} FROM datasets."${version.table_name}" ORDER BY _row`,
      )
      .execute(t.database.db);
    return {
      ok: true,
      result,
      rows,
      stats: version.column_stats,
      sm3: version.source_sm3,
      duplicates: version.duplicate_keys,
    };
  } catch (error) {
    if (error instanceof AppError) return { ok: false, error: error.code, details: error.details };
    throw error;
  }
}

/** The same file both ways; the bulk path must agree with the row path in everything it reports. */
async function bothWays(bytes: Buffer | string) {
  const resource = await newResource();
  const rows = await importOnce(resource.code, bytes, { bulk: false, maxErrors: 1000 });
  const bulk = await importOnce(resource.code, bytes, { maxErrors: 1000 });
  const strip = (outcome: Outcome) => {
    if (!outcome.ok) return outcome;
    const { jobId, versionId, versionNumber, bulk, bulkSkipped, ...result } = outcome.result;
    return { ...outcome, result };
  };
  expect(strip(bulk)).toEqual(strip(rows));
  return { rows, bulk };
}

const csvLine = (cells: string[]) => `${cells.join(',')}\n`;

describe('the bulk path', () => {
  it('loads a clean file with COPY and stores exactly what the row path stores', async () => {
    const body =
      csvLine(HEADER) +
      csvLine(['张三', '3', '120.50', 'true', '2024-01-05', '2024-01-05 08:30:00', 'R001']) +
      csvLine(['"王""五, 先生"', '-7', '0', 'f', '2024-02-29', '2024-02-29T23:59:59', 'R002']) +
      csvLine(['"多行\n文本"', '', '', '', '', '', 'R002']) +
      csvLine(['""', '0012', '-0.25', '1', '1999-12-31', '1987-06-01 12:00:00', '"R,003"']);
    const { bulk } = await bothWays(`\ufeff${body}`);
    expect(bulk).toMatchObject({ result: { bulk: true, bulkSkipped: null, rows: 4, duplicateKeys: 1 } });
    if (!bulk.ok) throw new Error('import failed');
    // Quoted empty text is '' and unquoted empty is null on both paths; 1987 had summer time in
    // China, and a time without zone is +08:00 all the same.
    expect(bulk.rows[2]).toMatchObject({ name: '多行\n文本', visits: null, insured: null });
    expect(bulk.rows[3]).toMatchObject({ name: '', visits: '12', record_no: 'R,003' });
    expect(bulk.rows[3]!.visited_at).toBe('1987-06-01 04:00:00+00');
  });

  it('reads CRLF files, other delimiters and GB18030 files, whose text arrives as the same Chinese', async () => {
    const body = [
      HEADER.join(','),
      '欧阳娜娜,2,9.9,false,2024-03-01,2024-03-01,R1',
      '李四,1,10,TRUE,2024-03-02,2024-03-02 00:00:00,R2',
    ].join('\r\n');
    const crlf = await bothWays(`${body}\r\n`);
    expect(crlf.bulk).toMatchObject({ result: { bulk: true } });
    const piped = await bothWays(`${body.replaceAll(',', '|')}\r\n`);
    expect(piped.bulk).toMatchObject({ result: { bulk: true } });
    const gb = await bothWays(iconv.encode(`${body}\r\n`, 'gb18030'));
    expect(gb.bulk).toMatchObject({ result: { bulk: true } });
    if (!gb.bulk.ok) throw new Error('import failed');
    expect(gb.bulk.rows.map((r) => r.name)).toEqual(['欧阳娜娜', '李四']);
  });

  it('leaves to the row path every file it cannot load exactly, and says why', async () => {
    const cases: Array<[string, string]> = [
      ['是', 'value not in canonical form'],
      ['yes', 'value not in canonical form'],
    ];
    for (const [insured, reason] of cases) {
      const { bulk } = await bothWays(
        csvLine(HEADER) + csvLine(['张三', '1', '1', insured, '2024-01-01', '2024-01-01 08:00:00', 'R1']),
      );
      expect(bulk).toMatchObject({ result: { bulk: false } });
      if (bulk.ok) expect(bulk.result.bulkSkipped).toContain(reason);
    }
    // A date the calendar lacks passes the check's shape test; the server refuses it, nothing stays,
    // and the row path reports the row.
    const { bulk } = await bothWays(
      csvLine(HEADER) +
        csvLine(['张三', '1', '1', 't', '2023-02-29', '2024-01-01 08:00:00', 'R1']) +
        csvLine(['李四', '2', '2', 'f', '2023-03-01', '2024-01-01 08:00:00', 'R2']),
    );
    expect(bulk).toMatchObject({ result: { bulk: false, rows: 1, badRows: 1 } });
    if (bulk.ok) expect(bulk.result.bulkSkipped).toContain('the server refused the data');
  });

  it('agrees with the row path on any mix of canonical, lenient, malformed and hostile values', async () => {
    // Each column: the forms COPY may take as they are, and the rest (lenient, malformed, hostile).
    const columns: Array<[string[], string[]]> = [
      [
        ['', '""', '张三', '"a,b"', '"说""明"', '"两\n行"', ' 空格 ', 'null', '-', '"\\."'],
        ['24" monitor', '"x"y', '"未闭合'],
      ],
      [
        ['', '5', '-12', '007'],
        ['+5', ' 5', '5.0', 'null', 'x', '99999999999999999999', '""'],
      ],
      [
        ['', '1.5', '-0.25', '10'],
        ['.5', '1e3', '1.', '+2.5', 'NaN', '1,5'],
      ],
      [
        ['', 't', 'f', 'true', 'FALSE', '1', '0'],
        ['是', 'yes', 'on', 'tr'],
      ],
      // 2024-02-30 and year 0 have the canonical shape, but the server refuses them: the row path reports them.
      [
        ['', '2024-01-02', '2024-02-29'],
        ['2024-02-30', '0000-01-01', '2024/1/2', '2024年1月2日', 'today'],
      ],
      [
        ['', '2024-01-02 08:00:00', '2024-01-02T23:59:59', '2024-01-02'],
        ['2024-01-02 24:00:00', '2024-01-02 08:00:00+00:00', '2024-01-02 8:00', 'epoch'],
      ],
      [['R1', 'R2', '""', '', '"R,3"'], ['R"4']],
    ];
    const cell = (clean: boolean) => (choices: [string[], string[]]) =>
      clean ? fc.constantFrom(...choices[0]) : fc.constantFrom(...choices[0], ...choices[1]);
    const row = (clean: boolean) => fc.tuple(...columns.map(cell(clean)));
    // Half the files are clean (the bulk path must take them and agree), half anything at all.
    const file = fc.boolean().chain((clean) =>
      fc.record({
        clean: fc.constant(clean),
        rows: fc.array(row(clean), { minLength: 1, maxLength: 6 }),
        eol: fc.constantFrom('\n', '\r\n'),
        blank: clean ? fc.constant(false) : fc.boolean(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(file, async ({ clean, rows, eol, blank }) => {
        const lines = [HEADER.join(','), ...rows.map((r) => r.join(','))];
        if (blank) lines.splice(1, 0, '');
        const { bulk } = await bothWays(lines.join(eol) + eol);
        // And a clean file does take the bulk path: the check is not merely refusing everything.
        if (clean) expect(bulk).toMatchObject({ result: { bulk: true, bulkSkipped: null } });
      }),
      { numRuns: 40 },
    );
  });
});

describe('classifying a bulk import', () => {
  let app: TestApp;
  let steward: Ctx;
  const FULL_SCAN = 1_000;
  const SAMPLE = 400;

  beforeAll(async () => {
    app = await startTestApp({
      CLASSIFY_FULL_SCAN_ROWS: String(FULL_SCAN),
      CLASSIFY_SAMPLE_ROWS: String(SAMPLE),
    });
    steward = await app.actAs('steward.health');
  });
  afterAll(() => app.close());

  it('judges a sample drawn while streaming and finds what the row path and an on-demand scan find', async () => {
    const people = [...demoRows(findDemoResource('residents')!, 300)].filter((p) => p.mobile !== null);
    const rows = 6_000;
    let body = '公民身份号码,姓名,联系电话,就诊次数,备注\n';
    for (let i = 0; i < rows; i++) {
      const p = people[i % people.length]!;
      body += `${p.id_number},${p.name},${p.mobile},${i % 9},${i % 3 ? '' : '复诊'}\n`;
    }
    const fields = [
      { name: 'id_number', label: '公民身份号码', dataType: 'text' as const },
      { name: 'name', label: '姓名', dataType: 'text' as const },
      { name: 'mobile', label: '联系电话', dataType: 'text' as const },
      { name: 'visits', label: '就诊次数', dataType: 'integer' as const },
      { name: 'note', label: '备注', dataType: 'text' as const },
    ];
    const file = path.join(dir, 'people.csv');
    await writeFile(file, body);
    const detected = async (bulk: boolean) => {
      const resource = await catalog.createResource(steward, {
        name: `居民就诊 ${bulk}`,
        theme: 'health',
        updateCycle: 'daily',
        sharingType: 'not_shared',
        sharingConditions: '测试',
        openType: 'not_open',
        fields,
      });
      const result = await (await ingest.prepareImport(steward, resource.code, file, { bulk })).run();
      expect(result.bulk).toBe(bulk);
      const view = await classify.getClassification(steward, resource.code);
      const rescanned = await classify.scanResource(steward, resource.code);
      const pick = (v: typeof view) => v.fields.map((f) => [f.name, f.detector, f.grade]);
      expect(pick(rescanned)).toEqual(pick(view));
      return view;
    };
    const bulk = await detected(true);
    const rowPath = await detected(false);
    expect(bulk.fields.map((f) => [f.name, f.detector])).toEqual(
      rowPath.fields.map((f) => [f.name, f.detector]),
    );
    expect(bulk.fields.map((f) => f.detector)).toEqual([
      'cn_resident_id',
      'person_name',
      'cn_mobile',
      null,
      null,
    ]);
    const scan = bulk.fields[0]!.scan as unknown as { rows: number; sampled: boolean; nonEmpty: number };
    expect(scan).toMatchObject({ rows, sampled: true });
    // Every id is there; the count is the sample's share scaled to the table.
    expect(scan.nonEmpty).toBe(rows);
    const note = bulk.fields[4]!.scan as unknown as { nonEmpty: number };
    expect(Math.abs(note.nonEmpty - rows / 3)).toBeLessThan(rows * 0.1);
  });
});
