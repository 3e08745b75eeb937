/**
 * The public data registry (公共数据资源登记, issue 19): the inbox of registrations with the
 * working-day deadline of each one's current step, one registration with its content, progress,
 * objections and the next steps the reader may take (as src/registry/service.ts allows them), and
 * the certificate of a registered one.
 */
import { DownloadOutlined, ExportOutlined, FilePdfOutlined, PlusOutlined } from '@ant-design/icons';
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Form,
  Input,
  List,
  Popconfirm,
  Radio,
  Space,
  Table,
  Tag,
  Timeline,
  Tooltip,
  Typography,
} from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, fetchBlob, saveBlob } from '../api.ts';
import {
  ErrorAlert,
  ListTable,
  Mono,
  NotLoaded,
  OrgName,
  Pager,
  PageTitle,
  StateFilter,
  StateTag,
} from '../components/common.tsx';
import { FormModal } from '../components/FormModal.tsx';
import { RegistrationForm, type RegistrationFormMode } from '../components/RegistrationForm.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { fmtDateTime, shanghaiDate } from '../format.ts';
import { useAction, useCursorPages, useDetail, useOrganizations } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { CertificateHistory, Me, Page, Registration, RegistrationObjection } from '../types.ts';
import { REGISTRATION_STATES } from '../types.ts';
import { ReasonModal } from './Applications.tsx';

const url = (id: string, event = '') =>
  `/v1/registry/registrations/${encodeURIComponent(id)}${event ? `/${event}` : ''}`;

/** Registry staff: the data bureau (REGISTRY_STAFF). */
const isStaff = (me: Me) => hasRole(me, 'platform_admin');
/** A holder's data steward or administrator, or the bureau (REGISTRANTS with the holder's org). */
const isRegistrant = (me: Me, r?: Registration) =>
  hasRole(me, 'platform_admin') ||
  (hasRole(me, 'data_steward', 'org_admin') && (!r || r.registrantOrgId === me.organization.id));

function RegistrationState({ r }: { r: Registration }) {
  const { t } = useTranslation();
  return <StateTag state={r.state} label={t(`registry.state.${r.state}`)} />;
}

/** The current step's working-day deadline, and whether it has passed (Beijing date). */
function StepDue({ r }: { r: Registration }) {
  const { t } = useTranslation();
  if (!r.step) return <>—</>;
  const late = r.step.due < shanghaiDate();
  return (
    <Space size={4} wrap>
      <span>{t('registry.dueOn', { step: t(`registry.step.${r.step.name}`), date: r.step.due })}</span>
      {late ? (
        <Tag color={r.step.name === 'notice' ? 'gold' : 'red'} data-testid="overdue">
          {t(r.step.name === 'notice' ? 'registry.noticeOver' : 'registry.overdue')}
        </Tag>
      ) : null}
    </Space>
  );
}

export function Registry() {
  const { t } = useTranslation();
  const me = useMe();
  const [state, setState] = useState<string | undefined>();
  const [creating, setCreating] = useState(false);
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<Registration>>('/v1/registry/registrations', { state, limit: 20, cursor }, signal),
    [state],
  );
  const pages = useCursorPages(fetchPage);
  const orgs = useOrganizations();
  return (
    <>
      <PageTitle
        title={t('nav.registry')}
        sub={t('registry.sub')}
        help="registry"
        extra={
          isRegistrant(me) ? (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
              {t('registry.new')}
            </Button>
          ) : null
        }
      />
      <Card>
        <StateFilter
          id="registration-state"
          label={t('registry.filterState')}
          states={REGISTRATION_STATES}
          value={state}
          onChange={setState}
          labelOf={(s) => t(`registry.state.${s}`)}
        />
        <ErrorAlert error={pages.error} onRetry={pages.reload} />
        <ListTable<Registration>
          toolbar={cursorToolbar('registrations', pages)}
          loading={pages.loading}
          dataSource={pages.items}
          empty={t('registry.none')}
          columns={[
            {
              title: t('registry.col.subject'),
              render: (_: unknown, r) => <Link to={`/registrations/${r.id}`}>{r.subject.name}</Link>,
              exportValue: (r) => r.subject.name,
            },
            { title: t('registry.col.code'), dataIndex: 'code', render: (c: string | null) => c ?? '—' },
            {
              title: t('registry.col.kind'),
              dataIndex: 'kind',
              render: (k: string) => t(`registry.kind.${k}`),
            },
            {
              title: t('registry.col.holder'),
              render: (_: unknown, r) => <OrgName id={r.registrantOrgId} />,
              exportValue: (r) => orgs.get(r.registrantOrgId)?.name ?? r.registrantOrgId,
            },
            {
              title: t('registry.col.state'),
              render: (_: unknown, r) => <RegistrationState r={r} />,
              exportValue: (r) => t(`registry.state.${r.state}`),
            },
            { title: t('registry.col.due'), render: (_: unknown, r) => <StepDue r={r} /> },
            {
              title: t('registry.col.submittedOn'),
              render: (_: unknown, r) => r.dates.submittedOn,
              exportValue: (r) => r.dates.submittedOn ?? '',
            },
          ]}
        />
        <Pager {...pages} />
      </Card>
      <RegistrationForm
        mode={creating ? 'first' : null}
        onClose={() => setCreating(false)}
        onDone={(r) => navigate(`/registrations/${r.id}`)}
      />
    </>
  );
}

type StaffEvent = 'accept' | 'review' | 'publish' | 'register';
type ReasonEvent = 'return' | 'reject';

/** The registry's next steps from each state (REGISTRATION_LIFECYCLE), for staff. */
function staffSteps(r: Registration): { go: StaffEvent[]; refuse: ReasonEvent | null } {
  switch (r.state) {
    case 'submitted':
      return { go: ['accept'], refuse: 'return' };
    case 'accepted':
      return { go: ['review'], refuse: 'reject' };
    case 'reviewed':
      return { go: [r.kind === 'cancellation' ? 'register' : 'publish'], refuse: 'reject' };
    case 'notice':
      return { go: ['register'], refuse: 'reject' };
    default:
      return { go: [], refuse: null };
  }
}

/** Why registering must wait: the notice runs, or an objection is unanswered or upheld. */
function registerBlocked(r: Registration, today: string): string | null {
  if (r.state !== 'notice') return null;
  if (today <= (r.dates.noticeUntil ?? today)) return 'waitNotice';
  if (r.objections.some((o) => o.answer === null || o.upheld === true)) return 'openObjections';
  return null;
}

export function RegistrationDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const registration = useDetail<Registration>(url(id));
  const { data: r, reload } = registration;
  const step = useAction<string>();
  const [reason, setReason] = useState<ReasonEvent | null>(null);
  const [formMode, setFormMode] = useState<RegistrationFormMode | null>(null);
  const [objecting, setObjecting] = useState(false);
  const [answering, setAnswering] = useState<RegistrationObjection | null>(null);

  if (!r) return <NotLoaded loaded={registration} rows={12} />;

  const today = shanghaiDate();
  const act = (event: string, body?: object) =>
    step.run(async () => {
      await api.post<Registration>(url(r.id, event), body);
      message.success(t(`registry.done.${event}`));
      reload();
    }, event);
  const staff = isStaff(me) ? staffSteps(r) : { go: [], refuse: null };
  const registrant = isRegistrant(me, r);
  const blocked = registerBlocked(r, today);
  const onNotice = r.state === 'notice' && today <= (r.dates.noticeUntil ?? today);

  return (
    <>
      <PageTitle
        title={r.subject.name}
        help="registry"
        sub={
          <Space wrap>
            <RegistrationState r={r} />
            <Tag>{t(`registry.kind.${r.kind}`)}</Tag>
            {r.code ? <Mono>{r.code}</Mono> : null}
            <OrgName id={r.registrantOrgId} />
          </Space>
        }
        extra={
          <>
            {staff.go.map((event) => (
              <Tooltip
                key={event}
                title={
                  event === 'register' && blocked
                    ? t(`registry.${blocked}`, { date: r.dates.noticeUntil })
                    : undefined
                }
              >
                <Button
                  type="primary"
                  loading={step.running === event}
                  disabled={event === 'register' && !!blocked}
                  onClick={() => act(event)}
                >
                  {t(`registry.action.${event}`)}
                </Button>
              </Tooltip>
            ))}
            {staff.refuse ? (
              <Button danger onClick={() => setReason(staff.refuse)}>
                {t(`registry.action.${staff.refuse}`)}
              </Button>
            ) : null}
            {registrant && r.state === 'returned' ? (
              <Button type="primary" onClick={() => setFormMode('resubmit')}>
                {t('registry.action.resubmit')}
              </Button>
            ) : null}
            {registrant && r.state === 'registered'
              ? (['change', 'correction', 'cancellation'] as const).map((kind) => (
                  <Button key={kind} danger={kind === 'cancellation'} onClick={() => setFormMode(kind)}>
                    {t(`registry.action.${kind}`)}
                  </Button>
                ))
              : null}
            {registrant && (r.state === 'submitted' || r.state === 'returned') ? (
              <Popconfirm title={t('registry.withdrawConfirm')} onConfirm={() => act('withdraw')}>
                <Button loading={step.running === 'withdraw'}>{t('registry.action.withdraw')}</Button>
              </Popconfirm>
            ) : null}
            {onNotice ? (
              <Button onClick={() => setObjecting(true)}>{t('registry.action.object')}</Button>
            ) : null}
          </>
        }
      />
      {r.reason ? (
        <Alert
          type={r.state === 'rejected' ? 'error' : 'warning'}
          showIcon
          style={{ marginBottom: 16 }}
          message={t('registry.reason')}
          description={r.reason}
        />
      ) : null}
      {blocked && isStaff(me) ? (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 16 }}
          message={t(`registry.${blocked}`, { date: r.dates.noticeUntil })}
        />
      ) : null}
      {r.code && ['registered', 'superseded', 'cancelled'].includes(r.state) ? (
        <CertificateCard code={r.code} />
      ) : null}
      <Card title={t('registry.section.steps')} style={{ marginBottom: 16 }}>
        <Progress r={r} />
      </Card>
      <Card title={t('registry.section.objections')} style={{ marginBottom: 16 }}>
        <Objections r={r} canAnswer={isStaff(me) && r.state === 'notice'} onAnswer={setAnswering} />
      </Card>
      <Card title={t('registry.section.content')} style={{ marginBottom: 16 }}>
        <Content r={r} />
      </Card>
      <ReasonModal
        open={reason !== null}
        title={reason ? t(`registry.action.${reason}`) : ''}
        okText={reason ? t(`registry.action.${reason}`) : ''}
        danger
        onClose={() => setReason(null)}
        onSubmit={async (text) => {
          await api.post(url(r.id, reason!), { reason: text });
          message.success(t(`registry.done.${reason}`));
          setReason(null);
          reload();
        }}
      />
      <RegistrationForm
        mode={formMode}
        from={r}
        onClose={() => setFormMode(null)}
        onDone={(saved) => {
          setFormMode(null);
          message.success(t('registry.done.submitted'));
          if (saved.id === r.id) reload();
          else navigate(`/registrations/${saved.id}`);
        }}
      />
      <ObjectionModal
        open={objecting}
        onClose={() => setObjecting(false)}
        onSubmit={async (body) => {
          await api.post(url(r.id, 'objections'), body);
          message.success(t('registry.done.object'));
          setObjecting(false);
          reload();
        }}
      />
      <AnswerModal
        objection={answering}
        onClose={() => setAnswering(null)}
        onSubmit={async (body) => {
          await api.post(`${url(r.id, 'objections')}/${encodeURIComponent(answering!.id)}/answer`, body);
          message.success(t('registry.done.answer'));
          setAnswering(null);
          reload();
        }}
      />
    </>
  );
}

/** The steps so far (China civil dates, as the deadlines count them) and the one awaited. */
function Progress({ r }: { r: Registration }) {
  const { t } = useTranslation();
  const d = r.dates;
  const items = [
    { done: true, text: `${t('registry.dates.submitted')} ${fmtDateTime(r.createdAt)}` },
    d.acceptedOn
      ? { done: true, text: `${t('registry.dates.accepted')} ${d.acceptedOn}` }
      : r.state === 'submitted'
        ? { done: false, text: `${t('registry.dates.acceptDue')} ${d.acceptDue}` }
        : null,
    d.reviewedOn
      ? { done: true, text: `${t('registry.dates.reviewed')} ${d.reviewedOn}` }
      : r.state === 'accepted' && d.reviewDue
        ? { done: false, text: `${t('registry.dates.reviewDue')} ${d.reviewDue}` }
        : null,
    d.noticeFrom
      ? {
          done: r.state !== 'notice',
          text: t('registry.dates.notice', { from: d.noticeFrom, until: d.noticeUntil }),
        }
      : null,
    d.registeredOn
      ? {
          done: true,
          text: `${t('registry.dates.registered')} ${d.registeredOn} · ${t('registry.dates.validUntil')} ${d.validUntil ?? '—'}`,
        }
      : null,
    { done: true, text: `${t('registry.dates.updated')} ${fmtDateTime(r.updatedAt)}` },
  ].filter((x) => x !== null);
  return (
    <>
      <Timeline
        items={items.map((x) => ({ color: x.done ? 'green' : 'blue', children: x.text }))}
        style={{ marginBottom: 0 }}
      />
      {r.step ? <StepDue r={r} /> : null}
    </>
  );
}

function Content({ r }: { r: Registration }) {
  const { t } = useTranslation();
  const c = r.content;
  const keys = [
    'summary',
    'volume',
    'source',
    'updateCycle',
    'grade',
    'storageLocation',
    'storageMethod',
    'intendedUse',
    'qualityDescription',
    'operationScope',
  ] as const;
  return (
    <>
      <Descriptions column={1} size="small" bordered>
        <Descriptions.Item label={t('registry.content.name')}>{c.name}</Descriptions.Item>
        {keys.map((k) => (
          <Descriptions.Item key={k} label={t(`registry.content.${k}`)}>
            {c[k]}
          </Descriptions.Item>
        ))}
      </Descriptions>
      <Typography.Title level={2} style={{ fontSize: 16, marginTop: 16 }}>
        {t('registry.section.fields')}
      </Typography.Title>
      <Table
        size="small"
        rowKey="name"
        pagination={false}
        scroll={{ x: 'max-content' }}
        dataSource={c.fields}
        columns={[
          { title: t('registry.content.fieldName'), dataIndex: 'name' },
          { title: t('registry.content.fieldLabel'), dataIndex: 'label' },
          { title: t('registry.content.fieldType'), dataIndex: 'dataType', render: (v?: string) => v ?? '—' },
        ]}
      />
      <Typography.Title level={2} style={{ fontSize: 16, marginTop: 16 }}>
        {t('registry.section.commitment')}
      </Typography.Title>
      <Typography.Paragraph>{r.commitment.text}</Typography.Paragraph>
      <Descriptions size="small" column={{ xs: 1, md: 2 }}>
        <Descriptions.Item label={t('registry.commitment.signatory')}>
          {r.commitment.signatory}
        </Descriptions.Item>
        <Descriptions.Item label={t('registry.commitment.signedOn')}>
          {r.commitment.signedOn}
        </Descriptions.Item>
      </Descriptions>
    </>
  );
}

function Objections({
  r,
  canAnswer,
  onAnswer,
}: {
  r: Registration;
  canAnswer: boolean;
  onAnswer(o: RegistrationObjection): void;
}) {
  const { t } = useTranslation();
  return (
    <List
      dataSource={r.objections}
      locale={{ emptyText: t('registry.objection.none') }}
      renderItem={(o) => (
        <List.Item
          actions={
            canAnswer && o.answer === null
              ? [
                  <Button key="answer" size="small" onClick={() => onAnswer(o)}>
                    {t('registry.action.answer')}
                  </Button>,
                ]
              : []
          }
        >
          <List.Item.Meta
            title={`${o.realName} · ${fmtDateTime(o.lodgedAt)}`}
            description={
              <>
                <Typography.Paragraph style={{ marginBottom: 4 }}>{o.text}</Typography.Paragraph>
                {o.answer === null ? (
                  <Tag color="orange">{t('registry.objection.pending')}</Tag>
                ) : (
                  <Typography.Text>
                    <Tag color={o.upheld ? 'red' : 'green'}>
                      {t(o.upheld ? 'registry.objection.upheldYes' : 'registry.objection.upheldNo')}
                    </Tag>
                    {o.answer} · {fmtDateTime(o.answeredAt)}
                  </Typography.Text>
                )}
              </>
            }
          />
        </List.Item>
      )}
    />
  );
}

function ObjectionModal({
  open,
  onClose,
  onSubmit,
}: {
  open: boolean;
  onClose(): void;
  onSubmit(body: { realName: string; text: string }): Promise<void>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ realName: string; text: string }>();
  const action = useAction();
  const required = [{ required: true, whitespace: true }];
  return (
    <FormModal
      open={open}
      title={t('registry.action.object')}
      okText={t('registry.action.object')}
      busy={action.busy}
      form={form}
      onCancel={onClose}
      onFinish={(values) => action.run(() => onSubmit(values))}
    >
      <Form.Item name="realName" label={t('registry.objection.realName')} rules={required}>
        <Input maxLength={100} />
      </Form.Item>
      <Form.Item name="text" label={t('registry.objection.text')} rules={required}>
        <Input.TextArea rows={3} maxLength={4000} />
      </Form.Item>
    </FormModal>
  );
}

function AnswerModal({
  objection,
  onClose,
  onSubmit,
}: {
  objection: RegistrationObjection | null;
  onClose(): void;
  onSubmit(body: { answer: string; upheld: boolean }): Promise<void>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ answer: string; upheld: boolean }>();
  const action = useAction();
  return (
    <FormModal
      open={objection !== null}
      title={t('registry.action.answer')}
      okText={t('registry.action.answer')}
      busy={action.busy}
      form={form}
      initialValues={{ upheld: false }}
      onCancel={onClose}
      onFinish={(values) => action.run(() => onSubmit(values))}
    >
      <Typography.Paragraph type="secondary">
        {objection?.realName}：{objection?.text}
      </Typography.Paragraph>
      <Form.Item name="upheld" label={t('registry.objection.upheld')}>
        <Radio.Group
          options={[
            { value: false, label: t('registry.objection.upheldNo') },
            { value: true, label: t('registry.objection.upheldYes') },
          ]}
        />
      </Form.Item>
      <Form.Item
        name="answer"
        label={t('registry.objection.answer')}
        rules={[{ required: true, whitespace: true }]}
      >
        <Input.TextArea rows={3} maxLength={4000} />
      </Form.Item>
    </FormModal>
  );
}

/** The signed certificate of a code: the current version, its term, every version, the files. */
function CertificateCard({ code }: { code: string }) {
  const { t } = useTranslation();
  const base = `/v1/registry/certificates/${encodeURIComponent(code)}`;
  const { data, error, reload } = useDetail<CertificateHistory>(base);
  const files = useAction<'pdf' | 'json'>();
  if (!data) return error ? <ErrorAlert error={error} onRetry={reload} /> : null;
  const current = data.versions[0]!;
  const cert = data.current.certificate;
  const openPdf = () =>
    files.run(async () => {
      const blob = await fetchBlob(`${base}/pdf`);
      window.open(URL.createObjectURL(blob), '_blank', 'noopener');
    }, 'pdf');
  const downloadJson = () =>
    files.run(async () => {
      saveBlob(await fetchBlob(`${base}/versions/${current.version}`), `${code}-v${current.version}.json`);
    }, 'json');
  return (
    <Card
      title={t('registry.section.certificate')}
      style={{ marginBottom: 16 }}
      data-testid="certificate"
      extra={
        <Space wrap>
          <Button icon={<FilePdfOutlined />} loading={files.running === 'pdf'} onClick={openPdf}>
            {t('registry.certificate.pdf')}
          </Button>
          <Button icon={<DownloadOutlined />} loading={files.running === 'json'} onClick={downloadJson}>
            {t('registry.certificate.json')}
          </Button>
          <Button icon={<ExportOutlined />} href={`/registry/${encodeURIComponent(code)}`} target="_blank">
            {t('registry.certificate.publicPage')}
          </Button>
        </Space>
      }
    >
      <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered>
        <Descriptions.Item label={t('registry.certificate.code')}>
          <Mono>
            <span data-testid="certificate-code">{data.code}</span>
          </Mono>
        </Descriptions.Item>
        <Descriptions.Item label={t('registry.certificate.version')}>{current.version}</Descriptions.Item>
        <Descriptions.Item label={t('registry.certificate.status')}>
          <StateTag state={data.status} label={t(`registry.certificate.${data.status}`)} />
        </Descriptions.Item>
        <Descriptions.Item label={t('registry.certificate.registeredOn')}>
          {String(cert.registeredOn ?? '—')}
        </Descriptions.Item>
        <Descriptions.Item label={t('registry.certificate.validUntil')}>
          {String(cert.validUntil ?? '—')}
        </Descriptions.Item>
        <Descriptions.Item label={t('registry.certificate.issuedAt')}>
          {fmtDateTime(current.issuedAt)}
        </Descriptions.Item>
      </Descriptions>
      <Typography.Title level={2} style={{ fontSize: 16, marginTop: 16 }}>
        {t('registry.certificate.versions')}
      </Typography.Title>
      <Table
        size="small"
        rowKey="version"
        pagination={false}
        scroll={{ x: 'max-content' }}
        dataSource={data.versions}
        columns={[
          { title: t('registry.certificate.version'), dataIndex: 'version' },
          {
            title: t('registry.certificate.kind'),
            dataIndex: 'kind',
            render: (k: string) => t(`registry.kind.${k}`),
          },
          {
            title: t('registry.certificate.status'),
            dataIndex: 'status',
            render: (s: string) => t(`registry.certificate.${s}`, { defaultValue: s }),
          },
          { title: t('registry.certificate.issuedAt'), dataIndex: 'issuedAt', render: fmtDateTime },
          {
            title: t('breadcrumb.registration'),
            dataIndex: 'registrationId',
            render: (id: string) => <Link to={`/registrations/${id}`}>{id}</Link>,
          },
        ]}
      />
    </Card>
  );
}
