import { Type } from 'typebox';

/** Cursor paging: ids sort by creation time, so the cursor is the last id of the page. */
export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z]{3}_[0-9a-z]{26}$' })),
});

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function pageOf<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;
  return { items, nextCursor: more ? (items.at(-1)?.id ?? null) : null };
}

export const pageSchema = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
