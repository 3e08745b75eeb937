import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCsv, neutralizeCell } from '../web/src/lib/csv.ts';
import { parseCsv } from './support/csv-parse.ts';

describe('console CSV export', () => {
  it('starts with a UTF-8 byte order mark and keeps Chinese as it is', () => {
    const csv = buildCsv([
      ['名称', '状态'],
      ['门诊就诊人次', '已发布'],
    ]);
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(csv.slice(1)).toBe('名称,状态\r\n门诊就诊人次,已发布\r\n');
    expect(Buffer.from(csv, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });

  it('quotes commas, quotes and line breaks', () => {
    expect(buildCsv([['a,b', 'say "hi"', 'two\nlines', 'cr\r']]).slice(1)).toBe(
      '"a,b","say ""hi""","two\nlines","cr\r"\r\n',
    );
  });

  it('puts an apostrophe before cells a spreadsheet would run as formulas', () => {
    expect(buildCsv([['=SUM(A1)', '+1', '-2', '@cmd', 'a=b', '']]).slice(1)).toBe(
      "'=SUM(A1),'+1,'-2,'@cmd,a=b,\r\n",
    );
    expect(buildCsv([['=HYPERLINK("x","y")']]).slice(1)).toBe('"\'=HYPERLINK(""x"",""y"")"\r\n');
  });

  it('reads back cell for cell with an RFC 4180 parser', () => {
    const cell = fc.oneof(
      fc.string(),
      fc.string({
        unit: fc.constantFrom('a', '数', '据', ',', '"', '\r', '\n', '=', '+', '-', '@', ' ', "'"),
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 1, maxLength: 6 }), { maxLength: 8 }), (rows) => {
        const csv = buildCsv(rows);
        expect(csv.startsWith('\uFEFF')).toBe(true);
        expect(rows.length === 0 || csv.endsWith('\r\n')).toBe(true);
        expect(parseCsv(csv.slice(1))).toEqual(rows.map((row) => row.map(neutralizeCell)));
      }),
    );
  });
});
