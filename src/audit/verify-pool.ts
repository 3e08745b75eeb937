/**
 * Whole-log verification across worker threads. The main thread reads the rows in chunks (on a
 * server, binary COPY bytes it only cuts at row boundaries and moves to the worker; on PGlite,
 * keyset-ordered pages with details as JSON text: it parses no JSON itself), hands each chunk to a worker
 * (verify-worker.ts) that hashes its rows and, for a full chunk, its subtree, and feeds the
 * results to the one LogVerifier in chunk order: seq bookkeeping, runs, heads and the frontier
 * stay on the main thread, so the findings are those of the single-threaded path, by
 * construction (the per-row outcome is the same `checkLeaf`). A full chunk with no signed head
 * or asked-for root inside it joins the frontier as one subtree.
 *
 * Memory stays bounded: at most two chunks per worker are in flight, and before a chunk is read
 * the estimated cost of the chunks in flight plus the largest one seen so far is checked against
 * a budget (one chunk is always allowed, so a single huge chunk still makes progress).
 */
import { Worker } from 'node:worker_threads';
import type { CopyChunk } from './entry-copy.ts';
import { HASH_SIZE } from './merkle.ts';
import type { EntryRowText } from './store.ts';
import { type LogProblem, type LogVerifier, type RowChecks, timeOrderProblem } from './verify.ts';
import type { ChunkJob, ChunkResult } from './verify-worker.ts';

export interface ParallelVerifyOptions {
  workers: number;
  /** Rows per chunk, a power of two. */
  chunkRows: number;
  /** Bytes the chunks in flight may take (estimated). */
  memoryBudget: number;
}

export const DEFAULT_CHUNK_ROWS = 4096;
export const DEFAULT_MEMORY_BUDGET = 128 * 2 ** 20;
/**
 * Estimated bytes a row takes while in flight: its strings on this thread and their copy on the
 * worker (two bytes a character at worst) and the details parsed there, beyond what its details
 * text alone says (ids, names, the time, the hash).
 */
const ROW_BYTES = 1024;
const BYTES_PER_DETAILS_CHAR = 8;

function estimatedCost(rows: readonly EntryRowText[] | CopyChunk): number {
  // COPY bytes are mostly details; counting all of them as details overestimates a little.
  if ('bytes' in rows) return rows.rows * ROW_BYTES + rows.bytes.length * BYTES_PER_DETAILS_CHAR;
  let cost = rows.length * ROW_BYTES;
  for (const r of rows) cost += (r.details?.length ?? 0) * BYTES_PER_DETAILS_CHAR;
  return cost;
}

interface Pending {
  resolve(r: ChunkResult): void;
  reject(e: Error): void;
}

class HashPool {
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #pending = new Map<number, { pending: Pending; worker: number }>();
  #nextId = 1;
  #failure: Error | null = null;

  constructor(size: number) {
    for (let w = 0; w < size; w++) {
      const worker = new Worker(new URL('./verify-worker.mjs', import.meta.url));
      worker.on('message', (m: ChunkResult | { id: number; error: string }) => {
        const entry = this.#pending.get(m.id);
        if (!entry) return;
        this.#pending.delete(m.id);
        this.#load[entry.worker]!--;
        if ('error' in m) entry.pending.reject(new Error(`verification worker: ${m.error}`));
        else entry.pending.resolve(m);
      });
      const fail = (error: Error) => {
        this.#failure ??= error;
        for (const [id, entry] of this.#pending) {
          if (entry.worker !== w) continue;
          this.#pending.delete(id);
          entry.pending.reject(error);
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`verification worker exited (code ${code})`)));
      this.#workers.push(worker);
      this.#load.push(0);
    }
  }

  run(job: Omit<ChunkJob, 'id'>, transfer: ArrayBuffer[] = []): Promise<ChunkResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    // The least busy worker: chunks differ in size, so round robin could leave one idle.
    let w = 0;
    for (let i = 1; i < this.#load.length; i++) if (this.#load[i]! < this.#load[w]!) w = i;
    this.#load[w]!++;
    return new Promise<ChunkResult>((resolve, reject) => {
      this.#pending.set(id, { pending: { resolve, reject }, worker: w });
      this.#workers[w]!.postMessage({ ...job, id } satisfies ChunkJob, transfer);
    });
  }

  async close(): Promise<void> {
    this.#failure ??= new Error('verification pool closed');
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

export interface ChunkFeed {
  verifier: LogVerifier;
  rowChecks: RowChecks;
  /** A finding from the row checks (the caller bounds its list). */
  extra(problem: LogProblem): void;
  /** The level-8 nodes of a chunk joined as one subtree, leftmost first; absent: never join chunks while a cache is checked leaf by leaf. */
  level8?: ((node: Buffer) => void) | undefined;
  /** True when `level8` is wanted: chunks are joined only if their level-8 nodes can be given. */
  needsLevel8: boolean;
  onProgress?: ((rows: number) => void) | undefined;
}

/**
 * Reads every chunk from `next` (null when done) and verifies it across `options.workers` threads.
 * A COPY chunk's bytes are moved to the worker, not copied: `next` must not use them again.
 */
export async function verifyChunks(
  next: () => Promise<EntryRowText[] | CopyChunk | null>,
  feed: ChunkFeed,
  options: ParallelVerifyOptions,
): Promise<void> {
  const height = Math.log2(options.chunkRows);
  if (!Number.isInteger(height))
    throw new RangeError(`chunkRows must be a power of two: ${options.chunkRows}`);
  const pool = new HashPool(options.workers);
  const inFlight: Array<{ result: Promise<ChunkResult>; cost: number }> = [];
  let inFlightCost = 0;
  let largest = 0;
  let done = false;
  const job = { skewMs: feed.rowChecks.skewMs, backfillPending: feed.rowChecks.backfillPending, height };
  try {
    for (;;) {
      while (
        !done &&
        (inFlight.length === 0 ||
          (inFlight.length < 2 * options.workers && inFlightCost + largest <= options.memoryBudget))
      ) {
        const rows = await next();
        if (rows === null || (Array.isArray(rows) ? rows.length : rows.rows) === 0) {
          done = true;
          break;
        }
        const cost = estimatedCost(rows);
        largest = Math.max(largest, cost);
        inFlightCost += cost;
        const result = pool.run(
          { ...job, rows },
          Array.isArray(rows) ? [] : [rows.bytes.buffer as ArrayBuffer],
        );
        result.catch(() => {}); // awaited in order below; this only keeps an early failure from counting as unhandled
        inFlight.push({ result, cost });
      }
      const oldest = inFlight.shift();
      if (!oldest) return;
      const result = await oldest.result;
      inFlightCost -= oldest.cost;
      consume(result, feed, height);
      feed.onProgress?.(feed.verifier.rows);
    }
  } finally {
    await pool.close();
  }
}

function consume(r: ChunkResult, feed: ChunkFeed, height: number): void {
  const { verifier, rowChecks } = feed;
  const canGiveLevel8 = r.level8 !== null || !feed.needsLevel8;
  const whole = r.root !== null && canGiveLevel8 && !verifier.needsLeavesWithin(r.rows);
  const leaves = Buffer.from(r.leaves.buffer, r.leaves.byteOffset, r.leaves.byteLength);
  let note = 0;
  for (let i = 0; i < r.rows; i++) {
    let text: string | undefined;
    if (note < r.notes.length && r.notes[note]![0] === i) text = r.notes[note++]![1];
    const leaf = whole ? null : leaves.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
    verifier.addChecked(r.seqs[i]!, r.codes[i]!, leaf, text, whole);
  }
  if (whole) {
    if (feed.needsLevel8 && r.level8) {
      const nodes = Buffer.from(r.level8.buffer, r.level8.byteOffset, r.level8.byteLength);
      for (let at = 0; at < nodes.length; at += HASH_SIZE) feed.level8?.(nodes.subarray(at, at + HASH_SIZE));
    }
    verifier.appendSubtree(r.root!, height);
  }
  // Row checks in row order; the chunk's first dated row is compared with the previous chunk's last.
  let k = 0;
  if (r.first) {
    while (k < r.problems.length && r.problems[k]![0] <= r.first.row) feed.extra(r.problems[k++]![1]);
    const late = rowChecks.previous && timeOrderProblem(rowChecks.previous, r.first, rowChecks.skewMs);
    if (late) feed.extra(late);
    rowChecks.previous = r.last;
  }
  while (k < r.problems.length) feed.extra(r.problems[k++]![1]);
}
