import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import * as S from './schema.ts';
import * as services from './service.ts';

const tags = ['services'];
const use = services.SERVICES_USE;
const authors = services.BUNDLE_AUTHORS;
const staff = services.DEPARTMENT_STAFF;

export const servicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/services/bundles',
    {
      config: { access: authors },
      schema: {
        tags,
        summary: '定义一件事 / Declare a service bundle',
        description:
          'Steps form a dependency graph; each field may name the catalog resource and field a contract can give (免提交). Created as a draft of the lead department.',
        body: S.BundleBody,
        response: { 201: S.Bundle },
      },
    },
    async (req, reply) => reply.status(201).send(await services.createBundle(req.ctx, req.body)),
  );
  app.get(
    '/v1/services/bundles',
    {
      config: { access: use },
      schema: {
        tags,
        summary: '一件事列表 / Service bundles',
        querystring: S.PageQuery,
        response: { 200: S.BundlePage },
      },
    },
    (req) => services.listBundles(req.ctx, req.query),
  );
  app.get(
    '/v1/services/bundles/:id',
    {
      config: { access: use },
      schema: {
        tags,
        summary: '一件事（含免提交与节省）/ One bundle, with exemptions and savings',
        params: S.IdParams,
        response: { 200: S.Bundle },
      },
    },
    (req) => services.getBundle(req.ctx, req.params.id),
  );
  for (const [event, summary] of [
    ['publish', '发布 / Publish'],
    ['retire', '停止办理 / Retire'],
  ] as const) {
    app.post(
      `/v1/services/bundles/:id/${event}`,
      {
        config: { access: authors },
        schema: { tags, summary, params: S.IdParams, response: { 200: S.Bundle } },
      },
      (req) => services.changeBundle(req.ctx, req.params.id, event),
    );
  }
  const citizenTags = ['citizen'];
  app.get(
    '/v1/citizen/consents',
    {
      config: { access: services.CITIZENS },
      schema: {
        tags: citizenTags,
        summary: '家庭授权 / Consents given and received',
        response: { 200: S.Consents },
      },
    },
    (req) => services.listConsents(req.ctx),
  );
  app.post(
    '/v1/citizen/consents',
    {
      config: { access: services.CITIZENS },
      schema: {
        tags: citizenTags,
        summary: '授权家庭成员 / Let a family member apply with your data',
        description:
          'Until validUntil (at most three years ahead); the grantee, named by ID number, applies with `consentId`.',
        body: S.ConsentBody,
        response: { 201: S.Consent },
      },
    },
    async (req, reply) => reply.status(201).send(await services.grantConsent(req.ctx, req.body)),
  );
  app.post(
    '/v1/citizen/consents/:id/revoke',
    {
      config: { access: services.CITIZENS },
      schema: {
        tags: citizenTags,
        summary: '撤销授权 / Revoke (the grantor or the grantee)',
        params: S.IdParams,
        response: { 200: S.Consent },
      },
    },
    (req) => services.revokeConsent(req.ctx, req.params.id),
  );
  app.get(
    '/v1/citizen/notifications',
    {
      config: { access: use },
      schema: {
        tags: citizenTags,
        summary: '办件消息 / Notifications about your applications and consents',
        description:
          'Every department move on your application (accepted, in progress, done, returned with its reason, refused), its completion, and consents given to or revoked for you; newest first, with the unread count.',
        querystring: S.NotificationQuery,
        response: { 200: S.NotificationPage },
      },
    },
    (req) => services.listNotifications(req.ctx, req.query),
  );
  app.post(
    '/v1/citizen/notifications/read',
    {
      config: { access: use },
      schema: {
        tags: citizenTags,
        summary: '标为已读 / Mark notifications read (yours; all when no ids)',
        body: S.ReadBody,
        response: { 200: S.ReadResult },
      },
    },
    (req) => services.markNotificationsRead(req.ctx, req.body.ids),
  );
  app.get(
    '/v1/services/savings',
    {
      config: { access: use },
      schema: {
        tags,
        summary: '一件事节省统计 / Savings of every visible bundle',
        description:
          'Computed from the bundle definitions and the contracts in force (same as `shutong services savings`).',
        response: { 200: S.SavingsList },
      },
    },
    (req) => services.allSavings(req.ctx),
  );
  app.get(
    '/v1/services/bundles/:id/eligibility',
    {
      config: { access: use },
      schema: {
        tags,
        summary: '申请条件核验 / Check the conditions for the signed-in applicant',
        description:
          'Each condition of the bundle for whoever would apply now — the citizen herself, the family member of `consentId`, or the organization — checked from what the subject’s key carries (division, age, sex); declared text comes back with `met: null` for the applicant to confirm. Applying runs the same check and refuses with 422 SERVICE_NOT_ELIGIBLE.',
        params: S.IdParams,
        querystring: S.EligibilityQuery,
        response: { 200: S.Eligibility },
      },
    },
    (req) => services.bundleEligibility(req.ctx, req.params.id, req.query),
  );
  app.post(
    '/v1/services/bundles/:id/applications',
    {
      config: { access: use },
      schema: {
        tags,
        summary: '申请一件事 / Apply',
        description:
          'One merged form: exactly the fields no contract in force gives (an exempted or unknown field is refused, as is a missing one). Whose data is decided by who applies: a citizen for a life event (herself, or with `consentId` a family member who consented), an organization’s user for a business event (its credit code).',
        params: S.IdParams,
        body: S.ApplyBody,
        response: { 201: S.Application },
      },
    },
    async (req, reply) => reply.status(201).send(await services.apply(req.ctx, req.params.id, req.body)),
  );
  app.get(
    '/v1/services/applications',
    {
      config: { access: use },
      schema: {
        tags,
        summary: '申请列表 / Applications (own, or with a step at your department)',
        querystring: S.PageQuery,
        response: { 200: S.ApplicationPage },
      },
    },
    (req) => services.listApplications(req.ctx, req.query),
  );
  app.get(
    '/v1/services/applications/:id',
    {
      config: { access: use },
      schema: {
        tags,
        summary: '申请进度 / One application',
        params: S.IdParams,
        response: { 200: S.Application },
      },
    },
    (req) => services.getApplication(req.ctx, req.params.id),
  );
  app.get(
    '/v1/services/overdue',
    {
      config: { access: services.DEPARTMENT_STAFF_OR_ADMIN },
      schema: {
        tags,
        summary: '逾期步骤 / Overdue steps',
        description:
          'Open steps past their working-day deadline: your department’s, or all for a platform admin.',
        response: { 200: S.OverdueSteps },
      },
    },
    (req) => services.overdueSteps(req.ctx),
  );
  app.post(
    '/v1/services/applications/:id/steps/:step/prefill',
    {
      config: { access: staff },
      schema: {
        tags,
        summary: '经共享数据预填 / Pre-fill the step through the department’s contracts',
        description:
          'One audited gateway read per exempted field, keyed by the applicant key; fields no contract in force covers are listed in `missing`.',
        params: S.StepParams,
        response: { 200: S.PrefillResult },
      },
    },
    (req) => services.prefillStep(req.ctx, req.params.id, req.params.step, req.ip),
  );
  const stepEvents = [
    ['accept', '受理 / Accept', staff, false],
    ['start', '开始办理 / Start', staff, false],
    ['complete', '办结 / Complete', staff, false],
    ['return', '退回补正 / Return for correction (reason required)', staff, true],
    ['refuse', '不予办理 / Refuse (reason required)', staff, true],
    ['resubmit', '补正后重新提交 / Resubmit (the applicant)', use, false],
  ] as const;
  for (const [event, summary, access, reason] of stepEvents) {
    app.post(
      `/v1/services/applications/:id/steps/:step/${event}`,
      {
        config: { access },
        schema: {
          tags,
          summary,
          params: S.StepParams,
          ...(reason ? { body: S.ReasonBody } : {}),
          response: { 200: S.Application },
        },
      },
      (req) =>
        services.actOnStep(
          req.ctx,
          req.params.id,
          req.params.step,
          event,
          (req.body ?? {}) as { reason?: string },
        ),
    );
  }
};
