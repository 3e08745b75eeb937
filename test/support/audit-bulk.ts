/**
 * Many entries in one transaction with multi-row INSERTs: for benchmarks and tests that need a
 * long log quickly. Same lock, same leaf encoding and same state row as appendAudit, so the
 * result is indistinguishable from entries appended one at a time.
 */
import { sql } from 'kysely';
import { entryLeafHash, FIRST_SEQ } from '../../src/audit/entry.ts';
import { lockTreeState, saveTreeState } from '../../src/audit/store.ts';
import type { Tx } from '../../src/core/db.ts';
import { newId } from '../../src/core/ids.ts';

export interface BulkEntry {
  time: Date;
  actorId: string | null;
  orgId: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

const ROWS_PER_INSERT = 1000;

/** Appends `count` entries made by `make(seq)`; returns the new tree size. */
export async function appendBulk(tx: Tx, count: number, make: (seq: number) => BulkEntry): Promise<number> {
  const frontier = await lockTreeState(tx);
  for (let done = 0; done < count; ) {
    const n = Math.min(ROWS_PER_INSERT, count - done);
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], [], []];
    for (let i = 0; i < n; i++) {
      const seq = frontier.size + FIRST_SEQ;
      const e = make(seq);
      const detailsJson = JSON.stringify(e.details);
      const leaf = entryLeafHash({
        ...e,
        seq,
        time: e.time.toISOString(),
        details: JSON.parse(detailsJson),
      });
      frontier.append(leaf);
      const values = [
        seq,
        newId('aud'),
        e.time.toISOString(),
        e.actorId,
        e.orgId,
        e.action,
        e.objectType,
        e.objectId,
        e.requestId,
        detailsJson,
        leaf,
      ];
      for (let c = 0; c < values.length; c++) cols[c]!.push(values[c]);
    }
    // unnest over column arrays: eleven parameters per statement however many rows.
    await sql`
      insert into audit_events
        (seq, id, time, actor_id, org_id, action, object_type, object_id, request_id, details, leaf_hash)
      select * from unnest(${cols[0]}::bigint[], ${cols[1]}::text[], ${cols[2]}::timestamptz[],
        ${cols[3]}::text[], ${cols[4]}::text[], ${cols[5]}::text[], ${cols[6]}::text[], ${cols[7]}::text[],
        ${cols[8]}::text[], ${cols[9]}::jsonb[], ${cols[10]}::bytea[])`.execute(tx);
    done += n;
  }
  await saveTreeState(tx, frontier);
  return frontier.size;
}
