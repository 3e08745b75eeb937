/**
 * The audit log as a capability: reading entries, signed tree heads, proofs, whole-log
 * verification and export segments. Appending lives in core/audit-trail.ts, since every
 * capability appends in its own transactions.
 */
import type { KeyObject } from 'node:crypto';
import { sql } from 'kysely';
import { type AccessRule, authorize, type Principal } from '../core/auth.ts';
import type { Config } from '../core/config.ts';
import type { Ctx } from '../core/context.ts';
import type { Db, Executor, Tx } from '../core/db.ts';
import { withTx } from '../core/db.ts';
import { AppError, invalidField } from '../core/errors.ts';
import type { Page } from '../core/paging.ts';
import type { Role } from '../core/tables.ts';
import { appendAudit } from './append.ts';
import { FIRST_SEQ } from './entry.ts';
import { integrateAudit } from './integrate.ts';

/** Brings committed pending entries into the tree (readers that need positions call it first). */
export { integrateAudit };
import { consistencyProof, emptyRoot, type Frontier, inclusionProof, toHex } from './merkle.ts';
import { withStoredTree } from './nodes.ts';
import { type AuditSegment, buildSegment } from './segment.ts';
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
import { type LogProblem, type LogVerificationReport, LogVerifier } from './verify.ts';

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
  await integrateAudit(ctx.db);
  const rows = await store.listEntries(ctx.db, query, { limit, after, order });
  const items = rows.slice(0, limit).map(entryView);
  return { items, nextCursor: rows.length > limit ? String(items.at(-1)!.seq) : null };
}

export async function getEntry(ctx: Ctx, seq: number): Promise<EntryView> {
  must(ctx);
  await integrateAudit(ctx.db);
  const row = await store.findEntry(ctx.db, seq);
  if (!row) throw new AppError('NOT_FOUND', { objectType: 'audit_entry', seq });
  return entryView(row);
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
        const pair = await loadOrCreateSigningKey(file);
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
    return publicKeyPemOf(await readPrivateKeyFile(config.auditKeyFile));
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
async function committedTree(db: Executor): Promise<Frontier> {
  await integrateAudit(db);
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
    const frontier = await committedTree(tx);
    if (options.ifGrown) {
      const latest = await store.latestHead(tx);
      if (latest && latest.tree_size >= frontier.size) return null;
    }
    const head = signTreeHead(
      { treeSize: frontier.size, rootHash: toHex(frontier.root()), timestamp: new Date().toISOString() },
      key.privateKey,
    );
    return headView(await store.insertHead(tx, head, key.fingerprint));
  });
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

/** Starts signing a head every `seconds` when the log grew; returns the stop function. */
export function startPeriodicSigning(
  ctx: Ctx,
  seconds: number,
  log: { error(obj: object, msg: string): void; info(obj: object, msg: string): void },
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = signHead(ctx, { ifGrown: true })
      .then((head) => {
        if (head) log.info({ treeSize: head.treeSize, rootHash: head.rootHash }, 'audit tree head signed');
      })
      .catch((err: unknown) => log.error({ err }, 'audit tree head signing failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, seconds * 1000);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}

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
  const frontier = await committedTree(ctx.db);
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
  const frontier = await committedTree(ctx.db);
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
  /** Tree size the state row records (what integration continues from). */
  stateSize: number;
  /** Entries committed after this verification's integration, not yet in the tree (not checked). */
  pending: number;
  publicKeyFingerprint: string;
}

export interface VerifyOptions {
  /** PEM of the key heads must be signed by; defaults to the key file's public half. */
  publicKeyPem?: string;
  batchSize?: number;
  onProgress?: (rows: number) => void;
  maxProblems?: number;
}

/**
 * Recomputes the whole tree from the rows, in seq order through a cursor (memory stays bounded),
 * checks every signed head against it, and compares the result with the state row appends
 * continue from. Reads one snapshot, so appends running meanwhile are neither half-seen nor
 * reported. Problems carry the seq they concern.
 */
export async function verifyLog(ctx: Ctx, options: VerifyOptions = {}): Promise<AuditVerification> {
  must(ctx);
  const publicKeyPem = options.publicKeyPem ?? (await trustedPublicKey(ctx.config));
  // Entries committed so far join the tree first (and the backfill of pre-0003 rows, if pending).
  await integrateAudit(ctx.db);
  const run = async (tx: Tx) => {
    const { frontier: state } = await store.readTreeState(tx);
    const pending = await store.countPending(tx);
    const heads = (await store.allHeads(tx)).map(store.toSignedHead);
    const verifier = new LogVerifier(heads, publicKeyPem, { maxProblems: options.maxProblems ?? 1000 });
    const extra: LogProblem[] = [];
    for await (const batch of store.streamStoredEntries(tx, options.batchSize)) {
      for (const entry of batch) {
        // A recorded hash that was removed proves nothing; the state row says none should be missing.
        if (entry.leafHash === null && extra.length < 1000) {
          extra.push({
            kind: 'edited',
            position: entry.seq,
            reason: `seq ${entry.seq} has no recorded leaf hash (the column was cleared)`,
          });
        }
        verifier.add(entry);
      }
      options.onProgress?.(verifier.rows);
    }
    const report = verifier.finish();
    const last = report.lastSeq ?? FIRST_SEQ - 1;
    const stateLast = state.size + FIRST_SEQ - 1;
    const reported = (kind: string, position: number) =>
      report.problems.some((p) => p.kind === kind && p.position === position);
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
    const problems = [...report.problems, ...extra].sort((a, b) => a.position - b.position);
    return {
      ...report,
      ok: report.ok && extra.length === 0,
      problems,
      problemCount: report.problemCount + extra.length,
      stateSize: state.size,
      pending,
      publicKeyFingerprint: publicKeyFingerprint(publicKeyPem),
    };
  };
  if (ctx.db.isTransaction) return run(ctx.db as Tx);
  return ctx.db.transaction().setIsolationLevel('repeatable read').execute(run);
}

// ---------------------------------------------------------------------------------- export

/**
 * Entries from..to with a compact range proof against a signed head, for an auditor to check
 * offline with the public key alone (segment.ts). Uses the newest head when it covers `to`, and
 * signs a new one otherwise.
 */
export async function exportSegment(ctx: Ctx, from: number, to: number): Promise<AuditSegment> {
  must(ctx);
  const frontier = await committedTree(ctx.db);
  const last = frontier.size + FIRST_SEQ - 1;
  sizeField('from', from, last, FIRST_SEQ);
  sizeField('to', to, last, from);
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
  return withStoredTree(ctx.db, signed.treeSize, (h) => buildSegment(entries, signed, h));
}
