import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import * as S from './schema.ts';
import * as identity from './service.ts';

const read = { roles: 'any', scope: 'identity:read' } as const;
const write = { roles: 'any', scope: 'identity:write' } as const;
const tags = ['identity'];

export const identityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/auth/login',
    {
      config: { access: 'public' },
      schema: { tags, summary: '登录 / Log in', body: S.LoginBody, response: { 200: S.LoginReply } },
    },
    (req) => identity.login(req.ctx, req.body.username, req.body.password),
  );

  const citizenTags = ['citizen'];
  const services = { roles: 'any', scope: 'services' } as const;
  app.post(
    '/v1/citizen/login',
    {
      config: { access: 'public' },
      schema: {
        tags: citizenTags,
        summary: '公众登录 / Citizen sign-in',
        description:
          'Resident ID number and the local identity provider’s password. The session reaches the services scope only (bundles, applications, ratings, consents).',
        body: S.CitizenLoginBody,
        response: { 200: S.LoginReply },
      },
    },
    (req) => identity.citizenLogin(req.ctx, req.body.idNumber, req.body.password),
  );
  app.get(
    '/v1/citizen/me',
    {
      config: { access: services },
      schema: {
        tags: citizenTags,
        summary: '当前申请人 / The signed-in applicant',
        description: 'A citizen (ID number masked) or an organization’s user (its credit code).',
        response: { 200: S.CitizenMe },
      },
    },
    (req) => identity.citizenMe(req.ctx),
  );
  app.post(
    '/v1/citizen/logout',
    {
      config: { access: { ...services, sessionOnly: true } },
      schema: { tags: citizenTags, summary: '退出登录 / Log out', response: { 204: Type.Null() } },
    },
    async (req, reply) => {
      await identity.logout(req.ctx, 'services');
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      config: { access: read },
      schema: { tags, summary: '退出登录 / Log out', response: { 204: Type.Null() } },
    },
    async (req, reply) => {
      await identity.logout(req.ctx);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/me',
    {
      config: { access: read },
      schema: { tags, summary: '当前用户 / The signed-in user', response: { 200: S.Me } },
    },
    (req) => identity.me(req.ctx),
  );

  app.get(
    '/v1/organizations',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '机构目录 / Organizations',
        querystring: S.SearchQuery,
        response: { 200: S.OrganizationPage },
      },
    },
    (req) => identity.listOrganizations(req.ctx, req.query.limit, req.query.cursor, { q: req.query.q }),
  );

  app.post(
    '/v1/organizations',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '登记机构 / Register an organization',
        body: S.OrganizationCreate,
        response: { 201: S.Organization },
      },
    },
    async (req, reply) => reply.status(201).send(await identity.createOrganization(req.ctx, req.body)),
  );

  app.get(
    '/v1/organizations/:id',
    { config: { access: read }, schema: { tags, params: S.IdParams, response: { 200: S.Organization } } },
    (req) => identity.getOrganization(req.ctx, req.params.id),
  );

  app.patch(
    '/v1/organizations/:id',
    {
      config: { access: write },
      schema: { tags, params: S.IdParams, body: S.OrganizationPatch, response: { 200: S.Organization } },
    },
    (req) => identity.updateOrganization(req.ctx, req.params.id, req.body),
  );

  app.get(
    '/v1/users',
    {
      config: { access: identity.USER_LISTERS },
      schema: { tags, querystring: S.UserListQuery, response: { 200: S.UserPage } },
    },
    (req) => identity.listUsers(req.ctx, req.query),
  );

  app.post(
    '/v1/users',
    { config: { access: write }, schema: { tags, body: S.UserCreate, response: { 201: S.User } } },
    async (req, reply) => reply.status(201).send(await identity.createUser(req.ctx, req.body)),
  );

  app.get(
    '/v1/users/:id',
    { config: { access: read }, schema: { tags, params: S.IdParams, response: { 200: S.User } } },
    (req) => identity.getUser(req.ctx, req.params.id),
  );

  app.patch(
    '/v1/users/:id',
    {
      config: { access: write },
      schema: { tags, params: S.IdParams, body: S.UserPatch, response: { 200: S.User } },
    },
    (req) => identity.updateUser(req.ctx, req.params.id, req.body),
  );

  app.put(
    '/v1/users/:id/password',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '设置密码 / Set a password',
        params: S.IdParams,
        body: S.PasswordBody,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await identity.setPassword(req.ctx, req.params.id, req.body);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/api-keys',
    {
      config: { access: read },
      schema: { tags, querystring: S.OrgFilterQuery, response: { 200: S.ApiKeyPage } },
    },
    (req) => identity.listApiKeys(req.ctx, req.query),
  );

  app.post(
    '/v1/api-keys',
    {
      config: { access: read, secretAnswer: true },
      schema: {
        tags,
        summary: '创建 API 密钥（仅显示一次）/ Create an API key (shown once)',
        body: S.ApiKeyCreate,
        response: { 201: S.ApiKeyCreated },
      },
    },
    async (req, reply) => reply.status(201).send(await identity.createApiKey(req.ctx, req.body)),
  );

  app.post(
    '/v1/api-keys/:id/revoke',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '吊销 API 密钥 / Revoke an API key',
        params: S.IdParams,
        response: { 200: S.ApiKey },
      },
    },
    (req) => identity.revokeApiKey(req.ctx, req.params.id),
  );
};
