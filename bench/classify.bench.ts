/**
 * Classification benchmark (issue 4):
 *   1. precision and recall per detector on the labelled corpus written as files (CSV and XLSX,
 *      a third GB18030 CSV), read back through the same path as `shutong classify`
 *      (goal: ≥ 0.98 overall, ≥ 0.95 per detector);
 *   2. scan throughput in MB/s (CSV bytes of the rows scanned per second, one thread), full scan
 *      and as imports scan by default (every row up to CLASSIFY_FULL_SCAN_ROWS, a reservoir beyond);
 *   2b. free-text detection (issue 17): entities found in 100 MB (FREE_TEXT_BENCH_MB) of remarks
 *      with embedded names, ID numbers, mobiles, landlines, bank cards, e-mails and addresses (the
 *      labelled corpus's free-text columns, cycled), in MB/s on one thread (goal ≥ 20 MB/s), next
 *      to the column scanner's MB/s on the same remarks as one column;
 *   3. what scanning adds to an import (goal ≤ 1.2×), on the benchmark's PostgreSQL server, the
 *      same clean file imported alternately
 *        - by the bulk path (its default: COPY of the file as it is, ingest/bulk.ts), scanning off
 *          and on (the records drawn while streaming, judged on the importing thread), and
 *        - by the row path (bulk off: what files COPY cannot take as they are get), scanning off,
 *          on (its default: the importing thread samples, a worker thread judges the rows it
 *          needs while they load) and inline in the importing thread.
 *
 *   npm run bench -- classify                       (or: node --import tsx bench/classify.bench.ts)
 *
 * CLASSIFY_BENCH_ROWS sets the rows of the imported file (default 500000), CLASSIFY_BENCH_ROUNDS
 * the imports per mode (default 2, after one warm-up round). Wall-clock times on a busy machine
 * vary: the minimum of the rounds is compared, and CPU time (this process, all its threads) is
 * shown beside it.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as catalog from '../src/catalog/service.ts';
import { workerPaysOff } from '../src/classify/background.ts';
import { classifyFile } from '../src/classify/cli.ts';
import { loadConfig } from '../src/core/config.ts';
import { mulberry32 } from '../src/core/random.ts';
import * as ingest from '../src/ingest/service.ts';
import { findEntities } from '../src/rules/entities.ts';
import { createColumnScanner, createRowSampler, SKIP } from '../src/rules/scan.ts';
import { luhnCheckDigit } from '../src/standards/luhn.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { makeUscc } from '../src/standards/uscc.ts';
import { type CorpusEvaluation, evaluate, formatEvaluation, generateCorpus } from '../test/support/corpus.ts';
import { predictFiles, writeCorpusFiles } from '../test/support/corpus-files.ts';
import {
  type BenchContext,
  type BenchReport,
  DEFAULT_BENCH_DATABASE_URL,
  scratchDatabase,
} from './support.ts';

// ---------------------------------------------------------------- a register-like table

const HEADER = [
  '公民身份号码',
  '姓名',
  '性别',
  '出生日期',
  '手机号码',
  '固定电话',
  '现住址',
  '所属区县',
  '登记日期',
  '参保状态',
  '缴费金额',
  '单位名称',
  '统一社会信用代码',
  '银行账号',
  '备注',
] as const;
const FIELD_NAMES = [
  'id_number',
  'name',
  'sex',
  'birth_date',
  'mobile',
  'landline',
  'address',
  'district',
  'registered_on',
  'status',
  'amount',
  'employer',
  'employer_uscc',
  'bank_account',
  'note',
];
const SURNAMES = [
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤',
];
const GIVEN = [...'伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力金晶志海燕鹏宇浩凯'];
const DISTRICTS: [string, string][] = [
  ['330102', '上城区'],
  ['330105', '拱墅区'],
  ['330106', '西湖区'],
  ['330108', '滨江区'],
  ['330109', '萧山区'],
  ['330110', '余杭区'],
];
const ROADS = ['文三路', '教工路', '莫干山路', '江南大道', '天目山路', '凤起路', '延安路', '体育场路'];
const EMPLOYERS = ['云岚市第一人民医院', '云岚市数据运营有限公司', '云岚市公共交通集团', '云岚市自来水公司'];
const USCCS = [
  makeUscc('9', '1', '330100', 'MA2H7K3L'),
  makeUscc('1', '2', '330100', '47000012'),
  makeUscc('9', '1', '330106', 'MA27X4LQ'),
  makeUscc('1', '1', '330100', '00248912'),
];
const STATUS = ['正常参保', '暂停缴费', '终止参保'];

const rng = mulberry32;

/** Rows of a social insurance register: a third of the columns sensitive, the rest plain. */
export function registerRows(n: number, seed = 42): string[][] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]) => items[Math.floor(r() * items.length)]!;
  const pad = (v: number) => String(v).padStart(2, '0');
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const [code, district] = pick(DISTRICTS);
    const y = int(1940, 2005);
    const birth = `${y}-${pad(int(1, 12))}-${pad(int(1, 28))}`;
    const seq = int(0, 999);
    const card = `6217${String(int(0, 999_999_999)).padStart(9, '0')}${String(int(0, 99_999)).padStart(5, '0')}`;
    rows.push([
      makeResidentId(code, birth, seq),
      pick(SURNAMES) + pick(GIVEN) + (r() < 0.6 ? pick(GIVEN) : ''),
      seq % 2 ? '男' : '女',
      birth,
      `1${pick(['38', '39', '50', '58', '86', '35'])}${String(int(0, 99_999_999)).padStart(8, '0')}`,
      r() < 0.3 ? '' : `0571-${int(81_000_000, 89_999_999)}`,
      `浙江省云岚市${district}${pick(ROADS)}${int(1, 399)}号${int(1, 30)}幢${int(101, 2402)}室`,
      district,
      `20${int(15, 25)}-${pad(int(1, 12))}-${pad(int(1, 28))}`,
      pick(STATUS),
      (int(10_000, 900_000) / 100).toFixed(2),
      pick(EMPLOYERS),
      pick(USCCS),
      card + luhnCheckDigit(card),
      r() < 0.8 ? '' : pick(['补缴', '转入', '待核实']),
    ]);
  }
  return rows;
}

function toCsv(rows: string[][]): string {
  return `${HEADER.join(',')}\n${rows.map((row) => row.join(',')).join('\n')}\n`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---------------------------------------------------------------- 1. corpus

async function corpusEvaluation(dir: string): Promise<CorpusEvaluation> {
  const corpus = generateCorpus();
  const files = await writeCorpusFiles(dir, corpus);
  const started = performance.now();
  const predictions = await predictFiles(corpus, files, async (file) =>
    (await classifyFile(file.path)).results.map((r) => r.type),
  );
  const elapsed = (performance.now() - started) / 1000;
  const count = (kind: string) => files.filter((f) => f.kind === kind).length;
  console.log(
    `Labelled corpus as files: ${corpus.length} columns in ${files.length} files ` +
      `(${count('csv-gb18030')} GB18030 CSV, ${count('csv-utf8')} UTF-8 CSV, ${count('xlsx')} XLSX), ` +
      `classified in ${elapsed.toFixed(1)} s`,
  );
  const evaluation = evaluate(corpus, predictions);
  console.log(formatEvaluation(evaluation));
  if (evaluation.errors.length > 0) console.log('misclassified:', evaluation.errors);
  return evaluation;
}

// ---------------------------------------------------------------- 2. throughput

function throughput() {
  const distinct = registerRows(100_000, 7);
  const bytes = distinct.reduce((s, row) => s + Buffer.byteLength(row.join(',')) + 1, 0);
  const run = (rows: number, options: Parameters<typeof createColumnScanner>[1]) => {
    const scanner = createColumnScanner([...HEADER], options);
    const started = performance.now();
    for (let i = 0; i < rows; i++) scanner.add(distinct[i % distinct.length]!);
    scanner.result();
    const ms = performance.now() - started;
    return {
      mbps: (bytes * (rows / distinct.length)) / 1e6 / (ms / 1000),
      rowsPerSecond: rows / (ms / 1000),
    };
  };
  run(20_000, { fullScanRows: Number.POSITIVE_INFINITY }); // warm-up
  const full = run(100_000, { fullScanRows: Number.POSITIVE_INFINITY });
  const { classifyFullScanRows, classifySampleRows } = loadConfig(process.env);
  const sampled = run(1_000_000, { fullScanRows: classifyFullScanRows, sampleRows: classifySampleRows });
  console.log(
    `\nScan throughput, one thread (${HEADER.length} columns, ${Math.round(bytes / distinct.length)} bytes a row): ` +
      `full scan ${full.mbps.toFixed(1)} MB/s (${Math.round(full.rowsPerSecond).toLocaleString('en')} rows/s); ` +
      `as imports do, 1,000,000 rows (every row to ${classifyFullScanRows.toLocaleString('en')}, reservoir beyond) ${sampled.mbps.toFixed(1)} MB/s`,
  );
  return { full, sampled };
}

// ---------------------------------------------------------------- 2b. free-text detection

function freeTextThroughput() {
  // The labelled corpus's free-text columns: remarks built from sentence templates, some plain.
  const texts = generateCorpus()
    .filter((c) => c.kind === 'free_text')
    .flatMap((c) => c.values)
    .filter((v): v is string => typeof v === 'string' && v.length > 0);
  const sizes = texts.map((t) => Buffer.byteLength(t));
  const target = Number(process.env.FREE_TEXT_BENCH_MB ?? 100) * 1e6;
  const pass = (each: (text: string) => void, bytes: number) => {
    let done = 0;
    let rows = 0;
    const started = performance.now();
    for (let i = 0; done < bytes; i = (i + 1) % texts.length, rows++) {
      each(texts[i]!);
      done += sizes[i]!;
    }
    return { mbps: done / 1e6 / ((performance.now() - started) / 1000), rows, bytes: done };
  };
  let entities = 0;
  pass((t) => findEntities(t), 5e6); // warm-up
  const detection = pass((t) => {
    entities += findEntities(t).length;
  }, target);
  // The same remarks as one column through the column scanner, every row judged (no reservoir).
  const scanner = createColumnScanner(['备注'], { fullScanRows: Number.POSITIVE_INFINITY });
  const scanned = pass((t) => scanner.add([t]), target);
  const result = scanner.result();
  console.log(
    `\nFree-text detection, one thread, ${(detection.bytes / 1e6).toFixed(0)} MB of remarks ` +
      `(${texts.length.toLocaleString('en')} distinct, ${detection.rows.toLocaleString('en')} in all): ` +
      `findEntities ${detection.mbps.toFixed(1)} MB/s (${entities.toLocaleString('en')} entities); ` +
      `the column scanner on them as one column ${scanned.mbps.toFixed(1)} MB/s (type ${String(result[0]?.type)})`,
  );
  return { detection, scanned, entities, distinct: texts.length };
}

// ---------------------------------------------------------------- 3. import overhead

async function importOverhead(ctx: BenchContext, dir: string) {
  const rows = Number(process.env.CLASSIFY_BENCH_ROWS ?? 500_000);
  const rounds = Number(process.env.CLASSIFY_BENCH_ROUNDS ?? 2);
  const file = path.join(dir, 'register.csv');
  await writeFile(file, toCsv(registerRows(rows)));
  const size = (await stat(file)).size;
  const scratch = await scratchDatabase(ctx, 'classify');
  try {
    // The scan's sizes as the platform would read them from this environment.
    const { classifyFullScanRows, classifySampleRows } = loadConfig(process.env);
    const base = await scratch.stewardCtx('hrss');
    const steward = { ...base, config: { ...base.config, classifyFullScanRows, classifySampleRows } };
    const resource = await catalog.createResource(steward, {
      name: '社会保险参保登记（基准测试）',
      theme: 'social_security',
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '基准测试',
      openType: 'not_open',
      fields: HEADER.map((label, i) => ({
        name: FIELD_NAMES[i]!,
        label,
        dataType: label.endsWith('日期') ? 'date' : label === '缴费金额' ? 'decimal' : 'text',
      })),
    });
    const modes = [
      ['bulk off', false, true],
      ['bulk on', true, true],
      ['rows off', false, false],
      ['rows worker', 'worker', false],
      ['rows inline', 'inline', false],
    ] as const;
    const wall = new Map<string, number[]>(modes.map(([m]) => [m, []]));
    const cpu = new Map<string, number[]>(modes.map(([m]) => [m, []]));
    for (let round = 0; round <= rounds; round++) {
      for (const [mode, classify, bulk] of modes) {
        const started = performance.now();
        const used = process.cpuUsage();
        const prepared = await ingest.prepareImport(steward, resource.id, file, { classify, bulk });
        const result = await prepared.run();
        if (result.bulk !== bulk) throw new Error(`${mode}: the import took the other path`);
        const { user, system } = process.cpuUsage(used);
        // The first round warms up the JIT, the worker and the database; it is not counted.
        if (round === 0) continue;
        wall.get(mode)!.push(performance.now() - started);
        cpu.get(mode)!.push((user + system) / 1000);
      }
    }
    const graded = await catalog.getResource(steward, resource.id);
    // The rows the sampler hands the judge (on the worker) depend only on the row count and seed.
    const sampler = createRowSampler(0, {
      fullScanRows: classifyFullScanRows,
      sampleRows: classifySampleRows,
    });
    let judged = 0;
    for (let i = 0; i < rows; i++) if (sampler.add([]) !== SKIP) judged++;
    const best = (m: string) => Math.min(...wall.get(m)!);
    const baseline = (m: string) => (m.startsWith('bulk') ? 'bulk off' : 'rows off');
    type Mode = (typeof modes)[number][0];
    const result = Object.fromEntries(
      modes.map(([m]) => [
        m,
        {
          min: best(m),
          median: median(wall.get(m)!),
          cpu: Math.min(...cpu.get(m)!),
          ratio: best(m) / best(baseline(m)),
          cpuRatio: Math.min(...cpu.get(m)!) / Math.min(...cpu.get(baseline(m))!),
        },
      ]),
    ) as Record<Mode, { min: number; median: number; cpu: number; ratio: number; cpuRatio: number }>;
    console.log(
      `\nImport with and without the scan (${rows.toLocaleString('en')} rows, ${(size / 1e6).toFixed(1)} MB, ` +
        `${rounds} rounds per mode, PostgreSQL server; every row to ${classifyFullScanRows.toLocaleString('en')}, ` +
        `reservoir of ${classifySampleRows.toLocaleString('en')} beyond; ${judged.toLocaleString('en')} rows handed to the judge):`,
    );
    for (const [m] of modes) {
      const r = result[m];
      console.log(
        `  ${m.padEnd(11)}  wall min ${seconds(r.min)} (median ${seconds(r.median)}, ${(size / 1e6 / (r.min / 1000)).toFixed(1)} MB/s) ` +
          `ratio ${r.ratio.toFixed(2)}×   cpu ${seconds(r.cpu)} ratio ${r.cpuRatio.toFixed(2)}×`,
      );
    }
    console.log(
      `  graded: resource ${graded.grade}; ${graded.fields
        .filter((f) => f.detector)
        .map((f) => `${f.name} ${f.grade} (${f.detector})`)
        .join(', ')}`,
    );
    return { rows, size, ...result };
  } finally {
    await scratch.drop();
  }
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const dir = await mkdtemp(path.join(tmpdir(), 'shutong-bench-classify-'));
  try {
    const evaluation = await corpusEvaluation(dir);
    const scan = throughput();
    const freeText = freeTextThroughput();
    const imports = await importOverhead(ctx, dir);
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    const chosen = workerPaysOff() ? 'worker' : 'inline';
    const worst = (key: 'precision' | 'recall') =>
      evaluation.perDetector.reduce((w, m) => (m[key] < w[key] ? m : w));
    return {
      title: 'Classification: corpus as files (a third GB18030), scan throughput, import overhead',
      table: Object.fromEntries(
        evaluation.perDetector.map((m) => [
          m.detector,
          {
            support: m.support,
            tp: m.tp,
            fp: m.fp,
            fn: m.fn,
            precision: pct(m.precision),
            recall: pct(m.recall),
          },
        ]),
      ),
      goals: [
        {
          name: 'corpus precision overall',
          value: pct(evaluation.overall.precision),
          goal: '≥ 98 %',
          met: evaluation.overall.precision >= 0.98,
        },
        {
          name: 'corpus recall overall',
          value: pct(evaluation.overall.recall),
          goal: '≥ 98 %',
          met: evaluation.overall.recall >= 0.98,
        },
        {
          name: 'lowest precision of a detector',
          value: `${pct(worst('precision').precision)} (${worst('precision').detector})`,
          goal: '≥ 95 %',
          met: worst('precision').precision >= 0.95,
        },
        {
          name: 'lowest recall of a detector',
          value: `${pct(worst('recall').recall)} (${worst('recall').detector})`,
          goal: '≥ 95 %',
          met: worst('recall').recall >= 0.95,
        },
        {
          name: 'free-text detection, one thread (findEntities on remarks with embedded entities)',
          value: `${freeText.detection.mbps.toFixed(1)} MB/s`,
          goal: '≥ 20 MB/s',
          met: freeText.detection.mbps >= 20,
        },
        {
          name: 'import with scan / import without (wall clock; bulk path, the default for this clean file)',
          value: `${imports['bulk on'].ratio.toFixed(2)}×`,
          goal: '≤ 1.2×',
          met: imports['bulk on'].ratio <= 1.2,
        },
        {
          name: `import with scan / import without (wall clock; row path, scan ${chosen === 'worker' ? 'on its worker, the default here' : 'inline, the default on a single core'})`,
          value: `${imports[`rows ${chosen}`].ratio.toFixed(2)}×`,
          goal: '≤ 1.2×',
          met: imports[`rows ${chosen}`].ratio <= 1.2,
        },
      ],
      notes: [
        `scan throughput, one thread: ${scan.full.mbps.toFixed(1)} MB/s full scan, ${scan.sampled.mbps.toFixed(1)} MB/s on 1,000,000 rows as imports scan them`,
        `free text, one thread, ${(freeText.detection.bytes / 1e6).toFixed(0)} MB of remarks (${freeText.distinct.toLocaleString('en')} distinct, cycled): findEntities ${freeText.detection.mbps.toFixed(1)} MB/s, ${freeText.entities.toLocaleString('en')} entities; the column scanner on the same remarks as one column ${freeText.scanned.mbps.toFixed(1)} MB/s`,
        `bulk path: wall clock with the scan ${imports['bulk on'].ratio.toFixed(2)}×, CPU ${imports['bulk on'].cpuRatio.toFixed(2)}×; without it ${seconds(imports['bulk off'].min)} for ${imports.rows.toLocaleString('en')} rows (${(imports.size / 1e6).toFixed(1)} MB)`,
        `row path: wall clock with the scan ${imports['rows worker'].ratio.toFixed(2)}× on the worker, ${imports['rows inline'].ratio.toFixed(2)}× inline; CPU of the whole process: ${imports['rows worker'].cpuRatio.toFixed(2)}× (worker), ${imports['rows inline'].cpuRatio.toFixed(2)}× (inline); without it ${seconds(imports['rows off'].min)}; ${availableParallelism()} cores`,
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const report = await run({ serverUrl: process.env.BENCH_DATABASE_URL || DEFAULT_BENCH_DATABASE_URL });
  console.log(`\n${report.title}`);
  console.table(report.table);
  for (const g of report.goals) console.log(`  ${g.met ? '✓' : '✗'} ${g.name}: ${g.value} (goal ${g.goal})`);
  for (const note of report.notes ?? []) console.log(`  · ${note}`);
}
