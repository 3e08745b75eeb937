import type { Insertable } from 'kysely';
import type { Executor } from '../core/db.ts';
import { newId } from '../core/ids.ts';
import type { AuditEventsTable } from '../core/tables.ts';
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

function entryRow(event: AuditEvent): Insertable<AuditEventsTable> & { id: string } {
  return {
    id: newId('aud'),
    // Milliseconds, the precision a leaf records (a Date has no more).
    time: new Date(),
    actor_id: event.actorId,
    org_id: event.orgId,
    action: event.action,
    object_type: event.objectType,
    object_id: event.objectId,
    request_id: event.requestId ?? null,
    details: JSON.stringify(event.details ?? {}),
  };
}

export async function appendAudit(tx: Executor, event: AuditEvent): Promise<AppendedAudit> {
  const row = entryRow(event);
  await tx.insertInto('audit_events').values(row).execute();
  noteAppend();
  return { id: row.id };
}

interface Waiting {
  row: Insertable<AuditEventsTable> & { id: string };
  done: (error?: unknown) => void;
}
const groups = new WeakMap<object, { waiting: Waiting[]; flushing: boolean }>();
const GROUP_MAX = 500;

/**
 * For an entry that joins no transaction of a change (a gateway call is a read: its record is the
 * only write). Entries arriving while an insert is in flight go together in the next one: one
 * statement and one commit's WAL flush for many callers. Each caller's promise settles only once
 * its own entry has committed durably, exactly as with `appendAudit` — nothing is acknowledged from
 * memory, so a crash loses no entry whose caller was answered. No timer: an idle node inserts at
 * once. One faulty entry does not fail the others: a failed group is retried entry by entry.
 */
export function appendAuditGrouped(db: Executor, event: AuditEvent): Promise<AppendedAudit> {
  if (db.isTransaction) return appendAudit(db, event);
  let group = groups.get(db);
  if (!group) {
    group = { waiting: [], flushing: false };
    groups.set(db, group);
  }
  const row = entryRow(event);
  const settled = new Promise<AppendedAudit>((resolve, reject) => {
    group.waiting.push({
      row,
      done: (error) => (error === undefined ? resolve({ id: row.id }) : reject(error)),
    });
  });
  if (!group.flushing) void flushGroup(db, group);
  return settled;
}

async function flushGroup(db: Executor, group: { waiting: Waiting[]; flushing: boolean }) {
  group.flushing = true;
  try {
    while (group.waiting.length > 0) {
      const batch = group.waiting.splice(0, GROUP_MAX);
      try {
        await db
          .insertInto('audit_events')
          .values(batch.map((w) => w.row))
          .execute();
        for (const w of batch) w.done();
      } catch {
        await Promise.all(
          batch.map((w) =>
            db
              .insertInto('audit_events')
              .values(w.row)
              .execute()
              .then(
                () => w.done(),
                (error: unknown) => w.done(error ?? new Error('audit append failed')),
              ),
          ),
        );
      }
      noteAppend();
    }
  } finally {
    group.flushing = false;
  }
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
