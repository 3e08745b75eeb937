import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { Executor } from './db.ts';
import { AppError } from './errors.ts';
import { newId } from './ids.ts';
import { applyTransition, type Lifecycle } from './lifecycle.ts';
import type { JobState } from './tables.ts';

/**
 * Long-running work (imports, scans) as rows of `jobs`. A job runs on the node that started it
 * (an import's file is on that node's disk) and holds a lease it renews while it works. A lease
 * that runs out means its node died: `sweepAbandonedJobs` marks such jobs failed, once, on
 * whichever node gets there first (row locks with SKIP LOCKED), and lets the caller clean up.
 */
export const NODE_ID = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
/**
 * How long a lease lasts without renewal (JOB_LEASE_SECONDS, default 60): how soon another node
 * may declare a silent node's job lost. Renewals and sweeps run at fractions of it.
 */
export const LEASE_SECONDS = leaseSeconds(process.env.JOB_LEASE_SECONDS);

function leaseSeconds(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 60;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 2) {
    throw new Error(
      `环境变量 JOB_LEASE_SECONDS 必须是不小于 2 的整数 / JOB_LEASE_SECONDS must be an integer ≥ 2, got "${raw}"`,
    );
  }
  return value;
}

/**
 * A job starts running on its node (there is no queue: an import's file is on that node's disk)
 * and ends once. Its outcome is recorded by the work it did (an import's `version.create`), so the
 * transitions themselves write no audit entry.
 */
export const JOB_LIFECYCLE = [
  { from: ['running'], event: 'succeed', to: 'succeeded' },
  { from: ['running'], event: 'fail', to: 'failed' },
] as const satisfies readonly { from: readonly JobState[]; event: string; to: JobState }[];
const JOBS: Lifecycle<JobState, (typeof JOB_LIFECYCLE)[number]['event']> = {
  objectType: 'job',
  table: 'jobs',
  transitions: JOB_LIFECYCLE,
};

export interface JobProgress {
  rows?: number;
  bytes?: number;
  totalBytes?: number;
  percent?: number;
  [key: string]: unknown;
}

export async function startJob(
  db: Executor,
  job: {
    kind: string;
    objectType: string;
    objectId: string;
    payload: Record<string, unknown>;
    createdBy: string;
  },
) {
  return db
    .insertInto('jobs')
    .values({
      id: newId('job'),
      kind: job.kind,
      state: 'running',
      object_type: job.objectType,
      object_id: job.objectId,
      payload: JSON.stringify(job.payload),
      progress: JSON.stringify({}),
      node: NODE_ID,
      lease_until: sql<Date>`now() + make_interval(secs => ${LEASE_SECONDS})`,
      created_by: job.createdBy,
      started_at: new Date(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Records progress and renews the lease; false when the job is no longer ours to run. */
export async function reportProgress(db: Executor, id: string, progress: JobProgress): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({
      progress: JSON.stringify(progress),
      lease_until: sql<Date>`now() + make_interval(secs => ${LEASE_SECONDS})`,
    })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('node', '=', NODE_ID)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function endJob(
  db: Executor,
  id: string,
  state: Extract<JobState, 'succeeded' | 'failed'>,
  outcome: { result?: Record<string, unknown>; error?: Record<string, unknown>; progress?: JobProgress },
) {
  await applyTransition(db, JOBS, { id, state: 'running' }, state === 'succeeded' ? 'succeed' : 'fail', {
    set: {
      result: outcome.result ? JSON.stringify(outcome.result) : null,
      error: outcome.error ? JSON.stringify(outcome.error) : null,
      ...(outcome.progress ? { progress: JSON.stringify(outcome.progress) } : {}),
      lease_until: null,
      finished_at: new Date(),
    },
    audit: null,
  }).catch(ignoreLostRace);
}

/** A job another node already ended (a sweep that judged it lost) stays as that node left it. */
function ignoreLostRace(err: unknown): void {
  if (!(err instanceof AppError && err.code === 'INVALID_TRANSITION')) throw err;
}

export function findJob(db: Executor, id: string) {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Fails running jobs whose node stopped renewing their lease (or, with `allForeign`, every
 * running job of another node: an embedded database has one process, so they are all dead),
 * calling `cleanUp` for each in the same transaction.
 */
export async function sweepAbandonedJobs(
  db: Executor,
  cleanUp: (tx: Executor, job: { id: string; kind: string; object_id: string | null }) => Promise<void>,
  options: { allForeign?: boolean } = {},
): Promise<number> {
  const candidates = await db
    .selectFrom('jobs')
    .select('id')
    .where('state', '=', 'running')
    .where((eb) =>
      options.allForeign
        ? eb('node', '<>', NODE_ID)
        : eb.or([eb('lease_until', '<', sql<Date>`now()`), eb('lease_until', 'is', null)]),
    )
    .execute();
  let swept = 0;
  for (const { id } of candidates) {
    const done = await (db.isTransaction ? run(db) : db.transaction().execute(run));
    if (done) swept++;
    async function run(tx: Executor): Promise<boolean> {
      const job = await tx
        .selectFrom('jobs')
        .select(['id', 'kind', 'object_id'])
        .where('id', '=', id)
        .where('state', '=', 'running')
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!job) return false;
      await cleanUp(tx, job);
      await applyTransition(tx, JOBS, { id, state: 'running' }, 'fail', {
        set: {
          error: JSON.stringify({
            code: 'NODE_LOST',
            message:
              '执行该任务的节点已停止，任务未完成 / the node running this job stopped before it finished',
          }),
          lease_until: null,
          finished_at: new Date(),
        },
        audit: null,
      });
      return true;
    }
  }
  return swept;
}
