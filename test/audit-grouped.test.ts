import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditGrouped } from '../src/audit/append.ts';
import type { DatabaseHandle } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { freshDatabase } from './helpers.ts';

/**
 * Grouped appends (the gateway's per-call record): entries of concurrent callers share an insert,
 * but each caller is answered only once its own entry is committed, and one faulty entry fails
 * only its own caller.
 */
let database: DatabaseHandle;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ database, drop } = await freshDatabase());
  await migrate(database.db);
});
afterAll(() => drop());

const event = (i: number, note = `call ${i}`) => ({
  actorId: null,
  orgId: null,
  action: 'gateway.rows',
  objectType: 'contract',
  objectId: `ctr_${i}`,
  details: { note },
});

async function committed(ids: string[]): Promise<Set<string>> {
  const rows = await database.db.selectFrom('audit_events').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}

describe('grouped audit appends', () => {
  it('answers each caller only once its entry is committed, and loses none of many concurrent ones', async () => {
    const seenAtAnswer: boolean[] = [];
    const ids = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const { id } = await appendAuditGrouped(database.db, event(i));
        // Read on another statement right at the answer: the entry is already there.
        seenAtAnswer.push((await committed([id])).has(id));
        return id;
      }),
    );
    expect(seenAtAnswer.every(Boolean)).toBe(true);
    expect((await committed(ids)).size).toBe(60);
    expect(new Set(ids).size).toBe(60);
  });

  it('fails only the caller whose entry the database refuses', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        // jsonb refuses the NUL character: entry 4 cannot be stored.
        appendAuditGrouped(database.db, event(i, i === 4 ? 'bad\u0000value' : `ok ${i}`)),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[4]?.status).toBe('rejected');
    const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.id] : []));
    expect((await committed(ids)).size).toBe(9);
  });
});
