import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { Executor } from '../core/db.ts';
import type { EligibilityInput } from './eligibility.ts';

/**
 * The service bundles' tables (migration 0019), written only here. Their TypeScript view is
 * merged into the platform's `Database`, so the schema travels with the capability.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;

export const BUNDLE_STATES = ['draft', 'published', 'retired'] as const;
export type BundleState = (typeof BUNDLE_STATES)[number];
export const APPLICATION_STATES = ['open', 'done', 'refused'] as const;
export type ApplicationState = (typeof APPLICATION_STATES)[number];
export const STEP_STATES = [
  'waiting',
  'submitted',
  'accepted',
  'in_progress',
  'done',
  'returned',
  'refused',
] as const;
export type StepState = (typeof STEP_STATES)[number];

/** Where a field's value can come from instead of the citizen: a catalog resource's field, found by a key. */
export interface FieldSource {
  resourceId: string;
  field: string;
  /** The resource's field holding the applicant's key (resident ID, credit code). */
  keyField: string;
}
export interface StepField {
  name: string;
  label: string;
  source?: FieldSource | undefined;
}
export interface StepDefinition {
  key: string;
  name: string;
  orgId: string;
  dependsOn: string[];
  workingDays: number;
  fields: StepField[];
}

export interface ServiceBundlesTable {
  id: string;
  code: string;
  name: string;
  name_en: string;
  event_kind: 'life' | 'business';
  lead_org_id: string;
  state: BundleState;
  promised_working_days: number;
  steps: Json<StepDefinition[]>;
  eligibility: ColumnType<EligibilityInput[], string | undefined, string>;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ServiceApplicationsTable {
  id: string;
  bundle_id: string;
  applicant_user_id: string;
  form: Json<Record<string, string>>;
  subject_key: string;
  consent_id: string | null;
  state: ApplicationState;
  submitted_on: string;
  due_on: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface Prefilled {
  value: unknown;
  contractId: string;
}

export interface ServiceApplicationStepsTable {
  id: string;
  application_id: string;
  step_key: string;
  org_id: string;
  depends_on: string[];
  state: StepState;
  working_days: number;
  released_on: string | null;
  due_on: string | null;
  done_on: string | null;
  prefill: Json<Record<string, Prefilled>>;
  reason: string | null;
  overdue_reported_for: string | null;
  updated_at: Timestamp;
}

export const CONSENT_STATES = ['active', 'revoked'] as const;
export type ConsentState = (typeof CONSENT_STATES)[number];
export const CONSENT_RELATIONS = ['spouse', 'parent', 'child', 'other'] as const;
export type ConsentRelation = (typeof CONSENT_RELATIONS)[number];

export interface ServiceConsentsTable {
  id: string;
  grantor_user_id: string;
  grantee_id_number: string;
  grantee_name: string;
  relation: ConsentRelation;
  valid_from: string;
  valid_until: string;
  /** The bundles it is for; empty: every life-event bundle. */
  bundle_ids: ColumnType<string[], string[] | undefined, string[]>;
  state: ConsentState;
  revoked_on: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export const NOTIFICATION_KINDS = [
  'step_accept',
  'step_start',
  'step_complete',
  'step_return',
  'step_refuse',
  'application_complete',
  'consent_granted',
  'consent_revoked',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface ServiceNotificationsTable {
  id: string;
  user_id: string;
  application_id: string | null;
  kind: NotificationKind;
  details: Json<Record<string, string>>;
  created_at: CreatedAt;
  read_at: Timestamp | null;
}

declare module '../core/tables.ts' {
  interface Database {
    service_notifications: ServiceNotificationsTable;
    service_consents: ServiceConsentsTable;
    service_bundles: ServiceBundlesTable;
    service_applications: ServiceApplicationsTable;
    service_application_steps: ServiceApplicationStepsTable;
  }
}

export type BundleRow = Selectable<ServiceBundlesTable>;
export type ApplicationRow = Selectable<ServiceApplicationsTable>;
export type StepRow = Selectable<ServiceApplicationStepsTable>;
export type ConsentRow = Selectable<ServiceConsentsTable>;
export type NotificationRow = Selectable<ServiceNotificationsTable>;

export const servicesStore = {
  async insertBundle(tx: Executor, row: Insertable<ServiceBundlesTable>) {
    await tx.insertInto('service_bundles').values(row).execute();
  },

  findBundle(db: Executor, idOrCode: string) {
    return db
      .selectFrom('service_bundles')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrCode), eb('code', '=', idOrCode)]))
      .executeTakeFirst();
  },

  async bundlesByIds(db: Executor, ids: readonly string[]) {
    if (ids.length === 0) return [];
    return db.selectFrom('service_bundles').select(['id', 'code', 'name']).where('id', 'in', ids).execute();
  },

  findBundleByCode(db: Executor, code: string) {
    return db.selectFrom('service_bundles').selectAll().where('code', '=', code).executeTakeFirst();
  },

  /** Published bundles, and the drafts and retired ones of `orgId` (all of them when null). */
  listBundles(db: Executor, visibleOrg: string | null, limit: number, cursor?: string) {
    let query = db
      .selectFrom('service_bundles')
      .selectAll()
      .orderBy('id')
      .limit(limit + 1);
    if (visibleOrg !== null)
      query = query.where((eb) => eb.or([eb('state', '=', 'published'), eb('lead_org_id', '=', visibleOrg)]));
    if (cursor) query = query.where('id', '>', cursor);
    return query.execute();
  },

  async insertApplication(
    tx: Executor,
    row: Insertable<ServiceApplicationsTable>,
    steps: Insertable<ServiceApplicationStepsTable>[],
  ) {
    await tx.insertInto('service_applications').values(row).execute();
    await tx.insertInto('service_application_steps').values(steps).execute();
  },

  findApplication(db: Executor, id: string) {
    return db.selectFrom('service_applications').selectAll().where('id', '=', id).executeTakeFirst();
  },

  stepsOf(db: Executor, applicationId: string) {
    return db
      .selectFrom('service_application_steps')
      .selectAll()
      .where('application_id', '=', applicationId)
      .orderBy('id')
      .execute();
  },

  /** Applications of one applicant, or those with a step at `orgId`, or all (both null). */
  listApplications(
    db: Executor,
    who: { applicant: string | null; org: string | null },
    limit: number,
    cursor?: string,
  ) {
    let query = db
      .selectFrom('service_applications')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    const { applicant, org } = who;
    if (applicant !== null || org !== null)
      query = query.where((eb) =>
        eb.or([
          ...(applicant !== null ? [eb('applicant_user_id', '=', applicant)] : []),
          ...(org !== null
            ? [
                eb(
                  'id',
                  'in',
                  eb
                    .selectFrom('service_application_steps')
                    .select('application_id')
                    .where('org_id', '=', org),
                ),
              ]
            : []),
        ]),
      );
    if (cursor) query = query.where('id', '<', cursor);
    return query.execute();
  },

  async insertConsent(tx: Executor, row: Insertable<ServiceConsentsTable>) {
    await tx.insertInto('service_consents').values(row).execute();
  },

  findConsent(db: Executor, id: string) {
    return db.selectFrom('service_consents').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** Consents a citizen gave (by account) or received (by ID number), newest first. */
  consentsOf(db: Executor, who: { grantor: string } | { grantee: string }) {
    const query = db.selectFrom('service_consents').selectAll().orderBy('created_at', 'desc').orderBy('id');
    return 'grantor' in who
      ? query.where('grantor_user_id', '=', who.grantor).execute()
      : query.where('grantee_id_number', '=', who.grantee).execute();
  },

  async insertNotification(tx: Executor, row: Insertable<ServiceNotificationsTable>) {
    await tx.insertInto('service_notifications').values(row).execute();
  },

  /** A person's notifications, newest first; only unread ones when asked. */
  notificationsOf(
    db: Executor,
    userId: string,
    opts: { unread: boolean; limit: number; cursor?: string | undefined },
  ) {
    let query = db
      .selectFrom('service_notifications')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(opts.limit + 1);
    if (opts.unread) query = query.where('read_at', 'is', null);
    if (opts.cursor) query = query.where('id', '<', opts.cursor);
    return query.execute();
  },

  async countUnread(db: Executor, userId: string): Promise<number> {
    const row = await db
      .selectFrom('service_notifications')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /** Marks the person's own notifications read: those named, or all. Returns how many changed. */
  async markRead(tx: Executor, userId: string, ids: string[] | null): Promise<number> {
    let query = tx
      .updateTable('service_notifications')
      .set({ read_at: new Date() })
      .where('user_id', '=', userId)
      .where('read_at', 'is', null);
    if (ids) query = query.where('id', 'in', ids.length > 0 ? ids : ['']);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  async setPrefill(tx: Executor, stepId: string, prefill: Record<string, Prefilled>) {
    await tx
      .updateTable('service_application_steps')
      .set({ prefill: JSON.stringify(prefill), updated_at: new Date() })
      .where('id', '=', stepId)
      .execute();
  },

  /**
   * Claims the report of an overdue step for its current due date: true for the one caller that
   * made the change (a resubmitted step has a new due date and may be reported again).
   */
  async claimOverdueReport(tx: Executor, stepId: string, dueOn: string): Promise<boolean> {
    const result = await tx
      .updateTable('service_application_steps')
      .set({ overdue_reported_for: dueOn })
      .where('id', '=', stepId)
      .where('due_on', '=', dueOn)
      .where((eb) => eb.or([eb('overdue_reported_for', 'is', null), eb('overdue_reported_for', '!=', dueOn)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Open steps past their due date, of one organization (all when null). */
  overdueSteps(db: Executor, today: string, org: string | null) {
    let query = db
      .selectFrom('service_application_steps')
      .selectAll()
      .where('state', 'in', ['submitted', 'accepted', 'in_progress', 'returned'])
      .where('due_on', '<', today)
      .orderBy('due_on')
      .orderBy('id');
    if (org !== null) query = query.where('org_id', '=', org);
    return query.execute();
  },
};
