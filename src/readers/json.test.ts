import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, readAll, readError } from '../../test/support/readers.ts';
import { exactNumber, type JsonElement, JsonRowScanner } from './json.ts';
import { DEFAULT_LIMITS } from './types.ts';

const dir = makeTempDir();
afterAll(() => dir.remove());

function scan(text: string, mode: 'array' | 'lines', size = text.length || 1): JsonElement[] {
  const scanner = new JsonRowScanner(mode, DEFAULT_LIMITS);
  const out: JsonElement[] = [];
  for (let at = 0; at < text.length; at += size) scanner.feed(text.slice(at, at + size), out);
  scanner.finish(out);
  return out;
}

describe('JsonRowScanner', () => {
  const text = `[
  {"姓名": "张三", "年龄": 30, "在职": true, "备注": null, "地址": {"区": "西湖区", "tags": ["a", "b\\"]"]}},
  {"姓名": "李\\u56db\\n", "年龄": -1.5e3, "extra": [1, [2, {}]]}
]`;

  it('streams rows of a JSON array whatever the chunk boundaries', () => {
    for (const size of [1, 2, 7, 10_000]) {
      const rows = scan(text, 'array', size);
      expect(rows).toHaveLength(2);
      expect(rows[0]!.line).toBe(2);
      expect(rows[1]!.line).toBe(3);
      const first = rows[0]!.row;
      expect(first.kind === 'object' && Object.fromEntries(first.entries)).toEqual({
        姓名: '张三',
        年龄: 30,
        在职: true,
        备注: null,
        地址: '{"区": "西湖区", "tags": ["a", "b\\"]"]}',
      });
      const second = rows[1]!.row;
      expect(second.kind === 'object' && Object.fromEntries(second.entries)).toEqual({
        姓名: '李四\n',
        年龄: -1500,
        extra: '[1, [2, {}]]',
      });
    }
  });

  it('keeps numbers that a double cannot hold as their exact text', () => {
    expect(exactNumber('110101199001011234')).toBe('110101199001011234');
    expect(exactNumber('12345678901234567.25')).toBe('12345678901234567.25');
    expect(exactNumber('9007199254740991')).toBe(9007199254740991);
    expect(exactNumber('0.1')).toBe(0.1);
    expect(exactNumber('1e400')).toBe('1e400');
  });

  it('reports a broken NDJSON line as a row problem and carries on', () => {
    const rows = scan('{"a":1}\n{"a":2,,}\n\n{"a":3}\n', 'lines');
    expect(rows.map((row) => [row.line, row.row.kind, row.problem?.code ?? null])).toEqual([
      [1, 'object', null],
      [2, 'invalid', 'ROW_INVALID_JSON'],
      [4, 'object', null],
    ]);
  });

  it('rejects malformed JSON arrays with the line', () => {
    expect(() => scan('[\n{"a":1},\n{"a":2]\n]', 'array')).toThrowError(
      expect.objectContaining({ code: 'FILE_JSON_INVALID', details: expect.objectContaining({ line: 3 }) }),
    );
    expect(() => scan('[{"a":1}', 'array')).toThrowError(
      expect.objectContaining({ code: 'FILE_JSON_INVALID' }),
    );
    expect(() => scan('[1,]', 'array')).toThrowError(expect.objectContaining({ code: 'FILE_JSON_INVALID' }));
    expect(() => scan('[{"a":{"b":}}]', 'array')).toThrowError(
      expect.objectContaining({ code: 'FILE_JSON_INVALID' }),
    );
    expect(() => scan('[] x', 'array')).toThrowError(expect.objectContaining({ code: 'FILE_JSON_INVALID' }));
  });
});

describe('JSON through openTable', () => {
  it('reads an array of objects, the header being the union of keys', async () => {
    const path = dir.file(
      'objects.json',
      JSON.stringify([
        { 姓名: '张三', 区: '西湖区' },
        { 姓名: '李四', 电话: '13800000000' },
        { 区: '上城区' },
      ]),
    );
    const result = await readAll(path);
    expect(result.header).toEqual(['姓名', '区', '电话']);
    expect(result.rows.map((row) => row.values)).toEqual([
      ['张三', '西湖区', null],
      ['李四', null, '13800000000'],
      [null, '上城区', null],
    ]);
  });

  it('reads an array of arrays with the first as header', async () => {
    const result = await readAll(dir.file('arrays.json', '[["a","b"],[1,"x"],[2]]'));
    expect(result.header).toEqual(['a', 'b']);
    expect(result.rows[0]!.values).toEqual([1, 'x']);
    expect(result.rows[1]!.problem?.code).toBe('ROW_FIELD_COUNT');
  });

  it('reads NDJSON in GBK, and flags keys that are not in the header', async () => {
    const lines = [
      { id: 1, 名称: '城镇职工社会保险缴费明细' },
      { id: 2, 名称: '西湖区' },
    ];
    const text = `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;
    const result = await readAll(dir.file('rows.ndjson', iconv.encode(text, 'gbk')));
    expect(result.encoding).toBe('gb18030');
    expect(result.rows.map((row) => row.values)).toEqual([
      [1, '城镇职工社会保险缴费明细'],
      [2, '西湖区'],
    ]);

    const many = Array.from({ length: 1200 }, (_, i) =>
      JSON.stringify(i === 1100 ? { id: i, late: 'x' } : { id: i }),
    );
    const late = await readAll(dir.file('late.jsonl', many.join('\n')));
    expect(late.header).toEqual(['id']);
    const flagged = late.rows.filter((row) => row.problem);
    expect(flagged).toEqual([
      { line: 1101, values: [1100], problem: expect.objectContaining({ code: 'ROW_UNKNOWN_KEY' }) },
    ]);
  });

  it('flags elements that are not rows', async () => {
    const result = await readAll(dir.file('mixed.json', '[{"a":1}, 5, "x", {"a":2}]'));
    expect(result.rows.map((row) => row.problem?.code ?? null)).toEqual([
      null,
      'ROW_NOT_RECORD',
      'ROW_NOT_RECORD',
      null,
    ]);
  });

  it('flags strings carrying NUL', async () => {
    const result = await readAll(dir.file('nul.json', '[{"a":"x\\u0000y","b":1},{"a":"ok","b":2}]'));
    expect(result.rows.map((row) => row.problem?.code ?? null)).toEqual(['ROW_NUL_BYTE', null]);
    expect(result.rows[0]!.values).toEqual(['x\0y', 1]);
  });

  it('treats a .json file of one object per line as NDJSON', async () => {
    const result = await readAll(dir.file('lines.json', '{"a":1}\n{"a":2}\n'));
    expect(result.rows.map((row) => row.values)).toEqual([[1], [2]]);
  });

  it('refuses an empty array', async () => {
    expect((await readError(dir.file('empty.json', '[]'))).code).toBe('FILE_EMPTY');
  });
});
