import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { appendAudit } from '../src/audit/append.ts';
import { FIRST_SEQ } from '../src/audit/entry.ts';
import { integrateAudit } from '../src/audit/integrate.ts';
import { platformKey, verifyLog } from '../src/audit/service.ts';
import { readTreeState } from '../src/audit/store.ts';
import { cliCtx } from '../src/core/context.ts';
import { expectOneConsistentTree, migrated, targetsPerTest } from './audit-support.ts';

const { target, cleanups } = targetsPerTest();

describe('concurrent appends', () => {
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

  it('appends outside a transaction and many times inside one join the tree in append order', async () => {
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
    await appendAudit(database.db, ev(0));
    await database.db.transaction().execute(async (tx) => {
      for (let i = 1; i <= 50; i++) await appendAudit(tx, ev(i));
      // Integration inside the appending transaction sees (and positions) its own entries.
      expect(await integrateAudit(tx)).toBe(51);
    });
    // A savepoint rolled back after an append: the entry is gone, no position was spent on it.
    await database.db.transaction().execute(async (tx) => {
      await sql`savepoint s`.execute(tx);
      await appendAudit(tx, ev(-1));
      await sql`rollback to savepoint s`.execute(tx);
      await appendAudit(tx, ev(51));
    });
    // A transaction that integrated and then rolled back takes its positions back with it.
    await database.db
      .transaction()
      .execute(async (tx) => {
        await appendAudit(tx, ev(-2));
        expect(await integrateAudit(tx)).toBe(2);
        throw new Error('rollback on purpose');
      })
      .catch((err: Error) => {
        if (err.message !== 'rollback on purpose') throw err;
      });
    await appendAudit(database.db, ev(52));
    await expectOneConsistentTree(database.db, t, 53);
    const objects = (
      await database.db.selectFrom('audit_events').select('object_id').orderBy('seq').execute()
    ).map((r) => Number(r.object_id));
    expect(objects).toEqual(Array.from({ length: 53 }, (_, i) => i));
  });

  it('an entry is pending until integrated: readers see it then, at the next position', async () => {
    const t = await target();
    const database = await migrated(t);
    cleanups.push(() => database.close());
    const appended = await appendAudit(database.db, {
      actorId: null,
      orgId: null,
      action: 'test.pending',
      objectType: 't',
      objectId: 'p',
    });
    const before = await database.db.selectFrom('audit_events').select(['seq', 'leaf_hash']).execute();
    expect(before).toEqual([{ seq: null, leaf_hash: null }]);
    expect((await readTreeState(database.db)).frontier.size).toBe(0);
    await platformKey(t.config);
    // Verification is read-only: it reports the entry as pending and leaves it so.
    const pending = await verifyLog(cliCtx(database.db, t.config));
    expect(pending.ok).toBe(true);
    expect(pending.treeSize).toBe(0);
    expect(pending.pending).toBe(1);
    expect((await readTreeState(database.db)).frontier.size).toBe(0);
    // Readers that need positions integrate first; then verification covers the entry.
    await integrateAudit(database.db);
    const report = await verifyLog(cliCtx(database.db, t.config));
    expect(report.ok).toBe(true);
    expect(report.treeSize).toBe(1);
    expect(report.pending).toBe(0);
    const after = await database.db.selectFrom('audit_events').select(['id', 'seq']).execute();
    expect(after).toEqual([{ id: appended.id, seq: FIRST_SEQ }]);
  });

  it('the database refuses any other change to a pending entry than its integration', async () => {
    const t = await target();
    const database = await migrated(t);
    cleanups.push(() => database.close());
    const { id } = await appendAudit(database.db, {
      actorId: null,
      orgId: null,
      action: 'test.pending',
      objectType: 't',
      objectId: 'p',
    });
    const refused = (q: Promise<unknown>) => expect(q).rejects.toThrow(/append-only/);
    await refused(sql`update audit_events set action = 'other' where id = ${id}`.execute(database.db));
    await refused(
      sql`update audit_events set seq = 1, leaf_hash = ${Buffer.alloc(32)}, action = 'x' where id = ${id}`.execute(
        database.db,
      ),
    );
    await refused(sql`delete from audit_events where id = ${id}`.execute(database.db));
    await expectOneConsistentTree(database.db, t, 1);
  });
});
