/**
 * Small process helpers shared by the local cluster (`npm run cluster`) and the tests that run
 * their own PostgreSQL servers (test/support/pg-replica.ts, test/reliability/support.ts).
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import net from 'node:net';

/** Runs a command to its end; stdout and stderr together, never a rejection (a spawn error is output). */
export function exec(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', (e) => {
      output += String(e);
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The newest PostgreSQL server's bin directory under /usr/lib/postgresql, or a clear error. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(`${root}/${d.name}/bin/initdb`))
        .map((d) => d.name)
        .sort((x, y) => Number(x) - Number(y))
    : [];
  if (versions.length === 0) {
    throw new Error('PostgreSQL server binaries are missing: apt-get install postgresql');
  }
  return `${root}/${versions.at(-1)}/bin`;
}

/** Runs commands as the unprivileged user when this process is root, as itself otherwise. */
export interface Unprivileged {
  exec(command: string, args: string[]): ReturnType<typeof exec>;
  spawn(command: string, args: string[], options: SpawnOptions): ChildProcess;
  /** Hands a file or directory to that user (nothing to do when not root). */
  own(file: string): void;
}

/** The user .ci/run and the local cluster run PostgreSQL, Patroni and etcd as when started by root. */
export const UNPRIVILEGED_USER = 'shutongci';

/**
 * initdb and postgres refuse to run as root: as root, the user is created when missing and every
 * command goes through runuser.
 */
export async function unprivileged(): Promise<Unprivileged> {
  if (process.getuid?.() !== 0) {
    return { exec, spawn: (command, args, options) => spawn(command, args, options), own: () => {} };
  }
  const user = UNPRIVILEGED_USER;
  if ((await exec('id', ['-u', user])).code !== 0) {
    const added = await exec('useradd', ['--system', '--no-create-home', user]);
    // Two test files may race to create it: the loser's useradd fails, but the user exists.
    if (added.code !== 0 && (await exec('id', ['-u', user])).code !== 0) {
      throw new Error(`useradd ${user}: ${added.output}`);
    }
  }
  const uid = Number((await exec('id', ['-u', user])).output.trim());
  const wrap = (command: string, args: string[]) => ['-u', user, '--', command, ...args];
  return {
    exec: (command, args) => exec('runuser', wrap(command, args)),
    spawn: (command, args, options) => spawn('runuser', wrap(command, args), options),
    own: (file) => chownSync(file, uid, 0),
  };
}
