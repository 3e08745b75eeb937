/**
 * The worker thread behind background scans (background.ts): hosts any number of column
 * judges, one per import, fed in batches the rows the importing thread's sampler passed on
 * (with its decision for each). After each batch it counts the batch in the scan's shared
 * counter, which the importing thread waits on when it runs too far ahead.
 */
import { parentPort } from 'node:worker_threads';
import { type ColumnJudge, createColumnJudge, type ScanOptions } from '../rules/scan.ts';

export type WorkerRequest =
  | {
      type: 'open';
      id: number;
      header: string[];
      options: Omit<ScanOptions, 'detectors'>;
      signal: SharedArrayBuffer;
    }
  | { type: 'rows'; id: number; rows: unknown[][]; slots: number[] }
  /** The sampler's counts: the judge sees only the rows it needs. */
  | { type: 'done'; id: number; nonEmpty: number[]; sampled: boolean }
  | { type: 'close'; id: number };

const judges = new Map<number, { judge: ColumnJudge; consumed: Int32Array }>();

parentPort?.on('message', (m: WorkerRequest) => {
  switch (m.type) {
    case 'open':
      judges.set(m.id, {
        judge: createColumnJudge(m.header, m.options),
        consumed: new Int32Array(m.signal),
      });
      return;
    case 'rows': {
      const s = judges.get(m.id);
      if (!s) return;
      for (let i = 0; i < m.rows.length; i++) s.judge.add(m.rows[i]!, m.slots[i]!);
      Atomics.add(s.consumed, 0, 1);
      Atomics.notify(s.consumed, 0);
      return;
    }
    case 'done': {
      const s = judges.get(m.id);
      judges.delete(m.id);
      if (!s) {
        parentPort?.postMessage({ id: m.id, error: 'unknown scan' });
        return;
      }
      try {
        parentPort?.postMessage({ id: m.id, results: s.judge.result(m.nonEmpty, m.sampled) });
      } catch (error) {
        parentPort?.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) });
      }
      return;
    }
    case 'close':
      judges.delete(m.id);
      return;
  }
});
