/**
 * What the console needs to check an audit entry by itself: the entry's canonical bytes (the same
 * encoding as src/audit/entry.ts), its RFC 9162 leaf hash over SM3, and the inclusion proof walk
 * up to a root. A test holds the entry encoding, hashing and proof walk equal to the server's.
 */
// The same canonical JSON as the server's (a pure module), so the bytes cannot drift apart.
import { canonicalJson } from '../../../src/core/canonical-json.ts';
import { bytesEqual, concat, fromHex, sm3, toHex } from './sm3.ts';

export interface AuditEntryLike {
  seq: number;
  time: string;
  actorId: string | null;
  orgId: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  requestId: string | null;
  details: unknown;
}

export function encodeEntry(e: AuditEntryLike): Uint8Array {
  const text = canonicalJson({
    action: e.action,
    actorId: e.actorId ?? null,
    details: e.details === undefined ? {} : e.details,
    objectId: e.objectId ?? null,
    objectType: e.objectType,
    orgId: e.orgId ?? null,
    requestId: e.requestId ?? null,
    seq: e.seq,
    time: e.time,
    v: 1,
  });
  return new TextEncoder().encode(text);
}

export function leafHash(entryBytes: Uint8Array): Uint8Array {
  return sm3(concat(Uint8Array.of(0x00), entryBytes));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sm3(concat(Uint8Array.of(0x01), left, right));
}

export function entryLeafHashHex(e: AuditEntryLike): string {
  return toHex(leafHash(encodeEntry(e)));
}

/**
 * RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or null when the proof's shape does
 * not fit the index and size. Arithmetic rather than bit operators keeps sizes up to 2^53 exact.
 */
export function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array | null {
  if (!(leafIndex >= 0 && leafIndex < treeSize)) return null;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export function verifyInclusionHex(
  leafIndex: number,
  treeSize: number,
  leafHex: string,
  proofHex: readonly string[],
  rootHex: string,
): boolean {
  const root = rootFromInclusionProof(leafIndex, treeSize, fromHex(leafHex), proofHex.map(fromHex));
  return root !== null && bytesEqual(root, fromHex(rootHex));
}
