/**
 * Audit appends from separate OS processes: PostgreSQL server only (an embedded database belongs
 * to one process), so vitest.config.ts runs *.server.test.ts files only when TEST_DATABASE_URL is set.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneConsistentTree, migrated, targetsPerTest } from './audit-support.ts';
import { runNode } from './helpers.ts';

const WORKER = path.resolve('test/fixtures/audit-append-worker.ts');
const { target, cleanups } = targetsPerTest();

const runWorker = (env: Record<string, string>) => runNode(['--import', 'tsx', WORKER], env);

describe('concurrent appends from two processes', () => {
  it('two OS processes appending to one PostgreSQL database at once give one gap-free, consistent tree', async () => {
    const t = await target();
    const database = await migrated(t);
    cleanups.push(() => database.close());
    // Both must be running before the common start, or one could finish before the other begins.
    const startAt = String(Date.now() + 20_000);
    const env = { DATABASE_URL: t.env.DATABASE_URL!, COUNT: '600', WORKERS: '4', START_AT: startAt };
    const [a, b] = await Promise.all([runWorker({ ...env, TAG: 'a' }), runWorker({ ...env, TAG: 'b' })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [ra, rb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    expect([ra.late, rb.late], 'a process started after the common start time').toEqual([0, 0]);
    expect(ra.rolledBack).toBeGreaterThan(0);
    await expectOneConsistentTree(database.db, t, 1200);
    // The two processes really interleaved: the log switches between them many times.
    const actions = (
      await database.db.selectFrom('audit_events').select('action').orderBy('seq').execute()
    ).map((r) => r.action);
    const switches = actions.filter((a, i) => i > 0 && a !== actions[i - 1]).length;
    expect(switches).toBeGreaterThan(10);
  });
});
