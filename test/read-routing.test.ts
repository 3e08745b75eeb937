/**
 * DATABASE_READ_URL: routes marked `staleRead` read from a streaming replica, everything else —
 * authentication above all — from the primary. The proof uses a real replica whose replay is
 * paused: what a stale-read route cannot see yet, a primary route already sees, and a key revoked
 * on the primary is refused on the very next request even on a replica route.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import { type DatabaseHandle, openDatabase } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { seedDemo } from '../src/demo/seed.ts';
import { buildServer } from '../src/server.ts';
import { DEMO_PASSWORD } from './helpers.ts';
import { type ReplicatedCluster, replicatedCluster } from './support/pg-replica.ts';

let cluster: ReplicatedCluster;
let routed: DatabaseHandle;
let primaryOnly: DatabaseHandle;
let app: FastifyInstance;
let plain: FastifyInstance;
const staleRoutes: string[] = [];
let steward = '';

const resource = (name: string) => ({
  name,
  summary: '读路由测试资源',
  theme: 'social_security',
  keywords: ['读路由'],
  updateCycle: 'monthly',
  sharingType: 'conditional',
  sharingConditions: '用于测试',
  openType: 'not_open',
  fields: [{ name: 'person_id', label: '公民身份号码', dataType: 'text', isKey: true }],
});

const config = loadConfig({
  DEMO_PASSWORD,
  LOG_LEVEL: 'silent',
  DATABASE_URL: 'postgres://placeholder/primary',
  DATABASE_READ_URL: 'postgres://placeholder/replica',
});

async function request(
  server: FastifyInstance,
  method: 'GET' | 'POST',
  url: string,
  token?: string,
  payload?: object,
) {
  return server.inject({
    method,
    url,
    ...(payload ? { payload } : {}),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

const searchNames = async (server: FastifyInstance, q: string) => {
  const res = await request(server, 'GET', `/v1/catalog/search?q=${encodeURIComponent(q)}`, steward);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items.map((r: { name: string }) => r.name) as string[];
};

beforeAll(async () => {
  cluster = await replicatedCluster();
  await cluster.primary('create database shutong');
  const urls = cluster.database('shutong');
  routed = await openDatabase({ url: urls.primary, readUrl: urls.replica, poolSize: 4 });
  primaryOnly = await openDatabase({ url: urls.primary, poolSize: 4 });
  await migrate(routed.db);
  await seedDemo(cliCtx(routed.db, config), { data: false });
  app = await buildServer({
    config,
    database: routed,
    instrument: (server) =>
      server.addHook('onRoute', (route) => {
        if (route.config?.staleRead) staleRoutes.push(`${route.method} ${route.url}`);
      }),
  });
  plain = await buildServer({ config, database: primaryOnly });
  await Promise.all([app.ready(), plain.ready()]);
  const login = await request(app, 'POST', '/v1/auth/login', undefined, {
    username: 'steward.health',
    password: DEMO_PASSWORD,
  });
  steward = login.json().token;
  await cluster.caughtUp();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await plain?.close();
  await routed?.close();
  await primaryOnly?.close();
  await cluster?.stop();
});

describe('reads that tolerate staleness go to the replica', () => {
  it('marks only read-only routes, and only the few listed', () => {
    expect(staleRoutes.filter((r) => !/^(GET|HEAD) /.test(r))).toEqual([]);
    expect([...new Set(staleRoutes.map((r) => r.replace(/^\S+ /, '')))].sort()).toEqual([
      '/dcat/catalog.jsonld',
      '/v1/catalog/search',
      '/v1/ratings/stats',
    ]);
  });

  it('serves catalog search from the replica and the resource itself from the primary', async () => {
    await cluster.replica('select pg_wal_replay_pause()');
    try {
      const created = await request(app, 'POST', '/v1/resources', steward, resource('读路由甲资源'));
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().id as string;
      // The primary has it: the resource's own page (not a stale-read route) shows it at once.
      const direct = await request(app, 'GET', `/v1/resources/${id}`, steward);
      expect(direct.statusCode).toBe(200);
      // The paused replica has not replayed it: search through the replica does not find it yet…
      expect(await searchNames(app, '读路由甲资源')).toEqual([]);
      // …while a server without DATABASE_READ_URL reads everything from the primary.
      expect(await searchNames(plain, '读路由甲资源')).toEqual(['读路由甲资源']);
    } finally {
      await cluster.replica('select pg_wal_replay_resume()');
    }
    await cluster.caughtUp();
    expect(await searchNames(app, '读路由甲资源')).toEqual(['读路由甲资源']);
  });

  it('authenticates on the primary: a new key works and a revoked one is refused at once, even on a replica route', async () => {
    await cluster.replica('select pg_wal_replay_pause()');
    try {
      const created = await request(app, 'POST', '/v1/api-keys', steward, {
        name: 'read routing',
        scopes: ['catalog:read'],
      });
      expect(created.statusCode, created.body).toBe(201);
      const key = created.json();
      // The replica does not know this key yet; the search still authenticates it (primary).
      const search = await request(app, 'GET', '/v1/catalog/search?q=x', key.secret);
      expect(search.statusCode, search.body).toBe(200);
      const revoked = await request(app, 'POST', `/v1/api-keys/${key.id}/revoke`, steward, {});
      expect(revoked.statusCode, revoked.body).toBe(200);
      const after = await request(app, 'GET', '/v1/catalog/search?q=x', key.secret);
      expect(after.statusCode).toBe(401);
    } finally {
      await cluster.replica('select pg_wal_replay_resume()');
    }
  });

  it('refuses every unknown credential on a replica route, whatever the replica holds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^stk_[A-Za-z0-9_-]{1,40}$/), async (secret) => {
        const res = await request(app, 'GET', '/v1/catalog/search?q=x', secret);
        expect(res.statusCode).toBe(401);
      }),
      { numRuns: 25 },
    );
  });

  it('reads the primary when no replica gives a connection', async () => {
    const urls = cluster.database('shutong');
    // Port 1 on localhost: nothing listens, every replica connection is refused.
    const noReplica = await openDatabase({
      url: urls.primary,
      readUrl: 'postgres://postgres@127.0.0.1:1/shutong',
    });
    const server = await buildServer({ config, database: noReplica });
    try {
      expect(await searchNames(server, '读路由甲资源')).toEqual(['读路由甲资源']);
    } finally {
      await server.close();
      await noReplica.close();
    }
  });

  it('refuses DATABASE_READ_URL without DATABASE_URL, in both languages', () => {
    expect(() => loadConfig({ DATABASE_READ_URL: 'postgres://replica/db' })).toThrow(
      /DATABASE_READ_URL.*DATABASE_URL.*DATABASE_READ_URL needs DATABASE_URL/,
    );
  });
});
