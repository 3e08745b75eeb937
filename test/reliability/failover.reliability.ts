/**
 * Failover on a real PostgreSQL cluster (`npm run cluster`: etcd, three PostgreSQL 15 under
 * Patroni with one synchronous standby, HAProxy). Under steady writes (applications, approvals,
 * each with its audit entry) and gateway reads through a Shutong server process, the leader's
 * PostgreSQL is killed with SIGKILL. Promise: Patroni promotes the synchronous standby, Shutong
 * recovers by itself, every failed request was a 503 with Retry-After, every acknowledged write is
 * there exactly once, the audit log verifies, and the old leader rejoins as a replica. Then a
 * planned switchover under the same load. Applications carry an Idempotency-Key and are retried
 * with it until answered: what was acknowledged is exactly what is stored.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../../scripts/cluster.ts';
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
  type Reply,
  report,
  reviewed,
  runCli,
  sleep,
  startNode,
  tempDir,
} from './support.ts';

const PURPOSE = '切换测试';

let cluster: LocalCluster;
let dataDir: string;
let node: Node;
const t = { steward: '', consumer: '', key: '' };
let resource: { id: string; code: string };
let contract: string;

beforeAll(async () => {
  cluster = await startLocalCluster({ database: 'shutong' });
  await prepareDatabase(cluster.databaseUrl);
  dataDir = tempDir('failover');
  node = await startNode({
    name: 'node-1',
    databaseUrl: cluster.databaseUrl,
    dataDir,
    env: { DATABASE_READ_URL: cluster.readUrl },
  });
  t.steward = await login(node.base, 'steward.health');
  t.consumer = await login(node.base, 'consumer.civil');
  resource = await createResource(node.base, t.steward, '门诊就诊记录（切换）');
  await importCsv(node.base, t.steward, resource.code, csvOf(200, 'fo'));
  const setup = await connect(cluster.databaseUrl);
  await gradeFields(setup.db, resource.id);
  await reviewed(node.base, resource.code);
  contract = await contractFor(node.base, { consumer: t.consumer, steward: t.steward }, resource.code);
  await setup.db
    .updateTable('contracts')
    .set({ rate_limit_per_minute: 1_000_000 })
    .where('id', '=', contract)
    .execute();
  await setup.close();
  t.key = (await apiKey(node.base, t.consumer, ['gateway'])).secret;
}, 300_000);

afterAll(async () => {
  await cleanUp();
  await cluster?.stop();
}, 60_000);

/**
 * A refusal that tells the client the truth: 503 with Retry-After; for an idempotent retry, 409
 * IDEMPOTENCY_IN_PROGRESS with Retry-After (its first attempt is still being settled) or 409
 * IDEMPOTENCY_ANSWER_LOST (it committed, its answer was cut; never applied again).
 */
function honest(o: Outcome): boolean {
  if (o.status === 503) return o.retryAfter;
  if (o.status === 409 && o.code === 'IDEMPOTENCY_IN_PROGRESS') return o.retryAfter;
  return o.status === 409 && o.code === 'IDEMPOTENCY_ANSWER_LOST';
}

interface Outcome {
  kind: 'read' | 'apply' | 'approve' | 'search';
  phase: 'failover' | 'switchover';
  status: number;
  retryAfter: boolean;
  at: number;
  done: number;
  id?: string;
  purpose?: string;
  /** The error code of a refused request (an idempotent retry's 409s are told apart by it). */
  code?: string;
  replayed?: boolean;
}

/** Steady load until `stop()`: 3 writers, an approver, 2 gateway readers, a catalog searcher. */
function load(phase: Outcome['phase']) {
  const outcomes: Outcome[] = [];
  const approvable: string[] = [];
  let stopped = false;
  const send = async (
    kind: Outcome['kind'],
    fn: () => Promise<Reply>,
    extra: Partial<Outcome> = {},
  ): Promise<Reply | undefined> => {
    const at = Date.now();
    let res: Reply | undefined;
    try {
      res = await fn();
    } catch {
      // no HTTP answer at all
    }
    outcomes.push({
      kind,
      phase,
      status: res?.status ?? -1,
      retryAfter: Number(res?.headers['retry-after']) > 0,
      ...(res && res.status >= 400 ? { code: res.json?.error?.code } : {}),
      ...(res?.headers['idempotent-replayed'] ? { replayed: true } : {}),
      at,
      done: Date.now(),
      ...extra,
    });
    return res;
  };
  let serial = 0;
  const workers = [
    ...Array.from({ length: 3 }, async (_, w) => {
      while (!stopped) {
        const purpose = `${PURPOSE} ${phase} ${w}-${serial++}`;
        // As a careful client writes: one Idempotency-Key per application, the same body and key
        // again after a 503, no answer, or 409 IDEMPOTENCY_IN_PROGRESS, until it is answered
        // (a short pause rather than the full Retry-After, so the write gap stays comparable).
        const json = applicationFor(resource.code, { purpose, fields: ['record_no', 'district'] });
        const idempotencyKey = randomUUID();
        const giveUpAt = Date.now() + 45_000;
        let res: Reply | undefined;
        for (;;) {
          res = await send(
            'apply',
            () =>
              call(node.base, 'POST', '/v1/applications', {
                token: t.consumer,
                json,
                headers: { 'idempotency-key': idempotencyKey },
                timeoutMs: 30_000,
              }),
            { purpose },
          );
          const retry =
            res === undefined ||
            res.status === 503 ||
            (res.status === 409 && res.json?.error?.code === 'IDEMPOTENCY_IN_PROGRESS');
          if (!retry || Date.now() > giveUpAt) break;
          await sleep(150);
        }
        if (res?.status === 201) {
          outcomes[outcomes.length - 1]!.id = res.json.id;
          approvable.push(res.json.id);
        } else await sleep(100);
        await sleep(50);
      }
    }),
    (async () => {
      while (!stopped) {
        const id = approvable.shift();
        if (!id) {
          await sleep(50);
          continue;
        }
        const res = await send(
          'approve',
          () =>
            call(node.base, 'POST', `/v1/applications/${id}/approve`, {
              token: t.steward,
              json: {},
              timeoutMs: 30_000,
            }),
          { id },
        );
        if (res?.status !== 200) await sleep(100);
      }
    })(),
    ...Array.from({ length: 2 }, async () => {
      while (!stopped) {
        await send('read', () =>
          call(node.base, 'GET', `/v1/gateway/contracts/${contract}/rows?limit=20`, {
            token: t.key,
            timeoutMs: 30_000,
          }),
        );
        await sleep(50);
      }
    }),
    (async () => {
      while (!stopped) {
        await send('search', () =>
          call(node.base, 'GET', '/v1/catalog/search?q=%E9%97%A8%E8%AF%8A', {
            token: t.steward,
            timeoutMs: 30_000,
          }),
        );
        await sleep(100);
      }
    })(),
  ];
  return {
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

/** Longest stretch without a completed write (acknowledged application or approval), from `from`. */
function maxWriteGapMs(outcomes: Outcome[], from: number, to: number): number {
  const times = outcomes
    .filter((o) => (o.kind === 'apply' && o.status === 201) || (o.kind === 'approve' && o.status === 200))
    .map((o) => o.done)
    .filter((d) => d >= from && d <= to)
    .sort((a, b) => a - b);
  let gap = 0;
  let last = from;
  for (const d of [...times, to]) {
    gap = Math.max(gap, d - last);
    last = d;
  }
  return gap;
}

function summary(outcomes: Outcome[]) {
  const failed = outcomes.filter((o) => o.status < 200 || o.status >= 300);
  const byStatus: Record<string, number> = {};
  for (const o of outcomes) byStatus[`${o.kind} ${o.status}`] = (byStatus[`${o.kind} ${o.status}`] ?? 0) + 1;
  return { total: outcomes.length, failed, byStatus };
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - start;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await cluster.members())}`);
}

describe('the leader PostgreSQL dies under load', () => {
  it('promotes a replica, Shutong recovers by itself, only 503s fail, and no acknowledged write is lost', async () => {
    const oldLeader = await cluster.leader();
    expect(oldLeader).toBeDefined();
    const failover = load('failover');
    await sleep(3_000);
    const killedAt = Date.now();
    cluster.killPostgres(oldLeader!);
    const promotionMs = await until('a new leader', 60_000, async () => {
      const leader = await cluster.leader();
      return leader !== undefined && leader !== oldLeader;
    });
    const newLeader = await cluster.leader();
    // Shutong writes again without being restarted.
    const writesBackMs = await until('writes through Shutong', 60_000, async () =>
      failover.outcomes.some((o) => o.kind === 'apply' && o.status === 201 && o.at > killedAt + promotionMs),
    );
    await sleep(3_000);
    await until('the old leader to rejoin as a replica', 120_000, async () => {
      const member = (await cluster.members()).find((m) => m.name === oldLeader);
      return (
        member !== undefined && member.role !== 'leader' && ['running', 'streaming'].includes(member.state)
      );
    });
    const rejoinMs = Date.now() - killedAt;
    await failover.stop();
    const end = Date.now();
    const fo = summary(failover.outcomes);
    report('failover (SIGKILL of the leader PostgreSQL)', {
      oldLeader,
      newLeader,
      promotionMs,
      writesBackAfterKillMs: promotionMs + writesBackMs,
      maxWriteGapMs: maxWriteGapMs(failover.outcomes, killedAt - 3_000, end),
      requests: fo.total,
      failed: fo.failed.length,
      failedAllHonest: fo.failed.every(honest),
      rejoinedAfterKillMs: rejoinMs,
      outcomes: fo.byStatus,
    });

    // Planned switchover back under the same load.
    const switchover = load('switchover');
    await sleep(2_000);
    // In synchronous mode only the synchronous standby may take over: nothing acknowledged is lost.
    await until('a synchronous standby', 60_000, async () =>
      (await cluster.members()).some((m) => m.role === 'sync_standby'),
    );
    const candidate = (await cluster.members()).find((m) => m.role === 'sync_standby')?.name;
    expect(candidate).toBeDefined();
    const switchAt = Date.now();
    await cluster.switchover(candidate!);
    await until('the switchover', 60_000, async () => (await cluster.leader()) === candidate);
    const switchMs = Date.now() - switchAt;
    await sleep(3_000);
    await switchover.stop();
    const sw = summary(switchover.outcomes);
    report('switchover (patroni, planned)', {
      to: candidate,
      switchoverMs: switchMs,
      maxWriteGapMs: maxWriteGapMs(switchover.outcomes, switchAt - 2_000, Date.now()),
      requests: sw.total,
      failed: sw.failed.length,
      failedAllHonest: sw.failed.every(honest),
      outcomes: sw.byStatus,
    });

    // Every failure was an honest answer (see honest()), never a 500 or no answer.
    const all = [...failover.outcomes, ...switchover.outcomes];
    const dishonest = all.filter((o) => (o.status < 200 || o.status >= 300) && !honest(o));
    expect(dishonest.slice(0, 5)).toEqual([]);
    expect(promotionMs + writesBackMs).toBeLessThanOrEqual(15_000);

    // Every acknowledged write is there, exactly once; nothing was applied twice.
    const database = await connect(cluster.databaseUrl);
    const stored = await database.db
      .selectFrom('applications')
      .select(['id', 'purpose', 'state'])
      .where('purpose', 'like', `${PURPOSE}%`)
      .execute();
    const acknowledged = all.filter((o) => o.kind === 'apply' && o.status === 201);
    const storedIds = new Set(stored.map((a) => a.id));
    expect(acknowledged.filter((o) => !storedIds.has(o.id!)).map((o) => o.purpose)).toEqual([]);
    const perPurpose = new Map<string, number>();
    for (const a of stored) perPurpose.set(a.purpose, (perPurpose.get(a.purpose) ?? 0) + 1);
    expect([...perPurpose].filter(([, n]) => n > 1)).toEqual([]);
    // With Idempotency-Keys and retries every application is resolved, and what was acknowledged
    // (first answer or replay) is exactly what is stored: nothing lost, nothing applied twice.
    const applies = all.filter((o) => o.kind === 'apply');
    const purposes = new Set(applies.map((o) => o.purpose!));
    const ackPurposes = new Set(acknowledged.map((o) => o.purpose!));
    const lostAnswer = new Set(
      applies.filter((o) => o.code === 'IDEMPOTENCY_ANSWER_LOST').map((o) => o.purpose!),
    );
    const unresolved = [...purposes].filter((p) => !ackPurposes.has(p) && !lostAnswer.has(p));
    expect(unresolved).toEqual([]);
    expect([...lostAnswer].filter((p) => !perPurpose.has(p))).toEqual([]);
    expect([...perPurpose.keys()].filter((p) => !ackPurposes.has(p) && !lostAnswer.has(p))).toEqual([]);
    const approvedAck = all.filter((o) => o.kind === 'approve' && o.status === 200).map((o) => o.id!);
    const approvedStored = new Set(stored.filter((a) => a.state === 'approved').map((a) => a.id));
    expect(approvedAck.filter((id) => !approvedStored.has(id))).toEqual([]);
    const verify = await runCli(['audit', 'verify'], {
      DATABASE_URL: cluster.databaseUrl,
      DATA_DIR: dataDir,
    });
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    report('failover: consistency', {
      applications: purposes.size,
      acknowledgedApplications: ackPurposes.size,
      retriedApplications: new Set(
        applies.filter((o) => o.status !== 201 || o.replayed).map((o) => o.purpose!),
      ).size,
      replayed: applies.filter((o) => o.replayed).length,
      inProgress409: applies.filter((o) => o.code === 'IDEMPOTENCY_IN_PROGRESS').length,
      answerLost: lostAnswer.size,
      storedApplications: stored.length,
      acknowledgedApprovals: approvedAck.length,
      lost: 0,
      duplicated: 0,
      auditVerify: 'ok',
    });
  }, 400_000);
});
