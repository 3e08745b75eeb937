import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Empty,
  Select,
  Skeleton,
  Space,
  Table,
  Tabs,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import { type ReactNode, useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import {
  ErrorAlert,
  GradeTag,
  JsonBlock,
  LinkButton,
  ListTable,
  MaskTag,
  Mono,
  NotLoaded,
  PageTitle,
  StateTag,
} from '../components/common.tsx';
import { PublicationActions, PublicationNotice } from '../components/Publication.tsx';
import { ResourceEdit } from '../components/ResourceEdit.tsx';
import { bilingual, fmtBytes, fmtDateTime, fmtNumber, fmtPercent } from '../format.ts';
import { collectAll, forgetResource, useAction, useLoader } from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { Contract, GatewayRows, HistoryEntry, Me, Page, Resource, Version } from '../types.ts';

export function canApply(me: Me, resource: Resource): boolean {
  return hasRole(me, 'consumer') && resource.sharingType !== 'not_shared' && resource.state === 'published';
}

export function isProviderSteward(me: Me, resource: Resource): boolean {
  return hasRole(me, 'data_steward') && me.organization.id === resource.provider.id;
}

export function ResourceDetail({ id }: { id: string }) {
  const me = useMe();
  const load = useCallback(
    (signal: AbortSignal) => {
      forgetResource(id);
      return api.get<Resource>(`/v1/resources/${encodeURIComponent(id)}`, undefined, signal);
    },
    [id],
  );
  const loaded = useLoader(load);
  const { data: resource, error, reload } = loaded;

  if (!resource) return <NotLoaded loaded={loaded} rows={10} />;

  const steward = isProviderSteward(me, resource);
  return (
    <ResourceView
      resource={resource}
      me={me}
      steward={steward}
      error={error}
      reload={reload}
      header={canApply(me, resource) ? <ApplyOrOpen resource={resource} /> : null}
    />
  );
}

/**
 * A consumer with a contract in force for the resource goes to it first; applying again (for
 * more fields or another purpose) stays possible, as the second button.
 */
function ApplyOrOpen({ resource }: { resource: Resource }) {
  const { t } = useTranslation();
  const { data } = useMyContracts(resource);
  const active = data?.find((c) => c.state === 'active');
  return (
    <>
      {active ? (
        <LinkButton type="primary" to={`/contracts/${active.id}`}>
          {t('resource.openContract')}
        </LinkButton>
      ) : null}
      <LinkButton type={active ? 'default' : 'primary'} to={`/catalog/${resource.id}/apply`}>
        {t(active ? 'resource.applyAgain' : 'resource.apply')}
      </LinkButton>
    </>
  );
}

function ResourceView({
  resource,
  me,
  steward,
  error,
  reload,
  header,
}: {
  resource: Resource;
  me: Me;
  steward: boolean;
  /** A failed reload: the page stays, with the error above it. */
  error: unknown;
  reload(): void;
  header: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <>
      <PageTitle
        title={resource.name}
        help="resource"
        sub={
          <Space wrap size={[8, 0]}>
            <span>{resource.code}</span>
            <span>{resource.provider.name}</span>
            <GradeTag grade={resource.grade} />
            <StateTag state={resource.state} />
          </Space>
        }
        extra={
          <>
            {header}
            <PublicationActions resource={resource} onChanged={reload} />
            {steward || hasRole(me, 'security_officer', 'platform_admin') ? (
              <LinkButton to={`/catalog/${resource.id}/classification`}>
                {t('resource.classification')}
              </LinkButton>
            ) : null}
            {steward ? (
              <LinkButton to={`/import?resource=${resource.id}`}>{t('resource.importVersion')}</LinkButton>
            ) : null}
            {steward ? <ResourceEdit resource={resource} onSaved={reload} /> : null}
          </>
        }
      />
      <ErrorAlert error={error} onRetry={reload} />
      <PublicationNotice resource={resource} />
      <Card>
        <Tabs
          items={[
            {
              key: 'metadata',
              label: t('resource.tabs.metadata'),
              children: <Metadata resource={resource} />,
            },
            { key: 'fields', label: t('resource.tabs.fields'), children: <Fields resource={resource} /> },
            {
              key: 'versions',
              label: t('resource.tabs.versions'),
              children: <Versions resource={resource} steward={steward} onChange={reload} />,
            },
            { key: 'sample', label: t('resource.tabs.sample'), children: <Sample resource={resource} /> },
            { key: 'history', label: t('resource.tabs.history'), children: <History resource={resource} /> },
          ]}
        />
      </Card>
    </>
  );
}

function Metadata({ resource: r }: { resource: Resource }) {
  const { t } = useTranslation();
  return (
    <Descriptions bordered size="small" column={{ xs: 1, md: 2 }}>
      <Descriptions.Item label={t('resource.code')}>
        <Mono>{r.code}</Mono>
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.provider')}>{r.provider.name}</Descriptions.Item>
      <Descriptions.Item label={t('resource.category')}>
        {t(`category.${r.category}`, { defaultValue: r.category })}
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.theme')}>{bilingual(r.themeLabel)}</Descriptions.Item>
      <Descriptions.Item label={t('resource.grade')}>
        <GradeTag grade={r.grade} />
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.format')}>
        {r.format ? t(`resourceFormat.${r.format}`, { defaultValue: r.format }) : '—'}
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.updateCycle')}>
        {t(`cycle.${r.updateCycle}`, { defaultValue: r.updateCycle })}
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.publishedOn')}>{r.publishedOn ?? '—'}</Descriptions.Item>
      <Descriptions.Item label={t('resource.sharingType')}>
        <Tag color="cyan">{t(`sharing.${r.sharingType}`)}</Tag> {r.sharingConditions}
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.openType')}>
        <Tag color="geekblue">{t(`open.${r.openType}`)}</Tag> {r.openConditions}
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.keywords')} span={2}>
        {r.keywords.length ? r.keywords.map((k) => <Tag key={k}>{k}</Tag>) : '—'}
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.summary')} span={2}>
        {r.summary || '—'}
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.related')} span={2}>
        {r.relatedCodes.length ? r.relatedCodes.join(', ') : '—'}
      </Descriptions.Item>
      <Descriptions.Item label={t('resource.revision')}>{r.revision}</Descriptions.Item>
      <Descriptions.Item label={t('resource.updatedAt')}>{fmtDateTime(r.updatedAt)}</Descriptions.Item>
    </Descriptions>
  );
}

function Fields({ resource }: { resource: Resource }) {
  const { t } = useTranslation();
  return (
    <ListTable
      toolbar={{ id: 'resource-fields' }}
      empty={t('common.none')}
      size="small"
      rowKey="name"
      pagination={resource.fields.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
      dataSource={resource.fields}
      columns={[
        { title: t('field.label'), dataIndex: 'label' },
        { title: t('field.name'), dataIndex: 'name', render: (v: string) => <Mono>{v}</Mono> },
        { title: t('field.type'), dataIndex: 'dataType', render: (v: string) => t(`dataType.${v}`) },
        {
          title: t('field.grade'),
          dataIndex: 'grade',
          render: (g: string) => <GradeTag grade={g} />,
          exportValue: (f) => t(`grade.${f.grade}`, { defaultValue: f.grade }),
        },
        {
          title: t('field.detector'),
          dataIndex: 'detector',
          render: (d: string | null) => (d ? t(`detector.${d}`, { defaultValue: d }) : '—'),
        },
        { title: t('field.key'), dataIndex: 'isKey', render: (k: boolean) => (k ? t('common.yes') : '') },
        { title: t('field.description'), dataIndex: 'description' },
      ]}
    />
  );
}

function Versions({
  resource,
  steward,
  onChange,
}: {
  resource: Resource;
  steward: boolean;
  onChange(): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const load = useCallback(
    (signal: AbortSignal) =>
      api.get<Version[]>(`/v1/resources/${encodeURIComponent(resource.id)}/versions`, undefined, signal),
    [resource.id],
  );
  const { data, error, loading, reload } = useLoader(load);
  const activation = useAction<number>();

  const activate = (v: Version) =>
    activation.run(async () => {
      await api.post(`/v1/resources/${encodeURIComponent(resource.id)}/versions/${v.number}/activate`);
      message.success(t('resource.activated', { number: v.number }));
      reload();
      onChange();
    }, v.number);

  return (
    <>
      <ErrorAlert error={error} onRetry={reload} />
      <ListTable<Version>
        toolbar={{ id: 'resource-versions', onRefresh: reload, refreshing: loading }}
        empty={t('common.none')}
        size="small"
        loading={loading}
        dataSource={data ?? []}
        pagination={(data?.length ?? 0) > 10 ? { pageSize: 10, showSizeChanger: false } : false}
        expandable={{
          expandedRowRender: (v) => <ColumnStatsTable version={v} resource={resource} />,
          rowExpandable: (v) => !!v.columnStats,
        }}
        columns={[
          {
            title: t('version.number'),
            dataIndex: 'number',
            render: (n: number, v) => (
              <Space>
                {n}
                {v.current ? <Tag color="green">{t('version.current')}</Tag> : null}
              </Space>
            ),
            exportValue: (v) => `${v.number}${v.current ? ` ${t('version.current')}` : ''}`,
          },
          {
            title: t('version.state'),
            dataIndex: 'state',
            render: (s: string) => <StateTag state={s} />,
            exportValue: (v) => t(`state.${v.state}`, { defaultValue: v.state }),
          },
          { title: t('version.rows'), dataIndex: 'rowCount', render: fmtNumber },
          { title: t('version.badRows'), dataIndex: 'badRowCount', render: fmtNumber },
          {
            title: t('version.duplicateKeys'),
            dataIndex: 'duplicateKeys',
            render: (n: number | null) => fmtNumber(n),
          },
          { title: t('version.source'), dataIndex: 'sourceName' },
          { title: t('version.size'), dataIndex: 'sourceSize', render: fmtBytes },
          {
            title: t('version.format'),
            render: (_: unknown, v) => `${v.sourceFormat}${v.encoding ? ` · ${v.encoding}` : ''}`,
          },
          { title: t('version.completedAt'), dataIndex: 'completedAt', render: fmtDateTime },
          {
            title: t('version.sm3'),
            dataIndex: 'sourceSm3',
            render: (h: string) => (
              <Typography.Text code copyable={{ text: h }} title={h}>
                {h.slice(0, 12)}…
              </Typography.Text>
            ),
          },
          ...(steward
            ? [
                {
                  title: t('common.actions'),
                  render: (_: unknown, v: Version) =>
                    !v.current && v.state === 'ready' ? (
                      <Button
                        size="small"
                        loading={activation.running === v.number}
                        onClick={() => void activate(v)}
                      >
                        {t('version.activate')}
                      </Button>
                    ) : null,
                },
              ]
            : []),
        ]}
      />
    </>
  );
}

function ColumnStatsTable({ version, resource }: { version: Version; resource: Resource }) {
  const { t } = useTranslation();
  const rows = Object.entries(version.columnStats ?? {}).map(([name, s]) => ({
    name,
    label: resource.fields.find((f) => f.name === name)?.label ?? name,
    ...s,
  }));
  return (
    <Table
      size="small"
      rowKey="name"
      pagination={false}
      dataSource={rows}
      scroll={{ x: 'max-content' }}
      aria-label={t('version.stats')}
      columns={[
        { title: t('field.label'), dataIndex: 'label' },
        { title: t('stats.count'), dataIndex: 'count', render: fmtNumber },
        { title: t('stats.nulls'), dataIndex: 'nulls', render: fmtNumber },
        { title: t('stats.nullRate'), dataIndex: 'nullRate', render: (v: number) => fmtPercent(v, 1) },
        { title: t('stats.distinct'), dataIndex: 'distinctEstimate', render: fmtNumber },
        { title: t('stats.min'), dataIndex: 'min', render: (v: unknown) => (v === null ? '—' : String(v)) },
        { title: t('stats.max'), dataIndex: 'max', render: (v: unknown) => (v === null ? '—' : String(v)) },
      ]}
    />
  );
}

/** The viewer's organization's contracts for the resource (as consumer), newest first. */
function useMyContracts(resource: Resource) {
  const me = useMe();
  const load = useCallback(
    async (signal: AbortSignal) => {
      const { items } = await collectAll((cursor) =>
        api.get<Page<Contract>>('/v1/contracts', { resource: resource.id, limit: 200, cursor }, signal),
      );
      return items.filter((c) => c.consumerOrgId === me.organization.id);
    },
    [resource.id, me.organization.id],
  );
  return useLoader(load);
}

/** Rows exactly as the viewer's own contract serves them through the gateway, or none. */
function Sample({ resource }: { resource: Resource }) {
  const { t } = useTranslation();
  const me = useMe();
  const contracts = useMyContracts(resource);
  const [chosen, setChosen] = useState<string | undefined>();
  const [rows, setRows] = useState<GatewayRows | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const list = contracts.data ?? [];
  const contractId = chosen ?? list.find((c) => c.state === 'active')?.id ?? list[0]?.id;

  const fetchSample = async () => {
    if (!contractId) return;
    setBusy(true);
    setError(null);
    try {
      setRows(
        await api.get<GatewayRows>(`/v1/gateway/contracts/${encodeURIComponent(contractId)}/rows`, {
          limit: 10,
          format: 'page',
        }),
      );
    } catch (e) {
      setRows(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (contracts.loading && !contracts.data) return <Skeleton active />;
  if (contracts.error) return <ErrorAlert error={contracts.error} onRetry={contracts.reload} />;
  if (list.length === 0) {
    return (
      <Empty
        description={
          <Space direction="vertical">
            <Typography.Text strong>{t('sample.noContract')}</Typography.Text>
            <Typography.Text type="secondary">{t('sample.noContractBody')}</Typography.Text>
          </Space>
        }
      >
        {canApply(me, resource) ? (
          <LinkButton type="primary" to={`/catalog/${resource.id}/apply`}>
            {t('resource.apply')}
          </LinkButton>
        ) : null}
      </Empty>
    );
  }
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="middle">
      <Alert type="info" showIcon message={t('sample.explain')} />
      <Space wrap>
        <label htmlFor="sample-contract">{t('sample.contract')}</label>
        <Select
          id="sample-contract"
          style={{ minWidth: 260 }}
          value={contractId}
          onChange={(v) => {
            setChosen(v);
            setRows(null);
          }}
          options={list.map((c) => ({ value: c.id, label: `${c.id} · ${t(`state.${c.state}`)}` }))}
        />
        <Button type="primary" loading={busy} onClick={() => void fetchSample()}>
          {t('sample.show')}
        </Button>
        {contractId ? <Link to={`/contracts/${contractId}`}>{t('sample.viewContract')}</Link> : null}
      </Space>
      <ErrorAlert error={error} />
      {rows ? (
        <Table
          size="small"
          data-testid="sample-table"
          rowKey={(_, i) => String(i)}
          pagination={false}
          scroll={{ x: 'max-content' }}
          dataSource={rows.items}
          columns={rows.fields.map((f) => ({
            key: f.name,
            title: (
              <Space direction="vertical" size={0}>
                <span>{f.label}</span>
                <MaskTag rule={f.mask} />
              </Space>
            ),
            dataIndex: f.name,
            render: (v: unknown) =>
              v === null || v === undefined ? (
                <Typography.Text type="secondary">{t('sample.null')}</Typography.Text>
              ) : (
                String(v)
              ),
          }))}
        />
      ) : null}
    </Space>
  );
}

function History({ resource }: { resource: Resource }) {
  const { t } = useTranslation();
  const load = useCallback(
    (signal: AbortSignal) =>
      api.get<HistoryEntry[]>(`/v1/resources/${encodeURIComponent(resource.id)}/history`, undefined, signal),
    [resource.id],
  );
  const { data, error, loading, reload } = useLoader(load);
  if (loading && !data) return <Skeleton active />;
  return (
    <>
      <ErrorAlert error={error} onRetry={reload} />
      {data && data.length > 0 ? (
        <Timeline
          items={[...data].reverse().map((h) => ({
            key: h.revision,
            children: (
              <Space direction="vertical" style={{ width: '100%' }}>
                <Typography.Text strong>
                  {t('resource.revision')} {h.revision} · {fmtDateTime(h.at)}
                </Typography.Text>
                <JsonBlock value={h.changes} />
              </Space>
            ),
          }))}
        />
      ) : (
        <Empty description={t('common.none')} />
      )}
    </>
  );
}
