import { appendAudit } from '../audit/append.ts';
import { integrateAudit } from '../audit/service.ts';
import { type AccessRule, authorize, hasRole } from '../core/auth.ts';
import { type Config, loadConfig, type MonitorSettings } from '../core/config.ts';
import type { Ctx } from '../core/context.ts';
import { type Db, type Tx, withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { NODE_ID } from '../core/jobs.ts';
import { nextState, type TransitionTable } from '../core/lifecycle.ts';
import type { AlertSeverity, AlertState, FreezeScope, Grade, Role } from '../core/tables.ts';
import { createColumnScanner } from '../rules/scan.ts';
import {
  bucketOf,
  type ContractFacts,
  type Finding,
  isWorkingTime,
  type MonitorEvent,
  parseWorkingWeek,
  type RowsSum,
  RULES,
  type Rule,
  type RuleInput,
  type VersionFacts,
  type WindowSum,
  type WorkingWeek,
} from './rules.ts';
import { type AlertRow, type FreezeRow, type Metric, monitorStore as store } from './store.ts';
import { deliverPending, settleDeliveries, type WebhookLog } from './webhook.ts';

/**
 * Monitoring, early warning and emergency stop. Alerts come from the rules in rules.ts, evaluated
 * over the audit log window by window (evaluateAlerts); security officers acknowledge and resolve
 * them. Freezes stop the gateway for a contract, a consumer organization, a resource or
 * everything; the gateway reads them on every request (guardGatewayCall), so they hold on every
 * node from the next request on.
 */
const READERS: Role[] = ['security_officer', 'platform_admin', 'auditor'];
const ACTORS: Role[] = ['security_officer', 'platform_admin'];
export const MONITOR_READ: AccessRule = { roles: READERS, scope: 'monitor' };
export const MONITOR_ACT: AccessRule = { roles: ACTORS, scope: 'monitor' };

export const ALERT_LIFECYCLE: TransitionTable<AlertState, 'acknowledge' | 'resolve'> = [
  { from: ['open'], event: 'acknowledge', to: 'acknowledged' },
  { from: ['open', 'acknowledged'], event: 'resolve', to: 'resolved' },
];

export const FREEZE_LIFECYCLE: TransitionTable<'active' | 'lifted', 'lift'> = [
  { from: ['active'], event: 'lift', to: 'lifted' },
];

const SEVERITY_RANK: Record<AlertSeverity, number> = { info: 1, warning: 2, critical: 3 };
/** Events judged per transaction; a longer backlog is judged in several windows, in order. */
const EVENTS_PER_WINDOW = 5_000;
/** Rows of a new version the monitor reads itself when the classifier has not scanned it. */
export const SCAN_ROWS = 2_000;

const weeks = new Map<string, WorkingWeek>();
export function workingWeekOf(settings: Pick<MonitorSettings, 'workingHours' | 'workingDays'>): WorkingWeek {
  const key = `${settings.workingHours}|${settings.workingDays}`;
  let week = weeks.get(key);
  if (!week) {
    week = parseWorkingWeek(settings.workingHours, settings.workingDays);
    weeks.set(key, week);
  }
  return week;
}

// ---------------------------------------------------------------------------- views

export function alertView(a: AlertRow) {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    state: a.state,
    subject: { type: a.subject_type, id: a.subject_id },
    orgId: a.org_id,
    summary: a.summary,
    details: a.details,
    occurrences: a.occurrences,
    firstSeenAt: new Date(a.first_seen_at).toISOString(),
    lastSeenAt: new Date(a.last_seen_at).toISOString(),
    acknowledged: a.acknowledged_at
      ? { by: a.acknowledged_by, at: new Date(a.acknowledged_at).toISOString(), note: a.acknowledge_note }
      : null,
    resolved: a.resolved_at
      ? { by: a.resolved_by, at: new Date(a.resolved_at).toISOString(), note: a.resolve_note }
      : null,
    notifiedAt: a.notified_at ? new Date(a.notified_at).toISOString() : null,
    createdAt: new Date(a.created_at).toISOString(),
    updatedAt: new Date(a.updated_at).toISOString(),
  };
}
export type AlertView = ReturnType<typeof alertView>;

function freezeView(f: FreezeRow) {
  return {
    id: f.id,
    scope: f.scope,
    target: f.target,
    reason: f.reason,
    active: f.lifted_at === null,
    createdBy: f.created_by,
    createdAt: new Date(f.created_at).toISOString(),
    lifted: f.lifted_at
      ? { by: f.lifted_by, at: new Date(f.lifted_at).toISOString(), reason: f.lift_reason }
      : null,
  };
}
export type FreezeView = ReturnType<typeof freezeView>;

// ---------------------------------------------------------------------------- evaluation

export interface EvaluateOptions {
  settings?: MonitorSettings;
  /** Wait for an evaluation under way on another node (default), or skip (the timer). */
  wait?: boolean;
  /** Skip when any node evaluated less than this long ago (the timer: one cadence for all nodes). */
  minIntervalMs?: number;
}

export interface Evaluation {
  /** False when skipped: another node was evaluating, or evaluated moments ago. */
  evaluated: boolean;
  windows: number;
  events: number;
  lastSeq: number;
  opened: AlertView[];
  updated: number;
}

/**
 * The evaluation job: judges the audit events since the last evaluated position with every rule
 * and opens or updates alerts. Each window is one transaction that starts by locking the single
 * monitor_state row and ends by moving its position, with the window sums and alerts written in
 * between: with several nodes, evaluations serialize on that lock and each event is judged (and
 * counted) exactly once. `now` is the time standing conditions are judged at (contracts ending soon).
 */
export async function evaluateAlerts(
  db: Db,
  now: Date = new Date(),
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const settings = options.settings ?? loadConfig({}).monitor;
  const week = workingWeekOf(settings);
  const total: Evaluation = { evaluated: false, windows: 0, events: 0, lastSeq: 0, opened: [], updated: 0 };
  // Events are judged in log order, so those committed so far get their positions first.
  await integrateAudit(db);
  for (let first = true; ; first = false) {
    const step = await db.transaction().execute((tx) =>
      evaluateWindow(tx, now, settings, week, {
        wait: options.wait ?? true,
        minIntervalMs: first ? options.minIntervalMs : undefined,
      }),
    );
    if (!step) break;
    total.evaluated = true;
    total.windows++;
    total.events += step.events;
    total.lastSeq = step.lastSeq;
    total.opened.push(...step.opened);
    total.updated += step.updated;
    if (step.events < EVENTS_PER_WINDOW) break;
  }
  return total;
}

async function evaluateWindow(
  tx: Tx,
  now: Date,
  settings: MonitorSettings,
  week: WorkingWeek,
  claim: { wait: boolean; minIntervalMs: number | undefined },
) {
  const state = await store.lockState(tx, claim.wait);
  if (!state) return null;
  if (
    claim.minIntervalMs !== undefined &&
    state.evaluated_at &&
    Date.now() - new Date(state.evaluated_at).getTime() < claim.minIntervalMs
  ) {
    return null;
  }
  const events = await store.events(tx, Number(state.last_seq), EVENTS_PER_WINDOW);
  const sums = await addWindowSums(tx, events, settings);
  const gatewayContracts = [
    ...new Set(
      events
        .filter((e) => e.action.startsWith('gateway.') && e.objectType === 'contract' && e.objectId)
        .map((e) => e.objectId!),
    ),
  ];
  const expiring =
    settings.expiryDays > 0
      ? await store.expiringContracts(tx, now, new Date(now.getTime() + settings.expiryDays * 86_400_000))
      : [];
  const contracts = new Map<string, ContractFacts>();
  for (const c of [...(await store.contracts(tx, gatewayContracts)), ...expiring]) contracts.set(c.id, c);
  const input: RuleInput = {
    now,
    settings,
    week,
    events,
    sums,
    contracts,
    expiring,
    versions: await versionFacts(tx, events),
  };
  const findings = RULES.flatMap((rule) => rule.evaluate(input).map((finding) => ({ rule, finding })));
  const { opened, updated } = await recordFindings(tx, findings);
  // Sums older than the longest history a rule reads are no longer needed. By the clock, not
  // `now`: sums are kept by event time, and an evaluation judged "as of" later must not drop them.
  await store.pruneSums(
    tx,
    new Date(
      bucketOf(new Date(), settings.windowMinutes).getTime() -
        (settings.baselineWindows + 2) * settings.windowMinutes * 60_000,
    ),
  );
  const lastSeq = events.at(-1)?.seq ?? Number(state.last_seq);
  await store.saveState(tx, lastSeq, NODE_ID);
  for (const alert of opened) {
    await appendAudit(tx, {
      actorId: null,
      orgId: null,
      action: 'monitor.alert.open',
      objectType: 'alert',
      objectId: alert.id,
      details: {
        rule: alert.rule,
        severity: alert.severity,
        subjectType: alert.subject_type,
        subjectId: alert.subject_id,
      },
    });
  }
  return { events: events.length, lastSeq, opened: opened.map(alertView), updated };
}

/** Adds this window's events to the per-window sums; returns the touched windows' totals. */
async function addWindowSums(tx: Tx, events: readonly MonitorEvent[], settings: MonitorSettings) {
  const adds = new Map<string, { metric: Metric; subject: string; bucket: Date; value: number }>();
  const add = (metric: Metric, subject: unknown, time: Date, value: number) => {
    if (typeof subject !== 'string' || !subject || !(value > 0)) return;
    const bucket = bucketOf(time, settings.windowMinutes);
    const key = `${metric}|${subject}|${bucket.getTime()}`;
    const entry = adds.get(key) ?? { metric, subject, bucket, value: 0 };
    entry.value += value;
    adds.set(key, entry);
  };
  for (const e of events) {
    if (e.action === 'gateway.rows') add('rows', e.objectId, e.time, Number(e.details.rows ?? 0));
    else if (e.action === 'gateway.refused') add('refused', e.details.credential, e.time, 1);
    else if (e.action === 'api_key.create') add('api_keys', e.actorId, e.time, 1);
  }
  const totals = await store.addSums(tx, settings.windowMinutes, [...adds.values()]);
  const pick = (metric: Metric): WindowSum[] =>
    totals
      .filter((t) => t.metric === metric)
      .map(({ subject, bucket, value }) => ({ subject, bucket, value }));
  const rowsTouched = pick('rows');
  const rows: RowsSum[] = [];
  if (rowsTouched.length > 0) {
    const windowMs = settings.windowMinutes * 60_000;
    const earliest = Math.min(...rowsTouched.map((s) => s.bucket.getTime()));
    const latest = Math.max(...rowsTouched.map((s) => s.bucket.getTime()));
    const history = await store.sumsBetween(
      tx,
      'rows',
      settings.windowMinutes,
      [...new Set(rowsTouched.map((s) => s.subject))],
      new Date(earliest - settings.baselineWindows * windowMs),
      new Date(latest),
    );
    const value = new Map(history.map((h) => [`${h.subject}|${h.bucket.getTime()}`, h.value]));
    for (const sum of rowsTouched) {
      const previous: number[] = [];
      for (let i = 1; i <= settings.baselineWindows; i++) {
        previous.push(value.get(`${sum.subject}|${sum.bucket.getTime() - i * windowMs}`) ?? 0);
      }
      rows.push({ ...sum, previous });
    }
  }
  return { rows, refused: pick('refused'), apiKeys: pick('api_keys') };
}

/**
 * Each `version.create` of this window with what the version holds: the classifier's scan of it
 * when there is one, otherwise the monitor reads its first rows and runs the same detectors.
 */
async function versionFacts(tx: Tx, events: readonly MonitorEvent[]): Promise<VersionFacts[]> {
  const out: VersionFacts[] = [];
  for (const e of events) {
    if (e.action !== 'version.create' || e.objectType !== 'resource' || !e.objectId) continue;
    const number = Number(e.details.version);
    if (!Number.isInteger(number)) continue;
    const version = await store.version(tx, e.objectId, number);
    if (!version || version.state !== 'ready') continue;
    const declared = await store.declaredFields(tx, e.objectId);
    const classified = await store.classifierScan(tx, e.objectId, version.id);
    let detected: VersionFacts['detected'];
    let scannedBy: VersionFacts['scannedBy'] = null;
    if (classified.length > 0) {
      scannedBy = 'classifier';
      detected = classified
        .filter((c) => c.detector !== null)
        .map((c) => ({ name: c.field_name, detector: c.detector! }));
    } else {
      const columns = version.columns.map((c) => c.name);
      const scanner = createColumnScanner(columns, { fullScanRows: Number.POSITIVE_INFINITY });
      for (const row of await store.sampleRows(tx, version.table_name, columns, SCAN_ROWS)) scanner.add(row);
      scannedBy = 'monitor';
      detected = scanner
        .result()
        .filter((r) => r.type !== null)
        .map((r) => ({ name: r.name, detector: r.type! }));
    }
    out.push({
      resourceId: e.objectId,
      resourceCode: version.code,
      providerOrgId: version.provider_org_id,
      versionId: version.id,
      versionNumber: version.number,
      importedAt: e.time,
      importerId: version.importer_id,
      declared: declared.map((f) => ({ name: f.name, grade: f.grade as Grade, detector: f.detector })),
      detected,
      scannedBy,
      flagged: flagsFor(version.grade_flag, version.id, version.number),
    });
  }
  return out;
}

/** The classifier's flag entries (resources.grade_flag, migration 0006) about this version. */
function flagsFor(flag: unknown, versionId: string, versionNumber: number): VersionFacts['flagged'] {
  const fields = (flag as { fields?: unknown } | null)?.fields;
  if (!Array.isArray(fields)) return [];
  return fields
    .filter(
      (f): f is Record<string, unknown> =>
        typeof f === 'object' &&
        f !== null &&
        typeof (f as { field?: unknown }).field === 'string' &&
        ((f as { versionId?: unknown }).versionId === versionId ||
          (f as { versionNumber?: unknown }).versionNumber === versionNumber),
    )
    .map((f) => ({
      field: String(f.field),
      detector: typeof f.detector === 'string' ? f.detector : null,
      declaredGrade: typeof f.declaredGrade === 'string' ? f.declaredGrade : null,
      reason: typeof f.reason === 'string' ? f.reason : 'flagged',
    }));
}

/** Findings become alerts: a new one, an update of the ongoing one, or nothing for a resolved standing one. */
async function recordFindings(tx: Tx, findings: Array<{ rule: Rule; finding: Finding }>) {
  const opened: AlertRow[] = [];
  let updated = 0;
  for (const { rule, finding } of findings) {
    const ongoing = await store.ongoingAlert(tx, finding.dedupKey);
    if (ongoing) {
      const severity =
        SEVERITY_RANK[finding.severity] > SEVERITY_RANK[ongoing.severity]
          ? finding.severity
          : ongoing.severity;
      await tx
        .updateTable('alerts')
        .set((eb) => ({
          occurrences: eb('occurrences', '+', 1),
          severity,
          summary: JSON.stringify(finding.summary),
          details: JSON.stringify(finding.details),
          last_seen_at: finding.at,
          updated_at: new Date(),
        }))
        .where('id', '=', ongoing.id)
        .execute();
      updated++;
      continue;
    }
    if (rule.standing && (await store.anyAlert(tx, finding.dedupKey))) continue;
    const row = await tx
      .insertInto('alerts')
      .values({
        id: newId('alr'),
        rule: rule.id,
        severity: finding.severity,
        subject_type: finding.subjectType,
        subject_id: finding.subjectId,
        org_id: finding.orgId,
        summary: JSON.stringify(finding.summary),
        details: JSON.stringify(finding.details),
        dedup_key: finding.dedupKey,
        state: 'open',
        first_seen_at: finding.at,
        last_seen_at: finding.at,
        acknowledged_by: null,
        acknowledged_at: null,
        acknowledge_note: null,
        resolved_by: null,
        resolved_at: null,
        resolve_note: null,
        notified_at: null,
        notify_error: null,
        updated_at: new Date(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    opened.push(row);
  }
  return { opened, updated };
}

/** POST /v1/monitor/evaluate: a security officer asks for an evaluation now (waits for one under way). */
export async function evaluateNow(ctx: Ctx, log: WebhookLog) {
  const principal = authorize(ctx.principal, MONITOR_ACT);
  const result = await evaluateAlerts(ctx.db, new Date(), { settings: ctx.config.monitor });
  await appendAudit(ctx.db, {
    actorId: principal.userId,
    orgId: principal.orgId,
    action: 'monitor.evaluate',
    objectType: 'monitor',
    objectId: null,
    requestId: ctx.requestId,
    details: {
      windows: result.windows,
      events: result.events,
      lastSeq: result.lastSeq,
      opened: result.opened.length,
    },
  });
  void deliverPending(ctx.db, ctx.config.monitorWebhookUrl, alertView, log);
  return {
    windows: result.windows,
    events: result.events,
    lastSeq: result.lastSeq,
    opened: result.opened,
    updated: result.updated,
  };
}

/**
 * Evaluates every `seconds` on a listening server. Every node runs the timer; a tick skips when
 * another node is evaluating or evaluated within 90 % of the interval, so the cluster keeps about
 * one evaluation per interval and every window is judged once. Returns the stop function.
 */
export function startMonitor(
  db: Db,
  config: Config,
  seconds: number,
  log: WebhookLog & { error(obj: object, msg: string): void },
) {
  const settings = config.monitor;
  workingWeekOf(settings);
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = evaluateAlerts(db, new Date(), { settings, wait: false, minIntervalMs: seconds * 900 })
      .then((result) => {
        if (result.opened.length > 0) {
          log.info({ opened: result.opened.map((a) => a.id), events: result.events }, 'alerts opened');
        }
        return deliverPending(db, config.monitorWebhookUrl, alertView, log);
      })
      .catch((err: unknown) => log.error({ err }, 'alert evaluation failed'))
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
    await settleDeliveries();
  };
}

// ---------------------------------------------------------------------------- alerts

export interface AlertQuery {
  state?: AlertState | undefined;
  severity?: AlertSeverity | undefined;
  rule?: string | undefined;
  subject?: string | undefined;
  subjectType?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export async function listAlerts(ctx: Ctx, q: AlertQuery) {
  authorize(ctx.principal, MONITOR_READ);
  const limit = q.limit ?? 50;
  const rows = await store.listAlerts(ctx.db, { ...q, limit });
  const items = rows.slice(0, limit).map(alertView);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

async function loadAlert(ctx: Ctx, id: string): Promise<AlertRow> {
  const alert = await store.findAlert(ctx.db, id);
  if (!alert) throw new AppError('NOT_FOUND', { objectType: 'alert', id });
  return alert;
}

export async function getAlert(ctx: Ctx, id: string): Promise<AlertView> {
  authorize(ctx.principal, MONITOR_READ);
  return alertView(await loadAlert(ctx, id));
}

export async function changeAlert(
  ctx: Ctx,
  id: string,
  event: 'acknowledge' | 'resolve',
  note: string | undefined,
): Promise<AlertView> {
  const principal = authorize(ctx.principal, MONITOR_ACT);
  const alert = await loadAlert(ctx, id);
  const to = nextState(ALERT_LIFECYCLE, 'alert', alert.state, event);
  const at = new Date();
  const text = note?.trim() || null;
  return withTx(ctx.db, async (tx) => {
    const row = await tx
      .updateTable('alerts')
      .set(
        event === 'acknowledge'
          ? {
              state: to,
              acknowledged_by: principal.userId,
              acknowledged_at: at,
              acknowledge_note: text,
              updated_at: at,
            }
          : { state: to, resolved_by: principal.userId, resolved_at: at, resolve_note: text, updated_at: at },
      )
      .where('id', '=', id)
      .where('state', '=', alert.state)
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      throw new AppError('INVALID_TRANSITION', {
        objectType: 'alert',
        state: alert.state,
        reason: 'changed_concurrently',
      });
    }
    await appendAudit(tx, {
      actorId: principal.userId,
      orgId: principal.orgId,
      action: `monitor.alert.${event}`,
      objectType: 'alert',
      objectId: id,
      requestId: ctx.requestId,
      details: { rule: row.rule, from: alert.state, to, note: text },
    });
    return alertView(row);
  });
}

export function listRules(ctx: Ctx) {
  authorize(ctx.principal, MONITOR_READ);
  const settings = ctx.config.monitor;
  return RULES.map((r) => ({
    id: r.id,
    title: r.title,
    standing: r.standing,
    thresholds: Object.fromEntries(r.thresholds.map((t) => [t, settings[t]])),
  }));
}

// ---------------------------------------------------------------------------- freezes

export interface FreezeInput {
  scope: FreezeScope;
  target?: string | undefined;
  reason: string;
}

/** Resolves a freeze target to the id the gateway compares with; 404 naming `target` when absent. */
async function freezeTarget(
  ctx: Ctx,
  scope: FreezeScope,
  target: string | undefined,
): Promise<string | null> {
  if (scope === 'gateway') {
    if (target !== undefined) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'target' },
        { zh: '冻结整个网关时不指定对象', en: 'a gateway-wide freeze takes no target' },
      );
    }
    return null;
  }
  if (!target) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'target' },
      { zh: `冻结 ${scope} 须指定对象`, en: `a ${scope} freeze needs a target` },
    );
  }
  const row =
    scope === 'contract'
      ? await ctx.db.selectFrom('contracts').select('id').where('id', '=', target).executeTakeFirst()
      : scope === 'organization'
        ? await ctx.db
            .selectFrom('organizations')
            .select('id')
            .where((eb) => eb.or([eb('id', '=', target), eb('uscc', '=', target)]))
            .executeTakeFirst()
        : await ctx.db
            .selectFrom('resources')
            .select('id')
            .where((eb) => eb.or([eb('id', '=', target), eb('code', '=', target)]))
            .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', { field: 'target', objectType: scope, id: target });
  return row.id;
}

/** An emergency stop: one action, effective on every node from the next gateway request. */
export async function freeze(ctx: Ctx, input: FreezeInput): Promise<FreezeView> {
  const principal = authorize(ctx.principal, MONITOR_ACT);
  const target = await freezeTarget(ctx, input.scope, input.target);
  const conflict = (existing: FreezeRow | undefined) =>
    new AppError(
      'CONFLICT',
      { field: 'target', scope: input.scope, target, freezeId: existing?.id ?? null },
      { zh: '该对象已被冻结', en: 'already frozen' },
    );
  const existing = await store.activeFreezeOn(ctx.db, input.scope, target);
  if (existing) throw conflict(existing);
  try {
    return await withTx(ctx.db, async (tx) => {
      const row = await tx
        .insertInto('freezes')
        .values({
          id: newId('frz'),
          scope: input.scope,
          target,
          reason: input.reason.trim(),
          created_by: principal.userId,
          lifted_by: null,
          lifted_at: null,
          lift_reason: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      // Recorded against the frozen object, so its own audit trail shows the stop.
      await appendAudit(tx, {
        actorId: principal.userId,
        orgId: principal.orgId,
        action: 'monitor.freeze',
        objectType: input.scope,
        objectId: target,
        requestId: ctx.requestId,
        details: { freezeId: row.id, scope: input.scope, reason: row.reason },
      });
      return freezeView(row);
    });
  } catch (error) {
    // Two officers freezing the same target at once: the unique index lets one win.
    if ((error as { code?: string }).code === '23505') {
      throw conflict(await store.activeFreezeOn(ctx.db, input.scope, target));
    }
    throw error;
  }
}

export async function liftFreeze(ctx: Ctx, id: string, reason: string): Promise<FreezeView> {
  const principal = authorize(ctx.principal, MONITOR_ACT);
  const current = await store.findFreeze(ctx.db, id);
  if (!current) throw new AppError('NOT_FOUND', { objectType: 'freeze', id });
  nextState(FREEZE_LIFECYCLE, 'freeze', current.lifted_at ? 'lifted' : 'active', 'lift');
  return withTx(ctx.db, async (tx) => {
    const row = await tx
      .updateTable('freezes')
      .set({ lifted_by: principal.userId, lifted_at: new Date(), lift_reason: reason.trim() })
      .where('id', '=', id)
      .where('lifted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      throw new AppError('INVALID_TRANSITION', {
        objectType: 'freeze',
        state: 'lifted',
        reason: 'changed_concurrently',
      });
    }
    await appendAudit(tx, {
      actorId: principal.userId,
      orgId: principal.orgId,
      action: 'monitor.freeze.lift',
      objectType: row.scope,
      objectId: row.target,
      requestId: ctx.requestId,
      details: {
        freezeId: row.id,
        scope: row.scope,
        reason: row.lift_reason,
        frozenSince: freezeView(row).createdAt,
      },
    });
    return freezeView(row);
  });
}

export async function listFreezes(
  ctx: Ctx,
  q: {
    state?: 'active' | 'lifted' | 'all' | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
  },
) {
  authorize(ctx.principal, MONITOR_READ);
  const limit = q.limit ?? 50;
  const rows = await store.listFreezes(ctx.db, { state: q.state ?? 'active', cursor: q.cursor, limit });
  const items = rows.slice(0, limit).map(freezeView);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

export async function getFreeze(ctx: Ctx, id: string): Promise<FreezeView> {
  authorize(ctx.principal, MONITOR_READ);
  const row = await store.findFreeze(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', { objectType: 'freeze', id });
  return freezeView(row);
}

// ---------------------------------------------------------------------------- the gateway's check

/**
 * Called by the gateway for every request once the contract is loaded and the caller is its
 * consumer: the emergency stop (read from the database each time, so a freeze made on any node
 * holds on all of them from the next request), then the contract's working-hours term.
 */
export async function guardGatewayCall(
  ctx: Ctx,
  contract: { id: string; consumer_org_id: string; resource_id: string; working_hours_only?: boolean },
): Promise<void> {
  const frozen = await store.activeFreezeFor(ctx.db, contract);
  if (frozen) {
    // The reason is the security officer's internal note: only the platform side reads it (here
    // and in GET /v1/monitor/freezes); a consumer is told that, and since when, not why.
    const platform =
      ctx.principal !== null && ctx.principal !== undefined && hasRole(ctx.principal, ...ACTORS);
    throw new AppError(
      'FROZEN',
      platform
        ? {
            scope: frozen.scope,
            target: frozen.target,
            reason: frozen.reason,
            freezeId: frozen.id,
            since: new Date(frozen.created_at).toISOString(),
          }
        : { scope: frozen.scope, since: new Date(frozen.created_at).toISOString() },
      platform
        ? {
            zh: `冻结范围 ${frozen.scope}，原因：${frozen.reason}`,
            en: `${frozen.scope} frozen: ${frozen.reason}`,
          }
        : { zh: '访问已暂停，请联系数据提供方', en: 'access is suspended; contact the data provider' },
    );
  }
  if (contract.working_hours_only) {
    const week = workingWeekOf(ctx.config.monitor);
    if (!isWorkingTime(week, new Date())) {
      throw new AppError('OUTSIDE_WORKING_HOURS', {
        workingHours: ctx.config.monitor.workingHours,
        workingDays: ctx.config.monitor.workingDays,
        timeZone: 'Asia/Shanghai',
      });
    }
  }
}
