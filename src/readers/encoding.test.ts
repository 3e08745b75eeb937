import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, readAll, readError } from '../../test/support/readers.ts';
import { CheckedTextDecoder, detectEncoding, normalizeEncoding } from './encoding.ts';
import { FileReadError } from './errors.ts';

const dir = makeTempDir();
afterAll(() => dir.remove());

const gbk = (text: string) => iconv.encode(text, 'gbk');
const gb18030 = (text: string) => iconv.encode(text, 'gb18030');
const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Decodes `bytes` fed in pieces of `size` bytes. */
function decodeInPieces(decoder: CheckedTextDecoder, bytes: Uint8Array, size: number): string {
  let text = '';
  for (let at = 0; at < bytes.length; at += size) text += decoder.decode(bytes.subarray(at, at + size));
  return text + decoder.end();
}

function thrown(fn: () => unknown): FileReadError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FileReadError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('detectEncoding', () => {
  it('recognises BOMs', () => {
    expect(detectEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), true)).toEqual({
      encoding: 'utf-8',
      bomLength: 3,
    });
    expect(detectEncoding(Buffer.from([0xff, 0xfe, 0x61, 0]), true)).toEqual({
      encoding: 'utf-16le',
      bomLength: 2,
    });
    expect(detectEncoding(Buffer.from([0xfe, 0xff, 0, 0x61]), true)).toEqual({
      encoding: 'utf-16be',
      bomLength: 2,
    });
  });

  it('tells UTF-8 from GBK Chinese', () => {
    expect(detectEncoding(utf8('姓名,地址\n张三,西湖区\n'), true).encoding).toBe('utf-8');
    expect(detectEncoding(gbk('姓名,地址\n张三,西湖区\n'), true).encoding).toBe('gb18030');
  });

  it('does not hold a multi-byte sequence cut by the end of the sample against UTF-8', () => {
    const bytes = utf8('城镇职工社会保险缴费明细');
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(detectEncoding(bytes.subarray(0, cut), false).encoding).toBe('utf-8');
    }
  });

  it('leaves a pure ASCII sample undecided', () => {
    expect(detectEncoding(utf8('a,b\n1,2\n'), true)).toEqual({ encoding: null, bomLength: 0 });
  });

  it('recognises UTF-16 without BOM and refuses NUL-heavy binary', () => {
    expect(detectEncoding(Buffer.from('name,age\n张三,30\n', 'utf16le'), true).encoding).toBe('utf-16le');
    const binary = Buffer.alloc(4096);
    for (let i = 0; i < binary.length; i += 3) binary[i] = 0x41 + (i % 7);
    expect(() => detectEncoding(binary, true)).toThrowError(expect.objectContaining({ code: 'FILE_BINARY' }));
  });

  it('names UTF-32 (with or without its mark, either byte order) instead of misreading it', () => {
    const utf32 = (text: string, littleEndian: boolean) => {
      const points = [...text].map((c) => c.codePointAt(0)!);
      const bytes = Buffer.alloc(points.length * 4);
      for (const [i, p] of points.entries()) {
        if (littleEndian) bytes.writeUInt32LE(p, 4 * i);
        else bytes.writeUInt32BE(p, 4 * i);
      }
      return bytes;
    };
    const text = '姓名,年龄\n张三,30\n李四,41\n';
    for (const [littleEndian, name] of [
      [true, 'utf-32le'],
      [false, 'utf-32be'],
    ] as const) {
      const mark = littleEndian ? [0xff, 0xfe, 0, 0] : [0, 0, 0xfe, 0xff];
      for (const bytes of [
        Buffer.concat([Buffer.from(mark), utf32(text, littleEndian)]),
        utf32(text, littleEndian),
      ]) {
        expect(() => detectEncoding(bytes, true)).toThrowError(
          expect.objectContaining({ code: 'FILE_ENCODING_UNKNOWN', details: { encoding: name } }),
        );
      }
    }
    // UTF-16 is still UTF-16, and an array of small binary integers is still binary.
    expect(detectEncoding(Buffer.from('name,age\nab,30\n', 'utf16le'), true).encoding).toBe('utf-16le');
    const ints = Buffer.alloc(4096);
    for (let i = 0; i < ints.length; i += 4) ints[i] = 1 + (i % 200);
    expect(() => detectEncoding(ints, true)).toThrowError(expect.objectContaining({ code: 'FILE_BINARY' }));
  });

  it('normalises encoding names', () => {
    expect(normalizeEncoding('GBK')).toBe('gb18030');
    expect(normalizeEncoding('gb2312')).toBe('gb18030');
    expect(normalizeEncoding('UTF8')).toBe('utf-8');
    expect(() => normalizeEncoding('big5')).toThrowError(
      expect.objectContaining({ code: 'FILE_ENCODING_UNKNOWN' }),
    );
  });
});

describe('CheckedTextDecoder', () => {
  const text = '序号,姓名,地址\n1,张三,杭州市西湖区\n2,李四,𠀀 emoji 😀\n';

  it('decodes UTF-8 and GB18030 identically whatever the chunk boundaries', () => {
    for (const [encoding, bytes] of [
      ['utf-8', utf8(text)],
      ['gb18030', gb18030(text)],
    ] as const) {
      for (const size of [1, 2, 3, 5, 7, 64]) {
        expect(decodeInPieces(new CheckedTextDecoder(encoding), bytes, size)).toBe(text);
      }
    }
  });

  it('decides on the first non-ASCII chunk when the start is pure ASCII', () => {
    const bytes = Buffer.concat([utf8('id,name\n'.repeat(100)), gbk('1,张三\n')]);
    const decoder = new CheckedTextDecoder(null);
    expect(decodeInPieces(decoder, bytes, 64)).toBe(`${'id,name\n'.repeat(100)}1,张三\n`);
    expect(decoder.encoding).toBe('gb18030');
  });

  it('names the GBK line inside a UTF-8 file', () => {
    const bytes = Buffer.concat([utf8('姓名\n张三\n李四\n'), gbk('王五\n'), utf8('赵六\n')]);
    for (const size of [3, 1000]) {
      const error = thrown(() => decodeInPieces(new CheckedTextDecoder('utf-8'), bytes, size));
      expect(error.code).toBe('FILE_ENCODING_MIXED');
      expect(error.details.line).toBe(4);
    }
  });

  it('names the UTF-8 line inside a GBK file instead of producing mojibake', () => {
    const bytes = Buffer.concat([
      gbk('姓名,地址\n张三,西湖区\n'),
      utf8('李四,上城区\n'),
      gbk('王五,滨江区\n'),
    ]);
    const error = thrown(() => decodeInPieces(new CheckedTextDecoder('gb18030'), bytes, 5));
    expect(error.code).toBe('FILE_ENCODING_MIXED');
    expect(error.details.line).toBe(3);
  });

  it('accepts GBK lines whose bytes happen to be valid UTF-8 in part', () => {
    // GBK "女" is C5 AE, a valid UTF-8 sequence for "Ů": not CJK, so not taken for UTF-8.
    const bytes = gbk('性别\n女\n男\n女士，您好\n');
    expect(decodeInPieces(new CheckedTextDecoder('gb18030'), bytes, 4)).toBe('性别\n女\n男\n女士，您好\n');
  });

  it('reports bytes invalid in any encoding as FILE_ENCODING_INVALID with the line', () => {
    const bytes = Buffer.concat([utf8('a\nb\n'), Buffer.from([0x63, 0xff, 0xfe, 0x0a])]);
    const error = thrown(() => decodeInPieces(new CheckedTextDecoder('utf-8'), bytes, 100));
    expect(error.code).toBe('FILE_ENCODING_INVALID');
    expect(error.details.line).toBe(3);
  });

  it('reports a file ending inside a multi-byte sequence', () => {
    const bytes = utf8('a\n张').subarray(0, 4);
    expect(thrown(() => decodeInPieces(new CheckedTextDecoder('utf-8'), bytes, 100)).code).toBe(
      'FILE_ENCODING_INVALID',
    );
  });
});

describe('encodings through openTable', () => {
  const csv =
    '缴费单位,姓名,所在区,缴费金额\n城镇职工社会保险缴费明细,张三,西湖区,1200.50\n杭州某公司,李四,上城区,980\n';
  const expected = [
    ['城镇职工社会保险缴费明细', '张三', '西湖区', '1200.50'],
    ['杭州某公司', '李四', '上城区', '980'],
  ];

  it.each([
    ['UTF-8', utf8(csv), 'utf-8'],
    ['UTF-8 with BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(csv)]), 'utf-8'],
    ['GBK', gbk(csv), 'gb18030'],
    ['GB18030', gb18030(csv), 'gb18030'],
    [
      'UTF-16LE with BOM',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]),
      'utf-16le',
    ],
  ])('reads %s', async (_label, bytes, encoding) => {
    const result = await readAll(dir.file(`enc-${encoding}-${bytes.length}.csv`, bytes));
    expect(result.encoding).toBe(encoding);
    expect(result.header).toEqual(['缴费单位', '姓名', '所在区', '缴费金额']);
    expect(result.rows.map((row) => row.values)).toEqual(expected);
  });

  it('honours an explicit encoding', async () => {
    const result = await readAll(dir.file('forced.csv', gbk(csv)), { encoding: 'GBK' });
    expect(result.rows[0]!.values[1]).toBe('张三');
  });

  it('refuses to read a UTF-8 file as GBK rather than store mojibake', async () => {
    const error = await readError(dir.file('forced-wrong.csv', utf8(csv)), { encoding: 'gbk' });
    expect(error.code).toBe('FILE_ENCODING_MIXED');
    expect(error.details.line).toBe(1);
  });

  it('finds GBK text that starts only after a long ASCII prefix', async () => {
    const prefix = 'id,name\n' + Array.from({ length: 20000 }, (_, i) => `${i},n${i}`).join('\n') + '\n';
    const bytes = Buffer.concat([utf8(prefix), gbk('20000,西湖区\n')]);
    const result = await readAll(dir.file('late-gbk.csv', bytes));
    expect(result.encoding).toBe('gb18030');
    expect(result.rows.at(-1)!.values).toEqual(['20000', '西湖区']);
  });
});
