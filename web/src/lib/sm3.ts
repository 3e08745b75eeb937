/**
 * SM3 (GB/T 32905-2016) in plain TypeScript, so the console checks audit proofs in the browser
 * without trusting the server: WebCrypto has no SM3. Small inputs only (entries, tree nodes).
 */

const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];

const rotl = (x: number, n: number): number => {
  const k = n % 32;
  return k === 0 ? x >>> 0 : ((x << k) | (x >>> (32 - k))) >>> 0;
};
const p0 = (x: number) => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
const p1 = (x: number) => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;

function compress(v: Uint32Array, block: Uint8Array, offset: number, w: Uint32Array, w1: Uint32Array): void {
  for (let j = 0; j < 16; j++) {
    const o = offset + j * 4;
    w[j] = ((block[o]! << 24) | (block[o + 1]! << 16) | (block[o + 2]! << 8) | block[o + 3]!) >>> 0;
  }
  for (let j = 16; j < 68; j++) {
    w[j] = (p1(w[j - 16]! ^ w[j - 9]! ^ rotl(w[j - 3]!, 15)) ^ rotl(w[j - 13]!, 7) ^ w[j - 6]!) >>> 0;
  }
  for (let j = 0; j < 64; j++) w1[j] = (w[j]! ^ w[j + 4]!) >>> 0;
  let a = v[0]!;
  let b = v[1]!;
  let c = v[2]!;
  let d = v[3]!;
  let e = v[4]!;
  let f = v[5]!;
  let g = v[6]!;
  let h = v[7]!;
  for (let j = 0; j < 64; j++) {
    const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
    const a12 = rotl(a, 12);
    const ss1 = rotl((a12 + e + rotl(t, j)) >>> 0, 7);
    const ss2 = (ss1 ^ a12) >>> 0;
    const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
    const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
    const tt1 = ((ff >>> 0) + d + ss2 + w1[j]!) >>> 0;
    const tt2 = ((gg >>> 0) + h + ss1 + w[j]!) >>> 0;
    d = c;
    c = rotl(b, 9);
    b = a;
    a = tt1;
    h = g;
    g = rotl(f, 19);
    f = e;
    e = p0(tt2);
  }
  v[0] = (v[0]! ^ a) >>> 0;
  v[1] = (v[1]! ^ b) >>> 0;
  v[2] = (v[2]! ^ c) >>> 0;
  v[3] = (v[3]! ^ d) >>> 0;
  v[4] = (v[4]! ^ e) >>> 0;
  v[5] = (v[5]! ^ f) >>> 0;
  v[6] = (v[6]! ^ g) >>> 0;
  v[7] = (v[7]! ^ h) >>> 0;
}

export function sm3(data: Uint8Array): Uint8Array {
  const bitLength = data.length * 8;
  const padded = new Uint8Array(Math.ceil((data.length + 9) / 64) * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  // 64-bit big-endian bit length; inputs here are far below 2^53 bits.
  const high = Math.floor(bitLength / 2 ** 32);
  const low = bitLength >>> 0;
  const end = padded.length;
  padded[end - 8] = (high >>> 24) & 0xff;
  padded[end - 7] = (high >>> 16) & 0xff;
  padded[end - 6] = (high >>> 8) & 0xff;
  padded[end - 5] = high & 0xff;
  padded[end - 4] = (low >>> 24) & 0xff;
  padded[end - 3] = (low >>> 16) & 0xff;
  padded[end - 2] = (low >>> 8) & 0xff;
  padded[end - 1] = low & 0xff;
  const v = Uint32Array.from(IV);
  const w = new Uint32Array(68);
  const w1 = new Uint32Array(64);
  for (let offset = 0; offset < padded.length; offset += 64) compress(v, padded, offset, w, w1);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    out[i * 4] = v[i]! >>> 24;
    out[i * 4 + 1] = (v[i]! >>> 16) & 0xff;
    out[i * 4 + 2] = (v[i]! >>> 8) & 0xff;
    out[i * 4 + 3] = v[i]! & 0xff;
  }
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError(`not hex: ${hex.slice(0, 20)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
