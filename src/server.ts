import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { auditRoutes } from './audit/routes.ts';
import { backgroundWork } from './background.ts';
import { catalogRoutes } from './catalog/routes.ts';
import { classifyRoutes } from './classify/routes.ts';
import { consolePlugin } from './console.ts';
import { authorize, type RouteAccess } from './core/auth.ts';
import type { Config } from './core/config.ts';
import type { Ctx } from './core/context.ts';
import { type DatabaseHandle, isDatabaseAway } from './core/db.ts';
import { AppError } from './core/errors.ts';
import { idempotencyHooks } from './core/idempotency.ts';
import { newId } from './core/ids.ts';
import { lingerBeforeClosing } from './core/linger.ts';
import { ErrorRef, ErrorReply } from './core/schemas.ts';
import { demoRoutes } from './demo/routes.ts';
import { dpRoutes } from './gateway/dp-routes.ts';
import { exportRoutes } from './gateway/export-routes.ts';
import { gatewayRoutes } from './gateway/routes.ts';
import { usageRoutes } from './gateway/usage.ts';
import { identityRoutes } from './identity/routes.ts';
import { authenticateBearer } from './identity/service.ts';
import { indicatorRoutes } from './indicators/routes.ts';
import { ingestRoutes } from './ingest/routes.ts';
import * as ingest from './ingest/service.ts';
import { messagesRoutes } from './messages/routes.ts';
import { monitorRoutes } from './monitor/routes.ts';
import * as monitor from './monitor/service.ts';
import { operationRoutes } from './operation/routes.ts';
import { qualityRoutes } from './quality/routes.ts';
import { ratingsRoutes } from './ratings/routes.ts';
import { regionRoutes } from './regions/routes.ts';
import { registryRoutes } from './registry/routes.ts';
import { servicesRoutes } from './services/routes.ts';
import { sharingRoutes } from './sharing/routes.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every route declares who may call it; the server refuses to start a route that does not. */
    access?: RouteAccess;
    /**
     * The route only reads, and an answer a moment stale harms nobody (catalog search, public
     * feeds): it reads through DATABASE_READ_URL's replicas when set. Authentication still reads
     * the primary, so a revoked key or session is refused on the very next request.
     */
    staleRead?: boolean;
    /**
     * The answer holds a secret shown once (a new API key): for an Idempotency-Key retry it is kept
     * sealed under this process's memory-only key, never readable from the database.
     */
    secretAnswer?: boolean;
  }
  interface FastifyRequest {
    ctx: Ctx;
  }
  interface FastifyInstance {
    /** Every route with the access rule it declared, as registered: what the role matrix test walks. */
    routeAccess: Array<{ method: string; url: string; access: RouteAccess }>;
  }
}

export const VERSION = '0.1.0';

/** How long a client is asked to wait before retrying a 503 NOT_READY (a failover takes seconds). */
export const NOT_READY_RETRY_AFTER_SECONDS = 2;

function toAppError(error: FastifyError & { code?: string }): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) {
    const first = error.validation[0];
    const params = (first?.params ?? {}) as Record<string, unknown>;
    const path = String(first?.instancePath ?? '')
      .replace(/^\//, '')
      .replaceAll('/', '.');
    const leaf = (params.missingProperty ?? params.additionalProperty) as string | undefined;
    const field = [path, leaf].filter(Boolean).join('.') || error.validationContext || 'body';
    return new AppError(
      'VALIDATION_FAILED',
      {
        field,
        location: error.validationContext,
        problems: error.validation.map((v) => ({
          path: v.instancePath,
          message: v.message,
          params: v.params,
        })),
      },
      { zh: `${field}：${first?.message ?? '格式不符'}`, en: `${field}: ${first?.message ?? 'invalid'}` },
    );
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError(
        'BAD_REQUEST',
        { field: 'body' },
        { zh: '请求体不是有效的 JSON', en: 'the body is not valid JSON' },
      );
  }
  // The database is away, not the request wrong: 503 — a ping afterwards may well succeed, so the
  // error handler's ping cannot tell.
  if (isDatabaseAway(error)) return new AppError('NOT_READY');
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError(
      'BAD_REQUEST',
      { reason: error.code ?? 'bad_request' },
      { zh: error.message, en: error.message },
    );
  }
  return new AppError('INTERNAL');
}

export interface ServerOptions {
  config: Config;
  database: DatabaseHandle;
  /** Where log lines go (stdout by default); the redaction rules apply whatever the destination. */
  logStream?: NodeJS.WritableStream;
  /** Called before any route is registered, so its hooks reach every route (tests watch replies). */
  instrument?: (app: FastifyInstance) => void;
}

export async function buildServer({
  config,
  database,
  logStream,
  instrument,
}: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.currentPassword',
          '*.secret',
          '*.token',
        ],
        censor: '[redacted]',
      },
      ...(logStream ? { stream: logStream } : {}),
    },
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => newId('req'),
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // A refused upload's answer must reach the client that is still sending (see core/linger.ts).
  const linger = lingerBeforeClosing(app.server);
  app.addHook('preClose', async () => linger.closeLingering());

  app.addSchema(ErrorReply);
  instrument?.(app as unknown as FastifyInstance);

  const routeAccess: FastifyInstance['routeAccess'] = [];
  app.decorate('routeAccess', routeAccess);
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) {
      route.config = { ...route.config, access: 'public' };
      return;
    }
    if (!route.config?.access) throw new Error(`route ${route.method} ${route.url} declares no access rule`);
    for (const method of [route.method].flat())
      routeAccess.push({ method, url: route.url, access: route.config.access });
    if (route.schema) {
      const errors = { '4xx': { $ref: 'ErrorReply#' }, '5xx': { $ref: 'ErrorReply#' } };
      route.schema = { ...route.schema, response: { ...errors, ...(route.schema.response as object) } };
      // OpenAPI's way to say "a bearer credential", and for optional routes "or none" ({}).
      const access = route.config.access;
      if (access !== 'public') {
        const security: Record<string, string[]>[] =
          access === 'optional' ? [{ bearer: [] }, {}] : [{ bearer: [] }];
        route.schema = { ...route.schema, security };
      }
    }
  });

  await app.register(swagger, {
    // Shared schemas appear in the document under their own names (ErrorReply), not `def-0`.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string | undefined) ?? `def-${i}`,
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Shutong (数通) API',
        version: VERSION,
        description:
          '可信公共数据空间 API。除登录外，每个请求都需要 `Authorization: Bearer <会话令牌或 API 密钥>`。\n\n' +
          'Trusted public data space API. Every call except login takes `Authorization: Bearer <session token or API key>`. ' +
          'Errors are `{ error: { code, message, messages, details } }` with stable codes.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.decorateRequest('ctx', null as unknown as Ctx);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    req.ctx = {
      db: database.db,
      ...(database.readDb !== database.db ? { replicaDb: database.readDb } : {}),
      config,
      principal: null,
      requestId: req.id,
    };
    const routeConfig = req.routeOptions.config;
    const access = routeConfig?.access;
    if (!access || access === 'public') {
      if (routeConfig?.staleRead) req.ctx.db = database.readDb;
      return;
    }
    // The primary is known to be away (a failover under way): wait out a short switchover, and
    // beyond that answer now rather than after a pool timeout.
    if (!(await database.waitAvailable())) throw new AppError('NOT_READY', { database: database.kind });
    req.ctx.principal = await authenticateBearer(req.ctx, req.headers.authorization);
    if (access === 'optional') {
      if (req.headers.authorization && !req.ctx.principal) throw new AppError('UNAUTHENTICATED');
    } else {
      authorize(req.ctx.principal, access);
    }
    if (routeConfig.staleRead) req.ctx.db = database.readDb;
  });

  // Writes under /v1 with an Idempotency-Key are applied once (core/idempotency.ts): the key is
  // claimed after authentication and validation, and the answer kept (or the claim released) as
  // it is sent. Registered here, before every route, so each write route has them.
  const idempotency = idempotencyHooks(database.db, { ttlHours: config.idempotencyTtlHours });
  app.addHook('preHandler', idempotency.preHandler);
  app.addHook('onSend', idempotency.onSend);

  app.setErrorHandler(async (error: FastifyError, req, reply) => {
    let appError = toAppError(error);
    // Whatever broke while the database is unreachable, the honest answer is "try again later".
    if (appError.code === 'INTERNAL' && !(await database.ping(1_000))) appError = new AppError('NOT_READY');
    if (appError.code === 'NOT_READY') {
      // The primary itself failed (not a replica, not a missing font): fail fast until it is back.
      const throughReplica = database.readDb !== database.db && req.ctx?.db === database.readDb;
      if (!(error instanceof AppError) && !throughReplica) database.markUnavailable();
      reply.header('retry-after', NOT_READY_RETRY_AFTER_SECONDS);
    }
    if (appError.status >= 500) req.log.error({ err: error }, 'request failed');
    return reply.status(appError.status).send(appError.toBody());
  });

  app.setNotFoundHandler((req, reply) => {
    const error = new AppError('ROUTE_NOT_FOUND', { method: req.method, path: req.url.split('?')[0] });
    return reply.status(404).send(error.toBody());
  });

  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['platform'],
        summary: '进程存活 / Process is up',
        response: { 200: Type.Object({ status: Type.String(), version: Type.String() }) },
      },
    },
    async () => ({ status: 'ok', version: VERSION }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['platform'],
        summary: '数据库可用 / Database reachable',
        response: {
          200: Type.Object({ status: Type.String(), database: Type.Enum(['embedded', 'postgres']) }),
          503: ErrorRef,
        },
      },
    },
    async (_req, reply) => {
      if (database.available() && (await database.ping()))
        return { status: 'ready', database: database.kind };
      database.markUnavailable();
      reply.header('retry-after', NOT_READY_RETRY_AFTER_SECONDS);
      return reply.status(503).send(new AppError('NOT_READY', { database: database.kind }).toBody());
    },
  );

  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  // The web console at `/` (or the landing page when it is not built): src/console.ts.
  await app.register(consolePlugin({ version: VERSION }));

  await app.register(identityRoutes);
  await app.register(catalogRoutes);
  await app.register(classifyRoutes);
  await app.register(ingestRoutes);
  await app.register(sharingRoutes);
  await app.register(gatewayRoutes);
  await app.register(dpRoutes);
  await app.register(exportRoutes);
  await app.register(usageRoutes);
  await app.register(auditRoutes);
  await app.register(monitorRoutes);
  await app.register(qualityRoutes);
  await app.register(registryRoutes);
  await app.register(operationRoutes);
  await app.register(servicesRoutes);
  await app.register(ratingsRoutes);
  await app.register(indicatorRoutes);
  await app.register(regionRoutes(config.regionBoundariesFile));
  await app.register(messagesRoutes);
  await app.register(demoRoutes);

  // A malformed working week stops the start, not the first gateway request.
  monitor.workingWeekOf(config.monitor);
  // Imports of a node that died are failed and cleaned up by whichever node notices first; an
  // embedded database has one process, so at its start every other node's import is dead.
  app.addHook('onReady', async () => {
    await ingest.sweepAbandonedImports(database.db, { allForeign: database.kind === 'embedded' });
  });
  // Background work runs on listening servers only (onListen, not onReady): servers driven by
  // inject() in tests integrate, sign and evaluate only when asked.
  const background = backgroundWork(database.db, config, app.log);
  app.addHook('onListen', async () => background.start());
  app.addHook('onClose', async () => {
    await background.stop();
    await monitor.settleDeliveries();
  });
  return app;
}
