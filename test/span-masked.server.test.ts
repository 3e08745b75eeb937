import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropSpanMaskedOf,
  refreshSpanMasked,
  spanBuildsSettled,
  spanMaskedStats,
} from '../src/gateway/span-masked.ts';
import { copyTable, db, expressionAnswer, registry, s, setup, teardown } from './span-masked-support.ts';

/**
 * A span-masked copy dropped while a read waits on its lock: a real race needs a second session,
 * which PGlite does not have — so this runs on the server only (vitest.config.ts runs
 * *.server.test.ts with TEST_DATABASE_URL). The rest: test/span-masked.test.ts.
 */
beforeAll(setup, 120_000);
afterAll(teardown);

describe('span-masked copies on a server', () => {
  it('dropped while a read waits on its lock (server): the read is answered with the expression', async () => {
    await refreshSpanMasked(db(), s.resourceId);
    const [copy] = await registry();
    const before = spanMaskedStats();
    const expected = await expressionAnswer();
    let answer: ReturnType<typeof s.f.rows> | undefined;
    await db()
      .transaction()
      .execute(async (tx) => {
        // What dropDerived does, held open while the request is admitted (the registry row is
        // still committed) and its read waits on the table's lock.
        await sql`DROP TABLE ${copyTable(copy!.table_name)}`.execute(tx);
        await sql`DELETE FROM span_masked WHERE table_name = ${copy!.table_name}`.execute(tx);
        answer = s.f.rows(s.contract, 'select=case_no,remarks&limit=1000');
        await new Promise((resolve) => setTimeout(resolve, 1500));
      });
    const res = await answer!;
    expect(res.statusCode, res.body).toBe(200);
    const served = (res.json().items as { case_no: string; remarks: string }[]).map(
      (r) => [r.case_no, r.remarks] as const,
    );
    expect(new Map(served)).toEqual(expected);
    expect(spanMaskedStats().fallbacks).toBe(before.fallbacks + 1);
    await spanBuildsSettled();
    await dropSpanMaskedOf(db(), s.resourceId);
  });
});
