import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { JsonObject, PdfBody } from '../core/schemas.ts';
import { contentDisposition, memorySink, receiveBody } from '../core/upload.ts';
import * as agreement from './agreement.ts';
import { Application, ApplicationPage, Contract, ContractPage } from './schema.ts';
import * as sharing from './service.ts';

const access = { roles: 'any', scope: 'sharing' } as const;
const tags = ['sharing'];
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Operation = Type.Enum(['rows', 'aggregate'] as const);
const PURPOSE_CATEGORIES = [
  'public_service',
  'public_governance',
  'industry_development',
  'research',
  'other',
] as const;
const Reason = Type.Object(
  { reason: Type.String({ minLength: 2, maxLength: 2000 }) },
  { additionalProperties: false },
);

const ApplicationCreate = Type.Object(
  {
    resource: Type.String({ minLength: 1, maxLength: 64, description: 'resource id or code' }),
    fields: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 500, uniqueItems: true }),
    purpose: Type.String({ minLength: 2, maxLength: 2000 }),
    purposeCategory: Type.Enum(PURPOSE_CATEGORIES),
    legalBasis: Type.String({
      minLength: 2,
      maxLength: 2000,
      description: '法律法规或政策依据 / legal or policy basis',
    }),
    scenario: Type.String({ minLength: 2, maxLength: 2000, description: '业务场景 / business scenario' }),
    operations: Type.Array(Operation, { minItems: 1, maxItems: 2, uniqueItems: true }),
    requestedFrom: Type.Optional(Type.String({ format: 'date-time' })),
    requestedTo: Type.String({ format: 'date-time' }),
    submit: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);

const Decision = Type.Object(
  {
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    fields: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, uniqueItems: true })),
    masking: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 64 }))),
    rowFilter: Type.Optional(
      Type.Unknown({ description: 'e.g. {"and":[{"field":"district","op":"eq","value":"西湖区"}]}' }),
    ),
    operations: Type.Optional(Type.Array(Operation, { minItems: 1, uniqueItems: true })),
    validTo: Type.Optional(Type.String({ format: 'date-time' })),
    rateLimitPerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    quotaRowsPerDay: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000 })),
    ipAllowlist: Type.Optional(Type.Array(Type.String({ maxLength: 43 }), { maxItems: 100 })),
    minGroupSize: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
    allowWeakerMasking: Type.Optional(Type.Boolean()),
    workingHoursOnly: Type.Optional(
      Type.Boolean({
        description: '仅工作时间可访问 / serve only in working hours (can be added, not removed)',
      }),
    ),
    pinVersion: Type.Optional(Type.Integer({ minimum: 1, description: 'keep the contract on this version' })),
  },
  { additionalProperties: false },
);

/** The request letter, sent as its bytes (PDF, PNG or JPEG). */
const LetterBody = Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary' });

const Bilingual = Type.Object({ zh: Type.String(), en: Type.String() });
const AgreementView = Type.Object({
  record: Type.Record(Type.String(), Type.Unknown(), { description: 'what the SM3 code covers' }),
  names: Type.Record(Type.String(), Type.Unknown()),
  code: Type.String({ description: 'SM3 of the record, hex' }),
  state: Type.String(),
  stateReason: Type.Union([Type.String(), Type.Null()]),
  terms: Type.Array(Type.Object({ key: Type.String(), label: Bilingual, text: Bilingual })),
});

const ListQuery = Type.Object({
  state: Type.Optional(Type.String({ maxLength: 20 })),
  resource: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  decidedBy: Type.Optional(
    Type.Literal('me', {
      description: '只列出我已作出决定的申请 / only applications the caller has decided',
    }),
  ),
});

const Review = Type.Object(
  {
    reason: Type.String({ minLength: 2, maxLength: 2000 }),
    since: Type.Optional(
      Type.String({
        maxLength: 64,
        description:
          '复核的标记时间（防止清除之后新出现的标记）/ the flag read, so a newer one is not cleared',
      }),
    ),
  },
  { additionalProperties: false },
);

export const sharingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/applications',
    {
      config: { access },
      schema: {
        tags,
        summary: '申请共享数据 / Apply for data',
        body: ApplicationCreate,
        response: { 201: Application },
      },
    },
    async (req, reply) => reply.status(201).send(await sharing.createApplication(req.ctx, req.body)),
  );
  app.get(
    '/v1/applications',
    {
      config: { access },
      schema: {
        tags,
        summary: '申请列表 / Applications',
        querystring: ListQuery,
        response: { 200: ApplicationPage },
      },
    },
    (req) => sharing.listApplications(req.ctx, { ...req.query, state: req.query.state as never }),
  );
  app.get(
    '/v1/applications/:id',
    { config: { access }, schema: { tags, params: IdParams, response: { 200: Application } } },
    (req) => sharing.getApplication(req.ctx, req.params.id),
  );
  // The letter is the raw request body, streamed by the handler: a parser of its own, in a child
  // context so that the other sharing routes keep parsing JSON.
  await app.register(async (child) => {
    const raw = child.withTypeProvider<TypeBoxTypeProvider>();
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    raw.put(
      '/v1/applications/:id/letter',
      {
        config: { access },
        schema: {
          tags,
          summary: '上传申请函 / Upload the request letter',
          description:
            'The raw request body is the official letter (申请函): PDF, PNG or JPEG, judged by its content, ' +
            `at most ${sharing.LETTER_LIMIT_BYTES / 1024 / 1024} MiB. Replaces the current letter while the application is a draft.`,
          params: IdParams,
          querystring: Type.Object({
            filename: Type.Optional(Type.String({ maxLength: 255, description: 'the original file name' })),
          }),
          response: { 200: Application },
        },
      },
      (req, reply) =>
        sharing.attachLetter(req.ctx, req.params.id, {
          fileName: req.query.filename,
          declaredType: req.headers['content-type'],
          read: async (limit) => {
            const memory = memorySink();
            const received = await receiveBody(req, reply, limit, memory.sink);
            return { ...received, bytes: memory.bytes() };
          },
        }),
    );
  });
  app.get(
    '/v1/applications/:id/letter',
    {
      config: { access },
      schema: {
        tags,
        summary: '下载申请函 / The request letter',
        description: 'The bytes as uploaded; ETag and Digest carry their SM3.',
        params: IdParams,
        response: {
          200: {
            description: 'the letter',
            content: Object.fromEntries(sharing.LETTER_TYPES.map((type) => [type, { schema: LetterBody }])),
          },
        },
      },
    },
    async (req, reply) => {
      const letter = await sharing.getLetter(req.ctx, req.params.id);
      return reply
        .type(letter.contentType)
        .header('content-disposition', contentDisposition('inline', letter.fileName))
        .header('etag', `"${letter.sm3}"`)
        .header('digest', `sm3=${Buffer.from(letter.sm3, 'hex').toString('base64')}`)
        .send(letter.bytes);
    },
  );
  app.post(
    '/v1/applications/:id/submit',
    { config: { access }, schema: { tags, params: IdParams, response: { 200: Application } } },
    (req) => sharing.submitApplication(req.ctx, req.params.id),
  );
  app.post(
    '/v1/applications/:id/withdraw',
    { config: { access }, schema: { tags, params: IdParams, response: { 200: Application } } },
    (req) => sharing.withdrawApplication(req.ctx, req.params.id),
  );
  app.post(
    '/v1/applications/:id/approve',
    {
      config: { access },
      schema: {
        tags,
        summary: '批准（可附修改）/ Approve, optionally with changes',
        description:
          "The provider's data steward answers submitted applications; a security officer answers those in security review.",
        params: IdParams,
        body: Decision,
        response: { 200: Application },
      },
    },
    (req) => sharing.approveApplication(req.ctx, req.params.id, req.body),
  );
  app.post(
    '/v1/applications/:id/reject',
    {
      config: { access },
      schema: {
        tags,
        summary: '拒绝 / Reject',
        params: IdParams,
        body: Reason,
        response: { 200: Application },
      },
    },
    (req) => sharing.rejectApplication(req.ctx, req.params.id, req.body.reason),
  );

  app.get(
    '/v1/contracts',
    {
      config: { access },
      schema: {
        tags,
        summary: '数据使用协议 / Contracts',
        querystring: ListQuery,
        response: { 200: ContractPage },
      },
    },
    (req) => sharing.listContracts(req.ctx, { ...req.query, state: req.query.state as never }),
  );
  app.get(
    '/v1/contracts/:id',
    { config: { access }, schema: { tags, params: IdParams, response: { 200: Contract } } },
    (req) => sharing.getContract(req.ctx, req.params.id),
  );
  app.get(
    '/v1/contracts/:id/receipt',
    {
      config: { access },
      schema: {
        tags,
        summary: '协议文本 / Human-readable receipt',
        params: IdParams,
        response: {
          200: { description: 'the receipt', content: { 'text/plain': { schema: Type.String() } } },
        },
      },
    },
    async (req, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send(agreement.agreementText(await agreement.contractAgreement(req.ctx, req.params.id))),
  );
  app.get(
    '/v1/contracts/:id/agreement',
    {
      config: { access },
      schema: {
        tags,
        summary: '协议文书（条款、核验码）/ The agreement: terms in words and its verification code',
        params: IdParams,
        response: { 200: AgreementView },
      },
    },
    (req) => agreement.contractAgreement(req.ctx, req.params.id),
  );
  app.get(
    '/v1/contracts/:id/agreement.signed.json',
    {
      config: { access },
      schema: {
        tags,
        summary: '平台 SM2 签名的协议文件 / The agreement signed by the platform (SM2), for offline checking',
        description:
          'The agreement record, its printed names, state and SM3 verification code, signed with the platform key (GET /v1/registry/public-key). Check offline: `shutong contracts verify-agreement FILE --pubkey KEY`.',
        params: IdParams,
        response: {
          200: Type.Object({
            agreement: Type.Object({
              type: Type.String(),
              code: Type.String(),
              state: Type.String(),
              signedAt: Type.String({ format: 'date-time' }),
              record: JsonObject,
              names: JsonObject,
            }),
            signature: Type.Object({
              algorithm: Type.String(),
              publicKeyFingerprint: Type.String(),
              value: Type.String(),
            }),
          }),
        },
      },
    },
    async (req, reply) => {
      const signed = await agreement.signedAgreement(req.ctx, req.params.id);
      return reply
        .header(
          'content-disposition',
          `attachment; filename="agreement-${signed.agreement.record.contract}.signed.json"`,
        )
        .send(signed);
    },
  );
  app.get(
    '/v1/contracts/:id/agreement.pdf',
    {
      config: { access },
      schema: {
        tags,
        summary: '可打印的协议 PDF / Printable agreement (PDF)',
        params: IdParams,
        response: {
          200: PdfBody,
        },
      },
    },
    async (req, reply) => {
      const doc = await agreement.contractAgreement(req.ctx, req.params.id);
      const pdf = await agreement.agreementPdf(doc, `/v1/contracts/${doc.record.contract}/agreement/verify`);
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="agreement-${doc.record.contract}.pdf"`)
        .send(pdf);
    },
  );
  app.post(
    '/v1/contracts/:id/agreement/verify',
    {
      config: { access },
      schema: {
        tags,
        summary: '核验协议文书 / Check a printed agreement against the contract',
        params: IdParams,
        body: Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 200, description: 'the printed SM3 code' }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ valid: Type.Boolean(), code: Type.String(), state: Type.String() }),
        },
      },
    },
    (req) => agreement.verifyAgreement(req.ctx, req.params.id, req.body.code),
  );
  app.post(
    '/v1/contracts/:id/review',
    {
      config: { access },
      schema: {
        tags,
        summary: '复核定级变更并清除标记 / Review grade changes and clear the flag',
        description:
          "The provider's data steward or a security officer accepts the stricter masks the gateway serves since grades rose (a field now core leaves the contract) and clears the review flag.",
        params: IdParams,
        body: Review,
        response: { 200: Contract },
      },
    },
    (req) => sharing.reviewContract(req.ctx, req.params.id, req.body),
  );
  for (const event of ['suspend', 'resume', 'revoke'] as const) {
    app.post(
      `/v1/contracts/:id/${event}`,
      {
        config: { access },
        schema: { tags, params: IdParams, body: Reason, response: { 200: Contract } },
      },
      (req) => sharing.changeContract(req.ctx, req.params.id, event, req.body.reason),
    );
  }
};
