/**
 * Times reading ROWS rows in row groups of GROUP_ROWS (issue #16, kind 7): `npx tsx
 * scripts/parquet-row-groups.mts 100000 1` vs `... 100000 100000`. Writes /tmp/pq16-*.parquet.
 */
import { writeFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { openTable } from '../src/readers/index.ts';

const rows = Number(process.argv[2] ?? 20000);
const size = Number(process.argv[3] ?? 1);
let t = Date.now();
const bytes = parquetWriteBuffer({
  columnData: [
    { name: 'id', data: Array.from({ length: rows }, (_, i) => i), type: 'INT32' },
    { name: 'name', data: Array.from({ length: rows }, (_, i) => `n${i}`), type: 'STRING' },
  ],
  rowGroupSize: size,
});
const write = Date.now() - t;
const file = `/tmp/pq16-${rows}-${size}.parquet`;
writeFileSync(file, new Uint8Array(bytes));
t = Date.now();
const table = await openTable(file);
const open = Date.now() - t;
let n = 0;
for await (const b of table.batches) n += b.length;
console.log(
  JSON.stringify({ rows, groupRows: size, writeMs: write, openMs: open, readMs: Date.now() - t, n }),
);
