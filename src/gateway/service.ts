import { randomBytes } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import { appendAudit } from '../audit/append.ts';
import { authorize, type Principal } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { DATASET_SCHEMA, ROW_ORDINAL } from '../core/datasets.ts';
import type { Db } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import type { DataType } from '../core/tables.ts';
import { guardGatewayCall } from '../monitor/service.ts';
import { checkFilter, compileFilter, type Filter, type FilterField, fieldsOf } from '../rules/filters.ts';
import { derivePseudonymKey, maskSql } from '../rules/masking.ts';
import type { OrderTerm, SelectItem } from '../rules/postgrest.ts';
import { type ContractRow, effectiveState, ipAllowed } from '../sharing/service.ts';

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
  /** Granted fields that exist in the served version, with their mask rule. */
  fields: Array<FilterField & { mask: string }>;
  pseudonymKey: Buffer;
}

let masterKey: Promise<Buffer> | undefined;

/** The platform's pseudonymisation master key, made once per database and kept in settings. */
function pseudonymMasterKey(db: Db): Promise<Buffer> {
  masterKey ??= (async () => {
    const fresh = randomBytes(32).toString('hex');
    await db
      .insertInto('settings')
      .values({ key: 'gateway.pseudonym_key', value: JSON.stringify(fresh), updated_at: new Date() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = await db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', 'gateway.pseudonym_key')
      .executeTakeFirstOrThrow();
    return Buffer.from(String(row.value), 'hex');
  })().catch((error) => {
    masterKey = undefined;
    throw error;
  });
  return masterKey;
}

/** Shanghai calendar day and minute buckets: quotas reset at local midnight. */
function buckets(now = new Date()) {
  const local = new Date(now.getTime() + 8 * 3_600_000).toISOString();
  const nextMinute = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 60_000);
  const nextDay = new Date(Date.parse(`${local.slice(0, 10)}T00:00:00+08:00`) + 86_400_000);
  return { minute: `m:${local.slice(0, 16)}`, day: `d:${local.slice(0, 10)}`, nextMinute, nextDay };
}

/**
 * A version's table and columns never change once it is ready; the labels are the resource's and
 * change with it. So this node keeps them by (version, resource updated_at): the contract query
 * reads both afresh on every request, and a new version or an edited resource misses the cache.
 */
const servedCache = new Map<
  string,
  { table_name: string; columns: Array<{ name: string; dataType: string }>; labels: Record<string, string> }
>();

async function servedVersion(
  ctx: Ctx,
  versionId: string,
  resourceId: string,
  resourceUpdatedAt: Date | null,
) {
  const key = `${versionId}|${resourceUpdatedAt?.getTime() ?? ''}`;
  const cached = servedCache.get(key);
  if (cached) return cached;
  const row = await ctx.db
    .selectFrom('dataset_versions')
    .select(['dataset_versions.table_name', 'dataset_versions.columns'])
    .select(() =>
      ctx.db
        .selectFrom('resource_fields')
        .select(sql<Record<string, string>>`coalesce(json_object_agg(name, label), '{}'::json)`.as('labels'))
        .where('resource_fields.resource_id', '=', resourceId)
        .as('labels'),
    )
    .where('dataset_versions.id', '=', versionId)
    .executeTakeFirst();
  if (!row?.table_name || !row.columns) throw new AppError('NO_DATA_VERSION', { resource: resourceId });
  const value = { table_name: row.table_name, columns: row.columns, labels: row.labels ?? {} };
  if (servedCache.size > 1000) servedCache.clear();
  servedCache.set(key, value);
  return value;
}

export interface CallRecord {
  operation: 'rows' | 'aggregate';
  contractId: string;
  fields?: string[];
  filter?: Filter | null;
  rows?: number;
  bytes?: number;
  outcome: string;
  started: number;
}

/** Every call is recorded, allowed or refused, in the audit log. */
export async function recordCall(ctx: Ctx, call: CallRecord): Promise<void> {
  await appendAudit(ctx.db, {
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
      latencyMs: Date.now() - call.started,
    },
  });
}

/** Loads and checks the contract for one request: who, state, period, operation, address. */
export async function admit(
  ctx: Ctx,
  contractId: string,
  operation: 'rows' | 'aggregate',
  clientIp: string,
): Promise<Granted> {
  const principal: Principal = authorize(ctx.principal, { roles: 'any', scope: 'gateway' });
  // The contract, read afresh on every request, with the id and state of the version it serves
  // (pinned, or the resource's current one) in the same query.
  const found = await ctx.db
    .selectFrom('contracts')
    .leftJoin('resources', 'resources.id', 'contracts.resource_id')
    .leftJoin('dataset_versions', (join) =>
      join.on(
        sql<boolean>`dataset_versions.id = coalesce(contracts.pinned_version_id, resources.current_version_id)`,
      ),
    )
    .selectAll('contracts')
    .select([
      'dataset_versions.id as served_id',
      'dataset_versions.state as served_state',
      'resources.updated_at as resource_updated_at',
    ])
    .where('contracts.id', '=', contractId)
    .executeTakeFirst();
  if (!found) throw new AppError('NOT_FOUND', { objectType: 'contract', id: contractId });
  const { served_id, served_state, resource_updated_at, ...contract } = found;
  if (contract.consumer_org_id !== principal.orgId)
    throw new AppError('FORBIDDEN', { reason: 'organization' });
  // Emergency stop and the working-hours term, read from the database on every request.
  await guardGatewayCall(ctx, contract);
  const state = effectiveState(contract);
  if (state === 'expired' || contract.valid_from.getTime() > Date.now()) {
    if (state === 'expired' && contract.state === 'active') {
      await ctx.db
        .updateTable('contracts')
        .set({ state: 'expired', updated_at: new Date() })
        .where('id', '=', contract.id)
        .where('state', '=', 'active')
        .execute();
    }
    throw new AppError('CONTRACT_EXPIRED', {
      validFrom: contract.valid_from.toISOString(),
      validTo: contract.valid_to.toISOString(),
    });
  }
  if (state !== 'active') throw new AppError('CONTRACT_NOT_ACTIVE', { state, reason: contract.state_reason });
  if (!contract.operations.includes(operation))
    throw new AppError('OPERATION_NOT_ALLOWED', { operation, allowed: contract.operations });
  if (!ipAllowed(clientIp, contract.ip_allowlist)) throw new AppError('IP_NOT_ALLOWED', { ip: clientIp });
  if (!served_id || served_state !== 'ready')
    throw new AppError('NO_DATA_VERSION', { resource: contract.resource_id });
  const served = await servedVersion(ctx, served_id, contract.resource_id, resource_updated_at);
  const labels = served.labels ?? {};
  const fields = served.columns
    .filter((c) => contract.fields.includes(c.name))
    .map((c) => ({
      name: c.name,
      dataType: c.dataType as DataType,
      label: labels[c.name] ?? c.name,
      mask: contract.masking[c.name] ?? 'null',
    }));
  const pseudonymKey = derivePseudonymKey(await pseudonymMasterKey(ctx.db), contract.id);
  return { contract, table: served.table_name, fields, pseudonymKey };
}

/** Rate limit per minute; both counters live in the database so every node sees the same count. */
async function countRequest(ctx: Ctx, contract: ContractRow): Promise<void> {
  const { minute, nextMinute } = buckets();
  const row = await ctx.db
    .insertInto('contract_usage')
    .values({ contract_id: contract.id, bucket: minute, requests: 1 })
    .onConflict((oc) =>
      oc.columns(['contract_id', 'bucket']).doUpdateSet({ requests: sql`contract_usage.requests + 1` }),
    )
    .returning('requests')
    .executeTakeFirstOrThrow();
  if (Number(row.requests) > contract.rate_limit_per_minute) {
    throw new AppError('RATE_LIMITED', {
      limitPerMinute: contract.rate_limit_per_minute,
      resetAt: nextMinute.toISOString(),
    });
  }
}

/**
 * countRequest and reserveRows in one statement, one round trip and one commit: the minute counter
 * goes up; when it is within the rate limit, up to `wanted` rows of today's quota are taken (the
 * day's counter row locked for this statement only). The counters' commit does not wait for the
 * WAL flush (`synchronous_commit` off for this transaction only): a database crash may forget the
 * last fraction of a second of counts — a few rows of quota — never a served row's audit entry,
 * which commits durably.
 */
async function countAndReserve(
  ctx: Ctx,
  contract: ContractRow,
  wanted: number,
): Promise<{ granted: number; day: string }> {
  const { minute, nextMinute, day } = buckets();
  const quota = Number(contract.quota_rows_per_day);
  const row = (
    await sql<{ requests: string; take: string | null }>`WITH relaxed AS (
        SELECT set_config('synchronous_commit', 'off', true) AS v),
      m AS (
        INSERT INTO contract_usage (contract_id, bucket, requests) VALUES (${contract.id}, ${minute}, 1)
        ON CONFLICT (contract_id, bucket) DO UPDATE SET requests = contract_usage.requests + 1
        RETURNING requests),
      t AS (
        SELECT least(${wanted}::bigint, greatest(0, ${quota}::bigint - rows)) AS take FROM contract_usage
        WHERE contract_id = ${contract.id} AND bucket = ${day}
          AND (SELECT requests FROM m) <= ${contract.rate_limit_per_minute} FOR UPDATE),
      d AS (
        UPDATE contract_usage AS u SET rows = u.rows + t.take FROM t
        WHERE u.contract_id = ${contract.id} AND u.bucket = ${day} RETURNING t.take)
      SELECT (SELECT requests FROM m) AS requests, (SELECT take FROM d) AS take,
        (SELECT v FROM relaxed) AS relaxed`.execute(ctx.db)
  ).rows[0]!;
  if (Number(row.requests) > contract.rate_limit_per_minute) {
    throw new AppError('RATE_LIMITED', {
      limitPerMinute: contract.rate_limit_per_minute,
      resetAt: nextMinute.toISOString(),
    });
  }
  // No counter for today yet (the day's first request): make it and reserve.
  if (row.take === null) return reserveRows(ctx, contract, wanted);
  const granted = Number(row.take);
  if (granted === 0)
    throw new AppError('QUOTA_EXCEEDED', {
      quotaRowsPerDay: quota,
      resetAt: buckets().nextDay.toISOString(),
    });
  return { granted, day };
}

/**
 * Reserves up to `wanted` rows of today's quota atomically (so two nodes cannot both spend the
 * last rows); the caller gives back what it did not use.
 */
async function reserveRows(
  ctx: Ctx,
  contract: ContractRow,
  wanted: number,
): Promise<{ granted: number; day: string }> {
  const { day, nextDay } = buckets();
  const quota = Number(contract.quota_rows_per_day);
  // One statement: the subquery locks today's counter row (waiting for, then reading, the latest
  // version when another request holds it), the update adds what it could take. No transaction
  // round trips, and the row lock is held for this statement only.
  const take = async () =>
    (
      await sql<{ take: string }>`UPDATE contract_usage AS u SET rows = u.rows + t.take
        FROM (SELECT least(${wanted}::bigint, greatest(0, ${quota}::bigint - rows)) AS take
              FROM contract_usage WHERE contract_id = ${contract.id} AND bucket = ${day} FOR UPDATE) AS t
        WHERE u.contract_id = ${contract.id} AND u.bucket = ${day}
        RETURNING t.take`.execute(ctx.db)
    ).rows[0];
  let row = await take();
  if (!row) {
    // The first request of the day makes the counter.
    await ctx.db
      .insertInto('contract_usage')
      .values({ contract_id: contract.id, bucket: day })
      .onConflict((oc) => oc.columns(['contract_id', 'bucket']).doNothing())
      .execute();
    row = await take();
  }
  const granted = Number(row?.take ?? 0);
  if (granted === 0)
    throw new AppError('QUOTA_EXCEEDED', { quotaRowsPerDay: quota, resetAt: nextDay.toISOString() });
  return { granted, day };
}

async function settleRows(
  ctx: Ctx,
  contract: ContractRow,
  day: string,
  reserved: number,
  used: number,
  bytes: number,
) {
  if (reserved === used && bytes === 0) return; // nothing to give back
  await ctx.db
    .updateTable('contract_usage')
    .set({ rows: sql`rows - ${reserved - used}`, bytes: sql`bytes + ${bytes}` })
    .where('contract_id', '=', contract.id)
    .where('bucket', '=', day)
    .execute();
}

/** Only granted fields served raw may be filtered, ordered or grouped by: otherwise the query is an oracle. */
function usable(granted: Granted, name: string, where: string) {
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

function columnExpr(granted: Granted, field: Granted['fields'][number]): RawBuilder<unknown> {
  if (field.mask === 'none') return sql`${sql.ref(field.name)}`;
  return maskSql(field.mask, field.name, { pseudonymKey: granted.pseudonymKey });
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

function decodeCursor(cursor: string | undefined): { after?: number; offset?: number } {
  if (!cursor) return {};
  const match = /^(r|o):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new AppError('VALIDATION_FAILED', { field: 'cursor' });
  return match[1] === 'r' ? { after: Number(match[2]) } : { offset: Number(match[2]) };
}

export async function queryRows(ctx: Ctx, granted: Granted, query: RowsQuery) {
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
  const cursor = decodeCursor(query.cursor);
  const fetching = !query.head && limit > 0;
  // Rate limit and row quota in one statement when rows are fetched; only the rate limit otherwise.
  const reservation = fetching ? await countAndReserve(ctx, granted.contract, limit) : null;
  if (!reservation) await countRequest(ctx, granted.contract);
  const rowFilter = (granted.contract.row_filter ?? null) as Filter | null;
  const conditions: RawBuilder<boolean>[] = [];
  if (rowFilter) conditions.push(compileFilter(rowFilter));
  if (userFilter) conditions.push(compileFilter(userFilter));
  const table = sql.table(`${DATASET_SCHEMA}.${granted.table}`);
  const total = query.count
    ? Number(
        (
          await sql<{ n: string }>`SELECT count(*) AS n FROM ${table} ${
            conditions.length > 0 ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``
          }`.execute(ctx.db)
        ).rows[0]?.n ?? 0,
      )
    : null;
  if (cursor.after !== undefined && order.length === 0)
    conditions.push(sql<boolean>`${sql.ref(ROW_ORDINAL)} > ${cursor.after}`);
  const where = conditions.length > 0 ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``;
  const orderBy = sql.join([
    ...order.map(
      (o) =>
        sql`${sql.ref(o.field)} ${sql.raw(o.direction === 'desc' ? 'DESC' : 'ASC')}${sql.raw(
          o.nulls === 'first' ? ' NULLS FIRST' : o.nulls === 'last' ? ' NULLS LAST' : '',
        )}`,
    ),
    sql`${sql.ref(ROW_ORDINAL)}`,
  ]);
  const columns = sql.join([
    sql`${sql.ref(ROW_ORDINAL)}`,
    ...fields.map((f, i) => sql`${columnExpr(granted, f)} AS ${sql.ref(`c${i}`)}`),
  ]);
  const offset = cursor.offset ?? (cursor.after === undefined ? (query.offset ?? 0) : 0);
  let rows: Record<string, unknown>[] = [];
  let reserved = 0;
  if (reservation) {
    reserved = reservation.granted;
    try {
      const result = await sql<
        Record<string, unknown>
      >`SELECT ${columns} FROM ${table} ${where} ORDER BY ${orderBy} LIMIT ${reservation.granted} OFFSET ${offset}`.execute(
        ctx.db,
      );
      rows = result.rows;
    } finally {
      await settleRows(ctx, granted.contract, reservation.day, reservation.granted, rows.length, 0);
    }
  }
  const last = rows.at(-1);
  const full = rows.length === reserved && reserved === limit;
  const nextCursor =
    !full || !last
      ? null
      : Buffer.from(
          order.length > 0 ? `o:${offset + rows.length}` : `r:${Number(last[ROW_ORDINAL])}`,
        ).toString('base64url');
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
    filter: userFilter,
  };
}

export interface AggregateRequest {
  groupBy?: string[] | undefined;
  metrics: Array<{ fn: 'count' | 'sum' | 'avg' | 'min' | 'max'; field?: string | undefined }>;
  filter?: unknown;
}

export async function aggregate(ctx: Ctx, granted: Granted, request: AggregateRequest) {
  const groupBy = (request.groupBy ?? []).map((name, i) => usable(granted, name, `groupBy.${i}`));
  const metrics = request.metrics.map((m, i) => {
    if (m.fn === 'count' && !m.field) return { ...m, alias: 'count', expr: sql`count(*)` };
    if (!m.field) throw new AppError('VALIDATION_FAILED', { field: `metrics.${i}.field` });
    const field = granted.fields.find((f) => f.name === m.field);
    if (!field) throw new AppError('FIELD_NOT_GRANTED', { field: `metrics.${i}.field`, name: m.field });
    // min and max return a value of the field itself: only for fields served raw.
    if ((m.fn === 'min' || m.fn === 'max') && field.mask !== 'none')
      usable(granted, m.field, `metrics.${i}.field`);
    if ((m.fn === 'sum' || m.fn === 'avg') && field.dataType !== 'integer' && field.dataType !== 'decimal') {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: `metrics.${i}.field` },
        { zh: '求和与平均只用于数值字段', en: 'sum and avg apply to numeric fields' },
      );
    }
    const alias = `${m.fn}_${field.name}`;
    const column = sql.ref(field.name);
    const expr =
      m.fn === 'count'
        ? sql`count(${column})`
        : m.fn === 'avg'
          ? sql`round(avg(${column})::numeric, 4)`
          : sql`${sql.raw(m.fn)}(${column})`;
    return { ...m, alias, expr };
  });
  const filter =
    request.filter === undefined || request.filter === null
      ? null
      : checkFilter(request.filter, granted.fields, 'filter');
  for (const name of fieldsOf(filter)) usable(granted, name, 'filter');
  await countRequest(ctx, granted.contract);
  const k = granted.contract.min_group_size;
  const rowFilter = (granted.contract.row_filter ?? null) as Filter | null;
  const conditions = [rowFilter, filter].filter((f): f is Filter => f !== null).map(compileFilter);
  const where = conditions.length > 0 ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``;
  const table = sql.table(`${DATASET_SCHEMA}.${granted.table}`);
  const groupCols = groupBy.map((g) => sql`${sql.ref(g.name)}`);
  const groupClause = groupCols.length > 0 ? sql`GROUP BY ${sql.join(groupCols)}` : sql``;
  const selectList = sql.join([...groupCols, ...metrics.map((m) => sql`${m.expr} AS ${sql.ref(m.alias)}`)]);
  const [kept, suppressed] = await Promise.all([
    sql<
      Record<string, unknown>
    >`SELECT ${selectList} FROM ${table} ${where} ${groupClause} HAVING count(*) >= ${k} ${groupCols.length > 0 ? sql`ORDER BY ${sql.join(groupCols)}` : sql``} LIMIT ${MAX_PAGE}`.execute(
      ctx.db,
    ),
    sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${table} ${where} ${groupClause} HAVING count(*) < ${k}) small`.execute(
      ctx.db,
    ),
  ]);
  return {
    groups: kept.rows.map((row) =>
      Object.fromEntries(Object.entries(row).map(([key, v]) => [key, typeof v === 'bigint' ? Number(v) : v])),
    ),
    suppressedGroups: Number(suppressed.rows[0]?.n ?? 0),
    minGroupSize: k,
    filter,
  };
}

/** CSV for spreadsheets: a cell that starts like a formula is prefixed with ' so it stays text. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}
