/**
 * RFC 9162 (Certificate Transparency v2) §2.1 Merkle Tree Hash, with SM3 as the hash:
 *   MTH({})      = SM3()
 *   MTH({d(0)})  = SM3(0x00 || d(0))
 *   MTH(D[n])    = SM3(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   k = largest power of two < n
 * The distinct leaf and node prefixes stop an interior node from being passed off as a leaf.
 *
 * Leaf indexes are 0-based. Sizes and indexes are plain numbers; every step uses arithmetic
 * rather than 32-bit bit operators so that sizes up to 2^53 stay exact.
 */
import * as crypto from 'node:crypto';

export const HASH_SIZE = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

// crypto.hash (one-shot, Node ≥ 20.12) skips building a Hash object and is ~1.5× faster for these
// tiny inputs; verifying a million entries hashes two million times, so it matters.
const oneShot: ((algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer) | undefined =
  typeof crypto.hash === 'function' ? crypto.hash : undefined;

export function sm3(data: Uint8Array): Buffer {
  if (oneShot) return oneShot('sm3', data, 'buffer');
  return crypto.createHash('sm3').update(data).digest();
}

export function emptyRoot(): Buffer {
  return sm3(new Uint8Array(0));
}

export function leafHash(entry: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + entry.length);
  buf[0] = LEAF_PREFIX;
  buf.set(entry, 1);
  return sm3(buf);
}

/**
 * leafHash of the UTF-8 bytes of `text`, encoded straight after the prefix in a buffer kept for
 * the purpose (no Buffer of the entry, no second copy). Verification hashes a million of these.
 */
export function leafHashOfText(text: string): Buffer {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (1 + 3 * text.length > leafScratch.length) {
    leafScratch = Buffer.allocUnsafeSlow(Math.max(2 * leafScratch.length, 1 + 3 * text.length));
    leafScratch[0] = LEAF_PREFIX;
  }
  const written = leafScratch.write(text, 1, 'utf8');
  return sm3(leafScratch.subarray(0, 1 + written));
}
// Only ever read synchronously within leafHashOfText: one per thread is enough.
let leafScratch = Buffer.alloc(4096, LEAF_PREFIX);

// Input of nodeHash, reused: sm3 returns a fresh buffer, and nothing else holds this one.
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE, NODE_PREFIX);

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return sm3(nodeScratch);
}

export function toHex(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
}

/** Parses a lowercase or uppercase 64-digit hex hash; throws on anything else. */
export function fromHex(hex: string): Buffer {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TypeError(`not a ${HASH_SIZE}-byte hex hash: ${JSON.stringify(hex)}`);
  }
  return Buffer.from(hex, 'hex');
}

export function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function assertSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
}

/** Largest power of two strictly less than n (n ≥ 2): the split point k of RFC 9162. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/**
 * Compact range / frontier: the roots of the perfect subtrees that make up a tree of `size`
 * leaves, largest (leftmost) first — one per set bit of `size`. Appending a leaf merges equal-sized
 * subtrees like a binary counter, so a store can keep only these O(log n) hashes and still
 * compute the new root after each append without reading the log.
 */
export class Frontier {
  #size: number;
  // subtree roots, leftmost (largest) first; length === popcount(size)
  #roots: Buffer[];

  constructor(size = 0, roots: readonly Uint8Array[] = []) {
    assertSize('frontier size', size);
    if (roots.length !== popcount(size)) {
      throw new RangeError(
        `a frontier of size ${size} needs ${popcount(size)} subtree roots, got ${roots.length}`,
      );
    }
    for (const r of roots) {
      if (r.length !== HASH_SIZE) throw new RangeError(`subtree root must be ${HASH_SIZE} bytes`);
    }
    this.#size = size;
    this.#roots = roots.map((r) => Buffer.from(r));
  }

  get size(): number {
    return this.#size;
  }

  /** The subtree roots, leftmost first (copies). */
  get roots(): Buffer[] {
    return this.#roots.map((r) => Buffer.from(r));
  }

  append(leaf: Uint8Array): void {
    if (leaf.length !== HASH_SIZE) throw new RangeError(`leaf hash must be ${HASH_SIZE} bytes`);
    let carry: Buffer = Buffer.from(leaf);
    // Each trailing 1 bit of the old size is a subtree the same size as the carry: merge them.
    let s = this.#size;
    while (s % 2 === 1) {
      carry = nodeHash(this.#roots.pop()!, carry);
      s = (s - 1) / 2;
    }
    this.#roots.push(carry);
    this.#size += 1;
  }

  /**
   * Appends a perfect subtree of 2^height leaves given by its root: the same frontier as appending
   * its leaves one by one, for a size that is a multiple of 2^height (the carry starts that high).
   */
  appendSubtree(root: Uint8Array, height: number): void {
    if (root.length !== HASH_SIZE) throw new RangeError(`subtree root must be ${HASH_SIZE} bytes`);
    const width = 2 ** height;
    if (!Number.isSafeInteger(width) || this.#size % width !== 0)
      throw new RangeError(`a subtree of 2^${height} leaves cannot follow ${this.#size} leaves`);
    let carry: Buffer = Buffer.from(root);
    let s = this.#size / width;
    while (s % 2 === 1) {
      carry = nodeHash(this.#roots.pop()!, carry);
      s = (s - 1) / 2;
    }
    this.#roots.push(carry);
    this.#size += width;
  }

  root(): Buffer {
    const roots = this.#roots;
    if (roots.length === 0) return emptyRoot();
    let acc = roots[roots.length - 1]!;
    for (let i = roots.length - 2; i >= 0; i--) acc = nodeHash(roots[i]!, acc);
    return acc;
  }

  clone(): Frontier {
    return new Frontier(this.#size, this.#roots);
  }

  toJSON(): FrontierJson {
    return { size: this.#size, roots: this.#roots.map(toHex) };
  }

  serialize(): string {
    return JSON.stringify(this.toJSON());
  }

  static fromJSON(json: FrontierJson): Frontier {
    if (typeof json !== 'object' || json === null || !Array.isArray(json.roots)) {
      throw new TypeError('frontier JSON must be {size, roots: hex[]}');
    }
    return new Frontier(json.size, json.roots.map(fromHex));
  }

  static deserialize(text: string): Frontier {
    return Frontier.fromJSON(JSON.parse(text) as FrontierJson);
  }
}

export interface FrontierJson {
  size: number;
  roots: string[];
}

function popcount(n: number): number {
  let c = 0;
  while (n > 0) {
    c += n % 2;
    n = Math.floor(n / 2);
  }
  return c;
}

/** MTH over leaves[start:end), in one pass with O(log n) extra memory. */
export function rootOf(leaves: readonly Uint8Array[], start = 0, end = leaves.length): Buffer {
  if (
    !(
      Number.isSafeInteger(start) &&
      Number.isSafeInteger(end) &&
      0 <= start &&
      start <= end &&
      end <= leaves.length
    )
  ) {
    throw new RangeError(`bad leaf range [${start}, ${end}) of ${leaves.length}`);
  }
  const f = new Frontier();
  for (let i = start; i < end; i++) f.append(leaves[i]!);
  return f.root();
}

/** The Merkle tree hash of the leaf range [start, end). Proofs only ask for RFC 9162 subtrees. */
export type SubtreeHasher = (start: number, end: number) => Uint8Array;

/**
 * Lets proofs be built from leaf hashes held in memory; a store with cached interior nodes can
 * pass its own SubtreeHasher instead and reuse the same proof code.
 */
export function memoryHasher(leaves: readonly Uint8Array[]): SubtreeHasher {
  return (start, end) => rootOf(leaves, start, end);
}

function asHasher(source: readonly Uint8Array[] | SubtreeHasher): SubtreeHasher {
  return typeof source === 'function' ? source : memoryHasher(source);
}

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]), leaf-to-root order. Walks down from the root so each sibling
 * subtree is hashed exactly once: O(n) hashing in total, O(log n) memory.
 */
export function inclusionProof(
  source: readonly Uint8Array[] | SubtreeHasher,
  index: number,
  treeSize: number = typeof source === 'function' ? Number.NaN : source.length,
): Buffer[] {
  assertSize('tree size', treeSize);
  assertSize('leaf index', index);
  if (index >= treeSize) throw new RangeError(`leaf index ${index} is outside a tree of ${treeSize}`);
  const hash = asHasher(source);
  const topDown: Buffer[] = [];
  let start = 0;
  let end = treeSize;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      topDown.push(Buffer.from(hash(start + k, end)));
      end = start + k;
    } else {
      topDown.push(Buffer.from(hash(start, start + k)));
      start += k;
    }
  }
  return topDown.reverse();
}

/** RFC 9162 §2.1.3.2. Returns false rather than throwing on malformed input. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) {
    return false;
  }
  if (leaf.length !== HASH_SIZE || root.length !== HASH_SIZE) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (p.length !== HASH_SIZE || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hashEquals(r, root);
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]). Empty when m is 0 or m equals n: every tree extends the
 * empty tree, and a tree is consistent with itself when the roots are equal.
 */
export function consistencyProof(
  source: readonly Uint8Array[] | SubtreeHasher,
  oldSize: number,
  newSize: number = typeof source === 'function' ? Number.NaN : source.length,
): Buffer[] {
  assertSize('old size', oldSize);
  assertSize('new size', newSize);
  if (oldSize > newSize) throw new RangeError(`old size ${oldSize} exceeds new size ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const hash = asHasher(source);
  // SUBPROOF appends each sibling after the recursive part, so siblings found on the way down
  // come out in reverse order, after the terminal node.
  const siblings: Buffer[] = [];
  const head: Buffer[] = [];
  let start = 0;
  let end = newSize;
  let m = oldSize;
  let whole = true; // RFC's b: the old tree is exactly this subtree, so the verifier already has it
  for (;;) {
    const n = end - start;
    if (m === n) {
      if (!whole) head.push(Buffer.from(hash(start, end)));
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      siblings.push(Buffer.from(hash(start + k, end)));
      end = start + k;
    } else {
      siblings.push(Buffer.from(hash(start, start + k)));
      start += k;
      m -= k;
      whole = false;
    }
  }
  return head.concat(siblings.reverse());
}

/** RFC 9162 §2.1.4.2. Returns false rather than throwing on malformed input. */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) {
    return false;
  }
  if (oldRoot.length !== HASH_SIZE || newRoot.length !== HASH_SIZE) return false;
  if (oldSize === 0) return proof.length === 0 && hashEquals(oldRoot, emptyRoot());
  if (oldSize === newSize) return proof.length === 0 && hashEquals(oldRoot, newRoot);
  if (proof.length === 0) return false;
  for (const p of proof) if (p.length !== HASH_SIZE) return false;
  const path: readonly Uint8Array[] = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hashEquals(fr, oldRoot) && hashEquals(sr, newRoot);
}

/**
 * The frontier of the first `size` leaves, read from a SubtreeHasher: the perfect subtrees of
 * size's binary decomposition. Used to prove a range's left boundary.
 */
export function frontierAt(source: readonly Uint8Array[] | SubtreeHasher, size: number): Frontier {
  assertSize('frontier size', size);
  const hash = asHasher(source);
  const roots: Uint8Array[] = [];
  let start = 0;
  let remaining = size;
  while (remaining > 0) {
    let k = 1;
    while (k * 2 <= remaining) k *= 2;
    roots.push(hash(start, start + k));
    start += k;
    remaining -= k;
  }
  return new Frontier(size, roots);
}
