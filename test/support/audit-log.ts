/** Deterministic audit logs for the tests of this folder. */
import type { AuditEntry } from '../../src/audit/entry.ts';
import { entryLeafHash, FIRST_SEQ } from '../../src/audit/entry.ts';
import { Frontier, toHex } from '../../src/audit/merkle.ts';
import { type SignedTreeHead, signTreeHead } from '../../src/audit/signing.ts';
import type { StoredAuditEntry } from '../../src/audit/verify.ts';

const ACTIONS = [
  'resource.create',
  'application.submit',
  'application.approve',
  'contract.activate',
  'gateway.query',
];

export function makeEntry(seq: number): AuditEntry {
  return {
    seq,
    time: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(),
    actorId: `usr_${seq % 7}`,
    orgId: seq % 3 === 0 ? null : `org_${seq % 5}`,
    action: ACTIONS[seq % ACTIONS.length]!,
    objectType: 'contract',
    objectId: `ctr_${seq}`,
    requestId: `req_${seq}`,
    details: { rows: seq * 10, fields: ['姓名', '身份证号'].slice(0, 1 + (seq % 2)), note: `第${seq}条` },
  };
}

/** Rows as a store would return them: the entry plus the leaf hash recorded when it was appended. */
export function makeLog(count: number): StoredAuditEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const e = makeEntry(FIRST_SEQ + i);
    return { ...e, leafHash: toHex(entryLeafHash(e)) };
  });
}

/** Signs a head at each of the given sizes, computed from the (untampered) log. */
export function signHeads(
  log: readonly StoredAuditEntry[],
  sizes: readonly number[],
  privateKeyPem: string,
): SignedTreeHead[] {
  const wanted = new Set(sizes);
  const heads: SignedTreeHead[] = [];
  const f = new Frontier();
  const sign = () =>
    heads.push(
      signTreeHead(
        {
          treeSize: f.size,
          rootHash: toHex(f.root()),
          timestamp: new Date(Date.UTC(2025, 0, 2) + f.size * 1000).toISOString(),
        },
        privateKeyPem,
      ),
    );
  if (wanted.has(0)) sign();
  for (const e of log) {
    f.append(entryLeafHash(e));
    if (wanted.has(f.size)) sign();
  }
  return heads;
}
