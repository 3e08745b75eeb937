import { createHash, randomBytes } from 'node:crypto';
import argon2 from 'argon2';

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

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id });
}

export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return argon2.verify(hash, password).catch(() => false);
}

// Verified against when a username does not exist, so a wrong username costs the same time
// as a wrong password and login timing does not reveal which accounts exist.
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return decoyHash;
}
