import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { FIRST_SEQ } from '../src/audit/entry.ts';
import { toHex } from '../src/audit/merkle.ts';
import { signHead, verifyLog } from '../src/audit/service.ts';
import { readTreeState } from '../src/audit/store.ts';
import { appendAudit } from '../src/core/audit-trail.ts';
import { cliCtx } from '../src/core/context.ts';
import type { Db } from '../src/core/db.ts';
import { diskTarget, migrated, type Target } from './audit-support.ts';

const WORKER = path.resolve('test/fixtures/audit-append-worker.ts');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function target(): Promise<Target> {
  const t = await diskTarget();
  cleanups.push(() => t.drop());
  return t;
}

/** Every seq from 1 to n exactly once, and the tree state, the rows and a fresh signed head agree. */
async function expectOneConsistentTree(db: Db, t: Target, n: number): Promise<void> {
  const seqs = (await db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => r.seq);
  expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + FIRST_SEQ));
  const state = await readTreeState(db);
  expect(state.frontier.size).toBe(n);
  const head = await signHead(cliCtx(db, t.config), { ifGrown: true });
  const report = await verifyLog(cliCtx(db, t.config));
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.treeSize).toBe(n);
  expect(report.rootHash).toBe(toHex(state.frontier.root()));
  expect(head?.rootHash).toBe(report.rootHash);
}

function runWorker(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('concurrent appends', () => {
  it.runIf(process.env.TEST_DATABASE_URL)(
    'two OS processes appending to one PostgreSQL database at once give one gap-free, consistent tree',
    async () => {
      const t = await target();
      const database = await migrated(t);
      cleanups.push(() => database.close());
      const startAt = String(Date.now() + 5_000);
      const env = { DATABASE_URL: t.env.DATABASE_URL!, COUNT: '300', WORKERS: '4', START_AT: startAt };
      const [a, b] = await Promise.all([runWorker({ ...env, TAG: 'a' }), runWorker({ ...env, TAG: 'b' })]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(JSON.parse(a.stdout).rolledBack).toBeGreaterThan(0);
      await expectOneConsistentTree(database.db, t, 600);
      // The two processes really interleaved: the log switches between them many times.
      const actions = (
        await database.db.selectFrom('audit_events').select('action').orderBy('seq').execute()
      ).map((r) => r.action);
      const switches = actions.filter((a, i) => i > 0 && a !== actions[i - 1]).length;
      expect(switches).toBeGreaterThan(10);
    },
  );

  it(`many concurrent transactions in one process (${process.env.TEST_DATABASE_URL ? 'PostgreSQL pool' : 'embedded: one process owns the data'}), some rolled back, give one gap-free tree`, async () => {
    const t = await target();
    const database = await migrated(t);
    cleanups.push(() => database.close());
    let done = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let k = 0; k < 12; k++) {
          const abort = k % 4 === 3;
          await database.db
            .transaction()
            .execute(async (tx) => {
              for (let i = 0; i <= k % 3; i++) {
                await appendAudit(tx, {
                  actorId: `usr_${w}`,
                  orgId: null,
                  action: 'test.concurrent',
                  objectType: 'worker',
                  objectId: String(w),
                  details: { k, i },
                });
              }
              if (abort) throw new Error('rollback on purpose');
              done += (k % 3) + 1;
            })
            .catch((err: Error) => {
              if (err.message !== 'rollback on purpose') throw err;
            });
        }
      }),
    );
    expect(done).toBeGreaterThan(0);
    await expectOneConsistentTree(database.db, t, done);
  });

  it('appends outside a transaction and many times inside one are both leaves in order', async () => {
    const t = await target();
    const database = await migrated(t);
    cleanups.push(() => database.close());
    const ev = (i: number) => ({
      actorId: null,
      orgId: null,
      action: 'test.shape',
      objectType: 't',
      objectId: String(i),
    });
    const lone = await appendAudit(database.db, ev(0));
    expect(lone.seq).toBe(1);
    const seqs = await database.db.transaction().execute(async (tx) => {
      const out: number[] = [];
      for (let i = 1; i <= 50; i++) out.push((await appendAudit(tx, ev(i))).seq);
      return out;
    });
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    // A savepoint rolled back after an append: the position is reused, the tree does not fork.
    const again = await database.db.transaction().execute(async (tx) => {
      await sql`savepoint s`.execute(tx);
      expect((await appendAudit(tx, ev(51))).seq).toBe(52);
      await sql`rollback to savepoint s`.execute(tx);
      return (await appendAudit(tx, ev(52))).seq;
    });
    expect(again).toBe(52);
    await expectOneConsistentTree(database.db, t, 52);
  });
});
