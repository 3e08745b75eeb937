import { createHash } from 'node:crypto';
import { ByteWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import { type RawBuilder, sql } from 'kysely';
import type { Ctx } from '../core/context.ts';
import { DATASET_SCHEMA } from '../core/datasets.ts';
import { scanBatches } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import type { DataType } from '../core/tables.ts';
import { compileFilter, type Filter } from '../rules/filters.ts';
import { isPersonal } from './dp.ts';
import {
  buckets,
  type Granted,
  recordCall,
  reserveRows,
  rowKey,
  servedColumns,
  settleRows,
} from './service.ts';
import { withSpanFallback } from './span-masked.ts';

/**
 * Training export under a contract (issue #20): the contract's whole view — the fields it grants
 * under today's masks, its row filter, in its keyed row order — as one JSONL or Parquet file.
 * The select list is the rows endpoint's (`servedColumns`, `rowKey`): masking happens in SQL and
 * raw values of masked fields never leave PostgreSQL. Rows are read through a cursor in batches,
 * so the process holds one batch (and, for Parquet, one row group) whatever the view's size.
 */
export const EXPORT_FORMATS = ['jsonl', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Rows per cursor fetch, and per Parquet row group. */
export const EXPORT_BATCH_ROWS = 10_000;

export const EXPORT_MEDIA_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/jsonl; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

type ParquetType = 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'STRING' | 'TIMESTAMP';

export interface ExportColumn {
  name: string;
  label: string;
  dataType: DataType;
  /** The mask served (none: as stored). A masked value is always text. */
  mask: string;
  /** The value's type in the file: JSON type in JSONL, physical/logical type in Parquet. */
  jsonType: 'integer' | 'number' | 'boolean' | 'string';
  parquetType: ParquetType;
}

/** How an unmasked value is typed in the file: decimals as doubles, dates as 'YYYY-MM-DD' text. */
const TYPES: Record<DataType, { json: ExportColumn['jsonType']; parquet: ParquetType; cast: string | null }> =
  {
    integer: { json: 'integer', parquet: 'INT64', cast: null },
    decimal: { json: 'number', parquet: 'DOUBLE', cast: 'float8' },
    boolean: { json: 'boolean', parquet: 'BOOLEAN', cast: null },
    date: { json: 'string', parquet: 'STRING', cast: 'text' },
    timestamp: { json: 'string', parquet: 'TIMESTAMP', cast: null },
    text: { json: 'string', parquet: 'STRING', cast: null },
  };

export function exportColumns(granted: Granted): ExportColumn[] {
  if (granted.fields.length === 0) {
    throw new AppError('CORE_DATA_NOT_SERVED', {
      field: 'fields',
      name: granted.withheld[0] ?? null,
      changedFields: granted.changedFields,
    });
  }
  return granted.fields.map((f) => {
    const type = f.mask === 'none' ? TYPES[f.dataType] : TYPES.text;
    return {
      name: f.name,
      label: f.label ?? f.name,
      dataType: f.dataType,
      mask: f.mask,
      jsonType: type.json,
      parquetType: type.parquet,
    };
  });
}

function viewQuery(granted: Granted) {
  const table = sql.table(`${DATASET_SCHEMA}.${granted.table}`);
  const rowFilter = (granted.contract.row_filter ?? null) as Filter | null;
  const where = rowFilter ? sql`WHERE ${compileFilter(rowFilter)}` : sql``;
  return { table, where };
}

/** Rows in the contract's view: what an export spends of the day's quota. */
export async function countView(ctx: Ctx, granted: Granted): Promise<number> {
  const { table, where } = viewQuery(granted);
  const row = (await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${table} ${where}`.execute(ctx.db))
    .rows[0];
  return Number(row?.n ?? 0);
}

/** The view's rows in batches, each row's values in column order. */
async function* viewBatches(ctx: Ctx, granted: Granted): AsyncGenerator<unknown[][]> {
  const { table, where } = viewQuery(granted);
  const query = (served: Granted): RawBuilder<Record<string, unknown>> => {
    const { values, joins } = servedColumns(ctx, served, served.fields, 'page');
    const columns = served.fields.map((f, i) => {
      const cast = f.mask === 'none' ? TYPES[f.dataType].cast : null;
      const expr = values[i]!;
      return sql`${cast ? sql`CAST(${expr} AS ${sql.raw(cast)})` : expr} AS ${sql.ref(`c${i}`)}`;
    });
    // The rows endpoint's default order (a keyed permutation per contract), not the file's order,
    // which may be sorted by a masked column.
    return sql`SELECT ${sql.join(columns)} FROM (SELECT *, ${rowKey(granted)} AS _k FROM ${table} ${where}) page ${joins} ORDER BY page._k`;
  };
  // The cursor's declaration runs the whole query (WITH HOLD): a copy dropped under it fails
  // there, before any batch, and the view is read once more with the expression.
  const batches = await withSpanFallback(granted, async (served) => {
    const scan = scanBatches(ctx.db, query(served), EXPORT_BATCH_ROWS);
    const first = await scan.next();
    return { scan, first };
  });
  const rows = (batch: Record<string, unknown>[]) =>
    batch.map((row) => granted.fields.map((_, i) => row[`c${i}`] ?? null));
  try {
    if (batches.first.done) return;
    yield rows(batches.first.value);
    for await (const batch of batches.scan) yield rows(batch);
  } finally {
    // A download dropped after the first batch: the cursor is closed and its session released.
    await batches.scan.return();
  }
}

/** A piece of the file and how many rows it completes. */
interface Piece {
  bytes: Uint8Array;
  rows: number;
}

// int8 arrives as a number on both drivers; a string here would be a driver's exact form.
const numeric = (value: unknown) => (typeof value === 'string' ? Number(value) : value);

async function* jsonl(columns: ExportColumn[], batches: AsyncIterable<unknown[][]>): AsyncGenerator<Piece> {
  for await (const batch of batches) {
    let text = '';
    for (const values of batch) {
      const row: Record<string, unknown> = {};
      for (const [i, c] of columns.entries()) {
        const v = values[i];
        row[c.name] = c.jsonType === 'integer' || c.jsonType === 'number' ? numeric(v) : v;
      }
      text += `${JSON.stringify(row)}\n`;
    }
    yield { bytes: Buffer.from(text, 'utf8'), rows: batch.length };
  }
}

/**
 * Parquet, one row group per batch: the writer's buffer is drained after each row group (its
 * `flush`), so only the footer's metadata grows with the file (one entry per row group).
 */
async function* parquet(
  columns: ExportColumn[],
  batches: AsyncIterable<unknown[][]>,
  metadata: Record<string, string>,
): AsyncGenerator<Piece> {
  const writer = new ByteWriter();
  const drain = () => {
    const bytes = writer.getBytes().slice();
    writer.index = 0;
    return bytes;
  };
  const schema = schemaFromColumnData({
    columnData: columns.map((c) => ({ name: c.name, data: [], type: c.parquetType, nullable: true })),
  });
  const file = new ParquetWriter({
    writer,
    schema,
    createdBy: 'shutong export',
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  // The magic number is written by the constructor.
  yield { bytes: drain(), rows: 0 };
  for await (const batch of batches) {
    const columnData = columns.map((c, i) => ({
      name: c.name,
      data: batch.map((values) => {
        const v = values[i];
        if (v === null || v === undefined) return null;
        if (c.parquetType === 'INT64') return BigInt(v as number | string);
        if (c.parquetType === 'DOUBLE') return Number(v);
        if (c.parquetType === 'TIMESTAMP') return v instanceof Date ? v : new Date(String(v));
        return v;
      }),
    }));
    await file.write({ columnData, rowGroupSize: batch.length });
    yield { bytes: drain(), rows: batch.length };
  }
  await file.finish();
  yield { bytes: drain(), rows: 0 };
}

/** The file's bytes for the contract's view, in the given format. */
function exportPieces(ctx: Ctx, granted: Granted, format: ExportFormat): AsyncGenerator<Piece> {
  const columns = exportColumns(granted);
  const batches = viewBatches(ctx, granted);
  return format === 'jsonl'
    ? jsonl(columns, batches)
    : parquet(columns, batches, {
        'shutong.contract': granted.contract.id,
        'shutong.version': granted.versionId,
      });
}

/**
 * Starts an export: the whole view is reserved from today's row quota first (a partial training
 * set is of no use, so an export that does not fit is refused before any row is read). The
 * returned stream settles what it did not send and records the call when it ends or is dropped.
 */
export async function startExport(ctx: Ctx, granted: Granted, format: ExportFormat, started: number) {
  // The 1+3 rules: an operator works on personal data inside the controlled domain, never takes it out in bulk.
  if (granted.underOperation && (await isPersonal(ctx, granted.contract.resource_id))) {
    throw new AppError('BULK_EXPORT_NOT_ALLOWED', { resource: granted.contract.resource_id });
  }
  const columns = exportColumns(granted);
  const rows = await countView(ctx, granted);
  let reservation: { granted: number; day: string } | null = null;
  if (rows > 0) {
    reservation = await reserveRows(ctx, granted.contract, rows);
    if (reservation.granted < rows) {
      await settleRows(ctx, granted.contract, reservation.day, reservation.granted, 0, 0);
      throw new AppError('QUOTA_EXCEEDED', {
        quotaRowsPerDay: Number(granted.contract.quota_rows_per_day),
        exportRows: rows,
        available: reservation.granted,
        resetAt: buckets().nextDay.toISOString(),
      });
    }
  }
  async function* stream(): AsyncGenerator<Uint8Array> {
    let bytes = 0;
    let sent = 0;
    let complete = false;
    try {
      for await (const piece of exportPieces(ctx, granted, format)) {
        bytes += piece.bytes.byteLength;
        yield piece.bytes;
        sent += piece.rows;
      }
      complete = true;
    } finally {
      // Rows the consumer did not receive (a dropped download) go back to today's quota.
      if (reservation)
        await settleRows(ctx, granted.contract, reservation.day, reservation.granted, sent, bytes);
      await recordCall(ctx, {
        operation: 'rows',
        contractId: granted.contract.id,
        fields: granted.fields.map((f) => f.name),
        filter: null,
        rows: sent,
        bytes,
        outcome: 'ok',
        started,
        export: { format, complete },
      }).catch(() => {});
    }
  }
  return { rows, columns, stream: stream() };
}

/**
 * What a consumer needs to check and cite an export: the rows, the schema, the SM3 digest of the
 * file's bytes (computed by producing the same file: masks and order are deterministic per
 * contract, so the download has the same digest unless a field is re-graded meanwhile), the
 * version and the contract's terms. It sends no row, so it takes no row quota.
 */
export async function exportManifest(ctx: Ctx, granted: Granted, format: ExportFormat) {
  const columns = exportColumns(granted);
  const hash = createHash('sm3');
  let bytes = 0;
  let rows = 0;
  for await (const piece of exportPieces(ctx, granted, format)) {
    hash.update(piece.bytes);
    bytes += piece.bytes.byteLength;
    rows += piece.rows;
  }
  const version = await ctx.db
    .selectFrom('dataset_versions')
    .select(['id', 'number', 'source_sm3', 'completed_at'])
    .where('id', '=', granted.versionId)
    .executeTakeFirstOrThrow();
  const c = granted.contract;
  return {
    contractId: c.id,
    format,
    mediaType: EXPORT_MEDIA_TYPES[format],
    rows,
    bytes,
    sm3: hash.digest('hex'),
    fields: columns,
    version: {
      id: version.id,
      number: version.number,
      sourceSm3: version.source_sm3,
      completedAt: version.completed_at?.toISOString() ?? null,
      pinned: c.pinned_version_id !== null,
    },
    terms: {
      purpose: c.purpose,
      validFrom: c.valid_from.toISOString(),
      validTo: c.valid_to.toISOString(),
      operations: c.operations,
      quotaRowsPerDay: Number(c.quota_rows_per_day),
      onwardTransfer: c.onward_transfer,
      rowFilter: c.row_filter ?? null,
      masking: Object.fromEntries(columns.map((f) => [f.name, f.mask])),
    },
    changedFields: granted.changedFields,
  };
}
