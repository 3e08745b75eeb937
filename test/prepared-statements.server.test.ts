/**
 * Statements marked PREPARED (core/db.ts) are planned once per server connection and reused —
 * the gateway's admission and credential look-ups. What must hold: the statement is really
 * prepared (the server lists it), answers stay right, and a plan made stale by a schema change
 * (another node migrating under a running one) is prepared anew instead of failing every request.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREPARED } from '../src/core/db.ts';
import { freshDatabase } from './helpers.ts';

let fresh: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  fresh = await freshDatabase();
  await sql`CREATE TABLE sample (id int PRIMARY KEY, label text)`.execute(fresh.database.db);
  await sql`INSERT INTO sample VALUES (1, 'one'), (2, 'two')`.execute(fresh.database.db);
});
afterAll(async () => {
  await fresh.drop();
});

describe('prepared statements', () => {
  it('are prepared on the connection that runs them, and answer as unprepared ones do', async () => {
    await fresh.database.db.connection().execute(async (db) => {
      for (const id of [1, 2, 1]) {
        const { rows } = await sql<{
          id: number;
          label: string;
        }>`SELECT * FROM sample WHERE id = ${id} ${PREPARED}`.execute(db);
        expect(rows).toEqual([{ id, label: id === 1 ? 'one' : 'two' }]);
      }
      const listed = await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(
        db,
      );
      expect(listed.rows.filter((r) => r.statement.includes('FROM sample'))).toHaveLength(1);
      // Unmarked statements stay unnamed.
      await sql`SELECT label FROM sample WHERE id = ${2}`.execute(db);
      const after = await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(
        db,
      );
      expect(after.rows.filter((r) => r.statement.includes('SELECT label'))).toHaveLength(0);
    });
  });

  it('survive a schema change that alters their result type: prepared again, not failing', async () => {
    await fresh.database.db.connection().execute(async (db) => {
      const read = () =>
        sql<Record<string, unknown>>`SELECT * FROM sample WHERE id = ${1} ${PREPARED}`.execute(db);
      expect((await read()).rows).toEqual([{ id: 1, label: 'one' }]);
      // Another connection changes the table, as a migration on another node would.
      await sql`ALTER TABLE sample ADD COLUMN extra int DEFAULT 7`.execute(fresh.database.db);
      expect((await read()).rows).toEqual([{ id: 1, label: 'one', extra: 7 }]);
      expect((await read()).rows).toEqual([{ id: 1, label: 'one', extra: 7 }]);
    });
  });

  it('leave COPY and other statements pg answers with their own objects untouched', async () => {
    // An import streams through COPY FROM STDIN: the query object is the stream itself.
    const { copyCsv } = await import('../src/core/db.ts');
    await copyCsv(fresh.database.db, 'public.sample', ['id', 'label'], '10,ten\n11,eleven\n');
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sample`.execute(
      fresh.database.db,
    );
    expect(rows[0]!.n).toBe(4);
  });
});
