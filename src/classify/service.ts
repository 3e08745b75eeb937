import { auditAs } from '../audit/append.ts';
import type { ResourceView } from '../catalog/service.ts';
import * as catalog from '../catalog/service.ts';
import { authorize, hasRole } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import * as identity from '../identity/service.ts';
import { type Grade, gradeRank, highestGrade } from '../rules/grades.ts';
import {
  type ColumnResult,
  createColumnJudge,
  createColumnScanner,
  DEFAULT_FULL_SCAN_ROWS,
  DEFAULT_SAMPLE_ROWS,
  hasText,
  OBSERVE,
  sampleOrdinals,
  sampleRandom,
} from '../rules/scan.ts';
import { createRowScanner, type PlainScanOptions, type ScanSummary } from './background.ts';
import {
  type ClassificationRow,
  type FlagEntry,
  type GradeFlag,
  type ResourceState,
  classifyStore as store,
} from './store.ts';

// The catalog keeps the flag as classification wrote it; these give it back its type.
const lockResource = (tx: Executor, id: string) =>
  catalog.grading.lockResource(tx, id) as Promise<ResourceState | undefined>;
const gradeFlagOf = (db: Executor, id: string) => catalog.grading.flag(db, id) as Promise<GradeFlag | null>;

/**
 * Classification on the platform: scans on import and on demand, grade suggestions, the data
 * steward's confirmation, and the flag raised when new data contradicts the declared grades.
 *
 * A field's effective grade (resource_fields.grade, what the gateway and sharing obey) is the
 * steward's confirmed grade when there is one, else the scan's suggestion. A grade the catalog
 * held before classification ever ran counts as declared, like a confirmation without a person.
 */

const SCAN_BATCH_ROWS = 5_000;

/**
 * What the resource's metadata says about fields no detector recognises (Shutong's defaults,
 * REFERENCE.md §1): data open to the public unconditionally is public data (g1); data shared with
 * every department unconditionally is internal data of limited harm (g2). Anything else stays
 * unassessed until a steward grades it. The value is a floor: it never lowers a detected grade.
 */
export function metadataGrade(resource: { sharingType: string; openType: string }): Grade | undefined {
  if (resource.openType === 'unconditional') return 'g1';
  if (resource.sharingType === 'unconditional') return 'g2';
  return undefined;
}

/** The header a field is scanned under: its label (the file's header) and its column name. */
export function scanHeader(field: { name: string; label: string }): string {
  return field.label === field.name ? field.name : `${field.label} ${field.name}`;
}

function scanOptions(ctx: Ctx, resource: { sharingType: string; openType: string }): PlainScanOptions {
  const floor = metadataGrade(resource);
  return {
    fullScanRows: ctx.config.classifyFullScanRows,
    sampleRows: ctx.config.classifySampleRows,
    ...(floor ? { resourceGrade: floor } : {}),
  };
}

function stewardOf(ctx: Ctx, providerOrgId: string) {
  // As for the catalog entry itself: only the provider's own stewards decide its grades.
  return authorize(ctx.principal, {
    roles: ['data_steward'],
    scope: 'catalog:write',
    orgId: providerOrgId,
    crossOrg: [],
  });
}

// ---------------------------------------------------------------- deciding

export interface ScanOutcome {
  /** Scan results by field name. */
  results: ReadonlyMap<string, ColumnResult>;
  rows: number;
  sampled: boolean;
  versionId: string | null;
  versionNumber: number | null;
  at: Date;
}

export interface FieldNow {
  name: string;
  grade: Grade;
  detector: string | null;
}

export interface Reconciled {
  /** Classification rows to write, one per scanned field. */
  rows: ClassificationRow[];
  /** Every field's effective grade and detector after the scan. */
  fields: FieldNow[];
  changed: Record<
    string,
    { grade?: { from: Grade; to: Grade }; detector?: { from: string | null; to: string | null } }
  >;
  flagged: FlagEntry[];
}

const rankOf = (grade: Grade | null) => (grade === null || grade === 'unassessed' ? 0 : gradeRank(grade));

/**
 * Decides the effective grade of each field from a scan, and what the scan contradicts. Pure.
 *
 * - A confirmed (or declared) grade stays, unless the data now shows a different and more
 *   sensitive type than the one it was confirmed against: then the confirmation is set aside,
 *   the suggestion applies ("grade up when in doubt") and the resource is flagged.
 * - An unconfirmed field takes the suggestion. When the resource was scanned before and the field
 *   now shows a sensitive type it did not show then (a new sensitive column), the resource is
 *   flagged too: the grade rose without anyone deciding it.
 * - A scan that finds nothing does not erase the detector of a confirmed field: the steward
 *   confirmed it knowing what the values are, and the gateway's default mask depends on it.
 */
export function reconcile(
  resourceId: string,
  fields: readonly FieldNow[],
  previous: ReadonlyMap<string, ClassificationRow>,
  scan: ScanOutcome,
): Reconciled {
  const hadScan = [...previous.values()].some((p) => p.scanned_at !== null);
  const at = scan.at.toISOString();
  const out: Reconciled = { rows: [], fields: [], changed: {}, flagged: [] };
  for (const f of fields) {
    const r = scan.results.get(f.name);
    if (!r) {
      out.fields.push({ ...f });
      continue;
    }
    const p = previous.get(f.name);
    let confirmation: FlagEntry['confirmation'] = null;
    if (p?.confirmed_grade && p.confirmed_at) {
      confirmation = {
        grade: p.confirmed_grade,
        by: p.confirmed_by,
        at: new Date(p.confirmed_at).toISOString(),
        reason: p.confirmed_reason,
      };
    } else if (!p && f.grade !== 'unassessed') {
      confirmation = { grade: f.grade, by: null, at, reason: null };
    }
    const previouslyScanned = p?.scanned_at !== null && p?.scanned_at !== undefined;
    const previousType = previouslyScanned ? p.detector : f.detector;
    const suggested = r.grade;
    const newType = r.type !== null && r.type !== previousType;
    let reason: FlagEntry['reason'] | null = null;
    if (confirmation) {
      if (newType && rankOf(suggested) > rankOf(confirmation.grade)) reason = 'declared_grade_contradicted';
    } else if (hadScan && newType && rankOf(suggested) >= gradeRank('g3')) {
      const baseline = previouslyScanned ? p.suggested_grade : f.grade;
      if (rankOf(suggested) > rankOf(baseline)) reason = 'new_sensitive_column';
    }
    const kept = reason === null ? confirmation : null;
    const grade = kept ? kept.grade : suggested;
    // A free-text field's effective detector is the kind, `free_text`, whose default mask replaces
    // each entity span; the scan keeps the most sensitive entity type (and the grade it implies).
    const found = r.evidence.freeText ? 'free_text' : r.type;
    const detector = found ?? (kept ? f.detector : null);
    out.fields.push({ name: f.name, grade, detector });
    if (grade !== f.grade || detector !== f.detector) {
      out.changed[f.name] = {
        ...(grade !== f.grade ? { grade: { from: f.grade, to: grade } } : {}),
        ...(detector !== f.detector ? { detector: { from: f.detector, to: detector } } : {}),
      };
    }
    if (reason) {
      out.flagged.push({
        field: f.name,
        reason,
        declaredGrade: confirmation ? confirmation.grade : previouslyScanned ? p.suggested_grade : f.grade,
        previousDetector: previousType,
        detector: r.type!,
        suggestedGrade: suggested,
        confirmation,
        versionId: scan.versionId,
        versionNumber: scan.versionNumber,
        at,
      });
    }
    out.rows.push({
      resource_id: resourceId,
      field_name: f.name,
      detector: r.type,
      confidence: r.confidence,
      ratio: r.ratio,
      non_empty: r.nonEmpty,
      evidence: r.evidence,
      suggested_grade: suggested,
      scanned_version_id: scan.versionId,
      scanned_rows: scan.rows,
      sampled: scan.sampled,
      scanned_at: scan.at,
      confirmed_grade: kept?.grade ?? null,
      confirmed_by: kept?.by ?? null,
      confirmed_at: kept ? new Date(kept.at) : null,
      confirmed_reason: kept?.reason ?? null,
    });
  }
  return out;
}

function mergeFlag(flag: GradeFlag | null, entries: FlagEntry[], at: string): GradeFlag | null {
  if (entries.length === 0) return flag;
  const names = new Set(entries.map((e) => e.field));
  return {
    raisedAt: flag?.raisedAt ?? at,
    fields: [...(flag?.fields ?? []).filter((e) => !names.has(e.field)), ...entries],
  };
}

/**
 * Stores a scan's outcome in the caller's transaction: scan results, effective grades, the
 * resource grade (its highest field grade), the flag, and the audit events.
 */
/** Stores a scan of `version` whose results come in the order of `names`. */
function saveScan(
  ctx: Ctx,
  tx: Executor,
  resourceId: string,
  names: readonly string[],
  summary: ScanSummary,
  version: { id: string; number: number },
  via: 'import' | 'scan',
) {
  const outcome: ScanOutcome = {
    results: new Map(names.map((name, i) => [name, summary.results[i]!])),
    rows: summary.rows,
    sampled: summary.sampled,
    versionId: version.id,
    versionNumber: version.number,
    at: new Date(),
  };
  return applyScan(ctx, tx, resourceId, outcome, via);
}

async function applyScan(
  ctx: Ctx,
  tx: Executor,
  resourceId: string,
  scan: ScanOutcome,
  via: 'import' | 'scan',
) {
  const resource = await lockResource(tx, resourceId);
  if (!resource) throw new AppError('NOT_FOUND', { objectType: 'resource', id: resourceId });
  const [fields, previous] = await Promise.all([
    catalog.grading.fields(tx, resourceId),
    store.classifications(tx, resourceId),
  ]);
  const decided = reconcile(resourceId, fields, new Map(previous.map((p) => [p.field_name, p])), scan);
  await store.upsert(tx, decided.rows);
  await store.dropOthers(
    tx,
    resourceId,
    fields.map((f) => f.name),
  );
  const changedNames = new Set(Object.keys(decided.changed));
  await catalog.grading.setFieldGrades(
    tx,
    resourceId,
    decided.fields.filter((f) => changedNames.has(f.name)),
  );
  const grade = highestGrade(...decided.fields.map((f) => f.grade));
  const actorId = ctx.principal?.userId ?? 'system';
  if (changedNames.size > 0 || grade !== resource.grade) {
    await catalog.grading.setResourceGrade(tx, resource, grade, {
      actorId,
      changes: {
        classification: { version: scan.versionNumber, fields: decided.changed },
        ...(grade !== resource.grade ? { grade: { from: resource.grade, to: grade } } : {}),
      },
    });
  }
  const flag = mergeFlag(resource.grade_flag, decided.flagged, scan.at.toISOString());
  if (decided.flagged.length > 0) await catalog.grading.setFlag(tx, resourceId, flag);
  const audit = (action: string, details: Record<string, unknown>) =>
    auditAs(ctx, tx, action, 'resource', resourceId, details);
  await audit('classification.scan', {
    via,
    version: scan.versionNumber,
    rows: scan.rows,
    sampled: scan.sampled,
    changed: decided.changed,
    grade: { from: resource.grade, to: grade },
  });
  if (decided.flagged.length > 0) {
    await audit('classification.flag.raise', {
      version: scan.versionNumber,
      fields: decided.flagged.map((e) => ({
        field: e.field,
        reason: e.reason,
        declaredGrade: e.declaredGrade,
        detector: e.detector,
        suggestedGrade: e.suggestedGrade,
      })),
    });
  }
  return { grade, flag, changed: decided.changed, flagged: decided.flagged };
}

// ---------------------------------------------------------------- scanning on import

export interface ImportScan {
  /** One good row's parsed values, in the order of the resource's fields. */
  add(values: readonly unknown[]): void;
  /**
   * No more rows: the scan completes (on the worker, while the final transaction builds the
   * version's index) and `save` collects it.
   */
  end(): void;
  /** Stores the outcome in the import's final transaction. */
  save(tx: Executor, version: { id: string; number: number }): Promise<void>;
  /** Lets go of the scan of an import that failed. */
  close(): void;
}

/**
 * A scanner for an import into `resource`, or null when scanning is turned off. Large imports
 * are scanned on a worker thread while they load when the machine has a core to spare
 * (background.ts); `'inline'` and `'worker'` force one way, to measure the difference.
 */
export function startImportScan(
  ctx: Ctx,
  resource: ResourceView,
  options: {
    enabled?: boolean | 'inline' | 'worker' | undefined;
    /** How many rows the file probably holds (from the bytes read so far), asked at the first row. */
    expectedRows?: () => number | undefined;
  } = {},
): ImportScan | null {
  if (options.enabled === false) return null;
  const names = resource.fields.map((f) => f.name);
  const scanner = createRowScanner(resource.fields.map(scanHeader), scanOptions(ctx, resource), {
    background: options.enabled === 'inline' ? false : options.enabled === 'worker' ? true : undefined,
    expectedRows: options.expectedRows,
  });
  let summary: Promise<ScanSummary> | undefined;
  const finish = () => {
    if (!summary) {
      summary = scanner.finish();
      // Collected by save(); an import that fails before then must not leave it unhandled.
      summary.catch(() => {});
    }
    return summary;
  };
  return {
    add: (values) => scanner.add(values),
    end: () => {
      finish();
    },
    async save(tx, version) {
      await saveScan(ctx, tx, resource.id, names, await finish(), version, 'import');
    },
    close: () => scanner.close(),
  };
}

/**
 * Judges the columns of a stored table of `rowCount` rows: every row, read in batches, up to the
 * full-scan size; beyond it a seeded uniform sample read by ordinal (sampleOrdinals). A full scan's
 * non-empty counts are exact; a sample's are estimated from it.
 */
async function scanStoredTable(
  db: Executor,
  tableName: string,
  fields: ReadonlyArray<{ name: string; label: string; dataType: string }>,
  options: PlainScanOptions,
  rowCount: number,
): Promise<ScanSummary> {
  const header = fields.map(scanHeader);
  const columns = fields.map((f) => f.name);
  const ordinals = sampleOrdinals(rowCount, options);
  if (!ordinals) {
    const scanner = createColumnScanner(header, options);
    for (let after = 0; ; ) {
      const batch = await store.rowBatch(db, tableName, columns, after, SCAN_BATCH_ROWS);
      for (const row of batch.rows) scanner.add(row);
      if (batch.rows.length < SCAN_BATCH_ROWS) break;
      after = batch.last;
    }
    return { results: scanner.result(), rows: scanner.rows, sampled: scanner.sampled };
  }
  // Judged on the sample alone, as a reservoir is: fullScanRows 0.
  const judge = createColumnJudge(header, { ...options, fullScanRows: 0 });
  const seen = new Array<number>(fields.length).fill(0);
  let slot = 0;
  // One query: the server looks the ordinals up in a hash table during one pass over the table.
  for (const row of await store.rowsAt(db, tableName, columns, ordinals)) {
    judge.add(row, slot++);
    for (let c = 0; c < row.length; c++) if (hasText(row[c])) seen[c]!++;
  }
  // Like the grades, the non-empty counts come from the sample: its share, scaled to the table.
  const nonEmpty = seen.map((n) => (slot === 0 ? 0 : Math.round((n * rowCount) / slot)));
  return { results: judge.result(nonEmpty, true), rows: rowCount, sampled: true };
}

/**
 * The scan of a bulk import (ingest/bulk.ts), fed the records the bulk path draws while it streams
 * the file to the server: each record with the same probability — sampleRows / the rows the file
 * probably holds, or every record of a file expected within the full-scan size — judged as it
 * comes, on the importing thread, which has time to spare while the server parses. A uniform
 * (Bernoulli) sample of about sampleRows; its non-empty counts are scaled to the table.
 * `add` takes one record's values in the order of the resource's fields.
 */
export function sampledImportScan(ctx: Ctx, resource: ResourceView) {
  const options = scanOptions(ctx, resource);
  const fullScanRows = options.fullScanRows ?? DEFAULT_FULL_SCAN_ROWS;
  const sampleRows = Math.max(1, options.sampleRows ?? DEFAULT_SAMPLE_ROWS);
  // Every row it is given is judged at once (no reservoir): the drawing happened before.
  const judge = createColumnJudge(resource.fields.map(scanHeader), {
    ...options,
    fullScanRows: Number.POSITIVE_INFINITY,
  });
  const names = resource.fields.map((f) => f.name);
  const seen = new Array<number>(names.length).fill(0);
  let judged = 0;
  return {
    start(expectedRows: number): () => boolean {
      const probability = expectedRows > fullScanRows ? sampleRows / expectedRows : 1;
      if (probability >= 1) return () => true;
      const random = sampleRandom(options);
      return () => random() < probability;
    },
    add(values: readonly unknown[]) {
      judge.add(values, OBSERVE);
      judged++;
      for (let c = 0; c < values.length; c++) if (hasText(values[c])) seen[c]!++;
    },
    /** The scan of the `rows` rows that were loaded, to be saved with the version. */
    finish(rows: number): Pick<ImportScan, 'save' | 'close'> {
      const sampled = judged < rows;
      const nonEmpty = sampled ? seen.map((n) => (judged === 0 ? 0 : Math.round((n * rows) / judged))) : seen;
      const results = judge.result(nonEmpty, false);
      return {
        async save(tx, version) {
          await saveScan(ctx, tx, resource.id, names, { results, rows, sampled }, version, 'import');
        },
        close() {},
      };
    },
  };
}

// ---------------------------------------------------------------- the API

async function view(ctx: Ctx, resource: ResourceView) {
  const [fields, rows, flag] = await Promise.all([
    catalog.grading.fields(ctx.db, resource.id),
    store.classifications(ctx.db, resource.id),
    gradeFlagOf(ctx.db, resource.id),
  ]);
  const byName = new Map(rows.map((r) => [r.field_name, r]));
  const versionIds = [...new Set(rows.map((r) => r.scanned_version_id).filter((v): v is string => !!v))];
  const confirmers = [...new Set(rows.map((r) => r.confirmed_by).filter((v): v is string => !!v))];
  const [versions, users] = await Promise.all([
    store.versionNumbers(ctx.db, versionIds),
    confirmers.length === 0 ? Promise.resolve([]) : identity.usernames(ctx.db, confirmers),
  ]);
  const numberOf = new Map(versions.map((v) => [v.id, v.number]));
  // Sample values, even masked, single people out when combined across resources: only the
  // provider's data stewards, security officers and platform admins see them. Everyone else sees
  // the detector, the grade and the counts.
  const principal = ctx.principal;
  const seesSamples =
    !!principal &&
    (hasRole(principal, 'security_officer', 'platform_admin') ||
      (principal.orgId === resource.provider.id && hasRole(principal, 'data_steward')));
  const usernameOf = new Map(users.map((u) => [u.id, u.username]));
  return {
    resourceId: resource.id,
    code: resource.code,
    grade: resource.grade,
    flag,
    fields: fields.map((f) => {
      const r = byName.get(f.name);
      return {
        name: f.name,
        label: f.label,
        grade: f.grade,
        detector: f.detector,
        scan: r?.scanned_at
          ? {
              detector: r.detector,
              confidence: r.confidence ?? 0,
              ratio: r.ratio ?? 0,
              nonEmpty: Number(r.non_empty ?? 0),
              evidence: seesSamples
                ? (r.evidence ?? { samples: [], headerHint: null })
                : { samples: [], headerHint: r.evidence?.headerHint ?? null },
              suggestedGrade: r.suggested_grade ?? ('unassessed' as Grade),
              versionId: r.scanned_version_id,
              versionNumber: r.scanned_version_id ? (numberOf.get(r.scanned_version_id) ?? null) : null,
              rows: Number(r.scanned_rows ?? 0),
              sampled: r.sampled ?? false,
              scannedAt: new Date(r.scanned_at).toISOString(),
            }
          : null,
        confirmation:
          r?.confirmed_grade && r.confirmed_at
            ? {
                grade: r.confirmed_grade,
                by: r.confirmed_by
                  ? { id: r.confirmed_by, username: usernameOf.get(r.confirmed_by) ?? null }
                  : null,
                at: new Date(r.confirmed_at).toISOString(),
                reason: r.confirmed_reason,
              }
            : null,
      };
    }),
  };
}
export type ClassificationView = Awaited<ReturnType<typeof view>>;

/**
 * Anyone who may read the catalog sees grades and detectors; masked evidence samples only the
 * provider's stewards, security officers and platform admins (see view).
 */
export async function getClassification(ctx: Ctx, resourceRef: string): Promise<ClassificationView> {
  return view(ctx, await catalog.getResource(ctx, resourceRef));
}

/**
 * Scans the current version again, reading its table in batches: after detectors change, or to
 * check a resource whose grades were declared before its data was loaded.
 */
export async function scanResource(ctx: Ctx, resourceRef: string): Promise<ClassificationView> {
  const resource = await catalog.getResource(ctx, resourceRef);
  stewardOf(ctx, resource.provider.id);
  const versionId = resource.currentVersionId;
  const version = versionId ? await store.version(ctx.db, versionId) : undefined;
  if (!version) throw new AppError('NO_DATA_VERSION', { resource: resource.code });
  const tableColumns = new Set(version.columns.map((c) => c.name));
  const fields = resource.fields.filter((f) => tableColumns.has(f.name));
  const columns = fields.map((f) => f.name);
  const scanned = await scanStoredTable(
    ctx.db,
    version.table_name,
    fields,
    scanOptions(ctx, resource),
    Number(version.row_count),
  );
  await withTx(ctx.db, async (tx) => {
    const locked = await lockResource(tx, resource.id);
    // An import that committed meanwhile has scanned newer data: this scan must not overwrite it.
    if (locked?.current_version_id !== version.id) {
      throw new AppError(
        'CONFLICT',
        { field: 'version', scanned: version.number },
        {
          zh: '扫描期间载入了新的数据版本，请重新扫描',
          en: 'a new data version was loaded during the scan; scan again',
        },
      );
    }
    await saveScan(ctx, tx, resource.id, columns, scanned, version, 'scan');
  });
  return getClassification(ctx, resource.id);
}

type DecidedGrade = Exclude<Grade, 'unassessed'>;
interface GradeDecision {
  field: string;
  grade: DecidedGrade;
  reason: string;
}

/**
 * A steward confirms or overrides a field's grade. A grade other than the suggestion needs a
 * reason; either way the decision is audited, becomes the field's effective grade and resolves
 * the field's part of the flag.
 */
export function confirmGrade(
  ctx: Ctx,
  resourceRef: string,
  fieldName: string,
  input: { grade: DecidedGrade; reason?: string | undefined },
): Promise<ClassificationView> {
  return decideGrades(ctx, resourceRef, () => [
    { field: fieldName, grade: input.grade, reason: input.reason?.trim() ?? '' },
  ]);
}

/**
 * Many fields decided at once, as a steward does after reading a scan: each named field takes its
 * scan's suggestion, or `grade` when given (one reason for all of them). All or nothing: one field
 * that cannot be decided (unknown, no suggestion to confirm, a reason missing) refuses the whole
 * request, naming it. Each field's decision is audited as if confirmed alone.
 */
export function decideFieldGrades(
  ctx: Ctx,
  resourceRef: string,
  input: { fields: string[]; grade?: DecidedGrade | undefined; reason?: string | undefined },
): Promise<ClassificationView> {
  const reason = input.reason?.trim() ?? '';
  return decideGrades(ctx, resourceRef, (suggestionOf) =>
    input.fields.map((field) => {
      if (input.grade) return { field, grade: input.grade, reason };
      const suggested = suggestionOf(field);
      if (!suggested || suggested === 'unassessed') {
        throw new AppError(
          'VALIDATION_FAILED',
          { field: 'fields', name: field, suggestedGrade: suggested ?? null },
          {
            zh: `字段 ${field} 没有可确认的建议级别，请指定级别并说明理由`,
            en: `field ${field} has no suggested grade to confirm; give a grade and a reason`,
          },
        );
      }
      return { field, grade: suggested, reason };
    }),
  );
}

async function decideGrades(
  ctx: Ctx,
  resourceRef: string,
  decide: (suggestionOf: (field: string) => Grade | null) => GradeDecision[],
): Promise<ClassificationView> {
  const resource = await catalog.getResource(ctx, resourceRef);
  const principal = stewardOf(ctx, resource.provider.id);
  await withTx(ctx.db, async (tx) => {
    const row = await lockResource(tx, resource.id);
    if (!row) throw new AppError('NOT_FOUND', { objectType: 'resource', id: resourceRef });
    let locked: ResourceState = row;
    let fields = await catalog.grading.fields(tx, resource.id);
    const rows = new Map((await store.classifications(tx, resource.id)).map((r) => [r.field_name, r]));
    const suggestionOf = (name: string) => {
      if (!fields.some((f) => f.name === name))
        throw new AppError('NOT_FOUND', { objectType: 'field', id: name, field: 'name' });
      const row = rows.get(name);
      return row?.scanned_at ? row.suggested_grade : null;
    };
    const now = new Date();
    for (const { field: fieldName, grade: decided, reason } of decide(suggestionOf)) {
      const field = fields.find((f) => f.name === fieldName);
      if (!field) throw new AppError('NOT_FOUND', { objectType: 'field', id: fieldName, field: 'name' });
      const previous = rows.get(fieldName);
      const suggested = suggestionOf(fieldName);
      const override = decided !== suggested;
      if (override && reason === '') {
        throw new AppError(
          'VALIDATION_FAILED',
          { field: 'reason', name: fieldName, grade: decided, suggestedGrade: suggested },
          {
            zh: `字段 ${fieldName} 所定级别与建议级别不同（或尚无扫描建议），必须说明理由`,
            en: `field ${fieldName}: a grade other than the suggestion (or with no suggestion yet) needs a reason`,
          },
        );
      }
      await store.upsert(tx, [
        {
          resource_id: resource.id,
          field_name: fieldName,
          detector: previous?.detector ?? null,
          confidence: previous?.confidence ?? null,
          ratio: previous?.ratio ?? null,
          non_empty: previous?.non_empty ?? null,
          evidence: previous?.evidence ?? null,
          suggested_grade: previous?.suggested_grade ?? null,
          scanned_version_id: previous?.scanned_version_id ?? null,
          scanned_rows: previous?.scanned_rows ?? null,
          sampled: previous?.sampled ?? null,
          scanned_at: previous?.scanned_at ?? null,
          confirmed_grade: decided,
          confirmed_by: principal.userId,
          confirmed_at: now,
          confirmed_reason: reason === '' ? null : reason,
        },
      ]);
      const after = fields.map((f) => (f.name === fieldName ? { ...f, grade: decided } : f));
      const grade = highestGrade(...after.map((f) => f.grade));
      const gradeBefore = locked.grade;
      if (field.grade !== decided) {
        await catalog.grading.setFieldGrades(tx, resource.id, [
          { name: fieldName, grade: decided, detector: field.detector },
        ]);
        const revision = await catalog.grading.setResourceGrade(tx, locked, grade, {
          actorId: principal.userId,
          changes: {
            fieldGrade: { field: fieldName, from: field.grade, to: decided, reason: reason || null },
            ...(grade !== locked.grade ? { grade: { from: locked.grade, to: grade } } : {}),
          },
        });
        locked = { ...locked, grade, revision };
      }
      let flagResolved = false;
      if (locked.grade_flag?.fields.some((e) => e.field === fieldName)) {
        const rest = locked.grade_flag.fields.filter((e) => e.field !== fieldName);
        const flag = rest.length > 0 ? { ...locked.grade_flag, fields: rest } : null;
        await catalog.grading.setFlag(tx, resource.id, flag);
        locked = { ...locked, grade_flag: flag };
        flagResolved = true;
      }
      await auditAs(ctx, tx, 'field.grade.confirm', 'resource', resource.id, {
        field: fieldName,
        from: field.grade,
        to: decided,
        suggested,
        override,
        reason: reason === '' ? null : reason,
        resourceGrade: { from: gradeBefore, to: grade },
        flagResolved,
      });
      fields = after;
    }
  });
  return getClassification(ctx, resource.id);
}

/** A steward has looked at what the flag reports and says why it needs nothing more. */
export async function clearFlag(ctx: Ctx, resourceRef: string, reason: string): Promise<ClassificationView> {
  const resource = await catalog.getResource(ctx, resourceRef);
  stewardOf(ctx, resource.provider.id);
  if (reason.trim() === '') throw new AppError('VALIDATION_FAILED', { field: 'reason' });
  await withTx(ctx.db, async (tx) => {
    const locked = await lockResource(tx, resource.id);
    if (!locked?.grade_flag) {
      throw new AppError('INVALID_TRANSITION', {
        objectType: 'resource',
        state: 'not_flagged',
        event: 'clear_flag',
      });
    }
    await catalog.grading.setFlag(tx, resource.id, null);
    await auditAs(ctx, tx, 'classification.flag.clear', 'resource', resource.id, {
      reason: reason.trim(),
      fields: locked.grade_flag.fields.map((e) => e.field),
    });
  });
  return getClassification(ctx, resource.id);
}
