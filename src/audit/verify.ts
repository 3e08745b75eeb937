/**
 * Streaming verification of the whole log against its signed tree heads.
 *
 * Entries arrive in seq order (a database cursor); each is hashed, appended to a Frontier, and
 * dropped, so memory stays O(log n) however long the log is. Whenever the tree reaches the size
 * of a signed head, the frontier's root is compared with the signed root.
 *
 * What can be pinpointed, and how (positions are seqs):
 *   - a missing seq (deleted) or a repeated/backward seq (inserted/reordered): from the seq column;
 *   - an edited entry: when the store recorded each entry's leaf hash at append time, the entry's
 *     recomputed hash no longer matches it. Renumbering to hide an insertion or deletion shows up
 *     the same way; when the recorded hashes fit the content under seq ± d, it is reported as the
 *     insertion/deletion it is, once for the whole renumbered run;
 *   - anything else, including a forger who rewrote content and recorded hash together: the first
 *     signed head whose root no longer matches, with the range between it and the last head that
 *     did match. Signed roots cannot be forged without the private key, so nothing escapes this.
 */
import type { KeyObject } from 'node:crypto';
import { type AuditEntryInput, entryLeafHash, FIRST_SEQ } from './entry.ts';
import { Frontier, type FrontierJson, HASH_SIZE, hashEquals, toHex } from './merkle.ts';
import { loadPublicKey, type SignedTreeHead, verifyTreeHead } from './signing.ts';

export type LogProblemKind =
  | 'edited'
  | 'deleted'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'invalid-entry'
  | 'root-mismatch'
  | 'bad-signature'
  | 'fork'
  /** The tree-state row cannot be read (missing, or its frontier does not fit its size). */
  | 'state-corrupt'
  /** A signed-head row that cannot be read as a head. */
  | 'head-corrupt'
  /** A cached subtree hash (audit_tree_nodes) that differs from the recomputed tree. */
  | 'cache-mismatch'
  /** An entry dated earlier than the one before it by more than the clock-skew allowance. */
  | 'out-of-order'
  /** A pending entry integration refused (see integrate.ts), still waiting. */
  | 'refused'
  /** The log is shorter than a size a witness holds a checkpoint for. */
  | 'rollback'
  /** The log's root at a witnessed size differs from the witnessed root. */
  | 'rewrite'
  /** A witness could not be asked. */
  | 'witness-unavailable';

export interface LogProblem {
  kind: LogProblemKind;
  /** The seq concerned; for a head, the seq of the last entry it covers. */
  position: number;
  /** Last seq, when the problem covers a run of consecutive seqs. */
  through?: number;
  reason: string;
}

export interface StoredAuditEntry extends AuditEntryInput {
  /** The leaf hash the store recorded when the entry was appended (hex or bytes), if it keeps one. */
  leafHash?: string | Uint8Array | null;
}

export interface VerifyLogOptions {
  /** Problems kept in the report (all are counted). Default 1000. */
  maxProblems?: number;
  /** Called with each recomputed leaf hash, leaf index first (e.g. to check a subtree cache). */
  onLeaf?: (index: number, leaf: Buffer) => void;
  /** Tree sizes whose recomputed root the report should carry (e.g. witnessed checkpoints). */
  rootsAt?: readonly number[];
}

export interface LogVerificationReport {
  ok: boolean;
  /** Rows read. */
  rows: number;
  /** Highest seq read, or null for an empty log. */
  lastSeq: number | null;
  /** The recomputed tree. */
  treeSize: number;
  rootHash: string;
  /** The recomputed frontier, to compare with the one the store appends from. */
  frontier: FrontierJson;
  headsTotal: number;
  headsWithValidSignature: number;
  headsMatched: number;
  /** Size of the largest signed head whose root matched the recomputed tree; 0 if none. */
  verifiedSize: number;
  /** Rows past the largest validly signed head: not yet covered by any signature. */
  unsignedRows: number;
  problems: LogProblem[];
  problemCount: number;
  /** Recomputed roots (hex) at the sizes asked for with `rootsAt` that the log reached. */
  roots: Record<number, string>;
  /** Leaves taken from archived months' hashes (audit/archive.ts), not from rows. */
  archivedLeaves: number;
  /** Signed heads (and roots asked for) inside an archived block, which no longer can be checked. */
  headsArchived: number;
}

interface Run {
  kind: 'edited' | 'renumbered';
  /** For renumbered: current seq − seq the leaf hash was recorded under. */
  shift: number;
  start: number;
  end: number;
}

const PLACEHOLDER_LEAF = Buffer.alloc(HASH_SIZE);

/** Outcomes of hashing one row (`LeafCheck.code`, low bits); the flags add what a mismatch matches. */
export const LEAF_OK = 0;
export const LEAF_UNRECORDED = 1;
export const LEAF_MISMATCH = 2;
export const LEAF_BAD_SEQ = 3;
export const LEAF_BAD_ENTRY = 4;
/** A mismatching recorded hash is the content's hash under seq − 1 (the row moved up one). */
export const LEAF_PLUS = 8;
/** … under seq + 1 (the row moved down one). */
export const LEAF_MINUS = 16;

/**
 * Everything the verifier needs from one row's hashing, which is most of the work: computed here
 * by `add`, or on a worker thread (verify-worker.ts) and handed to `addChecked`, which is what
 * keeps both paths' findings identical.
 */
export interface LeafCheck {
  code: number;
  /** The recomputed leaf hash; null when the row has no valid seq or cannot be encoded. */
  leaf: Buffer | null;
  /** LEAF_BAD_SEQ: the seq as JSON; LEAF_BAD_ENTRY: why the row cannot be encoded. */
  note?: string;
}

function shiftedMatch(entry: StoredAuditEntry, seq: number, d: number, recorded: Uint8Array): boolean {
  if (seq - d < FIRST_SEQ) return false;
  try {
    return hashEquals(entryLeafHash({ ...entry, seq: seq - d }), recorded);
  } catch {
    return false;
  }
}

/** Hashes one row and compares it with its recorded hash (also shifted by one seq either way on a mismatch). */
export function checkLeaf(entry: StoredAuditEntry): LeafCheck {
  const seq = entry?.seq;
  if (!Number.isSafeInteger(seq)) return { code: LEAF_BAD_SEQ, leaf: null, note: `${JSON.stringify(seq)}` };
  let leaf: Buffer;
  try {
    leaf = entryLeafHash(entry);
  } catch (err) {
    return { code: LEAF_BAD_ENTRY, leaf: null, note: (err as Error).message };
  }
  if (entry.leafHash === undefined || entry.leafHash === null) return { code: LEAF_UNRECORDED, leaf };
  const recorded = parseRecorded(entry.leafHash);
  if (recorded !== null && hashEquals(recorded, leaf)) return { code: LEAF_OK, leaf };
  // Someone who renumbers rows to hide an insertion or deletion leaves each row's recorded hash
  // valid for its old seq: the verifier tells that from an edit with these two.
  let code = LEAF_MISMATCH;
  if (recorded !== null) {
    if (shiftedMatch(entry, seq, 1, recorded)) code |= LEAF_PLUS;
    if (shiftedMatch(entry, seq, -1, recorded)) code |= LEAF_MINUS;
  }
  return { code, leaf };
}

function headPosition(size: number): number {
  return Number.isSafeInteger(size) ? FIRST_SEQ + size - 1 : FIRST_SEQ - 1;
}

function range(a: number, b: number): string {
  return a === b ? `seq ${a}` : `seq ${a}..${b}`;
}

// Bytes are compared where they are (no copy): only read, and only while the row is checked.
function parseRecorded(v: string | Uint8Array): Uint8Array | null {
  if (typeof v === 'string') return /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : null;
  return v.length === HASH_SIZE ? v : null;
}

export class LogVerifier {
  readonly #frontier = new Frontier();
  readonly #heads: SignedTreeHead[];
  readonly #headsTotal: number;
  readonly #maxProblems: number;
  #nextHead = 0;
  #headsMatched = 0;
  #archived = 0;
  #headsArchived = 0;
  #verifiedSize = 0;
  #expectedSeq = FIRST_SEQ;
  #prevSeq: number | null = null;
  #maxSeq: number | null = null;
  #rows = 0;
  #run: Run | null = null;
  #held: Run | null = null;
  #problems: LogProblem[] = [];
  #problemCount = 0;
  #finished = false;
  readonly #onLeaf: ((index: number, leaf: Buffer) => void) | undefined;
  readonly #rootsAt: Set<number>;
  readonly #roots: Record<number, string> = {};

  constructor(
    heads: readonly SignedTreeHead[],
    publicKey: string | KeyObject,
    options: VerifyLogOptions = {},
  ) {
    this.#maxProblems = options.maxProblems ?? 1000;
    this.#onLeaf = options.onLeaf;
    this.#rootsAt = new Set(options.rootsAt ?? []);
    if (this.#rootsAt.has(0)) this.#roots[0] = toHex(this.#frontier.root());
    const key = loadPublicKey(publicKey);
    this.#headsTotal = heads.length;
    const valid: SignedTreeHead[] = [];
    for (const h of heads) {
      if (verifyTreeHead(h, key)) valid.push(h);
      else {
        this.#report({
          kind: 'bad-signature',
          position: headPosition(h?.treeSize),
          reason: `the tree head over ${h?.treeSize} entries (${h?.timestamp}) does not carry a valid signature by this key`,
        });
      }
    }
    valid.sort((x, y) => x.treeSize - y.treeSize);
    for (let i = 1; i < valid.length; i++) {
      const prev = valid[i - 1]!;
      const cur = valid[i]!;
      if (prev.treeSize === cur.treeSize && prev.rootHash.toLowerCase() !== cur.rootHash.toLowerCase()) {
        this.#report({
          kind: 'fork',
          position: headPosition(cur.treeSize),
          reason: `two validly signed heads over ${cur.treeSize} entries disagree (${prev.timestamp}, ${cur.timestamp}): the log was forked`,
        });
      }
    }
    this.#heads = valid;
    this.#checkHeads();
  }

  /** Rows read so far, for progress display. */
  get rows(): number {
    return this.#rows;
  }

  add(entry: StoredAuditEntry): void {
    const check = checkLeaf(entry);
    this.addChecked(entry?.seq, check.code, check.leaf, check.note);
  }

  /**
   * One row whose hashing was done already (`checkLeaf`, maybe on another thread). With
   * `deferred`, its leaf is not appended: the caller appends the subtree of a run of such rows
   * with `appendSubtree`.
   */
  addChecked(seq: number, code: number, leaf: Uint8Array | null, note?: string, deferred = false): void {
    if (this.#finished) throw new Error('LogVerifier.add after finish');
    this.#rows++;
    const status = code & 7;
    if (status === LEAF_BAD_SEQ) {
      this.#closeRun();
      this.#report({
        kind: 'invalid-entry',
        position: this.#expectedSeq,
        reason: `row ${this.#rows} has no valid seq (${note})`,
      });
      this.#expectedSeq++;
      if (!deferred) this.#append(PLACEHOLDER_LEAF);
      return;
    }
    this.#checkSeq(seq);
    if (status === LEAF_BAD_ENTRY) {
      this.#closeRun();
      this.#report({ kind: 'invalid-entry', position: seq, reason: `cannot be encoded: ${note}` });
      if (!deferred) this.#append(PLACEHOLDER_LEAF);
      return;
    }
    if (status === LEAF_MISMATCH) this.#mismatch(seq, code);
    else this.#closeRun();
    if (!deferred) this.#append(leaf ?? PLACEHOLDER_LEAF);
  }

  /**
   * True when a signed head or a root asked for falls strictly inside the next `count` leaves:
   * those must be appended one by one, not as one subtree.
   */
  needsLeavesWithin(count: number): boolean {
    const from = this.#frontier.size;
    // A subtree can only follow a multiple of its width (rows after an archive may start mid-chunk).
    if (from % count !== 0) return true;
    const head = this.#heads[this.#nextHead];
    if (head !== undefined && head.treeSize < from + count) return true;
    for (const size of this.#rootsAt) if (size > from && size < from + count) return true;
    return false;
  }

  /** The subtree of 2^height rows just added with `deferred` (onLeaf is not called for them). */
  appendSubtree(root: Uint8Array, height: number): void {
    this.#frontier.appendSubtree(root, height);
    this.#afterAppend();
  }

  /**
   * The next 2^height leaves of an archived month, as one subtree hash kept when its rows left
   * (audit/archive.ts); they come before any row. A signed head strictly inside it can no longer
   * be checked and is counted as archived; the heads after it check these hashes.
   */
  addArchivedSubtree(root: Uint8Array, height: number): void {
    const end = this.#frontier.size + 2 ** height;
    while (this.#nextHead < this.#heads.length && this.#heads[this.#nextHead]!.treeSize < end) {
      this.#nextHead++;
      this.#headsArchived++;
    }
    this.#archived += 2 ** height;
    this.#expectedSeq += 2 ** height;
    this.#maxSeq = this.#expectedSeq - 1;
    this.#frontier.appendSubtree(root, height);
    this.#afterAppend();
  }

  /** The next archived leaf whose own hash was kept (the archive's last, incomplete block). */
  addArchivedLeaf(leaf: Uint8Array): void {
    this.#archived++;
    this.#maxSeq = this.#expectedSeq++;
    this.#append(leaf);
  }

  addAll(entries: Iterable<StoredAuditEntry>): void {
    for (const e of entries) this.add(e);
  }

  finish(): LogVerificationReport {
    if (!this.#finished) {
      this.#finished = true;
      this.#closeRun();
      this.#flushHeld();
      this.#checkUnreachedHeads();
    }
    const size = this.#frontier.size;
    const largestHead = this.#heads.length > 0 ? this.#heads[this.#heads.length - 1]!.treeSize : 0;
    const problems = [...this.#problems].sort((x, y) => x.position - y.position);
    return {
      ok: this.#problemCount === 0,
      rows: this.#rows,
      lastSeq: this.#maxSeq,
      treeSize: size,
      rootHash: toHex(this.#frontier.root()),
      frontier: this.#frontier.toJSON(),
      headsTotal: this.#headsTotal,
      headsWithValidSignature: this.#heads.length,
      headsMatched: this.#headsMatched,
      verifiedSize: this.#verifiedSize,
      unsignedRows: Math.max(0, this.#rows + this.#archived - largestHead),
      problems,
      problemCount: this.#problemCount,
      roots: { ...this.#roots },
      archivedLeaves: this.#archived,
      headsArchived: this.#headsArchived,
    };
  }

  /** Adds a problem found outside the rows (tree state, cache, witnesses) to the count and list. */
  report(problem: LogProblem): void {
    this.#report(problem);
  }

  #report(problem: LogProblem): void {
    this.#problemCount++;
    if (this.#problems.length < this.#maxProblems) this.#problems.push(problem);
  }

  #checkSeq(seq: number): void {
    const expected = this.#expectedSeq;
    if (seq > expected) {
      this.#closeRun();
      this.#report({
        kind: 'deleted',
        position: expected,
        ...(seq - 1 > expected ? { through: seq - 1 } : {}),
        reason: `${range(expected, seq - 1)} missing: the log jumps to seq ${seq}`,
      });
      this.#expectedSeq = seq + 1;
    } else if (seq < expected) {
      this.#closeRun();
      const duplicate = seq === this.#prevSeq;
      this.#report({
        kind: duplicate ? 'inserted' : 'reordered',
        position: seq,
        reason: duplicate
          ? `seq ${seq} appears twice: an extra entry was inserted`
          : `seq ${seq} comes after seq ${this.#prevSeq}: entries are out of order`,
      });
    } else {
      this.#expectedSeq++;
    }
    this.#prevSeq = seq;
    if (this.#maxSeq === null || seq > this.#maxSeq) this.#maxSeq = seq;
  }

  #mismatch(seq: number, code: number): void {
    // The run's own shift first: a renumbered run continues as long as it can.
    const run = this.#run;
    const shifts = run?.kind === 'renumbered' ? [run.shift, 1, -1] : [1, -1];
    let shift = 0;
    for (const d of shifts) {
      if (code & (d === 1 ? LEAF_PLUS : LEAF_MINUS)) {
        shift = d;
        break;
      }
    }
    const kind = shift === 0 ? 'edited' : 'renumbered';
    if (run && run.kind === kind && run.shift === shift && run.end === seq - 1) {
      run.end = seq;
      return;
    }
    this.#closeRun();
    this.#run = { kind, shift, start: seq, end: seq };
  }

  #closeRun(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = null;
    // Two neighbours swapped look like "row moved down one" followed by "row moved up one":
    // hold a shift −1 run back to see whether a +1 run follows it directly.
    const held = this.#held;
    if (held && run.kind === 'renumbered' && run.shift === 1 && run.start === held.end + 1) {
      this.#held = null;
      this.#report({
        kind: 'reordered',
        position: held.start,
        through: run.end,
        reason: `${range(held.start, run.end)} were reordered: each carries the leaf hash recorded for another of them`,
      });
      return;
    }
    this.#flushHeld();
    if (run.kind === 'renumbered' && run.shift === -1) this.#held = run;
    else this.#reportRun(run);
  }

  #flushHeld(): void {
    if (this.#held) this.#reportRun(this.#held);
    this.#held = null;
  }

  #reportRun(run: Run): void {
    const through = run.end > run.start ? { through: run.end } : {};
    if (run.kind === 'edited') {
      this.#report({
        kind: 'edited',
        position: run.start,
        ...through,
        reason: `${range(run.start, run.end)}: content no longer matches the leaf hash recorded at append (edited)`,
      });
      return;
    }
    const renumbered = `${range(run.start, run.end)} carry the leaf hashes of ${range(run.start - run.shift, run.end - run.shift)}`;
    if (run.shift > 0) {
      const first = run.start - run.shift;
      this.#report({
        kind: 'inserted',
        position: first,
        ...(run.shift > 1 ? { through: run.start - 1 } : {}),
        reason: `${range(first, run.start - 1)} inserted and later entries renumbered: ${renumbered}`,
      });
    } else {
      const first = run.start;
      const last = run.start - run.shift - 1;
      this.#report({
        kind: 'deleted',
        position: first,
        ...(last > first ? { through: last } : {}),
        reason: `original ${range(first, last)} deleted and later entries renumbered: ${renumbered}`,
      });
    }
  }

  #append(leaf: Uint8Array): void {
    this.#onLeaf?.(this.#frontier.size, leaf as Buffer);
    this.#frontier.append(leaf);
    this.#afterAppend();
  }

  #afterAppend(): void {
    if (this.#rootsAt.has(this.#frontier.size))
      this.#roots[this.#frontier.size] = toHex(this.#frontier.root());
    this.#checkHeads();
  }

  #checkHeads(): void {
    const size = this.#frontier.size;
    let root: string | undefined;
    while (this.#nextHead < this.#heads.length && this.#heads[this.#nextHead]!.treeSize === size) {
      const head = this.#heads[this.#nextHead++]!;
      root ??= toHex(this.#frontier.root());
      if (root === head.rootHash.toLowerCase()) {
        this.#headsMatched++;
        this.#verifiedSize = size;
        continue;
      }
      const since = this.#verifiedSize;
      this.#report({
        kind: 'root-mismatch',
        position: headPosition(size),
        reason:
          `the first ${size} rows do not hash to the root signed at ${head.timestamp}: ` +
          `something in ${range(FIRST_SEQ + since, FIRST_SEQ + size - 1)} was changed, removed or added` +
          (since > 0 ? ` (the head over ${since} entries still matches)` : ''),
      });
    }
  }

  #checkUnreachedHeads(): void {
    if (this.#nextHead >= this.#heads.length) return;
    const largest = this.#heads[this.#heads.length - 1]!;
    const lastCovered = headPosition(largest.treeSize);
    const lastSeen = this.#maxSeq ?? FIRST_SEQ - 1;
    if (lastSeen < lastCovered) {
      this.#report({
        kind: 'truncated',
        position: lastSeen + 1,
        ...(lastCovered > lastSeen + 1 ? { through: lastCovered } : {}),
        reason:
          `the log ends at seq ${lastSeen} but the head signed at ${largest.timestamp} covers ${largest.treeSize} entries: ` +
          `${range(lastSeen + 1, lastCovered)} are missing`,
      });
      return;
    }
    for (; this.#nextHead < this.#heads.length; this.#nextHead++) {
      const head = this.#heads[this.#nextHead]!;
      this.#report({
        kind: 'root-mismatch',
        position: headPosition(head.treeSize),
        reason: `the head over ${head.treeSize} entries (${head.timestamp}) cannot match: the log holds only ${this.#rows} rows`,
      });
    }
  }
}

/** Verifies a whole log read from any (async) iterable, holding O(log n) state. */
export async function verifyLog(
  entries: Iterable<StoredAuditEntry> | AsyncIterable<StoredAuditEntry>,
  heads: readonly SignedTreeHead[],
  publicKey: string | KeyObject,
  options: VerifyLogOptions = {},
): Promise<LogVerificationReport> {
  const verifier = new LogVerifier(heads, publicKey, options);
  if (Symbol.asyncIterator in entries) {
    for await (const e of entries) verifier.add(e);
  } else {
    verifier.addAll(entries);
  }
  return verifier.finish();
}

/** A row's seq and time, for the time-order check. */
export interface DatedRow {
  seq: number;
  time: string;
}

/** The entry dated before its predecessor by more than the clock-skew allowance, if `cur` is. */
export function timeOrderProblem(prev: DatedRow, cur: DatedRow, skewMs: number): LogProblem | null {
  return lateBy(prev, Date.parse(prev.time), cur, Date.parse(cur.time), skewMs);
}

/** timeOrderProblem with both times already parsed (Date.parse of each `time`). */
function lateBy(
  prev: DatedRow,
  prevMs: number,
  cur: DatedRow,
  curMs: number,
  skewMs: number,
): LogProblem | null {
  const back = prevMs - curMs;
  if (!(back > skewMs)) return null;
  return {
    kind: 'out-of-order',
    position: cur.seq,
    reason: `seq ${cur.seq} is dated ${cur.time}, ${back} ms before seq ${prev.seq} (${prev.time}); the clock-skew allowance is ${skewMs} ms`,
  };
}

/**
 * The row checks beside the tree, in row order: a recorded hash that was cleared (when the state
 * row says none should be missing) and time order. `previous` is the last dated row seen.
 */
export class RowChecks {
  #previous: DatedRow | null = null;
  // Date.parse of #previous.time: each row's time is parsed once, not once as each side.
  #previousMs = Number.NaN;

  constructor(
    readonly skewMs: number,
    readonly backfillPending: boolean,
  ) {}

  get previous(): DatedRow | null {
    return this.#previous;
  }

  set previous(row: DatedRow | null) {
    this.#previous = row;
    this.#previousMs = row === null ? Number.NaN : Date.parse(row.time);
  }

  check(entry: StoredAuditEntry): LogProblem[] {
    const found: LogProblem[] = [];
    // A recorded hash that was removed proves nothing; the state row says none should be missing.
    if (entry.leafHash === null && !this.backfillPending) {
      found.push({
        kind: 'edited',
        position: entry.seq,
        reason: `seq ${entry.seq} has no recorded leaf hash (the column was cleared)`,
      });
    }
    if (typeof entry.time === 'string') {
      const cur = { seq: entry.seq, time: entry.time };
      const curMs = Date.parse(cur.time);
      const prev = this.#previous;
      const late = prev === null ? null : lateBy(prev, this.#previousMs, cur, curMs, this.skewMs);
      if (late) found.push(late);
      this.#previous = cur;
      this.#previousMs = curMs;
    }
    return found;
  }
}
