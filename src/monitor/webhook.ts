import type { Db } from '../core/db.ts';
import * as outbox from '../core/outbox.ts';
import { type AlertRow, monitorStore } from './store.ts';

/**
 * New alerts pushed to MONITOR_WEBHOOK_URL as JSON. The alerts table is the outbox: an alert is
 * delivered once a POST answers 2xx, whichever node gets there (core/outbox.ts: a node claims a
 * batch before posting, so two nodes do not post the same alert at once; each claim tries a few
 * times with a timeout). An alert still undelivered waits for a later evaluation, at most five
 * claims in its first day (monitorStore.claimUndelivered). Failures are logged and never hold up
 * evaluation or the gateway.
 */
export type WebhookLog = outbox.OutboxLog;

export function alertPayload(row: AlertRow, view: unknown) {
  return { type: 'shutong.alert', event: 'alert.opened', alert: view, attempt: row.notify_attempts };
}

function alertOutbox(view: (row: AlertRow) => unknown): outbox.Outbox<AlertRow> {
  return {
    name: 'alert',
    idHeader: 'x-shutong-alert',
    claim: monitorStore.claimUndelivered,
    markDelivered: monitorStore.markDelivered,
    markUndelivered: monitorStore.markUndelivered,
    claims: (row) => row.notify_attempts,
    body: (row) => alertPayload(row, view(row)),
    describe: (row) => ({ rule: row.rule }),
  };
}

/**
 * Claims and posts undelivered alerts; resolves, with how many it claimed, when the batch is done. `view` turns a row into
 * the JSON the API shows, so webhook receivers see what GET /v1/monitor/alerts/:id shows.
 */
export function deliverPending(
  db: Db,
  url: string | undefined,
  view: (row: AlertRow) => unknown,
  log: WebhookLog,
): Promise<number> {
  return outbox.deliverPending(db, url, alertOutbox(view), log);
}

/** Waits for deliveries under way (server shutdown, tests). */
export const settleDeliveries = outbox.settleDeliveries;
