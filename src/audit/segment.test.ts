import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeLog, signHeads } from '../../test/support/audit-log.ts';
import { type AuditEntry, entryLeafHash } from './entry.ts';
import { fromHex, memoryHasher, toHex } from './merkle.ts';
import { type AuditSegment, buildSegment, SEGMENT_FORMAT, verifySegment } from './segment.ts';
import { generateSigningKeyPair } from './signing.ts';

const keys = generateSigningKeyPair();
const otherKeys = generateSigningKeyPair();
const LOG_SIZE = 57;
const log = makeLog(LOG_SIZE);
const leaves = log.map((e) => entryLeafHash(e));
const [head] = signHeads(log, [LOG_SIZE], keys.privateKeyPem);

const entriesOf = (from: number, to: number) => log.slice(from - 1, to);
/** What an auditor holds: the file, parsed. */
const exported = (from: number, to: number): AuditSegment =>
  JSON.parse(JSON.stringify(buildSegment(entriesOf(from, to), head!, leaves)));

describe('buildSegment', () => {
  it('writes the documented format', () => {
    const seg = exported(5, 20);
    expect(seg.format).toBe(SEGMENT_FORMAT);
    expect([seg.from, seg.to]).toEqual([5, 20]);
    expect(seg.entries.map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => 5 + i));
    expect(seg.entries[0]).not.toHaveProperty('leafHash');
    expect(seg.leafHashes).toEqual(leaves.slice(4, 20).map(toHex));
    expect(seg.head).toEqual(head);
    // 4 leaves before the range = one perfect subtree; 20 → 57 needs a handful of hashes
    expect(seg.proof.left).toEqual([toHex(memoryHasher(leaves)(0, 4))]);
    expect(seg.proof.consistency.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(LOG_SIZE)));
  });

  it('refuses gaps and heads that do not reach the range', () => {
    const gap = [log[3]!, log[5]!];
    expect(() => buildSegment(gap, head!, leaves)).toThrow(/consecutive/);
    expect(() => buildSegment([], head!, leaves)).toThrow(RangeError);
    const [small] = signHeads(log, [10], keys.privateKeyPem);
    expect(() => buildSegment(entriesOf(5, 20), small!, leaves)).toThrow(/covers 10/);
  });
});

describe('verifySegment', () => {
  it('accepts every range of the log, offline, with only the public key', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: LOG_SIZE }), fc.integer({ min: 1, max: LOG_SIZE }), (x, y) => {
        const [from, to] = x <= y ? [x, y] : [y, x];
        expect(verifySegment(exported(from, to), keys.publicKeyPem)).toEqual({ ok: true, problems: [] });
      }),
      { numRuns: 120 },
    );
  });

  it('accepts a one-entry segment at the very start of a larger log', () => {
    const bigger = makeLog(100);
    const [bigHead] = signHeads(bigger, [100], keys.privateKeyPem);
    const seg = buildSegment(
      bigger.slice(0, 1),
      bigHead!,
      bigger.map((e) => entryLeafHash(e)),
    );
    expect(verifySegment(seg, keys.publicKeyPem).ok).toBe(true);
  });

  it('fails with another key', () => {
    const result = verifySegment(exported(5, 20), otherKeys.publicKeyPem);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([{ position: null, reason: expect.stringMatching(/signature/) }]);
  });

  it('points at an edited entry', () => {
    const seg = exported(5, 20);
    (seg.entries[7]!.details as Record<string, unknown>).rows = 1;
    expect(verifySegment(seg, keys.publicKeyPem)).toEqual({
      ok: false,
      problems: [{ position: 12, reason: expect.stringMatching(/edited/) }],
    });
  });

  it('catches an entry edited together with its leaf hash', () => {
    const seg = exported(5, 20);
    seg.entries[7]!.actorId = 'usr_mallory';
    seg.leafHashes[7] = toHex(entryLeafHash(seg.entries[7]!));
    const result = verifySegment(seg, keys.publicKeyPem);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { position: null, reason: expect.stringMatching(/not at those positions/) },
    ]);
  });

  it('catches two entries swapped, with their hashes, at both positions', () => {
    const seg = exported(5, 20);
    const swap = <T>(xs: T[]) => ([xs[2], xs[9]] = [xs[9]!, xs[2]!]);
    swap(seg.entries);
    swap(seg.leafHashes);
    const positions = verifySegment(seg, keys.publicKeyPem).problems.map((p) => p.position);
    expect(positions).toEqual([7, 14, null]);
  });

  it('catches a dropped entry', () => {
    const seg = exported(5, 20);
    seg.entries.splice(3, 1);
    seg.leafHashes.splice(3, 1);
    expect(verifySegment(seg, keys.publicKeyPem).problems).toEqual([
      { position: null, reason: expect.stringMatching(/should hold 16 entries/) },
    ]);
  });

  it('catches a range shifted to claim other positions', () => {
    const seg = exported(5, 20);
    const moved: AuditSegment = { ...seg, from: 6, to: 21 };
    const result = verifySegment(moved, keys.publicKeyPem);
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ position: 6 });
  });

  it('catches a tampered proof, root or head', () => {
    const bad: AuditSegment[] = [];
    const seg = exported(5, 20);
    bad.push({ ...seg, proof: { ...seg.proof, consistency: seg.proof.consistency.slice(1) } });
    bad.push({ ...seg, proof: { ...seg.proof, left: [toHex(fromHex(seg.proof.left[0]!).reverse())] } });
    bad.push({ ...seg, proof: { ...seg.proof, left: [] } });
    bad.push({ ...seg, head: { ...seg.head, treeSize: 58 } });
    bad.push({ ...seg, head: { ...seg.head, rootHash: seg.leafHashes[0]! } });
    bad.push({ ...seg, format: 'something-else' as typeof SEGMENT_FORMAT });
    bad.push({ ...seg, leafHashes: seg.leafHashes.map((h) => h.toUpperCase()) });
    bad.push(null as unknown as AuditSegment);
    bad.push({ ...seg, entries: seg.entries.map((e, i) => (i === 0 ? (null as unknown as AuditEntry) : e)) });
    for (const s of bad)
      expect(verifySegment(s, keys.publicKeyPem).ok, JSON.stringify(s)?.slice(0, 80)).toBe(false);
  });

  it('still proves entries against a newer head signed over a longer log', () => {
    const longer = [...log, ...makeLog(80).slice(LOG_SIZE)];
    const [newHead] = signHeads(longer, [80], keys.privateKeyPem);
    const seg = buildSegment(
      entriesOf(50, 57),
      newHead!,
      longer.map((e) => entryLeafHash(e)),
    );
    expect(verifySegment(seg, keys.publicKeyPem).ok).toBe(true);
    expect(seg.proof.consistency.length).toBeGreaterThan(0);
  });
});
