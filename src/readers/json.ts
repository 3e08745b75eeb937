/**
 * Streaming JSON (a top-level array of rows) and NDJSON (one row per line) reader.
 *
 * A small hand-written tokenizer keeps memory to one row: the top-level array is never built. A row is
 * an object (keys → columns) or an array (positional; the first array is the header row, as in CSV).
 * Cell values: strings and booleans as they are, null as null, numbers as numbers when that loses
 * nothing (safe integers, ≤ 15 significant digits) and otherwise as their exact literal text (an
 * 18-digit ID written as a JSON number must not be rounded), nested objects/arrays as their raw JSON text.
 *
 * Nesting is tracked with counters, not recursion, so `[[[[…` a million deep is a clean FILE_JSON_TOO_DEEP.
 * In NDJSON a broken line is a row problem and reading resumes at the next line; in a JSON array a syntax
 * error stops the file (there is no reliable place to resume).
 */

import type { RowProblem } from './errors.ts';
import { FileReadError, rowProblem } from './errors.ts';
import { shapeRecord } from './header.ts';
import {
  type CellValue,
  type MemoryBudget,
  type RawRecord,
  type ReadLimits,
  stringBytes,
  type TableRow,
} from './types.ts';

export type JsonRow =
  | { kind: 'object'; entries: Map<string, CellValue> }
  | { kind: 'array'; values: CellValue[] }
  | { kind: 'scalar'; value: CellValue }
  | { kind: 'invalid' };

export interface JsonElement {
  line: number;
  row: JsonRow;
  problem?: RowProblem;
}

enum S {
  /** Before the top-level '[' (array mode). */
  Top = 0,
  Value = 1,
  AfterValue = 2,
  KeyOrEnd = 3,
  Key = 4,
  Colon = 5,
  String = 6,
  Escape = 7,
  Unicode = 8,
  Literal = 9,
  Capture = 10,
  End = 11,
  SkipLine = 12,
}

const MAX_LITERAL = 400;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

class JsonSyntaxError extends Error {
  constructor(
    readonly zh: string,
    readonly en: string,
  ) {
    super(en);
  }
}

export class JsonRowScanner {
  private state: S;
  /** 0 outside everything; in array mode 1 inside the top array; the row container is level rowLevel + 1. */
  private level = 0;
  private readonly rowLevel: number;
  private line = 1;
  private rowLine = 1;
  /** Characters consumed before the current chunk, and where the current row started. */
  private consumedBefore = 0;
  private rowStart = 0;
  /** True right after a '[' (so that ']' may close an empty array). */
  private afterOpen = false;
  private out: JsonElement[] = [];
  /** NDJSON: the row of the current line, handed out once its line ends (a line is one row, or one bad row). */
  private held: JsonElement | null = null;

  private rowKind: 'object' | 'array' | null = null;
  private entries = new Map<string, CellValue>();
  private values: CellValue[] = [];
  private key: string | null = null;
  private problem: RowProblem | undefined;

  /** The string being read: whole pieces joined in `str`, the latest short ones in `parts` (see appendString). */
  private str = '';
  private parts: string[] = [];
  private strLength = 0;
  private strIsKey = false;
  private unicode = '';
  private literal = '';
  private capture = '';
  private captureDepth = 0;
  private captureInString = false;
  private captureEscape = false;

  constructor(
    private readonly mode: 'array' | 'lines',
    private readonly limits: Pick<
      ReadLimits,
      'maxFieldChars' | 'maxRecordChars' | 'maxColumns' | 'maxJsonDepth'
    >,
  ) {
    this.rowLevel = mode === 'array' ? 1 : 0;
    this.state = mode === 'array' ? S.Top : S.Value;
  }

  /** Scans a chunk, appending every row it completes to `out`. */
  feed(text: string, out: JsonElement[]): void {
    this.out = out;
    let i = 0;
    while (i < text.length) {
      try {
        i = this.step(text, i);
      } catch (error) {
        if (!(error instanceof JsonSyntaxError)) throw error;
        this.syntaxError({ zh: error.zh, en: error.en });
        i = this.state === S.SkipLine ? i : text.length;
      }
    }
    this.consumedBefore += text.length;
    this.checkRecordSize();
  }

  /** Ends the input; a value left open is an error (file-level for JSON, row-level for NDJSON). */
  finish(out: JsonElement[]): void {
    this.out = out;
    if (this.state === S.Literal) {
      try {
        this.endLiteral();
      } catch (error) {
        if (!(error instanceof JsonSyntaxError)) throw error;
        this.syntaxError({ zh: error.zh, en: error.en });
        return;
      }
    }
    if (this.mode === 'array') {
      if (this.state === S.End) return;
      const message =
        this.state === S.Top
          ? { zh: '文件为空', en: 'the file is empty' }
          : { zh: '文件在 JSON 值中途结束', en: 'the file ends in the middle of a JSON value' };
      throw new FileReadError('FILE_JSON_INVALID', { line: this.line }, message);
    }
    const complete =
      this.level === 0 &&
      (this.state === S.Value || this.state === S.AfterValue || this.state === S.SkipLine);
    if (!complete) {
      this.syntaxError({ zh: '文件在 JSON 值中途结束', en: 'the file ends in the middle of a JSON value' });
    }
    this.releaseHeld();
  }

  private syntaxError(message: { zh: string; en: string }): void {
    if (this.mode === 'array') throw new FileReadError('FILE_JSON_INVALID', { line: this.line }, message);
    // The line's row so far (if any) is replaced by one bad row for the whole line.
    this.held = null;
    this.out.push({
      line: this.rowLine,
      row: { kind: 'invalid' },
      problem: rowProblem('ROW_INVALID_JSON', message),
    });
    this.resetRow();
    this.level = 0;
    this.state = S.SkipLine;
  }

  /** Processes input from `i`; returns the next index. Throws JsonSyntaxError for malformed input. */
  private step(text: string, i: number): number {
    switch (this.state) {
      case S.String:
        return this.inString(text, i);
      case S.Escape:
        return this.inEscape(text, i);
      case S.Unicode:
        return this.inUnicode(text, i);
      case S.Literal:
        return this.inLiteral(text, i);
      case S.Capture:
        return this.inCapture(text, i);
      case S.SkipLine: {
        const newline = text.indexOf('\n', i);
        if (newline === -1) return text.length;
        this.line++;
        this.state = S.Value;
        return newline + 1;
      }
      default:
        return this.structural(text, i);
    }
  }

  private structural(text: string, from: number): number {
    let i = from;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) {
        // NDJSON: a row ends at its line break; one still open is broken, and the next line is read afresh.
        if (this.mode === 'lines' && this.level > this.rowLevel) throw lineBreakInRow();
        this.releaseHeld();
        this.line++;
      } else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) break;
      i++;
    }
    if (i >= text.length) return i;
    const ch = text[i]!;
    switch (this.state) {
      case S.Top:
        if (ch !== '[') throw unexpected(ch, '[');
        this.level = 1;
        this.state = S.Value;
        this.afterOpen = true;
        return i + 1;
      case S.End:
        throw unexpected(ch, 'end of file');
      case S.Colon:
        if (ch !== ':') throw unexpected(ch, ':');
        this.state = S.Value;
        return i + 1;
      case S.KeyOrEnd:
        if (ch === '}') return this.closeRow(i);
        return this.startKey(ch, i);
      case S.Key:
        return this.startKey(ch, i);
      case S.AfterValue:
        return this.afterValue(ch, text, i);
      default:
        return this.startValue(ch, text, i);
    }
  }

  private startKey(ch: string, i: number): number {
    if (ch !== '"') throw unexpected(ch, '"');
    this.clearString();
    this.strIsKey = true;
    this.state = S.String;
    return i + 1;
  }

  private startValue(ch: string, text: string, i: number): number {
    if (ch === ']' && this.afterOpen) {
      this.afterOpen = false;
      if (this.level === this.rowLevel + 1) return this.closeRow(i);
      this.level = 0;
      this.state = S.End;
      return i + 1;
    }
    this.afterOpen = false;
    if (this.level === this.rowLevel) this.beginRow(i);
    if (ch === '{' || ch === '[') {
      if (this.level === this.rowLevel) {
        this.level++;
        this.checkDepth(this.level);
        this.rowKind = ch === '{' ? 'object' : 'array';
        this.state = ch === '{' ? S.KeyOrEnd : S.Value;
        this.afterOpen = ch === '[';
        return i + 1;
      }
      this.capture = '';
      this.captureDepth = 0;
      this.captureInString = false;
      this.captureEscape = false;
      this.state = S.Capture;
      return this.inCapture(text, i);
    }
    if (ch === '"') {
      this.clearString();
      this.strIsKey = false;
      this.state = S.String;
      return i + 1;
    }
    if (ch === '-' || (ch >= '0' && ch <= '9') || ch === 't' || ch === 'f' || ch === 'n') {
      this.literal = '';
      this.state = S.Literal;
      return this.inLiteral(text, i);
    }
    throw unexpected(ch, 'a value');
  }

  private afterValue(ch: string, text: string, i: number): number {
    if (this.mode === 'lines' && this.level === 0) {
      // NDJSON: one value per line; anything after it on the line makes the line one bad row.
      if (this.held) throw unexpected(ch, 'a line break');
      this.state = S.Value;
      return this.startValue(ch, text, i);
    }
    if (ch === ',') {
      this.state = this.level === this.rowLevel + 1 && this.rowKind === 'object' ? S.Key : S.Value;
      return i + 1;
    }
    if (ch === '}' || ch === ']') {
      if (this.level === this.rowLevel + 1) {
        if ((ch === '}') !== (this.rowKind === 'object')) throw unexpected(ch, 'a matching bracket');
        return this.closeRow(i);
      }
      if (this.mode === 'array' && this.level === 1 && ch === ']') {
        this.level = 0;
        this.state = S.End;
        return i + 1;
      }
    }
    throw unexpected(ch, ', ] or }');
  }

  private beginRow(i: number): void {
    this.rowLine = this.line;
    this.rowStart = this.consumedBefore + i;
    this.resetRow();
  }

  private closeRow(i: number): number {
    const row: JsonRow =
      this.rowKind === 'object'
        ? { kind: 'object', entries: this.entries }
        : { kind: 'array', values: this.values };
    this.emit(row);
    this.level--;
    this.state = S.AfterValue;
    return i + 1;
  }

  private emit(row: JsonRow): void {
    const element: JsonElement = { line: this.rowLine, row };
    if (this.problem) element.problem = this.problem;
    if (this.mode === 'lines') this.held = element;
    else this.out.push(element);
    this.resetRow();
  }

  private releaseHeld(): void {
    if (this.held) {
      this.out.push(this.held);
      this.held = null;
    }
  }

  private resetRow(): void {
    this.entries = new Map();
    this.values = [];
    this.rowKind = null;
    this.key = null;
    this.problem = undefined;
    this.clearString();
    this.capture = '';
    this.literal = '';
  }

  /** A complete scalar or captured value at the current position. */
  private completeValue(value: CellValue): void {
    this.state = S.AfterValue;
    if (this.level === this.rowLevel) {
      this.emit({ kind: 'scalar', value });
      return;
    }
    const column = this.rowKind === 'object' ? this.entries.size : this.values.length;
    if (typeof value === 'string' && value.includes('\0')) {
      this.problem ??= rowProblem('ROW_NUL_BYTE', undefined, column);
    }
    if (this.rowKind === 'object') {
      this.entries.set(this.key ?? '', value);
      this.key = null;
    } else {
      this.values.push(value);
    }
    if (column + 1 > this.limits.maxColumns) {
      throw new FileReadError('FILE_TOO_MANY_COLUMNS', {
        line: this.rowLine,
        count: column + 1,
        limit: this.limits.maxColumns,
      });
    }
  }

  private inString(text: string, i: number): number {
    let j = i;
    let c = 0;
    while (j < text.length) {
      c = text.charCodeAt(j);
      if (c === 0x22 || c === 0x5c) break;
      if (c === 0x0a) {
        // A raw line break cannot be inside a JSON string: in NDJSON the string is unterminated and the
        // row ends here, so the next line is still read (its row is not swallowed).
        if (this.mode === 'lines') {
          if (j > i) this.appendString(text.slice(i, j));
          throw lineBreakInRow();
        }
        this.line++;
      }
      j++;
    }
    if (j > i) this.appendString(text.slice(i, j));
    if (j === text.length) return j;
    if (c === 0x5c) {
      this.state = S.Escape;
      return j + 1;
    }
    const value = this.takeString();
    if (this.strIsKey) {
      this.key = value;
      this.state = S.Colon;
    } else {
      this.completeValue(value);
    }
    return j + 1;
  }

  private inEscape(text: string, i: number): number {
    const ch = text[i]!;
    const mapped = SIMPLE_ESCAPES[ch];
    if (mapped !== undefined) {
      this.appendString(mapped);
      this.state = S.String;
    } else if (ch === 'u') {
      this.unicode = '';
      this.state = S.Unicode;
    } else {
      throw new JsonSyntaxError(`\\${ch} 不是有效的转义`, `\\${ch} is not a valid escape`);
    }
    return i + 1;
  }

  private inUnicode(text: string, from: number): number {
    let i = from;
    while (i < text.length && this.unicode.length < 4) this.unicode += text[i++];
    if (this.unicode.length < 4) return i;
    if (!/^[0-9a-fA-F]{4}$/.test(this.unicode)) {
      throw new JsonSyntaxError(
        `\\u${this.unicode} 不是有效的转义`,
        `\\u${this.unicode} is not a valid escape`,
      );
    }
    this.appendString(String.fromCharCode(Number.parseInt(this.unicode, 16)));
    this.state = S.String;
    return i;
  }

  private clearString(): void {
    this.str = '';
    this.parts.length = 0;
    this.strLength = 0;
  }

  private takeString(): string {
    const value = this.parts.length > 0 ? this.str + this.parts.join('') : this.str;
    this.clearString();
    return value;
  }

  /**
   * Appending one escaped character at a time to a string would build a rope of ~32 bytes per
   * character; short pieces are collected and joined into flat strings of up to 1024 pieces instead.
   */
  private appendString(piece: string): void {
    this.strLength += piece.length;
    if (piece.length >= 256 && this.parts.length === 0) this.str += piece;
    else {
      this.parts.push(piece);
      if (this.parts.length >= 1024) {
        this.str += this.parts.join('');
        this.parts.length = 0;
      }
    }
    if (this.strLength > this.limits.maxFieldChars) {
      throw new FileReadError(
        'FILE_FIELD_TOO_LARGE',
        { line: this.rowLine, limit: this.limits.maxFieldChars },
        {
          zh: `字符串超过 ${this.limits.maxFieldChars} 个字符`,
          en: `a string is longer than ${this.limits.maxFieldChars} characters`,
        },
      );
    }
  }

  private inLiteral(text: string, i: number): number {
    let j = i;
    while (j < text.length) {
      const c = text.charCodeAt(j);
      const literalChar =
        (c >= 0x30 && c <= 0x39) ||
        (c >= 0x61 && c <= 0x7a) ||
        c === 0x2d ||
        c === 0x2b ||
        c === 0x2e ||
        c === 0x45;
      if (!literalChar) break;
      j++;
    }
    this.literal += text.slice(i, j);
    if (this.literal.length > MAX_LITERAL)
      throw new JsonSyntaxError('数字或字面量过长', 'a number or literal is too long');
    if (j === text.length) return j;
    this.endLiteral();
    return j;
  }

  private endLiteral(): void {
    const raw = this.literal;
    this.literal = '';
    let value: CellValue;
    if (raw === 'true') value = true;
    else if (raw === 'false') value = false;
    else if (raw === 'null') value = null;
    else if (NUMBER.test(raw)) value = exactNumber(raw);
    else
      throw new JsonSyntaxError(
        `“${raw.slice(0, 40)}”不是有效的 JSON 值`,
        `"${raw.slice(0, 40)}" is not a JSON value`,
      );
    this.completeValue(value);
  }

  private inCapture(text: string, i: number): number {
    let j = i;
    let done = false;
    for (; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x0a) {
        if (this.mode === 'lines') throw lineBreakInRow();
        this.line++;
      }
      if (this.captureInString) {
        if (this.captureEscape) this.captureEscape = false;
        else if (c === 0x5c) this.captureEscape = true;
        else if (c === 0x22) this.captureInString = false;
      } else if (c === 0x22) {
        this.captureInString = true;
      } else if (c === 0x7b || c === 0x5b) {
        this.captureDepth++;
        this.checkDepth(this.level + this.captureDepth);
      } else if (c === 0x7d || c === 0x5d) {
        if (--this.captureDepth === 0) {
          j++;
          done = true;
          break;
        }
      }
    }
    this.capture += text.slice(i, j);
    if (this.capture.length > this.limits.maxFieldChars) {
      throw new FileReadError(
        'FILE_FIELD_TOO_LARGE',
        { line: this.rowLine, limit: this.limits.maxFieldChars },
        {
          zh: `嵌套值超过 ${this.limits.maxFieldChars} 个字符`,
          en: `a nested value is longer than ${this.limits.maxFieldChars} characters`,
        },
      );
    }
    if (done) {
      const raw = this.capture;
      this.capture = '';
      try {
        JSON.parse(raw);
      } catch {
        throw new JsonSyntaxError(
          '嵌套的对象或数组不是有效的 JSON',
          'a nested object or array is not valid JSON',
        );
      }
      this.completeValue(raw);
    }
    return j;
  }

  private checkDepth(depth: number): void {
    if (depth > this.limits.maxJsonDepth) {
      throw new FileReadError(
        'FILE_JSON_TOO_DEEP',
        { line: this.line, limit: this.limits.maxJsonDepth },
        { zh: `超过 ${this.limits.maxJsonDepth} 层`, en: `more than ${this.limits.maxJsonDepth} levels` },
      );
    }
  }

  private checkRecordSize(): void {
    const inRow = this.level > this.rowLevel || this.state === S.String || this.state === S.Capture;
    if (inRow && this.consumedBefore - this.rowStart > this.limits.maxRecordChars) {
      throw new FileReadError('FILE_RECORD_TOO_LARGE', {
        line: this.rowLine,
        limit: this.limits.maxRecordChars,
      });
    }
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

const EXPECTED_ZH: Record<string, string> = {
  '[': '“[”',
  'end of file': '文件结束',
  ':': '“:”',
  '"': '“"”',
  'a value': '一个值',
  'a matching bracket': '配对的括号',
  'a line break': '换行',
  ', ] or }': '“,”“]”或“}”',
};

function lineBreakInRow(): JsonSyntaxError {
  return new JsonSyntaxError('该行在 JSON 值中途结束', 'the line ends in the middle of a JSON value');
}

function unexpected(ch: string, expected: string): JsonSyntaxError {
  const shown = JSON.stringify(ch);
  return new JsonSyntaxError(
    `意外的字符 ${shown}，应为${EXPECTED_ZH[expected] ?? expected}`,
    `unexpected ${shown}, expected ${expected}`,
  );
}

/** The number when it round-trips without loss, else its literal text. */
export function exactNumber(raw: string): number | string {
  const value = Number(raw);
  if (!Number.isFinite(value)) return raw;
  if (/^-?\d+$/.test(raw)) return Number.isSafeInteger(value) ? value : raw;
  const digits = raw
    .replace(/[eE].*$/, '')
    .replace(/[-.]/g, '')
    .replace(/^0+/, '');
  return digits.length <= 15 ? value : raw;
}

export interface JsonTable {
  header: string[];
  /** Line of the header array for arrays-of-arrays; null when the header comes from object keys. */
  headerLine: number | null;
  rows: AsyncGenerator<TableRow[]>;
}

function valueBytes(value: CellValue): number {
  return typeof value === 'string' ? stringBytes(value.length) + 8 : 16;
}

/** Estimated heap bytes of a scanned row (strings, map entries, arrays). */
export function elementBytes(row: JsonRow): number {
  switch (row.kind) {
    case 'object': {
      let bytes = 96;
      for (const [key, value] of row.entries) bytes += stringBytes(key.length) + valueBytes(value) + 32;
      return bytes;
    }
    case 'array': {
      let bytes = 48;
      for (const value of row.values) bytes += valueBytes(value) + 8;
      return bytes;
    }
    case 'scalar':
      return 64 + valueBytes(row.value);
    default:
      return 64;
  }
}

/** How many leading rows are read to collect object keys (also bounded by `sampleFull`). */
export const JSON_KEY_SAMPLE_ROWS = 1000;

/**
 * Builds the table from scanned elements.
 * Rows of objects: the header is the union of the keys of the first rows (up to JSON_KEY_SAMPLE_ROWS, or
 * fewer when `sampleFull` says the sample is big enough), in order of first appearance. A later row with
 * a key outside the header is reported as a row problem (ROW_UNKNOWN_KEY) rather than silently losing
 * the value; missing keys are null. Rows of arrays: the first array is the header, as in CSV.
 */
export async function buildJsonTable(
  batches: AsyncIterator<JsonElement[]>,
  options: { maxColumns: number; sampleFull: () => boolean; memory?: MemoryBudget },
): Promise<JsonTable> {
  let pending: JsonElement[] = [];
  let at = 0;
  const sample: JsonElement[] = [];
  let kind: 'object' | 'array' | null = null;
  let headerElement: JsonElement | null = null;
  // The sample is held until the header is known: its size is reserved from the import's budget
  // (whatever the rows are: scalar rows before any object row count too), and bounded by bytes read.
  let sampleBytes = 0;
  while (sample.length < JSON_KEY_SAMPLE_ROWS && !options.sampleFull()) {
    if (at >= pending.length) {
      const next = await batches.next();
      if (next.done) break;
      pending = next.value;
      at = 0;
      continue;
    }
    const element = pending[at++]!;
    const cost = elementBytes(element.row);
    options.memory?.reserve('JSON header sample', cost);
    sampleBytes += cost;
    if (kind === null && element.row.kind === 'array') {
      kind = 'array';
      headerElement = element;
      break;
    }
    if (kind === null && element.row.kind === 'object') kind = 'object';
    sample.push(element);
  }

  let header: string[];
  if (kind === 'array' && headerElement?.row.kind === 'array') {
    header = headerElement.row.values.map((value) => (value === null ? '' : String(value).trim()));
    while (header.length > 0 && header[header.length - 1] === '') header.pop();
  } else if (kind === 'object') {
    const keys = new Set<string>();
    for (const element of sample) {
      if (element.row.kind !== 'object') continue;
      for (const key of element.row.entries.keys()) keys.add(key);
      if (keys.size > options.maxColumns) {
        throw new FileReadError('FILE_TOO_MANY_COLUMNS', { count: keys.size, limit: options.maxColumns });
      }
    }
    header = [...keys];
  } else {
    header = [];
  }
  if (header.length === 0) {
    throw new FileReadError(
      'FILE_EMPTY',
      {},
      { zh: '没有对象或数组形式的行', en: 'no rows that are objects or arrays' },
    );
  }

  const index = new Map(header.map((name, i) => [name, i]));
  const width = header.length;
  const toRow = (element: JsonElement): TableRow | null => {
    const { line, row } = element;
    let record: RawRecord;
    switch (row.kind) {
      case 'invalid':
        record = { line, values: [] };
        break;
      case 'scalar':
        record = { line, values: [row.value], problem: rowProblem('ROW_NOT_RECORD') };
        break;
      case 'array':
        record =
          kind === 'array'
            ? { line, values: row.values }
            : {
                line,
                values: row.values,
                problem: rowProblem('ROW_NOT_RECORD', {
                  zh: '文件的行是对象，此行是数组',
                  en: 'rows are objects but this one is an array',
                }),
              };
        break;
      case 'object': {
        const values: CellValue[] = new Array(width).fill(null);
        const unknown: string[] = [];
        for (const [key, value] of row.entries) {
          const at = index.get(key);
          if (at === undefined) unknown.push(key);
          else values[at] = value;
        }
        record = { line, values };
        if (unknown.length > 0) {
          const shown = unknown.slice(0, 5).join(', ');
          record.problem = rowProblem('ROW_UNKNOWN_KEY', { zh: shown, en: shown });
        }
        break;
      }
    }
    if (element.problem) record.problem = element.problem;
    return shapeRecord(record, width, row.kind === 'object');
  };

  const convert = (elements: JsonElement[]): TableRow[] => {
    const out: TableRow[] = [];
    for (const element of elements) {
      const row = toRow(element);
      if (row) out.push(row);
    }
    return out;
  };
  async function* rows(): AsyncGenerator<TableRow[]> {
    const first = convert([...sample, ...pending.slice(at)]);
    sample.length = 0;
    options.memory?.release(sampleBytes);
    pending = [];
    if (first.length > 0) yield first;
    for (;;) {
      const next = await batches.next();
      if (next.done) return;
      const converted = convert(next.value);
      if (converted.length > 0) yield converted;
    }
  }
  return { header, headerLine: headerElement?.line ?? null, rows: rows() };
}
