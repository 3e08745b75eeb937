/**
 * Two nodes: two server processes on one PostgreSQL database. Promises: concurrent approvals of one
 * application from both nodes — exactly one wins, the other gets 409; a revocation made on one node
 * is honoured by the other on its next request (API key, contract, session); jobs run exactly once —
 * a dead node's jobs are failed once although both nodes sweep, and a live node's long import is
 * never taken from it by the other node's sweeper.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.ts';
import {
  apiKey,
  applicationFor,
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
  runCli,
  type Scratch,
  scratchDatabase,
  sleep,
  startNode,
  tempDir,
} from './support.ts';

const LEASE_SECONDS = 2;
const ABANDONED_JOBS = 300;
const RACES = 12;
const DEAD_NODE = 'dead-node:1:000000';

let scratch: Scratch;
let dataDir: string;
let a: Node;
let b: Node;
let db: Awaited<ReturnType<typeof connect>>['db'];
const tokens = { steward: '', consumer: '', security: '' };
let resource: { id: string; code: string };

/** Every update that finishes a job or touches a finished one, and which node made it. */
async function recordJobEndings() {
  await sql`create table reliability_job_endings (
      job_id text, from_state text, to_state text, node text, at timestamptz default clock_timestamp())`.execute(
    db,
  );
  await sql`create function reliability_job_ending() returns trigger language plpgsql as $$
      begin
        if old.state <> 'running' or new.state <> 'running' then
          insert into reliability_job_endings (job_id, from_state, to_state, node)
          values (new.id, old.state, new.state, current_setting('application_name'));
        end if;
        return new;
      end $$`.execute(db);
  await sql`create trigger reliability_job_ending after update on jobs
      for each row execute function reliability_job_ending()`.execute(db);
}

async function endings(where: { jobId: string } | { ofNode: string }) {
  const { rows } = await sql<{ job_id: string; to_state: string; node: string }>`
    select e.job_id, e.to_state, e.node from reliability_job_endings e join jobs j on j.id = e.job_id
    where ${'jobId' in where ? sql`j.id = ${where.jobId}` : sql`j.node = ${where.ofNode}`}`.execute(db);
  return rows;
}

beforeAll(async () => {
  scratch = await scratchDatabase();
  await prepareDatabase(scratch.url);
  db = (await connect(scratch.url)).db;
  await recordJobEndings();
  // A node that died with work in hand: running jobs whose leases ran out.
  const creator = await db
    .selectFrom('users')
    .select('id')
    .where('username', '=', 'steward.health')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('jobs')
    .values(
      Array.from({ length: ABANDONED_JOBS }, () => ({
        id: newId('job'),
        kind: 'import',
        state: 'running' as const,
        payload: JSON.stringify({}),
        progress: JSON.stringify({}),
        node: DEAD_NODE,
        lease_until: new Date(Date.now() - 60_000),
        created_by: creator.id,
        started_at: new Date(Date.now() - 120_000),
      })),
    )
    .execute();
  dataDir = tempDir('two-nodes');
  const env = (name: string) => ({ JOB_LEASE_SECONDS: String(LEASE_SECONDS), PGAPPNAME: name });
  // Both start at once: both sweep the dead node's jobs when they become ready.
  [a, b] = await Promise.all([
    startNode({ name: 'node-a', databaseUrl: scratch.url, dataDir, env: env('node-a') }),
    startNode({ name: 'node-b', databaseUrl: scratch.url, dataDir, env: env('node-b') }),
  ]);
  tokens.steward = await login(a.base, 'steward.health');
  tokens.consumer = await login(b.base, 'consumer.civil');
  tokens.security = await login(a.base, 'security');
  resource = await createResource(a.base, tokens.steward, '门诊就诊记录（双节点）');
  await importCsv(b.base, tokens.steward, resource.code, csvOf(100, 'two'));
  await gradeFields(db, resource.id);
  await reviewed(a.base, resource.code);
});
afterAll(cleanUp);

describe('two server processes on one database', () => {
  it("fails a dead node's jobs exactly once although both nodes sweep them", async () => {
    const deadline = Date.now() + 20_000;
    let left = ABANDONED_JOBS;
    while (Date.now() < deadline) {
      const running = await db
        .selectFrom('jobs')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('node', '=', DEAD_NODE)
        .where('state', '=', 'running')
        .executeTakeFirstOrThrow();
      left = running.n;
      if (left === 0) break;
      await sleep(200);
    }
    expect(left).toBe(0);
    await sleep(2 * LEASE_SECONDS * 1000); // further sweeps by both nodes must not touch them again
    const all = await endings({ ofNode: DEAD_NODE });
    const perJob = new Map<string, number>();
    for (const e of all) perJob.set(e.job_id, (perJob.get(e.job_id) ?? 0) + 1);
    expect(perJob.size).toBe(ABANDONED_JOBS);
    expect([...perJob.values()].filter((n) => n !== 1)).toEqual([]);
    expect(all.every((e) => e.to_state === 'failed')).toBe(true);
    const byNode: Record<string, number> = {};
    for (const e of all) byNode[e.node] = (byNode[e.node] ?? 0) + 1;
    report('two nodes: dead-node jobs swept', { jobs: ABANDONED_JOBS, sweptBy: byNode });
  });

  it("runs a live node's import once, even when it outlasts several leases while the other node sweeps", async () => {
    // Long enough to outlast a lease plus a sweep interval (3 s): a node that stopped renewing its
    // lease would lose the job to the other node's sweeper within that time.
    const rows = 1_200_000;
    const started = Date.now();
    const res = await call(
      a.base,
      'POST',
      `/v1/resources/${resource.code}/versions?filename=long.csv&wait=true`,
      {
        token: tokens.steward,
        // The row path: the bulk path would load it well within a lease.
        body: csvOf(rows, 'long', 0, { rowPath: true }),
        headers: { 'content-type': 'text/csv' },
        timeoutMs: 170_000,
      },
    );
    const tookMs = Date.now() - started;
    expect(res.status, res.text).toBe(201);
    expect(res.json.rows).toBe(rows);
    expect(tookMs).toBeGreaterThan(1.5 * LEASE_SECONDS * 1000);
    const ended = await endings({ jobId: res.json.jobId });
    expect(ended).toEqual([{ job_id: res.json.jobId, to_state: 'succeeded', node: 'node-a' }]);
    const created = await db
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', 'version.create')
      .where('object_id', '=', resource.id)
      .execute();
    expect(created).toHaveLength(2); // the first version and this one
    const { rows: counted } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(
      `datasets.v_${String(res.json.versionId).slice(4)}`,
    )}`.execute(db);
    expect(counted[0]!.n).toBe(rows);
    report('two nodes: long import', { rows, tookMs, leaseSeconds: LEASE_SECONDS });
  });

  it('lets exactly one of two concurrent approvals (one per node) win; the other gets 409', async () => {
    const outcomes: number[][] = [];
    for (let i = 0; i < RACES; i++) {
      const app = await call(a.base, 'POST', '/v1/applications', {
        token: tokens.consumer,
        json: applicationFor(resource.code, { purpose: `并发审批 ${i}` }),
      });
      expect(app.status, app.text).toBe(201);
      const id = app.json.id as string;
      const [x, y] = await Promise.all(
        [a, b].map((n) =>
          call(n.base, 'POST', `/v1/applications/${id}/approve`, { token: tokens.steward, json: {} }),
        ),
      );
      outcomes.push([x!.status, y!.status]);
      expect([x!.status, y!.status].sort(), `${x!.text} ${y!.text}`).toEqual([200, 409]);
      const loser = x!.status === 409 ? x! : y!;
      expect(loser.json.error.code).toBe('INVALID_TRANSITION');
      const contracts = await db
        .selectFrom('contracts')
        .select('id')
        .where('application_id', '=', id)
        .execute();
      expect(contracts).toHaveLength(1);
      const approvals = await db
        .selectFrom('audit_events')
        .select('id')
        .where('object_id', '=', id)
        .where('action', 'like', 'application.%approve')
        .execute();
      expect(approvals).toHaveLength(1);
    }
    report('two nodes: concurrent approvals', {
      races: RACES,
      winsOnNodeA: outcomes.filter(([x]) => x === 200).length,
      winsOnNodeB: outcomes.filter(([, y]) => y === 200).length,
    });
  });

  it('honours a revocation made on one node on the next request to the other', async () => {
    const contract = await contractFor(a.base, tokens, resource.code);
    const rows = (node: Node, token: string) =>
      call(node.base, 'GET', `/v1/gateway/contracts/${contract}/rows?limit=5`, { token });

    // API key revoked on node A: refused on node B at once.
    const key = await apiKey(a.base, tokens.consumer, ['gateway']);
    expect((await rows(b, key.secret)).status).toBe(200);
    const revoked = await call(a.base, 'POST', `/v1/api-keys/${key.id}/revoke`, { token: tokens.consumer });
    expect(revoked.status, revoked.text).toBe(200);
    const afterKey = await rows(b, key.secret);
    expect(afterKey.status).toBe(401);
    expect(afterKey.json.error.code).toBe('UNAUTHENTICATED');

    // Contract revoked on node B: refused on node A at once.
    const other = await apiKey(b.base, tokens.consumer, ['gateway']);
    expect((await rows(a, other.secret)).status).toBe(200);
    const revokedContract = await call(b.base, 'POST', `/v1/contracts/${contract}/revoke`, {
      token: tokens.steward,
      json: { reason: '可靠性测试：吊销' },
    });
    expect(revokedContract.status, revokedContract.text).toBe(200);
    const afterContract = await rows(a, other.secret);
    expect(afterContract.status).toBe(403);
    expect(afterContract.json.error.code).toBe('CONTRACT_NOT_ACTIVE');
    expect(afterContract.text).not.toContain('two0000');

    // A session ended on node B: refused on node A at once.
    const session = await login(b.base, 'consumer.civil');
    expect((await call(a.base, 'GET', '/v1/me', { token: session })).status).toBe(200);
    expect((await call(b.base, 'POST', '/v1/auth/logout', { token: session })).status).toBeLessThan(300);
    expect((await call(a.base, 'GET', '/v1/me', { token: session })).status).toBe(401);
  });

  it('leaves an audit log that verifies after both nodes appended to it', async () => {
    const verify = await runCli(['audit', 'verify'], { DATABASE_URL: scratch.url, DATA_DIR: dataDir });
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(a.alive() && b.alive()).toBe(true);
  });
});
