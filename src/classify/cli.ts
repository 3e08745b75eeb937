/**
 * `shutong classify <file>`: what the scanner finds in a CSV/TSV, XLSX, JSON, NDJSON or Parquet
 * file, without a database. Other tools parse `--json`, so its shape is a contract: one object on
 * stdout, `{"columns":[{"name","type","grade","confidence","ratio"}]}`, and nothing else there.
 */
import { type Command, Option } from 'commander';
import { AppError } from '../core/errors.ts';
import { FileReadError, type OpenTableOptions, openTable, type TableFormat } from '../readers/index.ts';
import type { DetectorId } from '../rules/detectors.ts';
import type { Grade } from '../rules/grades.ts';
import { type ColumnResult, createColumnScanner, type ScanOptions } from '../rules/scan.ts';

export interface FileClassifyOptions {
  encoding?: string | undefined;
  format?: TableFormat | undefined;
  sheet?: string | number | undefined;
  delimiter?: string | undefined;
  scan?: ScanOptions;
}

export interface FileColumn {
  name: string;
  type: DetectorId | null;
  grade: Grade;
  confidence: number;
  ratio: number;
}

export interface FileClassification {
  format: TableFormat;
  encoding: string | null;
  rows: number;
  sampled: boolean;
  /** Full scan results, evidence included, in header order. */
  results: ColumnResult[];
}

/**
 * Reads the file as an import would (same readers, same encoding detection) and scans every
 * well-formed row; malformed rows are skipped, since their values may sit in the wrong columns.
 */
export async function classifyFile(
  path: string,
  options: FileClassifyOptions = {},
): Promise<FileClassification> {
  const tableOptions: OpenTableOptions = {};
  if (options.encoding) tableOptions.encoding = options.encoding;
  if (options.format) tableOptions.format = options.format;
  if (options.sheet !== undefined) tableOptions.sheet = options.sheet;
  if (options.delimiter) tableOptions.delimiter = options.delimiter;
  const table = await openTable(path, tableOptions);
  try {
    const scanner = createColumnScanner(table.header, options.scan);
    for await (const batch of table.batches) {
      for (const row of batch) if (!row.problem) scanner.add(row.values);
    }
    return {
      format: table.format,
      encoding: table.encoding,
      rows: scanner.rows,
      sampled: scanner.sampled,
      results: scanner.result(),
    };
  } finally {
    await table.close();
  }
}

/** The `--json` contract: header as in the file, detector id or null, grade, confidence, ratio. */
export function contractColumns(results: readonly ColumnResult[]): { columns: FileColumn[] } {
  return {
    columns: results.map((r) => ({
      name: r.name,
      type: r.type,
      grade: r.grade,
      confidence: r.confidence,
      ratio: r.ratio,
    })),
  };
}

// Terminal columns: CJK characters take two cells.
function width(text: string): number {
  let w = 0;
  for (const ch of text)
    w +=
      /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{20000}-\u{3fffd}]/u.test(
        ch,
      )
        ? 2
        : 1;
  return w;
}
const pad = (text: string, to: number) => text + ' '.repeat(Math.max(0, to - width(text)));

export function formatTable(result: FileClassification): string {
  const head = ['column', 'type', 'grade', 'confidence', 'ratio', 'evidence'];
  const body = result.results.map((r) => [
    r.name === '' ? '(blank)' : r.name,
    r.type ?? '-',
    r.grade,
    r.confidence.toFixed(3),
    r.ratio.toFixed(3),
    [
      r.evidence.headerHint ? `header “${r.evidence.headerHint}”` : '',
      r.evidence.samples.slice(0, 3).join(' '),
    ]
      .filter(Boolean)
      .join('; '),
  ]);
  const widths = head.map((h, i) => Math.max(width(h), ...body.map((row) => width(row[i]!))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!)))
      .join('  ')
      .trimEnd();
  const summary = `${result.rows} rows${result.sampled ? ' (judged on a reservoir sample)' : ''}, ${result.format}${result.encoding ? `, ${result.encoding}` : ''}`;
  return [line(head), ...body.map(line), '', summary].join('\n');
}

export function classifyCommand(program: Command): void {
  program
    .command('classify')
    .description(
      'detect sensitive columns (ID numbers, phones, names, …) in a CSV/XLSX/JSON/Parquet file and suggest grades; no database needed',
    )
    .argument('<file>', 'the file to scan')
    .option('--encoding <name>', 'utf-8, gb18030 or gbk (detected when absent)')
    .addOption(
      new Option('--format <format>', 'detected from the name and content when absent').choices([
        'csv',
        'xlsx',
        'json',
        'ndjson',
        'parquet',
      ]),
    )
    .option('--sheet <name-or-number>', 'XLSX sheet (the first when absent)')
    .option('--json', 'print {"columns":[{"name","type","grade","confidence","ratio"}]} on stdout')
    .action(
      async (
        file: string,
        opts: { encoding?: string; format?: TableFormat; sheet?: string; json?: boolean },
      ) => {
        let result: FileClassification;
        try {
          result = await classifyFile(file, {
            encoding: opts.encoding,
            format: opts.format,
            sheet:
              opts.sheet === undefined
                ? undefined
                : /^\d+$/.test(opts.sheet)
                  ? Number(opts.sheet)
                  : opts.sheet,
          });
        } catch (error) {
          if (error instanceof FileReadError) {
            throw new AppError(
              'FILE_REJECTED',
              { file, fileError: error.code, ...error.details },
              { zh: error.zh, en: error.en },
            );
          }
          if (
            error instanceof Error &&
            'code' in error &&
            typeof error.code === 'string' &&
            error.code.startsWith('E')
          ) {
            throw new AppError(
              'FILE_REJECTED',
              { file, reason: error.code },
              { zh: error.message, en: error.message },
            );
          }
          throw error;
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(contractColumns(result.results))}\n`);
        else process.stdout.write(`${formatTable(result)}\n`);
      },
    );
}
