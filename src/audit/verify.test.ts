import { describe, expect, it } from 'vitest';
import { makeEntry, makeLog, signHeads } from '../../test/support/audit-log.ts';
import { entryLeafHash } from './entry.ts';
import { Frontier, rootOf, toHex } from './merkle.ts';
import { generateSigningKeyPair, signTreeHead } from './signing.ts';
import { type LogProblem, LogVerifier, type StoredAuditEntry, verifyLog } from './verify.ts';

const keys = generateSigningKeyPair();
const otherKeys = generateSigningKeyPair();
const SIZE = 200;
const SIZES = [0, 16, 50, 64, 100, 128, 150, 200];
const log = makeLog(SIZE);
const heads = signHeads(log, SIZES, keys.privateKeyPem);

const copy = (rows: readonly StoredAuditEntry[]) => rows.map((r) => structuredClone(r));
const at = (rows: StoredAuditEntry[], seq: number) => rows.find((r) => r.seq === seq)!;
const brief = (ps: LogProblem[]) => ps.map((p) => [p.kind, p.position, ...(p.through ? [p.through] : [])]);
const check = (rows: StoredAuditEntry[] | Iterable<StoredAuditEntry>, hs = heads) =>
  verifyLog(rows, hs, keys.publicKeyPem);
/** Heads over the part of the log before `seq` still match; every later one must not. */
const mismatchesFrom = (seq: number) =>
  SIZES.filter((s) => s >= seq).map((s) => ['root-mismatch', s] as [string, number]);

describe('verifyLog on an intact log', () => {
  it('matches every head and reports the recomputed tree', async () => {
    const report = await check(log);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      rows: SIZE,
      lastSeq: SIZE,
      treeSize: SIZE,
      headsTotal: SIZES.length,
      headsWithValidSignature: SIZES.length,
      headsMatched: SIZES.length,
      verifiedSize: SIZE,
      unsignedRows: 0,
      problemCount: 0,
    });
    const leaves = log.map((e) => entryLeafHash(e));
    expect(report.rootHash).toBe(toHex(rootOf(leaves)));
    const f = new Frontier();
    for (const l of leaves) f.append(l);
    expect(report.frontier).toEqual(f.toJSON());
  });

  it('counts rows past the last head as unsigned, not as a problem', async () => {
    const report = await check(log, heads.slice(0, 5));
    expect(report.ok).toBe(true);
    expect(report.verifiedSize).toBe(100);
    expect(report.unsignedRows).toBe(100);
  });

  it('streams from an async generator without holding the rows', async () => {
    const n = 20_000;
    const f = new Frontier();
    for (let seq = 1; seq <= n; seq++) f.append(entryLeafHash(makeEntry(seq)));
    const head = signTreeHead(
      { treeSize: n, rootHash: toHex(f.root()), timestamp: '2025-06-01T00:00:00.000Z' },
      keys.privateKeyPem,
    );
    async function* rows() {
      for (let seq = 1; seq <= n; seq++) yield makeEntry(seq);
    }
    const report = await verifyLog(rows(), [head], keys.publicKeyPem);
    expect(report).toMatchObject({ ok: true, rows: n, verifiedSize: n });
  });

  it('accepts an empty log with an empty head, and feeds rows in batches', () => {
    const [empty] = signHeads([], [0], keys.privateKeyPem);
    expect(new LogVerifier([empty!], keys.publicKeyPem).finish()).toMatchObject({ ok: true, treeSize: 0 });
    const v = new LogVerifier(heads, keys.publicKeyPem);
    v.addAll(log.slice(0, 120));
    expect(v.rows).toBe(120);
    v.addAll(log.slice(120));
    expect(v.finish().ok).toBe(true);
    expect(() => v.add(log[0]!)).toThrow(/after finish/);
  });
});

describe('verifyLog finds tampering and says where', () => {
  it('an edited detail', async () => {
    const rows = copy(log);
    (at(rows, 57).details as Record<string, unknown>).rows = 0;
    const report = await check(rows);
    expect(report.ok).toBe(false);
    expect(brief(report.problems)).toEqual([['edited', 57], ...mismatchesFrom(57)]);
    expect(report.verifiedSize).toBe(50);
    expect(report.problems[1]!.reason).toContain('seq 51..64');
  });

  it('an edit with a forged recorded hash is still caught by the signed heads, between the right heads', async () => {
    const rows = copy(log);
    const row = at(rows, 57);
    row.action = 'contract.revoke';
    row.leafHash = toHex(entryLeafHash(row));
    const report = await check(rows);
    expect(brief(report.problems)).toEqual(mismatchesFrom(57));
    expect(report.problems[0]!.reason).toMatch(/seq 51\.\.64.*head over 50 entries still matches/);
  });

  it('an edit in a store that keeps no per-row hash', async () => {
    const rows = copy(log).map(({ leafHash: _drop, ...rest }) => rest);
    at(rows, 130).objectId = 'ctr_other';
    expect(brief((await check(rows)).problems)).toEqual(mismatchesFrom(130));
  });

  it('a deleted entry', async () => {
    const rows = copy(log).filter((r) => r.seq !== 57);
    const problems = (await check(rows)).problems;
    expect(brief(problems)[0]).toEqual(['deleted', 57]);
    expect(problems.filter((p) => p.kind === 'deleted')).toHaveLength(1);
    expect(problems.every((p) => p.position >= 57)).toBe(true);
  });

  it('several consecutive deleted entries, as one problem', async () => {
    const rows = copy(log).filter((r) => r.seq < 57 || r.seq > 60);
    expect(brief((await check(rows)).problems)[0]).toEqual(['deleted', 57, 60]);
  });

  it('a deleted entry hidden by renumbering the rest', async () => {
    const rows = copy(log)
      .filter((r) => r.seq !== 57)
      .map((r) => (r.seq > 57 ? { ...r, seq: r.seq - 1 } : r));
    const problems = (await check(rows)).problems;
    expect(brief(problems)[0]).toEqual(['deleted', 57]);
    expect(problems.map((p) => p.kind)).not.toContain('edited');
    expect(problems.find((p) => p.kind === 'truncated')).toMatchObject({ position: 200 });
  });

  it('an inserted entry hidden by renumbering, even with a correct hash of its own', async () => {
    const forged = { ...makeEntry(57), action: 'contract.activate', objectId: 'ctr_fake' };
    const rows = [
      ...copy(log).filter((r) => r.seq < 57),
      { ...forged, leafHash: toHex(entryLeafHash(forged)) },
      ...copy(log)
        .filter((r) => r.seq >= 57)
        .map((r) => ({ ...r, seq: r.seq + 1 })),
    ];
    const problems = (await check(rows)).problems;
    expect(brief(problems)[0]).toEqual(['inserted', 57]);
    expect(problems.map((p) => p.kind)).not.toContain('edited');
    expect(problems[0]!.reason).toContain('seq 58..201 carry the leaf hashes of seq 57..200');
  });

  it('an extra row under an existing seq', async () => {
    const rows = copy(log);
    rows.splice(57, 0, { ...makeEntry(57), details: { injected: true } });
    const problems = (await check(rows)).problems;
    expect(brief(problems)[0]).toEqual(['inserted', 57]);
  });

  it('two swapped entries, at both positions', async () => {
    const rows = copy(log);
    const [a, b] = [rows[9]!, rows[19]!];
    rows[9] = { ...b, seq: 10 };
    rows[19] = { ...a, seq: 20 };
    const [first, ...later] = mismatchesFrom(10);
    expect(brief((await check(rows)).problems)).toEqual([['edited', 10], first, ['edited', 20], ...later]);
  });

  it('two neighbours swapped', async () => {
    const rows = copy(log);
    const [a, b] = [rows[9]!, rows[10]!];
    rows[9] = { ...b, seq: 10 };
    rows[10] = { ...a, seq: 11 };
    expect(brief((await check(rows)).problems)).toEqual([['reordered', 10, 11], ...mismatchesFrom(10)]);
  });

  it('rows delivered out of seq order', async () => {
    const rows = copy(log);
    [rows[9], rows[10]] = [rows[10]!, rows[9]!];
    const problems = (await check(rows)).problems;
    expect(problems.find((p) => p.kind === 'reordered')).toMatchObject({ position: 10 });
    expect(problems.every((p) => p.position >= 10)).toBe(true);
  });

  it('a truncated tail', async () => {
    const report = await check(copy(log).slice(0, 195));
    expect(brief(report.problems)).toEqual([['truncated', 196, 200]]);
    expect(report.verifiedSize).toBe(150);
  });

  it('a log emptied entirely', async () => {
    expect(brief((await check([])).problems)).toEqual([['truncated', 1, 200]]);
  });

  it('an entry that can no longer be encoded', async () => {
    const rows = copy(log);
    at(rows, 70).time = 'not a time';
    expect(brief((await check(rows)).problems)).toEqual([['invalid-entry', 70], ...mismatchesFrom(70)]);
  });

  it('keeps the report bounded but counts everything', async () => {
    const rows = copy(log).map(({ leafHash: _drop, ...rest }) => ({ ...rest, requestId: 'x' }));
    const report = await verifyLog(rows, heads, keys.publicKeyPem, { maxProblems: 3 });
    expect(report.problems).toHaveLength(3);
    expect(report.problemCount).toBe(SIZES.length - 1);
    expect(report.ok).toBe(false);
  });
});

describe('verifyLog checks the heads themselves', () => {
  it('reports a head with an altered root or a signature by another key, and ignores it', async () => {
    const altered = { ...heads[4]!, rootHash: heads[3]!.rootHash };
    const foreign = signTreeHead(
      { treeSize: 150, rootHash: toHex(Buffer.alloc(32)), timestamp: heads[6]!.timestamp },
      otherKeys.privateKeyPem,
    );
    const report = await check(log, [...heads.filter((_, i) => i !== 4), altered, foreign]);
    expect(brief(report.problems)).toEqual([
      ['bad-signature', 100],
      ['bad-signature', 150],
    ]);
    expect(report.headsWithValidSignature).toBe(SIZES.length - 1);
    expect(report.headsMatched).toBe(SIZES.length - 1);
  });

  it('reports a fork: two signed heads of one size with different roots', async () => {
    const evil = signTreeHead(
      { treeSize: 64, rootHash: toHex(Buffer.alloc(32, 7)), timestamp: heads[3]!.timestamp },
      keys.privateKeyPem,
    );
    const problems = (await check(log, [...heads, evil])).problems;
    expect(brief(problems)).toEqual([
      ['fork', 64],
      ['root-mismatch', 64],
    ]);
  });

  it('refuses a public key that is not SM2', () => {
    expect(() => new LogVerifier(heads, 'not a key')).toThrow(/public key/);
  });
});
