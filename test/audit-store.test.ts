import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/audit/append.ts';
import { integrateAudit } from '../src/audit/integrate.ts';
import {
  consistencyProof,
  fromHex,
  inclusionProof,
  memoryHasher,
  rootOf,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from '../src/audit/merkle.ts';
import { withStoredTree } from '../src/audit/nodes.ts';
import { verifySegment } from '../src/audit/segment.ts';
import { exportSegment, platformKey, proveInclusion, signHead, verifyLog } from '../src/audit/service.ts';
import { ensureBackfilled, readTreeState } from '../src/audit/store.ts';
import { type Config, loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import { migrate, readMigrations } from '../src/core/migrate.ts';
import { freshDatabase } from './helpers.ts';
import { appendBulk } from './support/audit-bulk.ts';

let keyDir: string;
let config: Config;
beforeAll(() => {
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-store-'));
  config = loadConfig({ AUDIT_KEY_FILE: path.join(keyDir, 'key.pem'), LOG_LEVEL: 'warn' });
});
afterAll(() => fs.rmSync(keyDir, { recursive: true, force: true }));

describe('rows written before the Merkle log (database migrated with 0001 only)', () => {
  for (const via of ['the first integration', 'the first-start backfill'] as const) {
    it(`are renumbered without gaps and brought into the tree by ${via}`, async () => {
      const { database, drop } = await freshDatabase();
      try {
        const db = database.db;
        await migrate(
          db,
          readMigrations().filter((m) => m.version < '0003'),
        );
        const legacy = async (i: number) =>
          sql`insert into audit_events (id, actor_id, action, object_type, object_id, details)
              values (${`aud_legacy${i}`}, 'usr_old', 'legacy.event', 'thing', ${String(i)}, ${JSON.stringify({ i })}::jsonb)`.execute(
            db,
          );
        await legacy(1);
        await legacy(2);
        // A rolled-back insert leaves a hole in the old bigserial.
        await db
          .transaction()
          .execute(async (tx) => {
            await sql`insert into audit_events (id, action, object_type) values ('aud_gone', 'x', 'y')`.execute(
              tx,
            );
            throw new Error('rollback');
          })
          .catch(() => {});
        await legacy(3);
        const before = await db.selectFrom('audit_events').select('seq').orderBy('seq').execute();
        expect(before.map((r) => r.seq)).toEqual([1, 2, 4]);

        await migrate(db);
        const state = await readTreeState(db);
        expect(state.backfillPending).toBe(true);
        if (via === 'the first integration') {
          const appended = await appendAudit(db, {
            actorId: 'usr_new',
            orgId: null,
            action: 'new.event',
            objectType: 'thing',
            objectId: '4',
          });
          expect(await integrateAudit(db)).toBe(1);
          const row = await db
            .selectFrom('audit_events')
            .select('seq')
            .where('id', '=', appended.id)
            .execute();
          expect(row[0]?.seq).toBe(4);
        } else {
          expect(await ensureBackfilled(db)).toBe(3);
          expect(await ensureBackfilled(db)).toBe(0);
        }
        const rows = await db
          .selectFrom('audit_events')
          .select(['seq', 'object_id', 'leaf_hash'])
          .orderBy('seq')
          .execute();
        expect(rows.map((r) => r.object_id)).toEqual(
          via === 'the first integration' ? ['1', '2', '3', '4'] : ['1', '2', '3'],
        );
        expect(rows.every((r) => r.leaf_hash?.length === 32)).toBe(true);
        expect((await readTreeState(db)).backfillPending).toBe(false);
        await signHead(cliCtx(db, config), { ifGrown: true });
        const report = await verifyLog(cliCtx(db, config));
        expect(report.problems).toEqual([]);
        expect(report.headsMatched).toBe(1);
      } finally {
        await drop();
      }
    });
  }
});

describe('the database keeps the log append-only', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of entries and heads from ordinary SQL', async () => {
    const { database, drop } = await freshDatabase();
    try {
      const db = database.db;
      await migrate(db);
      await appendAudit(db, { actorId: null, orgId: null, action: 'a.b', objectType: 't', objectId: null });
      await signHead(cliCtx(db, config), { ifGrown: true });
      for (const statement of [
        `update audit_events set details = '{"x":1}' where seq = 1`,
        'delete from audit_events where seq = 1',
        'truncate audit_events',
        'update audit_tree_heads set tree_size = 5',
        'delete from audit_tree_heads',
      ]) {
        await expect(sql.raw(statement).execute(db), statement).rejects.toThrow(/append-only/);
      }
    } finally {
      await drop();
    }
  });
});

describe('one signing key per database', () => {
  it('refuses to sign with a key other than the one that signed first', async () => {
    const { database, drop } = await freshDatabase();
    try {
      await migrate(database.db);
      await signHead(cliCtx(database.db, config), { ifGrown: true });
      const stranger = loadConfig({ AUDIT_KEY_FILE: path.join(keyDir, 'other-node.pem') });
      await expect(signHead(cliCtx(database.db, stranger))).rejects.toMatchObject({
        code: 'AUDIT_KEY_PROBLEM',
        details: { file: stranger.auditKeyFile },
      });
      expect(await database.db.selectFrom('audit_tree_heads').selectAll().execute()).toHaveLength(1);
    } finally {
      await drop();
    }
  });
});

describe('proofs from the stored tree', () => {
  // Past 2^16 leaves, so that cached subtrees at levels 8 and 16 are both exercised.
  const N = 66_000;
  let handle: Awaited<ReturnType<typeof freshDatabase>>;
  let leaves: Buffer[];

  beforeAll(async () => {
    handle = await freshDatabase();
    const db = handle.database.db;
    await migrate(db);
    const t0 = Date.UTC(2025, 0, 1);
    await db.transaction().execute((tx) =>
      appendBulk(tx, N, (seq) => ({
        time: new Date(t0 + seq * 1000),
        actorId: `usr_${seq % 11}`,
        orgId: seq % 2 ? 'org_a' : null,
        action: 'bulk.event',
        objectType: 'thing',
        objectId: String(seq),
        requestId: null,
        details: { seq },
      })),
    );
    const rows = await db.selectFrom('audit_events').select('leaf_hash').orderBy('seq').execute();
    leaves = rows.map((r) => Buffer.from(r.leaf_hash!));
  }, 300_000);
  afterAll(() => handle.drop());

  it('bulk appends are the same leaves and frontier appendAudit would make', async () => {
    const db = handle.database.db;
    const state = await readTreeState(db);
    expect(state.frontier.size).toBe(N);
    expect(toHex(state.frontier.root())).toBe(toHex(rootOf(leaves)));
    const report = await verifyLog(cliCtx(db, config));
    expect(report.problems).toEqual([]);
    expect(report.rows).toBe(N);
  });

  it('inclusion and consistency proofs equal the in-memory ones, cold cache and warm', async () => {
    const db = handle.database.db;
    const mem = memoryHasher(leaves);
    const cases: Array<[number, number]> = [
      [0, 1],
      [0, 256],
      [255, 257],
      [1000, 65_536],
      [65_535, 65_537],
      [12_345, 66_000],
      [65_999, 66_000],
      [40_000, 50_001],
    ];
    for (const round of ['cold', 'warm']) {
      for (const [index, size] of cases) {
        const stored = await withStoredTree(db, size, (h) => ({
          inclusion: inclusionProof(h, index, size),
          consistency: consistencyProof(h, index + 1, size),
          root: h(0, size),
        }));
        expect(stored.inclusion.map(toHex), `${round} inclusion ${index}/${size}`).toEqual(
          inclusionProof(mem, index, size).map(toHex),
        );
        expect(stored.consistency.map(toHex), `${round} consistency ${index + 1}/${size}`).toEqual(
          consistencyProof(mem, index + 1, size).map(toHex),
        );
        const root = rootOf(leaves, 0, size);
        expect(verifyInclusion(leaves[index]!, index, size, stored.inclusion, root)).toBe(true);
        expect(
          verifyConsistency(index + 1, size, rootOf(leaves, 0, index + 1), root, stored.consistency),
        ).toBe(true);
      }
    }
    const cached = await db
      .selectFrom('audit_tree_nodes')
      .select(['level', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('level')
      .orderBy('level')
      .execute();
    expect(cached.map((r) => r.level)).toEqual([8, 16]);
  });

  it('serves a proof for an entry against a signed head and exports a segment an auditor can check', async () => {
    const db = handle.database.db;
    const ctx = cliCtx(db, config);
    const head = (await signHead(ctx, { ifGrown: true }))!;
    const p = await proveInclusion(ctx, 54_321);
    expect(p.head?.rootHash).toBe(head.rootHash);
    expect(
      verifyInclusion(
        fromHex(p.leafHash),
        54_320,
        head.treeSize,
        p.proof.map(fromHex),
        fromHex(head.rootHash),
      ),
    ).toBe(true);
    const segment = await exportSegment(ctx, 300, 5_000);
    const key = await platformKey(config);
    expect(verifySegment(segment, key.publicKeyPem)).toEqual({ ok: true, problems: [] });
  });
});
