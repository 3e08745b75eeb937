/**
 * Parquet reader on hyparquet, one row group at a time, over an AsyncBuffer backed by the open file
 * handle (the file is never read whole).
 *
 * Nothing in the footer or the page headers is trusted: the footer length, every column chunk's byte
 * range, the row counts and sizes of each row group, and every page's declared sizes and value counts are
 * checked against the file and the limits before hyparquet allocates anything from them. Anything
 * hyparquet still rejects is reported as FILE_PARQUET_CORRUPT.
 *
 * Values: strings, booleans and numbers as they are; INT64 as a number when it is a safe integer,
 * otherwise its exact decimal text; DATE as 'YYYY-MM-DD'; timestamps as ISO 8601 UTC text; JSON columns
 * as their JSON text; other binary as base64; lists, maps and structs as JSON text.
 */
import type { FileHandle } from 'node:fs/promises';
import * as zlib from 'node:zlib';
import type { AsyncBuffer, ColumnData, Compressors, FileMetaData, ParquetParsers } from 'hyparquet';
import { parquetMetadataAsync, parquetRead, parquetSchema, snappyUncompress } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { getTreePath } from 'hyparquet/src/schema.js';
import { FileReadError, rowProblem } from './errors.ts';
import { type CellValue, MemoryBudget, type ReadLimits, type TableRow } from './types.ts';

export interface ParquetSource {
  header: string[];
  rowCount: number;
  rows: AsyncGenerator<TableRow[]>;
}

interface ChunkRange {
  start: number;
  end: number;
  group: number;
  /** Set once its page headers have been checked (a range re-read is not checked or counted twice). */
  checked: boolean;
}

/** What one row group may take, known from the footer: its compressed bytes and its cells. */
interface GroupShape {
  rows: number;
  compressedBytes: number;
  /** Sum of the declared uncompressed sizes of its pages, added up as their headers are checked. */
  pageBytes: number;
}

/** Decoded values cost about this much each (a JS value in an array, more for strings: see pages). */
const BYTES_PER_CELL = 16;
/** The parsed footer costs about this many times its bytes (thrift objects for every column chunk; measured 13.5–14×). */
const FOOTER_HEAP_FACTOR = 16;

const MAGIC = 0x31524150; // "PAR1"

/**
 * Work counters, for tests that check reading is linear in the number of row groups without timing
 * anything: column chunk ranges examined by slices, and row groups handed to hyparquet's planner.
 */
export const parquetWork = { rangesExamined: 0, groupsPlanned: 0, reads: 0 };

function corrupt(en: string, zh: string, details: Record<string, unknown> = {}): FileReadError {
  return new FileReadError('FILE_PARQUET_CORRUPT', details, { zh, en });
}

function tooLarge(en: string, zh: string, details: Record<string, unknown>): FileReadError {
  return new FileReadError('FILE_PART_TOO_LARGE', details, { zh, en });
}

export async function openParquet(
  handle: FileHandle,
  fileSize: number,
  limits: ReadLimits,
  onBytes: (bytes: number) => void,
  memory: MemoryBudget = new MemoryBudget(limits.memoryBytes),
): Promise<ParquetSource> {
  if (fileSize < 12) throw corrupt('too small to be a Parquet file', '文件太小，不是 Parquet 文件');
  const ends = Buffer.alloc(8);
  await handle.read(ends, 0, 4, 0);
  await handle.read(ends, 4, 4, fileSize - 4);
  if (ends.readUInt32LE(0) !== MAGIC || ends.readUInt32LE(4) !== MAGIC) {
    throw corrupt('missing the PAR1 marker at the start or end', '文件首尾缺少 PAR1 标记');
  }
  const lengthBytes = Buffer.alloc(4);
  await handle.read(lengthBytes, 0, 4, fileSize - 8);
  const footerLength = lengthBytes.readUInt32LE(0);
  if (footerLength > fileSize - 12) {
    throw corrupt(
      `the footer claims ${footerLength} bytes of metadata but the file has ${fileSize} bytes`,
      `文件尾声明元数据长 ${footerLength} 字节，但文件只有 ${fileSize} 字节`,
      { footerLength, fileSize },
    );
  }
  if (footerLength > limits.maxParquetFooterBytes) {
    throw tooLarge('the Parquet footer is too large', 'Parquet 文件尾（元数据）过大', {
      footerLength,
      limit: limits.maxParquetFooterBytes,
    });
  }

  memory.reserve('Parquet footer', footerLength * FOOTER_HEAP_FACTOR);

  // Column chunk ranges are known once the metadata is read, sorted by start; slices covering them get
  // their pages checked (found by binary search: a slice costs its own ranges, not all of the file's).
  let chunkRanges: ChunkRange[] = [];
  let groups: GroupShape[] = [];
  const maxSlice = Math.max(limits.maxParquetRowGroupBytes, footerLength + 8);
  let window: { start: number; bytes: Uint8Array; ready: Promise<void> } | null = null;
  memory.reserve('Parquet read-ahead window', WINDOW_BYTES);
  const direct = {
    async slice(start: number, end: number = fileSize): Promise<ArrayBuffer> {
      if (!(start >= 0 && end <= fileSize && start <= end)) {
        throw corrupt(
          `a read at bytes ${start}–${end} falls outside the file`,
          `读取位置 ${start}–${end} 超出文件`,
        );
      }
      if (end - start > maxSlice) {
        throw tooLarge('a Parquet row group is too large', 'Parquet 行组过大', {
          bytes: end - start,
          limit: limits.maxParquetRowGroupBytes,
        });
      }
      const buffer = new Uint8Array(end - start);
      if (end - start <= WINDOW_BYTES / 4) {
        // Small reads (many small row groups) are served from a window read ahead: one read of the
        // file per window rather than one per column chunk.
        // Slices run concurrently (hyparquet prefetches): a window is used once its read is done.
        let current = window;
        if (!(current && start >= current.start && end <= current.start + current.bytes.length)) {
          const bytes = new Uint8Array(Math.min(WINDOW_BYTES, fileSize - start));
          current = { start, bytes, ready: readFully(handle, bytes, start) };
          window = current;
        }
        await current.ready;
        buffer.set(current.bytes.subarray(start - current.start, end - current.start));
      } else {
        await readFully(handle, buffer, start);
      }
      for (let i = firstRangeFrom(chunkRanges, start); i < chunkRanges.length; i++) {
        const range = chunkRanges[i]!;
        parquetWork.rangesExamined++;
        if (range.start >= end) break;
        if (range.end > end || range.checked) continue;
        range.checked = true;
        const group = groups[range.group]!;
        const pageBytes = checkPages(
          buffer.subarray(range.start - start, range.end - start),
          group.rows,
          limits,
        );
        group.pageBytes += pageBytes;
        // What the pages inflate to, summed over the row group, before any page is inflated: a group
        // whose declared size is small while its pages each inflate to the page limit stops here.
        if (group.pageBytes > limits.maxParquetRowGroupBytes) {
          throw tooLarge(
            'the pages of a Parquet row group inflate past the limit',
            'Parquet 行组的数据页解压后过大',
            {
              rowGroup: range.group,
              bytes: group.pageBytes,
              limit: limits.maxParquetRowGroupBytes,
            },
          );
        }
        memory.reserve(`Parquet row group ${range.group} pages`, pageBytes);
      }
      return buffer.buffer;
    },
  };
  const file: AsyncBuffer = {
    byteLength: fileSize,
    slice(start: number, end: number = fileSize): Promise<ArrayBuffer> {
      const read = direct.slice(start, end);
      // hyparquet prefetches ranges and does not await them all once one read has failed; a refused
      // slice nobody awaits must not end the process as an unhandled rejection (whoever awaits it
      // still gets the error).
      read.catch(() => {});
      return read;
    },
  };

  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file, { parsers: PARSERS, initialFetchSize: footerLength + 8 });
  } catch (error) {
    throw asReadError(error, 'the footer (metadata) cannot be parsed', '文件尾（元数据）无法解析');
  }

  let header: string[];
  try {
    header = parquetSchema(metadata).children.map((child) => child.element.name);
  } catch (error) {
    throw asReadError(error, 'the schema is invalid', '表结构无效');
  }
  // A damaged footer can leave a column without a name (hyparquet does not check).
  if (header.some((name) => typeof name !== 'string')) {
    throw corrupt('a column of the schema has no name', '表结构中有列没有名称');
  }
  if (header.length > limits.maxColumns) {
    throw new FileReadError('FILE_TOO_MANY_COLUMNS', { count: header.length, limit: limits.maxColumns });
  }
  ({ chunkRanges, groups } = validateRowGroups(metadata, header.length, fileSize, limits));
  const rowCount = groups.reduce((sum, group) => sum + group.rows, 0);

  return {
    header,
    rowCount,
    rows: readRows(file, metadata, header, groups, limits, onBytes, memory),
  };
}

function validateRowGroups(
  metadata: FileMetaData,
  columns: number,
  fileSize: number,
  limits: ReadLimits,
): { chunkRanges: ChunkRange[]; groups: GroupShape[] } {
  const chunkRanges: ChunkRange[] = [];
  const groups: GroupShape[] = [];
  let total = 0;
  const tree = parquetSchema(metadata);
  metadata.row_groups.forEach((group, index) => {
    const rows = Number(group.num_rows);
    if (!Number.isSafeInteger(rows) || rows < 0) {
      throw corrupt(`row group ${index} has an invalid row count`, `第 ${index} 个行组的行数无效`);
    }
    if (rows * Math.max(columns, 1) > limits.maxParquetRowGroupCells) {
      throw tooLarge('a Parquet row group has too many cells', 'Parquet 行组单元格过多', {
        rowGroup: index,
        rows,
        columns,
        limit: limits.maxParquetRowGroupCells,
      });
    }
    let uncompressed = 0;
    let compressed = 0;
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (!meta) throw corrupt('a column chunk has no metadata', '列块缺少元数据');
      // hyparquet resolves this path while it starts the reads of the row group: a path that names
      // no column throws there, leaving the reads already started to fail unobserved.
      try {
        getTreePath(tree, meta.path_in_schema);
      } catch {
        throw corrupt(
          `row group ${index}: a column chunk names no column of the schema`,
          `第 ${index} 个行组：列块对应的列在表结构中不存在`,
          { rowGroup: index },
        );
      }
      const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      const dataStart = Number(meta.data_page_offset);
      const size = Number(meta.total_compressed_size);
      const dataSize = Number(meta.total_uncompressed_size);
      const end = start + size;
      if (!(start >= 4 && dataStart >= start && size >= 0 && end <= fileSize - 8 && dataSize >= 0)) {
        throw corrupt(
          `row group ${index}: a column chunk lies outside the file`,
          `第 ${index} 个行组：列块位置超出文件`,
          { rowGroup: index, start, end, fileSize },
        );
      }
      uncompressed += dataSize;
      compressed += size;
      chunkRanges.push({ start, end, group: index, checked: false });
    }
    if (uncompressed > limits.maxParquetRowGroupBytes) {
      throw tooLarge('a Parquet row group is too large', 'Parquet 行组过大', {
        rowGroup: index,
        bytes: uncompressed,
        limit: limits.maxParquetRowGroupBytes,
      });
    }
    groups.push({ rows, compressedBytes: compressed, pageBytes: 0 });
    total += rows;
  });
  if (BigInt(total) !== metadata.num_rows) {
    throw corrupt(
      `the footer says ${metadata.num_rows} rows but its row groups hold ${total}`,
      `文件尾声明 ${metadata.num_rows} 行，但各行组合计 ${total} 行`,
    );
  }
  chunkRanges.sort((a, b) => a.start - b.start);
  return { chunkRanges, groups };
}

const WINDOW_BYTES = 1024 * 1024;

async function readFully(handle: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw corrupt('unexpected end of file', '文件意外结束');
    done += bytesRead;
  }
}

/** Index of the first range starting at or after `position` (ranges sorted by start). */
function firstRangeFrom(ranges: ChunkRange[], position: number): number {
  let low = 0;
  let high = ranges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ranges[middle]!.start < position) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Walks the page headers of one column chunk, checking what hyparquet will allocate from them;
 * returns the sum of the pages' declared uncompressed sizes (what decompression may produce: the
 * decompressors refuse to produce more than a page declares).
 */
function checkPages(bytes: Uint8Array, rows: number, limits: ReadLimits): number {
  let total = 0;
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  // A repeated (list) column has more values than rows; the cell limit bounds both.
  const maxValues = Math.max(limits.maxParquetRowGroupCells, rows);
  while (reader.offset < bytes.length - 1) {
    let page: ReturnType<typeof parquetHeader>;
    try {
      page = parquetHeader(reader);
    } catch (error) {
      throw asReadError(error, 'a page header cannot be parsed', '页头无法解析');
    }
    const values =
      page.data_page_header?.num_values ??
      page.data_page_header_v2?.num_values ??
      page.dictionary_page_header?.num_values ??
      0;
    const sizesValid =
      Number.isSafeInteger(page.compressed_page_size) &&
      page.compressed_page_size >= 0 &&
      Number.isSafeInteger(page.uncompressed_page_size) &&
      page.uncompressed_page_size >= 0 &&
      reader.offset + page.compressed_page_size <= bytes.length;
    // hyparquet positions itself in a v2 page by these lengths: a missing one makes its offset NaN,
    // and its level decoder then reads byte 0 forever.
    const v2 = page.data_page_header_v2;
    const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
    const v2Valid =
      !v2 ||
      (count(v2.num_values) &&
        count(v2.num_nulls) &&
        v2.num_nulls <= v2.num_values &&
        count(v2.num_rows) &&
        count(v2.definition_levels_byte_length) &&
        count(v2.repetition_levels_byte_length) &&
        v2.definition_levels_byte_length + v2.repetition_levels_byte_length <= page.compressed_page_size);
    if (!sizesValid || !count(values) || !v2Valid)
      throw corrupt('a page header has invalid sizes', '页头中的大小无效');
    if (page.uncompressed_page_size > limits.maxParquetRowGroupBytes || values > maxValues) {
      throw tooLarge('a Parquet page is too large', 'Parquet 数据页过大', {
        pageBytes: page.uncompressed_page_size,
        values,
      });
    }
    total += page.uncompressed_page_size;
    reader.offset += page.compressed_page_size;
  }
  return total;
}

async function* readRows(
  file: AsyncBuffer,
  metadata: FileMetaData,
  header: string[],
  groups: GroupShape[],
  limits: ReadLimits,
  onBytes: (bytes: number) => void,
  memory: MemoryBudget,
): AsyncGenerator<TableRow[]> {
  const compressors = makeCompressors(limits.maxParquetRowGroupBytes);
  const width = Math.max(header.length, 1);
  let groupStart = 0;
  for (let first = 0; first < groups.length; ) {
    // Small consecutive row groups are read together (up to READ_ROWS rows, READ_GROUPS groups):
    // hyparquet's fixed cost per read is paid once per run of small groups, not once per group.
    let last = first;
    let rows = groups[first]!.rows;
    let compressed = groups[first]!.compressedBytes;
    while (
      last + 1 < groups.length &&
      last + 1 - first < READ_GROUPS &&
      rows + groups[last + 1]!.rows <= READ_ROWS &&
      compressed + groups[last + 1]!.compressedBytes <= WINDOW_BYTES
    ) {
      last++;
      rows += groups[last]!.rows;
      compressed += groups[last]!.compressedBytes;
    }
    const what = first === last ? `row group ${first}` : `row groups ${first}–${last}`;
    const whatZh = first === last ? `第 ${first} 个行组` : `第 ${first}–${last} 个行组`;
    const chunks = new Map<string, ColumnData[]>();
    // The groups' compressed bytes and decoded cells are reserved before hyparquet reads them (their
    // pages' inflated sizes as their headers are checked, in slice); all released once yielded.
    const usedBefore = memory.used;
    memory.reserve(`Parquet ${what}`, compressed + rows * width * BYTES_PER_CELL);
    try {
      // hyparquet plans a read by walking every row group of the metadata it is given: given the
      // whole file's, reading group by group would be quadratic in the number of groups. Each read
      // gets metadata holding only the groups it reads.
      const readMetadata = {
        ...metadata,
        row_groups: metadata.row_groups.slice(first, last + 1),
        num_rows: BigInt(rows),
      };
      parquetWork.groupsPlanned += readMetadata.row_groups.length;
      parquetWork.reads++;
      const start = groupStart;
      await parquetRead({
        file,
        metadata: readMetadata,
        rowStart: 0,
        rowEnd: rows,
        compressors,
        parsers: PARSERS,
        onChunk: (chunk) => {
          const shifted = { ...chunk, rowStart: chunk.rowStart + start, rowEnd: chunk.rowEnd + start };
          const list = chunks.get(chunk.columnName);
          if (list) list.push(shifted);
          else chunks.set(chunk.columnName, [shifted]);
        },
      });
    } catch (error) {
      throw asReadError(error, `${what} cannot be decoded`, `${whatZh}无法解码`);
    }
    const cursors = header.map((name) => new ColumnCursor(chunks.get(name) ?? []));
    let batch: TableRow[] = [];
    for (let row = groupStart; row < groupStart + rows; row++) {
      const values: CellValue[] = new Array(header.length);
      for (let c = 0; c < header.length; c++) {
        const found = cursors[c]!.at(row);
        if (found === MISSING) {
          throw corrupt(
            `column "${header[c]}" has fewer values than the ${rows} rows its ${what} declare`,
            `列“${header[c]}”的值少于${whatZh}声明的 ${rows} 行`,
            { line: row + 1 },
          );
        }
        values[c] = toCell(found);
      }
      const nul = values.findIndex((value) => typeof value === 'string' && value.includes('\0'));
      batch.push(
        nul === -1
          ? { line: row + 1, values }
          : { line: row + 1, values, problem: rowProblem('ROW_NUL_BYTE', undefined, nul) },
      );
      if (batch.length === BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    memory.release(memory.used - usedBefore);
    onBytes(compressed);
    groupStart += rows;
    first = last + 1;
  }
}

/** A run of small row groups read at once: at most this many rows and groups. */
const READ_ROWS = 4096;
const READ_GROUPS = 1024;

const MISSING = Symbol('missing');
const BATCH_ROWS = 1024;

/** Sequential access to one column's decoded chunks by absolute row index. */
class ColumnCursor {
  private index = 0;
  constructor(private readonly chunks: ColumnData[]) {
    chunks.sort((a, b) => a.rowStart - b.rowStart);
  }
  at(row: number): unknown {
    while (this.index < this.chunks.length && this.chunks[this.index]!.rowEnd <= row) this.index++;
    const chunk = this.chunks[this.index];
    if (!chunk || chunk.rowStart > row) return MISSING;
    return chunk.columnData[row - chunk.rowStart];
  }
}

function toCell(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value.toString();
    default:
      if (value instanceof Date) return isoOrNull(value.getTime());
      if (value instanceof Uint8Array)
        return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      return JSON.stringify(value, (_key, inner: unknown) =>
        typeof inner === 'bigint' ? inner.toString() : inner,
      );
  }
}

function isoOrNull(ms: number): string | null {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

const utf8 = new TextDecoder();

const PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (ms: bigint) => isoOrNull(Number(ms)),
  timestampFromMicroseconds: (us: bigint) => isoOrNull(Number(us / 1000n)),
  timestampFromNanoseconds: (ns: bigint) => isoOrNull(Number(ns / 1_000_000n)),
  dateFromDays: (days: number) => isoOrNull(days * 86_400_000)?.slice(0, 10) ?? null,
  jsonFromBytes: (bytes: Uint8Array) => (bytes ? utf8.decode(bytes) : bytes),
};

function makeCompressors(maxBytes: number): Compressors {
  const checked = (outputLength: number): number => {
    if (!(outputLength >= 0 && outputLength <= maxBytes)) {
      throw tooLarge('a Parquet page is too large', 'Parquet 数据页过大', {
        pageBytes: outputLength,
        limit: maxBytes,
      });
    }
    return outputLength;
  };
  const compressors: Compressors = {
    SNAPPY: (input, outputLength) => {
      const output = new Uint8Array(checked(outputLength));
      snappyUncompress(input, output);
      return output;
    },
    GZIP: (input, outputLength) =>
      zlib.gunzipSync(input, { maxOutputLength: Math.max(1, checked(outputLength)) }),
    BROTLI: (input, outputLength) =>
      zlib.brotliDecompressSync(input, { maxOutputLength: Math.max(1, checked(outputLength)) }),
  };
  // zstd is in node:zlib from Node 22.15; on older Node such files are reported as unsupported.
  const zstd = (zlib as unknown as Record<string, unknown>).zstdDecompressSync;
  if (typeof zstd === 'function') {
    compressors.ZSTD = (input, outputLength) =>
      (zstd as (input: Uint8Array, options: object) => Uint8Array)(input, {
        maxOutputLength: Math.max(1, checked(outputLength)),
      });
  }
  return compressors;
}

function asReadError(error: unknown, en: string, zh: string): FileReadError {
  if (error instanceof FileReadError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/unsupported compression codec/.test(message)) {
    return new FileReadError(
      'FILE_PARQUET_UNSUPPORTED',
      { reason: message },
      { zh: `不支持的压缩方式（${message}）`, en: message },
    );
  }
  return corrupt(`${en}: ${message}`, `${zh}：${message}`, { reason: message });
}
