import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import * as S from './schema.ts';
import * as messages from './service.ts';

const tags = ['messages'];

export const messagesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/messages',
    {
      config: { access: messages.MESSAGES_READ },
      schema: {
        tags,
        summary: '消息中心 / My messages: to-dos and updates, newest first',
        description:
          'What waits for the signed-in user (applications to decide or review, reports due, catalog reviews, open alerts) and what happened to their organization’s business (applications decided in the last 30 days, contracts ending within 30 days) — each as the other pages would show it to this user. `unreadCount` counts all unread messages, whatever the filter.',
        querystring: S.MessageQuery,
        response: { 200: S.MessagePage },
      },
    },
    (req) => messages.listMessages(req.ctx, req.query),
  );
  app.post(
    '/v1/messages/read',
    {
      config: { access: messages.MESSAGES_READ },
      schema: {
        tags,
        summary: '标为已读 / Mark messages read (all current ones without keys)',
        description:
          'Keys that are no current message of the caller are passed over; marking a message again changes nothing. Read marks are the caller’s own.',
        body: S.ReadBody,
        response: { 200: S.ReadResult },
      },
    },
    (req) => messages.markRead(req.ctx, req.body.keys),
  );
};
