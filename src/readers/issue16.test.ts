/**
 * Issue #16, the reader side: memory reserved before it is allocated, NDJSON rows never swallowed,
 * linear work in row groups. Each test here failed on the code before the fix.
 */

import fc from 'fast-check';
import { parquetMetadata } from 'hyparquet';
import { ByteWriter, parquetWriteBuffer } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blownUpWorkbook, escapedStringsJson, lyingParquetGroup } from '../../test/support/hostile-files.ts';
import { makeTempDir, readAll, readError } from '../../test/support/readers.ts';
import { openTable } from './index.ts';
import { parquetWork } from './parquet.ts';
import { MemoryBudget } from './types.ts';

const dir = makeTempDir();
afterAll(() => dir.remove());

/** Rewrites the footer of a Parquet file with `change` applied to its metadata. */
function withFooter(bytes: Uint8Array, change: (metadata: ReturnType<typeof parquetMetadata>) => void) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerLength = view.getUint32(bytes.length - 8, true);
  const metadata = parquetMetadata(bytes.slice().buffer);
  change(metadata);
  const writer = new ByteWriter();
  writeMetadata(writer, metadata as unknown as Parameters<typeof writeMetadata>[1]);
  const footer = writer.getBytes();
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set([0x50, 0x41, 0x52, 0x31], 4);
  return Buffer.concat([bytes.subarray(0, bytes.length - 8 - footerLength), footer, tail]);
}

describe('NDJSON: every line is a row (kind 5)', () => {
  it('an unterminated string ends at its line: one bad row, the next line still loads', async () => {
    const text = '{"a":"1"}\n{"a":"broken}\n{"a":"3"}\n{"a":{"x":"open\n{"a":"5"}\n{"a":1\n{"a":"7"}\n';
    const result = await readAll(dir.file('broken.ndjson', text));
    const lines = text.split('\n').filter((line) => line !== '');
    expect(result.rows).toHaveLength(lines.length);
    expect(result.rows.filter((r) => r.problem).map((r) => r.line)).toEqual([2, 4, 6]);
    expect(result.rows.filter((r) => !r.problem).map((r) => [r.line, r.values[0]])).toEqual([
      [1, '1'],
      [3, '3'],
      [5, '5'],
      [7, '7'],
    ]);
  });
});

describe('JSON header sampling is bounded (kind 2)', () => {
  it('top-level strings of a million escapes each: the sample is reserved and bounded', async () => {
    const escapes = '\\n'.repeat(1_000_000);
    const path = dir.file(
      'escapes.json',
      `[${Array.from({ length: 6 }, () => `"${escapes}"`).join(',')},{"a":1}]`,
    );
    const table = await openTable(path, {
      limits: { maxFieldChars: 2_000_000, memoryBytes: 4 * 1024 * 1024 },
    }).catch((error) => error);
    expect(table.code).toBe('FILE_OVER_BUDGET');
    expect(table.details.part).toBe('JSON header sample');
    expect(table.en).toContain('IMPORT_MEMORY_MB');
  });
});

describe('Parquet (kinds 2 and 7)', () => {
  it('a row group whose declared size is tiny while its pages add up past the limit is refused before inflating', async () => {
    const data = Array.from({ length: 4000 }, (_, i) => `${i}`.padStart(1000, 'x'));
    const bytes = new Uint8Array(
      parquetWriteBuffer({ columnData: [{ name: 's', data, type: 'STRING' }], pageSize: 256 * 1024 }),
    );
    const lying = withFooter(bytes, (metadata) => {
      for (const group of metadata.row_groups) {
        for (const chunk of group.columns) chunk.meta_data!.total_uncompressed_size = 100n;
      }
    });
    const path = dir.file('lying-group.parquet', lying);
    // Each page is under the limit; their sum over the group is not.
    const error = await readError(path, { limits: { maxParquetRowGroupBytes: 1024 * 1024 } });
    expect(error.code).toBe('FILE_PART_TOO_LARGE');
    expect(error.details.bytes).toBeGreaterThan(1024 * 1024);
    // Under a memory budget the refusal names the budget, and nothing was reserved past it.
    const table = await openTable(path, { limits: { memoryBytes: 2 * 1024 * 1024 } });
    await expect(readRows(table)).rejects.toMatchObject({ code: 'FILE_OVER_BUDGET' });
    expect(table.memory.refusals).toBeGreaterThanOrEqual(1);
    expect(table.memory.peak).toBeLessThanOrEqual(2 * 1024 * 1024);
  });

  it('10,000 one-row groups: work linear in the number of groups', async () => {
    const groups = 10_000;
    const bytes = parquetWriteBuffer({
      columnData: [
        { name: 'id', data: Array.from({ length: groups }, (_, i) => i), type: 'INT32' },
        { name: 'name', data: Array.from({ length: groups }, (_, i) => `n${i}`), type: 'STRING' },
      ],
      rowGroupSize: 1,
    });
    const path = dir.file('many-groups.parquet', new Uint8Array(bytes));
    parquetWork.rangesExamined = 0;
    parquetWork.groupsPlanned = 0;
    parquetWork.reads = 0;
    const result = await readAll(path);
    expect(result.rows).toHaveLength(groups);
    expect(result.rows[groups - 1]!.values).toEqual([groups - 1, `n${groups - 1}`]);
    // Each group is planned once (hyparquet walks the row groups it is given: given all of them for
    // each group, that was groups² = 100 million steps), and each slice examines its own ranges.
    expect(parquetWork.groupsPlanned).toBe(groups);
    expect(parquetWork.rangesExamined).toBeLessThanOrEqual(4 * 2 * groups);
    // Small groups are read in runs: one hyparquet read per run, not per group.
    expect(parquetWork.reads).toBeLessThanOrEqual(Math.ceil(groups / 1024) + 1);
  });
});

async function readRows(table: Awaited<ReturnType<typeof openTable>>) {
  let n = 0;
  for await (const _ of table.rows) n++;
  return n;
}

describe('the memory budget holds for random structural blow-ups (property)', () => {
  const LIMIT = 8 * 1024 * 1024;
  const shapes = fc.oneof(
    fc.record({ kind: fc.constant('sheets' as const), n: fc.integer({ min: 1, max: 120_000 }) }),
    fc.record({ kind: fc.constant('relationships' as const), n: fc.integer({ min: 1, max: 120_000 }) }),
    fc.record({ kind: fc.constant('cellFormats' as const), n: fc.integer({ min: 1, max: 120_000 }) }),
    fc.record({
      kind: fc.constant('sharedStrings' as const),
      n: fc.integer({ min: 1, max: 100_000 }),
      chars: fc.integer({ min: 1, max: 100 }),
    }),
    fc.record({
      kind: fc.constant('jsonEscapes' as const),
      n: fc.integer({ min: 1, max: 5 }),
      chars: fc.integer({ min: 1, max: 600_000 }),
    }),
    fc.record({
      kind: fc.constant('parquetPages' as const),
      n: fc.integer({ min: 1, max: 24 }),
      chars: fc.integer({ min: 16, max: 512 }),
    }),
  );

  function make(shape: { kind: string; n: number; chars?: number }): [string, Buffer | string] {
    switch (shape.kind) {
      case 'jsonEscapes':
        return ['blow.json', escapedStringsJson(shape.n, shape.chars!)];
      case 'parquetPages':
        return ['blow.parquet', lyingParquetGroup(shape.n, shape.chars! * 1024)];
      case 'sharedStrings':
        return [
          'blow.xlsx',
          blownUpWorkbook({ sharedStrings: shape.n, stringChars: shape.chars, varied: true }),
        ];
      default:
        return ['blow.xlsx', blownUpWorkbook({ [shape.kind]: shape.n })];
    }
  }

  it('every reservation stays under the budget: the file reads, or is refused before the budget is passed', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, async (shape) => {
        const [name, content] = make(shape);
        const path = dir.file(name, content);
        const memory = new MemoryBudget(LIMIT);
        const limits = { memoryBytes: LIMIT, maxFieldChars: 2_000_000 };
        let outcome: string;
        try {
          const table = await openTable(path, { limits, memory });
          for await (const _ of table.rows) {
            // drained
          }
          outcome = 'read';
        } catch (error) {
          const code = (error as { code?: string }).code;
          // Refused by the budget, by an entry or size limit, or (JSON) no object row in the sample.
          expect(['FILE_OVER_BUDGET', 'FILE_PART_TOO_LARGE', 'FILE_EMPTY', 'FILE_XLSX_BOMB']).toContain(code);
          outcome = code!;
        }
        expect(memory.peak, `${JSON.stringify(shape)} → ${outcome}`).toBeLessThanOrEqual(LIMIT);
        if (shape.kind === 'sheets' || shape.kind === 'relationships' || shape.kind === 'cellFormats') {
          // A count over the limit is refused whatever the memory: 100,000 entries by default.
          expect(outcome === 'FILE_OVER_BUDGET').toBe(shape.n > 100_000 || memory.refusals > 0);
        }
      }),
      { numRuns: 12, seed: 20_261_204 },
    );
  });
});
