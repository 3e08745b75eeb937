import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolePlugin } from '../src/console.ts';

/**
 * How the server hands out the built console: files from dist/web, index.html for client-side
 * routes a browser asks for, the API's own 404 for everything else under the server's paths,
 * and the landing page when there is no build. A stand-in build keeps this test independent of
 * Vite; the end-to-end test serves the real one.
 */
let dir: string;
let empty: string;
let app: FastifyInstance;
let bare: FastifyInstance;

async function server(root: string): Promise<FastifyInstance> {
  const instance = Fastify();
  instance.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'ROUTE_NOT_FOUND', details: { path: req.url } } }),
  );
  instance.get('/v1/known', { config: {} }, async () => ({ ok: true }));
  await instance.register(consolePlugin({ version: '9.9.9', dir: root }));
  await instance.ready();
  return instance;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-console-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><div id="root"></div><a href="/docs">docs</a>',
  );
  fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.mkdirSync(path.join(dir, 'citizen'));
  fs.writeFileSync(path.join(dir, 'citizen', 'index.html'), '<!doctype html><div id="citizen-root"></div>');
  empty = fs.mkdtempSync(path.join(os.tmpdir(), 'shutong-console-none-'));
  app = await server(dir);
  bare = await server(empty);
});
afterAll(async () => {
  await app.close();
  await bare.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(empty, { recursive: true, force: true });
});

const html = { accept: 'text/html,application/xhtml+xml' };

describe('the console at /', () => {
  it('serves index.html at / and for client-side routes a browser opens, never cached stale', async () => {
    for (const url of ['/', '/catalog/res_01abc', '/contracts/ctr_1?x=1', '/audit']) {
      const res = await app.inject({ method: 'GET', url, headers: html });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('<div id="root">');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves hashed assets for a year and other files by revalidation', async () => {
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(asset.headers['content-type']).toContain('javascript');
    const icon = await app.inject({ method: 'GET', url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toContain('svg');
  });

  it("leaves the server's own paths and unknown files to the API's 404", async () => {
    for (const url of [
      '/v1/nope',
      '/docs/nope',
      '/dcat/x',
      '/api/3/action/x',
      '/assets/missing.js',
      '/x.png',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: html });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('ROUTE_NOT_FOUND');
    }
    expect((await app.inject({ method: 'GET', url: '/v1/known' })).json()).toEqual({ ok: true });
    // Not a browser: a client-side route is not HTML to it.
    expect(
      (await app.inject({ method: 'GET', url: '/catalog/x', headers: { accept: 'application/json' } }))
        .statusCode,
    ).toBe(404);
  });

  it('does not serve files outside the build', async () => {
    for (const url of ['/../package.json', '/assets/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).not.toBe(200);
    }
  });

  it('serves the citizen site at /citizen/ and its client routes, and redirects /citizen there', async () => {
    for (const url of ['/citizen/', '/citizen/bundles/newborn', '/citizen/applications/sap_1?x=1']) {
      const res = await app.inject({ method: 'GET', url, headers: html });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body, url).toContain('<div id="citizen-root">');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
    const bare = await app.inject({ method: 'GET', url: '/citizen' });
    expect(bare.statusCode).toBe(301);
    expect(bare.headers.location).toBe('/citizen/');
    const query = await app.inject({ method: 'GET', url: '/citizen?lang=en' });
    expect(query.headers.location).toBe('/citizen/?lang=en');
    // Not the console's page, and no file outside the build.
    const console = await app.inject({ method: 'GET', url: '/citizenship', headers: html });
    expect(console.body).toContain('<div id="root">');
    expect((await app.inject({ method: 'GET', url: '/citizen/missing.js', headers: html })).statusCode).toBe(
      404,
    );
    expect((await app.inject({ method: 'GET', url: '/citizen/../../package.json' })).statusCode).not.toBe(
      200,
    );
  });

  it('serves the landing page, saying how to build, when there is no build', async () => {
    const res = await bare.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('npm run build');
    expect(res.body).toContain('/docs');
    expect((await bare.inject({ method: 'GET', url: '/catalog', headers: html })).statusCode).toBe(404);
  });
});
