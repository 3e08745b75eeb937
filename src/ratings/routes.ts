import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SERVICES_USE } from '../services/service.ts';
import * as S from './schema.ts';
import * as ratings from './service.ts';

const tags = ['ratings'];

export const ratingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/ratings',
    {
      config: { access: SERVICES_USE },
      schema: {
        tags,
        summary: '好差评 / Rate a finished step (the applicant, once)',
        description: 'A bad rating (1 or 2) opens a rectification case due in working days.',
        body: S.RatingBody,
        response: { 201: S.Rating },
      },
    },
    async (req, reply) => reply.status(201).send(await ratings.rate(req.ctx, req.body)),
  );
  app.get(
    '/v1/ratings',
    {
      config: { access: SERVICES_USE },
      schema: {
        tags,
        summary: '一件申请的评价 / The ratings of one application you can see',
        description:
          'The applicant’s own ratings of its steps, or a department’s ratings of its steps there; which finished steps are still to rate. An application you cannot see answers 404.',
        querystring: S.RatingsQuery,
        response: { 200: S.RatingList },
      },
    },
    (req) => ratings.ratingsOfApplication(req.ctx, req.query.applicationId),
  );
  app.get(
    '/v1/ratings/stats',
    {
      config: { access: 'public', staleRead: true },
      schema: {
        tags,
        summary: '评价统计（公开）/ Satisfaction and rectification by department (public feed)',
        querystring: S.StatsQuery,
        response: { 200: S.Stats },
      },
    },
    (req) => ratings.statistics(req.ctx, req.query),
  );
  app.get(
    '/v1/ratings/cases',
    {
      config: { access: SERVICES_USE },
      schema: {
        tags,
        summary: '差评整改 / Rectification cases (your department’s or your own ratings’)',
        querystring: S.CaseQuery,
        response: { 200: S.CasePage },
      },
    },
    (req) => ratings.listCases(req.ctx, req.query),
  );
  app.get(
    '/v1/ratings/cases/:id',
    {
      config: { access: SERVICES_USE },
      schema: { tags, summary: '整改件 / One case', params: S.IdParams, response: { 200: S.Case } },
    },
    (req) => ratings.getCase(req.ctx, req.params.id),
  );
  app.get(
    '/v1/ratings/:id',
    {
      config: { access: SERVICES_USE },
      schema: { tags, summary: '一条评价 / One rating', params: S.IdParams, response: { 200: S.Rating } },
    },
    (req) => ratings.getRating(req.ctx, req.params.id),
  );
  const events = [
    ['verify', '核实 / Verify the bad rating', ratings.CASE_HANDLERS],
    ['appeal', '申诉 / Appeal', ratings.CASE_HANDLERS],
    ['uphold', '申诉成立 / Uphold the appeal (platform)', ratings.APPEAL_REVIEWERS],
    ['dismiss', '申诉不成立 / Dismiss the appeal (platform)', ratings.APPEAL_REVIEWERS],
    ['rectify', '整改 / Rectify', ratings.CASE_HANDLERS],
    ['explain', '解释说明 / Explain', ratings.CASE_HANDLERS],
    [
      'close',
      '办结（实名差评须回访）/ Close (after the return visit of a named rating)',
      ratings.CASE_HANDLERS,
    ],
  ] as const;
  for (const [event, summary, access] of events) {
    app.post(
      `/v1/ratings/cases/:id/${event}`,
      {
        config: { access },
        schema: { tags, summary, params: S.IdParams, body: S.CaseBody, response: { 200: S.Case } },
      },
      (req) => ratings.actOnCase(req.ctx, req.params.id, event, req.body),
    );
  }
};
