/**
 * The audit log partitioned by month of Beijing time (migration 0040, issue 21): entries land in
 * their month, the Merkle log reads across partitions as before (integration, heads, proofs,
 * verification), the append-only rules hold on every partition, and a database with entries
 * from before the migration keeps them, their tree and their queue order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/audit/append.ts';
import { integrateAudit } from '../src/audit/integrate.ts';
import {
  beijingMonth,
  ensureAuditPartitions,
  listAuditPartitions,
  partitionName,
} from '../src/audit/partitions.ts';
import { proveInclusion, signHead, verifyLog } from '../src/audit/service.ts';
import type { Config } from '../src/core/config.ts';
import { loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import type { Db } from '../src/core/db.ts';
import { migrate, readMigrations } from '../src/core/migrate.ts';
import { expectProvedIn } from './audit-support.ts';
import { freshDatabase } from './helpers.ts';
import { appendBulk } from './support/audit-bulk.ts';

let keyDir: string;
let config: Config;
beforeAll(() => {
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-partitions-'));
  config = loadConfig({ AUDIT_KEY_FILE: path.join(keyDir, 'key.pem'), LOG_LEVEL: 'warn' });
});
afterAll(() => fs.rmSync(keyDir, { recursive: true, force: true }));

const entry = (time: Date, i: number) => ({
  time,
  actorId: 'usr_p',
  orgId: 'org_p',
  action: 'partition.test',
  objectType: 'thing',
  objectId: String(i),
  requestId: null,
  details: { i },
});

/** The partition each entry's row is stored in, by seq. */
async function storedIn(db: Db): Promise<Map<number, string>> {
  const { rows } = await sql<{ seq: number; part: string }>`
    select seq, tableoid::regclass::text as part from audit_events where seq is not null order by seq`.execute(
    db,
  );
  return new Map(rows.map((r) => [Number(r.seq), r.part]));
}

describe('audit log partitions', () => {
  it('puts each entry in its month of Beijing time, and the log proves and verifies across them', async () => {
    const { database, drop } = await freshDatabase();
    try {
      const db = database.db;
      await migrate(db);
      // Months around a turn of the year, at the instants Beijing's month turns (16:00 UTC).
      await ensureAuditPartitions(db, new Date('2025-11-20T00:00:00Z'));
      const times = [
        new Date('2001-05-05T00:00:00.000Z'), // no partition: the DEFAULT one
        new Date('2025-11-30T15:59:59.999Z'), // 2025-11-30 23:59:59.999 Beijing
        new Date('2025-11-30T16:00:00.000Z'), // 2025-12-01 00:00 Beijing
        new Date('2025-12-31T16:00:00.000Z'), // 2026-01-01 00:00 Beijing
      ];
      await db
        .transaction()
        .execute((tx) => appendBulk(tx, times.length, (seq) => entry(times[seq - 1]!, seq)));
      const parts = await storedIn(db);
      expect([...parts.values()]).toEqual([
        'audit_events_default',
        'audit_events_y2025m11',
        'audit_events_y2025m12',
        'audit_events_y2026m01',
      ]);
      // Ordinary appends (dated now) and integration.
      for (let i = 0; i < 3; i++) {
        await appendAudit(db, {
          actorId: 'usr_p',
          orgId: 'org_p',
          action: 'partition.now',
          objectType: 'thing',
          objectId: String(i),
        });
      }
      await integrateAudit(db);
      const now = partitionName(beijingMonth(new Date()));
      expect([...(await storedIn(db)).values()].slice(4)).toEqual([now, now, now]);

      const ctx = cliCtx(db, config);
      const head = (await signHead(ctx, { ifGrown: true }))!;
      expect(head.treeSize).toBe(7);
      await expectProvedIn(ctx, head, [1, 2, 3, 4, 7]);
      const report = await verifyLog(ctx);
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.treeSize).toBe(7);

      // Reads by period touch only the months they cover.
      const { rows } = await sql<{ 'QUERY PLAN': string }>`
        explain select count(*) from audit_events
         where time >= '2025-12-01 00:00:00+08' and time < '2026-01-01 00:00:00+08'`.execute(db);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('audit_events_y2025m12');
      expect(plan).not.toContain('audit_events_y2025m11');
      expect(plan).not.toContain('audit_events_default');
    } finally {
      await drop();
    }
  });

  it('keeps every partition append-only: no update, delete or truncate, through the parent or directly', async () => {
    const { database, drop } = await freshDatabase();
    try {
      const db = database.db;
      await migrate(db);
      await ensureAuditPartitions(db, new Date('2027-11-20T00:00:00Z'));
      const times = [new Date('2027-11-05T00:00:00Z'), new Date('2031-05-05T00:00:00Z')];
      await db.transaction().execute((tx) => appendBulk(tx, 2, (seq) => entry(times[seq - 1]!, seq)));
      const refused = [
        sql`update audit_events set action = 'forged' where seq = 1`,
        sql`update audit_events_y2027m11 set action = 'forged' where seq = 1`,
        sql`update audit_events_default set details = '{}'::jsonb where seq = 2`,
        sql`delete from audit_events where seq = 1`,
        sql`delete from audit_events_y2027m11`,
        sql`truncate audit_events`,
        sql`truncate audit_events_y2027m11`,
        sql`truncate audit_events_default`,
        // A month created later by the background task carries the same triggers.
        sql`truncate audit_events_y2028m01`,
      ];
      for (const statement of refused) {
        await expect(db.transaction().execute((tx) => statement.execute(tx))).rejects.toThrow(/append-only/);
      }
      expect((await storedIn(db)).size).toBe(2);
    } finally {
      await drop();
    }
  });

  it('creates this month and the next two ahead, idempotently and from several callers at once', async () => {
    const { database, drop } = await freshDatabase();
    try {
      const db = database.db;
      await migrate(db);
      const june = new Date('2029-06-15T00:00:00Z');
      const created = await Promise.all([ensureAuditPartitions(db, june), ensureAuditPartitions(db, june)]);
      // Both callers saw them missing; the SQL function created each once (the other found it).
      expect(new Set(created.flat())).toEqual(
        new Set(['audit_events_y2029m06', 'audit_events_y2029m07', 'audit_events_y2029m08']),
      );
      expect(await ensureAuditPartitions(db, june)).toEqual([]);
      // A month whose entries already went to the DEFAULT partition (a clock ahead) stays there:
      // creating it must not fail a start, nor refuse the next append.
      await db
        .transaction()
        .execute((tx) => appendBulk(tx, 1, () => entry(new Date('2029-09-10T00:00:00Z'), 1)));
      expect(await ensureAuditPartitions(db, new Date('2029-08-15T00:00:00Z'))).toEqual([
        'audit_events_y2029m10',
      ]);
      expect((await listAuditPartitions(db)).map((p) => p.name)).not.toContain('audit_events_y2029m09');
      expect([...(await storedIn(db)).values()]).toEqual(['audit_events_default']);
      const listed = await listAuditPartitions(db);
      const july = listed.find((p) => p.name === 'audit_events_y2029m07')!;
      expect(july.from?.toISOString()).toBe('2029-06-30T16:00:00.000Z');
      expect(july.to?.toISOString()).toBe('2029-07-31T16:00:00.000Z');
      expect(listed.at(-1)?.name).toBe('audit_events_default');
      expect(listed.at(-1)?.from).toBeNull();
    } finally {
      await drop();
    }
  });

  it('migrates a log written before partitioning: same entries, same tree, the queue continues', async () => {
    const { database, drop } = await freshDatabase();
    try {
      const db = database.db;
      await migrate(
        db,
        readMigrations().filter((m) => m.version < '0040'),
      );
      const times = Array.from({ length: 40 }, (_, i) => new Date(Date.UTC(2026, i % 5, 3 + (i % 20))));
      times.sort((a, b) => a.getTime() - b.getTime());
      await db.transaction().execute((tx) => appendBulk(tx, 40, (seq) => entry(times[seq - 1]!, seq)));
      await appendAudit(db, {
        actorId: 'usr_p',
        orgId: null,
        action: 'before.pending',
        objectType: 'x',
        objectId: null,
      });
      const ctx = cliCtx(db, config);
      const before = (await signHead(ctx, { ifGrown: true }))!;
      const { rows: queuedBefore } = await sql<{
        q: string;
      }>`select max(queued)::text as q from audit_events`.execute(db);

      expect(await migrate(db)).toContain('0040_audit_partitions');
      const parts = await storedIn(db);
      expect(parts.get(1)).toBe('audit_events_y2026m01');
      expect(parts.get(40)).toBe('audit_events_y2026m05');
      // The entry still pending (its head covers it: signHead integrated it) and everything else moved.
      expect(parts.size).toBe(before.treeSize);
      await appendAudit(db, {
        actorId: 'usr_p',
        orgId: null,
        action: 'after',
        objectType: 'x',
        objectId: null,
      });
      const { rows: queued } = await sql<{ q: string }>`
        select queued::text as q from audit_events where action = 'after'`.execute(db);
      expect(BigInt(queued[0]!.q)).toBeGreaterThan(BigInt(queuedBefore[0]!.q));
      await integrateAudit(db);
      const after = (await signHead(ctx, { ifGrown: true }))!;
      expect(after.treeSize).toBe(before.treeSize + 1);
      const report = await verifyLog(ctx);
      expect(report.problems).toEqual([]);
      expect(report.headsMatched).toBe(2);
      const p = await proveInclusion(ctx, 17, before.treeSize);
      expect(p.head?.rootHash).toBe(before.rootHash);
    } finally {
      await drop();
    }
  });
});
