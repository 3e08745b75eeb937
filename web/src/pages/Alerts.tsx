import { StopOutlined, SyncOutlined } from '@ant-design/icons';
import {
  Alert as AntAlert,
  App,
  AutoComplete,
  Button,
  Card,
  Col,
  Descriptions,
  Form,
  Input,
  Row,
  Select,
  Space,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { ErrorAlert, JsonBlock, ListTable, Mono, OrgName, Pager, PageTitle } from '../components/common.tsx';
import { FormModal } from '../components/FormModal.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { bilingual, fmtDateTime, fmtNumber } from '../format.ts';
import {
  collectAll,
  useAction,
  useCursorPages,
  useLoader,
  useOrganizations,
  useUsernames,
} from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type {
  ApiKey,
  CatalogSearch,
  Contract,
  MonitorAlert,
  MonitorFreeze,
  MonitorRule,
  Page,
  User,
} from '../types.ts';
import { ReasonModal } from './Applications.tsx';

export const SEVERITY_COLORS: Record<string, string> = { critical: 'red', warning: 'orange', info: 'blue' };
const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;
const SEVERITIES = ['critical', 'warning', 'info'] as const;
const FREEZE_SCOPES = ['gateway', 'contract', 'organization', 'resource', 'user', 'api_key'] as const;
type FreezeScope = (typeof FREEZE_SCOPES)[number];
/** What an emergency stop is asked for: its scope and, but for the whole gateway, its object. */
type FreezePreset = { scope: FreezeScope; target?: string };

export function useRules(): MonitorRule[] {
  const load = useCallback(
    (signal: AbortSignal) => api.get<MonitorRule[]>('/v1/monitor/rules', undefined, signal),
    [],
  );
  return useLoader(load).data ?? [];
}

/**
 * Where an alert's subject lives in the console, when it has a page; a user by name (from
 * `names`, the caller's `useUsernames`), the id on hover.
 */
function SubjectLink({ type, id, names }: { type: string; id: string; names?: Map<string, string> }) {
  const { t } = useTranslation();
  const kind = t(`alerts.subjectType.${type}`, { defaultValue: type });
  const label = `${kind} ${id}`;
  if (type === 'contract') return <Link to={`/contracts/${id}`}>{label}</Link>;
  if (type === 'resource') return <Link to={`/catalog/${id}`}>{label}</Link>;
  if (type === 'organization') return <OrgName id={id} />;
  const name = type === 'user' ? names?.get(id) : undefined;
  if (name) return <span title={id}>{`${kind} ${name}`}</span>;
  return <span>{label}</span>;
}

/** An alert's summary with the user ids it names shown as the people's names. */
function withNames(text: string, names: Map<string, string>): string {
  let out = text;
  for (const [id, name] of names) out = out.replaceAll(id, name);
  return out;
}

/** The subjects an emergency stop can take straight from an alert. */
const FREEZABLE_SUBJECTS: ReadonlySet<string> = new Set(FREEZE_SCOPES.filter((s) => s !== 'gateway'));

export function Alerts() {
  const { t } = useTranslation();
  const me = useMe();
  const actor = hasRole(me, 'security_officer', 'platform_admin');
  return (
    <>
      <PageTitle
        title={t('nav.alerts')}
        sub={actor ? t('alerts.sub') : t('alerts.subReadOnly')}
        help="alerts"
      />
      <Card>
        <Tabs
          items={[
            { key: 'alerts', label: t('alerts.tabs.alerts'), children: <AlertList actor={actor} /> },
            { key: 'freezes', label: t('alerts.tabs.freezes'), children: <Freezes actor={actor} /> },
            { key: 'rules', label: t('alerts.tabs.rules'), children: <Rules /> },
          ]}
        />
      </Card>
    </>
  );
}

function AlertList({ actor }: { actor: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const rules = useRules();
  const [state, setState] = useState<string | undefined>('open');
  const [severity, setSeverity] = useState<string | undefined>();
  const [rule, setRule] = useState<string | undefined>();
  const evaluation = useAction();
  const [acting, setActing] = useState<{ alert: MonitorAlert; action: 'acknowledge' | 'resolve' } | null>(
    null,
  );
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<MonitorAlert>>('/v1/monitor/alerts', { state, severity, rule, limit: 20, cursor }, signal),
    [state, severity, rule],
  );
  const pages = useCursorPages(fetchPage);
  const ruleTitle = useMemo(() => new Map(rules.map((r) => [r.id, r.title])), [rules]);
  const names = useUsernames(pages.items.filter((a) => a.subject.type === 'user').map((a) => a.subject.id));
  const [freezing, setFreezing] = useState<FreezePreset | null>(null);

  const evaluate = () =>
    evaluation.run(async () => {
      const result = await api.post<{ events: number; opened: unknown[]; updated: number }>(
        '/v1/monitor/evaluate',
      );
      message.success(
        t('alerts.evaluated', {
          events: fmtNumber(result.events),
          opened: fmtNumber(result.opened.length),
          updated: fmtNumber(result.updated),
        }),
      );
      pages.reload();
    });

  return (
    <>
      <Row gutter={12} align="bottom">
        <Col xs={12} md={6}>
          <Form.Item label={t('alerts.state')} htmlFor="alert-state" layout="vertical">
            <Select
              id="alert-state"
              allowClear
              placeholder={t('common.all')}
              value={state}
              onChange={setState}
              options={ALERT_STATES.map((s) => ({ value: s, label: t(`alerts.states.${s}`) }))}
            />
          </Form.Item>
        </Col>
        <Col xs={12} md={6}>
          <Form.Item label={t('alerts.severity')} htmlFor="alert-severity" layout="vertical">
            <Select
              id="alert-severity"
              allowClear
              placeholder={t('common.all')}
              value={severity}
              onChange={setSeverity}
              options={SEVERITIES.map((s) => ({ value: s, label: t(`alerts.severities.${s}`) }))}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={8}>
          <Form.Item label={t('alerts.rule')} htmlFor="alert-rule" layout="vertical">
            <Select
              id="alert-rule"
              allowClear
              placeholder={t('common.all')}
              value={rule}
              onChange={setRule}
              options={rules.map((r) => ({ value: r.id, label: bilingual(r.title) }))}
            />
          </Form.Item>
        </Col>
        {actor ? (
          <Col xs={24} md={4}>
            <Form.Item>
              <Button icon={<SyncOutlined />} loading={evaluation.busy} onClick={() => void evaluate()}>
                {t('alerts.evaluate')}
              </Button>
            </Form.Item>
          </Col>
        ) : null}
      </Row>
      <ErrorAlert error={pages.error} onRetry={pages.reload} />
      <ListTable<MonitorAlert>
        toolbar={cursorToolbar('alerts', pages)}
        empty={t('alerts.none')}
        loading={pages.loading}
        dataSource={pages.items}
        expandable={{ expandedRowRender: (a) => <JsonBlock value={a.details} /> }}
        columns={[
          {
            title: t('alerts.severity'),
            dataIndex: 'severity',
            render: (s: string) => (
              <Tag color={SEVERITY_COLORS[s]}>{t(`alerts.severities.${s}`, { defaultValue: s })}</Tag>
            ),
            exportValue: (a) => t(`alerts.severities.${a.severity}`, { defaultValue: a.severity }),
          },
          {
            title: t('alerts.what'),
            render: (_: unknown, a) => (
              <Space direction="vertical" size={0} style={{ maxWidth: 420 }}>
                <Typography.Text strong>{bilingual(ruleTitle.get(a.rule)) || a.rule}</Typography.Text>
                <Typography.Text>{withNames(bilingual(a.summary), names)}</Typography.Text>
              </Space>
            ),
            exportValue: (a) =>
              `${bilingual(ruleTitle.get(a.rule)) || a.rule}: ${withNames(bilingual(a.summary), names)}`,
          },
          {
            title: t('alerts.subject'),
            render: (_: unknown, a) => <SubjectLink type={a.subject.type} id={a.subject.id} names={names} />,
            exportValue: (a) => names.get(a.subject.id) ?? a.subject.id,
          },
          { title: t('alerts.occurrences'), dataIndex: 'occurrences', render: fmtNumber },
          { title: t('alerts.lastSeen'), dataIndex: 'lastSeenAt', render: fmtDateTime },
          {
            title: t('alerts.state'),
            render: (_: unknown, a) => (
              <Space direction="vertical" size={0}>
                <Tag color={a.state === 'open' ? 'red' : a.state === 'acknowledged' ? 'gold' : 'green'}>
                  {t(`alerts.states.${a.state}`, { defaultValue: a.state })}
                </Tag>
                {a.resolved?.note || a.acknowledged?.note ? (
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {a.resolved?.note ?? a.acknowledged?.note}
                  </Typography.Text>
                ) : null}
              </Space>
            ),
            exportValue: (a) => t(`alerts.states.${a.state}`, { defaultValue: a.state }),
          },
          ...(actor
            ? [
                {
                  title: t('common.actions'),
                  render: (_: unknown, a: MonitorAlert) => (
                    <Space>
                      {a.state === 'open' ? (
                        <Button size="small" onClick={() => setActing({ alert: a, action: 'acknowledge' })}>
                          {t('alerts.acknowledge')}
                        </Button>
                      ) : null}
                      {a.state !== 'resolved' ? (
                        <Button
                          size="small"
                          type="primary"
                          onClick={() => setActing({ alert: a, action: 'resolve' })}
                        >
                          {t('alerts.resolve')}
                        </Button>
                      ) : null}
                      {a.state !== 'resolved' && FREEZABLE_SUBJECTS.has(a.subject.type) ? (
                        <Button
                          size="small"
                          danger
                          icon={<StopOutlined />}
                          onClick={() =>
                            setFreezing({ scope: a.subject.type as FreezeScope, target: a.subject.id })
                          }
                        >
                          {t(`alerts.freezeSubject.${a.subject.type}`)}
                        </Button>
                      ) : null}
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Pager {...pages} />
      <NoteModal
        target={acting}
        onClose={() => setActing(null)}
        onDone={() => {
          setActing(null);
          pages.reload();
        }}
      />
      <FreezeModal preset={freezing} onClose={() => setFreezing(null)} onDone={() => setFreezing(null)} />
    </>
  );
}

function NoteModal({
  target,
  onClose,
  onDone,
}: {
  target: { alert: MonitorAlert; action: 'acknowledge' | 'resolve' } | null;
  onClose(): void;
  onDone(): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ note?: string }>();
  const action = useAction();
  const resolve = target?.action === 'resolve';
  return (
    <FormModal
      open={!!target}
      title={resolve ? t('alerts.resolveTitle') : t('alerts.acknowledgeTitle')}
      okText={resolve ? t('alerts.resolve') : t('alerts.acknowledge')}
      busy={action.busy}
      onCancel={onClose}
      form={form}
      onFinish={({ note }) =>
        action.run(async () => {
          if (!target) return;
          const body = note?.trim() ? { note: note.trim() } : {};
          await api.post(`/v1/monitor/alerts/${encodeURIComponent(target.alert.id)}/${target.action}`, body);
          message.success(resolve ? t('alerts.resolved') : t('alerts.acknowledged'));
          onDone();
        })
      }
    >
      {target ? <Typography.Paragraph>{bilingual(target.alert.summary)}</Typography.Paragraph> : null}
      <Form.Item
        name="note"
        label={resolve ? t('alerts.resolution') : t('alerts.note')}
        rules={
          resolve
            ? [{ required: true, min: 2, whitespace: true, message: t('alerts.resolutionRequired') }]
            : []
        }
      >
        <Input.TextArea rows={3} maxLength={2000} autoFocus />
      </Form.Item>
    </FormModal>
  );
}

function Freezes({ actor }: { actor: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [state, setState] = useState<'active' | 'lifted' | 'all'>('active');
  const [creating, setCreating] = useState(false);
  const [lifting, setLifting] = useState<MonitorFreeze | null>(null);
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<MonitorFreeze>>('/v1/monitor/freezes', { state, limit: 20, cursor }, signal),
    [state],
  );
  const pages = useCursorPages(fetchPage);
  const names = useUsernames(pages.items.filter((f) => f.scope === 'user').map((f) => f.target));

  return (
    <>
      <Space style={{ marginBottom: 12 }} wrap>
        <label htmlFor="freeze-state">{t('alerts.freezeState')}</label>
        <Select
          id="freeze-state"
          style={{ minWidth: 140 }}
          value={state}
          onChange={setState}
          options={(['active', 'lifted', 'all'] as const).map((s) => ({
            value: s,
            label: t(`alerts.freezeStates.${s}`),
          }))}
        />
        {actor ? (
          <Button danger type="primary" icon={<StopOutlined />} onClick={() => setCreating(true)}>
            {t('alerts.emergencyStop')}
          </Button>
        ) : null}
      </Space>
      <AntAlert type="info" showIcon style={{ marginBottom: 12 }} message={t('alerts.freezeExplain')} />
      <ErrorAlert error={pages.error} onRetry={pages.reload} />
      <ListTable<MonitorFreeze>
        toolbar={cursorToolbar('freezes', pages)}
        loading={pages.loading}
        dataSource={pages.items}
        empty={t('alerts.noFreezes')}
        columns={[
          {
            title: t('alerts.scope'),
            dataIndex: 'scope',
            render: (s: string) => <Tag color="red">{t(`alerts.scopes.${s}`, { defaultValue: s })}</Tag>,
            exportValue: (f) => t(`alerts.scopes.${f.scope}`, { defaultValue: f.scope }),
          },
          {
            title: t('alerts.target'),
            render: (_: unknown, f) =>
              f.target ? <SubjectLink type={f.scope} id={f.target} names={names} /> : t('alerts.everything'),
          },
          { title: t('applications.reason'), dataIndex: 'reason' },
          { title: t('alerts.since'), dataIndex: 'createdAt', render: fmtDateTime },
          {
            title: t('alerts.state'),
            exportValue: (f) => t(`alerts.freezeStates.${f.active ? 'active' : 'lifted'}`),
            render: (_: unknown, f) =>
              f.active ? (
                <Tag color="red">{t('alerts.freezeStates.active')}</Tag>
              ) : (
                <Space direction="vertical" size={0}>
                  <Tag>{t('alerts.freezeStates.lifted')}</Tag>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {fmtDateTime(f.lifted?.at)} {f.lifted?.reason ?? ''}
                  </Typography.Text>
                </Space>
              ),
          },
          ...(actor
            ? [
                {
                  title: t('common.actions'),
                  render: (_: unknown, f: MonitorFreeze) =>
                    f.active ? (
                      <Button size="small" onClick={() => setLifting(f)}>
                        {t('alerts.lift')}
                      </Button>
                    ) : null,
                },
              ]
            : []),
        ]}
      />
      <Pager {...pages} />
      <FreezeModal
        preset={creating ? { scope: 'contract' } : null}
        onClose={() => setCreating(false)}
        onDone={() => {
          setCreating(false);
          pages.reload();
        }}
      />
      <ReasonModal
        open={lifting !== null}
        title={t('alerts.liftTitle')}
        okText={t('alerts.lift')}
        onClose={() => setLifting(null)}
        onSubmit={async (reason) => {
          if (!lifting) return;
          await api.post(`/v1/monitor/freezes/${encodeURIComponent(lifting.id)}/lift`, { reason });
          message.success(t('alerts.lifted'));
          setLifting(null);
          pages.reload();
        }}
      />
    </>
  );
}

/**
 * The emergency stop's dialog: from the 应急停止 tab (any scope) or from an alert (its subject
 * filled in). Freezing the whole gateway asks once more.
 */
function FreezeModal({
  preset,
  onClose,
  onDone,
}: {
  preset: FreezePreset | null;
  onClose(): void;
  onDone(): void;
}) {
  const { t } = useTranslation();
  const { message, modal } = App.useApp();
  const [form] = Form.useForm<{ scope: FreezeScope; target?: string; reason: string }>();
  const scope = Form.useWatch('scope', form) ?? preset?.scope ?? 'contract';
  const action = useAction();
  const freeze = async (v: { scope: FreezeScope; target?: string; reason: string }) => {
    const send = () =>
      action.run(async () => {
        await api.post('/v1/monitor/freezes', {
          scope: v.scope,
          ...(v.scope !== 'gateway' && v.target?.trim() ? { target: v.target.trim() } : {}),
          reason: v.reason.trim(),
        });
        message.success(
          t(v.scope === 'user' || v.scope === 'api_key' ? 'alerts.frozenCredential' : 'alerts.frozen'),
        );
        onDone();
      });
    if (v.scope === 'gateway') {
      modal.confirm({
        title: t('alerts.gatewayConfirmTitle'),
        content: t('alerts.gatewayConfirm'),
        okText: t('alerts.stop'),
        okButtonProps: { danger: true },
        cancelText: t('common.cancel'),
        onOk: send,
      });
    } else {
      await send();
    }
  };
  return (
    <FormModal
      open={preset !== null}
      title={t('alerts.emergencyStop')}
      okText={t('alerts.stop')}
      danger
      busy={action.busy}
      onCancel={onClose}
      form={form}
      initialValues={preset ?? { scope: 'contract' }}
      onFinish={freeze}
    >
      <Form.Item name="scope" label={t('alerts.scope')} extra={t(`alerts.scopeHelp.${scope}`)}>
        <Select options={FREEZE_SCOPES.map((s) => ({ value: s, label: t(`alerts.scopes.${s}`) }))} />
      </Form.Item>
      {scope !== 'gateway' ? (
        <Form.Item
          name="target"
          label={t('alerts.target')}
          extra={t('alerts.targetHint')}
          rules={[{ required: true, whitespace: true, message: t('alerts.targetRequired') }]}
        >
          <FreezeTarget scope={scope} />
        </Form.Item>
      ) : (
        <AntAlert type="error" showIcon style={{ marginBottom: 16 }} message={t('alerts.gatewayConfirm')} />
      )}
      <Form.Item
        name="reason"
        label={t('applications.reason')}
        rules={[{ required: true, min: 2, whitespace: true, message: t('applications.reasonRequired') }]}
      >
        <Input.TextArea rows={3} maxLength={2000} />
      </Form.Item>
    </FormModal>
  );
}

function Rules() {
  const { t } = useTranslation();
  const load = useCallback(
    (signal: AbortSignal) => api.get<MonitorRule[]>('/v1/monitor/rules', undefined, signal),
    [],
  );
  const { data, error, loading, reload } = useLoader(load);
  return (
    <>
      <ErrorAlert error={error} onRetry={reload} />
      <ListTable<MonitorRule>
        toolbar={{ id: 'monitor-rules', onRefresh: reload, refreshing: loading }}
        loading={loading}
        dataSource={data ?? []}
        empty={t('common.none')}
        columns={[
          { title: t('alerts.rule'), render: (_: unknown, r) => bilingual(r.title) },
          { title: 'ID', dataIndex: 'id', render: (id: string) => <Mono>{id}</Mono> },
          {
            title: t('alerts.kind'),
            dataIndex: 'standing',
            render: (s: boolean) => (s ? t('alerts.standing') : t('alerts.windowed')),
          },
          {
            title: t('alerts.thresholds'),
            dataIndex: 'thresholds',
            exportValue: (r) =>
              Object.entries(r.thresholds)
                .map(([k, v]) => `${k}=${String(v)}`)
                .join('; '),
            render: (th: Record<string, unknown>) => (
              <Descriptions size="small" column={1}>
                {Object.entries(th).map(([k, v]) => (
                  <Descriptions.Item key={k} label={k}>
                    {String(v)}
                  </Descriptions.Item>
                ))}
              </Descriptions>
            ),
          },
        ]}
      />
    </>
  );
}

/**
 * The object to stop, picked by name instead of typed: organizations by name or credit code,
 * resources from a catalog search, contracts in force by id or the consumer's name, users by name
 * or username, API keys by name, id or owner. What is filled in is what the API takes (an id, or a
 * resource's code); an id typed by hand still works.
 */
function FreezeTarget({
  scope,
  value,
  onChange,
  id,
}: {
  scope: FreezeScope;
  value?: string;
  onChange?: (value: string) => void;
  id?: string;
}) {
  const { t } = useTranslation();
  const orgs = useOrganizations();
  const [text, setText] = useState('');
  const [resources, setResources] = useState<CatalogSearch['items']>([]);
  const [contracts, setContracts] = useState<Contract[]>([]);
  const [people, setPeople] = useState<User[]>([]);
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const owners = useUsernames(keys.map((k) => k.userId));
  useEffect(() => {
    if (scope !== 'contract') return;
    const abort = new AbortController();
    collectAll((cursor) =>
      api.get<Page<Contract>>('/v1/contracts', { state: 'active', limit: 200, cursor }, abort.signal),
    ).then(
      ({ items }) => setContracts(items),
      () => {},
    );
    return () => abort.abort();
  }, [scope]);
  useEffect(() => {
    if (scope !== 'resource' || !text.trim()) return;
    const abort = new AbortController();
    api.get<CatalogSearch>('/v1/catalog/search', { q: text.trim(), limit: 10 }, abort.signal).then(
      (page) => setResources(page.items),
      () => {},
    );
    return () => abort.abort();
  }, [scope, text]);
  useEffect(() => {
    if (scope !== 'user') return;
    const abort = new AbortController();
    api.get<Page<User>>('/v1/users', { q: text.trim() || undefined, limit: 20 }, abort.signal).then(
      (page) => setPeople(page.items),
      () => {},
    );
    return () => abort.abort();
  }, [scope, text]);
  useEffect(() => {
    if (scope !== 'api_key') return;
    const abort = new AbortController();
    collectAll((cursor) => api.get<Page<ApiKey>>('/v1/api-keys', { limit: 200, cursor }, abort.signal)).then(
      ({ items }) => setKeys(items.filter((k) => k.status === 'active')),
      () => {},
    );
    return () => abort.abort();
  }, [scope]);
  const needle = text.trim().toLowerCase();
  const hit = (...texts: string[]) => !needle || texts.some((x) => x.toLowerCase().includes(needle));
  const options =
    scope === 'organization'
      ? [...orgs.values()]
          .filter((o) => hit(o.name, o.uscc, o.id))
          .slice(0, 20)
          .map((o) => ({ value: o.id, label: `${o.name} · ${o.uscc}` }))
      : scope === 'resource'
        ? resources.map((r) => ({ value: r.code, label: `${r.name} · ${r.code}` }))
        : scope === 'contract'
          ? contracts
              .filter((c) => hit(c.id, orgs.get(c.consumerOrgId)?.name ?? ''))
              .slice(0, 20)
              .map((c) => ({
                value: c.id,
                label: `${c.id} · ${t('contracts.consumer')} ${orgs.get(c.consumerOrgId)?.name ?? c.consumerOrgId}`,
              }))
          : scope === 'user'
            ? people.map((u) => ({
                value: u.id,
                label: `${u.displayName}（${u.username}）· ${orgs.get(u.orgId)?.name ?? u.orgId}`,
              }))
            : scope === 'api_key'
              ? keys
                  .filter((k) => hit(k.name, k.id, owners.get(k.userId) ?? ''))
                  .slice(0, 20)
                  .map((k) => ({
                    value: k.id,
                    label: `${k.name} · ${k.id} · ${owners.get(k.userId) ?? k.userId}`,
                  }))
              : [];
  return (
    <AutoComplete
      id={id}
      value={value}
      onChange={onChange}
      onSearch={setText}
      options={options}
      maxLength={64}
      placeholder={t('alerts.targetPlaceholder')}
    />
  );
}
