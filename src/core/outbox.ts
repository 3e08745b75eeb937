import type { Executor } from './db.ts';

/**
 * Delivery from an outbox table to an HTTP receiver, shared by the monitor's alert webhook and the
 * message centre's pushes to the messaging gateway. The table's owner keeps its rows and its SQL
 * (every table has one writer); this is only the mechanics: a node claims a batch (the owner's
 * claim pushes the row's retry time forward, SKIP LOCKED, so another node leaves it alone while it
 * is posted), POSTs each row's JSON with the row id as an idempotency header, tries a few times
 * with a timeout and short pauses, and marks the row delivered on a 2xx answer or schedules a later
 * claim with a growing wait. The owner's claim decides how many claims a row gets.
 *
 * Logs carry the row id, the owner's `describe` fields and the error, never the body: a receiver's
 * answer is drained unread, and what was sent stays in the table.
 */
export interface OutboxLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface OutboxRow {
  id: string;
}

export interface Outbox<R extends OutboxRow> {
  /** For logs and the user-agent: `alert`, `message`. */
  name: string;
  /** The header carrying the row id, for receivers to drop a row posted twice. */
  idHeader: string;
  claim(db: Executor, limit: number, leaseSeconds: number): Promise<R[]>;
  markDelivered(db: Executor, id: string): Promise<void>;
  markUndelivered(db: Executor, id: string, error: string, retryAfterSeconds: number): Promise<void>;
  /** How many times the row has been claimed, this claim included. */
  claims(row: R): number;
  body(row: R): unknown;
  /** What a log line may say about the row besides its id (no personal data, no message text). */
  describe(row: R): object;
}

export interface OutboxTuning {
  timeoutMs: number;
  /** Pauses before the second, third… try of one claim; their count + 1 is the tries per claim. */
  pausesMs: readonly number[];
  batch: number;
  /** After a claim's tries all failed: the wait before the next claim, by claims so far. */
  retryAfterSeconds: readonly number[];
}

export const OUTBOX_TUNING: OutboxTuning = {
  timeoutMs: 5_000,
  pausesMs: [500, 2_000],
  batch: 20,
  retryAfterSeconds: [60, 300, 900, 3600],
};

/** Long enough for every try of a claim with its timeout and pauses, so the lease outlives it. */
function leaseSeconds(tuning: OutboxTuning): number {
  const ms = (tuning.pausesMs.length + 1) * tuning.timeoutMs + tuning.pausesMs.reduce((a, b) => a + b, 0);
  return Math.max(60, Math.ceil((ms * 2) / 1000));
}

const inFlight = new Set<Promise<unknown>>();

async function post(url: string, outbox: Outbox<OutboxRow>, body: string, id: string, timeoutMs: number) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': `shutong-${outbox.name}`,
      [outbox.idHeader]: id,
    },
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  // Drain so the connection can be reused; the answer's content is not ours to read.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

async function deliverOne<R extends OutboxRow>(
  db: Executor,
  url: string,
  outbox: Outbox<R>,
  row: R,
  log: OutboxLog,
  tuning: OutboxTuning,
) {
  const body = JSON.stringify(outbox.body(row));
  let lastError = '';
  for (let attempt = 0; attempt <= tuning.pausesMs.length; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, tuning.pausesMs[attempt - 1]));
    try {
      await post(url, outbox as Outbox<OutboxRow>, body, row.id, tuning.timeoutMs);
      await outbox.markDelivered(db, row.id);
      log.info({ [outbox.name]: row.id, ...outbox.describe(row) }, `${outbox.name} delivered`);
      return;
    } catch (error) {
      lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
  const claims = outbox.claims(row);
  const waits = tuning.retryAfterSeconds;
  const retryAfter = waits[Math.min(Math.max(claims - 1, 0), waits.length - 1)] ?? 60;
  log.warn(
    { [outbox.name]: row.id, ...outbox.describe(row), error: lastError, claims, retryAfter },
    `${outbox.name} delivery failed`,
  );
  await outbox.markUndelivered(db, row.id, lastError, retryAfter);
}

/**
 * Claims one batch of what `outbox` still owes and posts it to `url`; resolves, with how many rows
 * it claimed, when the batch is done (callers that must not wait use `void`). Nothing happens
 * without a url. Failures are logged, never thrown: delivery holds up nothing else.
 */
export function deliverPending<R extends OutboxRow>(
  db: Executor,
  url: string | undefined,
  outbox: Outbox<R>,
  log: OutboxLog,
  tuning: OutboxTuning = OUTBOX_TUNING,
): Promise<number> {
  if (!url) return Promise.resolve(0);
  const run = (async () => {
    const rows = await outbox.claim(db, tuning.batch, leaseSeconds(tuning));
    await Promise.all(rows.map((row) => deliverOne(db, url, outbox, row, log, tuning)));
    return rows.length;
  })()
    .catch((error: unknown) => {
      log.warn({ err: error }, `${outbox.name} delivery could not run`);
      return 0;
    })
    .finally(() => inFlight.delete(run));
  inFlight.add(run);
  return run;
}

/** Waits for every delivery under way, of any outbox (server shutdown, tests). */
export async function settleDeliveries(): Promise<void> {
  while (inFlight.size > 0) await Promise.all([...inFlight]);
}
