import { type RawBuilder, type Selectable, sql } from 'kysely';
import { DATASET_SCHEMA, ROW_ORDINAL } from '../core/datasets.ts';
import type { Executor } from '../core/db.ts';
import type { AlertState, AlertsTable, FreezeScope, FreezesTable } from '../core/tables.ts';
import type { ContractFacts, MonitorEvent, WindowSum } from './rules.ts';

export type AlertRow = Selectable<AlertsTable>;
export type FreezeRow = Selectable<FreezesTable>;
export type Metric = 'rows' | 'refused' | 'api_keys';

export const monitorStore = {
  // ------------------------------------------------------------------ evaluator position

  /**
   * Locks the evaluator's row for the transaction. `wait: false` (the timer) skips when another
   * node is evaluating right now instead of queueing behind it.
   */
  async lockState(tx: Executor, wait: boolean) {
    const query = tx.selectFrom('monitor_state').selectAll().where('id', '=', 1).forUpdate();
    return (wait ? query : query.skipLocked()).executeTakeFirst();
  },

  async saveState(tx: Executor, lastSeq: number, node: string) {
    await tx
      .updateTable('monitor_state')
      .set({ last_seq: lastSeq, evaluated_at: new Date(), evaluated_by: node })
      .where('id', '=', 1)
      .execute();
  },

  async events(tx: Executor, afterSeq: number, limit: number): Promise<MonitorEvent[]> {
    const rows = await tx
      .selectFrom('audit_events')
      .select(['seq', 'time', 'action', 'actor_id', 'org_id', 'object_type', 'object_id', 'details'])
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      time: new Date(r.time),
      action: r.action,
      actorId: r.actor_id,
      orgId: r.org_id,
      objectType: r.object_type,
      objectId: r.object_id,
      details: (r.details ?? {}) as Record<string, unknown>,
    }));
  },

  // ------------------------------------------------------------------ window sums

  /** Adds to the window sums and returns the new totals of the windows touched. */
  async addSums(
    tx: Executor,
    windowMinutes: number,
    adds: Array<{ metric: Metric; subject: string; bucket: Date; value: number }>,
  ): Promise<Array<WindowSum & { metric: Metric }>> {
    if (adds.length === 0) return [];
    const rows = await tx
      .insertInto('monitor_counters')
      .values(adds.map((a) => ({ ...a, window_minutes: windowMinutes })))
      .onConflict((oc) =>
        oc
          .columns(['metric', 'subject', 'window_minutes', 'bucket'])
          .doUpdateSet({ value: sql`monitor_counters.value + excluded.value` }),
      )
      .returning(['metric', 'subject', 'bucket', 'value'])
      .execute();
    return rows.map((r) => ({
      metric: r.metric as Metric,
      subject: r.subject,
      bucket: new Date(r.bucket),
      value: Number(r.value),
    }));
  },

  async sumsBetween(
    tx: Executor,
    metric: Metric,
    windowMinutes: number,
    subjects: string[],
    from: Date,
    to: Date,
  ) {
    if (subjects.length === 0) return [];
    const rows = await tx
      .selectFrom('monitor_counters')
      .select(['subject', 'bucket', 'value'])
      .where('metric', '=', metric)
      .where('window_minutes', '=', windowMinutes)
      .where('subject', 'in', subjects)
      .where('bucket', '>=', from)
      .where('bucket', '<', to)
      .execute();
    return rows.map((r) => ({ subject: r.subject, bucket: new Date(r.bucket), value: Number(r.value) }));
  },

  async pruneSums(tx: Executor, before: Date) {
    await tx.deleteFrom('monitor_counters').where('bucket', '<', before).execute();
  },

  // ------------------------------------------------------------------ facts for the rules

  async contracts(tx: Executor, ids: string[]): Promise<ContractFacts[]> {
    if (ids.length === 0) return [];
    const rows = await contractQuery(tx).where('id', 'in', ids).execute();
    return rows.map(contractFacts);
  },

  async expiringContracts(tx: Executor, now: Date, until: Date): Promise<ContractFacts[]> {
    const rows = await contractQuery(tx)
      .where('state', '=', 'active')
      .where('valid_to', '>', now)
      .where('valid_to', '<=', until)
      .orderBy('valid_to')
      .limit(1000)
      .execute();
    return rows.map(contractFacts);
  },

  async version(tx: Executor, resourceId: string, number: number) {
    return tx
      .selectFrom('dataset_versions')
      .innerJoin('resources', 'resources.id', 'dataset_versions.resource_id')
      .select([
        'dataset_versions.id',
        'dataset_versions.number',
        'dataset_versions.state',
        'dataset_versions.table_name',
        'dataset_versions.columns',
        'dataset_versions.importer_id',
        'resources.code',
        'resources.provider_org_id',
        'resources.grade_flag',
      ])
      .where('dataset_versions.resource_id', '=', resourceId)
      .where('dataset_versions.number', '=', number)
      .executeTakeFirst();
  },

  declaredFields(tx: Executor, resourceId: string) {
    return tx
      .selectFrom('resource_fields')
      .select(['name', 'grade', 'detector'])
      .where('resource_id', '=', resourceId)
      .execute();
  },

  /** The classifier's verdict on this very version, if it scanned it. */
  classifierScan(tx: Executor, resourceId: string, versionId: string) {
    return tx
      .selectFrom('field_classifications')
      .select(['field_name', 'detector'])
      .where('resource_id', '=', resourceId)
      .where('scanned_version_id', '=', versionId)
      .execute();
  },

  /** The first rows of a version, every column as text. */
  async sampleRows(tx: Executor, tableName: string, columns: string[], limit: number) {
    const list = columns.map((c, i) => sql`${sql.ref(c)}::text AS ${sql.ref(`c${i}`)}`);
    const { rows } = await sql<Record<string, string | null>>`
      SELECT ${sql.join(list)} FROM ${sql.table(`${DATASET_SCHEMA}.${tableName}`)}
      ORDER BY ${sql.ref(ROW_ORDINAL)} LIMIT ${limit}`.execute(tx);
    return rows.map((row) => columns.map((_, i) => row[`c${i}`] ?? null));
  },

  // ------------------------------------------------------------------ alerts

  ongoingAlert(tx: Executor, dedupKey: string) {
    return tx
      .selectFrom('alerts')
      .selectAll()
      .where('dedup_key', '=', dedupKey)
      .where('state', '<>', 'resolved')
      .forUpdate()
      .executeTakeFirst();
  },

  async anyAlert(tx: Executor, dedupKey: string): Promise<boolean> {
    const row = await tx
      .selectFrom('alerts')
      .select('id')
      .where('dedup_key', '=', dedupKey)
      .executeTakeFirst();
    return row !== undefined;
  },

  findAlert(db: Executor, id: string) {
    return db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
  },

  listAlerts(
    db: Executor,
    q: {
      state?: AlertState | undefined;
      severity?: string | undefined;
      rule?: string | undefined;
      subject?: string | undefined;
      subjectType?: string | undefined;
      cursor?: string | undefined;
      limit: number;
    },
  ) {
    let query = db
      .selectFrom('alerts')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(q.limit + 1);
    if (q.state) query = query.where('state', '=', q.state);
    if (q.severity) query = query.where('severity', '=', q.severity as never);
    if (q.rule) query = query.where('rule', '=', q.rule);
    if (q.subject) query = query.where('subject_id', '=', q.subject);
    if (q.subjectType) query = query.where('subject_type', '=', q.subjectType);
    if (q.cursor) query = query.where('id', '<', q.cursor);
    return query.execute();
  },

  /**
   * Claims up to `limit` undelivered alerts for this node: pushing notify_after forward is the
   * lease, so another node (or this one's next tick) leaves them alone while they are posted.
   */
  async claimUndelivered(db: Executor, limit: number, leaseSeconds: number): Promise<AlertRow[]> {
    const { rows } = await sql<AlertRow>`
      UPDATE alerts SET notify_attempts = notify_attempts + 1,
                        notify_after = now() + make_interval(secs => ${leaseSeconds})
       WHERE id IN (SELECT id FROM alerts
                     WHERE notified_at IS NULL AND notify_after <= now() AND notify_attempts < 5
                       AND created_at > now() - interval '1 day'
                     ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING *`.execute(db);
    return rows;
  },

  async markDelivered(db: Executor, id: string) {
    await db
      .updateTable('alerts')
      .set({ notified_at: new Date(), notify_error: null })
      .where('id', '=', id)
      .execute();
  },

  async markUndelivered(db: Executor, id: string, error: string, retryAfterSeconds: number) {
    await db
      .updateTable('alerts')
      .set({
        notify_error: error.slice(0, 500),
        notify_after: sql<Date>`now() + make_interval(secs => ${retryAfterSeconds})`,
      })
      .where('id', '=', id)
      .execute();
  },

  // ------------------------------------------------------------------ freezes

  /**
   * The one query the gateway adds to every request: is the gateway, this contract, its consumer
   * organization or its resource frozen now? Answered from the partial unique index of active freezes.
   */
  async activeFreezeFor(
    db: Executor,
    contract: { id: string; consumer_org_id: string; resource_id: string },
  ): Promise<FreezeRow | undefined> {
    const { rows } = await sql<FreezeRow>`
      SELECT * FROM freezes
       WHERE lifted_at IS NULL
         AND (scope, coalesce(target, '')) IN (('gateway', ''), ('contract', ${contract.id}),
              ('organization', ${contract.consumer_org_id}), ('resource', ${contract.resource_id}))
       ORDER BY array_position(ARRAY['gateway', 'organization', 'resource', 'contract'], scope)
       LIMIT 1`.execute(db);
    return rows[0];
  },

  /**
   * The same freeze as a scalar subquery (the row as JSON, or null) over the caller's columns, so
   * the gateway reads it in its admission query instead of a round trip of its own.
   */
  activeFreezeJson(ids: {
    contractId: RawBuilder<unknown>;
    orgId: RawBuilder<unknown>;
    resourceId: RawBuilder<unknown>;
  }) {
    return sql<FreezeRow | null>`(SELECT row_to_json(f) FROM freezes f
       WHERE f.lifted_at IS NULL
         AND (f.scope, coalesce(f.target, '')) IN (('gateway', ''), ('contract', ${ids.contractId}),
              ('organization', ${ids.orgId}), ('resource', ${ids.resourceId}))
       ORDER BY array_position(ARRAY['gateway', 'organization', 'resource', 'contract'], f.scope)
       LIMIT 1)`;
  },

  /** The same for a credential: its user frozen, or the credential itself (an API key). */
  credentialFreezeJson(ids: { userId: RawBuilder<unknown>; credentialId: RawBuilder<unknown> }) {
    return sql<FreezeRow | null>`(SELECT row_to_json(f) FROM freezes f
       WHERE f.lifted_at IS NULL
         AND (f.scope, coalesce(f.target, '')) IN (('user', ${ids.userId}), ('api_key', ${ids.credentialId}))
       ORDER BY f.scope = 'user' DESC
       LIMIT 1)`;
  },

  /**
   * The object a freeze names, by what an officer has at hand: a contract by id; an organization
   * by id or credit code; a resource by id or code; a user by id or username; an API key by id.
   */
  findFreezeTarget(db: Executor, scope: Exclude<FreezeScope, 'gateway'>, target: string) {
    switch (scope) {
      case 'contract':
        return db.selectFrom('contracts').select('id').where('id', '=', target).executeTakeFirst();
      case 'organization':
        return db
          .selectFrom('organizations')
          .select('id')
          .where((eb) => eb.or([eb('id', '=', target), eb('uscc', '=', target)]))
          .executeTakeFirst();
      case 'resource':
        return db
          .selectFrom('resources')
          .select('id')
          .where((eb) => eb.or([eb('id', '=', target), eb('code', '=', target)]))
          .executeTakeFirst();
      case 'user':
        return db
          .selectFrom('users')
          .select('id')
          .where((eb) => eb.or([eb('id', '=', target), eb('username', '=', target.toLowerCase())]))
          .executeTakeFirst();
      case 'api_key':
        return db.selectFrom('api_keys').select('id').where('id', '=', target).executeTakeFirst();
    }
  },

  activeFreezeOn(db: Executor, scope: FreezeScope, target: string | null) {
    return db
      .selectFrom('freezes')
      .selectAll()
      .where('scope', '=', scope)
      .where(sql<string>`coalesce(target, '')`, '=', target ?? '')
      .where('lifted_at', 'is', null)
      .executeTakeFirst();
  },

  findFreeze(db: Executor, id: string) {
    return db.selectFrom('freezes').selectAll().where('id', '=', id).executeTakeFirst();
  },

  listFreezes(
    db: Executor,
    q: { state: 'active' | 'lifted' | 'all'; cursor?: string | undefined; limit: number },
  ) {
    let query = db
      .selectFrom('freezes')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(q.limit + 1);
    if (q.state === 'active') query = query.where('lifted_at', 'is', null);
    if (q.state === 'lifted') query = query.where('lifted_at', 'is not', null);
    if (q.cursor) query = query.where('id', '<', q.cursor);
    return query.execute();
  },
};

function contractQuery(tx: Executor) {
  return tx
    .selectFrom('contracts')
    .select([
      'id',
      'resource_id',
      'provider_org_id',
      'consumer_org_id',
      'state',
      'valid_to',
      'created_at',
      'working_hours_only',
    ]);
}

function contractFacts(r: Awaited<ReturnType<ReturnType<typeof contractQuery>['execute']>>[number]) {
  return {
    id: r.id,
    resourceId: r.resource_id,
    providerOrgId: r.provider_org_id,
    consumerOrgId: r.consumer_org_id,
    state: r.state,
    validTo: new Date(r.valid_to),
    createdAt: new Date(r.created_at),
    workingHoursOnly: r.working_hours_only,
  };
}
