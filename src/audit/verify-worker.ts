/**
 * A verification worker (verify-pool.ts): takes one chunk of rows (store.fetchEntryChunk or
 * store.streamEntryCopy, details still JSON text), hashes each row and compares it with its recorded hash
 * (checkLeaf), runs the row checks beside the tree within the chunk, and, for a full chunk,
 * hashes its perfect subtree up to the root, keeping the level-8 nodes the subtree cache is
 * checked with. All of it is what the verifier does per row in one thread; only the order of the
 * rows and the tree above the chunk are left to the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { type CopyChunk, decodeCopyChunk } from './entry-copy.ts';
import { HASH_SIZE, nodeHash } from './merkle.ts';
import type { EntryRowText } from './store.ts';
import { checkLeaf, type DatedRow, type LogProblem, RowChecks, type StoredAuditEntry } from './verify.ts';

export interface ChunkJob {
  id: number;
  /** The chunk's rows, as objects (store.fetchEntryChunk) or as binary COPY (store.streamEntryCopy). */
  rows: EntryRowText[] | CopyChunk;
  skewMs: number;
  backfillPending: boolean;
  /** A chunk of exactly 2^height rows is hashed up to its subtree root. */
  height: number;
}

export interface ChunkResult {
  id: number;
  rows: number;
  codes: Uint8Array;
  /** Each row's seq (NaN when it has none that is valid). */
  seqs: Float64Array;
  /** rows × 32 bytes: the recomputed leaves, zero for rows that have none. */
  leaves: Uint8Array;
  notes: Array<[row: number, note: string]>;
  /** Row checks within the chunk, in row order; the first dated row is not compared with anything. */
  problems: Array<[row: number, problem: LogProblem]>;
  first: (DatedRow & { row: number }) | null;
  last: DatedRow | null;
  /** For a chunk of 2^height rows: its subtree root and its level-8 nodes (height ≥ 8), 32 bytes each. */
  root: Uint8Array | null;
  level8: Uint8Array | null;
}

export const SUBTREE_CACHE_LEVEL = 8;

/** The perfect subtree over `leaves` (2^height × 32 bytes): its root and, if it reaches that high, its level-8 layer. */
function subtree(leaves: Uint8Array, height: number): { root: Uint8Array; level8: Uint8Array | null } {
  let layer = Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength);
  let level8: Uint8Array | null = null;
  for (let level = 1; level <= height; level++) {
    const width = layer.length / HASH_SIZE / 2;
    const next = Buffer.from(new ArrayBuffer(width * HASH_SIZE));
    for (let i = 0; i < width; i++) {
      const at = 2 * i * HASH_SIZE;
      next.set(
        nodeHash(layer.subarray(at, at + HASH_SIZE), layer.subarray(at + HASH_SIZE, at + 2 * HASH_SIZE)),
        i * HASH_SIZE,
      );
    }
    layer = next;
    if (level === SUBTREE_CACHE_LEVEL) level8 = layer;
  }
  return { root: layer, level8 };
}

export function hashChunk(job: ChunkJob): ChunkResult {
  const rows = Array.isArray(job.rows) ? job.rows : decodeCopyChunk(job.rows.bytes, job.rows.rows);
  const n = rows.length;
  const codes = new Uint8Array(new ArrayBuffer(n));
  const seqs = new Float64Array(new ArrayBuffer(n * 8));
  const leaves = new Uint8Array(new ArrayBuffer(n * HASH_SIZE));
  const notes: ChunkResult['notes'] = [];
  const problems: ChunkResult['problems'] = [];
  const checks = new RowChecks(job.skewMs, job.backfillPending);
  let first: ChunkResult['first'] = null;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const entry: StoredAuditEntry = {
      seq: r.seq,
      time: r.time,
      actorId: r.actorId,
      orgId: r.orgId,
      action: r.action,
      objectType: r.objectType,
      objectId: r.objectId,
      requestId: r.requestId,
      // What the jsonb column gives the single-threaded path: JSON.parse of the same text.
      details: r.details === null ? null : JSON.parse(r.details),
      leafHash: r.leafHash,
    };
    const check = checkLeaf(entry);
    codes[i] = check.code;
    seqs[i] = Number.isSafeInteger(entry.seq) ? entry.seq : Number.NaN;
    if (check.leaf) leaves.set(check.leaf, i * HASH_SIZE);
    if (check.note !== undefined) notes.push([i, check.note]);
    for (const p of checks.check(entry)) problems.push([i, p]);
    if (first === null && checks.previous !== null) first = { row: i, ...checks.previous };
  }
  const tree = n > 0 && n === 2 ** job.height ? subtree(leaves, job.height) : null;
  return {
    id: job.id,
    rows: n,
    codes,
    seqs,
    leaves,
    notes,
    problems,
    first,
    last: checks.previous,
    root: tree?.root ?? null,
    level8: tree?.level8 ?? null,
  };
}

parentPort?.on('message', (job: ChunkJob) => {
  let result: ChunkResult;
  try {
    result = hashChunk(job);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
    return;
  }
  const transfer = [result.codes.buffer, result.seqs.buffer, result.leaves.buffer] as ArrayBuffer[];
  if (result.level8) transfer.push(result.level8.buffer as ArrayBuffer);
  // The root shares its buffer with nothing else transferred; it is copied (32 bytes).
  parentPort!.postMessage(result, transfer);
});
