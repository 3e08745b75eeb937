import fc from 'fast-check';
import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, readAll, readError } from '../../test/support/readers.ts';
import { CsvRecordParser, detectDelimiter } from './csv.ts';
import { DEFAULT_LIMITS, type RawRecord } from './types.ts';

const dir = makeTempDir();
afterAll(() => dir.remove());

/** Parses text fed in pieces of `size` characters. */
function parse(text: string, size = text.length || 1, delimiter = ','): RawRecord[] {
  const parser = new CsvRecordParser(delimiter, DEFAULT_LIMITS);
  const out: RawRecord[] = [];
  for (let at = 0; at < text.length; at += size) parser.feed(text.slice(at, at + size), out);
  parser.finish(out);
  return out;
}

function quoteField(value: string): string {
  return value === '' || /[",\r\n]/.test(value) || value.trim() !== value
    ? `"${value.replace(/"/g, '""')}"`
    : value;
}

describe('CsvRecordParser', () => {
  it('handles quotes, doubled quotes and embedded newlines, reporting the first line of each record', () => {
    const text = 'a,b\r\n"x, y","he said ""hi"""\r\n"multi\nline\r\nvalue",2\n3,4';
    for (const size of [1, 2, 3, 1000]) {
      expect(parse(text, size)).toEqual([
        { line: 1, values: ['a', 'b'] },
        { line: 2, values: ['x, y', 'he said "hi"'] },
        { line: 3, values: ['multi\nline\r\nvalue', '2'] },
        { line: 6, values: ['3', '4'] },
      ]);
    }
  });

  it('distinguishes an empty field (null) from an empty quoted string', () => {
    expect(parse('a,,""\n')[0]!.values).toEqual(['a', null, '']);
    expect(parse('a,b,\n')[0]!.values).toEqual(['a', 'b', null]);
  });

  it('accepts LF, CRLF and lone CR line ends and skips blank lines', () => {
    expect(parse('a\rb\r\rc\r\n\nd').map((r) => [r.line, r.values[0]])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [4, 'c'],
      [6, 'd'],
    ]);
  });

  it('keeps formula-like values exactly as text', () => {
    const values = ['=SUM(A1:A3)', '+86 138', '-1+2', '@cmd', '\t=1', '=HYPERLINK("x")'];
    const line = values.map(quoteField).join(',');
    expect(parse(`${line}\n`)[0]!.values).toEqual(values);
  });

  it('keeps a stray quote inside an unquoted field and flags text after a closing quote', () => {
    expect(parse('24" monitor,ok\n')[0]).toEqual({ line: 1, values: ['24" monitor', 'ok'] });
    const [row] = parse('"abc"def,x\n');
    expect(row!.values).toEqual(['abcdef', 'x']);
    expect(row!.problem?.code).toBe('ROW_BAD_QUOTE');
  });

  it('flags NUL bytes as a row problem', () => {
    const rows = parse('a,b\n1,x\u0000y\n2,z\n');
    expect(rows[1]!.problem).toMatchObject({ code: 'ROW_NUL_BYTE', column: 1 });
    expect(rows[2]!.problem).toBeUndefined();
  });

  it('caps the values kept for an absurdly wide record', () => {
    const parser = new CsvRecordParser(',', { ...DEFAULT_LIMITS, maxColumns: 5 });
    const out: RawRecord[] = [];
    parser.feed(`${','.repeat(100_000)}\n`, out);
    expect(out[0]!.values).toHaveLength(6);
    expect(out[0]!.fieldCount).toBe(100_001);
  });

  it('reads back any table written as CSV (property)', () => {
    const cell = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.constantFrom(
        '',
        ',',
        '"',
        '""',
        '\n',
        '\r\n',
        '\r',
        ' lead',
        'trail ',
        '张三',
        '西湖区,上城区',
        '="1"',
        'a"b',
      ),
      fc
        .array(fc.constantFrom('a', ',', '"', '\n', '\r', '城', ' ', '\t'), { maxLength: 8 })
        .map((parts) => parts.join('')),
    );
    const table = fc
      .integer({ min: 1, max: 5 })
      .chain((width) =>
        fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 8 }),
      );
    fc.assert(
      fc.property(
        table,
        fc.integer({ min: 1, max: 17 }),
        fc.constantFrom('\n', '\r\n'),
        (rows, size, eol) => {
          // A record of one empty field is indistinguishable from a blank line unless quoted, which quoteField does.
          const text = rows.map((row) => row.map(quoteField).join(',')).join(eol) + eol;
          const parsed = parse(text, size);
          expect(parsed.map((record) => record.values)).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('CSV round trip through openTable (property)', () => {
  it('reads back any table of strings, including GBK-encoded ones', async () => {
    const cell = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.constantFrom(
        ',',
        '"',
        '\n',
        '\r\n',
        '张三',
        '城镇职工社会保险缴费明细',
        '西湖区,"上城区"',
        '=1+2',
        '001234',
      ),
    );
    const table = fc
      .integer({ min: 1, max: 4 })
      .chain((width) =>
        fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 6 }),
      );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(table, fc.boolean(), async (rows, asGbk) => {
        const header = rows[0]!.map((_, i) => `列${i + 1}`);
        // Blank rows are skipped by design; GBK cannot hold every character.
        const data = rows.filter((row) => row.some((value) => value.trim() !== ''));
        const text = [header, ...data].map((row) => row.map(quoteField).join(',')).join('\r\n');
        const encodable = iconv.decode(iconv.encode(text, 'gb18030'), 'gb18030') === text;
        const bytes = asGbk && encodable ? iconv.encode(text, 'gb18030') : Buffer.from(text, 'utf8');
        const result = await readAll(dir.file(`prop-${run++}.csv`, bytes), { delimiter: ',' });
        expect(result.header).toEqual(header);
        expect(result.rows.map((row) => row.values)).toEqual(data);
      }),
      { numRuns: 120 },
    );
  });
});

describe('detectDelimiter', () => {
  it.each([
    ['a,b,c\n1,2,3\n', ','],
    ['a;b;c\n1;2,5;3\n4;5,5;6\n', ';'],
    ['a\tb\tc\n1\t2,3\t4\n', '\t'],
    ['a|b|c\n1|2|3\n', '|'],
    ['"x;y",b\n"1;2",3\n', ','],
    ['just one column\nvalue\n', ','],
  ])('%j → %j', (sample, expected) => {
    expect(detectDelimiter(sample)).toBe(expected);
  });
});

describe('CSV through openTable', () => {
  it('reads TSV by extension and semicolon CSV by detection', async () => {
    const tsv = await readAll(dir.file('a.tsv', 'name\tcity\n张三\t杭州, 西湖区\n'));
    expect(tsv.delimiter).toBe('\t');
    expect(tsv.rows[0]!.values).toEqual(['张三', '杭州, 西湖区']);
    const semi = await readAll(dir.file('b.csv', 'name;amount\nA;1,5\nB;2,25\n'));
    expect(semi.delimiter).toBe(';');
    expect(semi.rows.map((row) => row.values)).toEqual([
      ['A', '1,5'],
      ['B', '2,25'],
    ]);
  });

  it('skips a title row above the header and honours headerRow', async () => {
    const bytes = iconv.encode('2023年城镇职工社会保险缴费明细,,\n姓名,区,金额\n张三,西湖区,100\n', 'gbk');
    const auto = await readAll(dir.file('title.csv', bytes));
    expect(auto.title).toBe('2023年城镇职工社会保险缴费明细');
    expect(auto.header).toEqual(['姓名', '区', '金额']);
    expect(auto.rows).toEqual([{ line: 3, values: ['张三', '西湖区', '100'] }]);
    const explicit = await readAll(dir.file('title2.csv', bytes), { headerRow: 2 });
    expect(explicit.header).toEqual(['姓名', '区', '金额']);
  });

  it('reports rows with the wrong number of fields and tolerates trailing empty columns', async () => {
    const result = await readAll(dir.file('widths.csv', 'a,b,c,,\n1,2,3,,\n4,5\n6,7,8,9\n10,11,12\n'));
    expect(result.header).toEqual(['a', 'b', 'c']);
    expect(result.rows.map((row) => [row.line, row.values.length, row.problem?.code ?? null])).toEqual([
      [2, 3, null],
      [3, 2, 'ROW_FIELD_COUNT'],
      [4, 4, 'ROW_FIELD_COUNT'],
      [5, 3, null],
    ]);
  });

  it('reports progress', async () => {
    const path = dir.file('progress.csv', `a,b\n${'1,2\n'.repeat(1000)}`);
    const { openTable } = await import('./index.ts');
    const table = await openTable(path);
    expect(table.progress().rows).toBe(0);
    let count = 0;
    for await (const _row of table.rows) count++;
    expect(count).toBe(1000);
    expect(table.progress()).toEqual({ rows: 1000, bytes: 4004, totalBytes: 4004, percent: 100 });
  });

  it('hands out batches for bulk inserts', async () => {
    const { openTable } = await import('./index.ts');
    const table = await openTable(dir.file('batches.csv', `a,b\n${'1,2\n'.repeat(100_000)}`));
    let rows = 0;
    let batches = 0;
    for await (const batch of table.batches) {
      batches++;
      rows += batch.length;
    }
    expect(rows).toBe(100_000);
    expect(batches).toBeGreaterThan(1);
    expect(table.progress().rows).toBe(100_000);
  });

  it('refuses an empty file and a file without header', async () => {
    expect((await readError(dir.file('empty.csv', ''))).code).toBe('FILE_EMPTY');
    expect((await readError(dir.file('blank.csv', '\n\n,,\n'))).code).toBe('FILE_EMPTY');
  });
});
