/**
 * Hostile files: each must end in a clear FileReadError (or a row problem), never a crash, a hang or
 * unbounded memory.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildZip,
  makeTempDir,
  readAll,
  readError,
  rssMiB,
  workbookParts,
} from '../../test/support/readers.ts';
import { openTable } from './index.ts';

const dir = makeTempDir();
afterAll(() => dir.remove());

/** Writes `head`, then `repeat` copies of `chunk`, then `tail`, without holding the file in memory. */
function writeLarge(name: string, head: string, chunk: string, repeat: number, tail: string): string {
  const path = `${dir.path}/${name}`;
  const fd = openSync(path, 'w');
  const piece = Buffer.from(chunk);
  writeSync(fd, head);
  for (let i = 0; i < repeat; i++) writeSync(fd, piece);
  writeSync(fd, tail);
  closeSync(fd);
  return path;
}

/** Reads the file to its error while sampling RSS; returns the error and the peak RSS growth in MiB. */
async function errorWithMemory(path: string) {
  const before = rssMiB();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB());
  }, 2);
  try {
    const error = await readError(path);
    peak = Math.max(peak, rssMiB());
    return { error, growth: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

const MiB = 1024 * 1024;

describe('hostile CSV', () => {
  it('unbalanced quote: names the line where the quote opened', async () => {
    const error = await readError(dir.file('unbalanced.csv', 'a,b\n1,2\n3,"oops\n4,5\n6,7\n'));
    expect(error.code).toBe('FILE_UNBALANCED_QUOTE');
    expect(error.details.line).toBe(3);
    expect(error.zh).toContain('第 3 行');
  });

  it('unbalanced quote early in a large file: stops at the field limit, not at the end of the file', async () => {
    const path = writeLarge('unbalanced-big.csv', 'a,b\n1,"never closed\n', '2,3\n'.repeat(16384), 200, '');
    const { error, growth } = await errorWithMemory(path);
    expect(error.code).toBe('FILE_UNBALANCED_QUOTE');
    expect(error.details.line).toBe(2);
    expect(growth).toBeLessThan(100);
  });

  it('a 50 MB single field: FILE_FIELD_TOO_LARGE with memory bounded near the limit', async () => {
    const mb = 'x'.repeat(MiB);
    for (const [name, head, tail] of [
      ['field-quoted.csv', 'a,b\n1,"', '"\n'],
      ['field-unquoted.csv', 'a,b\n1,', '\n'],
    ] as const) {
      const path = writeLarge(name, head, mb, 50, tail);
      const { error, growth } = await errorWithMemory(path);
      expect(error.code).toBe('FILE_FIELD_TOO_LARGE');
      expect(error.details).toMatchObject({ line: 2, column: 2 });
      expect(growth).toBeLessThan(100);
    }
  });

  it('a 200 MB line of delimiters: FILE_RECORD_TOO_LARGE without building a huge array', async () => {
    const path = writeLarge('commas.csv', 'a,b\n', ','.repeat(MiB), 40, '\n');
    const { error, growth } = await errorWithMemory(path);
    expect(error.code).toBe('FILE_RECORD_TOO_LARGE');
    expect(growth).toBeLessThan(100);
  });

  it('mixed UTF-8/GBK lines: FILE_ENCODING_MIXED naming the line, in both directions', async () => {
    const utf8First = Buffer.concat([
      Buffer.from('姓名,区\n张三,西湖区\n'),
      iconv.encode('李四,上城区\n', 'gbk'),
      Buffer.from('王五,滨江区\n'),
    ]);
    const gbkFirst = Buffer.concat([
      iconv.encode('姓名,区\n张三,西湖区\n李四,上城区\n', 'gbk'),
      Buffer.from('王五,滨江区\n'),
    ]);
    const a = await readError(dir.file('mixed-utf8-first.csv', utf8First));
    expect([a.code, a.details.line]).toEqual(['FILE_ENCODING_MIXED', 3]);
    const b = await readError(dir.file('mixed-gbk-first.csv', gbkFirst));
    expect([b.code, b.details.line]).toEqual(['FILE_ENCODING_MIXED', 4]);
  });

  it('NUL bytes: a row problem for stray ones, FILE_BINARY for a binary file', async () => {
    const result = await readAll(dir.file('nul.csv', 'a,b\n1,x\0y\n2,z\n'));
    expect(result.rows.map((row) => row.problem?.code ?? null)).toEqual(['ROW_NUL_BYTE', null]);
    const binary = Buffer.alloc(8192, 0);
    binary.write('a,b\n', 0);
    for (let i = 10; i < binary.length; i += 5) binary[i] = 0x41;
    expect((await readError(dir.file('binary.csv', binary))).code).toBe('FILE_BINARY');
  });

  it('10,000 columns: FILE_TOO_MANY_COLUMNS in every format', async () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `c${i}`);
    const csv = await readError(
      dir.file('wide.csv', `${names.join(',')}\n${names.map(() => '1').join(',')}\n`),
    );
    expect(csv.code).toBe('FILE_TOO_MANY_COLUMNS');
    expect(csv.details).toMatchObject({ line: 1, count: 10_000, limit: 1000 });

    const json = await readError(
      dir.file('wide.json', JSON.stringify([Object.fromEntries(names.map((n) => [n, 1]))])),
    );
    expect(json.code).toBe('FILE_TOO_MANY_COLUMNS');

    const cells = names
      .map((name, i) => `<c r="${columnName(i)}1" t="inlineStr"><is><t>${name}</t></is></c>`)
      .join('');
    const xlsx = await readError(dir.file('wide.xlsx', buildZip(workbookParts(`<row r="1">${cells}</row>`))));
    expect(xlsx.code).toBe('FILE_TOO_MANY_COLUMNS');
  });

  it('formula-injection cells are kept as plain text values', async () => {
    const values = ['=cmd|" /C calc"!A0', '+SUM(1,2)', '-2+3', '@SUM(A1)', '\t=1', '\r=1'];
    const csvText = `a,b,c,d,e,f\n${values.map((v) => `"${v.replace(/"/g, '""')}"`).join(',')}\n`;
    expect((await readAll(dir.file('formula.csv', csvText))).rows[0]!.values).toEqual(values);
    const json = await readAll(
      dir.file('formula.json', JSON.stringify([Object.fromEntries(values.map((v, i) => [`k${i}`, v]))])),
    );
    expect(json.rows[0]!.values).toEqual(values);
  });
});

function columnName(index: number): string {
  let name = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26))
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

describe('hostile XLSX', () => {
  const padding = ' '.repeat(64 * MiB);

  it('zip bomb with honest sizes: refused before inflating', async () => {
    const parts = workbookParts(`<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>${padding}`);
    const { error, growth } = await errorWithMemory(dir.file('bomb.xlsx', buildZip(parts)));
    expect(error.code).toBe('FILE_XLSX_BOMB');
    expect(growth).toBeLessThan(100);
  });

  it('zip bomb with a lying directory: stopped while inflating', async () => {
    const parts = workbookParts(`<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>${padding}`);
    const sheet = parts.find((part) => part.name === 'xl/worksheets/sheet1.xml')!;
    sheet.declaredSize = 1000;
    const { error, growth } = await errorWithMemory(dir.file('bomb-lying.xlsx', buildZip(parts)));
    expect(error.code).toBe('FILE_XLSX_BOMB');
    expect(error.details.part).toBe('xl/worksheets/sheet1.xml');
    expect(growth).toBeLessThan(100);
  });

  it('zip bomb within the declared sizes: stopped by the ratio and total limits', async () => {
    const parts = workbookParts(`<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>${padding}`);
    const path = dir.file('bomb-total.xlsx', buildZip(parts));
    const error = await readError(path, {
      limits: { maxXlsxCompressionRatio: 1e9, maxXlsxUncompressedBytes: 16 * MiB },
    });
    expect(error.code).toBe('FILE_XLSX_BOMB');
  });

  it('an oversized shared-string table and a DTD are refused', async () => {
    const strings = Array.from({ length: 2000 }, (_, i) => `字符串${i}`);
    const big = await readError(dir.file('sst.xlsx', buildZip(workbookParts('', strings))), {
      limits: { maxSharedStringsChars: 10_000 },
    });
    expect(big.code).toBe('FILE_PART_TOO_LARGE');
    const parts = workbookParts('');
    parts[2]!.content = `<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]>${parts[2]!.content}`;
    expect((await readError(dir.file('dtd.xlsx', buildZip(parts)))).code).toBe('FILE_XLSX_CORRUPT');
  });

  it('formula cells are not evaluated', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('s');
    sheet.addRow(['a', 'b']);
    sheet.addRow([{ formula: 'HYPERLINK("http://evil","x")', result: 'x' }, '=cmd|" /C calc"!A0']);
    const path = `${dir.path}/formula.xlsx`;
    await workbook.xlsx.writeFile(path);
    expect((await readAll(path)).rows[0]!.values).toEqual(['x', '=cmd|" /C calc"!A0']);
  });
});

describe('hostile JSON', () => {
  it('deeply nested JSON: FILE_JSON_TOO_DEEP without recursion', async () => {
    const deep = '['.repeat(1_000_000);
    const error = await readError(dir.file('deep.json', deep));
    expect(error.code).toBe('FILE_JSON_TOO_DEEP');
    const inCell = await readError(dir.file('deep-cell.ndjson', `{"a":${'['.repeat(100_000)}`));
    expect(inCell.code).toBe('FILE_JSON_TOO_DEEP');
  });

  it('a 50 MB string: FILE_FIELD_TOO_LARGE with bounded memory', async () => {
    const path = writeLarge('big-string.json', '[{"a":"', 'y'.repeat(MiB), 50, '"}]');
    const { error, growth } = await errorWithMemory(path);
    expect(error.code).toBe('FILE_FIELD_TOO_LARGE');
    expect(growth).toBeLessThan(100);
  });
});

describe('resource release', () => {
  it('closes the file when the consumer stops early', async () => {
    const table = await openTable(dir.file('early.csv', `a\n${'1\n'.repeat(10_000)}`));
    for await (const _row of table.rows) break;
    await table.close();
    expect(table.progress().rows).toBe(1);
  });
});
