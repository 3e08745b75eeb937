/**
 * Failover on a real PostgreSQL cluster (`npm run cluster`: etcd, three PostgreSQL 15 under
 * Patroni with one synchronous standby, HAProxy). Under steady writes (applications, approvals,
 * each with its audit entry) and gateway reads through a Shutong server process, the leader's
 * PostgreSQL is killed with SIGKILL. Promise: Patroni promotes the synchronous standby, Shutong
 * recovers by itself, every failed request was a 503 with Retry-After, every acknowledged write is
 * there exactly once, the audit log verifies, and the old leader rejoins as a replica. Then a
 * planned switchover under the same load. Applications carry an Idempotency-Key and are retried
 * with it until answered: what was acknowledged is exactly what is stored. The scenario itself is
 * `failover-scenario.ts`, which `npm run bench -- failover` runs too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../../scripts/cluster.ts';
import { type FailoverTarget, failoverTarget, runFailover } from './failover-scenario.ts';
import { cleanUp, report } from './support.ts';

let cluster: LocalCluster;
let target: FailoverTarget;

beforeAll(async () => {
  cluster = await startLocalCluster({ database: 'shutong' });
  target = await failoverTarget(cluster);
}, 300_000);

afterAll(async () => {
  await cleanUp();
  await cluster?.stop();
}, 60_000);

describe('the leader PostgreSQL dies under load', () => {
  it('promotes a replica, Shutong recovers by itself, only 503s fail, and no acknowledged write is lost', async () => {
    const run = await runFailover(target);
    report('failover (SIGKILL of the leader PostgreSQL)', run.failover);
    report('switchover (patroni, planned)', run.switchover);
    report('failover: consistency', {
      ...run.consistency,
      lost: run.problems.lost.length,
      duplicated: run.problems.duplicated.length,
      auditVerify: run.problems.auditVerify.code === 0 ? 'ok' : 'failed',
    });

    expect(run.failover.newLeader).not.toBe(run.failover.oldLeader);
    // Every failure was an honest answer (see honest()), never a 500 or no answer.
    expect(run.problems.dishonest.slice(0, 5)).toEqual([]);
    expect(run.failover.writesBackAfterKillMs).toBeLessThanOrEqual(15_000);
    // Every acknowledged write is there, exactly once; nothing was applied twice; every
    // application was resolved, and what was acknowledged is exactly what is stored.
    expect(run.problems.lost).toEqual([]);
    expect(run.problems.duplicated).toEqual([]);
    expect(run.problems.unresolved).toEqual([]);
    expect(run.problems.answerLostNotStored).toEqual([]);
    expect(run.problems.storedUnacknowledged).toEqual([]);
    expect(run.problems.approvalsLost).toEqual([]);
    expect(run.problems.auditVerify.code, run.problems.auditVerify.output).toBe(0);
  }, 400_000);
});
