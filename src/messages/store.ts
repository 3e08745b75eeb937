import { type ColumnType, type Generated, type Selectable, sql } from 'kysely';
import type { Executor } from '../core/db.ts';

/** The message centre's read marks (migration 0033), written only here; merged into the platform's `Database`. */
export interface MessageReadsTable {
  user_id: string;
  key: string;
  read_at: ColumnType<Date, Date | string | undefined, never>;
}

/** The outbox of messages pushed to the messaging gateway (migration 0035). */
export interface MessagePushesTable {
  id: string;
  user_id: string;
  key: string;
  kind: string;
  payload: ColumnType<PushPayload, string, never>;
  notified_at: Date | null;
  notify_attempts: Generated<number>;
  notify_after: ColumnType<Date, Date | string | undefined, Date | string>;
  notify_error: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
export type MessagePushRow = Selectable<MessagePushesTable>;

/** What is posted for a queued message, besides the attempt. */
export interface PushPayload {
  recipient: { userId: string; displayName: string; organization: { id: string; name: string } };
  message: { kind: string; key: string; zh: string; en: string; link: string };
}

/** A claim gives up on a message after this many (about six hours with core/outbox.ts's waits). */
const PUSH_CLAIMS = 10;

declare module '../core/tables.ts' {
  interface Database {
    message_reads: MessageReadsTable;
    message_pushes: MessagePushesTable;
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

  // ------------------------------------------------------------------ pushes (the outbox)

  /** Queues each (user, key) not queued before; a row another node queued first wins. */
  async queuePushes(
    db: Executor,
    rows: ReadonlyArray<{ id: string; user_id: string; key: string; kind: string; payload: PushPayload }>,
  ): Promise<void> {
    if (rows.length === 0) return;
    await db
      .insertInto('message_pushes')
      .values(rows.map((r) => ({ ...r, payload: JSON.stringify(r.payload) })))
      .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
      .execute();
  },

  /**
   * Drops pushes of messages that are gone: a user's keys not in their `current` ones, and every
   * row of users who get no pushes any more (not among `users`; a user among them whose messages
   * could not be worked out keeps theirs). A message that comes back later is a new occasion and
   * is pushed again.
   */
  async prunePushes(
    db: Executor,
    current: ReadonlyMap<string, readonly string[]>,
    users: readonly string[],
  ): Promise<void> {
    for (const [userId, keys] of current) {
      let query = db.deleteFrom('message_pushes').where('user_id', '=', userId);
      if (keys.length > 0) query = query.where('key', 'not in', [...keys]);
      await query.execute();
    }
    let others = db.deleteFrom('message_pushes');
    if (users.length > 0) others = others.where('user_id', 'not in', [...users]);
    await others.execute();
  },

  /** Claims up to `limit` undelivered pushes for this node; see monitorStore.claimUndelivered. */
  async claimPushes(db: Executor, limit: number, leaseSeconds: number): Promise<MessagePushRow[]> {
    const { rows } = await sql<MessagePushRow>`
      UPDATE message_pushes SET notify_attempts = notify_attempts + 1,
                                notify_after = now() + make_interval(secs => ${leaseSeconds})
       WHERE id IN (SELECT id FROM message_pushes
                     WHERE notified_at IS NULL AND notify_after <= now() AND notify_attempts < ${PUSH_CLAIMS}
                     ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING *`.execute(db);
    return rows;
  },

  async markPushed(db: Executor, id: string): Promise<void> {
    await db
      .updateTable('message_pushes')
      .set({ notified_at: new Date(), notify_error: null })
      .where('id', '=', id)
      .execute();
  },

  async markNotPushed(db: Executor, id: string, error: string, retryAfterSeconds: number): Promise<void> {
    await db
      .updateTable('message_pushes')
      .set({
        notify_error: error.slice(0, 500),
        notify_after: sql<Date>`now() + make_interval(secs => ${retryAfterSeconds})`,
      })
      .where('id', '=', id)
      .execute();
  },

  /** The pushes of a user, oldest first (tests and support). */
  pushesOf(db: Executor, userId: string): Promise<MessagePushRow[]> {
    return db.selectFrom('message_pushes').selectAll().where('user_id', '=', userId).orderBy('id').execute();
  },
};
