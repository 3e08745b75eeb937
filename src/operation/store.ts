import { type ColumnType, type Insertable, type RawBuilder, type Selectable, sql } from 'kysely';
import type { Executor } from '../core/db.ts';

/**
 * Authorized operation's tables (migration 0016); this store is their only writer. Their
 * TypeScript view is merged into the platform's `Database` here, next to the capability.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;
// bigint columns: int8 comes back as a JS number on both drivers (src/core/db.ts).
type Fen = ColumnType<number, number, number>;

export const PLAN_STATES = ['draft', 'approved', 'selected', 'withdrawn'] as const;
export type PlanState = (typeof PLAN_STATES)[number];
export const AUTH_MODES = ['whole', 'domain', 'scenario'] as const;
export const SELECTION_METHODS = [
  'public_tender',
  'invited_tender',
  'negotiation',
  'other_competition',
] as const;
export const AGREEMENT_STATES = ['active', 'terminated', 'expired'] as const;
export type AgreementState = (typeof AGREEMENT_STATES)[number];
export const PRODUCT_KINDS = ['dataset', 'api', 'report'] as const;
export const UNITS = ['call', 'row', 'month', 'volume'] as const;
export type Unit = (typeof UNITS)[number];
export const PURPOSES = ['public_governance', 'public_welfare', 'industry', 'sector'] as const;
export type Purpose = (typeof PURPOSES)[number];

export interface Selection {
  candidates: Array<{ orgId: string; name: string; score: number }>;
  winnerOrgId: string;
  noticeFrom: string;
  noticeUntil: string;
  decidedOn: string;
}

export interface OperationPlansTable {
  id: string;
  name: string;
  mode: (typeof AUTH_MODES)[number];
  resource_ids: string[];
  scenarios: Json<string[]>;
  selection_method: (typeof SELECTION_METHODS)[number];
  security_measures: string;
  term_years: number;
  state: PlanState;
  approved_by: string | null;
  approved_at: Timestamp | null;
  selection: Json<Selection> | null;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface AgreementScope {
  resources: Array<{ resourceId: string; fields: string[] }>;
}

export interface OperationAgreementsTable {
  id: string;
  plan_id: string;
  operator_org_id: string;
  scope: Json<AgreementScope>;
  scenarios: Json<string[]>;
  valid_from: string;
  valid_to: string;
  duties: string;
  pricing: string;
  revenue: string;
  exit_terms: string;
  state: AgreementState;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface Lineage {
  resources: Array<{ resourceId: string; fields: string[] }>;
}

export interface DataProductsTable {
  id: string;
  agreement_id: string;
  operator_org_id: string;
  name: string;
  kind: (typeof PRODUCT_KINDS)[number];
  summary: string;
  lineage: Json<Lineage>;
  created_by: string;
  created_at: CreatedAt;
}

export interface ProductPricesTable {
  product_id: string;
  unit: Unit;
  cap_fen: Fen;
  price_fen: Fen | null;
  trial: boolean;
  basis: string;
  updated_at: Timestamp;
}

export interface RevenueCapsTable {
  operator_org_id: string;
  year: number;
  costs: Json<Array<{ item: string; amountFen: number }>>;
  operating_cost_fen: Fen;
  profit_rate_bp: number;
  bond_yield_bp: number;
  tax_fen: Fen;
  max_revenue_fen: Fen;
  carried_over_fen: Fen;
  trial: boolean;
  closed_revenue_fen: Fen | null;
  closed_at: Timestamp | null;
}

export interface ProductSubscriptionsTable {
  id: string;
  product_id: string;
  contract_id: string;
  customer_org_id: string;
  purpose: Purpose;
  unit: Unit;
  created_by: string;
  created_at: CreatedAt;
}

export interface BillLine {
  description: string;
  unit: Unit;
  quantity: number;
  unitPriceFen: number;
  amountFen: number;
}

export interface BillsTable {
  id: string;
  subscription_id: string;
  contract_id: string;
  operator_org_id: string;
  customer_org_id: string;
  month: string;
  lines: Json<BillLine[]>;
  total_fen: Fen;
  audit_seqs: Json<{ first: number | null; last: number | null; calls: number }>;
  issued_at: CreatedAt;
}

declare module '../core/tables.ts' {
  interface Database {
    operation_plans: OperationPlansTable;
    operation_agreements: OperationAgreementsTable;
    data_products: DataProductsTable;
    product_prices: ProductPricesTable;
    revenue_caps: RevenueCapsTable;
    product_subscriptions: ProductSubscriptionsTable;
    bills: BillsTable;
  }
}

export type PlanRow = Selectable<OperationPlansTable>;
export type AgreementRow = Selectable<OperationAgreementsTable>;
export type ProductRow = Selectable<DataProductsTable>;
export type PriceRow = Selectable<ProductPricesTable>;
export type CapRow = Selectable<RevenueCapsTable>;
export type SubscriptionRow = Selectable<ProductSubscriptionsTable>;
export type BillRow = Selectable<BillsTable>;

/** One agreement's terms over one resource, as the gateway reads them. */
export interface OperationTerms {
  id: string;
  state: AgreementState;
  validFrom: string;
  validTo: string;
  fields: string[];
}

export const operationStore = {
  // ------------------------------------------------------------ plans
  async insertPlan(tx: Executor, row: Insertable<OperationPlansTable>) {
    return tx.insertInto('operation_plans').values(row).returningAll().executeTakeFirstOrThrow();
  },
  findPlan(db: Executor, id: string) {
    return db.selectFrom('operation_plans').selectAll().where('id', '=', id).executeTakeFirst();
  },
  listPlans(db: Executor) {
    return db.selectFrom('operation_plans').selectAll().orderBy('id', 'desc').limit(500).execute();
  },
  transitionPlan(
    tx: Executor,
    id: string,
    from: PlanState,
    to: PlanState,
    changes: Partial<Omit<Insertable<OperationPlansTable>, 'created_at'>> = {},
  ) {
    return tx
      .updateTable('operation_plans')
      .set({ ...changes, state: to, updated_at: new Date() })
      .where('id', '=', id)
      .where('state', '=', from)
      .returningAll()
      .executeTakeFirst();
  },

  // ------------------------------------------------------------ agreements
  async insertAgreement(tx: Executor, row: Insertable<OperationAgreementsTable>) {
    return tx.insertInto('operation_agreements').values(row).returningAll().executeTakeFirstOrThrow();
  },
  findAgreement(db: Executor, id: string) {
    return db.selectFrom('operation_agreements').selectAll().where('id', '=', id).executeTakeFirst();
  },
  /**
   * The agreements of an operator covering one resource, each with the fields it grants there, as
   * a scalar subquery (a JSON array, or null when none) over the caller's columns.
   */
  termsCoveringJson(ids: { orgId: RawBuilder<unknown>; resourceId: RawBuilder<unknown> }) {
    return sql<OperationTerms[] | null>`(SELECT json_agg(json_build_object('id', a.id, 'state', a.state,
         'validFrom', a.valid_from, 'validTo', a.valid_to, 'fields', r.value -> 'fields'))
       FROM operation_agreements a CROSS JOIN LATERAL jsonb_array_elements(a.scope -> 'resources') r
       WHERE a.operator_org_id = ${ids.orgId} AND r.value ->> 'resourceId' = ${ids.resourceId})`;
  },
  listAgreements(db: Executor, operatorOrgId?: string) {
    let q = db.selectFrom('operation_agreements').selectAll().orderBy('id', 'desc').limit(500);
    if (operatorOrgId) q = q.where('operator_org_id', '=', operatorOrgId);
    return q.execute();
  },
  transitionAgreement(tx: Executor, id: string, from: AgreementState, to: AgreementState) {
    return tx
      .updateTable('operation_agreements')
      .set({ state: to, updated_at: new Date() })
      .where('id', '=', id)
      .where('state', '=', from)
      .returningAll()
      .executeTakeFirst();
  },

  // ------------------------------------------------------------ products and prices
  async insertProduct(tx: Executor, row: Insertable<DataProductsTable>) {
    return tx.insertInto('data_products').values(row).returningAll().executeTakeFirstOrThrow();
  },
  findProduct(db: Executor, id: string) {
    return db.selectFrom('data_products').selectAll().where('id', '=', id).executeTakeFirst();
  },
  listProducts(db: Executor, operatorOrgId?: string) {
    let q = db.selectFrom('data_products').selectAll().orderBy('id', 'desc').limit(500);
    if (operatorOrgId) q = q.where('operator_org_id', '=', operatorOrgId);
    return q.execute();
  },
  prices(db: Executor, productIds: string[]) {
    if (productIds.length === 0) return Promise.resolve([] as PriceRow[]);
    return db
      .selectFrom('product_prices')
      .selectAll()
      .where('product_id', 'in', productIds)
      .orderBy('unit')
      .execute();
  },
  findPrice(db: Executor, productId: string, unit: Unit) {
    return db
      .selectFrom('product_prices')
      .selectAll()
      .where('product_id', '=', productId)
      .where('unit', '=', unit)
      .forUpdate()
      .executeTakeFirst();
  },
  async upsertCap(tx: Executor, row: Insertable<ProductPricesTable>) {
    await tx
      .insertInto('product_prices')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['product_id', 'unit']).doUpdateSet({
          cap_fen: row.cap_fen,
          basis: row.basis,
          trial: row.trial,
          updated_at: new Date(),
        }),
      )
      .execute();
  },
  async setPrice(tx: Executor, productId: string, unit: Unit, priceFen: number) {
    await tx
      .updateTable('product_prices')
      .set({ price_fen: priceFen, updated_at: new Date() })
      .where('product_id', '=', productId)
      .where('unit', '=', unit)
      .execute();
  },

  // ------------------------------------------------------------ revenue caps
  findCap(db: Executor, operatorOrgId: string, year: number) {
    return db
      .selectFrom('revenue_caps')
      .selectAll()
      .where('operator_org_id', '=', operatorOrgId)
      .where('year', '=', year)
      .executeTakeFirst();
  },
  listCaps(db: Executor, year?: number) {
    let q = db.selectFrom('revenue_caps').selectAll().orderBy('operator_org_id').orderBy('year');
    if (year !== undefined) q = q.where('year', '=', year);
    return q.execute();
  },
  async upsertRevenueCap(tx: Executor, row: Insertable<RevenueCapsTable>) {
    const { operator_org_id, year, ...rest } = row;
    return tx
      .insertInto('revenue_caps')
      .values(row)
      .onConflict((oc) => oc.columns(['operator_org_id', 'year']).doUpdateSet(rest))
      .returningAll()
      .executeTakeFirstOrThrow();
  },
  async closeCap(tx: Executor, operatorOrgId: string, year: number, revenueFen: number) {
    return tx
      .updateTable('revenue_caps')
      .set({ closed_revenue_fen: revenueFen, closed_at: new Date() })
      .where('operator_org_id', '=', operatorOrgId)
      .where('year', '=', year)
      .where('closed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  },
  async setCarriedOver(tx: Executor, operatorOrgId: string, year: number, fen: number) {
    await tx
      .updateTable('revenue_caps')
      .set({ carried_over_fen: fen })
      .where('operator_org_id', '=', operatorOrgId)
      .where('year', '=', year)
      .execute();
  },

  // ------------------------------------------------------------ subscriptions and bills
  async insertSubscription(tx: Executor, row: Insertable<ProductSubscriptionsTable>) {
    return tx.insertInto('product_subscriptions').values(row).returningAll().executeTakeFirstOrThrow();
  },
  findSubscription(db: Executor, id: string) {
    return db.selectFrom('product_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
  },
  listSubscriptions(db: Executor, filter: { productIds?: string[]; customerOrgId?: string }) {
    let q = db.selectFrom('product_subscriptions').selectAll().orderBy('id', 'desc').limit(500);
    if (filter.productIds) {
      if (filter.productIds.length === 0) return Promise.resolve([] as SubscriptionRow[]);
      q = q.where('product_id', 'in', filter.productIds);
    }
    if (filter.customerOrgId) q = q.where('customer_org_id', '=', filter.customerOrgId);
    return q.execute();
  },
  async insertBill(tx: Executor, row: Insertable<BillsTable>) {
    return tx
      .insertInto('bills')
      .values(row)
      .onConflict((oc) => oc.columns(['subscription_id', 'month']).doNothing())
      .returningAll()
      .executeTakeFirst();
  },
  findBill(db: Executor, id: string) {
    return db.selectFrom('bills').selectAll().where('id', '=', id).executeTakeFirst();
  },
  billFor(db: Executor, subscriptionId: string, month: string) {
    return db
      .selectFrom('bills')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .where('month', '=', month)
      .executeTakeFirst();
  },
  listBills(db: Executor, filter: { operatorOrgId?: string; customerOrgId?: string; monthPrefix?: string }) {
    let q = db.selectFrom('bills').selectAll().orderBy('id', 'desc').limit(1000);
    if (filter.operatorOrgId) q = q.where('operator_org_id', '=', filter.operatorOrgId);
    if (filter.customerOrgId) q = q.where('customer_org_id', '=', filter.customerOrgId);
    if (filter.monthPrefix) q = q.where('month', 'like', `${filter.monthPrefix}%`);
    return q.execute();
  },
  async revenue(db: Executor, operatorOrgId: string, year: number): Promise<number> {
    const row = await db
      .selectFrom('bills')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('total_fen'), eb.lit(0)).as('total'))
      .where('operator_org_id', '=', operatorOrgId)
      .where('month', 'like', `${year}-%`)
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  },
};
