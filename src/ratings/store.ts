import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Executor } from '../core/db.ts';

/** The ratings' tables (migration 0019), written only here; merged into the platform's `Database`. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;

export const CASE_STATES = [
  'open',
  'verified',
  'rectified',
  'explained',
  'appealed',
  'voided',
  'closed',
] as const;
export type CaseState = (typeof CASE_STATES)[number];
export type Channel = 'online' | 'offline';

export interface ServiceRatingsTable {
  id: string;
  application_id: string;
  step_key: string;
  org_id: string;
  bundle_id: string;
  rater_user_id: string;
  channel: Channel;
  level: number;
  indicators: Json<Record<string, number>>;
  text: string | null;
  named: boolean;
  rated_on: string;
  created_at: CreatedAt;
}

export interface CaseNote {
  by: string;
  on: string;
  note: string;
}

export interface RectificationCasesTable {
  id: string;
  rating_id: string;
  org_id: string;
  state: CaseState;
  opened_on: string;
  due_on: string;
  working_days: number;
  return_visit: boolean;
  notes: Json<Record<string, CaseNote>>;
  closed_on: string | null;
  overdue_reported: Generated<boolean>;
  updated_at: Timestamp;
}

declare module '../core/tables.ts' {
  interface Database {
    service_ratings: ServiceRatingsTable;
    rectification_cases: RectificationCasesTable;
  }
}

export type RatingRow = Selectable<ServiceRatingsTable>;
export type CaseRow = Selectable<RectificationCasesTable>;

export interface StatsQuery {
  orgId?: string | undefined;
  bundleId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export const ratingsStore = {
  async insertRating(tx: Executor, row: Insertable<ServiceRatingsTable>) {
    await tx.insertInto('service_ratings').values(row).execute();
  },

  findRatingOf(db: Executor, applicationId: string, stepKey: string) {
    return db
      .selectFrom('service_ratings')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('step_key', '=', stepKey)
      .executeTakeFirst();
  },

  ratingsOfApplication(db: Executor, applicationId: string) {
    return db
      .selectFrom('service_ratings')
      .selectAll()
      .where('application_id', '=', applicationId)
      .orderBy('rated_on')
      .orderBy('id')
      .execute();
  },

  findRating(db: Executor, id: string) {
    return db.selectFrom('service_ratings').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async insertCase(tx: Executor, row: Insertable<RectificationCasesTable>) {
    await tx.insertInto('rectification_cases').values(row).execute();
  },

  findCase(db: Executor, id: string) {
    return db.selectFrom('rectification_cases').selectAll().where('id', '=', id).executeTakeFirst();
  },

  findCaseOfRating(db: Executor, ratingId: string) {
    return db
      .selectFrom('rectification_cases')
      .selectAll()
      .where('rating_id', '=', ratingId)
      .executeTakeFirst();
  },

  /** Cases of one organization (all when null), or those of ratings by `rater`. */
  listCases(
    db: Executor,
    who: { org: string | null; rater: string },
    q: {
      state?: CaseState | undefined;
      overdueOn?: string | undefined;
      limit: number;
      cursor?: string | undefined;
    },
  ) {
    let query = db
      .selectFrom('rectification_cases')
      .innerJoin('service_ratings', 'service_ratings.id', 'rectification_cases.rating_id')
      .selectAll('rectification_cases')
      .orderBy('rectification_cases.id')
      .limit(q.limit + 1);
    if (who.org !== null) {
      const org = who.org;
      query = query.where((eb) =>
        eb.or([
          eb('rectification_cases.org_id', '=', org),
          eb('service_ratings.rater_user_id', '=', who.rater),
        ]),
      );
    }
    if (q.state) query = query.where('rectification_cases.state', '=', q.state);
    if (q.overdueOn)
      query = query
        .where('rectification_cases.state', 'in', ['open', 'verified', 'appealed'])
        .where('rectification_cases.due_on', '<', q.overdueOn);
    if (q.cursor) query = query.where('rectification_cases.id', '>', q.cursor);
    return query.execute();
  },

  /** Open cases past their due date not yet reported. */
  unreportedOverdue(db: Executor, today: string) {
    return db
      .selectFrom('rectification_cases')
      .selectAll()
      .where('state', 'in', ['open', 'verified', 'appealed'])
      .where('due_on', '<', today)
      .where('overdue_reported', '=', false)
      .orderBy('id')
      .execute();
  },

  /** True for the one caller that marks the case reported. */
  async claimOverdueReport(tx: Executor, id: string): Promise<boolean> {
    const result = await tx
      .updateTable('rectification_cases')
      .set({ overdue_reported: true })
      .where('id', '=', id)
      .where('overdue_reported', '=', false)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * Per department: ratings, satisfied (4–5), bad (1–2), bad ratings voided on appeal, bad cases
   * closed, and the calendar days from opening to closing summed (for the mean).
   */
  stats(db: Executor, q: StatsQuery) {
    let query = db
      .selectFrom('service_ratings as r')
      .leftJoin('rectification_cases as c', 'c.rating_id', 'r.id')
      .select([
        'r.org_id',
        sql<number>`count(*)::int`.as('ratings'),
        sql<number>`(count(*) filter (where r.level >= 4))::int`.as('satisfied'),
        sql<number>`(count(*) filter (where r.level <= 2))::int`.as('bad'),
        sql<number>`(count(*) filter (where c.state = 'voided'))::int`.as('voided'),
        sql<number>`(count(*) filter (where c.state = 'closed'))::int`.as('closed'),
        sql<number>`(count(*) filter (where c.state = 'closed' and c.closed_on <= c.due_on))::int`.as(
          'closed_in_time',
        ),
      ])
      .groupBy('r.org_id')
      .orderBy('r.org_id');
    if (q.orgId) query = query.where('r.org_id', '=', q.orgId);
    if (q.bundleId) query = query.where('r.bundle_id', '=', q.bundleId);
    if (q.from) query = query.where('r.rated_on', '>=', q.from);
    if (q.to) query = query.where('r.rated_on', '<=', q.to);
    return query.execute();
  },
};
