/**
 * Witnesses: places outside the database that hold the log's checkpoints, so a database owner who
 * rolls the log back or rewrites it after its last retained head is caught (RFC 9162 gossip, C2SP
 * tlog-witness). A witness accepts a new checkpoint only with a valid consistency proof from the
 * last one it holds, and refuses rollbacks (a smaller size) and forks (another root at a size it
 * holds, or a proof that does not connect) loudly.
 *
 * Storage (both kinds): one append-only file per log in a directory, `<origin>.checkpoints`,
 * one JSON line per accepted checkpoint {at, oldSize, proof (base64), note}. A record is appended
 * with O_APPEND under an exclusive lock file, after the check, so two servers (or a server and a
 * witness) sharing the directory never interleave or skip the check.
 *
 *  - A directory witness (AUDIT_WITNESS_DIR, e.g. a disk another host mounts) is written by the
 *    log's own nodes: it has no key; the records carry the proofs, so the chain can be re-checked.
 *  - An HTTP witness (`shutong witness serve`, AUDIT_WITNESS_URLS) checks the same way and adds a
 *    cosignature with its own SM2 key. It trusts a log's key on first use (per origin) and keeps it
 *    in `<origin>.key`; a checkpoint signed by another key for that origin is refused.
 */

import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import {
  CheckpointError,
  cosignatureLine,
  type ParsedNote,
  parseNote,
  verifyLogSignature,
} from './checkpoint.ts';
import { fromHex, verifyConsistency } from './merkle.ts';
import { type KeyCipher, loadOrCreateSigningKey, loadPrivateKey, publicKeyFingerprint } from './signing.ts';

export type WitnessRefusal = 'rollback' | 'fork' | 'conflict' | 'bad-signature' | 'bad-request';

export class WitnessError extends Error {
  readonly kind: WitnessRefusal;
  readonly heldSize: number | undefined;
  constructor(kind: WitnessRefusal, message: string, heldSize?: number) {
    super(message);
    this.name = 'WitnessError';
    this.kind = kind;
    this.heldSize = heldSize;
  }
}

export interface WitnessRecord {
  at: string;
  oldSize: number;
  proof: string[];
  note: string;
}

function fileBase(origin: string): string {
  return origin.replace(/[^A-Za-z0-9._-]/g, '_');
}

// ---------------------------------------------------------------------------------- storage

/** The append-only checkpoint files of one directory. */
export class CheckpointDir {
  constructor(readonly dir: string) {}

  #file(origin: string): string {
    return path.join(this.dir, `${fileBase(origin)}.checkpoints`);
  }

  /** The newest record for `origin`, or null. Reads only the file's tail. */
  async latest(origin: string): Promise<WitnessRecord | null> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.#file(origin), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const { size } = await handle.stat();
      for (let chunk = 64 * 1024; ; chunk *= 4) {
        const start = Math.max(0, size - chunk);
        const buf = Buffer.alloc(size - start);
        await handle.read(buf, 0, buf.length, start);
        const lines = buf
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== '');
        if (lines.length >= (start === 0 ? 1 : 2) || start === 0) {
          const last = lines.at(-1);
          return last ? (JSON.parse(last) as WitnessRecord) : null;
        }
      }
    } finally {
      await handle.close();
    }
  }

  async all(origin: string): Promise<WitnessRecord[]> {
    try {
      const text = await fs.readFile(this.#file(origin), 'utf8');
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as WitnessRecord);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** The origins with a file here (read from their first record: file names are escaped). */
  async origins(): Promise<string[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names.filter((n) => n.endsWith('.checkpoints')).sort()) {
      const first = (await fs.readFile(path.join(this.dir, n), 'utf8')).split('\n')[0];
      if (first) out.push(parseNote((JSON.parse(first) as WitnessRecord).note).origin);
    }
    return out;
  }

  async append(origin: string, record: WitnessRecord): Promise<void> {
    await fs.appendFile(this.#file(origin), `${JSON.stringify(record)}\n`, { encoding: 'utf8', mode: 0o644 });
  }

  /** Runs `work` holding this directory's lock for `origin` (a lock file made with O_EXCL). */
  async locked<T>(origin: string, work: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.dir, { recursive: true });
    const lock = `${this.#file(origin)}.lock`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const h = await fs.open(lock, 'wx');
        await h.writeFile(`${process.pid}\n`);
        await h.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A lock older than a minute belongs to a process that died holding it.
        const st = await fs.stat(lock).catch(() => null);
        if (st && Date.now() - st.mtimeMs > 60_000) await fs.unlink(lock).catch(() => {});
        if (Date.now() > deadline) throw new Error(`the witness lock ${lock} is held too long`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    try {
      return await work();
    } finally {
      await fs.unlink(lock).catch(() => {});
    }
  }
}

// ---------------------------------------------------------------------------------- checking

/**
 * The witness rule: `note` (already checked to be signed by the log) may follow `held` only if it
 * is the same checkpoint, or larger with a consistency proof from held's size that verifies.
 * Returns true when the note is new (to be recorded), false when it is the one already held.
 */
export function checkSuccessor(
  held: ParsedNote | null,
  note: ParsedNote,
  oldSize: number,
  proof: Buffer[],
): boolean {
  if (!held) {
    if (oldSize !== 0)
      throw new WitnessError('conflict', `this witness holds no checkpoint of ${note.origin}`, 0);
    return true;
  }
  if (oldSize !== held.size) {
    throw new WitnessError(
      'conflict',
      `this witness holds ${note.origin} at size ${held.size}, not ${oldSize}: send a proof from ${held.size}`,
      held.size,
    );
  }
  if (note.size < held.size) {
    throw new WitnessError(
      'rollback',
      `rollback refused: ${note.origin} was witnessed at size ${held.size}; a checkpoint of size ${note.size} would roll the log back`,
      held.size,
    );
  }
  if (note.size === held.size) {
    if (note.rootHash === held.rootHash) return false;
    throw new WitnessError(
      'fork',
      `fork refused: ${note.origin} at size ${held.size} was witnessed with root ${held.rootHash}, not ${note.rootHash}`,
      held.size,
    );
  }
  if (!verifyConsistency(held.size, note.size, fromHex(held.rootHash), fromHex(note.rootHash), proof)) {
    throw new WitnessError(
      'fork',
      `fork refused: the checkpoint of ${note.origin} at size ${note.size} is not consistent with the one witnessed at size ${held.size} (the consistency proof fails): the log was rewritten`,
      held.size,
    );
  }
  return true;
}

function parseOrRefuse(text: string): ParsedNote {
  try {
    return parseNote(text);
  } catch (err) {
    throw new WitnessError('bad-request', `not a checkpoint: ${(err as Error).message}`);
  }
}

/**
 * Adds `noteText` to `dir` if it follows what the directory holds; `cosign` adds the witness's line
 * first. Returns the stored (possibly cosigned) note.
 */
export async function witnessCheckpoint(
  dir: CheckpointDir,
  noteText: string,
  oldSize: number,
  proof: Buffer[],
  logPublicKey: string | KeyObject,
  cosign?: (note: ParsedNote) => string,
): Promise<string> {
  const note = parseOrRefuse(noteText);
  if (!verifyLogSignature(note, logPublicKey)) {
    throw new WitnessError(
      'bad-signature',
      `the checkpoint of ${note.origin} is not signed by the log's key`,
    );
  }
  return dir.locked(note.origin, async () => {
    const last = await dir.latest(note.origin);
    const held = last ? parseNote(last.note) : null;
    if (!checkSuccessor(held, note, oldSize, proof)) return last!.note;
    const stored = cosign ? `${note.text.replace(/\n*$/, '\n')}${cosign(note)}` : note.text;
    await dir.append(note.origin, {
      at: new Date().toISOString(),
      oldSize,
      proof: proof.map((p) => p.toString('base64')),
      note: stored,
    });
    return stored;
  });
}

// ---------------------------------------------------------------------------- the HTTP witness

export interface WitnessServer {
  url: string;
  name: string;
  publicKeyPem: string;
  close(): Promise<void>;
}

export interface WitnessIdentity {
  name: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  fingerprint: string;
}

/** How the witness's key file is encrypted at rest; none without a passphrase. */
export interface WitnessKeySealing {
  passphrase?: string;
  /** Used when the key file is created; an existing file is read whichever way it was written. */
  cipher?: KeyCipher;
}

/**
 * The witness's own SM2 key (`<dir>/witness-key.pem`, created mode 0600) and name. With a
 * passphrase the key is encrypted as the log's own key is (PBES2 AES-256-CBC or SM4): a witness
 * that another bureau runs guards its key as carefully as the log it watches.
 */
export async function witnessIdentity(
  dir: string,
  name?: string,
  sealing: WitnessKeySealing = {},
): Promise<WitnessIdentity> {
  await fs.mkdir(dir, { recursive: true });
  const pair = await loadOrCreateSigningKey(
    path.join(dir, 'witness-key.pem'),
    sealing.passphrase,
    sealing.cipher,
  );
  const fingerprint = publicKeyFingerprint(pair.publicKeyPem);
  return {
    name: name ?? `shutong.witness/${fingerprint.slice(0, 32)}`,
    privateKey: loadPrivateKey(pair.privateKeyPem),
    publicKeyPem: pair.publicKeyPem,
    fingerprint,
  };
}

const STATUS: Record<WitnessRefusal, number> = {
  conflict: 409,
  rollback: 409,
  fork: 409,
  'bad-signature': 403,
  'bad-request': 400,
};

async function readBody(req: http.IncomingMessage, limit = 256 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new WitnessError('bad-request', 'request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * POST /add-checkpoint  body: `old <size>\n` + proof hashes (base64, one a line) + `\n` + note;
 *                       header x-shutong-log-key: the log's SPKI public key, base64 (trusted on
 *                       first use per origin). 200: the cosignature line. Refusals: JSON
 *                       {error: rollback|fork|conflict|bad-signature|bad-request, message, size}.
 * GET /checkpoint?origin=O   the newest cosigned note of O (404 if none)
 * GET /logs                  [{origin, size, rootHash, at, count}]
 * GET /public-key            {name, publicKeyPem, fingerprint}
 */
export async function startWitnessServer(options: {
  dir: string;
  port: number;
  host?: string;
  name?: string;
  key?: WitnessKeySealing;
}): Promise<WitnessServer> {
  const id = await witnessIdentity(options.dir, options.name, options.key);
  const store = new CheckpointDir(options.dir);
  const keysDir = options.dir;

  const logKey = async (origin: string, offered: string | undefined): Promise<string> => {
    const file = path.join(keysDir, `${fileBase(origin)}.key`);
    const known = await fs.readFile(file, 'utf8').catch(() => null);
    if (known) return known;
    if (!offered)
      throw new WitnessError('bad-signature', `no key known for ${origin}; send x-shutong-log-key`);
    const der = Buffer.from(offered, 'base64');
    const pem = `-----BEGIN PUBLIC KEY-----\n${der
      .toString('base64')
      .replace(/(.{64})/g, '$1\n')
      .replace(/\n?$/, '\n')}-----END PUBLIC KEY-----\n`;
    try {
      publicKeyFingerprint(pem);
    } catch (err) {
      throw new WitnessError(
        'bad-request',
        `x-shutong-log-key is not an SM2 public key: ${(err as Error).message}`,
      );
    }
    await fs.writeFile(file, pem, { flag: 'wx' }).catch(() => {});
    return fs.readFile(file, 'utf8');
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://witness');
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    try {
      if (req.method === 'GET' && url.pathname === '/public-key') {
        return send(
          200,
          JSON.stringify({ name: id.name, publicKeyPem: id.publicKeyPem, fingerprint: id.fingerprint }),
          'application/json',
        );
      }
      if (req.method === 'GET' && url.pathname === '/checkpoint') {
        const origin = url.searchParams.get('origin') ?? '';
        const rec = origin ? await store.latest(origin) : null;
        return rec ? send(200, rec.note) : send(404, 'no checkpoint for this origin\n');
      }
      if (req.method === 'GET' && url.pathname === '/logs') {
        return send(200, JSON.stringify(await listWitnessed(store)), 'application/json');
      }
      if (req.method === 'POST' && url.pathname === '/add-checkpoint') {
        const body = await readBody(req);
        const split = body.indexOf('\n\n');
        const head = split < 0 ? '' : body.slice(0, split);
        const m = /^old (0|[1-9][0-9]{0,15})((?:\n[A-Za-z0-9+/]+=*)*)$/.exec(head);
        if (!m)
          throw new WitnessError(
            'bad-request',
            'expected "old <size>", proof lines, a blank line and the checkpoint',
          );
        const proof = m[2]!
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => Buffer.from(l, 'base64'));
        const noteText = body.slice(split + 2);
        const note = parseOrRefuse(noteText);
        const key = await logKey(note.origin, req.headers['x-shutong-log-key'] as string | undefined);
        const stored = await witnessCheckpoint(store, noteText, Number(m[1]), proof, key, (n) =>
          cosignatureLine(n, id.name, id.privateKey, id.publicKeyPem),
        );
        const mine = stored.split('\n').filter((l) => l.startsWith(`\u2014 ${id.name} `));
        return send(200, `${mine.at(-1) ?? ''}\n`);
      }
      send(404, 'not found\n');
    } catch (err) {
      if (err instanceof WitnessError) {
        return send(
          STATUS[err.kind],
          JSON.stringify({ error: err.kind, message: err.message, size: err.heldSize ?? null }),
          'application/json',
        );
      }
      if (err instanceof CheckpointError) {
        return send(
          400,
          JSON.stringify({ error: 'bad-request', message: err.message, size: null }),
          'application/json',
        );
      }
      send(
        500,
        JSON.stringify({ error: 'internal', message: (err as Error).message, size: null }),
        'application/json',
      );
    }
  };

  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as { port: number; address: string };
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    name: id.name,
    publicKeyPem: id.publicKeyPem,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface WitnessedLog {
  origin: string;
  size: number;
  rootHash: string;
  at: string;
  count: number;
}

export async function listWitnessed(store: CheckpointDir): Promise<WitnessedLog[]> {
  const out: WitnessedLog[] = [];
  for (const origin of await store.origins()) {
    const all = await store.all(origin);
    const last = all.at(-1);
    if (!last) continue;
    const note = parseNote(last.note);
    out.push({ origin, size: note.size, rootHash: note.rootHash, at: last.at, count: all.length });
  }
  return out;
}

// ----------------------------------------------------------------------- what a log talks to

/** A place a log publishes checkpoints to and reads the newest witnessed one back from. */
export interface Witness {
  /** For messages: the directory or URL. */
  readonly label: string;
  latest(origin: string): Promise<ParsedNote | null>;
  /** Throws WitnessError on refusal; returns the stored (cosigned) note. */
  add(noteText: string, oldSize: number, proof: Buffer[], logPublicKeyPem: string): Promise<string>;
}

export function directoryWitness(dir: string): Witness {
  const store = new CheckpointDir(dir);
  return {
    label: `directory ${dir}`,
    async latest(origin) {
      const rec = await store.latest(origin);
      return rec ? parseNote(rec.note) : null;
    },
    add: (noteText, oldSize, proof, key) => witnessCheckpoint(store, noteText, oldSize, proof, key),
  };
}

export function httpWitness(baseUrl: string): Witness {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    label: `witness ${base}`,
    async latest(origin) {
      const res = await fetch(`${base}/checkpoint?origin=${encodeURIComponent(origin)}`);
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`${base}: GET /checkpoint answered ${res.status}`);
      return parseNote(await res.text());
    },
    async add(noteText, oldSize, proof, key) {
      const der = Buffer.from(key.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      const body = `old ${oldSize}\n${proof.map((p) => `${p.toString('base64')}\n`).join('')}\n${noteText}`;
      const res = await fetch(`${base}/add-checkpoint`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-shutong-log-key': der.toString('base64') },
        body,
      });
      const text = await res.text();
      if (res.ok) return `${noteText.replace(/\n*$/, '\n')}${text}`;
      let err: { error?: WitnessRefusal; message?: string; size?: number | null } = {};
      try {
        err = JSON.parse(text);
      } catch {
        // not JSON
      }
      throw new WitnessError(
        err.error ?? 'bad-request',
        `${base}: ${err.message ?? text}`,
        err.size ?? undefined,
      );
    },
  };
}

/** The witnesses AUDIT_WITNESS_DIR and AUDIT_WITNESS_URLS name. */
export function configuredWitnesses(config: {
  auditWitnessDir: string | undefined;
  auditWitnessUrls: string[];
}): Witness[] {
  return [
    ...(config.auditWitnessDir ? [directoryWitness(config.auditWitnessDir)] : []),
    ...config.auditWitnessUrls.map(httpWitness),
  ];
}
