import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CopyChunker, decodeCopyChunk, ENTRY_COPY_FIELDS } from './entry-copy.ts';

type Field = string | Uint8Array | null;

/** Binary COPY bytes of `rows` (text as UTF-8, bytes as they are, NULLs), header extension of `ext` bytes. */
function copyBytes(rows: Field[][], ext: number): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')];
  const head = Buffer.alloc(8 + ext);
  head.writeInt32BE(ext, 4);
  parts.push(head);
  for (const row of rows) {
    const n = Buffer.alloc(2);
    n.writeInt16BE(row.length);
    parts.push(n);
    for (const f of row) {
      const bytes = f === null ? null : typeof f === 'string' ? Buffer.from(f, 'utf8') : Buffer.from(f);
      const len = Buffer.alloc(4);
      len.writeInt32BE(bytes === null ? -1 : bytes.length);
      parts.push(len);
      if (bytes) parts.push(bytes);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const text = fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: null });
const row = fc.tuple(
  fc.integer({ min: 1, max: 2 ** 40 }).map(String),
  fc.string({ minLength: 1, maxLength: 30 }),
  text,
  text,
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.string({ minLength: 1, maxLength: 20 }),
  text,
  text,
  text,
  fc.option(fc.uint8Array({ minLength: 0, maxLength: 40 }), { nil: null }),
);

describe('binary COPY chunks', () => {
  it('cuts whole rows into chunks of the given size however the stream is split, and decodes them', () => {
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (rows, chunkRows, ext, cuts) => {
          const bytes = copyBytes(rows, ext);
          const chunker = new CopyChunker(chunkRows);
          const chunks = [];
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const size = cuts[i % cuts.length]!;
            chunks.push(...chunker.push(bytes.subarray(at, at + size)));
            at += size;
          }
          const last = chunker.end();
          if (last) chunks.push(last);
          expect(chunks.map((c) => c.rows)).toEqual(
            Array.from({ length: Math.ceil(rows.length / chunkRows) }, (_, k) =>
              Math.min(chunkRows, rows.length - k * chunkRows),
            ),
          );
          for (const c of chunks) expect(c.bytes.byteOffset).toBe(0); // transferable from its start
          const decoded = chunks.flatMap((c) => decodeCopyChunk(c.bytes, c.rows));
          expect(decoded).toEqual(
            rows.map((r) => ({
              seq: Number(r[0]),
              time: r[1],
              actorId: r[2],
              orgId: r[3],
              action: r[4],
              objectType: r[5],
              objectId: r[6],
              requestId: r[7],
              details: r[8],
              leafHash: r[9] === null ? null : Buffer.from(r[9]),
            })),
          );
        },
      ),
    );
  });

  it('refuses a stream that stops before its trailer, or rows of another shape', () => {
    const whole = copyBytes([Array(ENTRY_COPY_FIELDS).fill('x')], 0);
    const cut = new CopyChunker(4);
    cut.push(whole.subarray(0, whole.length - 2));
    expect(() => cut.end()).toThrow(/before its trailer/);
    expect(() => new CopyChunker(4).push(copyBytes([['x', 'y']], 0))).toThrow(/2 fields/);
    expect(() => new CopyChunker(4).push(Buffer.from('not a copy stream at all'))).toThrow(/not binary COPY/);
  });
});
