import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import * as S from './schema.ts';
import * as quality from './service.ts';

const read = { roles: 'any', scope: 'catalog:read' } as const;
const write = { roles: 'any', scope: 'catalog:write' } as const;
const tags = ['quality'];

export const qualityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  quality.startQuality();

  app.get(
    '/v1/resources/:id/quality',
    {
      config: { access: read },
      schema: {
        tags,
        summary:
          '数据质量报告（GB/T 36344 六性、得分、五级评级、趋势）/ Quality report: six dimensions, score, five-level grade, trend',
        params: S.ResourceParams,
        querystring: S.VersionQuery,
        response: { 200: S.QualityView },
      },
    },
    (req) => quality.getQuality(req.ctx, req.params.id, req.query.version),
  );

  app.post(
    '/v1/resources/:id/quality/evaluate',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '立即评估一个版本 / Evaluate a version now',
        params: S.ResourceParams,
        querystring: S.VersionQuery,
        response: { 200: S.QualityView },
      },
    },
    (req) => quality.evaluateNow(req.ctx, req.params.id, req.query.version),
  );

  for (const url of ['/v1/resources/:id/card', '/v1/resources/:id/card.jsonld']) {
    app.get(
      url,
      {
        config: { access: read },
        schema: {
          tags,
          summary:
            '数据集卡片（Croissant 1.0 JSON-LD，含 ODRL 使用条件）/ Dataset card (Croissant 1.0 JSON-LD with ODRL terms)',
          params: S.ResourceParams,
          querystring: S.CardQuery,
          response: { 200: S.Card },
        },
      },
      async (req, reply) => {
        const base = req.ctx.config.publicUrl ?? `${req.protocol}://${req.host}`;
        const card = await quality.getCard(req.ctx, base, req.params.id, req.query.contract);
        return reply.type('application/ld+json; charset=utf-8').send(card);
      },
    );
  }

  app.get(
    '/v1/resources/:id/quality/rules',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '质量规则（已声明或按字段默认）/ Quality rules, declared or derived from the fields',
        params: S.ResourceParams,
        response: { 200: S.RulesView },
      },
    },
    (req) => quality.getRules(req.ctx, req.params.id),
  );

  app.put(
    '/v1/resources/:id/quality/rules',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '声明质量规则 / Declare the quality rules',
        params: S.ResourceParams,
        body: S.RulesInput,
        response: { 200: S.RulesView },
      },
    },
    (req) => quality.setRules(req.ctx, req.params.id, req.body),
  );
};
