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
): Promise<void> {
  const key = loadPrivateKey(privateKeyPem);
  // PBES2 (PBKDF2 + AES-256-CBC) encrypted PKCS#8 when a passphrase is given.
  const text = passphrase
    ? (key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string)
    : privateKeyPem;
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
          `cannot decrypt the audit signing key ${file}: wrong AUDIT_KEY_PASSPHRASE?`,
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
): Promise<SigningKeyPair & { created: boolean }> {
  try {
    const privateKeyPem = await readPrivateKeyFile(file, passphrase);
    return { privateKeyPem, publicKeyPem: publicKeyPemOf(privateKeyPem), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = generateSigningKeyPair();
  try {
    await writePrivateKeyFile(file, pair.privateKeyPem, passphrase);
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
