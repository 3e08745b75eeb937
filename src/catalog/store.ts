import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Executor } from '../core/db.ts';
import type { Database, Grade, OpenType, ResourcesTable, SharingType } from '../core/tables.ts';

// grade_flag belongs to classification (src/classify/store.ts), which reads and writes it itself.
export type ResourceRow = Omit<
  ResourcesTable,
  'search_vector' | 'created_at' | 'updated_at' | 'grade_flag'
> & {
  created_at: Date;
  updated_at: Date;
};

export interface FieldRow {
  position: number;
  name: string;
  label: string;
  data_type: 'integer' | 'decimal' | 'boolean' | 'date' | 'timestamp' | 'text';
  description: string;
  grade: Grade;
  is_key: boolean;
  /** Set by classification; absent on fields not yet scanned. */
  detector?: string | null;
}

/** The weighted search document of a resource: name A, keywords and theme B, fields C, summary D. */
export interface SearchDocument {
  a: string[];
  b: string[];
  c: string[];
  d: string[];
}

const RESOURCE_COLUMNS = [
  'resources.id',
  'resources.code',
  'resources.name',
  'resources.summary',
  'resources.provider_org_id',
  'resources.category',
  'resources.theme',
  'resources.keywords',
  'resources.format',
  'resources.update_cycle',
  'resources.sharing_type',
  'resources.sharing_conditions',
  'resources.open_type',
  'resources.open_conditions',
  'resources.published_on',
  'resources.related_codes',
  'resources.grade',
  'resources.revision',
  'resources.current_version_id',
  'resources.created_by',
  'resources.created_at',
  'resources.updated_at',
] as const;

export function searchVector(doc: SearchDocument) {
  return sql`setweight(array_to_tsvector(${doc.a}::text[]), 'A')
    || setweight(array_to_tsvector(${doc.b}::text[]), 'B')
    || setweight(array_to_tsvector(${doc.c}::text[]), 'C')
    || setweight(array_to_tsvector(${doc.d}::text[]), 'D')`;
}

export interface SearchFilters {
  theme?: string | undefined;
  provider?: string | undefined;
  sharingType?: SharingType | undefined;
  openType?: OpenType | undefined;
  openOnly?: boolean;
  grade?: Grade | undefined;
  keyword?: string | undefined;
  /** One resource by id or code (lower-case codes too: CKAN slugs). */
  code?: string | undefined;
}

/** The WHERE clause shared by search and count: filters, then the relaxed full-text match. */
function matching(query: { relaxed: string } | undefined, filters: SearchFilters) {
  return (eb: ExpressionBuilder<Database, 'resources'>) => {
    const conditions: Expression<SqlBool>[] = [];
    if (filters.theme) conditions.push(eb('resources.theme', '=', filters.theme));
    if (filters.provider) conditions.push(eb('resources.provider_org_id', '=', filters.provider));
    if (filters.sharingType) conditions.push(eb('resources.sharing_type', '=', filters.sharingType));
    if (filters.openType) conditions.push(eb('resources.open_type', '=', filters.openType));
    if (filters.openOnly) conditions.push(eb('resources.open_type', '<>', 'not_open'));
    if (filters.grade) conditions.push(eb('resources.grade', '=', filters.grade));
    if (filters.keyword) conditions.push(sql<SqlBool>`${filters.keyword} = any(resources.keywords)`);
    if (filters.code) {
      conditions.push(
        eb.or([eb('resources.id', '=', filters.code), eb('resources.code', '=', filters.code.toUpperCase())]),
      );
    }
    if (query) conditions.push(sql<SqlBool>`resources.search_vector @@ ${query.relaxed}::tsquery`);
    return eb.and(conditions);
  };
}

export const catalogStore = {
  /** Next sequence number of a provider's resource codes, atomically. */
  async nextCodeNumber(db: Executor, providerOrgId: string): Promise<number> {
    const row = await db
      .insertInto('resource_code_counters')
      .values({ provider_org_id: providerOrgId, last_value: 1 })
      .onConflict((oc) =>
        oc.column('provider_org_id').doUpdateSet({ last_value: sql`resource_code_counters.last_value + 1` }),
      )
      .returning('last_value')
      .executeTakeFirstOrThrow();
    return row.last_value;
  },

  insertResource(db: Executor, row: Omit<ResourceRow, 'created_at' | 'updated_at'>, doc: SearchDocument) {
    return db
      .insertInto('resources')
      .values({ ...row, search_vector: searchVector(doc), updated_at: new Date() })
      .returning(RESOURCE_COLUMNS)
      .executeTakeFirstOrThrow();
  },

  /** Applies a change only if nobody changed the resource since `revision` was read. */
  updateResource(
    db: Executor,
    id: string,
    revision: number,
    patch: Partial<Omit<ResourceRow, 'id' | 'revision' | 'created_at' | 'updated_at'>>,
    doc: SearchDocument,
  ) {
    return db
      .updateTable('resources')
      .set({ ...patch, revision: revision + 1, search_vector: searchVector(doc), updated_at: new Date() })
      .where('id', '=', id)
      .where('revision', '=', revision)
      .returning(RESOURCE_COLUMNS)
      .executeTakeFirst();
  },

  findResource(db: Executor, idOrCode: string) {
    return db
      .selectFrom('resources')
      .select(RESOURCE_COLUMNS)
      .where((eb) => eb.or([eb('id', '=', idOrCode), eb('code', '=', idOrCode)]))
      .executeTakeFirst();
  },

  fieldsOf(db: Executor, resourceIds: string[]) {
    if (resourceIds.length === 0) return Promise.resolve([]);
    return db
      .selectFrom('resource_fields')
      .selectAll()
      .where('resource_id', 'in', resourceIds)
      .orderBy('resource_id')
      .orderBy('position')
      .execute();
  },

  async replaceFields(db: Executor, resourceId: string, fields: FieldRow[]) {
    await db.deleteFrom('resource_fields').where('resource_id', '=', resourceId).execute();
    if (fields.length > 0) {
      await db
        .insertInto('resource_fields')
        .values(fields.map((f) => ({ ...f, resource_id: resourceId })))
        .execute();
    }
  },

  insertHistory(
    db: Executor,
    entry: { resource_id: string; revision: number; actor_id: string; changes: string },
  ) {
    return db.insertInto('resource_history').values(entry).execute();
  },

  history(db: Executor, resourceId: string) {
    return db
      .selectFrom('resource_history')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .orderBy('revision', 'desc')
      .execute();
  },

  /**
   * Ranked search: resources matching every term (strict) first, then those matching any
   * lexeme (relaxed), each by ts_rank; without a query, newest first.
   */
  search(
    db: Executor,
    query: { strict: string; relaxed: string } | undefined,
    filters: SearchFilters,
    page: { offset: number; limit: number },
  ) {
    const strict = query
      ? sql<boolean>`resources.search_vector @@ ${query.strict}::tsquery`
      : sql<boolean>`true`;
    const score = query
      ? sql<number>`ts_rank(resources.search_vector, ${query.relaxed}::tsquery)`
      : sql<number>`0`;
    let q = db
      .selectFrom('resources')
      .innerJoin('organizations', 'organizations.id', 'resources.provider_org_id')
      .select(RESOURCE_COLUMNS)
      .select(['organizations.name as provider_name', strict.as('strict_match'), score.as('score')]);
    q = q.where(matching(query, filters));
    q = query ? q.orderBy(strict, 'desc').orderBy(score, 'desc') : q.orderBy('resources.created_at', 'desc');
    return q
      .orderBy('resources.id')
      .offset(page.offset)
      .limit(page.limit + 1)
      .execute();
  },

  async count(db: Executor, query: { relaxed: string } | undefined, filters: SearchFilters): Promise<number> {
    const row = await db
      .selectFrom('resources')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(matching(query, filters))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  providers(db: Executor, ids: string[]) {
    if (ids.length === 0) return Promise.resolve([]);
    return db
      .selectFrom('organizations')
      .select(['id', 'name', 'uscc', 'region_code'])
      .where('id', 'in', ids)
      .execute();
  },
};
