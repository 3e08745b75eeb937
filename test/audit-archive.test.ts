/**
 * Archiving old months of the audit log (issue 21, audit/archive.ts): the months leave the database
 * only as files an auditor can check offline; proofs, consistency and `audit verify` carry on from
 * the hashes kept; an archived entry answers 410 naming its file; and a database administrator who
 * edits or removes what was kept is caught.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/audit/append.ts';
import { archiveMonths } from '../src/audit/archive.ts';
import { originFor } from '../src/audit/checkpoint.ts';
import { integrateAudit } from '../src/audit/integrate.ts';
import { fromHex, verifyConsistency } from '../src/audit/merkle.ts';
import { ensureAuditPartitions, listAuditPartitions } from '../src/audit/partitions.ts';
import { type AuditSegment, verifySegment } from '../src/audit/segment.ts';
import {
  getEntry,
  listEntries,
  platformKey,
  proveConsistency,
  proveInclusion,
  signHead,
  verifyLog,
  witnessOverview,
} from '../src/audit/service.ts';
import { directoryWitness } from '../src/audit/witness.ts';
import type { Principal } from '../src/core/auth.ts';
import { type Config, loadConfig } from '../src/core/config.ts';
import { type Ctx, cliCtx } from '../src/core/context.ts';
import type { Db } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { meter } from '../src/operation/service.ts';
import { diskTarget, expectProvedIn } from './audit-support.ts';
import { freshDatabase, runCli } from './helpers.ts';
import { appendBulk } from './support/audit-bulk.ts';

let dir: string;
let config: Config;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-archive-'));
  config = loadConfig({ AUDIT_KEY_FILE: path.join(dir, 'key.pem'), LOG_LEVEL: 'warn' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SEPT = 700;
const OCT = 301;
const NOV = 60;

/** September, October (its last entry dated ten seconds into November, Beijing time), November. */
function timeOf(seq: number): Date {
  if (seq <= SEPT) return new Date(Date.UTC(2025, 8, 2) + seq * 60_000);
  if (seq === SEPT + OCT - 1) return new Date('2025-10-31T16:00:10Z'); // 2025-11-01 00:00:10 Beijing
  if (seq === SEPT + OCT) return new Date('2025-10-31T15:59:50Z'); // still October, 20 s earlier
  if (seq < SEPT + OCT) return new Date(Date.UTC(2025, 9, 2) + seq * 60_000);
  return new Date(Date.UTC(2025, 10, 3) + seq * 60_000);
}

async function logOf(db: Db): Promise<void> {
  await ensureAuditPartitions(db, new Date('2025-09-10T00:00:00Z'));
  await db.transaction().execute((tx) =>
    appendBulk(tx, SEPT + OCT + NOV, (seq) => ({
      time: timeOf(seq),
      actorId: `usr_${seq % 7}`,
      orgId: 'org_a',
      action: 'thing.changed',
      objectType: 'thing',
      objectId: String(seq),
      requestId: null,
      details: { seq },
    })),
  );
  for (let i = 0; i < 5; i++) {
    await appendAudit(db, {
      actorId: 'usr_now',
      orgId: 'org_a',
      action: 'now',
      objectType: 'x',
      objectId: String(i),
    });
  }
  await integrateAudit(db);
}

/** A fresh database (logOf's log and a signed head when `filled`), dropped afterwards. */
async function withDatabase(filled: boolean, run: (db: Db, ctx: Ctx) => Promise<void>): Promise<void> {
  const { database, drop } = await freshDatabase();
  try {
    const db = database.db;
    await migrate(db);
    const ctx = cliCtx(db, config);
    if (filled) {
      await logOf(db);
      await signHead(ctx, { ifGrown: true });
    }
    await run(db, ctx);
  } finally {
    await drop();
  }
}

const readSegment = (file: string) =>
  JSON.parse(fs.readFileSync(path.join(out(), file), 'utf8')) as AuditSegment;
const out = () => path.join(dir, 'archive');
const sm3 = (file: string) =>
  createHash('sm3')
    .update(fs.readFileSync(path.join(out(), file)))
    .digest('hex');

describe('archiving audit months', () => {
  it('exports the months with proofs, drops them, and the log still proves and verifies', async () => {
    const { database, drop } = await freshDatabase();
    try {
      const db = database.db;
      await migrate(db);
      await logOf(db);
      const ctx = cliCtx(db, config);
      const before = (await signHead(ctx, { ifGrown: true }))!;

      const result = await archiveMonths(ctx, { before: '2025-11', dir: out(), entriesPerFile: 400 });
      expect(result.months).toEqual(['2025-09', '2025-10']);
      // October's highest seq is its last entry; the one dated into November is in the range too.
      expect([result.firstSeq, result.lastSeq]).toEqual([1, SEPT + OCT]);
      expect(result.files.map((f) => [f.from, f.to])).toEqual([
        [1, 400],
        [401, 800],
        [801, 1001],
      ]);
      const { publicKeyPem } = await platformKey(config);
      for (const f of result.files) {
        const segment = readSegment(f.name);
        expect(verifySegment(segment, publicKeyPem)).toEqual({ ok: true, problems: [] });
        expect(segment.entries.map((e) => e.seq)).toEqual(
          Array.from({ length: f.to - f.from + 1 }, (_, i) => f.from + i),
        );
        expect(sm3(f.name)).toBe(f.sm3);
      }
      const names = (await listAuditPartitions(db)).map((p) => p.name);
      expect(names).not.toContain('audit_events_y2025m09');
      expect(names).not.toContain('audit_events_y2025m10');
      expect(names).toContain('audit_events_y2025m11');

      // Archived entries answer 410 with their file; nothing of the range is listed any more.
      await expect(proveInclusion(ctx, 500)).rejects.toMatchObject({
        code: 'AUDIT_ENTRY_ARCHIVED',
        details: { seq: 500, files: [{ name: result.files[1]!.name }] },
      });
      await expect(getEntry(ctx, 500)).rejects.toMatchObject({ code: 'AUDIT_ENTRY_ARCHIVED' });
      // Seq 1000 stayed behind in November's partition: in the files, and still listed here.
      const listed = await listEntries(ctx, { limit: 200, order: 'asc' });
      expect(listed.items.map((e) => e.seq).slice(0, 2)).toEqual([SEPT + OCT - 1, SEPT + OCT + 1]);
      expect((await getEntry(ctx, SEPT + OCT - 1)).objectId).toBe(String(SEPT + OCT - 1));
      await expect(proveInclusion(ctx, SEPT + OCT - 1)).rejects.toMatchObject({
        code: 'AUDIT_ENTRY_ARCHIVED',
      });
      // Bills are metered from the log: an archived month is refused, not billed as empty.
      await expect(meter(ctx, 'ctr_any', '2025-10')).rejects.toMatchObject({ code: 'AUDIT_ENTRY_ARCHIVED' });
      expect((await meter(ctx, 'ctr_any', '2025-11')).calls).toBe(0);

      // Later entries: inclusion and consistency proofs against heads signed before and after.
      for (let i = 0; i < 3; i++) {
        await appendAudit(db, {
          actorId: 'usr_now',
          orgId: 'org_a',
          action: 'after',
          objectType: 'x',
          objectId: String(i),
        });
      }
      await integrateAudit(db);
      const after = (await signHead(ctx, { ifGrown: true }))!;
      await expectProvedIn(ctx, after, [SEPT + OCT + 1, SEPT + OCT + 40, before.treeSize, after.treeSize]);
      const c = await proveConsistency(ctx, before.treeSize, after.treeSize);
      expect(
        verifyConsistency(
          before.treeSize,
          after.treeSize,
          fromHex(before.rootHash),
          fromHex(after.rootHash),
          c.proof.map(fromHex),
        ),
      ).toBe(true);

      // Verification rebuilds the archived part from the kept hashes, in every reading mode.
      for (const options of [{ workers: 0 }, { workers: 2, chunkRows: 16 }, {}]) {
        const report = await verifyLog(ctx, options);
        expect(report.problems).toEqual([]);
        expect(report.ok).toBe(true);
        expect(report.archivedLeaves).toBe(SEPT + OCT);
        expect(report.treeSize).toBe(after.treeSize);
        expect(report.headsMatched).toBeGreaterThanOrEqual(2);
      }

      // A second archiving continues where the first ended (November, with the stayed-behind row).
      const second = await archiveMonths(ctx, { before: '2025-12', dir: out() });
      expect(second.months).toEqual(['2025-11']);
      expect([second.firstSeq, second.lastSeq]).toEqual([SEPT + OCT + 1, SEPT + OCT + NOV]);
      for (const f of second.files) {
        expect(verifySegment(readSegment(f.name), publicKeyPem).ok).toBe(true);
      }
      const report = await verifyLog(ctx, { workers: 2, chunkRows: 16 });
      expect(report.problems).toEqual([]);
      expect(report.archivedLeaves).toBe(SEPT + OCT + NOV);
      const latest = (await signHead(ctx, { ifGrown: true })) ?? after;
      await expectProvedIn(ctx, latest, [latest.treeSize]);
      // The archivings themselves are in the log.
      const own = await listEntries(ctx, { limit: 50, order: 'desc', action: 'audit.archive' });
      expect(own.items).toHaveLength(2);

      // Nothing left to archive: no files, nothing dropped.
      expect((await archiveMonths(ctx, { before: '2025-12', dir: out() })).months).toEqual([]);
      // Months without entries go as they are, recorded with an empty range.
      await ensureAuditPartitions(db, new Date('2025-12-10T00:00:00Z'));
      const empty = await archiveMonths(ctx, { before: '2026-02', dir: out() });
      expect(empty.months).toEqual(['2025-12', '2026-01']);
      expect([empty.firstSeq, empty.lastSeq, empty.files]).toEqual([
        SEPT + OCT + NOV + 1,
        SEPT + OCT + NOV,
        [],
      ]);
      expect((await verifyLog(ctx)).problems).toEqual([]);
    } finally {
      await drop();
    }
  });

  it('refuses the current month, bad input and anyone but the command line', async () => {
    await withDatabase(false, async (db, ctx) => {
      const next = new Date();
      next.setUTCMonth(next.getUTCMonth() + 2);
      await expect(
        archiveMonths(ctx, { before: next.toISOString().slice(0, 7), dir: out() }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'before' } });
      await expect(archiveMonths(ctx, { before: '2025-13', dir: out() })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      const auditor: Principal = {
        ...ctx.principal!,
        userId: 'usr_auditor',
        roles: ['auditor', 'platform_admin'],
      };
      await expect(
        archiveMonths(cliCtx(db, config, auditor), { before: '2025-11', dir: out() }),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });
  });

  it('gives up, keeping the months and no file, when an entry reaches them while they are archived', async () => {
    await withDatabase(true, async (db, ctx) => {
      const racing = path.join(dir, 'racing');
      let arrived = false;
      await expect(
        archiveMonths(ctx, {
          before: '2025-11',
          dir: racing,
          entriesPerFile: 400,
          onProgress: async () => {
            if (arrived) return;
            arrived = true;
            // An entry dated in September reaches the log (as a bulk append would) mid-way.
            await db.transaction().execute((tx) =>
              appendBulk(tx, 1, () => ({
                time: new Date('2025-09-30T10:00:00Z'),
                actorId: 'usr_late',
                orgId: null,
                action: 'late',
                objectType: 'x',
                objectId: null,
                requestId: null,
                details: {},
              })),
            );
          },
        }),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(fs.readdirSync(racing)).toEqual([]);
      const names = (await listAuditPartitions(db)).map((p) => p.name);
      expect(names).toContain('audit_events_y2025m09');
      // Run again: the late entry is archived with the rest.
      const result = await archiveMonths(ctx, { before: '2025-11', dir: racing });
      const late = await sql<{ seq: number }>`select seq from audit_events where action = 'late'`.execute(db);
      expect(late.rows).toEqual([]);
      expect(result.lastSeq).toBe(SEPT + OCT + NOV + 5 + 1);
      expect((await verifyLog(ctx)).problems).toEqual([]);
    });
  });

  it('catches a database administrator who edits or removes what the archiving kept', async () => {
    const tampers: Array<{ name: string; change: (db: Db) => Promise<unknown>; kinds: string[] }> = [
      {
        name: 'an edited subtree hash',
        change: (db) =>
          sql`update audit_tree_nodes set hash = sha256(hash) where level = 8 and idx = 1`.execute(db),
        kinds: ['root-mismatch'],
      },
      {
        name: 'a removed subtree hash',
        change: (db) => sql`delete from audit_tree_nodes where level = 8 and idx = 2`.execute(db),
        kinds: ['deleted', 'root-mismatch'],
      },
      {
        name: 'an edited leaf hash of the last block',
        change: (db) =>
          sql`update audit_archived_leaves set leaf_hash = sha256(leaf_hash) where seq = 800`.execute(db),
        kinds: ['root-mismatch'],
      },
      {
        name: 'a row added in the archived range',
        change: (db) =>
          sql`insert into audit_events (seq, id, time, action, object_type, leaf_hash)
              values (5, 'aud_forged', now(), 'forged', 'x', sha256('x'::bytea))`.execute(db),
        kinds: ['inserted'],
      },
      {
        name: 'the row that stayed behind edited',
        change: async (db) => {
          await sql.raw('alter table audit_events disable trigger user').execute(db);
          await sql`update audit_events set details = '{"forged":true}'::jsonb where seq = 1000`.execute(db);
        },
        kinds: ['edited'],
      },
      {
        name: 'the archive record removed',
        change: (db) => sql`delete from audit_archives`.execute(db),
        kinds: ['deleted'],
      },
    ];
    for (const tamper of tampers) {
      await withDatabase(true, async (db, ctx) => {
        await archiveMonths(ctx, {
          before: '2025-11',
          dir: path.join(dir, `t-${tamper.name.replace(/\W/g, '')}`),
        });
        await integrateAudit(db);
        await signHead(ctx, { ifGrown: true });
        expect((await verifyLog(ctx)).ok).toBe(true);
        await sql.raw('alter table audit_archives disable trigger user').execute(db);
        await sql.raw('alter table audit_archived_leaves disable trigger user').execute(db);
        await tamper.change(db);
        for (const options of [{ workers: 0 }, { workers: 2, chunkRows: 16 }]) {
          const report = await verifyLog(ctx, options);
          expect(report.ok, tamper.name).toBe(false);
          const kinds = new Set(report.problems.map((p) => p.kind));
          for (const kind of tamper.kinds)
            expect(kinds.has(kind as never), `${tamper.name}: ${kind}`).toBe(true);
        }
      });
    }
  });
});

describe('a witness whose checkpoint lies inside archived months', () => {
  it('is reported as archived by verify, not as a rewrite, while the heads after it are checked', async () => {
    const wdir = path.join(dir, 'witness');
    const witnessed = loadConfig({
      AUDIT_KEY_FILE: path.join(dir, 'key.pem'),
      AUDIT_WITNESS_DIR: wdir,
      LOG_LEVEL: 'warn',
    });
    const { database, drop } = await freshDatabase();
    try {
      const db = database.db;
      await migrate(db);
      await ensureAuditPartitions(db, new Date('2025-09-10T00:00:00Z'));
      const ctx = cliCtx(db, witnessed);
      const entries = (from: number, count: number) =>
        db.transaction().execute((tx) =>
          appendBulk(tx, count, (seq) => ({
            time: new Date(Date.UTC(2025, 8, 2) + (from + seq) * 60_000),
            actorId: 'usr_w',
            orgId: null,
            action: 'w',
            objectType: 'x',
            objectId: String(seq),
            requestId: null,
            details: {},
          })),
        );
      await entries(0, 500);
      await signHead(ctx, { ifGrown: true });
      const origin = originFor((await platformKey(witnessed)).fingerprint);
      const saved = await directoryWitness(wdir).latest(origin);
      expect(saved?.size).toBe(500);
      await entries(500, 300);
      await integrateAudit(db);
      await signHead(ctx, { ifGrown: true });
      await archiveMonths(ctx, { before: '2025-10', dir: path.join(dir, 'witnessed-files') });
      await integrateAudit(db);
      await signHead(ctx, { ifGrown: true });
      const report = await verifyLog(ctx, {
        witnesses: [{ label: 'saved checkpoint', latest: async () => saved }, directoryWitness(wdir)],
      });
      expect(report.problems).toEqual([]);
      expect(report.witnesses.map((w) => w.status)).toEqual(['archived', 'consistent']);
      expect(report.headsArchived).toBe(1);
      expect((await witnessOverview(ctx)).witnesses.map((w) => w.status)).toEqual(['consistent']);
    } finally {
      await drop();
    }
  });
});

describe('shutong audit archive (command line)', () => {
  it('archives, then verify, verify-export and partitions tell what happened', async () => {
    const target = await diskTarget();
    try {
      const database = await target.open();
      try {
        await migrate(database.db);
        await logOf(database.db);
        await signHead(cliCtx(database.db, target.config), { ifGrown: true });
      } finally {
        await database.close();
      }
      const files = path.join(dir, 'cli');
      const bad = await runCli(['audit', 'archive', '--before', 'next-month', '--out', files], target.env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('"field":"before"');

      // A file left by an archiving that did not finish is never overwritten.
      fs.mkdirSync(files, { recursive: true });
      const leftover = path.join(files, 'audit-000000000001-000000001001.json');
      fs.writeFileSync(leftover, 'left by a crash');
      const refused = await runCli(['audit', 'archive', '--before', '2025-11', '--out', files], target.env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('already exists');
      expect(fs.readFileSync(leftover, 'utf8')).toBe('left by a crash');
      fs.rmSync(leftover);

      const res = await runCli(['audit', 'archive', '--before', '2025-11', '--out', files], target.env);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain('archived 2025-09, 2025-10: seq 1..1001');
      const written = fs.readdirSync(files);
      expect(written).toEqual(['audit-000000000001-000000001001.json']);

      const listed = await runCli(['audit', 'partitions'], target.env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('audit_events_y2025m11');
      expect(listed.stdout).not.toContain('audit_events_y2025m10');
      expect(listed.stdout).toContain('archived 2025-09, 2025-10: seq 1..1001, 1 file(s)');

      const verified = await runCli(['audit', 'verify'], target.env);
      expect(verified.code, verified.stdout).toBe(0);
      expect(verified.stdout).toContain('archived months: the first 1001 entries');
      expect(verified.stdout).toContain('OK');

      const pub = await runCli(['audit', 'public-key'], target.env);
      const pubFile = path.join(files, '..', 'cli-public.pem');
      fs.writeFileSync(pubFile, pub.stdout);
      const offline = await runCli(
        ['audit', 'verify-export', path.join(files, written[0]!), '--pubkey', pubFile],
        {
          DATA_DIR: path.join(dir, 'nowhere'),
          AUDIT_KEY_FILE: path.join(dir, 'no-key'),
        },
      );
      expect(offline.code, offline.stdout).toBe(0);
      expect(offline.stdout).toContain('OK: seq 1..1001');
    } finally {
      await target.drop();
    }
  });
});
