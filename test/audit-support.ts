import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, expect } from 'vitest';
import { appendAudit } from '../src/audit/append.ts';
import { FIRST_SEQ } from '../src/audit/entry.ts';
import { integrateAudit } from '../src/audit/integrate.ts';
import { fromHex, toHex, verifyInclusion } from '../src/audit/merkle.ts';
import { proveInclusion, signHead, verifyLog } from '../src/audit/service.ts';
import { readTreeState } from '../src/audit/store.ts';
import { type Config, loadConfig } from '../src/core/config.ts';
import { type Ctx, cliCtx } from '../src/core/context.ts';
import { type DatabaseHandle, type Db, type Executor, openDatabase, withTx } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';

export { BIN, type RunResult, runCli } from './helpers.ts';

/** A database on disk (embedded) or on the TEST_DATABASE_URL server, plus an audit key file. */
export interface Target {
  env: Record<string, string>;
  config: Config;
  open(): Promise<DatabaseHandle>;
  /** A copy of this database (and the same key), to tamper with. */
  clone(): Promise<Target>;
  drop(): Promise<void>;
}

export async function diskTarget(keyFile?: string): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-'));
  const key = keyFile ?? path.join(dir, 'audit-signing-key.pem');
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) return embeddedTarget(path.join(dir, 'data'), key, dir);
  const name = `shutong_a_${Math.random().toString(16).slice(2, 14)}`;
  await adminQuery(serverUrl, `create database ${name}`);
  return serverTarget(serverUrl, name, key, dir);
}

function embeddedTarget(dataDir: string, keyFile: string, owned: string): Target {
  const env = { DATA_DIR: dataDir, DATABASE_URL: '', AUDIT_KEY_FILE: keyFile };
  return {
    env,
    config: loadConfig({ ...env, LOG_LEVEL: 'warn' }),
    open: () => openDatabase({ dataDir, lockWaitMs: 30_000 }),
    async clone() {
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-copy-'));
      fs.cpSync(dataDir, path.join(copy, 'data'), { recursive: true });
      fs.rmSync(path.join(copy, 'data', 'shutong.lock'), { force: true });
      return embeddedTarget(path.join(copy, 'data'), keyFile, copy);
    },
    async drop() {
      fs.rmSync(owned, { recursive: true, force: true });
    },
  };
}

function serverTarget(serverUrl: string, name: string, keyFile: string, owned: string): Target {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const env = { DATABASE_URL: url.toString(), DATA_DIR: owned, AUDIT_KEY_FILE: keyFile };
  return {
    env,
    config: loadConfig({ ...env, LOG_LEVEL: 'warn' }),
    open: () => openDatabase({ url: url.toString(), poolSize: 5 }),
    async clone() {
      const copy = `${name}_c${Math.random().toString(16).slice(2, 8)}`;
      await adminQuery(serverUrl, `create database ${copy} template ${name}`);
      return serverTarget(
        serverUrl,
        copy,
        keyFile,
        fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-copy-')),
      );
    },
    async drop() {
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
      fs.rmSync(owned, { recursive: true, force: true });
    },
  };
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function appendEvents(db: Db, count: number, perTx = 1, tag = 'test'): Promise<void> {
  for (let i = 0; i < count; i += perTx) {
    await withTx(db, async (tx) => {
      for (let j = i; j < Math.min(count, i + perTx); j++) {
        await appendAudit(tx, {
          actorId: `usr_${j % 5}`,
          orgId: j % 3 === 0 ? null : `org_${j % 4}`,
          action: `${tag}.event`,
          objectType: 'thing',
          objectId: `thing_${j}`,
          requestId: `req_${tag}_${j}`,
          details: { j, 说明: `第${j}条`, nested: { list: [j, 'x', null], ok: j % 2 === 0 } },
        });
      }
    });
  }
}

/** Appends `sizes` entries in steps and signs a head (without an audit entry) after each step. */
export async function buildSignedLog(db: Db, config: Config, sizes: number[]): Promise<void> {
  let size = 0;
  for (const target of sizes) {
    await appendEvents(db, target - size, 3);
    size = target;
    await signHead(cliCtx(db, config), { ifGrown: true });
  }
}

/** Direct SQL as someone with the database owner's rights: the append-only triggers are switched off first. */
export async function tamper(db: Executor, statements: string[]): Promise<void> {
  await sql.raw('alter table audit_events disable trigger user').execute(db);
  for (const s of statements) await sql.raw(s).execute(db);
  await sql.raw('alter table audit_events enable trigger user').execute(db);
}

export async function migrated(target: Target): Promise<DatabaseHandle> {
  const database = await target.open();
  await migrate(database.db);
  return database;
}

/** Every seq from 1 to n exactly once, and the tree state, the rows and a fresh signed head agree. */
export async function expectOneConsistentTree(db: Db, t: Target, n: number): Promise<void> {
  await integrateAudit(db);
  const seqs = (await db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => r.seq);
  expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + FIRST_SEQ));
  const state = await readTreeState(db);
  expect(state.frontier.size).toBe(n);
  const head = await signHead(cliCtx(db, t.config), { ifGrown: true });
  const report = await verifyLog(cliCtx(db, t.config));
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.treeSize).toBe(n);
  expect(report.rootHash).toBe(toHex(state.frontier.root()));
  expect(head?.rootHash).toBe(report.rootHash);
}

/**
 * For a test file: `target()` makes a database (dropped after each test) and `cleanups` takes
 * whatever else a test must undo, undone last-in first-out after each test.
 */
export function targetsPerTest(): { target(): Promise<Target>; cleanups: Array<() => Promise<void>> } {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  return {
    cleanups,
    async target() {
      const t = await diskTarget();
      cleanups.push(() => t.drop());
      return t;
    },
  };
}

/** Each entry's inclusion proof, as the API serves it, verifies against `head`'s signed root. */
export async function expectProvedIn(
  ctx: Ctx,
  head: { treeSize: number; rootHash: string },
  seqs: number[],
): Promise<void> {
  for (const seq of seqs) {
    const p = await proveInclusion(ctx, seq);
    expect(
      verifyInclusion(
        fromHex(p.leafHash),
        seq - 1,
        head.treeSize,
        p.proof.map(fromHex),
        fromHex(head.rootHash),
      ),
      `seq ${seq}`,
    ).toBe(true);
  }
}
