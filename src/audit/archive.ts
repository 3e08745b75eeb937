/**
 * Archiving old months of the audit log (issue 21): a month partition leaves the database only
 * after its entries are in segment files with proofs against a signed head (segment.ts), each file
 * written, read back from disk and checked with the public key alone, and its SM3 digest recorded.
 *
 * What stays keeps the Merkle log whole (migration 0041): the level-8 subtree hashes over the
 * archived entries (cached before the rows go) and the leaf hashes of the last incomplete block.
 * Proofs for later entries, consistency proofs from sizes at or after a block boundary, and
 * `audit verify` continue from them; verification rebuilds the archived part from these hashes and
 * checks every later signed head against it, so none of them is taken on trust. An archived
 * entry's own proof is in its file; asked here, it answers 410 AUDIT_ENTRY_ARCHIVED naming it.
 *
 * Range: the archived months' entries are seq P+1..B, where P is where the previous archiving
 * ended and B the highest seq in the months taken. An entry of that range that was dated across a
 * month's turn (within the clock-skew allowance) and stored in a later month is written to the
 * files too, and stays behind, listed; its leaf hash is kept so that verification checks it (and
 * any other row a tamperer adds in an archived range shows as inserted). Entries integration refused stay pending
 * forever: those of the archived months go to a file of their own.
 *
 * Only the command line archives (`shutong audit archive`): it removes rows, which no person's
 * session should be able to do, and it writes files on the server's disk.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { SYSTEM_PRINCIPAL } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import type { Executor } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import type { ArchiveFile } from '../core/tables.ts';
import { appendAudit } from './append.ts';
import { FIRST_SEQ } from './entry.ts';
import { integrateAudit } from './integrate.ts';
import { cacheLevel8 } from './nodes.ts';
import { beijingMonth, listAuditPartitions, partitionName } from './partitions.ts';
import { type AuditSegment, verifySegment } from './segment.ts';
import { exportSegment, platformKey } from './service.ts';
import * as store from './store.ts';

/** Entries per segment file: bounds the memory an export holds (a few hundred bytes an entry). */
export const ENTRIES_PER_FILE = 50_000;
const BLOCK = 256;
const LOCK_WAIT = '2s';

export interface ArchiveOptions {
  /** Archive every month before this one (YYYY-MM, Beijing time). */
  before: string;
  /** Directory the files are written to (created if missing; files are never overwritten). */
  dir: string;
  entriesPerFile?: number;
  /** Told of each step; awaited (a test makes entries arrive mid-way through it). */
  onProgress?: (message: string) => void | Promise<void>;
}

export interface ArchiveResult {
  months: string[];
  firstSeq: number;
  lastSeq: number;
  files: ArchiveFile[];
  refused: number;
  headSize: number;
}

function refuse(
  code: 'VALIDATION_FAILED' | 'CONFLICT',
  details: Record<string, unknown>,
  zh: string,
  en: string,
) {
  return new AppError(code, details, { zh, en });
}

const sm3 = (bytes: Uint8Array) => createHash('sm3').update(bytes).digest('hex');

/** Writes `text` to a new file (never over an existing one), flushed to disk; notes it in `written`. */
async function writeNew(written: string[], file: string, text: string): Promise<void> {
  const handle = await fs.open(file, 'wx').catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
    throw refuse(
      'CONFLICT',
      { file },
      `文件已存在：${file}（可能是未完成的归档留下的），请移走或换一个目录`,
      `${file} already exists (an archiving that did not finish may have left it); move it away or choose another directory`,
    );
  });
  written.push(file);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The months' highest seq, entries waiting for integration, and entries integration refused. */
async function monthsState(db: Executor, names: string[]) {
  const { rows } = await sql<{ last: number | null; waiting: number; refused: number }>`
    select max(seq) as last,
           count(*) filter (where seq is null and not exists (select 1 from audit_refused r where r.id = e.id))::int as waiting,
           count(*) filter (where seq is null and exists (select 1 from audit_refused r where r.id = e.id))::int as refused
      from audit_events e where tableoid::regclass::text = any(${names}::text[])`.execute(db);
  return { last: Number(rows[0]?.last ?? 0), waiting: rows[0]?.waiting ?? 0, refused: rows[0]?.refused ?? 0 };
}

export async function archiveMonths(ctx: Ctx, options: ArchiveOptions): Promise<ArchiveResult> {
  if (ctx.principal !== SYSTEM_PRINCIPAL) {
    throw new AppError('FORBIDDEN', {
      reason: 'archiving is done at the command line (shutong audit archive)',
    });
  }
  const progress = options.onProgress ?? (() => {});
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(options.before)) {
    throw refuse(
      'VALIDATION_FAILED',
      { field: 'before' },
      '--before 须为 YYYY-MM 格式',
      '--before must be YYYY-MM',
    );
  }
  const cutoffMonth = `${options.before}-01`;
  if (cutoffMonth > beijingMonth(new Date())) {
    throw refuse(
      'VALIDATION_FAILED',
      { field: 'before', currentMonth: beijingMonth(new Date()).slice(0, 7) },
      '本月及以后的审计日志不能归档',
      'The current month and later months cannot be archived',
    );
  }
  // An entry may be dated back by up to the clock-skew allowance: a month is final only after that.
  if (Date.now() - ctx.config.auditClockSkewMs < new Date(`${cutoffMonth}T00:00:00+08:00`).getTime()) {
    throw refuse(
      'VALIDATION_FAILED',
      { field: 'before', clockSkewMs: ctx.config.auditClockSkewMs },
      '上月刚结束，仍可能有按时钟偏差补记的条目，请稍后再归档',
      'The month has only just ended and may still receive entries within the clock-skew allowance; archive it later',
    );
  }
  const db = ctx.db;
  const taken = (await listAuditPartitions(db)).filter(
    (p) => p.to !== null && p.name < partitionName(cutoffMonth),
  );
  const months = taken.map((p) => `${p.name.slice(14, 18)}-${p.name.slice(19, 21)}`);
  const previous = await store.archivedThrough(db);
  if (taken.length === 0) {
    return { months: [], firstSeq: previous + 1, lastSeq: previous, files: [], refused: 0, headSize: 0 };
  }
  const names = taken.map((p) => p.name);
  await integrateAudit(db, { clockSkewMs: ctx.config.auditClockSkewMs });
  const before = await monthsState(db, names);
  if (before.waiting > 0) {
    throw refuse(
      'CONFLICT',
      { waiting: before.waiting },
      '待归档月份中仍有条目等待并入日志，请稍后重试',
      'Entries of these months are still waiting for integration; try again shortly',
    );
  }
  const last = Math.max(previous, before.last);
  // Files of an archiving that does not complete are removed: only a recorded archiving has files.
  const written: string[] = [];
  const files: ArchiveFile[] = [];
  let headSize = 0;
  let refused = 0;
  try {
    const perFile = options.entriesPerFile ?? ENTRIES_PER_FILE;
    await fs.mkdir(options.dir, { recursive: true });
    const publicKeyPem = (await platformKey(ctx.config)).publicKeyPem;
    let headRoot = '';
    for (let from = previous + 1; from <= last; from += perFile) {
      const to = Math.min(last, from + perFile - 1);
      const segment = await exportSegment(ctx, from, to);
      const name = `audit-${String(from).padStart(12, '0')}-${String(to).padStart(12, '0')}.json`;
      const file = path.join(options.dir, name);
      await writeNew(written, file, `${JSON.stringify(segment)}\n`);
      // What is on the disk is what counts: read back and checked with the public key alone.
      const bytes = await fs.readFile(file);
      const check = verifySegment(JSON.parse(bytes.toString('utf8')) as AuditSegment, publicKeyPem);
      if (!check.ok) {
        throw new AppError('AUDIT_LOG_DAMAGED', { file, problems: check.problems.slice(0, 10) });
      }
      files.push({ name, from, to, bytes: bytes.length, sm3: sm3(bytes) });
      headSize = segment.head.treeSize;
      headRoot = segment.head.rootHash;
      await progress(`wrote ${name} (seq ${from}..${to})`);
    }
    const { rows: refusedRows } = await sql<Record<string, unknown>>`
      select e.id, e.time, e.actor_id as "actorId", e.org_id as "orgId", e.action, e.object_type as "objectType",
             e.object_id as "objectId", e.request_id as "requestId", e.details, r.reason, r.refused_at as "refusedAt"
        from audit_events e join audit_refused r on r.id = e.id
       where e.seq is null and e.tableoid::regclass::text = any(${names}::text[]) order by e.queued`.execute(
      db,
    );
    refused = refusedRows.length;
    if (refusedRows.length > 0) {
      const name = `audit-refused-${months[0]}-${months.at(-1)}.json`;
      const text = `${JSON.stringify({ format: 'shutong-audit-refused/1', months, entries: refusedRows })}\n`;
      await writeNew(written, path.join(options.dir, name), text);
      const bytes = Buffer.from(text, 'utf8');
      files.push({ name, from: 0, to: -1, bytes: bytes.length, sm3: sm3(bytes) });
    }
    if (headSize === 0) {
      // Nothing new to export (empty months): the newest head still anchors the record.
      const head = await store.latestHead(db);
      headSize = head?.tree_size ?? 0;
      headRoot = head?.root_hash ?? '0'.repeat(64);
    }
    // The hashes proofs and verification continue from, while the rows are still here.
    const complete = Math.floor((last - FIRST_SEQ + 1) / BLOCK) * BLOCK;
    await cacheLevel8(db, Math.floor(previous / BLOCK) * BLOCK, complete);
    await progress(`subtree hashes cached through seq ${complete}`);
    await db.transaction().execute(async (tx) => {
      // Dropping a partition locks the whole log for a moment, and while that lock waits behind a
      // long reader (a verification), every append queues behind it: wait 2 s at most, then give up.
      await sql`select set_config('lock_timeout', ${LOCK_WAIT}, true)`.execute(tx);
      await store.lockTreeState(tx);
      if ((await store.archivedThrough(tx)) !== previous) {
        throw refuse(
          'CONFLICT',
          {},
          '另一归档操作已先完成，请重新运行',
          'Another archiving finished first; run it again',
        );
      }
      // No entry may reach these months between the files and the drop: an append still in flight
      // there (dated back within the clock-skew allowance) is waited for, later ones wait for us.
      for (const name of names) await sql`lock table ${sql.table(name)} in access exclusive mode`.execute(tx);
      const now = await monthsState(tx, names);
      if (now.last !== before.last || now.waiting > 0 || now.refused !== refusedRows.length) {
        throw refuse(
          'CONFLICT',
          { before, now },
          '归档期间这些月份又有新条目写入，请重新运行',
          'Entries reached these months while they were being archived; run it again',
        );
      }
      const tailFrom = Math.max(previous, complete) + 1;
      const tail = await store.leafHashesBetween(tx, tailFrom, last);
      if (tail.length !== last - tailFrom + 1 || tail.some((t) => !t.leaf_hash)) {
        throw new AppError('AUDIT_LOG_DAMAGED', { from: tailFrom, to: last });
      }
      // The last block's leaves, and those of the range's entries that stay behind in later months.
      const { rows: behind } = await sql<{ seq: number; leaf_hash: Uint8Array | null }>`
        select seq, leaf_hash from audit_events
         where seq > ${previous} and seq < ${tailFrom} and not (tableoid::regclass::text = any(${names}::text[]))`.execute(
        tx,
      );
      const kept = [...tail, ...behind];
      if (kept.some((t) => !t.leaf_hash))
        throw new AppError('AUDIT_LOG_DAMAGED', { from: previous + 1, to: last });
      if (kept.length > 0) {
        await tx
          .insertInto('audit_archived_leaves')
          .values(kept.map((t) => ({ seq: t.seq, leaf_hash: t.leaf_hash! })))
          .onConflict((oc) => oc.column('seq').doNothing())
          .execute();
      }
      const record = await tx
        .insertInto('audit_archives')
        .values({
          first_seq: previous + 1,
          last_seq: last,
          months,
          files: JSON.stringify(files),
          head_size: headSize,
          head_root: headRoot,
          refused: refusedRows.length,
          archived_at: new Date(),
          archived_by: ctx.principal?.userId ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await appendAudit(tx, {
        actorId: ctx.principal?.userId ?? null,
        orgId: ctx.principal?.orgId ?? null,
        action: 'audit.archive',
        objectType: 'audit_archive',
        objectId: String(record.id),
        requestId: ctx.requestId,
        details: { months, firstSeq: previous + 1, lastSeq: last, files, refused: refusedRows.length },
      });
      for (const name of names) await sql`drop table ${sql.table(name)}`.execute(tx);
    });
  } catch (err) {
    await Promise.all(written.map((file) => fs.rm(file, { force: true })));
    if ((err as { code?: string }).code === '55P03') {
      throw refuse(
        'CONFLICT',
        { lockWait: LOCK_WAIT },
        '审计日志正被长事务读取（如 audit verify），未能在时限内取得锁，请稍后重新运行',
        'A long transaction (such as audit verify) is reading the log and the lock was not granted in time; run it again later',
      );
    }
    throw err;
  }
  await progress(`archived ${months.join(', ')}: seq ${previous + 1}..${last}, ${files.length} file(s)`);
  return { months, firstSeq: previous + 1, lastSeq: last, files, refused, headSize };
}

/** One line per archiving, for `shutong audit partitions`. */
export async function listArchivesView(db: Ctx['db']): Promise<string[]> {
  return (await store.listArchives(db)).map(
    (a) =>
      `archived ${a.months.join(', ')}: seq ${a.first_seq}..${a.last_seq}, ${a.files.length} file(s), ` +
      `${a.archived_at.toISOString()}`,
  );
}
