import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import * as S from './schema.ts';
import * as classify from './service.ts';

const read = { roles: 'any', scope: 'catalog:read' } as const;
const write = { roles: 'any', scope: 'catalog:write' } as const;
const tags = ['classification'];

export const classifyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/resources/:id/classification',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '分类分级结果与依据 / Field grades, scan evidence and confirmations',
        params: S.ResourceParams,
        response: { 200: S.Classification },
      },
    },
    (req) => classify.getClassification(req.ctx, req.params.id),
  );

  app.post(
    '/v1/resources/:id/classification/scan',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '重新扫描当前版本 / Scan the current version again',
        params: S.ResourceParams,
        response: { 200: S.Classification },
      },
    },
    (req) => classify.scanResource(req.ctx, req.params.id),
  );

  app.put(
    '/v1/resources/:id/fields/:name/grade',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '确认或改定字段级别 / Confirm or override a field grade',
        params: S.FieldParams,
        body: S.GradeDecision,
        response: { 200: S.Classification },
      },
    },
    (req) => classify.confirmGrade(req.ctx, req.params.id, req.params.name, req.body),
  );

  app.post(
    '/v1/resources/:id/classification/decisions',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '批量确认或定级 / Confirm or set many field grades at once',
        description:
          'Each named field takes its scan suggestion, or `grade` for all of them (a reason is then required ' +
          'where it differs from a suggestion). All or nothing; each field is audited as `field.grade.confirm`.',
        params: S.ResourceParams,
        body: S.GradeDecisions,
        response: { 200: S.Classification },
      },
    },
    (req) => classify.decideFieldGrades(req.ctx, req.params.id, req.body),
  );

  app.post(
    '/v1/resources/:id/classification/flag/clear',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '解除分级冲突标记 / Clear the grade flag',
        params: S.ResourceParams,
        body: S.FlagClear,
        response: { 200: S.Classification },
      },
    },
    (req) => classify.clearFlag(req.ctx, req.params.id, req.body.reason),
  );
};
