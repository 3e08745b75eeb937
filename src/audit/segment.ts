/**
 * An export segment: entries seq N..M of the log, checkable offline with nothing but the
 * platform's public key.
 *
 * Instead of one inclusion proof per entry (O(k log n) hashes), a segment carries a compact range
 * proof, O(log n) hashes however many entries it holds:
 *   - proof.left: the frontier of the a = N − FIRST_SEQ leaves before the range, i.e. the roots
 *     of the perfect subtrees covering them, leftmost first (one per set bit of a);
 *   - proof.consistency: the RFC 9162 consistency proof from size b = M − FIRST_SEQ + 1 to the
 *     signed head's size n.
 * The auditor recomputes each entry's leaf hash, appends the leaves to the left frontier to get
 * MTH(D[0:b]), and checks that tree is a prefix of the signed one. Since MTH binds every leaf to
 * its position, the entries are then exactly leaves a..b−1 of the signed tree.
 *
 * leafHashes repeats each entry's leaf hash: the range proof runs over them, and comparing them
 * one by one with the recomputed hashes points at the entry that was edited instead of only
 * saying that the segment as a whole is wrong.
 */
import { type AuditEntry, type AuditEntryInput, entryLeafHash, FIRST_SEQ, normalizeEntry } from './entry.ts';
import {
  consistencyProof,
  Frontier,
  fromHex,
  frontierAt,
  type SubtreeHasher,
  toHex,
  verifyConsistency,
} from './merkle.ts';
import { type SignedTreeHead, verifyTreeHead } from './signing.ts';

export const SEGMENT_FORMAT = 'shutong-audit-segment/1';

export interface AuditSegment {
  format: typeof SEGMENT_FORMAT;
  /** First and last seq in the segment, inclusive. */
  from: number;
  to: number;
  entries: AuditEntry[];
  /** Lowercase hex leaf hash of each entry, same order. */
  leafHashes: string[];
  /** A signed head whose tree contains every entry of the segment. */
  head: SignedTreeHead;
  proof: {
    left: string[];
    consistency: string[];
  };
}

export interface SegmentProblem {
  /** The seq concerned, or null when the problem is with the segment as a whole. */
  position: number | null;
  reason: string;
}

export interface SegmentVerification {
  ok: boolean;
  problems: SegmentProblem[];
}

/**
 * Builds a segment from consecutive entries, the head to prove them against, and the log's leaf
 * hashes (or a SubtreeHasher over them) up to at least head.treeSize.
 */
export function buildSegment(
  entries: readonly AuditEntryInput[],
  head: SignedTreeHead,
  tree: readonly Uint8Array[] | SubtreeHasher,
): AuditSegment {
  if (entries.length === 0) throw new RangeError('a segment needs at least one entry');
  const normalized = entries.map(normalizeEntry);
  const from = normalized[0]!.seq;
  normalized.forEach((e, i) => {
    if (e.seq !== from + i)
      throw new RangeError(`segment entries must have consecutive seqs: expected ${from + i}, got ${e.seq}`);
  });
  const to = from + normalized.length - 1;
  const a = from - FIRST_SEQ;
  const b = to - FIRST_SEQ + 1;
  if (a < 0) throw new RangeError(`seq ${from} is before the first seq ${FIRST_SEQ}`);
  if (head.treeSize < b)
    throw new RangeError(`the head covers ${head.treeSize} entries, not up to seq ${to}`);
  return {
    format: SEGMENT_FORMAT,
    from,
    to,
    entries: normalized,
    leafHashes: normalized.map((e) => toHex(entryLeafHash(e))),
    head: { ...head },
    proof: {
      left: frontierAt(tree, a).roots.map(toHex),
      consistency: consistencyProof(tree, b, head.treeSize).map(toHex),
    },
  };
}

const HEX_HASH = /^[0-9a-f]{64}$/;

function isHexList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && HEX_HASH.test(x));
}

/**
 * Checks a segment read from an untrusted file: every field is validated before use, and
 * nothing is thrown for bad input — it all becomes problems.
 */
export function verifySegment(segment: AuditSegment, publicKeyPem: string): SegmentVerification {
  const problems: SegmentProblem[] = [];
  const whole = (reason: string) => problems.push({ position: null, reason });
  const done = () => ({ ok: problems.length === 0, problems });

  const s = segment as unknown as Record<string, unknown> | null;
  if (typeof s !== 'object' || s === null) {
    whole('the segment is not a JSON object');
    return done();
  }
  if (s.format !== SEGMENT_FORMAT) {
    whole(`unknown segment format ${JSON.stringify(s.format)}; expected ${SEGMENT_FORMAT}`);
    return done();
  }
  const { from, to, entries, leafHashes, head, proof } = segment;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < FIRST_SEQ || to < from) {
    whole(`bad range from=${from} to=${to}`);
    return done();
  }
  const count = to - from + 1;
  if (!Array.isArray(entries) || entries.length !== count) {
    whole(
      `the segment should hold ${count} entries (seq ${from}..${to}) but holds ${Array.isArray(entries) ? entries.length : 'none'}`,
    );
    return done();
  }
  if (!isHexList(leafHashes) || leafHashes.length !== count) {
    whole('leafHashes must be one lowercase hex SM3 hash per entry');
    return done();
  }
  if (
    typeof proof !== 'object' ||
    proof === null ||
    !isHexList(proof.left) ||
    !isHexList(proof.consistency)
  ) {
    whole('proof must be {left: hex[], consistency: hex[]}');
    return done();
  }
  if (
    typeof head !== 'object' ||
    head === null ||
    !Number.isSafeInteger(head.treeSize) ||
    typeof head.rootHash !== 'string' ||
    !HEX_HASH.test(head.rootHash)
  ) {
    whole('the segment has no well-formed signed tree head');
    return done();
  }

  let headTrusted = false;
  try {
    headTrusted = verifyTreeHead(head, publicKeyPem);
  } catch (err) {
    whole(`cannot check the tree head signature: ${(err as Error).message}`);
    return done();
  }
  if (!headTrusted) whole('the tree head signature does not verify with the given public key');

  const a = from - FIRST_SEQ;
  const b = to - FIRST_SEQ + 1;
  if (head.treeSize < b)
    whole(`the signed head covers ${head.treeSize} entries, which does not reach seq ${to}`);

  entries.forEach((entry, i) => {
    const seq = from + i;
    if (typeof entry !== 'object' || entry === null || entry.seq !== seq) {
      problems.push({
        position: seq,
        reason: `expected the entry with seq ${seq}, found ${JSON.stringify(entry?.seq)}`,
      });
      return;
    }
    let actual: string;
    try {
      actual = toHex(entryLeafHash(entry));
    } catch (err) {
      problems.push({ position: seq, reason: `entry cannot be encoded: ${(err as Error).message}` });
      return;
    }
    if (actual !== leafHashes[i]) {
      problems.push({ position: seq, reason: 'entry content does not match its leaf hash (edited)' });
    }
  });

  if (head.treeSize >= b) {
    let frontier: Frontier;
    try {
      frontier = new Frontier(a, proof.left.map(fromHex));
    } catch {
      whole(`proof.left must hold one subtree root per set bit of ${a}`);
      return done();
    }
    for (const h of leafHashes) frontier.append(fromHex(h));
    const inTree = verifyConsistency(
      b,
      head.treeSize,
      frontier.root(),
      fromHex(head.rootHash),
      proof.consistency.map(fromHex),
    );
    if (!inTree) {
      whole(
        `the leaf hashes of seq ${from}..${to} are not at those positions in the signed tree of ${head.treeSize} entries`,
      );
    }
  }
  return done();
}
