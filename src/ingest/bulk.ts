/**
 * The bulk path of an import: a CSV/TSV file whose values are all in their plain, canonical form
 * goes to PostgreSQL's COPY as it is, and the server parses and types it in C. The importing
 * thread only streams the bytes and checks them on the way (CanonicalCsvCheck) — no rows, no
 * values, no strings are built — so a large clean file loads at close to COPY's own speed.
 *
 * The check's rule: the bulk path is taken only where COPY stores exactly what the row path
 * (readers + parseValue) would store. Anything else — a title row, an unmapped column, a blank
 * line, a lone CR, a quote inside an unquoted field, a typed value in any form but the plainest
 * (`+5`, `5.0`, ` 5`, `是`, `2024/1/2`, `null`, a time zone…), a NUL, bad UTF-8, a value the
 * server refuses — stops the COPY (nothing of it stays: it is one statement) and the row path
 * loads the file from the start, with its line-numbered bad-row reports. Being conservative costs
 * only speed, never a different result; test/ingest-bulk.server.test.ts holds the two paths equal.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ident } from '../core/datasets.ts';
import type { Db } from '../core/db.ts';
import { streamCopier } from '../core/db.ts';
import type { DataType } from '../core/tables.ts';
import { CR, LF, QUOTE } from '../readers/csv.ts';
import { CheckedTextDecoder, detectBom } from '../readers/encoding.ts';
import type { Table } from '../readers/index.ts';
import { DEFAULT_LIMITS } from '../readers/types.ts';

enum State {
  FieldStart = 0,
  Unquoted = 1,
  Quoted = 2,
  QuoteInQuoted = 3,
  AfterCr = 4,
}

/** What `ending` answers when the check failed at the field or record it ended. */
const FAILED = -1;

enum Kind {
  Text = 0,
  Integer = 1,
  Decimal = 2,
  Boolean = 3,
  Date = 4,
  Timestamp = 5,
}

const KIND: Record<DataType, Kind> = {
  text: Kind.Text,
  integer: Kind.Integer,
  decimal: Kind.Decimal,
  boolean: Kind.Boolean,
  date: Kind.Date,
  timestamp: Kind.Timestamp,
};

/** Longest typed value the check looks at; longer ones are not canonical anyway. */
const MAX_TYPED_BYTES = 40;

const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

function digits(v: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isDigit(v[i]!)) return false;
  return to > from;
}

function twoDigits(v: Uint8Array, at: number): number {
  return (v[at]! - 0x30) * 10 + (v[at + 1]! - 0x30);
}

/** `yyyy-mm-dd` with month 01–12 and day 01–31 (the server refuses 02-30 itself, as parseValue does). */
function isIsoDate(v: Uint8Array): boolean {
  if (!(digits(v, 0, 4) && v[4] === 0x2d && digits(v, 5, 7) && v[7] === 0x2d && digits(v, 8, 10)))
    return false;
  const month = twoDigits(v, 5);
  const day = twoDigits(v, 8);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/**
 * Whether a typed value (unquoted, non-empty, at most MAX_TYPED_BYTES) is in the form on which
 * COPY and parseValue agree byte for byte. Forms parseValue also accepts but COPY reads
 * differently or not at all (`+5`, `5.0`, `是`, `2024/1/2`, `1e3`, surrounding spaces, time zones,
 * `null`) are left to the row path.
 */
export function isCanonicalValue(kind: Kind, v: Uint8Array, length: number): boolean {
  switch (kind) {
    case Kind.Integer: {
      const start = v[0] === 0x2d ? 1 : 0;
      // 18 digits always fit bigint.
      return length - start <= 18 && digits(v, start, length);
    }
    case Kind.Decimal: {
      const start = v[0] === 0x2d ? 1 : 0;
      let dot = -1;
      for (let i = start; i < length; i++) {
        if (v[i] === 0x2e) {
          if (dot >= 0) return false;
          dot = i;
        } else if (!isDigit(v[i]!)) return false;
      }
      return dot < 0 ? length > start : dot > start && dot < length - 1;
    }
    case Kind.Boolean: {
      if (length === 1) return v[0] === 0x74 || v[0] === 0x66 || v[0] === 0x31 || v[0] === 0x30; // t f 1 0
      const word = String.fromCharCode(...v.subarray(0, length));
      return word === 'true' || word === 'false' || word === 'TRUE' || word === 'FALSE';
    }
    case Kind.Date:
      return length === 10 && isIsoDate(v);
    case Kind.Timestamp: {
      if (length === 10) return isIsoDate(v);
      if (length !== 19 || !isIsoDate(v) || (v[10] !== 0x20 && v[10] !== 0x54)) return false;
      if (!(digits(v, 11, 13) && v[13] === 0x3a && digits(v, 14, 16) && v[16] === 0x3a && digits(v, 17, 19)))
        return false;
      return twoDigits(v, 11) <= 23 && twoDigits(v, 14) <= 59 && twoDigits(v, 17) <= 59;
    }
    default:
      return true;
  }
}

/**
 * Follows the CSV bytes record by record (quotes, delimiter, LF or CRLF — the same throughout, as
 * COPY requires) and checks every record has the header's width and every typed field is
 * canonical. It never builds a string: a few comparisons per byte.
 */
export class CanonicalCsvCheck {
  readonly #kinds: Kind[];
  readonly #delimiter: number;
  /** 1 for the bytes that end or quote an unquoted field. */
  readonly #special = new Uint8Array(256);
  readonly #maxField = DEFAULT_LIMITS.maxFieldChars;
  readonly #maxRecord = DEFAULT_LIMITS.maxRecordChars;
  #state = State.FieldStart;
  #column = 0;
  #fieldBytes = 0;
  #recordBytes = 0;
  #typed = new Uint8Array(MAX_TYPED_BYTES);
  #typedLength = 0;
  #header = true;
  #eol = 0; // 0 unknown, LF, or CR for CRLF
  #rows = 0;
  #reason: string | null = null;
  // Sampling: whether the record being read is taken, its bytes from earlier chunks, and the
  // taken records not yet handed out.
  #take: (() => boolean) | null = null;
  #taking = false;
  #carry: Uint8Array[] = [];
  #taken: Uint8Array[] = [];

  constructor(types: readonly DataType[], delimiter: string) {
    this.#kinds = types.map((t) => KIND[t]);
    this.#delimiter = delimiter.charCodeAt(0);
    for (const b of [this.#delimiter, LF, CR, QUOTE]) this.#special[b] = 1;
  }

  /** Data records seen (the header not counted). */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Keeps the bytes (without line ending) of each data record for which `take` — asked once per
   * record, in file order — says yes; `drainSampled` hands them out.
   */
  sampleRecords(take: () => boolean): void {
    this.#take = take;
  }

  drainSampled(): Uint8Array[] {
    const taken = this.#taken;
    this.#taken = [];
    return taken;
  }

  #keep(tail: Uint8Array): void {
    let bytes = tail;
    if (this.#carry.length > 0) {
      bytes = Buffer.concat([...this.#carry, tail]);
      this.#carry = [];
    }
    // The record's own CR of a CRLF ending.
    this.#taken.push(bytes.at(-1) === CR ? bytes.subarray(0, -1) : bytes);
  }

  /** Why the file cannot take the bulk path, or null while it can. */
  get reason(): string | null {
    return this.#reason;
  }

  #fail(reason: string): false {
    this.#reason ??= `record ${this.#rows + 1}: ${reason}`;
    return false;
  }

  #endField(quoted: boolean): boolean {
    const column = this.#column++;
    if (column >= this.#kinds.length) return this.#fail('more fields than the header');
    if (this.#header) return true;
    const kind = this.#kinds[column]!;
    if (kind === Kind.Text) return true;
    if (quoted) return this.#fail(`column ${column + 1}: quoted typed value`);
    const length = this.#typedLength;
    if (length === 0) return true; // unquoted empty: null on both paths
    if (length > MAX_TYPED_BYTES || !isCanonicalValue(kind, this.#typed, length))
      return this.#fail(`column ${column + 1}: value not in canonical form`);
    return true;
  }

  #endRecord(eol: number): boolean {
    if (this.#eol === 0) this.#eol = eol;
    else if (this.#eol !== eol) return this.#fail('line endings change');
    if (this.#column !== this.#kinds.length) {
      return this.#fail(this.#column === 1 ? 'blank line' : 'fewer fields than the header');
    }
    if (this.#header) this.#header = false;
    else this.#rows++;
    this.#column = 0;
    this.#recordBytes = 0;
    this.#state = State.FieldStart;
    return true;
  }

  /** Checks the next chunk; false once the file is known not to qualify. */
  feed(chunk: Uint8Array): boolean {
    if (this.#reason !== null) return false;
    const delimiter = this.#delimiter;
    const typedBuffer = this.#typed;
    let state = this.#state;
    let fieldBytes = this.#fieldBytes;
    let typedLength = this.#typedLength;
    let quoted = state === State.Quoted || state === State.QuoteInQuoted;
    let typed = !this.#header && this.#kinds[this.#column] !== Kind.Text;
    const special = this.#special;
    let recordStart = 0;
    let i = 0;
    const save = () => {
      this.#state = state;
      this.#fieldBytes = fieldBytes;
      this.#typedLength = typedLength;
    };
    const fieldDone = (): boolean => {
      this.#typedLength = typedLength;
      if (!this.#endField(quoted)) return false;
      fieldBytes = 0;
      typedLength = 0;
      quoted = false;
      typed = !this.#header && this.#kinds[this.#column] !== Kind.Text;
      return true;
    };
    const recordDone = (eol: number): boolean => {
      if (this.#recordBytes + (i - recordStart) > this.#maxRecord)
        return this.#fail('record over the size limit');
      if (this.#taking) this.#keep(chunk.subarray(recordStart, i));
      recordStart = i + 1;
      if (!this.#endRecord(eol)) return false;
      this.#taking = this.#take !== null && !this.#header && this.#take();
      typed = !this.#header && this.#kinds[0] !== Kind.Text;
      return true;
    };
    // A delimiter ends the field, LF the field and the record, CR the field before its LF: the
    // state that follows, FAILED, or null for any other byte.
    const ending = (b: number): State | typeof FAILED | null => {
      if (b === delimiter) return fieldDone() ? State.FieldStart : FAILED;
      if (b === LF) return fieldDone() && recordDone(LF) ? State.FieldStart : FAILED;
      if (b === CR) return fieldDone() ? State.AfterCr : FAILED;
      return null;
    };
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (state) {
        case State.FieldStart:
          if (b === QUOTE) {
            quoted = true;
            state = State.Quoted;
            if (typed) return this.#fail(`column ${this.#column + 1}: quoted typed value`);
            continue;
          }
          // The byte starts an unquoted field: read it again in that state.
          state = State.Unquoted;
          i--;
          continue;
        case State.Unquoted: {
          if (special[b] === 0) {
            if (typed) {
              if (typedLength === MAX_TYPED_BYTES)
                return this.#fail(`column ${this.#column + 1}: value too long`);
              typedBuffer[typedLength++] = b;
            } else {
              // Text: skip to the next byte that means something (most bytes of a file are here).
              let j = i + 1;
              while (j < chunk.length && special[chunk[j]!] === 0) j++;
              fieldBytes += j - i;
              if (fieldBytes > this.#maxField) return this.#fail('field over the size limit');
              i = j - 1;
            }
            continue;
          }
          // The readers keep it literally (24" monitor); COPY would open a quoted section.
          if (b === QUOTE) return this.#fail(`column ${this.#column + 1}: quote inside an unquoted field`);
          const next = ending(b);
          if (next === FAILED || next === null) return false;
          state = next;
          continue;
        }
        case State.Quoted: {
          const close = chunk.indexOf(QUOTE, i);
          const end = close < 0 ? chunk.length : close;
          fieldBytes += end - i;
          if (fieldBytes > this.#maxField) return this.#fail('field over the size limit');
          if (close >= 0) state = State.QuoteInQuoted;
          i = end;
          continue;
        }
        case State.QuoteInQuoted: {
          if (b === QUOTE) {
            state = State.Quoted;
            fieldBytes++;
            continue;
          }
          const next = ending(b);
          if (next === FAILED) return false;
          if (next === null) return this.#fail(`column ${this.#column + 1}: text after a closing quote`);
          state = next;
          continue;
        }
        case State.AfterCr:
          if (b !== LF) return this.#fail('a carriage return without a line feed');
          if (!recordDone(CR)) return false;
          state = State.FieldStart;
          continue;
      }
    }
    this.#recordBytes += chunk.length - recordStart;
    if (this.#taking && recordStart < chunk.length) this.#carry.push(chunk.slice(recordStart));
    if (this.#recordBytes > this.#maxRecord) return this.#fail('record over the size limit');
    save();
    return true;
  }

  /** The end of the file: closes the last record when it has no line break. */
  end(): boolean {
    if (this.#reason !== null) return false;
    switch (this.#state) {
      case State.Quoted:
        return this.#fail('a quote is never closed');
      case State.AfterCr:
        return this.#fail('the file ends with a carriage return');
      case State.FieldStart:
        if (this.#column === 0) return true;
        break;
    }
    const quoted = this.#state === State.QuoteInQuoted;
    if (!this.#endField(quoted)) return false;
    if (this.#taking) this.#keep(new Uint8Array(0));
    // COPY reads a last line without a line break as a record, whatever the file's line endings.
    const eol = this.#eol;
    return this.#endRecord(eol === 0 ? LF : eol);
  }
}

const utf8 = new TextDecoder();

/**
 * The fields of one record the check took (bytes without line ending; structure already checked):
 * an unquoted empty field is null and a quoted one the empty string, as the readers have it.
 */
export function parseRecord(bytes: Uint8Array, delimiter: string): (string | null)[] {
  const text = utf8.decode(bytes);
  const fields: (string | null)[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      let from = i + 1;
      for (;;) {
        const close = text.indexOf('"', from);
        value += text.slice(from, close);
        if (text[close + 1] === '"') {
          value += '"';
          from = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      fields.push(value);
    } else {
      const end = text.indexOf(delimiter, i);
      const value = text.slice(i, end < 0 ? text.length : end);
      fields.push(value === '' ? null : value);
      i = end < 0 ? text.length : end;
    }
    if (i >= text.length) return fields;
    i++; // the delimiter
    if (i === text.length) {
      fields.push(null);
      return fields;
    }
  }
}

/** Whether the table and header allow the bulk path at all, and the COPY column list if so. */
export function bulkColumns(
  table: Table,
  columnToField: readonly (number | null)[],
  fields: readonly { name: string; dataType: DataType }[],
): { columns: string[]; types: DataType[] } | string {
  if (table.format !== 'csv') return `format ${table.format}`;
  if (table.encoding !== 'utf-8' && table.encoding !== 'gb18030') return `encoding ${table.encoding}`;
  if (table.headerLine !== 1 || table.title !== null) return 'title rows above the header';
  const delimiter = table.delimiter ?? '';
  const code = delimiter.charCodeAt(0);
  // One ASCII byte, not COPY's escape; in GB18030 also below 0x40, where no trail byte can be.
  if (
    delimiter.length !== 1 ||
    code >= 0x80 ||
    delimiter === '\\' ||
    (table.encoding === 'gb18030' && code >= 0x40)
  )
    return `delimiter ${JSON.stringify(delimiter)}`;
  // A one-column file's `\.` line would end COPY's data; not worth a special case.
  if (table.header.length < 2) return 'fewer than two columns';
  const columns: string[] = [];
  const types: DataType[] = [];
  for (const fieldIndex of columnToField) {
    if (fieldIndex === null) return 'a column maps to no field';
    columns.push(fields[fieldIndex]!.name);
    types.push(fields[fieldIndex]!.dataType);
  }
  return { columns, types };
}

class NotCanonical extends Error {}

export interface BulkLoadOutcome {
  /** Rows loaded, or 0 when the bulk path was not taken. */
  rows: number;
  /** SM3 of the file's bytes, when asked for and the bulk path read the whole file. */
  sm3: string | null;
  /** Why the row path loads the file instead, or null when the bulk path loaded it. */
  skipped: string | null;
}

/**
 * Records drawn while streaming, for the classification scan: `start` is told how many rows the
 * file probably holds (from its first chunk) and returns the per-record draw; `add` gets each drawn
 * record's fields in file column order.
 */
export interface RecordSample {
  start(expectedRows: number): () => boolean;
  add(fields: (string | null)[]): void;
}

function countLf(bytes: Uint8Array): number {
  let n = 0;
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, at + 1)) n++;
  return n;
}

/**
 * Streams the file through the check into COPY. Returns `skipped` when the server has no streaming
 * COPY (embedded PGlite), the check refused the file, or the server refused a value; nothing is
 * loaded in those cases and the caller loads through the row path.
 */
export async function bulkLoad(
  db: Db,
  target: { table: string; columns: string[]; types: DataType[] },
  file: { path: string; size: number; encoding: 'utf-8' | 'gb18030'; delimiter: string; sm3: boolean },
  onBytes: (bytes: number, rows: number) => void,
  sample?: RecordSample,
): Promise<BulkLoadOutcome> {
  const copy = streamCopier(db);
  if (!copy) return { rows: 0, sm3: null, skipped: 'the embedded database loads row by row' };
  // The source digest is taken on the way, instead of reading the file once more for it.
  const hash = file.sm3 ? createHash('sm3') : null;
  const check = new CanonicalCsvCheck(target.types, file.delimiter);
  // Drawn records are judged as they come: this thread waits on the server otherwise.
  const judge = () => {
    if (sample) for (const record of check.drainSampled()) sample.add(parseRecord(record, file.delimiter));
  };
  async function* source(): AsyncGenerator<Uint8Array> {
    const stream = createReadStream(file.path, { highWaterMark: 1 << 20 });
    let first = true;
    let bytes = 0;
    // GB18030 is decoded here, by the decoder the readers use, so both paths read the same text.
    let decoder: CheckedTextDecoder | null = null;
    try {
      for await (const raw of stream as AsyncIterable<Buffer>) {
        bytes += raw.length;
        hash?.update(raw);
        let chunk: Uint8Array = raw;
        if (first) {
          first = false;
          const bom = detectBom(raw);
          if (bom && bom.encoding !== file.encoding)
            throw new NotCanonical('byte-order mark of another encoding');
          if (file.encoding === 'gb18030') decoder = new CheckedTextDecoder('gb18030', bom?.bomLength ?? 0);
          else if (bom) chunk = raw.subarray(bom.bomLength);
        }
        if (decoder) chunk = Buffer.from(decoder.decode(chunk), 'utf8');
        if (sample && bytes === raw.length) {
          // Rows per byte of the first chunk, times the file's bytes: enough to size the draw.
          check.sampleRecords(sample.start(Math.round((countLf(raw) * file.size) / raw.length)));
        }
        if (!check.feed(chunk)) throw new NotCanonical(check.reason ?? 'not canonical');
        judge();
        onBytes(bytes, check.rows);
        yield chunk;
      }
      if (decoder) {
        const rest = Buffer.from(decoder.end(), 'utf8');
        if (!check.feed(rest)) throw new NotCanonical(check.reason ?? 'not canonical');
        yield rest;
      }
      if (!check.end()) throw new NotCanonical(check.reason ?? 'not canonical');
      judge();
    } finally {
      stream.destroy();
    }
  }
  const delimiter = file.delimiter === '\t' ? "E'\\t'" : `'${file.delimiter.replace("'", "''")}'`;
  const statement =
    `COPY ${target.table} (${target.columns.map(ident).join(', ')}) FROM STDIN ` +
    `WITH (FORMAT csv, HEADER true, DELIMITER ${delimiter}, ENCODING 'UTF8')`;
  try {
    // Timestamps without a zone are China Standard Time on both paths (parseValue's +08:00).
    const { rows, committed } = await copy(statement, source(), {
      session: ["SET LOCAL TIME ZONE INTERVAL '+08:00' HOUR TO MINUTE"],
      // Anything that made COPY see other rows than the check (a `\.` line ends COPY's data) is undone.
      accept: (copied) => copied === check.rows,
    });
    if (!committed) return { rows: 0, sm3: null, skipped: `COPY read ${rows} rows, the check ${check.rows}` };
    return { rows, sm3: hash?.digest('hex') ?? null, skipped: null };
  } catch (error) {
    if (error instanceof NotCanonical) return { rows: 0, sm3: null, skipped: error.message };
    // Anything else that stopped it — the file's decoding, the connection — the row path meets
    // again and reports as it does.
    if (
      typeof (error as { code?: unknown }).code !== 'string' ||
      !/^[0-9A-Z]{5}$/.test((error as { code: string }).code)
    )
      return { rows: 0, sm3: null, skipped: `the file could not be streamed: ${(error as Error).message}` };
    // The server refused a value (a date that does not exist, bad UTF-8…): the row path reports it.
    return { rows: 0, sm3: null, skipped: `the server refused the data: ${(error as Error).message}` };
  }
}
