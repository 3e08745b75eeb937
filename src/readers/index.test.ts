import { readFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, readAll, readError } from '../../test/support/readers.ts';
import { rowProblem } from './errors.ts';
import { BadRowReport, detectFormat } from './index.ts';

const dir = makeTempDir();
afterAll(() => dir.remove());

describe('detectFormat', () => {
  it.each([
    ['a.csv', 'a,b\n', 'csv'],
    ['a.TSV', 'a\tb\n', 'csv'],
    ['a.json', '[{"a":1}]', 'json'],
    ['a.jsonl', '{"a":1}\n', 'ndjson'],
    ['export.dat', '  [1]', 'json'],
    ['export.dat', '\uFEFF{"a":1}', 'ndjson'],
    ['export.dat', 'a;b\n', 'csv'],
    ['tab-text-named.xls', 'a\tb\n1\t2\n', 'csv'],
    ['data.bin', 'PAR1rest', 'parquet'],
  ])('%s %j → %s', (name, head, format) => {
    expect(detectFormat(name, Buffer.from(head))).toBe(format);
  });

  it.each([
    ['legacy.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0])],
    ['web.xls', Buffer.from('<html><table><tr><td>1</td></tr></table></html>')],
    ['report.pdf', Buffer.from('%PDF-1.7')],
  ])('refuses %s', (name, head) => {
    expect(() => detectFormat(name, head)).toThrowError(
      expect.objectContaining({ code: 'FILE_FORMAT_UNKNOWN' }),
    );
  });

  it('the name decides the format; content plainly of another format is a mismatch naming both', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('s').addRows([
      ['a', 'b'],
      [1, 2],
    ]);
    const xlsxPath = `${dir.path}/real.xlsx`;
    await workbook.xlsx.writeFile(xlsxPath);
    const renamed = dir.file('renamed.csv', readFileSync(xlsxPath));
    const error = await readError(renamed);
    expect(error.code).toBe('FILE_FORMAT_MISMATCH');
    expect(error.en).toContain('".csv" says CSV/TSV but the content is XLSX');
    expect(error.zh).toContain('".csv" 表示 CSV/TSV，但内容是 XLSX');
    // An explicit format decides over the name.
    const misnamed = dir.file('misnamed.json', 'a,b\n1,2\n');
    expect((await readAll(misnamed, { format: 'csv' })).rows[0]!.values).toEqual(['1', '2']);
    expect(
      (await readError(dir.file('legacy.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))))
        .code,
    ).toBe('FILE_FORMAT_UNKNOWN');
  });

  it("a temporary path with the user's file name: the name, not the content, decides (issue #16, kind 6)", async () => {
    const tmp = (content: string) => dir.file(`upload-${Math.random().toString(36).slice(2)}`, content);
    // CSV text named .xlsx or .parquet is refused, naming both.
    for (const name of ['data.xlsx', 'data.parquet']) {
      const error = await readError(tmp('a,b\n1,2\n'), { name });
      expect(error.code).toBe('FILE_FORMAT_MISMATCH');
      expect(error.en).toMatch(/says (XLSX|Parquet) but the content is text/);
    }
    // NDJSON of arrays named .ndjson is NDJSON (an array per line, the first is the header).
    const ndjson = await readAll(tmp('["a","b"]\n[1,2]\n[3,4]\n'), { name: 'rows.ndjson' });
    expect(ndjson.header).toEqual(['a', 'b']);
    expect(ndjson.rows.map((r) => r.values)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    // A .tsv whose values contain commas is read with a tab.
    const tsv = await readAll(tmp('a\tb\n1,5\t2,5\n3,1\t4,2\n'), { name: 'x.tsv' });
    expect(tsv.delimiter).toBe('\t');
    expect(tsv.rows[0]!.values).toEqual(['1,5', '2,5']);
    // A bare JSON string named .json is not a CSV.
    const bare = await readError(tmp('"just a string"'), { name: 'x.json' });
    expect(bare.code).toBe('FILE_FORMAT_MISMATCH');
    expect(bare.en).toContain('".json" says JSON');
    // XLSX bytes named .xlsx are read as XLSX; a .txt of XLSX bytes is a mismatch.
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('s').addRows([['a'], [1]]);
    const bytes = Buffer.from(await workbook.xlsx.writeBuffer());
    const path = dir.file('upload-xlsx', bytes);
    expect((await readAll(path, { name: 'book.xlsx' })).rows[0]!.values).toEqual([1]);
    expect((await readError(path, { name: 'book.txt' })).code).toBe('FILE_FORMAT_MISMATCH');
  });
});

describe('BadRowReport', () => {
  it('keeps the first rows and counts all', () => {
    const report = new BadRowReport(2);
    for (let line = 2; line < 10; line++) report.add(line, rowProblem('ROW_FIELD_COUNT', undefined, 1));
    expect(report.count).toBe(8);
    expect(report.rows.map((row) => row.line)).toEqual([2, 3]);
    expect(report.rows[0]).toMatchObject({ code: 'ROW_FIELD_COUNT', column: 1 });
  });
});
