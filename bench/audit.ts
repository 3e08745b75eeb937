/**
 * Audit log benchmark, on a real PostgreSQL server:
 *   1. appends/s through appendAudit (Merkle log) vs plain INSERTs of the same rows into a table of
 *      the same shape and indexes (bigserial seq, no leaf hash, no tree state), in the same
 *      transaction shapes;
 *      — and the same appends with a head signed every second and published to a directory witness
 *      and an HTTP witness (issue 15: goal ≥ 0.5× plain inserts, as without witnesses);
 *   2. the time to verify 1,000,000 entries with the path `shutong audit verify` uses (worker
 *      threads, one per core), and single-threaded for comparison.
 *
 *   npm run bench -- audit            (with the other benchmarks' runner, bench/index.ts)
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/audit.ts
 *
 * A scratch database is created on that server and dropped at the end. VERIFY_ENTRIES changes
 * the size of the verified log (default 1000000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { type AuditEvent, appendAudit } from '../src/audit/append.ts';
import { signHead, signHeadIfGrown, verifyLog } from '../src/audit/service.ts';
import { startWitnessServer, type WitnessServer } from '../src/audit/witness.ts';
import { addAuditIntegration } from '../src/background.ts';
import { loadConfig } from '../src/core/config.ts';
import { type Ctx, cliCtx } from '../src/core/context.ts';
import { type Db, openDatabase, type Tx } from '../src/core/db.ts';
import { newId } from '../src/core/ids.ts';
import { migrate } from '../src/core/migrate.ts';
import { Scheduler } from '../src/core/schedule.ts';
import { appendBulk } from '../test/support/audit-bulk.ts';
import { type BenchContext, type BenchReport, fmt } from './support.ts';

const VERIFY_ENTRIES = Number(process.env.VERIFY_ENTRIES ?? 1_000_000);
const CLIENTS = 8;
/** How often the witnessed runs sign a head: far more often than a server would. */
const SIGN_EVERY_MS = 1000;

async function admin(serverUrl: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

function event(i: number): AuditEvent {
  return {
    actorId: `usr_01jbench${i % 50}`,
    orgId: `org_01jbench${i % 16}`,
    action: ['resource.update', 'application.approve', 'gateway.query'][i % 3]!,
    objectType: 'resource',
    objectId: `res_01jbench${i}`,
    requestId: `req_01jbench${i}`,
    details: { before: { grade: 'g2', name: '企业登记信息' }, after: { grade: 'g3' }, rows: i },
  };
}

// The same row through Kysely, as appendAudit wrote it before the Merkle log.
async function insertPlain(tx: Tx, e: AuditEvent): Promise<void> {
  await sql`insert into audit_plain (id, time, actor_id, org_id, action, object_type, object_id, request_id, details)
    values (${newId('aud')}, ${new Date()}, ${e.actorId}, ${e.orgId}, ${e.action}, ${e.objectType}, ${e.objectId},
            ${e.requestId ?? null}, ${JSON.stringify(e.details ?? {})}::jsonb)`.execute(tx);
}

type Writer = (tx: Tx, e: AuditEvent) => Promise<unknown>;

/**
 * `total` rows by `clients` concurrent loops, `perTx` rows per transaction; returns rows/s. With
 * `integrateEveryMs`, an integrator runs alongside as in a server, and the clock stops only when every
 * appended entry has its position and leaf hash in the tree: the rate is of finished leaves.
 */
async function rate(
  db: Db,
  write: Writer,
  total: number,
  perTx: number,
  clients: number,
  integrateEveryMs?: number,
  signer?: { ctx: Ctx; everyMs: number },
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  let integrator: Scheduler | undefined;
  if (integrateEveryMs !== undefined) {
    integrator = new Scheduler(console);
    addAuditIntegration(integrator, db, integrateEveryMs);
    // As a server's `audit.sign` task does, at a far shorter interval: each head is published to
    // every witness (and cosigned by them) before it counts as signed.
    if (signer)
      integrator.add({
        name: 'audit.sign',
        everyMs: signer.everyMs,
        run: () => signHeadIfGrown(signer.ctx, { info: () => {} }),
      });
    integrator.start();
  }
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const first = next;
        next += perTx;
        await db.transaction().execute(async (tx) => {
          for (let i = first; i < first + perTx; i++) await write(tx, event(i));
        });
      }
    }),
  );
  // Waits for a run in progress, then integrates what is left.
  await integrator?.stop();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return total / seconds;
}

/** `npm run bench` (bench/index.ts) calls this; `node --import tsx bench/audit.ts` too. */
export async function run(bench: BenchContext): Promise<BenchReport> {
  const serverUrl = bench.serverUrl;
  const name = `shutong_bench_audit_${Math.random().toString(16).slice(2, 10)}`;
  await admin(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-bench-'));
  const config = loadConfig({ DATABASE_URL: url.toString(), AUDIT_KEY_FILE: path.join(keyDir, 'key.pem') });
  const database = await openDatabase({ url: url.toString(), poolSize: CLIENTS + 2 });
  let witnessServer: WitnessServer | undefined;
  try {
    // A directory witness and an HTTP witness (`shutong witness serve`, its own key and directory)
    // on this machine: what a server with AUDIT_WITNESS_DIR and AUDIT_WITNESS_URLS publishes to.
    witnessServer = await startWitnessServer({
      dir: path.join(keyDir, 'http-witness'),
      port: 0,
      host: '127.0.0.1',
    });
    const witnessed = loadConfig({
      DATABASE_URL: url.toString(),
      AUDIT_KEY_FILE: path.join(keyDir, 'key.pem'),
      AUDIT_WITNESS_DIR: path.join(keyDir, 'dir-witness'),
      AUDIT_WITNESS_URLS: witnessServer.url,
    });
    const signer = { ctx: cliCtx(database.db, witnessed), everyMs: SIGN_EVERY_MS };
    const db = database.db;
    await migrate(db);
    // Same columns and indexes as audit_events before the Merkle log, plus its new actor/org indexes.
    await sql`create table audit_plain (
      seq bigserial primary key, id text not null unique, time timestamptz not null default now(),
      actor_id text, org_id text, action text not null, object_type text not null, object_id text,
      request_id text, details jsonb not null default '{}'::jsonb)`.execute(db);
    await sql`create index on audit_plain (object_type, object_id)`.execute(db);
    await sql`create index on audit_plain (actor_id, seq)`.execute(db);
    await sql`create index on audit_plain (org_id, seq)`.execute(db);
    const settings = await sql<{ server_version: string; synchronous_commit: string }>`
      select current_setting('server_version') as server_version,
             current_setting('synchronous_commit') as synchronous_commit`.execute(db);

    const shapes = [
      { label: '1 client, 1 row per transaction', total: 2_000, perTx: 1, clients: 1 },
      { label: '1 client, 10 rows per transaction', total: 5_000, perTx: 10, clients: 1 },
      { label: `${CLIENTS} clients, 1 row per transaction`, total: 3_000, perTx: 1, clients: CLIENTS },
      { label: `${CLIENTS} clients, 10 rows per transaction`, total: 10_000, perTx: 10, clients: CLIENTS },
    ];
    // Warm up both paths (connections, plans, JIT of the hashing code).
    await rate(db, appendAudit, 500, 5, 2, config.auditIntegrateMs);
    await rate(db, insertPlain, 500, 5, 2);
    // Alternating runs, median of three: the machine's other load shifts both sides alike.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const results: Array<{ label: string; plain: number; merkle: number; witnessed: number }> = [];
    const headsBefore = Number(
      (await sql<{ n: string }>`select count(*) as n from audit_tree_heads`.execute(db)).rows[0]!.n,
    );
    for (const s of shapes) {
      const plain: number[] = [];
      const merkle: number[] = [];
      const witnessedRates: number[] = [];
      for (let r = 0; r < 3; r++) {
        plain.push(await rate(db, insertPlain, s.total, s.perTx, s.clients));
        merkle.push(await rate(db, appendAudit, s.total, s.perTx, s.clients, config.auditIntegrateMs));
        witnessedRates.push(
          await rate(db, appendAudit, s.total, s.perTx, s.clients, config.auditIntegrateMs, signer),
        );
      }
      results.push({
        label: s.label,
        plain: median(plain),
        merkle: median(merkle),
        witnessed: median(witnessedRates),
      });
    }
    const headsSigned =
      Number((await sql<{ n: string }>`select count(*) as n from audit_tree_heads`.execute(db)).rows[0]!.n) -
      headsBefore;
    const cosigned = (await (await fetch(`${witnessServer.url}/logs`)).json()) as Array<{ size: number }>;

    // A long log, fast: bulk appends (same leaves, same state row), a signed head every 100,000.
    const have = (await db.selectFrom('audit_tree_state').select('size').executeTakeFirstOrThrow()).size;
    const genStarted = Date.now();
    const ctx = cliCtx(db, config);
    // After the entries the append runs just wrote (dated now), one millisecond apart: verify
    // reports an entry dated before its predecessor (issue 15), and a fixed date in the past made
    // every run end with ok=false (1 000 000 entries → about 17 minutes ahead of now, harmless).
    const t0 = Date.now();
    for (let size = have; size < VERIFY_ENTRIES; ) {
      const n = Math.min(50_000, VERIFY_ENTRIES - size);
      await db.transaction().execute((tx) =>
        appendBulk(tx, n, (seq) => {
          const e = event(seq);
          return {
            time: new Date(t0 + seq),
            actorId: e.actorId,
            orgId: e.orgId,
            action: e.action,
            objectType: e.objectType,
            objectId: e.objectId,
            requestId: e.requestId ?? null,
            details: e.details ?? {},
          };
        }),
      );
      size += n;
      if (Math.floor(size / 100_000) > Math.floor((size - n) / 100_000))
        await signHead(ctx, { ifGrown: true });
    }
    await signHead(ctx, { ifGrown: true });
    const genSeconds = (Date.now() - genStarted) / 1000;
    await sql`vacuum analyze audit_events`.execute(db);

    const singleStarted = Date.now();
    await verifyLog(ctx, { workers: 0 });
    const singleSeconds = (Date.now() - singleStarted) / 1000;
    const verifyStarted = Date.now();
    const report = await verifyLog(ctx);
    const verifySeconds = (Date.now() - verifyStarted) / 1000;

    const server = settings.rows[0]!;
    const goalRatio = 0.5;
    fs.rmSync(keyDir, { recursive: true, force: true });
    return {
      title:
        `Audit log: plain INSERT into a same-shaped table vs appendAudit (Merkle log), rows/s, median of 3 ` +
        `(PostgreSQL ${server.server_version.split(' ')[0]}, synchronous_commit=${server.synchronous_commit})`,
      table: Object.fromEntries(
        results.map((r) => [
          r.label,
          {
            plain: fmt(r.plain),
            merkle: fmt(r.merkle),
            ratio: (r.merkle / r.plain).toFixed(2),
            'merkle + 2 witnesses': fmt(r.witnessed),
            'ratio (witnessed)': (r.witnessed / r.plain).toFixed(2),
          },
        ]),
      ),
      goals: [
        ...results.map((r) => ({
          name: `audit appends vs plain inserts, ${r.label}`,
          value: `${(r.merkle / r.plain).toFixed(2)}×`,
          goal: `≥ ${goalRatio}×`,
          met: r.merkle / r.plain >= goalRatio,
        })),
        ...results.map((r) => ({
          name: `audit appends with a directory and an HTTP witness vs plain inserts, ${r.label}`,
          value: `${(r.witnessed / r.plain).toFixed(2)}×`,
          goal: `≥ ${goalRatio}×`,
          met: r.witnessed / r.plain >= goalRatio,
        })),
        {
          name: `audit verify of ${fmt(report.rows)} entries`,
          value: `${verifySeconds.toFixed(1)} s (${fmt(report.rows / verifySeconds)}/s, ok=${report.ok})`,
          goal: `≤ ${((10 * report.rows) / 1_000_000).toFixed(0)} s`,
          met: report.ok && verifySeconds <= (10 * report.rows) / 1_000_000,
        },
      ],
      notes: [
        `witnessed runs: a head signed every ${SIGN_EVERY_MS} ms while appending (a server signs every ` +
          `AUDIT_SIGN_INTERVAL_SECONDS, 300 s by default), each published to a directory witness and ` +
          `cosigned by an HTTP witness before it counts: ${headsSigned} heads, the HTTP witness's last ` +
          `cosigned size ${cosigned[0]?.size ?? 'none'}`,
        `${report.headsMatched}/${report.headsTotal} signed heads matched; the log was generated with bulk appends in ${genSeconds.toFixed(1)} s`,
        `verify on ${os.availableParallelism()} worker threads ${verifySeconds.toFixed(1)} s, in one thread ${singleSeconds.toFixed(1)} s`,
        'merkle rates count an entry when it is integrated (position and leaf hash in the tree), with the ' +
          'integrator running alongside as in a server: see "Audit log" in ARCHITECTURE.md',
      ],
    };
  } finally {
    await witnessServer?.close();
    await database.close();
    await admin(serverUrl, `drop database if exists ${name} with (force)`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const serverUrl = process.env.BENCH_DATABASE_URL;
  if (!serverUrl) {
    console.error(
      'set BENCH_DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test',
    );
    process.exit(2);
  }
  const report = await run({ serverUrl });
  console.log(`\n${report.title}  (${os.cpus().length} CPUs, Node ${process.version})`);
  console.table(report.table);
  for (const g of report.goals) console.log(`  ${g.met ? '✓' : '✗'} ${g.name}: ${g.value} (goal ${g.goal})`);
  for (const n of report.notes ?? []) console.log(`  · ${n}`);
}
