import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type ColumnResult, createColumnScanner, type ScanOptions } from './scan.ts';
import type { WorkerRequest } from './scan-worker.ts';

/**
 * A column scanner for imports that keeps the importing thread free: every cell goes through
 * every detector, which costs about as much as parsing and loading it, so large imports hand
 * their rows to a worker thread that scans while the import goes on. Small ones are scanned
 * inline at the end, where starting a worker would cost more than it saves.
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
  waiting: Map<number, { resolve(summary: ScanSummary): void; reject(error: Error): void }>;
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
  state.worker.on('message', (m: { id: number; error?: string } & Partial<ScanSummary>) => {
    const w = state.waiting.get(m.id);
    if (!w) return;
    state.waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(`classification failed: ${m.error}`));
    else w.resolve({ results: m.results!, rows: m.rows!, sampled: m.sampled! });
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

class BackgroundScan implements RowScanner {
  private readonly id = nextId++;
  private readonly consumed = new Int32Array(new SharedArrayBuffer(4));
  private readonly state = worker();
  private batch: unknown[][] = [];
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

  add(values: readonly unknown[]) {
    this.batch.push(values as unknown[]);
    if (this.batch.length >= BATCH_ROWS) this.flush();
  }

  private flush() {
    if (this.batch.length === 0) return;
    this.send({ type: 'rows', id: this.id, rows: this.batch });
    this.batch = [];
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

  async finish(): Promise<ScanSummary> {
    try {
      this.flush();
      const summary = new Promise<ScanSummary>((resolve, reject) => {
        this.state.waiting.set(this.id, { resolve, reject });
      });
      this.send({ type: 'done', id: this.id });
      return await summary;
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
 * Rows go to a buffer until there are INLINE_ROWS of them, then to a background scan; an import
 * that ends before that is scanned inline. `background: false` always scans inline, `true` always
 * hands large imports to the worker; unset, the worker is used when it pays off.
 */
export function createRowScanner(
  header: string[],
  options: PlainScanOptions,
  mode: { background?: boolean | undefined } = {},
): RowScanner {
  const inlineOnly = !(mode.background ?? workerPaysOff());
  let buffer: (readonly unknown[])[] = [];
  let inline: ReturnType<typeof createColumnScanner> | undefined;
  let background: BackgroundScan | undefined;
  if (inlineOnly) inline = createColumnScanner(header, options);
  return {
    add(values) {
      if (inline) return inline.add(values);
      if (background) return background.add(values);
      buffer.push(values);
      if (buffer.length >= INLINE_ROWS) {
        background = new BackgroundScan(header, options);
        for (const row of buffer) background.add(row);
        buffer = [];
      }
    },
    async finish() {
      if (background) return background.finish();
      const scanner = inline ?? createColumnScanner(header, options);
      for (const row of buffer) scanner.add(row);
      buffer = [];
      return { results: scanner.result(), rows: scanner.rows, sampled: scanner.sampled };
    },
    close() {
      background?.close();
      buffer = [];
    },
  };
}
