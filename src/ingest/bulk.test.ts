import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DataType } from '../core/tables.ts';
import { CanonicalCsvCheck } from './bulk.ts';

const TYPES: DataType[] = ['text', 'integer', 'decimal', 'boolean', 'date', 'timestamp'];
const HEADER = 'a,b,c,d,e,f\n';

function check(text: string, types: DataType[] = TYPES, splits: number[] = []) {
  const bytes = Buffer.from(text);
  const c = new CanonicalCsvCheck(types, ',');
  let from = 0;
  let ok = true;
  for (const at of [...splits.filter((s) => s > 0 && s < bytes.length).sort((x, y) => x - y), bytes.length]) {
    ok = c.feed(bytes.subarray(from, at)) && ok;
    from = at;
  }
  ok = c.end() && ok;
  return { ok, rows: c.rows, reason: c.reason };
}

describe('CanonicalCsvCheck', () => {
  it('takes the plain forms of every type, empty (null) values, quoted text with delimiters and line breaks', () => {
    const body = [
      '张三,5,1.50,true,2024-01-02,2024-01-02 08:00:00',
      '"说""明,\n两行",-12,-0.25,f,2024-02-29,2024-02-29T23:59:59',
      ',,,,,',
      '"",007,10,1,1999-12-31,1999-12-31',
    ].join('\n');
    expect(check(`${HEADER}${body}\n`)).toEqual({ ok: true, rows: 4, reason: null });
    // No line break at the end, or CRLF throughout: the same rows.
    expect(check(`${HEADER}${body}`).rows).toBe(4);
    expect(check(`${HEADER}${body}\n`.replaceAll('\n', '\r\n'))).toMatchObject({ ok: true });
  });

  it.each([
    ['+5', 'integer'],
    [' 5', 'integer'],
    ['5.0', 'integer'],
    ['1234567890123456789', 'integer (could overflow)'],
    ['.5', 'decimal'],
    ['1e3', 'decimal'],
    ['1.', 'decimal'],
    ['是', 'boolean'],
    ['yes', 'boolean'],
    ['2024/1/2', 'date'],
    ['2024-13-01', 'date'],
    ['2024-01-02 24:00:00', 'timestamp'],
    ['2024-01-02 08:00:00+08:00', 'timestamp with a zone'],
    ['null', 'a null word'],
  ])('leaves %s (%s) to the row path', (value, what) => {
    const column = ['integer', 'decimal', 'boolean', 'date', 'timestamp'].findIndex((t) =>
      what.startsWith(t),
    );
    const cells = ['x', '1', '1', 't', '2024-01-01', '2024-01-01'];
    cells[column < 0 ? 1 : column + 1] = value;
    const result = check(`${HEADER}${cells.join(',')}\n`);
    expect(result.ok).toBe(false);
    expect(result.reason).toContain('record 1');
  });

  it.each([
    ['a quote inside an unquoted field', 'x"y,1,1,t,2024-01-01,2024-01-01\n'],
    ['text after a closing quote', '"x"y,1,1,t,2024-01-01,2024-01-01\n'],
    ['a quoted typed value', 'x,"1",1,t,2024-01-01,2024-01-01\n'],
    ['a blank line', '\nx,1,1,t,2024-01-01,2024-01-01\n'],
    ['a short record', 'x,1\n'],
    ['a long record', 'x,1,1,t,2024-01-01,2024-01-01,extra\n'],
    ['a lone carriage return', 'x,1,1,t,2024-01-01,2024-01-01\rx,1,1,t,2024-01-01,2024-01-01\r'],
    ['line endings that change', 'x,1,1,t,2024-01-01,2024-01-01\r\nx,1,1,t,2024-01-01,2024-01-01\n'],
    ['a quote never closed', '"x,1,1,t,2024-01-01,2024-01-01\n'],
  ])('refuses %s', (_what, body) => {
    expect(check(`${HEADER}${body}`).ok).toBe(false);
  });

  it('refuses a header of another width (trailing empty names are dropped by the readers)', () => {
    expect(check('a,b,c,d,e,f,\nx,1,1,t,2024-01-01,2024-01-01,\n').ok).toBe(false);
  });

  it('gives the same verdict and row count however the bytes are split into chunks', () => {
    const cell = fc.constantFrom(
      '',
      'x',
      '张三',
      '"a,b"',
      '"两\r\n行"',
      '"说""明"',
      '5',
      '-1.5',
      't',
      '2024-01-02',
      'x"y',
      '+5',
    );
    const line = fc.array(cell, { minLength: 5, maxLength: 7 }).map((cells) => cells.join(','));
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(400), { maxLength: 12 }),
        (lines, eol, splits) => {
          const text = HEADER.replace('\n', eol) + lines.map((l) => l + eol).join('');
          const whole = check(text);
          const split = check(text, TYPES, splits);
          expect(split.ok).toBe(whole.ok);
          if (whole.ok) expect(split.rows).toBe(whole.rows);
        },
      ),
      { numRuns: 300 },
    );
  });
});
