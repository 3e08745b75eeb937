import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../core/errors.ts';
import { Json, JsonObject } from '../core/schemas.ts';
import * as identity from '../identity/service.ts';
import { ckanEnvelope, ckanError, ckanOrganization, ckanPackage, parseFq } from './ckan.ts';
import { DCAT_CONTEXT, dcatCatalog, dcatDataset, gatewayService } from './dcat.ts';
import * as S from './schema.ts';
import * as catalog from './service.ts';
import { THEMES } from './themes.ts';

const read = { roles: 'any', scope: 'catalog:read' } as const;
const write = { roles: 'any', scope: 'catalog:write' } as const;
const tags = ['catalog'];
const JSON_LD = 'application/ld+json; charset=utf-8';
/** DCAT 3 as JSON-LD (catalog/dcat.ts builds it): a document of terms, sent as built. */
const JsonLd = Type.Unsafe<object>({ ...JsonObject, description: 'DCAT 3 JSON-LD' });
const CkanErrorReply = Type.Object({
  help: Type.String(),
  success: Type.Literal(false),
  error: Type.Object({ __type: Type.String(), message: Type.String() }),
});
/** CKAN clients expect CKAN's error shape from these routes, not Shutong's. */
const ckanErrors = {
  200: Type.Object(
    { help: Type.String(), success: Type.Literal(true), result: Json },
    { description: "CKAN's envelope; `result` as CKAN 2.x answers the action" },
  ),
  404: CkanErrorReply,
  409: CkanErrorReply,
};

function baseUrl(req: FastifyRequest): string {
  return req.ctx.config.publicUrl ?? `${req.protocol}://${req.host}`;
}

export const catalogRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/catalog/search',
    {
      config: { access: read, staleRead: true },
      schema: {
        tags,
        summary: '目录检索 / Search the catalog',
        querystring: S.SearchQuery,
        response: { 200: S.SearchResult },
      },
    },
    async (req) => {
      const { total, ...page } = await catalog.searchCatalog(req.ctx, req.query);
      return total === undefined ? page : { ...page, total };
    },
  );

  app.get(
    '/v1/catalog/themes',
    {
      config: { access: read },
      schema: { tags, summary: '目录主题 / Catalog themes', response: { 200: Type.Array(S.Theme) } },
    },
    async () => [...THEMES],
  );

  app.post(
    '/v1/resources',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '登记数据资源 / Register a resource',
        body: S.ResourceCreate,
        response: { 201: S.Resource },
      },
    },
    async (req, reply) => reply.status(201).send(await catalog.createResource(req.ctx, req.body)),
  );

  app.get(
    '/v1/resources/:id',
    { config: { access: read }, schema: { tags, params: S.IdOrCode, response: { 200: S.Resource } } },
    (req) => catalog.getResource(req.ctx, req.params.id),
  );

  app.patch(
    '/v1/resources/:id',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '修改数据资源 / Change a resource',
        params: S.IdOrCode,
        body: S.ResourcePatch,
        response: { 200: S.Resource },
      },
    },
    (req) => {
      const { revision, ...patch } = req.body;
      return catalog.updateResource(req.ctx, req.params.id, revision, patch);
    },
  );

  const publicationSteps = {
    submit: '提交目录审核 / Submit for the bureau’s review',
    return: '退回修改（数据局）/ Return for changes (the bureau)',
    publish: '审核通过并发布（数据局）/ Approve and publish (the bureau)',
    withdraw: '撤回（下架）/ Withdraw from the catalog',
    reconfirm:
      '分级变更后重新确认（数据局）/ Confirm again after its grades changed (the bureau; not whoever changed them)',
  } as const;
  for (const [event, summary] of Object.entries(publicationSteps) as Array<
    [catalog.PublicationEvent, string]
  >) {
    app.post(
      `/v1/resources/:id/${event}`,
      {
        config: { access: write },
        schema: { tags, summary, params: S.IdOrCode, body: S.PublicationStep, response: { 200: S.Resource } },
      },
      (req) => catalog.changePublication(req.ctx, req.params.id, event, req.body ?? {}),
    );
  }

  app.get(
    '/v1/resources/:id/history',
    {
      config: { access: read },
      schema: { tags, params: S.IdOrCode, response: { 200: Type.Array(S.HistoryEntry) } },
    },
    (req) => catalog.resourceHistory(req.ctx, req.params.id),
  );

  // DCAT 3 JSON-LD: anonymous harvesters see the resources open to the public; a signed-in
  // caller sees the catalog they may search.
  const dcatTags = ['open data (DCAT)'];
  app.get(
    '/dcat/catalog.jsonld',
    {
      config: { access: 'optional', staleRead: true },
      schema: {
        tags: dcatTags,
        summary: 'DCAT 3 目录 / DCAT 3 catalog (JSON-LD, paged)',
        querystring: Type.Object({
          page: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1 })),
        }),
        response: { 200: JsonLd },
      },
    },
    async (req, reply) => {
      const page = req.query.page ?? 1;
      const size = 100;
      const result = await catalog.searchCatalog(
        req.ctx,
        { limit: size, offset: (page - 1) * size },
        { publicOnly: !req.ctx.principal },
      );
      const base = baseUrl(req);
      const [providers, annexes] = await Promise.all([
        catalog.providerFacts(
          req.ctx,
          result.items.map((r) => r.provider.id),
        ),
        catalog.catalogAnnexes(req.ctx, base, result.items),
      ]);
      const dcat = new Map([...annexes].map(([id, a]) => [id, a.dcat]));
      return reply
        .type(JSON_LD)
        .send(
          dcatCatalog(base, result.items, page, result.nextCursor !== null, { providers, annexes: dcat }),
        );
    },
  );

  app.get(
    '/dcat/datasets/:code',
    {
      config: { access: 'optional' },
      schema: {
        tags: dcatTags,
        summary: 'DCAT 数据集 / DCAT dataset',
        params: Type.Object({ code: Type.String({ maxLength: 80 }) }),
        response: { 200: JsonLd },
      },
    },
    async (req, reply) => {
      const code = req.params.code.replace(/\.jsonld$/, '');
      const found = await catalog.searchCatalog(
        req.ctx,
        { limit: 1 },
        { publicOnly: !req.ctx.principal, code },
      );
      const resource = found.items[0];
      if (!resource) throw new AppError('NOT_FOUND', { objectType: 'dataset', id: code });
      const base = baseUrl(req);
      const [providers, annexes] = await Promise.all([
        catalog.providerFacts(req.ctx, [resource.provider.id]),
        catalog.catalogAnnexes(req.ctx, base, [resource]),
      ]);
      const provider = providers.get(resource.provider.id);
      const annex = annexes.get(resource.id)?.dcat;
      return reply.type(JSON_LD).send({
        '@context': DCAT_CONTEXT,
        ...dcatDataset(base, resource, { ...(provider ? { provider } : {}), ...(annex ? { annex } : {}) }),
        'dcat:service': gatewayService(base, [`${base}/dcat/datasets/${encodeURIComponent(resource.code)}`]),
      });
    },
  );

  // CKAN Action API (read-only), in CKAN's envelope and with CKAN's error shape.
  const ckanTags = ['open data (CKAN)'];
  app.get(
    '/api/3/action/package_search',
    {
      config: { access: 'optional' },
      schema: {
        tags: ckanTags,
        querystring: Type.Object({
          q: Type.Optional(Type.String({ maxLength: 200 })),
          fq: Type.Optional(Type.String({ maxLength: 500 })),
          rows: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 10 })),
          start: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0 })),
        }),
        response: ckanErrors,
      },
    },
    async (req, reply) => {
      const base = baseUrl(req);
      const fq = parseFq(req.query.fq);
      if ('error' in fq)
        return reply.status(409).send(ckanError(base, 'package_search', 'Validation Error', fq.error));
      const q = req.query.q && req.query.q !== '*:*' ? req.query.q : undefined;
      const result = await catalog.searchCatalog(
        req.ctx,
        { q, ...fq, limit: Math.max(req.query.rows ?? 10, 1), offset: req.query.start ?? 0, withTotal: true },
        { publicOnly: !req.ctx.principal },
      );
      const annexes =
        req.query.rows === 0 ? new Map() : await catalog.catalogAnnexes(req.ctx, base, result.items);
      const results =
        req.query.rows === 0
          ? []
          : result.items.map((r) => ckanPackage(base, r, annexes.get(r.id)?.ckanExtras ?? []));
      return ckanEnvelope(base, 'package_search', {
        count: result.total ?? 0,
        sort: q ? 'score desc' : 'metadata_created desc',
        results,
        facets: {},
        search_facets: {},
      });
    },
  );

  app.get(
    '/api/3/action/package_show',
    {
      config: { access: 'optional' },
      schema: {
        tags: ckanTags,
        querystring: Type.Object({ id: Type.String({ maxLength: 80 }) }),
        response: ckanErrors,
      },
    },
    async (req, reply) => {
      const base = baseUrl(req);
      const found = await catalog.searchCatalog(
        req.ctx,
        { limit: 1 },
        { publicOnly: !req.ctx.principal, code: req.query.id },
      );
      const resource = found.items[0];
      if (!resource)
        return reply.status(404).send(ckanError(base, 'package_show', 'Not Found Error', 'Not found'));
      const annexes = await catalog.catalogAnnexes(req.ctx, base, [resource]);
      return ckanEnvelope(
        base,
        'package_show',
        ckanPackage(base, resource, annexes.get(resource.id)?.ckanExtras ?? []),
      );
    },
  );

  app.get(
    '/api/3/action/organization_list',
    {
      config: { access: 'optional' },
      schema: {
        tags: ckanTags,
        querystring: Type.Object({ all_fields: Type.Optional(Type.Boolean()) }),
        response: ckanErrors,
      },
    },
    async (req) => {
      const orgs = [];
      let cursor: string | undefined;
      do {
        const page = await identity.listOrganizations(req.ctx, 200, cursor, { publicDirectory: true });
        orgs.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const result = req.query.all_fields ? orgs.map(ckanOrganization) : orgs.map((o) => o.id);
      return ckanEnvelope(baseUrl(req), 'organization_list', result);
    },
  );

  app.get(
    '/api/3/action/organization_show',
    {
      config: { access: 'optional' },
      schema: {
        tags: ckanTags,
        querystring: Type.Object({ id: Type.String({ maxLength: 80 }) }),
        response: ckanErrors,
      },
    },
    async (req, reply) => {
      const base = baseUrl(req);
      try {
        const org = await identity.getOrganization(req.ctx, req.query.id, { publicDirectory: true });
        const packages = await catalog.searchCatalog(
          req.ctx,
          { provider: org.id, limit: 1, withTotal: true },
          { publicOnly: !req.ctx.principal },
        );
        return ckanEnvelope(base, 'organization_show', {
          ...ckanOrganization(org),
          package_count: packages.total ?? 0,
        });
      } catch (error) {
        if (error instanceof AppError && error.code === 'NOT_FOUND') {
          return reply.status(404).send(ckanError(base, 'organization_show', 'Not Found Error', 'Not found'));
        }
        throw error;
      }
    },
  );
};
