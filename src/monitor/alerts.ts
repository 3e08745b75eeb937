import { auditAs } from '../audit/append.ts';
import { authorize } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { applyTransition, type Lifecycle, type TransitionTable } from '../core/lifecycle.ts';
import type { AlertSeverity, AlertState } from '../core/tables.ts';
import { MONITOR_ACT, MONITOR_READ } from './access.ts';
import { RULES } from './rules.ts';
import { type AlertRow, monitorStore as store } from './store.ts';

/** Alerts: read, acknowledged and resolved by security officers through ALERT_LIFECYCLE. */
export const ALERT_LIFECYCLE: TransitionTable<AlertState, 'acknowledge' | 'resolve'> = [
  { from: ['open'], event: 'acknowledge', to: 'acknowledged' },
  { from: ['open', 'acknowledged'], event: 'resolve', to: 'resolved' },
];
type AlertEvent = (typeof ALERT_LIFECYCLE)[number]['event'];
const ALERTS: Lifecycle<AlertState, AlertEvent> = {
  objectType: 'alert',
  table: 'alerts',
  transitions: ALERT_LIFECYCLE,
};
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
  const at = new Date();
  const text = note?.trim() || null;
  return withTx(ctx.db, async (tx) => {
    const row = await applyTransition<AlertState, AlertEvent, AlertRow>(tx, ALERTS, alert, event, {
      set:
        event === 'acknowledge'
          ? { acknowledged_by: principal.userId, acknowledged_at: at, acknowledge_note: text, updated_at: at }
          : { resolved_by: principal.userId, resolved_at: at, resolve_note: text, updated_at: at },
      audit: (tx, change) =>
        auditAs(ctx, tx, `monitor.alert.${event}`, 'alert', id, {
          rule: alert.rule,
          from: change.from,
          to: change.to,
          note: text,
        }),
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
