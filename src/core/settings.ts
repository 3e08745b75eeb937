import type { Executor } from './db.ts';

/**
 * Platform settings (`settings`, key → JSON value): the one writer of that table.
 *
 * `settleSetting` is "first writer wins": it stores `proposed` unless the key already holds a value
 * and returns whichever value is stored — so nodes starting together agree on one value (a key,
 * a recorded fingerprint) without a lock.
 */
export async function settleSetting<T>(db: Executor, key: string, proposed: T): Promise<T> {
  await db
    .insertInto('settings')
    .values({ key, value: JSON.stringify(proposed), updated_at: new Date() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  return row.value as T;
}
