import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Db, type Executor, joinEachWrite, type Tx } from './db.ts';
import { AppError } from './errors.ts';

/**
 * Idempotency keys for writes (issue 21: a write retried across a failover is applied once).
 *
 * A client sends `Idempotency-Key: <1–200 printable ASCII>` with a POST, PUT, PATCH or DELETE
 * under /v1. Before the handler runs, the key is claimed with one `INSERT … ON CONFLICT DO
 * NOTHING` (so of two racing nodes exactly one wins); when the answer is sent, a kept outcome
 * (2xx, and 4xx except the transient ones) is stored byte for byte, and any other outcome (5xx,
 * 408, 423, 429) releases the claim so the client may try again. A later request with the same key:
 * - same method, path and body, first one finished → the stored answer, `Idempotent-Replayed: true`,
 *   the handler not run again;
 * - different method, path or body → 422 IDEMPOTENCY_KEY_REUSED;
 * - first one still running → 409 IDEMPOTENCY_IN_PROGRESS with Retry-After.
 *
 * Keys belong to the signed-in user (`scope` = user id), not to one credential: a client that
 * logs in again after its session ended still finds its answer, and one user's key never collides
 * with, or replays, another user's. Anonymous requests have no one to scope a key to, so a key on
 * them is refused (400) rather than silently ignored — ignoring it would promise what is not kept.
 *
 * A failover can cut a write's COMMIT: the client gets 503 and cannot know whether it happened.
 * So each `withTx` transaction of the request also sets the claim's `applied_at` (core/db.ts
 * `joinEachWrite`), in the same COMMIT: a claim is released, or a stale one (older than
 * CLAIM_LEASE_SECONDS, its request presumably dead) taken over, only when `applied_at` is null,
 * i.e. when the write did not commit. Taking over changes the owner, and the old request's mark
 * (and with it its write) then fails, so even a slow first request cannot commit after a retry ran.
 * A stale claim whose write did commit but whose answer was lost answers 409
 * IDEMPOTENCY_ANSWER_LOST: the client reads the object instead — as does a retry of a request whose
 * write committed and which then failed transiently (a 503 after the COMMIT is kept, never replayed
 * as "try later"). A write in no transaction (one statement that commits on its own) is marked
 * just before it runs instead (core/db.ts `joiningWrites`): a cut between the two errs towards
 * "applied" — the answer is lost, the write never runs twice.
 *
 * This is the one writer of `idempotency_keys`.
 */

export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
/** What a client is told to wait when the first request with its key is still running. */
export const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;
/**
 * A claim older than this whose write has not committed belongs to a request presumed dead (its
 * node crashed, or the database went away before the claim could be released): a retry takes it
 * over. Longer than writes normally run (uploads, the long ones, take no key); a slower one that
 * is taken over loses its own COMMIT (409), so it is still never applied twice. Node clocks that
 * disagree only move when a takeover happens, not whether it is safe.
 */
export const CLAIM_LEASE_SECONDS = 30;

// Printable ASCII (space to tilde); Node has already trimmed surrounding whitespace.
const KEY_PATTERN = /^[\x20-\x7e]{1,200}$/;

/** The key of a request, null when it has none; a malformed or repeated header is refused. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
    throw new AppError('IDEMPOTENCY_KEY_INVALID', { header: 'Idempotency-Key' });
  }
  return header;
}

/** Answers that would come out the same if the request ran again are kept; transient ones are not. */
export function keepsOutcome(status: number): boolean {
  if (status >= 500) return false;
  // Timeout, emergency freeze, rate limit or quota: "later" may well succeed, so the key is released.
  return status !== 408 && status !== 423 && status !== 429;
}

function isStream(value: unknown): boolean {
  return typeof (value as { pipe?: unknown } | null)?.pipe === 'function';
}

/**
 * SM3 (hex) of the body as parsed. Hashing the parsed JSON rather than the bytes means the same
 * document sent with other whitespace is the same request; a different document never is.
 * A body still streaming to the handler (an upload) cannot be hashed before it runs: null.
 */
export function bodyHash(body: unknown): string | null {
  if (isStream(body)) return null;
  const hash = createHash('sm3');
  if (body === undefined || body === null) hash.update('');
  else if (typeof body === 'string' || Buffer.isBuffer(body)) hash.update(body);
  else hash.update(JSON.stringify(body));
  return hash.digest('hex');
}

export interface IdempotentRequest {
  /** The claiming request's own token. */
  owner: string;
  scope: string;
  key: string;
  method: string;
  path: string;
  bodyHash: string;
}

export interface StoredAnswer {
  status: number;
  contentType: string | null;
  location: string | null;
  body: Buffer;
}

/**
 * Claims the key for this request, or says what to do instead: `claimed` (run the handler),
 * `replay` (send the stored answer); a mismatch or a running first request throws.
 */
export async function claimKey(
  db: Db,
  request: IdempotentRequest,
  options: { ttlHours: number; now?: Date },
): Promise<{ kind: 'claimed' } | { kind: 'replay'; answer: StoredAnswer }> {
  const now = options.now ?? new Date();
  const expiresAt = new Date(now.getTime() + options.ttlHours * 3_600_000);
  // A row found expired (or gone) is removed and the claim tried again, a few times at most.
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({
        scope: request.scope,
        key: request.key,
        method: request.method,
        path: request.path,
        body_hash: request.bodyHash,
        state: 'in_progress',
        owner: request.owner,
        applied_at: null,
        status_code: null,
        content_type: null,
        location: null,
        response_body: null,
        completed_at: null,
        created_at: now,
        expires_at: expiresAt,
      })
      .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) return { kind: 'claimed' };
    const row = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('scope', '=', request.scope)
      .where('key', '=', request.key)
      .executeTakeFirst();
    if (!row) continue; // released or purged in between: claim again
    if (row.expires_at.getTime() <= now.getTime()) {
      // Expired but not yet purged: it no longer binds the key.
      await db
        .deleteFrom('idempotency_keys')
        .where('scope', '=', request.scope)
        .where('key', '=', request.key)
        .where('expires_at', '<=', now)
        .execute();
      continue;
    }
    if (row.method !== request.method || row.path !== request.path || row.body_hash !== request.bodyHash) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', { method: row.method, path: row.path });
    }
    if (row.state === 'in_progress' || row.status_code === null) {
      const stale = now.getTime() - row.created_at.getTime() > CLAIM_LEASE_SECONDS * 1000;
      if (stale && row.applied_at !== null) {
        throw new AppError('IDEMPOTENCY_ANSWER_LOST', { appliedAt: row.applied_at.toISOString() });
      }
      if (stale) {
        // Its request is gone and its write never committed: this request runs it instead. The
        // conditions make two retries racing for it (or the old owner's late mark) lose cleanly.
        const taken = await db
          .updateTable('idempotency_keys')
          .set({ owner: request.owner, created_at: now, expires_at: expiresAt })
          .where('scope', '=', request.scope)
          .where('key', '=', request.key)
          .where('owner', '=', row.owner)
          .where('state', '=', 'in_progress')
          .where('applied_at', 'is', null)
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) === 1) return { kind: 'claimed' };
        continue;
      }
      throw new AppError('IDEMPOTENCY_IN_PROGRESS', {
        since: row.created_at.toISOString(),
        retryAfterSeconds: IN_PROGRESS_RETRY_AFTER_SECONDS,
      });
    }
    return {
      kind: 'replay',
      answer: {
        status: row.status_code,
        contentType: row.content_type,
        location: row.location,
        body: Buffer.from(row.response_body ?? new Uint8Array()),
      },
    };
  }
  // Only a key released and re-claimed by others faster than this loop gets here.
  throw new AppError('IDEMPOTENCY_IN_PROGRESS', { retryAfterSeconds: IN_PROGRESS_RETRY_AFTER_SECONDS });
}

export interface Claim {
  scope: string;
  key: string;
  owner: string;
}

/**
 * Marks the claim applied inside the write's own transaction. A claim taken over meanwhile (this
 * request was presumed dead) fails the transaction: the retry owns the write now.
 */
function markAppliedQuery(db: Executor, claim: Claim) {
  return db
    .updateTable('idempotency_keys')
    .set({ applied_at: new Date() })
    .where('scope', '=', claim.scope)
    .where('key', '=', claim.key)
    .where('owner', '=', claim.owner)
    .where('state', '=', 'in_progress');
}

export async function markApplied(tx: Tx, claim: Claim): Promise<void> {
  const marked = await markAppliedQuery(tx, claim).executeTakeFirst();
  if (Number(marked.numUpdatedRows) !== 1) {
    throw new AppError('IDEMPOTENCY_IN_PROGRESS', { reason: 'claim_taken_over' });
  }
}

/** Stores the answer of the request that holds the claim. */
export async function completeKey(db: Executor, claim: Claim, answer: StoredAnswer): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({
      state: 'completed',
      status_code: answer.status,
      content_type: answer.contentType,
      location: answer.location,
      response_body: answer.body,
      completed_at: new Date(),
    })
    .where('scope', '=', claim.scope)
    .where('key', '=', claim.key)
    .where('owner', '=', claim.owner)
    .where('state', '=', 'in_progress')
    .execute();
}

/**
 * Gives the key back so that the client's retry runs the request — only if the write did not
 * commit (false otherwise: the claim stays, and the caller keeps the answer instead).
 */
export async function releaseKey(db: Executor, claim: Claim): Promise<boolean> {
  const released = await db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', claim.scope)
    .where('key', '=', claim.key)
    .where('owner', '=', claim.owner)
    .where('state', '=', 'in_progress')
    .where('applied_at', 'is', null)
    .executeTakeFirst();
  return Number(released.numDeletedRows) === 1;
}

/**
 * `claimKey`, and when the database went away before it answered (a failover cutting the claim's
 * INSERT or takeover after it committed), the tentative claim is given back once the database is
 * reachable again. Otherwise it would hold the key IN_PROGRESS for a whole lease while no request
 * runs it. Giving it back is safe: it is fenced by this request's own owner token and by
 * `applied_at` (the handler never ran, so nothing was applied).
 */
export async function claimOrForget(
  db: Db,
  request: IdempotentRequest,
  options: { ttlHours: number; now?: Date },
  onGiveUp: (error: unknown) => void = () => {},
): ReturnType<typeof claimKey> {
  try {
    return await claimKey(db, request, options);
  } catch (error) {
    if (!(error instanceof AppError)) void settleSoon(() => releaseKey(db, request), onGiveUp);
    throw error;
  }
}

// When the database is away, settling a claim is tried again this often, this many times (a
// failover takes seconds): a claim left unsettled costs the client a lease.
const SETTLE_RETRY_MS = 1_000;
const SETTLE_ATTEMPTS = 30;

/** Runs `work` now and, while it fails, again every SETTLE_RETRY_MS, SETTLE_ATTEMPTS times in all. */
function settleSoon(work: () => Promise<unknown>, onGiveUp: (error: unknown) => void): Promise<void> {
  const attempt = (left: number): Promise<void> =>
    work().then(
      () => {},
      (error: unknown) => {
        if (left <= 1) return onGiveUp(error);
        setTimeout(() => void attempt(left - 1), SETTLE_RETRY_MS).unref();
      },
    );
  return attempt(SETTLE_ATTEMPTS);
}

/** Removes expired keys (the background task `idempotency.purge`); returns how many. */
export async function purgeExpiredKeys(db: Executor, now: Date = new Date()): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * An answer holding a secret shown once (a new API key) is not stored in the clear: it is sealed
 * with SM4-CTR and HMAC-SM3 under keys that live only in this process's memory. A retry reaching this
 * process gets it back; any other process (another node, after a restart) cannot open it, and the
 * retry is told the write was applied (IDEMPOTENCY_ANSWER_LOST). Whoever reads the database never
 * sees the secret.
 */
const SEALED = Buffer.from('shutong-sealed-answer-v1:');
const sealKeys = { enc: randomBytes(16), mac: randomBytes(32) };

export function sealAnswer(body: Buffer): Buffer {
  const iv = randomBytes(16);
  const cipher = createCipheriv('sm4-ctr', sealKeys.enc, iv);
  const sealed = Buffer.concat([iv, cipher.update(body), cipher.final()]);
  const tag = createHmac('sm3', sealKeys.mac).update(sealed).digest();
  return Buffer.concat([SEALED, tag, sealed]);
}

/** The stored answer as sent; null when it is sealed by another process or was altered. */
export function openAnswer(stored: Buffer): Buffer | null {
  if (!stored.subarray(0, SEALED.length).equals(SEALED)) return stored;
  const tag = stored.subarray(SEALED.length, SEALED.length + 32);
  const sealed = stored.subarray(SEALED.length + 32);
  const expected = createHmac('sm3', sealKeys.mac).update(sealed).digest();
  if (tag.length !== 32 || sealed.length < 16 || !timingSafeEqual(tag, expected)) return null;
  const decipher = createDecipheriv('sm4-ctr', sealKeys.enc, sealed.subarray(0, 16));
  return Buffer.concat([decipher.update(sealed.subarray(16)), decipher.final()]);
}

/**
 * The two Fastify hooks, registered by the server: `preHandler` (after authentication and
 * validation) claims or replays, and runs the rest of the request with the claim's mark joined to
 * its transactions; `onSend` stores the answer or releases the claim. The claim is remembered per
 * request object, not on it, so nothing else can see or change it.
 */
export function idempotencyHooks(db: Db, options: { ttlHours: number }) {
  const claims = new WeakMap<FastifyRequest, Claim & { open: boolean }>();

  async function claimFor(req: FastifyRequest, reply: FastifyReply): Promise<Claim | 'replayed' | null> {
    if (!IDEMPOTENT_METHODS.has(req.method) || !req.url.startsWith('/v1/')) return null;
    const key = parseIdempotencyKey(req.headers[IDEMPOTENCY_HEADER]);
    if (key === null) return null;
    // The server's request context (server.ts); core does not know its type beyond this.
    const principal = (req as { ctx?: { principal?: { userId: string } | null } }).ctx?.principal;
    if (!principal) throw new AppError('IDEMPOTENCY_KEY_UNSUPPORTED', { reason: 'anonymous' });
    const hash = bodyHash(req.body);
    if (hash === null) throw new AppError('IDEMPOTENCY_KEY_UNSUPPORTED', { reason: 'streamed_body' });
    const request = {
      owner: randomBytes(12).toString('hex'),
      scope: principal.userId,
      key,
      method: req.method,
      path: req.url,
      bodyHash: hash,
    };
    let outcome: Awaited<ReturnType<typeof claimKey>>;
    try {
      outcome = await claimOrForget(db, request, options, (error) =>
        req.log.warn({ err: error, idempotencyKey: key }, 'tentative idempotency claim not released'),
      );
    } catch (error) {
      if (error instanceof AppError && error.code === 'IDEMPOTENCY_IN_PROGRESS') {
        reply.header('retry-after', IN_PROGRESS_RETRY_AFTER_SECONDS);
      }
      throw error;
    }
    if (outcome.kind === 'claimed') return { scope: request.scope, key, owner: request.owner };
    const { answer } = outcome;
    // A transient failure (5xx, 429…) is stored only when its write had committed before it: the
    // write is done, so replaying "try later" would send the client round in circles.
    if (!keepsOutcome(answer.status)) {
      throw new AppError('IDEMPOTENCY_ANSWER_LOST', { reason: 'failed_after_commit', status: answer.status });
    }
    const body = openAnswer(answer.body);
    if (body === null) throw new AppError('IDEMPOTENCY_ANSWER_LOST', { reason: 'secret_shown_once' });
    reply.code(answer.status).header(REPLAYED_HEADER, 'true');
    if (answer.contentType) reply.header('content-type', answer.contentType);
    if (answer.location) reply.header('location', answer.location);
    reply.send(body);
    return 'replayed';
  }

  // Callback style on purpose: `done` is called inside joinEachWrite.run, so the handler and
  // everything it awaits carry the claim's mark (an async hook's context would not reach it).
  function preHandler(req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    claimFor(req, reply).then(
      (claim) => {
        if (claim === 'replayed') return;
        if (claim === null) return done();
        const held = { ...claim, open: true, markedLoose: false };
        claims.set(req, held);
        joinEachWrite.run(
          {
            async beforeCommit(tx) {
              if (held.open) await markApplied(tx, held);
            },
            // A write that commits on its own is marked before it runs (once per request): if it
            // is cut, the claim says applied and a retry is told the answer was lost, never run twice.
            async beforeLooseWrite(run) {
              if (!held.open || held.markedLoose) return;
              const marked = await run(markAppliedQuery(db, held).compile());
              if (Number(marked.numAffectedRows ?? 0) !== 1) {
                throw new AppError('IDEMPOTENCY_IN_PROGRESS', { reason: 'claim_taken_over' });
              }
              held.markedLoose = true;
            },
          },
          done,
        );
      },
      (error: Error) => done(error),
    );
  }

  async function settle(
    claim: Claim,
    status: number,
    payload: unknown,
    contentType: string | null,
    location: string | null,
    secret: boolean,
  ) {
    const streamed = isStream(payload);
    const kept = (answer: unknown) => (secret ? sealAnswer(asBuffer(answer)) : asBuffer(answer));
    if (keepsOutcome(status) && !streamed) {
      await completeKey(db, claim, { status, contentType, location, body: kept(payload) });
      return;
    }
    // Not an answer to keep; but if the write committed, the retry must not run it again: the
    // answer is kept after all (a streamed one cannot be; its claim then ends as lost).
    if (!(await releaseKey(db, claim)) && !streamed) {
      await completeKey(db, claim, { status, contentType, location, body: kept(payload) });
    }
  }

  async function onSend(req: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const claim = claims.get(req);
    if (!claim) return payload;
    claims.delete(req);
    // Transactions started from here on (work the request left running) are not this write's.
    claim.open = false;
    const status = reply.statusCode;
    const header = (name: string) => {
      const value = reply.getHeader(name);
      return value === undefined ? null : String(value);
    };
    // The answer goes out now; if the database is away, the claim is settled once it is back.
    await settleSoon(
      () =>
        settle(
          claim,
          status,
          payload,
          header('content-type'),
          header('location'),
          req.routeOptions.config?.secretAnswer === true,
        ),
      (error) => req.log.warn({ err: error, idempotencyKey: claim.key }, 'idempotency key not settled'),
    );
    return payload;
  }

  return { preHandler, onSend };
}

function asBuffer(payload: unknown): Buffer {
  if (payload === null || payload === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(payload) ? payload : Buffer.from(String(payload));
}
