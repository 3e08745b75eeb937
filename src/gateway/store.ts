import { type Kysely, sql } from 'kysely';
import type { Executor } from '../core/db.ts';
import type { Database } from '../core/tables.ts';

/**
 * The gateway's store: the per-day usage counters, the DP tables of migration 0012 and the query
 * templates, written only here — except admission's one statement in service.ts, which reads the
 * contract and counts the call together in one round trip. The DP and template row types live
 * here rather than in core/tables.ts: the gateway alone owns them.
 */

// ---------------------------------------------------------------- usage counters (contract_usage)

/**
 * Takes up to `wanted` rows of a day's quota in one statement: the subquery locks the day's counter
 * row (waiting for, then reading, the latest version when another request holds it), the update
 * adds what it could take. No transaction round trips; the row lock is held for this statement
 * only. `suffix` is the caller's commit mode (asynchronous outside a transaction). Undefined when
 * the day has no counter yet.
 */
export async function takeRows(
  db: Executor,
  c: { contractId: string; day: string; wanted: number; quota: number },
  suffix: ReturnType<typeof sql>,
): Promise<number | undefined> {
  const row = (
    await sql<{ take: string }>`UPDATE contract_usage AS u SET rows = u.rows + t.take
      FROM (SELECT least(${c.wanted}::bigint, greatest(0, ${c.quota}::bigint - rows)) AS take
            FROM contract_usage WHERE contract_id = ${c.contractId} AND bucket = ${c.day} FOR UPDATE) AS t
      WHERE u.contract_id = ${c.contractId} AND u.bucket = ${c.day}
      RETURNING t.take${suffix}`.execute(db)
  ).rows[0];
  return row === undefined ? undefined : Number(row.take);
}

/** The day's counter, made by its first request (a racing one finds it made). */
export async function openDay(db: Executor, contractId: string, day: string): Promise<void> {
  await db
    .insertInto('contract_usage')
    .values({ contract_id: contractId, bucket: day })
    .onConflict((oc) => oc.columns(['contract_id', 'bucket']).doNothing())
    .execute();
}

/** Gives back reserved rows not sent and adds the bytes sent. */
export async function settleDay(
  db: Executor,
  c: { contractId: string; day: string; unused: number; bytes: number },
): Promise<void> {
  await db
    .updateTable('contract_usage')
    .set({ rows: sql`rows - ${c.unused}`, bytes: sql`bytes + ${c.bytes}` })
    .where('contract_id', '=', c.contractId)
    .where('bucket', '=', c.day)
    .execute();
}

// ---------------------------------------------------------------- differential privacy
export interface DpSettingsTable {
  resource_id: string;
  unit_field: string;
  max_groups: number;
  max_rows_per_group: number;
  bounds: Record<string, { lower: number; upper: number; precision: number }>;
  domains: Record<string, string[]>;
  updated_by: string | null;
  updated_at: Date;
}
export interface DpBudgetsTable {
  contract_id: string;
  total_rho: string;
  period: 'none' | 'day' | 'month';
  updated_by: string | null;
  updated_at: Date;
}
export interface DpSpendTable {
  contract_id: string;
  bucket: string;
  spent: string;
}
export interface DpReleasesTable {
  id: string;
  contract_id: string;
  bucket: string;
  rho: string;
  state: 'reserved' | 'released' | 'refunded';
  request: unknown;
  created_at: Date;
  updated_at: Date;
}
interface DpDatabase extends Database {
  dp_settings: DpSettingsTable;
  dp_budgets: DpBudgetsTable;
  dp_spend: DpSpendTable;
  dp_releases: DpReleasesTable;
}
const dp = (db: Executor) => db as unknown as Kysely<DpDatabase>;

export function findSettings(db: Executor, resourceId: string) {
  return dp(db)
    .selectFrom('dp_settings')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .executeTakeFirst();
}

export async function saveSettings(
  db: Executor,
  row: Omit<DpSettingsTable, 'updated_at' | 'bounds' | 'domains'> & { bounds: unknown; domains: unknown },
) {
  const values = {
    ...row,
    bounds: JSON.stringify(row.bounds),
    domains: JSON.stringify(row.domains),
    updated_at: new Date(),
  } as never;
  return dp(db)
    .insertInto('dp_settings')
    .values(values)
    .onConflict((oc) => oc.column('resource_id').doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Grades of a resource's fields: personal information is any field ranked g3 or above. */
export async function fieldGrades(db: Executor, resourceId: string): Promise<Record<string, string>> {
  const rows = await db
    .selectFrom('resource_fields')
    .select(['name', 'grade'])
    .where('resource_id', '=', resourceId)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.name, String(r.grade)]));
}

export function findBudget(db: Executor, contractId: string) {
  return dp(db).selectFrom('dp_budgets').selectAll().where('contract_id', '=', contractId).executeTakeFirst();
}

/** Creates the budget row with `total` unless one exists; returns the row. */
export async function ensureBudget(db: Executor, contractId: string, total: string) {
  await dp(db)
    .insertInto('dp_budgets')
    .values({
      contract_id: contractId,
      total_rho: total,
      period: 'none',
      updated_by: null,
      updated_at: new Date(),
    })
    .onConflict((oc) => oc.column('contract_id').doNothing())
    .execute();
  return (await findBudget(db, contractId))!;
}

export function setBudget(
  db: Executor,
  contractId: string,
  total: string,
  period: DpBudgetsTable['period'],
  userId: string | null,
) {
  const values = { total_rho: total, period, updated_by: userId, updated_at: new Date() };
  return dp(db)
    .insertInto('dp_budgets')
    .values({ contract_id: contractId, ...values })
    .onConflict((oc) => oc.column('contract_id').doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function spentIn(db: Executor, contractId: string, bucket: string): Promise<string> {
  const row = await dp(db)
    .selectFrom('dp_spend')
    .select(sql<string>`spent::text`.as('spent'))
    .where('contract_id', '=', contractId)
    .where('bucket', '=', bucket)
    .executeTakeFirst();
  return row?.spent ?? '0';
}

/**
 * Spends `cost` of the contract's budget in `bucket` if it fits: one statement, a conditional
 * upsert against the total read in the same statement. Under concurrency PostgreSQL re-checks
 * the condition on the locked, latest row, so racing spends on any number of nodes never pass
 * the total. Returns the new amount spent, or null when it does not fit.
 */
export async function spend(
  db: Executor,
  contractId: string,
  bucket: string,
  cost: string,
): Promise<string | null> {
  const result = await sql<{ spent: string }>`
    INSERT INTO dp_spend (contract_id, bucket, spent)
    SELECT ${contractId}, ${bucket}, ${cost}::numeric
    FROM dp_budgets b WHERE b.contract_id = ${contractId} AND ${cost}::numeric <= b.total_rho
    ON CONFLICT (contract_id, bucket) DO UPDATE SET spent = dp_spend.spent + excluded.spent
    WHERE dp_spend.spent + excluded.spent <= (SELECT total_rho FROM dp_budgets WHERE contract_id = ${contractId})
    RETURNING spent::text AS spent`.execute(db);
  return result.rows[0]?.spent ?? null;
}

export async function refund(db: Executor, contractId: string, bucket: string, cost: string) {
  await sql`UPDATE dp_spend SET spent = greatest(spent - ${cost}::numeric, 0)
    WHERE contract_id = ${contractId} AND bucket = ${bucket}`.execute(db);
}

export async function insertRelease(db: Executor, row: Omit<DpReleasesTable, 'created_at' | 'updated_at'>) {
  await dp(db)
    .insertInto('dp_releases')
    .values({
      ...row,
      request: JSON.stringify(row.request),
      created_at: new Date(),
      updated_at: new Date(),
    } as never)
    .execute();
}

/** A release's state change as a conditional update; false when it was not in `from`. */
export async function moveRelease(
  db: Executor,
  id: string,
  from: DpReleasesTable['state'],
  to: DpReleasesTable['state'],
): Promise<boolean> {
  const result = await dp(db)
    .updateTable('dp_releases')
    .set({ state: to, updated_at: new Date() })
    .where('id', '=', id)
    .where('state', '=', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function releaseCount(db: Executor, contractId: string): Promise<number> {
  const row = await dp(db)
    .selectFrom('dp_releases')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('contract_id', '=', contractId)
    .where('state', '=', 'released')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// ——— approved computations ———

export interface QueryTemplatesTable {
  id: string;
  contract_id: string;
  name: string;
  metrics: unknown;
  group_by: string[];
  filter: unknown;
  params: Record<string, string>;
  mode: 'dp' | 'exact';
  state: 'submitted' | 'security_review' | 'approved' | 'rejected';
  needs_security: boolean;
  decisions: unknown;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}
interface TemplateDatabase extends Database {
  query_templates: QueryTemplatesTable;
}
const tpl = (db: Executor) => db as unknown as Kysely<TemplateDatabase>;
export type TemplateRow = QueryTemplatesTable;

export function insertTemplate(db: Executor, row: Omit<QueryTemplatesTable, 'created_at' | 'updated_at'>) {
  return tpl(db)
    .insertInto('query_templates')
    .values({
      ...row,
      metrics: JSON.stringify(row.metrics),
      filter: row.filter === null ? null : JSON.stringify(row.filter),
      params: JSON.stringify(row.params),
      decisions: JSON.stringify(row.decisions),
      created_at: new Date(),
      updated_at: new Date(),
    } as never)
    .onConflict((oc) => oc.columns(['contract_id', 'name']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export function findTemplate(db: Executor, id: string) {
  return tpl(db).selectFrom('query_templates').selectAll().where('id', '=', id).executeTakeFirst();
}

export function templatesOf(db: Executor, contractId: string) {
  return tpl(db)
    .selectFrom('query_templates')
    .selectAll()
    .where('contract_id', '=', contractId)
    .orderBy('id')
    .execute();
}

export async function hasApprovedTemplate(db: Executor, contractId: string): Promise<boolean> {
  const row = await tpl(db)
    .selectFrom('query_templates')
    .select('id')
    .where('contract_id', '=', contractId)
    .where('state', '=', 'approved')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** A template's state change as a conditional update; undefined when it was not in `from`. */
export function moveTemplate(
  db: Executor,
  id: string,
  from: QueryTemplatesTable['state'],
  to: QueryTemplatesTable['state'],
  decisions: unknown,
) {
  return tpl(db)
    .updateTable('query_templates')
    .set({ state: to, decisions: JSON.stringify(decisions), updated_at: new Date() } as never)
    .where('id', '=', id)
    .where('state', '=', from)
    .returningAll()
    .executeTakeFirst();
}
