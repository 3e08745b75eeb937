import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  emptyRoot,
  Frontier,
  fromHex,
  frontierAt,
  inclusionProof,
  leafHash,
  memoryHasher,
  nodeHash,
  rootOf,
  sm3,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';

// --- Naive reference, transcribed from RFC 9162 §2.1 with its own hashing, to check against ---

const H = (...parts: Uint8Array[]) => createHash('sm3').update(Buffer.concat(parts)).digest();
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}
function MTH(D: Buffer[]): Buffer {
  if (D.length === 0) return H();
  if (D.length === 1) return H(LEAF, D[0]!);
  const s = k(D.length);
  return H(NODE, MTH(D.slice(0, s)), MTH(D.slice(s)));
}
function PATH(m: number, D: Buffer[]): Buffer[] {
  if (D.length === 1) return [];
  const s = k(D.length);
  return m < s
    ? [...PATH(m, D.slice(0, s)), MTH(D.slice(s))]
    : [...PATH(m - s, D.slice(s)), MTH(D.slice(0, s))];
}
function SUBPROOF(m: number, D: Buffer[], b: boolean): Buffer[] {
  const n = D.length;
  if (m === n) return b ? [] : [MTH(D)];
  const s = k(n);
  return m <= s
    ? [...SUBPROOF(m, D.slice(0, s), b), MTH(D.slice(s))]
    : [...SUBPROOF(m - s, D.slice(s), false), MTH(D.slice(0, s))];
}
const PROOF = (m: number, D: Buffer[]) => SUBPROOF(m, D, true);

const data = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`entry ${i}`));
const hex = (bs: Uint8Array[]) => bs.map(toHex);

function flipBit(b: Uint8Array, bit: number): Buffer {
  const c = Buffer.from(b);
  c[(bit >> 3) % c.length]! ^= 1 << (bit & 7);
  return c;
}

describe('SM3 known answers', () => {
  it('matches GB/T 32905 examples', () => {
    expect(toHex(sm3(Buffer.from('abc')))).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    );
    expect(toHex(sm3(Buffer.from('abcd'.repeat(16))))).toBe(
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    );
  });

  it('uses SM3("") for the empty tree and the 0x00 / 0x01 prefixes', () => {
    expect(toHex(emptyRoot())).toBe('1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b');
    expect(toHex(rootOf([]))).toBe(toHex(emptyRoot()));
    expect(toHex(leafHash(Buffer.from('abc')))).toBe(toHex(H(Buffer.from([0]), Buffer.from('abc'))));
    expect(toHex(leafHash(Buffer.from('abc')))).not.toBe(toHex(sm3(Buffer.from('abc'))));
    const a = sm3(Buffer.from('a'));
    const b = sm3(Buffer.from('b'));
    expect(toHex(nodeHash(a, b))).toBe(toHex(H(Buffer.from([1]), a, b)));
  });

  // Computed independently (Python hashlib) for leaves d(i) = the single byte i.
  it.each([
    [0, '1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b'],
    [1, 'af83a966222057ac761246a7543c580d9111014f4e5e3cb1281db33151160335'],
    [2, 'a2aeb70489c194c619e9183b17f213bb90d739f2a0d966b1ec6f7be9602723e4'],
    [3, '8d9a0a05b4b675d107412b72426a3e29940c28e8d847718f0d42dbaf0feb7a1c'],
    [7, 'a277130053cebb4f5cccfd9cbe98c6a0ba732dce3a481f1d7c7f40f67f8449fc'],
    [8, 'bfb1fc7243470c991d65e939148743fa73f1e0e2e5b172a0b57f2d14bf391e49'],
  ])('tree of %i single-byte leaves has the pinned root', (n, root) => {
    const leaves = Array.from({ length: n }, (_, i) => leafHash(Buffer.from([i])));
    expect(toHex(rootOf(leaves))).toBe(root);
  });
});

describe('rootOf', () => {
  it('equals the reference MTH for every size up to 70', () => {
    for (let n = 0; n <= 70; n++) {
      const D = data(n);
      expect(toHex(rootOf(D.map(leafHash))), `n=${n}`).toBe(toHex(MTH(D)));
    }
  });

  it('equals the reference MTH on a large, uneven tree', () => {
    const D = data(70_001);
    expect(toHex(rootOf(D.map(leafHash)))).toBe(toHex(MTH(D)));
  });

  it('hashes sub-ranges', () => {
    const D = data(20);
    const leaves = D.map(leafHash);
    expect(toHex(rootOf(leaves, 8, 16))).toBe(toHex(MTH(D.slice(8, 16))));
    expect(toHex(rootOf(leaves, 16, 20))).toBe(toHex(MTH(D.slice(16, 20))));
    expect(() => rootOf(leaves, 5, 21)).toThrow(RangeError);
  });

  it('changes when any leaf changes or leaves are reordered', () => {
    const leaves = data(9).map(leafHash);
    const root = toHex(rootOf(leaves));
    for (let i = 0; i < leaves.length; i++) {
      const changed = [...leaves];
      changed[i] = flipBit(leaves[i]!, 3);
      expect(toHex(rootOf(changed))).not.toBe(root);
    }
    const swapped = [...leaves];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    expect(toHex(rootOf(swapped))).not.toBe(root);
    expect(toHex(rootOf(leaves.slice(0, 8)))).not.toBe(root);
  });
});

describe('inclusion proofs', () => {
  it('match the reference PATH for every leaf of trees up to 40', () => {
    for (let n = 1; n <= 40; n++) {
      const D = data(n);
      const leaves = D.map(leafHash);
      const root = rootOf(leaves);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(leaves, m);
        expect(hex(proof), `n=${n} m=${m}`).toEqual(hex(PATH(m, D)));
        expect(verifyInclusion(leaves[m]!, m, n, proof, root)).toBe(true);
      }
    }
  });

  it('can be built from any SubtreeHasher', () => {
    const leaves = data(13).map(leafHash);
    const calls: [number, number][] = [];
    const base = memoryHasher(leaves);
    const counting = (s: number, e: number) => {
      calls.push([s, e]);
      return base(s, e);
    };
    const proof = inclusionProof(counting, 6, 13);
    expect(hex(proof)).toEqual(hex(inclusionProof(leaves, 6)));
    expect(calls.length).toBe(proof.length);
  });

  it('property: every proof verifies, and any bit flip or wrong index fails', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 300 })
          .chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1), fc.nat(n - 1), fc.nat(255), fc.nat())),
        ([n, m, other, bit, which]) => {
          const leaves = data(n).map(leafHash);
          const root = rootOf(leaves);
          const proof = inclusionProof(leaves, m);
          expect(verifyInclusion(leaves[m]!, m, n, proof, root)).toBe(true);
          expect(verifyInclusion(flipBit(leaves[m]!, bit), m, n, proof, root)).toBe(false);
          expect(verifyInclusion(leaves[m]!, m, n, proof, flipBit(root, bit))).toBe(false);
          if (proof.length > 0) {
            const bad = [...proof];
            const j = which % bad.length;
            bad[j] = flipBit(bad[j]!, bit);
            expect(verifyInclusion(leaves[m]!, m, n, bad, root)).toBe(false);
            expect(verifyInclusion(leaves[m]!, m, n, proof.slice(0, -1), root)).toBe(false);
            expect(verifyInclusion(leaves[m]!, m, n, [...proof, proof[0]!], root)).toBe(false);
          }
          if (other !== m) expect(verifyInclusion(leaves[m]!, other, n, proof, root)).toBe(false);
          expect(verifyInclusion(leaves[m]!, n, n, proof, root)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects out-of-range indexes when building', () => {
    expect(() => inclusionProof(data(3).map(leafHash), 3)).toThrow(RangeError);
    expect(inclusionProof([leafHash(Buffer.from('x'))], 0)).toEqual([]);
  });
});

describe('consistency proofs', () => {
  it('match the reference PROOF for every pair of sizes up to 40', () => {
    for (let n = 1; n <= 40; n++) {
      const D = data(n);
      const leaves = D.map(leafHash);
      const newRoot = rootOf(leaves);
      for (let m = 1; m < n; m++) {
        const proof = consistencyProof(leaves, m);
        expect(hex(proof), `m=${m} n=${n}`).toEqual(hex(PROOF(m, D)));
        expect(verifyConsistency(m, n, rootOf(leaves, 0, m), newRoot, proof), `m=${m} n=${n}`).toBe(true);
      }
    }
  });

  it('treats the empty tree and equal sizes as trivially consistent', () => {
    const leaves = data(5).map(leafHash);
    const root = rootOf(leaves);
    expect(consistencyProof(leaves, 0)).toEqual([]);
    expect(consistencyProof(leaves, 5)).toEqual([]);
    expect(verifyConsistency(0, 5, emptyRoot(), root, [])).toBe(true);
    expect(verifyConsistency(5, 5, root, root, [])).toBe(true);
    expect(verifyConsistency(5, 5, root, flipBit(root, 0), [])).toBe(false);
    expect(verifyConsistency(0, 5, root, root, [])).toBe(false);
    expect(verifyConsistency(3, 5, rootOf(leaves, 0, 3), root, [])).toBe(false);
    expect(verifyConsistency(6, 5, root, root, [])).toBe(false);
  });

  it('property: every proof verifies; any flipped bit, wrong root or rewritten history fails', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 300 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n - 1 }), fc.nat(255), fc.nat())),
        ([n, m, bit, which]) => {
          const leaves = data(n).map(leafHash);
          const oldRoot = rootOf(leaves, 0, m);
          const newRoot = rootOf(leaves);
          const proof = consistencyProof(leaves, m);
          expect(verifyConsistency(m, n, oldRoot, newRoot, proof)).toBe(true);
          expect(verifyConsistency(m, n, flipBit(oldRoot, bit), newRoot, proof)).toBe(false);
          expect(verifyConsistency(m, n, oldRoot, flipBit(newRoot, bit), proof)).toBe(false);
          const bad = [...proof];
          const j = which % bad.length;
          bad[j] = flipBit(bad[j]!, bit);
          expect(verifyConsistency(m, n, oldRoot, newRoot, bad)).toBe(false);
          expect(verifyConsistency(m, n, oldRoot, newRoot, proof.slice(1))).toBe(false);
          // A rewritten history: the old tree with one leaf changed is not a prefix of the new one.
          const forged = [...leaves];
          forged[which % m] = flipBit(forged[which % m]!, bit);
          expect(verifyConsistency(m, n, rootOf(forged, 0, m), newRoot, proof)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Frontier', () => {
  it('property: after each append the root equals the batch root; JSON round-trips mid-way', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.nat(200), (n, cut) => {
        const leaves = data(n).map(leafHash);
        let f = new Frontier();
        expect(toHex(f.root())).toBe(toHex(emptyRoot()));
        leaves.forEach((leaf, i) => {
          if (i === cut) f = Frontier.deserialize(f.serialize());
          f.append(leaf);
          expect(f.size).toBe(i + 1);
          expect(toHex(f.root())).toBe(toHex(rootOf(leaves, 0, i + 1)));
        });
      }),
      { numRuns: 60 },
    );
  });

  it('property: appending a perfect subtree by its root equals appending its leaves one by one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 7 }), (height, subtrees) => {
        const width = 2 ** height;
        const leaves = data(width * subtrees).map(leafHash);
        const byLeaf = new Frontier();
        const bySubtree = new Frontier();
        for (let at = 0; at < leaves.length; at += width) {
          const chunk = leaves.slice(at, at + width);
          for (const l of chunk) byLeaf.append(l);
          bySubtree.appendSubtree(rootOf(chunk), height);
          expect(bySubtree.toJSON()).toEqual(byLeaf.toJSON());
        }
      }),
      { numRuns: 40 },
    );
    const f = new Frontier();
    f.append(leafHash(Buffer.from('a')));
    expect(() => f.appendSubtree(emptyRoot(), 1)).toThrow(/cannot follow 1 leaves/);
  });

  it('stores one subtree root per set bit of the size', () => {
    const leaves = data(13).map(leafHash); // 13 = 8 + 4 + 1
    const f = new Frontier();
    for (const l of leaves) f.append(l);
    expect(hex(f.roots)).toEqual(hex([rootOf(leaves, 0, 8), rootOf(leaves, 8, 12), rootOf(leaves, 12, 13)]));
    expect(f.toJSON()).toEqual({ size: 13, roots: hex(f.roots) });
    expect(hex(frontierAt(leaves, 13).roots)).toEqual(hex(f.roots));
    const copy = f.clone();
    copy.append(leaves[0]!);
    expect(f.size).toBe(13);
  });

  it('refuses malformed serialized state', () => {
    const root = toHex(sm3(Buffer.from('x')));
    expect(() => Frontier.fromJSON({ size: 3, roots: [root] })).toThrow(/needs 2/);
    expect(() => Frontier.fromJSON({ size: 1, roots: ['zz'] })).toThrow(TypeError);
    expect(() => Frontier.fromJSON({ size: -1, roots: [] })).toThrow(RangeError);
    expect(() => Frontier.deserialize('{"size":1}')).toThrow(TypeError);
    expect(Frontier.fromJSON({ size: 1, roots: [root.toUpperCase()] }).toJSON().roots).toEqual([root]);
    expect(() => fromHex('abc')).toThrow(TypeError);
  });
});
