/**
 * While the primary is away or read-only — a failover in progress — a write answers 503
 * NOT_READY with Retry-After and a message in both languages, never 500; /readyz says 503 too;
 * once one request has seen the primary away, later ones are refused by the fail-fast gate
 * without queueing for a connection; and the server recovers by itself when the primary is back.
 * Real servers: a primary and a streaming replica from the machine's PostgreSQL binaries.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
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
let onPrimary: DatabaseHandle;
let onReplica: DatabaseHandle;
let primaryApp: FastifyInstance;
let replicaApp: FastifyInstance;
let token = '';

const config = loadConfig({ DEMO_PASSWORD, LOG_LEVEL: 'silent' });

const inject = (server: FastifyInstance, method: 'GET' | 'POST', url: string, payload?: object) =>
  server.inject({
    method,
    url,
    ...(payload ? { payload } : {}),
    headers: { authorization: `Bearer ${token}` },
  });

const newResource = (name: string) => ({
  name,
  summary: '故障切换测试资源',
  theme: 'social_security',
  keywords: ['切换'],
  updateCycle: 'monthly',
  sharingType: 'conditional',
  sharingConditions: '用于测试',
  openType: 'not_open',
  fields: [{ name: 'person_id', label: '公民身份号码', dataType: 'text', isKey: true }],
});

function expectNotReady(res: LightMyRequestResponse) {
  expect(res.statusCode, res.body).toBe(503);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  const body = res.json();
  expect(body.error.code).toBe('NOT_READY');
  expect(body.error.messages['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
  expect(body.error.messages.en).toMatch(/unavailable/);
}

beforeAll(async () => {
  cluster = await replicatedCluster();
  await cluster.primary('create database shutong');
  const urls = cluster.database('shutong');
  onPrimary = await openDatabase({ url: urls.primary, poolSize: 4 });
  await migrate(onPrimary.db);
  await seedDemo(cliCtx(onPrimary.db, config), { data: false });
  primaryApp = await buildServer({ config, database: onPrimary });
  const login = await primaryApp.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { username: 'steward.health', password: DEMO_PASSWORD },
  });
  token = login.json().token;
  await cluster.caughtUp();
  // DATABASE_URL reaching a read-only server: what a node sees when its address still points at
  // a primary that was demoted, or a proxy sends it to a replica mid-failover.
  onReplica = await openDatabase({ url: urls.replica, poolSize: 4 });
  replicaApp = await buildServer({ config, database: onReplica });
  await Promise.all([primaryApp.ready(), replicaApp.ready()]);
}, 120_000);

afterAll(async () => {
  await primaryApp?.close();
  await replicaApp?.close();
  await onPrimary?.close();
  await onReplica?.close();
  await cluster?.stop();
});

describe('a read-only database (failover in progress)', () => {
  it('answers a write with 503 NOT_READY and Retry-After, and /readyz with 503', async () => {
    const ready = await replicaApp.inject({ method: 'GET', url: '/readyz' });
    expectNotReady(ready);
    const write = await inject(replicaApp, 'POST', '/v1/resources', newResource('只读时登记'));
    expectNotReady(write);
    // Later requests are answered by the gate, reads included: the node has no writable primary.
    expect(onReplica.available()).toBe(false);
    expectNotReady(await inject(replicaApp, 'GET', '/v1/catalog/search?q=x'));
    // Nothing was written anywhere.
    const found = await onPrimary.db
      .selectFrom('resources')
      .select('id')
      .where('name', '=', '只读时登记')
      .execute();
    expect(found).toEqual([]);
  });
});

describe('the primary crashes and comes back', () => {
  it('answers 503 with Retry-After (never 500) while it is down, then recovers by itself', async () => {
    expect((await inject(primaryApp, 'POST', '/v1/resources', newResource('崩溃前登记'))).statusCode).toBe(
      201,
    );
    await cluster.crashPrimary();
    try {
      expectNotReady(await inject(primaryApp, 'POST', '/v1/resources', newResource('崩溃时登记')));
      expect(onPrimary.available()).toBe(false);
      for (const res of await Promise.all([
        inject(primaryApp, 'POST', '/v1/resources', newResource('崩溃时再登记')),
        inject(primaryApp, 'GET', '/v1/catalog/search?q=x'),
        primaryApp.inject({ method: 'GET', url: '/readyz' }),
      ])) {
        expectNotReady(res);
      }
    } finally {
      await cluster.startPrimary();
    }
    // The gate's probe finds the primary writable again; no restart of the server is needed.
    for (;;) {
      const ready = await primaryApp.inject({ method: 'GET', url: '/readyz' });
      if (ready.statusCode === 200) break;
      expect(ready.statusCode).toBe(503);
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await inject(primaryApp, 'POST', '/v1/resources', newResource('恢复后登记'));
    expect(after.statusCode, after.body).toBe(201);
    const names = (
      await onPrimary.db
        .selectFrom('resources')
        .select('name')
        .where('name', 'in', ['崩溃前登记', '崩溃时登记', '崩溃时再登记', '恢复后登记'])
        .execute()
    ).map((r) => r.name);
    expect(names.sort()).toEqual(['崩溃前登记', '恢复后登记'].sort());
  }, 60_000);
});
