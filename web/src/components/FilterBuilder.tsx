import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Flex, Input, Radio, Select, Typography } from 'antd';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { DataType, Filter, FilterOp } from '../types.ts';
import { JsonBlock } from './common.tsx';

export interface FilterFieldOption {
  name: string;
  label: string;
  dataType: DataType;
}

/** One condition as the builder edits it: `value` is text (a list for `in`) until it is sent. */
interface Row {
  field?: string;
  op?: FilterOp;
  value?: string | string[];
}

const ORDERED: readonly FilterOp[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'is'];
/** The operators that make sense for a field's type (the server checks the values against it). */
function opsFor(type: DataType | undefined): readonly FilterOp[] {
  if (type === 'boolean') return ['is'];
  if (type === 'text' || type === undefined) return ['eq', 'neq', 'in', 'like', 'is'];
  return ORDERED;
}
const IS_VALUES = ['null', 'not_null', 'true', 'false'] as const;

function isPredicate(f: Filter): f is Extract<Filter, { field: string }> {
  return 'field' in f;
}

/** The flat filters the builder can show: one condition, or all/any of several. */
function toRows(value: Filter | undefined): { rows: Row[]; any: boolean } | null {
  if (!value) return { rows: [], any: false };
  const list = isPredicate(value) ? [value] : 'and' in value ? value.and : 'or' in value ? value.or : null;
  if (!list || !list.every(isPredicate)) return null;
  return {
    any: 'or' in value,
    rows: list.map((p) => ({
      field: p.field || undefined,
      op: p.op,
      value: Array.isArray(p.value) ? p.value.map(String) : String(p.value),
    })),
  };
}

function toFilter(rows: Row[], any: boolean): Filter | undefined {
  const complete = rows.flatMap((r): Filter[] => {
    if (!r.field || !r.op || r.value === undefined || r.value.length === 0) return [];
    if (r.op === 'in') return [{ field: r.field, op: 'in', value: [r.value].flat() }];
    if (r.op === 'is')
      return [{ field: r.field, op: 'is', value: String(r.value) as (typeof IS_VALUES)[number] }];
    return [{ field: r.field, op: r.op, value: String(r.value) }];
  });
  if (complete.length === 0) return undefined;
  if (complete.length === 1) return complete[0];
  return any ? { or: complete } : { and: complete };
}

/**
 * The rows a contract serves, chosen as conditions (field, operator, value) instead of typed JSON.
 * Values go as text: the server converts each to the field's type and names what it cannot.
 * A filter too deep for the builder (set through the API) is shown as it is and kept.
 */
export function FilterBuilder({
  fields,
  value,
  onChange,
}: {
  fields: readonly FilterFieldOption[];
  value?: Filter | undefined;
  onChange?: (next: Filter | undefined) => void;
}) {
  const { t } = useTranslation();
  const state = toRows(value);
  if (!state) {
    return (
      <Flex vertical gap={8}>
        <Typography.Text type="secondary">{t('filter.tooDeep')}</Typography.Text>
        <JsonBlock value={value} />
        <Button size="small" onClick={() => onChange?.(undefined)}>
          {t('filter.clear')}
        </Button>
      </Flex>
    );
  }
  // Rows being typed are kept in the form value only once complete; the draft lives here.
  const rows = state.rows;
  const update = (next: Row[], any = state.any) => onChange?.(toFilterDraft(next, any));
  const typeOf = (name?: string) => fields.find((f) => f.name === name)?.dataType;
  return (
    <Flex vertical gap={8} data-testid="filter-builder">
      {rows.length > 1 ? (
        <Radio.Group
          size="small"
          value={state.any ? 'or' : 'and'}
          onChange={(e) => update(rows, e.target.value === 'or')}
          options={[
            { value: 'and', label: t('filter.all') },
            { value: 'or', label: t('filter.any') },
          ]}
        />
      ) : null}
      {rows.map((row, i) => {
        const set = (patch: Row) => update(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
        const ops = opsFor(typeOf(row.field));
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their place
          <Flex key={i} gap={8} wrap align="center">
            <Select
              aria-label={t('filter.field', { n: i + 1 })}
              style={{ minWidth: 140 }}
              value={row.field}
              placeholder={t('filter.pickField')}
              options={fields.map((f) => ({ value: f.name, label: f.label }))}
              onChange={(field: string) =>
                set({
                  field,
                  op: opsFor(typeOf(field)).includes(row.op as FilterOp) ? row.op : undefined,
                })
              }
            />
            <Select
              aria-label={t('filter.op', { n: i + 1 })}
              style={{ minWidth: 110 }}
              value={row.op}
              placeholder={t('filter.pickOp')}
              options={ops.map((op) => ({ value: op, label: t(`filter.ops.${op}`) }))}
              onChange={(op: FilterOp) => set({ op, value: op === 'in' ? [] : undefined })}
            />
            {row.op === 'is' ? (
              <Select
                aria-label={t('filter.value', { n: i + 1 })}
                style={{ minWidth: 110 }}
                value={row.value as string | undefined}
                options={IS_VALUES.filter((v) =>
                  typeOf(row.field) === 'boolean' ? true : v === 'null' || v === 'not_null',
                ).map((v) => ({ value: v, label: t(`filter.is.${v}`) }))}
                onChange={(v: string) => set({ value: v })}
              />
            ) : row.op === 'in' ? (
              <Select
                mode="tags"
                aria-label={t('filter.value', { n: i + 1 })}
                style={{ minWidth: 180, flex: 1 }}
                tokenSeparators={[',', '，']}
                value={[row.value ?? []].flat()}
                open={false}
                placeholder={t('filter.values')}
                onChange={(v: string[]) => set({ value: v })}
              />
            ) : (
              <Input
                aria-label={t('filter.value', { n: i + 1 })}
                style={{ width: 180, flex: 1 }}
                value={row.value as string | undefined}
                placeholder={row.op === 'like' ? t('filter.likeHint') : t('filter.valueHint')}
                onChange={(e) => set({ value: e.target.value })}
              />
            )}
            <Button
              type="text"
              icon={<DeleteOutlined />}
              aria-label={t('filter.remove', { n: i + 1 })}
              onClick={() => update(rows.filter((_, j) => j !== i))}
            />
          </Flex>
        );
      })}
      <div>
        <Button size="small" icon={<PlusOutlined />} onClick={() => update([...rows, {}])}>
          {t('filter.add')}
        </Button>
      </div>
    </Flex>
  );
}

/**
 * The draft as the form holds it: complete conditions become the filter; an incomplete row is kept
 * as a placeholder predicate so the builder can show it while it is being filled in.
 */
function toFilterDraft(rows: Row[], any: boolean): Filter | undefined {
  if (rows.length === 0) return undefined;
  const draft = rows.map((r) => ({ field: r.field ?? '', op: r.op ?? 'eq', value: r.value ?? '' }) as Filter);
  return draft.length === 1 ? draft[0] : any ? { or: draft } : { and: draft };
}

/** The filter to send: incomplete conditions dropped. */
export function completeFilter(value: Filter | undefined): Filter | undefined {
  const state = toRows(value);
  if (!state) return value;
  return toFilter(state.rows, state.any);
}

/** A filter in words ("所属区县 等于 西湖区，且 剂次 大于 1"), for contracts and applications. */
export function describeFilter(filter: Filter, labelOf: (name: string) => string, t: TFunction): string {
  if ('and' in filter) return filter.and.map((f) => describeFilter(f, labelOf, t)).join(t('filter.andJoin'));
  if ('or' in filter)
    return `(${filter.or.map((f) => describeFilter(f, labelOf, t)).join(t('filter.orJoin'))})`;
  if ('not' in filter) return `${t('filter.not')}(${describeFilter(filter.not, labelOf, t)})`;
  const value =
    filter.op === 'is'
      ? t(`filter.is.${filter.value}`)
      : Array.isArray(filter.value)
        ? filter.value.join('、')
        : String(filter.value);
  return `${labelOf(filter.field)} ${t(`filter.ops.${filter.op}`)} ${value}`;
}
