import { createHash } from 'node:crypto';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Ctx } from '../core/context.ts';
import { ROW_ORDINAL } from '../core/datasets.ts';
import { type Db, type Executor, outsideRequest } from '../core/db.ts';
import { offlineCompiler } from '../core/sql-compiler.ts';
import type { Database, Grade } from '../core/tables.ts';
import { isGrade } from '../rules/grades.ts';
import { maskSql } from '../rules/masking.ts';
import { defaultMask, effectiveMask } from '../sharing/service.ts';
import {
  buildDerived,
  type DerivedRow,
  derivedTable,
  derivedTableName,
  dropDerived,
  isUndefinedTable,
  liveVersion,
} from './derived-tables.ts';

/**
 * Span-masked copies of free text (issue 17's speed goal). `redact_spans` is a chain of thirteen
 * `regexp_replace` calls (masking.ts, entities.ts): PostgreSQL's regular expressions cost ~20× the
 * raw column's read on every request. A version's table never changes once ready, so a field's
 * masked text is a pure function of (version, field, span definitions): it is computed once per
 * version with the gateway's own SQL expression into `datasets.spm_…` (`_row` primary key, `v` the
 * masked text), and the gateway joins it by `_row` instead of running the chain (service.ts,
 * `servedColumns`).
 *
 * Staleness: a copy is keyed by (version, field, SPAN_DIGEST). The digest is taken over the SQL
 * the expression compiles to — every definition's pattern, replacement and needed strings, the
 * guard, the nesting — and `SPAN_FORMAT` (the copy's own shape), so a copy of other definitions
 * is never looked up. A served field with no copy, or whose copy is dropped under the query
 * (undefined_table), is served with the expression: copies make answers faster, never different.
 */

/** Bumped whenever the copy's columns or SQL around the expression change: older copies are then never read. */
const SPAN_FORMAT = 1;
export const SPAN_MASK = 'redact_spans';
/** The copy's column holding the masked text. */
export const SPAN_COPY_VALUE = 'v';

/** The expression over a column (`name` or `alias.name`): the gateway's, and the copy's source. */
export function spanMaskSql(column: string): RawBuilder<string | null> {
  return maskSql(SPAN_MASK, column);
}

/** The digest of the definitions as they are now (tests change them to see it move). */
export function spanDigest(): string {
  const compiled = spanMaskSql('f').compile(offlineCompiler);
  const canonical = JSON.stringify([SPAN_FORMAT, compiled.sql, compiled.parameters]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}
/** The digest of the span definitions in force in this process. */
export const SPAN_DIGEST = spanDigest();

export interface SpanMaskedTable extends DerivedRow {
  field: string;
  digest: string;
}
interface SpanDatabase extends Database {
  span_masked: SpanMaskedTable;
}
const sdb = (db: Executor) => db as unknown as Kysely<SpanDatabase>;

function copyName(versionId: string, field: string, digest: string): string {
  return derivedTableName('spm', [versionId, field, digest]);
}

/** What the copies did on this node: for tests, the benchmark and operators. */
const stats = {
  built: 0,
  dropped: 0,
  failures: 0,
  lastError: null as string | null,
  lastBuildMs: 0,
  /** Reads: fields served from a copy, with the expression, and retried after a copy was dropped. */
  fromCopy: 0,
  fromExpression: 0,
  fallbacks: 0,
};
export function spanMaskedStats() {
  return { ...stats };
}
export function countSpanReads(fromCopy: number, fromExpression: number): void {
  stats.fromCopy += fromCopy;
  stats.fromExpression += fromExpression;
}

export interface SpanCopyInput {
  resourceId: string;
  versionId: string;
  versionTable: string;
  field: string;
  /** Tests only: another digest than the one in force (a copy of other definitions). */
  digest?: string;
}

/** Builds the copy of one field of one version unless built; the table and whether this call built it. */
export async function buildSpanMasked(
  db: Db,
  input: SpanCopyInput,
): Promise<{ table: string; built: boolean }> {
  const digest = input.digest ?? SPAN_DIGEST;
  const started = performance.now();
  const result = await buildDerived(db, {
    registry: 'span_masked',
    table: copyName(input.versionId, input.field, digest),
    resourceId: input.resourceId,
    versionId: input.versionId,
    key: { field: input.field, digest },
    query: sql`SELECT ${sql.ref(ROW_ORDINAL)}, ${spanMaskSql(input.field)} AS ${sql.ref(SPAN_COPY_VALUE)}
      FROM ${derivedTable(input.versionTable)}`,
    primaryKey: [ROW_ORDINAL],
  });
  if (result.built) {
    stats.built++;
    stats.lastBuildMs = Math.round(performance.now() - started);
  }
  return result;
}

async function buildQuietly(db: Db, input: SpanCopyInput): Promise<void> {
  try {
    await buildSpanMasked(db, input);
  } catch (error) {
    // The field stays served with the expression; the next version or request tries again.
    stats.failures++;
    stats.lastError = error instanceof Error ? error.message : String(error);
  }
}

/** Drops every copy of a resource: tests that rewrite a version's rows in place need it. */
export async function dropSpanMaskedOf(db: Db, resourceId: string): Promise<void> {
  const rows = await sdb(db)
    .selectFrom('span_masked')
    .select('table_name')
    .where('resource_id', '=', resourceId)
    .execute();
  await dropDerived(
    db,
    'span_masked',
    rows.map((r) => r.table_name),
  );
}

/**
 * The fields of a version served under redact_spans: by a contract in force (its mask as the
 * gateway computes it on each request) or, for contracts still to come, by the field's default.
 */
async function spanFields(db: Db, resourceId: string, columns: string[]): Promise<string[]> {
  const labels = await db
    .selectFrom('resource_fields')
    .select(['name', 'grade', 'detector'])
    .where('resource_id', '=', resourceId)
    .execute();
  const contracts = await db
    .selectFrom('contracts')
    .select(['fields', 'masking', 'granted_grades', 'security_signoff'])
    .where('resource_id', '=', resourceId)
    .where('state', 'in', ['active', 'suspended'])
    .execute();
  const facts = new Map(labels.map((l) => [l.name, l]));
  return columns.filter((name) => {
    const label = facts.get(name);
    const grade: Grade = label && isGrade(label.grade) ? label.grade : 'unassessed';
    const detector = label?.detector ?? null;
    if (defaultMask({ name, dataType: 'text', grade, detector }) === SPAN_MASK) return true;
    return contracts.some(
      (c) =>
        c.fields.includes(name) &&
        effectiveMask(
          c.masking[name] ?? 'null',
          { grade, detector },
          c.granted_grades?.[name],
          c.security_signoff,
        ) === SPAN_MASK,
    );
  });
}

/**
 * Makes the resource's copies match its versions in service and the definitions in force: drops
 * copies of other versions (neither current nor pinned by a contract), of other digests and of the
 * current version's fields no longer served under redact_spans, then builds
 * the current version's missing copies, one field at a time. Run after a version becomes current;
 * a failure leaves the field on the expression (counted in `spanMaskedStats`), never wrong.
 */
export async function refreshSpanMasked(db: Db, resourceId: string): Promise<void> {
  await outsideRequest(async () => {
    const live = await liveVersion(db, resourceId);
    const pinned = await db
      .selectFrom('contracts')
      .select('pinned_version_id')
      .distinct()
      .where('resource_id', '=', resourceId)
      .where('pinned_version_id', 'is not', null)
      .execute();
    const kept = [...(live ? [live.id] : []), ...pinned.map((p) => p.pinned_version_id!)];
    const columns = ((live?.columns ?? []) as Array<{ name: string }>).map((c) => c.name);
    const wanted = live ? await spanFields(db, resourceId, columns) : [];
    let query = sdb(db).selectFrom('span_masked').select('table_name').where('resource_id', '=', resourceId);
    if (kept.length > 0)
      query = query.where((eb) =>
        eb.or([
          eb('version_id', 'not in', kept),
          eb('digest', '!=', SPAN_DIGEST),
          // A field of the current version no longer served under redact_spans.
          eb.and([eb('version_id', '=', live?.id ?? ''), ...wanted.map((w) => eb('field', '!=', w))]),
        ]),
      );
    const stale = await query.execute();
    await dropDerived(
      db,
      'span_masked',
      stale.map((s) => s.table_name),
    );
    stats.dropped += stale.length;
    if (!live) return;
    for (const field of wanted)
      await buildQuietly(db, { resourceId, versionId: live.id, versionTable: live.table_name, field });
  });
}

/** ingest's hook: a version became current — its copies are built and the resource's others dropped. */
export async function onVersionCurrent(ctx: Ctx, event: { resourceId: string }): Promise<void> {
  await refreshSpanMasked(ctx.db, event.resourceId).catch(() => {});
}

/** Whether the version is its resource's current one or pinned by one of its contracts. */
async function inService(db: Db, resourceId: string, versionId: string): Promise<boolean> {
  try {
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one FROM resources
      WHERE id = ${resourceId} AND (current_version_id = ${versionId}
        OR EXISTS (SELECT 1 FROM contracts WHERE resource_id = ${resourceId} AND pinned_version_id = ${versionId}))`.execute(
      db,
    );
    return rows.length > 0;
  } catch {
    return false;
  }
}

/**
 * Per node: copies being built on demand (the first request serving a field without one), and
 * copies whose build failed lately (not retried on every request: a pause first).
 */
const pending = new Map<string, Promise<void> | 'failed'>();
const RETRY_AFTER_MS = 60_000;

/**
 * Starts building a missing copy outside the request; the request itself is served with the
 * expression and never waits on, or fails with, the build.
 */
export function scheduleSpanMasked(db: Db, input: SpanCopyInput): void {
  // Inside a caller's transaction the handle ends with it: the next request outside one builds.
  if (db.isTransaction) return;
  const name = copyName(input.versionId, input.field, SPAN_DIGEST);
  if (pending.has(name)) return;
  const build = outsideRequest(async () => {
    const failures = stats.failures;
    // A request served just before a new version became current: its version's copy would be
    // dropped at the next refresh, unread.
    if (await inService(db, input.resourceId, input.versionId)) await buildQuietly(db, input);
    if (stats.failures === failures) pending.delete(name);
    else {
      pending.set(name, 'failed');
      setTimeout(() => pending.delete(name), RETRY_AFTER_MS).unref();
    }
  });
  pending.set(name, build);
}

/** Tests and the benchmark: every on-demand build started so far has ended. */
export async function spanBuildsSettled(): Promise<void> {
  await Promise.all([...pending.values()].filter((p) => p !== 'failed'));
}

/** Tests: forgets failed builds, so the next request schedules again. */
export function forgetFailedSpanBuilds(): void {
  for (const [name, p] of pending) if (p === 'failed') pending.delete(name);
}

/**
 * Runs a read with the copies it was given, and once more without any if a copy was dropped
 * between admission's look-up and the read (a new version or new definitions committed meanwhile).
 */
export async function withSpanFallback<G extends { spanCopies: Readonly<Record<string, string>> }, T>(
  granted: G,
  read: (granted: G) => Promise<T>,
): Promise<T> {
  try {
    return await read(granted);
  } catch (error) {
    if (!isUndefinedTable(error) || Object.keys(granted.spanCopies).length === 0) throw error;
    stats.fallbacks++;
    return read({ ...granted, spanCopies: {} });
  }
}
