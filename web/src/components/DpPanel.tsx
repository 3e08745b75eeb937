/**
 * Differential privacy on a contract's page (issue 14): the budget the contract holds and what is
 * left, the resource's privacy unit and contribution bounds, and — for the consumer — statistics
 * asked through the DP endpoints: a preview first (cost and the 95% interval each number will
 * carry, nothing spent), then the release, each number shown with its interval. Shown only when
 * the provider has declared DP settings for the resource.
 */
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Form,
  InputNumber,
  Progress,
  Select,
  Space,
  Table,
  Typography,
} from 'antd';
import type { TFunction } from 'i18next';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { gradeRank } from '../../../src/rules/grades.ts';
import { ApiError, api } from '../api.ts';
import { fmtNumber } from '../format.ts';
import { useAction, useLoader } from '../hooks.ts';
import { hasRole, useMe } from '../session.tsx';
import type { Contract, DpAggregate, DpBudget, DpPreview, DpSettings, Resource } from '../types.ts';
import { Mono } from './common.tsx';
import { FormModal } from './FormModal.tsx';

/** A statistic as the DP routes and templates take it. */
export type Metric = { fn: 'count' } | { fn: 'sum' | 'mean'; field: string };

interface QueryForm {
  metric: string;
  groupBy: string[];
  rho: number;
}

/** A metric as the select names it: `count`, `sum:field`, `mean:field`. */
export function parseMetric(value: string): Metric {
  const [fn, field] = value.split(':');
  return fn === 'count' || !field ? { fn: 'count' } : { fn: fn as 'sum' | 'mean', field };
}

const metricValue = (m: Metric) => (m.fn === 'count' ? 'count' : `${m.fn}:${m.field}`);
const metricKey = (m: Metric) => (m.fn === 'count' ? 'count' : `${m.fn}_${m.field}`);

/** A metric in words: 计数, X之和, X平均值. */
export function metricLabel(t: TFunction, m: Metric, label: (name: string) => string): string {
  return m.fn === 'count'
    ? t('dp.count')
    : t(m.fn === 'sum' ? 'dp.sumOf' : 'dp.meanOf', { field: label(m.field) });
}

/** The metric select's options: a count, and the sum and mean of each numeric field. */
export function metricOptions(t: TFunction, numeric: string[], label: (name: string) => string) {
  const metrics: Metric[] = [
    { fn: 'count' },
    ...numeric.flatMap((field) => [
      { fn: 'sum' as const, field },
      { fn: 'mean' as const, field },
    ]),
  ];
  return metrics.map((m) => ({ value: metricValue(m), label: metricLabel(t, m, label) }));
}

/** One released row and the intervals of its numbers. */
interface AnswerRow {
  row: Record<string, string | number | null>;
  ci: Record<string, number[] | null>;
}

const PERIODS = ['none', 'day', 'month'] as const;

/** The resource's DP settings, or null when its provider has declared none. */
async function dpSettings(code: string, signal: AbortSignal): Promise<DpSettings | null> {
  try {
    return await api.get<DpSettings>(
      `/v1/gateway/resources/${encodeURIComponent(code)}/dp`,
      undefined,
      signal,
    );
  } catch (error) {
    if (error instanceof ApiError && error.code === 'DP_NOT_CONFIGURED') return null;
    throw error;
  }
}

/**
 * For the approver: an aggregate-only contract on a resource with personal information is a DP
 * contract (the gateway refuses its exact aggregates), so the dialog says what the consumer will
 * get — the budget a new contract holds, the unit and bounds — or that the provider must first
 * declare DP settings, without which such a contract can answer no statistic.
 */
export function DpApprovalNotice({ resource, operations }: { resource: Resource; operations: string[] }) {
  const { t } = useTranslation();
  const load = useCallback((signal: AbortSignal) => dpSettings(resource.code, signal), [resource.code]);
  const { data: settings, loading } = useLoader(load);
  const personal = settings !== null || resource.fields.some((f) => gradeRank(f.grade) >= 3);
  if (loading || !personal || !operations.includes('aggregate') || operations.includes('rows')) return null;
  if (!settings)
    return (
      <Alert
        type="warning"
        showIcon
        data-testid="dp-approval"
        style={{ marginBottom: 16 }}
        message={t('dp.approvalUnconfigured')}
      />
    );
  const label = (name: string) => resource.fields.find((f) => f.name === name)?.label ?? name;
  return (
    <Alert
      type="info"
      showIcon
      data-testid="dp-approval"
      style={{ marginBottom: 16 }}
      message={t('dp.approval', {
        rho: settings.defaultBudget.rho,
        epsilon: settings.defaultBudget.epsilon.toFixed(2),
        delta: settings.defaultBudget.delta,
        unit: label(settings.unit),
        l0: settings.maxGroups,
        linf: settings.maxRowsPerGroup,
      })}
    />
  );
}

/**
 * The contract's DP settings and budget, or null when the resource has no DP settings (its
 * aggregates are the exact, suppressed ones). `spent` changes when something else on the page
 * spent from the budget: it is read again.
 */
function useDpBudget(contract: Contract, resource: Resource, spent = 0) {
  // biome-ignore lint/correctness/useExhaustiveDependencies: `spent` is not read; a spend elsewhere on the page loads the budget again
  const load = useCallback(
    async (signal: AbortSignal) => {
      const settings = await dpSettings(resource.code, signal);
      if (!settings) return null;
      const budget = await api.get<DpBudget>(
        `/v1/gateway/contracts/${encodeURIComponent(contract.id)}/dp/budget`,
        undefined,
        signal,
      );
      return { settings, budget };
    },
    [contract.id, resource.code, spent],
  );
  return useLoader(load);
}

/** The budget in one line (total, ε, δ, what remains), for a summary of the contract's terms. */
export function DpBudgetText({ contract, resource }: { contract: Contract; resource: Resource }) {
  const { t } = useTranslation();
  const { data } = useDpBudget(contract, resource);
  if (!contract.operations.includes('aggregate') || data === undefined) return null;
  // No DP settings: the aggregates are exact and suppressed, there is no budget to spend.
  return <>{data ? budgetText(t, data.budget) : '—'}</>;
}

function budgetText(t: TFunction, budget: DpBudget): string {
  return t('dp.budgetText', {
    total: budget.total.rho,
    epsilon: budget.total.epsilon.toFixed(2),
    delta: budget.total.delta,
    remaining: budget.remaining.rho,
  });
}

export function DpPanel({
  contract,
  resource,
  spent = 0,
}: {
  contract: Contract;
  resource: Resource;
  /** Changes when something else on the page spent from the budget: the card reads it again. */
  spent?: number;
}) {
  const { t } = useTranslation();
  const me = useMe();
  const [editing, setEditing] = useState(false);
  const { data, error, reload } = useDpBudget(contract, resource, spent);
  if (!contract.operations.includes('aggregate')) return null;
  if (error) return <Alert type="error" showIcon message={String((error as Error).message)} />;
  if (!data) return null;
  const { settings, budget } = data;
  const label = (name: string) => resource.fields.find((f) => f.name === name)?.label ?? name;
  const used = budget.total.rho > 0 ? Math.min(100, (budget.spent.rho / budget.total.rho) * 100) : 100;
  const consumerCanAsk = contract.state === 'active' && contract.consumerOrgId === me.organization.id;
  // The provider's steward or a security officer sets the budget (the API decides on its own).
  const canSetBudget =
    (hasRole(me, 'data_steward') && me.organization.id === contract.providerOrgId) ||
    hasRole(me, 'security_officer');

  return (
    <Card
      title={<h2 className="card-title">{t('dp.title')}</h2>}
      data-testid="dp-panel"
      style={{ marginTop: 16 }}
      extra={
        canSetBudget ? (
          <Button size="small" onClick={() => setEditing(true)}>
            {t('dp.setBudget')}
          </Button>
        ) : null
      }
    >
      <Typography.Paragraph type="secondary">{t('dp.explain')}</Typography.Paragraph>
      <Descriptions bordered size="small" column={1} style={{ marginBottom: 12 }}>
        <Descriptions.Item label={t('dp.unit')}>
          {label(settings.unit)} <Mono>{settings.unit}</Mono>
        </Descriptions.Item>
        <Descriptions.Item label={t('dp.bounding')}>
          {t('dp.boundingText', { l0: settings.maxGroups, linf: settings.maxRowsPerGroup })}
        </Descriptions.Item>
        <Descriptions.Item label={t('dp.budget')}>
          <Space direction="vertical" size={4} style={{ width: '100%' }}>
            <span data-testid="dp-remaining">{budgetText(t, budget)}</span>
            <Progress
              percent={Number(used.toFixed(1))}
              size="small"
              status={used >= 100 ? 'exception' : 'normal'}
            />
            <Typography.Text type="secondary">
              {t(`dp.period.${budget.period}`)} · {t('dp.releases', { n: fmtNumber(budget.releases) })}
            </Typography.Text>
          </Space>
        </Descriptions.Item>
      </Descriptions>
      {consumerCanAsk ? (
        <DpQuery
          contract={contract}
          fields={contract.fields.filter((f) => f !== settings.unit)}
          numeric={Object.keys(settings.bounds).filter((f) => contract.fields.includes(f))}
          label={label}
          onReleased={reload}
        />
      ) : null}
      <BudgetModal
        open={editing}
        contractId={contract.id}
        budget={budget}
        onClose={() => setEditing(false)}
        onSaved={() => {
          setEditing(false);
          reload();
        }}
      />
    </Card>
  );
}

function BudgetModal({
  open,
  contractId,
  budget,
  onClose,
  onSaved,
}: {
  open: boolean;
  contractId: string;
  budget: DpBudget;
  onClose(): void;
  onSaved(): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ rho: number; period: DpBudget['period'] }>();
  const action = useAction();
  return (
    <FormModal
      open={open}
      title={t('dp.setBudget')}
      okText={t('common.save')}
      busy={action.busy}
      form={form}
      initialValues={{ rho: budget.total.rho, period: budget.period }}
      onCancel={onClose}
      onFinish={(v) =>
        action.run(async () => {
          await api.put(`/v1/gateway/contracts/${encodeURIComponent(contractId)}/dp/budget`, v);
          message.success(t('dp.budgetSaved'));
          onSaved();
        })
      }
    >
      <Typography.Paragraph type="secondary">{t('dp.budgetHint')}</Typography.Paragraph>
      <Form.Item
        name="rho"
        label={t('dp.totalRho')}
        rules={[
          { required: true, type: 'number', min: 0.000001, max: 1000, message: t('dp.totalRhoInvalid') },
        ]}
      >
        <InputNumber min={0.000001} max={1000} step={0.1} style={{ width: 160 }} />
      </Form.Item>
      <Form.Item name="period" label={t('dp.periodLabel')}>
        <Select options={PERIODS.map((p) => ({ value: p, label: t(`dp.period.${p}`) }))} />
      </Form.Item>
    </FormModal>
  );
}

function DpQuery({
  contract,
  fields,
  numeric,
  label,
  onReleased,
}: {
  contract: Contract;
  fields: string[];
  numeric: string[];
  label(name: string): string;
  onReleased(): void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<QueryForm>();
  const action = useAction<'preview' | 'release'>();
  const [preview, setPreview] = useState<DpPreview | null>(null);
  const [answer, setAnswer] = useState<{ metric: Metric; groupBy: string[]; result: DpAggregate } | null>(
    null,
  );
  const body = (v: QueryForm) => ({
    metrics: [parseMetric(v.metric)],
    ...(v.groupBy.length > 0 ? { groupBy: v.groupBy } : {}),
    rho: v.rho,
  });
  const url = (what: 'preview' | 'aggregate') =>
    `/v1/gateway/contracts/${encodeURIComponent(contract.id)}/dp/${what}`;
  const run = (what: 'preview' | 'release') =>
    action.run(async () => {
      const v = await form.validateFields();
      if (what === 'preview') {
        setPreview(await api.post<DpPreview>(url('preview'), body(v)));
        return;
      }
      const result = await api.post<DpAggregate>(url('aggregate'), body(v));
      setAnswer({ metric: parseMetric(v.metric), groupBy: v.groupBy, result });
      setPreview(null);
      onReleased();
    }, what);
  const options = metricOptions(t, numeric, label);

  return (
    <>
      <Form<QueryForm>
        form={form}
        layout="inline"
        initialValues={{ metric: 'count', groupBy: [], rho: 0.05 }}
        onValuesChange={() => setPreview(null)}
        style={{ rowGap: 8, marginBottom: 12 }}
      >
        <Form.Item name="metric" label={t('dp.metric')}>
          <Select aria-label={t('dp.metric')} style={{ minWidth: 160 }} options={options} />
        </Form.Item>
        <Form.Item name="groupBy" label={t('dp.groupBy')}>
          <Select
            aria-label={t('dp.groupBy')}
            mode="multiple"
            allowClear
            maxCount={3}
            style={{ minWidth: 180 }}
            options={fields.map((f) => ({ value: f, label: label(f) }))}
          />
        </Form.Item>
        <Form.Item
          name="rho"
          label={t('dp.rho')}
          rules={[{ required: true, type: 'number', min: 0.000001, max: 10, message: t('dp.rhoInvalid') }]}
        >
          <InputNumber aria-label={t('dp.rho')} min={0.000001} max={10} step={0.01} style={{ width: 110 }} />
        </Form.Item>
        <Space>
          <Button loading={action.running === 'preview'} onClick={() => void run('preview')}>
            {t('dp.preview')}
          </Button>
          <Button type="primary" loading={action.running === 'release'} onClick={() => void run('release')}>
            {t('dp.release')}
          </Button>
        </Space>
      </Form>
      {preview ? (
        <Alert
          type={preview.affordable ? 'info' : 'warning'}
          showIcon
          data-testid="dp-preview"
          style={{ marginBottom: 12 }}
          message={t(preview.affordable ? 'dp.previewText' : 'dp.previewTooDear', {
            rho: preview.cost.rho,
            epsilon: preview.cost.epsilon.toFixed(3),
            remaining: preview.remaining.rho,
            halfWidths: Object.entries(preview.ci95)
              .map(([k, w]) => `${k} ±${w === null ? '—' : fmtNumber(w)}`)
              .join('，'),
          })}
        />
      ) : null}
      {answer ? (
        <>
          <Typography.Paragraph type="secondary" data-testid="dp-spent">
            {t('dp.spentText', {
              rho: answer.result.spent.rho,
              epsilon: answer.result.spent.epsilon.toFixed(3),
              remaining: answer.result.remaining.rho,
            })}
          </Typography.Paragraph>
          <AnswerTable
            testId="dp-answer"
            rows={answer.result.rows}
            ci95={answer.result.ci95}
            groupBy={answer.groupBy}
            metrics={[
              {
                key: metricKey(answer.metric),
                title: metricLabel(t, answer.metric, label),
              },
            ]}
            label={label}
          />
        </>
      ) : null}
    </>
  );
}

const interval = (pair: number[] | null | undefined) =>
  pair && pair.length === 2 ? `[${fmtNumber(pair[0])}, ${fmtNumber(pair[1])}]` : '—';

/**
 * Released statistics as a table: the group columns, then each metric's value and — for a
 * differentially private answer — its 95% interval.
 */
export function AnswerTable({
  testId,
  rows,
  ci95,
  groupBy,
  metrics,
  label,
}: {
  testId: string;
  rows: Array<Record<string, string | number | null>>;
  ci95?: Array<Record<string, number[] | null>>;
  groupBy: string[];
  metrics: Array<{ key: string; title: string }>;
  label(name: string): string;
}) {
  const { t } = useTranslation();
  return (
    <Table<AnswerRow>
      size="small"
      data-testid={testId}
      rowKey={(_, i) => String(i)}
      pagination={false}
      scroll={{ x: 'max-content' }}
      dataSource={rows.map((row, i) => ({ row, ci: ci95?.[i] ?? {} }))}
      columns={[
        ...groupBy.map((g) => ({
          title: label(g),
          render: (_: unknown, r: AnswerRow) => String(r.row[g] ?? '—'),
        })),
        ...metrics.flatMap((m) => [
          {
            title: m.title,
            render: (_: unknown, r: AnswerRow) => {
              const value = r.row[m.key];
              return typeof value === 'number'
                ? fmtNumber(value)
                : value === null || value === undefined
                  ? '—'
                  : String(value);
            },
          },
          ...(ci95
            ? [
                {
                  title: `${m.title} · ${t('dp.ci95')}`,
                  render: (_: unknown, r: AnswerRow) => interval(r.ci[m.key]),
                },
              ]
            : []),
        ]),
      ]}
    />
  );
}
