/**
 * Column type inference (for a resource without fields yet) and value conversion (for every import).
 *
 * Inference is deliberately conservative: a wrong "text" costs a later field edit, a wrong "integer"
 * destroys data (leading zeros, digits beyond double precision). So:
 * - nulls are '', whitespace, NULL/null, N/A, #N/A (Excel's), and are ignored when inferring;
 * - integer: -?(0|[1-9][0-9]*) within int8. Any value with a leading zero ('001234') fails the pattern,
 *   so the column is text. A column of integers is still text when any value has more than 15 digits
 *   (ID card, bank card numbers: beyond double precision and never arithmetic), when every value looks
 *   like a mainland mobile number (11 digits starting with 1), or when the header names a code or number
 *   (代码 编码 编号 号码 证号 账号 电话 手机 邮编 身份证 卡号 code id phone mobile tel zip postcode);
 * - decimal: integers and plain decimals (1.5, -0.25, 1e-3); no thousands separators ('1,234' is text);
 * - boolean: true/false, yes/no, 是/否, and the single letters Y/N, T/F only when both letters occur.
 *   0/1 is never inferred boolean: a 0/1 column is just as likely a count or a code. (parseValue does
 *   accept 0/1 for a field *declared* boolean.);
 * - date: YYYY-MM-DD, YYYY/M/D, YYYY年M月D日, real calendar dates only; 8-digit 20230115 stays integer/text;
 * - timestamp: a date, then T or space, then HH:MM[:SS[.fraction]], optional Z or ±HH:MM. A column
 *   mixing dates and timestamps is timestamp;
 * - anything else, or a mix, is text.
 */
import type { CellValue } from './types.ts';

export type FieldType = 'integer' | 'decimal' | 'boolean' | 'date' | 'timestamp' | 'text';

/**
 * A converted value. integer: a number, or its canonical digits as a string beyond ±2^53 (never
 * rounded); decimal: canonical decimal text (exact, for a numeric column); boolean: boolean;
 * date: 'YYYY-MM-DD'; timestamp: ISO 8601 with an offset; text: the string unchanged.
 */
export type TypedValue = string | number | boolean | null;

const NULL_WORDS = new Set(['', 'null', 'n/a', '#n/a']);

export function isNullLike(value: CellValue): boolean {
  if (value === null) return true;
  if (typeof value !== 'string') return false;
  const trimmed = value.trim();
  return trimmed.length <= 4 && NULL_WORDS.has(trimmed.toLowerCase());
}

const INTEGER = /^-?(?:0|[1-9]\d*)$/;
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * PostgreSQL's numeric: an exponent of at most ±1000 in the input, at most 131,072 digits before the
 * decimal point and 16,383 after it. A decimal text beyond any of these is refused by the database
 * (COPY fails the whole load), so it is refused here, row by row. `text` has passed a decimal pattern.
 */
const NUMERIC_MAX_EXPONENT = 1000;
const NUMERIC_MAX_INTEGER_DIGITS = 131_072;
const NUMERIC_MAX_SCALE = 16_383;

export function numericFits(text: string): boolean {
  const match = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return false;
  const exponentText = match[3] ?? '0';
  // More than 5 digits of exponent is beyond ±1000 whatever they are (and BigInt-free to compare).
  if (exponentText.replace(/^[+-]?0*/, '').length > 5) return false;
  const exponent = Number(exponentText);
  if (Math.abs(exponent) > NUMERIC_MAX_EXPONENT) return false;
  const integerDigits = (match[1] ?? '').replace(/^0+/, '').length;
  const fractionDigits = (match[2] ?? '').length;
  if (integerDigits + exponent > NUMERIC_MAX_INTEGER_DIGITS) return false;
  return fractionDigits - exponent <= NUMERIC_MAX_SCALE;
}
const DATE = /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})$/;
const DATE_ZH = /^(\d{4})年(\d{1,2})月(\d{1,2})日$/;
const TIMESTAMP =
  /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const MOBILE = /^1\d{10}$/;
// The canonical forms, by far the most frequent in exports: checked without rebuilding the text.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$/;
/** At most 15 characters: exact as a Number, no BigInt round trip needed. */
const SHORT_INTEGER = /^[+-]?\d{1,15}(?:\.0+)?$/;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

const BOOLEAN_WORDS = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['yes', true],
  ['no', false],
  ['是', true],
  ['否', false],
  ['y', true],
  ['n', false],
  ['t', true],
  ['f', false],
]);

const CODE_NAME_ZH = /代码|编码|编号|号码|证号|账号|帐号|电话|手机|邮编|身份证|卡号/;
const CODE_NAME_EN = new Set(['code', 'id', 'phone', 'mobile', 'tel', 'zip', 'postcode']);

/** Whether a header names a code or identifier (whose digits must stay text). */
export function looksLikeCodeName(name: string): boolean {
  if (CODE_NAME_ZH.test(name)) return true;
  const words = name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z]+/);
  return words.some((word) => CODE_NAME_EN.has(word));
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

/** The number written by the ASCII digits text[start … start + length). */
function digitsAt(text: string, start: number, length: number): number {
  let n = 0;
  for (let i = start; i < start + length; i++) n = n * 10 + text.charCodeAt(i) - 48;
  return n;
}

function pad(n: number | string, width = 2): string {
  return String(n).padStart(width, '0');
}

/** 'YYYY-MM-DD' for a date string in one of the accepted forms, else null. */
function parseDate(text: string): string | null {
  if (text.length === 10 && ISO_DATE.test(text)) {
    return isRealDate(digitsAt(text, 0, 4), digitsAt(text, 5, 2), digitsAt(text, 8, 2)) ? text : null;
  }
  let year: number;
  let month: number;
  let day: number;
  const dashed = DATE.exec(text);
  if (dashed) {
    [year, month, day] = [Number(dashed[1]), Number(dashed[3]), Number(dashed[4])];
  } else {
    const chinese = DATE_ZH.exec(text);
    if (!chinese) return null;
    [year, month, day] = [Number(chinese[1]), Number(chinese[2]), Number(chinese[3])];
  }
  return isRealDate(year, month, day) ? `${pad(year, 4)}-${pad(month)}-${pad(day)}` : null;
}

interface TimestampParts {
  date: string;
  time: string;
  offset: string | null;
  midnight: boolean;
}

function parseTimestamp(text: string): TimestampParts | null {
  if (text.length === 19 && ISO_TIMESTAMP.test(text)) {
    const [hour, minute, second] = [digitsAt(text, 11, 2), digitsAt(text, 14, 2), digitsAt(text, 17, 2)];
    if (!isRealDate(digitsAt(text, 0, 4), digitsAt(text, 5, 2), digitsAt(text, 8, 2))) return null;
    if (hour > 23 || minute > 59 || second > 59) return null;
    return {
      date: text.slice(0, 10),
      time: text.slice(11),
      offset: null,
      midnight: hour === 0 && minute === 0 && second === 0,
    };
  }
  const match = TIMESTAMP.exec(text);
  if (!match) return null;
  const [, y, , mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (!isRealDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return null;
  let offset: string | null = null;
  if (zone) {
    if (zone.toUpperCase() === 'Z') offset = 'Z';
    else {
      const digits = zone.replace(':', '');
      const offsetHours = Number(digits.slice(1, 3));
      const offsetMinutes = digits.length > 3 ? Number(digits.slice(3, 5)) : 0;
      if (offsetHours > 14 || offsetMinutes > 59) return null;
      offset = `${digits[0]}${pad(offsetHours)}:${pad(offsetMinutes)}`;
    }
  }
  const micro = fraction ? `.${fraction.slice(0, 6)}` : '';
  return {
    date: `${pad(year, 4)}-${pad(month)}-${pad(day)}`,
    time: `${pad(hour)}:${pad(minute)}:${pad(second)}${micro}`,
    offset,
    midnight: hour === 0 && minute === 0 && second === 0 && !/[1-9]/.test(fraction ?? ''),
  };
}

export interface InferredType {
  type: FieldType;
  nullable: boolean;
  /** Non-null values looked at. */
  sampled: number;
  nulls: number;
}

/** Accumulates what one column's values could be; feed it a sample (or every value) and ask `result()`. */
export class ColumnTypeTracker {
  private sampled = 0;
  private nulls = 0;
  private integer = true;
  private decimal = true;
  private boolean = true;
  private date = true;
  private timestamp = true;
  private longDigits = false;
  private allMobile = true;
  private sawTrue = false;
  private sawFalse = false;
  private onlyLetters = true;

  observe(value: CellValue): void {
    if (isNullLike(value)) {
      this.nulls++;
      return;
    }
    this.sampled++;
    if (typeof value === 'boolean') {
      this.integer = this.decimal = this.date = this.timestamp = false;
      this.allMobile = this.onlyLetters = false;
      if (value) this.sawTrue = true;
      else this.sawFalse = true;
      return;
    }
    const text = typeof value === 'number' ? String(value) : (value as string).trim();
    if (this.integer || this.decimal) this.observeNumber(text, typeof value === 'number');
    if (this.boolean) {
      const word = BOOLEAN_WORDS.get(text.toLowerCase());
      if (word === undefined || typeof value === 'number') this.boolean = false;
      else {
        if (word) this.sawTrue = true;
        else this.sawFalse = true;
        if (text.length > 1) this.onlyLetters = false;
      }
    }
    if (this.date || this.timestamp) {
      const isDate = typeof value === 'string' && parseDate(text) !== null;
      if (!isDate) this.date = false;
      if (!isDate && !(typeof value === 'string' && parseTimestamp(text) !== null)) this.timestamp = false;
    }
  }

  private observeNumber(text: string, fromNumber: boolean): void {
    if (INTEGER.test(text)) {
      const digits = text.startsWith('-') ? text.length - 1 : text.length;
      if (digits > 15) this.longDigits = true;
      if (!MOBILE.test(text)) this.allMobile = false;
      const big = BigInt(text);
      if (big < INT8_MIN || big > INT8_MAX) this.integer = false;
      return;
    }
    this.integer = false;
    this.allMobile = false;
    if (!fromNumber && !(DECIMAL.test(text) && numericFits(text))) this.decimal = false;
  }

  result(columnName?: string): InferredType {
    const base = { nullable: this.nulls > 0, sampled: this.sampled, nulls: this.nulls };
    if (this.sampled === 0) return { type: 'text', ...base };
    if (this.boolean && (!this.onlyLetters || (this.sawTrue && this.sawFalse)))
      return { type: 'boolean', ...base };
    if (this.integer) {
      const identifier =
        this.longDigits || this.allMobile || (columnName !== undefined && looksLikeCodeName(columnName));
      return { type: identifier ? 'text' : 'integer', ...base };
    }
    // Integers too long for a number are identifiers, even among decimals.
    if (this.decimal && !this.longDigits) return { type: 'decimal', ...base };
    if (this.date) return { type: 'date', ...base };
    if (this.timestamp) return { type: 'timestamp', ...base };
    return { type: 'text', ...base };
  }
}

/** Infers the type of one column from its values. */
export function inferType(values: Iterable<CellValue>, columnName?: string): InferredType {
  const tracker = new ColumnTypeTracker();
  for (const value of values) tracker.observe(value);
  return tracker.result(columnName);
}

export interface InferredField extends InferredType {
  /** Unique, non-empty name: the header text, `column_N` when empty, `name_2` … when repeated. */
  name: string;
  /** The header text as found in the file. */
  title: string;
}

/** Infers a field for every header column from sample rows (e.g. the first 1000 rows of the file). */
export function inferFields(
  header: readonly string[],
  rows: Iterable<{ values: readonly CellValue[] }>,
): InferredField[] {
  const trackers = header.map(() => new ColumnTypeTracker());
  for (const row of rows) {
    for (let i = 0; i < trackers.length; i++) trackers[i]!.observe(row.values[i] ?? null);
  }
  const used = new Set<string>();
  return header.map((title, index) => {
    const base = title.trim() === '' ? `column_${index + 1}` : title.trim();
    let name = base;
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${base}_${n}`;
    used.add(name.toLowerCase());
    return { name, title, ...trackers[index]!.result(title) };
  });
}

export type ValueProblemCode =
  | 'VALUE_NOT_INTEGER'
  | 'VALUE_OUT_OF_RANGE'
  | 'VALUE_NOT_DECIMAL'
  | 'VALUE_NUMERIC_RANGE'
  | 'VALUE_NOT_BOOLEAN'
  | 'VALUE_NOT_DATE'
  | 'VALUE_NOT_TIMESTAMP';

export interface ValueProblem {
  code: ValueProblemCode;
  zh: string;
  en: string;
}

export type ParseResult = { ok: true; value: TypedValue } | { ok: false; reason: ValueProblem };

export interface ParseOptions {
  /** Offset given to timestamps written without one; government data is China time. Default '+08:00'. */
  defaultOffset?: string;
}

const PROBLEM_TEXT: Record<ValueProblemCode, { zh: string; en: string }> = {
  VALUE_NOT_INTEGER: { zh: '不是整数', en: 'is not an integer' },
  VALUE_OUT_OF_RANGE: { zh: '超出 64 位整数范围', en: 'is outside the 64-bit integer range' },
  VALUE_NOT_DECIMAL: { zh: '不是数字', en: 'is not a number' },
  VALUE_NUMERIC_RANGE: {
    zh: '超出数据库数值范围（指数至多 ±1000，整数部分至多 131072 位，小数至多 16383 位）',
    en: 'is outside the database numeric range (exponent at most ±1000, 131,072 integer digits, 16,383 decimals)',
  },
  VALUE_NOT_BOOLEAN: {
    zh: '不是布尔值（是/否、true/false、1/0）',
    en: 'is not a boolean (true/false, yes/no, 是/否, 1/0)',
  },
  VALUE_NOT_DATE: { zh: '不是有效日期（如 2024-03-01）', en: 'is not a valid date (e.g. 2024-03-01)' },
  VALUE_NOT_TIMESTAMP: {
    zh: '不是有效时间（如 2024-03-01 08:30:00）',
    en: 'is not a valid timestamp (e.g. 2024-03-01 08:30:00)',
  },
};

function invalid(code: ValueProblemCode, raw: CellValue): ParseResult {
  const shown = JSON.stringify(typeof raw === 'string' && raw.length > 50 ? `${raw.slice(0, 50)}…` : raw);
  const text = PROBLEM_TEXT[code];
  return { ok: false, reason: { code, zh: `${shown} ${text.zh}`, en: `${shown} ${text.en}` } };
}

/**
 * Converts a raw cell to a field type, or says why it cannot. Null-like values convert to null (whether
 * null is allowed is the field's business). More lenient than inference, since the type is declared:
 * integers may have leading zeros or a '+', booleans may be 1/0, dates may carry a midnight time.
 */
export function parseValue(type: FieldType, raw: CellValue, options: ParseOptions = {}): ParseResult {
  if (type === 'text') return { ok: true, value: raw === null ? null : String(raw) };
  if (isNullLike(raw)) return { ok: true, value: null };
  const value = raw as string | number | boolean;
  const text = typeof value === 'string' ? value.trim() : String(value);
  switch (type) {
    case 'integer': {
      if (typeof value === 'boolean') return invalid('VALUE_NOT_INTEGER', raw);
      if (typeof value === 'number') {
        return Number.isSafeInteger(value) ? { ok: true, value } : invalid('VALUE_NOT_INTEGER', raw);
      }
      // `+ 0` turns -0 into 0, as the BigInt path below does.
      if (SHORT_INTEGER.test(text)) return { ok: true, value: Number(text) + 0 };
      const match = /^([+-]?)(\d+)(?:\.0+)?$/.exec(text);
      if (!match) return invalid('VALUE_NOT_INTEGER', raw);
      const big = BigInt(`${match[1] === '-' ? '-' : ''}${match[2]}`);
      if (big < INT8_MIN || big > INT8_MAX) return invalid('VALUE_OUT_OF_RANGE', raw);
      const asNumber = Number(big);
      return { ok: true, value: Number.isSafeInteger(asNumber) ? asNumber : big.toString() };
    }
    case 'decimal': {
      if (typeof value === 'boolean') return invalid('VALUE_NOT_DECIMAL', raw);
      if (typeof value === 'number') return { ok: true, value: String(value) };
      if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return invalid('VALUE_NOT_DECIMAL', raw);
      if (!numericFits(text)) return invalid('VALUE_NUMERIC_RANGE', raw);
      return { ok: true, value: text.startsWith('+') ? text.slice(1) : text };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value };
      if (text === '1') return { ok: true, value: true };
      if (text === '0') return { ok: true, value: false };
      const word = typeof value === 'string' ? BOOLEAN_WORDS.get(text.toLowerCase()) : undefined;
      return word === undefined ? invalid('VALUE_NOT_BOOLEAN', raw) : { ok: true, value: word };
    }
    case 'date': {
      if (typeof value !== 'string') return invalid('VALUE_NOT_DATE', raw);
      const date = parseDate(text);
      if (date) return { ok: true, value: date };
      const stamp = parseTimestamp(text);
      return stamp?.midnight ? { ok: true, value: stamp.date } : invalid('VALUE_NOT_DATE', raw);
    }
    case 'timestamp': {
      if (typeof value !== 'string') return invalid('VALUE_NOT_TIMESTAMP', raw);
      const offset = options.defaultOffset ?? '+08:00';
      const date = parseDate(text);
      if (date) return { ok: true, value: `${date}T00:00:00${offset}` };
      const stamp = parseTimestamp(text);
      if (!stamp) return invalid('VALUE_NOT_TIMESTAMP', raw);
      return { ok: true, value: `${stamp.date}T${stamp.time}${stamp.offset ?? offset}` };
    }
  }
}
