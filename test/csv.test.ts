import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSV_BOM, csvCell, csvRow } from '../src/core/csv.ts';
import { parseCsv } from './support/csv-parse.ts';

const FORMULA = /^[\s\u3000\u00a0\ufeff]*[=+\-@＝＋－＠]|^[\t\r\n]/u;
const cellText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({
    unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', '"', ',', ' ', '中', '＝', 'a', "'"),
  }),
);

describe('CSV encoding (src/core/csv.ts)', () => {
  it('round-trips any cell, guarded with a leading quote exactly when it starts like a formula (property)', () => {
    fc.assert(
      fc.property(cellText, (text) => {
        const [[back]] = parseCsv(csvRow([text, 'x'])).map((r) => [r[0]]) as [[string]];
        const guarded = FORMULA.test(text);
        expect(back).toBe(guarded ? `'${text}` : text);
        // What a spreadsheet reads never starts with a formula character unguarded.
        expect(FORMULA.test(back)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips whole rows', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 6 }), (cells) => {
        const back = parseCsv(cells.map((c) => csvRow([c])).join('') + csvRow(cells));
        expect(back.at(-1)!.length).toBe(cells.length);
      }),
    );
  });

  it('guards the formula starts a spreadsheet acts on, and leaves plain text alone', () => {
    for (const text of ['=1+2', '+1', '-1', '@SUM(A1)', '\tx', '\rx', ' =1', '＝1']) {
      expect(csvCell(text), JSON.stringify(text)).toMatch(/^"?'/);
    }
    expect(csvCell('备注，"引号"')).toBe('"备注，""引号"""');
    expect(csvCell(null)).toBe('');
    expect(CSV_BOM).toBe('\ufeff');
  });
});
