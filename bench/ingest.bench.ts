/**
 * Ingest throughput (issue: Shutong ≥ 0.5× the rows/s of a bare COPY): a 1,000,000-row outpatient
 * CSV (about 110 MB, personal data included, as real files have) loaded
 *   (a) through Shutong's import path — prepareImport + run as the provider's data steward, with
 *       type checks, column statistics, classification and the version's bookkeeping — in a
 *       child process whose peak RSS is reported, and
 *   (b) by `COPY … FROM STDIN WITH (FORMAT csv, HEADER)` of the same file into a plain table with
 *       the same column types, through pg + pg-copy-streams,
 * on the same PostgreSQL server, in one run. COPY runs before and after Shutong; the faster of the
 * two is the baseline. The file is clean, so Shutong takes its bulk path (src/ingest/bulk.ts); the
 * same file is then imported once more with the bulk path turned off, to show what a file COPY
 * cannot take as it is (Chinese dates, 是/否, a title row…) costs on the row path.
 * INGEST_ROWS changes the size (9,000,000 rows make about 1 GB); BENCH_CPU_PROF=<dir> writes a V8
 * CPU profile of the import processes there (where the time goes).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createResource, type FieldInput } from '../src/catalog/service.ts';
import { demoRows } from '../src/demo/data.ts';
import { findDemoResource } from '../src/demo/resources.ts';
import { type BenchContext, type BenchReport, fmt, scratchDatabase } from './support.ts';

const ROWS = Number(process.env.INGEST_ROWS ?? 1_000_000);
const PEOPLE = 20_000;

export const FIELDS: FieldInput[] = [
  { name: 'visit_no', label: '就诊流水号', dataType: 'text', isKey: true },
  { name: 'patient_id_number', label: '患者身份证号', dataType: 'text' },
  { name: 'patient_name', label: '患者姓名', dataType: 'text' },
  { name: 'sex', label: '性别', dataType: 'text' },
  { name: 'district', label: '所在区县', dataType: 'text' },
  { name: 'department', label: '就诊科室', dataType: 'text' },
  { name: 'visit_date', label: '就诊日期', dataType: 'date' },
  { name: 'visited_at', label: '就诊时间', dataType: 'timestamp' },
  { name: 'visits', label: '本年就诊次数', dataType: 'integer' },
  { name: 'total_fee', label: '医疗费用总额（元）', dataType: 'decimal' },
  { name: 'insured', label: '是否医保结算', dataType: 'boolean' },
  { name: 'mobile', label: '联系电话', dataType: 'text' },
];
const SQL_TYPES = {
  text: 'text',
  date: 'date',
  timestamp: 'timestamptz',
  integer: 'bigint',
  decimal: 'numeric',
  boolean: 'boolean',
};
const DEPARTMENTS = ['内科', '外科', '儿科', '妇产科', '眼科', '口腔科', '皮肤科', '中医科', '急诊科'];

/**
 * Writes the benchmark file: real-looking people (valid ID numbers and phones from the demo
 * city's generator, cycled) and per-row dates, amounts and counts, in UTF-8 with labels as header.
 */
export async function writeCsv(file: string, rows = ROWS): Promise<void> {
  const people = [...demoRows(findDemoResource('residents')!, PEOPLE)].filter((p) => p.mobile !== null);
  const out = createWriteStream(file);
  let chunk = `${FIELDS.map((f) => f.label).join(',')}\n`;
  let state = 20_260_301;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 4_294_967_296;
  };
  const day0 = Date.UTC(2025, 0, 1);
  for (let i = 0; i < rows; i++) {
    const p = people[i % people.length]!;
    const day = new Date(day0 + Math.floor(i / 3_000) * 86_400_000).toISOString().slice(0, 10);
    const time = `${String(8 + Math.floor(next() * 9)).padStart(2, '0')}:${String(Math.floor(next() * 60)).padStart(2, '0')}:${String(Math.floor(next() * 60)).padStart(2, '0')}`;
    chunk += `MZ${String(i + 1).padStart(9, '0')},${p.id_number},${p.name},${p.sex},${p.district},${DEPARTMENTS[Math.floor(next() * DEPARTMENTS.length)]},${day},${day} ${time},${1 + Math.floor(next() * 12)},${(20 + next() * 900).toFixed(2)},${next() < 0.8},${p.mobile}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/**
 * Each side starts with the same clean slate: no dirty pages from the other one's load for a
 * checkpoint to write while it runs. Needs superuser; without it, the run goes on unflushed.
 */
async function checkpoint(client: pg.Client): Promise<void> {
  await client.query('checkpoint').catch(() => {});
}

async function copyPlain(url: string, file: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("set timezone = 'Asia/Shanghai'");
    await client.query('drop table if exists plain_visits');
    // No autovacuum of this table while the import that follows is measured.
    await client.query(
      `create table plain_visits (${FIELDS.map((f) => `${f.name} ${SQL_TYPES[f.dataType]}`).join(', ')}) with (autovacuum_enabled = false)`,
    );
    await checkpoint(client);
    const started = process.hrtime.bigint();
    const columns = FIELDS.map((f) => f.name).join(', ');
    await pipeline(
      createReadStream(file),
      client.query(copyFrom(`COPY plain_visits (${columns}) FROM STDIN WITH (FORMAT csv, HEADER)`)),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await client.query('drop table plain_visits');
    await checkpoint(client);
    return seconds;
  } finally {
    await client.end();
  }
}

export interface ImportMeasure {
  rows: number;
  badRows: number;
  bulk: boolean;
  seconds: number;
  prepareSeconds: number;
  cpuSeconds: number;
  baselineRssMb: number;
  sampledPeakRssMb: number;
  maxRssMb: number;
}

export async function importThroughShutong(
  url: string,
  code: string,
  file: string,
  loader: 'bulk' | 'rows',
): Promise<ImportMeasure> {
  const script = path.join(import.meta.dirname, 'ingest-import.ts');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
      '--import',
      'tsx',
      script,
      url,
      code,
      file,
      loader,
    ],
    {
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ImportMeasure;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shutong-bench-ingest-'));
  const scratch = await scratchDatabase(ctx, 'ingest');
  try {
    const file = path.join(dir, 'visits.csv');
    const generated = Date.now();
    await writeCsv(file);
    const size = (await stat(file)).size;
    console.log(
      `  generated ${fmt(ROWS)} rows, ${fmt(size / 2 ** 20, 1)} MB in ${fmt((Date.now() - generated) / 1000, 1)} s`,
    );
    const resource = await createResource(await scratch.stewardCtx('health'), {
      name: '门诊就诊明细（基准测试）',
      theme: 'health',
      updateCycle: 'daily',
      sharingType: 'not_shared',
      sharingConditions: '基准测试数据',
      openType: 'not_open',
      fields: FIELDS,
    });
    const copyBefore = await copyPlain(scratch.url, file);
    const shutong = await importThroughShutong(scratch.url, resource.code, file, 'bulk');
    const copyAfter = await copyPlain(scratch.url, file);
    const rowPath = await importThroughShutong(scratch.url, resource.code, file, 'rows');
    for (const measured of [shutong, rowPath]) {
      if (measured.rows !== ROWS || measured.badRows !== 0)
        throw new Error(`import loaded ${JSON.stringify(measured)}`);
    }
    if (!shutong.bulk) throw new Error('the clean benchmark file did not take the bulk path');
    const copySeconds = Math.min(copyBefore, copyAfter);
    const ratio = copySeconds / shutong.seconds;
    const mbPerSecond = (seconds: number) => fmt(size / 2 ** 20 / seconds, 1);
    return {
      title: `Ingest: ${fmt(ROWS)}-row CSV (${fmt(size / 2 ** 20, 1)} MB, ${FIELDS.length} columns) on the same PostgreSQL server`,
      table: {
        'COPY FROM STDIN (plain table)': {
          seconds: fmt(copySeconds, 2),
          'rows/s': fmt(ROWS / copySeconds),
          'MB/s': mbPerSecond(copySeconds),
          'peak RSS MB': '—',
        },
        'Shutong import (prepare + run)': {
          seconds: fmt(shutong.seconds, 2),
          'rows/s': fmt(ROWS / shutong.seconds),
          'MB/s': mbPerSecond(shutong.seconds),
          'peak RSS MB': fmt(shutong.maxRssMb),
        },
        'Shutong import, row path (bulk off)': {
          seconds: fmt(rowPath.seconds, 2),
          'rows/s': fmt(ROWS / rowPath.seconds),
          'MB/s': mbPerSecond(rowPath.seconds),
          'peak RSS MB': fmt(rowPath.maxRssMb),
        },
      },
      goals: [
        {
          name: 'ingest: Shutong / COPY rows/s',
          value: `${ratio.toFixed(2)}×`,
          goal: '≥ 0.50×',
          met: ratio >= 0.5,
        },
        {
          name: `ingest: peak RSS of the import process (${fmt(size / 2 ** 20)} MB file)`,
          value: `${fmt(shutong.maxRssMb)} MB`,
          goal: '< 400 MB',
          met: shutong.maxRssMb < 400,
        },
      ],
      notes: [
        `COPY runs: ${fmt(copyBefore, 2)} s before, ${fmt(copyAfter, 2)} s after the import; the faster is the baseline`,
        `Shutong: ${fmt(shutong.cpuSeconds, 1)} CPU-seconds over all its threads (classification worker included); ` +
          `prepare (SM3 of the file, header check, job and version) ${fmt(shutong.prepareSeconds, 2)} s; ` +
          `RSS ${fmt(shutong.baselineRssMb)} MB before the import, sampled peak ${fmt(shutong.sampledPeakRssMb)} MB, ` +
          `process maxRSS ${fmt(shutong.maxRssMb)} MB`,
        `row path: ${fmt(copySeconds / rowPath.seconds, 2)}× COPY, ${fmt(rowPath.cpuSeconds, 1)} CPU-seconds, ` +
          `sampled peak RSS ${fmt(rowPath.sampledPeakRssMb)} MB`,
      ],
    };
  } finally {
    await scratch.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
