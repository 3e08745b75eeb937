import { execFile } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrateAudit } from '../src/audit/integrate.ts';
import { exportSegment, verifyLog } from '../src/audit/service.ts';
import { cliCtx } from '../src/core/context.ts';
import type { Executor } from '../src/core/db.ts';
import {
  appendEvents,
  buildSignedLog,
  diskTarget,
  migrated,
  runCli,
  type Target,
  tamper,
} from './audit-support.ts';

/**
 * `audit verify` is read-only and robust: it changes nothing (not even pending entries or the
 * subtree cache), reports what is pending, and turns a damaged state row or cache into findings
 * while still listing every entry-level finding. Integration keeps entries in time order.
 * The log: 300 entries, heads at 150 and 300, and an export that filled the subtree cache.
 */
let base: Target;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  base = await diskTarget();
  cleanups.push(() => base.drop());
  const database = await migrated(base);
  try {
    await buildSignedLog(database.db, base.config, [150, 300]);
    // Needs the level-8 subtree [0, 256) for the left edge: the cache holds it afterwards.
    await exportSegment(cliCtx(database.db, base.config), 260, 270);
    const cached = await database.db.selectFrom('audit_tree_nodes').selectAll().execute();
    expect(cached.length).toBeGreaterThan(0);
  } finally {
    await database.close();
  }
}, 300_000);
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function copyOf(): Promise<Target> {
  const copy = await base.clone();
  cleanups.push(() => copy.drop());
  return copy;
}

/** Every row of every audit table and the settings, in a fixed order, as text. */
async function dump(db: Executor): Promise<string> {
  const tables: Array<[string, string]> = [
    ['audit_events', 'queued'],
    ['audit_tree_state', 'id'],
    ['audit_tree_heads', 'id'],
    ['audit_tree_nodes', 'level, idx'],
    ['audit_refused', 'id'],
    ['settings', 'key'],
  ];
  const out: string[] = [];
  for (const [table, order] of tables) {
    const { rows } = await sql
      .raw<{ row: string }>(`select (t.*)::text as row from ${table} t order by ${order}`)
      .execute(db);
    out.push(`-- ${table}`, ...rows.map((r) => r.row));
  }
  return out.join('\n');
}

/** Every row of every table in the public schema, sorted, as text (where pg_dump cannot reach: PGlite). */
async function dumpAllTables(db: Executor): Promise<string> {
  const { rows: tables } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(db);
  const out: string[] = [];
  for (const { name } of tables) {
    const { rows } = await sql<{
      row: string;
    }>`select (t.*)::text as row from ${sql.table(name)} t order by 1`.execute(db);
    out.push(`-- ${name}`, ...rows.map((r) => r.row));
  }
  return out.join('\n');
}

function runProgram(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 256 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

describe('audit verify is read-only', () => {
  it('leaves every audit table unchanged, pending entries included, and reports them as pending', async () => {
    const copy = await copyOf();
    let before: string;
    const database = await copy.open();
    try {
      await appendEvents(database.db, 4, 2, 'pending');
      before = await dump(database.db);
      expect(before).toContain('pending.event');
      const report = await verifyLog(cliCtx(database.db, copy.config));
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.pending).toBe(4);
      expect(report.rows).toBe(300);
      expect(report.cacheNodesChecked).toBeGreaterThan(0);
      expect(await dump(database.db)).toBe(before);
    } finally {
      await database.close();
    }
    const res = await runCli(['audit', 'verify'], copy.env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('4 pending');
    const again = await copy.open();
    try {
      expect(await dump(again.db)).toBe(before);
    } finally {
      await again.close();
    }
  });

  it('leaves the whole database byte for byte unchanged: pg_dump on a server, every table on the embedded one', async () => {
    const copy = await copyOf();
    const snapshot = async (): Promise<string> => {
      if (copy.env.DATABASE_URL) {
        const res = await runProgram('pg_dump', ['--no-owner', '--dbname', copy.env.DATABASE_URL]);
        expect(res.code, res.stderr).toBe(0);
        // pg_dump draws a new random \\restrict key for each dump (CVE-2025-8714); the rest must match.
        return res.stdout.replace(/^\\(un)?restrict .*$/gm, '');
      }
      const database = await copy.open();
      try {
        return await dumpAllTables(database.db);
      } finally {
        await database.close();
      }
    };
    const database = await copy.open();
    try {
      await appendEvents(database.db, 3, 1, 'pending');
    } finally {
      await database.close();
    }
    const before = await snapshot();
    expect(before).toContain('pending.event');
    const res = await runCli(['audit', 'verify'], copy.env);
    expect(res.code, res.stderr).toBe(0);
    const again = await copy.open();
    try {
      // In one thread too: both paths only read.
      expect((await verifyLog(cliCtx(again.db, copy.config), { workers: 0 })).ok).toBe(true);
    } finally {
      await again.close();
    }
    expect(await snapshot()).toBe(before);
  });

  it('runs in a read-only transaction: a write there is refused by the database', async () => {
    // The service opens `repeatable read, read only`; prove the mode by failing a write in one.
    const copy = await copyOf();
    const database = await copy.open();
    try {
      const attempt = database.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (tx) => {
          await sql`set transaction read only`.execute(tx);
          await sql`insert into audit_refused (id, reason) values ('x', 'y')`.execute(tx);
        });
      await expect(attempt).rejects.toThrow(/read-only/);
    } finally {
      await database.close();
    }
  });
});

describe('damaged tree state, head or cache: findings, never a crash', () => {
  it('an edited entry plus a bumped state size: the state is reported and the edited entry still named', async () => {
    const copy = await copyOf();
    const database = await copy.open();
    try {
      await tamper(database.db, [
        `update audit_events set details = '{"forged": true}' where seq = 13`,
        'update audit_tree_state set size = size + 1',
      ]);
      const report = await verifyLog(cliCtx(database.db, copy.config));
      expect(report.ok).toBe(false);
      expect(report.stateSize).toBeNull();
      expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'state-corrupt' }));
      expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'edited', position: 13 }));
    } finally {
      await database.close();
    }
    const res = await runCli(['audit', 'verify'], copy.env);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/state-corrupt/);
    expect(res.stdout).toMatch(/seq 13\s+edited/);
  });

  it('a missing state row is a finding too', async () => {
    const copy = await copyOf();
    const database = await copy.open();
    try {
      await tamper(database.db, [
        'delete from audit_tree_state',
        `update audit_events set details = '{"forged": true}' where seq = 200`,
      ]);
      const report = await verifyLog(cliCtx(database.db, copy.config));
      expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'state-corrupt' }));
      expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'edited', position: 200 }));
    } finally {
      await database.close();
    }
  });

  it('a poisoned subtree cache is reported by verify, and export refuses to write a proof built on it', async () => {
    const copy = await copyOf();
    const database = await copy.open();
    try {
      await tamper(database.db, [
        `update audit_tree_nodes set hash = '\\x${'ab'.repeat(32)}' where level = 8 and idx = 0`,
      ]);
      const report = await verifyLog(cliCtx(database.db, copy.config));
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(
        expect.objectContaining({ kind: 'cache-mismatch', position: 1, through: 256 }),
      );
      await expect(exportSegment(cliCtx(database.db, copy.config), 260, 270)).rejects.toMatchObject({
        code: 'AUDIT_LOG_DAMAGED',
      });
    } finally {
      await database.close();
    }
    const res = await runCli(['audit', 'verify'], copy.env);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/seq 1\.\.256\s+cache-mismatch/);
  });
});

describe('time order', () => {
  const backdated = `insert into audit_events (id, time, action, object_type, details)
      values ('aud_backdated', now() - interval '30 days', 'forged.event', 'thing', '{}')`;

  it('integration refuses an entry dated 30 days back: it stays pending and verify names it', async () => {
    const copy = await copyOf();
    const database = await copy.open();
    try {
      await sql.raw(backdated).execute(database.db);
      await appendEvents(database.db, 2, 1, 'after');
      await integrateAudit(database.db);
      const forged = await database.db
        .selectFrom('audit_events')
        .select('seq')
        .where('id', '=', 'aud_backdated')
        .executeTakeFirstOrThrow();
      expect(forged.seq).toBeNull();
      // The honest entries behind it were not held up.
      const after = await database.db
        .selectFrom('audit_events')
        .select('seq')
        .where('action', '=', 'after.event')
        .execute();
      expect(after.every((r) => r.seq !== null)).toBe(true);
      const report = await verifyLog(cliCtx(database.db, copy.config));
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(
        expect.objectContaining({ kind: 'refused', reason: expect.stringContaining('aud_backdated') }),
      );
    } finally {
      await database.close();
    }
  });

  it('verify reports an integrated entry dated before its predecessor beyond the allowance', async () => {
    const copy = await copyOf();
    const database = await copy.open();
    try {
      await sql.raw(backdated).execute(database.db);
      // As an integrator without the time check would have done.
      await integrateAudit(database.db, { clockSkewMs: Number.MAX_SAFE_INTEGER });
      const forged = await database.db
        .selectFrom('audit_events')
        .select('seq')
        .where('id', '=', 'aud_backdated')
        .executeTakeFirstOrThrow();
      expect(forged.seq).toBe(301);
      const report = await verifyLog(cliCtx(database.db, copy.config));
      expect(report.problems).toContainEqual(
        expect.objectContaining({ kind: 'out-of-order', position: 301 }),
      );
    } finally {
      await database.close();
    }
    const res = await runCli(['audit', 'verify'], copy.env);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/seq 301\s+out-of-order/);
  });
});
