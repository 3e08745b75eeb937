import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import { appendAuditGrouped } from '../audit/append.ts';
import { authorize, type Principal } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { DATASET_SCHEMA, datasetTable, ident, ROW_ORDINAL } from '../core/datasets.ts';
import { type Db, isDatabaseAway, PREPARED } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { settleSetting } from '../core/settings.ts';
import type { DataType, ReviewFlag } from '../core/tables.ts';
import { gatewayFreezeSql, guardGatewayCall } from '../monitor/service.ts';
import { operationFields, operationTermsSql } from '../operation/service.ts';
import { checkFilter, compileFilter, type Filter, type FilterField, fieldsOf } from '../rules/filters.ts';
import { isGrade } from '../rules/grades.ts';
import { derivePseudonymKey, maskSql } from '../rules/masking.ts';
import type { OrderTerm, SelectItem } from '../rules/postgrest.ts';
import {
  type ContractRow,
  effectiveMask,
  effectiveState,
  flagContractForReview,
  ipAllowed,
} from '../sharing/service.ts';
import { derivedTable, isUndefinedTable } from './derived-tables.ts';
import { assertExactAggregateAllowed } from './dp.ts';
import {
  countSpanReads,
  SPAN_COPY_VALUE,
  SPAN_DIGEST,
  SPAN_MASK,
  scheduleSpanMasked,
  spanMaskSql,
  withSpanFallback,
} from './span-masked.ts';
import * as store from './store.ts';

/**
 * The contract-enforcing gateway. Every request reads the contract afresh from the database (so
 * a suspension or revocation made on any node holds from the next request), counts itself against
 * the contract's limits in the database (so limits hold across nodes), and runs one SQL query that
 * does the projection, masking, row filter, user filter, ordering and limit — raw values of
 * masked fields never leave PostgreSQL.
 */
export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

export interface Granted {
  contract: ContractRow;
  table: string;
  versionId: string;
  /** Granted fields that exist in the served version, with the mask they are served under today. */
  fields: Array<FilterField & { mask: string }>;
  /** Granted fields re-graded to core since approval: never served, named when asked for. */
  withheld: string[];
  /** Fields whose grade rose after approval: what the consumer is told on every answer. */
  changedFields: ReviewFlag['fields'];
  /** The consumer uses this resource as an authorized operator, under an agreement in force. */
  underOperation: boolean;
  pseudonymKey: Buffer;
  /** Span-masked copies of the served version under the definitions in force: field → table (span-masked.ts). */
  spanCopies: Readonly<Record<string, string>>;
  /** Keys of the default row order and of cursor signatures, per contract. */
  orderKey: Buffer;
  cursorKey: Buffer;
}

let masterKey: Promise<Buffer> | undefined;

/** The platform's pseudonymisation master key, made once per database and kept in settings. */
function pseudonymMasterKey(db: Db): Promise<Buffer> {
  masterKey ??= (async () => {
    const stored = await settleSetting(db, 'gateway.pseudonym_key', randomBytes(32).toString('hex'));
    return Buffer.from(String(stored), 'hex');
  })().catch((error) => {
    masterKey = undefined;
    throw error;
  });
  return masterKey;
}

/** Shanghai calendar day and minute buckets: quotas reset at local midnight. */
export function buckets(now = new Date()) {
  const local = new Date(now.getTime() + 8 * 3_600_000).toISOString();
  const nextMinute = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 60_000);
  const nextDay = new Date(Date.parse(`${local.slice(0, 10)}T00:00:00+08:00`) + 86_400_000);
  return { minute: `m:${local.slice(0, 16)}`, day: `d:${local.slice(0, 10)}`, nextMinute, nextDay };
}

type FieldFacts = Record<string, { label: string; grade: string; detector: string | null }>;

export interface CallRecord {
  operation: 'rows' | 'aggregate';
  contractId: string;
  fields?: string[];
  filter?: Filter | null;
  rows?: number;
  bytes?: number;
  outcome: string;
  started: number;
  /** An export (a rows read of the whole view as a file): its format, and whether it was sent whole. */
  export?: { format: string; complete: boolean; manifest?: boolean };
}

/** Every call is recorded, allowed or refused, in the audit log. */
export async function recordCall(ctx: Ctx, call: CallRecord): Promise<void> {
  // Durable before the answer, grouped with the concurrent calls' entries into one insert.
  await appendAuditGrouped(ctx.db, {
    actorId: ctx.principal?.userId ?? null,
    orgId: ctx.principal?.orgId ?? null,
    action: call.outcome === 'ok' ? `gateway.${call.operation}` : 'gateway.refused',
    objectType: 'contract',
    objectId: call.contractId,
    requestId: ctx.requestId,
    details: {
      operation: call.operation,
      credential: ctx.principal?.credentialId ?? null,
      fields: call.fields ?? [],
      filter: call.filter ?? null,
      rows: call.rows ?? 0,
      bytes: call.bytes ?? 0,
      outcome: call.outcome,
      ...(call.export ? { export: call.export } : {}),
      latencyMs: Date.now() - call.started,
    },
  });
}

/**
 * One statement admits a call: the contract (read afresh, so a suspension or revocation made on any
 * node holds from the next request), the version it serves with its table, columns and the fields'
 * current labels, grades and detectors (a re-graded field is served under its stricter mask from
 * the next request), the emergency stop (monitor's subquery), and the count of this request against
 * the rate limit in the minute bucket — counted only for the contract's own consumer, so another
 * organization cannot spend it. Its commit is asynchronous: the audit entry every call commits
 * durably before it is answered comes later in the same WAL, so flushing it flushes this too.
 */
async function admission(ctx: Ctx, contractId: string, orgId: string) {
  const { minute } = buckets();
  const freeze = gatewayFreezeSql({
    contractId: sql.ref('contracts.id'),
    orgId: sql.ref('contracts.consumer_org_id'),
    resourceId: sql.ref('contracts.resource_id'),
  });
  const operation = operationTermsSql({
    orgId: sql.ref('contracts.consumer_org_id'),
    resourceId: sql.ref('contracts.resource_id'),
  });
  const { rows } = await sql<
    ContractRow & {
      served_id: string | null;
      served_state: string | null;
      served_table: string | null;
      served_columns: Array<{ name: string; dataType: string }> | null;
      labels: FieldFacts | null;
      span_copies: Record<string, string> | null;
      freeze: Parameters<typeof guardGatewayCall>[2];
      operation_terms: Parameters<typeof operationFields>[0];
      _async?: string;
      requests: number | string | null;
    }
  >`WITH c AS (
      SELECT contracts.*, v.id AS served_id, v.state AS served_state, v.table_name AS served_table,
        v.columns AS served_columns,
        (SELECT coalesce(json_object_agg(f.name, json_build_object('label', f.label, 'grade', f.grade,
            'detector', f.detector)), '{}'::json)
           FROM resource_fields f WHERE f.resource_id = contracts.resource_id) AS labels,
        (SELECT json_object_agg(s.field, s.table_name) FROM span_masked s
           WHERE s.version_id = v.id AND s.digest = ${SPAN_DIGEST}) AS span_copies,
        ${freeze} AS freeze, ${operation} AS operation_terms
      FROM contracts
      LEFT JOIN resources ON resources.id = contracts.resource_id
      LEFT JOIN dataset_versions v ON v.id = coalesce(contracts.pinned_version_id, resources.current_version_id)
      WHERE contracts.id = ${contractId}
    ), counted AS (
      INSERT INTO contract_usage (contract_id, bucket, requests)
      SELECT id, ${minute}, 1 FROM c WHERE consumer_org_id = ${orgId}
      ON CONFLICT (contract_id, bucket) DO UPDATE SET requests = contract_usage.requests + 1
      RETURNING requests
    )
    SELECT c.*, (SELECT requests FROM counted) AS requests${asyncCommit(ctx)} FROM c ${PREPARED}`.execute(
    ctx.db,
  );
  return rows[0];
}

/**
 * Counters commit asynchronously outside a caller's transaction (see `admission`); inside one, the
 * caller's commit keeps its own durability.
 */
function asyncCommit(ctx: Ctx) {
  return ctx.db.isTransaction ? sql`` : sql`, set_config('synchronous_commit', 'off', true) AS _async`;
}

/**
 * A call under a contract, as every gateway endpoint makes it: admitted (credential, contract,
 * rate, freeze, grades), then `work` on what was granted; a refusal or failure at any point is
 * recorded in the audit log with its code before it is thrown. `work` records the served call
 * itself, since only it knows what was sent (rows, bytes, whether a download finished).
 */
export async function underContract<T>(
  ctx: Ctx,
  call: {
    contractId: string;
    operation: 'rows' | 'aggregate';
    clientIp: string;
    export?: CallRecord['export'];
  },
  work: (granted: Granted, started: number) => Promise<T>,
): Promise<T> {
  const started = Date.now();
  try {
    return await work(await admit(ctx, call.contractId, call.operation, call.clientIp), started);
  } catch (error) {
    const outcome = error instanceof AppError ? error.code : 'INTERNAL';
    await recordCall(ctx, {
      operation: call.operation,
      contractId: call.contractId,
      outcome,
      started,
      ...(call.export ? { export: { ...call.export, complete: false } } : {}),
    }).catch(() => {});
    throw error;
  }
}

/** Seconds until a rate limit or quota refusal lifts (the Retry-After header), else null. */
export function retryAfterSeconds(error: unknown, now = Date.now()): number | null {
  if (!(error instanceof AppError) || (error.code !== 'RATE_LIMITED' && error.code !== 'QUOTA_EXCEEDED'))
    return null;
  const resetAt = Date.parse(String(error.details.resetAt));
  return Number.isFinite(resetAt) ? Math.max(1, Math.ceil((resetAt - now) / 1000)) : null;
}

/** Loads and checks the contract for one request: who, state, period, operation, address. */
export async function admit(
  ctx: Ctx,
  contractId: string,
  operation: 'rows' | 'aggregate',
  clientIp: string,
): Promise<Granted> {
  const principal: Principal = authorize(ctx.principal, { roles: 'any', scope: 'gateway' });
  const found = await admission(ctx, contractId, principal.orgId);
  // Another organization's contract is answered exactly like a missing one: ids cannot be probed.
  if (!found || found.consumer_org_id !== principal.orgId)
    throw new AppError('NOT_FOUND', { objectType: 'contract', id: contractId });
  const {
    served_id,
    served_state,
    served_table,
    served_columns,
    labels: servedLabels,
    span_copies,
    freeze,
    operation_terms,
    requests,
    _async,
    ...contract
  } = found;
  // Every call the consumer makes on its contract counts against the rate limit, refused or not:
  // refusals must not be a free oracle.
  if (Number(requests) > contract.rate_limit_per_minute) {
    throw new AppError('RATE_LIMITED', {
      limitPerMinute: contract.rate_limit_per_minute,
      resetAt: buckets().nextMinute.toISOString(),
    });
  }
  // Emergency stop (read in the same statement) and the working-hours term.
  await guardGatewayCall(ctx, contract, freeze ?? null);
  const state = effectiveState(contract);
  // An active contract past its end is refused as expired at once; the scheduler records the
  // transition (sharing.expireDueContracts), not this read.
  if (state === 'expired' || contract.valid_from.getTime() > Date.now()) {
    throw new AppError('CONTRACT_EXPIRED', {
      validFrom: contract.valid_from.toISOString(),
      validTo: contract.valid_to.toISOString(),
    });
  }
  if (state !== 'active') throw new AppError('CONTRACT_NOT_ACTIVE', { state, reason: contract.state_reason });
  if (!contract.operations.includes(operation))
    throw new AppError('OPERATION_NOT_ALLOWED', { operation, allowed: contract.operations });
  if (!ipAllowed(clientIp, contract.ip_allowlist)) throw new AppError('IP_NOT_ALLOWED', { ip: clientIp });
  // An operator's use of agreement-scoped data: only while an agreement is in force, its fields only.
  const agreed = operationFields(operation_terms ?? null);
  if (!served_id || served_state !== 'ready' || !served_table || !served_columns)
    throw new AppError('NO_DATA_VERSION', { resource: contract.resource_id });
  const labels = servedLabels ?? {};
  const atGrant = contract.granted_grades ?? {};
  const fields: Granted['fields'] = [];
  const withheld: string[] = [];
  const changedFields: ReviewFlag['fields'] = [];
  for (const c of served_columns) {
    // A field outside every agreement in force is not granted, whatever the contract says.
    if (!contract.fields.includes(c.name) || (agreed && !agreed.has(c.name))) continue;
    const label = labels[c.name];
    const contractMask = contract.masking[c.name] ?? 'null';
    const grade = label && isGrade(label.grade) ? label.grade : 'unassessed';
    const detector = label?.detector ?? null;
    // The stricter of the contract's mask and the current grade's default, on every request.
    const mask = effectiveMask(contractMask, { grade, detector }, atGrant[c.name], contract.security_signoff);
    if (mask !== contractMask) changedFields.push({ name: c.name, grade, detector, contractMask, mask });
    if (mask === null) withheld.push(c.name);
    else fields.push({ name: c.name, dataType: c.dataType as DataType, label: label?.label ?? c.name, mask });
  }
  // The provider reviews the contract; the flag stays until then, even if the grade comes back.
  if (changedFields.length > 0) await flagContractForReview(ctx, contract, changedFields);
  const master = await pseudonymMasterKey(ctx.db);
  const keys = contractKeys(master, contract.id);
  return {
    contract,
    table: served_table,
    versionId: served_id,
    fields,
    withheld,
    changedFields,
    underOperation: agreed !== null,
    spanCopies: span_copies ?? {},
    ...keys,
  };
}

/** Keys derived from the master secret per contract: HMACs, so computed once per contract and node. */
const derivedKeys = new Map<string, { pseudonymKey: Buffer; orderKey: Buffer; cursorKey: Buffer }>();
function contractKeys(master: Buffer, contractId: string) {
  const id = `${master.toString('hex')}/${contractId}`;
  let keys = derivedKeys.get(id);
  if (!keys) {
    keys = {
      pseudonymKey: derivePseudonymKey(master, contractId),
      orderKey: createHmac('sm3', master).update(`shutong/order/v1/${contractId}`, 'utf8').digest(),
      cursorKey: createHmac('sm3', master).update('shutong/cursor/v1', 'utf8').digest(),
    };
    if (derivedKeys.size > 10_000) derivedKeys.clear();
    derivedKeys.set(id, keys);
  }
  return keys;
}

/**
 * Reserves up to `wanted` rows of today's quota atomically (so two nodes cannot both spend the
 * last rows); the caller gives back what it did not use.
 */
export async function reserveRows(
  ctx: Ctx,
  contract: ContractRow,
  wanted: number,
): Promise<{ granted: number; day: string }> {
  const { day, nextDay } = buckets();
  const quota = Number(contract.quota_rows_per_day);
  // The take commits asynchronously, made durable by the audit entry's flush before the answer
  // (see `admission`).
  const take = () =>
    store.takeRows(ctx.db, { contractId: contract.id, day, wanted, quota }, asyncCommit(ctx));
  let taken = await take();
  if (taken === undefined) {
    await store.openDay(ctx.db, contract.id, day);
    taken = await take();
  }
  const granted = taken ?? 0;
  if (granted === 0)
    throw new AppError('QUOTA_EXCEEDED', { quotaRowsPerDay: quota, resetAt: nextDay.toISOString() });
  return { granted, day };
}

export async function settleRows(
  ctx: Ctx,
  contract: ContractRow,
  day: string,
  reserved: number,
  used: number,
  bytes: number,
) {
  if (reserved === used && bytes === 0) return; // nothing to give back
  await store.settleDay(ctx.db, { contractId: contract.id, day, unused: reserved - used, bytes });
}

/** A granted field re-graded to core since approval: refused, naming it. */
function refuseWithheld(granted: Granted, name: string, where: string) {
  if (granted.withheld.includes(name)) {
    throw new AppError('CORE_DATA_NOT_SERVED', {
      field: where,
      name,
      changedFields: granted.changedFields,
    });
  }
}

/** Only granted fields served raw may be filtered, ordered or grouped by: otherwise the query is an oracle. */
function usable(granted: Granted, name: string, where: string) {
  refuseWithheld(granted, name, where);
  const field = granted.fields.find((f) => f.name === name);
  if (!field || field.mask !== 'none') {
    throw new AppError('FILTER_ON_MASKED_FIELD', {
      field: where,
      name,
      reason: field ? 'masked' : 'not_granted',
    });
  }
  return field;
}

/**
 * The served value of each field over the relation `from` (the version's columns and row
 * ordinal), and the joins they need: the one place the gateway builds masked columns (rows in
 * every format, exports). A field under redact_spans is read from its version's span-masked copy
 * when admission found one (span-masked.ts) — joined by row ordinal, which measured faster than
 * a scalar subquery per row for a whole export and the same for a page — else computed with the
 * expression, and its copy is built outside the request. Callers run the read under
 * `withSpanFallback`: a copy dropped under it is read again with the expression.
 */
export function servedColumns(
  ctx: Ctx,
  granted: Granted,
  fields: ReadonlyArray<Granted['fields'][number]>,
  from: string,
): { values: RawBuilder<unknown>[]; joins: RawBuilder<unknown> } {
  const joined = new Map<string, string>();
  const joins: RawBuilder<unknown>[] = [];
  let fromCopy = 0;
  let fromExpression = 0;
  const values = fields.map((field) => {
    const column = `${from}.${field.name}`;
    if (field.mask === 'none') return sql`${sql.ref(column)}`;
    if (field.mask !== SPAN_MASK) return maskSql(field.mask, column, { pseudonymKey: granted.pseudonymKey });
    // Inside a caller's transaction a copy dropped under the read would abort it, leaving the
    // fallback nothing to retry in: such reads (a few rows read through) use the expression.
    const copy = ctx.db.isTransaction ? undefined : granted.spanCopies[field.name];
    if (!copy) {
      fromExpression++;
      scheduleSpanMasked(ctx.db, {
        resourceId: granted.contract.resource_id,
        versionId: granted.versionId,
        versionTable: granted.table,
        field: field.name,
      });
      return spanMaskSql(column);
    }
    fromCopy++;
    let alias = joined.get(copy);
    if (!alias) {
      alias = `m${joined.size}`;
      joined.set(copy, alias);
      joins.push(
        sql`LEFT JOIN ${derivedTable(copy)} AS ${sql.id(alias)} ON ${sql.ref(`${alias}.${ROW_ORDINAL}`)} = ${sql.ref(`${from}.${ROW_ORDINAL}`)}`,
      );
    }
    return sql`${sql.ref(`${alias}.${SPAN_COPY_VALUE}`)}`;
  });
  countSpanReads(fromCopy, fromExpression);
  return { values, joins: sql.join(joins, sql` `) };
}

/**
 * A read, already parsed and checked against the granted fields by `src/rules/postgrest.ts`
 * (select on granted fields, filter and order on fields served raw).
 */
export interface RowsQuery {
  select: SelectItem[];
  filter: Filter | null;
  order: OrderTerm[];
  /** Capped at MAX_PAGE (as PostgREST's db-max-rows); DEFAULT_PAGE when absent. */
  limit?: number | undefined;
  /** Rows to skip: PostgREST's `offset` / `Range`; not with a cursor. */
  offset?: number | undefined;
  cursor?: string | undefined;
  /** Also count every row the contract's and the query's filters admit. */
  count?: boolean | undefined;
  /** Fetch no rows (HEAD): only the count, which takes no row quota. */
  head?: boolean | undefined;
}

/**
 * Cursors are signed (HMAC-SM3 under a key derived from the platform's master secret) over the
 * contract, the served version and the query, so a cursor cannot be forged, altered, or replayed
 * on another query, contract or version: any of these is a 400 naming `cursor`.
 */
type Position = { after: string } | { offset: number };

function cursorMac(granted: Granted, binding: string, payload: string): Buffer {
  return createHmac('sm3', granted.cursorKey)
    .update(`${granted.contract.id}\n${granted.versionId}\n${binding}\n${payload}`, 'utf8')
    .digest()
    .subarray(0, 16);
}

function encodeCursor(granted: Granted, binding: string, position: Position): string {
  const payload = 'after' in position ? `h:${position.after}` : `o:${position.offset}`;
  return `${Buffer.from(payload).toString('base64url')}.${cursorMac(granted, binding, payload).toString('base64url')}`;
}

function decodeCursor(granted: Granted, binding: string, cursor: string | undefined): Position | null {
  if (!cursor) return null;
  const invalid = () =>
    new AppError(
      'VALIDATION_FAILED',
      { field: 'cursor' },
      { zh: '游标无效或不属于此查询', en: 'the cursor is invalid or belongs to another query' },
    );
  const [encoded, mac, extra] = cursor.split('.');
  if (!encoded || !mac || extra !== undefined) throw invalid();
  const payload = Buffer.from(encoded, 'base64url').toString('utf8');
  const given = Buffer.from(mac, 'base64url');
  const expected = cursorMac(granted, binding, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  const match = /^(?:h:(\d{1,10})|o:(\d{1,15}))$/.exec(payload);
  if (!match) throw invalid();
  return match[1] ? { after: match[1] } : { offset: Number(match[2]) };
}

/**
 * The default order: a keyed pseudo-random permutation of the row ordinal, per contract (not the
 * provider's file order, which may be sorted by a masked column). Three rounds of xor with a
 * 31-bit key, multiplication by an odd constant modulo 2^31 and an xor-shift: each step is a
 * bijection on [0, 2^31), so no two rows of a version tie, and every product fits a bigint. It
 * is integer arithmetic in the same scan (an HMAC per row cost 20× the page's query time).
 * Not a cryptographic permutation: it hides the file order from someone without the key.
 */
const MIX = [1540483477, 668265263, 374761393];
const MASK31 = 2147483647;

/**
 * The key expression as SQL text with its constants written out: the index definition and the
 * query carry the same text, which is what lets the planner read a page from the index in key
 * order (stopping after `limit` matches) instead of scanning and sorting every row in scope. The
 * values are those of the earlier parameterised form, so cursors issued before stay valid.
 */
function rowKeyText(orderKey: Buffer): string {
  const keys = [0, 1, 2, 3].map((i) => orderKey.readUInt32BE(i * 4) & MASK31);
  let x = `((${ident(ROW_ORDINAL)} & ${MASK31}::bigint) # ${keys[0]}::bigint)`;
  for (const [i, c] of MIX.entries()) {
    const y = `((${x} * ${c}::bigint) & ${MASK31}::bigint)`;
    x = `((${y} # (${y} >> 15)) # ${keys[i + 1]}::bigint)`;
  }
  return x;
}

export function rowKey(granted: Granted): RawBuilder<unknown> {
  return sql.raw(rowKeyText(granted.orderKey));
}

/**
 * Per node: the order indexes known to exist (true) or being built (the build). An index is per
 * contract and version (the key is the contract's), built the first time the contract reads the
 * version; until it exists the page is chosen by a scan and a top-N sort, with the same result.
 * Versions are never written once ready, so the build blocks nothing.
 */
const orderIndexes = new Map<string, true | Promise<void>>();

function orderIndexName(granted: Granted): string {
  const digest = createHmac('sm3', granted.orderKey)
    .update(`${granted.table}\n${ORDER_INDEX_VERSION}`)
    .digest('hex');
  return `gk_${digest.slice(0, 40)}`;
}
const ORDER_INDEX_VERSION = 'v1';
const ORDER_INDEX_RETRY_MS = 60_000;

/** Starts building the contract's order index on its version when it is missing; true when it exists. */
export function ensureOrderIndex(ctx: Ctx, granted: Granted): { ready: boolean; built: Promise<void> } {
  const name = orderIndexName(granted);
  const known = orderIndexes.get(name);
  if (known === true) return { ready: true, built: Promise.resolve() };
  if (known) return { ready: false, built: known };
  const build = (async () => {
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one FROM pg_indexes
      WHERE schemaname = ${DATASET_SCHEMA} AND indexname = ${name}`.execute(ctx.db);
    if (rows.length === 0) {
      await sql
        .raw(
          `CREATE INDEX IF NOT EXISTS ${ident(name)} ON ${datasetTable(granted.table)} ((${rowKeyText(granted.orderKey)}))`,
        )
        .execute(ctx.db);
    }
    if (orderIndexes.size > 10_000) orderIndexes.clear();
    orderIndexes.set(name, true);
  })().catch(() => {
    // Two nodes building the same index at once (one loses on the catalog's unique name), or a
    // role that may not create indexes: a request after a pause looks again; until then the sort
    // path serves, and a persistent failure costs no statement per request.
    const retry = setTimeout(() => orderIndexes.delete(name), ORDER_INDEX_RETRY_MS);
    retry.unref();
  });
  orderIndexes.set(name, build);
  return { ready: false, built: build };
}

/**
 * One read of a served version's rows: `SELECT columns FROM source joins tail`, where `source` is
 * an aliased subquery over the version's table and `joins` the span-masked copies it needs.
 */
interface ServedStatement {
  columns: RawBuilder<unknown>;
  source: RawBuilder<unknown>;
  joins?: RawBuilder<unknown>;
  tail?: RawBuilder<unknown>;
}

/** Where served reads were answered from, per process (tests). */
const replicaStats = { replica: 0, notReady: 0, missing: 0, failed: 0 };
export function replicaRowStats(): Readonly<typeof replicaStats> {
  return { ...replicaStats };
}

/**
 * The statement, on the replica: the same statement also reads, in its own snapshot, whether the
 * replica's row of the version says ready. A version's table is filled over many commits (one per
 * COPY chunk) before the commit that marks it ready, and a replica replays commits in order, so a
 * replica that sees the mark holds every row, and one that does not may hold only some: a page
 * read there would look complete and not be. `_ready` comes on every row; when the version is not
 * ready the one row is the guard's own (the page is LEFT JOINed on it), as it is when ready and no
 * row matches — `present` (a column never null in a real row) tells those apart.
 */
function onReplica(granted: Granted, read: ServedStatement) {
  return sql<Record<string, unknown>>`SELECT _guard.ready AS _ready, ${read.columns}
    FROM (SELECT EXISTS (SELECT 1 FROM dataset_versions WHERE id = ${granted.versionId}
      AND table_name = ${granted.table} AND state = 'ready') AS ready) _guard
    LEFT JOIN ${read.source} ON _guard.ready ${read.joins ?? sql``} ${read.tail ?? sql``}`;
}

/**
 * What sends a replica's read back to the primary: the table or a span-masked copy not replayed
 * there yet (42P01), the replica away (its connection refused or cut), or the read cancelled by a
 * recovery conflict (40001: replay needed what the query held).
 */
function replicaCannotAnswer(error: unknown): 'missing' | 'failed' | null {
  if (isUndefinedTable(error)) return 'missing';
  if (isDatabaseAway(error) || (error as { code?: unknown } | null)?.code === '40001') return 'failed';
  return null;
}

/**
 * Runs a served read on the read replicas when the request has them, else (and whenever the
 * replica cannot answer it completely) on the primary. Admission, quotas, masks' keys and the
 * audit entry were settled on the primary before: only the rows come from the replica, so a
 * revocation still holds on the next request. Span-masked copies need no check of their own: each
 * is created and filled in one transaction (derived-tables.ts), so on the replica it is either
 * whole or missing. Inside a caller's transaction the read stays in it, on the primary.
 */
async function servedRead<R>(
  ctx: Ctx,
  granted: Granted,
  present: keyof R & string,
  read: (served: Granted) => ServedStatement,
): Promise<R[]> {
  if (ctx.replicaDb && !ctx.db.isTransaction) {
    try {
      const { rows } = await onReplica(granted, read(granted)).execute(ctx.replicaDb);
      if (rows[0]?._ready === true) {
        replicaStats.replica++;
        return rows.filter((row) => row[present] !== null).map(({ _ready, ...row }) => row as R);
      }
      replicaStats.notReady++;
    } catch (error) {
      const reason = replicaCannotAnswer(error);
      if (!reason) throw error;
      replicaStats[reason]++;
    }
  }
  // Built again for the primary: a read that fell back counts its span-masked columns twice
  // (span-masked.ts statistics), which is all the second build costs.
  const { rows } = await withSpanFallback(granted, (served) => {
    const { columns, source, joins, tail } = read(served);
    return sql<R>`SELECT ${columns} FROM ${source} ${joins ?? sql``} ${tail ?? sql``}`.execute(ctx.db);
  });
  return rows;
}

export async function queryRows(ctx: Ctx, granted: Granted, query: RowsQuery) {
  for (const s of query.select) refuseWithheld(granted, s.field, 'select');
  const fields = query.select.map((s) => ({
    ...granted.fields.find((f) => f.name === s.field)!,
    alias: s.alias,
  }));
  const userFilter = query.filter;
  for (const name of fieldsOf(userFilter)) usable(granted, name, 'filter');
  const order = query.order.map((o) => {
    usable(granted, o.field, 'order');
    return o;
  });
  const limit = Math.min(query.limit ?? DEFAULT_PAGE, MAX_PAGE);
  if (query.cursor && query.offset)
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'offset' },
      { zh: '不能与 cursor 同用', en: 'not with a cursor' },
    );
  // A cursor continues exactly the query it came from: same fields, filter and order.
  const binding = JSON.stringify({
    select: query.select.map((s) => [s.field, s.alias]),
    order,
    filter: userFilter,
  });
  const cursor = decodeCursor(granted, binding, query.cursor);
  // The rate limit was counted at admission; here only rows of today's quota are reserved.
  const reservation = !query.head && limit > 0 ? await reserveRows(ctx, granted.contract, limit) : null;
  const rowFilter = (granted.contract.row_filter ?? null) as Filter | null;
  const conditions: RawBuilder<boolean>[] = [];
  if (rowFilter) conditions.push(compileFilter(rowFilter));
  if (userFilter) conditions.push(compileFilter(userFilter));
  const table = sql.table(`${DATASET_SCHEMA}.${granted.table}`);
  const total = query.count
    ? Number(
        (
          await servedRead<{ n: string | number }>(ctx, granted, 'n', () => ({
            columns: sql`counted.n`,
            source: sql`(SELECT count(*) AS n FROM ${table} ${
              conditions.length > 0 ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``
            }) counted`,
          }))
        )[0]?.n ?? 0,
      )
    : null;
  if (cursor && 'after' in cursor && order.length === 0)
    conditions.push(sql<boolean>`${rowKey(granted)} > ${Number(cursor.after)}::bigint`);
  const where = conditions.length > 0 ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``;
  // Qualified outside the page: the copies joined there have columns of their own.
  const orderBy = (prefix: string) =>
    sql.join([
      ...order.map(
        (o) =>
          sql`${sql.ref(`${prefix}${o.field}`)} ${sql.raw(o.direction === 'desc' ? 'DESC' : 'ASC')}${sql.raw(
            o.nulls === 'first' ? ' NULLS FIRST' : o.nulls === 'last' ? ' NULLS LAST' : '',
          )}`,
      ),
      sql.ref(`${prefix}_k`),
    ]);
  const offset = cursor && 'offset' in cursor ? cursor.offset : cursor ? 0 : (query.offset ?? 0);
  let rows: Record<string, unknown>[] = [];
  let reserved = 0;
  // The default order reads from the contract's index once it exists (the first read starts it).
  if (order.length === 0 && reservation) ensureOrderIndex(ctx, granted);
  if (reservation) {
    reserved = reservation.granted;
    try {
      // The page is chosen on raw columns first and only its rows are masked: masking every row in
      // scope before the sort would cost the whole scan's worth of mask expressions.
      rows = await servedRead<Record<string, unknown>>(ctx, granted, '_k', (served) => {
        const { values, joins } = servedColumns(ctx, served, fields, 'page');
        return {
          columns: sql.join([sql`page._k`, ...values.map((v, i) => sql`${v} AS ${sql.ref(`c${i}`)}`)]),
          source: sql`(SELECT *, ${rowKey(granted)} AS _k FROM ${table} ${where} ORDER BY ${orderBy('')} LIMIT ${reservation.granted} OFFSET ${offset}) page`,
          joins,
          tail: sql`ORDER BY ${orderBy('page.')}`,
        };
      });
    } finally {
      await settleRows(ctx, granted.contract, reservation.day, reservation.granted, rows.length, 0);
    }
  }
  const last = rows.at(-1);
  const full = rows.length === reserved && reserved === limit;
  const nextCursor =
    !full || !last
      ? null
      : encodeCursor(
          granted,
          binding,
          order.length > 0 ? { offset: offset + rows.length } : { after: String(last._k) },
        );
  const items = rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [i, f] of fields.entries()) out[f.alias] = row[`c${i}`] ?? null;
    return out;
  });
  return {
    items,
    nextCursor,
    /** The first row's position in the whole result, for Content-Range. */
    offset,
    /** Rows the filters admit, when asked (`count`). */
    total,
    /** Rows a HEAD request would have served (from the count). */
    wouldServe: query.head && total !== null ? Math.max(0, Math.min(limit, total - offset)) : items.length,
    fields: fields.map((f) => ({ name: f.alias, label: f.label, dataType: f.dataType, mask: f.mask })),
    changedFields: granted.changedFields,
    filter: userFilter,
  };
}

export interface AggregateRequest {
  groupBy?: string[] | undefined;
  metrics: Array<{ fn: 'count' | 'sum' | 'avg' | 'min' | 'max'; field?: string | undefined }>;
  filter?: unknown;
}

/**
 * One-condition relaxations of the user's filter: the same filter with one top-level condition
 * left out (a single predicate relaxes to no filter). A cell is withheld when it differs from any
 * of them by fewer than k rows, because that difference is a small cell the consumer could
 * compute by subtraction (the textbook differencing attack: `district = X` minus
 * `district = X and id ≠ p`). This stops that shape; only differential privacy stops
 * differencing in general (combinations over several queries, nested conditions).
 */
function relaxations(filter: Filter | null): Array<Filter | null> {
  if (!filter) return [];
  if ('and' in filter || 'or' in filter) {
    const children = 'and' in filter ? filter.and : filter.or;
    return children.map((_, i) => {
      const rest = children.filter((__, j) => j !== i);
      if (rest.length === 0) return null;
      if (rest.length === 1) return rest[0]!;
      return 'and' in filter ? { and: rest } : { or: rest };
    });
  }
  return [null];
}

/**
 * A few rows read through a contract on the holder's behalf by another capability (a department
 * pre-filling a service step, a grassroots unit pre-filling its report): admitted, queried and
 * recorded exactly as the holder's own gateway call, so the contract and its audit entry are the
 * value's proof. A refusal (an AppError below 500: revoked, frozen, over quota, field withheld…)
 * is recorded and answered as `refused` with its code; anything else is thrown.
 */
export async function readThrough(
  ctx: Ctx,
  contractId: string,
  query: { fields: string[]; filter: Filter; limit: number },
  clientIp: string,
): Promise<{ items: Array<Record<string, unknown>> } | { refused: string }> {
  const started = Date.now();
  const { fields, filter } = query;
  try {
    const granted = await admit(ctx, contractId, 'rows', clientIp);
    const result = await queryRows(ctx, granted, {
      select: fields.map((field) => ({ field, alias: field })),
      filter,
      order: [],
      limit: query.limit,
    });
    await recordCall(ctx, {
      operation: 'rows',
      contractId,
      fields,
      filter,
      rows: result.items.length,
      outcome: 'ok',
      started,
    });
    return { items: result.items };
  } catch (error) {
    const outcome = error instanceof AppError ? error.code : 'error';
    await recordCall(ctx, { operation: 'rows', contractId, filter, outcome, started }).catch(() => {});
    if (!(error instanceof AppError) || error.status >= 500) throw error;
    return { refused: error.code };
  }
}

export async function aggregate(ctx: Ctx, granted: Granted, request: AggregateRequest) {
  await assertExactAggregateAllowed(ctx, granted);
  const groupBy = (request.groupBy ?? []).map((name, i) => usable(granted, name, `groupBy.${i}`));
  const filter =
    request.filter === undefined || request.filter === null
      ? null
      : checkFilter(request.filter, granted.fields, 'filter');
  for (const name of fieldsOf(filter)) usable(granted, name, 'filter');
  const matched = filter ? compileFilter(filter) : null;
  const within = (expr: RawBuilder<unknown>) => (matched ? sql`${expr} FILTER (WHERE ${matched})` : expr);
  const metrics = request.metrics.map((m, i) => {
    if (m.fn === 'count' && !m.field) return { ...m, alias: 'count', expr: within(sql`count(*)`) };
    const where = `metrics.${i}.field`;
    if (!m.field) throw new AppError('VALIDATION_FAILED', { field: where });
    refuseWithheld(granted, m.field, where);
    const field = granted.fields.find((f) => f.name === m.field);
    if (!field) throw new AppError('FIELD_NOT_GRANTED', { field: where, name: m.field });
    // No aggregate of any kind over a field the contract does not serve raw: two sums that differ
    // by one person would give that person's value, count(field) whether they have one.
    if (field.mask !== 'none')
      throw new AppError('AGGREGATE_ON_MASKED_FIELD', { field: where, name: m.field, mask: field.mask });
    if ((m.fn === 'sum' || m.fn === 'avg') && field.dataType !== 'integer' && field.dataType !== 'decimal') {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: where },
        { zh: '求和与平均只用于数值字段', en: 'sum and avg apply to numeric fields' },
      );
    }
    const alias = `${m.fn}_${field.name}`;
    const column = sql.ref(field.name);
    const expr =
      m.fn === 'count'
        ? within(sql`count(${column})`)
        : m.fn === 'avg'
          ? sql`round((${within(sql`avg(${column})`)})::numeric, 4)`
          : within(sql`${sql.raw(m.fn)}(${column})`);
    return { ...m, alias, expr };
  });
  const k = granted.contract.min_group_size;
  const reservation = await reserveRows(ctx, granted.contract, MAX_PAGE);
  const rowFilter = (granted.contract.row_filter ?? null) as Filter | null;
  const relaxed = relaxations(filter);
  // Rows that matter: those of the contract's row filter that match the filter or any relaxation.
  const scope: RawBuilder<boolean>[] = rowFilter ? [compileFilter(rowFilter)] : [];
  if (matched && !relaxed.includes(null))
    scope.push(sql<boolean>`(${sql.join([matched, ...relaxed.map((r) => compileFilter(r!))], sql` OR `)})`);
  const where = scope.length > 0 ? sql`WHERE ${sql.join(scope, sql` AND `)}` : sql``;
  const table = sql.table(`${DATASET_SCHEMA}.${granted.table}`);
  const groupCols = groupBy.map((g) => sql`${sql.ref(g.name)}`);
  const groupClause = groupCols.length > 0 ? sql`GROUP BY ${sql.join(groupCols)}` : sql``;
  const selectList = sql.join([...groupCols, ...metrics.map((m) => sql`${m.expr} AS ${sql.ref(m.alias)}`)]);
  const size = within(sql`count(*)`);
  const having = [
    sql`${size} >= ${k}`,
    ...relaxed.map(
      (r) =>
        sql`abs(${r ? sql`count(*) FILTER (WHERE ${compileFilter(r)})` : sql`count(*)`} - ${size}) NOT BETWEEN 1 AND ${k - 1}`,
    ),
  ];
  let groups: Record<string, unknown>[] = [];
  try {
    const kept = await sql<
      Record<string, unknown>
    >`SELECT ${selectList} FROM ${table} ${where} ${groupClause} HAVING ${sql.join(having, sql` AND `)} ${groupCols.length > 0 ? sql`ORDER BY ${sql.join(groupCols)}` : sql``} LIMIT ${reservation.granted}`.execute(
      ctx.db,
    );
    groups = kept.rows.map((row) =>
      Object.fromEntries(Object.entries(row).map(([key, v]) => [key, typeof v === 'bigint' ? Number(v) : v])),
    );
  } finally {
    // Every answer spends at least one row of the day's quota, each released group one.
    const used = Math.min(reservation.granted, Math.max(1, groups.length));
    await settleRows(ctx, granted.contract, reservation.day, reservation.granted, used, 0);
  }
  return {
    // Groups smaller than minGroupSize, and cells a one-condition difference would reveal, are
    // left out; how many were left out is not said (that would tell whether a person exists).
    groups,
    minGroupSize: k,
    changedFields: granted.changedFields,
    filter,
  };
}

/** Admitted calls per consuming organization, for the evaluation index's platform figures. */
export { callsByConsumer } from './usage-counters.ts';
