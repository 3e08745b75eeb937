/**
 * SM2 signature verification (GB/T 32918.2) for the signed audit tree heads: the browser checks a
 * head against the platform's public key itself. The curve arithmetic is the maintained
 * sm-crypto-v2 (on @noble/curves); what stays here is strict input handling the library leaves
 * lax — the SPKI key must be a valid point, the DER signature must parse exactly with r and s in
 * [1, n−1] (so one signature has one encoding). The signer ID is empty (ENTL = 0), as the server
 * signs (src/audit/signing.ts). Verification only — no secret ever reaches the console.
 */
import { sm2 } from 'sm-crypto-v2';
import { concat, toHex } from './sm3.ts';

/** The order n of the SM2 base point (GB/T 32918.5). */
const N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');

export interface Sm2PublicKey {
  /** Uncompressed point, 04 ‖ x ‖ y, in hex. */
  readonly hex: string;
}

function base64Bytes(text: string): Uint8Array {
  const bin = atob(text.replace(/\s+/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The point of an SPKI PEM on the SM2 curve (the last 65 bytes are 04 ‖ x ‖ y). */
export function parsePublicKeyPem(pem: string): Sm2PublicKey {
  const der = base64Bytes(pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, ''));
  if (der.length < 65 || der[der.length - 65] !== 0x04) throw new TypeError('not an uncompressed EC point');
  const hex = toHex(der.subarray(der.length - 65));
  let valid = false;
  try {
    valid = sm2.verifyPublicKey(hex);
  } catch {
    valid = false;
  }
  if (!valid) throw new TypeError('the key is not on the SM2 curve');
  return { hex };
}

/** DER SEQUENCE { INTEGER r, INTEGER s } → [r, s], refusing any other shape. */
function parseDerSignature(der: Uint8Array): [bigint, bigint] {
  if (der[0] !== 0x30) throw new TypeError('bad DER signature');
  let len = der[1]!;
  let at = 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + der[at + i]!;
    at += count;
  }
  const inner = der.subarray(at, at + len);
  if (inner.length !== len || at + len !== der.length) throw new TypeError('bad DER signature length');
  const r = derInteger(inner, 0);
  const s = derInteger(inner, r.next);
  if (s.next !== inner.length) throw new TypeError('trailing bytes in DER signature');
  return [r.value, s.value];
}

function derInteger(bytes: Uint8Array, start: number): { value: bigint; next: number } {
  if (bytes[start] !== 0x02) throw new TypeError('bad DER integer');
  const len = bytes[start + 1]!;
  if (len & 0x80 || len === 0) throw new TypeError('bad DER integer length');
  const value = bytes.subarray(start + 2, start + 2 + len);
  if (value.length !== len) throw new TypeError('truncated DER integer');
  return { value: BigInt(`0x${toHex(value)}`), next: start + 2 + len };
}

export function sm2Verify(message: Uint8Array, signatureDer: Uint8Array, key: Sm2PublicKey): boolean {
  try {
    const [r, s] = parseDerSignature(signatureDer);
    if (r < 1n || r >= N || s < 1n || s >= N) return false;
    const rs = r.toString(16).padStart(64, '0') + s.toString(16).padStart(64, '0');
    return sm2.doVerifySignature(message, rs, key.hex, { hash: true, der: false, userId: '' });
  } catch {
    return false;
  }
}

export function sm2VerifyBase64(message: Uint8Array, signatureBase64: string, key: Sm2PublicKey): boolean {
  try {
    return sm2Verify(message, base64Bytes(signatureBase64), key);
  } catch {
    return false;
  }
}

/** The bytes a tree head's signature covers (src/audit/signing.ts encodeTreeHead). */
export function encodeTreeHead(head: { treeSize: number; timestamp: string; rootHash: string }): Uint8Array {
  const domain = new TextEncoder().encode('shutong/audit/tree-head/v1\0');
  const numbers = new Uint8Array(16);
  const view = new DataView(numbers.buffer);
  view.setBigUint64(0, BigInt(head.treeSize));
  view.setBigUint64(8, BigInt(Date.parse(head.timestamp)));
  const root = new Uint8Array(32);
  for (let i = 0; i < 32; i++) root[i] = Number.parseInt(head.rootHash.slice(i * 2, i * 2 + 2), 16);
  return concat(domain, numbers, root);
}

export function verifyTreeHeadSignature(
  head: { treeSize: number; timestamp: string; rootHash: string; signature: string },
  key: Sm2PublicKey,
): boolean {
  return sm2VerifyBase64(encodeTreeHead(head), head.signature, key);
}
