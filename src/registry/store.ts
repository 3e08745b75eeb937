import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { Executor } from '../core/db.ts';

/**
 * The registry's tables (migration 0016). The registry is their only writer. Their TypeScript
 * view is declared here and merged into the platform's `Database`, so that the registry's
 * schema travels with the registry.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;

export const REGISTRATION_KINDS = ['first', 'change', 'correction', 'cancellation'] as const;
export type RegistrationKind = (typeof REGISTRATION_KINDS)[number];
export const SUBJECT_TYPES = ['resource', 'product'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];
export const REGISTRATION_STATES = [
  'submitted',
  'returned',
  'accepted',
  'reviewed',
  'notice',
  'registered',
  'rejected',
  'superseded',
  'cancelled',
  'withdrawn',
] as const;
export type RegistrationState = (typeof REGISTRATION_STATES)[number];

export interface RegistrationsTable {
  id: string;
  kind: RegistrationKind;
  subject_type: SubjectType;
  subject_id: string;
  subject_name: string;
  registrant_org_id: string;
  submitted_by: string;
  code: string | null;
  state: RegistrationState;
  content: Json<Record<string, unknown>>;
  commitment: Json<Record<string, unknown>>;
  notice_working_days: number;
  submitted_on: string;
  accept_due: string;
  accepted_on: string | null;
  review_due: string | null;
  reviewed_on: string | null;
  notice_from: string | null;
  notice_until: string | null;
  registered_on: string | null;
  valid_until: string | null;
  reason: string | null;
  /** The "step:due" whose lateness was last reported (a step reported once per deadline). */
  overdue_reported_for: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface RegistrationObjectionsTable {
  id: string;
  registration_id: string;
  org_id: string;
  user_id: string;
  real_name: string;
  text: string;
  answer: string | null;
  upheld: boolean | null;
  answered_by: string | null;
  lodged_at: CreatedAt;
  answered_at: Timestamp | null;
}

export type CertificateStatus = 'current' | 'superseded' | 'cancelled';

export interface RegistrationCertificatesTable {
  code: string;
  version: number;
  registration_id: string;
  status: CertificateStatus;
  document: Json<Record<string, unknown>>;
  issued_at: Timestamp;
}

export interface RegistryCodeCountersTable {
  year: number;
  last: number;
}

declare module '../core/tables.ts' {
  interface Database {
    registrations: RegistrationsTable;
    registration_objections: RegistrationObjectionsTable;
    registration_certificates: RegistrationCertificatesTable;
    registry_code_counters: RegistryCodeCountersTable;
  }
}

export type RegistrationRow = Selectable<RegistrationsTable>;
export type ObjectionRow = Selectable<RegistrationObjectionsTable>;
export type CertificateRow = Selectable<RegistrationCertificatesTable>;

export const registryStore = {
  async insert(tx: Executor, row: Insertable<RegistrationsTable>) {
    await tx.insertInto('registrations').values(row).execute();
  },

  find(db: Executor, id: string) {
    return db.selectFrom('registrations').selectAll().where('id', '=', id).executeTakeFirst();
  },

  findForUpdate(tx: Executor, id: string) {
    return tx.selectFrom('registrations').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  },

  /** The conditional UPDATE of a transition: nothing happens unless the row is still in `from`. */
  async transition(
    tx: Executor,
    id: string,
    from: RegistrationState,
    to: RegistrationState,
    changes: Partial<Omit<Insertable<RegistrationsTable>, 'id' | 'state' | 'created_at'>> = {},
  ): Promise<RegistrationRow | undefined> {
    return tx
      .updateTable('registrations')
      .set({ ...changes, state: to, updated_at: new Date() })
      .where('id', '=', id)
      .where('state', '=', from)
      .returningAll()
      .executeTakeFirst();
  },

  list(
    db: Executor,
    filter: { state?: RegistrationState | undefined; orgId?: string | undefined; code?: string | undefined },
    limit: number,
    after?: string,
  ) {
    let q = db
      .selectFrom('registrations')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.orgId) q = q.where('registrant_org_id', '=', filter.orgId);
    if (filter.code) q = q.where('code', '=', filter.code);
    if (after) q = q.where('id', '<', after);
    return q.execute();
  },

  /** Registrations still waiting in a step with a deadline (submitted, accepted, notice). */
  pending(db: Executor) {
    return db
      .selectFrom('registrations')
      .selectAll()
      .where('state', 'in', ['submitted', 'accepted', 'notice'])
      .orderBy('id')
      .execute();
  },

  /**
   * Claims the report of a late step for its deadline: true for the one caller that made the
   * change, so two nodes sweeping at once report it once; a later step has a new key.
   */
  async claimOverdueReport(tx: Executor, id: string, key: string): Promise<boolean> {
    const result = await tx
      .updateTable('registrations')
      .set({ overdue_reported_for: key })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('overdue_reported_for', 'is', null), eb('overdue_reported_for', '!=', key)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Whether another registration of the subject is still open (one at a time per subject). */
  openFor(db: Executor, subjectType: SubjectType, subjectId: string) {
    return db
      .selectFrom('registrations')
      .select(['id', 'state', 'kind'])
      .where('subject_type', '=', subjectType)
      .where('subject_id', '=', subjectId)
      .where('state', 'in', ['submitted', 'returned', 'accepted', 'reviewed', 'notice'])
      .execute();
  },

  /** The registered registration currently holding a code. */
  registeredWithCode(db: Executor, code: string) {
    return db
      .selectFrom('registrations')
      .selectAll()
      .where('code', '=', code)
      .where('state', '=', 'registered')
      .executeTakeFirst();
  },

  registeredFor(db: Executor, subjectType: SubjectType, subjectId: string) {
    return db
      .selectFrom('registrations')
      .selectAll()
      .where('subject_type', '=', subjectType)
      .where('subject_id', '=', subjectId)
      .where('state', '=', 'registered')
      .executeTakeFirst();
  },

  async nextCodeNumber(tx: Executor, year: number): Promise<number> {
    const row = await tx
      .insertInto('registry_code_counters')
      .values({ year, last: 1 })
      .onConflict((oc) =>
        oc.column('year').doUpdateSet((eb) => ({ last: eb('registry_code_counters.last', '+', 1) })),
      )
      .returning('last')
      .executeTakeFirstOrThrow();
    return row.last;
  },

  // ---------------------------------------------------------------- objections

  async addObjection(tx: Executor, row: Insertable<RegistrationObjectionsTable>) {
    return tx.insertInto('registration_objections').values(row).returningAll().executeTakeFirstOrThrow();
  },

  objections(db: Executor, registrationId: string) {
    return db
      .selectFrom('registration_objections')
      .selectAll()
      .where('registration_id', '=', registrationId)
      .orderBy('id')
      .execute();
  },

  async answerObjection(
    tx: Executor,
    id: string,
    registrationId: string,
    answer: { answer: string; upheld: boolean; by: string },
  ) {
    return tx
      .updateTable('registration_objections')
      .set({ answer: answer.answer, upheld: answer.upheld, answered_by: answer.by, answered_at: new Date() })
      .where('id', '=', id)
      .where('registration_id', '=', registrationId)
      .where('answer', 'is', null)
      .returningAll()
      .executeTakeFirst();
  },

  // ---------------------------------------------------------------- certificates

  async addCertificate(tx: Executor, row: Insertable<RegistrationCertificatesTable>) {
    await tx.insertInto('registration_certificates').values(row).execute();
  },

  async retireCertificates(tx: Executor, code: string, status: CertificateStatus) {
    await tx
      .updateTable('registration_certificates')
      .set({ status })
      .where('code', '=', code)
      .where('status', '=', 'current')
      .execute();
  },

  certificates(db: Executor, code: string) {
    return db
      .selectFrom('registration_certificates')
      .selectAll()
      .where('code', '=', code)
      .orderBy('version', 'desc')
      .execute();
  },

  async lastVersion(tx: Executor, code: string): Promise<number> {
    const row = await tx
      .selectFrom('registration_certificates')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('code', '=', code)
      .executeTakeFirst();
    return Number(row?.v ?? 0);
  },

  registeredCodes(db: Executor) {
    return db
      .selectFrom('registration_certificates')
      .selectAll()
      .where('status', '=', 'current')
      .orderBy('code')
      .execute();
  },
};
