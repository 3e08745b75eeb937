/**
 * The labelled corpus as files: columns packed into CSV and XLSX files, a third of the files
 * GB18030-encoded CSV, so that the measurement covers what a user's file goes through (format
 * and encoding detection, the readers, header handling) and not only the scanner.
 *
 * Test and benchmark support: it uses iconv-lite and exceljs to write the files, and iconv-lite
 * is a development dependency. Nothing in the running platform imports this module.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { mulberry32 } from '../../src/core/random.ts';
import type { DetectorId } from '../../src/rules/detectors.ts';
import type { LabelledColumn } from './corpus.ts';

export type CorpusFileKind = 'csv-gb18030' | 'csv-utf8' | 'xlsx';

export interface CorpusFile {
  path: string;
  kind: CorpusFileKind;
  /** Index in the corpus of each column of the file, in file order. */
  columns: number[];
  bytes: number;
}

const KINDS: readonly CorpusFileKind[] = ['csv-gb18030', 'csv-utf8', 'xlsx'];

function shuffled(n: number, seed: number): number[] {
  const random = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return text === '' ? '' : `"${text.replaceAll('"', '""')}"`;
}

/**
 * Writes the columns into files of `columnsPerFile` columns each (shorter columns padded with
 * empty cells; no two columns of a file share a header), cycling GB18030 CSV, UTF-8 CSV, XLSX.
 */
export async function writeCorpusFiles(
  dir: string,
  corpus: readonly LabelledColumn[],
  options: { columnsPerFile?: number; seed?: number } = {},
): Promise<CorpusFile[]> {
  const perFile = options.columnsPerFile ?? 6;
  const groups: number[][] = [];
  let current: number[] = [];
  const pending = shuffled(corpus.length, options.seed ?? 7);
  while (pending.length > 0) {
    const headers = new Set(current.map((i) => corpus[i]!.header));
    const at = pending.findIndex((i) => !headers.has(corpus[i]!.header));
    if (at < 0 || current.length === perFile) {
      groups.push(current);
      current = [];
      continue;
    }
    current.push(pending.splice(at, 1)[0]!);
  }
  if (current.length > 0) groups.push(current);

  const files: CorpusFile[] = [];
  for (const [n, columns] of groups.entries()) {
    const kind = KINDS[n % KINDS.length]!;
    const header = columns.map((i) => corpus[i]!.header);
    const height = Math.max(...columns.map((i) => corpus[i]!.values.length));
    const rows = Array.from({ length: height }, (_, r) => columns.map((i) => corpus[i]!.values[r]));
    const file = path.join(dir, `corpus-${String(n).padStart(3, '0')}.${kind === 'xlsx' ? 'xlsx' : 'csv'}`);
    let body: Buffer;
    if (kind === 'xlsx') {
      const workbook = new ExcelJS.Workbook();
      const sheet = workbook.addWorksheet('数据');
      sheet.addRow(header);
      for (const row of rows) sheet.addRow(row.map((v) => (v === null || v === undefined ? null : v)));
      body = Buffer.from(await workbook.xlsx.writeBuffer());
    } else {
      const text = [header.map(csvCell), ...rows.map((row) => row.map(csvCell))]
        .map((cells) => cells.join(','))
        .join('\r\n');
      body = kind === 'csv-gb18030' ? iconv.encode(`${text}\r\n`, 'gb18030') : Buffer.from(`${text}\r\n`);
    }
    await writeFile(file, body);
    files.push({ path: file, kind, columns, bytes: body.length });
  }
  return files;
}

/**
 * Classifies every file and lines the predictions up with the corpus. `classify` returns the
 * detector of each column of the file in file order.
 */
export async function predictFiles(
  corpus: readonly LabelledColumn[],
  files: readonly CorpusFile[],
  classify: (file: CorpusFile) => Promise<(DetectorId | null)[]>,
): Promise<(DetectorId | null)[]> {
  const predictions = new Array<DetectorId | null>(corpus.length).fill(null);
  for (const file of files) {
    const types = await classify(file);
    if (types.length !== file.columns.length) {
      throw new Error(`${file.path}: ${types.length} columns read, ${file.columns.length} written`);
    }
    file.columns.forEach((i, c) => {
      predictions[i] = types[c] ?? null;
    });
  }
  return predictions;
}
