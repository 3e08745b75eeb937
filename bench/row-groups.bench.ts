/**
 * Parquet row groups (issue #16: linear time in every dimension a file can inflate): the same
 * ROW_GROUP_ROWS rows imported through Shutong twice, once as one row group and once as one row
 * group per row, each in its own process (bench/ingest-import.ts). Goal: the many-group file in
 * under 10× the one-group file's time (it took 271 s for 100,000 groups before the fix).
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { createResource } from '../src/catalog/service.ts';
import { importThroughShutong } from './ingest.bench.ts';
import { type BenchContext, type BenchReport, fmt, scratchDatabase } from './support.ts';

const ROWS = Number(process.env.ROW_GROUP_ROWS ?? 100_000);

function parquetOf(rowGroupSize: number): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'id', data: Array.from({ length: ROWS }, (_, i) => i), type: 'INT32' },
        { name: 'name', data: Array.from({ length: ROWS }, (_, i) => `n${i}`), type: 'STRING' },
      ],
      rowGroupSize,
    }),
  );
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shutong-bench-row-groups-'));
  const scratch = await scratchDatabase(ctx, 'row_groups');
  try {
    const steward = await scratch.stewardCtx('health');
    const measured: Record<string, { seconds: number; mb: number; rss: number }> = {};
    for (const [label, rowGroupSize] of [
      ['one row group', ROWS],
      [`${fmt(ROWS)} one-row groups`, 1],
    ] as const) {
      const file = path.join(dir, `groups-${rowGroupSize}.parquet`);
      await writeFile(file, parquetOf(rowGroupSize));
      const resource = await createResource(steward, {
        name: `行组基准 ${rowGroupSize}`,
        theme: 'health',
        updateCycle: 'daily',
        sharingType: 'not_shared',
        sharingConditions: '基准测试数据',
        openType: 'not_open',
        fields: [
          { name: 'id', label: 'id', dataType: 'integer', isKey: true },
          { name: 'name', label: 'name', dataType: 'text' },
        ],
      });
      const result = await importThroughShutong(scratch.url, resource.code, file, 'rows');
      if (result.rows !== ROWS || result.badRows !== 0)
        throw new Error(`import loaded ${JSON.stringify(result)}`);
      measured[label] = {
        seconds: result.seconds,
        mb: (await stat(file)).size / 2 ** 20,
        rss: result.maxRssMb,
      };
    }
    const [one, many] = Object.values(measured) as [(typeof measured)[string], (typeof measured)[string]];
    const ratio = many.seconds / one.seconds;
    return {
      title: `Parquet: ${fmt(ROWS)} rows as one row group and as one row group per row, imported through Shutong`,
      table: Object.fromEntries(
        Object.entries(measured).map(([label, m]) => [
          label,
          {
            'file MB': fmt(m.mb, 1),
            seconds: fmt(m.seconds, 2),
            'rows/s': fmt(ROWS / m.seconds),
            'peak RSS MB': fmt(m.rss),
          },
        ]),
      ),
      goals: [
        { name: 'many row groups vs one (time)', value: `${fmt(ratio, 1)}×`, goal: '< 10×', met: ratio < 10 },
      ],
      notes: [
        `load average ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
      ],
    };
  } finally {
    await scratch.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
