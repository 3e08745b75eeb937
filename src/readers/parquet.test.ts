import { type FileMetaData, parquetMetadata } from 'hyparquet';
import { ByteWriter, parquetWriteBuffer } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, readAll, readError } from '../../test/support/readers.ts';

const dir = makeTempDir();
afterAll(() => dir.remove());

function sampleParquet(rows = 5, rowGroupSize = 2): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        {
          name: '姓名',
          data: Array.from({ length: rows }, (_, i) => (i === 1 ? null : `张三${i}`)),
          type: 'STRING',
        },
        { name: '区', data: Array.from({ length: rows }, () => '西湖区'), type: 'STRING' },
        {
          name: '身份证号',
          data: Array.from({ length: rows }, (_, i) => 110101199001011234n + BigInt(i)),
          type: 'INT64',
        },
        { name: '人数', data: Array.from({ length: rows }, (_, i) => i), type: 'INT32' },
        { name: '金额', data: Array.from({ length: rows }, (_, i) => i + 0.5), type: 'DOUBLE' },
        { name: '在职', data: Array.from({ length: rows }, (_, i) => i % 2 === 0), type: 'BOOLEAN' },
        {
          name: '更新时间',
          data: Array.from({ length: rows }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i, 8))),
          type: 'TIMESTAMP',
        },
      ],
      rowGroupSize,
    }),
  );
}

/** Rewrites the footer of a Parquet file with `change` applied to its metadata. */
function withFooter(bytes: Uint8Array, change: (metadata: FileMetaData) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerLength = view.getUint32(bytes.length - 8, true);
  const metadata = parquetMetadata(bytes.slice().buffer);
  change(metadata);
  const writer = new ByteWriter();
  // hyparquet-writer bundles its own hyparquet; the metadata shape is the same.
  writeMetadata(writer, metadata as unknown as Parameters<typeof writeMetadata>[1]);
  const footer = writer.getBytes();
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set([0x50, 0x41, 0x52, 0x31], 4);
  return Buffer.concat([bytes.subarray(0, bytes.length - 8 - footerLength), footer, tail]);
}

describe('Parquet', () => {
  it('reads all row groups with converted values', async () => {
    const result = await readAll(dir.file('sample.parquet', sampleParquet()));
    expect(result.header).toEqual(['姓名', '区', '身份证号', '人数', '金额', '在职', '更新时间']);
    expect(result.rows).toHaveLength(5);
    expect(result.rows[0]).toEqual({
      line: 1,
      values: ['张三0', '西湖区', '110101199001011234', 0, 0.5, true, '2024-01-01T08:00:00Z'],
    });
    expect(result.rows[1]!.values[0]).toBeNull();
    expect(result.rows[4]!.line).toBe(5);
    expect(result.rows[4]!.values[2]).toBe('110101199001011238');
  });

  it('reads the footer of the rewrite helper back unchanged (sanity check for the lying-footer tests)', async () => {
    const result = await readAll(
      dir.file(
        'rewritten.parquet',
        withFooter(sampleParquet(), () => {}),
      ),
    );
    expect(result.rows).toHaveLength(5);
  });

  describe('lying footers', () => {
    const cases: [string, (bytes: Uint8Array) => Uint8Array, string][] = [
      [
        'a footer length larger than the file',
        (bytes) => {
          const copy = bytes.slice();
          new DataView(copy.buffer).setUint32(copy.length - 8, 0x7fffffff, true);
          return copy;
        },
        'FILE_PARQUET_CORRUPT',
      ],
      [
        'a footer length pointing into the middle of the metadata',
        (bytes) => {
          const copy = bytes.slice();
          const view = new DataView(copy.buffer);
          view.setUint32(copy.length - 8, view.getUint32(copy.length - 8, true) - 7, true);
          return copy;
        },
        'FILE_PARQUET_CORRUPT',
      ],
      [
        'a total row count that disagrees with the row groups',
        (bytes) =>
          withFooter(bytes, (metadata) => {
            metadata.num_rows = 1_000_000n;
          }),
        'FILE_PARQUET_CORRUPT',
      ],
      [
        'row groups claiming more rows than their pages hold',
        (bytes) =>
          withFooter(bytes, (metadata) => {
            metadata.row_groups[0]!.num_rows = 1000n;
            metadata.num_rows = metadata.row_groups.reduce((sum, group) => sum + group.num_rows, 0n);
          }),
        'FILE_PARQUET_CORRUPT',
      ],
      [
        'row groups claiming a billion rows',
        (bytes) =>
          withFooter(bytes, (metadata) => {
            metadata.row_groups[0]!.num_rows = 1_000_000_000n;
            metadata.num_rows = metadata.row_groups.reduce((sum, group) => sum + group.num_rows, 0n);
          }),
        'FILE_PART_TOO_LARGE',
      ],
      [
        'a column chunk beyond the end of the file',
        (bytes) =>
          withFooter(bytes, (metadata) => {
            metadata.row_groups[1]!.columns[0]!.meta_data!.data_page_offset = 10_000_000n;
            metadata.row_groups[1]!.columns[0]!.meta_data!.dictionary_page_offset = undefined;
          }),
        'FILE_PARQUET_CORRUPT',
      ],
      [
        'a column chunk pointing at the wrong bytes',
        (bytes) =>
          withFooter(bytes, (metadata) => {
            const meta = metadata.row_groups[1]!.columns[2]!.meta_data!;
            const shifted = (meta.dictionary_page_offset ?? meta.data_page_offset) + 3n;
            meta.dictionary_page_offset = undefined;
            meta.data_page_offset = shifted;
          }),
        'FILE_PARQUET_CORRUPT',
      ],
      [
        'a huge declared uncompressed size',
        (bytes) =>
          withFooter(bytes, (metadata) => {
            metadata.row_groups[0]!.columns[0]!.meta_data!.total_uncompressed_size = 1n << 40n;
          }),
        'FILE_PART_TOO_LARGE',
      ],
      ['a truncated file', (bytes) => bytes.subarray(0, bytes.length - 20), 'FILE_PARQUET_CORRUPT'],
    ];

    it.each(cases)('reports %s', async (label, mutate, code) => {
      const error = await readError(
        dir.file(`lying-${label.replace(/\W+/g, '-')}.parquet`, mutate(sampleParquet())),
      );
      expect(error.code).toBe(code);
      expect(error.en.length).toBeGreaterThan(10);
    });
  });
});
