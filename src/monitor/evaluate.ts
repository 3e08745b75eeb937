import { appendAudit } from '../audit/append.ts';
import { integrateAudit } from '../audit/service.ts';
import { authorize } from '../core/auth.ts';
import { type Config, loadConfig, type MonitorSettings } from '../core/config.ts';
import type { Ctx } from '../core/context.ts';
import type { Db, Tx } from '../core/db.ts';
import { newId } from '../core/ids.ts';
import { NODE_ID } from '../core/jobs.ts';
import type { AlertSeverity, Grade } from '../core/tables.ts';
import { createColumnScanner } from '../rules/scan.ts';
import { MONITOR_ACT } from './access.ts';
import { type AlertView, alertView } from './alerts.ts';
import {
  bucketOf,
  type ContractFacts,
  type Finding,
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
import { type AlertRow, type Metric, monitorStore as store } from './store.ts';
import { deliverPending, settleDeliveries, type WebhookLog } from './webhook.ts';

/**
 * Alert evaluation: the rules in rules.ts over the audit log, window by window (evaluateAlerts),
 * findings recorded as alerts; the periodic run also delivers the webhook's outbox.
 */
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
 * One run of the periodic evaluation (src/background.ts, every MONITOR_INTERVAL_SECONDS on every
 * listening node). It skips when another node is evaluating or evaluated within 90 % of the
 * interval, so the cluster keeps about one evaluation per interval and every window is judged once;
 * then it delivers what the webhook still owes.
 */
export async function evaluateAndDeliver(
  db: Db,
  config: Config,
  log: WebhookLog & { info(obj: object, msg: string): void },
): Promise<void> {
  const result = await evaluateAlerts(db, new Date(), {
    settings: config.monitor,
    wait: false,
    minIntervalMs: config.monitorIntervalSeconds * 900,
  });
  if (result.opened.length > 0) {
    log.info({ opened: result.opened.map((a) => a.id), events: result.events }, 'alerts opened');
  }
  await deliverPending(db, config.monitorWebhookUrl, alertView, log);
}

/** Waits for webhook deliveries in flight (a closing server calls it). */
export { settleDeliveries };
