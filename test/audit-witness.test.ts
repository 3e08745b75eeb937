import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { originFor, parseNote, signCheckpoint, verifyCosignature } from '../src/audit/checkpoint.ts';
import { entryLeafHash } from '../src/audit/entry.ts';
import { consistencyProof, Frontier, rootOf, sm3, toHex } from '../src/audit/merkle.ts';
import { signHead, verifyLog } from '../src/audit/service.ts';
import { generateSigningKeyPair, loadPrivateKey, publicKeyFingerprint } from '../src/audit/signing.ts';
import { ENTRY_COLUMNS, type EntryRow, frontierToBytes, toEntry } from '../src/audit/store.ts';
import {
  CheckpointDir,
  directoryWitness,
  httpWitness,
  startWitnessServer,
  WitnessError,
  witnessCheckpoint,
} from '../src/audit/witness.ts';
import { loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import type { Db, Executor } from '../src/core/db.ts';
import { buildSignedLog, diskTarget, migrated, runCli, type Target } from './audit-support.ts';
import { BIN, startTestApp } from './helpers.ts';

/**
 * Witnesses catch what the database alone cannot: a database owner who deletes the newest entries
 * with their heads (rollback), or rewrites entries after the last head they keep (rewrite), and
 * fixes the tree state, leaves a log that verifies on its own. Checkpoints held outside the
 * database expose both; without a witness, verify says the check cannot be made.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A database target whose config (and CLI environment) publishes to the given witnesses. */
async function witnessedTarget(extra: Record<string, string>): Promise<Target> {
  const t = await diskTarget();
  cleanups.push(() => t.drop());
  const env = { ...t.env, ...extra };
  return { ...t, env, config: loadConfig({ ...env, LOG_LEVEL: 'warn' }) };
}

/** As a database owner would: triggers off on both append-only tables. */
async function asOwner(db: Executor, statements: string[]): Promise<void> {
  await sql.raw('alter table audit_events disable trigger user').execute(db);
  await sql.raw('alter table audit_tree_heads disable trigger user').execute(db);
  for (const s of statements) await sql.raw(s).execute(db);
  await sql.raw('alter table audit_events enable trigger user').execute(db);
  await sql.raw('alter table audit_tree_heads enable trigger user').execute(db);
}

/** Makes the tree state agree with the rows again (what a careful forger does last). */
async function fixState(db: Db): Promise<void> {
  const rows = await db
    .selectFrom('audit_events')
    .select(['leaf_hash'])
    .where('seq', 'is not', null)
    .orderBy('seq')
    .execute();
  const f = new Frontier();
  for (const r of rows) f.append(r.leaf_hash!);
  await db
    .updateTable('audit_tree_state')
    .set({ size: f.size, frontier: frontierToBytes(f) })
    .where('id', '=', 1)
    .execute();
}

/** Deletes every entry after `keep` and every head over more, then fixes the state. */
async function rollBack(db: Db, keep: number): Promise<void> {
  await asOwner(db, [
    `delete from audit_events where seq > ${keep}`,
    `delete from audit_tree_heads where tree_size > ${keep}`,
  ]);
  await fixState(db);
}

/** Rewrites entry `seq` with a matching leaf hash, drops the heads covering it, fixes the state. */
async function rewrite(db: Db, seq: number): Promise<void> {
  const row = (await db
    .selectFrom('audit_events')
    .select(ENTRY_COLUMNS)
    .where('seq', '=', seq)
    .executeTakeFirstOrThrow()) as EntryRow;
  const details = { rewritten: true };
  const leaf = entryLeafHash({ ...toEntry(row), details });
  await asOwner(db, [
    `update audit_events set details = '${JSON.stringify(details)}', leaf_hash = '\\x${leaf.toString('hex')}' where seq = ${seq}`,
    `delete from audit_tree_heads where tree_size >= ${seq}`,
  ]);
  await fixState(db);
}

async function signedLog(t: Target, sizes: number[]): Promise<void> {
  const database = await migrated(t);
  try {
    await buildSignedLog(database.db, t.config, sizes);
  } finally {
    await database.close();
  }
}

async function withDb<T>(t: Target, work: (db: Db) => Promise<T>): Promise<T> {
  const database = await t.open();
  try {
    return await work(database.db);
  } finally {
    await database.close();
  }
}

describe('a directory witness', () => {
  it('catches a rollback that verifies on its own, and refuses the next head after it', async () => {
    const wdir = tempDir('shutong-wdir-');
    const t = await witnessedTarget({ AUDIT_WITNESS_DIR: wdir });
    await signedLog(t, [20, 40]);
    const listed = await runCli(['witness', 'list', '--dir', wdir, '--json'], {});
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ size: 40, count: 2, origin: expect.stringMatching(/^shutong\.audit\//) }),
    ]);
    await withDb(t, async (db) => {
      const clean = await verifyLog(cliCtx(db, t.config), { witnesses: [directoryWitness(wdir)] });
      expect(clean.ok).toBe(true);
      expect(clean.witnesses).toEqual([expect.objectContaining({ status: 'consistent', size: 40 })]);

      await rollBack(db, 30);
      const alone = await verifyLog(cliCtx(db, t.config));
      expect(alone.ok).toBe(true); // the database alone cannot tell
      expect(alone.rollbackDetectable).toBe(false);
      const witnessed = await verifyLog(cliCtx(db, t.config), { witnesses: [directoryWitness(wdir)] });
      expect(witnessed.ok).toBe(false);
      expect(witnessed.problems).toContainEqual(
        expect.objectContaining({ kind: 'rollback', position: 31, through: 40 }),
      );
      // The witness refuses to go back: no head over the shortened log is recorded.
      await expect(signHead(cliCtx(db, t.config), { reason: 'after rollback' })).rejects.toMatchObject({
        code: 'AUDIT_WITNESS_REFUSED',
        message: expect.stringContaining('rollback'),
      });
      const heads = await db.selectFrom('audit_tree_heads').select('tree_size').execute();
      expect(heads.map((h) => h.tree_size)).toEqual([20]);
    });
    const { AUDIT_WITNESS_DIR: _unused, ...noWitness } = t.env;
    const blind = await runCli(['audit', 'verify'], noWitness);
    expect(blind.code, blind.stderr).toBe(0);
    expect(blind.stdout).toContain('cannot be detected');
    const caught = await runCli(['audit', 'verify', '--witness-dir', wdir], noWitness);
    expect(caught.code, caught.stderr).toBe(1);
    expect(caught.stdout).toMatch(/seq 31\.\.40\s+rollback\s+rollback:/);
  });

  it('catches a rewrite after the last retained head, also from a saved checkpoint file', async () => {
    const wdir = tempDir('shutong-wdir-');
    const t = await witnessedTarget({ AUDIT_WITNESS_DIR: wdir });
    await signedLog(t, [20, 40]);
    const saved = path.join(tempDir('shutong-cp-'), 'checkpoint.txt');
    const origin = (await new CheckpointDir(wdir).origins())[0]!;
    fs.writeFileSync(saved, (await new CheckpointDir(wdir).latest(origin))!.note);
    await withDb(t, async (db) => {
      await rewrite(db, 25);
      const alone = await verifyLog(cliCtx(db, t.config));
      expect(alone.problems).toEqual([]);
      expect(alone.verifiedSize).toBe(20);
      const witnessed = await verifyLog(cliCtx(db, t.config), { witnesses: [directoryWitness(wdir)] });
      expect(witnessed.problems).toContainEqual(
        expect.objectContaining({
          kind: 'rewrite',
          position: 40,
          reason: expect.stringContaining('rewrite'),
        }),
      );
    });
    const { AUDIT_WITNESS_DIR: _unused, ...noWitness } = t.env;
    const caught = await runCli(['audit', 'verify', '--checkpoint', saved], noWitness);
    expect(caught.code, caught.stderr).toBe(1);
    expect(caught.stdout).toMatch(/seq 40\s+rewrite\s+rewrite:/);
  });

  it('is shared by two servers with their own logs, each kept apart and each consistent', async () => {
    const wdir = tempDir('shutong-wdir-');
    const a = await witnessedTarget({ AUDIT_WITNESS_DIR: wdir });
    const b = await witnessedTarget({ AUDIT_WITNESS_DIR: wdir });
    await Promise.all([signedLog(a, [5, 10, 15]), signedLog(b, [7, 14])]);
    const logs = await new CheckpointDir(wdir).origins();
    expect(logs).toHaveLength(2);
    for (const [t, size] of [
      [a, 15],
      [b, 14],
    ] as const) {
      await withDb(t, async (db) => {
        const report = await verifyLog(cliCtx(db, t.config), { witnesses: [directoryWitness(wdir)] });
        expect(report.ok).toBe(true);
        expect(report.witnesses).toEqual([expect.objectContaining({ status: 'consistent', size })]);
      });
    }
  });
});

describe('the witness rule (no database)', () => {
  const key = generateSigningKeyPair();
  const priv = loadPrivateKey(key.privateKeyPem);
  const origin = originFor(publicKeyFingerprint(key.publicKeyPem));
  const leaves = (tag: string, n: number) =>
    Array.from({ length: n }, (_, i) => sm3(Buffer.from(`${tag}${i}`)));
  const note = (ls: Buffer[]) =>
    signCheckpoint({ origin, size: ls.length, rootHash: toHex(rootOf(ls)) }, priv, key.publicKeyPem);
  const honest = leaves('a', 9);
  const forked = [...honest.slice(0, 3), ...leaves('b', 6)];

  async function exercise(add: (text: string, old: number, proof: Buffer[]) => Promise<string>) {
    await add(note(honest.slice(0, 4)), 0, []);
    await add(note(honest.slice(0, 6)), 4, consistencyProof(honest.slice(0, 6), 4));
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WitnessError);
      return err as WitnessError;
    };
    const back = await refusal(add(note(honest.slice(0, 5)), 6, []));
    expect(back.kind).toBe('rollback');
    expect(back.message).toContain('rollback refused');
    const sameSize = await refusal(add(note(forked.slice(0, 6)), 6, []));
    expect(sameSize.kind).toBe('fork');
    const bigger = await refusal(add(note(forked), 6, consistencyProof(forked, 6)));
    expect(bigger.kind).toBe('fork');
    expect(bigger.message).toContain('consistency proof fails');
    const stale = await refusal(add(note(honest), 4, consistencyProof(honest, 4)));
    expect(stale.kind).toBe('conflict');
    expect(stale.heldSize).toBe(6);
    // The honest successor is still accepted after all that.
    await add(note(honest), 6, consistencyProof(honest, 6));
  }

  it('a directory refuses a rollback and a fork', async () => {
    const store = new CheckpointDir(tempDir('shutong-wrule-'));
    await exercise((text, old, proof) => witnessCheckpoint(store, text, old, proof, key.publicKeyPem));
    expect((await store.all(origin)).map((r) => parseNote(r.note).size)).toEqual([4, 6, 9]);
  });

  it('an HTTP witness refuses them too and cosigns what it accepts', async () => {
    const server = await startWitnessServer({ dir: tempDir('shutong-whttp-'), port: 0 });
    cleanups.push(() => server.close());
    const w = httpWitness(server.url);
    await exercise((text, old, proof) => w.add(text, old, proof, key.publicKeyPem));
    const held = await w.latest(origin);
    expect(held?.size).toBe(9);
    expect(verifyCosignature(held!, server.name, server.publicKeyPem)).not.toBeNull();
    // A checkpoint for the same origin signed by another key is refused (key trusted on first use).
    const other = generateSigningKeyPair();
    const impostor = signCheckpoint(
      { origin, size: 10, rootHash: toHex(rootOf(leaves('c', 10))) },
      loadPrivateKey(other.privateKeyPem),
      other.publicKeyPem,
    );
    await expect(w.add(impostor, 9, [], other.publicKeyPem)).rejects.toMatchObject({ kind: 'bad-signature' });
  });
});

describe('a Shutong witness for another instance, over HTTP', () => {
  it('`shutong witness serve` cosigns each head; verify --witness catches a rollback; the witness refuses it', async () => {
    const wdir = tempDir('shutong-wserve-');
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'witness', 'serve', '--dir', wdir, '--port', '0'],
      {
        env: { ...process.env, DATABASE_URL: '', DATA_DIR: '' },
      },
    );
    cleanups.push(async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`witness exited ${code}`)));
    });
    const t = await witnessedTarget({ AUDIT_WITNESS_URLS: url });
    await signedLog(t, [10, 20]);
    const listed = await runCli(['witness', 'list', '--dir', wdir], {});
    expect(listed.stdout).toMatch(/size 20 .*\(2 checkpoints\)/);
    await withDb(t, async (db) => {
      await rollBack(db, 12);
      await expect(signHead(cliCtx(db, t.config), { reason: 'x' })).rejects.toMatchObject({
        code: 'AUDIT_WITNESS_REFUSED',
        message: expect.stringContaining('rollback refused'),
      });
    });
    const { AUDIT_WITNESS_URLS: _unused, ...noWitness } = t.env;
    const caught = await runCli(['audit', 'verify', '--witness', url], noWitness);
    expect(caught.code, caught.stderr).toBe(1);
    expect(caught.stdout).toMatch(/seq 13\.\.20\s+rollback/);
  });
});

describe('GET /v1/audit/witnesses (the console audit page)', () => {
  it('shows each witness, its last witnessed size and whether the log is consistent with it', async () => {
    const dir = tempDir('shutong-wapi-');
    const wdir = path.join(dir, 'witness');
    const app = await startTestApp({
      AUDIT_KEY_FILE: path.join(dir, 'key.pem'),
      AUDIT_WITNESS_DIR: wdir,
    });
    cleanups.push(() => app.close());
    const token = await app.login('auditor');
    const signed = await app.request({ method: 'POST', url: '/v1/audit/tree-heads', token });
    expect(signed.statusCode, signed.body).toBeLessThan(300);
    const size = signed.json().treeSize as number;
    const res = await app.request({ method: 'GET', url: '/v1/audit/witnesses', token });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      origin: expect.stringMatching(/^shutong\.audit\//),
      latestSignedSize: size,
      rollbackDetectable: true,
      witnesses: [{ source: `directory ${wdir}`, size, status: 'consistent' }],
    });
    const consumer = await app.login('consumer.civil');
    expect(
      (await app.request({ method: 'GET', url: '/v1/audit/witnesses', token: consumer })).statusCode,
    ).toBe(403);
  });
});
