/**
 * CSV for the console's list exports (issue #18): RFC 4180 quoting, CRLF lines and a UTF-8 byte
 * order mark — without it Excel reads the file in the system code page and garbles Chinese.
 */

const BOM = '\uFEFF';

/**
 * A cell a spreadsheet will not run: text starting with = + - or @ is a formula to Excel and
 * LibreOffice (CSV injection), so it is written behind an apostrophe, which they show as text.
 */
export function neutralizeCell(value: string): string {
  return /^[=+\-@]/.test(value) ? `'${value}` : value;
}

function quoteCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The file's text: `rows[0]` is the header row; every cell is neutralized and quoted as needed. */
export function buildCsv(rows: readonly (readonly string[])[]): string {
  const lines = rows.map((row) => row.map((cell) => quoteCell(neutralizeCell(cell))).join(','));
  return `${BOM}${lines.map((line) => `${line}\r\n`).join('')}`;
}
