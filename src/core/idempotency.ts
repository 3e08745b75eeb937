import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db, Executor } from './db.ts';
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
 * This is the one writer of `idempotency_keys`. Deliberately not here: a claim whose release
 * failed (the database went away between the handler and the answer) stays in progress until it
 * expires, because the write may have committed — answering 409 is safe, running it again is not.
 */

export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
/** What a client is told to wait when the first request with its key is still running. */
export const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;

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

/** Stores the answer of the request that holds the claim. */
export async function completeKey(
  db: Executor,
  scope: string,
  key: string,
  answer: StoredAnswer,
): Promise<void> {
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
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where('state', '=', 'in_progress')
    .execute();
}

/** Gives the key back (the outcome was not one to keep): the client's retry runs the request. */
export async function releaseKey(db: Executor, scope: string, key: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where('state', '=', 'in_progress')
    .execute();
}

/** Removes expired keys (the background task `idempotency.purge`); returns how many. */
export async function purgeExpiredKeys(db: Executor, now: Date = new Date()): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * The two Fastify hooks, registered by the server: `preHandler` (after authentication and
 * validation) claims or replays, `onSend` stores or releases. The claim is remembered per request
 * object, not on it, so nothing else can see or change it.
 */
export function idempotencyHooks(db: Db, options: { ttlHours: number }) {
  const claims = new WeakMap<FastifyRequest, { scope: string; key: string }>();

  async function preHandler(req: FastifyRequest, reply: FastifyReply) {
    if (!IDEMPOTENT_METHODS.has(req.method) || !req.url.startsWith('/v1/')) return;
    const key = parseIdempotencyKey(req.headers[IDEMPOTENCY_HEADER]);
    if (key === null) return;
    // The server's request context (server.ts); core does not know its type beyond this.
    const principal = (req as { ctx?: { principal?: { userId: string } | null } }).ctx?.principal;
    if (!principal) throw new AppError('IDEMPOTENCY_KEY_UNSUPPORTED', { reason: 'anonymous' });
    const hash = bodyHash(req.body);
    if (hash === null) throw new AppError('IDEMPOTENCY_KEY_UNSUPPORTED', { reason: 'streamed_body' });
    const request = { scope: principal.userId, key, method: req.method, path: req.url, bodyHash: hash };
    let outcome: Awaited<ReturnType<typeof claimKey>>;
    try {
      outcome = await claimKey(db, request, options);
    } catch (error) {
      if (error instanceof AppError && error.code === 'IDEMPOTENCY_IN_PROGRESS') {
        reply.header('retry-after', IN_PROGRESS_RETRY_AFTER_SECONDS);
      }
      throw error;
    }
    if (outcome.kind === 'claimed') {
      claims.set(req, { scope: request.scope, key });
      return;
    }
    const { answer } = outcome;
    reply.code(answer.status).header(REPLAYED_HEADER, 'true');
    if (answer.contentType) reply.header('content-type', answer.contentType);
    if (answer.location) reply.header('location', answer.location);
    return reply.send(answer.body);
  }

  async function onSend(req: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const claim = claims.get(req);
    if (!claim) return payload;
    claims.delete(req);
    const status = reply.statusCode;
    try {
      // A streamed answer cannot be kept to replay: the key is given back (README says so).
      if (!keepsOutcome(status) || isStream(payload)) {
        await releaseKey(db, claim.scope, claim.key);
      } else {
        const header = (name: string) => {
          const value = reply.getHeader(name);
          return value === undefined ? null : String(value);
        };
        const body =
          payload === null || payload === undefined
            ? Buffer.alloc(0)
            : Buffer.isBuffer(payload)
              ? payload
              : Buffer.from(String(payload));
        await completeKey(db, claim.scope, claim.key, {
          status,
          contentType: header('content-type'),
          location: header('location'),
          body,
        });
      }
    } catch (error) {
      // The answer still goes out (the write is done); the claim stays in progress until it expires.
      req.log.warn({ err: error, idempotencyKey: claim.key }, 'idempotency key not settled');
    }
    return payload;
  }

  return { preHandler, onSend };
}
