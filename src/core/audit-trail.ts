import { entryLeafHash, FIRST_SEQ } from '../audit/entry.ts';
import type { Frontier } from '../audit/merkle.ts';
import { insertLeaf, lockTreeState } from '../audit/store.ts';
import type { Db, Executor, Tx } from './db.ts';
import { newId } from './ids.ts';

/**
 * The append-only record of state changes. Callers pass the transaction of the change itself,
 * so a change and its record commit or vanish together.
 *
 * Each event is a leaf of the SM3 Merkle log (src/audit/). Its seq is the tree size plus one, from
 * the single audit_tree_state row, whose lock the append takes (by the UPDATE that moves the
 * state, or SELECT … FOR UPDATE after a wrong guess): appends from every connection and process
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

// The state this transaction's last append left (it holds the lock), and the last state this
// process saw anywhere: a good guess for the next append when one process does most of them.
// Guesses are only guesses: insertLeaf checks size and frontier against the locked row, so a
// wrong one (another process appended, a transaction rolled back) costs a reload, never a fork.
const inTransaction = new WeakMap<Tx, Frontier>();
let lastSeen: Frontier | undefined;

export async function appendAudit(tx: Executor, event: AuditEvent): Promise<AppendedAudit> {
  // Outside a transaction the lock would be released before the insert: make one.
  if (!tx.isTransaction) return (tx as Db).transaction().execute((t) => appendAudit(t, event));
  const trx = tx as Tx;
  // What a jsonb column gives back is the JSON round trip of the value: hash that, not the object.
  const detailsJson = JSON.stringify(event.details ?? {});
  const details: unknown = JSON.parse(detailsJson);
  const id = newId('aud');
  let from = inTransaction.get(trx) ?? lastSeen;
  for (let attempt = 0; ; attempt++) {
    from ??= await lockTreeState(trx);
    const seq = from.size + FIRST_SEQ;
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
    const next = from.clone();
    next.append(leaf);
    let inserted = false;
    try {
      inserted = await insertLeaf(trx, from, next, { ...row, leafHash: leaf });
    } finally {
      if (!inserted) inTransaction.delete(trx);
    }
    if (inserted) {
      inTransaction.set(trx, next);
      lastSeen = next;
      return { seq, id, leafHash: leaf.toString('hex') };
    }
    // The guess was stale; the reload below holds the lock, so the second attempt cannot miss.
    if (attempt > 0) throw new Error('the audit tree state changed while this transaction held its lock');
    from = undefined;
  }
}

/** Appends an event about `ctx`'s caller: actor, organization and request id come from the context. */
export function auditAs(
  ctx: { principal: { userId: string; orgId: string } | null; requestId: string | null },
  tx: Executor,
  action: string,
  objectType: string,
  objectId: string,
  details: Record<string, unknown> = {},
): Promise<AppendedAudit> {
  return appendAudit(tx, {
    actorId: ctx.principal?.userId ?? null,
    orgId: ctx.principal?.orgId ?? null,
    action,
    objectType,
    objectId,
    requestId: ctx.requestId,
    details,
  });
}
