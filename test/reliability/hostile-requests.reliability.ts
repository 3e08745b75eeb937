/**
 * Hostile requests against a server process. Promises: SQL-injection strings in every gateway
 * filter, order and select parameter (and the aggregate body, catalog search, CKAN search) are
 * refused with a 4xx or answered as plain values — never a 5xx, never a changed database, never a
 * stack trace or SQL in the answer; oversized bodies get 413; path traversal in file names stores
 * only a base name and writes nothing outside the upload area; every route refuses callers without
 * credentials (401), with a revoked key (401) or with another organization's key (403; 404 for its contracts), leaking
 * nothing.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_DATA_OPERATIONS, PUBLIC_OPERATIONS } from '../support/public-routes.ts';
import {
  apiKey,
  applicationFor,
  call,
  cleanUp,
  connect,
  contractFor,
  createResource,
  csvOf,
  DISTRICTS,
  gradeFields,
  importCsv,
  login,
  MiB,
  type Node,
  prepareDatabase,
  type Reply,
  report,
  reviewed,
  row,
  scratchDatabase,
  startNode,
  tempDir,
} from './support.ts';

const ROWS = 500;
const UPLOAD_LIMIT = 2 * MiB;

let node: Node;
let db: Awaited<ReturnType<typeof connect>>['db'];
let dataDir: string;
const t = {} as {
  steward: string;
  consumer: string;
  enterprise: string;
  consumerKey: string;
  consumerKeyId: string;
  enterpriseKey: string;
  psbKey: string;
  revokedKey: string;
};
let resource: { id: string; code: string };
let contract: string;
let applicationId: string;
let jobId: string;
let table: string;
let consumerUserId: string;
let civilOrgId: string;

// Where an injected COPY would write: a name of this run's own (a checkout may well live at /tmp/x).
const COPY_TARGET = `/tmp/shutong-injected-${process.pid}-${Date.now()}`;

const INJECTIONS = [
  "' OR '1'='1",
  "' OR 1=1--",
  "'; DROP TABLE users; --",
  '"; DROP TABLE organizations; --',
  '1; SELECT pg_sleep(10)--',
  "') OR ('a'='a",
  "%' OR '%'='",
  '$$; DELETE FROM audit_events; $$',
  "' UNION SELECT password_hash, null, null FROM users--",
  '1)) OR 1=1--',
  "admin'--",
  'district" OR "1"="1',
  "' || (SELECT current_user) || '",
  `';COPY users TO '${COPY_TARGET}';--`,
  '\\x27 OR 1=1',
  '（）；--',
];

/** Markers of an internal error leaking out: stack frames, driver or SQL messages. */
const LEAK =
  /\bat [\w.<>]+ \(|\.ts:\d+|node_modules|syntax error|unterminated|relation "|column "|pg_catalog|kysely/i;

let requests = 0;
let slowestMs = 0;

async function timed(fn: () => Promise<Reply>): Promise<Reply> {
  const started = Date.now();
  const res = await fn();
  requests++;
  slowestMs = Math.max(slowestMs, Date.now() - started);
  return res;
}

function expectSafe(res: Reply, what: string) {
  expect(res.status, `${what}: ${res.text}`).toBeLessThan(500);
  expect(res.text, what).not.toMatch(LEAK);
  if (res.status >= 400) {
    // Shutong's error shape, or CKAN's on the CKAN-compatible routes.
    const keys = Object.keys(res.json?.error ?? {}).sort();
    expect(keys, what).toEqual(
      what.startsWith('/api/3/') ? ['__type', 'message'] : ['code', 'details', 'message', 'messages'],
    );
  }
}

const gateway = (query: string, token = t.consumerKey) =>
  timed(() =>
    call(node.base, 'GET', `/v1/gateway/contracts/${contract}/rows?format=page&${query}`, { token }),
  );

async function databaseShape() {
  const { rows } = await sql<{ schemaname: string; n: number }>`
    select schemaname, count(*)::int as n from pg_tables
    where schemaname in ('public', 'datasets') group by schemaname order by schemaname`.execute(db);
  const count = async (name: string) =>
    (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(name)}`.execute(db)).rows[0]!.n;
  return {
    tables: rows,
    users: await count('users'),
    organizations: await count('organizations'),
    apiKeys: await count('api_keys'),
    contracts: await count('contracts'),
    dataset: await count(`datasets.${table}`),
  };
}

beforeAll(async () => {
  const scratch = await scratchDatabase();
  await prepareDatabase(scratch.url);
  db = (await connect(scratch.url)).db;
  dataDir = tempDir('hostile-requests');
  node = await startNode({
    name: 'node-1',
    databaseUrl: scratch.url,
    dataDir,
    env: { UPLOAD_LIMIT_BYTES: String(UPLOAD_LIMIT) },
  });
  t.steward = await login(node.base, 'steward.health');
  t.consumer = await login(node.base, 'consumer.civil');
  t.enterprise = await login(node.base, 'consumer.enterprise');
  const psb = await login(node.base, 'steward.psb');
  resource = await createResource(node.base, t.steward, '门诊就诊记录（恶意请求）');
  jobId = (await importCsv(node.base, t.steward, resource.code, csvOf(ROWS, 'h'))).jobId;
  await gradeFields(db, resource.id);
  await reviewed(node.base, resource.code);
  contract = await contractFor(node.base, { consumer: t.consumer, steward: t.steward }, resource.code);
  await db
    .updateTable('contracts')
    .set({ rate_limit_per_minute: 1_000_000 })
    .where('id', '=', contract)
    .execute();
  applicationId = (
    await db
      .selectFrom('contracts')
      .select('application_id')
      .where('id', '=', contract)
      .executeTakeFirstOrThrow()
  ).application_id;
  table = (
    await db
      .selectFrom('dataset_versions')
      .select('table_name')
      .where('resource_id', '=', resource.id)
      .executeTakeFirstOrThrow()
  ).table_name;
  const scopes = ['gateway', 'sharing', 'catalog:read', 'identity:read'];
  const consumerKey = await apiKey(node.base, t.consumer, scopes);
  t.consumerKey = consumerKey.secret;
  t.consumerKeyId = consumerKey.id;
  t.enterpriseKey = (await apiKey(node.base, t.enterprise, scopes)).secret;
  t.psbKey = (
    await apiKey(node.base, psb, ['catalog:read', 'catalog:write', 'sharing', 'identity:read'])
  ).secret;
  const revoked = await apiKey(node.base, t.consumer, scopes);
  await call(node.base, 'POST', `/v1/api-keys/${revoked.id}/revoke`, { token: t.consumer });
  t.revokedKey = revoked.secret;
  const me = (await call(node.base, 'GET', '/v1/me', { token: t.consumer })).json;
  consumerUserId = me.user.id;
  civilOrgId = me.organization.id;
});
afterAll(async () => {
  report('hostile requests', { requests, slowestMs });
  await cleanUp();
});

describe('SQL injection in every gateway parameter', () => {
  it('is answered as a value or refused with a 4xx, never run, never a 5xx, never leaking internals', async () => {
    const before = await databaseShape();
    for (const inj of INJECTIONS) {
      const v = encodeURIComponent(inj);
      // A value on a text field is a bound parameter: it matches nothing.
      for (const query of [
        `district=eq.${v}`,
        `district=like.${v}`,
        `district=in.(${v},x)`,
        `record_no=eq.${v}`,
      ]) {
        const res = await gateway(query);
        expectSafe(res, query);
        expect(res.status, query).toBe(200);
        expect(res.json.items, query).toEqual([]);
      }
      // Rows it does return are real rows, masked as agreed.
      const neq = await gateway(`district=neq.${v}&limit=1000`);
      expectSafe(neq, 'neq');
      expect(neq.json.items).toHaveLength(ROWS);
      expect(
        neq.json.items.every(
          (r: { district: string; name: string }) => DISTRICTS.includes(r.district) && !r.name.includes('小'),
        ),
      ).toBe(true);
      // Everything else is refused.
      for (const query of [
        `visits=eq.${v}`,
        `visits=gte.${v}`,
        `district=${v}`,
        `district=${v}.x`,
        `${v}=eq.1`,
        `name=eq.${v}`,
        `order=${v}`,
        `order=district.${v}`,
        `order=record_no,${v}`,
        `select=${v}`,
        `select=record_no,${v}`,
        `cursor=${v}`,
        `limit=${v}`,
        `format=${v}`,
      ]) {
        const res = await gateway(query);
        expectSafe(res, query);
        expect(res.status, `${query}: ${res.text}`).toBeGreaterThanOrEqual(400);
      }
      // The aggregate body.
      for (const body of [
        { groupBy: [inj], metrics: [{ fn: 'count' }] },
        { metrics: [{ fn: 'sum', field: inj }] },
        { metrics: [{ fn: 'count' }], filter: { field: inj, op: 'eq', value: 1 } },
        { metrics: [{ fn: 'count' }], filter: { field: 'district', op: inj, value: 1 } },
        { metrics: [{ fn: 'count' }], filter: { field: 'visits', op: 'eq', value: inj } },
      ]) {
        const res = await timed(() =>
          call(node.base, 'POST', `/v1/gateway/contracts/${contract}/aggregate`, {
            token: t.consumerKey,
            json: body,
          }),
        );
        expectSafe(res, JSON.stringify(body));
        expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      }
      const counted = await timed(() =>
        call(node.base, 'POST', `/v1/gateway/contracts/${contract}/aggregate`, {
          token: t.consumerKey,
          json: { metrics: [{ fn: 'count' }], filter: { field: 'district', op: 'eq', value: inj } },
        }),
      );
      expectSafe(counted, 'aggregate value');
      // The catalog search and the public CKAN search take free text.
      for (const url of [
        `/v1/catalog/search?q=${v}`,
        `/v1/catalog/search?provider=${v}`,
        `/api/3/action/package_search?q=${v}`,
        `/api/3/action/package_search?fq=${v}`,
        `/api/3/action/package_show?id=${v}`,
        `/v1/resources/${v}`,
        `/v1/applications?state=${v}`,
        `/v1/audit/entries?action=${v}`,
      ]) {
        const res = await timed(() => call(node.base, 'GET', url, { token: t.consumerKey }));
        expectSafe(res, url);
      }
    }
    // pg_sleep never ran, nothing was dropped, deleted or copied.
    expect(slowestMs).toBeLessThan(8_000);
    expect(await databaseShape()).toEqual(before);
    expect(existsSync(COPY_TARGET)).toBe(false);
    // Rows come in the contract's keyed order (not file order): each is still a real, intact row.
    const sample = await gateway('select=record_no,district&limit=3');
    expect(sample.json.items).toHaveLength(3);
    for (const item of sample.json.items as Array<{ record_no: string }>) {
      const i = Number(item.record_no.slice(1));
      expect(item).toEqual({ record_no: row(i, 'h').record_no, district: row(i, 'h').district });
    }
  });
});

describe('oversized requests', () => {
  it('refuses a JSON body over the limit with 413, on public and authenticated routes', async () => {
    const big = 'x'.repeat(2 * MiB);
    for (const [url, token] of [
      ['/v1/auth/login', undefined],
      ['/v1/applications', t.consumer],
    ] as const) {
      const res = await call(node.base, 'POST', url, {
        token,
        json: { ...applicationFor(resource.code), username: 'admin', password: 'x', purpose: big },
      });
      expect(res.status, `${url}: ${res.text.slice(0, 200)}`).toBe(413);
      expect(res.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    }
  });

  it('refuses an upload over the limit with 413, leaving no file and no version behind', async () => {
    const versionsBefore = await db.selectFrom('dataset_versions').select('id').execute();
    const res = await call(
      node.base,
      'POST',
      `/v1/resources/${resource.code}/versions?filename=big.csv&wait=true`,
      {
        token: t.steward,
        body: csvOf(60_000, 'big'),
        headers: { 'content-type': 'text/csv' },
      },
    );
    expect(res.status, res.text.slice(0, 300)).toBe(413);
    expect(res.json.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { limitBytes: UPLOAD_LIMIT },
    });
    expect(readdirSync(`${dataDir}/uploads`)).toEqual([]);
    expect(await db.selectFrom('dataset_versions').select('id').execute()).toEqual(versionsBefore);
    // The refused upload's connection is closed, not left half-read: the client's next requests
    // (on pooled keep-alive connections) are answered.
    for (let i = 0; i < 4; i++) {
      expect((await call(node.base, 'GET', '/healthz', { timeoutMs: 5_000 })).status).toBe(200);
    }
  });

  it('refuses oversized headers without a 5xx and stays up', async () => {
    // Raw, because an HTTP client may not read an answer the server sends before the request ends.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(node.port, '127.0.0.1', () => {
        socket.write(
          `GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${'a'.repeat(64 * 1024)}\r\n\r\n`,
        );
      });
      let text = '';
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer to oversized headers')));
      socket.on('data', (d) => {
        text += d;
      });
      socket.on('close', () => resolve(text));
      socket.on('error', (error) => (text ? resolve(text) : reject(error)));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect((await call(node.base, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('path traversal', () => {
  it('keeps only the base name of an uploaded file and writes nothing outside the upload area', async () => {
    const passwd = statSync('/etc/passwd');
    const names: Array<[string, string]> = [
      ['../../etc/passwd', 'passwd'],
      ['../../../../../../tmp/shutong-evil.csv', 'shutong-evil.csv'],
      ['/etc/cron.d/evil', 'evil'],
      ['C:\\Windows\\..\\..\\evil.csv', 'evil.csv'],
      ['uploads/../../x.csv', 'x.csv'],
    ];
    for (const [name, base] of names) {
      const res = await call(
        node.base,
        'POST',
        `/v1/resources/${resource.code}/versions?filename=${encodeURIComponent(name)}&wait=true`,
        { token: t.steward, body: csvOf(3, 'pt'), headers: { 'content-type': 'text/csv' } },
      );
      expect(res.status, `${name}: ${res.text}`).toBe(201);
      const version = await call(
        node.base,
        'GET',
        `/v1/resources/${resource.code}/versions/${res.json.versionNumber}`,
        {
          token: t.steward,
        },
      );
      expect(version.json.sourceName, name).toBe(base);
    }
    expect(statSync('/etc/passwd').mtimeMs).toBe(passwd.mtimeMs);
    expect(existsSync('/tmp/shutong-evil.csv')).toBe(false);
    expect(existsSync('/etc/cron.d/evil')).toBe(false);
    expect(readdirSync(`${dataDir}/uploads`)).toEqual([]);
    // A file name with a NUL byte or control characters is refused or cleaned, never a 5xx.
    for (const name of ['a\u0000.csv', 'line\nbreak.csv']) {
      const res = await call(
        node.base,
        'POST',
        `/v1/resources/${resource.code}/versions?filename=${encodeURIComponent(name)}&wait=true`,
        { token: t.steward, body: csvOf(3, 'pt'), headers: { 'content-type': 'text/csv' } },
      );
      expectSafe(res, JSON.stringify(name));
    }
    // Traversal in URLs reaches no file.
    for (const url of [
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/docs/..%2f..%2f..%2fetc%2fpasswd',
      '/docs/static/..%2f..%2fpackage.json',
      `/v1/resources/..%2f..%2fetc%2fpasswd/versions`,
      '/console/..%2f..%2fpackage.json',
      '/assets/..%2f..%2f..%2fetc%2fpasswd',
    ]) {
      const res = await call(node.base, 'GET', url, { token: t.steward });
      expect(res.text, url).not.toContain('root:x:0:0');
      expect(res.text, url).not.toContain('"name": "shutong"');
      expect(res.status, url).toBeLessThan(500);
    }
  });
});

describe('credentials', () => {
  const PUBLIC = new Set([...PUBLIC_OPERATIONS, ...OPEN_DATA_OPERATIONS]);

  async function routes() {
    const doc = (await call(node.base, 'GET', '/openapi.json')).json as {
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    return Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        key: `${method.toUpperCase()} ${path}`,
        url: path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'number' ? '1' : `x${name}`)),
        // An empty requirement ({}) among the alternatives makes a credential optional (open data).
        secured:
          Array.isArray(op.security) &&
          !op.security.some((r) => typeof r === 'object' && r !== null && Object.keys(r).length === 0),
      })),
    );
  }

  it('refuses every non-public route without credentials, with a bad one and with a revoked key: 401', async () => {
    const all = await routes();
    expect(all.length).toBeGreaterThan(40);
    const unexpectedPublic = all.filter((r) => !r.secured && !PUBLIC.has(r.key)).map((r) => r.key);
    expect(unexpectedPublic, 'routes without authentication that are not on the public list').toEqual([]);
    let checked = 0;
    for (const r of all.filter((x) => x.secured)) {
      for (const token of [undefined, 'stk_notarealkey', 'sts_notarealsession', t.revokedKey]) {
        const res = await call(node.base, r.method, r.url, {
          token,
          ...(r.method === 'GET' || r.method === 'HEAD' ? {} : { json: {} }),
        });
        expect(res.status, `${r.key} with ${token ? token.slice(0, 8) : 'no credential'}: ${res.text}`).toBe(
          401,
        );
        // A HEAD answer has no body (the gateway's rows endpoint answers HEAD, as PostgREST).
        if (r.method !== 'HEAD') expect(res.json.error.code).toBe('UNAUTHENTICATED');
        checked++;
      }
    }
    report('hostile requests: routes refused without valid credentials', {
      routes: all.length,
      public: all.length - all.filter((r) => r.secured).length,
      refusals: checked,
    });
  });

  it("refuses another organization's keys on the gateway (404) and on organization-scoped objects (403)", async () => {
    const cases: Array<[string, string, string, unknown?]> = [
      [t.enterpriseKey, 'GET', `/v1/gateway/contracts/${contract}/rows`],
      [
        t.enterpriseKey,
        'POST',
        `/v1/gateway/contracts/${contract}/aggregate`,
        { metrics: [{ fn: 'count' }] },
      ],
      [t.enterpriseKey, 'GET', `/v1/contracts/${contract}`],
      [t.enterpriseKey, 'GET', `/v1/contracts/${contract}/receipt`],
      [t.enterpriseKey, 'GET', `/v1/contracts/${contract}/usage`],
      [t.enterpriseKey, 'POST', `/v1/contracts/${contract}/revoke`, { reason: '越权吊销' }],
      [t.enterpriseKey, 'GET', `/v1/applications/${applicationId}`],
      [t.enterpriseKey, 'POST', `/v1/applications/${applicationId}/withdraw`],
      [t.enterpriseKey, 'GET', `/v1/users/${consumerUserId}`],
      [t.enterpriseKey, 'PATCH', `/v1/organizations/${civilOrgId}`, { name: '被篡改的机构' }],
      [t.enterpriseKey, 'POST', `/v1/api-keys/${t.consumerKeyId}/revoke`],
      [t.psbKey, 'GET', `/v1/jobs/${jobId}`],
      [t.psbKey, 'POST', `/v1/resources/${resource.code}/versions/1/activate`],
      [t.psbKey, 'PATCH', `/v1/resources/${resource.code}`, { revision: 1, name: '被篡改的资源' }],
      [
        t.psbKey,
        'PUT',
        `/v1/resources/${resource.code}/fields/name/grade`,
        { grade: 'g1', reason: '越权降级' },
      ],
      [t.psbKey, 'POST', `/v1/resources/${resource.code}/classification/scan`],
      [t.psbKey, 'POST', `/v1/applications/${applicationId}/approve`, {}],
      [t.psbKey, 'POST', `/v1/contracts/${contract}/suspend`, { reason: '越权暂停' }],
    ];
    const before = await databaseShape();
    const contractBefore = await db
      .selectFrom('contracts')
      .selectAll()
      .where('id', '=', contract)
      .executeTakeFirstOrThrow();
    for (const [token, method, url, body] of cases) {
      const res = await call(node.base, method, url, {
        token,
        ...(body === undefined ? {} : { json: body }),
      });
      // A contract the caller may not see is answered like a missing one (404): ids cannot be probed.
      expect(res.status, `${method} ${url}: ${res.text}`).toBe(url.includes('/contracts/') ? 404 : 403);
      expect(res.text, url).not.toContain(row(0, 'h').record_no);
      expect(res.text, url).not.toContain('就诊');
    }
    const upload = await call(node.base, 'POST', `/v1/resources/${resource.code}/versions?wait=true`, {
      token: t.psbKey,
      body: csvOf(3, 'x'),
      headers: { 'content-type': 'text/csv' },
    });
    expect(upload.status, upload.text).toBe(403);
    // Nothing changed, and the consumer's own key still works.
    expect(await databaseShape()).toEqual(before);
    expect(
      await db.selectFrom('contracts').selectAll().where('id', '=', contract).executeTakeFirstOrThrow(),
    ).toEqual(contractBefore);
    expect((await gateway('limit=1')).status).toBe(200);
    // The public catalog shows nothing of a resource that is not open.
    for (const url of ['/dcat/catalog.jsonld', '/api/3/action/package_search?q=门诊']) {
      const res = await call(node.base, 'GET', url);
      expect(res.status, url).toBe(200);
      expect(res.text, url).not.toContain(resource.code);
    }
  });
});
