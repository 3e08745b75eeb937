import type { ColumnType, Selectable } from 'kysely';
import type { Executor } from '../core/db.ts';

/**
 * The request letters of applications (migration 0032), written only here. Their TypeScript view
 * is merged into the platform's `Database`, so the schema travels with the capability.
 */
export const LETTER_TYPES = ['application/pdf', 'image/png', 'image/jpeg'] as const;
export type LetterType = (typeof LETTER_TYPES)[number];

export interface ApplicationLettersTable {
  application_id: string;
  file_name: string;
  content_type: LetterType;
  size_bytes: number;
  sm3: string;
  content: ColumnType<Uint8Array, Uint8Array, Uint8Array>;
  uploaded_by: string;
  uploaded_at: ColumnType<Date, Date, Date>;
}

declare module '../core/tables.ts' {
  interface Database {
    application_letters: ApplicationLettersTable;
  }
}

export type LetterRow = Selectable<ApplicationLettersTable>;
/** Everything about a letter but its bytes: what the application view shows. */
export type LetterMeta = Omit<LetterRow, 'content'>;

const META = [
  'application_id',
  'file_name',
  'content_type',
  'size_bytes',
  'sm3',
  'uploaded_by',
  'uploaded_at',
] as const;

export const letterStore = {
  /** The one current letter: a new upload replaces the previous one. */
  async put(tx: Executor, row: LetterRow): Promise<void> {
    const { application_id: _, ...replacement } = row;
    await tx
      .insertInto('application_letters')
      .values(row)
      .onConflict((oc) => oc.column('application_id').doUpdateSet(replacement))
      .execute();
  },

  async find(db: Executor, applicationId: string): Promise<LetterRow | undefined> {
    return db
      .selectFrom('application_letters')
      .selectAll()
      .where('application_id', '=', applicationId)
      .executeTakeFirst();
  },

  /** The letters of several applications without their bytes (for views and lists), by application id. */
  async metaOf(db: Executor, applicationIds: readonly string[]): Promise<Map<string, LetterMeta>> {
    if (applicationIds.length === 0) return new Map();
    const rows = await db
      .selectFrom('application_letters')
      .select(META)
      .where('application_id', 'in', applicationIds)
      .execute();
    return new Map(rows.map((r) => [r.application_id, r]));
  },
};
