import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lingerBeforeClosing } from './linger.ts';

const MiB = 1 << 20;
const LIMIT = 4 * MiB;

// A server that refuses a body after LIMIT bytes the way the upload route does: it answers 413
// with `connection: close` while the client is still sending.
let server: http.Server;
let port: number;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    let size = 0;
    const refuse = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= LIMIT) return;
      req.off('data', refuse);
      req.pause();
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end('{"error":"too large"}');
    };
    req.on('data', refuse);
    req.on('end', () => {
      if (!res.headersSent) res.end('{"ok":true}');
    });
  });
  lingerBeforeClosing(server, { idleMs: 2_000, totalMs: 10_000 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Streams `mib` MiB as the body and resolves with the status, or rejects with the socket error. */
function upload(mib: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: { 'content-length': mib * MiB, 'content-type': 'application/octet-stream' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(MiB, 0x61);
    Readable.from(Array.from({ length: mib }, () => chunk)).pipe(req);
  });
}

describe('lingering close', () => {
  it('delivers the refusal to a client still sending its body, every time', async () => {
    // Without lingering, most of these end in EPIPE/ECONNRESET before the client reads the 413.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await upload(48));
    expect(statuses).toEqual(Array(12).fill(413));
  });

  it('leaves complete requests and keep-alive untouched', async () => {
    expect(await upload(1)).toBe(200);
  });
});
