import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../core/errors.ts';
import * as ingest from '../ingest/service.ts';
import * as dp from './dp.ts';
import * as S from './dp-schema.ts';
import { recordCall } from './service.ts';
import * as templates from './templates.ts';

const tags = ['gateway'];
const gatewayAccess = { roles: 'any', scope: 'gateway' } as const;

export const dpRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // A version that becomes current gets its bounded pairs built (dp-pairs.ts); registering again is a no-op.
  ingest.onVersionCurrent(dp.onVersionCurrent);

  app.post(
    '/v1/gateway/contracts/:id/dp/preview',
    {
      config: { access: gatewayAccess },
      schema: {
        tags,
        summary: '差分隐私统计预估 / Preview a differentially private aggregate',
        description:
          'The cost (ρ, and ε at δ) and the 95% interval half-width of each number the aggregate would release. Spends nothing.',
        params: S.ContractParams,
        body: S.DpRequest,
        response: { 200: S.DpPreview },
      },
    },
    async (req) => dp.preview(req.ctx, req.params.id, req.body as dp.DpRequest, req.ip),
  );

  app.post(
    '/v1/gateway/contracts/:id/dp/aggregate',
    {
      config: { access: gatewayAccess },
      schema: {
        tags,
        summary: '差分隐私统计 / Differentially private aggregate',
        description:
          "count, sum and mean by group under zero-concentrated DP: each privacy unit's contribution bounded, values " +
          "clamped, exact discrete Gaussian noise, ρ spent from the contract's budget (403 DP_BUDGET_EXHAUSTED when it " +
          'does not fit). Each number carries its 95% interval.',
        params: S.ContractParams,
        body: S.DpRequest,
        response: { 200: S.DpAggregate },
      },
    },
    async (req) => {
      const started = Date.now();
      try {
        return await dp.aggregate(req.ctx, req.params.id, req.body as dp.DpRequest, req.ip);
      } catch (error) {
        const outcome = error instanceof AppError ? error.code : 'INTERNAL';
        await recordCall(req.ctx, {
          operation: 'aggregate',
          contractId: req.params.id,
          outcome,
          started,
        }).catch(() => {});
        throw error;
      }
    },
  );

  app.get(
    '/v1/gateway/contracts/:id/dp/budget',
    {
      config: { access: { roles: 'any', scope: 'gateway' } },
      schema: {
        tags,
        summary: '隐私预算 / Privacy budget of a contract',
        params: S.ContractParams,
        response: { 200: S.DpBudget },
      },
    },
    async (req) => dp.getBudget(req.ctx, req.params.id),
  );

  app.put(
    '/v1/gateway/contracts/:id/dp/budget',
    {
      config: { access: { roles: ['data_steward', 'security_officer'], scope: 'sharing' } },
      schema: {
        tags,
        summary: '设置隐私预算 / Set the privacy budget of a contract',
        description:
          "The provider's data steward or a security officer: total ρ, for the contract's life or per day or month.",
        params: S.ContractParams,
        body: S.DpBudgetInput,
        response: { 200: S.DpBudget },
      },
    },
    async (req) => dp.putBudget(req.ctx, req.params.id, req.body),
  );

  app.get(
    '/v1/gateway/resources/:code/dp',
    {
      config: { access: { roles: 'any', scope: 'catalog:read' } },
      schema: {
        tags,
        summary: '资源的差分隐私设置 / DP settings of a resource',
        params: S.ResourceParams,
        response: { 200: S.DpSettings },
      },
    },
    async (req) => dp.getSettings(req.ctx, req.params.code),
  );

  app.put(
    '/v1/gateway/resources/:code/dp',
    {
      config: { access: { roles: ['data_steward'], scope: 'catalog:write' } },
      schema: {
        tags,
        summary: '声明差分隐私设置 / Declare DP settings of a resource',
        description:
          "The provider's data steward: the privacy unit field, L0 (groups per unit) and L∞ (rows per unit per group), " +
          'clamping bounds and precision of numeric fields, public group-key domains (values, or the counties of a ' +
          'GB/T 2260 prefecture).',
        params: S.ResourceParams,
        body: S.DpSettingsInput,
        response: { 200: S.DpSettings },
      },
    },
    async (req) => dp.putSettings(req.ctx, req.params.code, req.body),
  );
  app.post(
    '/v1/gateway/contracts/:id/templates',
    {
      config: { access: gatewayAccess },
      schema: {
        tags,
        summary: '提交查询模板 / Submit a query template',
        description:
          'A named computation (metrics, group-by, a filter whose values may be typed parameters). Once the provider ' +
          '(and the security officer for g4 or more sensitive fields) approves one, the contract runs only approved templates.',
        params: S.ContractParams,
        body: S.TemplateInput,
        response: { 201: S.Template },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(
          await templates.submitTemplate(req.ctx, req.params.id, req.body as templates.TemplateInput, req.ip),
        ),
  );

  app.get(
    '/v1/gateway/contracts/:id/templates',
    {
      config: { access: { roles: 'any', scope: 'gateway' } },
      schema: {
        tags,
        summary: '协议的查询模板 / Query templates of a contract',
        params: S.ContractParams,
        response: { 200: S.TemplateList },
      },
    },
    async (req) => templates.listTemplates(req.ctx, req.params.id),
  );

  for (const event of ['approve', 'reject'] as const) {
    app.post(
      `/v1/gateway/templates/:id/${event}`,
      {
        config: { access: { roles: ['data_steward', 'security_officer'], scope: 'sharing' } },
        schema: {
          tags,
          summary:
            event === 'approve'
              ? '批准查询模板 / Approve a query template'
              : '驳回查询模板 / Reject a query template',
          params: S.TemplateParams,
          body: S.TemplateDecision,
          response: { 200: S.Template },
        },
      },
      async (req) => templates.decideTemplate(req.ctx, req.params.id, event, req.body.reason ?? ''),
    );
  }

  app.post(
    '/v1/gateway/templates/:id/run',
    {
      config: { access: gatewayAccess },
      schema: {
        tags,
        summary: '运行已批准的查询模板 / Run an approved query template',
        params: S.TemplateParams,
        body: S.TemplateRunInput,
        response: { 200: S.TemplateRun },
      },
    },
    async (req) => templates.runTemplate(req.ctx, req.params.id, req.body, req.ip),
  );
};
