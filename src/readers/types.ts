import type { RowProblem } from './errors.ts';

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
});

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
