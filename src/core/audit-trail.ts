import { entryLeafHash, FIRST_SEQ } from '../audit/entry.ts';
import type { Frontier } from '../audit/merkle.ts';
import { insertLeaf, lockTreeState } from '../audit/store.ts';
import type { Db, Executor, Tx } from './db.ts';
import { newId } from './ids.ts';

/**
 * The append-only record of state changes. Callers pass the transaction of the change itself,
 * so a change and its record commit or vanish together.
 *
 * Each event is a leaf of the SM3 Merkle log (src/audit/). Its seq is the tree size plus one,
 * read from the audit_tree_state row locked FOR UPDATE: appends from every connection and process
 * queue on that lock, so positions have no gaps and the tree never forks. The lock is held until
 * the caller's transaction ends; a rollback takes the leaf and the state change back together.
 */
export interface AuditEvent {
  actorId: string | null;
  orgId: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

export interface AppendedAudit {
  seq: number;
  id: string;
  /** Lowercase hex SM3 leaf hash. */
  leafHash: string;
}

// The frontier each open transaction has locked, so further appends in it skip the SELECT.
// insertLeaf re-checks the size, so a stale entry (a rolled-back savepoint) costs a reload, not a fork.
const locked = new WeakMap<Tx, Frontier>();

export async function appendAudit(tx: Executor, event: AuditEvent): Promise<AppendedAudit> {
  // Outside a transaction the lock would be released before the insert: make one.
  if (!tx.isTransaction) return (tx as Db).transaction().execute((t) => appendAudit(t, event));
  const trx = tx as Tx;
  // What a jsonb column gives back is the JSON round trip of the value: hash that, not the object.
  const detailsJson = JSON.stringify(event.details ?? {});
  const details: unknown = JSON.parse(detailsJson);
  const id = newId('aud');
  for (let attempt = 0; ; attempt++) {
    let frontier = locked.get(trx);
    if (!frontier) {
      frontier = await lockTreeState(trx);
      locked.set(trx, frontier);
    }
    const fromSize = frontier.size;
    const seq = fromSize + FIRST_SEQ;
    // Taken under the lock, so times follow seq order (as far as the nodes' clocks agree).
    const time = new Date();
    const row = {
      seq,
      id,
      time,
      actorId: event.actorId,
      orgId: event.orgId,
      action: event.action,
      objectType: event.objectType,
      objectId: event.objectId,
      requestId: event.requestId ?? null,
      detailsJson,
    };
    const leaf = entryLeafHash({ ...row, time: time.toISOString(), details });
    frontier.append(leaf);
    let inserted = false;
    try {
      inserted = await insertLeaf(trx, fromSize, frontier, { ...row, leafHash: leaf });
    } finally {
      if (!inserted) locked.delete(trx);
    }
    if (inserted) return { seq, id, leafHash: leaf.toString('hex') };
    if (attempt > 0) throw new Error('the audit tree state changed while this transaction held its lock');
  }
}
