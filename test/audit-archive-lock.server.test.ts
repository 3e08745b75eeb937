/**
 * Archiving behind a long reader (server only: it needs a second connection). Dropping a month's
 * partition locks the whole log, and every append would queue behind that lock while it waits: the
 * archiving waits at most 2 s, then gives up with a 409 that says why, keeping the months and
 * removing its files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/audit/append.ts';
import { archiveMonths } from '../src/audit/archive.ts';
import { ensureAuditPartitions, listAuditPartitions } from '../src/audit/partitions.ts';
import { signHead } from '../src/audit/service.ts';
import { type Config, loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import { migrate } from '../src/core/migrate.ts';
import { freshDatabase } from './helpers.ts';
import { appendBulk } from './support/audit-bulk.ts';

let dir: string;
let config: Config;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-archive-lock-'));
  config = loadConfig({ AUDIT_KEY_FILE: path.join(dir, 'key.pem'), LOG_LEVEL: 'warn' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('archiving behind a long reader', () => {
  it('gives up after its lock wait with a 409, keeping the month and no file, and appends go on', async () => {
    const { url, database, drop } = await freshDatabase();
    const reader = new pg.Client({ connectionString: url });
    try {
      const db = database.db;
      await migrate(db);
      await ensureAuditPartitions(db, new Date('2025-09-10T00:00:00Z'));
      await db.transaction().execute((tx) =>
        appendBulk(tx, 300, (seq) => ({
          time: new Date(Date.UTC(2025, 8, 2) + seq * 60_000),
          actorId: 'usr_l',
          orgId: null,
          action: 'l',
          objectType: 'x',
          objectId: String(seq),
          requestId: null,
          details: {},
        })),
      );
      const ctx = cliCtx(db, config);
      await signHead(ctx, { ifGrown: true });
      // A verification-like reader: a transaction that has read the log and stays open.
      await reader.connect();
      await reader.query('begin isolation level repeatable read');
      await reader.query('select count(*) from audit_events');
      const out = path.join(dir, 'files');
      await expect(archiveMonths(ctx, { before: '2025-10', dir: out })).rejects.toMatchObject({
        code: 'CONFLICT',
        details: { lockWait: '2s' },
      });
      expect(fs.readdirSync(out)).toEqual([]);
      expect((await listAuditPartitions(db)).map((p) => p.name)).toContain('audit_events_y2025m09');
      await appendAudit(db, {
        actorId: 'usr_l',
        orgId: null,
        action: 'after',
        objectType: 'x',
        objectId: null,
      });
      await reader.query('rollback');
      const done = await archiveMonths(ctx, { before: '2025-10', dir: out });
      expect(done.months).toEqual(['2025-09']);
    } finally {
      await reader.end().catch(() => {});
      await drop();
    }
  });
});
