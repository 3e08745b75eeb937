import type { Db } from '../core/db.ts';
import { type AlertRow, monitorStore } from './store.ts';

/**
 * New alerts pushed to MONITOR_WEBHOOK_URL as JSON. The alerts table is the outbox: an alert is
 * delivered once a POST answers 2xx, whichever node gets there (a node claims a batch before
 * posting, so two nodes do not post the same alert at once). Each claim tries a few times with a
 * timeout; an alert still undelivered waits for a later evaluation, at most five claims in its
 * first day. Failures are logged and never hold up evaluation or the gateway.
 */
export interface WebhookLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export const WEBHOOK_TIMEOUT_MS = 5_000;
const TRIES = 3;
const PAUSES_MS = [500, 2_000];
const BATCH = 20;
// Long enough for TRIES posts with their timeouts and pauses.
const CLAIM_SECONDS = 60;
// After a claim's tries all failed: 1, 5, 15, 60 minutes.
const RETRY_AFTER_SECONDS = [60, 300, 900, 3600];

const inFlight = new Set<Promise<void>>();

export function alertPayload(row: AlertRow, view: unknown) {
  return { type: 'shutong.alert', event: 'alert.opened', alert: view, attempt: row.notify_attempts };
}

async function post(url: string, body: string, id: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'shutong-monitor',
      'x-shutong-alert': id,
    },
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
  });
  // Drain so the connection can be reused; the answer's content is not ours to read.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

async function deliverOne(db: Db, url: string, row: AlertRow, view: unknown, log: WebhookLog) {
  const body = JSON.stringify(alertPayload(row, view));
  let lastError = '';
  for (let attempt = 0; attempt < TRIES; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, PAUSES_MS[attempt - 1]));
    try {
      await post(url, body, row.id);
      await monitorStore.markDelivered(db, row.id);
      log.info({ alert: row.id, rule: row.rule }, 'alert delivered to the webhook');
      return;
    } catch (error) {
      lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
  const retryAfter = RETRY_AFTER_SECONDS[Math.min(row.notify_attempts - 1, RETRY_AFTER_SECONDS.length - 1)]!;
  log.warn(
    { alert: row.id, rule: row.rule, error: lastError, claims: row.notify_attempts, retryAfter },
    'alert webhook delivery failed',
  );
  await monitorStore.markUndelivered(db, row.id, lastError, retryAfter);
}

/**
 * Claims and posts undelivered alerts in the background; returns at once. `view` turns a row into
 * the JSON the API shows, so webhook receivers see what GET /v1/monitor/alerts/:id shows.
 */
export function deliverPending(
  db: Db,
  url: string | undefined,
  view: (row: AlertRow) => unknown,
  log: WebhookLog,
): Promise<void> {
  if (!url) return Promise.resolve();
  const run = (async () => {
    const rows = await monitorStore.claimUndelivered(db, BATCH, CLAIM_SECONDS);
    await Promise.all(rows.map((row) => deliverOne(db, url, row, view(row), log)));
  })()
    .catch((error: unknown) => log.warn({ err: error }, 'alert webhook delivery could not run'))
    .finally(() => inFlight.delete(run));
  inFlight.add(run);
  return run;
}

/** Waits for deliveries under way (server shutdown, tests). */
export async function settleDeliveries(): Promise<void> {
  while (inFlight.size > 0) await Promise.all([...inFlight]);
}
