/**
 * Subtree hashes of the stored tree, for proofs.
 *
 * The proof functions of merkle.ts and segment.ts ask a synchronous SubtreeHasher for RFC 9162
 * subtrees; hashing those from leaves would read the whole log for every proof. So a proof is
 * built twice: a dry run with a recording hasher learns which subtrees it needs (the ranges do not
 * depend on hash values), those are loaded, then the real run reads them from memory.
 *
 * Loading: every RFC subtree splits into perfect, aligned subtrees (level L covers 2^L leaves).
 * Perfect subtrees at levels 8, 16, 24… are cached in audit_tree_nodes, computed the first time a
 * proof needs them from the 256 nodes one cache level down (leaves at the bottom). Any subtree is
 * then at most 255 hashes of one cache level, so a proof reads O(256 · log n) hashes at worst and
 * far fewer once the cache is warm. The cache only ever holds subtrees below a size the tree
 * state committed, and leaves never change, so an entry never goes stale.
 */
import { sql } from 'kysely';
import type { Executor } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { FIRST_SEQ } from './entry.ts';
import { HASH_SIZE, nodeHash, type SubtreeHasher } from './merkle.ts';
import { archiveHolding, cachedNodes, cacheNodes, leafHashesBetween } from './store.ts';

const CACHE_STEP = 8;
const FANOUT = 2 ** CACHE_STEP;
const DUMMY = Buffer.alloc(HASH_SIZE);

const key = (level: number, idx: number) => `${level}:${idx}`;

/** The perfect aligned subtrees [level, index] that make up leaves [start, end), leftmost first. */
function perfectParts(start: number, end: number): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  let s = start;
  while (s < end) {
    let level = 0;
    while (s % 2 ** (level + 1) === 0 && s + 2 ** (level + 1) <= end) level++;
    parts.push([level, s / 2 ** level]);
    s += 2 ** level;
  }
  return parts;
}

function reduce(hashes: Uint8Array[]): Buffer {
  let level = hashes;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return Buffer.from(level[0]!);
}

function damaged(reason: string, details: Record<string, unknown>): AppError {
  return new AppError('AUDIT_LOG_DAMAGED', details, { zh: reason, en: reason });
}

/** An entry (or a hash below level 8 over it) that left the database with its month. */
export function archivedEntry(
  seq: number,
  archive: { id: number; months: string[]; files: unknown },
): AppError {
  return new AppError('AUDIT_ENTRY_ARCHIVED', {
    seq,
    archive: archive.id,
    months: archive.months,
    files: archive.files,
  });
}

/** Leaf hashes of leaf indexes `idxs`, read in runs of consecutive seqs. */
async function leafHashes(db: Executor, idxs: number[]): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  const sorted = [...new Set(idxs)].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1 && j - i < 50_000) j++;
    const from = sorted[i]! + FIRST_SEQ;
    const to = sorted[j]! + FIRST_SEQ;
    let expected = from;
    for (const row of await leafHashesBetween(db, from, to)) {
      if (row.seq !== expected || !row.leaf_hash) break;
      out.set(row.seq - FIRST_SEQ, Buffer.from(row.leaf_hash));
      expected++;
    }
    if (expected !== to + 1) {
      const archive = await archiveHolding(db, expected);
      if (archive) throw archivedEntry(expected, archive);
      throw damaged(`seq ${expected} is missing or has no leaf hash; run \`shutong audit verify\``, {
        seq: expected,
      });
    }
    i = j + 1;
  }
  return out;
}

// Missing cached nodes are computed this many at a time, so a cold cache over a long log holds
// at most BATCH × 256 hashes of the level below in memory.
const BATCH = 64;

/** Perfect subtrees at a cache level (0 = leaves, 8, 16, …), from the cache or computed and cached. */
async function nodesAt(db: Executor, base: number, idxs: number[]): Promise<Map<number, Buffer>> {
  if (base === 0) return leafHashes(db, idxs);
  const out = new Map<number, Buffer>();
  const unique = [...new Set(idxs)];
  for (let i = 0; i < unique.length; i += 5000) {
    for (const n of await cachedNodes(db, base, unique.slice(i, i + 5000)))
      out.set(n.idx, Buffer.from(n.hash));
  }
  const missing = unique.filter((idx) => !out.has(idx)).sort((a, b) => a - b);
  for (let i = 0; i < missing.length; i += BATCH) {
    const chunk = missing.slice(i, i + BATCH);
    const children = await nodesAt(
      db,
      base - CACHE_STEP,
      chunk.flatMap((idx) => Array.from({ length: FANOUT }, (_, j) => idx * FANOUT + j)),
    );
    const computed = chunk.map((idx) => {
      const hash = reduce(Array.from({ length: FANOUT }, (_, j) => children.get(idx * FANOUT + j)!));
      out.set(idx, hash);
      return { idx, hash };
    });
    await cacheNodes(db, base, computed);
  }
  return out;
}

/** Makes sure the nodes of `level` with index from..to-1 are cached, 4096 at a time (bounded memory). */
async function cacheRange(db: Executor, level: number, from: number, to: number): Promise<void> {
  for (let block = from; block < to; block += 4096) {
    await nodesAt(
      db,
      level,
      Array.from({ length: Math.min(4096, to - block) }, (_, i) => block + i),
    );
  }
}

/**
 * Makes sure the level-8 subtree hash of every complete block of 256 leaves in [from, to) (both
 * multiples of 256) is cached, computing missing ones from the rows. An archiving calls it before
 * the rows go: proofs and verification continue from these.
 */
export function cacheLevel8(db: Executor, from: number, to: number): Promise<void> {
  return cacheRange(db, CACHE_STEP, from / FANOUT, to / FANOUT);
}

// Per database: below these block indexes every node of the level is cached, so that warming
// continues where it stopped instead of reading the cache from the start each time.
const warmedThrough = new WeakMap<object, Map<number, number>>();

/** The first block index of `level` with no cached node (0 when none is cached). */
async function firstGap(db: Executor, level: number): Promise<number> {
  const { rows } = await sql<{ gap: number | null }>`
    select case when not exists (select 1 from audit_tree_nodes where level = ${level} and idx = 0) then 0
           else (select min(a.idx) + 1 from audit_tree_nodes a where a.level = ${level}
                  and not exists (select 1 from audit_tree_nodes b where b.level = ${level} and b.idx = a.idx + 1))
           end as gap`.execute(db);
  return Number(rows[0]?.gap ?? 0);
}

/**
 * Fills the subtree cache ahead of proofs: the nodes at levels 8, 16 and 24 of every complete block
 * of the first `treeSize` leaves, at most `budget` reads (a node is 256 reads of the level below)
 * per call, so each call's work is bounded; returns how many nodes it made sure of. Without it the
 * first proof over a large log computes them all itself (8 minutes at 100 million entries,
 * `npm run bench -- audit-scale`), and an archiving would too.
 */
export async function warmSubtreeCache(db: Executor, treeSize: number, budget = 1 << 20): Promise<number> {
  let marks = warmedThrough.get(db);
  if (!marks) {
    marks = new Map();
    warmedThrough.set(db, marks);
  }
  let left = budget;
  let done = 0;
  for (let level = CACHE_STEP; left >= FANOUT && 2 ** level <= treeSize; level += CACHE_STEP) {
    const complete = Math.floor(treeSize / 2 ** level);
    let from = marks.get(level) ?? (await firstGap(db, level));
    while (from < complete && left >= FANOUT) {
      const count = Math.min(complete - from, Math.floor(left / FANOUT), 4096);
      await cacheRange(db, level, from, from + count);
      from += count;
      left -= count * FANOUT;
      done += count;
    }
    marks.set(level, from);
  }
  return done;
}

/** Loads the given perfect subtrees (all inside the committed tree), keyed level:index. */
async function loadPerfect(db: Executor, wanted: Array<[number, number]>): Promise<Map<string, Buffer>> {
  const byBase = new Map<number, number[]>();
  for (const [level, idx] of wanted) {
    const base = level - (level % CACHE_STEP);
    const span = 2 ** (level - base);
    const list = byBase.get(base) ?? [];
    for (let j = 0; j < span; j++) list.push(idx * span + j);
    byBase.set(base, list);
  }
  const known = new Map<number, Map<number, Buffer>>();
  for (const [base, idxs] of byBase) known.set(base, await nodesAt(db, base, idxs));
  const out = new Map<string, Buffer>();
  for (const [level, idx] of wanted) {
    const base = level - (level % CACHE_STEP);
    const span = 2 ** (level - base);
    const nodes = known.get(base)!;
    out.set(key(level, idx), reduce(Array.from({ length: span }, (_, j) => nodes.get(idx * span + j)!)));
  }
  return out;
}

/**
 * Runs `build` against the stored tree of `treeSize` leaves (which the caller has checked is
 * committed). `build` must be deterministic in the ranges it asks for, as every proof function is.
 */
export async function withStoredTree<T>(
  db: Executor,
  treeSize: number,
  build: (hasher: SubtreeHasher) => T,
): Promise<T> {
  const ranges: Array<[number, number]> = [];
  build((start, end) => {
    ranges.push([start, end]);
    return DUMMY;
  });
  const wanted = new Map<string, [number, number]>();
  for (const [start, end] of ranges) {
    if (!(0 <= start && start < end && end <= treeSize)) {
      throw new RangeError(`subtree [${start}, ${end}) is outside a tree of ${treeSize}`);
    }
    for (const part of perfectParts(start, end)) wanted.set(key(...part), part);
  }
  const loaded = await loadPerfect(db, [...wanted.values()]);
  return build((start, end) => {
    const parts = perfectParts(start, end).map(([level, idx]) => loaded.get(key(level, idx))!);
    // An RFC subtree is left-heavy: its root folds the perfect parts from the right.
    let acc = parts[parts.length - 1]!;
    for (let i = parts.length - 2; i >= 0; i--) acc = nodeHash(parts[i]!, acc);
    return acc;
  });
}
