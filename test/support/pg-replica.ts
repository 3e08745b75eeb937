/**
 * A throwaway PostgreSQL primary with one streaming replica, made from the machine's own
 * PostgreSQL binaries (initdb, then pg_basebackup -R) on free ports in a temporary directory. The
 * machine's server on 5432 is never touched. Missing binaries fail the test with a message: the
 * read routing is a promise about real replication, so it is not skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, postgresBin, unprivileged } from '../../scripts/processes.ts';

export interface ReplicatedCluster {
  primaryUrl: string;
  replicaUrl: string;
  /** Runs SQL on the primary's `postgres` database. */
  primary(statement: string): Promise<pg.QueryResult>;
  /** Runs SQL on the replica's `postgres` database. */
  replica(statement: string): Promise<pg.QueryResult>;
  /** Database URLs of one database on both servers. */
  database(name: string): { primary: string; replica: string };
  /** Waits until the replica has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  /**
   * Restarts the replica with these server settings (none: as it was started). With a recovery
   * target (`recovery_target_xid` and `recovery_target_action: 'pause'`) its replay stops exactly
   * there, between two commits of the primary; restarted without, it streams and replays again.
   */
  restartReplica(settings?: Record<string, string>): Promise<void>;
  /** Stops the primary as a crash would (pg_ctl -m immediate). */
  crashPrimary(): Promise<void>;
  /** Starts the crashed primary again (crash recovery, same port). */
  startPrimary(): Promise<void>;
  stop(): Promise<void>;
}

async function query(url: string, statement: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function replicatedCluster(): Promise<ReplicatedCluster> {
  const bin = postgresBin();
  const user = await unprivileged();
  const as = user.exec;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shutong-replica-'));
  user.own(dir);
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const must = async (what: string, run: Promise<{ code: number | null; output: string }>) => {
    const result = await run;
    if (result.code !== 0) throw new Error(`${what}: ${result.output}`);
  };
  const options = (port: number) =>
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=60`;
  const pgCtl = (data: string, ...args: string[]) => as(`${bin}/pg_ctl`, ['-D', `${dir}/${data}`, ...args]);
  const started: string[] = [];
  const stop = async () => {
    for (const data of started.reverse()) await pgCtl(data, '-m', 'immediate', '-w', 'stop');
    started.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await must(
      'initdb',
      as(`${bin}/initdb`, [
        '-D',
        `${dir}/primary`,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
        '--no-sync',
      ]),
    );
    await must(
      'pg_ctl start (primary)',
      pgCtl('primary', '-l', `${dir}/primary.log`, '-w', '-o', options(primaryPort), 'start'),
    );
    started.push('primary');
    // -R writes primary_conninfo and standby.signal: the copy starts as a streaming replica.
    await must(
      'pg_basebackup',
      as(`${bin}/pg_basebackup`, [
        '-h',
        '127.0.0.1',
        '-p',
        String(primaryPort),
        '-U',
        'postgres',
        '-D',
        `${dir}/replica`,
        '-R',
        '-X',
        'stream',
        '--no-sync',
      ]),
    );
    await must(
      'pg_ctl start (replica)',
      pgCtl('replica', '-l', `${dir}/replica.log`, '-w', '-o', options(replicaPort), 'start'),
    );
    started.push('replica');
  } catch (error) {
    await stop();
    throw error;
  }
  const url = (port: number, name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  const primaryUrl = url(primaryPort, 'postgres');
  const replicaUrl = url(replicaPort, 'postgres');
  return {
    primaryUrl,
    replicaUrl,
    primary: (statement) => query(primaryUrl, statement),
    replica: (statement) => query(replicaUrl, statement),
    database: (name) => ({ primary: url(primaryPort, name), replica: url(replicaPort, name) }),
    async caughtUp() {
      const { rows } = await query(primaryUrl, 'select pg_current_wal_lsn()::text as lsn');
      const target = rows[0].lsn as string;
      for (;;) {
        const replayed = await query(
          replicaUrl,
          `select pg_last_wal_replay_lsn() >= '${target}'::pg_lsn as done, pg_is_wal_replay_paused() as paused`,
        );
        if (replayed.rows[0].done) return;
        if (replayed.rows[0].paused) throw new Error('the replica is paused: it cannot catch up');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async restartReplica(settings = {}) {
      await must('pg_ctl stop (replica)', pgCtl('replica', '-m', 'fast', '-w', 'stop'));
      const extra = Object.entries(settings).map(([name, value]) => ` -c ${name}=${value}`);
      await must(
        'pg_ctl start (replica)',
        pgCtl(
          'replica',
          '-l',
          `${dir}/replica.log`,
          '-w',
          '-o',
          `${options(replicaPort)}${extra.join('')}`,
          'start',
        ),
      );
      // The replica takes connections once consistent, before its replay reaches the target.
      if (!('recovery_target_action' in settings)) return;
      for (;;) {
        const { rows } = await query(replicaUrl, 'select pg_is_wal_replay_paused() as paused');
        if (rows[0].paused) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async crashPrimary() {
      await must('pg_ctl stop (primary)', pgCtl('primary', '-m', 'immediate', '-w', 'stop'));
      started.splice(started.indexOf('primary'), 1);
    },
    async startPrimary() {
      await must(
        'pg_ctl start (primary)',
        pgCtl('primary', '-l', `${dir}/primary.log`, '-w', '-o', options(primaryPort), 'start'),
      );
      started.unshift('primary');
    },
    stop,
  };
}
