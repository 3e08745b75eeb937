import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  type ColumnJudge,
  type ColumnResult,
  createColumnJudge,
  createRowSampler,
  type ScanOptions,
  SKIP,
} from '../rules/scan.ts';
import type { WorkerRequest } from './scan-worker.ts';

/**
 * A column scanner for imports that keeps the importing thread free: every cell goes through
 * every detector, which costs about as much as parsing and loading it, so large imports hand
 * that work (the judge, scan.ts) to a worker thread that scans while the import goes on. Small
 * ones are scanned inline at the end, where starting a worker would cost more than it saves.
 *
 * The importing thread keeps the cheap half (the sampler: row and non-empty counts, the
 * reservoir draw) and posts only the rows the judge needs: every row up to the full-scan size,
 * beyond it only those drawn into the reservoir (about sampleRows · ln(rows / fullScanRows), some
 * 46 000 of a 500 000-row import with the platform's sizes). Copying every row to the worker
 * would cost the importing thread more than the sampler does. Inline and on the worker, the same
 * sampler and judge see the same rows in the same order: the results are identical.
 *
 * Memory stays bounded: the importing thread never runs more than MAX_AHEAD batches ahead of
 * the worker; past that it waits (Atomics.wait on a counter the worker bumps per batch).
 */
export interface ScanSummary {
  results: ColumnResult[];
  rows: number;
  sampled: boolean;
}

export interface RowScanner {
  add(values: readonly unknown[]): void;
  finish(): Promise<ScanSummary>;
  /** Releases the worker's scanner of an import that will not finish. */
  close(): void;
}

export type PlainScanOptions = Omit<ScanOptions, 'detectors'>;

const INLINE_ROWS = 5_000;
const BATCH_ROWS = 2_000;
const MAX_AHEAD = 32;
const STALL_MS = 60_000;

interface Shared {
  worker: Worker;
  waiting: Map<number, { resolve(results: ColumnResult[]): void; reject(error: Error): void }>;
  dead: boolean;
  /** Scans open on the worker: while there are any, the worker keeps the process alive. */
  open: number;
}
let shared: Shared | undefined;
let nextId = 1;

// One worker per process, shared by concurrent imports and started on first need. It holds the
// process open only while a scan is open on it: an idle worker never keeps a finished
// command-line process alive, and a busy one is not abandoned by a process with nothing else to do.
function worker(): Shared {
  if (shared && !shared.dead) return shared;
  const state: Shared = {
    worker: new Worker(new URL('./scan-worker.mjs', import.meta.url)),
    waiting: new Map(),
    dead: false,
    open: 0,
  };
  state.worker.on('message', (m: { id: number; error?: string; results?: ColumnResult[] }) => {
    const w = state.waiting.get(m.id);
    if (!w) return;
    state.waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(`classification failed: ${m.error}`));
    else w.resolve(m.results!);
  });
  const fail = (error: Error) => {
    state.dead = true;
    for (const w of state.waiting.values()) w.reject(error);
    state.waiting.clear();
  };
  state.worker.on('error', fail);
  state.worker.on('exit', (code) => fail(new Error(`classification worker exited (code ${code})`)));
  // After the listeners: adding a message listener references the worker again.
  state.worker.unref();
  shared = state;
  return state;
}

class BackgroundScan {
  private readonly id = nextId++;
  private readonly consumed = new Int32Array(new SharedArrayBuffer(4));
  private readonly state = worker();
  private batch: unknown[][] = [];
  private slots: number[] = [];
  private posted = 0;
  private open = true;

  constructor(header: string[], options: PlainScanOptions) {
    this.send({
      type: 'open',
      id: this.id,
      header,
      options,
      signal: this.consumed.buffer as SharedArrayBuffer,
    });
    if (this.state.open++ === 0) this.state.worker.ref();
  }

  private release() {
    if (!this.open) return;
    this.open = false;
    if (--this.state.open === 0) this.state.worker.unref();
  }

  private send(message: WorkerRequest) {
    if (this.state.dead) throw new Error('the classification worker stopped');
    this.state.worker.postMessage(message);
  }

  /** A row the sampler passed on, with its decision. */
  add(values: readonly unknown[], slot: number) {
    this.batch.push(values as unknown[]);
    this.slots.push(slot);
    if (this.batch.length >= BATCH_ROWS) this.flush();
  }

  private flush() {
    if (this.batch.length === 0) return;
    this.send({ type: 'rows', id: this.id, rows: this.batch, slots: this.slots });
    this.batch = [];
    this.slots = [];
    this.posted++;
    let stalled = 0;
    for (;;) {
      const done = Atomics.load(this.consumed, 0);
      if (this.posted - done <= MAX_AHEAD) return;
      // Events cannot arrive while this thread waits, so a dead worker shows only as no progress.
      if (Atomics.wait(this.consumed, 0, done, 100) !== 'timed-out') continue;
      stalled += 100;
      if (stalled >= STALL_MS) throw new Error('the classification worker stopped making progress');
    }
  }

  async finish(nonEmpty: readonly number[], sampled: boolean): Promise<ColumnResult[]> {
    try {
      this.flush();
      const results = new Promise<ColumnResult[]>((resolve, reject) => {
        this.state.waiting.set(this.id, { resolve, reject });
      });
      this.send({ type: 'done', id: this.id, nonEmpty: [...nonEmpty], sampled });
      return await results;
    } finally {
      this.release();
    }
  }

  close() {
    if (!this.open) return;
    this.release();
    if (!this.state.dead)
      this.state.worker.postMessage({ type: 'close', id: this.id } satisfies WorkerRequest);
  }
}

/**
 * A worker pays off only with a second core: on one, shipping rows to it costs more than
 * scanning them inline. (On a machine already saturated by other work it does not pay off
 * either, but that cannot be told from here.)
 */
export function workerPaysOff(): boolean {
  return availableParallelism() >= 2;
}

/**
 * Rows go through the sampler; those it passes on go to a buffer until INLINE_ROWS rows have
 * been seen, then to a background scan; an import that ends before that is scanned inline.
 * `background: false` always scans inline, `true` always hands large imports to the worker;
 * unset, the worker is used when it pays off.
 */
export function createRowScanner(
  header: string[],
  options: PlainScanOptions,
  mode: {
    background?: boolean | undefined;
    /** An estimate of the table's length (asked at the first row): see createRowSampler. */
    expectedRows?: (() => number | undefined) | undefined;
  } = {},
): RowScanner {
  const inlineOnly = !(mode.background ?? workerPaysOff());
  const sampler = createRowSampler(header.length, options, mode.expectedRows);
  let buffer: { values: readonly unknown[]; slot: number }[] = [];
  let inline: ColumnJudge | undefined;
  let background: BackgroundScan | undefined;
  return {
    add(values) {
      const slot = sampler.add(values);
      if (slot === SKIP) return;
      // Judges are made after the sampler's first row, when it has decided how they judge.
      if (inlineOnly) inline ??= createColumnJudge(header, sampler.judgeOptions);
      if (inline) return inline.add(values, slot);
      if (background) return background.add(values, slot);
      buffer.push({ values, slot });
      if (sampler.rows >= INLINE_ROWS) {
        background = new BackgroundScan(header, sampler.judgeOptions);
        for (const row of buffer) background.add(row.values, row.slot);
        buffer = [];
      }
    },
    async finish() {
      const { rows, sampled } = sampler;
      if (background) return { results: await background.finish(sampler.nonEmpty, sampled), rows, sampled };
      const judge = inline ?? createColumnJudge(header, sampler.judgeOptions);
      for (const row of buffer) judge.add(row.values, row.slot);
      buffer = [];
      return { results: judge.result(sampler.nonEmpty, sampled), rows, sampled };
    },
    close() {
      background?.close();
      buffer = [];
    },
  };
}
