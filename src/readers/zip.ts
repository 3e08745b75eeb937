/**
 * Minimal random-access zip reader for XLSX packages.
 *
 * Reading the central directory (rather than streaming local headers, as ExcelJS's WorkbookReader does)
 * lets us read the parts in the order we need — shared strings before the sheet, whatever their order in
 * the archive — without spilling sheets to temporary files, and lets every inflated byte be counted, so
 * a zip bomb stops at the limit whatever the (forgeable) sizes in the headers say.
 */
import type { FileHandle } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import { FileReadError } from './errors.ts';
import type { MemoryBudget } from './types.ts';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;
const MAX_ENTRIES = 100_000;

function corrupt(en: string, zh: string): FileReadError {
  return new FileReadError('FILE_XLSX_CORRUPT', {}, { zh, en });
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  if (bytesRead !== length) throw corrupt('unexpected end of the zip archive', '压缩包意外结束');
  return buffer;
}

/** Reads the central directory into a name → entry map. */
export async function readZipDirectory(
  handle: FileHandle,
  fileSize: number,
  memory?: MemoryBudget,
): Promise<Map<string, ZipEntry>> {
  const tailLength = Math.min(fileSize, 22 + 65535);
  if (tailLength < 22) throw corrupt('too small to be a zip archive', '文件太小，不是压缩包');
  const tail = await readAt(handle, fileSize - tailLength, tailLength);
  let eocd = -1;
  for (let at = tailLength - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw corrupt('no zip end-of-central-directory record', '找不到压缩包目录');

  let entryCount = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_LOCATOR_SIGNATURE) {
      throw corrupt('damaged zip64 directory locator', '压缩包 zip64 目录定位损坏');
    }
    const zip64Offset = Number(tail.readBigUInt64LE(locator + 8));
    if (zip64Offset + 56 > fileSize) throw corrupt('zip64 directory outside the file', 'zip64 目录超出文件');
    const zip64 = await readAt(handle, zip64Offset, 56);
    if (zip64.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE)
      throw corrupt('damaged zip64 directory', 'zip64 目录损坏');
    entryCount = Number(zip64.readBigUInt64LE(32));
    directorySize = Number(zip64.readBigUInt64LE(40));
    directoryOffset = Number(zip64.readBigUInt64LE(48));
  }
  if (
    directoryOffset + directorySize > fileSize ||
    directorySize > MAX_CENTRAL_DIRECTORY ||
    entryCount > MAX_ENTRIES
  ) {
    throw corrupt('the zip directory is out of bounds', '压缩包目录越界');
  }

  // The directory's bytes, and an entry object with its name for each entry, before reading them.
  memory?.reserve('zip directory', directorySize * 3 + entryCount * 160);
  const directory = await readAt(handle, directoryOffset, directorySize);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let n = 0; n < entryCount; n++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
      throw corrupt('damaged zip directory entry', '压缩包目录项损坏');
    }
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > directory.length) throw corrupt('damaged zip directory entry', '压缩包目录项损坏');
    const entry: ZipEntry = {
      name: directory.toString('utf8', at + 46, at + 46 + nameLength),
      flags: directory.readUInt16LE(at + 8),
      method: directory.readUInt16LE(at + 10),
      compressedSize: directory.readUInt32LE(at + 20),
      uncompressedSize: directory.readUInt32LE(at + 24),
      localHeaderOffset: directory.readUInt32LE(at + 42),
    };
    applyZip64Extra(entry, directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
    entries.set(entry.name.replace(/\\/g, '/').replace(/^\//, ''), entry);
    at = end;
  }
  return entries;
}

/** Zip64 "extended information" replaces whichever 32-bit fields are 0xFFFFFFFF, in this order. */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = extra.readUInt16LE(at);
    const size = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      let field = at + 4;
      const next = (): number => {
        if (field + 8 > at + 4 + size) throw corrupt('damaged zip64 field', 'zip64 字段损坏');
        const value = Number(extra.readBigUInt64LE(field));
        field += 8;
        return value;
      };
      if (entry.uncompressedSize === 0xffffffff) entry.uncompressedSize = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    at += 4 + size;
  }
}

/** Counts inflated bytes across the parts of one workbook and stops at the limits. */
export class InflateBudget {
  private total = 0;
  constructor(
    private readonly maxTotal: number,
    private readonly maxRatio: number,
  ) {}

  /** Rejects up front what the (honest) directory already shows to be too big. */
  checkDeclared(entries: ZipEntry[]): void {
    let declared = 0;
    for (const entry of entries) {
      declared += entry.uncompressedSize;
      if (
        entry.uncompressedSize > RATIO_FLOOR &&
        entry.uncompressedSize > this.maxRatio * Math.max(entry.compressedSize, 1)
      ) {
        throw this.bomb(entry, entry.uncompressedSize);
      }
    }
    if (declared > this.maxTotal) throw this.bomb(null, declared);
  }

  add(entry: ZipEntry, entryInflated: number, delta: number): void {
    this.total += delta;
    if (this.total > this.maxTotal) throw this.bomb(entry, this.total);
    if (entryInflated > RATIO_FLOOR && entryInflated > this.maxRatio * Math.max(entry.compressedSize, 1)) {
      throw this.bomb(entry, entryInflated);
    }
    // Deflate cannot produce more than the directory says unless the directory lies.
    if (entryInflated > entry.uncompressedSize + 1024 && entry.uncompressedSize !== 0xffffffff) {
      throw this.bomb(entry, entryInflated);
    }
  }

  private bomb(entry: ZipEntry | null, bytes: number): FileReadError {
    return new FileReadError(
      'FILE_XLSX_BOMB',
      { part: entry?.name ?? null, inflatedBytes: bytes, limitBytes: this.maxTotal, maxRatio: this.maxRatio },
      {
        zh: entry
          ? `“${entry.name}”解压后超过 ${bytes} 字节或压缩比异常`
          : `解压后共 ${bytes} 字节，超过上限`,
        en: entry
          ? `"${entry.name}" inflates past ${bytes} bytes or beyond the allowed ratio`
          : `the parts inflate to ${bytes} bytes in total, over the limit`,
      },
    );
  }
}

/** The ratio rule only applies past this size: small, very repetitive parts are normal. */
const RATIO_FLOOR = 10 * 1024 * 1024;

/**
 * Streams the inflated bytes of one entry. `onCompressed` receives the compressed bytes read, for progress.
 * Breaking out of the loop stops reading and inflating.
 */
export async function* readZipEntry(
  handle: FileHandle,
  fileSize: number,
  entry: ZipEntry,
  budget: InflateBudget,
  onCompressed: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  if (entry.flags & 0x1) throw corrupt(`"${entry.name}" is encrypted`, `“${entry.name}”已加密`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw corrupt(
      `"${entry.name}" uses unsupported compression ${entry.method}`,
      `“${entry.name}”的压缩方式不受支持`,
    );
  }
  if (entry.localHeaderOffset + 30 > fileSize)
    throw corrupt('a zip entry lies outside the file', '压缩包条目越界');
  const local = await readAt(handle, entry.localHeaderOffset, 30);
  if (local.readUInt32LE(0) !== LOCAL_SIGNATURE)
    throw corrupt('damaged zip entry header', '压缩包条目头损坏');
  const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > fileSize) throw corrupt('a zip entry lies outside the file', '压缩包条目越界');

  let inflated = 0;
  const compressedChunks = readRange(handle, dataStart, dataEnd, onCompressed);
  if (entry.method === 0) {
    for await (const chunk of compressedChunks) {
      inflated += chunk.length;
      budget.add(entry, inflated, chunk.length);
      yield chunk;
    }
    return;
  }

  const inflater = createInflateRaw({ chunkSize: 64 * 1024 });
  let inflateError: Error | null = null;
  inflater.on('error', (error) => {
    inflateError = error;
  });
  const feeding = (async () => {
    try {
      for await (const chunk of compressedChunks) {
        if (inflater.destroyed) return;
        if (!inflater.write(chunk)) await drainOrClose(inflater);
      }
      inflater.end();
    } catch (error) {
      inflater.destroy(error as Error);
    }
  })();
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      inflated += chunk.length;
      budget.add(entry, inflated, chunk.length);
      yield chunk;
    }
  } catch (error) {
    if (error instanceof FileReadError) throw error;
    const reason = (inflateError ?? error) as Error;
    throw corrupt(`"${entry.name}" cannot be inflated: ${reason.message}`, `“${entry.name}”无法解压`);
  } finally {
    inflater.destroy();
    await feeding.catch(() => {});
  }
}

function drainOrClose(stream: NodeJS.WritableStream & NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

async function* readRange(
  handle: FileHandle,
  start: number,
  end: number,
  onCompressed: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  let position = start;
  while (position < end) {
    const length = Math.min(256 * 1024, end - position);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    if (bytesRead === 0) throw corrupt('unexpected end of the zip archive', '压缩包意外结束');
    position += bytesRead;
    onCompressed(bytesRead);
    yield bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
  }
}
