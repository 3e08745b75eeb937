/**
 * Database loss: the PostgreSQL server is stopped as a crash would stop it (pg_ctl -m immediate)
 * while a server process is under read and write load, then started again. Promise: while it is
 * down the server answers 503 on /readyz (and 503, never 500, on API calls); it recovers by itself
 * when the database is back; and no request half-applied a change — every application, approval
 * and contract is there with its audit event or not at all, and the audit log verifies.
 *
 * The machine's shared PostgreSQL server is never touched: this scenario runs its own throwaway
 * cluster.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiKey,
  applicationFor,
  type Cluster,
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
  type Reply,
  report,
  reviewed,
  runCli,
  type Scratch,
  scratchDatabase,
  sleep,
  startNode,
  tempDir,
  throwawayCluster,
} from './support.ts';

const DOWN_MS = 6_000;
const PURPOSE = '断库测试';

let cluster: Cluster;
let scratch: Scratch;
let dataDir: string;
let node: Node;
const t = { steward: '', consumer: '', key: '' };
let resource: { id: string; code: string };
let contract: string;

beforeAll(async () => {
  cluster = await throwawayCluster();
  scratch = await scratchDatabase(cluster.url);
  await prepareDatabase(scratch.url);
  dataDir = tempDir('database-loss');
  node = await startNode({ name: 'node-1', databaseUrl: scratch.url, dataDir });
  t.steward = await login(node.base, 'steward.health');
  t.consumer = await login(node.base, 'consumer.civil');
  resource = await createResource(node.base, t.steward, '门诊就诊记录（断库）');
  await importCsv(node.base, t.steward, resource.code, csvOf(200, 'dl'));
  const setup = await connect(scratch.url);
  await gradeFields(setup.db, resource.id);
  await reviewed(node.base, resource.code);
  contract = await contractFor(node.base, { consumer: t.consumer, steward: t.steward }, resource.code);
  await setup.db
    .updateTable('contracts')
    .set({ rate_limit_per_minute: 1_000_000 })
    .where('id', '=', contract)
    .execute();
  t.key = (await apiKey(node.base, t.consumer, ['gateway'])).secret;
});
afterAll(cleanUp);

interface Outcome {
  kind: 'read' | 'apply' | 'approve' | 'ready';
  status: number;
  at: number;
  id?: string;
}

describe('PostgreSQL crashes and comes back under load', () => {
  it('answers 503 while it is down, recovers by itself, and no change is half-applied', async () => {
    const outcomes: Outcome[] = [];
    const approvable: string[] = [];
    let stop = false;
    const send = async (kind: Outcome['kind'], fn: () => Promise<Reply>, id?: string) => {
      const at = Date.now();
      let res: Reply | undefined;
      try {
        res = await fn();
      } catch {
        // no HTTP answer at all (the process died, or a timeout)
      }
      outcomes.push({ kind, status: res?.status ?? -1, at, ...(id ? { id } : {}) });
      return res;
    };
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        await send('read', () =>
          call(node.base, 'GET', `/v1/gateway/contracts/${contract}/rows?limit=20`, {
            token: t.key,
            timeoutMs: 20_000,
          }),
        );
        await sleep(20);
      }
    });
    let serial = 0;
    const writers = Array.from({ length: 3 }, async (_, w) => {
      while (!stop) {
        const purpose = `${PURPOSE} ${w}-${serial++}`;
        const res = await send('apply', () =>
          call(node.base, 'POST', '/v1/applications', {
            token: t.consumer,
            json: applicationFor(resource.code, { purpose, fields: ['record_no', 'district'] }),
            timeoutMs: 20_000,
          }),
        );
        if (res?.status === 201) approvable.push(res.json.id);
        await sleep(20);
      }
    });
    const approver = (async () => {
      while (!stop) {
        const id = approvable.shift();
        if (!id) {
          await sleep(30);
          continue;
        }
        await send(
          'approve',
          () =>
            call(node.base, 'POST', `/v1/applications/${id}/approve`, {
              token: t.steward,
              json: {},
              timeoutMs: 20_000,
            }),
          id,
        );
      }
    })();

    await sleep(3_000);
    const crashedAt = Date.now();
    await cluster.crash();
    // /readyz says so within seconds, and keeps saying so while the database is away.
    let unreadyAfterMs = -1;
    const readiness: number[] = [];
    while (Date.now() - crashedAt < DOWN_MS) {
      const res = await send('ready', () => call(node.base, 'GET', '/readyz', { timeoutMs: 10_000 }));
      if (res?.status === 503 && unreadyAfterMs < 0) unreadyAfterMs = Date.now() - crashedAt;
      if (unreadyAfterMs >= 0) readiness.push(res?.status ?? -1);
      await sleep(200);
    }
    expect(
      unreadyAfterMs,
      `time until /readyz answers 503: ${JSON.stringify(outcomes.filter((o) => o.kind === 'ready').map((o) => [o.status, o.at - crashedAt]))}\nserver alive: ${node.alive()}\n${node.output().slice(-4000)}`,
    ).toBeGreaterThanOrEqual(0);
    expect(unreadyAfterMs).toBeLessThan(5_000);
    expect(
      readiness.every((s) => s === 503),
      `readiness while down: ${readiness}`,
    ).toBe(true);
    const down = await call(node.base, 'GET', `/v1/gateway/contracts/${contract}/rows`, {
      token: t.key,
      timeoutMs: 15_000,
    });
    expect(down.status, down.text).toBe(503);
    expect(down.json.error.code).toBe('NOT_READY');

    const restartedAt = Date.now();
    await cluster.start();
    const databaseBackAfterMs = Date.now() - restartedAt;
    let readyAfterMs = -1;
    while (Date.now() - restartedAt < 30_000) {
      const res = await send('ready', () => call(node.base, 'GET', '/readyz', { timeoutMs: 10_000 }));
      if (res?.status === 200) {
        readyAfterMs = Date.now() - restartedAt;
        break;
      }
      await sleep(200);
    }
    expect(readyAfterMs, 'the server did not become ready again by itself').toBeGreaterThanOrEqual(0);
    await sleep(3_000); // the load goes on after the recovery
    stop = true;
    await Promise.all([...readers, ...writers, approver]);

    // Served normally again.
    expect(
      (await call(node.base, 'GET', `/v1/gateway/contracts/${contract}/rows?limit=5`, { token: t.key }))
        .status,
    ).toBe(200);
    expect(node.alive()).toBe(true);

    const byStatus: Record<string, number> = {};
    for (const o of outcomes)
      byStatus[`${o.kind} ${o.status}`] = (byStatus[`${o.kind} ${o.status}`] ?? 0) + 1;
    report('database loss', {
      downMs: DOWN_MS,
      unreadyAfterMs,
      databaseBackAfterMs,
      readyAfterRestartMs: readyAfterMs,
      outcomes: byStatus,
    });
    // Every answer was an answer: success, 503 while the database was away, or a 409 for an
    // approval that raced nothing (never a 500, never a dropped connection).
    const bad = outcomes.filter((o) => o.status === -1 || (o.status >= 500 && o.status !== 503));
    expect(bad, JSON.stringify(bad.slice(0, 5))).toEqual([]);
    // Requests that started after the recovery all succeeded.
    const late = outcomes.filter((o) => o.at > restartedAt + readyAfterMs + 500 && o.kind !== 'ready');
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((o) => o.status >= 300)).toEqual([]);

    // No change half-applied: each application, approval and contract is there with its audit
    // event, or neither is.
    const database = await connect(scratch.url);
    const db = database.db;
    const apps = await db
      .selectFrom('applications')
      .select(['id', 'state', 'contract_id', 'purpose'])
      .where('purpose', 'like', `${PURPOSE}%`)
      .execute();
    const events = async (action: string) =>
      (await db.selectFrom('audit_events').select('object_id').where('action', '=', action).execute()).map(
        (e) => e.object_id as string,
      );
    const created = await events('application.create');
    const approved = await events('application.provider_approve');
    const contracts = await db.selectFrom('contracts').select(['id', 'application_id']).execute();
    const contractEvents = await events('contract.create');
    const count = (list: string[], id: string) => list.filter((x) => x === id).length;
    for (const app of apps) {
      expect(count(created, app.id), `${app.id}: application.create events`).toBe(1);
      const isApproved = app.state === 'approved';
      expect(count(approved, app.id), `${app.id} (${app.state}): approval events`).toBe(isApproved ? 1 : 0);
      expect(contracts.filter((c) => c.application_id === app.id).length, `${app.id}: contracts`).toBe(
        isApproved ? 1 : 0,
      );
    }
    // Each POST /v1/applications asked to create and submit: none may be left created but not
    // submitted (a draft nobody knows about).
    expect(
      apps.filter((a) => a.state === 'draft').map((a) => a.id),
      'applications created but never submitted',
    ).toEqual([]);
    const appIds = new Set(apps.map((a) => a.id));
    const allApps = new Set((await db.selectFrom('applications').select('id').execute()).map((a) => a.id));
    expect(
      created.filter((id) => !allApps.has(id)),
      'audit events of applications that do not exist',
    ).toEqual([]);
    const contractIds = new Set(contracts.map((c) => c.id));
    expect(contractEvents.filter((id) => !contractIds.has(id))).toEqual([]);
    for (const c of contracts) expect(count(contractEvents, c.id), `${c.id}: contract.create events`).toBe(1);
    // What the clients were told matches what is stored.
    for (const o of outcomes.filter((x) => x.kind === 'approve' && x.status === 200)) {
      expect(apps.find((a) => a.id === o.id)?.state).toBe('approved');
    }
    const acknowledged = outcomes.filter((o) => o.kind === 'apply' && o.status === 201).length;
    expect(appIds.size).toBeGreaterThanOrEqual(acknowledged);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(db);
    const verify = await runCli(['audit', 'verify'], { DATABASE_URL: scratch.url, DATA_DIR: dataDir });
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    report('database loss: consistency', {
      applications: apps.length,
      acknowledgedApplications: acknowledged,
      approved: apps.filter((a) => a.state === 'approved').length,
      auditEntries: rows[0]!.n,
    });
  });
});
