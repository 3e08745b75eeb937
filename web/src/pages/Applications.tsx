import {
  Alert,
  App,
  Button,
  Card,
  Checkbox,
  Col,
  Descriptions,
  Drawer,
  Flex,
  Form,
  Grid,
  Input,
  InputNumber,
  Popconfirm,
  Row,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import type { TFunction } from 'i18next';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import {
  ErrorAlert,
  GradeTag,
  ListTable,
  MaskTag,
  maskText,
  NotLoaded,
  OrgName,
  Pager,
  PageTitle,
  StateFilter,
  StateTag,
} from '../components/common.tsx';
import { DpApprovalNotice } from '../components/DpPanel.tsx';
import { completeFilter, describeFilter, FilterBuilder } from '../components/FilterBuilder.tsx';
import { FormModal } from '../components/FormModal.tsx';
import { LetterLink, LetterPanel } from '../components/RequestLetter.tsx';
import { cursorToolbar, type ListColumn } from '../components/TableToolbar.tsx';
import { endOfShanghaiDay, fmtDateTime, fmtNumber } from '../format.ts';
import {
  resourceById,
  useAction,
  useCursorPages,
  useLoader,
  useOrganizations,
  useResources,
  useUsernames,
} from '../hooks.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { Application, Filter, Me, Operation, Page, Resource } from '../types.ts';
import { APPLICATION_STATES } from '../types.ts';

export const MASK_RULES = [
  'none',
  'null',
  'pseudonym',
  'keep_first_last(6,4)',
  'keep_first_last(3,4)',
  'keep_first_last(1,1)',
  'mobile',
  'landline',
  'name_surname',
  'bank_last4',
  'year_only',
  'district_only',
  'email',
  'plate',
  'ip_prefix',
  'round_coord',
];

type TabKey = 'inbox' | 'mine' | 'all';

function isReviewer(me: Me) {
  return hasRole(me, 'data_steward', 'security_officer');
}

/** May this user decide this application now (the server decides again)? */
export function canDecide(me: Me, app: Application, resource: Resource | undefined): boolean {
  if (app.state === 'security_review') return hasRole(me, 'security_officer');
  if (app.state === 'submitted') {
    return (
      (hasRole(me, 'data_steward') && resource?.provider.id === me.organization.id) ||
      hasRole(me, 'security_officer')
    );
  }
  return false;
}

/** Is this application waiting for this user's approval — their step of the lifecycle now? */
/** The decision's due time in Beijing time, marked when overdue (lists of applications). */
export function dueColumn(t: TFunction): ListColumn<Application> {
  const text = (a: Application) =>
    a.dueAt ? `${fmtDateTime(a.dueAt)}${a.overdue ? ` · ${t('applications.overdue')}` : ''}` : '—';
  return {
    title: t('applications.due'),
    render: (_: unknown, a: Application) =>
      a.dueAt ? <Typography.Text type={a.overdue ? 'danger' : undefined}>{text(a)}</Typography.Text> : '—',
    exportValue: text,
  };
}

export function canApprove(me: Me, app: Application, resource: Resource | undefined): boolean {
  if (app.state === 'security_review') return hasRole(me, 'security_officer');
  return (
    app.state === 'submitted' && hasRole(me, 'data_steward') && resource?.provider.id === me.organization.id
  );
}

export function Applications() {
  const { t } = useTranslation();
  const me = useMe();
  const { search } = useLocation();
  const openId = search.get('id');
  const reviewer = isReviewer(me);
  const consumer = hasRole(me, 'consumer');
  const [tab, setTab] = useState<TabKey>(reviewer ? 'inbox' : consumer ? 'mine' : 'all');
  const [state, setState] = useState<string | undefined>();

  const fetchPage = useCallback(
    async (cursor: string | undefined, signal: AbortSignal): Promise<Page<Application>> => {
      const security = hasRole(me, 'security_officer');
      const query =
        tab === 'inbox'
          ? { state: security ? 'security_review' : 'submitted' }
          : tab === 'all'
            ? { state }
            : {};
      const page = await api.get<Page<Application>>(
        '/v1/applications',
        { ...query, limit: 20, cursor },
        signal,
      );
      const mine = (a: Application) => a.consumerOrgId === me.organization.id;
      if (tab === 'mine') return { ...page, items: page.items.filter(mine) };
      if (tab === 'inbox' && !security) return { ...page, items: page.items.filter((a) => !mine(a)) };
      return page;
    },
    [tab, state, me],
  );
  const pages = useCursorPages(fetchPage);
  const resources = useResources(pages.items.map((a) => a.resourceId));
  const orgs = useOrganizations();
  const resourceName = (a: Application) => resources.get(a.resourceId)?.name ?? a.resourceId;

  const tabs = [
    ...(reviewer ? [{ key: 'inbox', label: t('applications.inbox') }] : []),
    ...(consumer ? [{ key: 'mine', label: t('applications.mine') }] : []),
    { key: 'all', label: t('applications.all') },
  ];

  return (
    <>
      <PageTitle
        title={t('nav.applications')}
        sub={reviewer ? t('applications.subReviewer') : t('applications.sub')}
        help="applications"
      />
      <Card>
        <Tabs activeKey={tab} onChange={(k) => setTab(k as TabKey)} items={tabs} />
        {tab === 'all' ? (
          <StateFilter
            id="application-state"
            label={t('applications.state')}
            states={APPLICATION_STATES}
            value={state}
            onChange={setState}
            labelOf={(s) => t(`state.${s}`)}
          />
        ) : null}
        <ErrorAlert error={pages.error} onRetry={pages.reload} />
        <ListTable<Application>
          toolbar={cursorToolbar('applications', pages)}
          empty={tab === 'inbox' ? t('applications.inboxEmpty') : t('common.none')}
          loading={pages.loading}
          dataSource={pages.items}
          columns={[
            {
              title: t('applications.resource'),
              render: (_: unknown, a) => resourceName(a),
              exportValue: resourceName,
            },
            {
              title: t('applications.consumer'),
              render: (_: unknown, a) => <OrgName id={a.consumerOrgId} />,
              exportValue: (a) => orgs.get(a.consumerOrgId)?.name ?? a.consumerOrgId,
            },
            {
              title: t('applications.state'),
              dataIndex: 'state',
              render: (s: string) => <StateTag state={s} />,
              exportValue: (a) => t(`state.${a.state}`),
            },
            {
              title: t('applications.fields'),
              render: (_: unknown, a) => (
                <Space size={4}>
                  {fmtNumber(a.fields.length)}
                  <SecurityTag app={a} />
                </Space>
              ),
              exportValue: (a) => fmtNumber(a.fields.length),
            },
            { title: t('applications.submittedAt'), dataIndex: 'submittedAt', render: fmtDateTime },
            dueColumn(t),
            {
              title: t('common.actions'),
              render: (_: unknown, a) => (
                <Button size="small" onClick={() => navigate(`/applications?id=${a.id}`)}>
                  {t('applications.open')}
                </Button>
              ),
            },
          ]}
        />
        <Pager {...pages} />
      </Card>
      <ApplicationDrawer id={openId} onClose={() => navigate('/applications')} onChanged={pages.reload} />
    </>
  );
}

function ApplicationDrawer({
  id,
  onClose,
  onChanged,
}: {
  id: string | null;
  onClose(): void;
  onChanged(): void;
}) {
  const { t } = useTranslation();
  const screens = Grid.useBreakpoint();
  return (
    <Drawer
      open={!!id}
      onClose={onClose}
      width={screens.md ? 720 : '100%'}
      title={t('applications.detail')}
      destroyOnHidden
    >
      {id ? <ApplicationDetail id={id} onChanged={onChanged} /> : null}
    </Drawer>
  );
}

function ApplicationDetail({ id, onChanged }: { id: string; onChanged(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const load = useCallback(
    async (signal: AbortSignal) => {
      const app = await api.get<Application>(`/v1/applications/${encodeURIComponent(id)}`, undefined, signal);
      const resource = await resourceById(app.resourceId).catch(() => undefined);
      return { app, resource };
    },
    [id],
  );
  const loaded = useLoader(load);
  const { data, reload } = loaded;
  const [approving, setApproving] = useState(false);
  const [rejecting, setRejecting] = useState(false);
  const action = useAction();

  if (!data) return <NotLoaded loaded={loaded} rows={12} />;
  const { app, resource } = data;
  const own = app.consumerOrgId === me.organization.id && hasRole(me, 'consumer');
  const fieldOf = (name: string) => resource?.fields.find((f) => f.name === name);

  const done = () => {
    reload();
    onChanged();
  };
  const simple = (step: 'submit' | 'withdraw') =>
    action.run(async () => {
      await api.post(`/v1/applications/${encodeURIComponent(app.id)}/${step}`);
      message.success(t(`applications.${step}Done`));
      done();
    });

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Flex wrap gap={8}>
        {canApprove(me, app, resource) ? (
          <Button type="primary" onClick={() => setApproving(true)}>
            {t('applications.approve')}
          </Button>
        ) : null}
        {canDecide(me, app, resource) ? (
          <Button danger onClick={() => setRejecting(true)}>
            {t('applications.reject')}
          </Button>
        ) : null}
        {own && app.state === 'draft' ? (
          <Button type="primary" loading={action.busy} onClick={() => void simple('submit')}>
            {t('applications.submit')}
          </Button>
        ) : null}
        {own && (app.state === 'draft' || app.state === 'submitted') ? (
          <Popconfirm
            title={t('applications.withdrawConfirm')}
            okText={t('applications.withdraw')}
            cancelText={t('common.cancel')}
            onConfirm={() => simple('withdraw')}
          >
            <Button loading={action.busy}>{t('applications.withdraw')}</Button>
          </Popconfirm>
        ) : null}
        {app.contractId ? (
          <Link to={`/contracts/${app.contractId}`}>
            {t('applications.toContract', { id: app.contractId })}
          </Link>
        ) : null}
      </Flex>
      <Descriptions bordered size="small" column={1}>
        <Descriptions.Item label={t('applications.id')}>{app.id}</Descriptions.Item>
        <Descriptions.Item label={t('applications.resource')}>
          {resource ? <Link to={`/catalog/${resource.id}`}>{resource.name}</Link> : app.resourceId}
        </Descriptions.Item>
        <Descriptions.Item label={t('applications.consumer')}>
          <OrgName id={app.consumerOrgId} />
        </Descriptions.Item>
        <Descriptions.Item label={t('applications.state')}>
          <Space>
            <StateTag state={app.state} />
            <SecurityTag app={app} />
          </Space>
        </Descriptions.Item>
        {app.reidentification ? (
          <Descriptions.Item label={t('applications.reidRisk')}>
            <Typography.Text
              type={
                app.reidentification.risk * 100 > app.reidentification.thresholdPercent ? 'danger' : undefined
              }
            >
              {t('applications.reidRiskValue', {
                percent: Math.round(app.reidentification.risk * 1000) / 10,
                atRisk: app.reidentification.recordsAtRisk,
                records: app.reidentification.records,
                k: app.reidentification.k,
                fields: app.reidentification.quasiIdentifiers.join(', ') || '—',
                threshold: app.reidentification.thresholdPercent,
              })}
            </Typography.Text>
          </Descriptions.Item>
        ) : null}
        <Descriptions.Item label={t('apply.purposeCategory')}>
          {t(`purpose.${app.purposeCategory}`)}
        </Descriptions.Item>
        <Descriptions.Item label={t('apply.purpose')}>{app.purpose}</Descriptions.Item>
        <Descriptions.Item label={t('apply.legalBasis')}>{app.legalBasis}</Descriptions.Item>
        <Descriptions.Item label={t('apply.scenario')}>{app.scenario}</Descriptions.Item>
        <Descriptions.Item label={t('letter.label')}>
          <LetterPanel app={app} editable={own && app.state === 'draft'} onChanged={done} />
        </Descriptions.Item>
        <Descriptions.Item label={t('apply.operations')}>
          {app.operations.map((o) => t(`operation.${o}`)).join(' · ')}
        </Descriptions.Item>
        <Descriptions.Item label={t('applications.period')}>
          {fmtDateTime(app.requestedFrom)} — {fmtDateTime(app.requestedTo)}
        </Descriptions.Item>
        <Descriptions.Item label={t('applications.submittedAt')}>
          {fmtDateTime(app.submittedAt)}
        </Descriptions.Item>
        <Descriptions.Item label={t('applications.due')}>
          <Typography.Text type={app.overdue ? 'danger' : undefined}>
            {fmtDateTime(app.dueAt)}
            {app.overdue ? ` · ${t('applications.overdue')}` : ''}
          </Typography.Text>
        </Descriptions.Item>
      </Descriptions>
      <div>
        <Typography.Title level={2} style={{ fontSize: 16 }}>
          {t('applications.requestedFields')}
        </Typography.Title>
        <Table
          size="small"
          rowKey="name"
          pagination={false}
          scroll={{ x: 'max-content' }}
          dataSource={app.fields.map((name) => ({ name, field: fieldOf(name) }))}
          columns={[
            { title: t('field.label'), render: (_: unknown, r) => r.field?.label ?? r.name },
            { title: t('field.name'), dataIndex: 'name' },
            {
              title: t('field.grade'),
              render: (_: unknown, r) => (r.field ? <GradeTag grade={r.field.grade} /> : '—'),
            },
            ...(app.granted
              ? [
                  {
                    title: t('applications.granted'),
                    render: (_: unknown, r: { name: string }) =>
                      app.granted?.fields.includes(r.name) ? (
                        <MaskTag rule={app.granted.masking[r.name] ?? 'none'} />
                      ) : (
                        <Tag>{t('applications.notGranted')}</Tag>
                      ),
                  },
                ]
              : []),
          ]}
        />
      </div>
      {app.granted ? (
        <Descriptions bordered size="small" column={1} title={t('applications.terms')}>
          <Descriptions.Item label={t('apply.operations')}>
            {app.granted.operations.map((o) => t(`operation.${o}`)).join(' · ')}
          </Descriptions.Item>
          <Descriptions.Item label={t('contract.valid')}>
            {fmtDateTime(app.granted.validFrom)} — {fmtDateTime(app.granted.validTo)}
          </Descriptions.Item>
          <Descriptions.Item label={t('contract.limits')}>
            {t('contract.limitsText', {
              rate: fmtNumber(app.granted.rateLimitPerMinute),
              quota: fmtNumber(app.granted.quotaRowsPerDay),
              group: app.granted.minGroupSize,
            })}
          </Descriptions.Item>
          <Descriptions.Item label={t('contract.rowFilter')}>
            {app.granted.rowFilter
              ? describeFilter(app.granted.rowFilter as Filter, (n: string) => fieldOf(n)?.label ?? n, t)
              : t('contract.allRows')}
          </Descriptions.Item>
        </Descriptions>
      ) : null}
      <div>
        <Typography.Title level={2} style={{ fontSize: 16 }}>
          {t('applications.decisions')}
        </Typography.Title>
        <ProgressTimeline app={app} />
      </div>
      <ApproveModal
        open={approving}
        app={app}
        resource={resource}
        security={app.state === 'security_review'}
        onClose={() => setApproving(false)}
        onDone={() => {
          setApproving(false);
          done();
        }}
      />
      <ReasonModal
        open={rejecting}
        title={t('applications.rejectTitle')}
        okText={t('applications.reject')}
        danger
        onClose={() => setRejecting(false)}
        onSubmit={async (reason) => {
          await api.post(`/v1/applications/${encodeURIComponent(app.id)}/reject`, { reason });
          message.success(t('applications.rejected'));
          setRejecting(false);
          done();
        }}
      />
    </Space>
  );
}

/** Security review: asked for while it is pending, shown as done once a security officer approved. */
function SecurityTag({ app }: { app: Application }) {
  const { t } = useTranslation();
  if (!app.needsSecurityReview) return null;
  if (app.decisions.some((d) => d.role === 'security_officer' && d.decision === 'approve'))
    return <Tag color="green">{t('applications.securityReviewed')}</Tag>;
  if (app.state !== 'submitted' && app.state !== 'security_review') return null;
  return <Tag color="purple">{t('applications.securityReview')}</Tag>;
}

/**
 * The application's progress as one timeline: created, submitted, every decision with the
 * decider's name, the contract — and, while it is open, whose turn it is.
 */
function ProgressTimeline({ app }: { app: Application }) {
  const { t } = useTranslation();
  const names = useUsernames([app.applicantId, ...app.decisions.map((d) => d.by)]);
  const who = (id: string) => names.get(id) ?? (id === 'system' ? t('applications.system') : id);
  const step = (
    key: string,
    title: string,
    at: string | null,
    by?: string,
    note?: string,
    color?: string,
  ) => ({
    key,
    color: color ?? 'blue',
    children: (
      <Space direction="vertical" size={0}>
        <Typography.Text strong>
          {title}
          {by ? ` · ${by}` : ''}
        </Typography.Text>
        {at ? <Typography.Text type="secondary">{fmtDateTime(at)}</Typography.Text> : null}
        {note ? <Typography.Text>{note}</Typography.Text> : null}
      </Space>
    ),
  });
  const items = [step('created', t('applications.timeline.created'), app.createdAt, who(app.applicantId))];
  if (app.submittedAt) items.push(step('submitted', t('applications.timeline.submitted'), app.submittedAt));
  app.decisions.forEach((d, i) => {
    const role = d.role ? t(`role.${d.role}`, { defaultValue: d.role }) : '';
    items.push(
      step(
        `decision-${i}`,
        `${t(`applications.decision.${d.decision}`)}${role ? ` · ${role}` : ''}`,
        d.at,
        who(d.by),
        d.reason,
        d.decision === 'approve' ? 'green' : 'red',
      ),
    );
  });
  if (app.contractId) items.push(step('contract', t('applications.timeline.contract'), null, app.contractId));
  if (app.state === 'withdrawn')
    items.push(
      step('withdrawn', t('applications.timeline.withdrawn'), app.updatedAt, undefined, undefined, 'gray'),
    );
  const waiting =
    app.state === 'submitted'
      ? t('applications.timeline.waitingProvider')
      : app.state === 'security_review'
        ? t('applications.timeline.waitingSecurity')
        : null;
  return (
    <div data-testid="application-timeline">
      <Timeline pending={waiting ?? undefined} items={items} />
    </div>
  );
}

interface ApproveForm {
  reason?: string;
  fields: string[];
  operations: Operation[];
  masking: Record<string, string | undefined>;
  validTo?: string;
  quotaRowsPerDay?: number | null;
  rateLimitPerMinute?: number | null;
  minGroupSize?: number | null;
  ipAllowlist?: string[];
  rowFilter?: Filter;
  pinVersion?: number | null;
  allowWeakerMasking?: boolean;
}

function ApproveModal({
  open,
  app,
  resource,
  security,
  onClose,
  onDone,
}: {
  open: boolean;
  app: Application;
  resource: Resource | undefined;
  security: boolean;
  onClose(): void;
  onDone(): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<ApproveForm>();
  const action = useAction();
  const base = app.granted;
  const baseFields = base?.fields ?? app.fields;
  const baseOps = base?.operations ?? app.operations;
  const fields = Form.useWatch('fields', form) ?? baseFields;
  const operations = Form.useWatch('operations', form) ?? baseOps;
  const maskOptions = useMemo(() => MASK_RULES.map((r) => ({ value: r, label: maskText(t, r) })), [t]);
  const unassessed = (resource?.fields ?? [])
    .filter((f) => f.grade === 'unassessed' && fields.includes(f.name))
    .map((f) => f.label);

  const submit = async (v: ApproveForm) => {
    const body: Record<string, unknown> = {};
    if (v.reason?.trim()) body.reason = v.reason.trim();
    if (v.fields.length !== baseFields.length) body.fields = v.fields;
    if (v.operations.length !== baseOps.length) body.operations = v.operations;
    const masking = Object.fromEntries(
      Object.entries(v.masking ?? {}).filter(([name, rule]) => rule && v.fields.includes(name)),
    );
    if (Object.keys(masking).length) body.masking = masking;
    if (v.validTo) body.validTo = endOfShanghaiDay(v.validTo);
    for (const key of ['quotaRowsPerDay', 'rateLimitPerMinute', 'minGroupSize', 'pinVersion'] as const) {
      if (typeof v[key] === 'number') body[key] = v[key];
    }
    if (v.ipAllowlist?.length) body.ipAllowlist = v.ipAllowlist;
    const rowFilter = completeFilter(v.rowFilter);
    if (rowFilter) body.rowFilter = rowFilter;
    if (security && v.allowWeakerMasking) body.allowWeakerMasking = true;
    await action.run(async () => {
      const next = await api.post<Application>(
        `/v1/applications/${encodeURIComponent(app.id)}/approve`,
        body,
      );
      message.success(
        next.state === 'approved'
          ? t('applications.approvedContract', { id: next.contractId })
          : t('applications.approvedToSecurity'),
      );
      form.resetFields();
      onDone();
    });
  };

  return (
    <FormModal<ApproveForm>
      open={open}
      width={760}
      title={security ? t('applications.approveSecurityTitle') : t('applications.approveTitle')}
      okText={t('applications.approve')}
      busy={action.busy}
      onCancel={onClose}
      form={form}
      onFinish={submit}
      initialValues={{ fields: baseFields, operations: baseOps, masking: {} }}
    >
      {/* The deciders read the requesting department's official letter before granting anything. */}
      <Flex gap={8} align="center" wrap style={{ marginBottom: 12 }} data-testid="approve-letter">
        <Typography.Text strong>{t('letter.label')}</Typography.Text>
        <LetterLink app={app} />
      </Flex>
      <Alert type="info" showIcon message={t('applications.narrowOnly')} style={{ marginBottom: 16 }} />
      {resource ? <DpApprovalNotice resource={resource} operations={operations} /> : null}
      {unassessed.length > 0 ? (
        <Alert
          type="warning"
          showIcon
          data-testid="unassessed-warning"
          message={t('applications.unassessedWarning', { fields: unassessed.join('、') })}
          style={{ marginBottom: 16 }}
        />
      ) : null}
      <Form.Item
        name="fields"
        label={t('applications.grantFields')}
        rules={[{ required: true, type: 'array', min: 1, message: t('apply.fieldsRequired') }]}
      >
        <Checkbox.Group
          options={baseFields.map((name) => ({
            value: name,
            label: resource?.fields.find((f) => f.name === name)?.label ?? name,
          }))}
        />
      </Form.Item>
      <Typography.Text strong>{t('applications.masking')}</Typography.Text>
      <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
        {t('applications.maskingHint')}
      </Typography.Paragraph>
      <Row gutter={12}>
        {baseFields
          .filter((name) => fields.includes(name))
          .map((name) => {
            const field = resource?.fields.find((f) => f.name === name);
            const current = base?.masking[name];
            return (
              <Col xs={24} md={12} key={name}>
                <Form.Item
                  name={['masking', name]}
                  label={
                    <Space size={4}>
                      {field?.label ?? name}
                      {field ? <GradeTag grade={field.grade} /> : null}
                    </Space>
                  }
                >
                  <Select
                    allowClear
                    placeholder={current ? maskText(t, current) : t('applications.defaultMask')}
                    options={maskOptions}
                  />
                </Form.Item>
              </Col>
            );
          })}
      </Row>
      <Form.Item
        name="operations"
        label={t('apply.operations')}
        rules={[{ required: true, type: 'array', min: 1, message: t('apply.operationsRequired') }]}
      >
        <Checkbox.Group options={baseOps.map((o) => ({ value: o, label: t(`operation.${o}`) }))} />
      </Form.Item>
      <Row gutter={12}>
        <Col xs={24} md={8}>
          <Form.Item name="validTo" label={t('applications.validTo')} extra={t('applications.validToHint')}>
            <Input type="date" />
          </Form.Item>
        </Col>
        <Col xs={12} md={8}>
          <Form.Item name="quotaRowsPerDay" label={t('contract.quota')}>
            <InputNumber
              controls={false}
              min={1}
              style={{ width: '100%' }}
              placeholder={base ? String(base.quotaRowsPerDay) : '100000'}
            />
          </Form.Item>
        </Col>
        <Col xs={12} md={8}>
          <Form.Item name="rateLimitPerMinute" label={t('contract.rate')}>
            <InputNumber
              controls={false}
              min={1}
              style={{ width: '100%' }}
              placeholder={base ? String(base.rateLimitPerMinute) : '120'}
            />
          </Form.Item>
        </Col>
        <Col xs={12} md={8}>
          <Form.Item name="minGroupSize" label={t('contract.minGroup')}>
            <InputNumber
              controls={false}
              min={2}
              style={{ width: '100%' }}
              placeholder={base ? String(base.minGroupSize) : '10'}
            />
          </Form.Item>
        </Col>
        <Col xs={12} md={8}>
          <Form.Item name="pinVersion" label={t('applications.pinVersion')}>
            <InputNumber controls={false} min={1} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col xs={24} md={8}>
          <Form.Item name="ipAllowlist" label={t('contract.ipAllowlist')}>
            <Select
              mode="tags"
              tokenSeparators={[',', ' ']}
              placeholder="10.0.0.0/8"
              open={false}
              suffixIcon={null}
            />
          </Form.Item>
        </Col>
      </Row>
      <Form.Item name="rowFilter" label={t('contract.rowFilter')} extra={t('applications.rowFilterHint')}>
        <FilterBuilder
          fields={(resource?.fields ?? []).map((f) => ({
            name: f.name,
            label: f.label,
            dataType: f.dataType,
          }))}
        />
      </Form.Item>
      {security ? (
        <Form.Item name="allowWeakerMasking" valuePropName="checked">
          <Checkbox>{t('applications.allowWeaker')}</Checkbox>
        </Form.Item>
      ) : null}
      <Form.Item name="reason" label={t('applications.reason')}>
        <Input.TextArea rows={2} maxLength={2000} />
      </Form.Item>
    </FormModal>
  );
}

/** A text the dialog asks for: its label and what it says when the text is missing. */
export interface AskedText {
  label: string;
  required: string;
}

/**
 * A required reason, then an action (reject, suspend, revoke, resume). A refusal by the server is
 * said inside the dialog, in the console's language, and the dialog stays open with the reason
 * typed: the reader sees why next to what was refused and can correct or cancel. `text` names the
 * reason otherwise (a case's note); `also` asks for a second required text (a return visit's note).
 */
export function ReasonModal({
  open,
  title,
  okText,
  danger,
  text,
  also,
  onClose,
  onSubmit,
}: {
  open: boolean;
  title: string;
  okText: string;
  danger?: boolean;
  text?: AskedText;
  also?: AskedText;
  onClose(): void;
  onSubmit(reason: string, also?: string): Promise<void>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ reason: string; also?: string }>();
  const action = useAction();
  const [refusal, setRefusal] = useState<unknown>(null);
  useEffect(() => {
    if (open) setRefusal(null);
  }, [open]);
  const reason = text ?? { label: t('applications.reason'), required: t('applications.reasonRequired') };
  return (
    <FormModal
      open={open}
      title={title}
      okText={okText}
      danger={danger}
      busy={action.busy}
      onCancel={onClose}
      form={form}
      onFinish={(values) =>
        action.run(async () => {
          setRefusal(null);
          try {
            await onSubmit(values.reason.trim(), also ? values.also?.trim() : undefined);
            form.resetFields();
          } catch (error) {
            setRefusal(error);
          }
        })
      }
    >
      <ErrorAlert error={refusal} />
      <Form.Item
        name="reason"
        label={reason.label}
        rules={[{ required: true, min: 2, whitespace: true, message: reason.required }]}
      >
        <Input.TextArea rows={3} maxLength={2000} autoFocus />
      </Form.Item>
      {also ? (
        <Form.Item
          name="also"
          label={also.label}
          rules={[{ required: true, min: 2, whitespace: true, message: also.required }]}
        >
          <Input.TextArea rows={3} maxLength={2000} />
        </Form.Item>
      ) : null}
    </FormModal>
  );
}
