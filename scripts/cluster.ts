/**
 * `npm run cluster` — a local, throwaway high-availability PostgreSQL for development and the
 * failover test: one etcd, three PostgreSQL 15 instances run by Patroni (leader election,
 * streaming replication with one synchronous standby, automatic failover), and HAProxy with a
 * read-write port on the leader and a read-only port on the healthy replicas, both decided by
 * Patroni's REST health checks. All from Debian's packages (installed with apt when missing and
 * running as root), in a temporary directory on free ports: the machine's PostgreSQL on 5432 is
 * never touched. deploy/ holds the same configuration for three real hosts.
 *
 *   npm run cluster            starts it, prints DATABASE_URL and DATABASE_READ_URL, Ctrl-C stops it
 *
 * As root, every process runs as the unprivileged user `shutongci` (PostgreSQL refuses root).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { exec, freePort, postgresBin, unprivileged } from './processes.ts';

const PACKAGES = ['patroni', 'etcd-server', 'etcd-client', 'haproxy'];
const TOOLS = ['/usr/bin/patroni', '/usr/bin/etcd', '/usr/sbin/haproxy'];

export interface ClusterNode {
  name: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
  configFile: string;
}

export interface Member {
  name: string;
  role: string;
  state: string;
  timeline?: number;
  lag?: number | string;
}

export interface LocalCluster {
  dir: string;
  /** Read-write endpoint (HAProxy → the leader). */
  databaseUrl: string;
  /** Read-only endpoint (HAProxy → the replicas). */
  readUrl: string;
  nodes: ClusterNode[];
  /** Members as Patroni's REST API reports them (asked of the first node that answers). */
  members(): Promise<Member[]>;
  /** The current leader's name, when there is one. */
  leader(): Promise<string | undefined>;
  /** SIGKILL of the node's postmaster (not Patroni): a crash of the database server. */
  killPostgres(name: string): void;
  /** A planned switchover through Patroni's REST API. */
  switchover(candidate: string): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Installs Patroni, etcd and HAProxy with apt when one is missing (root only; otherwise says how). */
export async function ensurePackages(): Promise<void> {
  if (TOOLS.every((tool) => existsSync(tool))) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`Patroni, etcd or HAProxy is missing: sudo apt-get install ${PACKAGES.join(' ')}`);
  }
  const update = await exec('apt-get', ['update', '-qq']);
  if (update.code !== 0) throw new Error(`apt-get update: ${update.output}`);
  const install = await exec('apt-get', ['install', '-y', '-qq', ...PACKAGES]);
  if (install.code !== 0) throw new Error(`apt-get install: ${install.output}`);
}

/** Patroni's configuration for one local node (deploy/patroni.yml is the same for real hosts). */
function patroniConfig(node: ClusterNode, etcdPort: number, dir: string, bin: string): string {
  return `scope: shutong
name: ${node.name}
restapi:
  listen: 127.0.0.1:${node.restPort}
  connect_address: 127.0.0.1:${node.restPort}
etcd3:
  hosts: 127.0.0.1:${etcdPort}
bootstrap:
  dcs:
    # Failover within seconds on one machine: the leader key lives 10 s, Patroni loops every
    # second, and a crashed leader's PostgreSQL is not restarted in place (primary_start_timeout 0)
    # but replaced by the synchronous standby.
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    primary_start_timeout: 0
    maximum_lag_on_failover: 1048576
    # An acknowledged commit is on two servers: losing the primary loses no acknowledged write.
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        synchronous_commit: 'on'
        max_connections: 100
        wal_keep_size: 128MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
    - auth: trust
postgresql:
  listen: 127.0.0.1:${node.pgPort}
  connect_address: 127.0.0.1:${node.pgPort}
  data_dir: ${node.dataDir}
  bin_dir: ${bin}
  pgpass: ${dir}/${node.name}.pgpass
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
    rewind:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: ${dir}
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication replicator 127.0.0.1/32 trust
tags:
  nofailover: false
  noloadbalance: false
`;
}

/** HAProxy: the read-write port checks /primary, the read-only port /replica (Patroni's REST API). */
function haproxyConfig(nodes: ClusterNode[], rwPort: number, roPort: number): string {
  const servers = (check: string) =>
    nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.pgPort} check port ${n.restPort}${check}`).join('\n');
  return `global
  maxconn 400
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  # A server marked down has its sessions cut: clients reconnect to the new leader at once.
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
listen primary
  bind 127.0.0.1:${rwPort}
  option httpchk OPTIONS /primary
  http-check expect status 200
${servers('')}
listen replicas
  bind 127.0.0.1:${roPort}
  balance roundrobin
  option httpchk OPTIONS /replica
  http-check expect status 200
${servers('')}
`;
}

async function restGet(port: number, route: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(2_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

export async function startLocalCluster(options: { database?: string } = {}): Promise<LocalCluster> {
  await ensurePackages();
  const bin = postgresBin();
  const user = await unprivileged();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shutong-cluster-'));
  user.own(dir);
  const children: ChildProcess[] = [];
  const run = (name: string, command: string, args: string[]) => {
    const log = openSync(path.join(dir, `${name}.log`), 'a');
    const child = user.spawn(command, args, { stdio: ['ignore', log, log] });
    children.push(child);
    return child;
  };
  const write = (file: string, text: string) => {
    writeFileSync(file, text, { mode: 0o600 });
    user.own(file);
  };

  const [etcdPort, etcdPeer, rwPort, roPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const nodes: ClusterNode[] = [];
  for (const name of ['pg1', 'pg2', 'pg3']) {
    nodes.push({
      name,
      pgPort: await freePort(),
      restPort: await freePort(),
      dataDir: path.join(dir, name),
      configFile: path.join(dir, `${name}.yml`),
    });
  }
  const stop = async () => {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await sleep(2_000);
    // Patroni stops its PostgreSQL on SIGTERM; whatever is left (a postmaster of a killed Patroni) goes now.
    for (const node of nodes) {
      const pidFile = path.join(node.dataDir, 'postmaster.pid');
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const child of children) child.kill('SIGKILL');
    children.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    run('etcd', '/usr/bin/etcd', [
      '--name',
      'etcd1',
      '--data-dir',
      path.join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster',
      `etcd1=http://127.0.0.1:${etcdPeer}`,
      '--enable-v2=false',
    ]);
    await until('etcd to answer', 30_000, async () => {
      const res = await fetch(`http://127.0.0.1:${etcdPort}/health`, { signal: AbortSignal.timeout(1_000) });
      return res.ok;
    });
    for (const node of nodes) {
      write(node.configFile, patroniConfig(node, etcdPort, dir, bin));
      run(node.name, '/usr/bin/patroni', [node.configFile]);
      // The first node bootstraps alone, so it is the one that runs initdb.
      if (node === nodes[0]) {
        await until('the first Patroni node to lead', 60_000, async () => {
          return (await restGet(node.restPort, '/primary')).status === 200;
        });
      }
    }
    const haproxyFile = path.join(dir, 'haproxy.cfg');
    write(haproxyFile, haproxyConfig(nodes, rwPort, roPort));
    run('haproxy', '/usr/sbin/haproxy', ['-db', '-f', haproxyFile]);

    const cluster: LocalCluster = {
      dir,
      databaseUrl: `postgres://postgres@127.0.0.1:${rwPort}/${options.database ?? 'shutong'}`,
      readUrl: `postgres://postgres@127.0.0.1:${roPort}/${options.database ?? 'shutong'}`,
      nodes,
      async members() {
        for (const node of nodes) {
          try {
            const { body } = await restGet(node.restPort, '/cluster');
            return (body as { members: Member[] }).members;
          } catch {
            // this node is down: ask the next
          }
        }
        return [];
      },
      async leader() {
        return (await cluster.members()).find((m) => m.role === 'leader' && m.state === 'running')?.name;
      },
      killPostgres(name) {
        const node = nodes.find((n) => n.name === name);
        if (!node) throw new Error(`no node ${name}`);
        const pid = Number(readFileSync(path.join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(pid, 'SIGKILL');
      },
      async switchover(candidate) {
        const leader = await cluster.leader();
        const node = nodes.find((n) => n.name === leader);
        if (!node) throw new Error('no leader to switch over from');
        const res = await fetch(`http://127.0.0.1:${node.restPort}/switchover`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ leader, candidate }),
          signal: AbortSignal.timeout(60_000),
        });
        if (res.status !== 200) throw new Error(`switchover: ${res.status} ${await res.text()}`);
      },
      stop,
    };
    // Both replicas streaming, one of them synchronous, before anyone relies on the cluster.
    await until('two streaming replicas, one synchronous', 120_000, async () => {
      const members = await cluster.members();
      const streaming = members.filter(
        (m) => m.role !== 'leader' && (m.state === 'streaming' || m.state === 'running'),
      );
      return streaming.length === 2 && members.some((m) => m.role === 'sync_standby');
    });
    const adminUrl = cluster.databaseUrl.replace(/\/[^/]*$/, '/postgres');
    await until('HAProxy to reach the leader', 30_000, async () => {
      const probe = new pg.Client({ connectionString: adminUrl });
      await probe.connect();
      await probe.end();
      return true;
    });
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database "${(options.database ?? 'shutong').replaceAll('"', '""')}"`);
    await admin.end();
    return cluster;
  } catch (error) {
    const logs = readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => `--- ${f}\n${readFileSync(path.join(dir, f), 'utf8').slice(-3_000)}`)
      .join('\n');
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
  }
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cluster = await startLocalCluster();
  const members = await cluster.members();
  process.stdout.write(
    [
      '',
      '  Shutong cluster: etcd + 3 × PostgreSQL (Patroni) + HAProxy',
      `  directory  ${cluster.dir}`,
      ...members.map((m) => `  ${m.name}  ${m.role.padEnd(12)} ${m.state}`),
      '',
      `  export DATABASE_URL=${cluster.databaseUrl}`,
      `  export DATABASE_READ_URL=${cluster.readUrl}`,
      '',
      `  patronictl -c ${cluster.nodes[0]?.configFile} list     (status; switchover, failover …)`,
      '  Ctrl-C stops the cluster and removes its directory.',
      '',
    ].join('\n'),
  );
  const shutdown = async () => {
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Kept alive until a signal stops the cluster.
  setInterval(() => {}, 1 << 30);
}
