import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/audit/append.ts';
import { entryLeafHash } from '../src/audit/entry.ts';
import { fromHex, verifyConsistency, verifyInclusion } from '../src/audit/merkle.ts';
import { exportEntries } from '../src/audit/service.ts';
import { verifyTreeHead } from '../src/audit/signing.ts';
import { cliCtx } from '../src/core/context.ts';
import { withTx } from '../src/core/db.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { parseCsv } from './support/csv-parse.ts';

let t: TestApp;
let keyDir: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-key-'));
  t = await startTestApp({ AUDIT_KEY_FILE: path.join(keyDir, 'audit-signing-key.pem') });
  for (const user of ['admin', 'security', 'auditor', 'steward.health', 'consumer.civil']) {
    tokens[user] = await t.login(user);
  }
});
afterAll(async () => {
  await t.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

/** GET as the auditor, or as `as` (null: anonymous). */
const get = (url: string, as: string | null = tokens.auditor!) =>
  t.request({ method: 'GET', url, token: as ?? undefined });

async function publicKeyPem(): Promise<string> {
  const res = await t.request({ method: 'GET', url: '/v1/audit/public-key' });
  expect(res.statusCode).toBe(200);
  return res.json().publicKeyPem;
}

describe('who may read the audit log', () => {
  const routes = [
    '/v1/audit/entries',
    '/v1/audit/entries/1',
    '/v1/audit/tree-heads',
    '/v1/audit/proofs/consistency?from=0&to=1',
    '/v1/audit/proofs/inclusion?seq=1&treeSize=1',
  ];

  it('answers anonymous callers 401, consumers and stewards 403, auditors, security officers and admins 200', async () => {
    for (const url of routes) {
      expect((await get(url, null)).statusCode, url).toBe(401);
      expect((await get(url, tokens['consumer.civil']!)).statusCode, url).toBe(403);
      expect((await get(url, tokens['steward.health']!)).statusCode, url).toBe(403);
      for (const reader of ['auditor', 'security', 'admin']) {
        expect((await get(url, tokens[reader]!)).statusCode, `${reader} ${url}`).toBe(200);
      }
    }
    for (const [token, status] of [
      [undefined, 401],
      [tokens['consumer.civil'], 403],
      [tokens['steward.health'], 403],
    ] as const) {
      const res = await t.request({ method: 'POST', url: '/v1/audit/tree-heads', token });
      expect(res.statusCode).toBe(status);
    }
  });

  it('serves the public key to anyone, with the signer-ID convention spelled out', async () => {
    const res = await t.request({ method: 'GET', url: '/v1/audit/public-key' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ signerId: '', fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(res.json().publicKeyPem).toContain('BEGIN PUBLIC KEY');
    const mode = fs.statSync(path.join(keyDir, 'audit-signing-key.pem')).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('offers no way to change or remove an entry: PUT, PATCH and DELETE are 404 for everyone', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
      for (const url of [
        '/v1/audit/entries/1',
        '/v1/audit/entries',
        '/v1/audit/tree-heads',
        '/v1/audit/tree-heads/latest',
      ]) {
        const res = await t.request({ method, url, token: tokens.admin, payload: { details: {} } });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
      }
    }
  });
});

describe('reading entries', () => {
  it('lists the demo seeding with filters and seq cursor paging', async () => {
    const all: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/v1/audit/entries?order=asc&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      all.push(...res.json().items.map((e: { seq: number }) => e.seq));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(all.length).toBeGreaterThan(20);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));

    const newest = (await get('/v1/audit/entries?limit=1')).json().items[0];
    expect(newest.seq).toBe(all.at(-1));

    const orgCreates = (await get('/v1/audit/entries?action=organization.create&limit=200')).json().items;
    expect(orgCreates.length).toBe(16);
    expect(orgCreates.every((e: { action: string }) => e.action === 'organization.create')).toBe(true);

    const user = orgCreates[0];
    const byObject = (await get(`/v1/audit/entries?objectType=organization&objectId=${user.objectId}`)).json()
      .items;
    expect(byObject.map((e: { seq: number }) => e.seq)).toContain(user.seq);

    const auditor = await t.request({ method: 'GET', url: '/v1/me', token: tokens.auditor });
    const { id: auditorId, orgId } = auditor.json().user;
    const logins = (await get(`/v1/audit/entries?actor=${auditorId}&action=session.login`)).json().items;
    expect(logins.length).toBeGreaterThan(0);
    expect(logins.every((e: { actorId: string }) => e.actorId === auditorId)).toBe(true);
    const byOrg = (await get(`/v1/audit/entries?org=${orgId}&limit=200`)).json().items;
    expect(byOrg.every((e: { orgId: string }) => e.orgId === orgId)).toBe(true);

    const future = (await get('/v1/audit/entries?from=2999-01-01T00:00:00Z')).json().items;
    expect(future).toEqual([]);
    const past = (await get(`/v1/audit/entries?to=${encodeURIComponent(newest.time)}&limit=200`)).json()
      .items;
    expect(past.every((e: { time: string }) => e.time < newest.time)).toBe(true);
  });

  it('returns one entry by seq with its recorded leaf hash, which the auditor can recompute', async () => {
    const res = await get('/v1/audit/entries/3');
    expect(res.statusCode).toBe(200);
    const { id: _id, leafHash, ...entry } = res.json();
    expect(leafHash).toBe(entryLeafHash(entry).toString('hex'));
    const missing = await get('/v1/audit/entries/999999');
    expect(missing.statusCode).toBe(404);
  });

  it('refuses bad input with a 400 naming the field', async () => {
    for (const [url, field] of [
      ['/v1/audit/entries/0', 'seq'],
      ['/v1/audit/entries/abc', 'seq'],
      ['/v1/audit/entries?limit=0', 'limit'],
      ['/v1/audit/entries?cursor=x1', 'cursor'],
      ['/v1/audit/entries?from=yesterday', 'from'],
      ['/v1/audit/entries?order=up', 'order'],
      ['/v1/audit/entries?colour=red', 'colour'],
      ['/v1/audit/entries?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z', 'to'],
      ['/v1/audit/proofs/inclusion?treeSize=1', 'seq'],
      ['/v1/audit/proofs/inclusion?seq=1&treeSize=99999999', 'treeSize'],
      ['/v1/audit/proofs/inclusion?seq=5&treeSize=4', 'seq'],
      ['/v1/audit/proofs/consistency?from=5&to=4', 'from'],
      ['/v1/audit/proofs/consistency?from=1&to=99999999', 'to'],
      ['/v1/audit/proofs/consistency?from=-1&to=2', 'from'],
    ] as const) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.details.field, url).toBe(field);
    }
  });
});

describe('signed tree heads and proofs', () => {
  it('proves entries and growth against heads signed with the served key', async () => {
    const pem = await publicKeyPem();
    const none = await get('/v1/audit/proofs/inclusion?seq=1');
    // Nothing signed yet in this database: the default head cannot exist.
    if ((await get('/v1/audit/tree-heads')).json().items.length === 0) {
      expect(none.statusCode).toBe(409);
      expect(none.json().error.code).toBe('AUDIT_NOT_SIGNED');
    }

    const first = await t.request({ method: 'POST', url: '/v1/audit/tree-heads', token: tokens.security });
    expect(first.statusCode).toBe(201);
    const head1 = first.json();
    expect(verifyTreeHead(head1, pem)).toBe(true);

    // The request to sign is itself recorded, and covered by the head it produced.
    const last = (await get(`/v1/audit/entries/${head1.treeSize}`)).json();
    expect(last.action).toBe('audit.tree_head.sign');

    await withTx(t.database.db, async (tx) => {
      for (let i = 0; i < 300; i++) {
        await appendAudit(tx, {
          actorId: 'usr_test',
          orgId: null,
          action: 'test.event',
          objectType: 'test',
          objectId: `obj_${i}`,
          details: { i, 名称: '测试' },
        });
      }
    });
    const head2 = (
      await t.request({ method: 'POST', url: '/v1/audit/tree-heads', token: tokens.auditor })
    ).json();
    expect(head2.treeSize).toBe(head1.treeSize + 301);
    expect(verifyTreeHead(head2, pem)).toBe(true);
    expect((await get('/v1/audit/tree-heads/latest')).json()).toEqual(head2);
    const heads = (await get('/v1/audit/tree-heads?limit=1')).json();
    expect(heads.items).toEqual([head2]);
    expect((await get(`/v1/audit/tree-heads?limit=1&cursor=${heads.nextCursor}`)).json().items).toEqual([
      head1,
    ]);

    for (const seq of [1, 2, head1.treeSize, head1.treeSize + 1, 257, head2.treeSize - 1, head2.treeSize]) {
      const res = await get(`/v1/audit/proofs/inclusion?seq=${seq}`);
      expect(res.statusCode, `seq ${seq}`).toBe(200);
      const p = res.json();
      expect(p.head).toEqual(head2);
      expect(p.rootHash).toBe(head2.rootHash);
      // The auditor recomputes the leaf from the entry, not from the server's leafHash.
      const { id: _id, leafHash: _leaf, ...entry } = p.entry;
      const leaf = entryLeafHash(entry);
      const ok = verifyInclusion(
        leaf,
        seq - 1,
        head2.treeSize,
        p.proof.map(fromHex),
        fromHex(head2.rootHash),
      );
      expect(ok, `seq ${seq}`).toBe(true);
    }

    // Against an older signed size, and against an unsigned size (root only, no head).
    const old = (await get(`/v1/audit/proofs/inclusion?seq=2&treeSize=${head1.treeSize}`)).json();
    expect(old.head).toEqual(head1);
    expect(
      verifyInclusion(
        fromHex(old.leafHash),
        1,
        head1.treeSize,
        old.proof.map(fromHex),
        fromHex(head1.rootHash),
      ),
    ).toBe(true);
    const unsigned = (await get('/v1/audit/proofs/inclusion?seq=2&treeSize=5')).json();
    expect(unsigned.head).toBeNull();

    const c = (await get(`/v1/audit/proofs/consistency?from=${head1.treeSize}&to=${head2.treeSize}`)).json();
    expect(c.fromHead).toEqual(head1);
    expect(c.toHead).toEqual(head2);
    expect(
      verifyConsistency(
        head1.treeSize,
        head2.treeSize,
        fromHex(head1.rootHash),
        fromHex(head2.rootHash),
        c.proof.map(fromHex),
      ),
    ).toBe(true);
    const byDefault = (await get(`/v1/audit/proofs/consistency?from=${head1.treeSize}`)).json();
    expect(byDefault).toEqual(c);
    for (const from of [0, 1, 3, 256, head2.treeSize]) {
      const p = (await get(`/v1/audit/proofs/consistency?from=${from}`)).json();
      expect(
        verifyConsistency(
          from,
          head2.treeSize,
          fromHex(p.fromRoot),
          fromHex(head2.rootHash),
          p.proof.map(fromHex),
        ),
        `from ${from}`,
      ).toBe(true);
    }
  });

  it('lists every audit route in the OpenAPI document, with the public key open', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
    for (const p of [
      '/v1/audit/entries',
      '/v1/audit/entries/{seq}',
      '/v1/audit/tree-heads',
      '/v1/audit/tree-heads/latest',
      '/v1/audit/proofs/inclusion',
      '/v1/audit/proofs/consistency',
      '/v1/audit/public-key',
      '/v1/audit/witnesses',
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(doc.paths['/v1/audit/public-key'].get.security).toBeUndefined();
    expect(doc.paths['/v1/audit/entries'].get.security).toEqual([{ bearer: [] }]);
  });
});

describe('periodic signing', () => {
  it('a listening server signs a head when the log grew, and stops when it closes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-audit-timer-'));
    const other = await startTestApp({
      AUDIT_KEY_FILE: path.join(dir, 'key.pem'),
      AUDIT_SIGN_INTERVAL_SECONDS: '1',
    });
    try {
      const heads = () => other.database.db.selectFrom('audit_tree_heads').selectAll().execute();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await heads()).toEqual([]); // inject() never listens: no timer in ordinary tests
      await other.app.listen({ port: 0, host: '127.0.0.1' });
      const deadline = Date.now() + 10_000;
      while ((await heads()).length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const signed = await heads();
      expect(signed).toHaveLength(1);
      // Nothing appended since: the next ticks do not sign again.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await heads()).toHaveLength(1);
    } finally {
      await other.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the audit log as CSV (GET /v1/audit/export.csv)', () => {
  it('exports the filtered entries with names, Beijing times, a BOM and guarded cells, and audits the export', async () => {
    const me = (await get('/v1/me', tokens.admin!)).json();
    const hostile = ['=1+2', '+SUM(A1)', '-3', '@cmd', '\tx', '中文，"引号"'];
    await withTx(t.database.db, async (tx) => {
      for (const objectId of hostile) {
        await appendAudit(tx, {
          actorId: me.user.id,
          orgId: me.organization.id,
          action: 'test.csv',
          objectType: 'csv_probe',
          objectId,
          details: { 名称: '测试' },
        });
      }
      await appendAudit(tx, {
        actorId: null,
        orgId: null,
        action: 'test.csv',
        objectType: 'other',
        objectId: 'x',
      });
    });

    expect(
      (await get('/v1/audit/export.csv?objectType=csv_probe', tokens['consumer.civil']!)).statusCode,
    ).toBe(403);
    const res = await get('/v1/audit/export.csv?objectType=csv_probe&action=test.csv');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers['x-export-rows']).toBe('6');
    expect(res.headers['x-export-truncated']).toBeUndefined();
    expect(res.body.startsWith('\ufeff')).toBe(true);
    const [header, ...rows] = parseCsv(res.body.slice(1));
    expect(header).toHaveLength(11);
    expect(rows).toHaveLength(hostile.length);
    // Newest first; filters honoured (the 'other' entry is not there).
    expect(rows.map((r) => r[8])).toEqual(
      [...hostile].reverse().map((v) => (/^[=+\-@\t]/.test(v) ? `'${v}` : v)),
    );
    for (const row of rows) {
      expect(row[2]).toBe(me.user.id);
      expect(row[3]).toContain(me.user.username);
      expect(row[5]).toBe(me.organization.name);
      expect(row[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(JSON.parse(row[10]!)).toEqual({ 名称: '测试' });
    }
    // The time column is Beijing time: eight hours ahead of the entry's UTC time.
    const entry = (await get(`/v1/audit/entries/${rows[0]![0]}`)).json();
    const utc = new Date(entry.time);
    expect(rows[0]![1]).toBe(
      new Date(utc.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' '),
    );

    const exports = (await get('/v1/audit/entries?action=audit.export&limit=5')).json().items;
    expect(exports[0].details).toMatchObject({
      format: 'csv',
      filters: { objectType: 'csv_probe', action: 'test.csv' },
      rows: 6,
      truncated: false,
    });
  });

  it('cuts at the maximum, says so, and audits the cut', async () => {
    const out = await exportEntries(cliCtx(t.database.db, t.config), { objectType: 'csv_probe' }, 2);
    expect(out).toMatchObject({ rows: 2, truncated: true, maxRows: 2 });
    let text = '';
    for await (const chunk of out.lines) text += chunk;
    expect(parseCsv(text.slice(1))).toHaveLength(3);
    const last = (await get('/v1/audit/entries?action=audit.export&limit=1')).json().items[0];
    expect(last.details).toMatchObject({ rows: 2, truncated: true, filters: { objectType: 'csv_probe' } });
  });

  it('refuses from ≥ to and unknown parameters', async () => {
    expect(
      (await get('/v1/audit/export.csv?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).statusCode,
    ).toBe(400);
    expect((await get('/v1/audit/export.csv?limit=5')).statusCode).toBe(400);
  });
});
