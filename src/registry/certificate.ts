import type * as crypto from 'node:crypto';
import { checkSignature, type DocumentSignature, signBody } from '../core/signed-document.ts';

/**
 * Registration certificates: the registry's record of a registration result (26号 issues a
 * 登记结果查询码; a signed, verifiable record of it is Shutong's addition). A certificate is JSON,
 * signed with the platform's SM2 key (GB/T 32918.2 over SM3, empty signer ID, as the audit log's
 * tree heads) over its canonical form: keys sorted, no whitespace, UTF-8. Verifying needs only
 * the file and the public key, no server: `shutong registry verify-certificate FILE --pubkey K`.
 *
 * Pure: no database, no capability — the CLI and tests import it as is.
 */

export const CERTIFICATE_TYPE = 'shutong.registration-certificate';
export interface SignedCertificate {
  certificate: Record<string, unknown>;
  signature: DocumentSignature;
}

/** Signs with a private key already loaded as an SM2 key (the audit service's platformKey()). */
export function signCertificate(
  certificate: Record<string, unknown>,
  privateKey: crypto.KeyObject,
  fingerprint: string,
): SignedCertificate {
  return { certificate, signature: signBody(certificate, privateKey, fingerprint) };
}

export interface CertificateCheck {
  valid: boolean;
  reason: 'ok' | 'malformed' | 'wrong_key' | 'bad_signature';
  code: string | null;
  version: number | null;
}

/** Checks a signed certificate against a public key (PEM). */
export function verifyCertificate(document: unknown, publicKeyPem: string): CertificateCheck {
  const doc = document as Partial<SignedCertificate> | null;
  const cert = doc?.certificate;
  const code = typeof cert?.code === 'string' ? cert.code : null;
  const version = typeof cert?.version === 'number' ? cert.version : null;
  if (
    !cert ||
    typeof cert !== 'object' ||
    cert.type !== CERTIFICATE_TYPE ||
    typeof doc?.signature?.value !== 'string'
  ) {
    return { valid: false, reason: 'malformed', code, version };
  }
  const reason = checkSignature(cert, doc.signature, publicKeyPem);
  return { valid: reason === 'ok', reason, code, version };
}

/**
 * The registration code: `DJ` + year + 6-digit sequence of that year + an ISO 7064 MOD 37-2
 * check character over the rest, e.g. `DJ2025000001X`. (The national bureau's unified coding
 * rules are not public; this format is ours and says so.)
 */
export function registrationCode(year: number, sequence: number): string {
  const body = `DJ${year}${String(sequence).padStart(6, '0')}`;
  return `${body}${mod37_2(body)}`;
}

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*';

function mod37_2(body: string): string {
  let p = 0;
  for (const ch of body) {
    const v = ALNUM.indexOf(ch);
    p = ((p + v) * 2) % 37;
  }
  return ALNUM[(38 - p) % 37]!;
}

export function isRegistrationCode(code: string): boolean {
  return /^DJ\d{10}[0-9A-Z*]$/.test(code) && mod37_2(code.slice(0, -1)) === code.slice(-1);
}
