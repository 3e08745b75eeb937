import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyChunker, decodeCopyChunk } from '../src/audit/entry-copy.ts';
import { exportSegment, signHead, type VerifyOptions, verifyLog } from '../src/audit/service.ts';
import { type EntryKey, type EntryRowText, fetchEntryChunk, streamEntryCopy } from '../src/audit/store.ts';
import { cliCtx } from '../src/core/context.ts';
import type { DatabaseHandle } from '../src/core/db.ts';
import { diskTarget, migrated, type Target, tamper } from './audit-support.ts';
import { appendBulk } from './support/audit-bulk.ts';

/**
 * Verification across worker threads reports exactly what the single-threaded path reports:
 * the same report, finding for finding, on an intact log and on one tampered in many ways at
 * once, whatever the chunk size (chunks of 16 cut through every run of findings; chunks of 256
 * are joined to the tree as whole subtrees, with the subtree cache checked from their level-8
 * nodes) and however small the memory budget. The log: 600 entries, heads at 256, 300, 512, 600,
 * and a filled subtree cache.
 */
let target: Target;
let database: DatabaseHandle;

const T0 = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  target = await diskTarget();
  database = await migrated(target);
  const ctx = cliCtx(database.db, target.config);
  let size = 0;
  for (const head of [256, 300, 512, 600]) {
    await database.db.transaction().execute((tx) =>
      appendBulk(tx, head - size, (seq) => ({
        time: new Date(T0 + seq * 1000),
        actorId: `usr_${seq % 7}`,
        orgId: seq % 5 === 0 ? null : `org_${seq % 3}`,
        action: 'test.event',
        objectType: 'thing',
        objectId: `thing_${seq}`,
        requestId: seq % 4 === 0 ? null : `req_${seq}`,
        details: { seq, 说明: `第${seq}条`, nested: { list: [seq, 'x', null], ok: seq % 2 === 0 } },
      })),
    );
    size = head;
    await signHead(ctx, { ifGrown: true });
  }
  await exportSegment(ctx, 260, 270); // fills the subtree cache
}, 300_000);

afterAll(async () => {
  await database?.close();
  await target?.drop();
});

const parallel: VerifyOptions[] = [
  { workers: 2, chunkRows: 16 },
  { workers: 2, chunkRows: 256 },
  { workers: 1, chunkRows: 4096 },
  { workers: 2, chunkRows: 16, memoryBudget: 1 },
];

async function expectSameAsSequential() {
  const ctx = cliCtx(database.db, target.config);
  const sequential = await verifyLog(ctx, { workers: 0 });
  for (const options of parallel) {
    const report = await verifyLog(ctx, options);
    expect(report, JSON.stringify(options)).toEqual(sequential);
  }
  return sequential;
}

describe('verification on worker threads', () => {
  it('reports an intact log as the single-threaded path does', async () => {
    const report = await expectSameAsSequential();
    expect(report.ok).toBe(true);
    expect(report.headsMatched).toBe(4);
    expect(report.cacheNodesChecked).toBeGreaterThan(0);
  });

  it('names the same findings, in the same order, on a log tampered in many ways', async () => {
    await tamper(database.db, [
      `update audit_events set details = '{"forged": true}' where seq = 20`,
      'delete from audit_events where seq = 40',
      'update audit_events set seq = 1000000 where seq = 60',
      'update audit_events set seq = 60 where seq = 61',
      'update audit_events set seq = 61 where seq = 1000000',
      'drop index audit_events_seq_idx',
      `insert into audit_events (seq, id, time, action, object_type, details, leaf_hash)
         select 80, 'aud_zz_extra', time, action, object_type, details, leaf_hash from audit_events where seq = 80`,
      'update audit_events set leaf_hash = null where seq = 150',
      `update audit_events set time = time - interval '30 days' where seq in (170, 257)`,
      // A deletion hidden by renumbering the ten entries after it, across a chunk boundary.
      'delete from audit_events where seq = 330',
      'update audit_events set seq = seq - 1 where seq > 330 and seq <= 340',
      'alter table audit_tree_heads disable trigger user',
      `update audit_tree_heads set signature = (select signature from audit_tree_heads where tree_size = 256) where tree_size = 300`,
      'alter table audit_tree_heads enable trigger user',
    ]);
    const report = await expectSameAsSequential();
    expect(report.ok).toBe(false);
    const found = report.problems.map((p) => `${p.kind}@${p.position}${p.through ? `..${p.through}` : ''}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'edited@20',
        'deleted@40',
        'reordered@60..61',
        'inserted@80',
        'edited@150',
        'out-of-order@170',
        'out-of-order@257',
        'deleted@330',
        'bad-signature@300',
        // The cached subtree over the first 256 now differs from the edited entries.
        'cache-mismatch@1..256',
      ]),
    );
  });

  it('reads the same rows through binary COPY (servers) as through the driver, awkward text included', async () => {
    await tamper(database.db, [
      // Rows outside the log (findings, not entries): every kind of text COPY or JSON could mangle.
      `insert into audit_events (seq, id, time, actor_id, org_id, action, object_type, object_id, request_id, details, leaf_hash)
         values (2000, 'aud_zz_odd1', '1999-12-31 23:59:59.999+00', E'tab\there', null, E'line\nbreak', 'q"uote',
                 E'back\\slash', null, '{"k": "quote\\" back\\\\ nl\\n ctl\\u0001 😀 中文", "n": [1.5e300, -0, null, {}]}',
                 null),
                (2001, 'aud_zz_odd2', '0001-01-01 00:00:00+00', '', '😀', 'a', 'b', '', E'\u00e9\r', '{}', sha256('x'::bytea))`,
    ]);
    const ctx = cliCtx(database.db, target.config);
    const viaDriver: EntryRowText[] = [];
    for (let after: EntryKey | null = null; ; ) {
      const rows = await fetchEntryChunk(database.db, after, 100);
      if (rows.length === 0) break;
      viaDriver.push(...rows);
      const last = rows[rows.length - 1]!;
      after = { seq: last.seqKey, id: last.id };
    }
    const viaCopy = await database.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        const stream = await streamEntryCopy(ctx.db, tx);
        if (!stream) return null;
        const chunker = new CopyChunker(64);
        const rows = [];
        for await (const piece of stream)
          for (const c of chunker.push(piece)) rows.push(...decodeCopyChunk(c.bytes, c.rows));
        const last = chunker.end();
        if (last) rows.push(...decodeCopyChunk(last.bytes, last.rows));
        return rows;
      });
    if (!process.env.TEST_DATABASE_URL) {
      expect(viaCopy).toBeNull(); // PGlite: one session, no snapshot to import
      return;
    }
    expect(viaCopy!.length).toBe(viaDriver.length);
    expect(viaCopy).toEqual(
      viaDriver.map(({ id: _id, seqKey: _seqKey, leafHash, ...row }) => ({
        ...row,
        leafHash: leafHash === null ? null : Buffer.from(leafHash, 'hex'),
      })),
    );
    expect(viaDriver.some((r) => r.details?.includes('😀'))).toBe(true);
  });
});
