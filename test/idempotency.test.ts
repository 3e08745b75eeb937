import fc from 'fast-check';
import Fastify from 'fastify';
import { type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWriteStatement, withTx } from '../src/core/db.ts';
import { AppError } from '../src/core/errors.ts';
import {
  bodyHash,
  CLAIM_LEASE_SECONDS,
  claimKey,
  claimOrForget,
  idempotencyHooks,
  openAnswer,
  purgeExpiredKeys,
  sealAnswer,
} from '../src/core/idempotency.ts';
import { startTestApp, type TestApp } from './helpers.ts';

/**
 * Idempotency-Key on writes (issue 21), through HTTP: creating an API key is the write (each one
 * gets a fresh random secret, so a replay is told from a second write by its body alone), and the
 * database's rows and audit entries say how many times it was applied.
 */
let t: TestApp;
let alice: string; // a data steward
let bob: string; // a consumer, another user
let n = 0;

beforeAll(async () => {
  t = await startTestApp();
  alice = await t.login('steward.health');
  bob = await t.login('consumer.civil');
});
afterAll(() => t.close());

function createKey(token: string, name: string, key?: string) {
  return t.request({
    method: 'POST',
    url: '/v1/api-keys',
    token,
    headers: key === undefined ? {} : { 'idempotency-key': key },
    payload: { name, scopes: ['catalog:read'] },
  });
}

async function applied(name: string): Promise<{ rows: number; audit: number }> {
  const rows = await t.database.db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  const audit = await sql<{ n: number }>`
    select count(*)::int as n from audit_events
    where action = 'api_key.create' and object_id in (select id from api_keys where name = ${name})
  `.execute(t.database.db);
  return { rows: Number(rows.n), audit: audit.rows[0]!.n };
}

const unique = (prefix: string) => `${prefix}-${++n}-${Date.now()}`;

describe('Idempotency-Key', () => {
  it('replays the first answer byte for byte and applies the write once', async () => {
    const key = unique('replay');
    const name = unique('key');
    const first = await createKey(alice, name, key);
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await createKey(alice, name, key);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.rawPayload.equals(first.rawPayload)).toBe(true);
    expect(await applied(name)).toEqual({ rows: 1, audit: 1 });
    // Without a key, the same request is a second write, as before.
    expect((await createKey(alice, name)).statusCode).toBe(201);
    expect((await applied(name)).rows).toBe(2);
  });

  it('keeps a secret shown once only sealed: the database never holds it, another process cannot open it', async () => {
    const key = unique('secret');
    const name = unique('key');
    const first = await createKey(alice, name, key);
    const secret: string = first.json().secret;
    expect(secret).toMatch(/^stk_/);
    const stored = await t.database.db
      .selectFrom('idempotency_keys')
      .select('response_body')
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    expect(Buffer.from(stored.response_body!).includes(Buffer.from(secret))).toBe(false);
    expect(Buffer.from(stored.response_body!).includes(Buffer.from(name))).toBe(false);
    // What another node (or this one after a restart) finds: a seal it cannot open.
    const altered = Buffer.from(stored.response_body!);
    altered[altered.length - 1]! ^= 1;
    await t.database.db
      .updateTable('idempotency_keys')
      .set({ response_body: altered })
      .where('key', '=', key)
      .execute();
    const retry = await createKey(alice, name, key);
    expect(retry.statusCode).toBe(409);
    expect(retry.json().error.code).toBe('IDEMPOTENCY_ANSWER_LOST');
    expect(retry.body).not.toContain(secret);
    expect(await applied(name)).toEqual({ rows: 1, audit: 1 });
  });

  it('property: a sealed answer opens to itself, and any changed byte makes it unopenable', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, at) => {
        const sealed = sealAnswer(Buffer.from(bytes));
        expect(openAnswer(sealed)?.equals(Buffer.from(bytes))).toBe(true);
        const changed = Buffer.from(sealed);
        const i = at % changed.length;
        changed[i] = changed[i]! ^ 0x40;
        const opened = openAnswer(changed);
        // A change in the marker makes it a plain stored answer (itself), never the secret.
        expect(opened === null || opened.equals(changed)).toBe(true);
      }),
    );
  });

  it('refuses the same key with another body or path (422) and applies nothing', async () => {
    const key = unique('reuse');
    const name = unique('key');
    expect((await createKey(alice, name, key)).statusCode).toBe(201);
    const other = unique('key');
    const res = await createKey(alice, other, key);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(res.json().error.messages['zh-CN']).toContain('Idempotency-Key');
    expect(await applied(other)).toEqual({ rows: 0, audit: 0 });
    const elsewhere = await t.request({
      method: 'PATCH',
      url: '/v1/users/nobody',
      token: alice,
      headers: { 'idempotency-key': key },
      payload: { displayName: 'x' },
    });
    expect(elsewhere.statusCode).toBe(422);
  });

  it('of concurrent requests with one key exactly one is applied', async () => {
    const key = unique('race');
    const name = unique('key');
    // The write takes a moment, so the others arrive while it runs (on a server; PGlite has one
    // connection, so there they queue behind it and replay instead).
    await sql`
      create or replace function idem_test_slow() returns trigger language plpgsql as $$
      begin perform pg_sleep(0.3); return new; end $$`.execute(t.database.db);
    await sql`create trigger idem_test_slow before insert on api_keys for each row
      when (new.name = ${sql.lit(name)}) execute function idem_test_slow()`.execute(t.database.db);
    let answers: Awaited<ReturnType<typeof createKey>>[];
    try {
      answers = await Promise.all([1, 2, 3, 4].map(() => createKey(alice, name, key)));
    } finally {
      await sql`drop trigger idem_test_slow on api_keys`.execute(t.database.db);
    }
    const statuses = answers.map((a) => a.statusCode);
    if (process.env.TEST_DATABASE_URL) expect(statuses).toContain(409);
    const fresh = answers.filter((a) => a.statusCode === 201 && !a.headers['idempotent-replayed']);
    expect(fresh).toHaveLength(1);
    for (const a of answers) {
      if (a.statusCode === 409) {
        expect(a.json().error.code).toBe('IDEMPOTENCY_IN_PROGRESS');
        expect(a.headers['retry-after']).toBe('1');
      } else {
        expect(a.statusCode, String(statuses)).toBe(201);
        expect(a.rawPayload.equals(fresh[0]!.rawPayload)).toBe(true);
      }
    }
    expect(await applied(name)).toEqual({ rows: 1, audit: 1 });
    // Once it finished, a retry replays.
    const later = await createKey(alice, name, key);
    expect(later.headers['idempotent-replayed']).toBe('true');
  });

  it('answers 409 with Retry-After while the first request with the key is running', async () => {
    const key = unique('running');
    const name = unique('key');
    const first = await createKey(alice, name, key);
    const stored = await t.database.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      method: 'POST',
      path: '/v1/api-keys',
      state: 'completed',
      status_code: 201,
    });
    expect(stored.body_hash).toMatch(/^[0-9a-f]{64}$/);
    // Back to the claim as the claiming node holds it while its handler runs.
    await t.database.db
      .updateTable('idempotency_keys')
      .set({ state: 'in_progress', status_code: null, completed_at: null })
      .where('key', '=', key)
      .execute();
    const res = await createKey(alice, name, key);
    expect(res.statusCode).toBe(409);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json().error.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    expect(first.statusCode).toBe(201);
    expect(await applied(name)).toEqual({ rows: 1, audit: 1 });
  });

  it('marks the claim applied in the write’s own transaction', async () => {
    const key = unique('mark');
    expect((await createKey(alice, unique('key'), key)).statusCode).toBe(201);
    const row = await t.database.db
      .selectFrom('idempotency_keys')
      .select(['applied_at', 'completed_at'])
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    expect(row.applied_at).not.toBeNull();
    expect(row.applied_at!.getTime()).toBeLessThanOrEqual(row.completed_at!.getTime());
  });

  /** A claim as a request left it when its node died (or the database went away) mid-write. */
  async function abandonedClaim(key: string, name: string, applied: boolean) {
    const me = await t.database.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'steward.health')
      .executeTakeFirstOrThrow();
    const past = new Date(Date.now() - (CLAIM_LEASE_SECONDS + 5) * 1000);
    await t.database.db
      .insertInto('idempotency_keys')
      .values({
        scope: me.id,
        key,
        method: 'POST',
        path: '/v1/api-keys',
        body_hash: bodyHash({ name, scopes: ['catalog:read'] })!,
        state: 'in_progress',
        owner: 'dead-request',
        applied_at: applied ? past : null,
        status_code: null,
        content_type: null,
        location: null,
        response_body: null,
        completed_at: null,
        created_at: past,
        expires_at: new Date(Date.now() + 3_600_000),
      })
      .execute();
  }

  it('takes over a stale claim whose write never committed, and applies it once', async () => {
    const key = unique('stale');
    const name = unique('key');
    await abandonedClaim(key, name, false);
    const res = await createKey(alice, name, key);
    expect(res.statusCode).toBe(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(await applied(name)).toEqual({ rows: 1, audit: 1 });
    expect((await createKey(alice, name, key)).headers['idempotent-replayed']).toBe('true');
  });

  it('never runs again a stale claim whose write committed (its answer was lost): 409 ANSWER_LOST', async () => {
    const key = unique('lost');
    const name = unique('key');
    await abandonedClaim(key, name, true);
    const res = await createKey(alice, name, key);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('IDEMPOTENCY_ANSWER_LOST');
    expect(await applied(name)).toEqual({ rows: 0, audit: 0 });
  });

  it('a request whose claim was taken over meanwhile cannot commit its write', async () => {
    const key = unique('taken');
    const name = unique('key');
    // While this write runs, another node takes its (presumed dead) claim over.
    await sql`
      create or replace function idem_test_take() returns trigger language plpgsql as $$
      begin update idempotency_keys set owner = 'another-node' where key = tg_argv[0]; return new; end $$`.execute(
      t.database.db,
    );
    await sql`create trigger idem_test_take before insert on api_keys for each row
      when (new.name = ${sql.lit(name)}) execute function idem_test_take(${sql.lit(key)})`.execute(
      t.database.db,
    );
    try {
      const res = await createKey(alice, name, key);
      expect(res.statusCode).toBe(409);
      expect(res.json().error.details.reason).toBe('claim_taken_over');
    } finally {
      await sql`drop trigger idem_test_take on api_keys`.execute(t.database.db);
    }
    expect(await applied(name)).toEqual({ rows: 0, audit: 0 });
  });

  it('releases the key on a 5xx so that the retry is applied', async () => {
    const key = unique('fail');
    const name = unique('key');
    // The database refuses this one name: the write fails with 500 after the key was claimed.
    await sql`alter table api_keys add constraint idem_test_refuse check (name <> ${sql.lit(name)}) not valid`.execute(
      t.database.db,
    );
    try {
      const failed = await createKey(alice, name, key);
      expect(failed.statusCode).toBe(500);
    } finally {
      await sql`alter table api_keys drop constraint idem_test_refuse`.execute(t.database.db);
    }
    const retried = await createKey(alice, name, key);
    expect(retried.statusCode).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(await applied(name)).toEqual({ rows: 1, audit: 1 });
  });

  /**
   * The real hooks on the real database around a handler that writes one row of
   * `idem_test_writes` (in `withTx`, or as one statement in no transaction) and then fails as the
   * database goes away (503): the write is done, the answer says "try later". Each row records
   * whether its claim was already marked applied when the row was written (a trigger looks).
   */
  async function writeThenFailApp(inTransaction: boolean) {
    await sql`create table if not exists idem_test_writes (name text not null, marked boolean)`.execute(
      t.database.db,
    );
    await sql`create or replace function idem_test_marked() returns trigger language plpgsql as $$
      begin
        new.marked := exists (select 1 from idempotency_keys where key = new.name and applied_at is not null);
        return new;
      end $$`.execute(t.database.db);
    await sql`create or replace trigger idem_test_marked before insert on idem_test_writes
      for each row execute function idem_test_marked()`.execute(t.database.db);
    const app = Fastify();
    const hooks = idempotencyHooks(t.database.db, { ttlHours: 1 });
    app.addHook('onRequest', async (req) => {
      (req as { ctx?: unknown }).ctx = { principal: { userId: 'idem-test-user' } };
    });
    app.addHook('preHandler', hooks.preHandler);
    app.addHook('onSend', hooks.onSend);
    app.setErrorHandler((error, _req, reply) =>
      error instanceof AppError ? reply.code(error.status).send(error.toBody()) : reply.send(error),
    );
    app.post('/v1/idem-test', async (req, reply) => {
      const { name } = req.body as { name: string };
      const insert = (db: typeof t.database.db) =>
        db
          .insertInto('idem_test_writes' as never)
          .values({ name } as never)
          .execute();
      if (inTransaction) await withTx(t.database.db, insert);
      else await insert(t.database.db);
      return reply
        .code(503)
        .header('retry-after', 2)
        .send({ error: { code: 'NOT_READY' } });
    });
    const send = (name: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/idem-test',
        headers: { 'idempotency-key': name },
        payload: { name },
      });
    const written = async (name: string) =>
      (
        await sql<{ marked: boolean }>`select marked from idem_test_writes where name = ${name}`.execute(
          t.database.db,
        )
      ).rows;
    return { app, send, written };
  }

  for (const inTransaction of [true, false]) {
    it(`a retry of a write that committed and then failed (503 after the COMMIT) is told ANSWER_LOST, not "try later" — ${inTransaction ? 'in withTx' : 'a statement in no transaction'}`, async () => {
      // A failover between a write's COMMIT and the rest of its request (a read after the write,
      // a second step). A write in withTx is marked in its own COMMIT; one that commits on its own
      // is marked just before it runs, so a cut between the two can only err towards "applied".
      const { app, send, written } = await writeThenFailApp(inTransaction);
      try {
        const name = unique(inTransaction ? 'after-commit' : 'after-loose-commit');
        expect((await send(name)).statusCode).toBe(503);
        for (let i = 0; i < 2; i++) {
          const retry = await send(name);
          expect(retry.statusCode).toBe(409);
          expect(retry.json().error.code).toBe('IDEMPOTENCY_ANSWER_LOST');
          expect(retry.headers['idempotent-replayed']).toBeUndefined();
        }
        // Applied once; outside a transaction the mark had committed before the row was written.
        expect(await written(name)).toEqual([{ marked: !inTransaction }]);
      } finally {
        await app.close();
      }
    });
  }

  it('tells the statements that change data from those that only read', () => {
    const db = t.database.db;
    const writes = [
      db
        .insertInto('settings')
        .values({ key: 'k', value: '1' } as never)
        .compile(),
      db
        .updateTable('settings')
        .set({ value: '2' } as never)
        .compile(),
      db.deleteFrom('settings').compile(),
      sql`WITH c AS (SELECT 1) INSERT INTO contract_usage (contract_id) SELECT 'x' FROM c`.compile(db),
      sql`UPDATE contract_usage AS u SET rows = u.rows + 1`.compile(db),
      sql`update "settings" set value = ${'3'}`.compile(db),
    ];
    const reads = [
      db.selectFrom('settings').selectAll().compile(),
      sql`SELECT id FROM jobs WHERE state = 'queued' FOR UPDATE SKIP LOCKED`.compile(db),
      sql`SELECT update_cycle, ${'insert into x'} AS note FROM resources`.compile(db),
    ];
    expect(writes.map(isWriteStatement)).toEqual(writes.map(() => true));
    expect(reads.map(isWriteStatement)).toEqual(reads.map(() => false));
  });

  it('keeps keys per user: the same key of another user is that user’s own write', async () => {
    const key = unique('shared');
    const name = unique('key');
    const mine = await createKey(alice, name, key);
    const theirs = await createKey(bob, name, key);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.json().secret).not.toBe(mine.json().secret);
    expect(theirs.body).not.toContain(mine.json().secret);
    expect((await applied(name)).rows).toBe(2);
    // A new session of the same user is the same scope: its retry replays.
    const aliceAgain = await t.login('steward.health');
    const retry = await createKey(aliceAgain, name, key);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json().secret).toBe(mine.json().secret);
  });

  it('refuses a malformed key (400) before anything is written', async () => {
    const name = unique('key');
    for (const bad of ['', 'x'.repeat(201), 'naïve', 'tab\there']) {
      const res = await createKey(alice, name, bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_INVALID');
    }
    expect((await createKey(alice, name, 'x'.repeat(200))).statusCode).toBe(201);
    expect((await applied(name)).rows).toBe(1);
  });

  it('refuses a key on an anonymous request (no one to scope it to)', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'idempotency-key': unique('anon') },
      payload: { username: 'steward.health', password: 'shutong-demo' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_UNSUPPORTED');
  });

  it('gives back a claim whose INSERT committed but whose answer the database never sent', async () => {
    // A failover between the claim's COMMIT and its answer: the claim row exists, its request got an
    // error (503) and will never run. Left alone it would answer every retry IN_PROGRESS for a lease.
    let armed = true;
    const cut = new Set<unknown>();
    const cutAfterCommit: KyselyPlugin = {
      transformQuery(args) {
        if (armed && args.node.kind === 'InsertQueryNode') cut.add(args.queryId);
        return args.node;
      },
      async transformResult(args) {
        if (!cut.delete(args.queryId)) return args.result;
        armed = false;
        throw new Error('Connection terminated unexpectedly');
      },
    };
    const request = {
      owner: 'first-attempt',
      scope: 'usr_cut',
      key: unique('cut'),
      method: 'POST',
      path: '/v1/api-keys',
      bodyHash: 'h',
    };
    await expect(
      claimOrForget(t.database.db.withPlugin(cutAfterCommit), request, { ttlHours: 1 }),
    ).rejects.toThrow('Connection terminated');
    expect(armed).toBe(false);
    // The retry (another owner, well inside the lease) runs at once instead of waiting 30 s.
    let retried: Awaited<ReturnType<typeof claimKey>> | undefined;
    for (let i = 0; i < 50 && retried === undefined; i++) {
      retried = await claimKey(t.database.db, { ...request, owner: 'retry' }, { ttlHours: 1 }).catch(
        (error: { code?: string }) => {
          if (error.code !== 'IDEMPOTENCY_IN_PROGRESS') throw error;
          return undefined;
        },
      );
      if (retried === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(retried).toEqual({ kind: 'claimed' });
  });

  it('purges expired keys; an expired key binds nothing', async () => {
    const key = unique('expire');
    const name = unique('key');
    expect((await createKey(alice, name, key)).statusCode).toBe(201);
    const count = () =>
      t.database.db
        .selectFrom('idempotency_keys')
        .select('key')
        .where('key', '=', key)
        .execute()
        .then((r) => r.length);
    expect(await purgeExpiredKeys(t.database.db, new Date())).toBe(0);
    expect(await count()).toBe(1);
    const dayLater = new Date(Date.now() + (t.config.idempotencyTtlHours * 3600 + 1) * 1000);
    expect(await purgeExpiredKeys(t.database.db, dayLater)).toBeGreaterThanOrEqual(1);
    expect(await count()).toBe(0);
    // The key is free again: another body is a new write, not a 422.
    const other = unique('key');
    expect((await createKey(alice, other, key)).statusCode).toBe(201);
  });

  it('property: a (user, key) pair is applied once, replays its first answer, refuses other bodies', async () => {
    const users = { alice: () => alice, bob: () => bob };
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            user: fc.constantFrom<keyof typeof users>('alice', 'bob'),
            key: fc.constantFrom('k1', 'k2'),
            body: fc.constantFrom('a', 'b'),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (steps) => {
          const run = unique('prop');
          // The model: the first request of a (user, key) pair decides its body and answer.
          const first = new Map<string, { body: string; payload: Buffer }>();
          for (const step of steps) {
            const pair = `${step.user}/${step.key}`;
            const res = await createKey(users[step.user](), `${run}-${step.body}`, `${run}-${step.key}`);
            const seen = first.get(pair);
            if (!seen) {
              expect(res.statusCode).toBe(201);
              expect(res.headers['idempotent-replayed']).toBeUndefined();
              first.set(pair, { body: step.body, payload: res.rawPayload });
            } else if (seen.body === step.body) {
              expect(res.statusCode).toBe(201);
              expect(res.headers['idempotent-replayed']).toBe('true');
              expect(res.rawPayload.equals(seen.payload)).toBe(true);
            } else {
              expect(res.statusCode).toBe(422);
            }
          }
          const writes = (await applied(`${run}-a`)).rows + (await applied(`${run}-b`)).rows;
          expect(writes).toBe(first.size);
        },
      ),
      { numRuns: 15 },
    );
  });
});
