import type { Executor } from './db.ts';
import { newId } from './ids.ts';

/**
 * The append-only record of state changes. Callers pass the transaction of the change itself,
 * so a change and its record commit or vanish together.
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

export async function appendAudit(tx: Executor, event: AuditEvent): Promise<void> {
  await tx
    .insertInto('audit_events')
    .values({
      id: newId('aud'),
      actor_id: event.actorId,
      org_id: event.orgId,
      action: event.action,
      object_type: event.objectType,
      object_id: event.objectId,
      request_id: event.requestId ?? null,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
}
