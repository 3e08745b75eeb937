/**
 * The header row: finding it, checking data rows against it, and mapping it to a resource's fields.
 */
import { FileReadError, rowProblem } from './errors.ts';
import type { CellValue, RawRecord, TableRow } from './types.ts';

export interface HeaderChoice {
  header: string[];
  /** Line (row number) of the header. */
  line: number;
  /** Text of title rows skipped above the header, if any. */
  title: string | null;
}

export function isBlank(value: CellValue): boolean {
  return value === null || (typeof value === 'string' && value.trim() === '');
}

function allBlank(values: CellValue[]): boolean {
  for (const value of values) if (!isBlank(value)) return false;
  return true;
}

/** Shapes batches of records, dropping blank rows. */
export async function* shapeBatches(
  batches: AsyncIterable<RawRecord[]>,
  width: number,
  padShort: boolean,
): AsyncGenerator<TableRow[]> {
  for await (const batch of batches) {
    const rows: TableRow[] = [];
    for (const record of batch) {
      const row = shapeRecord(record, width, padShort);
      if (row) rows.push(row);
    }
    if (rows.length > 0) yield rows;
  }
}

function filledCount(values: CellValue[]): number {
  let count = 0;
  for (const value of values) if (!isBlank(value)) count++;
  return count;
}

/** How many records are looked at to find the header below title rows. */
const HEADER_LOOKAHEAD = 6;

/**
 * Takes the header from a record stream and returns it with the remaining records.
 *
 * With `headerRow` the header is the record at that line. Otherwise it is the first non-blank record,
 * except that leading title rows are skipped: government spreadsheets often start with a one-cell title
 * ("2023年城镇职工社会保险缴费明细") or a note ("单位：元") above the real header. A record with a single
 * filled cell followed, within the next few records, by one with at least two is taken for such a title.
 */
export async function takeHeader(
  batches: AsyncIterator<RawRecord[]>,
  options: { headerRow?: number | undefined; maxColumns: number },
): Promise<{ choice: HeaderChoice; rest: AsyncIterable<RawRecord[]> }> {
  let pending: RawRecord[] = [];
  let at = 0;
  const nextRecord = async (): Promise<RawRecord | null> => {
    while (at >= pending.length) {
      const next = await batches.next();
      if (next.done) return null;
      pending = next.value;
      at = 0;
    }
    return pending[at++]!;
  };

  const buffered: RawRecord[] = [];
  let headerIndex = -1;
  if (options.headerRow !== undefined) {
    for (let record = await nextRecord(); record; record = await nextRecord()) {
      if (record.line < options.headerRow || filledCount(record.values) === 0) continue;
      buffered.push(record);
      headerIndex = 0;
      break;
    }
  } else {
    while (buffered.length < HEADER_LOOKAHEAD) {
      const record = await nextRecord();
      if (!record) break;
      const filled = filledCount(record.values);
      if (filled === 0) continue;
      buffered.push(record);
      if (filled >= 2) break;
    }
    if (buffered.length > 0) {
      const firstWide = buffered.findIndex((record) => filledCount(record.values) >= 2);
      headerIndex = firstWide === -1 ? 0 : firstWide;
    }
  }
  const headerRecord = buffered[headerIndex];
  if (!headerRecord) throw new FileReadError('FILE_EMPTY');
  const fieldCount = headerRecord.fieldCount ?? headerRecord.values.length;
  if (fieldCount > options.maxColumns) {
    throw new FileReadError('FILE_TOO_MANY_COLUMNS', {
      line: headerRecord.line,
      count: fieldCount,
      limit: options.maxColumns,
    });
  }
  const header = headerRecord.values.map((value) =>
    value === null
      ? ''
      : String(value)
          .replace(/^\uFEFF/, '')
          .trim(),
  );
  while (header.length > 0 && header[header.length - 1] === '') header.pop();
  if (header.length === 0) throw new FileReadError('FILE_EMPTY');

  const titleRows = buffered.slice(0, headerIndex);
  const title =
    titleRows.length > 0
      ? titleRows.map((record) => record.values.filter((value) => !isBlank(value)).join(' ')).join(' / ')
      : null;
  const first = [...buffered.slice(headerIndex + 1), ...pending.slice(at)];
  async function* rest(): AsyncGenerator<RawRecord[]> {
    if (first.length > 0) yield first;
    for (;;) {
      const next = await batches.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { choice: { header, line: headerRecord.line, title }, rest: rest() };
}

/**
 * Checks a record against the header width. Returns null for a blank row (skipped, not an error).
 * `padShort`: spreadsheet rows omit trailing empty cells, so a short row is normal there; in CSV it is not.
 */
export function shapeRecord(record: RawRecord, width: number, padShort: boolean): TableRow | null {
  const values = record.values;
  if (!record.problem && allBlank(values)) return null;
  const row: TableRow = { line: record.line, values };
  if (record.problem) row.problem = record.problem;
  const count = record.fieldCount ?? values.length;
  if (count > width) {
    // Trailing empty fields beyond the header ("a,b,c,,,", common in Excel CSV exports) are harmless.
    const extraFilled =
      record.fieldCount !== undefined || values.slice(width).some((value) => !isBlank(value));
    if (extraFilled) {
      row.problem ??= fieldCountProblem(width, count);
    } else {
      row.values = values.slice(0, width);
    }
  } else if (count < width) {
    if (padShort) {
      while (values.length < width) values.push(null);
    } else {
      row.problem ??= fieldCountProblem(width, count);
    }
  }
  return row;
}

function fieldCountProblem(expected: number, found: number) {
  return rowProblem('ROW_FIELD_COUNT', {
    zh: `应有 ${expected} 个，实有 ${found} 个`,
    en: `expected ${expected}, found ${found}`,
  });
}

export interface FieldRef {
  name: string;
  /** Display name, often the Chinese column title used in spreadsheets. */
  title?: string | null;
}

export interface HeaderMapping {
  /** For each header column, the index of the field it feeds, or null if none. */
  columnToField: (number | null)[];
  /** Fields no column maps to. */
  missingFields: string[];
  /** Header columns that match no field. */
  unknownColumns: { index: number; name: string }[];
  /** Columns that match a field another column already took. */
  duplicateColumns: { index: number; name: string; field: string }[];
}

/**
 * Comparison form of a header name: Unicode NFKC (full-width letters, digits and brackets become
 * half-width), case folded, whitespace, underscores and hyphens removed. So "Birth_Date", "birth date"
 * and "ＢＩＲＴＨ　ＤＡＴＥ" match, and "出生 日期" matches "出生日期".
 */
export function normalizeHeaderName(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s_\-\uFEFF]+/g, '');
}

/** Maps header columns to fields by name or title (see normalizeHeaderName); first matching column wins. */
export function mapHeader(header: readonly string[], fields: readonly FieldRef[]): HeaderMapping {
  const lookup = new Map<string, number>();
  fields.forEach((field, index) => {
    for (const key of [field.name, field.title]) {
      if (!key) continue;
      const normal = normalizeHeaderName(key);
      if (normal && !lookup.has(normal)) lookup.set(normal, index);
    }
  });
  const taken = new Set<number>();
  const mapping: HeaderMapping = {
    columnToField: [],
    missingFields: [],
    unknownColumns: [],
    duplicateColumns: [],
  };
  header.forEach((name, index) => {
    const field = lookup.get(normalizeHeaderName(name));
    if (field === undefined) {
      mapping.columnToField.push(null);
      if (name.trim() !== '') mapping.unknownColumns.push({ index, name });
    } else if (taken.has(field)) {
      mapping.columnToField.push(null);
      mapping.duplicateColumns.push({ index, name, field: fields[field]!.name });
    } else {
      taken.add(field);
      mapping.columnToField.push(field);
    }
  });
  fields.forEach((field, index) => {
    if (!taken.has(index)) mapping.missingFields.push(field.name);
  });
  return mapping;
}
