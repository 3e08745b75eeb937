/**
 * Streaming table readers for data ingestion: CSV/TSV, XLSX, JSON, NDJSON and Parquet files become a
 * header plus an async stream of rows, in flat memory, with hostile files turned into clear errors.
 * Pure: no database, no app state; the importer maps rows to a resource's fields and stores them.
 *
 *   const table = await openTable(path);
 *   for await (const row of table.rows) {
 *     if (row.problem) badRows.add(row.line, row.problem);
 *     else insert(row.values);
 *   }
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { CsvRecordParser, detectDelimiter } from './csv.ts';
import {
  CheckedTextDecoder,
  detectBom,
  detectEncoding,
  normalizeEncoding,
  type TextEncodingName,
} from './encoding.ts';
import { FileReadError, type RowProblem } from './errors.ts';
import { shapeBatches, takeHeader } from './header.ts';
import { buildJsonTable, type JsonElement, JsonRowScanner } from './json.ts';
import { openParquet } from './parquet.ts';
import {
  DEFAULT_LIMITS,
  MemoryBudget,
  ProgressCounter,
  type RawRecord,
  type ReadLimits,
  type TableFormat,
  type TableProgress,
  type TableRow,
} from './types.ts';
import { openXlsxSheet } from './xlsx.ts';

export { detectDelimiter } from './csv.ts';
export { detectEncoding, normalizeEncoding, type TextEncodingName } from './encoding.ts';
export * from './errors.ts';
export { type FieldRef, type HeaderMapping, mapHeader, normalizeHeaderName } from './header.ts';
export * from './infer.ts';
export * from './types.ts';

export interface OpenTableOptions {
  /**
   * The file's name as the user knows it (the path may be a temporary file): its extension decides the
   * format and the delimiter (.tsv) unless `format`/`delimiter` are given. Defaults to the path.
   */
  name?: string;
  /** Decides the format (over the name); content that is plainly another format is FILE_FORMAT_MISMATCH. */
  format?: TableFormat;
  /** Text formats: overrides detection. 'gbk', 'gb2312', 'cp936' are read as GB18030. */
  encoding?: string;
  /** CSV: one character; detected among , \t ; | when absent ('\t' for .tsv/.tab). */
  delimiter?: string;
  /** XLSX: sheet name, or 1-based position; default the first visible sheet. */
  sheet?: string | number;
  /** 1-based line (XLSX: row number) of the header; default the first non-blank row below any title rows. */
  headerRow?: number;
  limits?: Partial<ReadLimits>;
  /** The budget to reserve from (default: a new one of limits.memoryBytes); tests pass one to inspect it. */
  memory?: MemoryBudget;
}

export interface Table {
  readonly format: TableFormat;
  /** Text formats: the encoding in use (a pure-ASCII file so far reports 'utf-8'); null for XLSX/Parquet. */
  readonly encoding: TextEncodingName | null;
  /** CSV: the delimiter in use; null otherwise. */
  readonly delimiter: string | null;
  /** XLSX: the sheet read, and all sheets of the workbook. */
  readonly sheet: string | null;
  readonly sheets: string[];
  /** Column names, trimmed; trailing empty names dropped. May contain '' or duplicates: see mapHeader/inferFields. */
  readonly header: string[];
  /** Where the header row is (null when it comes from JSON object keys or Parquet schema). */
  readonly headerLine: number | null;
  /** Title rows skipped above the header, joined (e.g. "2023年城镇职工社会保险缴费明细"). */
  readonly title: string | null;
  /** The data rows; can be iterated once. Errors of the file are thrown from the iteration as FileReadError. */
  readonly rows: AsyncIterable<TableRow>;
  /**
   * The same rows in batches as they are parsed (hundreds of rows each), for bulk inserts and less
   * per-row overhead. Iterate either `rows` or `batches`, once.
   */
  readonly batches: AsyncIterable<TableRow[]>;
  progress(): TableProgress;
  /** What the reader reserved of its memory budget (limits.memoryBytes): for tests and reports. */
  readonly memory: MemoryBudget;
  /** Releases the file; done automatically when `rows` is iterated to the end or the loop exits early. */
  close(): Promise<void>;
}

const HEAD_BYTES = 64 * 1024;
const CHUNK_BYTES = 256 * 1024;
/** Object keys are collected from at most this much of a JSON file before rows start flowing. */
const JSON_SAMPLE_BYTES = 8 * 1024 * 1024;

/** Opens a table file; reads only the head of the file (and the header) before returning. */
export async function openTable(path: string, options: OpenTableOptions = {}): Promise<Table> {
  const limits: ReadLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const handle = await open(path, 'r');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  try {
    const size = (await handle.stat()).size;
    if (size === 0) throw new FileReadError('FILE_EMPTY');
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await handle.read(head, 0, head.length, 0);
    const name = options.name ?? path;
    const format = checkFormat(name, head, options.format);
    const progress = new ProgressCounter(size);
    const memory = options.memory ?? new MemoryBudget(limits.memoryBytes);
    const context: OpenContext = { path: name, handle, size, head, options, limits, progress, memory };
    const opened = await openFormat(format, context);
    const source = closing(opened.batches, progress, close);
    return {
      format,
      get encoding() {
        return opened.encoding();
      },
      delimiter: opened.delimiter ?? null,
      sheet: opened.sheet ?? null,
      sheets: opened.sheets ?? [],
      header: opened.header,
      headerLine: opened.headerLine,
      title: opened.title ?? null,
      rows: { [Symbol.asyncIterator]: () => flatten(source, progress) },
      batches: { [Symbol.asyncIterator]: () => counted(source, progress) },
      progress: () => progress.snapshot(),
      memory,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

interface OpenContext {
  path: string;
  handle: FileHandle;
  size: number;
  head: Buffer;
  options: OpenTableOptions;
  limits: ReadLimits;
  progress: ProgressCounter;
  memory: MemoryBudget;
}

interface OpenedFormat {
  header: string[];
  headerLine: number | null;
  title?: string | null;
  delimiter?: string;
  sheet?: string;
  sheets?: string[];
  encoding: () => TextEncodingName | null;
  batches: AsyncIterable<TableRow[]>;
}

async function openFormat(format: TableFormat, context: OpenContext): Promise<OpenedFormat> {
  switch (format) {
    case 'csv':
      return openCsv(context);
    case 'json':
    case 'ndjson':
      return openJson(format, context);
    case 'xlsx':
      return openXlsx(context);
    case 'parquet': {
      const { handle, size, limits, progress, memory } = context;
      const source = await openParquet(
        handle,
        size,
        limits,
        (bytes) => {
          progress.bytes += bytes;
        },
        memory,
      );
      return { header: source.header, headerLine: null, encoding: () => null, batches: source.rows };
    }
  }
}

/** The batches of a table, closing the file when they end (or the consumer stops). */
async function* closing(
  batches: AsyncIterable<TableRow[]>,
  progress: ProgressCounter,
  close: () => Promise<void>,
): AsyncGenerator<TableRow[]> {
  try {
    yield* batches;
    progress.bytes = progress.totalBytes;
  } finally {
    await close();
  }
}

async function* flatten(
  batches: AsyncIterator<TableRow[]>,
  progress: ProgressCounter,
): AsyncGenerator<TableRow> {
  try {
    for (;;) {
      const next = await batches.next();
      if (next.done) return;
      for (const row of next.value) {
        progress.rows++;
        yield row;
      }
    }
  } finally {
    // An early exit from the row loop releases the file too.
    await batches.return?.();
  }
}

async function* counted(
  batches: AsyncIterator<TableRow[]>,
  progress: ProgressCounter,
): AsyncGenerator<TableRow[]> {
  try {
    for (;;) {
      const next = await batches.next();
      if (next.done) return;
      progress.rows += next.value.length;
      yield next.value;
    }
  } finally {
    await batches.return?.();
  }
}

/** Reads the file from the start in chunks, counting bytes for progress. */
async function* fileChunks(
  handle: FileHandle,
  size: number,
  progress: ProgressCounter,
): AsyncGenerator<Buffer> {
  let position = 0;
  while (position < size) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - position));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    progress.bytes = position;
    yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
  }
}

function textEncoding(context: OpenContext): { encoding: TextEncodingName | null; bomLength: number } {
  const { head, size, options } = context;
  if (options.encoding === undefined) return detectEncoding(head, head.length === size);
  const forced = normalizeEncoding(options.encoding);
  const bom = detectBom(head);
  return { encoding: forced, bomLength: bom?.encoding === forced ? bom.bomLength : 0 };
}

/** Decodes the head for sniffing only (delimiter, JSON shape); never used as data. */
function headText(
  context: OpenContext,
  guess: { encoding: TextEncodingName | null; bomLength: number },
): string {
  return new TextDecoder(guess.encoding ?? 'utf-8').decode(context.head.subarray(guess.bomLength));
}

async function openCsv(context: OpenContext): Promise<OpenedFormat> {
  const { handle, size, options, limits, progress, path } = context;
  const guess = textEncoding(context);
  const extension = extname(path).toLowerCase();
  const delimiter =
    options.delimiter ??
    (extension === '.tsv' || extension === '.tab' ? '\t' : detectDelimiter(headText(context, guess)));
  const decoder = new CheckedTextDecoder(guess.encoding, guess.bomLength);
  const parser = new CsvRecordParser(delimiter, limits);

  async function* records(): AsyncGenerator<RawRecord[]> {
    let out: RawRecord[] = [];
    for await (const chunk of fileChunks(handle, size, progress)) {
      parser.feed(decoder.decode(chunk), out);
      if (out.length > 0) {
        yield out;
        out = [];
      }
    }
    parser.feed(decoder.end(), out);
    parser.finish(out);
    if (out.length > 0) yield out;
  }

  const { choice, rest } = await takeHeader(records(), {
    headerRow: options.headerRow,
    maxColumns: limits.maxColumns,
  });
  return {
    header: choice.header,
    headerLine: choice.line,
    title: choice.title,
    delimiter,
    encoding: () => decoder.encoding,
    batches: shapeBatches(rest, choice.header.length, false),
  };
}

async function openJson(format: 'json' | 'ndjson', context: OpenContext): Promise<OpenedFormat> {
  const { handle, size, limits, progress } = context;
  const guess = textEncoding(context);
  const firstChar = headText(context, guess).trimStart()[0];
  const mode = format === 'json' && firstChar === '[' ? 'array' : 'lines';
  const decoder = new CheckedTextDecoder(guess.encoding, guess.bomLength);
  const scanner = new JsonRowScanner(mode, limits);

  async function* elements(): AsyncGenerator<JsonElement[]> {
    let out: JsonElement[] = [];
    for await (const chunk of fileChunks(handle, size, progress)) {
      scanner.feed(decoder.decode(chunk), out);
      if (out.length > 0) {
        yield out;
        out = [];
      }
    }
    scanner.feed(decoder.end(), out);
    scanner.finish(out);
    if (out.length > 0) yield out;
  }

  const table = await buildJsonTable(elements(), {
    maxColumns: limits.maxColumns,
    sampleFull: () => progress.bytes >= JSON_SAMPLE_BYTES,
    memory: context.memory,
  });
  return {
    header: table.header,
    headerLine: table.headerLine,
    encoding: () => decoder.encoding,
    batches: table.rows,
  };
}

async function openXlsx(context: OpenContext): Promise<OpenedFormat> {
  const { handle, size, options, limits, progress, memory } = context;
  const source = await openXlsxSheet(
    handle,
    size,
    options.sheet,
    limits,
    (bytes) => {
      progress.bytes = Math.min(progress.totalBytes, progress.bytes + bytes);
    },
    memory,
  );
  const { choice, rest } = await takeHeader(source.records, {
    headerRow: options.headerRow,
    maxColumns: limits.maxColumns,
  });
  return {
    header: choice.header,
    headerLine: choice.line,
    title: choice.title,
    sheet: source.sheet,
    sheets: source.sheets,
    encoding: () => null,
    batches: shapeBatches(rest, choice.header.length, true),
  };
}

const EXTENSIONS: Record<string, TableFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.tab': 'csv',
  '.txt': 'csv',
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.xlsx': 'xlsx',
  '.xlsm': 'xlsx',
  '.parquet': 'parquet',
};

const FORMAT_NAMES: Record<TableFormat, string> = {
  csv: 'CSV/TSV',
  xlsx: 'XLSX',
  json: 'JSON',
  ndjson: 'NDJSON',
  parquet: 'Parquet',
};

function startsWith(head: Uint8Array, bytes: number[]): boolean {
  return bytes.every((byte, i) => head[i] === byte);
}

function unknownFormat(zh: string, en: string): FileReadError {
  return new FileReadError('FILE_FORMAT_UNKNOWN', {}, { zh, en });
}

/** What the first bytes plainly are: a format we read, another binary format (refused), or text. */
function sniff(head: Uint8Array): 'xlsx' | 'parquet' | 'text' {
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return 'xlsx';
  if (startsWith(head, [0x50, 0x41, 0x52, 0x31])) return 'parquet';
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    throw unknownFormat(
      '旧版 Excel（.xls）或加密的工作簿，请另存为 .xlsx 或 CSV',
      'a legacy Excel (.xls) or password-protected workbook; save it as .xlsx or CSV',
    );
  }
  const binary: [number[], string][] = [
    [[0x25, 0x50, 0x44, 0x46], 'PDF'],
    [[0x1f, 0x8b], 'gzip'],
    [[0x52, 0x61, 0x72, 0x21], 'RAR'],
    [[0x37, 0x7a, 0xbc, 0xaf], '7z'],
    [[0x50, 0x4b, 0x05, 0x06], 'empty zip'],
  ];
  for (const [signature, name] of binary) {
    if (startsWith(head, signature)) throw unknownFormat(`这是 ${name} 文件`, `this is a ${name} file`);
  }
  return 'text';
}

function mismatch(declared: string, format: TableFormat, content: { zh: string; en: string }): FileReadError {
  return new FileReadError(
    'FILE_FORMAT_MISMATCH',
    { declared, format, content: content.en },
    {
      zh: `${declared} 表示 ${FORMAT_NAMES[format]}，但内容是${content.zh}`,
      en: `${declared} says ${FORMAT_NAMES[format]} but the content is ${content.en}`,
    },
  );
}

/**
 * The format to read. The explicit `format`, else the name's extension, decides; the content only
 * fills the gap when neither says (binary signatures, then '[' JSON, '{' NDJSON, else CSV). Content
 * that is plainly another format than the one declared is FILE_FORMAT_MISMATCH naming both, never
 * silently read as something else.
 */
export function checkFormat(name: string, head: Uint8Array, explicit?: TableFormat): TableFormat {
  const extension = extname(name).toLowerCase();
  const declared = explicit ?? EXTENSIONS[extension];
  const what = explicit ? `format=${explicit}` : `"${extension}"`;
  const kind = sniff(head);
  const first = firstSignificantChar(head);
  if (declared !== undefined) {
    const content =
      kind === 'text' ? { zh: '文本', en: 'text' } : { zh: ` ${FORMAT_NAMES[kind]}`, en: FORMAT_NAMES[kind] };
    if (declared === 'xlsx' || declared === 'parquet') {
      if (kind !== declared) throw mismatch(what, declared, content);
      return declared;
    }
    if (kind !== 'text') throw mismatch(what, declared, content);
    if ((declared === 'json' || declared === 'ndjson') && first !== '[' && first !== '{') {
      const shown = JSON.stringify(first ?? '');
      throw mismatch(what, declared, {
        zh: `以 ${shown} 而不是 [ 或 { 开头的文本`,
        en: `text starting with ${shown}, not [ or {`,
      });
    }
    if (declared === 'csv' && first === '<') {
      throw unknownFormat(
        'HTML/XML 文件（常见于伪装成 .xls 的网页表格）',
        'an HTML/XML file (often a web table saved as .xls)',
      );
    }
    return declared;
  }
  if (kind !== 'text') return kind;
  if (first === '<') {
    throw unknownFormat(
      'HTML/XML 文件（常见于伪装成 .xls 的网页表格）',
      'an HTML/XML file (often a web table saved as .xls)',
    );
  }
  if (first === '[') return 'json';
  if (first === '{') return 'ndjson';
  return 'csv';
}

/** The format a file of this name and head is read as (checkFormat without an explicit format). */
export function detectFormat(path: string, head: Uint8Array): TableFormat {
  return checkFormat(path, head);
}

/** First character that is not whitespace, a BOM or a NUL (UTF-16), assuming an ASCII-compatible start. */
function firstSignificantChar(head: Uint8Array): string | undefined {
  for (let i = 0; i < head.length; i++) {
    const byte = head[i]!;
    if (byte === 0 || byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    if (byte === 0xef || byte === 0xbb || byte === 0xbf || byte === 0xff || byte === 0xfe) continue;
    return String.fromCharCode(byte);
  }
  return undefined;
}

/** Keeps the first bad rows (100 by default) with their reasons, and counts them all. */
export class BadRowReport {
  readonly rows: { line: number; code: string; zh: string; en: string; column?: number }[] = [];
  count = 0;

  constructor(readonly keep = 100) {}

  add(line: number, problem: Pick<RowProblem, 'zh' | 'en' | 'column'> & { code: string }): void {
    this.count++;
    if (this.rows.length >= this.keep) return;
    const entry: BadRowReport['rows'][number] = { line, code: problem.code, zh: problem.zh, en: problem.en };
    if (problem.column !== undefined) entry.column = problem.column;
    this.rows.push(entry);
  }
}
