import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import { PUBLIC_OPERATIONS } from './support/public-routes.ts';

// PUBLIC_OPERATIONS: the operations anyone may call without a credential, on purpose. Every other
// operation must declare its security in the document (a bearer credential, or optionally one).
const METHODS = new Set(['get', 'head', 'post', 'put', 'patch', 'delete']);

interface Operation {
  parameters?: { in: string; name: string }[];
  responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  security?: Record<string, string[]>[];
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

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
      '/v1/gateway/contracts/{id}/export',
      '/v1/gateway/contracts/{id}/export/manifest',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/v1/organizations'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/v1/auth/login'].post.security).toBeUndefined();
  });

  it('describes every operation: its parameters, its answers (the one error shape for 4xx) and who may call it', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json() as OpenApi;
    const problems: string[] = [];
    const unsecured: string[] = [];
    let operations = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.has(method)) continue;
        operations++;
        const name = `${method.toUpperCase()} ${path}`;
        const responses = Object.entries(op.responses ?? {});
        // A success answer with its body described (204 and HEAD answers have none to describe).
        const success = responses.filter(([code]) => /^2/.test(code));
        const described = success.some(
          ([code, r]) =>
            code === '204' || method === 'head' || Object.values(r.content ?? {}).some((c) => c.schema),
        );
        if (!described) problems.push(`${name}: no schema for a 2xx answer`);
        // The 4xx answers of Shutong's own API are the one ErrorReply; CKAN's routes answer in
        // CKAN's error shape, which they declare per status.
        const clientErrors = responses.filter(([code]) => /^4/.test(code));
        if (clientErrors.length === 0) problems.push(`${name}: no 4xx answer`);
        const errorRef = op.responses?.['4XX']?.content?.['application/json']?.schema?.$ref;
        if (errorRef !== '#/components/schemas/ErrorReply') problems.push(`${name}: 4XX is not ErrorReply`);
        for (const param of path.match(/\{\w+\}/g) ?? []) {
          const declared = (op.parameters ?? []).some((p) => p.in === 'path' && `{${p.name}}` === param);
          if (!declared) problems.push(`${name}: path parameter ${param} has no schema`);
        }
        if (op.security === undefined || op.security.length === 0) unsecured.push(name);
      }
    }
    expect(operations).toBeGreaterThan(100);
    expect(problems).toEqual([]);
    expect(unsecured.sort()).toEqual([...PUBLIC_OPERATIONS].sort());
    expect(doc.components.schemas.ErrorReply).toBeDefined();
  });

  it('declares optional credentials on the open-data routes: anonymous harvesters and signed-in callers', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json() as OpenApi;
    expect(doc.paths['/dcat/catalog.jsonld']!.get!.security).toEqual([{ bearer: [] }, {}]);
    expect(doc.paths['/api/3/action/package_search']!.get!.security).toEqual([{ bearer: [] }, {}]);
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
