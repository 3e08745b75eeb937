/**
 * Quality benchmark (issue 20): evaluating the quality rules of a 1,000,000-row version (every
 * dimension: required, null rate, pattern, code list, GB/T 2260 codes, detector format, range,
 * check character, ID/birth-date cross check, duplicates on the key, timeliness, accessibility)
 * against a plain `count(*)` scan of the same table (goal ≤ 3×), on the benchmark's PostgreSQL
 * server. The minimum of the rounds is compared; the machine may be shared and noisy.
 *
 *   npm run bench -- quality          QUALITY_BENCH_ROWS (default 1000000), QUALITY_BENCH_ROUNDS (3)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import * as catalog from '../src/catalog/service.ts';
import * as ingest from '../src/ingest/service.ts';
import * as quality from '../src/quality/service.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { type BenchContext, type BenchReport, scratchDatabase } from './support.ts';

const FIELDS = [
  { name: 'record_no', label: '记录编号', dataType: 'text' as const, isKey: true },
  { name: 'person_id', label: '公民身份号码', dataType: 'text' as const },
  { name: 'birth_date', label: '出生日期', dataType: 'date' as const },
  { name: 'district_code', label: '行政区划代码', dataType: 'text' as const },
  { name: 'age', label: '年龄', dataType: 'integer' as const },
  { name: 'email', label: '电子邮箱', dataType: 'text' as const },
  { name: 'status', label: '状态', dataType: 'text' as const },
  { name: 'updated_on', label: '更新日期', dataType: 'date' as const },
];

const RULES = [
  { kind: 'required', field: 'person_id' },
  { kind: 'null_rate', field: 'email', max: 0.1 },
  { kind: 'pattern', field: 'record_no', pattern: '^R[0-9]{7}$' },
  { kind: 'enum', field: 'status', values: ['active', 'closed'] },
  { kind: 'region_code', field: 'district_code' },
  { kind: 'detector', field: 'email', detector: 'email' },
  { kind: 'range', field: 'age', min: 0, max: 120 },
  { kind: 'check_digit', field: 'person_id', standard: 'cn_resident_id' },
  { kind: 'id_birth_date', field: 'person_id', birthField: 'birth_date' },
  { kind: 'unique', fields: ['record_no'] },
  { kind: 'timeliness', field: 'updated_on' },
] as const;

const DISTRICTS = ['330102', '330105', '330106', '330108', '330110'];

function csv(rows: number): string {
  const lines = [FIELDS.map((f) => f.name).join(',')];
  for (let i = 1; i <= rows; i++) {
    const year = 1950 + (i % 60);
    const birth = `${year}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
    // One row in a thousand carries a defect, so failing rules also fetch their row numbers.
    const bad = i % 1000 === 0;
    lines.push(
      [
        `R${String(bad ? i - 1 : i).padStart(7, '0')}`,
        makeResidentId(DISTRICTS[i % 5]!, birth, i % 1000),
        birth,
        bad ? '339999' : DISTRICTS[i % 5],
        bad ? 150 : 2026 - year,
        bad ? 'broken' : `u${i}@example.cn`,
        i % 3 ? 'active' : 'closed',
        '2026-11-30',
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const rows = Number(process.env.QUALITY_BENCH_ROWS ?? 1_000_000);
  const rounds = Number(process.env.QUALITY_BENCH_ROUNDS ?? 3);
  const scratch = await scratchDatabase(ctx, 'quality');
  const dir = await mkdtemp(path.join(tmpdir(), 'shutong-quality-bench-'));
  try {
    const steward = await scratch.stewardCtx('health');
    const resource = await catalog.createResource(steward, {
      name: '居民登记（质量基准）',
      theme: 'population',
      updateCycle: 'monthly',
      sharingType: 'unconditional',
      sharingConditions: '',
      openType: 'not_open',
      fields: FIELDS,
    } as never);
    const file = path.join(dir, 'people.csv');
    await writeFile(file, csv(rows));
    const prepared = await ingest.prepareImport(steward, resource.id, file, { classify: false });
    await prepared.run();
    await quality.setRules(steward, resource.id, { rules: RULES as never });
    const version = await steward.db
      .selectFrom('dataset_versions')
      .select('table_name')
      .where('id', '=', prepared.versionId)
      .executeTakeFirstOrThrow();
    const count = () =>
      sql`SELECT count(*) FROM ${sql.table(`datasets.${version.table_name}`)}`.execute(steward.db);
    const evaluate = () => quality.evaluateNow(steward, resource.id);
    await count();
    const counts: number[] = [];
    const evaluations: number[] = [];
    let last: Awaited<ReturnType<typeof evaluate>> | undefined;
    for (let r = 0; r < rounds; r++) {
      counts.push(await timed(count));
      evaluations.push(
        await timed(async () => {
          last = await evaluate();
        }),
      );
    }
    const countMs = Math.min(...counts);
    const evalMs = Math.min(...evaluations);
    const ratio = evalMs / countMs;
    return {
      title: `Quality evaluation of a ${rows.toLocaleString('en')}-row version (${RULES.length} rules + accessibility)`,
      table: {
        'count(*)': { 'min ms': Math.round(countMs), rounds: counts.map(Math.round).join(' / ') },
        'quality evaluation': {
          'min ms': Math.round(evalMs),
          rounds: evaluations.map(Math.round).join(' / '),
        },
      },
      goals: [
        { name: 'evaluation ÷ count(*)', value: `${ratio.toFixed(2)}×`, goal: '≤ 3×', met: ratio <= 3 },
      ],
      notes: [
        `score ${last?.report.score} (level ${last?.report.level}); one row in a thousand carries a defect`,
        'shared machine: wall-clock times are noisy',
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await scratch.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await run({
    serverUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  });
  console.log(JSON.stringify(report, null, 2));
}
