/**
 * Gateway reads routed to two replicas vs all on the leader (issue 21), on a local Patroni cluster
 * (`scripts/cluster.ts`: etcd, three PostgreSQL 15 instances, HAProxy): the gateway bench's
 * scenario (a 1,000-row masked, filtered page at concurrency 32) served by two Shutong servers in
 * this process — one with DATABASE_READ_URL on HAProxy's read-only port, one without — measured
 * one after the other, with the CPU each process of the machine spent per request.
 *
 * On one 2-core machine all three database instances share the same two cores, so this shows that
 * the routing works (the replicas' CPU carries the page queries) and what it costs, not the
 * scaling three hosts would give: ARCHITECTURE.md ("Gateway rows on the replicas") says what to
 * expect there and why. Needs root (or Patroni, etcd and HAProxy installed) like `npm run cluster`.
 *
 *   npm run bench -- replica
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type LocalCluster, startLocalCluster } from '../scripts/cluster.ts';
import { loadConfig } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import { type DatabaseHandle, openDatabase } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { seedDemo } from '../src/demo/seed.ts';
import { buildServer } from '../src/server.ts';
import { gatewayScenario, load, type Measured } from './gateway.bench.ts';
import type { ProcessInfo } from './support.ts';

/** Each instance's postmaster and its children by node name; HAProxy, Patroni and etcd by name. */
function clusterProcesses(cluster: LocalCluster) {
  const postmasters = new Map<string, string>();
  for (const node of cluster.nodes) {
    const pidFile = path.join(node.dataDir, 'postmaster.pid');
    if (existsSync(pidFile)) postmasters.set(readFileSync(pidFile, 'utf8').split('\n')[0]!.trim(), node.name);
  }
  return (p: ProcessInfo): string | null => {
    const instance = postmasters.get(p.pid) ?? postmasters.get(p.ppid);
    if (instance) return instance;
    if (p.cmdline.includes('/usr/sbin/haproxy') && p.cmdline.includes(cluster.dir)) return 'haproxy';
    if (p.cmdline.includes('patroni') && p.cmdline.includes(cluster.dir)) return 'patroni';
    if (p.cmdline.includes('/usr/bin/etcd') && p.cmdline.includes(cluster.dir)) return 'etcd';
    return null;
  };
}

export async function run(): Promise<void> {
  const cluster = await startLocalCluster({ database: 'shutong' });
  const handles: DatabaseHandle[] = [];
  const apps: FastifyInstance[] = [];
  try {
    const config = loadConfig({
      LOG_LEVEL: 'warn',
      SEED_DEMO: 'true',
      DATA_DIR: path.join(os.tmpdir(), path.basename(cluster.dir)),
    });
    const serve = async (readUrl?: string) => {
      const database = await openDatabase({ url: cluster.databaseUrl, readUrl, poolSize: 20 });
      handles.push(database);
      const app = await buildServer({ config, database, logStream: { write: () => true } as never });
      apps.push(app);
      return { database, app };
    };
    const leaderOnly = await serve();
    await migrate(leaderOnly.database.db);
    await seedDemo(cliCtx(leaderOnly.database.db, config));
    const routed = await serve(cluster.readUrl);
    const { contractId, key } = await gatewayScenario(leaderOnly.app, leaderOnly.database, config);
    const leader = await cluster.leader();
    const urls = new Map<string, string>();
    for (const [name, { app }] of [
      ['leader only', leaderOnly],
      ['rows on the replicas', routed],
    ] as const) {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      urls.set(
        name,
        `http://127.0.0.1:${port}/v1/gateway/contracts/${contractId}/rows?limit=1000&visits=gte.3`,
      );
    }
    // Warm both (and let the replicas replay the order index the first read builds).
    for (const url of urls.values()) {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
        if (res.status !== 200) throw new Error(`warm-up: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    const groups = clusterProcesses(cluster);
    const results = new Map<string, Measured & { cpuByGroup: Map<string, number> }>();
    for (const [name, url] of urls)
      results.set(name, await load(url, { authorization: `Bearer ${key}` }, groups));
    const role = (node: string) => (node === leader ? `${node} (leader)` : `${node} (replica)`);
    const table: Record<string, Record<string, string>> = {};
    for (const [name, m] of results) {
      const row: Record<string, string> = {
        'req/s': m.requestsPerSecond.toFixed(1),
        'p50 ms': String(m.p50),
        non2xx: String(m.non2xx),
        'Node CPU ms/req': m.nodeCpuMs.toFixed(2),
      };
      for (const node of cluster.nodes) row[role(node.name)] = (m.cpuByGroup.get(node.name) ?? 0).toFixed(2);
      for (const other of ['haproxy', 'patroni', 'etcd'])
        row[other] = (m.cpuByGroup.get(other) ?? 0).toFixed(2);
      table[name] = row;
    }
    console.log(
      '\nGateway rows on the replicas: the gateway scenario (1,000-row masked, filtered page, 32 connections), CPU ms per request by process',
    );
    console.table(table);
    const routedRun = results.get('rows on the replicas')!;
    const onReplicas = cluster.nodes
      .filter((n) => n.name !== leader)
      .reduce((sum, n) => sum + (routedRun.cpuByGroup.get(n.name) ?? 0), 0);
    console.log(
      `routed / leader only = ${(routedRun.requestsPerSecond / results.get('leader only')!.requestsPerSecond).toFixed(2)}× req/s; the replicas carried ${onReplicas.toFixed(2)} ms of PostgreSQL CPU per routed request`,
    );
  } finally {
    for (const app of apps) await app.close().catch(() => {});
    for (const handle of handles) await handle.close().catch(() => {});
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
