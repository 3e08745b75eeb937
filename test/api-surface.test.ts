import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('platform endpoints', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await t.request({ method: 'GET', url: '/healthz' })).json()).toMatchObject({ status: 'ok' });
    const ready = await t.request({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().status).toBe('ready');
  });

  it('serves an OpenAPI 3.1 document that a real validator accepts and that lists every route', async () => {
    const res = await t.request({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    await SwaggerParser.validate(structuredClone(doc));
    for (const path of [
      '/v1/auth/login',
      '/v1/organizations',
      '/v1/users/{id}',
      '/v1/api-keys/{id}/revoke',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/v1/organizations'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/v1/auth/login'].post.security).toBeUndefined();
  });

  it('serves the interactive docs page and the landing page', async () => {
    const docs = await t.request({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
    const home = await t.request({ method: 'GET', url: '/' });
    expect(home.headers['content-type']).toContain('text/html');
    expect(home.body).toContain('/docs');
  });

  it('answers unknown routes with a 404 error body naming the path', async () => {
    const res = await t.request({ method: 'GET', url: '/v1/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'ROUTE_NOT_FOUND', details: { path: '/v1/nope' } });
  });

  it('echoes a request id on every response', async () => {
    const res = await t.request({ method: 'GET', url: '/healthz' });
    expect(res.headers['x-request-id']).toMatch(/^req_/);
  });
});

describe('readiness when the database is gone', () => {
  it('answers 503 on /readyz and 503, not 500, on an API call', async () => {
    const other = await startTestApp();
    const token = await other.login('admin');
    await other.database.close();
    const ready = await other.request({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe('NOT_READY');
    const call = await other.request({ method: 'GET', url: '/v1/me', token });
    expect(call.statusCode).toBe(503);
    expect(call.json().error.code).toBe('NOT_READY');
    await other.app.close();
  });
});
