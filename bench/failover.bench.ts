/**
 * The failover figures of issue 21 (`npm run bench -- failover`): the reliability suite's
 * scenario (`test/reliability/failover-scenario.ts`) on a local Patroni cluster — the leader's
 * PostgreSQL killed with SIGKILL under steady writes, reads and searches through a Shutong server
 * process, then a planned switchover under the same load — measured and printed rather than
 * asserted: seconds until a replica is promoted and writes go through Shutong again, the longest
 * stretch without an acknowledged write, every request's outcome, and what the database holds
 * against what was acknowledged. Needs root (or Patroni, etcd and HAProxy installed) like
 * `npm run cluster`; takes about two minutes.
 */
import { startLocalCluster } from '../scripts/cluster.ts';
import { failoverTarget, runFailover } from '../test/reliability/failover-scenario.ts';
import { cleanUp } from '../test/reliability/support.ts';
import { type BenchReport, fmt } from './support.ts';

const seconds = (ms: number) => `${fmt(ms / 1000, 1)} s`;

export async function run(): Promise<BenchReport> {
  const cluster = await startLocalCluster({ database: 'shutong' });
  try {
    const { failover, switchover, consistency, problems } = await runFailover(await failoverTarget(cluster));
    const answers = (outcomes: Record<string, number>) =>
      Object.entries(outcomes)
        .map(([what, n]) => `${what}: ${n}`)
        .join(', ');
    return {
      title: 'Failover and switchover on a local Patroni cluster (3 × PostgreSQL 15, 1 synchronous standby)',
      table: {
        'failover (SIGKILL of the leader)': {
          'promoted after': seconds(failover.promotionMs),
          'writes back after': seconds(failover.writesBackAfterKillMs),
          'longest write gap': seconds(failover.maxWriteGapMs),
          requests: failover.requests,
          failed: failover.failed,
          'old leader rejoined after': seconds(failover.rejoinedAfterKillMs),
        },
        'switchover (patronictl, planned)': {
          'promoted after': seconds(switchover.switchoverMs),
          'writes back after': '—',
          'longest write gap': seconds(switchover.maxWriteGapMs),
          requests: switchover.requests,
          failed: switchover.failed,
          'old leader rejoined after': '—',
        },
      },
      goals: [
        {
          name: 'failover: seconds without writes (kill → writes through Shutong again)',
          value: seconds(failover.writesBackAfterKillMs),
          goal: '≤ 15 s',
          met: failover.writesBackAfterKillMs <= 15_000,
        },
        {
          name: 'failover and switchover: failed requests that were not a 503 with Retry-After (or an idempotent retry’s honest 409)',
          value: String(problems.dishonest.length),
          goal: '0',
          met: problems.dishonest.length === 0,
        },
        {
          name: 'acknowledged writes lost',
          value: String(problems.lost.length + problems.approvalsLost.length),
          goal: '0',
          met: problems.lost.length + problems.approvalsLost.length === 0,
        },
        {
          name: 'writes applied twice',
          value: String(problems.duplicated.length),
          goal: '0',
          met: problems.duplicated.length === 0,
        },
        {
          name: 'audit verify after both switches',
          value: problems.auditVerify.code === 0 ? 'ok' : 'failed',
          goal: 'ok',
          met: problems.auditVerify.code === 0,
        },
        {
          name: 'switchover: failed requests',
          value: String(switchover.failed),
          goal: '0',
          met: switchover.failed === 0,
        },
      ],
      notes: [
        `failover answers: ${answers(failover.outcomes)}`,
        `switchover answers: ${answers(switchover.outcomes)}`,
        `applications ${consistency.applications} (acknowledged ${consistency.acknowledgedApplications}, retried ${consistency.retriedApplications}, replayed answers ${consistency.replayed}, 409 in progress ${consistency.inProgress409}, answer lost ${consistency.answerLost}); stored ${consistency.storedApplications}; approvals acknowledged ${consistency.acknowledgedApprovals}`,
        `leader ${failover.oldLeader} killed, ${failover.newLeader} promoted; switched over to ${switchover.to}`,
      ],
    };
  } finally {
    await cleanUp();
    await cluster.stop();
  }
}
