import * as crypto from 'node:crypto';

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
export const SIGNATURE_ALGORITHM = 'SM2 (GB/T 32918.2) over SM3, signer ID empty';

export interface SignedCertificate {
  certificate: Record<string, unknown>;
  signature: { algorithm: string; publicKeyFingerprint: string; value: string };
}

/** Canonical JSON: object keys sorted at every level, no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** SM3 of the key's SPKI DER, hex: the same fingerprint the audit log publishes. */
export function keyFingerprint(publicKey: crypto.KeyObject | string): string {
  const key = typeof publicKey === 'string' ? crypto.createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sm3').update(der).digest('hex');
}

/** Signs with a private key already loaded as an SM2 key (the audit service's platformKey()). */
export function signCertificate(
  certificate: Record<string, unknown>,
  privateKey: crypto.KeyObject,
  fingerprint: string,
): SignedCertificate {
  const value = crypto.sign('sm3', Buffer.from(canonicalJson(certificate), 'utf8'), privateKey);
  return {
    certificate,
    signature: {
      algorithm: SIGNATURE_ALGORITHM,
      publicKeyFingerprint: fingerprint,
      value: value.toString('base64'),
    },
  };
}

export interface CertificateCheck {
  valid: boolean;
  reason: 'ok' | 'malformed' | 'wrong_key' | 'bad_signature';
  code: string | null;
  version: number | null;
}

/**
 * Checks a signed certificate against a public key (PEM). The key is parsed from PEM, which is
 * what makes OpenSSL treat it as SM2 (src/audit/signing.ts explains the trap).
 */
export function verifyCertificate(document: unknown, publicKeyPem: string): CertificateCheck {
  const doc = document as Partial<SignedCertificate> | null;
  const cert = doc?.certificate;
  const code = typeof cert?.code === 'string' ? cert.code : null;
  const version = typeof cert?.version === 'number' ? cert.version : null;
  const result = (valid: boolean, reason: CertificateCheck['reason']): CertificateCheck => ({
    valid,
    reason,
    code,
    version,
  });
  if (
    !cert ||
    typeof cert !== 'object' ||
    cert.type !== CERTIFICATE_TYPE ||
    typeof doc?.signature?.value !== 'string'
  ) {
    return result(false, 'malformed');
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey(publicKeyPem);
  } catch {
    return result(false, 'wrong_key');
  }
  if (doc.signature.publicKeyFingerprint !== keyFingerprint(key)) return result(false, 'wrong_key');
  let ok = false;
  try {
    ok = crypto.verify(
      'sm3',
      Buffer.from(canonicalJson(cert), 'utf8'),
      key,
      Buffer.from(doc.signature.value, 'base64'),
    );
  } catch {
    ok = false;
  }
  return ok ? result(true, 'ok') : result(false, 'bad_signature');
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
