/**
 * Gateway throughput: a 1,000-row masked, filtered page at concurrency 32 through Shutong's
 * gateway vs the same SQL run directly through `pg` in a bare node:http handler, on the same
 * PostgreSQL server in one run. Goal (issue 24): gateway ≥ 0.8× the bare handler's requests/s
 * (both answer a bare JSON array, PostgREST's default).
 *
 *   node --import tsx bench/gateway.bench.ts       (BENCH_DATABASE_URL, default the local test server)
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { type Config, loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import { type DatabaseHandle, openDatabase } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { seedDemo } from '../src/demo/seed.ts';
import { compileFilter } from '../src/rules/filters.ts';
import { maskSql } from '../src/rules/masking.ts';
import { buildServer } from '../src/server.ts';
import { cpuSecondsByGroup, cpuTicks, grantRows, injector, type ProcessInfo } from './support.ts';

const ROWS = 100_000;
const CONCURRENCY = 32;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

export interface Measured {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** CPU milliseconds per request: this process (the servers) and the processes measured beside it. */
  nodeCpuMs: number;
  pgCpuMs: number;
}

/**
 * autocannon in its own process, so the load generator's CPU is not the servers' (it was, in one
 * process, a large share of it); the CPU each side spends per request is read around the run.
 */
/** The PostgreSQL backends connected to `database`. */
const backendsOf = (database: string) => (p: ProcessInfo) =>
  p.cmdline.startsWith('postgres: ') && p.cmdline.includes(` ${database} `) ? 'postgres' : null;

export async function load(
  url: string,
  headers: Record<string, string>,
  groupOf: (p: ProcessInfo) => string | null,
): Promise<Measured & { cpuByGroup: Map<string, number> }> {
  const args = [
    fileURLToPath(import.meta.resolve('autocannon/autocannon.js')),
    '-c',
    String(CONCURRENCY),
    '-d',
    String(SECONDS),
    '-j',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]),
    url,
  ];
  const node = process.cpuUsage();
  const before = await cpuTicks(groupOf);
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 16 << 20 });
  const { user, system } = process.cpuUsage(node);
  const cpuByGroup = cpuSecondsByGroup(before, await cpuTicks(groupOf));
  const result = JSON.parse(stdout);
  const requests = Math.max(1, result.requests.total as number);
  const pgSeconds = [...cpuByGroup.values()].reduce((a, b) => a + b, 0);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    nodeCpuMs: (user + system) / 1000 / requests,
    pgCpuMs: (pgSeconds * 1000) / requests,
    cpuByGroup: new Map([...cpuByGroup].map(([g, sec]) => [g, (sec * 1000) / requests])),
  };
}

/** What a statement the server sends is for, by its text: the per-request breakdown's rows. */
function stageOf(text: string): string {
  if (/api_keys|sessions/.test(text)) return 'authenticate (credential)';
  if (text.startsWith('WITH c AS')) return 'admit (contract, version, fields, freeze, rate count)';
  if (text.includes('UPDATE contract_usage AS u')) return 'quota reservation';
  if (/^update "contract_usage"/i.test(text)) return 'quota give-back';
  if (text.includes('"datasets".') || text.includes('datasets.')) return 'row query (masked page)';
  if (/insert into "audit_events"/i.test(text)) return 'audit append';
  if (/audit_/.test(text)) return 'audit integration (background)';
  return `other: ${text.slice(0, 50)}`;
}

/**
 * Times every statement the server's pool sends while `work` runs one request after another: how
 * long each stage takes from sending its statement to its answer.
 */
async function breakdown(requests: number, work: () => Promise<void>) {
  const totals = new Map<string, { ms: number; count: number }>();
  const seen = new Map<string, { text: string; values: unknown[] }>();
  const original = pg.Client.prototype.query;
  // biome-ignore lint/suspicious/noExplicitAny: pg's query has many overloads; this passes them on.
  (pg.Client.prototype as any).query = function timed(this: pg.Client, ...args: any[]) {
    const text = typeof args[0] === 'string' ? args[0] : String(args[0]?.text ?? '');
    const started = performance.now();
    const stage = stageOf(text.trim());
    if (!seen.has(stage)) seen.set(stage, { text, values: (args[1] ?? args[0]?.values ?? []) as unknown[] });
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    const result = (original as any).apply(this, args);
    if (result && typeof result.then === 'function') {
      result.then(
        () => {
          const entry = totals.get(stage) ?? { ms: 0, count: 0 };
          entry.ms += performance.now() - started;
          entry.count++;
          totals.set(stage, entry);
        },
        () => {},
      );
    }
    return result;
  };
  const started = performance.now();
  try {
    for (let i = 0; i < requests; i++) await work();
  } finally {
    pg.Client.prototype.query = original;
  }
  const wall = (performance.now() - started) / requests;
  const table: Record<string, { 'statements / request': string; 'ms / request': string }> = {};
  for (const [stage, { ms, count }] of [...totals].sort((a, b) => b[1].ms - a[1].ms)) {
    table[stage] = {
      'statements / request': (count / requests).toFixed(2),
      'ms / request': (ms / requests).toFixed(1),
    };
  }
  return { wall, table, seen };
}

/** With BENCH_EXPLAIN: each stage's first statement run again under EXPLAIN ANALYZE, rolled back. */
async function explain(pool: pg.Pool, seen: Map<string, { text: string; values: unknown[] }>) {
  for (const [stage, { text, values }] of seen) {
    if (/^(begin|commit)/i.test(text.trim())) continue;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const plan = await client.query(`EXPLAIN (ANALYZE, BUFFERS, SUMMARY) ${text}`, values);
      console.log(`\n== ${stage}\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`);
      if (process.env.BENCH_EXPLAIN === 'sql') console.log(text, JSON.stringify(values));
    } catch (error) {
      console.log(`\n== ${stage}: ${(error as Error).message}`);
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
    }
  }
}

/** With BENCH_PROFILE=<file>: a V8 CPU profile of the gateway's load phase (open in DevTools). */
async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/**
 * The measured scenario on a migrated, seeded server: a 100,000-row resource of eight typed fields
 * (three masked), published, applied for and approved with a row filter, its limits raised out of
 * the way, and an API key of the consumer. The replica bench serves the same one.
 */
export async function gatewayScenario(app: FastifyInstance, database: DatabaseHandle, config: Config) {
  const who = await injector(app, config);
  const { inject, steward } = who;
  const fields = [
    ['record_no', '记录编号', 'text', 'g1', null],
    ['person_id', '公民身份号码', 'text', 'g4', 'cn_resident_id'],
    ['name', '姓名', 'text', 'g3', 'person_name'],
    ['mobile', '联系电话', 'text', 'g3', 'cn_mobile'],
    ['district', '所属区县', 'text', 'g1', null],
    ['visits', '就诊人次', 'integer', 'g2', null],
    ['amount', '费用', 'decimal', 'g2', null],
    ['visit_date', '就诊日期', 'date', 'g2', null],
  ] as const;
  const resource = await inject('POST', '/v1/resources', steward, {
    name: '门诊明细（基准）',
    theme: 'health',
    updateCycle: 'daily',
    sharingType: 'conditional',
    sharingConditions: '基准测试',
    openType: 'not_open',
    fields: fields.map(([n, label, dataType]) => ({ name: n, label, dataType })),
  });
  const districts = ['西湖区', '滨江区', '上城区', '拱墅区'];
  const lines = [fields.map((f) => f[0]).join(',')];
  for (let i = 0; i < ROWS; i++) {
    lines.push(
      [
        `R${i}`,
        `3301061990010${String(10000 + (i % 89999)).slice(-5)}`,
        `张小${i % 1000}`,
        `138${String(i).padStart(8, '0')}`,
        districts[i % 4],
        i % 9,
        (i % 1000) / 10,
        `2024-0${(i % 9) + 1}-1${i % 9}`,
      ].join(','),
    );
  }
  const file = path.join(os.tmpdir(), `shutong_bench_gw_${randomBytes(4).toString('hex')}.csv`);
  await writeFile(file, `${lines.join('\n')}\n`);
  const { createReadStream } = await import('node:fs');
  await app.inject({
    method: 'POST',
    url: `/v1/resources/${resource.code}/versions?filename=bench.csv&wait=true`,
    headers: { authorization: `Bearer ${steward}`, 'content-type': 'text/csv' },
    payload: createReadStream(file),
  });
  await rm(file, { force: true });
  for (const [n, , , grade, detector] of fields) {
    await database.db
      .updateTable('resource_fields')
      .set({ grade, detector })
      .where('resource_id', '=', resource.id)
      .where('name', '=', n)
      .execute();
  }
  // Through the catalog review, as any resource other organizations may apply for.
  const rowFilter = { field: 'district', op: 'in', value: ['西湖区', '滨江区'] };
  const { contractId, key } = await grantRows(
    database.db,
    who,
    resource.code,
    fields.map((f) => f[0]),
    rowFilter,
  );
  return { contractId, key, resource, fields, rowFilter };
}

export async function run(): Promise<void> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `shutong_bench_gw_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: 20 });
  const config = loadConfig({ LOG_LEVEL: 'warn', SEED_DEMO: 'true', DATA_DIR: path.join(os.tmpdir(), name) });
  const app = await buildServer({ config, database, logStream: { write: () => true } as never });
  let bare: http.Server | undefined;
  // Connections kept open, so the CPU their backends use is still there to be read after a run.
  const pool = new pg.Pool({ connectionString: url.toString(), max: 20, idleTimeoutMillis: 0 });
  pool.on('error', () => {});
  try {
    await migrate(database.db);
    await seedDemo(cliCtx(database.db, config));
    const { contractId, key, resource, fields, rowFilter } = await gatewayScenario(app, database, config);

    // The same query the gateway runs, compiled once for the bare handler.
    const contract = await database.db
      .selectFrom('contracts')
      .selectAll()
      .where('id', '=', contractId)
      .executeTakeFirstOrThrow();
    const version = await database.db
      .selectFrom('dataset_versions')
      .innerJoin('resources', 'resources.current_version_id', 'dataset_versions.id')
      .select('dataset_versions.table_name')
      .where('resources.id', '=', resource.id)
      .executeTakeFirstOrThrow();
    const columns = sql.join(
      fields.map(([n]) => {
        const rule = contract.masking[n] ?? 'none';
        return rule === 'none' ? sql`${sql.ref(n)}` : sql`${maskSql(rule, n)} AS ${sql.ref(n)}`;
      }),
    );
    const compiled =
      sql`SELECT ${columns} FROM ${sql.table(`datasets.${version.table_name}`)} WHERE ${compileFilter(rowFilter as never)} AND ${sql.ref('visits')} >= ${3} ORDER BY _row LIMIT ${1000}`.compile(
        database.db,
      );
    bare = http.createServer(async (_req, res) => {
      const result = await pool.query(compiled.sql, [...compiled.parameters]);
      const body = JSON.stringify(result.rows);
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => bare!.listen(0, '127.0.0.1', resolve));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const gatewayAddress = app.server.address() as { port: number };
    const bareAddress = bare.address() as { port: number };
    const gatewayUrl = `http://127.0.0.1:${gatewayAddress.port}/v1/gateway/contracts/${contractId}/rows?limit=1000&visits=gte.3`;
    // Warm both up, and check the gateway really returns a full, masked page.
    const probe = (await (
      await fetch(gatewayUrl, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as Array<Record<string, unknown>>;
    if (probe.length !== 1000 || String(probe[0]?.person_id).includes('19900'))
      throw new Error(`unexpected gateway page: ${JSON.stringify(probe).slice(0, 300)}`);
    const bareProfiler = process.env.BENCH_PROFILE ? await startProfile() : undefined;
    const bareResult = await load(`http://127.0.0.1:${bareAddress.port}/`, {}, backendsOf(name));
    if (bareProfiler) await bareProfiler.stop(`${process.env.BENCH_PROFILE}.bare`);
    const profiler = process.env.BENCH_PROFILE ? await startProfile() : undefined;
    const gatewayResult = await load(gatewayUrl, { authorization: `Bearer ${key}` }, backendsOf(name));
    if (profiler) await profiler.stop(process.env.BENCH_PROFILE!);
    const ratio = gatewayResult.requestsPerSecond / bareResult.requestsPerSecond;
    console.log(
      `\nGateway: 1,000-row masked, filtered page, ${CONCURRENCY} connections, ${SECONDS} s each, ${ROWS.toLocaleString()} rows in the table`,
    );
    const line = (m: Measured) => ({
      'req/s': m.requestsPerSecond.toFixed(1),
      'p50 ms': m.p50,
      'p99 ms': m.p99,
      non2xx: m.non2xx,
      'Node CPU ms/req': m.nodeCpuMs.toFixed(2),
      'PG CPU ms/req': m.pgCpuMs.toFixed(2),
    });
    console.table({
      'bare pg handler': line(bareResult),
      'Shutong gateway': line(gatewayResult),
    });
    console.log(`gateway / bare = ${ratio.toFixed(2)}× (goal ≥ 0.80×)`);
    // Where a request's time goes, one request at a time (the database's answers, not the load).
    const sequential = 30;
    const bareOne = await breakdown(sequential, async () => {
      await (await fetch(`http://127.0.0.1:${bareAddress.port}/`)).arrayBuffer();
    });
    const gatewayOne = await breakdown(sequential, async () => {
      const res = await fetch(gatewayUrl, { headers: { authorization: `Bearer ${key}` } });
      await res.arrayBuffer();
    });
    console.log(
      `\nPer request, ${sequential} sequential requests: bare ${bareOne.wall.toFixed(1)} ms, gateway ${gatewayOne.wall.toFixed(1)} ms`,
    );
    console.table(gatewayOne.table);
    if (process.env.BENCH_EXPLAIN) await explain(pool, gatewayOne.seen);
  } finally {
    await app.close().catch(() => {});
    await new Promise((resolve) => (bare ? bare.close(resolve) : resolve(undefined)));
    await pool.end();
    await database.close();
    // BENCH_KEEP leaves the database for a look at its plans afterwards.
    if (!process.env.BENCH_KEEP) await admin.query(`drop database if exists ${name} with (force)`);
    else console.log(`kept database ${name}`);
    await admin.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
