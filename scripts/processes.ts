/**
 * Small process helpers shared by the local cluster (`npm run cluster`) and the tests that run
 * their own PostgreSQL servers (test/support/pg-replica.ts, test/reliability/support.ts).
 */
import { spawn } from 'node:child_process';
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
