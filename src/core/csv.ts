/**
 * CSV for spreadsheets (RFC 4180, CRLF rows), the one encoder of every CSV the platform writes
 * for people: gateway exports and the audit log export. A file starts with a UTF-8 byte order
 * mark so Excel reads Chinese correctly.
 */

export const CSV_BOM = '\ufeff';

/**
 * Formula starts (= + - @, also behind leading whitespace and in their full-width forms ＝＋－＠,
 * which spreadsheets normalise) and a leading tab, CR or LF.
 */
const FORMULA_START = /^[\s\u3000\u00a0\ufeff]*[=+\-@＝＋－＠]/u;

/** One cell: a cell that starts like a formula is prefixed with ' so it stays text. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (FORMULA_START.test(text) || /^[\t\r\n]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One row, CRLF-terminated. */
export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
