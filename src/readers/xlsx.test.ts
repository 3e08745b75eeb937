import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildZip, makeTempDir, readAll, readError, workbookParts } from '../../test/support/readers.ts';
import { classifyNumberFormat, excelSerialToText } from './xlsx.ts';

const dir = makeTempDir();
afterAll(() => dir.remove());

async function writeWorkbook(name: string, build: (workbook: ExcelJS.Workbook) => void): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  build(workbook);
  const path = `${dir.path}/${name}`;
  await workbook.xlsx.writeFile(path);
  return path;
}

describe('XLSX', () => {
  it('reads the first sheet with typed cells, dates, formulas and a title row', async () => {
    const path = await writeWorkbook('typed.xlsx', (workbook) => {
      const sheet = workbook.addWorksheet('缴费明细');
      sheet.addRow(['2023年城镇职工社会保险缴费明细']);
      sheet.mergeCells('A1:F1');
      sheet.addRow(['姓名', '所在区', '金额', '缴费日期', '已核验', '合计']);
      sheet.addRow([
        '张三',
        '西湖区',
        1200.5,
        new Date(Date.UTC(2024, 2, 1)),
        true,
        { formula: 'C3*2', result: 2401 },
      ]);
      sheet.addRow(['李四', null, 980, new Date(Date.UTC(2024, 11, 31, 8, 30)), false, { formula: 'C4*2' }]);
      sheet.addRow(['=1+1', '@SUM(A1)', '-3', null, null, null]);
      sheet.getColumn(4).numFmt = 'yyyy-mm-dd';
      sheet.getCell('D4').numFmt = 'yyyy-mm-dd hh:mm';
      workbook.addWorksheet('其他').addRow(['x']);
    });
    const result = await readAll(path);
    expect(result.title).toBe('2023年城镇职工社会保险缴费明细');
    expect(result.header).toEqual(['姓名', '所在区', '金额', '缴费日期', '已核验', '合计']);
    expect(result.rows).toEqual([
      { line: 3, values: ['张三', '西湖区', 1200.5, '2024-03-01', true, 2401] },
      { line: 4, values: ['李四', null, 980, '2024-12-31 08:30:00', false, '=C4*2'] },
      // Text that looks like a formula is data.
      { line: 5, values: ['=1+1', '@SUM(A1)', '-3', null, null, null] },
    ]);
  });

  it('reads a named sheet, and reports a missing one with the available names', async () => {
    const path = await writeWorkbook('named.xlsx', (workbook) => {
      workbook.addWorksheet('说明').addRow(['本文件说明']);
      const data = workbook.addWorksheet('数据');
      data.addRow(['区划代码', '名称']);
      data.addRow(['330106', '西湖区']);
      data.addRow([{ richText: [{ text: '上' }, { text: '城区', font: { bold: true } }] }, '上城区']);
    });
    const result = await readAll(path, { sheet: '数据' });
    expect(result.header).toEqual(['区划代码', '名称']);
    expect(result.rows.map((row) => row.values)).toEqual([
      ['330106', '西湖区'],
      ['上城区', '上城区'],
    ]);
    const error = await readError(path, { sheet: '不存在' });
    expect(error.code).toBe('FILE_XLSX_SHEET_NOT_FOUND');
    expect(error.details.available).toEqual(['说明', '数据']);
    expect((await readAll(path, { sheet: 2 })).header).toEqual(['区划代码', '名称']);
  });

  it('reads hand-written SpreadsheetML: inline strings, escapes, phonetic runs, sparse cells', async () => {
    const sheetData = [
      '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="C1" t="inlineStr"><is><t>c</t></is></c></row>',
      '<row r="3"><c r="A3" t="s"><v>0</v></c><c r="C3" t="e"><v>#N/A</v></c></row>',
      '<row r="4"><c r="A4" t="inlineStr"><is><r><t>张</t></r><r><t>三</t></r><rPh><t>zhang</t></rPh></is></c><c r="B4" t="str"><f>A4</f><v>line1_x000D_&#10;line2 &amp; &lt;x&gt;</v></c></row>',
      '<row r="5"><c r="A5" t="inlineStr"><is><t>a_x0000_b</t></is></c><c r="B5"><v></v></c><c r="C5"><v>7</v></c></row>',
    ].join('');
    const path = dir.file('hand.xlsx', buildZip(workbookParts(sheetData, ['西湖区'])));
    const result = await readAll(path);
    expect(result.header).toEqual(['a', '', 'c']);
    expect(result.rows).toEqual([
      { line: 3, values: ['西湖区', null, null] },
      { line: 4, values: ['张三', 'line1\r\nline2 & <x>', null] },
      {
        line: 5,
        values: ['a\0b', null, 7],
        problem: expect.objectContaining({ code: 'ROW_NUL_BYTE', column: 0 }),
      },
    ]);
  });

  it('classifies number formats and converts serial dates', () => {
    expect(classifyNumberFormat('yyyy"年"m"月"d"日"')).toBe('date');
    expect(classifyNumberFormat('[$-804]yyyy/m/d h:mm')).toBe('datetime');
    expect(classifyNumberFormat('[h]:mm:ss')).toBe('time');
    expect(classifyNumberFormat('#,##0.00"元"')).toBeNull();
    expect(classifyNumberFormat('0.00E+00')).toBeNull();
    expect(excelSerialToText(45352, 'date', false)).toBe('2024-03-01');
    expect(excelSerialToText(45352.75, 'datetime', false)).toBe('2024-03-01 18:00:00');
    expect(excelSerialToText(1, 'date', false)).toBe('1900-01-01');
    expect(excelSerialToText(0, 'date', true)).toBe('1904-01-01');
    expect(excelSerialToText(0.5, 'time', false)).toBe('12:00:00');
  });

  it('reports a zip that is not a workbook', async () => {
    const path = dir.file(
      'not-a-workbook.xlsx',
      buildZip([{ name: 'word/document.xml', content: '<w:document/>' }]),
    );
    expect((await readError(path)).code).toBe('FILE_XLSX_CORRUPT');
  });
});
