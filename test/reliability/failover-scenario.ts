/**
 * The failover scenario of issue 21 on a local Patroni cluster (`scripts/cluster.ts`), shared by
 * the reliability test, which asserts its promises, and `npm run bench -- failover`, which prints
 * its figures. Under steady writes (applications with Idempotency-Keys, approvals, each with its
 * audit entry), gateway reads and catalog searches through a Shutong server process, the leader's
 * PostgreSQL is killed with SIGKILL; once the old leader has rejoined, a planned switchover runs
 * under the same load. What it returns is measured, never judged here: the promotion and the
 * write gap, every request's outcome, and what the database holds afterwards against what was
 * acknowledged.
 */
import { randomUUID } from 'node:crypto';
import type { LocalCluster } from '../../scripts/cluster.ts';
import {
  apiKey,
  applicationFor,
  call,
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
  reviewed,
  runCli,
  sleep,
  startNode,
  tempDir,
} from './support.ts';

const PURPOSE = '切换测试';

export interface FailoverTarget {
  cluster: LocalCluster;
  node: Node;
  dataDir: string;
  tokens: { steward: string; consumer: string; key: string };
  resource: { id: string; code: string };
  contract: string;
}

/**
 * A Shutong server process on the cluster (writes on the leader through HAProxy, reads routed to
 * the replicas) with a graded, reviewed 200-row resource, a consumer's contract on it (rate limit
 * out of the way) and the consumer's gateway key.
 */
export async function failoverTarget(cluster: LocalCluster): Promise<FailoverTarget> {
  await prepareDatabase(cluster.databaseUrl);
  const dataDir = tempDir('failover');
  const node = await startNode({
    name: 'node-1',
    databaseUrl: cluster.databaseUrl,
    dataDir,
    env: { DATABASE_READ_URL: cluster.readUrl },
  });
  const steward = await login(node.base, 'steward.health');
  const consumer = await login(node.base, 'consumer.civil');
  const resource = await createResource(node.base, steward, '门诊就诊记录（切换）');
  await importCsv(node.base, steward, resource.code, csvOf(200, 'fo'));
  const setup = await connect(cluster.databaseUrl);
  await gradeFields(setup.db, resource.id);
  await reviewed(node.base, resource.code);
  const contract = await contractFor(node.base, { consumer, steward }, resource.code);
  await setup.db
    .updateTable('contracts')
    .set({ rate_limit_per_minute: 1_000_000 })
    .where('id', '=', contract)
    .execute();
  await setup.close();
  const key = (await apiKey(node.base, consumer, ['gateway'])).secret as string;
  return { cluster, node, dataDir, tokens: { steward, consumer, key }, resource, contract };
}

/**
 * A refusal that tells the client the truth: 503 with Retry-After; for an idempotent retry, 409
 * IDEMPOTENCY_IN_PROGRESS with Retry-After (its first attempt is still being settled) or 409
 * IDEMPOTENCY_ANSWER_LOST (it committed, its answer was cut; never applied again).
 */
export function honest(o: Outcome): boolean {
  if (o.status === 503) return o.retryAfter;
  if (o.status === 409 && o.code === 'IDEMPOTENCY_IN_PROGRESS') return o.retryAfter;
  return o.status === 409 && o.code === 'IDEMPOTENCY_ANSWER_LOST';
}

export interface Outcome {
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
function load(target: FailoverTarget, phase: Outcome['phase']) {
  const { node, tokens: t, resource, contract } = target;
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

async function until(
  cluster: LocalCluster,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - start;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await cluster.members())}`);
}

export interface FailoverRun {
  failover: {
    oldLeader: string;
    newLeader: string | undefined;
    promotionMs: number;
    writesBackAfterKillMs: number;
    maxWriteGapMs: number;
    requests: number;
    failed: number;
    failedAllHonest: boolean;
    rejoinedAfterKillMs: number;
    outcomes: Record<string, number>;
  };
  switchover: {
    to: string;
    switchoverMs: number;
    maxWriteGapMs: number;
    requests: number;
    failed: number;
    failedAllHonest: boolean;
    outcomes: Record<string, number>;
  };
  consistency: {
    applications: number;
    acknowledgedApplications: number;
    retriedApplications: number;
    replayed: number;
    inProgress409: number;
    answerLost: number;
    storedApplications: number;
    acknowledgedApprovals: number;
  };
  /** Each broken promise, listed (every list empty and `auditVerify.code` 0 when all held). */
  problems: {
    /** Failed requests that were not an honest refusal (see `honest`). */
    dishonest: Outcome[];
    /** Acknowledged applications (their purposes) not stored. */
    lost: string[];
    /** Purposes stored more than once. */
    duplicated: Array<[string, number]>;
    /** Applications neither acknowledged nor told IDEMPOTENCY_ANSWER_LOST. */
    unresolved: string[];
    /** Told IDEMPOTENCY_ANSWER_LOST (committed, answer cut) yet not stored. */
    answerLostNotStored: string[];
    /** Stored without having been acknowledged or told IDEMPOTENCY_ANSWER_LOST. */
    storedUnacknowledged: string[];
    /** Acknowledged approvals not stored as approved. */
    approvalsLost: string[];
    auditVerify: { code: number | null; output: string };
  };
}

/** Kills the leader's PostgreSQL under load, waits for the old leader to rejoin, then switches over. */
export async function runFailover(target: FailoverTarget): Promise<FailoverRun> {
  const { cluster } = target;
  const oldLeader = await cluster.leader();
  if (oldLeader === undefined) throw new Error(`no leader: ${JSON.stringify(await cluster.members())}`);
  const failover = load(target, 'failover');
  await sleep(3_000);
  const killedAt = Date.now();
  cluster.killPostgres(oldLeader);
  const promotionMs = await until(cluster, 'a new leader', 60_000, async () => {
    const leader = await cluster.leader();
    return leader !== undefined && leader !== oldLeader;
  });
  const newLeader = await cluster.leader();
  // Shutong writes again without being restarted.
  const writesBackMs = await until(cluster, 'writes through Shutong', 60_000, async () =>
    failover.outcomes.some((o) => o.kind === 'apply' && o.status === 201 && o.at > killedAt + promotionMs),
  );
  await sleep(3_000);
  await until(cluster, 'the old leader to rejoin as a replica', 120_000, async () => {
    const member = (await cluster.members()).find((m) => m.name === oldLeader);
    return (
      member !== undefined && member.role !== 'leader' && ['running', 'streaming'].includes(member.state)
    );
  });
  const rejoinedAfterKillMs = Date.now() - killedAt;
  await failover.stop();
  const failoverEnd = Date.now();
  const fo = summary(failover.outcomes);

  // Planned switchover back under the same load.
  const switchover = load(target, 'switchover');
  await sleep(2_000);
  // In synchronous mode only the synchronous standby may take over: nothing acknowledged is lost.
  await until(cluster, 'a synchronous standby', 60_000, async () =>
    (await cluster.members()).some((m) => m.role === 'sync_standby'),
  );
  const candidate = (await cluster.members()).find((m) => m.role === 'sync_standby')?.name;
  if (candidate === undefined) throw new Error('the synchronous standby went away');
  const switchAt = Date.now();
  await cluster.switchover(candidate);
  await until(cluster, 'the switchover', 60_000, async () => (await cluster.leader()) === candidate);
  const switchoverMs = Date.now() - switchAt;
  await sleep(3_000);
  await switchover.stop();
  const switchoverEnd = Date.now();
  const sw = summary(switchover.outcomes);

  // What the database holds against what was acknowledged.
  const all = [...failover.outcomes, ...switchover.outcomes];
  const database = await connect(cluster.databaseUrl);
  const stored = await database.db
    .selectFrom('applications')
    .select(['id', 'purpose', 'state'])
    .where('purpose', 'like', `${PURPOSE}%`)
    .execute();
  await database.close();
  const acknowledged = all.filter((o) => o.kind === 'apply' && o.status === 201);
  const storedIds = new Set(stored.map((a) => a.id));
  const perPurpose = new Map<string, number>();
  for (const a of stored) perPurpose.set(a.purpose, (perPurpose.get(a.purpose) ?? 0) + 1);
  // With Idempotency-Keys and retries every application is resolved, and what was acknowledged
  // (first answer or replay) is exactly what is stored: nothing lost, nothing applied twice.
  const applies = all.filter((o) => o.kind === 'apply');
  const purposes = new Set(applies.map((o) => o.purpose!));
  const ackPurposes = new Set(acknowledged.map((o) => o.purpose!));
  const lostAnswer = new Set(
    applies.filter((o) => o.code === 'IDEMPOTENCY_ANSWER_LOST').map((o) => o.purpose!),
  );
  const approvedAck = all.filter((o) => o.kind === 'approve' && o.status === 200).map((o) => o.id!);
  const approvedStored = new Set(stored.filter((a) => a.state === 'approved').map((a) => a.id));
  const verify = await runCli(['audit', 'verify'], {
    DATABASE_URL: cluster.databaseUrl,
    DATA_DIR: target.dataDir,
  });
  return {
    failover: {
      oldLeader,
      newLeader,
      promotionMs,
      writesBackAfterKillMs: promotionMs + writesBackMs,
      maxWriteGapMs: maxWriteGapMs(failover.outcomes, killedAt - 3_000, failoverEnd),
      requests: fo.total,
      failed: fo.failed.length,
      failedAllHonest: fo.failed.every(honest),
      rejoinedAfterKillMs,
      outcomes: fo.byStatus,
    },
    switchover: {
      to: candidate,
      switchoverMs,
      maxWriteGapMs: maxWriteGapMs(switchover.outcomes, switchAt - 2_000, switchoverEnd),
      requests: sw.total,
      failed: sw.failed.length,
      failedAllHonest: sw.failed.every(honest),
      outcomes: sw.byStatus,
    },
    consistency: {
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
    },
    problems: {
      dishonest: all.filter((o) => (o.status < 200 || o.status >= 300) && !honest(o)),
      lost: acknowledged.filter((o) => !storedIds.has(o.id!)).map((o) => o.purpose!),
      duplicated: [...perPurpose].filter(([, n]) => n > 1),
      unresolved: [...purposes].filter((p) => !ackPurposes.has(p) && !lostAnswer.has(p)),
      answerLostNotStored: [...lostAnswer].filter((p) => !perPurpose.has(p)),
      storedUnacknowledged: [...perPurpose.keys()].filter((p) => !ackPurposes.has(p) && !lostAnswer.has(p)),
      approvalsLost: approvedAck.filter((id) => !approvedStored.has(id)),
      auditVerify: { code: verify.code, output: `${verify.stdout}\n${verify.stderr}` },
    },
  };
}
