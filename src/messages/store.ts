import type { ColumnType } from 'kysely';
import type { Executor } from '../core/db.ts';

/** The message centre's read marks (migration 0033), written only here; merged into the platform's `Database`. */
export interface MessageReadsTable {
  user_id: string;
  key: string;
  read_at: ColumnType<Date, Date | string | undefined, never>;
}

declare module '../core/tables.ts' {
  interface Database {
    message_reads: MessageReadsTable;
  }
}

export const messagesStore = {
  /** The keys among `keys` the user has marked read. */
  async readKeys(db: Executor, userId: string, keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await db
      .selectFrom('message_reads')
      .select('key')
      .where('user_id', '=', userId)
      .where('key', 'in', [...keys])
      .execute();
    return new Set(rows.map((r) => r.key));
  },

  /** Marks `keys` read for the user; a key marked already keeps its first mark. */
  async markRead(tx: Executor, userId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await tx
      .insertInto('message_reads')
      .values(keys.map((key) => ({ user_id: userId, key })))
      .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
      .execute();
  },

  /** Drops the user's marks of messages that are gone (anything not in `current`). */
  async pruneExcept(tx: Executor, userId: string, current: readonly string[]): Promise<void> {
    let query = tx.deleteFrom('message_reads').where('user_id', '=', userId);
    if (current.length > 0) query = query.where('key', 'not in', [...current]);
    await query.execute();
  },
};
