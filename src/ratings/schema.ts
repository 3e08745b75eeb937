import { Type } from 'typebox';
import { pageSchema } from '../core/paging.ts';
import { CASE_STATES } from './store.ts';

export { PageQuery } from '../core/paging.ts';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (China civil date)' });
const Level = Type.Integer({ minimum: 1, maximum: 5, description: '5 非常满意 … 1 非常不满意' });

export const IdParams = Type.Object({ id: Id });

export const RatingBody = Type.Object(
  {
    applicationId: Id,
    step: Type.String({ pattern: '^[a-z][a-z0-9_]{0,39}$' }),
    channel: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    level: Level,
    indicators: Type.Record(Type.String({ maxLength: 32 }), Level, {
      description:
        'online: efficiency, guideAccuracy, convenience, usability; offline: efficiency, serviceLevel, attitude (level is the overall one)',
    }),
    text: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    named: Type.Boolean({ description: '实名评价：a bad one gets a return visit before its case closes' }),
  },
  { additionalProperties: false },
);

const Note = Type.Object({ by: Type.String(), on: Day, note: Type.String() });

export const Case = Type.Object({
  id: Type.String(),
  ratingId: Type.String(),
  orgId: Type.String(),
  state: Type.Enum(CASE_STATES),
  openedOn: Day,
  dueOn: Day,
  workingDays: Type.Integer(),
  returnVisit: Type.Boolean(),
  overdue: Type.Boolean(),
  workingDaysOverdue: Type.Integer(),
  notes: Type.Record(Type.String(), Note),
  closedOn: Type.Union([Day, Type.Null()]),
});
export const CasePage = pageSchema(Case);

export const Rating = Type.Object({
  id: Type.String(),
  applicationId: Type.String(),
  step: Type.String(),
  orgId: Type.String(),
  bundleId: Type.String(),
  raterUserId: Type.String(),
  channel: Type.String(),
  level: Type.Integer(),
  levelName: Type.Object({ zh: Type.String(), en: Type.String() }),
  indicators: Type.Record(Type.String(), Type.Integer()),
  text: Type.Union([Type.String(), Type.Null()]),
  named: Type.Boolean(),
  ratedOn: Day,
  case: Type.Union([Case, Type.Null()]),
});

export const RatingsQuery = Type.Object(
  { applicationId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export const RatingList = Type.Object({ items: Type.Array(Rating) });

export const CaseQuery = Type.Object(
  {
    state: Type.Optional(Type.Enum(CASE_STATES)),
    overdue: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const CaseBody = Type.Object(
  {
    note: Type.String({ minLength: 1, maxLength: 2000 }),
    returnVisit: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2000, description: '回访记录 (close of a named rating)' }),
    ),
  },
  { additionalProperties: false },
);

export const StatsQuery = Type.Object(
  {
    orgId: Type.Optional(Id),
    bundleId: Type.Optional(Id),
    from: Type.Optional(Day),
    to: Type.Optional(Day),
  },
  { additionalProperties: false },
);

const Percent = Type.Union([Type.Number(), Type.Null()]);
export const Stats = Type.Object({
  period: Type.Object({ from: Type.Union([Day, Type.Null()]), to: Type.Union([Day, Type.Null()]) }),
  total: Type.Object({
    ratings: Type.Integer(),
    satisfactionPercent: Percent,
    bad: Type.Integer(),
    rectificationPercent: Percent,
  }),
  departments: Type.Array(
    Type.Object({
      orgId: Type.String(),
      orgName: Type.String(),
      ratings: Type.Integer(),
      satisfied: Type.Integer(),
      bad: Type.Integer(),
      voided: Type.Integer(),
      rectified: Type.Integer(),
      rectifiedInTime: Type.Integer(),
      satisfactionPercent: Percent,
      rectificationPercent: Percent,
    }),
  ),
});
