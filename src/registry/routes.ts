import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PdfBody } from '../core/schemas.ts';
import { certificatePage, certificatePdf } from './render.ts';
import * as S from './schema.ts';
import * as registry from './service.ts';

const tags = ['registry'];
const staff = registry.REGISTRY_STAFF;
const registrants = registry.REGISTRANTS;
const read = registry.REGISTRY_READ;

function verifyUrl(req: { protocol: string; host: string }, publicUrl: string | undefined, code: string) {
  return `${publicUrl ?? `${req.protocol}://${req.host}`}/registry/${code}`;
}

export const registryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/registry/registrations',
    {
      config: { access: registrants },
      schema: {
        tags,
        summary: '提交登记申请 / Submit a registration',
        description:
          'First registration, change, correction or cancellation of a resource (by its holder) or a data product (by its operator). The registry must accept or return it within 3 working days.',
        body: S.SubmitBody,
        response: { 201: S.Registration },
      },
    },
    async (req, reply) => reply.status(201).send(await registry.submitRegistration(req.ctx, req.body)),
  );
  app.get(
    '/v1/registry/registrations',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '登记申请列表 / Registrations',
        querystring: S.RegistrationQuery,
        response: { 200: S.RegistrationPage },
      },
    },
    (req) => registry.listRegistrations(req.ctx, req.query),
  );
  app.get(
    '/v1/registry/registrations/:id',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '登记申请 / One registration',
        params: S.IdParams,
        response: { 200: S.Registration },
      },
    },
    (req) => registry.getRegistration(req.ctx, req.params.id),
  );
  app.get(
    '/v1/registry/overdue',
    {
      config: { access: staff },
      schema: {
        tags,
        summary: '逾期环节 / Overdue steps',
        description:
          'Acceptance or review past its working-day deadline, and notices that have ended awaiting the decision.',
        response: { 200: S.Overdue },
      },
    },
    (req) => registry.overdueRegistrations(req.ctx),
  );

  const staffSteps = [
    ['accept', '受理 / Accept', null],
    ['review', '形式审核通过 / Pass the review', null],
    ['publish', '公示 / Start the public notice', null],
    ['register', '登记赋码 / Register and issue the certificate', null],
    ['return', '退回补正 / Return for correction', S.ReasonBody],
    ['reject', '不予登记 / Reject', S.ReasonBody],
  ] as const;
  for (const [event, summary, body] of staffSteps) {
    app.post(
      `/v1/registry/registrations/:id/${event}`,
      {
        config: { access: staff },
        schema: {
          tags,
          summary,
          params: S.IdParams,
          ...(body ? { body } : {}),
          response: { 200: S.Registration },
        },
      },
      (req) =>
        registry.actOnRegistration(req.ctx, req.params.id, event, (req.body ?? {}) as registry.ActInput),
    );
  }
  app.post(
    '/v1/registry/registrations/:id/resubmit',
    {
      config: { access: registrants },
      schema: {
        tags,
        summary: '补正后重新提交 / Resubmit after correction',
        params: S.IdParams,
        body: S.ResubmitBody,
        response: { 200: S.Registration },
      },
    },
    (req) => registry.actOnRegistration(req.ctx, req.params.id, 'resubmit', req.body),
  );
  app.post(
    '/v1/registry/registrations/:id/withdraw',
    {
      config: { access: registrants },
      schema: {
        tags,
        summary: '撤回 / Withdraw',
        params: S.IdParams,
        response: { 200: S.Registration },
      },
    },
    (req) => registry.actOnRegistration(req.ctx, req.params.id, 'withdraw'),
  );
  app.post(
    '/v1/registry/registrations/:id/objections',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '公示期异议（实名）/ Lodge an objection (real name)',
        params: S.IdParams,
        body: S.ObjectionBody,
        response: { 201: S.Registration },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await registry.lodgeObjection(req.ctx, req.params.id, req.body)),
  );
  app.post(
    '/v1/registry/registrations/:id/objections/:objectionId/answer',
    {
      config: { access: staff },
      schema: {
        tags,
        summary: '答复异议 / Answer an objection',
        params: S.ObjectionParams,
        body: S.AnswerBody,
        response: { 200: S.Registration },
      },
    },
    (req) => registry.answerObjection(req.ctx, req.params.id, req.params.objectionId, req.body),
  );

  // ------------------------------------------------------------------ certificates (public)

  app.get(
    '/v1/registry/public-key',
    {
      config: { access: 'public' },
      schema: { tags, summary: '证书验签公钥 / Certificate public key', response: { 200: S.PublicKey } },
    },
    (req) => registry.registryPublicKey(req.ctx),
  );
  app.get(
    '/v1/registry/certificates/:code',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: '登记证书及历史 / Certificate and its history',
        params: S.CodeParams,
        response: { 200: S.CertificateHistory },
      },
    },
    (req) => registry.certificateHistory(req.ctx, req.params.code),
  );
  app.get(
    '/v1/registry/certificates/:code/versions/:version',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: '某一版证书（签名 JSON）/ One signed version',
        params: S.VersionParams,
        response: { 200: S.SignedCertificate },
      },
    },
    (req) => registry.certificateVersion(req.ctx, req.params.code, req.params.version),
  );
  app.get(
    '/v1/registry/certificates/:code/pdf',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: '可打印证书 PDF（含二维码）/ Printable PDF with QR code',
        params: S.CodeParams,
        response: {
          200: PdfBody,
        },
      },
    },
    async (req, reply) => {
      const signed = await registry.certificateVersion(req.ctx, req.params.code);
      const pdf = await certificatePdf(signed, verifyUrl(req, req.ctx.config.publicUrl, req.params.code));
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="${req.params.code}.pdf"`)
        .send(pdf);
    },
  );
  app.post(
    '/v1/registry/certificates/verify',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: '核验证书 / Verify a certificate',
        description:
          "Checks a signed certificate against this platform's key and says whether it is the current version.",
        body: Type.Object({ certificate: Type.Unknown(), signature: Type.Unknown() }),
        response: { 200: S.CertificateCheck },
      },
    },
    (req) => registry.checkCertificate(req.ctx, req.body),
  );
  app.get(
    '/registry/:code',
    { config: { access: 'public' }, schema: { hide: true, params: S.CodeParams } },
    async (req, reply) => {
      const history = await registry.certificateHistory(req.ctx, req.params.code);
      const key = await registry.registryPublicKey(req.ctx);
      const page = await certificatePage(
        history,
        verifyUrl(req, req.ctx.config.publicUrl, req.params.code),
        key.fingerprint,
      );
      return reply.type('text/html; charset=utf-8').send(page);
    },
  );
};
