import { Type } from 'typebox';
import { Nullable } from '../core/schemas.ts';
import {
  CATEGORIES,
  DATA_TYPES,
  GRADES,
  OPEN_TYPES,
  RESOURCE_STATES,
  SHARING_TYPES,
} from '../core/tables.ts';
import { THEME_IDS, UPDATE_CYCLES } from './themes.ts';

const FieldName = Type.String({
  pattern: '^[a-z_][a-z0-9_]{0,62}$',
  description: 'column name: lower-case letters, digits and _',
});

export const FieldInput = Type.Object(
  {
    name: FieldName,
    label: Type.String({ minLength: 1, maxLength: 100, description: '中文名称 / Chinese label' }),
    dataType: Type.Enum(DATA_TYPES),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    isKey: Type.Optional(
      Type.Boolean({ description: 'part of the record key (duplicates are counted on it)' }),
    ),
  },
  { additionalProperties: false },
);

const resourceFields = {
  name: Type.String({ minLength: 2, maxLength: 200, description: '资源名称 / resource name' }),
  summary: Type.Optional(Type.String({ maxLength: 4000 })),
  theme: Type.Enum(THEME_IDS as [string, ...string[]]),
  keywords: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 30 })),
  format: Type.Optional(Type.String({ maxLength: 50, description: 'table, file, api, …' })),
  updateCycle: Type.Enum(UPDATE_CYCLES),
  sharingType: Type.Enum(SHARING_TYPES),
  sharingConditions: Type.Optional(Type.String({ maxLength: 2000 })),
  openType: Type.Enum(OPEN_TYPES),
  openConditions: Type.Optional(Type.String({ maxLength: 2000 })),
  publishedOn: Type.Optional(Nullable(Type.String({ format: 'date' }))),
  relatedCodes: Type.Optional(
    Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50, uniqueItems: true }),
  ),
  fields: Type.Optional(Type.Array(FieldInput, { maxItems: 2000 })),
};

export const ResourceCreate = Type.Object(resourceFields, { additionalProperties: false });
export const ResourcePatch = Type.Object(
  {
    ...Type.Partial(Type.Object(resourceFields)).properties,
    revision: Type.Integer({
      minimum: 1,
      description: 'the revision you read; a change made since is refused (409)',
    }),
  },
  { additionalProperties: false, minProperties: 2 },
);

export const Field = Type.Object({
  name: Type.String(),
  label: Type.String(),
  dataType: Type.Enum(DATA_TYPES),
  description: Type.String(),
  grade: Type.Enum(GRADES),
  isKey: Type.Boolean(),
  detector: Nullable(Type.String({ description: 'what classification found the values to be' })),
});

export const Resource = Type.Object({
  id: Type.String(),
  code: Type.String(),
  state: Type.Enum(RESOURCE_STATES, {
    description:
      '编目状态：草稿、待审核、已发布、已撤回 / catalog state: draft, in review, published, withdrawn',
  }),
  stateReason: Nullable(Type.String({ description: 'why it was last returned or withdrawn' })),
  reviewDue: Nullable(
    Type.Object(
      { since: Type.String({ format: 'date-time' }), by: Type.String() },
      {
        description:
          'set when a published resource’s grades changed: no new applications or approvals until the bureau confirms it again (reconfirm)',
      },
    ),
  ),
  name: Type.String(),
  summary: Type.String(),
  provider: Type.Object({ id: Type.String(), name: Type.String() }),
  category: Type.Enum(CATEGORIES),
  theme: Type.String(),
  themeLabel: Type.Object({ 'zh-CN': Type.String(), en: Type.String() }),
  keywords: Type.Array(Type.String()),
  format: Type.String(),
  updateCycle: Type.String(),
  sharingType: Type.Enum(SHARING_TYPES),
  sharingConditions: Type.String(),
  openType: Type.Enum(OPEN_TYPES),
  openConditions: Type.String(),
  publishedOn: Nullable(Type.String()),
  relatedCodes: Type.Array(Type.String()),
  grade: Type.Enum(GRADES),
  revision: Type.Integer(),
  currentVersionId: Nullable(Type.String()),
  fields: Type.Array(Field),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const SearchQuery = Type.Object({
  q: Type.Optional(
    Type.String({ maxLength: 200, description: '中文或英文关键词 / Chinese or English words' }),
  ),
  theme: Type.Optional(Type.Enum(THEME_IDS as [string, ...string[]])),
  provider: Type.Optional(Type.String({ maxLength: 64, description: 'provider organization id' })),
  sharingType: Type.Optional(Type.Enum(SHARING_TYPES)),
  openType: Type.Optional(Type.Enum(OPEN_TYPES)),
  grade: Type.Optional(Type.Enum(GRADES)),
  state: Type.Optional(
    Type.Enum(RESOURCE_STATES, {
      description:
        '只看此状态（未发布的仅提供方与数据局可见）/ only this state (unpublished ones are seen by their provider and the bureau only)',
    }),
  ),
  reviewDue: Type.Optional(
    Type.Boolean({
      description: '只看分级变更后待重新审核的资源 / only resources due a review after a grade change',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  sort: Type.Optional(
    Type.Enum(['relevance', 'updated', 'newest'] as const, {
      description:
        '相关度（默认）、最近更新或最新发布 / relevance (default), latest update or latest publication first',
    }),
  ),
  withTotal: Type.Optional(Type.Boolean({ description: 'answer the number of results on all pages' })),
  facets: Type.Optional(
    Type.Boolean({ description: 'answer the results counted by theme, sharing type, open type and grade' }),
  ),
});

const Counts = Type.Record(Type.String(), Type.Integer());

export const SearchResult = Type.Object({
  items: Type.Array(
    Type.Intersect([Resource, Type.Object({ score: Type.Number(), matchedAllTerms: Type.Boolean() })]),
  ),
  nextCursor: Nullable(Type.String()),
  terms: Type.Array(Type.String()),
  total: Type.Optional(Type.Integer()),
  facets: Type.Optional(Type.Object({ theme: Counts, sharingType: Counts, openType: Counts, grade: Counts })),
});

export const PublicationStep = Type.Object(
  {
    reason: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 500,
        description: '退回或撤回的理由（必填）/ why it is returned or withdrawn (required for those)',
      }),
    ),
    acceptUnassessed: Type.Optional(
      Type.Boolean({
        description:
          '发布时确认未定级字段按未定级发布（按最严格的默认规则提供：识别出类型的脱敏，其余不提供）/ on publish: publish with the listed unassessed fields, served under the strictest default (masked when their type is recognised, otherwise withheld)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const HistoryEntry = Type.Object({
  revision: Type.Integer(),
  actorId: Type.String(),
  at: Type.String({ format: 'date-time' }),
  changes: Type.Record(Type.String(), Type.Unknown()),
});

export const IdOrCode = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const Theme = Type.Object({
  id: Type.String(),
  code: Type.String(),
  category: Type.String(),
  zh: Type.String(),
  en: Type.String(),
});
