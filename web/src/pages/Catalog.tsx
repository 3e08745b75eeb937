import { Button, Card, Col, Empty, Form, Grid, Input, List, Row, Select, Space, Tag, Typography } from 'antd';
import { useCallback, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { ErrorAlert, GradeTag, LinkButton, Pager, PageTitle, StateTag } from '../components/common.tsx';
import { type ListColumn, TableToolbar } from '../components/TableToolbar.tsx';
import { bilingual, fmtDate } from '../format.ts';
import { useCursorPages, useLoader, useOrganizations } from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { CatalogSearch, Theme } from '../types.ts';
import { GRADES, OPEN_TYPES, SHARING_TYPES } from '../types.ts';

type Sort = 'relevance' | 'updated' | 'newest';
type Result = CatalogSearch['items'][number];
const SORTS: Sort[] = ['relevance', 'updated', 'newest'];

/** The words the search matched, marked in a name or summary (case-insensitive, as searched). */
function Highlight({ text, terms }: { text: string; terms: string[] }) {
  const words = terms.filter((w) => w.trim().length > 0);
  if (words.length === 0) return <>{text}</>;
  const pattern = new RegExp(
    `(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`,
    'giu',
  );
  return (
    <>
      {text.split(pattern).map((part, i) =>
        i % 2 === 1 ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one string, in order
          <mark key={i} className="search-hit">
            {part}
          </mark>
        ) : (
          part
        ),
      )}
    </>
  );
}

interface Filters {
  q?: string;
  theme?: string;
  provider?: string;
  sharingType?: string;
  openType?: string;
  grade?: string;
}

export function useThemes(): Theme[] {
  const load = useCallback(
    (signal: AbortSignal) => api.get<Theme[]>('/v1/catalog/themes', undefined, signal),
    [],
  );
  return useLoader(load).data ?? [];
}

export function Catalog() {
  const { t } = useTranslation();
  const me = useMe();
  const themes = useThemes();
  const orgs = useOrganizations();
  const [filters, setFilters] = useState<Filters>({});
  const [sort, setSort] = useState<Sort>('relevance');
  const [form] = Form.useForm<Filters>();
  // On a phone the filters would fill the first screen: the keyword stays, the rest folds away.
  const compact = !Grid.useBreakpoint().md;
  const [unfolded, setUnfolded] = useState(false);
  const showFilters = !compact || unfolded;
  const activeFilters = Object.keys(filters).filter((k) => k !== 'q').length;

  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<CatalogSearch>(
        '/v1/catalog/search',
        { ...filters, sort, withTotal: true, facets: true, limit: 10, cursor },
        signal,
      ),
    [filters, sort],
  );
  const pages = useCursorPages(fetchPage);
  const result = pages.data as CatalogSearch | undefined;
  const terms = result?.terms ?? [];
  // How many results each option of a filter would keep, from the search as it stands.
  const counted = (facet: keyof NonNullable<CatalogSearch['facets']>, value: string, label: string) => {
    const n = result?.facets?.[facet]?.[value];
    return n === undefined ? label : `${label}（${n}）`;
  };
  // What the export holds of each result card: the results are cards, not columns to pick.
  const exported: ListColumn<Result>[] = [
    { title: t('resource.name'), dataIndex: 'name' },
    { title: t('resource.code'), dataIndex: 'code' },
    { title: t('resource.provider'), exportValue: (r) => r.provider.name },
    { title: t('catalog.theme'), exportValue: (r) => bilingual(r.themeLabel) },
    { title: t('catalog.sharingType'), exportValue: (r) => t(`sharing.${r.sharingType}`) },
    { title: t('catalog.openType'), exportValue: (r) => t(`open.${r.openType}`) },
    { title: t('catalog.grade'), exportValue: (r) => t(`grade.${r.grade}`, { defaultValue: r.grade }) },
    { title: t('catalog.fields'), exportValue: (r) => String(r.fields.length) },
    { title: t('catalog.updatedAt'), exportValue: (r) => fmtDate(r.updatedAt) },
  ];
  const orgOptions = useMemo(
    () =>
      [...orgs.values()]
        .map((o) => ({ value: o.id, label: o.name }))
        .sort((a, b) => a.label.localeCompare(b.label)),
    [orgs],
  );

  // The filters beside the keyword, each a select of its values (with how many results each keeps).
  const filterSelects: Array<{
    name: Exclude<keyof Filters, 'q'>;
    width: number;
    search: boolean;
    options: Array<{ value: string; label: string }>;
  }> = [
    {
      name: 'theme',
      width: 4,
      search: true,
      options: themes.map((th) => ({
        value: th.id,
        label: counted('theme', th.id, bilingual({ zh: th.zh, en: th.en })),
      })),
    },
    { name: 'provider', width: 4, search: true, options: orgOptions },
    {
      name: 'sharingType',
      width: 3,
      search: false,
      options: SHARING_TYPES.map((v) => ({ value: v, label: counted('sharingType', v, t(`sharing.${v}`)) })),
    },
    {
      name: 'openType',
      width: 3,
      search: false,
      options: OPEN_TYPES.map((v) => ({ value: v, label: counted('openType', v, t(`open.${v}`)) })),
    },
    {
      name: 'grade',
      width: 2,
      search: false,
      options: GRADES.map((g) => ({ value: g, label: counted('grade', g, t(`grade.${g}`)) })),
    },
  ];

  const apply = (values: Filters) => {
    const clean: Filters = {};
    for (const [k, v] of Object.entries(values)) if (v) clean[k as keyof Filters] = String(v).trim();
    setFilters(clean);
  };

  return (
    <>
      <PageTitle
        title={t('nav.catalog')}
        sub={t('catalog.sub')}
        help="catalog"
        extra={
          hasRole(me, 'data_steward') ? (
            <LinkButton type="primary" to="/import">
              {t('catalog.importNew')}
            </LinkButton>
          ) : null
        }
      />
      <Card style={{ marginBottom: 16 }}>
        <Form form={form} layout="vertical" onFinish={apply} aria-label={t('catalog.searchForm')}>
          <Row gutter={[12, 0]}>
            <Col xs={24} lg={8}>
              <Form.Item label={t('catalog.query')} name="q">
                <Input.Search
                  allowClear
                  placeholder={t('catalog.queryPlaceholder')}
                  enterButton={t('catalog.search')}
                  onSearch={() => form.submit()}
                />
              </Form.Item>
            </Col>
            {showFilters
              ? filterSelects.map((f) => (
                  <Col key={f.name} xs={12} md={8} lg={f.width}>
                    <Form.Item label={t(`catalog.${f.name}`)} name={f.name}>
                      <Select
                        allowClear
                        showSearch={f.search}
                        optionFilterProp="label"
                        placeholder={t('common.all')}
                        options={f.options}
                        onChange={() => form.submit()}
                        popupMatchSelectWidth={f.width > 2}
                      />
                    </Form.Item>
                  </Col>
                ))
              : null}
          </Row>
          <Space>
            {compact ? (
              <Button aria-expanded={unfolded} onClick={() => setUnfolded((v) => !v)}>
                {activeFilters > 0
                  ? t('catalog.filtersActive', { count: activeFilters })
                  : t('catalog.filters')}
              </Button>
            ) : null}
            <Button
              onClick={() => {
                form.resetFields();
                setFilters({});
              }}
            >
              {t('common.reset')}
            </Button>
          </Space>
        </Form>
      </Card>
      <ErrorAlert error={pages.error} onRetry={pages.reload} />
      <Card
        title={t('catalog.results')}
        extra={
          <Select<Sort>
            size="small"
            aria-label={t('catalog.sort')}
            value={sort}
            onChange={setSort}
            style={{ minWidth: 120 }}
            options={SORTS.map((v) => ({ value: v, label: t(`catalog.sorts.${v}`) }))}
          />
        }
      >
        <TableToolbar<Result>
          options={{
            id: 'catalog',
            total: result?.total,
            count:
              result?.total === undefined ? undefined : (
                <span data-testid="catalog-total">{t('catalog.total', { count: result.total })}</span>
              ),
            loadedOnly: pages.hasPrev || pages.hasNext,
            onRefresh: pages.reload,
            refreshing: pages.loading,
          }}
          columns={exported}
          rows={pages.items}
        />
        <List
          aria-label={t('catalog.results')}
          loading={pages.loading}
          dataSource={pages.items}
          locale={{ emptyText: <Empty description={t('catalog.noResults')} /> }}
          renderItem={(r) => (
            <List.Item key={r.id} data-testid="catalog-item">
              <List.Item.Meta
                title={
                  <Space wrap size={[8, 4]}>
                    <Link to={`/catalog/${r.id}`}>
                      <Highlight text={r.name} terms={terms} />
                    </Link>
                    <GradeTag grade={r.grade} />
                  </Space>
                }
                description={
                  <Space direction="vertical" size={4} style={{ width: '100%' }}>
                    <Space wrap size={[8, 4]}>
                      <Typography.Text
                        type="secondary"
                        copyable={{ text: r.code, tooltips: [t('common.copy'), t('common.copied')] }}
                      >
                        {r.code}
                      </Typography.Text>
                      <span>{r.provider.name}</span>
                      <Tag>{bilingual(r.themeLabel)}</Tag>
                      <Tag color="cyan">{t(`sharing.${r.sharingType}`)}</Tag>
                      <Tag color="geekblue">{t(`open.${r.openType}`)}</Tag>
                      {r.state === 'published' ? null : <StateTag state={r.state} />}
                    </Space>
                    {r.summary ? (
                      <Typography.Paragraph ellipsis={{ rows: 2 }} style={{ marginBottom: 0 }}>
                        <Highlight text={r.summary} terms={terms} />
                      </Typography.Paragraph>
                    ) : null}
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {t('catalog.fieldCount', { count: r.fields.length })} · {t('catalog.updated')}{' '}
                      {fmtDate(r.updatedAt)}
                      {r.currentVersionId ? '' : ` · ${t('catalog.noData')}`}
                    </Typography.Text>
                  </Space>
                }
              />
            </List.Item>
          )}
        />
        <Pager {...pages} />
      </Card>
    </>
  );
}
