/**
 * A COMMIT cut on its way (issue 21: a switchover shuts the old primary down under in-flight
 * transactions; a failover kills it) leaves the client not knowing whether its write happened.
 * `withTx` settles it with the commit marker its transaction inserted just before COMMIT: the
 * retry claims the same marker, and a conflict means the first attempt committed. Driven here
 * through a TCP proxy between the pool and a real PostgreSQL server that cuts the connection at
 * the COMMIT message — after passing it on (the server commits, the answer is lost) or before (the
 * server never sees it and rolls back). Either way the write is applied exactly once and the
 * caller gets an answer instead of 503. A read outside a transaction cut the same way is asked
 * again on a fresh connection; a write outside one is not.
 */
import net from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase, purgeCommitMarkers, withTx } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { freshDatabase } from './helpers.ts';

type Cut = 'after-commit' | 'before-commit' | 'statement' | null;

/** Passes PostgreSQL's wire protocol through; once armed, cuts the next session that sends COMMIT. */
function cuttingProxy(target: URL) {
  let armed: Cut = null;
  let cuts = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    upstream.on('data', (data) => client.write(data));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.end());
    client.on('data', (data: Buffer) => {
      if (armed === 'statement' && data.includes('/* cut */')) {
        // A statement marked for it: the connection dies under it, the server never runs it.
        armed = null;
        cuts++;
        upstream.destroy();
        client.destroy();
        return;
      }
      // A simple-protocol query message: 'Q', its length, then the text "commit" and a NUL.
      const at = data.indexOf('commit\0');
      if (armed && armed !== 'statement' && at >= 5 && data[at - 5] === 0x51) {
        const cut = armed;
        armed = null;
        cuts++;
        if (cut === 'after-commit') {
          // The server reads the COMMIT, commits, and finds nobody to answer.
          upstream.end(data);
        } else upstream.destroy();
        client.destroy();
        return;
      }
      upstream.write(data);
    });
  });
  return {
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = new URL(target);
      url.hostname = '127.0.0.1';
      url.port = String((server.address() as net.AddressInfo).port);
      return url.toString();
    },
    arm(cut: Cut) {
      armed = cut;
    },
    get cuts() {
      return cuts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let fresh: Awaited<ReturnType<typeof freshDatabase>>;
let proxy: ReturnType<typeof cuttingProxy>;
let database: DatabaseHandle;
let direct: pg.Client;

beforeAll(async () => {
  fresh = await freshDatabase();
  await migrate(fresh.database.db);
  await sql`CREATE TABLE writes (label text PRIMARY KEY)`.execute(fresh.database.db);
  proxy = cuttingProxy(new URL(fresh.url!));
  database = await openDatabase({ url: await proxy.listen(), poolSize: 3 });
  direct = new pg.Client({ connectionString: fresh.url });
  await direct.connect();
});
afterAll(async () => {
  await direct?.end();
  await database?.close();
  await proxy?.close();
  await fresh?.drop();
});

const stored = async (label: string) =>
  Number((await direct.query('SELECT count(*) AS n FROM writes WHERE label = $1', [label])).rows[0].n);
const markers = async () =>
  Number((await direct.query('SELECT count(*) AS n FROM commit_markers')).rows[0].n);

/** A write transaction that says which attempt answered. */
function write(label: string) {
  let attempts = 0;
  const run = () =>
    withTx(database.db, async (tx) => {
      attempts++;
      await sql`INSERT INTO writes (label) VALUES (${label})`.execute(tx);
      return `attempt ${attempts}`;
    });
  return { run, attempts: () => attempts };
}

describe('a COMMIT cut on its way', () => {
  it('that happened: the first attempt’s answer stands and nothing is written twice', async () => {
    const before = await markers();
    proxy.arm('after-commit');
    const w = write('committed-then-cut');
    await expect(w.run()).resolves.toBe('attempt 1');
    expect(proxy.cuts).toBe(1);
    // The retry found the marker: it did not run the work again (which would have failed on the key).
    expect(w.attempts()).toBe(1);
    expect(await stored('committed-then-cut')).toBe(1);
    expect(await markers()).toBe(before + 1);
  });

  it('that did not happen: the work runs again, once', async () => {
    const before = await markers();
    proxy.arm('before-commit');
    const w = write('cut-before-commit');
    await expect(w.run()).resolves.toBe('attempt 2');
    expect(proxy.cuts).toBe(2);
    expect(await stored('cut-before-commit')).toBe(1);
    // The first attempt's marker went with its rollback; the retry's claim is the one left.
    expect(await markers()).toBe(before + 1);
  });

  it('of a transaction that only read: run again, and no marker is written for reads', async () => {
    const before = await markers();
    let attempts = 0;
    const read = () =>
      withTx(database.db, async (tx) => {
        attempts++;
        return (await sql<{ n: number }>`SELECT 1 AS n`.execute(tx)).rows[0]!.n;
      });
    await read();
    expect(await markers()).toBe(before);
    proxy.arm('after-commit');
    await expect(read()).resolves.toBe(1);
    expect(attempts).toBe(3);
  });

  it('a loose read cut under it is asked once more; a loose write is not (it may have happened)', async () => {
    proxy.arm('statement');
    const cutsBefore = proxy.cuts;
    const { rows } = await sql<{ n: number }>`SELECT 7 AS n /* cut */`.execute(database.db);
    expect(rows).toEqual([{ n: 7 }]);
    expect(proxy.cuts).toBe(cutsBefore + 1);
    proxy.arm('statement');
    const loose = sql`INSERT INTO writes (label) VALUES ('loose') /* cut */`.execute(database.db);
    await expect(loose).rejects.toThrow(/Connection terminated|not queryable/);
    expect(proxy.cuts).toBe(cutsBefore + 2);
    expect(await stored('loose')).toBe(0);
  });

  it('leaves every uncut write with one marker, which the purge removes once old', async () => {
    const before = await markers();
    for (const label of ['plain-1', 'plain-2']) await write(label).run();
    expect(await markers()).toBe(before + 2);
    await direct.query(`UPDATE commit_markers SET created_at = now() - interval '2 hours'`);
    expect(await purgeCommitMarkers(database.db)).toBe(before + 2);
    expect(await markers()).toBe(0);
  });
});
