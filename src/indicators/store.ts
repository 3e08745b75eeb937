import {
  type ColumnType,
  type Generated,
  type Insertable,
  type Selectable,
  sql,
  type Updateable,
} from 'kysely';
import { containsPattern, type Executor } from '../core/db.ts';
import type { ChainLevel } from '../standards/division-units.ts';

/**
 * The tables of the indicator dictionary, one-form reporting and the evaluation index (migration
 * 0020). This capability is their only writer; their TypeScript view is declared here and merged
 * into the platform's `Database`.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;

export const DATA_TYPES = ['integer', 'decimal', 'percent', 'boolean'] as const;
export type DataType = (typeof DATA_TYPES)[number];
export const PERIODS = ['year', 'quarter', 'month'] as const;
export type PeriodKind = (typeof PERIODS)[number];
export const LEVELS = ['community', 'town', 'district', 'city'] as const;
export type Level = (typeof LEVELS)[number];
export const INDICATOR_STATES = ['active', 'merged', 'retired'] as const;
export type IndicatorState = (typeof INDICATOR_STATES)[number];
export const FORM_BASES = ['catalogue', 'one_off', 'after_filing'] as const;
export type FormBasis = (typeof FORM_BASES)[number];
export const FORM_STATES = ['draft', 'issued', 'withdrawn'] as const;
export type FormState = (typeof FORM_STATES)[number];
export const SUBMISSION_STATES = ['submitted', 'returned', 'accepted'] as const;
export type SubmissionState = (typeof SUBMISSION_STATES)[number];
export const SIGNOFF_STATES = ['pending', 'signed', 'returned', 'skipped', 'cancelled'] as const;
export type SignoffState = (typeof SIGNOFF_STATES)[number];
export const CHAIN_LEVELS = ['town', 'district', 'city', 'province'] as const;
export const INDEX_STATES = ['draft', 'published', 'retired'] as const;
export type IndexState = (typeof INDEX_STATES)[number];

/** Figures the platform holds itself (`platform.ts`). */
export const PLATFORM_METRICS = [
  'resources_shared',
  'gateway_calls',
  'bundles_done',
  'satisfaction_rate',
] as const;
export type PlatformMetric = (typeof PLATFORM_METRICS)[number];
/** The levels a platform figure is credited at: organizations sit at GB/T 2260 divisions. */
export const PLATFORM_LEVELS: ReadonlySet<Level> = new Set(['district', 'city']);

export type IndicatorSource =
  | { kind: 'reported' }
  | {
      kind: 'resource_field';
      resourceId: string;
      field: string;
      /** The resource's fields naming the reporting unit (a division code) and the period, which key one row per unit and period. */
      unitField?: string | undefined;
      periodField?: string | undefined;
    }
  | { kind: 'formula'; op: 'sum' | 'ratio'; of: string[] }
  | { kind: 'platform'; metric: PlatformMetric };

export interface IndicatorRule {
  min?: number | undefined;
  max?: number | undefined;
}

export interface IndicatorsTable {
  id: string;
  code: string;
  version: ColumnType<number, number | undefined, number>;
  name_zh: string;
  name_en: string;
  definition: string;
  definition_key: string;
  unit: string;
  data_type: DataType;
  period: PeriodKind;
  level: Level;
  owner_org_id: string;
  source_kind: IndicatorSource['kind'];
  source_key: string;
  source: Json<IndicatorSource>;
  rule: Json<IndicatorRule>;
  state: IndicatorState;
  merged_into: string | null;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface IndicatorVersionsTable {
  indicator_id: string;
  version: number;
  snapshot: Json<Record<string, unknown>>;
  changed_by: string;
  changed_at: CreatedAt;
}

/** A cross-indicator check of a form: the parts add up to the total. */
export interface SumCheck {
  kind: 'sum';
  total: string;
  parts: string[];
}

export interface ReportFormsTable {
  id: string;
  code: string;
  name_zh: string;
  name_en: string;
  year: number;
  period: PeriodKind;
  level: Level;
  owner_org_id: string;
  basis: FormBasis;
  approval: string | null;
  checks: Json<SumCheck[]>;
  state: FormState;
  /** Working days after the period's end the report is due (migration 0024; 10 when not given). */
  due_working_days: Generated<number>;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ReportFormItemsTable {
  form_id: string;
  indicator_id: string;
  position: number;
}

export interface ReportSubmissionsTable {
  id: string;
  form_id: string;
  period: string;
  unit_code: string;
  org_id: string;
  state: SubmissionState;
  reason: string | null;
  submitted_by: string;
  decided_by: string | null;
  /** The sign-off round (migration 0036): 1, and one more at each resubmission. */
  round: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** One division's sign-off of one round of a submission (migration 0036). */
export interface ReportSignoffsTable {
  id: string;
  submission_id: string;
  round: number;
  position: number;
  level: ChainLevel;
  unit_code: string;
  state: SignoffState;
  decided_by: string | null;
  decided_org_id: string | null;
  decided_at: Timestamp | null;
  comment: string | null;
  created_at: CreatedAt;
}

export interface IndicatorValuesTable {
  id: string;
  indicator_id: string;
  period: string;
  unit_code: string;
  value: number;
  submission_id: string;
  reported_by: string;
  reported_at: Timestamp;
}

export interface IndicatorPrefillsTable {
  indicator_id: string;
  period: string;
  unit_code: string;
  value: number;
  resource_id: string;
  contract_id: string;
  org_id: string;
  read_by: string;
  read_at: Timestamp;
}

export interface EvaluationIndexesTable {
  id: string;
  code: string;
  name_zh: string;
  name_en: string;
  definition: Json<Record<string, unknown>>;
  state: IndexState;
  owner_org_id: string;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

declare module '../core/tables.ts' {
  interface Database {
    indicators: IndicatorsTable;
    indicator_versions: IndicatorVersionsTable;
    report_forms: ReportFormsTable;
    report_form_items: ReportFormItemsTable;
    report_submissions: ReportSubmissionsTable;
    report_signoffs: ReportSignoffsTable;
    indicator_values: IndicatorValuesTable;
    indicator_prefills: IndicatorPrefillsTable;
    evaluation_indexes: EvaluationIndexesTable;
  }
}

export type IndicatorRow = Selectable<IndicatorsTable>;
export type FormRow = Selectable<ReportFormsTable>;
export type SubmissionRow = Selectable<ReportSubmissionsTable>;
export type SignoffRow = Selectable<ReportSignoffsTable>;
export type ValueRow = Selectable<IndicatorValuesTable>;
export type PrefillRow = Selectable<IndicatorPrefillsTable>;
export type IndexRow = Selectable<EvaluationIndexesTable>;

/**
 * No step of submission `s`'s current round is pending (with `before`, none before step `g`): the
 * round waits at `g`, or — without — only the department's decision is left.
 */
const noPendingStep = (before = sql``) =>
  sql<boolean>`NOT EXISTS (SELECT 1 FROM report_signoffs e WHERE e.submission_id = s.id AND e.round = s.round AND e.state = 'pending' ${before})`;

export const indicatorStore = {
  findIndicator(db: Executor, code: string) {
    return db.selectFrom('indicators').selectAll().where('code', '=', code).executeTakeFirst();
  },

  indicatorsByCodes(db: Executor, codes: string[]) {
    if (codes.length === 0) return Promise.resolve([] as IndicatorRow[]);
    return db.selectFrom('indicators').selectAll().where('code', 'in', codes).execute();
  },

  indicatorsByIds(db: Executor, ids: string[]) {
    if (ids.length === 0) return Promise.resolve([] as IndicatorRow[]);
    return db.selectFrom('indicators').selectAll().where('id', 'in', ids).execute();
  },

  /** An active indicator that has the same definition or reads the same source, other than `exceptId`. */
  findDuplicate(db: Executor, definitionKey: string, sourceKey: string | null, exceptId: string | null) {
    let query = db
      .selectFrom('indicators')
      .selectAll()
      .where('state', '=', 'active')
      .where((eb) =>
        sourceKey === null
          ? eb('definition_key', '=', definitionKey)
          : eb.or([eb('definition_key', '=', definitionKey), eb('source_key', '=', sourceKey)]),
      );
    if (exceptId) query = query.where('id', '<>', exceptId);
    return query.executeTakeFirst();
  },

  listIndicators(db: Executor, filter: { state?: IndicatorState | undefined; q?: string | undefined }) {
    let query = db.selectFrom('indicators').selectAll().orderBy('code');
    if (filter.state) query = query.where('state', '=', filter.state);
    if (filter.q) {
      const like = containsPattern(filter.q);
      query = query.where((eb) =>
        eb.or([eb('code', 'ilike', like), eb('name_zh', 'ilike', like), eb('name_en', 'ilike', like)]),
      );
    }
    return query.limit(1000).execute();
  },

  async insertIndicator(tx: Executor, row: Insertable<IndicatorsTable>) {
    await tx.insertInto('indicators').values(row).execute();
  },

  async updateIndicator(tx: Executor, id: string, changes: Updateable<IndicatorsTable>) {
    await tx.updateTable('indicators').set(changes).where('id', '=', id).execute();
  },

  async insertVersion(tx: Executor, row: Insertable<IndicatorVersionsTable>) {
    await tx.insertInto('indicator_versions').values(row).execute();
  },

  versions(db: Executor, indicatorId: string) {
    return db
      .selectFrom('indicator_versions')
      .selectAll()
      .where('indicator_id', '=', indicatorId)
      .orderBy('version')
      .execute();
  },

  // ------------------------------------------------------------------------------ forms

  findForm(db: Executor, code: string) {
    return db.selectFrom('report_forms').selectAll().where('code', '=', code).executeTakeFirst();
  },

  findFormById(db: Executor, id: string) {
    return db.selectFrom('report_forms').selectAll().where('id', '=', id).executeTakeFirst();
  },

  listForms(db: Executor, filter: { year?: number | undefined; state?: FormState | undefined }) {
    let query = db.selectFrom('report_forms').selectAll().orderBy('code');
    if (filter.year !== undefined) query = query.where('year', '=', filter.year);
    if (filter.state) query = query.where('state', '=', filter.state);
    return query.limit(1000).execute();
  },

  /** A unit's submissions of the given forms, every period (a few per form and year). */
  submissionsOfUnit(db: Executor, formIds: string[], unitCode: string) {
    if (formIds.length === 0) return Promise.resolve([]);
    return db
      .selectFrom('report_submissions')
      .select(['form_id', 'period', 'state'])
      .where('form_id', 'in', formIds)
      .where('unit_code', '=', unitCode)
      .execute();
  },

  async insertForm(tx: Executor, row: Insertable<ReportFormsTable>, indicatorIds: string[]) {
    await tx.insertInto('report_forms').values(row).execute();
    await tx
      .insertInto('report_form_items')
      .values(indicatorIds.map((indicator_id, position) => ({ form_id: row.id, indicator_id, position })))
      .execute();
  },

  /** Items of forms, in form order, with their indicators. */
  itemsOf(db: Executor, formIds: string[]) {
    if (formIds.length === 0) return Promise.resolve([]);
    return db
      .selectFrom('report_form_items as i')
      .innerJoin('indicators as d', 'd.id', 'i.indicator_id')
      .selectAll('d')
      .select(['i.form_id', 'i.position'])
      .where('i.form_id', 'in', formIds)
      .orderBy('i.form_id')
      .orderBy('i.position')
      .execute();
  },

  /** A merged indicator's place on forms goes to the indicator it was merged into. */
  async repointItems(tx: Executor, fromId: string, toId: string) {
    // A form that lists both keeps the one item.
    await tx
      .deleteFrom('report_form_items')
      .where('indicator_id', '=', fromId)
      .where('form_id', 'in', (eb) =>
        eb.selectFrom('report_form_items').select('form_id').where('indicator_id', '=', toId),
      )
      .execute();
    await tx
      .updateTable('report_form_items')
      .set({ indicator_id: toId })
      .where('indicator_id', '=', fromId)
      .execute();
  },

  // ------------------------------------------------------------------------------ submissions and values

  findSubmission(db: Executor, id: string) {
    return db.selectFrom('report_submissions').selectAll().where('id', '=', id).executeTakeFirst();
  },

  findSubmissionFor(db: Executor, formId: string, period: string, unitCode: string) {
    return db
      .selectFrom('report_submissions')
      .selectAll()
      .where('form_id', '=', formId)
      .where('period', '=', period)
      .where('unit_code', '=', unitCode)
      .forUpdate()
      .executeTakeFirst();
  },

  listSubmissions(db: Executor, formId: string) {
    return db
      .selectFrom('report_submissions')
      .selectAll()
      .where('form_id', '=', formId)
      .orderBy('id')
      .limit(1000)
      .execute();
  },

  async insertSubmission(tx: Executor, row: Insertable<ReportSubmissionsTable>) {
    await tx.insertInto('report_submissions').values(row).execute();
  },

  /** One submission, locked: its sign-offs and decisions are taken one at a time. */
  lockSubmission(tx: Executor, id: string) {
    return tx
      .selectFrom('report_submissions')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
  },

  async touchSubmission(tx: Executor, id: string, at: Date) {
    await tx.updateTable('report_submissions').set({ updated_at: at }).where('id', '=', id).execute();
  },

  async insertSignoffs(tx: Executor, rows: Insertable<ReportSignoffsTable>[]) {
    if (rows.length > 0) await tx.insertInto('report_signoffs').values(rows).execute();
  },

  /** The steps of the submissions' current rounds, nearest the unit first. */
  signoffsOf(db: Executor, submissionIds: string[]) {
    if (submissionIds.length === 0) return Promise.resolve([] as SignoffRow[]);
    return db
      .selectFrom('report_signoffs as g')
      .innerJoin('report_submissions as s', (join) =>
        join.onRef('s.id', '=', 'g.submission_id').onRef('s.round', '=', 'g.round'),
      )
      .selectAll('g')
      .where('g.submission_id', 'in', submissionIds)
      .orderBy('g.submission_id')
      .orderBy('g.position')
      .execute();
  },

  /**
   * Submissions whose current round waits at one of these divisions: their step there is pending
   * and no step before it is.
   */
  waitingAt(db: Executor, unitCodes: string[]) {
    if (unitCodes.length === 0) return Promise.resolve([] as SubmissionRow[]);
    return db
      .selectFrom('report_submissions as s')
      .innerJoin('report_signoffs as g', (join) =>
        join.onRef('g.submission_id', '=', 's.id').onRef('g.round', '=', 's.round'),
      )
      .selectAll('s')
      .where('s.state', '=', 'submitted')
      .where('g.state', '=', 'pending')
      .where('g.unit_code', 'in', unitCodes)
      .where(noPendingStep(sql`AND e.position < g.position`))
      .orderBy('s.updated_at')
      .limit(1000)
      .execute();
  },

  /** Submissions of a department's forms every step below has signed off: its acceptance is next. */
  awaitingAcceptance(db: Executor, ownerOrgId: string) {
    return db
      .selectFrom('report_submissions as s')
      .innerJoin('report_forms as f', 'f.id', 's.form_id')
      .selectAll('s')
      .where('f.owner_org_id', '=', ownerOrgId)
      .where('s.state', '=', 'submitted')
      .where(noPendingStep())
      .orderBy('s.updated_at')
      .limit(1000)
      .execute();
  },

  /** Values held for these indicators, period and unit (locked: a submission decides on them). */
  heldValues(db: Executor, indicatorIds: string[], period: string, unitCode: string, lock = false) {
    if (indicatorIds.length === 0) return Promise.resolve([] as ValueRow[]);
    const query = db
      .selectFrom('indicator_values')
      .selectAll()
      .where('indicator_id', 'in', indicatorIds)
      .where('period', '=', period)
      .where('unit_code', '=', unitCode);
    return lock ? query.forUpdate().execute() : query.execute();
  },

  /** What shared data offers a unit for a period (latest read per indicator). */
  prefillsOf(db: Executor, indicatorIds: string[], period: string, unitCode: string) {
    if (indicatorIds.length === 0) return Promise.resolve([] as PrefillRow[]);
    return db
      .selectFrom('indicator_prefills')
      .selectAll()
      .where('indicator_id', 'in', indicatorIds)
      .where('period', '=', period)
      .where('unit_code', '=', unitCode)
      .execute();
  },

  async savePrefills(tx: Executor, rows: Insertable<IndicatorPrefillsTable>[]) {
    if (rows.length === 0) return;
    await tx
      .insertInto('indicator_prefills')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['indicator_id', 'period', 'unit_code']).doUpdateSet((eb) => ({
          value: eb.ref('excluded.value'),
          resource_id: eb.ref('excluded.resource_id'),
          contract_id: eb.ref('excluded.contract_id'),
          org_id: eb.ref('excluded.org_id'),
          read_by: eb.ref('excluded.read_by'),
          read_at: eb.ref('excluded.read_at'),
        })),
      )
      .execute();
  },

  /** Values of one unit and period, for many indicators (to-do pre-fill across units). */
  valuesOf(db: Executor, indicatorIds: string[], periods: string[], unitPrefix?: string) {
    if (indicatorIds.length === 0 || periods.length === 0) return Promise.resolve([] as ValueRow[]);
    let query = db
      .selectFrom('indicator_values')
      .selectAll()
      .where('indicator_id', 'in', indicatorIds)
      .where('period', 'in', periods);
    if (unitPrefix) query = query.where('unit_code', 'like', `${unitPrefix}%`);
    return query.orderBy('unit_code').orderBy('indicator_id').limit(50_000).execute();
  },

  async insertValues(tx: Executor, rows: Insertable<IndicatorValuesTable>[]) {
    if (rows.length > 0) await tx.insertInto('indicator_values').values(rows).execute();
  },

  async updateValue(tx: Executor, id: string, value: number, reportedBy: string) {
    await tx
      .updateTable('indicator_values')
      .set({ value, reported_by: reportedBy, reported_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  async dropValues(
    tx: Executor,
    indicatorId: string,
    at: ReadonlyArray<{ period: string; unit_code: string }>,
  ) {
    if (at.length === 0) return;
    await tx
      .deleteFrom('indicator_values')
      .where('indicator_id', '=', indicatorId)
      .where((eb) =>
        eb.or(at.map((o) => eb.and([eb('period', '=', o.period), eb('unit_code', '=', o.unit_code)]))),
      )
      .execute();
  },

  async moveValues(tx: Executor, fromId: string, toId: string) {
    await tx
      .updateTable('indicator_values')
      .set({ indicator_id: toId })
      .where('indicator_id', '=', fromId)
      .execute();
  },

  /** (period, unit) pairs both indicators hold a value for, with both values. */
  overlappingValues(db: Executor, aId: string, bId: string) {
    return db
      .selectFrom('indicator_values as a')
      .innerJoin('indicator_values as b', (join) =>
        join.onRef('a.period', '=', 'b.period').onRef('a.unit_code', '=', 'b.unit_code'),
      )
      .select(['a.period', 'a.unit_code', 'a.value as a', 'b.value as b'])
      .where('a.indicator_id', '=', aId)
      .where('b.indicator_id', '=', bId)
      .execute();
  },

  // ------------------------------------------------------------------------------ evaluation

  findIndex(db: Executor, code: string) {
    return db.selectFrom('evaluation_indexes').selectAll().where('code', '=', code).executeTakeFirst();
  },

  listIndexes(db: Executor) {
    return db.selectFrom('evaluation_indexes').selectAll().orderBy('code').limit(1000).execute();
  },

  async insertIndex(tx: Executor, row: Insertable<EvaluationIndexesTable>) {
    await tx.insertInto('evaluation_indexes').values(row).execute();
  },
};
