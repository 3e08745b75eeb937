import type { Executor } from '../core/db.ts';
import { newId } from '../core/ids.ts';
import { noteAppend } from './integrate.ts';

/**
 * The append-only record of state changes. Callers pass the transaction of the change itself,
 * so a change and its record commit or vanish together.
 *
 * An append is one plain insert and takes no lock: the entry is *pending* (no position yet) until
 * the integrator (src/audit/integrate.ts) makes it the next leaf of the SM3 Merkle log, in the
 * order entries committed. So concurrent writers never queue behind one another's commits, and
 * positions still have no gaps and the tree no forks, because only the integrator assigns them.
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
  id: string;
}

export async function appendAudit(tx: Executor, event: AuditEvent): Promise<AppendedAudit> {
  const id = newId('aud');
  await tx
    .insertInto('audit_events')
    .values({
      id,
      // Milliseconds, the precision a leaf records (a Date has no more).
      time: new Date(),
      actor_id: event.actorId,
      org_id: event.orgId,
      action: event.action,
      object_type: event.objectType,
      object_id: event.objectId,
      request_id: event.requestId ?? null,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
  noteAppend();
  return { id };
}

/** Appends an event about `ctx`'s caller: actor, organization and request id come from the context. */
export function auditAs(
  ctx: { principal: { userId: string; orgId: string } | null; requestId: string | null },
  tx: Executor,
  action: string,
  objectType: string,
  objectId: string | null,
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
