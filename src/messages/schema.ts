import { Type } from 'typebox';

import { MESSAGE_KINDS } from './kinds.ts';

export { MESSAGE_KINDS, type MessageKind } from './kinds.ts';

const Key = Type.String({ minLength: 1, maxLength: 200 });

export const Message = Type.Object({
  key: Type.String({ description: '消息的稳定标识 / the message’s stable key (what /read takes)' }),
  kind: Type.Enum(MESSAGE_KINDS),
  todo: Type.Boolean({ description: '待我处理（否则为通知）/ something to do (else news)' }),
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Integer()]), {
    description:
      '消息文字的参数：资源名、报表名、期别、日期、数量… / what the text names: resource, form, period, date, count…',
  }),
  to: Type.String({ description: '控制台中的页面 / the console page it leads to' }),
  at: Type.Union([Type.String(), Type.Null()], {
    description: '发生时间；报送提醒等期限类为空 / when it happened; null for a deadline (reports due)',
  }),
  read: Type.Boolean(),
});

export const MessageQuery = Type.Object(
  {
    kind: Type.Optional(Type.Enum(MESSAGE_KINDS)),
    unread: Type.Optional(Type.Boolean({ description: 'true: 只看未读 / only unread ones' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const MessagePage = Type.Object({
  items: Type.Array(Message),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  total: Type.Integer({ description: '符合筛选的消息数 / messages matching the filter' }),
  unreadCount: Type.Integer({
    description: '全部未读消息数（不受筛选影响）/ all unread messages, whatever the filter',
  }),
});

export const ReadBody = Type.Object(
  {
    keys: Type.Optional(
      Type.Array(Key, {
        minItems: 1,
        maxItems: 500,
        description:
          '要标为已读的消息；省略则为当前全部 / the messages to mark read; all current ones when left out',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ReadResult = Type.Object({
  marked: Type.Integer({ description: '本次新标为已读的消息数 / messages newly marked read' }),
  unreadCount: Type.Integer(),
});
