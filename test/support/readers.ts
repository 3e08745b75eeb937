/**
 * Helpers for the readers' tests: temporary files, hand-built zip archives, draining tables.
 * Not used by production code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { FileReadError } from '../../src/readers/errors.ts';
import { type OpenTableOptions, openTable } from '../../src/readers/index.ts';
import type { TableRow } from '../../src/readers/types.ts';

export interface TempDir {
  path: string;
  file(name: string, content: string | Uint8Array): string;
  remove(): void;
}

export function makeTempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'shutong-readers-'));
  return {
    path,
    file(name, content) {
      const target = join(path, name);
      writeFileSync(target, content);
      return target;
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

export interface ReadResult {
  header: string[];
  rows: TableRow[];
  encoding: string | null;
  delimiter: string | null;
  title: string | null;
}

/** Opens a table and reads all of it. */
export async function readAll(path: string, options?: OpenTableOptions): Promise<ReadResult> {
  const table = await openTable(path, options);
  const rows: TableRow[] = [];
  for await (const row of table.rows) rows.push(row);
  return {
    header: table.header,
    rows,
    encoding: table.encoding,
    delimiter: table.delimiter,
    title: table.title,
  };
}

/** The FileReadError reading the file ends with (fails the test if there is none). */
export async function readError(path: string, options?: OpenTableOptions): Promise<FileReadError> {
  try {
    await readAll(path, options);
  } catch (error) {
    if (error instanceof FileReadError) return error;
    throw error;
  }
  throw new Error(`expected ${path} to fail`);
}

export interface ZipPart {
  name: string;
  content: string | Uint8Array;
  /** Claim a different uncompressed size in the central directory (a lying archive). */
  declaredSize?: number;
}

/** A minimal deflate zip archive, enough to hand-craft XLSX packages. */
export function buildZip(parts: ZipPart[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const raw =
      typeof part.content === 'string' ? Buffer.from(part.content, 'utf8') : Buffer.from(part.content);
    const compressed = deflateRawSync(raw, { level: 9 });
    const name = Buffer.from(part.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(part.declaredSize ?? raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(part.declaredSize ?? raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The parts of a one-sheet workbook around the given <sheetData> content. */
export function workbookParts(sheetData: string, sharedStrings?: string[]): ZipPart[] {
  const parts: ZipPart[] = [
    {
      name: '[Content_Types].xml',
      content:
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    },
    {
      name: '_rels/.rels',
      content:
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    },
    {
      name: 'xl/workbook.xml',
      content:
        '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      content:
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    },
    {
      name: 'xl/worksheets/sheet1.xml',
      content: `<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${sheetData}</sheetData></worksheet>`,
    },
  ];
  if (sharedStrings) {
    parts.push({
      name: 'xl/sharedStrings.xml',
      content: `<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${sharedStrings.map((s) => `<si><t xml:space="preserve">${s}</t></si>`).join('')}</sst>`,
    });
  }
  return parts;
}

/** RSS in MiB. */
export function rssMiB(): number {
  return process.memoryUsage().rss / (1024 * 1024);
}
