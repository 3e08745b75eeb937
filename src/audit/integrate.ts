/**
 * Integration: pending audit entries join the Merkle tree.
 *
 * An append (audit/append.ts) is a plain insert with no position, so appends from any number
 * of transactions, connections and processes never wait for one another. Here the committed
 * pending entries are taken in the order they were appended under the tree-state lock, given the next
 * positions, hashed into leaves and recorded with the new frontier in one transaction. Only the
 * lock holder assigns positions, so the log has no gaps and no forks; a crash mid-way rolls the
 * whole batch back and the next integration does it again.
 *
 * Readers that need positions (entries, proofs, heads, verification, alert evaluation) integrate
 * first; a server also integrates shortly after its own appends and every AUDIT_INTEGRATE_MS. Until
 * then an entry is protected by the table's append-only trigger like any other, but not yet by the
 * tree: that window is what a database owner bypassing the trigger could exploit unseen.
 */
import { sql } from 'kysely';
import type { Executor, Tx } from '../core/db.ts';
import { entryLeafHash, FIRST_SEQ } from './entry.ts';
import {
  ENTRY_COLUMNS,
  type EntryRow,
  lastIntegratedTime,
  lockTreeState,
  refuseEntry,
  saveTreeState,
  toEntry,
} from './store.ts';

const BATCH = 2000;

/** AUDIT_CLOCK_SKEW_MS's default: how far an entry may be dated before the one it follows. */
export const DEFAULT_CLOCK_SKEW_MS = 60_000;

export interface IntegrateOptions {
  /** Refuse entries dated more than this before the last integrated entry. */
  clockSkewMs?: number;
  /** Told about each refused entry. */
  onRefused?: (id: string, reason: string) => void;
}

/**
 * One batch in the caller's transaction; returns how many entries the batch took off the queue
 * (joined the tree or refused).
 *
 * Time order: an entry dated earlier than the entry before it by more than the clock-skew
 * allowance is refused: it stays pending (the table is append-only), is recorded in audit_refused
 * (so later batches skip it) and `audit verify` reports it. Appends stamp their time just before
 * they insert and integration follows insertion order, so honest entries are out of order only by
 * the clock differences between nodes and the time an insert takes to reach the database.
 */
export async function integrateBatch(tx: Tx, limit = BATCH, options: IntegrateOptions = {}): Promise<number> {
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const frontier = await lockTreeState(tx);
  const rows = (await tx
    .selectFrom('audit_events')
    .select(ENTRY_COLUMNS)
    .where('seq', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('audit_refused')
            .select('audit_refused.id')
            .whereRef('audit_refused.id', '=', 'audit_events.id'),
        ),
      ),
    )
    .orderBy('queued')
    .limit(limit)
    .execute()) as Array<Omit<EntryRow, 'seq'> & { seq: null }>;
  if (rows.length === 0) return 0;
  let lastTime = (await lastIntegratedTime(tx, frontier.size))?.getTime() ?? null;
  const ids: string[] = [];
  const seqs: number[] = [];
  const hashes: Buffer[] = [];
  for (const row of rows) {
    const time = row.time.getTime();
    if (lastTime !== null && lastTime - time > skew) {
      const reason = `dated ${row.time.toISOString()}, ${lastTime - time} ms before the last integrated entry (${new Date(lastTime).toISOString()}); the clock-skew allowance is ${skew} ms`;
      await refuseEntry(tx, row.id, reason);
      options.onRefused?.(row.id, reason);
      continue;
    }
    lastTime = lastTime === null ? time : Math.max(lastTime, time);
    const seq = frontier.size + FIRST_SEQ;
    const leaf = entryLeafHash(toEntry({ ...row, seq }));
    frontier.append(leaf);
    ids.push(row.id);
    seqs.push(seq);
    hashes.push(leaf);
  }
  if (ids.length > 0)
    await sql`
    update audit_events as e set seq = u.seq, leaf_hash = u.leaf_hash
      from unnest(${ids}::text[], ${seqs}::bigint[], ${hashes}::bytea[]) as u(id, seq, leaf_hash)
     where e.id = u.id`.execute(tx);
  await saveTreeState(tx, frontier);
  return rows.length;
}

/**
 * Integrates every entry committed so far (and, inside a transaction, that transaction's own),
 * a batch per transaction; returns how many joined the tree.
 */
export async function integrateAudit(db: Executor, options: IntegrateOptions = {}): Promise<number> {
  // Readers and the periodic run call this often, mostly with nothing to do: a look at the
  // partial index spares them a transaction that would lock the tree state.
  if (!(await workWaiting(db))) return 0;
  if (db.isTransaction) {
    let total = 0;
    for (
      let n = await integrateBatch(db as Tx, BATCH, options);
      n > 0;
      n = await integrateBatch(db as Tx, BATCH, options)
    )
      total += n;
    return total;
  }
  let total = 0;
  for (;;) {
    const n = await db.transaction().execute((tx) => integrateBatch(tx, BATCH, options));
    total += n;
    if (n < BATCH) return total;
  }
}

/** Pending entries, or pre-0003 rows still to be backfilled (which the state lock does first). */
async function workWaiting(db: Executor): Promise<boolean> {
  const { rows } = await sql<{ waiting: boolean }>`
    select exists (select 1 from audit_events e where seq is null
                    and not exists (select 1 from audit_refused r where r.id = e.id))
        or (select backfill_pending from audit_tree_state where id = 1) as waiting`.execute(db);
  return rows[0]?.waiting !== false;
}

// ------------------------------------------------------------------------ background integration

type Listener = () => void;
const listeners = new Set<Listener>();

/** Called by every append: a running integrator in this process runs soon after. */
export function noteAppend(): void {
  for (const listener of listeners) listener();
}

/** Subscribes to this process's appends; returns the unsubscribe function. */
export function onAppend(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
