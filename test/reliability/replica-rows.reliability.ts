/**
 * Gateway rows on the replicas of a Patroni cluster (`shutong cluster up`: etcd, three PostgreSQL
 * 15 under Patroni, HAProxy; the node's DATABASE_READ_URL on HAProxy's read-only port). Promise: a
 * page read while the replicas hold only part of a new version (replay paused between two COPY
 * chunks of its import, before the commit that marks it ready) is exactly the page a node without
 * replicas answers; a page of a replicated version is read on a replica; a revocation holds on
 * the very next request while the replicas still hold the contract active.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../../scripts/cluster.ts';
import { DATASET_SCHEMA } from '../../src/core/datasets.ts';
import type { DatabaseHandle } from '../../src/core/db.ts';
import {
  call,
  cleanUp,
  connect,
  csvOf,
  currentTable,
  gradeFields,
  importCsv,
  login,
  type Node,
  prepareDatabase,
  report,
  revokedWhileReplicasHoldIt,
  servedResource,
  sleep,
  startNode,
  tempDir,
} from './support.ts';

let cluster: LocalCluster;
let routedNode: Node;
let plainNode: Node;
let primary: DatabaseHandle;
/** Direct connections to the two replicas (not through HAProxy), to pause them and look inside. */
let replicas: DatabaseHandle[] = [];
const t = { steward: '', consumer: '', key: '' };
let resource: { id: string; code: string };
let contract = '';

/**
 * Patroni's maintenance mode: on PostgreSQL 14+ Patroni resumes a paused WAL replay on its next
 * loop (a second later) unless the cluster is paused, so replay stays paused only in this mode.
 * Waits until every node runs in it.
 */
async function maintenanceMode() {
  const node = cluster.nodes[0]!;
  const res = await fetch(`http://127.0.0.1:${node.restPort}/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pause: true }),
  });
  if (res.status !== 200) throw new Error(`pause the cluster: ${res.status} ${await res.text()}`);
  for (const n of cluster.nodes) {
    for (;;) {
      const state = await fetch(`http://127.0.0.1:${n.restPort}/patroni`).then((r) => r.json());
      if ((state as { pause?: boolean }).pause === true) break;
      await sleep(200);
    }
  }
}

const pauseReplay = () => Promise.all(replicas.map((r) => sql`select pg_wal_replay_pause()`.execute(r.db)));
const resumeReplay = () => Promise.all(replicas.map((r) => sql`select pg_wal_replay_resume()`.execute(r.db)));

/** Waits until both replicas have replayed everything the leader has written so far. */
async function caughtUp() {
  const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(primary.db);
  const target = rows[0]!.lsn;
  for (const replica of replicas) {
    for (;;) {
      const { rows: done } = await sql<{
        done: boolean;
      }>`select pg_last_wal_replay_lsn() >= ${target}::pg_lsn as done`.execute(replica.db);
      if (done[0]!.done) break;
      await sleep(50);
    }
  }
}

/** Scans of a table counted on the replicas themselves: reads that were answered there. */
async function replicaScans(table: string) {
  let scans = 0;
  for (const replica of replicas) {
    const { rows } = await sql<{
      n: number;
    }>`SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)::int AS n
      FROM pg_stat_user_tables WHERE schemaname = ${DATASET_SCHEMA} AND relname = ${table}`.execute(
      replica.db,
    );
    scans += rows[0]!.n;
  }
  return scans;
}

/**
 * Waits until the replicas count more scans of `table` than `before`: a backend reports its
 * counts when it goes idle, at most a few seconds late (PostgreSQL 15 flushes idle ones within 10 s).
 */
async function scannedOnReplicas(table: string, before: number) {
  const deadline = Date.now() + 15_000;
  while ((await replicaScans(table)) <= before) {
    if (Date.now() > deadline) throw new Error(`no read of ${table} counted on the replicas`);
    await sleep(200);
  }
}

async function page(node: Node, query = 'limit=1000') {
  const res = await call(node.base, 'GET', `/v1/gateway/contracts/${contract}/rows?${query}`, {
    token: t.key,
    headers: { prefer: 'count=exact' },
  });
  return { status: res.status, range: res.headers['content-range'], body: res.json };
}

beforeAll(async () => {
  cluster = await startLocalCluster({ database: 'shutong' });
  await prepareDatabase(cluster.databaseUrl);
  const dataDir = tempDir('replica-rows');
  [routedNode, plainNode] = await Promise.all([
    startNode({
      name: 'routed',
      databaseUrl: cluster.databaseUrl,
      dataDir,
      env: { DATABASE_READ_URL: cluster.readUrl },
    }),
    startNode({ name: 'plain', databaseUrl: cluster.databaseUrl, dataDir }),
  ]);
  await maintenanceMode();
  primary = await connect(cluster.databaseUrl);
  const leader = await cluster.leader();
  replicas = await Promise.all(
    cluster.nodes
      .filter((n) => n.name !== leader)
      .map((n) => connect(`postgres://postgres@127.0.0.1:${n.pgPort}/shutong`)),
  );
  expect(replicas).toHaveLength(2);
  t.steward = await login(routedNode.base, 'steward.health');
  t.consumer = await login(routedNode.base, 'consumer.civil');
  ({
    resource,
    contract,
    key: t.key,
  } = await servedResource(routedNode.base, primary.db, t, '门诊就诊记录（副本行读取）', csvOf(200, 'a')));
}, 300_000);

afterAll(async () => {
  // Replay left paused by a failed step would keep the replicas behind while the cluster stops.
  await resumeReplay().catch(() => {});
  await cleanUp();
  await cluster?.stop();
}, 60_000);

describe('gateway rows on the replicas of a Patroni cluster', () => {
  it('reads a replicated version on a replica, and a half-replayed one on the leader', async () => {
    await caughtUp();
    const first = await currentTable(primary.db, resource.id);
    const scansBefore = await replicaScans(first.table_name);
    expect(await page(routedNode)).toEqual(await page(plainNode));
    // The count and the page, each one statement on a replica.
    await scannedOnReplicas(first.table_name, scansBefore);

    // A new version on the row path (counts written `+n`): four COPY chunks committed one by one.
    const rows = 400_000;
    const started = Date.now();
    const importing = importCsv(
      routedNode.base,
      t.steward,
      resource.code,
      csvOf(rows, 'b', 0, { rowPath: true }),
    );
    importing.catch(() => {});
    // The import is held between two chunks: once the first chunk has committed, a SHARE lock on
    // the new table (taken behind a chunk loading at that moment, ahead of the next one) stops the
    // next COPY. Meanwhile the replicas replay everything and are paused there: they hold the table
    // partly filled and its version not ready, and keep that state once the import goes on.
    let table = '';
    for (;;) {
      if (Date.now() - started > 120_000) throw new Error('no chunk of the import committed');
      const version = await primary.db
        .selectFrom('dataset_versions')
        .select('table_name')
        .where('resource_id', '=', resource.id)
        .where('id', '!=', first.id)
        .executeTakeFirst();
      if (version) {
        table = version.table_name;
        const { rows: loaded } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(
          `${DATASET_SCHEMA}.${table}`,
        )}`.execute(primary.db);
        if (loaded[0]!.n > 0) break;
      }
      await sleep(20);
    }
    await primary.db.transaction().execute(async (tx) => {
      await sql`LOCK TABLE ${sql.table(`${DATASET_SCHEMA}.${table}`)} IN SHARE MODE`.execute(tx);
      await caughtUp();
      await pauseReplay();
    });
    try {
      await importing;
      // The import's classification grades the generated columns higher (every value would be
      // masked to null, leaving the pages nothing to tell apart): graded as in the set-up again.
      await gradeFields(primary.db, resource.id);
      const onReplicas = await Promise.all(
        replicas.map(async (r) => {
          const { rows: seen } = await sql<{ state: string; n: number }>`SELECT
              (SELECT state FROM dataset_versions WHERE table_name = ${table}) AS state,
              (SELECT count(*)::int FROM ${sql.table(`${DATASET_SCHEMA}.${table}`)}) AS n`.execute(r.db);
          return seen[0]!;
        }),
      );
      // The state the guard is for, reached: part of the rows, no ready mark.
      for (const seen of onReplicas) {
        expect(seen.state).toBe('loading');
        expect(seen.n).toBeGreaterThan(0);
        expect(seen.n).toBeLessThan(rows);
      }
      const expected = await page(plainNode);
      expect(expected.range).toBe(`0-999/${rows}`);
      expect(
        expected.body.filter((r: { record_no: string | null }) => !r.record_no?.startsWith('b')),
      ).toEqual([]);
      expect(await page(routedNode)).toEqual(expected);
      expect(await page(routedNode, 'select=record_no,name&district=eq.滨江区&limit=50')).toEqual(
        await page(plainNode, 'select=record_no,name&district=eq.滨江区&limit=50'),
      );
      report('replica rows: half-replayed version', {
        rowsOnReplicas: onReplicas.map((s) => s.n),
        rowsOnLeader: rows,
        answered: expected.range,
      });
    } finally {
      await resumeReplay();
    }
    await caughtUp();
    const scansBefore2 = await replicaScans(table);
    expect(await page(routedNode)).toEqual(await page(plainNode));
    await scannedOnReplicas(table, scansBefore2);
  }, 300_000);

  it('refuses a revoked contract on the very next request while the replicas hold it active', async () => {
    await caughtUp();
    const { table_name } = await currentTable(primary.db, resource.id);
    const scansBefore = await replicaScans(table_name);
    // Five rows of the counted whole: 206.
    expect((await page(routedNode, 'limit=5')).status).toBe(206);
    await scannedOnReplicas(table_name, scansBefore);
    await pauseReplay();
    try {
      await revokedWhileReplicasHoldIt(
        routedNode.base,
        t.steward,
        contract,
        () => page(routedNode, 'limit=5'),
        replicas.map((r) => r.db),
      );
    } finally {
      await resumeReplay();
    }
  });
});
