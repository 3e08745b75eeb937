import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Executor } from '../core/db.ts';
import type {
  Database,
  Grade,
  OpenType,
  ResourceState,
  ResourcesTable,
  SharingType,
} from '../core/tables.ts';

/** The resource as classification needs it, read under its row lock. */
export interface GradingState {
  id: string;
  code: string;
  provider_org_id: string;
  grade: Grade;
  revision: number;
  sharing_type: string;
  open_type: string;
  current_version_id: string | null;
  /** What classification flagged; its shape is classification's (src/classify/store.ts GradeFlag). */
  grade_flag: unknown;
}

// grade_flag is classification's: the catalog stores it (catalog.grading) but never reads its content.
export type ResourceRow = Omit<
  ResourcesTable,
  | 'search_vector'
  | 'title_vector'
  | 'created_at'
  | 'updated_at'
  | 'grade_flag'
  | 'state'
  | 'state_reason'
  | 'state_changed_by'
  | 'review_due'
> & {
  created_at: Date;
  updated_at: Date;
  state: ResourceState;
  state_reason: string | null;
  state_changed_by: string | null;
  review_due: { since: string; by: string } | null;
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
  'resources.state',
  'resources.state_reason',
  'resources.state_changed_by',
  'resources.review_due',
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

/** Everything a resource is found by (matching only: ranking reads the title vector). */
export function searchVector(doc: SearchDocument) {
  return sql`setweight(array_to_tsvector(${doc.a}::text[]), 'A')
    || setweight(array_to_tsvector(${doc.b}::text[]), 'B')
    || setweight(array_to_tsvector(${doc.c}::text[]), 'C')
    || setweight(array_to_tsvector(${doc.d}::text[]), 'D')`;
}

/**
 * The name (A) and keywords, theme and code (B), as a tsvector literal with positions: a lexeme
 * without a position carries no weight, so ts_rank could not tell a name from a keyword.
 * Lexemes hold only CJK characters and [a-z0-9] (search-text.ts), so quoting them is safe.
 */
export function titleVector(doc: Pick<SearchDocument, 'a' | 'b'>) {
  let position = 0;
  const entries = [
    ...doc.a.map((lexeme) => `'${lexeme}':${++position}A`),
    ...doc.b.map((lexeme) => `'${lexeme}':${++position}B`),
  ];
  return sql`${entries.join(' ')}::tsvector`;
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
  /** Only resources in this catalog state. */
  state?: ResourceState | undefined;
  /** Only published resources whose grades changed since the bureau's last review. */
  reviewDue?: boolean | undefined;
  /**
   * Resources not yet (or no longer) published are seen only by their provider's members and
   * the cross-organization roles: this organization's id, or null when the reader sees all.
   */
  visibleTo?: string | null | undefined;
}

/** How a search is ordered: relevance (tiers, see `search`), latest update or latest publication. */
export type SearchSort = 'relevance' | 'updated' | 'newest';

/** The facets a search counts: its results by each of these columns. */
const FACET_COLUMNS = {
  theme: 'theme',
  sharingType: 'sharing_type',
  openType: 'open_type',
  grade: 'grade',
} as const;
export type Facets = Record<keyof typeof FACET_COLUMNS, Record<string, number>>;

/** The resources a search finds on all its pages: the filters, and any term in title or text. */
function found(query: { strict: string; relaxed: string } | undefined) {
  return query
    ? sql<SqlBool>`(resources.search_vector @@ ${query.strict}::tsquery or resources.title_vector @@ ${query.relaxed}::tsquery)`
    : sql<SqlBool>`true`;
}

/** The filters of a search, shared by every phase of it and by the count. */
function matching(filters: SearchFilters) {
  return (eb: ExpressionBuilder<Database, 'resources'>) => {
    const conditions: Expression<SqlBool>[] = [];
    if (filters.theme) conditions.push(eb('resources.theme', '=', filters.theme));
    if (filters.provider) conditions.push(eb('resources.provider_org_id', '=', filters.provider));
    if (filters.sharingType) conditions.push(eb('resources.sharing_type', '=', filters.sharingType));
    if (filters.openType) conditions.push(eb('resources.open_type', '=', filters.openType));
    if (filters.openOnly) conditions.push(eb('resources.open_type', '<>', 'not_open'));
    if (filters.grade) conditions.push(eb('resources.grade', '=', filters.grade));
    if (filters.keyword) conditions.push(sql<SqlBool>`${filters.keyword} = any(resources.keywords)`);
    if (filters.state) conditions.push(eb('resources.state', '=', filters.state));
    if (filters.reviewDue) conditions.push(sql<SqlBool>`resources.review_due is not null`);
    if (filters.visibleTo !== null) {
      const published = eb('resources.state', '=', 'published');
      conditions.push(
        filters.visibleTo === undefined
          ? published
          : eb.or([published, eb('resources.provider_org_id', '=', filters.visibleTo)]),
      );
    }
    if (filters.code) {
      conditions.push(
        eb.or([eb('resources.id', '=', filters.code), eb('resources.code', '=', filters.code.toUpperCase())]),
      );
    }
    return eb.and(conditions);
  };
}

export const catalogStore = {
  /** Names of resources by id, with what decides who may see them (the caller filters). */
  async namesOf(db: Executor, ids: string[]) {
    return db
      .selectFrom('resources')
      .select(['id', 'name', 'state', 'provider_org_id'])
      .where('id', 'in', ids)
      .execute();
  },

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

  insertResource(
    db: Executor,
    row: Omit<ResourceRow, 'created_at' | 'updated_at' | 'review_due'>,
    doc: SearchDocument,
  ) {
    return db
      .insertInto('resources')
      .values({
        ...row,
        search_vector: searchVector(doc),
        title_vector: titleVector(doc),
        updated_at: new Date(),
      })
      .returning(RESOURCE_COLUMNS)
      .executeTakeFirstOrThrow();
  },

  /** Applies a change only if nobody changed the resource since `revision` was read. */
  updateResource(
    db: Executor,
    id: string,
    revision: number,
    patch: Partial<Omit<ResourceRow, 'id' | 'revision' | 'created_at' | 'updated_at' | 'review_due'>>,
    doc: SearchDocument,
  ) {
    return db
      .updateTable('resources')
      .set({
        ...patch,
        revision: revision + 1,
        search_vector: searchVector(doc),
        title_vector: titleVector(doc),
        updated_at: new Date(),
      })
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
   * Ranked search, in three tiers read one after the other until the page is full:
   *  1. resources whose title (name, keywords, theme, code) matches every term, by ts_rank of
   *     the title: found and ranked through the small title vector and its GIN index;
   *  2. resources matching every term only in their fields or summary, newest first: for a
   *     word found in a third of the catalog this walks the created_at index and stops after a
   *     page, instead of ranking tens of thousands of rows;
   *  3. resources whose title matches some of the words (partial matches), by title rank.
   * Without a query, newest first. Tiers 1 and 2 are `strict_match`.
   */
  async search(
    db: Executor,
    query: { strict: string; relaxed: string } | undefined,
    filters: SearchFilters,
    page: { offset: number; limit: number },
    sort: SearchSort = 'relevance',
  ) {
    const base = (strictMatch: boolean) =>
      db
        .selectFrom('resources')
        .innerJoin('organizations', 'organizations.id', 'resources.provider_org_id')
        .select(RESOURCE_COLUMNS)
        .select([
          'organizations.name as provider_name',
          sql<boolean>`${strictMatch}::boolean`.as('strict_match'),
          (query
            ? sql<number>`ts_rank(resources.title_vector, ${query.relaxed}::tsquery)`
            : sql<number>`0::real`
          ).as('score'),
        ])
        .where(matching(filters));
    if (!query || sort !== 'relevance') {
      // Ordered by a date, the result is one set (the count's): strict matches are still marked.
      const marked = query
        ? base(true)
            .clearSelect()
            .select(RESOURCE_COLUMNS)
            .select([
              'organizations.name as provider_name',
              sql<boolean>`resources.search_vector @@ ${query.strict}::tsquery`.as('strict_match'),
              sql<number>`ts_rank(resources.title_vector, ${query.relaxed}::tsquery)`.as('score'),
            ])
            .where(found(query))
        : base(true);
      return marked
        .orderBy(sort === 'updated' ? 'resources.updated_at' : 'resources.created_at', 'desc')
        .orderBy('resources.id')
        .offset(page.offset)
        .limit(page.limit + 1)
        .execute();
    }
    const strict = sql<SqlBool>`${query.strict}::tsquery`;
    const relaxed = sql<SqlBool>`${query.relaxed}::tsquery`;
    const titleRank = sql`ts_rank(resources.title_vector, ${relaxed})`;
    // Each tier is read from its start: the page is cut from the tiers joined.
    const wanted = page.offset + page.limit + 1;
    const rows = await base(true)
      .where(sql<SqlBool>`resources.title_vector @@ ${strict}`)
      .orderBy(titleRank, 'desc')
      .orderBy('resources.id')
      .limit(wanted)
      .execute();
    if (rows.length < wanted) {
      rows.push(
        ...(await base(true)
          .where(sql<SqlBool>`resources.search_vector @@ ${strict}`)
          .where(sql<SqlBool>`not (resources.title_vector @@ ${strict})`)
          .orderBy('resources.created_at', 'desc')
          .orderBy('resources.id')
          .limit(wanted - rows.length)
          .execute()),
      );
    }
    if (rows.length < wanted) {
      // Every strict match is in `rows` by now; tier 2's may also match part of the title.
      const strictIds = rows.map((r) => r.id);
      let partial = base(false)
        .where(sql<SqlBool>`resources.title_vector @@ ${relaxed}`)
        .where(sql<SqlBool>`not (resources.title_vector @@ ${strict})`);
      if (strictIds.length > 0) partial = partial.where('resources.id', 'not in', strictIds);
      rows.push(
        ...(await partial
          .orderBy(titleRank, 'desc')
          .orderBy('resources.id')
          .limit(wanted - rows.length)
          .execute()),
      );
    }
    return rows.slice(page.offset);
  },

  /** How many resources a search finds over all its pages (all three tiers). */
  async count(
    db: Executor,
    query: { strict: string; relaxed: string } | undefined,
    filters: SearchFilters,
  ): Promise<number> {
    const row = await db
      .selectFrom('resources')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(matching(filters))
      .where(found(query))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /** The search's results counted by theme, sharing type, open type and grade, in one statement. */
  async facets(
    db: Executor,
    query: { strict: string; relaxed: string } | undefined,
    filters: SearchFilters,
  ): Promise<Facets> {
    const columns = Object.values(FACET_COLUMNS).map((c) => sql.ref(`resources.${c}`));
    const { rows } = await sql<Record<string, string | null> & { n: string }>`
      SELECT ${sql.join(columns)}, count(*) AS n FROM resources
      WHERE ${sql.join(
        [
          sql`resources.id IN (${db.selectFrom('resources').select('resources.id').where(matching(filters))})`,
          found(query),
        ],
        sql` AND `,
      )}
      GROUP BY GROUPING SETS (${sql.join(columns.map((c) => sql`(${c})`))})`.execute(db);
    const facets = Object.fromEntries(Object.keys(FACET_COLUMNS).map((k) => [k, {}])) as Facets;
    for (const row of rows) {
      for (const [key, column] of Object.entries(FACET_COLUMNS) as Array<[keyof Facets, string]>) {
        const value = row[column];
        if (value !== null && value !== undefined) facets[key][value] = Number(row.n);
      }
    }
    return facets;
  },

  providers(db: Executor, ids: string[]) {
    if (ids.length === 0) return Promise.resolve([]);
    return db
      .selectFrom('organizations')
      .select(['id', 'name', 'uscc', 'region_code', 'type', 'level'])
      .where('id', 'in', ids)
      .execute();
  },

  // ------------------------------------------------ grading (classification decides, the catalog records)

  /**
   * Locks the resource row for the rest of the transaction: grade decisions read fields and
   * confirmations and write them back, and two of them (an import and a steward) must not interleave.
   */
  async lockResource(db: Executor, resourceId: string): Promise<GradingState | undefined> {
    const { rows } = await sql<GradingState>`
      SELECT id, code, provider_org_id, grade, revision, sharing_type, open_type, current_version_id, grade_flag
      FROM resources WHERE id = ${resourceId} FOR UPDATE`.execute(db);
    return rows[0];
  },

  async gradeFlag(db: Executor, resourceId: string): Promise<unknown> {
    const { rows } = await sql<{ grade_flag: unknown }>`
      SELECT grade_flag FROM resources WHERE id = ${resourceId}`.execute(db);
    return rows[0]?.grade_flag ?? null;
  },

  gradingFields(db: Executor, resourceId: string) {
    return db
      .selectFrom('resource_fields')
      .select(['name', 'label', 'position', 'grade', 'detector'])
      .where('resource_id', '=', resourceId)
      .orderBy('position')
      .execute();
  },

  /** Sets the effective grade and detector of several fields in one statement. */
  async setFieldGrades(
    db: Executor,
    resourceId: string,
    fields: Array<{ name: string; grade: Grade; detector: string | null }>,
  ) {
    if (fields.length === 0) return;
    await sql`
      UPDATE resource_fields AS f SET grade = v.grade, detector = v.detector
      FROM unnest(${fields.map((f) => f.name)}::text[], ${fields.map((f) => f.grade)}::text[],
                  ${fields.map((f) => f.detector)}::text[]) AS v(name, grade, detector)
      WHERE f.resource_id = ${resourceId} AND f.name = v.name`.execute(db);
  },

  /**
   * A grade change is a change of the catalog entry: a new revision with its history row, so that
   * a steward editing the entry from an older revision gets a conflict rather than overwriting it.
   */
  async setResourceGrade(
    db: Executor,
    resource: { id: string; revision: number },
    grade: Grade,
    history: { actorId: string; changes: Record<string, unknown> },
  ) {
    const due = JSON.stringify({ since: new Date().toISOString(), by: history.actorId });
    const row = await db
      .updateTable('resources')
      .set({
        grade,
        revision: resource.revision + 1,
        updated_at: new Date(),
        // A published entry whose resource grade changes (it decides the approval path and what
        // the catalog declares) is due a new review; the first change since the last review is
        // kept. Field grades moving within the same resource grade are served by the gateway's
        // stricter-of rule and recorded in the history. (`grade` on the right is the old value.)
        review_due: sql<
          string | null
        >`CASE WHEN state = 'published' AND grade IS DISTINCT FROM ${grade} THEN coalesce(review_due, ${due}::jsonb) ELSE review_due END`,
      })
      .where('id', '=', resource.id)
      .where('revision', '=', resource.revision)
      .returning('revision')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('resource_history')
      .values({
        resource_id: resource.id,
        revision: row.revision,
        actor_id: history.actorId,
        changes: JSON.stringify(history.changes),
      })
      .execute();
    return row.revision;
  },

  async setGradeFlag(db: Executor, resourceId: string, flag: object | null) {
    await sql`UPDATE resources SET grade_flag = ${flag === null ? null : JSON.stringify(flag)}::jsonb
      WHERE id = ${resourceId}`.execute(db);
  },

  setCurrentVersion(db: Executor, resourceId: string, versionId: string) {
    return db
      .updateTable('resources')
      .set({ current_version_id: versionId })
      .where('id', '=', resourceId)
      .execute();
  },
};
