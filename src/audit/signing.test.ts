import * as crypto from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyRoot, sm3, toHex } from './merkle.ts';
import {
  AuditKeyError,
  encodeTreeHead,
  generateSigningKeyPair,
  loadOrCreateSigningKey,
  loadPrivateKey,
  publicKeyFingerprint,
  publicKeyPemOf,
  readPrivateKeyFile,
  SEALED_KEY_LABEL,
  type SignedTreeHead,
  sealPrivateKey,
  signTreeHead,
  sm2Sign,
  sm2Verify,
  unsealPrivateKey,
  verifyTreeHead,
  writePrivateKeyFile,
} from './signing.ts';

// --- An independent GB/T 32918.2 verifier in BigInt arithmetic, to prove that what node:crypto
// produces really is an SM2 signature (and not ECDSA over the SM2 curve). ---

const big = (h: string) => BigInt(`0x${h.replace(/\s/g, '')}`);
const P = big('FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFF');
const A = big('FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFC');
const B = big('28E9FA9E 9D9F5E34 4D5A9E4B CF6509A7 F39789F5 15AB8F92 DDBCBD41 4D940E93');
const N = big('FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123');
const G: Point = [
  big('32C4AE2C 1F198119 5F990446 6A39C994 8FE30BBF F2660BE1 715A4589 334C74C7'),
  big('BC3736A2 F4F6779C 59BDCEE3 6B692153 D0A9877C C62A4740 02DF32E5 2139F0A0'),
];
type Point = [bigint, bigint] | null;
const mod = (x: bigint, m: bigint) => ((x % m) + m) % m;
function inv(x: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(x, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}
function add(p: Point, q: Point): Point {
  if (!p) return q;
  if (!q) return p;
  const [x1, y1] = p;
  const [x2, y2] = q;
  let l: bigint;
  if (x1 === x2) {
    if (mod(y1 + y2, P) === 0n) return null;
    l = mod((3n * x1 * x1 + A) * inv(2n * y1, P), P);
  } else {
    l = mod((y2 - y1) * inv(x2 - x1, P), P);
  }
  const x3 = mod(l * l - x1 - x2, P);
  return [x3, mod(l * (x1 - x3) - y1, P)];
}
function mul(k: bigint, p: Point): Point {
  let r: Point = null;
  let q = p;
  while (k > 0n) {
    if (k & 1n) r = add(r, q);
    q = add(q, q);
    k >>= 1n;
  }
  return r;
}
const b32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
const asInt = (b: Uint8Array) => big(Buffer.from(b).toString('hex'));
function derToRS(sig: Buffer): [bigint, bigint] {
  // SEQUENCE { INTEGER r, INTEGER s }, short-form lengths (a 256-bit signature always fits)
  expect(sig[0]).toBe(0x30);
  const rLen = sig[3]!;
  const r = asInt(sig.subarray(4, 4 + rLen));
  const sLen = sig[5 + rLen]!;
  return [r, asInt(sig.subarray(6 + rLen, 6 + rLen + sLen))];
}
function publicPoint(pem: string): [bigint, bigint] {
  const der = crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' });
  const pt = der.subarray(der.length - 64);
  return [asInt(pt.subarray(0, 32)), asInt(pt.subarray(32))];
}
function referenceSm2Verify(msg: Uint8Array, sig: Buffer, pem: string, id = ''): boolean {
  const [r, s] = derToRS(sig);
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const [px, py] = publicPoint(pem);
  const idBytes = Buffer.from(id, 'utf8');
  const entl = Buffer.alloc(2);
  entl.writeUInt16BE(idBytes.length * 8);
  const z = sm3(Buffer.concat([entl, idBytes, b32(A), b32(B), b32(G![0]), b32(G![1]), b32(px), b32(py)]));
  const e = asInt(sm3(Buffer.concat([z, msg])));
  const t = mod(r + s, N);
  if (t === 0n) return false;
  const x = add(mul(s, G), mul(t, [px, py]));
  return x !== null && mod(e + x[0], N) === r;
}
function referenceEcdsaVerify(msg: Uint8Array, sig: Buffer, pem: string): boolean {
  const [r, s] = derToRS(sig);
  const e = asInt(sm3(msg));
  const w = inv(s, N);
  const x = add(mul(mod(e * w, N), G), mul(mod(r * w, N), publicPoint(pem)));
  return x !== null && mod(x[0], N) === r;
}

const pair = generateSigningKeyPair();
const other = generateSigningKeyPair();
const head = {
  treeSize: 1234,
  rootHash: toHex(sm3(Buffer.from('root'))),
  timestamp: '2025-03-01T08:30:00.123Z',
};

describe('SM2 on this Node', () => {
  it('signs with genuine GB/T 32918.2 SM2 (empty signer ID), not ECDSA', () => {
    const msg = Buffer.from('数通 audit head');
    const sig = sm2Sign(msg, pair.privateKeyPem);
    expect(referenceSm2Verify(msg, sig, pair.publicKeyPem)).toBe(true);
    expect(referenceSm2Verify(Buffer.from('数通 audit heae'), sig, pair.publicKeyPem)).toBe(false);
    expect(referenceSm2Verify(msg, sig, pair.publicKeyPem, '1234567812345678')).toBe(false);
    expect(referenceEcdsaVerify(msg, sig, pair.publicKeyPem)).toBe(false);
  });

  it('turns a raw generateKeyPairSync key (which node would use for ECDSA) into an SM2 signer', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const msg = Buffer.from('probe');
    // The trap this module exists to avoid:
    expect(referenceEcdsaVerify(msg, crypto.sign('sm3', msg, privateKey), publicPem)).toBe(true);
    const sig = sm2Sign(msg, privateKey);
    expect(referenceSm2Verify(msg, sig, publicPem)).toBe(true);
    expect(sm2Verify(msg, sig, publicKey)).toBe(true);
    expect(publicKeyPemOf(privateKey)).toBe(publicPem);
  });

  it('verifies the built-in self-test vector independently', async () => {
    const source = await fs.readFile(new URL('./signing.ts', import.meta.url), 'utf8');
    const pem = /SELF_TEST_PUBLIC_KEY = `([^`]+)`/.exec(source)![1]!;
    const message = /SELF_TEST_MESSAGE = '([^']+)'/.exec(source)![1]!;
    const signature = /SELF_TEST_SIGNATURE =\s*'([^']+)'/.exec(source)![1]!;
    expect(referenceSm2Verify(Buffer.from(message), Buffer.from(signature, 'base64'), pem)).toBe(true);
  });

  it('round-trips keys through PEM', () => {
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(publicKeyPemOf(pair.privateKeyPem)).toBe(pair.publicKeyPem);
    const sig = sm2Sign(Buffer.from('m'), loadPrivateKey(pair.privateKeyPem));
    expect(sm2Verify(Buffer.from('m'), sig, pair.publicKeyPem)).toBe(true);
    expect(sm2Verify(Buffer.from('m'), sig, other.publicKeyPem)).toBe(false);
    expect(sm2Verify(Buffer.from('m'), Buffer.from('not der'), pair.publicKeyPem)).toBe(false);
  });

  it('names a key by the SM3 of its SPKI', () => {
    const der = crypto.createPublicKey(pair.publicKeyPem).export({ type: 'spki', format: 'der' });
    expect(publicKeyFingerprint(pair.publicKeyPem)).toBe(toHex(sm3(der)));
    expect(publicKeyFingerprint(other.publicKeyPem)).not.toBe(publicKeyFingerprint(pair.publicKeyPem));
  });

  it('refuses keys that are not SM2', () => {
    const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = p256.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => loadPrivateKey(pem)).toThrow(expect.objectContaining({ code: 'KEY_NOT_SM2' }));
    const ed = crypto.generateKeyPairSync('ed25519');
    expect(() => sm2Verify(Buffer.from('m'), Buffer.alloc(64), ed.publicKey)).toThrow(AuditKeyError);
    expect(() => loadPrivateKey('garbage')).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
  });
});

describe('signed tree heads', () => {
  it('encodes to fixed-width bytes behind a domain string', () => {
    const bytes = encodeTreeHead(head);
    const domain = Buffer.from('shutong/audit/tree-head/v1\0');
    expect(bytes.length).toBe(domain.length + 8 + 8 + 32);
    expect(bytes.subarray(0, domain.length)).toEqual(domain);
    expect(bytes.readBigUInt64BE(domain.length)).toBe(1234n);
    expect(bytes.readBigUInt64BE(domain.length + 8)).toBe(BigInt(Date.parse(head.timestamp)));
    expect(toHex(bytes.subarray(domain.length + 16))).toBe(head.rootHash);
  });

  it('verifies with the signing key and fails with another key or any altered field', () => {
    const sth = signTreeHead(head, pair.privateKeyPem);
    expect(
      referenceSm2Verify(encodeTreeHead(sth), Buffer.from(sth.signature, 'base64'), pair.publicKeyPem),
    ).toBe(true);
    expect(verifyTreeHead(sth, pair.publicKeyPem)).toBe(true);
    expect(verifyTreeHead(JSON.parse(JSON.stringify(sth)), pair.publicKeyPem)).toBe(true);
    expect(verifyTreeHead(sth, other.publicKeyPem)).toBe(false);
    const altered: SignedTreeHead[] = [
      { ...sth, treeSize: 1235 },
      { ...sth, treeSize: 0 },
      { ...sth, rootHash: toHex(emptyRoot()) },
      { ...sth, rootHash: `${sth.rootHash.slice(0, 63)}${sth.rootHash[63] === '0' ? '1' : '0'}` },
      { ...sth, timestamp: '2025-03-01T08:30:00.124Z' },
      { ...sth, signature: signTreeHead({ ...head, treeSize: 1 }, pair.privateKeyPem).signature },
      { ...sth, signature: '' },
      { ...sth, signature: 'not base64!' },
      { ...sth, rootHash: 'nothex' },
      { ...sth, timestamp: 'yesterday' },
    ];
    for (const h of altered) expect(verifyTreeHead(h, pair.publicKeyPem), JSON.stringify(h)).toBe(false);
  });

  it('refuses to sign malformed heads', () => {
    expect(() => signTreeHead({ ...head, treeSize: -1 }, pair.privateKeyPem)).toThrow(/size/);
    expect(() => signTreeHead({ ...head, timestamp: '2025-03-01 08:30' }, pair.privateKeyPem)).toThrow(
      /timestamp/,
    );
    expect(() => signTreeHead({ ...head, rootHash: 'abc' }, pair.privateKeyPem)).toThrow(/hash/);
  });
});

describe('private key file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shutong-audit-key-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is created on first start with mode 0600 and loaded unchanged afterwards', async () => {
    const file = path.join(dir, 'keys', 'audit-sm2.pem');
    const first = await loadOrCreateSigningKey(file);
    expect(first.created).toBe(true);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateSigningKey(file);
    expect(second.created).toBe(false);
    expect(second.privateKeyPem).toBe(first.privateKeyPem);
    expect(second.publicKeyPem).toBe(first.publicKeyPem);
    expect((await fs.readdir(path.dirname(file))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('is never overwritten', async () => {
    const file = path.join(dir, 'existing.pem');
    await writePrivateKeyFile(file, pair.privateKeyPem);
    await expect(writePrivateKeyFile(file, other.privateKeyPem)).rejects.toMatchObject({
      code: 'KEY_FILE_EXISTS',
    });
    expect(await readPrivateKeyFile(file)).toBe(pair.privateKeyPem);
  });

  it.each(['640', '604', '644', '660', '620', '602'])(
    'is refused when group or others have any access (mode %s)',
    async (octal) => {
      const mode = Number.parseInt(octal, 8);
      const file = path.join(dir, `loose-${mode.toString(8)}.pem`);
      await writePrivateKeyFile(file, pair.privateKeyPem);
      await fs.chmod(file, mode);
      const err = await readPrivateKeyFile(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuditKeyError);
      expect(err).toMatchObject({ code: 'KEY_FILE_PERMISSIONS' });
      expect((err as Error).message).toContain(`chmod 600 ${file}`);
      expect((err as Error).message).toContain(`0${mode.toString(8)}`);
      await expect(loadOrCreateSigningKey(file)).rejects.toMatchObject({ code: 'KEY_FILE_PERMISSIONS' });
    },
  );

  it('is accepted when only the owner can read it (0400)', async () => {
    const file = path.join(dir, 'readonly.pem');
    await writePrivateKeyFile(file, pair.privateKeyPem);
    await fs.chmod(file, 0o400);
    expect(await readPrivateKeyFile(file)).toBe(pair.privateKeyPem);
  });

  it('is refused when it does not hold an SM2 private key', async () => {
    const file = path.join(dir, 'junk.pem');
    await fs.writeFile(file, 'not a key', { mode: 0o600 });
    await expect(readPrivateKeyFile(file)).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });

  it('is encrypted (PBES2) with a passphrase, and useless without the right one', async () => {
    const file = path.join(dir, 'encrypted.pem');
    const created = await loadOrCreateSigningKey(file, 'correct horse battery staple');
    const text = await fs.readFile(file, 'utf8');
    expect(text).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expect(text).not.toContain(created.privateKeyPem.split('\n')[1]!);
    const again = await loadOrCreateSigningKey(file, 'correct horse battery staple');
    expect(again.created).toBe(false);
    expect(again.publicKeyPem).toBe(created.publicKeyPem);
    await expect(readPrivateKeyFile(file)).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: expect.stringContaining('AUDIT_KEY_PASSPHRASE'),
    });
    await expect(readPrivateKeyFile(file, 'wrong')).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });
});

describe('the key file sealed with SM4 (AUDIT_KEY_CIPHER=sm4)', () => {
  let dir: string;
  // A few keys, made once: generating one per property run would dominate the run time.
  const keys = Array.from({ length: 4 }, () => generateSigningKeyPair().privateKeyPem);
  const pass = '国密 passphrase 123';
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shutong-sm4-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('the platform has what it needs: SM4-CBC, SM3 HMAC and PBKDF2-HMAC-SM3', () => {
    expect(crypto.getCiphers()).toContain('sm4-cbc');
    expect(crypto.getHashes()).toContain('sm3');
  });

  it('is written sealed, read back with the passphrase, and refused clearly without it or with another', async () => {
    const file = path.join(dir, 'sm4.pem');
    const created = await loadOrCreateSigningKey(file, pass, 'sm4');
    expect(created.created).toBe(true);
    const text = await fs.readFile(file, 'utf8');
    expect(text.startsWith(`-----BEGIN ${SEALED_KEY_LABEL}-----\nVersion: 1\nCipher: SM4-CBC\n`)).toBe(true);
    expect(text).not.toContain(created.privateKeyPem.split('\n')[1]!);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateSigningKey(file, pass, 'sm4');
    expect(again.created).toBe(false);
    expect(again.privateKeyPem).toBe(created.privateKeyPem);
    await expect(readPrivateKeyFile(file)).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: expect.stringMatching(/SM4.*AUDIT_KEY_PASSPHRASE/),
    });
    const wrong = (await readPrivateKeyFile(file, 'wrong').catch((e: unknown) => e)) as AuditKeyError;
    expect(wrong.code).toBe('KEY_PASSPHRASE_WRONG');
    expect(wrong.message).toContain('口令错误');
    expect(wrong.message).toContain('wrong passphrase');
    expect(wrong.message).toContain(file);
  });

  it('a changed byte in the ciphertext is named as tampering, not as a wrong passphrase', async () => {
    const file = path.join(dir, 'tampered.pem');
    await writePrivateKeyFile(file, keys[0]!, pass, 'sm4');
    const text = await fs.readFile(file, 'utf8');
    const lines = text.split('\n');
    const at = lines.length - 4; // a base64 line inside the ciphertext, before the tag's line
    const line = lines[at]!;
    lines[at] = `${line[0] === 'A' ? 'B' : 'A'}${line.slice(1)}`;
    await fs.rm(file);
    await fs.writeFile(file, lines.join('\n'), { mode: 0o600 });
    const err = (await readPrivateKeyFile(file, pass).catch((e: unknown) => e)) as AuditKeyError;
    expect(err.code).toBe('KEY_FILE_TAMPERED');
    expect(err.message).toContain('篡改');
    expect(err.message).toContain('tampered');
  });

  it('either format is read whatever AUDIT_KEY_CIPHER says; the cipher only chooses how new files are written', async () => {
    const aes = path.join(dir, 'aes.pem');
    const sm4 = path.join(dir, 'sm4-read.pem');
    await writePrivateKeyFile(aes, keys[1]!, pass, 'aes-256-cbc');
    await writePrivateKeyFile(sm4, keys[2]!, pass, 'sm4');
    expect(await fs.readFile(aes, 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expect((await loadOrCreateSigningKey(aes, pass, 'sm4')).privateKeyPem).toBe(keys[1]);
    expect((await loadOrCreateSigningKey(sm4, pass, 'aes-256-cbc')).privateKeyPem).toBe(keys[2]);
  });

  it('AUDIT_KEY_CIPHER accepts sm4 or aes-256-cbc only', async () => {
    const { loadConfig } = await import('../core/config.ts');
    expect(loadConfig({ AUDIT_KEY_CIPHER: 'sm4' }).auditKeyCipher).toBe('sm4');
    expect(loadConfig({}).auditKeyCipher).toBe('aes-256-cbc');
    expect(() => loadConfig({ AUDIT_KEY_CIPHER: 'des' })).toThrow(/AUDIT_KEY_CIPHER/);
  });

  it('the witness key (`shutong witness serve`) is sealed the same way when a passphrase is given', async () => {
    const { witnessIdentity } = await import('./witness.ts');
    const wdir = path.join(dir, 'witness');
    const id = await witnessIdentity(wdir, undefined, { passphrase: pass, cipher: 'sm4' });
    expect(await fs.readFile(path.join(wdir, 'witness-key.pem'), 'utf8')).toContain(SEALED_KEY_LABEL);
    expect((await witnessIdentity(wdir, undefined, { passphrase: pass })).fingerprint).toBe(id.fingerprint);
    await expect(witnessIdentity(wdir, undefined, { passphrase: 'wrong' })).rejects.toMatchObject({
      code: 'KEY_PASSPHRASE_WRONG',
    });
  });

  // Few PBKDF2 rounds: the property is about the format, not the work factor.
  const seal = (key: string, passphrase: string) => sealPrivateKey(key, passphrase, { iterations: 1000 });

  it('property: any key and passphrase round-trip, with a fresh salt and IV each time', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...keys),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        (key, passphrase) => {
          const sealed = seal(key, passphrase);
          expect(unsealPrivateKey(sealed, passphrase)).toBe(key);
          expect(seal(key, passphrase)).not.toBe(sealed);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: any single-byte change of the file is refused', () => {
    const sealed = keys.map((k) => Buffer.from(seal(k, pass), 'utf8'));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: keys.length - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (which, position, flip) => {
          const bytes = Buffer.from(sealed[which]!);
          const at = position % bytes.length;
          bytes[at] = bytes[at]! ^ flip;
          let error: unknown;
          try {
            unsealPrivateKey(bytes.toString('utf8'), pass);
          } catch (err) {
            error = err;
          }
          expect(error).toBeInstanceOf(AuditKeyError);
          expect(['KEY_FILE_TAMPERED', 'KEY_PASSPHRASE_WRONG']).toContain((error as AuditKeyError).code);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('where the key lives by default', () => {
  it('outside the data directory (user config dir), unless AUDIT_KEY_FILE or an existing key there says otherwise', async () => {
    const { loadConfig } = await import('../core/config.ts');
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'shutong-home-'));
    try {
      const dataDir = path.join(home, 'data');
      const fresh = loadConfig({ DATA_DIR: dataDir, XDG_CONFIG_HOME: path.join(home, 'cfg') });
      expect(fresh.auditKeyFile.startsWith(path.join(home, 'cfg', 'shutong') + path.sep)).toBe(true);
      expect(fresh.auditKeyFile.startsWith(dataDir)).toBe(false);
      const other = loadConfig({
        DATA_DIR: path.join(home, 'data2'),
        XDG_CONFIG_HOME: path.join(home, 'cfg'),
      });
      expect(other.auditKeyFile).not.toBe(fresh.auditKeyFile);
      await fs.mkdir(dataDir, { recursive: true });
      await fs.writeFile(path.join(dataDir, 'audit-signing-key.pem'), 'x');
      expect(loadConfig({ DATA_DIR: dataDir, XDG_CONFIG_HOME: path.join(home, 'cfg') }).auditKeyFile).toBe(
        path.join(dataDir, 'audit-signing-key.pem'),
      );
      expect(loadConfig({ DATA_DIR: dataDir, AUDIT_KEY_FILE: path.join(home, 'k.pem') }).auditKeyFile).toBe(
        path.join(home, 'k.pem'),
      );
    } finally {
      await fs.rm(home, { recursive: true, force: true });
    }
  });
});
