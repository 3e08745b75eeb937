import { FileReadError, type RowProblem } from './errors.ts';

/** One cell as read from the file, before it is converted to the resource's field type. */
export type CellValue = string | number | boolean | null;

export type TableFormat = 'csv' | 'xlsx' | 'json' | 'ndjson' | 'parquet';

/**
 * One data row. `line` is where the row starts: the 1-based physical line for CSV/TSV/JSON/NDJSON
 * (a CSV record with embedded newlines reports its first line), the spreadsheet row number for XLSX,
 * the 1-based row number for Parquet. A row with `problem` is malformed; its `values` are what could be read.
 */
export interface TableRow {
  line: number;
  values: CellValue[];
  problem?: RowProblem;
}

/** A record as a format reader produces it, before it is checked against the header. */
export interface RawRecord {
  line: number;
  values: CellValue[];
  /** Set when the record had more fields than were kept; `values` then holds only the first ones. */
  fieldCount?: number;
  problem?: RowProblem;
}

/**
 * Resource limits. Each one turns a hostile or broken file into a clear error instead of unbounded
 * memory or time. Lengths are in decoded characters (UTF-16 code units), sizes in bytes.
 */
export interface ReadLimits {
  /** Longest single field (CSV field, JSON string, XLSX cell text). */
  maxFieldChars: number;
  /** Longest single record (all fields of one CSV record / one JSON row together). */
  maxRecordChars: number;
  /** Most columns in the header (and stored per row). */
  maxColumns: number;
  /** Deepest JSON nesting, counting the top-level array. */
  maxJsonDepth: number;
  /** Total bytes the XLSX parts we read may inflate to. */
  maxXlsxUncompressedBytes: number;
  /** Largest inflated/compressed ratio of one XLSX part once it is past 10 MiB inflated. */
  maxXlsxCompressionRatio: number;
  /** Total characters of the XLSX shared-string table, which has to be held in memory. */
  maxSharedStringsChars: number;
  /** Largest Parquet row group (compressed bytes read, and uncompressed bytes declared). */
  maxParquetRowGroupBytes: number;
  /** Largest Parquet row group in cells (rows × columns), since a row group is decoded at once. */
  maxParquetRowGroupCells: number;
  /** Largest Parquet footer (metadata). */
  maxParquetFooterBytes: number;
  /**
   * The memory one import's reader may hold at once (IMPORT_MEMORY_MB): zip directory, relationships,
   * sheet list, shared strings, styles, a Parquet row group's pages and values, the JSON key sample.
   * Each is reserved from a MemoryBudget BEFORE it is allocated; a file that would exceed it is refused.
   */
  memoryBytes: number;
  /** Most entries a part may list (sheets in a workbook, relationships, styles), whatever their size. */
  maxListedEntries: number;
}

export const DEFAULT_LIMITS: Readonly<ReadLimits> = Object.freeze({
  maxFieldChars: 1024 * 1024,
  maxRecordChars: 16 * 1024 * 1024,
  maxColumns: 1000,
  maxJsonDepth: 64,
  maxXlsxUncompressedBytes: 4 * 1024 * 1024 * 1024,
  maxXlsxCompressionRatio: 200,
  maxSharedStringsChars: 64 * 1024 * 1024,
  maxParquetRowGroupBytes: 256 * 1024 * 1024,
  maxParquetRowGroupCells: 20_000_000,
  maxParquetFooterBytes: 16 * 1024 * 1024,
  memoryBytes: 256 * 1024 * 1024,
  maxListedEntries: 100_000,
});

/**
 * What one import's reader holds, reserved before it is allocated. `reserve` throws FILE_OVER_BUDGET
 * naming the part and the limit when the reservation would exceed the budget, so a refusal happens
 * before the memory is taken; `peak` and `refusals` let tests check that it did.
 */
export class MemoryBudget {
  used = 0;
  peak = 0;
  reservations = 0;
  refusals = 0;
  constructor(readonly limitBytes: number) {}

  reserve(part: string, bytes: number): void {
    if (!(bytes >= 0)) bytes = Number.POSITIVE_INFINITY;
    if (this.used + bytes > this.limitBytes) {
      this.refusals++;
      const mib = (n: number) => (Number.isFinite(n) ? `${Math.ceil(n / 1048576)} MiB` : 'unbounded');
      throw new FileReadError(
        'FILE_OVER_BUDGET',
        {
          part,
          neededBytes: Number.isFinite(bytes) ? bytes : null,
          usedBytes: this.used,
          limitBytes: this.limitBytes,
        },
        {
          zh: `“${part}”需要约 ${mib(bytes)}，超过导入内存上限 ${mib(this.limitBytes)}（IMPORT_MEMORY_MB）`,
          en: `"${part}" needs about ${mib(bytes)}, over the import memory limit of ${mib(this.limitBytes)} (IMPORT_MEMORY_MB)`,
        },
      );
    }
    this.used += bytes;
    this.reservations++;
    if (this.used > this.peak) this.peak = this.used;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  /** Checks a count of listed entries against `max` (refused as FILE_OVER_BUDGET naming the part). */
  count(part: string, n: number, max: number): void {
    if (n > max) {
      this.refusals++;
      throw new FileReadError(
        'FILE_OVER_BUDGET',
        { part, count: n, limit: max },
        {
          zh: `“${part}”列出的条目超过 ${max} 个`,
          en: `"${part}" lists more than ${max} entries`,
        },
      );
    }
  }
}

/** Estimated bytes a JS string of `chars` UTF-16 units costs on the heap (header included). */
export function stringBytes(chars: number): number {
  return 24 + 2 * chars;
}

export interface TableProgress {
  /** Data rows yielded so far (bad rows included, header excluded). */
  rows: number;
  /** Bytes of the file consumed so far. */
  bytes: number;
  totalBytes: number;
  /** 0–100. */
  percent: number;
}

/** Shared, mutable counters a reader updates and `progress()` reports. */
export class ProgressCounter {
  rows = 0;
  bytes = 0;
  constructor(readonly totalBytes: number) {}

  snapshot(): TableProgress {
    const percent =
      this.totalBytes > 0 ? Math.min(100, Math.round((this.bytes / this.totalBytes) * 1000) / 10) : 100;
    return { rows: this.rows, bytes: this.bytes, totalBytes: this.totalBytes, percent };
  }
}
