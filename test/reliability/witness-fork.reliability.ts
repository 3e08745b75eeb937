/**
 * Witness fork: what a shared witness directory does with real `shutong serve` processes.
 *
 * 1. Two servers on ONE database, one key, one witness directory: both sign heads at once and the
 *    witness holds one chain of checkpoints that the log verifies against.
 * 2. A third server on ANOTHER database with the same key (so the same log origin) and the same
 *    witness directory — a forked log, as a restored copy or a cloned deployment would make: the
 *    witness must refuse its checkpoint naming a fork with both sizes, record nothing for it, and
 *    `shutong audit verify --witness-dir` against that database must fail saying which.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originFor, parseNote } from '../../src/audit/checkpoint.ts';
import { publicKeyFingerprint, publicKeyPemOf, readPrivateKeyFile } from '../../src/audit/signing.ts';
import { CheckpointDir } from '../../src/audit/witness.ts';
import {
  call,
  cleanUp,
  connect,
  login,
  type Node,
  prepareDatabase,
  report,
  runCli,
  type Scratch,
  scratchDatabase,
  startNode,
  tempDir,
} from './support.ts';

const SIGNS_PER_NODE = 6;

let first: Scratch;
let second: Scratch;
let keyFile: string;
let wdir: string;
let a1: Node;
let a2: Node;
let b: Node;

const cliEnv = (db: Scratch) => ({
  DATABASE_URL: db.url,
  DATA_DIR: tempDir('cli'),
  AUDIT_KEY_FILE: keyFile,
});

async function logSize(db: Scratch): Promise<number> {
  const { db: kdb } = await connect(db.url);
  const row = await kdb
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The size of the newest checkpoint the witness directory holds for the log. */
async function witnessedSize(dir: CheckpointDir, origin: string): Promise<number | undefined> {
  const held = await dir.latest(origin);
  return held ? parseNote(held.note).size : undefined;
}

beforeAll(async () => {
  [first, second] = await Promise.all([scratchDatabase(), scratchDatabase()]);
  await Promise.all([prepareDatabase(first.url), prepareDatabase(second.url)]);
  keyFile = path.join(tempDir('key'), 'audit-signing-key.pem');
  wdir = tempDir('witness');
  const env = { AUDIT_KEY_FILE: keyFile, AUDIT_WITNESS_DIR: wdir };
  // a1 alone first: it creates the key file that the other two then read.
  a1 = await startNode({ name: 'a1', databaseUrl: first.url, dataDir: tempDir('a1'), env });
  [a2, b] = await Promise.all([
    startNode({ name: 'a2', databaseUrl: first.url, dataDir: tempDir('a2'), env }),
    startNode({ name: 'b', databaseUrl: second.url, dataDir: tempDir('b'), env }),
  ]);
});

afterAll(async () => {
  await cleanUp();
});

describe('a witness directory shared by servers', () => {
  it('two servers on one database sign at once: one chain of checkpoints, verified consistent', async () => {
    const [t1, t2] = await Promise.all([login(a1.base, 'auditor'), login(a2.base, 'auditor')]);
    const started = Date.now();
    const signers: Array<[Node, string]> = [
      [a1, t1],
      [a2, t2],
    ];
    const results = await Promise.all(
      signers.map(async ([node, token]) => {
        const statuses: number[] = [];
        for (let i = 0; i < SIGNS_PER_NODE; i++) {
          const res = await call(node.base, 'POST', '/v1/audit/tree-heads', { token });
          expect(res.status, res.text).toBe(201);
          statuses.push(res.status);
        }
        return statuses;
      }),
    );
    const signSeconds = (Date.now() - started) / 1000;
    expect(results.flat()).toHaveLength(2 * SIGNS_PER_NODE);

    // One origin (one key), one chain: every accepted checkpoint is consistent with the one before.
    const dir = new CheckpointDir(wdir);
    const origins = await dir.origins();
    const key = await readPrivateKeyFile(keyFile);
    const origin = originFor(publicKeyFingerprint(publicKeyPemOf(key)));
    expect(origins).toEqual([origin]);
    const size = await logSize(first);
    expect(await witnessedSize(dir, origin)).toBe(size);
    // Each record's proof starts from the size of the record before it: one unbroken chain.
    const records = await dir.all(origin);
    expect(records.length).toBeGreaterThanOrEqual(2 * SIGNS_PER_NODE);
    for (let i = 1; i < records.length; i++) {
      expect(records[i]!.oldSize).toBe(parseNote(records[i - 1]!.note).size);
    }

    const verified = await runCli(['audit', 'verify', '--witness-dir', wdir], cliEnv(first));
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).not.toContain('cannot be detected');
    report('witness-fork (two servers, one database)', {
      heads: 2 * SIGNS_PER_NODE,
      signSeconds,
      witnessedSize: size,
      checkpoints: records.length,
    });
  });

  it('a second database with the same key and witness is a fork: refused with sizes, verify names it', async () => {
    const dir = new CheckpointDir(wdir);
    const [origin] = await dir.origins();
    const witnessed = (await witnessedSize(dir, origin!))!;

    // Grow the forked log past the witnessed size, so its checkpoint could only be accepted with
    // a consistency proof from the witnessed one — which a different history cannot give.
    const token = await login(b.base, 'auditor');
    while ((await logSize(second)) <= witnessed + 2) await login(b.base, 'auditor');
    const forkSize = (await logSize(second)) + 1; // the sign request appends its own entry

    const refused = await call(b.base, 'POST', '/v1/audit/tree-heads', { token });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.json.error?.code ?? refused.text).toContain('AUDIT_WITNESS_REFUSED');
    expect(refused.text).toContain('fork refused');
    expect(refused.text).toContain(`size ${forkSize}`);
    expect(refused.text).toContain(`size ${witnessed}`);

    // Nothing of the fork was recorded: the witness still holds the first log's checkpoint, the
    // forked database no head, and its refused sign request left no entry.
    expect(await witnessedSize(dir, origin!)).toBe(witnessed);
    const { db: bdb } = await connect(second.url);
    expect(await bdb.selectFrom('audit_tree_heads').selectAll().execute()).toEqual([]);
    expect(await logSize(second)).toBe(forkSize - 1);

    const caught = await runCli(['audit', 'verify', '--witness-dir', wdir], cliEnv(second));
    expect(caught.code, caught.stdout + caught.stderr).toBe(1);
    expect(caught.stdout).toMatch(/rewrite:/);
    expect(caught.stdout).toContain(`witnessed root`);
    expect(caught.stdout).toContain(`at that size`);

    // The first log is unharmed: it still signs, and the witness still accepts it.
    const t1 = await login(a1.base, 'auditor');
    const after = await call(a1.base, 'POST', '/v1/audit/tree-heads', { token: t1 });
    expect(after.status, after.text).toBe(201);
    expect(await witnessedSize(dir, origin!)).toBeGreaterThan(witnessed);
    report('witness-fork (forked log)', {
      witnessed,
      forkSize,
      refusal: refused.json.error?.message ?? refused.text.slice(0, 300),
      verify: caught.stdout.split('\n').find((l) => l.includes('rewrite')),
    });
  });
});
