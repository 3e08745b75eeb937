/**
 * Streaming CSV/TSV parser over decoded text chunks.
 *
 * Written here rather than on csv-parse because the hostile-file rules need things it does not give:
 * the *first* line of every record (records may span lines), a field-size limit that distinguishes an
 * unclosed quote (reported with the line where the quote opened) from a genuinely huge field, a cap on
 * the values kept per record (a line of a million commas must not become a million-element array), and
 * row-level reporting of malformed quoting instead of failing the whole file.
 *
 * Dialect: RFC 4180 with any single-character delimiter, `"` quotes doubled inside quoted fields,
 * LF, CRLF and lone CR all ending records (old Mac exports use CR). Lenient where data is unambiguous:
 * a quote inside an unquoted field (`24" monitor`) is kept literally.
 * Values: an unquoted empty field is null, a quoted empty field (`""`) is the empty string, everything
 * else is the exact text (never trimmed, never evaluated — `=SUM(A1)` stays text).
 */

import type { RowProblem } from './errors.ts';
import { FileReadError, rowProblem } from './errors.ts';
import type { CellValue, RawRecord, ReadLimits } from './types.ts';

export type CsvRecord = RawRecord;

export const QUOTE = 0x22;
export const LF = 0x0a;
export const CR = 0x0d;

enum State {
  FieldStart = 0,
  Unquoted = 1,
  Quoted = 2,
  /** Just saw a quote inside a quoted field: either an escaped quote or the closing one. */
  QuoteInQuoted = 3,
}

export class CsvRecordParser {
  private readonly delimiter: number;
  private readonly maxValues: number;
  private state: State = State.FieldStart;
  private values: CellValue[] = [];
  private fieldCount = 0;
  private field = '';
  private fieldQuoted = false;
  private recordChars = 0;
  private problem: RowProblem | undefined;
  /** Physical line of the next character. */
  private line = 1;
  private recordLine = 1;
  private quoteLine = 0;
  /** The previous chunk ended with CR: an LF at the start of this one belongs to it. */
  private afterCr = false;
  private chunkHasNul = false;

  constructor(
    delimiter: string,
    private readonly limits: Pick<ReadLimits, 'maxFieldChars' | 'maxRecordChars' | 'maxColumns'>,
  ) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new RangeError(
        `CSV delimiter must be one character other than a quote or newline: ${JSON.stringify(delimiter)}`,
      );
    }
    this.delimiter = delimiter.charCodeAt(0);
    // One more than the column limit, so a too-wide header is still recognisable as such.
    this.maxValues = limits.maxColumns + 1;
  }

  /** Parses a chunk, appending every record it completes to `out`. */
  feed(text: string, out: CsvRecord[]): void {
    const length = text.length;
    let i = 0;
    if (this.afterCr && length > 0) {
      this.afterCr = false;
      if (text.charCodeAt(0) === LF) {
        // The LF of a CRLF split across chunks: inside a quoted field it is content, otherwise nothing.
        if (this.state === State.Quoted) this.appendField('\n');
        i = 1;
      }
    }
    this.chunkHasNul = text.includes('\0');
    const delimiter = this.delimiter;

    while (i < length) {
      switch (this.state) {
        case State.FieldStart: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.fieldQuoted = true;
            this.quoteLine = this.line;
            i++;
            break;
          }
          if (c === delimiter) {
            this.endField(null);
            i++;
            break;
          }
          if (c === LF || c === CR) {
            if (this.fieldCount > 0) this.endField(null);
            i = this.endRecord(text, i, out);
            break;
          }
          this.state = State.Unquoted;
          break;
        }
        case State.Unquoted: {
          const start = i;
          let c = 0;
          while (i < length) {
            c = text.charCodeAt(i);
            if (c === delimiter || c === LF || c === CR) break;
            i++;
          }
          if (i > start) this.appendField(text.slice(start, i));
          if (i === length) break;
          this.endField(this.takeField());
          if (c === delimiter) {
            this.state = State.FieldStart;
            i++;
          } else {
            i = this.endRecord(text, i, out);
          }
          break;
        }
        case State.Quoted: {
          const close = text.indexOf('"', i);
          const end = close === -1 ? length : close;
          if (end > i) {
            this.countLineBreaks(text, i, end);
            this.appendField(text.slice(i, end));
          }
          if (close === -1) {
            // A CR ending the chunk may be the first half of a CRLF inside the field.
            i = length;
            break;
          }
          this.state = State.QuoteInQuoted;
          i = close + 1;
          break;
        }
        case State.QuoteInQuoted: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            this.appendField('"');
            this.state = State.Quoted;
            i++;
          } else if (c === delimiter) {
            this.endField(this.takeField());
            this.state = State.FieldStart;
            i++;
          } else if (c === LF || c === CR) {
            this.endField(this.takeField());
            i = this.endRecord(text, i, out);
          } else {
            // `"abc"def`: keep the characters, as spreadsheets do, but flag the row.
            this.problem ??= rowProblem('ROW_BAD_QUOTE', undefined, this.fieldCount);
            this.state = State.Unquoted;
          }
          break;
        }
      }
    }
    if (length > 0 && text.charCodeAt(length - 1) === CR) this.afterCr = true;
  }

  /** Ends the input: completes the last record, or reports a quote left open. */
  finish(out: CsvRecord[]): void {
    switch (this.state) {
      case State.Quoted:
        throw new FileReadError(
          'FILE_UNBALANCED_QUOTE',
          { line: this.quoteLine },
          {
            zh: '该行开始的带引号字段直到文件末尾都没有闭合',
            en: 'the quoted field opened on this line runs to the end of the file',
          },
        );
      case State.Unquoted:
      case State.QuoteInQuoted:
        this.endField(this.takeField());
        this.emit(out);
        return;
      default:
        if (this.fieldCount > 0) {
          this.endField(null);
          this.emit(out);
        }
    }
  }

  private appendField(piece: string): void {
    this.field += piece;
    this.recordChars += piece.length;
    if (this.field.length > this.limits.maxFieldChars) this.fieldTooLarge();
    if (this.recordChars > this.limits.maxRecordChars) {
      throw new FileReadError('FILE_RECORD_TOO_LARGE', {
        line: this.recordLine,
        limit: this.limits.maxRecordChars,
      });
    }
  }

  private fieldTooLarge(): never {
    const limit = this.limits.maxFieldChars;
    if (this.state === State.Quoted && this.line > this.quoteLine) {
      // Spanning lines and still growing: almost always a quote that was never closed.
      throw new FileReadError(
        'FILE_UNBALANCED_QUOTE',
        { line: this.quoteLine, column: this.fieldCount + 1, limit },
        {
          zh: `该行开始的带引号字段在 ${limit} 个字符内没有闭合`,
          en: `the quoted field opened on this line is not closed within ${limit} characters`,
        },
      );
    }
    throw new FileReadError(
      'FILE_FIELD_TOO_LARGE',
      { line: this.recordLine, column: this.fieldCount + 1, limit },
      { zh: `超过 ${limit} 个字符`, en: `longer than ${limit} characters` },
    );
  }

  private takeField(): string {
    const value = this.field;
    this.field = '';
    return value;
  }

  private endField(raw: string | null): void {
    const value = raw === '' && !this.fieldQuoted ? null : raw;
    this.fieldQuoted = false;
    if (this.fieldCount < this.maxValues) {
      this.values.push(value);
      if (this.chunkHasNul && value?.includes('\0')) {
        this.problem ??= rowProblem('ROW_NUL_BYTE', undefined, this.fieldCount);
      }
    }
    this.fieldCount++;
    this.recordChars++;
    if (this.recordChars > this.limits.maxRecordChars) {
      throw new FileReadError('FILE_RECORD_TOO_LARGE', {
        line: this.recordLine,
        limit: this.limits.maxRecordChars,
      });
    }
  }

  /** Handles the line break at `i` (LF, CR or CRLF); returns the index after it. */
  private endRecord(text: string, i: number, out: CsvRecord[]): number {
    let next = i + 1;
    if (text.charCodeAt(i) === CR && next < text.length && text.charCodeAt(next) === LF) next++;
    if (this.fieldCount > 0) this.emit(out);
    this.line++;
    this.recordLine = this.line;
    this.state = State.FieldStart;
    return next;
  }

  private emit(out: CsvRecord[]): void {
    const record: CsvRecord = { line: this.recordLine, values: this.values };
    if (this.fieldCount > this.values.length) record.fieldCount = this.fieldCount;
    if (this.problem) record.problem = this.problem;
    out.push(record);
    this.values = [];
    this.fieldCount = 0;
    this.recordChars = 0;
    this.problem = undefined;
    this.state = State.FieldStart;
  }

  private countLineBreaks(text: string, from: number, to: number): void {
    let at = from;
    // A CRLF split across chunks was already counted at its CR.
    while (at < to) {
      const c = text.charCodeAt(at);
      if (c === LF) {
        if (!(at > 0 && text.charCodeAt(at - 1) === CR)) this.line++;
      } else if (c === CR) {
        this.line++;
      }
      at++;
    }
  }
}

const CANDIDATE_DELIMITERS = [',', '\t', ';', '|'] as const;

/**
 * Picks the delimiter from the start of a file: the candidate that splits the first lines (outside
 * quotes) into the same, largest number of fields. A file with none of them is one column (',').
 */
export function detectDelimiter(sample: string): string {
  const lines = sampleLines(sample, 50);
  let best: string = ',';
  let bestScore = 0;
  for (const candidate of CANDIDATE_DELIMITERS) {
    const counts = lines.map((line) => countOutsideQuotes(line, candidate));
    const frequency = new Map<number, number>();
    for (const count of counts) if (count > 0) frequency.set(count, (frequency.get(count) ?? 0) + 1);
    let modeCount = 0;
    let modeLines = 0;
    for (const [count, times] of frequency) {
      if (times > modeLines || (times === modeLines && count > modeCount)) {
        modeCount = count;
        modeLines = times;
      }
    }
    if (modeCount === 0) continue;
    // Consistency first (share of lines with the typical count), then how many fields it makes.
    const score = (modeLines / lines.length) * 1000 + Math.min(modeCount, 999);
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** Splits complete lines (records) from a sample, keeping quoted newlines inside their record. */
function sampleLines(sample: string, max: number): string[] {
  const lines: string[] = [];
  let inQuotes = false;
  let start = 0;
  for (let i = 0; i < sample.length && lines.length < max; i++) {
    const c = sample.charCodeAt(i);
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (!inQuotes && (c === LF || c === CR)) {
      if (i > start) lines.push(sample.slice(start, i));
      start = i + 1;
    }
  }
  // The last, possibly cut, line counts only when there is nothing else.
  if (lines.length === 0 && start < sample.length) lines.push(sample.slice(start));
  return lines.filter((line) => line.trim() !== '');
}

function countOutsideQuotes(line: string, delimiter: string): number {
  let count = 0;
  let inQuotes = false;
  for (const ch of line) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && ch === delimiter) count++;
  }
  return count;
}
