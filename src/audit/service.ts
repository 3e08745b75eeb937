/**
 * The audit log as a capability: reading entries, signed tree heads, proofs, whole-log
 * verification and export segments. Appending lives in core/audit-trail.ts, since every
 * capability appends in its own transactions.
 */
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import { sql } from 'kysely';
import { type AccessRule, authorize, type Principal } from '../core/auth.ts';
import type { Config } from '../core/config.ts';
import type { Ctx } from '../core/context.ts';
import { CSV_BOM, csvRow } from '../core/csv.ts';
import type { Db, Executor, Tx } from '../core/db.ts';
import { withTx } from '../core/db.ts';
import { AppError, invalidField } from '../core/errors.ts';
import type { Page } from '../core/paging.ts';
import type { Role } from '../core/tables.ts';
import { appendAudit } from './append.ts';
import { entryLeafHash, FIRST_SEQ } from './entry.ts';
import { integrateAudit } from './integrate.ts';

export type { IntegrateOptions } from './integrate.ts';
/** Brings committed pending entries into the tree (readers that need positions call it first). */
export { integrateAudit };

import { originFor, type ParsedNote, signCheckpoint, verifyLogSignature } from './checkpoint.ts';
import { type CopyChunk, CopyChunker } from './entry-copy.ts';
import {
  consistencyProof,
  emptyRoot,
  type Frontier,
  HASH_SIZE,
  hashEquals,
  inclusionProof,
  nodeHash,
  toHex,
} from './merkle.ts';
import { archivedEntry, warmSubtreeCache, withStoredTree } from './nodes.ts';
import { ensureAuditPartitions } from './partitions.ts';
import { type AuditSegment, buildSegment, verifySegment } from './segment.ts';
import {
  AuditKeyError,
  loadOrCreateSigningKey,
  loadPrivateKey,
  publicKeyFingerprint,
  publicKeyPemOf,
  readPrivateKeyFile,
  type SignedTreeHead,
  signTreeHead,
} from './signing.ts';
import * as store from './store.ts';
import { type LogProblem, type LogVerificationReport, LogVerifier, RowChecks } from './verify.ts';
import { DEFAULT_CHUNK_ROWS, DEFAULT_MEMORY_BUDGET, verifyChunks } from './verify-pool.ts';
import { configuredWitnesses, type Witness, WitnessError } from './witness.ts';

/** Who reads the audit log: across every organization. */
export const AUDIT_READERS: Role[] = ['auditor', 'security_officer', 'platform_admin'];
export const AUDIT_READ: AccessRule = { roles: AUDIT_READERS, scope: 'audit:read' };

function must(ctx: Ctx): Principal {
  return authorize(ctx.principal, AUDIT_READ);
}

// ------------------------------------------------------------------------------------ entries

export interface EntryView {
  seq: number;
  id: string;
  time: string;
  actorId: string | null;
  orgId: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  requestId: string | null;
  details: unknown;
  /** The leaf hash recorded at append (hex); null only before the first-start backfill. */
  leafHash: string | null;
}

function entryView(row: store.EntryRow): EntryView {
  return {
    ...store.toEntry(row),
    id: row.id,
    leafHash: row.leaf_hash ? Buffer.from(row.leaf_hash).toString('hex') : null,
  };
}

export interface EntryQuery extends store.EntryFilter {
  limit?: number | undefined;
  /** The seq the previous page ended with. */
  cursor?: string | undefined;
  order?: 'asc' | 'desc' | undefined;
}

export async function listEntries(ctx: Ctx, query: EntryQuery): Promise<Page<EntryView>> {
  must(ctx);
  const limit = query.limit ?? 50;
  const order = query.order ?? 'desc';
  let after: number | undefined;
  if (query.cursor !== undefined) {
    if (!/^[0-9]{1,15}$/.test(query.cursor)) throw invalidField('VALIDATION_FAILED', 'cursor', query.cursor);
    after = Number(query.cursor);
  }
  if (query.from && query.to && query.from >= query.to)
    throw invalidField('VALIDATION_FAILED', 'to', query.to);
  await integrateAudit(ctx.db, { clockSkewMs: ctx.config.auditClockSkewMs });
  const rows = await store.listEntries(ctx.db, query, { limit, after, order });
  const items = rows.slice(0, limit).map(entryView);
  return { items, nextCursor: rows.length > limit ? String(items.at(-1)!.seq) : null };
}

/** The most rows one CSV export carries; a larger selection is cut and says so. */
export const AUDIT_EXPORT_MAX_ROWS = 50_000;
const EXPORT_BATCH = 500;

const EXPORT_HEADER = [
  '序号 seq',
  '时间（北京时间）time (Beijing)',
  '操作人 id / actor id',
  '操作人 actor',
  '机构 id / organization id',
  '机构 organization',
  '动作 action',
  '对象类型 object type',
  '对象 id / object id',
  '请求 id / request id',
  '详情 details',
];

/** `2026-12-05 08:30:00`: a UTC instant in Beijing time (UTC+8, no daylight saving). */
export function beijingDateTime(time: Date): string {
  return new Date(time.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

export interface AuditExport {
  /** Rows the file carries (at most the maximum). */
  rows: number;
  /** Rows the filters matched beyond the maximum were left out. */
  truncated: boolean;
  maxRows: number;
  /** The CSV text, BOM first, produced batch by batch as it is read. */
  lines: AsyncIterable<string>;
}

/**
 * The audit log as CSV for spreadsheets, newest first, with the filters of listEntries. The
 * selection is fixed before the first line (entries up to the current last seq, counted), and the
 * export is itself audited with its filters and row count before any line leaves.
 */
export async function exportEntries(
  ctx: Ctx,
  filter: store.EntryFilter,
  maxRows = AUDIT_EXPORT_MAX_ROWS,
): Promise<AuditExport> {
  must(ctx);
  if (filter.from && filter.to && filter.from >= filter.to)
    throw invalidField('VALIDATION_FAILED', 'to', filter.to.toISOString());
  await integrateAudit(ctx.db, { clockSkewMs: ctx.config.auditClockSkewMs });
  const upTo = await store.lastSeq(ctx.db);
  const matched = await store.countEntries(ctx.db, filter, upTo, maxRows + 1);
  const rows = Math.min(matched, maxRows);
  const truncated = matched > maxRows;
  await withTx(ctx.db, (tx) =>
    appendAudit(tx, {
      actorId: ctx.principal?.userId ?? null,
      orgId: ctx.principal?.orgId ?? null,
      action: 'audit.export',
      objectType: 'audit_log',
      objectId: null,
      requestId: ctx.requestId,
      details: {
        format: 'csv',
        filters: Object.fromEntries(
          Object.entries(filter)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]),
        ),
        rows,
        truncated,
      },
    }),
  );
  const db = ctx.db;
  async function* lines(): AsyncGenerator<string> {
    yield `${CSV_BOM}${csvRow(EXPORT_HEADER)}`;
    let after = upTo + 1;
    let left = rows;
    while (left > 0) {
      const batch = (
        await store.listEntries(db, filter, { limit: Math.min(EXPORT_BATCH, left), after, order: 'desc' })
      ).slice(0, Math.min(EXPORT_BATCH, left));
      if (batch.length === 0) return;
      const names = await store.namesOf(
        db,
        [...new Set(batch.map((r) => r.actor_id).filter((v): v is string => v !== null))],
        [...new Set(batch.map((r) => r.org_id).filter((v): v is string => v !== null))],
      );
      let chunk = '';
      for (const row of batch) {
        chunk += csvRow([
          row.seq,
          beijingDateTime(row.time),
          row.actor_id,
          row.actor_id ? (names.users.get(row.actor_id) ?? '') : '',
          row.org_id,
          row.org_id ? (names.orgs.get(row.org_id) ?? '') : '',
          row.action,
          row.object_type,
          row.object_id,
          row.request_id,
          JSON.stringify(row.details ?? {}),
        ]);
      }
      yield chunk;
      left -= batch.length;
      after = batch[batch.length - 1]?.seq ?? 0;
    }
  }
  return { rows, truncated, maxRows, lines: lines() };
}

export async function getEntry(ctx: Ctx, seq: number): Promise<EntryView> {
  must(ctx);
  await integrateAudit(ctx.db, { clockSkewMs: ctx.config.auditClockSkewMs });
  const row = await store.findEntry(ctx.db, seq);
  if (!row) {
    await refuseArchived(ctx, seq);
    throw new AppError('NOT_FOUND', { objectType: 'audit_entry', seq });
  }
  return entryView(row);
}

/**
 * The instant up to which the log's months were archived (the start of the month after the newest
 * archived one), or null: entries dated before it are in the archive's files, not in the table.
 */
export async function archivedUntil(ctx: Ctx): Promise<Date | null> {
  const months = (await store.listArchives(ctx.db)).flatMap((a) => a.months).sort();
  const newest = months.at(-1);
  if (!newest) return null;
  const [y, m] = newest.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  return new Date(`${next}-01T00:00:00+08:00`);
}

/** The background task `audit.cache`: the next bounded step of filling the subtree cache ahead of proofs. */
export async function warmProofCache(db: Db): Promise<number> {
  const { frontier } = await store.readTreeState(db);
  return warmSubtreeCache(db, frontier.size);
}

/** 410 for an entry of an archived range (its proof is in the archive's file), naming the file. */
async function refuseArchived(ctx: Ctx, seq: number): Promise<void> {
  const archive = await store.archiveHolding(ctx.db, seq);
  if (!archive) return;
  const file = archive.files.find((f) => f.from <= seq && seq <= f.to);
  throw archivedEntry(seq, { ...archive, files: file ? [file] : archive.files });
}

// ---------------------------------------------------------------------------- signing key

export interface PlatformKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  fingerprint: string;
  file: string;
}

const keys = new Map<string, Promise<PlatformKey>>();

function keyProblem(err: unknown, file: string): AppError {
  const message = err instanceof Error ? err.message : String(err);
  return new AppError(
    'AUDIT_KEY_PROBLEM',
    { file, reason: err instanceof AuditKeyError ? err.code : 'io' },
    { zh: message, en: message },
  );
}

/**
 * The platform's SM2 key from config.auditKeyFile, generated (mode 0600) if there is none yet.
 * Loaded once per process; a failure is not remembered, so fixing the file fixes the next call.
 */
export function platformKey(config: Config): Promise<PlatformKey> {
  const file = config.auditKeyFile;
  let pending = keys.get(file);
  if (!pending) {
    pending = (async () => {
      try {
        const pair = await loadOrCreateSigningKey(file, config.auditKeyPassphrase, config.auditKeyCipher);
        return {
          privateKey: loadPrivateKey(pair.privateKeyPem),
          publicKeyPem: pair.publicKeyPem,
          fingerprint: publicKeyFingerprint(pair.publicKeyPem),
          file,
        };
      } catch (err) {
        throw keyProblem(err, file);
      }
    })();
    pending.catch(() => keys.delete(file));
    keys.set(file, pending);
  }
  return pending;
}

/**
 * The public key that checks this platform's heads, for `audit verify`: from the key file, which
 * verification must never create (an absent key means there is nothing to trust yet).
 */
export async function trustedPublicKey(config: Config): Promise<string> {
  try {
    return publicKeyPemOf(await readPrivateKeyFile(config.auditKeyFile, config.auditKeyPassphrase));
  } catch (err) {
    throw keyProblem(err, config.auditKeyFile);
  }
}

/**
 * A database's heads must all be signed by one key. The first key to sign is recorded; a node
 * started with another key file (say, a second node with its own DATA_DIR) is refused instead
 * of writing heads nobody can check with the published key.
 */
async function checkRegistered(db: Executor, key: PlatformKey): Promise<void> {
  const registered = await store.registerKey(db, {
    fingerprint: key.fingerprint,
    publicKeyPem: key.publicKeyPem,
    registeredAt: new Date().toISOString(),
  });
  if (registered.fingerprint !== key.fingerprint) {
    const note = `this database's heads are signed by key ${registered.fingerprint.slice(0, 16)}…, not by ${key.file} (${key.fingerprint.slice(0, 16)}…); give every node the same AUDIT_KEY_FILE`;
    throw new AppError(
      'AUDIT_KEY_PROBLEM',
      { file: key.file, registered: registered.fingerprint, found: key.fingerprint },
      { zh: note, en: note },
    );
  }
}

/**
 * First start: rows older than the Merkle log join the tree, the signing key exists (created with
 * mode 0600 if need be) and is the one this database's heads are signed with. Fails the start
 * otherwise, rather than serving a log that cannot be signed.
 */
export async function prepareAuditLog(db: Db, config: Config): Promise<{ backfilled: number }> {
  const backfilled = await store.ensureBackfilled(db);
  await checkRegistered(db, await platformKey(config));
  // A start never waits on, nor fails for, a partition months ahead: the background task retries.
  await ensureAuditPartitions(db).catch((err: unknown) => {
    if ((err as { code?: string }).code !== '55P03') throw err;
  });
  return { backfilled };
}

export interface PublicKeyView {
  algorithm: string;
  signerId: string;
  publicKeyPem: string;
  fingerprint: string;
}

export async function publicKey(ctx: Ctx): Promise<PublicKeyView> {
  const key = await platformKey(ctx.config);
  return {
    algorithm: 'SM2 (GB/T 32918.2) over SM3',
    signerId: '',
    publicKeyPem: key.publicKeyPem,
    fingerprint: key.fingerprint,
  };
}

// ---------------------------------------------------------------------------- tree heads

/**
 * The committed tree, after every entry committed so far (inside a transaction: and its own)
 * has joined it, and after the backfill of pre-0003 rows if that is still pending.
 */
async function committedTree(db: Executor, config: Config): Promise<Frontier> {
  await integrateAudit(db, { clockSkewMs: config.auditClockSkewMs });
  return (await store.readTreeState(db)).frontier;
}

export interface HeadView extends SignedTreeHead {
  id: number;
  keyFingerprint: string;
}

function headView(row: store.HeadRow): HeadView {
  return { id: row.id, ...store.toSignedHead(row), keyFingerprint: row.key_fingerprint };
}

// Serialises signers across processes, so "sign if the tree grew" is decided once per growth.
const SIGN_LOCK_KEY = 7_346_110_031;

/**
 * Signs the current tree. `ifGrown` (the periodic signer) skips when the newest head already
 * covers the whole tree; a signer asked by a person records that request in the log first, so
 * the new head covers it too.
 */
export async function signHead(
  ctx: Ctx,
  options: { ifGrown?: boolean; reason?: string } = {},
): Promise<HeadView | null> {
  const principal = must(ctx);
  const key = await platformKey(ctx.config);
  // The periodic signer lets the tree grow first, in a transaction of its own: integration holds
  // the tree's lock, and the signing transaction waits for every witness — holding the lock
  // through that stalled the integrator (and every append's place in the tree) for as long as the
  // witnesses took. A signing asked by a person stays one transaction with its own log entry, so
  // the entry exists exactly when a head was signed at that request.
  if (options.ifGrown) await integrateAudit(ctx.db, { clockSkewMs: ctx.config.auditClockSkewMs });
  return withTx(ctx.db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${SIGN_LOCK_KEY})`.execute(tx);
    await checkRegistered(tx, key);
    if (!options.ifGrown) {
      await appendAudit(tx, {
        actorId: principal.userId,
        orgId: principal.kind === 'cli' ? null : principal.orgId,
        action: 'audit.tree_head.sign',
        objectType: 'audit_log',
        objectId: null,
        requestId: ctx.requestId,
        details: options.reason ? { reason: options.reason } : {},
      });
    }
    // The periodic signer reads a committed state without the lock: whatever integration commits
    // meanwhile, the head signs a size and root the tree had, and the next head covers the rest.
    const frontier = options.ifGrown
      ? (await store.readTreeState(tx)).frontier
      : await committedTree(tx, ctx.config);
    if (options.ifGrown) {
      const latest = await store.latestHead(tx);
      if (latest && latest.tree_size >= frontier.size) return null;
    }
    const head = signTreeHead(
      { treeSize: frontier.size, rootHash: toHex(frontier.root()), timestamp: new Date().toISOString() },
      key.privateKey,
    );
    // Out of the database first: a head counts as signed only once every witness holds it.
    await publishCheckpoint(tx, key, head, configuredWitnesses(ctx.config));
    return headView(await store.insertHead(tx, head, key.fingerprint));
  });
}

function witnessRefused(witness: Witness, err: unknown): AppError {
  const message = `${witness.label}: ${err instanceof Error ? err.message : String(err)}`;
  return new AppError(
    'AUDIT_WITNESS_REFUSED',
    { witness: witness.label, refusal: err instanceof WitnessError ? err.kind : 'unavailable' },
    { zh: `见证方拒绝或不可达：${message}`, en: message },
  );
}

/**
 * Publishes the head as a checkpoint to every witness, each with a consistency proof from the
 * checkpoint it holds. A witness holding a larger size (the log was rolled back) or another root
 * (rewritten) refuses, and so does this: the head is not recorded.
 */
async function publishCheckpoint(
  tx: Tx,
  key: PlatformKey,
  head: SignedTreeHead,
  witnesses: Witness[],
): Promise<void> {
  if (witnesses.length === 0) return;
  const origin = originFor(key.fingerprint);
  const note = signCheckpoint(
    { origin, size: head.treeSize, rootHash: head.rootHash },
    key.privateKey,
    key.publicKeyPem,
  );
  for (const witness of witnesses) {
    try {
      for (let attempt = 0; ; attempt++) {
        const held = await witness.latest(origin);
        const oldSize = held && held.size <= head.treeSize ? held.size : (held?.size ?? 0);
        const proof =
          held && held.size > 0 && held.size < head.treeSize
            ? await withStoredTree(tx, head.treeSize, (h) => consistencyProof(h, held.size, head.treeSize))
            : [];
        try {
          await witness.add(note, oldSize, proof, key.publicKeyPem);
          break;
        } catch (err) {
          // Another node published meanwhile: prove from what the witness holds now.
          if (err instanceof WitnessError && err.kind === 'conflict' && attempt < 3) continue;
          throw err;
        }
      }
    } catch (err) {
      throw witnessRefused(witness, err);
    }
  }
}

export async function listHeads(ctx: Ctx, limit = 50, cursor?: string): Promise<Page<HeadView>> {
  must(ctx);
  let before: number | undefined;
  if (cursor !== undefined) {
    if (!/^[0-9]{1,15}$/.test(cursor)) throw invalidField('VALIDATION_FAILED', 'cursor', cursor);
    before = Number(cursor);
  }
  const rows = await store.listHeads(ctx.db, { limit, before });
  const items = rows.slice(0, limit).map(headView);
  return { items, nextCursor: rows.length > limit ? String(items.at(-1)!.id) : null };
}

export async function latestHead(ctx: Ctx): Promise<HeadView> {
  must(ctx);
  const row = await store.latestHead(ctx.db);
  if (!row) throw new AppError('AUDIT_NOT_SIGNED', { treeSize: 0 });
  return headView(row);
}

/** One run of the periodic signer (src/background.ts): signs a head when the log grew since the last. */
export async function signHeadIfGrown(
  ctx: Ctx,
  log: { info(obj: object, msg: string): void },
): Promise<void> {
  const head = await signHead(ctx, { ifGrown: true });
  if (head) log.info({ treeSize: head.treeSize, rootHash: head.rootHash }, 'audit tree head signed');
}

/** Calls `listener` after every audit append in this process (the integrator runs soon after). */
export { onAppend } from './integrate.ts';

// -------------------------------------------------------------------------------- proofs

function sizeField(field: string, value: number, max: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field, value, min, max },
      { zh: `字段 ${field} 须在 ${min}..${max} 之间`, en: `field ${field} must be within ${min}..${max}` },
    );
  }
}

export interface InclusionProofView {
  seq: number;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  /** Sibling hashes, leaf to root (RFC 9162 §2.1.3). */
  proof: string[];
  /** The newest signed head of this size, if there is one: the root to trust. */
  head: HeadView | null;
  entry: EntryView;
}

/** Without treeSize, proves against the newest signed head (409 if none covers the entry yet). */
export async function proveInclusion(ctx: Ctx, seq: number, treeSize?: number): Promise<InclusionProofView> {
  must(ctx);
  const frontier = await committedTree(ctx.db, ctx.config);
  let head: store.HeadRow | undefined;
  if (treeSize === undefined) {
    head = await store.latestHead(ctx.db);
    if (!head || head.tree_size < seq - FIRST_SEQ + 1) {
      throw new AppError('AUDIT_NOT_SIGNED', { seq, latestSignedSize: head?.tree_size ?? 0 });
    }
    treeSize = head.tree_size;
  } else {
    sizeField('treeSize', treeSize, frontier.size, 1);
    head = await store.headOfSize(ctx.db, treeSize);
  }
  sizeField('seq', seq, treeSize - 1 + FIRST_SEQ, FIRST_SEQ);
  await refuseArchived(ctx, seq);
  const row = await store.findEntry(ctx.db, seq);
  if (!row?.leaf_hash) throw new AppError('AUDIT_LOG_DAMAGED', { seq });
  const n = treeSize;
  const index = seq - FIRST_SEQ;
  const { proof, root } = await withStoredTree(ctx.db, n, (h) => ({
    proof: inclusionProof(h, index, n),
    root: h(0, n),
  }));
  return {
    seq,
    leafIndex: index,
    treeSize: n,
    leafHash: Buffer.from(row.leaf_hash).toString('hex'),
    rootHash: toHex(root),
    proof: proof.map(toHex),
    head: head ? headView(head) : null,
    entry: entryView(row),
  };
}

export interface ConsistencyProofView {
  fromSize: number;
  toSize: number;
  fromRoot: string;
  toRoot: string;
  /** RFC 9162 §2.1.4 consistency proof. */
  proof: string[];
  fromHead: HeadView | null;
  toHead: HeadView | null;
}

/** Without `to`, proves against the newest signed head. */
export async function proveConsistency(ctx: Ctx, from: number, to?: number): Promise<ConsistencyProofView> {
  must(ctx);
  const frontier = await committedTree(ctx.db, ctx.config);
  let toHead: store.HeadRow | undefined;
  if (to === undefined) {
    toHead = await store.latestHead(ctx.db);
    if (!toHead) throw new AppError('AUDIT_NOT_SIGNED', { treeSize: 0 });
    to = toHead.tree_size;
  } else {
    sizeField('to', to, frontier.size);
    toHead = await store.headOfSize(ctx.db, to);
  }
  sizeField('from', from, to);
  const fromHead = await store.headOfSize(ctx.db, from);
  const n = to;
  const m = from;
  const result = await withStoredTree(ctx.db, n, (h) => ({
    proof: consistencyProof(h, m, n),
    fromRoot: m === 0 ? null : h(0, m),
    toRoot: n === 0 ? null : h(0, n),
  }));
  const empty = toHex(emptyRoot());
  return {
    fromSize: m,
    toSize: n,
    fromRoot: result.fromRoot ? toHex(result.fromRoot) : empty,
    toRoot: result.toRoot ? toHex(result.toRoot) : empty,
    proof: result.proof.map(toHex),
    fromHead: fromHead ? headView(fromHead) : null,
    toHead: toHead ? headView(toHead) : null,
  };
}

// ------------------------------------------------------------------------------ verification

export interface AuditVerification extends LogVerificationReport {
  /** Tree size the state row records (what integration continues from); null if unreadable. */
  stateSize: number | null;
  /** Entries committed but not yet integrated: not in the tree, not judged (verify never integrates). */
  pending: number;
  publicKeyFingerprint: string;
  /** Subtree cache rows checked against the recomputed tree. */
  cacheNodesChecked: number;
  /** The log's checkpoint origin (from the public key). */
  origin: string;
  /** What each witness or checkpoint file holds and whether the log is consistent with it. */
  witnesses: WitnessCheck[];
  /** False when no witness was consulted: a rollback or a rewrite after the last kept head goes unseen. */
  rollbackDetectable: boolean;
}

export interface WitnessCheck {
  source: string;
  /** The witnessed size and root; null when the source holds nothing for this log or failed. */
  size: number | null;
  rootHash: string | null;
  status: 'consistent' | 'rollback' | 'rewrite' | 'unsigned' | 'empty' | 'unavailable' | 'archived';
  message: string;
}

/** A witnessed checkpoint to check the log against: from a witness, or a note given as a file. */
export interface WitnessSource {
  label: string;
  latest(origin: string): Promise<ParsedNote | null>;
}

export interface VerifyOptions {
  /** PEM of the key heads must be signed by; defaults to the key file's public half. */
  publicKeyPem?: string;
  batchSize?: number;
  onProgress?: (rows: number) => void;
  maxProblems?: number;
  /** Witnesses (or checkpoint files) to check the log against; none means rollback is undetectable. */
  witnesses?: WitnessSource[];
  /**
   * Worker threads that hash the rows (verify-pool.ts); 0 verifies in this thread, reading
   * through a cursor. Default: os.availableParallelism(). The findings are the same either way.
   */
  workers?: number;
  /** Rows per chunk handed to a worker, a power of two (default 4096). */
  chunkRows?: number;
  /** Bytes the chunks in flight may take (estimated; default 128 MiB). */
  memoryBudget?: number;
}

const CACHE_STEP = 8;
const FANOUT = 2 ** CACHE_STEP;

/**
 * Checks audit_tree_nodes against the tree recomputed leaf by leaf: each cached perfect subtree
 * (level 8, 16, …) is rebuilt from the 256 nodes below it as the leaves stream past, with one
 * buffer of at most 256 hashes per level. Cached nodes the stream never reaches lie beyond the log.
 */
class CacheChecker {
  readonly #cache: Map<number, Map<number, Buffer>>;
  readonly #maxLevel: number;
  readonly #buffers: Buffer[][] = [];
  readonly #problems: LogProblem[] = [];
  #checked = 0;

  constructor(rows: Array<{ level: number; idx: number; hash: Uint8Array }>) {
    this.#cache = new Map();
    let max = 0;
    for (const r of rows) {
      const level = this.#cache.get(r.level) ?? new Map<number, Buffer>();
      this.#cache.set(r.level, level);
      level.set(Number(r.idx), Buffer.from(r.hash));
      max = Math.max(max, r.level);
    }
    this.#maxLevel = max;
  }

  get active(): boolean {
    return this.#cache.size > 0;
  }

  leaf(_index: number, leaf: Buffer): void {
    this.#push(0, leaf);
  }

  #push(level: number, hash: Buffer): void {
    if (level >= this.#maxLevel) return;
    const slot = level / CACHE_STEP;
    const buffer = this.#buffers[slot] ?? [];
    this.#buffers[slot] = buffer;
    buffer.push(hash);
    if (buffer.length < FANOUT) return;
    let layer: Buffer[] = buffer.splice(0);
    while (layer.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i < layer.length; i += 2) next.push(nodeHash(layer[i]!, layer[i + 1]!));
      layer = next;
    }
    this.#arrive(level + CACHE_STEP, layer[0]!);
  }

  /** The next level-8 node, from a worker that hashed its 256 leaves (instead of `leaf` for each). */
  level8(hash: Buffer): void {
    this.#arrive(CACHE_STEP, hash);
  }

  /** The next node of a cached level: compared with the cache, then on up. */
  #arrive(up: number, hash: Buffer): void {
    const counter = (this.#counts[up] ?? -1) + 1;
    this.#counts[up] = counter;
    const cached = this.#cache.get(up)?.get(counter);
    if (cached) {
      this.#checked++;
      this.#cache.get(up)!.delete(counter);
      if (!hashEquals(cached, hash)) {
        const first = counter * 2 ** up + FIRST_SEQ;
        this.#problems.push({
          kind: 'cache-mismatch',
          position: first,
          through: first + 2 ** up - 1,
          reason: `the cached subtree hash at level ${up}, index ${counter} (audit_tree_nodes) differs from the tree recomputed from the entries: proofs and exports built from it would fail`,
        });
      }
    }
    this.#push(up, hash);
  }

  readonly #counts: Record<number, number> = {};

  finish(treeSize: number): { problems: LogProblem[]; checked: number } {
    for (const [level, nodes] of this.#cache) {
      for (const idx of nodes.keys()) {
        this.#checked++;
        const first = idx * 2 ** level + FIRST_SEQ;
        this.#problems.push({
          kind: 'cache-mismatch',
          position: first,
          through: first + 2 ** level - 1,
          reason: `audit_tree_nodes holds a subtree at level ${level}, index ${idx} over entries the log (${treeSize} entries) does not have complete`,
        });
      }
    }
    return { problems: this.#problems, checked: this.#checked };
  }
}

async function readStateForVerify(
  tx: Tx,
): Promise<{ frontier: Frontier | null; backfillPending: boolean; problem: LogProblem | null }> {
  try {
    const state = await store.readTreeState(tx);
    return { frontier: state.frontier, backfillPending: state.backfillPending, problem: null };
  } catch (err) {
    return {
      frontier: null,
      backfillPending: false,
      problem: {
        kind: 'state-corrupt',
        position: FIRST_SEQ - 1,
        reason: `the tree state row (audit_tree_state) cannot be used: ${(err as Error).message}`,
      },
    };
  }
}

const ARCHIVED_PLACEHOLDER = Buffer.alloc(HASH_SIZE);

/**
 * The archived months' part of the tree (audit/archive.ts), from the hashes their archiving kept:
 * the level-8 subtree of each complete block, then the last incomplete block's leaves. A missing
 * hash is reported as deleted entries and stands in as zeros, so the heads after it fail too.
 */
async function addArchived(tx: Tx, last: number, verifier: LogVerifier, cache: CacheChecker): Promise<void> {
  const blocks = Math.floor(last / FANOUT);
  const STEP = 10_000;
  for (let from = 0; from < blocks; from += STEP) {
    const to = Math.min(blocks, from + STEP) - 1;
    const nodes = await store.level8Between(tx, from, to);
    let i = 0;
    for (let idx = from; idx <= to; idx++) {
      const node = nodes[i]?.idx === idx ? nodes[i++]!.hash : null;
      const first = idx * FANOUT + FIRST_SEQ;
      if (!node) {
        verifier.report({
          kind: 'deleted',
          position: first,
          through: first + FANOUT - 1,
          reason: `the archived subtree hash over seq ${first}..${first + FANOUT - 1} (audit_tree_nodes level 8, index ${idx}) is missing`,
        });
      }
      const hash = Buffer.from(node ?? ARCHIVED_PLACEHOLDER);
      if (cache.active) cache.level8(hash);
      verifier.addArchivedSubtree(hash, CACHE_STEP);
    }
  }
  const tailFrom = blocks * FANOUT + FIRST_SEQ;
  const tail = await store.archivedLeavesBetween(tx, tailFrom, last);
  let k = 0;
  for (let seq = tailFrom; seq <= last; seq++) {
    const leaf = tail[k]?.seq === seq ? tail[k++]!.leaf_hash : null;
    if (!leaf) {
      verifier.report({
        kind: 'deleted',
        position: seq,
        reason: `the archived leaf hash of seq ${seq} (audit_archived_leaves) is missing`,
      });
    }
    verifier.addArchivedLeaf(leaf ?? ARCHIVED_PLACEHOLDER);
  }
}

/**
 * Rows in an archived range still in the table: entries dated across a month's turn that stayed
 * behind in a later month. Each must match the leaf hash its archiving kept; any other is a row
 * added outside the log (or a second row for one seq).
 */
async function checkStayedBehind(tx: Tx, last: number, verifier: LogVerifier): Promise<void> {
  const seen = new Set<number>();
  let after: store.EntryKey | null = null;
  for (;;) {
    const rows = await store.entriesThrough(tx, last, after, 1000);
    if (rows.length === 0) return;
    const seqs = rows.map((r) => r.seq);
    const kept = new Map(
      (await store.archivedLeavesAt(tx, seqs)).map((k) => [Number(k.seq), Buffer.from(k.leaf_hash)]),
    );
    for (const row of rows) {
      const hash = kept.get(row.seq);
      if (!hash || seen.has(row.seq)) {
        verifier.report({
          kind: 'inserted',
          position: row.seq,
          reason: `seq ${row.seq} (${row.action}) lies in an archived range but is not an entry that stayed behind when it was archived: added outside the log`,
        });
      } else if (!hashEquals(entryLeafHash(store.toEntry(row)), hash)) {
        verifier.report({
          kind: 'edited',
          position: row.seq,
          reason: `seq ${row.seq} stayed behind when its range was archived; its content no longer matches the leaf hash kept then (edited)`,
        });
      }
      seen.add(row.seq);
    }
    const tail = rows[rows.length - 1]!;
    after = { seq: String(tail.seq), id: tail.id };
  }
}

/** The COPY byte stream as chunks of `chunkRows` whole rows (the first of `firstRows`). */
async function* copyChunks(
  pieces: AsyncIterable<Buffer>,
  chunkRows: number,
  firstRows: number,
): AsyncGenerator<CopyChunk> {
  const chunker = new CopyChunker(chunkRows, firstRows);
  for await (const piece of pieces) yield* chunker.push(piece);
  const last = chunker.end();
  if (last) yield last;
}

/**
 * Recomputes the whole tree from the rows, in seq order through a cursor (memory stays bounded),
 * checks every signed head and the subtree cache against it, and compares the result with the
 * state row appends continue from. Read-only: one repeatable-read, read-only snapshot; it never
 * integrates, backfills or caches, so an auditor can run it against a replica or with a
 * read-only role, and it judges the rows as they are (pending entries are counted, not judged).
 * A damaged state row, head row or cache is a finding like any other; entry findings are still
 * listed. Problems carry the seq they concern.
 */
export async function verifyLog(ctx: Ctx, options: VerifyOptions = {}): Promise<AuditVerification> {
  must(ctx);
  const publicKeyPem = options.publicKeyPem ?? (await trustedPublicKey(ctx.config));
  const skewMs = ctx.config.auditClockSkewMs;
  const origin = originFor(publicKeyFingerprint(publicKeyPem));
  // Read the witnesses first: a checkpoint published after the snapshot is taken would look ahead of it.
  const witnessed: Array<{ source: string; note: ParsedNote | null; error?: string }> = [];
  for (const w of options.witnesses ?? []) {
    try {
      witnessed.push({ source: w.label, note: await w.latest(origin) });
    } catch (err) {
      witnessed.push({ source: w.label, note: null, error: (err as Error).message });
    }
  }
  const rootsAt = witnessed.flatMap((w) => (w.note ? [w.note.size] : []));
  const run = async (tx: Tx, ownTransaction: boolean) => {
    const extra: LogProblem[] = [];
    const stateRead = await readStateForVerify(tx);
    if (stateRead.problem) extra.push(stateRead.problem);
    const state = stateRead.frontier;
    const pending = await store.countPending(tx);
    for (const r of await store.listRefused(tx)) {
      extra.push({
        kind: 'refused',
        position: (state?.size ?? 0) + FIRST_SEQ,
        reason: `pending entry ${r.id} (${r.action}, dated ${r.time.toISOString()}) was refused by integration: ${r.reason}`,
      });
    }
    const heads: SignedTreeHead[] = [];
    for (const row of await store.allHeads(tx)) {
      try {
        heads.push(store.toSignedHead(row));
      } catch (err) {
        extra.push({
          kind: 'head-corrupt',
          position: Number.isSafeInteger(row.tree_size) ? row.tree_size + FIRST_SEQ - 1 : FIRST_SEQ - 1,
          reason: `signed head row ${row.id} cannot be read: ${(err as Error).message}`,
        });
      }
    }
    const cache = new CacheChecker(await store.allCachedNodes(tx));
    const verifier = new LogVerifier(heads, publicKeyPem, {
      maxProblems: options.maxProblems ?? 1000,
      ...(cache.active ? { onLeaf: (i: number, leaf: Buffer) => cache.leaf(i, leaf) } : {}),
      rootsAt,
    });
    const archivedLast = await store.archivedThrough(tx);
    if (archivedLast > 0) {
      await addArchived(tx, archivedLast, verifier, cache);
      await checkStayedBehind(tx, archivedLast, verifier);
    }
    const rowChecks = new RowChecks(skewMs, stateRead.backfillPending);
    const addExtra = (p: LogProblem) => {
      if (extra.length < 1000) extra.push(p);
    };
    const workers = options.workers ?? os.availableParallelism();
    if (workers > 0) {
      const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
      // After an archive the rows start at leaf `archivedLast`: a short first chunk brings the
      // rest back to chunk boundaries, where a chunk joins the tree as one subtree.
      const firstRows = (chunkRows - (archivedLast % chunkRows)) % chunkRows || chunkRows;
      // On a server, in a snapshot of our own: the rows as binary COPY, which the reading thread
      // only cuts into chunks (decoding a million rows into objects here, and cloning them to the
      // workers, kept this thread busier than the hashing kept the workers). A transaction the
      // caller passed in may hold its own uncommitted rows, which another connection cannot see.
      const copy = ownTransaction ? await store.streamEntryCopy(ctx.db, tx) : null;
      const chunks = copy ? copyChunks(copy, chunkRows, firstRows) : null;
      let next: () => Promise<store.EntryRowText[] | CopyChunk | null>;
      if (chunks) {
        next = async () => (await chunks.next()).value ?? null;
      } else {
        // The next chunk is asked for as soon as this one is in, so the database works meanwhile.
        const fetch = (after: store.EntryKey | null) => {
          const next = store.fetchEntryChunk(tx, after, after ? chunkRows : firstRows);
          next.catch(() => {}); // awaited below; this only keeps a failure meanwhile from counting as unhandled
          return next;
        };
        let pending: Promise<store.EntryRowText[]> | null = fetch(null);
        next = async () => {
          if (!pending) return null;
          const rows = await pending;
          const last = rows[rows.length - 1];
          pending = last ? fetch({ seq: last.seqKey, id: last.id }) : null;
          return rows;
        };
      }
      try {
        await verifyChunks(
          next,
          {
            verifier,
            rowChecks,
            extra: addExtra,
            needsLevel8: cache.active,
            level8: (node) => cache.level8(node),
            onProgress: options.onProgress,
          },
          { workers, chunkRows, memoryBudget: options.memoryBudget ?? DEFAULT_MEMORY_BUDGET },
        );
      } finally {
        // Stopped early (a failure): the COPY connection is dropped, not left mid-stream.
        await chunks?.return(undefined);
      }
    } else {
      for await (const batch of store.streamStoredEntries(tx, options.batchSize)) {
        for (const entry of batch) {
          for (const p of rowChecks.check(entry)) addExtra(p);
          verifier.add(entry);
        }
        options.onProgress?.(verifier.rows);
      }
    }
    const report = verifier.finish();
    let cacheNodesChecked = 0;
    if (cache.active) {
      const checked = cache.finish(report.treeSize);
      extra.push(...checked.problems);
      cacheNodesChecked = checked.checked;
    }
    const last = report.lastSeq ?? FIRST_SEQ - 1;
    const reported = (kind: string, position: number) =>
      report.problems.some((p) => p.kind === kind && p.position === position);
    if (stateRead.backfillPending) {
      // Rows from before the Merkle log wait for the backfill (the first start does it); the state
      // row records nothing yet to compare with.
    } else if (state) {
      const stateLast = state.size + FIRST_SEQ - 1;
      if (stateLast > last && !reported('truncated', last + 1)) {
        extra.push({
          kind: 'truncated',
          position: last + 1,
          ...(stateLast > last + 1 ? { through: stateLast } : {}),
          reason: `the log ends at seq ${last} but the tree state records ${state.size} entries: seq ${last + 1}..${stateLast} are missing`,
        });
      } else if (stateLast < last) {
        extra.push({
          kind: 'inserted',
          position: stateLast + 1,
          ...(last > stateLast + 1 ? { through: last } : {}),
          reason: `rows up to seq ${last} exist but the tree state records only ${state.size} entries: seq ${stateLast + 1}..${last} were added outside the log`,
        });
      } else if (report.problemCount === 0 && extra.length === 0 && toHex(state.root()) !== report.rootHash) {
        extra.push({
          kind: 'root-mismatch',
          position: stateLast,
          reason: `the rows hash to ${report.rootHash} but the tree state's frontier gives ${toHex(state.root())}`,
        });
      }
    }
    const witnesses: WitnessCheck[] = witnessed.map(({ source, note, error }) => {
      if (error) {
        extra.push({ kind: 'witness-unavailable', position: FIRST_SEQ - 1, reason: `${source}: ${error}` });
        return { source, size: null, rootHash: null, status: 'unavailable', message: error };
      }
      if (!note) {
        return {
          source,
          size: null,
          rootHash: null,
          status: 'empty',
          message: `holds no checkpoint of ${origin}`,
        };
      }
      const base = { source, size: note.size, rootHash: note.rootHash };
      if (!verifyLogSignature(note, publicKeyPem)) {
        const message = `${source} holds a checkpoint over ${note.size} entries that this key did not sign`;
        extra.push({ kind: 'bad-signature', position: note.size + FIRST_SEQ - 1, reason: message });
        return { ...base, status: 'unsigned', message };
      }
      if (report.treeSize < note.size) {
        const message = `rollback: ${source} witnessed ${note.size} entries (root ${note.rootHash}) but the log holds only ${report.treeSize}: seq ${report.treeSize + FIRST_SEQ}..${note.size + FIRST_SEQ - 1} and their heads were removed`;
        extra.push({
          kind: 'rollback',
          position: report.treeSize + FIRST_SEQ,
          ...(note.size > report.treeSize + 1 ? { through: note.size + FIRST_SEQ - 1 } : {}),
          reason: message,
        });
        return { ...base, status: 'rollback', message };
      }
      const root = report.roots[note.size];
      if (root === undefined && note.size <= report.archivedLeaves) {
        return { ...base, status: 'archived', message: witnessArchived(note.size) };
      }
      if (root !== note.rootHash) {
        const message = `rewrite: the first ${note.size} entries hash to ${root} but ${source} witnessed root ${note.rootHash} at that size: entries up to seq ${note.size + FIRST_SEQ - 1} were rewritten`;
        extra.push({ kind: 'rewrite', position: note.size + FIRST_SEQ - 1, reason: message });
        return { ...base, status: 'rewrite', message };
      }
      return {
        ...base,
        status: 'consistent',
        message: `consistent with the checkpoint over ${note.size} entries`,
      };
    });
    const problems = [...report.problems, ...extra].sort((a, b) => a.position - b.position);
    return {
      ...report,
      origin,
      witnesses,
      rollbackDetectable: witnesses.some((w) => w.status !== 'unavailable'),
      ok: report.ok && extra.length === 0,
      problems,
      problemCount: report.problemCount + extra.length,
      stateSize: state ? state.size : null,
      pending,
      publicKeyFingerprint: publicKeyFingerprint(publicKeyPem),
      cacheNodesChecked,
    };
  };
  if (ctx.db.isTransaction) return run(ctx.db as Tx, false);
  return ctx.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => {
      await sql`set transaction read only`.execute(tx);
      return run(tx, true);
    });
}

// ------------------------------------------------------------------------------ witnesses

const witnessArchived = (size: number) =>
  `witnessed ${size} entries, a size inside the archived months: checked when they were archived; the signed heads after them are checked instead`;

export interface WitnessOverview {
  origin: string;
  treeSize: number;
  latestSignedSize: number;
  witnesses: WitnessCheck[];
  rollbackDetectable: boolean;
}

/**
 * The configured witnesses, the newest checkpoint each holds, and whether the log (its stored
 * leaf hashes) is consistent with it, for the console. Cheap: one root per witness from the
 * subtree cache; `shutong audit verify` is the full check.
 */
export async function witnessOverview(ctx: Ctx): Promise<WitnessOverview> {
  must(ctx);
  const key = await platformKey(ctx.config);
  const origin = originFor(key.fingerprint);
  const { frontier } = await store.readTreeState(ctx.db);
  const latest = await store.latestHead(ctx.db);
  const witnesses: WitnessCheck[] = [];
  for (const w of configuredWitnesses(ctx.config)) {
    let note: ParsedNote | null;
    try {
      note = await w.latest(origin);
    } catch (err) {
      const message = (err as Error).message;
      witnesses.push({ source: w.label, size: null, rootHash: null, status: 'unavailable', message });
      continue;
    }
    if (!note) {
      witnesses.push({
        source: w.label,
        size: null,
        rootHash: null,
        status: 'empty',
        message: 'holds no checkpoint yet',
      });
      continue;
    }
    const base = { source: w.label, size: note.size, rootHash: note.rootHash };
    if (!verifyLogSignature(note, key.publicKeyPem)) {
      witnesses.push({ ...base, status: 'unsigned', message: 'holds a checkpoint this log did not sign' });
    } else if (note.size > frontier.size) {
      witnesses.push({
        ...base,
        status: 'rollback',
        message: `witnessed ${note.size} entries; the log holds ${frontier.size}`,
      });
    } else {
      let root: string;
      try {
        root =
          note.size === 0
            ? toHex(emptyRoot())
            : toHex(await withStoredTree(ctx.db, note.size, (h) => h(0, note.size)));
      } catch (err) {
        if ((err as AppError).code !== 'AUDIT_ENTRY_ARCHIVED') throw err;
        witnesses.push({ ...base, status: 'archived', message: witnessArchived(note.size) });
        continue;
      }
      witnesses.push(
        root === note.rootHash
          ? {
              ...base,
              status: 'consistent',
              message: `consistent with the checkpoint over ${note.size} entries`,
            }
          : { ...base, status: 'rewrite', message: `the log's root at ${note.size} is ${root}` },
      );
    }
  }
  return {
    origin,
    treeSize: frontier.size,
    latestSignedSize: latest?.tree_size ?? 0,
    witnesses,
    rollbackDetectable: witnesses.length > 0,
  };
}

// ---------------------------------------------------------------------------------- export

/**
 * Entries from..to with a compact range proof against a signed head, for an auditor to check
 * offline with the public key alone (segment.ts). Uses the newest head when it covers `to`, and
 * signs a new one otherwise.
 */
export async function exportSegment(ctx: Ctx, from: number, to: number): Promise<AuditSegment> {
  must(ctx);
  const frontier = await committedTree(ctx.db, ctx.config);
  const last = frontier.size + FIRST_SEQ - 1;
  sizeField('from', from, last, FIRST_SEQ);
  sizeField('to', to, last, from);
  await refuseArchived(ctx, from);
  let head = await store.latestHead(ctx.db);
  if (!head || head.tree_size < to - FIRST_SEQ + 1) {
    const signed = await signHead(ctx, { reason: 'export' });
    head = (await store.headOfSize(ctx.db, signed!.treeSize))!;
  }
  const rows = await store.entriesBetween(ctx.db, from, to);
  rows.forEach((row, i) => {
    if (row.seq !== from + i) throw new AppError('AUDIT_LOG_DAMAGED', { seq: from + i });
  });
  if (rows.length !== to - from + 1) throw new AppError('AUDIT_LOG_DAMAGED', { seq: from + rows.length });
  const signed = store.toSignedHead(head);
  const entries = rows.map(store.toEntry);
  const segment = await withStoredTree(ctx.db, signed.treeSize, (h) => buildSegment(entries, signed, h));
  // What an auditor will check, checked before anything is written: a damaged cache or leaf hash
  // fails here, naming what is wrong, instead of in the auditor's hands.
  const check = verifySegment(segment, (await platformKey(ctx.config)).publicKeyPem);
  if (!check.ok) {
    const reason = `the export of seq ${from}..${to} fails its own check (${check.problems
      .slice(0, 3)
      .map((p) => p.reason)
      .join('; ')}); run \`shutong audit verify\``;
    throw new AppError(
      'AUDIT_LOG_DAMAGED',
      { from, to, problems: check.problems.slice(0, 10) },
      { zh: reason, en: reason },
    );
  }
  return segment;
}
