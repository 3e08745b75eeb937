/**
 * The worker thread behind background scans (background.ts): hosts any number of column
 * scanners, one per import, fed rows in batches. After each batch it counts the batch in the
 * scanner's shared counter, which the importing thread waits on when it runs too far ahead.
 */
import { parentPort } from 'node:worker_threads';
import { type ColumnScanner, createColumnScanner, type ScanOptions } from './scan.ts';

export type WorkerRequest =
  | {
      type: 'open';
      id: number;
      header: string[];
      options: Omit<ScanOptions, 'detectors'>;
      signal: SharedArrayBuffer;
    }
  | { type: 'rows'; id: number; rows: unknown[][] }
  | { type: 'done'; id: number }
  | { type: 'close'; id: number };

const scanners = new Map<number, { scanner: ColumnScanner; consumed: Int32Array }>();

parentPort?.on('message', (m: WorkerRequest) => {
  switch (m.type) {
    case 'open':
      scanners.set(m.id, {
        scanner: createColumnScanner(m.header, m.options),
        consumed: new Int32Array(m.signal),
      });
      return;
    case 'rows': {
      const s = scanners.get(m.id);
      if (!s) return;
      for (const row of m.rows) s.scanner.add(row);
      Atomics.add(s.consumed, 0, 1);
      Atomics.notify(s.consumed, 0);
      return;
    }
    case 'done': {
      const s = scanners.get(m.id);
      scanners.delete(m.id);
      if (!s) {
        parentPort?.postMessage({ id: m.id, error: 'unknown scan' });
        return;
      }
      try {
        parentPort?.postMessage({
          id: m.id,
          results: s.scanner.result(),
          rows: s.scanner.rows,
          sampled: s.scanner.sampled,
        });
      } catch (error) {
        parentPort?.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) });
      }
      return;
    }
    case 'close':
      scanners.delete(m.id);
      return;
  }
});
