/**
 * SM2 signing of tree heads, on node:crypto alone.
 *
 * A trap in Node 20 / OpenSSL 3.0: a key straight out of generateKeyPairSync('ec', {namedCurve:
 * 'SM2'}) is an ordinary EC key, and crypto.sign('sm3', …) with it yields ECDSA over the SM2
 * curve — not an SM2 signature. Only a key parsed from PEM/DER becomes an OpenSSL SM2 key and
 * signs per GB/T 32918.2 (SM2 with Z = SM3(ENTL‖ID‖a‖b‖G‖P), e = SM3(Z‖M)). Every key therefore
 * goes through PEM here, and a known-answer test refuses to run if the platform's behaviour
 * changes. Node cannot set the signer ID, so OpenSSL's default applies: the empty ID (ENTL = 0),
 * not GM/T 0009's "1234567812345678"; tools that verify our heads must be told to use an empty ID.
 */

import type { KeyObject } from 'node:crypto';
import * as crypto from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fromHex, HASH_SIZE, sm3, toHex } from './merkle.ts';

export type KeyErrorCode =
  | 'KEY_INVALID'
  | 'KEY_NOT_SM2'
  | 'KEY_FILE_PERMISSIONS'
  | 'KEY_FILE_OWNER'
  | 'KEY_FILE_EXISTS'
  | 'KEY_PASSPHRASE_WRONG'
  | 'KEY_FILE_TAMPERED'
  | 'SM2_UNAVAILABLE';

export class AuditKeyError extends Error {
  readonly code: KeyErrorCode;
  constructor(code: KeyErrorCode, message: string) {
    super(message);
    this.name = 'AuditKeyError';
    this.code = code;
  }
}

export interface SigningKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

// DER prefix of an SPKI holding an uncompressed point on the SM2 curve:
// SEQ { SEQ { id-ecPublicKey, 1.2.156.10197.1.301 }, BIT STRING 04… }
const SM2_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d03420004', 'hex');

// A genuine GB/T 32918.2 signature (empty signer ID) of SELF_TEST_MESSAGE, checked independently
// in signing.test.ts. If verification rejects it, this platform's "SM2" is something else.
const SELF_TEST_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEJ7o+6JndeusEOQFDwONg3WA0Iq2n
Qwy1KT+oFeSDfvKdVB25PhdnElR5MiA0ZgbswRYoVwq5N/Vq7tQjrWhduA==
-----END PUBLIC KEY-----
`;
const SELF_TEST_MESSAGE = 'shutong sm2 self-test';
const SELF_TEST_SIGNATURE =
  'MEQCIACyXlytDjRy5eyaPeGeTQ4VVckIOws9BBtfsTd7MRLjAiAQeqX9m3h1Nr3RY0pmCx5iAjldiOhF50yT6RUhhiEnXQ==';

let selfTested = false;

// Keys this module has already parsed and checked, so callers that load once pay once.
const checkedKeys = new WeakSet<KeyObject>();

function assertSm2Available(): void {
  if (selfTested) return;
  let ok = false;
  try {
    const key = crypto.createPublicKey(SELF_TEST_PUBLIC_KEY);
    ok = crypto.verify(
      'sm3',
      Buffer.from(SELF_TEST_MESSAGE),
      key,
      Buffer.from(SELF_TEST_SIGNATURE, 'base64'),
    );
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new AuditKeyError(
      'SM2_UNAVAILABLE',
      `this Node.js ${process.version} (OpenSSL ${process.versions.openssl}) does not verify GB/T 32918 SM2 ` +
        'signatures with an empty signer ID; audit heads cannot be signed or checked on it',
    );
  }
  selfTested = true;
}

function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function assertSm2PublicKey(key: KeyObject): void {
  if (key.type !== 'public') throw new AuditKeyError('KEY_INVALID', 'expected a public key');
  let der: Buffer;
  try {
    der = spkiDer(key);
  } catch {
    throw new AuditKeyError('KEY_NOT_SM2', 'the key is not an SM2 key');
  }
  if (
    der.length !== SM2_SPKI_PREFIX.length + 64 ||
    !der.subarray(0, SM2_SPKI_PREFIX.length).equals(SM2_SPKI_PREFIX)
  ) {
    throw new AuditKeyError('KEY_NOT_SM2', 'the key is not on the SM2 curve (OID 1.2.156.10197.1.301)');
  }
}

function pemOf(key: KeyObject): string {
  return key.type === 'private'
    ? (key.export({ type: 'pkcs8', format: 'pem' }) as string)
    : (key.export({ type: 'spki', format: 'pem' }) as string);
}

/** Parses (or re-parses) a public key so that OpenSSL treats it as SM2. */
export function loadPublicKey(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string' && checkedKeys.has(key)) return key;
  assertSm2Available();
  let parsed: KeyObject;
  try {
    parsed = crypto.createPublicKey(typeof key === 'string' ? key : pemOf(key));
  } catch (err) {
    throw new AuditKeyError('KEY_INVALID', `cannot parse the public key: ${(err as Error).message}`);
  }
  assertSm2PublicKey(parsed);
  checkedKeys.add(parsed);
  return parsed;
}

/**
 * Parses (or re-parses) a private key so that OpenSSL treats it as SM2, and proves it signs
 * SM2: a probe signature must verify through the public-key path the self-test vouched for.
 */
export function loadPrivateKey(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string' && checkedKeys.has(key)) return key;
  assertSm2Available();
  let parsed: KeyObject;
  try {
    parsed = crypto.createPrivateKey(typeof key === 'string' ? key : pemOf(key));
  } catch (err) {
    throw new AuditKeyError('KEY_INVALID', `cannot parse the private key: ${(err as Error).message}`);
  }
  const pub = crypto.createPublicKey(pemOf(crypto.createPublicKey(parsed)));
  assertSm2PublicKey(pub);
  const probe = Buffer.from('shutong sm2 key probe');
  if (!crypto.verify('sm3', probe, pub, crypto.sign('sm3', probe, parsed))) {
    throw new AuditKeyError(
      'SM2_UNAVAILABLE',
      'the private key does not produce SM2 signatures on this platform',
    );
  }
  checkedKeys.add(parsed);
  return parsed;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2' });
  const privateKeyPem = pemOf(privateKey);
  return { privateKeyPem, publicKeyPem: publicKeyPemOf(privateKeyPem) };
}

export function publicKeyPemOf(privateKey: string | KeyObject): string {
  return pemOf(crypto.createPublicKey(loadPrivateKey(privateKey)));
}

/** SM3 of the SPKI DER, hex: a short name for a key, e.g. to show next to the served public key. */
export function publicKeyFingerprint(publicKey: string | KeyObject): string {
  return toHex(sm3(spkiDer(loadPublicKey(publicKey))));
}

/** SM2 signature (DER-encoded r, s) over SM3 per GB/T 32918.2, signer ID empty. */
export function sm2Sign(data: Uint8Array, privateKey: string | KeyObject): Buffer {
  return crypto.sign('sm3', data, loadPrivateKey(privateKey));
}

export function sm2Verify(data: Uint8Array, signature: Uint8Array, publicKey: string | KeyObject): boolean {
  const key = loadPublicKey(publicKey);
  try {
    return crypto.verify('sm3', data, key, signature);
  } catch {
    return false; // malformed DER is just a bad signature
  }
}

// ---------------------------------------------------------------------------------------------
// Key at rest with SM4 (national algorithms), beside the PBES2 AES-256-CBC PKCS#8 that OpenSSL writes

/** How a key file is encrypted when a passphrase is given: `AUDIT_KEY_CIPHER`. */
export type KeyCipher = 'aes-256-cbc' | 'sm4';

export const SEALED_KEY_LABEL = 'SHUTONG SM4 ENCRYPTED PRIVATE KEY';
const SEAL_BEGIN = `-----BEGIN ${SEALED_KEY_LABEL}-----`;
const SEAL_END = `-----END ${SEALED_KEY_LABEL}-----`;
// Informative for a reader of the file; the authoritative parameters are in the sealed header.
const SEAL_HEADERS = 'Version: 1\nCipher: SM4-CBC\nKDF: PBKDF2-HMAC-SM3\nMAC: HMAC-SM3 (encrypt-then-MAC)';
const SEAL_MAGIC = Buffer.from('shutong/key-seal\0', 'latin1');
const SEAL_VERSION = 1;
const SALT_BYTES = 16;
const IV_BYTES = 16;
const CHECK_BYTES = 16;
const TAG_BYTES = 32;
// magic ‖ version(1) ‖ uint32be iterations ‖ salt ‖ iv ‖ passphrase check
const HEADER_BYTES = SEAL_MAGIC.length + 1 + 4 + SALT_BYTES + IV_BYTES + CHECK_BYTES;
/**
 * PBKDF2-HMAC-SM3 rounds written into new files: 0.26–0.44 s once per process start on the shared
 * 2-core test machine (SM3 is roughly ten times slower than SHA-256 in OpenSSL). Stored in the file, so a later version can
 * raise it without breaking old files.
 */
export const SEAL_ITERATIONS = 300_000;
// A file asking for more would let whoever can write it stall every start; fewer is not a key
// this code wrote (tests seal with few rounds for speed, never below this).
const MIN_ITERATIONS = 1_000;
const MAX_ITERATIONS = 10_000_000;

/**
 * One PBKDF2 block (32 bytes of SM3) split by HMAC into independent keys for SM4, for the MAC and
 * for the passphrase check, so a second PBKDF2 block (which would double the start-up cost without
 * adding to an attacker's) is not needed.
 */
function sealKeys(passphrase: string, salt: Buffer, iterations: number) {
  const master = crypto.pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, iterations, 32, 'sm3');
  const sub = (label: string) => crypto.createHmac('sm3', master).update(label).digest();
  return {
    enc: sub('shutong/key-seal/v1 enc').subarray(0, 16),
    mac: sub('shutong/key-seal/v1 mac'),
    check: sub('shutong/key-seal/v1 check').subarray(0, CHECK_BYTES),
  };
}

function armor(body: Buffer): string {
  const b64 = body.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `${SEAL_BEGIN}\n${SEAL_HEADERS}\n\n${lines.join('\n')}\n${SEAL_END}\n`;
}

/**
 * Encrypts a PKCS#8 private key with SM4-CBC under a key from PBKDF2-HMAC-SM3 (random salt and
 * IV), then MACs header and ciphertext with HMAC-SM3 (encrypt-then-MAC: nothing is decrypted
 * before the whole file is authenticated, so a tampered file never reaches the PKCS#8 parser).
 * The header also carries a short passphrase check, so a wrong passphrase and a damaged file give
 * different errors.
 */
export function sealPrivateKey(
  privateKeyPem: string,
  passphrase: string,
  options: { iterations?: number } = {},
): string {
  const iterations = options.iterations ?? SEAL_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new RangeError(`PBKDF2 iterations must be ${MIN_ITERATIONS}..${MAX_ITERATIONS}: ${iterations}`);
  }
  const der = loadPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const salt = crypto.randomBytes(SALT_BYTES);
  const iv = crypto.randomBytes(IV_BYTES);
  const keys = sealKeys(passphrase, salt, iterations);
  const header = Buffer.alloc(HEADER_BYTES);
  let o = SEAL_MAGIC.copy(header, 0);
  o = header.writeUInt8(SEAL_VERSION, o);
  o = header.writeUInt32BE(iterations, o);
  o += salt.copy(header, o);
  o += iv.copy(header, o);
  keys.check.copy(header, o);
  const cipher = crypto.createCipheriv('sm4-cbc', keys.enc, iv);
  const ciphertext = Buffer.concat([cipher.update(der), cipher.final()]);
  const tag = crypto.createHmac('sm3', keys.mac).update(header).update(ciphertext).digest();
  return armor(Buffer.concat([header, ciphertext, tag]));
}

export function isSealedPrivateKey(text: string): boolean {
  return text.includes(SEAL_BEGIN);
}

function tampered(detail: string): AuditKeyError {
  return new AuditKeyError(
    'KEY_FILE_TAMPERED',
    `SM4 加密的审计签名密钥已损坏或被篡改（${detail}），拒绝使用 / the SM4-encrypted audit signing key is damaged or was tampered with (${detail}); refusing to use it`,
  );
}

/**
 * Opens what sealPrivateKey wrote. The text must be exactly the armor sealPrivateKey writes for
 * its bytes (only the final newline may be missing): a lenient base64 decoder would skip a
 * changed character, so the armor is rebuilt and compared instead of trusted.
 */
export function unsealPrivateKey(text: string, passphrase: string): string {
  const start = text.indexOf(SEAL_BEGIN);
  const end = text.indexOf(SEAL_END);
  if (start !== 0 || end < 0) throw tampered('armor / 封装格式');
  const headerEnd = text.indexOf('\n\n');
  if (headerEnd < 0 || text.slice(SEAL_BEGIN.length + 1, headerEnd) !== SEAL_HEADERS) {
    throw tampered('unknown version or headers / 版本或头部不符');
  }
  const b64 = text.slice(headerEnd + 2, end).replace(/\n/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw tampered('base64');
  const body = Buffer.from(b64, 'base64');
  const canonical = armor(body);
  if (text !== canonical && `${text}\n` !== canonical) throw tampered('armor / 封装格式');
  if (
    body.length < HEADER_BYTES + 16 + TAG_BYTES ||
    !body.subarray(0, SEAL_MAGIC.length).equals(SEAL_MAGIC)
  ) {
    throw tampered('header / 头部');
  }
  let o = SEAL_MAGIC.length;
  const version = body.readUInt8(o);
  o += 1;
  if (version !== SEAL_VERSION) throw tampered(`version ${version} / 版本 ${version}`);
  const iterations = body.readUInt32BE(o);
  o += 4;
  if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw tampered(`PBKDF2 iterations ${iterations} / 迭代次数 ${iterations}`);
  }
  const salt = body.subarray(o, o + SALT_BYTES);
  o += SALT_BYTES;
  const iv = body.subarray(o, o + IV_BYTES);
  o += IV_BYTES;
  const check = body.subarray(o, o + CHECK_BYTES);
  const header = body.subarray(0, HEADER_BYTES);
  const ciphertext = body.subarray(HEADER_BYTES, body.length - TAG_BYTES);
  const tag = body.subarray(body.length - TAG_BYTES);
  const keys = sealKeys(passphrase, salt, iterations);
  if (!crypto.timingSafeEqual(keys.check, check)) {
    // A changed salt, iteration count or check value looks the same; the passphrase is by far
    // the likelier cause, and the message names both.
    throw new AuditKeyError(
      'KEY_PASSPHRASE_WRONG',
      '无法解密审计签名密钥：口令错误（或文件头已损坏），请检查 AUDIT_KEY_PASSPHRASE / ' +
        'cannot decrypt the audit signing key: wrong passphrase (or a damaged file header); check AUDIT_KEY_PASSPHRASE',
    );
  }
  const expected = crypto.createHmac('sm3', keys.mac).update(header).update(ciphertext).digest();
  if (!crypto.timingSafeEqual(expected, tag)) throw tampered('HMAC-SM3 tag mismatch / 完整性校验失败');
  let der: Buffer;
  try {
    const decipher = crypto.createDecipheriv('sm4-cbc', keys.enc, iv);
    der = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // Authenticated yet undecryptable: written by something other than sealPrivateKey.
    throw tampered('padding / 填充');
  }
  return crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

/** The key file's text: plain PKCS#8, PBES2 AES-256-CBC PKCS#8, or SM4-sealed. */
export function encryptPrivateKey(privateKeyPem: string, passphrase: string, cipher: KeyCipher): string {
  if (cipher === 'sm4') return sealPrivateKey(privateKeyPem, passphrase);
  return loadPrivateKey(privateKeyPem).export({
    type: 'pkcs8',
    format: 'pem',
    cipher: 'aes-256-cbc',
    passphrase,
  }) as string;
}

// ---------------------------------------------------------------------------------------------
// Key file

/**
 * Writes a new private key file readable only by its owner. Written under a temporary name and
 * hard-linked into place, so a crash never leaves a half-written key and an existing key is never
 * overwritten (two nodes starting at once cannot clobber each other's key).
 */
export async function writePrivateKeyFile(
  file: string,
  privateKeyPem: string,
  passphrase?: string,
  cipher: KeyCipher = 'aes-256-cbc',
): Promise<void> {
  loadPrivateKey(privateKeyPem);
  // Encrypted (PBES2 AES-256-CBC PKCS#8, or SM4-sealed) only when a passphrase is given.
  const text = passphrase ? encryptPrivateKey(privateKeyPem, passphrase, cipher) : privateKeyPem;
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.chmod(0o600); // in case the file system ignores the mode given at creation
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AuditKeyError(
        'KEY_FILE_EXISTS',
        `a key file already exists at ${file}; refusing to overwrite it`,
      );
    }
    throw err;
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
}

/**
 * Reads a private key file, refusing one that others could read: a key anyone could have copied
 * can no longer vouch for the log. Checks the opened file itself, so a swap between check and
 * read cannot slip through.
 */
export async function readPrivateKeyFile(file: string, passphrase?: string): Promise<string> {
  const handle = await fs.open(file, fsConstants.O_RDONLY);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new AuditKeyError('KEY_INVALID', `${file} is not a regular file`);
    if (process.platform !== 'win32') {
      const uid = process.getuid?.();
      if (uid !== undefined && uid !== 0 && st.uid !== uid) {
        throw new AuditKeyError(
          'KEY_FILE_OWNER',
          `the audit signing key ${file} belongs to uid ${st.uid}, not to this process (uid ${uid}); refusing to use it`,
        );
      }
      const perms = st.mode & 0o777;
      if ((perms & 0o077) !== 0) {
        throw new AuditKeyError(
          'KEY_FILE_PERMISSIONS',
          `the audit signing key ${file} is readable or writable by group or others (mode ${perms.toString(8).padStart(4, '0')}); ` +
            `restrict it with: chmod 600 ${file}`,
        );
      }
    }
    const text = await handle.readFile('utf8');
    // Either encryption is read whatever AUDIT_KEY_CIPHER says: it only chooses how new files are written.
    if (isSealedPrivateKey(text)) {
      if (!passphrase) {
        throw new AuditKeyError(
          'KEY_INVALID',
          `审计签名密钥 ${file} 已用 SM4 加密，请设置 AUDIT_KEY_PASSPHRASE / the audit signing key ${file} is SM4-encrypted; set AUDIT_KEY_PASSPHRASE`,
        );
      }
      let pem: string;
      try {
        pem = unsealPrivateKey(text, passphrase);
      } catch (err) {
        if (err instanceof AuditKeyError) {
          throw new AuditKeyError(err.code, `${file}: ${err.message}`);
        }
        throw err;
      }
      loadPrivateKey(pem);
      return pem;
    }
    if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
      if (!passphrase) {
        throw new AuditKeyError(
          'KEY_INVALID',
          `the audit signing key ${file} is encrypted; set AUDIT_KEY_PASSPHRASE`,
        );
      }
      let decrypted: KeyObject;
      try {
        decrypted = crypto.createPrivateKey({ key: text, format: 'pem', passphrase });
      } catch {
        throw new AuditKeyError(
          'KEY_INVALID',
          // PBES2 has no MAC: a wrong passphrase and a damaged file look alike (bad padding or DER).
          `无法解密审计签名密钥 ${file}：口令错误或文件已损坏，请检查 AUDIT_KEY_PASSPHRASE / ` +
            `cannot decrypt the audit signing key ${file}: wrong AUDIT_KEY_PASSPHRASE, or the file is damaged`,
        );
      }
      const pem = decrypted.export({ type: 'pkcs8', format: 'pem' }) as string;
      loadPrivateKey(pem);
      return pem;
    }
    loadPrivateKey(text);
    return text;
  } finally {
    await handle.close();
  }
}

/** The platform key: read it, or generate and store it on first start. */
export async function loadOrCreateSigningKey(
  file: string,
  passphrase?: string,
  cipher: KeyCipher = 'aes-256-cbc',
): Promise<SigningKeyPair & { created: boolean }> {
  try {
    const privateKeyPem = await readPrivateKeyFile(file, passphrase);
    return { privateKeyPem, publicKeyPem: publicKeyPemOf(privateKeyPem), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = generateSigningKeyPair();
  try {
    await writePrivateKeyFile(file, pair.privateKeyPem, passphrase, cipher);
  } catch (err) {
    // Another process won the race to create it; use theirs.
    if (err instanceof AuditKeyError && err.code === 'KEY_FILE_EXISTS') {
      const privateKeyPem = await readPrivateKeyFile(file, passphrase);
      return { privateKeyPem, publicKeyPem: publicKeyPemOf(privateKeyPem), created: false };
    }
    throw err;
  }
  return { ...pair, created: true };
}

// ---------------------------------------------------------------------------------------------
// Signed tree heads

export interface TreeHead {
  treeSize: number;
  /** MTH of the first treeSize leaves, lowercase hex. */
  rootHash: string;
  /** UTC, as Date#toISOString writes it. */
  timestamp: string;
}

export interface SignedTreeHead extends TreeHead {
  /** SM2 signature over encodeTreeHead(head), DER, base64. */
  signature: string;
}

const TREE_HEAD_DOMAIN = Buffer.from('shutong/audit/tree-head/v1\0', 'utf8');
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function timestampMillis(timestamp: string): number {
  if (typeof timestamp !== 'string' || !ISO_UTC_MS.test(timestamp)) {
    throw new TypeError(
      `tree head timestamp must be a UTC ISO-8601 string like 2024-01-31T08:00:00.000Z: ${timestamp}`,
    );
  }
  const ms = Date.parse(timestamp);
  if (!Number.isFinite(ms) || ms < 0 || new Date(ms).toISOString() !== timestamp) {
    throw new TypeError(`tree head timestamp is not a valid instant after 1970: ${timestamp}`);
  }
  return ms;
}

/**
 * The signed bytes: a domain string (so the key's signatures cannot be replayed as anything
 * else), then fixed-width fields, so no two heads share an encoding:
 *   "shutong/audit/tree-head/v1" 0x00 ‖ uint64be treeSize ‖ uint64be timestamp (ms since epoch) ‖ root (32)
 */
export function encodeTreeHead(head: TreeHead): Buffer {
  if (!Number.isSafeInteger(head.treeSize) || head.treeSize < 0) {
    throw new TypeError(`tree head size must be a non-negative integer: ${head.treeSize}`);
  }
  const root = fromHex(head.rootHash);
  const out = Buffer.alloc(TREE_HEAD_DOMAIN.length + 8 + 8 + HASH_SIZE);
  let o = TREE_HEAD_DOMAIN.copy(out, 0);
  o = out.writeBigUInt64BE(BigInt(head.treeSize), o);
  o = out.writeBigUInt64BE(BigInt(timestampMillis(head.timestamp)), o);
  root.copy(out, o);
  return out;
}

export function signTreeHead(head: TreeHead, privateKey: string | KeyObject): SignedTreeHead {
  const normalized: TreeHead = {
    treeSize: head.treeSize,
    rootHash: head.rootHash.toLowerCase(),
    timestamp: head.timestamp,
  };
  const signature = sm2Sign(encodeTreeHead(normalized), privateKey).toString('base64');
  return { ...normalized, signature };
}

/** False for a bad signature and for a head too malformed to encode. */
export function verifyTreeHead(head: SignedTreeHead, publicKey: string | KeyObject): boolean {
  let bytes: Buffer;
  try {
    bytes = encodeTreeHead(head);
  } catch {
    return false;
  }
  if (typeof head.signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(head.signature)) return false;
  return sm2Verify(bytes, Buffer.from(head.signature, 'base64'), publicKey);
}
