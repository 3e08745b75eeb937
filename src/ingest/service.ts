import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { auditAs } from '../audit/append.ts';
import type { ResourceView } from '../catalog/service.ts';
import * as catalog from '../catalog/service.ts';
import { type ImportScan, sampledImportScan, startImportScan } from '../classify/service.ts';
import { authorize, hasRole } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { DATASET_SCHEMA, datasetTable } from '../core/datasets.ts';
import { type Executor, withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import {
  endJob,
  findJob,
  type JobProgress,
  LEASE_SECONDS,
  reportProgress,
  startJob,
  sweepAbandonedJobs,
} from '../core/jobs.ts';
import type { DataType } from '../core/tables.ts';
import {
  BadRowReport,
  type CellValue,
  FileReadError,
  inferFields,
  mapHeader,
  type OpenTableOptions,
  openTable,
  parseValue,
  type Table,
  type TableFormat,
  type TableRow,
} from '../readers/index.ts';
import { createColumnScanner } from '../rules/scan.ts';
import { bulkColumns, bulkLoad } from './bulk.ts';
import { fieldNamesFor } from './field-names.ts';
import { type ColumnStats, columnStats, MAX_IMPORT_COLUMNS } from './stats.ts';
import { ingestStore as store } from './store.ts';

export interface ImportOptions {
  /** The file name as the user knows it (the stored path may be a temporary file). */
  sourceName?: string;
  format?: TableFormat;
  encoding?: string;
  delimiter?: string;
  sheet?: string | number;
  /** Bad rows tolerated before the import fails as a whole (default 0: any bad row fails it). */
  maxErrors?: number;
  /** When the resource has no fields yet, take the inferred ones (the steward has seen them). */
  adoptInferredFields?: boolean;
  /** Make a version of no rows current (default false: a header-only file is refused, NO_ROWS). */
  allowEmpty?: boolean;
  /** Classify the fields while loading (default true); false, 'inline' or 'worker' only to measure what scanning costs. */
  classify?: boolean | 'inline' | 'worker';
  /** Let a clean CSV go to COPY as it is (default true; bulk.ts); false loads row by row, to compare. */
  bulk?: boolean;
  /** The memory the file's reader may hold (default: the reader's 256 MiB; routes pass IMPORT_MEMORY_MB). */
  memoryBytes?: number;
  /** SM3 of the source bytes when the caller computed it while receiving them. */
  sourceSm3?: string;
  onProgress?: (progress: JobProgress) => void;
}

export interface ProposedField {
  name: string;
  label: string;
  dataType: DataType;
}

/** A version became its resource's current one (committed): what listeners are told. */
export interface VersionCurrent {
  resourceId: string;
  versionId: string;
  versionNumber: number;
  reason: 'import' | 'activate';
}
export type VersionCurrentListener = (ctx: Ctx, event: VersionCurrent) => Promise<void>;
const versionListeners = new Set<VersionCurrentListener>();

/**
 * Lets another capability act after a version becomes current (quality evaluates it), without
 * ingest importing it. Listeners run after the commit, one after another; a listener's failure
 * never fails the import. Registering the same function again is a no-op.
 */
export function onVersionCurrent(listener: VersionCurrentListener): () => void {
  versionListeners.add(listener);
  return () => versionListeners.delete(listener);
}

async function versionBecameCurrent(ctx: Ctx, event: VersionCurrent): Promise<void> {
  for (const listener of versionListeners) await listener(ctx, event).catch(() => {});
}

const SAMPLE_ROWS = 1000;
const FLUSH_CHARS = 4 * 1024 * 1024;
const PROGRESS_EVERY_MS = 1000;

function fileError(error: unknown): never {
  if (error instanceof FileReadError) {
    throw new AppError(
      'FILE_REJECTED',
      { fileError: error.code, ...error.details },
      { zh: error.zh, en: error.en },
    );
  }
  throw error;
}

/** The memory one import's reader may hold (IMPORT_MEMORY_MB, default 256). */
export function importMemoryBytes(config: Pick<Ctx['config'], 'importMemoryMb'>): number {
  return config.importMemoryMb * 1024 * 1024;
}

async function open(path: string, options: ImportOptions): Promise<Table> {
  // The column ceiling is the import's own (derived from PostgreSQL's target-list limit, stats.ts),
  // the same in preview and import.
  const tableOptions: OpenTableOptions = { limits: { maxColumns: MAX_IMPORT_COLUMNS } };
  if (options.memoryBytes) tableOptions.limits!.memoryBytes = options.memoryBytes;
  // The stored path is a temporary file: the user's file name decides the format and delimiter.
  if (options.sourceName) tableOptions.name = options.sourceName;
  if (options.format) tableOptions.format = options.format;
  if (options.encoding) tableOptions.encoding = options.encoding;
  if (options.delimiter) tableOptions.delimiter = options.delimiter;
  if (options.sheet !== undefined) tableOptions.sheet = options.sheet;
  return openTable(path, tableOptions).catch(fileError);
}

/** A field's label is at most this long (the catalog's limit); the preview clips what it shows. */
const MAX_LABEL = 100;
const PREVIEW_SHEETS = 100;
const PREVIEW_CELL_CHARS = 200;
const PREVIEW_HEADER_CHARS = 1000;
/** The preview's sample of rows stops at this many characters, whatever SAMPLE_ROWS says. */
const PREVIEW_SAMPLE_CHARS = 8 * 1024 * 1024;

/** The label of an inferred field: the header without control characters, clipped to the catalog's limit. */
export function fieldLabelFor(title: string, index: number): string {
  const clean = title.replace(/\p{Cc}/gu, ' ').trim();
  const clipped =
    clean.length > MAX_LABEL ? clean.slice(0, MAX_LABEL).replace(/[\uD800-\uDBFF]$/, '') : clean;
  return clipped || `第${index + 1}列`;
}

function clip(value: string, chars: number): string {
  return value.length > chars ? `${value.slice(0, chars).replace(/[\uD800-\uDBFF]$/, '')}…` : value;
}

function rowChars(row: TableRow): number {
  let chars = 16;
  for (const value of row.values) chars += typeof value === 'string' ? value.length + 8 : 8;
  return chars;
}

/** Reads the head of a file and says what Shutong sees in it: format, encoding, header, inferred fields, sample. */
export async function previewFile(path: string, options: ImportOptions = {}) {
  const table = await open(path, options);
  const sample: TableRow[] = [];
  let sampleChars = 0;
  try {
    for await (const batch of table.batches) {
      for (const row of batch) {
        sample.push(row);
        sampleChars += rowChars(row);
        if (sample.length >= SAMPLE_ROWS || sampleChars >= PREVIEW_SAMPLE_CHARS) break;
      }
      if (sample.length >= SAMPLE_ROWS || sampleChars >= PREVIEW_SAMPLE_CHARS) break;
    }
  } catch (error) {
    fileError(error);
  } finally {
    await table.close();
  }
  const good = sample.filter((r) => !r.problem);
  // What classification recognises in the sample names the columns whose headers are no identifiers.
  const scanner = createColumnScanner(table.header);
  for (const row of good) scanner.add(row.values);
  const fields = inferFields(table.header, good);
  const names = fieldNamesFor(
    fields.map((f) => f.title),
    scanner.result().map((c) => c.type),
  );
  const inferred = fields.map(
    (f, i): ProposedField => ({
      name: names[i]!,
      label: fieldLabelFor(f.title, i),
      dataType: f.type,
    }),
  );
  return {
    format: table.format,
    encoding: table.encoding,
    delimiter: table.delimiter,
    sheet: table.sheet,
    // What the preview answers is bounded too: a workbook may list a hundred thousand sheets.
    sheets: table.sheets.slice(0, PREVIEW_SHEETS),
    sheetCount: table.sheets.length,
    title: table.title === null ? null : clip(table.title, PREVIEW_HEADER_CHARS),
    header: table.header.map((name) => clip(name, PREVIEW_HEADER_CHARS)),
    inferredFields: inferred,
    sampleRows: good
      .slice(0, 20)
      .map((r) => r.values.map((v) => (typeof v === 'string' ? clip(v, PREVIEW_CELL_CHARS) : v))),
    sampleProblems: sample.flatMap((r) => (r.problem ? [{ line: r.line, ...r.problem }] : [])).slice(0, 20),
  };
}

/**
 * A copy without NUL characters (as U+FFFD): PostgreSQL's jsonb cannot hold them, and header names
 * and keys from a file may contain them (job results and errors are jsonb).
 */
function withoutNul<T>(value: T): T {
  if (typeof value === 'string')
    return (value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value) as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}

async function sm3OfFile(path: string): Promise<string> {
  const hash = createHash('sm3');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const NEEDS_QUOTES = /[",\r\n]/;

function csvCell(value: CellValue | bigint | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  // Quoted only when it must be: an empty quoted string is '' (unquoted it would be NULL), and
  // delimiters, quotes and line breaks need quotes. Fewer bytes to build and to send.
  if (value !== '' && !NEEDS_QUOTES.test(value)) return value;
  return `"${value.replaceAll('"', '""')}"`;
}

export interface PreparedImport {
  jobId: string;
  versionId: string;
  versionNumber: number;
  run(): Promise<ImportResult>;
}

export interface ImportResult {
  jobId: string;
  versionId: string;
  versionNumber: number;
  rows: number;
  badRows: number;
  badRowReport: BadRowReport['rows'];
  missingFields: string[];
  unknownColumns: string[];
  duplicateKeys: number | null;
  /** Whether the file went to COPY as it is (the bulk path, bulk.ts) rather than row by row. */
  bulk: boolean;
  /** Why the row path loaded it, when it did. */
  bulkSkipped: string | null;
}

function stewardOf(ctx: Ctx, resource: ResourceView) {
  return authorize(ctx.principal, {
    roles: ['data_steward'],
    scope: 'catalog:write',
    orgId: resource.provider.id,
    crossOrg: [],
  });
}

/**
 * Checks everything that can be checked before loading (who, which resource, the file, the
 * header against the fields) so that those problems answer the request itself, then creates the
 * job and the (invisible) version. `run()` loads the rows; the version becomes the resource's
 * current one only when the whole load commits — a failure or a crash leaves the previous one.
 */
export async function prepareImport(
  ctx: Ctx,
  resourceRef: string,
  path: string,
  options: ImportOptions = {},
): Promise<PreparedImport> {
  options = { ...options, memoryBytes: options.memoryBytes ?? importMemoryBytes(ctx.config) };
  let resource = await catalog.getResource(ctx, resourceRef);
  const principal = stewardOf(ctx, resource);
  // Fields adopted from the file are written to the resource in the transaction that makes the
  // version current: a failed import leaves the resource as it was (no fields).
  let adopt: ProposedField[] | null = null;
  if (resource.fields.length === 0) {
    const preview = await previewFile(path, options);
    if (!options.adoptInferredFields) {
      throw new AppError('FIELDS_REQUIRED', {
        field: 'fields',
        proposedFields: preview.inferredFields,
        header: preview.header,
      });
    }
    adopt = preview.inferredFields;
    resource = {
      ...resource,
      fields: adopt.map((f) => ({
        name: f.name,
        label: f.label,
        dataType: f.dataType,
        description: '',
        grade: 'unassessed',
        isKey: false,
        detector: null,
      })),
    };
  }
  const fields = resource.fields;
  if (fields.length > MAX_IMPORT_COLUMNS) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'fields', count: fields.length, limit: MAX_IMPORT_COLUMNS },
      {
        zh: `资源有 ${fields.length} 个字段，导入至多 ${MAX_IMPORT_COLUMNS} 个`,
        en: `the resource has ${fields.length} fields; an import takes at most ${MAX_IMPORT_COLUMNS}`,
      },
    );
  }
  const table = await open(path, options);
  // Fields inferred from this very file map to its columns by position (duplicate or empty header
  // names included); otherwise by name or label.
  const mapping: ReturnType<typeof mapHeader> = adopt
    ? {
        columnToField: table.header.map((_, i) => (i < fields.length ? i : null)),
        missingFields: [],
        unknownColumns: [],
        duplicateColumns: [],
      }
    : mapHeader(
        table.header,
        fields.map((f) => ({ name: f.name, title: f.label })),
      );
  if (mapping.columnToField.every((f) => f === null)) {
    await table.close();
    throw new AppError('HEADER_MISMATCH', {
      header: table.header,
      fields: fields.map((f) => ({ name: f.name, label: f.label })),
    });
  }
  const size = (await stat(path)).size;
  // Known when the upload computed it while receiving; otherwise taken while loading (see load).
  const sourceSm3 = options.sourceSm3 ?? null;
  // Only the base name, whichever separator the client's system uses (browsers on Windows send
  // C:\fakepath\x.csv); control characters (NUL cannot be stored) become spaces.
  const sourceName = basename((options.sourceName ?? path).replaceAll('\\', '/'))
    .replace(/\p{Cc}/gu, ' ')
    .slice(0, 255);
  const columns = fields.map((f) => ({ name: f.name, dataType: f.dataType }));
  const { job, version } = await withTx(ctx.db, async (tx) => {
    const number = await store.nextVersionNumber(tx, resource.id);
    const id = newId('ver');
    const job = await startJob(tx, {
      kind: 'import',
      objectType: 'resource',
      objectId: resource.id,
      payload: { resourceCode: resource.code, sourceName, size, versionId: id, versionNumber: number },
      createdBy: principal.userId,
    });
    const version = await store.insertVersion(tx, {
      id,
      resource_id: resource.id,
      number,
      table_name: `v_${id.slice(4)}`,
      job_id: job.id,
      source_name: sourceName,
      source_size: size,
      source_sm3: sourceSm3,
      source_format: table.format,
      encoding: table.encoding,
      columns: JSON.stringify(columns),
      importer_id: principal.userId,
    });
    await store.createDatasetTable(tx, version.table_name, columns);
    return { job, version };
  });
  return {
    jobId: job.id,
    versionId: version.id,
    versionNumber: version.number,
    run: () => load(ctx, resource, table, mapping, { job, version, options, path, size, adopt }),
  };
}

/** What one import's load works on: its job, its (invisible) version, the file and the options. */
interface LoadState {
  job: { id: string };
  version: { id: string; number: number; table_name: string; resource_id: string };
  options: ImportOptions;
  path: string;
  size: number;
  /** Fields to adopt on the resource when the version is made current (adoptInferredFields). */
  adopt: ProposedField[] | null;
}

async function load(
  ctx: Ctx,
  resource: ResourceView,
  table: Table,
  mapping: ReturnType<typeof mapHeader>,
  state: LoadState,
): Promise<ImportResult> {
  const { job, version, options } = state;
  const fields = resource.fields;
  const bad = new BadRowReport(100);
  // Refused values per field, for the column statistics.
  const invalid = new Array<number>(fields.length).fill(0);
  // Rows loaded so far, whichever path loads them.
  const loaded = { rows: 0 };
  let bulkProgress: JobProgress | null = null;
  const progress = (): JobProgress => ({
    ...(bulkProgress ?? table.progress()),
    loadedRows: bulkProgress?.rows ?? loaded.rows,
    badRows: bad.count,
  });
  const heartbeat = setInterval(
    () => void reportProgress(ctx.db, job.id, progress()).catch(() => {}),
    Math.min(15_000, LEASE_SECONDS * 250),
  );
  let scan: Pick<ImportScan, 'save' | 'close'> | null = null;
  try {
    const bulk = await tryBulk(ctx, resource, table, mapping, state, (p) => {
      bulkProgress = p;
    });
    let sourceSm3 = options.sourceSm3 ?? bulk.sm3;
    if (bulk.rows !== null) {
      loaded.rows = bulk.rows;
      scan = bulk.scan;
    } else {
      bulkProgress = null;
      const rowScan = startImportScan(ctx, resource, {
        enabled: options.classify,
        // Rows per byte so far, times the file's bytes: good enough to tell a large file from a small one.
        expectedRows: () => {
          const { rows, bytes, totalBytes } = table.progress();
          return rows > 0 && bytes > 0 ? (rows * totalBytes) / bytes : undefined;
        },
      });
      scan = rowScan;
      const digest = sourceSm3 === null ? sm3OfFile(state.path) : null;
      digest?.catch(() => {});
      await loadRows(ctx, table, mapping, fields, {
        ...state,
        bad,
        invalid,
        scan: rowScan,
        loaded,
        progress,
      });
      sourceSm3 ??= await digest;
    }
    const rows = loaded.rows;
    // A header-only export is far more often a failed extract than a real "nothing this period": an
    // empty current version would silently blank every consumer's view, so it takes a deliberate flag.
    if (rows === 0 && !options.allowEmpty) throw new AppError('NO_ROWS', { badRows: bad.count });
    const keyColumns = fields.filter((f) => f.isKey).map((f) => f.name);
    // Summaries of the loaded table, side by side on connections of their own: its statistics on
    // one; its ordinal index, then the key duplicates, on the other.
    const [stats, duplicateKeys] = await Promise.all([
      columnStats(ctx.db, DATASET_SCHEMA, version.table_name, fields, invalid),
      withTx(ctx.db, (tx) => store.indexOrdinal(tx, version.table_name)).then(() =>
        withTx(ctx.db, (tx) => store.duplicateKeys(tx, version.table_name, keyColumns)),
      ),
    ]);
    const result = await withTx(ctx.db, async (tx) => {
      if (state.adopt) {
        // In this transaction: the fields, their search text and history commit with the version.
        await catalog.updateResource(
          { ...ctx, db: tx as unknown as Ctx['db'] },
          resource.id,
          resource.revision,
          {
            fields: state.adopt.map((f) => ({ name: f.name, label: f.label, dataType: f.dataType })),
          },
        );
      }
      await store.completeVersion(
        tx,
        version.id,
        {
          row_count: rows,
          bad_row_count: bad.count,
          duplicate_keys: duplicateKeys,
          column_stats: JSON.stringify(stats),
          source_sm3: sourceSm3,
        },
        (tx) =>
          auditAs(ctx, tx, 'version.create', 'resource', resource.id, {
            version: version.number,
            rows,
            badRows: bad.count,
            source: table.format,
          }),
      );
      await catalog.setCurrentVersion(tx, resource.id, version.id);
      await scan?.save(tx, version);
      const outcome: ImportResult = {
        jobId: job.id,
        versionId: version.id,
        versionNumber: version.number,
        rows,
        badRows: bad.count,
        badRowReport: bad.rows,
        missingFields: mapping.missingFields,
        unknownColumns: mapping.unknownColumns.map((c) => withoutNul(c.name)),
        duplicateKeys,
        bulk: bulk.rows !== null,
        bulkSkipped: bulk.skipped,
      };
      await endJob(tx, job.id, 'succeeded', {
        result: withoutNul({ ...outcome }),
        progress: { ...progress(), percent: 100 },
      });
      return outcome;
    });
    await versionBecameCurrent(ctx, {
      resourceId: resource.id,
      versionId: version.id,
      versionNumber: version.number,
      reason: 'import',
    });
    options.onProgress?.({ ...progress(), percent: 100 });
    return result;
  } catch (error) {
    const appError =
      error instanceof AppError
        ? error
        : error instanceof FileReadError
          ? new AppError(
              'FILE_REJECTED',
              { fileError: error.code, ...error.details },
              { zh: error.zh, en: error.en },
            )
          : new AppError('IMPORT_FAILED', { reason: error instanceof Error ? error.message : String(error) });
    await abandon(
      ctx.db,
      version,
      job.id,
      withoutNul({
        code: appError.code,
        message: appError.message,
        details: { ...appError.details, firstBadRows: bad.rows, badRows: bad.count },
      }),
    ).catch(() => {});
    throw appError;
  } finally {
    clearInterval(heartbeat);
    scan?.close();
    await table.close().catch(() => {});
  }
}

/**
 * The bulk path (bulk.ts) when the file and the database allow it: `rows` is null when the row
 * path must load the file, with the reason in `skipped`.
 */
async function tryBulk(
  ctx: Ctx,
  resource: ResourceView,
  table: Table,
  mapping: ReturnType<typeof mapHeader>,
  state: LoadState,
  setProgress: (progress: JobProgress) => void,
): Promise<{
  rows: number | null;
  sm3: string | null;
  skipped: string | null;
  scan: Pick<ImportScan, 'save' | 'close'> | null;
}> {
  const none = { rows: null, sm3: null, scan: null };
  if (state.options.bulk === false) return { ...none, skipped: 'turned off' };
  const fields = resource.fields;
  const plan = bulkColumns(table, mapping.columnToField, fields);
  if (typeof plan === 'string') return { ...none, skipped: plan };
  // The classification judges the records the bulk path draws as it streams them (a new scan
  // each attempt: a stopped one's judgements are dropped with it).
  const scan = state.options.classify === false ? null : sampledImportScan(ctx, resource);
  const fileColumnOf = fields.map((_, fieldIndex) => mapping.columnToField.indexOf(fieldIndex));
  let lastProgress = 0;
  const outcome = await bulkLoad(
    ctx.db,
    { table: datasetTable(state.version.table_name), ...plan },
    {
      path: state.path,
      size: state.size,
      encoding: table.encoding as 'utf-8' | 'gb18030',
      delimiter: table.delimiter!,
      sm3: state.options.sourceSm3 === undefined,
    },
    (bytes, rows) => {
      const snapshot = {
        // Said so the console and the job's readers can tell COPY of the file as it is from the row path.
        bulk: true,
        rows,
        bytes,
        totalBytes: state.size,
        percent: state.size === 0 ? 100 : Math.min(99, Math.floor((100 * bytes) / state.size)),
      };
      setProgress(snapshot);
      if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = Date.now();
        state.options.onProgress?.({ ...snapshot, loadedRows: rows, badRows: 0 });
        void reportProgress(ctx.db, state.job.id, { ...snapshot, loadedRows: rows, badRows: 0 }).catch(
          () => {},
        );
      }
    },
    scan
      ? {
          start: (expectedRows) => scan.start(expectedRows),
          add: (record) =>
            scan.add(fileColumnOf.map((column) => (column >= 0 ? (record[column] ?? null) : null))),
        }
      : undefined,
  );
  return outcome.skipped === null
    ? { rows: outcome.rows, sm3: outcome.sm3, skipped: null, scan: scan?.finish(outcome.rows) ?? null }
    : { ...none, skipped: outcome.skipped };
}

/** The row path: every row parsed, checked and typed here, loaded as COPY text in chunks. */
async function loadRows(
  ctx: Ctx,
  table: Table,
  mapping: ReturnType<typeof mapHeader>,
  fields: ResourceView['fields'],
  state: LoadState & {
    bad: BadRowReport;
    invalid: number[];
    scan: ImportScan | null;
    loaded: { rows: number };
    progress: () => JobProgress;
  },
): Promise<void> {
  const { job, version, options, bad, invalid, scan, loaded } = state;
  const maxErrors = options.maxErrors ?? 0;
  // For each field, the file column that feeds it (or none: the field stays null).
  const sourceOf = fields.map((_, fieldIndex) => mapping.columnToField.indexOf(fieldIndex));
  const columnNames = fields.map((f) => f.name);
  let csv = '';
  let lastProgress = 0;
  const isText = fields.map((f) => f.dataType === 'text');
  const cells: string[] = new Array(fields.length + 1);
  // One chunk loads while the next is parsed, so the server's COPY and this thread's work overlap.
  let loading: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (csv === '') return;
    const chunk = csv;
    csv = '';
    await loading;
    loading = store.load(ctx.db, version.table_name, columnNames, chunk);
    // Its failure is seen where it is awaited (next flush, the end, or the error path).
    loading.catch(() => {});
  };
  // Every row read is either loaded or reported bad: checked at the end, never silently dropped.
  let read = 0;
  try {
    for await (const batch of table.batches) {
      read += batch.length;
      for (const row of batch) {
        if (row.problem) {
          bad.add(row.line, row.problem);
          continue;
        }
        let rowBad = false;
        // Sized once: the classifier keeps each row's array, so it cannot be reused.
        const parsed = new Array<CellValue | bigint>(fields.length);
        for (let i = 0; i < fields.length; i++) {
          const column = sourceOf[i]!;
          const raw = column >= 0 ? (row.values[column] ?? null) : null;
          // A string or null is its own text value: parseValue would only copy it.
          if (isText[i] && (raw === null || typeof raw === 'string')) {
            parsed[i] = raw;
            continue;
          }
          const result = parseValue(fields[i]!.dataType, raw);
          if (!result.ok) {
            bad.add(row.line, {
              code: result.reason.code,
              zh: `${fields[i]!.label}：${result.reason.zh}`,
              en: `${fields[i]!.name}: ${result.reason.en}`,
              column,
            });
            invalid[i]!++;
            rowBad = true;
            break;
          }
          parsed[i] = result.value as CellValue;
        }
        if (rowBad) continue;
        scan?.add(parsed);
        cells[0] = String(++loaded.rows);
        for (let i = 0; i < parsed.length; i++) cells[i + 1] = csvCell(parsed[i]);
        // One flat string per row (join) rather than a rope of pieces to flatten later.
        csv += `${cells.join(',')}\n`;
      }
      if (bad.count > maxErrors) {
        throw new AppError('TOO_MANY_BAD_ROWS', { maxErrors, badRows: bad.count, firstBadRows: bad.rows });
      }
      if (csv.length >= FLUSH_CHARS) await flush();
      if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = Date.now();
        const snapshot = state.progress();
        options.onProgress?.(snapshot);
        if (!(await reportProgress(ctx.db, job.id, snapshot))) {
          throw new AppError('IMPORT_FAILED', { reason: 'job_lost' });
        }
      }
    }
    await flush();
    await loading;
    if (loaded.rows + bad.count !== read) {
      throw new AppError('IMPORT_FAILED', {
        reason: 'rows_unaccounted',
        read,
        loaded: loaded.rows,
        badRows: bad.count,
      });
    }
    scan?.end();
  } finally {
    // A chunk still loading would race the cleanup that drops its table.
    await loading.catch(() => {});
  }
}

async function abandon(
  db: Executor,
  version: { id: string; table_name: string; resource_id: string; number: number },
  jobId: string,
  error: Record<string, unknown>,
) {
  await withTx(db as Parameters<typeof withTx>[0], async (tx) => {
    await store.failVersion(tx, version, String(error.code));
    await store.dropDatasetTable(tx, version.table_name);
    await endJob(tx, jobId, 'failed', { error });
  });
}

/** Fails imports whose node died and removes their half-loaded tables. */
export function sweepAbandonedImports(db: Executor, options: { allForeign?: boolean } = {}) {
  return sweepAbandonedJobs(
    db,
    async (tx, job) => {
      if (job.kind !== 'import') return;
      const version = await store.findVersionByJob(tx, job.id);
      if (!version || version.state !== 'loading') return;
      await store.failVersion(tx, version, 'NODE_LOST');
      await store.dropDatasetTable(tx, version.table_name);
    },
    options,
  );
}

// ---------------------------------------------------------------- reading versions and jobs

function versionView(
  v: Awaited<ReturnType<typeof store.findVersionById>> & object,
  current: string | null,
  detailed: boolean,
) {
  const stats = (v.column_stats ?? null) as Record<string, ColumnStats> | null;
  return {
    id: v.id,
    number: v.number,
    state: v.state,
    current: v.id === current,
    sourceName: v.source_name,
    sourceSize: Number(v.source_size),
    sourceSm3: v.source_sm3,
    sourceFormat: v.source_format,
    encoding: v.encoding,
    columns: v.columns,
    rowCount: Number(v.row_count),
    badRowCount: Number(v.bad_row_count),
    duplicateKeys: v.duplicate_keys === null ? null : Number(v.duplicate_keys),
    // Minimum and maximum can be real values of the data: only the provider's people see them.
    columnStats: stats
      ? Object.fromEntries(
          Object.entries(stats).map(([name, s]) => [name, detailed ? s : { ...s, min: null, max: null }]),
        )
      : null,
    importerId: v.importer_id,
    jobId: v.job_id,
    createdAt: v.created_at.toISOString(),
    completedAt: v.completed_at?.toISOString() ?? null,
  };
}

function seesDetails(ctx: Ctx, resource: ResourceView): boolean {
  const p = ctx.principal;
  return (
    !!p && (p.orgId === resource.provider.id || hasRole(p, 'platform_admin', 'security_officer', 'auditor'))
  );
}

export async function listVersions(ctx: Ctx, resourceRef: string) {
  const resource = await catalog.getResource(ctx, resourceRef);
  const versions = await store.listVersions(ctx.db, resource.id);
  const detailed = seesDetails(ctx, resource);
  return versions.map((v) => versionView(v, resource.currentVersionId, detailed));
}

export async function getVersion(ctx: Ctx, resourceRef: string, number: number) {
  const resource = await catalog.getResource(ctx, resourceRef);
  const version = await store.findVersion(ctx.db, resource.id, number);
  if (!version) throw new AppError('NOT_FOUND', { objectType: 'version', id: `${resource.code}#${number}` });
  return versionView(version, resource.currentVersionId, seesDetails(ctx, resource));
}

/** Makes an earlier ready version the current one again (or a later one: any ready version). */
export async function activateVersion(ctx: Ctx, resourceRef: string, number: number) {
  const resource = await catalog.getResource(ctx, resourceRef);
  stewardOf(ctx, resource);
  const version = await store.findVersion(ctx.db, resource.id, number);
  if (!version) throw new AppError('NOT_FOUND', { objectType: 'version', id: `${resource.code}#${number}` });
  if (version.state !== 'ready') {
    throw new AppError('INVALID_TRANSITION', {
      objectType: 'version',
      state: version.state,
      event: 'activate',
    });
  }
  await withTx(ctx.db, async (tx) => {
    await catalog.setCurrentVersion(tx, resource.id, version.id);
    await auditAs(ctx, tx, 'version.activate', 'resource', resource.id, {
      version: number,
      previous: resource.currentVersionId,
    });
  });
  await versionBecameCurrent(ctx, {
    resourceId: resource.id,
    versionId: version.id,
    versionNumber: version.number,
    reason: 'activate',
  });
  return versionView(version, version.id, true);
}

export async function getImportJob(ctx: Ctx, jobId: string) {
  const principal = authorize(ctx.principal, { roles: 'any', scope: 'catalog:read' });
  const job = await findJob(ctx.db, jobId);
  if (!job || job.kind !== 'import') throw new AppError('NOT_FOUND', { objectType: 'job', id: jobId });
  const resource = await catalog.getResource(ctx, job.object_id ?? '');
  // Import jobs carry bad-row reports with file content: the provider's people only.
  if (principal.orgId !== resource.provider.id && !hasRole(principal, 'platform_admin')) {
    throw new AppError('FORBIDDEN', { reason: 'organization' });
  }
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    resourceId: job.object_id,
    payload: job.payload,
    progress: job.progress,
    result: job.result,
    error: job.error,
    createdAt: job.created_at.toISOString(),
    startedAt: job.started_at?.toISOString() ?? null,
    finishedAt: job.finished_at?.toISOString() ?? null,
  };
}
