/**
 * Checkpoints in the style of C2SP tlog-checkpoint / signed-note, with SM2 and SM3.
 *
 *   <origin>\n<tree size, decimal>\n<root hash, base64>\n\n— <signer name> <base64(key ID ‖ signature)>\n…
 *
 * The body is the first three lines. The log signs the body with its SM2 key (signer name = the
 * origin); a witness adds a cosignature line over "cosignature/v1\ntime <unix seconds>\n" ‖ body,
 * whose payload is key ID ‖ uint64be time ‖ signature, as tlog-cosignature does. A key ID is the
 * first 4 bytes of SM3(name ‖ 0x0A ‖ type ‖ SPKI DER), type 0xff for a log key and 0xfe for a
 * cosigner key: signed-note has no SM2 type, so these are this project's own, and other
 * implementations will not recognise the lines (they must ignore unknown signatures).
 */

import type { KeyObject } from 'node:crypto';
import { fromHex, HASH_SIZE, sm3, toHex } from './merkle.ts';
import { loadPublicKey, sm2Sign, sm2Verify } from './signing.ts';

const LOG_KEY_TYPE = 0xff;
const COSIGNER_KEY_TYPE = 0xfe;
const DASH = '\u2014';

export interface Checkpoint {
  origin: string;
  size: number;
  /** Lowercase hex. */
  rootHash: string;
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  payload: Buffer;
}

export interface ParsedNote extends Checkpoint {
  body: string;
  signatures: NoteSignature[];
  text: string;
}

export class CheckpointError extends Error {}

/** The origin of the log whose heads `publicKey` signs: stable, and distinct for distinct keys. */
export function originFor(fingerprint: string): string {
  return `shutong.audit/${fingerprint.slice(0, 32)}`;
}

export function checkpointBody(cp: Checkpoint): string {
  if (!/^[^\s\u2014][^\n]*$/.test(cp.origin))
    throw new CheckpointError(`bad origin ${JSON.stringify(cp.origin)}`);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new CheckpointError(`bad size ${cp.size}`);
  return `${cp.origin}\n${cp.size}\n${fromHex(cp.rootHash).toString('base64')}\n`;
}

function spki(key: string | KeyObject): Buffer {
  return loadPublicKey(key).export({ type: 'spki', format: 'der' });
}

export function keyId(name: string, publicKey: string | KeyObject, type = LOG_KEY_TYPE): Buffer {
  return sm3(
    Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.from([type]), spki(publicKey)]),
  ).subarray(0, 4);
}

function line(name: string, payload: Buffer): string {
  return `${DASH} ${name} ${payload.toString('base64')}\n`;
}

/** A checkpoint note signed by the log (signer name = origin). */
export function signCheckpoint(cp: Checkpoint, privateKey: KeyObject, publicKey: string | KeyObject): string {
  const body = checkpointBody(cp);
  const sig = sm2Sign(Buffer.from(body, 'utf8'), privateKey);
  return `${body}\n${line(cp.origin, Buffer.concat([keyId(cp.origin, publicKey), sig]))}`;
}

export function parseNote(text: string): ParsedNote {
  if (typeof text !== 'string' || text.length > 64 * 1024) throw new CheckpointError('not a checkpoint note');
  const split = text.indexOf('\n\n');
  if (split < 0) throw new CheckpointError('a checkpoint note needs a blank line before its signatures');
  const body = text.slice(0, split + 1);
  const lines = body.split('\n');
  if (lines.length < 4) throw new CheckpointError('a checkpoint body has an origin, a size and a root hash');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText))
    throw new CheckpointError(`bad tree size ${JSON.stringify(sizeText)}`);
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootText)
    throw new CheckpointError('bad root hash');
  const signatures: NoteSignature[] = [];
  const sigText = text.slice(split + 2);
  for (const l of sigText.split('\n')) {
    if (l === '') continue;
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+=*)$/.exec(l);
    if (!m) throw new CheckpointError(`bad signature line ${JSON.stringify(l.slice(0, 80))}`);
    const raw = Buffer.from(m[2]!, 'base64');
    if (raw.length < 5) throw new CheckpointError('signature too short');
    signatures.push({ name: m[1]!, keyId: raw.subarray(0, 4), payload: raw.subarray(4) });
  }
  if (signatures.length === 0) throw new CheckpointError('a checkpoint note needs at least one signature');
  return { origin, size: Number(sizeText), rootHash: toHex(root), body, signatures, text };
}

/** True when the note carries a valid signature of `name` (default: its origin) by the log key. */
export function verifyLogSignature(
  note: ParsedNote,
  publicKey: string | KeyObject,
  name = note.origin,
): boolean {
  const id = keyId(name, publicKey);
  return note.signatures.some(
    (s) =>
      s.name === name &&
      s.keyId.equals(id) &&
      sm2Verify(Buffer.from(note.body, 'utf8'), s.payload, publicKey),
  );
}

function cosignedMessage(body: string, time: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${time}\n${body}`, 'utf8');
}

/** A witness's cosignature line over the note's checkpoint. */
export function cosignatureLine(
  note: ParsedNote,
  name: string,
  privateKey: KeyObject,
  publicKey: string | KeyObject,
  time = Math.floor(Date.now() / 1000),
): string {
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(time));
  const sig = sm2Sign(cosignedMessage(note.body, time), privateKey);
  return line(name, Buffer.concat([keyId(name, publicKey, COSIGNER_KEY_TYPE), t, sig]));
}

/** The time (unix seconds) of a valid cosignature by `name` with `publicKey`, or null. */
export function verifyCosignature(
  note: ParsedNote,
  name: string,
  publicKey: string | KeyObject,
): number | null {
  const id = keyId(name, publicKey, COSIGNER_KEY_TYPE);
  for (const s of note.signatures) {
    if (s.name !== name || !s.keyId.equals(id) || s.payload.length < 9) continue;
    const time = Number(s.payload.readBigUInt64BE(0));
    if (sm2Verify(cosignedMessage(note.body, time), s.payload.subarray(8), publicKey)) return time;
  }
  return null;
}
