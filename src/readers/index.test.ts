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
    ['data.csv', 'PK\u0003\u0004rest', 'xlsx'],
    ['data.bin', 'PAR1rest', 'parquet'],
  ])('%s %j → %s', (name, head, format) => {
    expect(detectFormat(name, Buffer.from(head))).toBe(format);
  });

  it.each([
    ['legacy.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0])],
    ['web.xls', Buffer.from('<html><table><tr><td>1</td></tr></table></html>')],
    ['fake.xlsx', Buffer.from('a,b\n')],
    ['report.pdf', Buffer.from('%PDF-1.7')],
  ])('refuses %s', (name, head) => {
    expect(() => detectFormat(name, head)).toThrowError(
      expect.objectContaining({ code: 'FILE_FORMAT_UNKNOWN' }),
    );
  });

  it('reads an XLSX renamed to .csv as XLSX, and honours an explicit format', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('s').addRows([
      ['a', 'b'],
      [1, 2],
    ]);
    const xlsxPath = `${dir.path}/real.xlsx`;
    await workbook.xlsx.writeFile(xlsxPath);
    const renamed = dir.file('renamed.csv', readFileSync(xlsxPath));
    expect((await readAll(renamed)).rows[0]!.values).toEqual([1, 2]);
    const misnamed = dir.file('misnamed.json', 'a,b\n1,2\n');
    expect((await readAll(misnamed, { format: 'csv' })).rows[0]!.values).toEqual(['1', '2']);
    expect(
      (await readError(dir.file('legacy.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))))
        .code,
    ).toBe('FILE_FORMAT_UNKNOWN');
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
