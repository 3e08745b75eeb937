/**
 * Crash during import: the server process is killed with SIGKILL in the middle of a large import —
 * on the row path with rows already committed into the new version's table, and on the bulk path
 * in the middle of its one COPY. Promise: after a restart there is no partial version — the job is
 * failed with NODE_LOST, the version is failed and its table dropped — the previous version is
 * still current and served by the gateway, and `shutong audit verify` passes.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiKey,
  call,
  cleanUp,
  connect,
  contractFor,
  createResource,
  csvOf,
  gradeFields,
  importCsv,
  login,
  type Node,
  prepareDatabase,
  report,
  reviewed,
  row,
  runCli,
  type Scratch,
  scratchDatabase,
  sleep,
  startNode,
  tempDir,
  uploadFile,
} from './support.ts';

const LEASE_SECONDS = 3;
/** Rows of the killed import per path: the bulk path loads several times faster. */
const BIG_ROWS = { rows: 600_000, bulk: 4_000_000 };
const PREVIOUS_ROWS = 200;

let scratch: Scratch;
let dataDir: string;
let node: Node;
let db: Awaited<ReturnType<typeof connect>>['db'];
let steward: string;
let resource: { id: string; code: string };
let contract: string;
let key: string;

const env = () => ({ JOB_LEASE_SECONDS: String(LEASE_SECONDS) });

/** `rowPath`: counts written `+5`, so the import takes the row path (see csvOf). */
async function writeBigCsv(file: string, rows: number, rowPath: boolean) {
  const out = createWriteStream(file);
  out.write(csvOf(0, 'big'));
  for (let from = 0; from < rows; from += 10_000) {
    if (!out.write(csvOf(10_000, 'big', from, { rowPath }).replace(/^.*\n/, ''))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

beforeAll(async () => {
  scratch = await scratchDatabase();
  await prepareDatabase(scratch.url);
  db = (await connect(scratch.url)).db;
  dataDir = tempDir('crash');
  node = await startNode({ name: 'node-1', databaseUrl: scratch.url, dataDir, env: env() });
  steward = await login(node.base, 'steward.health');
  const consumer = await login(node.base, 'consumer.civil');
  resource = await createResource(node.base, steward, '门诊就诊记录（崩溃测试）');
  await importCsv(node.base, steward, resource.code, csvOf(PREVIOUS_ROWS, 'prev'));
  await gradeFields(db, resource.id);
  await reviewed(node.base, resource.code);
  contract = await contractFor(node.base, { consumer, steward }, resource.code);
  key = (await apiKey(node.base, consumer, ['gateway'])).secret;
});
afterAll(cleanUp);

async function gatewayRecords() {
  const res = await call(
    node.base,
    'GET',
    `/v1/gateway/contracts/${contract}/rows?select=record_no&limit=1000&format=page`,
    {
      token: key,
    },
  );
  expect(res.status, res.text).toBe(200);
  return (res.json.items as Array<{ record_no: string }>).map((r) => r.record_no);
}

describe('a server killed with SIGKILL in the middle of a large import', () => {
  // The row path commits its chunks as they load: a kill leaves a half-loaded table to clean up.
  // The bulk path is one COPY in one transaction: a kill leaves its table empty.
  it.each([
    { path: 'rows', what: 'the row path, rows committed' },
    { path: 'bulk', what: 'the bulk path, in the middle of its COPY' },
  ] as const)(
    'leaves no partial version ($what): the job fails NODE_LOST, the previous version still serves, the audit log verifies',
    async ({ path }) => {
      const before = await gatewayRecords();
      const currentBefore = (
        await call(node.base, 'GET', `/v1/resources/${resource.code}/versions`, { token: steward })
      ).json.find((v: { current: boolean }) => v.current);
      if (path === 'rows') {
        expect(before).toHaveLength(PREVIOUS_ROWS);
        expect(before).toContain(row(0, 'prev').record_no); // keyed order, not file order
      }

      const file = `${tempDir('crash-file')}/big.csv`;
      await writeBigCsv(file, BIG_ROWS[path], path === 'rows');
      const started = await uploadFile(
        node.base,
        `/v1/resources/${resource.code}/versions?filename=big.csv`,
        file,
        steward,
      );
      expect(started.status, started.text).toBe(202);
      const jobId = started.json.jobId as string;
      const version = await db
        .selectFrom('dataset_versions')
        .selectAll()
        .where('job_id', '=', jobId)
        .executeTakeFirstOrThrow();

      // Wait until the job reports progress and rows have really landed in the new table.
      let copied = 0;
      let progress: Record<string, unknown> = {};
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const job = await call(node.base, 'GET', `/v1/jobs/${jobId}`, { token: steward });
        expect(job.json.state, job.text).toBe('running');
        progress = job.json.progress;
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(
          `datasets.${version.table_name}`,
        )}`.execute(db);
        copied = rows[0]!.n;
        if (Number(progress.loadedRows ?? 0) > 0 && (path === 'bulk' || copied > 0)) break;
        await sleep(100);
      }
      expect(Number(progress.loadedRows ?? 0)).toBeGreaterThan(0);
      // The path under test is the one loading.
      expect(progress.bulk === true).toBe(path === 'bulk');
      if (path === 'rows') expect(copied).toBeGreaterThan(0);
      // The COPY under way is not visible to anyone (nor committed, ever).
      else expect(copied).toBe(0);
      expect(copied).toBeLessThan(BIG_ROWS[path]);

      node.child.kill('SIGKILL');
      const ended = await node.exited;
      expect(ended.signal).toBe('SIGKILL');
      const killedAt = Date.now();

      // What the crash left behind: a loading version with rows, a running job with a lease.
      const leftover = await db
        .selectFrom('jobs')
        .select(['state', 'lease_until'])
        .where('id', '=', jobId)
        .executeTakeFirstOrThrow();
      expect(leftover.state).toBe('running');
      expect(
        (
          await db
            .selectFrom('dataset_versions')
            .select('state')
            .where('id', '=', version.id)
            .executeTakeFirstOrThrow()
        ).state,
      ).toBe('loading');

      node = await startNode({ name: 'node-1 (restarted)', databaseUrl: scratch.url, dataDir, env: env() });
      let job = (await call(node.base, 'GET', `/v1/jobs/${jobId}`, { token: steward })).json;
      while (job.state === 'running' && Date.now() - killedAt < 30_000) {
        await sleep(200);
        job = (await call(node.base, 'GET', `/v1/jobs/${jobId}`, { token: steward })).json;
      }
      const sweptAfterMs = Date.now() - killedAt;
      expect(job).toMatchObject({ state: 'failed', error: { code: 'NODE_LOST' } });

      const after = await db
        .selectFrom('dataset_versions')
        .select(['state', 'table_name'])
        .where('id', '=', version.id)
        .executeTakeFirstOrThrow();
      expect(after.state).toBe('failed');
      const tables = await sql<{ tablename: string }>`
      select tablename from pg_tables where schemaname = 'datasets'`.execute(db);
      const ready = await db
        .selectFrom('dataset_versions')
        .select('table_name')
        .where('state', '=', 'ready')
        .execute();
      // Only ready versions have tables: the half-loaded one is gone.
      expect(tables.rows.map((t) => t.tablename).sort()).toEqual(ready.map((v) => v.table_name).sort());
      expect(tables.rows.map((t) => t.tablename)).not.toContain(version.table_name);
      expect(
        await db.selectFrom('dataset_versions').select('id').where('state', '=', 'loading').execute(),
      ).toEqual([]);

      const versions = await call(node.base, 'GET', `/v1/resources/${resource.code}/versions`, {
        token: steward,
      });
      const current = versions.json.filter((v: { current: boolean }) => v.current);
      expect(current).toHaveLength(1);
      expect(current[0]).toMatchObject({ number: currentBefore.number, state: 'ready' });
      expect(await gatewayRecords()).toEqual(before);

      const verify = await runCli(['audit', 'verify'], { DATABASE_URL: scratch.url, DATA_DIR: dataDir });
      expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);

      // And the platform carries on: the next import works.
      const next = await importCsv(node.base, steward, resource.code, csvOf(10, 'next'));
      expect(next).toMatchObject({ rows: 10 });

      report(`crash during import (${path} path)`, {
        rowsCopiedBeforeKill: copied,
        progressAtKill: progress,
        leaseSeconds: LEASE_SECONDS,
        failedNodeLostAfterMs: sweptAfterMs,
      });
    },
  );
});
