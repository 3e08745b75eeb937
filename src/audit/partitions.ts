/**
 * The audit log's monthly partitions (migration 0040): one per calendar month of Beijing time,
 * created ahead so an entry always lands in its month. The DEFAULT partition catches anything
 * else (a clock far off, months never created), so an append is never refused for want of one.
 */
import { sql } from 'kysely';
import type { Executor } from '../core/db.ts';

/** How many months after the current one exist at any time. */
export const MONTHS_AHEAD = 2;

// Creating a partition takes a lock on the parent that waits behind open transactions on the log
// (a long `audit verify`), and appends would queue behind that wait: give up soon and try again
// at the next run; months are created MONTHS_AHEAD in advance, so there are many runs to spare.
const LOCK_TIMEOUT = '2s';

export interface AuditPartition {
  name: string;
  /** First instant (inclusive); null for the DEFAULT partition. */
  from: Date | null;
  /** Last instant (exclusive); null for the DEFAULT partition. */
  to: Date | null;
  rows: number;
}

/** The first day (YYYY-MM-01) of the month, in Beijing time, `k` months after `time`'s. */
export function beijingMonth(time: Date, k = 0): string {
  const beijing = new Date(time.getTime() + 8 * 3600_000);
  const month = new Date(Date.UTC(beijing.getUTCFullYear(), beijing.getUTCMonth() + k, 1));
  return month.toISOString().slice(0, 10);
}

/**
 * Makes sure the partitions of this month and the next MONTHS_AHEAD exist; returns the names of
 * those it created. Safe on any number of nodes at once (the SQL function serialises them).
 */
export async function ensureAuditPartitions(db: Executor, now = new Date()): Promise<string[]> {
  const months = Array.from({ length: MONTHS_AHEAD + 1 }, (_, k) => beijingMonth(now, k));
  const missing = await missingMonths(db, months);
  if (missing.length === 0) return [];
  const create = async (tx: Executor) => {
    await sql`select set_config('lock_timeout', ${LOCK_TIMEOUT}, true)`.execute(tx);
    const created: string[] = [];
    for (const month of missing) {
      const { rows } = await sql<{ name: string | null }>`
        select audit_events_ensure_month(${month}::date) as name`.execute(tx);
      // Null: the DEFAULT partition already holds that month's entries; the month stays there.
      if (rows[0]?.name) created.push(rows[0].name);
    }
    return created;
  };
  return db.isTransaction ? create(db) : db.transaction().execute(create);
}

async function missingMonths(db: Executor, months: string[]): Promise<string[]> {
  const names = months.map(partitionName);
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'audit_events'::regclass and c.relname = any(${names}::text[])`.execute(db);
  const present = new Set(rows.map((r) => r.name));
  return months.filter((m) => !present.has(partitionName(m)));
}

/** audit_events_yYYYYmMM for the month starting on `month` (YYYY-MM-01). */
export function partitionName(month: string): string {
  return `audit_events_y${month.slice(0, 4)}m${month.slice(5, 7)}`;
}

/** Every partition with its bounds and an estimate of its rows (the planner's), oldest first. */
export async function listAuditPartitions(db: Executor): Promise<AuditPartition[]> {
  const { rows } = await sql<{ name: string; from: Date | null; to: Date | null; rows: string | number }>`
    select name, (m)[1]::timestamptz as "from", (m)[2]::timestamptz as "to", rows from (
      select c.relname as name, greatest(c.reltuples, 0)::bigint as rows,
             regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)') as m
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
       where i.inhparent = 'audit_events'::regclass) p
     order by "from" nulls last`.execute(db);
  return rows.map((r) => ({ name: r.name, from: r.from, to: r.to, rows: Number(r.rows) }));
}
