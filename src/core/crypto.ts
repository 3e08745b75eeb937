import { createHash, randomBytes } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

export function sm3Hex(data: string | Uint8Array): string {
  return createHash('sm3').update(data).digest('hex');
}

/** A bearer secret: a recognisable prefix and 256 random bits, URL-safe. */
export function newSecret(prefix: 'sts' | 'stk'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * Bearer secrets are 256-bit random, so one fast hash (SM3) is enough to store them safely and
 * look them up by hash; passwords are low-entropy and get memory-hard argon2id instead.
 */
export function hashSecret(secret: string): string {
  return sm3Hex(secret);
}

/**
 * argon2id (the library's default variant; hashes start `$argon2id$`) with the OWASP-recommended
 * cost of 19 MiB and 2 passes, computed off the event loop.
 */
export function hashPassword(password: string): Promise<string> {
  return argon2Hash(password, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
}

export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return argon2Verify(hash, password).catch(() => false);
}

// Verified against when a username does not exist, so a wrong username costs the same time
// as a wrong password and login timing does not reveal which accounts exist.
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return decoyHash;
}
