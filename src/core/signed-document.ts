import * as crypto from 'node:crypto';
import * as fs from 'node:fs/promises';
import { canonicalJson } from './canonical-json.ts';

/**
 * Documents the platform signs so that anyone can check them offline with only its public key
 * (registration certificates, data-use agreements): SM2 (GB/T 32918.2) over SM3 with an empty
 * signer ID — as the audit log's tree heads — over the body's canonical JSON (keys sorted at
 * every level, no insignificant whitespace, UTF-8). The signature names the key by the SM3 of
 * its SPKI DER, the fingerprint the audit log publishes.
 */

export const SIGNATURE_ALGORITHM = 'SM2 (GB/T 32918.2) over SM3, signer ID empty';

export interface DocumentSignature {
  algorithm: string;
  publicKeyFingerprint: string;
  value: string;
}

/** SM3 of the key's SPKI DER, hex: the same fingerprint the audit log publishes. */
export function keyFingerprint(publicKey: crypto.KeyObject | string): string {
  const key = typeof publicKey === 'string' ? crypto.createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sm3').update(der).digest('hex');
}

/** Signs a body with a private key already loaded as an SM2 key (the audit service's platformKey()). */
export function signBody(
  body: Record<string, unknown>,
  privateKey: crypto.KeyObject,
  fingerprint: string,
): DocumentSignature {
  const value = crypto.sign('sm3', Buffer.from(canonicalJson(body), 'utf8'), privateKey);
  return {
    algorithm: SIGNATURE_ALGORITHM,
    publicKeyFingerprint: fingerprint,
    value: value.toString('base64'),
  };
}

export type SignatureCheck = 'ok' | 'wrong_key' | 'bad_signature';

/**
 * Checks a body's signature against a public key (PEM). The key is parsed from PEM, which is what
 * makes OpenSSL treat it as SM2 (src/audit/signing.ts explains the trap).
 */
export function checkSignature(body: unknown, signature: unknown, publicKeyPem: string): SignatureCheck {
  const sig = signature as Partial<DocumentSignature> | null;
  if (typeof sig?.value !== 'string') return 'bad_signature';
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey(publicKeyPem);
  } catch {
    return 'wrong_key';
  }
  if (sig.publicKeyFingerprint !== keyFingerprint(key)) return 'wrong_key';
  try {
    const ok = crypto.verify(
      'sm3',
      Buffer.from(canonicalJson(body), 'utf8'),
      key,
      Buffer.from(sig.value, 'base64'),
    );
    return ok ? 'ok' : 'bad_signature';
  } catch {
    return 'bad_signature';
  }
}

/**
 * Reads a signed document and a public key for an offline check at the command line: the parsed
 * JSON and the PEM, or the exit code (2: the key cannot be read, 1: the file is not JSON) and why.
 */
export async function readSignedFile(
  file: string,
  pubkeyFile: string,
): Promise<{ document: unknown; publicKeyPem: string } | { code: number; lines: string[] }> {
  let publicKeyPem: string;
  try {
    publicKeyPem = await fs.readFile(pubkeyFile, 'utf8');
  } catch (err) {
    return {
      code: 2,
      lines: [`FAILED: cannot read the public key ${pubkeyFile}: ${(err as Error).message}`],
    };
  }
  try {
    return { document: JSON.parse(await fs.readFile(file, 'utf8')), publicKeyPem };
  } catch (err) {
    return { code: 1, lines: [`FAILED: cannot read ${file} as JSON: ${(err as Error).message}`] };
  }
}
