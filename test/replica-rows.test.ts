/**
 * Gateway pages read their rows from a streaming replica (DATABASE_READ_URL) only when the replica
 * holds the whole served version. The hazard is real and reached here exactly: a version's table
 * is filled over several commits (one per COPY chunk) before the commit that marks it ready, and
 * the replica is restarted with a recovery target that stops its replay right after the first
 * chunk — it then holds the new table with only part of its rows while the primary already serves
 * the version. The gateway must answer exactly what a server without replicas answers, and a
 * revocation must hold on the very next request while the rows come from the replica.
 */
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import { DATASET_SCHEMA, ROW_ORDINAL } from '../src/core/datasets.ts';
import { type DatabaseHandle, openDatabase } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { seedDemo } from '../src/demo/seed.ts';
import { replicaRowStats } from '../src/gateway/service.ts';
import { buildServer } from '../src/server.ts';
import { DEMO_PASSWORD } from './helpers.ts';
import {
  call,
  csvOf,
  currentTable,
  gradeFields,
  importCsv,
  login,
  revokedWhileReplicasHoldIt,
  servedResource,
} from './reliability/support.ts';
import { type ReplicatedCluster, replicatedCluster } from './support/pg-replica.ts';

let cluster: ReplicatedCluster;
let routed: DatabaseHandle;
let primaryOnly: DatabaseHandle;
let replicaDirect: DatabaseHandle;
let app: FastifyInstance;
let plain: FastifyInstance;
const base = { routed: '', plain: '' };
const t = { steward: '', consumer: '', key: '' };
let resource: { id: string; code: string };
let contract = '';

const config = loadConfig({
  DEMO_PASSWORD,
  LOG_LEVEL: 'silent',
  DATA_DIR: os.tmpdir(),
  // As the reliability nodes: generated rows are all unique, the re-identification check would
  // send every application to a security review.
  SHARING_REID_RISK_PERCENT: '100',
  DATABASE_URL: 'postgres://placeholder/primary',
  DATABASE_READ_URL: 'postgres://placeholder/replica',
});

/** A page with its exact count (Content-Range), as the consumer's key reads it. */
async function page(server: string, query = 'limit=1000') {
  const res = await call(server, 'GET', `/v1/gateway/contracts/${contract}/rows?${query}`, {
    token: t.key,
    headers: { prefer: 'count=exact' },
  });
  return { status: res.status, range: res.headers['content-range'], body: res.json };
}

/**
 * Imports a new version, then grades its fields again as the set-up did: the import's own
 * classification grades the generated columns higher, which would mask every value to null and
 * leave pages nothing to tell apart.
 */
async function newVersion(csv: string) {
  await importCsv(base.routed, t.steward, resource.code, csv);
  await gradeFields(routed.db, resource.id);
}

/** The page holds real rows of the version tagged `tag`, not masked nulls. */
function servesRows(answer: { body: Array<{ record_no: string | null }> }, tag: string) {
  expect(answer.body.length).toBeGreaterThan(0);
  expect(answer.body.filter((r) => !r.record_no?.startsWith(tag))).toEqual([]);
}

/** What changed in the per-process counters of where pages were read, while `work` ran. */
async function counted(work: () => Promise<void>) {
  const before = replicaRowStats();
  await work();
  const after = replicaRowStats();
  return Object.fromEntries(
    Object.entries(after).map(([key, n]) => [key, n - before[key as keyof typeof before]]),
  );
}

beforeAll(async () => {
  cluster = await replicatedCluster();
  await cluster.primary('create database shutong');
  const urls = cluster.database('shutong');
  routed = await openDatabase({ url: urls.primary, readUrl: urls.replica, poolSize: 4 });
  primaryOnly = await openDatabase({ url: urls.primary, poolSize: 4 });
  await migrate(routed.db);
  await seedDemo(cliCtx(routed.db, config), { data: false });
  app = await buildServer({ config, database: routed });
  plain = await buildServer({ config, database: primaryOnly });
  base.routed = await app.listen({ host: '127.0.0.1', port: 0 });
  base.plain = await plain.listen({ host: '127.0.0.1', port: 0 });
  t.steward = await login(base.routed, 'steward.health');
  t.consumer = await login(base.routed, 'consumer.civil');
  ({
    resource,
    contract,
    key: t.key,
  } = await servedResource(base.routed, routed.db, t, '门诊就诊记录（副本读取）', csvOf(300, 'a')));
  await cluster.caughtUp();
  // Opened after the set-up: the replica has replayed the database's creation by now.
  replicaDirect = await openDatabase({ url: urls.replica, poolSize: 1 });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await plain?.close();
  await replicaDirect?.close();
  await routed?.close();
  await primaryOnly?.close();
  await cluster?.stop();
});

describe('gateway rows on a read replica', () => {
  it('reads the page and its count from a replica that has the version', async () => {
    const expected = await page(base.plain);
    expect(expected.status).toBe(200);
    expect(expected.range).toBe('0-299/300');
    servesRows(expected, 'a');
    const where = await counted(async () => {
      expect(await page(base.routed)).toEqual(expected);
      expect(await page(base.routed, 'select=record_no,name&district=eq.西湖区&limit=7')).toEqual(
        await page(base.plain, 'select=record_no,name&district=eq.西湖区&limit=7'),
      );
    });
    // Two pages, each a count and a page of rows: all four read on the replica.
    expect(where).toEqual({ replica: 4, notReady: 0, missing: 0, failed: 0 });
  });

  it('falls back to the primary when the replica has not replayed the new version at all', async () => {
    await cluster.replica('select pg_wal_replay_pause()');
    try {
      await newVersion(csvOf(50, 'b'));
      const expected = await page(base.plain);
      expect(expected.range).toBe('0-49/50');
      servesRows(expected, 'b');
      const where = await counted(async () => {
        expect(await page(base.routed)).toEqual(expected);
      });
      // The new table is unknown there: the statement fails (42P01) and the primary answers.
      expect(where).toEqual({ replica: 0, notReady: 0, missing: 2, failed: 0 });
    } finally {
      await cluster.replica('select pg_wal_replay_resume()');
    }
    await cluster.caughtUp();
  });

  it('never answers from a replica holding only some of the version’s chunks', async () => {
    await cluster.replica('select pg_wal_replay_pause()');
    // Counts written `+n` take the row path, committed chunk by chunk (4 MiB of COPY text each).
    const rows = 250_000;
    await newVersion(csvOf(rows, 'c', 0, { rowPath: true }));
    const version = await currentTable(routed.db, resource.id);
    const table = sql.table(`${DATASET_SCHEMA}.${version.table_name}`);
    const { rows: chunks } = await sql<{ xid: string; n: number }>`SELECT xmin::text AS xid, count(*) AS n
      FROM ${table} GROUP BY xmin::text ORDER BY min(${sql.ref(ROW_ORDINAL)})`.execute(routed.db);
    expect(chunks.length).toBeGreaterThan(1);
    // Replay stops right after the first chunk's commit: the table is there, part of its rows in it.
    await cluster.restartReplica({
      recovery_target_xid: chunks[0]!.xid,
      recovery_target_inclusive: 'on',
      recovery_target_action: 'pause',
    });
    try {
      const seen = await sql<{ state: string; n: number }>`SELECT
          (SELECT state FROM dataset_versions WHERE id = ${version.id}) AS state,
          (SELECT count(*) FROM ${table}) AS n`.execute(replicaDirect.db);
      expect(seen.rows[0]).toEqual({ state: 'loading', n: chunks[0]!.n });
      expect(chunks[0]!.n).toBeLessThan(rows);
      const expected = await page(base.plain);
      expect(expected.range).toBe(`0-999/${rows}`);
      servesRows(expected, 'c');
      const where = await counted(async () => {
        expect(await page(base.routed)).toEqual(expected);
      });
      expect(where).toEqual({ replica: 0, notReady: 2, missing: 0, failed: 0 });
    } finally {
      await cluster.restartReplica();
    }
    await cluster.caughtUp();
    const where = await counted(async () => {
      expect(await page(base.routed)).toEqual(await page(base.plain));
    });
    expect(where).toMatchObject({ replica: 2, notReady: 0 });
  });

  it('refuses a revoked contract on the very next request while its rows come from the replica', async () => {
    // Five of the version's rows: a part of the counted whole, so 206.
    const before = await counted(async () => {
      expect((await page(base.routed, 'limit=5')).status).toBe(206);
    });
    expect(before).toMatchObject({ replica: 2 });
    // The replica never learns of the revocation: it still holds the contract active.
    await cluster.replica('select pg_wal_replay_pause()');
    try {
      await revokedWhileReplicasHoldIt(base.routed, t.steward, contract, () => page(base.routed, 'limit=5'), [
        replicaDirect.db,
      ]);
    } finally {
      await cluster.replica('select pg_wal_replay_resume()');
    }
  });
});
