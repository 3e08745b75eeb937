/**
 * The canonical byte encoding of an audit entry: the bytes that become a Merkle leaf.
 *
 * Canonical JSON in the manner of RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, strings and numbers serialised exactly as JSON.stringify does (which is what JCS
 * prescribes), UTF-8 bytes. It mirrors JSON semantics on purpose — undefined members dropped,
 * toJSON honoured — so an entry hashes the same before it is written to a jsonb column and after
 * it is read back, whatever key order the database returns.
 */
import { canonicalJson, quoteJson } from '../core/canonical-json.ts';
import { leafHashOfText } from './merkle.ts';

/** Bumped if the encoding ever changes, so old leaves stay verifiable by their own rules. */
export const ENTRY_ENCODING_VERSION = 1;

export interface AuditEntry {
  /** Position in the log: leaf index = seq − FIRST_SEQ. */
  seq: number;
  /** UTC, exactly as Date#toISOString writes it (millisecond precision). */
  time: string;
  actorId: string | null;
  orgId: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  requestId: string | null;
  details: unknown;
}

/** What callers may pass: optional fields default the way the database columns do. */
export interface AuditEntryInput {
  seq: number;
  time: string | Date;
  actorId?: string | null;
  orgId?: string | null;
  action: string;
  objectType: string;
  objectId?: string | null;
  requestId?: string | null;
  details?: unknown;
}

/** The first seq of the log (bigserial starts at 1); it is leaf index 0. */
export const FIRST_SEQ = 1;

const ISO_UTC_MS = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/**
 * True for exactly the strings Date#toISOString writes for years 0000–9999. Checked by hand
 * because a Date round trip costs more than the rest of encoding an entry.
 */
export function isCanonicalIsoTime(time: string): boolean {
  const m = ISO_UTC_MS.exec(time);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= days;
}

function optionalText(name: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new TypeError(`audit entry ${name} must be a string or null`);
  return v;
}

function requiredText(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0)
    throw new TypeError(`audit entry ${name} must be a non-empty string`);
  return v;
}

/**
 * Validates and fills defaults. Time must be in the one canonical form, because two spellings of
 * the same instant would otherwise hash differently.
 */
export function normalizeEntry(input: AuditEntryInput): AuditEntry {
  const { seq } = input;
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new TypeError(`audit entry seq must be a safe integer ≥ 0: ${seq}`);
  const time = input.time instanceof Date ? input.time.toISOString() : input.time;
  if (typeof time !== 'string' || !isCanonicalIsoTime(time)) {
    throw new TypeError(
      `audit entry time must be a UTC ISO-8601 string like 2024-01-31T08:00:00.000Z: ${time}`,
    );
  }
  return {
    seq,
    time,
    actorId: optionalText('actorId', input.actorId),
    orgId: optionalText('orgId', input.orgId),
    action: requiredText('action', input.action),
    objectType: requiredText('objectType', input.objectType),
    objectId: optionalText('objectId', input.objectId),
    requestId: optionalText('requestId', input.requestId),
    details: input.details === undefined ? {} : input.details,
  };
}

const str = (v: string | null) => (v === null ? 'null' : quoteJson(v));

/**
 * UTF-8 canonical JSON of the entry plus the encoding version `v`. The top-level keys are fixed,
 * so they are written in their sorted order directly; the result equals canonicalJson of the
 * same object (a test holds this).
 */
export function encodeEntry(input: AuditEntryInput): Buffer {
  return Buffer.from(entryText(input), 'utf8');
}

/** The entry bytes as a string (encodeEntry is its UTF-8). */
function entryText(input: AuditEntryInput): string {
  const e = normalizeEntry(input);
  return (
    `{"action":${str(e.action)},"actorId":${str(e.actorId)},"details":${canonicalJson(e.details)}` +
    `,"objectId":${str(e.objectId)},"objectType":${str(e.objectType)},"orgId":${str(e.orgId)}` +
    `,"requestId":${str(e.requestId)},"seq":${e.seq},"time":${str(e.time)},"v":${ENTRY_ENCODING_VERSION}}`
  );
}

/** leafHash(encodeEntry(input)), without building the entry's bytes as a Buffer of their own. */
export function entryLeafHash(input: AuditEntryInput): Buffer {
  return leafHashOfText(entryText(input));
}
