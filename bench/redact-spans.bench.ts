/**
 * Span masking benchmark (issue 17): serving a free-text column under `redact_spans` (the nested
 * `regexp_replace` of masking.ts, as the gateway runs it) against serving the raw column, over
 * REDACT_BENCH_ROWS (default 200,000) remarks of which half hold a name, an ID number, a mobile
 * and an address. Two measures, each the minimum of REDACT_BENCH_ROUNDS (3) rounds on a shared,
 * noisy machine: the rows fetched by a client (what the gateway does) and the expression alone
 * in the server (`sum(length(…))`, no transfer). Goal: ≤ 3× the raw column's time.
 *
 *   npm run bench -- redact-spans      (BENCH_DATABASE_URL, default the local test server)
 */
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { redactSpans } from '../src/rules/entities.ts';
import { maskSqlExpression } from '../src/rules/masking.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import {
  type BenchContext,
  type BenchReport,
  DEFAULT_BENCH_DATABASE_URL,
  scratchDatabase,
} from './support.ts';

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴'];
const PLAIN = [
  '材料齐全，同意受理，转窗口办理。',
  '已电话回访，群众对办理结果表示满意，无其他诉求。',
  '补正材料已于当日提交，经审核符合要求，准予办理。',
  '系统自动生成，请勿回复本条记录。',
];

/** A remark as registers write them: half carry entities, half are plain. */
export function remark(i: number): string {
  if (i % 2) return PLAIN[i % PLAIN.length]!;
  const id = makeResidentId('330106', `19${50 + (i % 45)}-0${1 + (i % 9)}-1${i % 10}`, i % 1000);
  const mobile = `13${i % 10}${String(10_000_000 + ((i * 7919) % 90_000_000)).slice(-8)}`;
  return `申请人${SURNAMES[i % 10]}小明，身份证号${id}，联系电话${mobile}，住址杭州市西湖区文三路${(i % 300) + 1}号，于窗口提交申请。`;
}

async function minOf(rounds: number, work: () => Promise<unknown>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    await work();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const rows = Number(process.env.REDACT_BENCH_ROWS ?? 200_000);
  const rounds = Number(process.env.REDACT_BENCH_ROUNDS ?? 3);
  const scratch = await scratchDatabase(ctx, 'redact');
  const db = scratch.database.db;
  try {
    await sql`CREATE TABLE remarks (id int PRIMARY KEY, v text)`.execute(db);
    let bytes = 0;
    for (let from = 0; from < rows; from += 10_000) {
      const values = Array.from({ length: Math.min(10_000, rows - from) }, (_, k) => remark(from + k));
      for (const v of values) bytes += Buffer.byteLength(v);
      await sql`INSERT INTO remarks SELECT ${from} + i::int, v
        FROM unnest(${values}::text[]) WITH ORDINALITY AS t(v, i)`.execute(db);
    }
    await sql`VACUUM ANALYZE remarks`.execute(db);
    const masked = maskSqlExpression('redact_spans', sql`v`);
    const fetchRaw = await minOf(rounds, () => sql`SELECT v FROM remarks`.execute(db));
    const fetchMasked = await minOf(rounds, () => sql`SELECT ${masked} AS v FROM remarks`.execute(db));
    const scanRaw = await minOf(rounds, () => sql`SELECT sum(length(v)) FROM remarks`.execute(db));
    const scanMasked = await minOf(rounds, () => sql`SELECT sum(length(${masked})) FROM remarks`.execute(db));
    const all = (await sql<{ v: string }>`SELECT v FROM remarks`.execute(db)).rows.map((r) => r.v);
    const js = await minOf(rounds, async () => {
      for (const v of all) redactSpans(v);
    });
    const mb = bytes / 1e6;
    const ms = (x: number) => Math.round(x);
    const fetched = fetchMasked / fetchRaw;
    return {
      title: `redact_spans in SQL vs the raw text column, ${rows.toLocaleString('en')} remarks (${mb.toFixed(1)} MB)`,
      table: {
        'rows fetched': { raw_ms: ms(fetchRaw), masked_ms: ms(fetchMasked), ratio: +fetched.toFixed(2) },
        'in the server (sum of lengths)': {
          raw_ms: ms(scanRaw),
          masked_ms: ms(scanMasked),
          ratio: +(scanMasked / scanRaw).toFixed(2),
        },
        'JS redactSpans (for reference)': { raw_ms: 0, masked_ms: ms(js), ratio: 0 },
      },
      goals: [
        {
          name: 'span masking in SQL, rows fetched, vs the raw column',
          value: `${fetched.toFixed(2)}×`,
          goal: '≤ 3×',
          met: fetched <= 3,
        },
      ],
      notes: [
        `masking alone in the server: ${((mb / (scanMasked - scanRaw)) * 1000).toFixed(1)} MB/s of text (the expression's own cost)`,
        `JS redactSpans: ${((mb / js) * 1000).toFixed(1)} MB/s on one thread`,
      ],
    };
  } finally {
    await scratch.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await run({ serverUrl: process.env.BENCH_DATABASE_URL || DEFAULT_BENCH_DATABASE_URL });
  console.log(report.title);
  console.table(report.table);
  for (const g of report.goals) console.log(`${g.met ? '✓' : '✗'} ${g.name}: ${g.value} (goal ${g.goal})`);
  for (const n of report.notes ?? []) console.log(`· ${n}`);
}
