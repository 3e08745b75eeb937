import { Type } from 'typebox';
import { pageSchema } from '../core/paging.ts';
import { Nullable } from '../core/schemas.ts';
import { ALERT_SEVERITIES, ALERT_STATES, FREEZE_SCOPES } from '../core/tables.ts';
import { RULE_IDS } from './rules.ts';

const DateTime = Type.String({ format: 'date-time' });
const Cursor = Type.Optional(
  Type.String({
    maxLength: 64,
    pattern: '^[a-z]{3}_[0-9a-z]{26}$',
    description: 'nextCursor of the previous page',
  }),
);
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 }));
const Text = { zh: Type.String(), en: Type.String() };

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const AlertQuery = Type.Object(
  {
    state: Type.Optional(Type.Enum(ALERT_STATES)),
    severity: Type.Optional(Type.Enum(ALERT_SEVERITIES)),
    rule: Type.Optional(Type.Enum(RULE_IDS)),
    subject: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: '对象 id / subject id (contract, key, user, resource…)',
      }),
    ),
    subjectType: Type.Optional(
      Type.Enum(['contract', 'api_key', 'session', 'user', 'organization', 'resource'] as const),
    ),
    limit: Limit,
    cursor: Cursor,
  },
  { additionalProperties: false },
);

const Actor = Type.Object({ by: Nullable(Type.String()), at: DateTime, note: Nullable(Type.String()) });

export const Alert = Type.Object({
  id: Type.String(),
  rule: Type.String(),
  severity: Type.Enum(ALERT_SEVERITIES),
  state: Type.Enum(ALERT_STATES),
  subject: Type.Object({ type: Type.String(), id: Type.String() }),
  orgId: Nullable(Type.String()),
  summary: Type.Object(Text),
  details: Type.Record(Type.String(), Type.Unknown()),
  occurrences: Type.Integer({
    description: '该告警被规则发现的次数 / evaluations that found this condition',
  }),
  firstSeenAt: DateTime,
  lastSeenAt: DateTime,
  acknowledged: Nullable(Actor),
  resolved: Nullable(Actor),
  notifiedAt: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime,
});
export const AlertPage = pageSchema(Alert);

export const AcknowledgeBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
export const ResolveBody = Type.Object(
  { note: Type.String({ minLength: 2, maxLength: 2000, description: '处置说明 / how it was resolved' }) },
  { additionalProperties: false },
);

export const Evaluation = Type.Object({
  windows: Type.Integer(),
  events: Type.Integer({ description: '本次评估的审计事件数 / audit events judged' }),
  lastSeq: Type.Integer({ description: '已评估到的审计日志位置 / audit log position evaluated up to' }),
  opened: Type.Array(Alert),
  updated: Type.Integer(),
});

export const Rule = Type.Object({
  id: Type.String(),
  title: Type.Object(Text),
  standing: Type.Boolean(),
  thresholds: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()])),
});

export const FreezeBody = Type.Object(
  {
    scope: Type.Enum(FREEZE_SCOPES),
    target: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'contract id; organization id or credit code; resource id or code; user id or username; API key id. Absent for the whole gateway',
      }),
    ),
    reason: Type.String({ minLength: 2, maxLength: 2000 }),
  },
  { additionalProperties: false },
);

export const LiftBody = Type.Object(
  { reason: Type.String({ minLength: 2, maxLength: 2000 }) },
  { additionalProperties: false },
);

export const FreezeQuery = Type.Object(
  {
    state: Type.Optional(Type.Enum(['active', 'lifted', 'all'] as const, { default: 'active' })),
    limit: Limit,
    cursor: Cursor,
  },
  { additionalProperties: false },
);

export const Freeze = Type.Object({
  id: Type.String(),
  scope: Type.Enum(FREEZE_SCOPES),
  target: Nullable(Type.String()),
  reason: Type.String(),
  active: Type.Boolean(),
  createdBy: Type.String(),
  createdAt: DateTime,
  lifted: Nullable(
    Type.Object({ by: Nullable(Type.String()), at: DateTime, reason: Nullable(Type.String()) }),
  ),
});
export const FreezePage = pageSchema(Freeze);
