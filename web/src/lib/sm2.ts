/**
 * SM2 signature verification (GB/T 32918.2) with BigInt, for the signed audit tree heads: the
 * browser checks a head against the platform's public key itself. Verification only — no secret
 * ever reaches the console. The signer ID is empty (ENTL = 0), as the server signs (see
 * src/audit/signing.ts).
 */
import { concat, sm3 } from './sm3.ts';

const P = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF');
const A = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC');
const B = BigInt('0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93');
const N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');
const GX = BigInt('0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7');
const GY = BigInt('0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0');

type Jacobian = readonly [bigint, bigint, bigint];
const INFINITY: Jacobian = [0n, 1n, 0n];

const mod = (a: bigint, m = P): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function inverse(a: bigint, m = P): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError('not invertible');
  return mod(oldS, m);
}

function double([x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return INFINITY;
  const yy = mod(y * y);
  const s = mod(4n * x * yy);
  const zz = mod(z * z);
  const m = mod(3n * x * x + A * zz * zz);
  const x3 = mod(m * m - 2n * s);
  const y3 = mod(m * (s - x3) - 8n * yy * yy);
  const z3 = mod(2n * y * z);
  return [x3, y3, z3];
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const [x1, y1, z1] = p;
  const [x2, y2, z2] = q;
  const z1z1 = mod(z1 * z1);
  const z2z2 = mod(z2 * z2);
  const u1 = mod(x1 * z2z2);
  const u2 = mod(x2 * z1z1);
  const s1 = mod(y1 * z2 * z2z2);
  const s2 = mod(y2 * z1 * z1z1);
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1);
  const r = mod(s2 - s1);
  const hh = mod(h * h);
  const hhh = mod(h * hh);
  const x3 = mod(r * r - hhh - 2n * u1 * hh);
  const y3 = mod(r * (u1 * hh - x3) - s1 * hhh);
  const z3 = mod(h * z1 * z2);
  return [x3, y3, z3];
}

function multiply(k: bigint, point: Jacobian): Jacobian {
  let result = INFINITY;
  let addend = point;
  let n = k;
  while (n > 0n) {
    if (n & 1n) result = add(result, addend);
    addend = double(addend);
    n >>= 1n;
  }
  return result;
}

function affineX([x, , z]: Jacobian): bigint {
  const zi = inverse(z);
  return mod(x * zi * zi);
}

function isOnCurve(x: bigint, y: bigint): boolean {
  return x < P && y < P && mod(y * y - (x * x * x + A * x + B)) === 0n;
}

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function to32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let n = v;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function base64Bytes(text: string): Uint8Array {
  const bin = atob(text.replace(/\s+/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface Sm2PublicKey {
  x: bigint;
  y: bigint;
}

/** The point of an SPKI PEM on the SM2 curve (the last 65 bytes are 04 ‖ x ‖ y). */
export function parsePublicKeyPem(pem: string): Sm2PublicKey {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '');
  const der = base64Bytes(body);
  if (der.length < 65 || der[der.length - 65] !== 0x04) throw new TypeError('not an uncompressed EC point');
  const x = toBigInt(der.subarray(der.length - 64, der.length - 32));
  const y = toBigInt(der.subarray(der.length - 32));
  if (!isOnCurve(x, y)) throw new TypeError('the key is not on the SM2 curve');
  return { x, y };
}

/** DER SEQUENCE { INTEGER r, INTEGER s } → [r, s]. */
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
  if (inner.length !== len) throw new TypeError('truncated DER signature');
  const r = derInteger(inner, 0);
  const s = derInteger(inner, r.next);
  if (s.next !== inner.length) throw new TypeError('trailing bytes in DER signature');
  return [toBigInt(r.value), toBigInt(s.value)];
}

function derInteger(bytes: Uint8Array, start: number): { value: Uint8Array; next: number } {
  if (bytes[start] !== 0x02) throw new TypeError('bad DER integer');
  const len = bytes[start + 1]!;
  if (len & 0x80) throw new TypeError('DER integer too long');
  const value = bytes.subarray(start + 2, start + 2 + len);
  if (value.length !== len) throw new TypeError('truncated DER integer');
  return { value, next: start + 2 + len };
}

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ x ‖ y) with the empty ID. */
function zValue(key: Sm2PublicKey): Uint8Array {
  return sm3(concat(Uint8Array.of(0, 0), to32(A), to32(B), to32(GX), to32(GY), to32(key.x), to32(key.y)));
}

export function sm2Verify(message: Uint8Array, signatureDer: Uint8Array, key: Sm2PublicKey): boolean {
  let r: bigint;
  let s: bigint;
  try {
    [r, s] = parseDerSignature(signatureDer);
  } catch {
    return false;
  }
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const e = toBigInt(sm3(concat(zValue(key), message)));
  const t = mod(r + s, N);
  if (t === 0n) return false;
  const point = add(multiply(s, [GX, GY, 1n]), multiply(t, [key.x, key.y, 1n]));
  if (point[2] === 0n) return false;
  return mod(e + affineX(point), N) === r;
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
