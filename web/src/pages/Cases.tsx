/**
 * 办件 (issue 22): a department's side of "get one thing done". The list holds the applications
 * with a step at the reader's department, that step's state and Beijing-date deadline, overdue
 * ones marked as GET /v1/services/overdue reports them; one application shows every step with its
 * department, and on the reader's own steps only the moves STEP_LIFECYCLE allows from the step's
 * state, the reason dialog for a return or refusal, and the pre-fill through shared data with
 * what it pulled and why anything is missing.
 */
import { CloudDownloadOutlined } from '@ant-design/icons';
import {
  App,
  Button,
  Card,
  Descriptions,
  Empty,
  Flex,
  List,
  Modal,
  Skeleton,
  Space,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import { type ReactNode, useCallback, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { ErrorAlert, ListTable, Mono, Pager, PageTitle, StateTag } from '../components/common.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { fmtDateTime } from '../format.ts';
import { useAction, useCursorPages, useLoader } from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type {
  Me,
  OverdueStep,
  Page,
  PrefillResult,
  ServiceApplication,
  ServiceBundle,
  ServiceStep,
  StaffStepEvent,
  StepState,
} from '../types.ts';
import { staffMoves } from '../types.ts';
import { ReasonModal } from './Applications.tsx';

const applicationUrl = (id: string) => `/v1/services/applications/${encodeURIComponent(id)}`;
const stepUrl = (id: string, step: string, event: StaffStepEvent | 'prefill') =>
  `${applicationUrl(id)}/steps/${encodeURIComponent(step)}/${event}`;

/** The steps the reader's department handles; the platform, which has none, reads them all. */
function stepsFor(me: Me, application: ServiceApplication): ServiceStep[] {
  const own = application.steps.filter((s) => s.orgId === me.organization.id);
  return own.length > 0 ? own : application.steps;
}

/** Who moves steps (the server's DEPARTMENT_STAFF), on their own department's steps. */
const movesOf = (me: Me, step: ServiceStep): StaffStepEvent[] =>
  step.orgId === me.organization.id && hasRole(me, 'org_admin', 'data_steward', 'consumer')
    ? staffMoves(step.state)
    : [];

function StepStateTag({ step }: { step: Pick<ServiceStep, 'state'> }) {
  const { t } = useTranslation();
  return <StateTag state={step.state} label={t(`cases.stepState.${step.state}`)} />;
}

/** The deadline (a Beijing calendar date) and, past it, by how many working days. */
export function Deadline({ dueOn, late }: { dueOn: string | null; late: number | null }) {
  const { t } = useTranslation();
  if (!dueOn) return <>—</>;
  return (
    <Space size={4} wrap>
      <span>{dueOn}</span>
      {late !== null ? (
        <Tag color="red" data-testid="overdue">
          {t('cases.overdue', { days: late })}
        </Tag>
      ) : null}
    </Space>
  );
}

export function Cases() {
  const { t } = useTranslation();
  const me = useMe();
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<ServiceApplication>>('/v1/services/applications', { limit: 20, cursor }, signal),
    [],
  );
  const pages = useCursorPages(fetchPage);
  const loadOverdue = useCallback(
    (signal: AbortSignal) => api.get<OverdueStep[]>('/v1/services/overdue', undefined, signal),
    [],
  );
  const overdue = useLoader(loadOverdue);
  const late = useMemo(
    () => new Map((overdue.data ?? []).map((o) => [`${o.applicationId}/${o.step}`, o.workingDaysOverdue])),
    [overdue.data],
  );
  return (
    <>
      <PageTitle title={t('nav.cases')} sub={t('cases.sub')} help="cases" />
      <Card>
        <ErrorAlert error={pages.error ?? overdue.error} onRetry={pages.reload} />
        <ListTable<ServiceApplication>
          toolbar={cursorToolbar('cases', pages)}
          empty={t('cases.none')}
          loading={pages.loading}
          dataSource={pages.items}
          columns={[
            {
              title: t('cases.col.bundle'),
              render: (_: unknown, a) => <Link to={`/cases/${a.id}`}>{a.bundle.name}</Link>,
              exportValue: (a) => a.bundle.name,
            },
            {
              title: t('cases.col.steps'),
              render: (_: unknown, a) => (
                <Space direction="vertical" size={4}>
                  {stepsFor(me, a).map((s) => (
                    <Space key={s.key} size={4} wrap data-testid={`case-step-${s.key}`}>
                      <span>{s.name}</span>
                      <StepStateTag step={s} />
                      <Deadline dueOn={s.dueOn} late={late.get(`${a.id}/${s.key}`) ?? null} />
                    </Space>
                  ))}
                </Space>
              ),
              exportValue: (a) =>
                stepsFor(me, a)
                  .map((s) => `${s.name} ${t(`cases.stepState.${s.state}`)}`)
                  .join('; '),
            },
            {
              title: t('cases.col.applicant'),
              render: (_: unknown, a) => <Mono>{a.subjectKey}</Mono>,
              exportValue: (a) => a.subjectKey,
            },
            {
              title: t('cases.col.state'),
              render: (_: unknown, a) => (
                <StateTag state={a.state} label={t(`cases.applicationState.${a.state}`)} />
              ),
              exportValue: (a) => t(`cases.applicationState.${a.state}`),
            },
            {
              title: t('cases.col.submittedAt'),
              render: (_: unknown, a) => fmtDateTime(a.createdAt),
              exportValue: (a) => fmtDateTime(a.createdAt),
            },
          ]}
        />
        <Pager {...pages} />
      </Card>
    </>
  );
}

/** The timeline's dot: done green, stopped red, waiting grey, the rest in hand. */
const TIMELINE_COLORS: Partial<Record<StepState, string>> = {
  done: 'green',
  refused: 'red',
  returned: 'orange',
  waiting: 'gray',
};

/** One step: its department, state, deadline, the return's reason and what shared data gave it. */
function StepItem({
  step: s,
  mine,
  label,
  actions,
}: {
  step: ServiceStep;
  mine: boolean;
  label(name: string): string;
  actions: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <Flex vertical gap={4} data-testid={`step-${s.key}`}>
      <Space size={4} wrap>
        <Typography.Text strong>{s.name}</Typography.Text>
        <StepStateTag step={s} />
      </Space>
      <Space size={4} wrap>
        <Typography.Text type="secondary">{t('cases.col.department')}</Typography.Text>
        <span>{s.orgName}</span>
        {mine ? <Tag color="blue">{t('cases.mine')}</Tag> : null}
      </Space>
      <Space size={4} wrap>
        <Typography.Text type="secondary">{t('cases.col.due')}</Typography.Text>
        <Deadline dueOn={s.dueOn} late={s.overdue ? s.workingDaysOverdue : null} />
      </Space>
      {s.reason ? (
        <Typography.Text type="warning" data-testid="step-reason">
          {t('cases.reason', { reason: s.reason })}
        </Typography.Text>
      ) : null}
      {Object.entries(s.prefill).map(([name, p]) => (
        <span key={name}>
          {label(name)}：{shown(p.value)} <Tag>{t('cases.fromSharing')}</Tag>
        </span>
      ))}
      {actions}
    </Flex>
  );
}

/** The moves the step's state allows, a reason first for a return or refusal, and the pre-fill. */
function StepMoves({
  moves,
  stepKey,
  running,
  busy,
  onMove,
  onPrefill,
}: {
  moves: StaffStepEvent[];
  stepKey: string;
  running: string | undefined;
  busy: boolean;
  onMove(event: StaffStepEvent): void;
  onPrefill(): void;
}) {
  const { t } = useTranslation();
  if (moves.length === 0) return null;
  const reasoned = (event: StaffStepEvent) => event === 'return' || event === 'refuse';
  return (
    <Space wrap size={4} style={{ marginTop: 4 }}>
      {moves.map((event) => (
        <Button
          key={event}
          size="small"
          type={reasoned(event) ? 'default' : 'primary'}
          danger={event === 'refuse'}
          loading={running === `${stepKey}/${event}`}
          disabled={busy && !reasoned(event)}
          onClick={() => onMove(event)}
        >
          {t(`cases.action.${event}`)}
        </Button>
      ))}
      <Button
        size="small"
        icon={<CloudDownloadOutlined />}
        loading={running === `${stepKey}/prefill`}
        disabled={busy}
        onClick={onPrefill}
      >
        {t('cases.action.prefill')}
      </Button>
    </Space>
  );
}

/** A shared-data value as people read it: timestamps in Beijing time, the rest as sent. */
function shown(value: unknown): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return fmtDateTime(value);
  if (value === null || value === undefined) return '—';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A pre-fill's answer for the step it was asked for. */
interface Prefilled {
  step: string;
  result: PrefillResult;
}

type Fields = Map<string, { label: string; providerName: string | null }>;

/** Each field of the bundle by name: its label and whose shared data gives it. */
function fieldsOf(bundle: ServiceBundle | undefined): Fields {
  const fields: Fields = new Map();
  for (const step of bundle?.steps ?? [])
    for (const f of step.fields)
      if (!fields.has(f.name) || f.providerName)
        fields.set(f.name, { label: f.label, providerName: f.providerName });
  return fields;
}

export function CaseDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const load = useCallback(
    (signal: AbortSignal) => api.get<ServiceApplication>(applicationUrl(id), undefined, signal),
    [id],
  );
  const { data: a, error, loading, reload } = useLoader(load);
  const bundleId = a?.bundle.id;
  const loadBundle = useCallback(
    (signal: AbortSignal) =>
      api.get<ServiceBundle>(`/v1/services/bundles/${encodeURIComponent(bundleId!)}`, undefined, signal),
    [bundleId],
  );
  const bundle = useLoader(bundleId ? loadBundle : null);
  const fields = useMemo(() => fieldsOf(bundle.data), [bundle.data]);
  const move = useAction<string>();
  const [reasoned, setReasoned] = useState<{ step: ServiceStep; event: 'return' | 'refuse' } | null>(null);
  const [prefilled, setPrefilled] = useState<Prefilled | null>(null);

  if (loading && !a) return <Skeleton active paragraph={{ rows: 10 }} />;
  if (!a) return <ErrorAlert error={error} onRetry={reload} />;

  const label = (name: string) => fields.get(name)?.label ?? name;
  const act = (step: ServiceStep, event: StaffStepEvent) =>
    move.run(async () => {
      await api.post(stepUrl(a.id, step.key, event));
      message.success(t(`cases.done.${event}`, { step: step.name }));
      reload();
    }, `${step.key}/${event}`);
  const prefill = (step: ServiceStep) =>
    move.run(async () => {
      setPrefilled({
        step: step.key,
        result: await api.post<PrefillResult>(stepUrl(a.id, step.key, 'prefill')),
      });
      reload();
    }, `${step.key}/prefill`);

  return (
    <>
      <PageTitle
        title={a.bundle.name}
        help="case"
        sub={
          <Space wrap>
            <StateTag state={a.state} label={t(`cases.applicationState.${a.state}`)} />
            <span>
              {t('cases.col.applicant')} <Mono>{a.subjectKey}</Mono>
            </span>
            <span>
              {t('cases.col.submittedAt')} {fmtDateTime(a.createdAt)}
            </span>
            <span>{t('cases.dueOn', { date: a.dueOn })}</span>
            {a.overdue ? <Tag color="red">{t('cases.applicationOverdue')}</Tag> : null}
          </Space>
        }
      />
      <ErrorAlert error={error} onRetry={reload} />
      <Card title={t('cases.section.steps')} style={{ marginBottom: 16 }}>
        <Timeline
          items={a.steps.map((s) => ({
            key: s.key,
            color: TIMELINE_COLORS[s.state] ?? 'blue',
            children: (
              <StepItem
                step={s}
                mine={s.orgId === me.organization.id}
                label={label}
                actions={
                  <StepMoves
                    moves={movesOf(me, s)}
                    running={move.running}
                    busy={move.busy}
                    stepKey={s.key}
                    onMove={(event) =>
                      event === 'return' || event === 'refuse'
                        ? setReasoned({ step: s, event })
                        : act(s, event)
                    }
                    onPrefill={() => prefill(s)}
                  />
                }
              />
            ),
          }))}
        />
      </Card>
      <Card title={t('cases.section.form')}>
        {Object.keys(a.form).length === 0 ? (
          <Empty description={t('cases.noForm')} />
        ) : (
          <Descriptions
            column={1}
            size="small"
            items={Object.entries(a.form).map(([name, value]) => ({
              key: name,
              label: label(name),
              children: value,
            }))}
          />
        )}
      </Card>
      <ReasonModal
        open={reasoned !== null}
        title={reasoned ? `${t(`cases.action.${reasoned.event}`)} · ${reasoned.step.name}` : ''}
        okText={reasoned ? t(`cases.action.${reasoned.event}`) : ''}
        danger
        onClose={() => setReasoned(null)}
        onSubmit={async (reason) => {
          const { step, event } = reasoned!;
          await api.post(stepUrl(a.id, step.key, event), { reason });
          message.success(t(`cases.done.${event}`, { step: step.name }));
          setReasoned(null);
          reload();
        }}
      />
      <PrefillDialog prefilled={prefilled} fields={fields} onClose={() => setPrefilled(null)} />
    </>
  );
}

/** What one pre-fill pulled (and from whose data), and each field it could not, in words. */
function PrefillDialog({
  prefilled,
  fields,
  onClose,
}: {
  prefilled: Prefilled | null;
  fields: Fields;
  onClose(): void;
}) {
  const { t } = useTranslation();
  if (!prefilled) return null;
  const { result } = prefilled;
  const values = result.application.steps.find((s) => s.key === prefilled.step)?.prefill ?? {};
  const label = (name: string) => fields.get(name)?.label ?? name;
  const why = (code: string | undefined) =>
    code === 'no_contract' || code === 'no_row'
      ? t(`cases.missing.${code}`)
      : t('cases.missing.gateway', { code: code ?? '—' });
  return (
    <Modal
      open
      title={t('cases.prefill.title')}
      onCancel={onClose}
      onOk={onClose}
      okText={t('cases.prefill.close')}
      cancelButtonProps={{ style: { display: 'none' } }}
    >
      {result.filled.length === 0 && result.missing.length === 0 ? (
        <Typography.Paragraph>{t('cases.prefill.nothing')}</Typography.Paragraph>
      ) : null}
      {result.filled.length > 0 ? (
        <List
          header={<Typography.Text strong>{t('cases.prefill.filled')}</Typography.Text>}
          size="small"
          dataSource={result.filled}
          renderItem={(name) => (
            <List.Item data-testid={`prefilled-${name}`}>
              <List.Item.Meta
                title={`${label(name)}：${shown(values[name]?.value)}`}
                description={
                  fields.get(name)?.providerName
                    ? t('cases.prefill.provider', { name: fields.get(name)!.providerName })
                    : undefined
                }
              />
            </List.Item>
          )}
        />
      ) : null}
      {result.missing.length > 0 ? (
        <List
          header={<Typography.Text strong>{t('cases.prefill.missing')}</Typography.Text>}
          size="small"
          dataSource={result.missing}
          renderItem={(name) => (
            <List.Item data-testid={`missing-${name}`}>
              <List.Item.Meta title={label(name)} description={why(result.reasons[name])} />
            </List.Item>
          )}
        />
      ) : null}
    </Modal>
  );
}
