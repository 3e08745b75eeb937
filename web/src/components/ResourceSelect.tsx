/**
 * Picks catalog resources by searching the catalog as one types (`GET /v1/catalog/search?q=`)
 * rather than from a first page: a city's catalog holds far more than one page. Resources already
 * chosen keep their names while the search moves on. Used inside a `Form.Item`, which gives it
 * `value`, `onChange` and `id`.
 */
import { Select } from 'antd';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { api } from '../api.ts';
import type { CatalogSearch } from '../types.ts';

type Found = CatalogSearch['items'][number];

// Long enough that typing a name is one search, short enough not to be noticed.
const TYPING_PAUSE_MS = 250;
const SHOWN = 20;

export function ResourceSelect({
  filters,
  mode,
  value,
  onChange,
  onPick,
  id,
  notFoundContent,
}: {
  /** Search parameters besides the words typed (state, provider…). */
  filters: Record<string, string>;
  mode?: 'multiple';
  value?: string | string[];
  onChange?: (value: string | string[]) => void;
  /** The resource chosen (single mode), for forms that copy its description. */
  onPick?: (resource: Found) => void;
  id?: string;
  notFoundContent?: ReactNode;
}) {
  const [text, setText] = useState('');
  const [found, setFound] = useState<Found[]>([]);
  const [loading, setLoading] = useState(false);
  const known = useRef(new Map<string, Found>());
  const filtersKey = JSON.stringify(filters);

  useEffect(() => {
    const abort = new AbortController();
    const timer = setTimeout(
      () => {
        setLoading(true);
        const query = { ...(JSON.parse(filtersKey) as Record<string, string>), limit: SHOWN };
        api
          .get<CatalogSearch>(
            '/v1/catalog/search',
            text.trim() ? { ...query, q: text.trim() } : query,
            abort.signal,
          )
          .then(
            (page) => {
              for (const r of page.items) known.current.set(r.id, r);
              setFound(page.items);
            },
            () => {},
          )
          .finally(() => {
            if (!abort.signal.aborted) setLoading(false);
          });
      },
      text ? TYPING_PAUSE_MS : 0,
    );
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [text, filtersKey]);

  const chosen = (Array.isArray(value) ? value : value ? [value] : []).filter(
    (v) => !found.some((r) => r.id === v),
  );
  const label = (r: Found) => `${r.name}（${r.code}）`;
  const options = [
    ...found.map((r) => ({ value: r.id, label: label(r) })),
    ...chosen.map((v) => {
      const r = known.current.get(v);
      return { value: v, label: r ? label(r) : v };
    }),
  ];
  return (
    <Select
      id={id}
      mode={mode}
      showSearch
      filterOption={false}
      onSearch={setText}
      loading={loading}
      value={value}
      notFoundContent={loading ? undefined : notFoundContent}
      options={options}
      onChange={(next: string | string[]) => {
        onChange?.(next);
        const picked = typeof next === 'string' ? known.current.get(next) : undefined;
        if (picked) onPick?.(picked);
      }}
    />
  );
}
