import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import * as S from './schema.ts';
import * as monitor from './service.ts';

const read = monitor.MONITOR_READ;
const act = monitor.MONITOR_ACT;
const tags = ['monitor'];

export const monitorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/monitor/alerts',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '告警列表 / Alerts',
        description: 'Newest first; filter by state, severity, rule and subject.',
        querystring: S.AlertQuery,
        response: { 200: S.AlertPage },
      },
    },
    (req) => monitor.listAlerts(req.ctx, req.query),
  );
  app.get(
    '/v1/monitor/alerts/:id',
    {
      config: { access: read },
      schema: { tags, summary: '告警 / One alert', params: S.IdParams, response: { 200: S.Alert } },
    },
    (req) => monitor.getAlert(req.ctx, req.params.id),
  );
  app.post(
    '/v1/monitor/alerts/:id/acknowledge',
    {
      config: { access: act },
      schema: {
        tags,
        summary: '确认告警 / Acknowledge',
        params: S.IdParams,
        body: S.AcknowledgeBody,
        response: { 200: S.Alert },
      },
    },
    (req) => monitor.changeAlert(req.ctx, req.params.id, 'acknowledge', req.body?.note),
  );
  app.post(
    '/v1/monitor/alerts/:id/resolve',
    {
      config: { access: act },
      schema: {
        tags,
        summary: '处置完毕 / Resolve',
        params: S.IdParams,
        body: S.ResolveBody,
        response: { 200: S.Alert },
      },
    },
    (req) => monitor.changeAlert(req.ctx, req.params.id, 'resolve', req.body.note),
  );
  app.post(
    '/v1/monitor/evaluate',
    {
      config: { access: act },
      schema: {
        tags,
        summary: '立即评估告警规则 / Evaluate the alert rules now',
        description:
          'Judges the audit events since the last evaluation with every rule; waits for an evaluation under way on another node.',
        response: { 200: S.Evaluation },
      },
    },
    (req) => monitor.evaluateNow(req.ctx, req.log),
  );
  app.get(
    '/v1/monitor/rules',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '告警规则与阈值 / Rules and thresholds',
        response: { 200: Type.Array(S.Rule) },
      },
    },
    (req) => monitor.listRules(req.ctx),
  );

  app.post(
    '/v1/monitor/freezes',
    {
      config: { access: act },
      schema: {
        tags,
        summary: '紧急冻结 / Emergency stop',
        description:
          'Freezes a contract, a consumer organization, a resource or the whole gateway (the gateway refuses with 423 FROZEN), or a user or one API key (every request of that credential is refused with 423 FROZEN, and a frozen user cannot log in) — on every node from the next request.',
        body: S.FreezeBody,
        response: { 201: S.Freeze },
      },
    },
    async (req, reply) => reply.status(201).send(await monitor.freeze(req.ctx, req.body)),
  );
  app.get(
    '/v1/monitor/freezes',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '冻结列表（默认生效中）/ Freezes (active by default)',
        querystring: S.FreezeQuery,
        response: { 200: S.FreezePage },
      },
    },
    (req) => monitor.listFreezes(req.ctx, req.query),
  );
  app.get(
    '/v1/monitor/freezes/:id',
    {
      config: { access: read },
      schema: { tags, summary: '冻结 / One freeze', params: S.IdParams, response: { 200: S.Freeze } },
    },
    (req) => monitor.getFreeze(req.ctx, req.params.id),
  );
  app.post(
    '/v1/monitor/freezes/:id/lift',
    {
      config: { access: act },
      schema: {
        tags,
        summary: '解除冻结 / Lift a freeze',
        params: S.IdParams,
        body: S.LiftBody,
        response: { 200: S.Freeze },
      },
    },
    (req) => monitor.liftFreeze(req.ctx, req.params.id, req.body.reason),
  );
};
