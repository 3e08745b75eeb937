import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PdfBody } from '../core/schemas.ts';
import * as evaluation from './evaluation.ts';
import * as forms from './forms.ts';
import * as S from './schema.ts';
import * as indicators from './service.ts';
import * as templates from './templates.ts';

const read = indicators.INDICATOR_READ;
const write = indicators.INDICATOR_WRITE;

export const indicatorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // ------------------------------------------------------------------ the dictionary
  let tags = ['indicators'];
  app.post(
    '/v1/indicators',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '定义指标 / Define an indicator',
        description:
          'Defined once: a second indicator with the same definition or the same source is refused (409 INDICATOR_DUPLICATE, naming the existing code).',
        body: S.IndicatorBody,
        response: { 201: S.Indicator },
      },
    },
    async (req, reply) => reply.status(201).send(await indicators.createIndicator(req.ctx, req.body)),
  );
  app.get(
    '/v1/indicators',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '指标字典 / The dictionary',
        querystring: S.IndicatorQuery,
        response: { 200: S.IndicatorList },
      },
    },
    (req) => indicators.listIndicators(req.ctx, req.query),
  );
  app.get(
    '/v1/indicators/near-duplicates',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '疑似重复指标 / Near-duplicate indicators',
        description:
          'Pairs of active indicators of the same unit, period and level whose definitions are alike.',
        response: { 200: S.NearDuplicates },
      },
    },
    (req) => indicators.nearDuplicates(req.ctx),
  );
  app.get(
    '/v1/indicators/:code',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '指标及其版本 / An indicator and its versions',
        params: S.CodeParams,
        response: { 200: S.IndicatorDetail },
      },
    },
    (req) => indicators.getIndicator(req.ctx, req.params.code),
  );
  app.patch(
    '/v1/indicators/:code',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '修订指标（新版本）/ Revise an indicator (next version)',
        params: S.CodeParams,
        body: S.IndicatorPatch,
        response: { 200: S.Indicator },
      },
    },
    (req) => indicators.updateIndicator(req.ctx, req.params.code, req.body),
  );
  app.post(
    '/v1/indicators/:code/merge',
    {
      config: { access: indicators.INDICATOR_ADMIN },
      schema: {
        tags,
        summary: '合并重复指标 / Merge a duplicate into another indicator',
        params: S.CodeParams,
        body: S.MergeBody,
        response: { 200: S.Indicator },
      },
    },
    (req) => indicators.mergeIndicator(req.ctx, req.params.code, req.body.into),
  );
  app.post(
    '/v1/indicators/:code/retire',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '停用指标 / Retire an indicator',
        params: S.CodeParams,
        response: { 200: S.Indicator },
      },
    },
    (req) => indicators.retireIndicator(req.ctx, req.params.code),
  );
  app.get(
    '/v1/indicators/:code/values',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '指标数值（一次采集，多方共用）/ Values reported (collected once, read by all)',
        params: S.CodeParams,
        querystring: S.ValuesQuery,
        response: { 200: S.Values },
      },
    },
    (req) => indicators.readValues(req.ctx, req.params.code, req.query),
  );

  // ------------------------------------------------------------------ one-form reporting
  tags = ['forms'];
  app.post(
    '/v1/forms',
    {
      config: { access: forms.FORM_STAFF },
      schema: {
        tags,
        summary: '设计报表 / Design a form',
        description:
          'basis catalogue needs the platform admin (the data bureau keeps the catalogue); one_off and after_filing need an approval reference.',
        body: S.FormBody,
        response: { 201: S.Form },
      },
    },
    async (req, reply) => reply.status(201).send(await forms.createForm(req.ctx, req.body)),
  );
  app.get(
    '/v1/forms',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '报表目录及其负担 / The catalogue of forms and the burden it makes',
        querystring: S.FormQuery,
        response: { 200: S.Catalogue },
      },
    },
    (req) => forms.formCatalogue(req.ctx, req.query),
  );
  app.get(
    '/v1/forms/todo',
    {
      config: { access: forms.REPORTERS },
      schema: {
        tags,
        summary: '基层待填（合并、预填）/ A unit’s merged, pre-filled to-do',
        querystring: S.UnitPeriodQuery,
        response: { 200: S.Todo },
      },
    },
    (req) => forms.todo(req.ctx, req.query),
  );
  app.post(
    '/v1/forms/todo/prefill',
    {
      config: { access: forms.REPORTERS },
      schema: {
        tags,
        summary: '从共享数据预填 / Pre-fill a unit’s to-do from shared data through contracts',
        description:
          'For each item of the unit’s to-do not reported yet whose indicator a catalog resource holds (one row per unit and period), one audited gateway read through a contract of the caller’s organization; the figure is offered in the to-do with its contract. Items no contract in force covers are listed in `refused` with the reason, and asked as before.',
        body: S.UnitPeriodQuery,
        response: { 200: S.PrefillResult },
      },
    },
    (req) => forms.pullShared(req.ctx, req.body, req.ip),
  );
  app.get(
    '/v1/forms/reminders',
    {
      config: { access: forms.REPORTERS },
      schema: {
        tags,
        summary: '报送提醒（临近与逾期）/ Reports due soon or overdue for a unit',
        description:
          'Reports of issued forms whose period has ended, not yet submitted (or returned for correction), due within seven days or overdue; the unit is the caller’s organization’s division unless `unitCode` is given.',
        querystring: S.RemindersQuery,
        response: { 200: S.Reminders },
      },
    },
    (req) => forms.reminders(req.ctx, req.query),
  );
  app.get(
    '/v1/forms/signoffs',
    {
      config: { access: forms.REPORTERS },
      schema: {
        tags,
        summary: '待我签核 / Submissions waiting for my sign-off or acceptance',
        description:
          'Submissions whose sign-off round has reached the caller’s division (their government department’s region), and submissions of the caller’s organization’s forms signed off all the way up, oldest first.',
        response: { 200: S.SignoffTodo },
      },
    },
    (req) => forms.signoffTodo(req.ctx),
  );
  app.get(
    '/v1/forms/:code',
    {
      config: { access: read },
      schema: { tags, summary: '报表 / A form', params: S.CodeParams, response: { 200: S.Form } },
    },
    (req) => forms.getForm(req.ctx, req.params.code),
  );
  for (const [event, summary] of [
    ['issue', '下发 / Issue'],
    ['withdraw', '撤回 / Withdraw'],
  ] as const) {
    app.post(
      `/v1/forms/:code/${event}`,
      {
        config: { access: forms.FORM_STAFF },
        schema: { tags, summary, params: S.CodeParams, response: { 200: S.Form } },
      },
      (req) => forms.actOnForm(req.ctx, req.params.code, event),
    );
  }
  app.post(
    '/v1/forms/:code/submissions',
    {
      config: { access: forms.REPORTERS },
      schema: {
        tags,
        summary: '报送 / Submit (values held already are reused)',
        description:
          'Items left out are filled from values held for the same indicator, unit and period; a different figure is refused (409 VALUE_ALREADY_REPORTED); the same form twice is refused (409 SUBMISSION_DUPLICATE) unless returned.',
        params: S.CodeParams,
        body: S.SubmitBody,
        response: { 201: S.Submission },
      },
    },
    async (req, reply) => reply.status(201).send(await forms.submitForm(req.ctx, req.params.code, req.body)),
  );
  app.get(
    '/v1/forms/:code/submissions',
    {
      config: { access: forms.FORM_STAFF },
      schema: {
        tags,
        summary: '报送情况 / Submissions of a form',
        params: S.CodeParams,
        response: { 200: S.SubmissionList },
      },
    },
    (req) => forms.listSubmissions(req.ctx, req.params.code),
  );
  app.get(
    '/v1/forms/:code/rollup',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '逐级汇总 / Roll-up of the submissions below a unit signed off at its level',
        description:
          'Counts a submission once it is signed off at the unit’s level or above: the first step of its chain at that level or above that was not skipped is signed, or — at or above the form’s department — the department accepted it.',
        params: S.CodeParams,
        querystring: S.UnitPeriodQuery,
        response: { 200: S.Rollup },
      },
    },
    (req) => forms.rollup(req.ctx, req.params.code, req.query),
  );
  app.get(
    '/v1/forms/submissions/:id',
    {
      config: { access: forms.REPORTERS },
      schema: {
        tags,
        summary: '报送及其签核链 / A submission and its sign-off chain',
        description: 'For the form’s department and for reporters whose area holds the unit.',
        params: S.IdParams,
        response: { 200: S.Submission },
      },
    },
    (req) => forms.getSubmission(req.ctx, req.params.id),
  );
  app.post(
    '/v1/forms/submissions/:id/signoff',
    {
      config: { access: forms.REPORTERS },
      schema: {
        tags,
        summary: '逐级签核 / Sign off at my division',
        description:
          'By a data steward or org admin of the government department at the division whose step it is (the platform admin: wherever the submission waits). 403 OUTSIDE_JURISDICTION for any other division; 409 SIGNOFF_PENDING before the divisions below have signed; 409 SIGNOFF_DECIDED when the step was already decided (two reviewers racing: one wins, the other is told so).',
        params: S.IdParams,
        body: S.SignoffBody,
        response: { 200: S.Submission },
      },
    },
    (req) => forms.signOff(req.ctx, req.params.id, req.body.comment),
  );
  app.post(
    '/v1/forms/submissions/:id/accept',
    {
      config: { access: forms.FORM_STAFF },
      schema: {
        tags,
        summary: '审核通过 / Accept',
        description:
          'By the form’s department, once every division below has signed off (409 SIGNOFF_PENDING before).',
        params: S.IdParams,
        response: { 200: S.Submission },
      },
    },
    (req) => forms.decideSubmission(req.ctx, req.params.id, 'accept'),
  );
  app.post(
    '/v1/forms/submissions/:id/return',
    {
      config: { access: forms.FORM_STAFF },
      schema: {
        tags,
        summary: '退回更正 / Return for correction',
        description:
          'At the caller’s step of the sign-off chain when they are a division on it (the steps above are cancelled; a resubmission climbs from the bottom again), otherwise by the form’s department once every division has signed off.',
        params: S.IdParams,
        body: S.ReasonBody,
        response: { 200: S.Submission },
      },
    },
    (req) => forms.decideSubmission(req.ctx, req.params.id, 'return', req.body.reason),
  );

  // ------------------------------------------------------------------ evaluation
  tags = ['evaluation'];
  app.post(
    '/v1/evaluation/indexes',
    {
      config: { access: evaluation.INDEX_ADMIN },
      schema: {
        tags,
        summary: '定义评价指数 / Define an index',
        body: S.IndexBody,
        response: { 201: S.EvaluationIndex },
      },
    },
    async (req, reply) => reply.status(201).send(await evaluation.createIndex(req.ctx, req.body)),
  );
  app.post(
    '/v1/evaluation/templates/losi-2022',
    {
      config: { access: evaluation.INDEX_ADMIN },
      schema: {
        tags,
        summary: '安装 LOSI 2022 评价指数模板 / Install the LOSI 2022 index template',
        description:
          'Creates the 86 yes/no city indicators of the UN Local Online Service Index 2022 in the dictionary (unit 是/否, reported yearly; indicators already there under those codes are reused) and the index LOSI-2022 over them: five criteria as dimensions weighted by their number of indicators, so the score is the share of the 86 features present. Idempotent: when LOSI-2022 exists, answers it (200) and changes nothing; 201 when installed. The index is a draft until published.',
        response: { 200: S.EvaluationIndex, 201: S.EvaluationIndex },
      },
    },
    async (req, reply) => {
      const { index, created } = await templates.installLosi2022(req.ctx);
      return reply.status(created ? 201 : 200).send(index);
    },
  );
  app.get(
    '/v1/evaluation/indexes',
    {
      config: { access: read },
      schema: { tags, summary: '评价指数 / Indices', response: { 200: S.IndexList } },
    },
    (req) => evaluation.listIndexes(req.ctx),
  );
  app.get(
    '/v1/evaluation/indexes/:code',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '评价指数定义 / An index',
        params: S.CodeParams,
        response: { 200: S.EvaluationIndex },
      },
    },
    (req) => evaluation.getIndex(req.ctx, req.params.code),
  );
  for (const [event, summary] of [
    ['publish', '发布 / Publish'],
    ['retire', '停用 / Retire'],
  ] as const) {
    app.post(
      `/v1/evaluation/indexes/:code/${event}`,
      {
        config: { access: evaluation.INDEX_ADMIN },
        schema: { tags, summary, params: S.CodeParams, response: { 200: S.EvaluationIndex } },
      },
      (req) => evaluation.actOnIndex(req.ctx, req.params.code, event),
    );
  }
  app.get(
    '/v1/evaluation/indexes/:code/results',
    {
      config: { access: read },
      schema: {
        tags,
        summary:
          '评价结果（排名、同比、维度贡献、溯源）/ Results: ranks, change, contributions, inputs traced',
        params: S.CodeParams,
        querystring: S.ResultsQuery,
        response: { 200: S.Results },
      },
    },
    (req) => evaluation.indexResults(req.ctx, req.params.code, req.query),
  );
  app.get(
    '/v1/evaluation/indexes/:code/report',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '可打印评价报告 PDF / Printable evaluation report (PDF)',
        description:
          'The results of the same query as a report: ranking with bars and the change from `previousPeriod`, each dimension’s score and contribution, the method (normalizations named with their published index, aggregation, missing-data rule). Chinese font embedded; 503 PDF_FONT_MISSING without it.',
        params: S.CodeParams,
        querystring: S.ResultsQuery,
        response: { 200: PdfBody },
      },
    },
    async (req, reply) =>
      reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="${req.params.code}-${req.query.period}.pdf"`)
        .send(await evaluation.indexReport(req.ctx, req.params.code, req.query)),
  );
};
