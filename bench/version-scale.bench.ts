/**
 * A dataset version at scale (issue 21): one imported version grown to VERSION_SCALE_ROWS rows
 * (default 100,000,000) and read through the gateway's rows endpoint, in a scratch database:
 *   1. a resource and its first version through the real import path (a five-row CSV), published,
 *      applied for, approved, with a consumer's API key;
 *   2. the version's table grown in SQL (INSERT … SELECT FROM generate_series, in chunks) with the
 *      import's indexes dropped before and built again after, its row_count set, ANALYZE;
 *   3. reads over HTTP (Fastify on a local port, fetch): first page, keyset pages, a deep page,
 *      filtered pages, counts, a lookup by key.
 *
 * The rows past the CSV's five are synthetic (values from the ordinal by multiplicative
 * scattering), as if the file had held them; the import's checks (classification, quality,
 * duplicate keys, column statistics) saw only the five.
 *
 *   VERSION_SCALE_ROWS=1000000 npm run bench -- version-scale
 *   VERSION_SCALE_LOAD_UNTIL=2026-12-08T01:30:00Z …   stop loading chunks after this instant and
 *                                                     measure the version as loaded so far
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/core/config.ts';
import { buildServer } from '../src/server.ts';
import {
  type BenchContext,
  type BenchReport,
  fmt,
  gb,
  grantRows,
  injector,
  median,
  scaleOf,
  scratchDatabase,
  stampedLog,
} from './support.ts';

const CHUNK = 5_000_000;
const CSV_ROWS = 5;
// Heap (~75 bytes a row), the ordinal's and the order key's indexes, a key index, WAL in flight.
const BYTES_PER_ROW = 300;
const DISTRICTS = ['西湖区', '滨江区', '上城区', '拱墅区', '余杭区', '萧山区'];
// Slow reads (seconds each at 100M) are repeated less, so the run stays within an evening.
const SLOW_MS = 10_000;

const log = stampedLog('version-scale');
const ms = (x: number) => (x >= 100 ? fmt(x) : x.toFixed(1));

/** The synthetic row of ordinal s: the same values the SQL load generates, for the CSV's rows. */
function csvRow(s: number): string {
  const day = new Date(Date.UTC(2020, 0, 1) + ((s * 37) % 1826) * 86_400_000).toISOString().slice(0, 10);
  return [
    `R${String(s).padStart(10, '0')}`,
    DISTRICTS[(s * 7) % DISTRICTS.length],
    (s * 7919) % 10,
    ((s * 104729) % 100_000) / 100,
    day,
  ].join(',');
}

export async function run(bench: BenchContext): Promise<BenchReport> {
  const { rows, loadUntil, free } = await scaleOf('VERSION_SCALE', BYTES_PER_ROW);
  log(`${fmt(rows)} rows; ${gb(free)} free on /; load ${os.loadavg()[0]!.toFixed(1)}`);

  const scratch = await scratchDatabase(bench, 'version_scale');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'shutong-version-scale-'));
  const client = new pg.Client({ connectionString: scratch.url });
  let app: Awaited<ReturnType<typeof buildServer>> | undefined;
  const loads: number[] = [os.loadavg()[0]!];
  try {
    await client.connect();
    await client.query(`set maintenance_work_mem = '1GB'`);
    const config = loadConfig({ DATABASE_URL: scratch.url, LOG_LEVEL: 'warn', DATA_DIR: dataDir });
    const db = scratch.database.db;
    app = await buildServer({
      config,
      database: scratch.database,
      logStream: { write: () => true } as never,
    });
    const table: BenchReport['table'] = {};
    const notes: string[] = [];

    // ------------------------------------------------------------- 1. through the platform
    const who = await injector(app, config);
    const { inject, steward } = who;
    const fields = [
      ['record_no', '记录编号', 'text'],
      ['district', '所属区县', 'text'],
      ['visits', '就诊人次', 'integer'],
      ['amount', '费用', 'decimal'],
      ['visit_date', '就诊日期', 'date'],
    ] as const;
    const resource = await inject('POST', '/v1/resources', steward, {
      name: '门诊明细（规模基准）',
      theme: 'health',
      updateCycle: 'daily',
      sharingType: 'conditional',
      sharingConditions: '基准测试',
      openType: 'not_open',
      fields: fields.map(([name, label, dataType]) => ({
        name,
        label,
        dataType,
        isKey: name === 'record_no',
      })),
    });
    const csv = path.join(dataDir, 'version.csv');
    const lines = [fields.map((f) => f[0]).join(',')];
    for (let s = 1; s <= CSV_ROWS; s++) lines.push(csvRow(s));
    await writeFile(csv, `${lines.join('\n')}\n`);
    const { createReadStream } = await import('node:fs');
    const imported = await app.inject({
      method: 'POST',
      url: `/v1/resources/${resource.code}/versions?filename=version.csv&wait=true`,
      headers: { authorization: `Bearer ${steward}`, 'content-type': 'text/csv' },
      payload: createReadStream(csv),
    });
    if (imported.statusCode >= 300) throw new Error(`import: ${imported.statusCode} ${imported.body}`);
    // Graded as public-ish and undetected, so no field is masked: every one can be filtered on.
    await db
      .updateTable('resource_fields')
      .set({ grade: 'g1', detector: null })
      .where('resource_id', '=', resource.id)
      .execute();
    const { contractId, key } = await grantRows(
      db,
      who,
      resource.code,
      fields.map((f) => f[0]),
    );
    const version = await db
      .selectFrom('dataset_versions')
      .innerJoin('resources', 'resources.current_version_id', 'dataset_versions.id')
      .select(['dataset_versions.id', 'dataset_versions.table_name', 'dataset_versions.row_count'])
      .where('resources.id', '=', resource.id)
      .executeTakeFirstOrThrow();
    if (Number(version.row_count) !== CSV_ROWS) throw new Error(`imported ${version.row_count} rows`);
    const target = `datasets.${version.table_name}`;

    // ------------------------------------------------------------------------- 2. the load
    const built = await client.query<{ indexname: string; indexdef: string }>(
      `select indexname, indexdef from pg_indexes where schemaname = 'datasets' and tablename = $1`,
      [version.table_name],
    );
    for (const { indexname } of built.rows) await client.query(`drop index datasets.${indexname}`);
    let loaded = CSV_ROWS;
    let loadMs = 0;
    let chunks = 0;
    while (loaded < rows) {
      if (loadUntil !== null && Date.now() > loadUntil) {
        notes.push(
          `loading stopped at VERSION_SCALE_LOAD_UNTIL after ${chunks} chunks: measured at ${fmt(loaded)} rows, not ${fmt(rows)}`,
        );
        break;
      }
      const first = loaded + 1;
      const last = Math.min(rows, loaded + CHUNK);
      const started = performance.now();
      // Values scattered from the ordinal (as csvRow): keys unique and in ordinal order, the
      // other columns interleaved like a real register's.
      await client.query(
        `insert into ${target} (_row, record_no, district, visits, amount, visit_date)
         select s, 'R' || lpad(s::text, 10, '0'),
                (array[${DISTRICTS.map((d) => `'${d}'`).join(',')}])[1 + (s * 7 % ${DISTRICTS.length})],
                s * 7919 % 10,
                (s * 104729 % 100000) / 100.0,
                date '2020-01-01' + (s * 37 % 1826)::int
           from generate_series($1::bigint, $2::bigint) as s`,
        [first, last],
      );
      const took = performance.now() - started;
      loadMs += took;
      loaded = last;
      chunks++;
      loads.push(os.loadavg()[0]!);
      log(
        `loaded ${fmt(last - first + 1)} rows in ${(took / 1000).toFixed(1)} s (${fmt(((last - first + 1) / took) * 1000)}/s), ${fmt(loaded)} of ${fmt(rows)}`,
      );
    }
    table['load (INSERT … SELECT generate_series, no indexes)'] = {
      ms: fmt(loadMs),
      'rows/s': fmt(((loaded - CSV_ROWS) / loadMs) * 1000),
      detail: `${fmt(loaded - CSV_ROWS)} rows in ${chunks} statements of ≤ ${fmt(CHUNK)}`,
    };
    for (const { indexname, indexdef } of built.rows) {
      const started = performance.now();
      await client.query(indexdef);
      const took = performance.now() - started;
      log(`${indexname} in ${(took / 1000).toFixed(1)} s`);
      table[`index (as ingest built it): ${indexdef.replace(/ ON .*USING/, ' … USING')}`] = {
        ms: fmt(took),
        'rows/s': fmt((loaded / took) * 1000),
        detail: '',
      };
    }
    // The identity goes on after the loaded ordinals, as if the rows had been numbered by it.
    await client.query(`select setval(pg_get_serial_sequence($1, '_row'), $2::bigint)`, [target, loaded]);
    // The gateway reads none of the version's figures; row_count is set so the catalog tells the truth.
    await db
      .updateTable('dataset_versions')
      .set({ row_count: loaded })
      .where('id', '=', version.id)
      .execute();
    const analyzeStarted = performance.now();
    await client.query(`analyze ${target}`);
    table[`analyze ${target}`] = { ms: fmt(performance.now() - analyzeStarted), 'rows/s': '', detail: '' };

    // -------------------------------------------------------------------------- 3. reads
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/gateway/contracts/${contractId}/rows`;
    const get = async (query: string, headers: Record<string, string> = {}) => {
      const started = performance.now();
      const res = await fetch(`${base}?${query}`, {
        headers: { ...headers, authorization: `Bearer ${key}` },
      });
      const body = (await res.json()) as Array<Record<string, unknown>>;
      const took = performance.now() - started;
      if (res.status >= 300) throw new Error(`GET ?${query}: ${res.status} ${JSON.stringify(body)}`);
      return {
        took,
        body,
        next: res.headers.get('x-next-cursor'),
        range: res.headers.get('content-range'),
      };
    };
    /** The first run apart (plans, cache), then the median of the next three (one when slow). */
    const measure = async (
      label: string,
      query: string,
      headers: Record<string, string> = {},
      check?: (answer: Awaited<ReturnType<typeof get>>) => string,
    ) => {
      const first = await get(query, headers);
      const detail = check ? check(first) : `${fmt(first.body.length)} rows`;
      const again: number[] = [];
      for (let i = 0; i < (first.took > SLOW_MS ? 1 : 3); i++) again.push((await get(query, headers)).took);
      log(`${label}: first ${ms(first.took)} ms, then ${again.map(ms).join(', ')} ms`);
      table[label] = {
        ms: ms(median(again)),
        'rows/s': '',
        detail: `first ${ms(first.took)} ms; median of ${again.length}; ${detail}`,
      };
      return first;
    };

    // The first read of the default order starts building the contract's order index (gateway
    // service.ensureOrderIndex) and is itself answered by a scan and top-N sort.
    const cold = await get('limit=1000');
    if (cold.body.length !== 1000) throw new Error(`first page: ${cold.body.length} rows`);
    table['first page (limit=1000), first read of the contract'] = {
      ms: ms(cold.took),
      'rows/s': '',
      detail: 'scan + top-N sort; starts the order index build',
    };
    const orderIndexStarted = performance.now() - cold.took;
    let orderIndex: string | undefined;
    while (!orderIndex) {
      const { rows: ready } = await client.query<{ name: string }>(
        `select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid
          where i.indrelid = $1::regclass and c.relname like 'gk\\_%' and i.indisvalid`,
        [target],
      );
      orderIndex = ready[0]?.name;
      if (!orderIndex) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const orderIndexMs = performance.now() - orderIndexStarted;
    log(`order index ${orderIndex} ready ${(orderIndexMs / 1000).toFixed(1)} s after the first read`);
    table['order index (per contract, built by the gateway on first read)'] = {
      ms: fmt(orderIndexMs),
      'rows/s': fmt((loaded / orderIndexMs) * 1000),
      detail: 'from the first request until the index is valid (built beside that request)',
    };

    const page1 = await measure('first page (limit=1000), order index ready', 'limit=1000');
    let cursor = page1.next;
    for (let i = 0; i < 4 && cursor; i++) cursor = (await get(`limit=1000&cursor=${cursor}`)).next;
    if (!cursor) throw new Error('no cursor after five pages');
    await measure('6th page by cursor (keyset: _k > after)', `limit=1000&cursor=${cursor}`);

    // A page near the end of the order, by offset: the API's only way to land deep. Its answer's
    // cursor is keyset again (the default order's), so the page after it costs what any does.
    const deepOffset = Math.max(0, loaded - 2000);
    const deep = await measure(
      `page at offset ${fmt(deepOffset)} (limit=1000)`,
      `limit=1000&offset=${deepOffset}`,
    );
    if (!deep.next) throw new Error('no cursor from the deep page');
    await measure('the page after it by its cursor (the last 1,000 rows)', `limit=1000&cursor=${deep.next}`);

    const day = '2023-05-17';
    await measure(
      `filtered page visit_date=eq.${day} (no index on visit_date)`,
      `limit=1000&visit_date=eq.${day}`,
    );
    await measure('filtered page visits=eq.3 (no index, 1 row in 10)', 'limit=1000&visits=eq.3');
    const keyOf = (s: number) => `R${String(s).padStart(10, '0')}`;
    const probe = keyOf(Math.ceil(loaded * 0.77));
    const one = (a: Awaited<ReturnType<typeof get>>) => {
      if (a.body.length !== 1 || a.body[0]!.record_no !== probe)
        throw new Error(`lookup: ${JSON.stringify(a.body)}`);
      return `1 row (${probe})`;
    };
    await measure('lookup record_no=eq.… (no index on the key)', `record_no=eq.${probe}`, {}, one);

    // Ingest indexes no column but the ordinal: an index on the key is what a lookup needs.
    const keyIndexStarted = performance.now();
    await client.query(`create index version_scale_key on ${target} (record_no)`);
    const keyIndexMs = performance.now() - keyIndexStarted;
    log(`key index in ${(keyIndexMs / 1000).toFixed(1)} s`);
    table['index on record_no (added by this bench, not by ingest)'] = {
      ms: fmt(keyIndexMs),
      'rows/s': fmt((loaded / keyIndexMs) * 1000),
      detail: '',
    };
    await measure('lookup record_no=eq.… (key index)', `record_no=eq.${probe}`, {}, one);
    const tail = keyOf(loaded - 9_999);
    await measure(
      `filtered page record_no=gte.${tail} (key index, 10,000 match)`,
      `limit=1000&record_no=gte.${tail}`,
    );

    const totalOf = (a: Awaited<ReturnType<typeof get>>) => {
      const total = Number(a.range?.split('/')[1]);
      if (total !== loaded) throw new Error(`content-range ${a.range}, ${fmt(loaded)} rows loaded`);
      return `Content-Range ${a.range}`;
    };
    await measure('limit=1, no count', 'limit=1');
    for (const count of ['exact', 'planned', 'estimated'])
      await measure(`limit=1, Prefer: count=${count}`, 'limit=1', { prefer: `count=${count}` }, totalOf);

    const sizes = await client.query<{ heap: string; indexes: string; database: string }>(
      `select pg_table_size($1::regclass) as heap, pg_indexes_size($1::regclass) as indexes,
              pg_database_size(current_database()) as database`,
      [target],
    );
    const size = sizes.rows[0]!;
    table.sizes = {
      ms: '',
      'rows/s': '',
      detail: `table ${gb(Number(size.heap))}, its indexes ${gb(Number(size.indexes))}, database ${gb(Number(size.database))}`,
    };
    loads.push(os.loadavg()[0]!);

    notes.push(
      `rows ${fmt(CSV_ROWS + 1)}…${fmt(loaded)} are synthetic, generated in SQL from the ordinal; the import's ` +
        'classification, quality checks and column statistics saw only the CSV’s five (row_count set to the loaded count)',
      'reads: Fastify listening on a local port, fetch with a consumer’s API key (admission, quota, audit entry ' +
        'included); each row: the first request apart, then the median of three (of one when the first took > 10 s)',
      'Prefer: count=planned and count=estimated run the same count(*) as count=exact (gateway queryRows): no estimate is used',
      `1-minute load average during the run: ${loads.map((l) => l.toFixed(1)).join(' → ')} ` +
        `on ${os.cpus().length} cores (above that, other work shares the machine and timings are noisy)`,
    );
    return {
      title: `Dataset version at ${fmt(loaded)} rows through the gateway's rows endpoint`,
      table,
      goals: [],
      notes,
    };
  } finally {
    await app?.close().catch(() => {});
    await client.end().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
    await scratch.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await run({
    serverUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  });
  console.log(JSON.stringify(report, null, 2));
}
