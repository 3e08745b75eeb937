import { describe, expect, it } from 'vitest';
import { createColumnScanner, createRowSampler, SKIP } from '../rules/scan.ts';
import { makeResidentId } from '../standards/resident-id.ts';
import { createRowScanner } from './background.ts';

const HEADER = ['身份证号', '手机', '区县', '备注'];
const row = (i: number) => [
  makeResidentId('330106', `19${50 + (i % 45)}-0${1 + (i % 9)}-1${i % 10}`, i % 1000),
  `13${i % 10}${String(10_000_000 + i * 7919).slice(-8)}`,
  ['西湖区', '滨江区', '上城区'][i % 3],
  i % 7 === 0 ? '' : `备注${i}`,
];

function inline(rows: number, options = {}) {
  const scanner = createColumnScanner(HEADER, options);
  for (let i = 0; i < rows; i++) scanner.add(row(i));
  return { results: scanner.result(), rows: scanner.rows, sampled: scanner.sampled };
}

describe('row scanner for imports', () => {
  it('gives on its worker thread exactly what the scanner gives inline, full scan and sampled', async () => {
    for (const options of [{}, { fullScanRows: 8_000, sampleRows: 3_000 }]) {
      const scanner = createRowScanner(HEADER, options);
      for (let i = 0; i < 23_456; i++) scanner.add(row(i));
      const summary = await scanner.finish();
      expect(summary).toEqual(inline(23_456, options));
      expect(summary.results.map((r) => r.type)).toEqual(['cn_resident_id', 'cn_mobile', null, null]);
    }
  }, 120_000);

  it('posts past the full-scan size only the reservoir draws, and still answers as inline', async () => {
    // The content changes after the full-scan size: only a judge that saw the reservoir, not the
    // first rows alone, calls the first column no ID column. Blanks past the limit count too.
    const options = { fullScanRows: 6_000, sampleRows: 1_000, seed: 11 };
    const late = (i: number) => {
      const r = row(i);
      return i < 6_000 ? r : [i % 10 === 0 ? r[0] : `订单${i}`, i % 3 === 0 ? '' : r[1], r[2], r[3]];
    };
    const rows = 60_000;
    const expected = createColumnScanner(HEADER, options);
    for (let i = 0; i < rows; i++) expected.add(late(i));
    for (const background of [true, false]) {
      const scanner = createRowScanner(HEADER, options, { background });
      for (let i = 0; i < rows; i++) scanner.add(late(i));
      const summary = await scanner.finish();
      expect(summary).toEqual({ results: expected.result(), rows, sampled: true });
    }
    const [ids, mobiles] = expected.result();
    expect(ids).toMatchObject({ type: null, nonEmpty: rows });
    expect(mobiles).toMatchObject({ type: 'cn_mobile', nonEmpty: 6_000 + 36_000 });

    // What the judge is handed: every row to the limit, then about sampleRows · ln(rows / limit).
    const sampler = createRowSampler(HEADER.length, options);
    let passed = 0;
    for (let i = 0; i < rows; i++) if (sampler.add(late(i)) !== SKIP) passed++;
    expect(passed - 6_000).toBeGreaterThan(1_000 * Math.log(10) * 0.8);
    expect(passed - 6_000).toBeLessThan(1_000 * Math.log(10) * 1.2);
  }, 120_000);

  it('judges a table expected to be large on the reservoir from its first row, with the same answer', async () => {
    const options = { fullScanRows: 6_000, sampleRows: 1_000, seed: 5 };
    const rows = 60_000;
    const expected = createColumnScanner(HEADER, options);
    for (let i = 0; i < rows; i++) expected.add(row(i));
    for (const background of [true, false]) {
      const scanner = createRowScanner(HEADER, options, { background, expectedRows: () => rows });
      for (let i = 0; i < rows; i++) scanner.add(row(i));
      expect(await scanner.finish()).toEqual({ results: expected.result(), rows, sampled: true });
    }
    // The judge is handed the reservoir's draws only: about sampleRows · (1 + ln(rows / sampleRows)),
    // not the first 6 000 rows on top.
    const sampler = createRowSampler(HEADER.length, options, () => rows);
    let passed = 0;
    for (let i = 0; i < rows; i++) if (sampler.add(row(i)) !== SKIP) passed++;
    const draws = 1_000 * (1 + Math.log(60));
    expect(passed).toBeGreaterThan(draws * 0.8);
    expect(passed).toBeLessThan(draws * 1.2);
    expect(sampler.judgeOptions.fullScanRows).toBe(0);
    // A small table or no estimate: judged row by row as before.
    const small = createRowSampler(HEADER.length, options, () => 10_000);
    small.add(row(0));
    expect(small.judgeOptions).toBe(options);
  }, 120_000);

  it('says a scan was sampled when an estimate that was too high made it so', async () => {
    const options = { fullScanRows: 6_000, sampleRows: 1_000 };
    const scanner = createRowScanner(HEADER, options, { background: false, expectedRows: () => 1_000_000 });
    for (let i = 0; i < 3_000; i++) scanner.add(row(i));
    const summary = await scanner.finish();
    expect(summary.sampled).toBe(true);
    expect(summary.results.map((r) => r.type)).toEqual(['cn_resident_id', 'cn_mobile', null, null]);
    expect(summary.results[3]).toMatchObject({ nonEmpty: 3_000 - Math.ceil(3_000 / 7) });
    expect(inline(3_000, options).sampled).toBe(false);
  }, 120_000);

  it('scans small imports inline, and lets go of an import that will not finish', async () => {
    const small = createRowScanner(HEADER, {});
    for (let i = 0; i < 100; i++) small.add(row(i));
    expect(await small.finish()).toEqual(inline(100));

    const abandoned = createRowScanner(HEADER, {});
    for (let i = 0; i < 12_000; i++) abandoned.add(row(i));
    abandoned.close();
    // The worker is still there for the next import.
    const next = createRowScanner(HEADER, {}, { background: true });
    for (let i = 0; i < 7_000; i++) next.add(row(i));
    expect((await next.finish()).rows).toBe(7_000);
  }, 120_000);
});
