/**
 * The server's background work, all on one scheduler (core/schedule.ts), started when the server
 * listens and stopped (awaited) when it closes. Servers driven by inject() in tests never run it by
 * themselves: tests call the same functions when they want them.
 *
 * | task              | every                       | what                                                   |
 * |-------------------|-----------------------------|--------------------------------------------------------|
 * | audit.integrate   | AUDIT_INTEGRATE_MS (+ 50 ms after this process's appends) | pending audit entries join the tree; once more at stop |
 * | audit.sign        | AUDIT_SIGN_INTERVAL_SECONDS | signs a tree head when the log grew                    |
 * | audit.cache       | 1 minute, with integration  | fills the proofs' subtree cache a bounded step at a time (audit/nodes.ts) |
 * | monitor.evaluate  | MONITOR_INTERVAL_SECONDS    | alert rules over new audit events, webhook deliveries  |
 * | ingest.sweep      | half an import lease        | fails and cleans up imports whose node died            |
 * | sharing.expire    | CONTRACT_EXPIRY_SECONDS     | active contracts past their end become expired         |
 * | deadlines.overdue | 10 minutes                  | service steps, rectification cases and registry steps past their deadline are reported once (→ monitor alert) |
 * | idempotency.purge | 15 minutes                  | Idempotency-Keys past their expiry are deleted (core/idempotency.ts) |
 * | messages.push     | 10 minutes, when MESSAGES_WEBHOOK_URL is set | reminders queued once per user and pushed to the messaging gateway |
 * | audit.partitions  | 6 hours                     | the audit log's partitions of this month and the next two exist (audit/partitions.ts) |
 */
import { ensureAuditPartitions } from './audit/partitions.ts';
import * as audit from './audit/service.ts';
import type { Config } from './core/config.ts';
import { cliCtx } from './core/context.ts';
import { type Db, purgeCommitMarkers } from './core/db.ts';
import { purgeExpiredKeys } from './core/idempotency.ts';
import { LEASE_SECONDS } from './core/jobs.ts';
import { Scheduler } from './core/schedule.ts';
import * as ingest from './ingest/service.ts';
import * as messages from './messages/service.ts';
import * as monitor from './monitor/service.ts';
import * as ratings from './ratings/service.ts';
import * as registry from './registry/service.ts';
import * as services from './services/service.ts';
import * as sharing from './sharing/service.ts';

// Soon after an append, but not at once: the appending transaction has usually not committed yet.
const INTEGRATE_AFTER_APPEND_MS = 50;
// Twice per lease: a dead node's import is failed within about 1.5 leases of its last renewal.
const SWEEP_EVERY_MS = Math.min(30_000, LEASE_SECONDS * 500);
// Deadlines are days: a report within minutes of the day turning is soon enough.
const OVERDUE_EVERY_MS = 10 * 60_000;
// Reminders are about days too; a new one reaches its reporter's phone within minutes.
const PUSH_EVERY_MS = 10 * 60_000;
// Keys live a day; an expired key already binds nothing (a claim removes it), so this only frees space.
// Expired idempotency keys and settled commit markers are removed this often.
const IDEMPOTENCY_PURGE_EVERY_MS = 15 * 60_000;
// Each run warms at most ~1M leaves' worth of the proofs' cache (a second or two of reads).
const CACHE_EVERY_MS = 60_000;
// Months are created two ahead: a few tries a day leave weeks for one to get its lock.
const PARTITIONS_EVERY_MS = 6 * 3600_000;

type Log = {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
} & Parameters<typeof monitor.evaluateAndDeliver>[2];

export function backgroundWork(db: Db, config: Config, log: Log): Scheduler {
  const schedule = new Scheduler(log);
  if (config.auditIntegrateMs > 0) {
    addAuditIntegration(schedule, db, config.auditIntegrateMs, {
      clockSkewMs: config.auditClockSkewMs,
      onRefused: (id, reason) => log.warn({ id, reason }, 'audit entry refused: out of time order'),
    });
  }
  if (config.auditIntegrateMs > 0) {
    schedule.add({ name: 'audit.cache', everyMs: CACHE_EVERY_MS, run: () => audit.warmProofCache(db) });
  }
  if (config.auditSignIntervalSeconds > 0) {
    schedule.add({
      name: 'audit.sign',
      everyMs: config.auditSignIntervalSeconds * 1000,
      run: () => audit.signHeadIfGrown(cliCtx(db, config), log),
    });
  }
  if (config.monitorIntervalSeconds > 0) {
    schedule.add({
      name: 'monitor.evaluate',
      everyMs: config.monitorIntervalSeconds * 1000,
      run: () => monitor.evaluateAndDeliver(db, config, log),
      onStop: () => monitor.settleDeliveries(),
    });
  }
  schedule.add({
    name: 'ingest.sweep',
    everyMs: SWEEP_EVERY_MS,
    run: () => ingest.sweepAbandonedImports(db),
  });
  if (config.contractExpirySeconds > 0) {
    schedule.add({
      name: 'sharing.expire',
      everyMs: config.contractExpirySeconds * 1000,
      run: () => sharing.expireDueContracts(cliCtx(db, config)),
    });
  }
  schedule.add({
    name: 'deadlines.overdue',
    everyMs: OVERDUE_EVERY_MS,
    run: async () => {
      const ctx = cliCtx(db, config);
      await services.reportOverdueSteps(ctx);
      await ratings.reportOverdueCases(ctx);
      await registry.reportOverdueRegistrations(ctx);
    },
  });
  if (config.messagesWebhookUrl) {
    schedule.add({
      name: 'messages.push',
      everyMs: PUSH_EVERY_MS,
      run: () => messages.pushMessages(db, config, log),
    });
  }
  schedule.add({
    name: 'audit.partitions',
    everyMs: PARTITIONS_EVERY_MS,
    run: async () => {
      const created = await ensureAuditPartitions(db);
      if (created.length > 0) log.info({ created }, 'audit log partitions created');
    },
  });
  schedule.add({
    name: 'idempotency.purge',
    everyMs: IDEMPOTENCY_PURGE_EVERY_MS,
    run: async () => {
      await purgeExpiredKeys(db);
    },
  });
  schedule.add({
    name: 'commit-markers.purge',
    everyMs: IDEMPOTENCY_PURGE_EVERY_MS,
    run: async () => {
      await purgeCommitMarkers(db);
    },
  });
  return schedule;
}

/** Integration every `everyMs` and soon after this process's appends (also what the audit bench runs). */
export function addAuditIntegration(
  schedule: Scheduler,
  db: Db,
  everyMs: number,
  options: audit.IntegrateOptions = {},
): void {
  const unsubscribe = audit.onAppend(() => schedule.kick('audit.integrate', INTEGRATE_AFTER_APPEND_MS));
  schedule.add({
    name: 'audit.integrate',
    everyMs,
    run: () => audit.integrateAudit(db, options),
    // What this process appended last joins the tree before it lets go of the database.
    onStop: async () => {
      unsubscribe();
      await audit.integrateAudit(db);
    },
  });
}
