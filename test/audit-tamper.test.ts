import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryLeafHash } from '../src/audit/entry.ts';
import { verifyLog } from '../src/audit/service.ts';
import { cliCtx } from '../src/core/context.ts';
import { withTx } from '../src/core/db.ts';
import { buildSignedLog, diskTarget, migrated, runCli, type Target, tamper } from './audit-support.ts';

/**
 * Tampering made with direct SQL, caught by `shutong audit verify` (a separate process reading the
 * database) and by the service function, each naming the position. The log: 40 entries with
 * heads signed at sizes 20 and 40.
 */
let base: Target;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  base = await diskTarget();
  cleanups.push(() => base.drop());
  const database = await migrated(base);
  try {
    await buildSignedLog(database.db, base.config, [20, 40]);
  } finally {
    await database.close();
  }
});
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Case {
  name: string;
  sql: string[];
  kind: string;
  /** Printed as `seq 13` or `seq 8..9`. */
  where: string;
  position: number;
}

const cases: Case[] = [
  {
    name: "a row's details updated",
    sql: [`update audit_events set details = '{"j": 12, "说明": "改过"}' where seq = 13`],
    kind: 'edited',
    where: 'seq 13',
    position: 13,
  },
  {
    name: 'a row deleted',
    sql: ['delete from audit_events where seq = 17'],
    kind: 'deleted',
    where: 'seq 17',
    position: 17,
  },
  {
    name: 'two rows swapped',
    sql: [
      'update audit_events set seq = 1000000 where seq = 8',
      'update audit_events set seq = 8 where seq = 9',
      'update audit_events set seq = 9 where seq = 1000000',
    ],
    kind: 'reordered',
    where: 'seq 8..9',
    position: 8,
  },
  {
    name: 'the tail truncated',
    sql: ['delete from audit_events where seq > 35'],
    kind: 'truncated',
    where: 'seq 36..40',
    position: 36,
  },
];

describe('audit verify on an untouched log', () => {
  it('exits 0 and reports both heads matched', async () => {
    const res = await runCli(['audit', 'verify'], base.env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('40 entries');
    expect(res.stdout).toContain('2 match the entries');
    expect(res.stdout).toContain('OK');
  });
});

describe('audit verify catches tampering at its position', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.kind} at ${c.where}, exit 1 (CLI and service)`, async () => {
      const copy = await base.clone();
      cleanups.push(() => copy.drop());
      const database = await copy.open();
      try {
        await tamper(database.db, c.sql);
        const report = await verifyLog(cliCtx(database.db, copy.config));
        expect(report.ok).toBe(false);
        expect(report.problems).toContainEqual(
          expect.objectContaining({ kind: c.kind, position: c.position }),
        );
      } finally {
        await database.close();
      }
      const res = await runCli(['audit', 'verify'], copy.env);
      expect(res.code, res.stderr).toBe(1);
      expect(res.stdout).toContain('FAILED');
      expect(res.stdout).toMatch(new RegExp(`${c.where.replace('.', '\\.')}\\s+${c.kind}`));
    });
  }
});

describe('what the service verifier reports beyond the four kinds', () => {
  it('a consistent forgery (content and recorded hash rewritten together) fails at the signed head', async () => {
    const copy = await base.clone();
    cleanups.push(() => copy.drop());
    const database = await copy.open();
    try {
      const row = await database.db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '=', 25)
        .executeTakeFirstOrThrow();
      const details = { ...(row.details as object), forged: true };
      const leaf = entryLeafHash({
        seq: 25,
        time: row.time.toISOString(),
        actorId: row.actor_id,
        orgId: row.org_id,
        action: row.action,
        objectType: row.object_type,
        objectId: row.object_id,
        requestId: row.request_id,
        details,
      });
      await tamper(database.db, [
        `update audit_events set details = '${JSON.stringify(details)}', leaf_hash = '\\x${leaf.toString('hex')}' where seq = 25`,
      ]);
      const report = await verifyLog(cliCtx(database.db, copy.config));
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(
        expect.objectContaining({
          kind: 'root-mismatch',
          position: 40,
          reason: expect.stringContaining('seq 21..40'),
        }),
      );
      expect(report.verifiedSize).toBe(20);
    } finally {
      await database.close();
    }
  });

  it('a cleared leaf hash and a row added after the tree are both named; a rollback leaves no trace', async () => {
    const copy = await base.clone();
    cleanups.push(() => copy.drop());
    const database = await copy.open();
    try {
      await withTx(database.db, async (tx) => {
        await tamper(tx, [
          'update audit_events set leaf_hash = null where seq = 5',
          `insert into audit_events (seq, id, time, action, object_type, details, leaf_hash)
             select 41, 'aud_forged', now(), 'x.y', 'thing', '{}', leaf_hash from audit_events where seq = 40`,
        ]);
        const report = await verifyLog(cliCtx(tx, copy.config));
        expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'edited', position: 5 }));
        expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'inserted', position: 41 }));
        throw new Error('rollback');
      }).catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      });
      const report = await verifyLog(cliCtx(database.db, copy.config));
      expect(report.ok).toBe(true);
      expect(report.headsMatched).toBe(2);
    } finally {
      await database.close();
    }
  });

  it('refuses heads signed with another key', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-otherkey-'));
    cleanups.push(async () => fs.rmSync(other, { recursive: true, force: true }));
    const { generateSigningKeyPair } = await import('../src/audit/signing.ts');
    const pair = generateSigningKeyPair();
    fs.writeFileSync(path.join(other, 'pub.pem'), pair.publicKeyPem);
    const res = await runCli(['audit', 'verify', '--pubkey', path.join(other, 'pub.pem')], base.env);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/seq 20\s+bad-signature/);
  });
});

describe('export for offline auditors', () => {
  it('writes a segment that verify-export accepts with only the public key, and rejects a tampered copy', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-export-'));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'segment.json');
    const exported = await runCli(['audit', 'export', '--from', '5', '--to', '30', '--out', file], base.env);
    expect(exported.code, exported.stderr).toBe(0);
    const segment = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(segment).toMatchObject({ format: 'shutong-audit-segment/1', from: 5, to: 30 });
    expect(segment.entries).toHaveLength(26);
    expect(segment.head.treeSize).toBe(40);

    const pub = await runCli(['audit', 'public-key'], base.env);
    expect(pub.code, pub.stderr).toBe(0);
    const pubFile = path.join(dir, 'audit-public.pem');
    fs.writeFileSync(pubFile, pub.stdout);

    // No database: DATA_DIR points nowhere and must stay that way.
    const offline = {
      DATA_DIR: path.join(dir, 'no-database-here'),
      AUDIT_KEY_FILE: path.join(dir, 'no-key'),
    };
    const ok = await runCli(['audit', 'verify-export', file, '--pubkey', pubFile], offline);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('OK: seq 5..30');
    expect(fs.existsSync(offline.DATA_DIR)).toBe(false);

    segment.entries[7].details = { ...segment.entries[7].details, j: 999 };
    const bad = path.join(dir, 'tampered.json');
    fs.writeFileSync(bad, JSON.stringify(segment));
    const rejected = await runCli(['audit', 'verify-export', bad, '--pubkey', pubFile], offline);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toMatch(/seq 12\s+entry content does not match/);

    const unsignedTail = await runCli(['audit', 'export', '--from', '1', '--to', '41'], base.env);
    expect(unsignedTail.code).toBe(2);
    expect(unsignedTail.stderr).toContain('"field":"to"');
  });
});
