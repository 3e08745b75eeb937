import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PdfBody } from '../core/schemas.ts';
import { disclosurePage, disclosurePdf } from './render.ts';
import * as S from './schema.ts';
import * as op from './service.ts';

const tags = ['operation'];
const admin = op.OPERATION_ADMIN;
const operator = op.OPERATOR;
const read = op.OPERATION_READ;

export const operationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/operation/rules',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '授权运营规则 / The bureau’s limits forms must keep',
        description: 'The longest term a plan or an agreement may have (OPERATION_MAX_TERM_YEARS).',
        response: { 200: S.OperationRules },
      },
    },
    (req) => op.operationRules(req.ctx),
  );
  // ------------------------------------------------------------------ plans and selection
  app.post(
    '/v1/operation/plans',
    {
      config: { access: admin },
      schema: {
        tags,
        summary: '授权运营实施方案 / Create an operation plan',
        body: S.PlanBody,
        response: { 201: S.Plan },
      },
    },
    async (req, reply) => reply.status(201).send(await op.createPlan(req.ctx, req.body)),
  );
  app.get(
    '/v1/operation/plans',
    {
      config: { access: read },
      schema: { tags, summary: '实施方案列表 / Plans', response: { 200: Type.Array(S.Plan) } },
    },
    (req) => op.listPlans(req.ctx),
  );
  app.get(
    '/v1/operation/plans/:id',
    {
      config: { access: read },
      schema: { tags, summary: '实施方案 / One plan', params: S.IdParams, response: { 200: S.Plan } },
    },
    (req) => op.getPlan(req.ctx, req.params.id),
  );
  app.post(
    '/v1/operation/plans/:id/approve',
    {
      config: { access: admin },
      schema: { tags, summary: '批准方案 / Approve', params: S.IdParams, response: { 200: S.Plan } },
    },
    (req) => op.approvePlan(req.ctx, req.params.id),
  );
  app.post(
    '/v1/operation/plans/:id/selection',
    {
      config: { access: admin },
      schema: {
        tags,
        summary: '运营单位选择结果 / Record the operator selection',
        description: 'Candidates with scores; the highest score wins and its selection is put on notice.',
        params: S.IdParams,
        body: S.SelectionBody,
        response: { 200: S.Plan },
      },
    },
    (req) => op.selectOperator(req.ctx, req.params.id, req.body),
  );

  // ------------------------------------------------------------------ agreements
  app.post(
    '/v1/operation/agreements',
    {
      config: { access: admin },
      schema: {
        tags,
        summary: '授权运营协议 / Create an agreement',
        description:
          'With the selected operator of an approved plan; the term may not exceed OPERATION_MAX_TERM_YEARS.',
        body: S.AgreementBody,
        response: { 201: S.Agreement },
      },
    },
    async (req, reply) => reply.status(201).send(await op.createAgreement(req.ctx, req.body)),
  );
  app.get(
    '/v1/operation/agreements',
    {
      config: { access: read },
      schema: { tags, summary: '协议列表 / Agreements', response: { 200: Type.Array(S.Agreement) } },
    },
    (req) => op.listAgreements(req.ctx),
  );
  app.get(
    '/v1/operation/agreements/:id',
    {
      config: { access: read },
      schema: { tags, summary: '协议 / One agreement', params: S.IdParams, response: { 200: S.Agreement } },
    },
    (req) => op.getAgreement(req.ctx, req.params.id),
  );
  app.post(
    '/v1/operation/agreements/:id/terminate',
    {
      config: { access: admin },
      schema: {
        tags,
        summary: '终止协议 / Terminate',
        params: S.IdParams,
        body: S.ReasonBody,
        response: { 200: S.Agreement },
      },
    },
    (req) => op.terminateAgreement(req.ctx, req.params.id, req.body.reason),
  );

  // ------------------------------------------------------------------ products and prices
  app.post(
    '/v1/operation/products',
    {
      config: { access: operator },
      schema: {
        tags,
        summary: '登记数据产品 / Create a data product',
        body: S.ProductBody,
        response: { 201: S.Product },
      },
    },
    async (req, reply) => reply.status(201).send(await op.createProduct(req.ctx, req.body)),
  );
  app.get(
    '/v1/operation/products',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '数据产品 / Products',
        querystring: S.OperatorQuery,
        response: { 200: Type.Array(S.Product) },
      },
    },
    (req) => op.listProducts(req.ctx, req.query.operatorOrgId),
  );
  app.get(
    '/v1/operation/products/:id',
    {
      config: { access: read },
      schema: { tags, summary: '数据产品 / One product', params: S.IdParams, response: { 200: S.Product } },
    },
    (req) => op.getProduct(req.ctx, req.params.id),
  );
  app.get(
    '/v1/operation/products/:id/contracts',
    {
      config: { access: operator },
      schema: {
        tags,
        summary: '可订阅的共享协议 / Contracts a subscription may be recorded under',
        description:
          'The contracts in force today, of any customer, on a resource in the product’s lineage, with the customer’s and the resource’s names: the choices of the subscription form. The product’s operator only.',
        params: S.IdParams,
        response: { 200: Type.Array(S.SubscribableContract) },
      },
    },
    (req) => op.subscribableContracts(req.ctx, req.params.id),
  );
  app.put(
    '/v1/operation/products/:id/cap-fee',
    {
      config: { access: admin },
      schema: {
        tags,
        summary: '上限收费标准 / Set the cap fee',
        params: S.IdParams,
        body: S.CapFeeBody,
        response: { 200: S.Product },
      },
    },
    (req) => op.setCapFee(req.ctx, req.params.id, req.body),
  );
  app.put(
    '/v1/operation/products/:id/price',
    {
      config: { access: operator },
      schema: {
        tags,
        summary: '实际收费 / Set the price (≤ cap)',
        description: 'A price above the cap fee is refused with 422 PRICE_ABOVE_CAP.',
        params: S.IdParams,
        body: S.PriceBody,
        response: { 200: S.Product },
      },
    },
    (req) => op.setPrice(req.ctx, req.params.id, req.body),
  );

  // ------------------------------------------------------------------ revenue caps
  app.put(
    '/v1/operation/revenue-caps/:orgId/:year',
    {
      config: { access: admin },
      schema: {
        tags,
        summary: '最高准许收入 / Set the maximum allowed revenue',
        description:
          "Operating cost (sum of the cost breakdown) + cost × profit rate + tax; the previous year's excess is deducted.",
        params: S.CapParams,
        body: S.RevenueCapBody,
        response: { 200: S.RevenueCap },
      },
    },
    (req) => op.setRevenueCap(req.ctx, req.params.orgId, req.params.year, req.body),
  );
  app.post(
    '/v1/operation/revenue-caps/:orgId/:year/close',
    {
      config: { access: admin },
      schema: {
        tags,
        summary: '年度结算 / Close the year (carry the excess over)',
        params: S.CapParams,
        response: { 200: S.RevenueCap },
      },
    },
    (req) => op.closeRevenueYear(req.ctx, req.params.orgId, req.params.year),
  );
  app.get(
    '/v1/operation/revenue-caps',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '最高准许收入列表 / Revenue caps',
        querystring: S.YearQuery,
        response: { 200: Type.Array(S.RevenueCap) },
      },
    },
    (req) => op.listRevenueCaps(req.ctx, req.query.year),
  );

  // ------------------------------------------------------------------ subscriptions and bills
  app.post(
    '/v1/operation/subscriptions',
    {
      config: { access: operator },
      schema: {
        tags,
        summary: '客户使用产品（经其共享合约）/ Subscribe a customer contract',
        body: S.SubscriptionBody,
        response: { 201: S.Subscription },
      },
    },
    async (req, reply) => reply.status(201).send(await op.subscribe(req.ctx, req.body)),
  );
  app.get(
    '/v1/operation/subscriptions',
    {
      config: { access: read },
      schema: { tags, summary: '订购列表 / Subscriptions', response: { 200: Type.Array(S.Subscription) } },
    },
    (req) => op.listSubscriptions(req.ctx),
  );
  app.post(
    '/v1/operation/subscriptions/:id/bills',
    {
      config: { access: operator },
      schema: {
        tags,
        summary: '出具月度账单 / Issue the monthly bill',
        description: "Metered from the gateway's audit entries of the contract in that month (China time).",
        params: S.IdParams,
        body: S.BillBody,
        response: { 200: S.Bill },
      },
    },
    (req) => op.issueBill(req.ctx, req.params.id, req.body.month),
  );
  app.get(
    '/v1/operation/bills',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '账单 / Bills',
        querystring: S.MonthQuery,
        response: { 200: Type.Array(S.Bill) },
      },
    },
    (req) => op.listBills(req.ctx, req.query.month),
  );
  app.get(
    '/v1/operation/bills/:id',
    {
      config: { access: read },
      schema: { tags, summary: '账单 / One bill', params: S.IdParams, response: { 200: S.Bill } },
    },
    (req) => op.getBill(req.ctx, req.params.id),
  );
  app.get(
    '/v1/operation/bills/:id/reproduce',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '由审计日志复算账单 / Recompute from the audit log',
        params: S.IdParams,
        response: { 200: S.Reproduction },
      },
    },
    (req) => op.reproduceBill(req.ctx, req.params.id),
  );

  // ------------------------------------------------------------------ disclosure (public)
  app.get(
    '/v1/operation/disclosures/:year',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: '年度信息披露 / Yearly disclosure',
        params: S.YearParams,
        response: { 200: S.Disclosure },
      },
    },
    (req) => op.disclosure(req.ctx, req.params.year),
  );
  app.get(
    '/v1/operation/disclosures/:year/pdf',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: '年度信息披露 PDF / Disclosure PDF',
        params: S.YearParams,
        response: {
          200: PdfBody,
        },
      },
    },
    async (req, reply) => {
      const pdf = await disclosurePdf(await op.disclosure(req.ctx, req.params.year));
      return reply.type('application/pdf').send(pdf);
    },
  );
  app.get(
    '/disclosure/:year',
    { config: { access: 'public' }, schema: { hide: true, params: S.YearParams } },
    async (req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(disclosurePage(await op.disclosure(req.ctx, req.params.year))),
  );
};
