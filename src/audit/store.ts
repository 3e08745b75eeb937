/**
 * The audit log's tables (migrations/0003_audit_log.sql, 0009): entries, the one tree-state row,
 * signed heads and the lazily filled subtree cache. Plain reads and writes; the rules live in
 * core/audit-trail.ts (append), integrate.ts (positions) and service.ts. Readers here see
 * integrated entries only (seq not null).
 */
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import { type Db, type Executor, snapshotCopier, type Tx } from '../core/db.ts';
import { settleSetting } from '../core/settings.ts';
import type { Database } from '../core/tables.ts';
import { type AuditEntry, entryLeafHash, FIRST_SEQ } from './entry.ts';
import { Frontier, HASH_SIZE } from './merkle.ts';
import type { SignedTreeHead } from './signing.ts';
import type { StoredAuditEntry } from './verify.ts';

/**
 * Only entries after every archived range (audit/archive.ts): what verification and proofs read
 * from rows. An entry of an archived range that stayed behind in a later month's partition (dated
 * across the month's turn within the clock-skew allowance) is in the archive's files and is still
 * listed; its leaf hash was kept, and verification checks it against that (`entriesThrough`).
 */
const NOT_ARCHIVED = 'seq > (select coalesce(max(last_seq), 0) from audit_archives)';
export const notArchived = sql<SqlBool>`${sql.raw(NOT_ARCHIVED)}`;

// ------------------------------------------------------------------------------- tree state

export function frontierToBytes(frontier: Frontier): Buffer {
  return Buffer.concat(frontier.roots);
}

export function frontierFromBytes(size: number, bytes: Uint8Array): Frontier {
  const roots: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += HASH_SIZE) roots.push(bytes.subarray(o, o + HASH_SIZE));
  return new Frontier(size, roots);
}

interface StateRow {
  size: number;
  frontier: Uint8Array;
  backfill_pending: boolean;
}

function stateMissing(): Error {
  return new Error('the audit_tree_state row is missing: the audit log cannot be appended to or checked');
}

/** The committed tree state, without locking: consistent with the rows committed alongside it. */
export async function readTreeState(db: Executor): Promise<{ frontier: Frontier; backfillPending: boolean }> {
  const row = await db
    .selectFrom('audit_tree_state')
    .select(['size', 'frontier', 'backfill_pending'])
    .where('id', '=', 1)
    .executeTakeFirst();
  if (!row) throw stateMissing();
  return { frontier: frontierFromBytes(row.size, row.frontier), backfillPending: row.backfill_pending };
}

/**
 * Locks the tree state for the rest of the transaction and returns its frontier. Whatever extends
 * the tree (integration, bulk appends, the backfill) takes this lock first, so they are serialised
 * across connections and processes and each sees the size the previous one committed: no gaps,
 * no forks.
 */
export async function lockTreeState(tx: Tx): Promise<Frontier> {
  const { rows } = await sql<StateRow>`
    select size, frontier, backfill_pending from audit_tree_state where id = 1 for update`.execute(tx);
  const row = rows[0];
  if (!row) throw stateMissing();
  if (row.backfill_pending) return backfillLocked(tx);
  return frontierFromBytes(row.size, row.frontier);
}

const BACKFILL_BATCH = 1000;

/**
 * Brings rows written before the Merkle log (migration 0003 renumbered them 1..n) into the tree:
 * computes and records each leaf hash and the frontier. Runs under the state lock, once; the
 * first append or the first start after the migration does it, whichever comes first.
 */
async function backfillLocked(tx: Tx): Promise<Frontier> {
  const frontier = new Frontier();
  let after = FIRST_SEQ - 1;
  for (;;) {
    const rows = (await tx
      .selectFrom('audit_events')
      .select(ENTRY_COLUMNS)
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(BACKFILL_BATCH)
      .execute()) as EntryRow[];
    if (rows.length === 0) break;
    const updates: Array<{ seq: number; hash: Buffer }> = [];
    for (const row of rows) {
      if (row.seq !== frontier.size + FIRST_SEQ) {
        throw new Error(`audit backfill: expected seq ${frontier.size + FIRST_SEQ}, found ${row.seq}`);
      }
      const leaf = entryLeafHash(toEntry(row));
      if (row.leaf_hash && !Buffer.from(row.leaf_hash).equals(leaf)) {
        throw new Error(`audit backfill: seq ${row.seq} has a leaf hash that does not match its content`);
      }
      if (!row.leaf_hash) updates.push({ seq: row.seq, hash: leaf });
      frontier.append(leaf);
    }
    for (const u of updates) {
      await tx.updateTable('audit_events').set({ leaf_hash: u.hash }).where('seq', '=', u.seq).execute();
    }
    after = rows.at(-1)!.seq;
  }
  await saveTreeState(tx, frontier);
  return frontier;
}

/** Records the tree's new size and frontier; the caller holds the lock (lockTreeState). */
export async function saveTreeState(tx: Tx, frontier: Frontier): Promise<void> {
  await tx
    .updateTable('audit_tree_state')
    .set({
      size: frontier.size,
      frontier: frontierToBytes(frontier),
      backfill_pending: false,
      updated_at: new Date(),
    })
    .where('id', '=', 1)
    .execute();
}

/** Runs the backfill if migration 0003 left one pending; returns how many rows it covered. */
export async function ensureBackfilled(db: Executor): Promise<number> {
  const { backfillPending } = await readTreeState(db);
  if (!backfillPending) return 0;
  const run = async (tx: Tx) => (await lockTreeState(tx)).size;
  return db.isTransaction ? run(db as Tx) : db.transaction().execute(run);
}

// ------------------------------------------------------------------------------------ entries

export const ENTRY_COLUMNS = [
  'seq',
  'id',
  'time',
  'actor_id',
  'org_id',
  'action',
  'object_type',
  'object_id',
  'request_id',
  'details',
  'leaf_hash',
] as const;

export interface EntryRow {
  seq: number;
  id: string;
  time: Date;
  actor_id: string | null;
  org_id: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  request_id: string | null;
  details: unknown;
  leaf_hash: Uint8Array | null;
}

/** The leaf's view of a row: exactly the fields the entry encoding covers. */
export function toEntry(row: EntryRow): AuditEntry {
  return {
    seq: row.seq,
    time: row.time.toISOString(),
    actorId: row.actor_id,
    orgId: row.org_id,
    action: row.action,
    objectType: row.object_type,
    objectId: row.object_id,
    requestId: row.request_id,
    details: row.details,
  };
}

export interface EntryFilter {
  actorId?: string | undefined;
  orgId?: string | undefined;
  objectType?: string | undefined;
  objectId?: string | undefined;
  action?: string | undefined;
  /** Inclusive. */
  from?: Date | undefined;
  /** Exclusive. */
  to?: Date | undefined;
}

function matching(filter: EntryFilter) {
  return (eb: ExpressionBuilder<Database, 'audit_events'>) => {
    const c: Expression<SqlBool>[] = [];
    if (filter.actorId !== undefined) c.push(eb('actor_id', '=', filter.actorId));
    if (filter.orgId !== undefined) c.push(eb('org_id', '=', filter.orgId));
    if (filter.objectType !== undefined) c.push(eb('object_type', '=', filter.objectType));
    if (filter.objectId !== undefined) c.push(eb('object_id', '=', filter.objectId));
    if (filter.action !== undefined) c.push(eb('action', '=', filter.action));
    if (filter.from !== undefined) c.push(eb('time', '>=', filter.from));
    if (filter.to !== undefined) c.push(eb('time', '<', filter.to));
    return eb.and(c);
  };
}

export async function listEntries(
  db: Executor,
  filter: EntryFilter,
  page: { limit: number; after?: number | undefined; order: 'asc' | 'desc' },
): Promise<EntryRow[]> {
  let query = db
    .selectFrom('audit_events')
    .select(ENTRY_COLUMNS)
    .where('seq', 'is not', null)
    .where(matching(filter));
  if (page.after !== undefined) query = query.where('seq', page.order === 'asc' ? '>' : '<', page.after);
  return (await query
    .orderBy('seq', page.order)
    .limit(page.limit + 1)
    .execute()) as EntryRow[];
}

/** How many integrated entries match, up to `cap` (counting stops there), with seq ≤ `upTo`. */
export async function countEntries(
  db: Executor,
  filter: EntryFilter,
  upTo: number,
  cap: number,
): Promise<number> {
  const row = await db
    .selectFrom((eb) =>
      eb
        .selectFrom('audit_events')
        .select('seq')
        .where('seq', 'is not', null)
        .where('seq', '<=', upTo)
        .where(matching(filter))
        .limit(cap)
        .as('m'),
    )
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The highest integrated seq, 0 when there is none. */
export async function lastSeq(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Display names of users and organizations, for exports that show names besides ids. */
export async function namesOf(
  db: Executor,
  userIds: readonly string[],
  orgIds: readonly string[],
): Promise<{ users: Map<string, string>; orgs: Map<string, string> }> {
  const users = userIds.length
    ? await db
        .selectFrom('users')
        .select(['id', 'username', 'display_name'])
        .where('id', 'in', userIds)
        .execute()
    : [];
  const orgs = orgIds.length
    ? await db.selectFrom('organizations').select(['id', 'name']).where('id', 'in', orgIds).execute()
    : [];
  return {
    users: new Map(users.map((u) => [u.id, `${u.display_name} (${u.username})`])),
    orgs: new Map(orgs.map((o) => [o.id, o.name])),
  };
}

/** Entries waiting for integration. */
export async function countPending(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('seq', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface RefusedRow {
  id: string;
  action: string;
  time: Date;
  reason: string;
}

/** Pending entries integration refused (migration 0010), still pending. */
export async function listRefused(db: Executor): Promise<RefusedRow[]> {
  return (await db
    .selectFrom('audit_refused as r')
    .innerJoin('audit_events as e', 'e.id', 'r.id')
    .select(['r.id', 'e.action', 'e.time', 'r.reason'])
    .where('e.seq', 'is', null)
    .orderBy('e.queued')
    .execute()) as RefusedRow[];
}

/** Records that integration refused a pending entry (idempotent). */
export async function refuseEntry(db: Executor, id: string, reason: string): Promise<void> {
  await db
    .insertInto('audit_refused')
    .values({ id, reason, refused_at: new Date() })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** Time of the last integrated entry (seq = size), or null for an empty tree. */
export async function lastIntegratedTime(db: Executor, size: number): Promise<Date | null> {
  if (size === 0) return null;
  const row = await db
    .selectFrom('audit_events')
    .select('time')
    .where('seq', '=', size + FIRST_SEQ - 1)
    .executeTakeFirst();
  return row?.time ?? null;
}

export async function findEntry(db: Executor, seq: number): Promise<EntryRow | undefined> {
  return (await db
    .selectFrom('audit_events')
    .select(ENTRY_COLUMNS)
    .where('seq', '=', seq)
    .executeTakeFirst()) as EntryRow | undefined;
}

export async function entriesBetween(db: Executor, from: number, to: number): Promise<EntryRow[]> {
  return (await db
    .selectFrom('audit_events')
    .select(ENTRY_COLUMNS)
    .where('seq', '>=', from)
    .where('seq', '<=', to)
    .orderBy('seq')
    .execute()) as EntryRow[];
}

/**
 * Recorded leaf hashes of seq from..to (inclusive), in seq order: from the rows, or for archived
 * entries from the hashes their archiving kept (the last incomplete block of 256).
 */
export async function leafHashesBetween(
  db: Executor,
  from: number,
  to: number,
): Promise<Array<{ seq: number; leaf_hash: Uint8Array | null }>> {
  const { rows } = await sql<{ seq: number; leaf_hash: Uint8Array | null }>`
    select seq, leaf_hash from audit_events where seq >= ${from} and seq <= ${to} and ${notArchived}
    union all
    select seq, leaf_hash from audit_archived_leaves where seq >= ${from} and seq <= ${to}
    order by seq`.execute(db);
  return rows;
}

/**
 * Every row in seq order, a batch at a time, through a server-side cursor: one index scan, and
 * memory bounded by the batch however long the log is. Must run inside a transaction (a cursor
 * lives in one); the caller picks its isolation.
 *
 * This is the hot path of `audit verify`, so the server does what it does faster than JS: rows
 * come back already shaped as entries, with the time printed in Date#toISOString form (no Date
 * parsing and printing per row), and the next batch is requested before this one is handed out,
 * so the database works while the verifier hashes.
 */
// The entry time as Date#toISOString prints it, done by the server (no Date per row in JS).
const TIME_TEXT = `to_char(time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export async function* streamStoredEntries(tx: Tx, batchSize = 5000): AsyncGenerator<StoredAuditEntry[]> {
  const name = `audit_scan_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await sql
    .raw(
      `declare ${name} no scroll cursor for select seq, ` +
        `${TIME_TEXT} as "time", actor_id as "actorId", ` +
        'org_id as "orgId", action, object_type as "objectType", object_id as "objectId", ' +
        // id breaks ties as in fetchEntryChunk, should a tamperer have made two rows share a seq.
        'request_id as "requestId", details, leaf_hash as "leafHash" from audit_events where seq is not null and ' +
        NOT_ARCHIVED +
        ' order by seq, id',
    )
    .execute(tx);
  const fetch = () => {
    const next = sql.raw<StoredAuditEntry>(`fetch forward ${batchSize} from ${name}`).execute(tx);
    next.catch(() => {}); // awaited below; this only keeps a failure meanwhile from counting as unhandled
    return next;
  };
  let pending = fetch();
  try {
    for (;;) {
      const { rows } = await pending;
      if (rows.length === 0) return;
      pending = fetch();
      yield rows;
    }
  } finally {
    // Let a request still in flight finish (an early exit), then free the cursor.
    await pending.catch(() => {});
    await sql.raw(`close ${name}`).execute(tx);
  }
}

/** Where a keyset-ordered read stopped: the (seq, id) of the last row read. */
export interface EntryKey {
  /** As text: a seq past 2^53 (only a tamperer makes one) must not be rounded, or paging would stall. */
  seq: string;
  id: string;
}

/** A row as verification workers read it: details as JSON text, the recorded hash as hex. */
export interface EntryRowText {
  id: string;
  seq: number;
  seqKey: string;
  time: string;
  actorId: string | null;
  orgId: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  requestId: string | null;
  details: string | null;
  leafHash: string | null;
}

/**
 * The next `limit` rows after `after` in (seq, id) order (keyset paging, so no cursor is needed),
 * for verification on worker threads: the same rows, order and values as streamStoredEntries, but
 * details left as JSON text and the recorded hash as hex, so the reading thread parses neither;
 * the worker does.
 */
export async function fetchEntryChunk(
  db: Executor,
  after: EntryKey | null,
  limit: number,
): Promise<EntryRowText[]> {
  const from = after
    ? sql`and seq >= ${after.seq}::bigint and (seq > ${after.seq}::bigint or id > ${after.id})`
    : sql``;
  const { rows } = await sql<EntryRowText>`
    select id, seq, seq::text as "seqKey", ${sql.raw(TIME_TEXT)} as "time", actor_id as "actorId", org_id as "orgId", action,
           object_type as "objectType", object_id as "objectId", request_id as "requestId",
           details::text as details, encode(leaf_hash, 'hex') as "leafHash"
    from audit_events where seq is not null and ${notArchived} ${from} order by seq, id limit ${limit}`.execute(
    db,
  );
  return rows;
}

/**
 * Every row fetchEntryChunk would page through, the same values in the same order, as binary COPY
 * (entry-copy.ts cuts and decodes it): read on a connection of its own that imports the snapshot
 * of `tx`, a repeatable-read transaction the caller keeps open until the stream is done. The rows
 * reach the reading thread as bytes, not as an object per row. Null on PGlite (one session, no
 * snapshot import): page with fetchEntryChunk there.
 */
export async function streamEntryCopy(
  db: Db,
  tx: Tx,
): Promise<AsyncGenerator<Buffer, void, undefined> | null> {
  const copier = snapshotCopier(db);
  if (!copier) return null;
  // Exported from the transaction itself (not a savepoint: PostgreSQL exports from the top level
  // only); standbys export too since PostgreSQL 10.
  const { rows } = await sql<{ id: string }>`select pg_export_snapshot() as id`.execute(tx);
  const snapshot = rows[0]!.id;
  return copier(
    snapshot,
    `copy (select seq::text, ${TIME_TEXT}, actor_id, org_id, action, object_type, object_id, request_id, ` +
      // Qualified: a bare seq here would name the output column seq::text and sort as text.
      `details::text, leaf_hash from audit_events where seq is not null and ${NOT_ARCHIVED} order by audit_events.seq, audit_events.id) ` +
      'to stdout (format binary)',
  );
}

// -------------------------------------------------------------------------------- tree heads

export interface HeadRow {
  id: number;
  tree_size: number;
  root_hash: string;
  signed_at: Date;
  signature: string;
  key_fingerprint: string;
}

export function toSignedHead(row: HeadRow): SignedTreeHead {
  return {
    treeSize: row.tree_size,
    rootHash: row.root_hash,
    timestamp: row.signed_at.toISOString(),
    signature: row.signature,
  };
}

export async function insertHead(db: Executor, head: SignedTreeHead, fingerprint: string): Promise<HeadRow> {
  return db
    .insertInto('audit_tree_heads')
    .values({
      tree_size: head.treeSize,
      root_hash: head.rootHash,
      signed_at: new Date(head.timestamp),
      signature: head.signature,
      key_fingerprint: fingerprint,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listHeads(db: Executor, page: { limit: number; before?: number | undefined }) {
  let query = db.selectFrom('audit_tree_heads').selectAll();
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  return query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

/** The largest signed head (the newest among equals). */
export async function latestHead(db: Executor): Promise<HeadRow | undefined> {
  return db
    .selectFrom('audit_tree_heads')
    .selectAll()
    .orderBy('tree_size', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function headOfSize(db: Executor, treeSize: number): Promise<HeadRow | undefined> {
  return db
    .selectFrom('audit_tree_heads')
    .selectAll()
    .where('tree_size', '=', treeSize)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function allHeads(db: Executor): Promise<HeadRow[]> {
  return db.selectFrom('audit_tree_heads').selectAll().orderBy('tree_size').orderBy('id').execute();
}

// ------------------------------------------------------------------------- subtree node cache

export async function cachedNodes(
  db: Executor,
  level: number,
  indexes: number[],
): Promise<Array<{ idx: number; hash: Uint8Array }>> {
  if (indexes.length === 0) return [];
  return db
    .selectFrom('audit_tree_nodes')
    .select(['idx', 'hash'])
    .where('level', '=', level)
    .where('idx', 'in', indexes)
    .execute();
}

/** Every cached subtree hash, for verification (a few per 256 entries). */
export async function allCachedNodes(
  db: Executor,
): Promise<Array<{ level: number; idx: number; hash: Uint8Array }>> {
  return db
    .selectFrom('audit_tree_nodes')
    .select(['level', 'idx', 'hash'])
    .orderBy('level')
    .orderBy('idx')
    .execute();
}

export async function cacheNodes(
  db: Executor,
  level: number,
  nodes: Array<{ idx: number; hash: Uint8Array }>,
): Promise<void> {
  for (let i = 0; i < nodes.length; i += 500) {
    const chunk = nodes.slice(i, i + 500);
    await db
      .insertInto('audit_tree_nodes')
      .values(chunk.map((n) => ({ level, idx: n.idx, hash: n.hash })))
      .onConflict((oc) => oc.columns(['level', 'idx']).doNothing())
      .execute();
  }
}

// ------------------------------------------------------------------------------ key registry

const KEY_SETTING = 'audit.signing_key';

export interface RegisteredKey {
  fingerprint: string;
  publicKeyPem: string;
  registeredAt: string;
}

/** Records this database's signing key on first use and returns whichever key is recorded. */
export async function registerKey(db: Executor, key: RegisteredKey): Promise<RegisteredKey> {
  return settleSetting(db, KEY_SETTING, key);
}

// ---------------------------------------------------------------------------------- archives

/** The last seq taken out by an archiving (migration 0041); 0 when nothing was archived. */
export async function archivedThrough(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('audit_archives')
    .select((eb) => eb.fn.max('last_seq').as('last'))
    .executeTakeFirst();
  return Number(row?.last ?? 0);
}

export async function listArchives(db: Executor) {
  return db.selectFrom('audit_archives').selectAll().orderBy('last_seq').execute();
}

/** The archiving whose range holds `seq`, if any. */
export async function archiveHolding(db: Executor, seq: number) {
  return db
    .selectFrom('audit_archives')
    .selectAll()
    .where('first_seq', '<=', seq)
    .where('last_seq', '>=', seq)
    .executeTakeFirst();
}

/** Integrated rows with seq ≤ `last` (entries of archived ranges that stayed behind), after `after`, a page. */
export async function entriesThrough(db: Executor, last: number, after: EntryKey | null, limit: number) {
  let query = db
    .selectFrom('audit_events')
    .select(ENTRY_COLUMNS)
    .where('seq', 'is not', null)
    .where('seq', '<=', last);
  if (after) {
    const seq = Number(after.seq);
    query = query.where((eb) =>
      eb.or([eb('seq', '>', seq), eb.and([eb('seq', '=', seq), eb('id', '>', after.id)])]),
    );
  }
  return (await query.orderBy('seq').orderBy('id').limit(limit).execute()) as EntryRow[];
}

/** Kept leaf hashes of archived entries at the given seqs. */
export async function archivedLeavesAt(db: Executor, seqs: number[]) {
  if (seqs.length === 0) return [];
  return db
    .selectFrom('audit_archived_leaves')
    .select(['seq', 'leaf_hash'])
    .where('seq', 'in', seqs)
    .execute();
}

/** Cached level-8 subtree hashes with index from..to (inclusive), in order. */
export async function level8Between(
  db: Executor,
  from: number,
  to: number,
): Promise<Array<{ idx: number; hash: Uint8Array }>> {
  return db
    .selectFrom('audit_tree_nodes')
    .select(['idx', 'hash'])
    .where('level', '=', 8)
    .where('idx', '>=', from)
    .where('idx', '<=', to)
    .orderBy('idx')
    .execute();
}

/** Kept leaf hashes of archived entries (the incomplete last blocks), seq from..to, in order. */
export async function archivedLeavesBetween(
  db: Executor,
  from: number,
  to: number,
): Promise<Array<{ seq: number; leaf_hash: Uint8Array }>> {
  return db
    .selectFrom('audit_archived_leaves')
    .select(['seq', 'leaf_hash'])
    .where('seq', '>=', from)
    .where('seq', '<=', to)
    .orderBy('seq')
    .execute();
}
