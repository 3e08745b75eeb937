/**
 * The proofs' subtree cache filled ahead (audit.cache): at 100 million entries the first proof on
 * an empty cache computed every node itself for 8 minutes (`npm run bench -- audit-scale`). Warming
 * does it a bounded step at a time, continues where it stopped, and leaves proofs unchanged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmSubtreeCache } from '../src/audit/nodes.ts';
import { proveInclusion, signHead, verifyLog, warmProofCache } from '../src/audit/service.ts';
import { type Config, loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import type { Db } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { expectProvedIn } from './audit-support.ts';
import { freshDatabase } from './helpers.ts';
import { appendBulk } from './support/audit-bulk.ts';

let dir: string;
let config: Config;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-warm-'));
  config = loadConfig({ AUDIT_KEY_FILE: path.join(dir, 'key.pem'), LOG_LEVEL: 'warn' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function cachedPerLevel(db: Db): Promise<Record<number, number>> {
  const { rows } = await sql<{ level: number; n: number }>`
    select level, count(*)::int as n from audit_tree_nodes group by level order by level`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.level, r.n]));
}

describe('warming the subtree cache', () => {
  it('fills levels 8 and 16 in bounded steps, continues where it stopped, and proofs still verify', async () => {
    const { database, drop } = await freshDatabase();
    try {
      const db = database.db;
      await migrate(db);
      const size = 66_000; // 257 complete blocks of 256, one of 65,536
      const start = Date.UTC(2026, 0, 1);
      await db.transaction().execute((tx) =>
        appendBulk(tx, size, (seq) => ({
          time: new Date(start + seq * 1000),
          actorId: 'usr_w',
          orgId: null,
          action: 'w',
          objectType: 'x',
          objectId: String(seq),
          requestId: null,
          details: { seq },
        })),
      );
      expect(await cachedPerLevel(db)).toEqual({});
      // 100 level-8 nodes' worth of reads: exactly 100 nodes, nothing above.
      expect(await warmSubtreeCache(db, size, 100 * 256)).toBe(100);
      expect(await cachedPerLevel(db)).toEqual({ 8: 100 });
      // A proof asked meanwhile caches nodes of its own, anywhere: warming fills the gaps below.
      const ctx = cliCtx(db, config);
      const head = (await signHead(ctx, { ifGrown: true }))!;
      await proveInclusion(ctx, 40_000);
      let steps = 0;
      while ((await warmProofCache(db)) > 0) steps++;
      expect(steps).toBeGreaterThanOrEqual(1);
      const complete8 = Math.floor(head.treeSize / 256);
      const cached = await cachedPerLevel(db);
      expect(cached[8]).toBe(complete8);
      expect(cached[16]).toBe(1);
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from generate_series(0, ${complete8 - 1}) i
         where not exists (select 1 from audit_tree_nodes where level = 8 and idx = i)`.execute(db);
      expect(rows[0]!.n).toBe(0);
      await expectProvedIn(ctx, head, [1, 30_000, head.treeSize]);
      // The cache it made is the tree's: verify checks every cached node against the entries.
      const report = await verifyLog(ctx);
      expect(report.problems).toEqual([]);
      expect(report.cacheNodesChecked).toBe(complete8 + 1);
    } finally {
      await drop();
    }
  });
});
