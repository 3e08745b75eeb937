/**
 * Approved computations on a contract's page (issue 14 item 3): the consumer submits a named
 * statistic (metric and groups), the provider's steward approves it — and the security officer
 * when a touched field is g4 or more sensitive —, and from the first approval on the contract
 * runs only approved templates, each run audited. Filters with typed parameters are submitted
 * through the API (`POST /v1/gateway/contracts/{id}/templates`); the console lists and runs them.
 */
import { App, Button, Card, Form, Input, InputNumber, Select, Space, Tag, Typography } from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { useAction, useLoader } from '../hooks.ts';
import { ReasonModal } from '../pages/Applications.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { Contract, DpAggregate, QueryTemplate, Resource } from '../types.ts';
import { ListTable, StateTag } from './common.tsx';
import { AnswerTable, type Metric, metricLabel, metricOptions, parseMetric } from './DpPanel.tsx';
import { FormModal } from './FormModal.tsx';

/** A template as the API answers it; its metrics are the DP metric shapes it was submitted with. */
type Template = Omit<QueryTemplate, 'metrics'> & { metrics: Metric[] };

interface Run {
  template: Template;
  rows: Array<Record<string, string | number | null>>;
  ci95?: DpAggregate['ci95'];
}

interface SubmitForm {
  name: string;
  metric: string;
  groupBy: string[];
}

const NUMERIC = new Set(['integer', 'decimal']);

export function TemplatesPanel({
  contract,
  resource,
  onSpent,
}: {
  contract: Contract;
  resource: Resource;
  /** A DP template's run spent from the contract's budget. */
  onSpent(): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const load = useCallback(
    (signal: AbortSignal) =>
      api.get<{ items: Template[] }>(
        `/v1/gateway/contracts/${encodeURIComponent(contract.id)}/templates`,
        undefined,
        signal,
      ),
    [contract.id],
  );
  const { data, loading, reload } = useLoader(load);
  const action = useAction<string>();
  const [submitting, setSubmitting] = useState(false);
  const [rejecting, setRejecting] = useState<Template | null>(null);
  const [rho, setRho] = useState<number | null>(0.05);
  const [run, setRun] = useState<Run | null>(null);
  const [form] = Form.useForm<SubmitForm>();
  if (!contract.operations.includes('aggregate')) return null;

  const label = (name: string) => resource.fields.find((f) => f.name === name)?.label ?? name;
  const metricTitle = (m: Metric) => metricLabel(t, m, label);
  const consumerSide = contract.consumerOrgId === me.organization.id && contract.state === 'active';
  const decides = (tpl: Template) =>
    (tpl.state === 'submitted' &&
      hasRole(me, 'data_steward') &&
      me.organization.id === contract.providerOrgId) ||
    (tpl.state === 'security_review' && hasRole(me, 'security_officer'));
  const numeric = contract.fields.filter((f) =>
    NUMERIC.has(resource.fields.find((x) => x.name === f)?.dataType ?? ''),
  );

  const submit = (v: SubmitForm) =>
    action.run(async () => {
      await api.post(`/v1/gateway/contracts/${encodeURIComponent(contract.id)}/templates`, {
        name: v.name.trim(),
        metrics: [parseMetric(v.metric)],
        ...(v.groupBy.length > 0 ? { groupBy: v.groupBy } : {}),
      });
      setSubmitting(false);
      message.success(t('templates.submitted'));
      reload();
    }, 'submit');
  const approve = (tpl: Template) =>
    action.run(async () => {
      await api.post(`/v1/gateway/templates/${encodeURIComponent(tpl.id)}/approve`, {});
      message.success(t('templates.approved', { name: tpl.name }));
      reload();
    }, tpl.id);
  const execute = (tpl: Template) =>
    action.run(async () => {
      const answer = await api.post<{ result: unknown }>(
        `/v1/gateway/templates/${encodeURIComponent(tpl.id)}/run`,
        {
          ...(tpl.mode === 'dp' ? { rho } : {}),
        },
      );
      // A DP run answers the DP release ({rows, ci95}); an exact one the suppressed aggregate ({groups}).
      const result = answer.result as Partial<DpAggregate> & { groups?: Run['rows'] };
      setRun({
        template: tpl,
        rows: result.rows ?? result.groups ?? [],
        ...(result.ci95 ? { ci95: result.ci95 } : {}),
      });
      if (tpl.mode === 'dp') onSpent();
    }, tpl.id);
  // Metric keys as each mode names them: the DP release says mean_, the exact aggregate avg_.
  const keyOf = (m: Metric, mode: Template['mode']) =>
    m.fn === 'count' ? 'count' : `${m.fn === 'mean' && mode === 'exact' ? 'avg' : m.fn}_${m.field}`;

  return (
    <Card
      title={<h2 className="card-title">{t('templates.title')}</h2>}
      data-testid="templates-panel"
      style={{ marginTop: 16 }}
      extra={
        consumerSide ? (
          <Button size="small" onClick={() => setSubmitting(true)}>
            {t('templates.submit')}
          </Button>
        ) : null
      }
    >
      <Typography.Paragraph type="secondary">{t('templates.explain')}</Typography.Paragraph>
      <ListTable<Template>
        toolbar={{ id: 'query-templates', onRefresh: reload, refreshing: loading }}
        size="small"
        loading={loading}
        dataSource={data?.items ?? []}
        empty={t('templates.none')}
        columns={[
          { title: t('templates.name'), dataIndex: 'name' },
          {
            title: t('dp.metric'),
            render: (_: unknown, tpl) => tpl.metrics.map(metricTitle).join('、'),
          },
          {
            title: t('dp.groupBy'),
            render: (_: unknown, tpl) => (tpl.groupBy.length ? tpl.groupBy.map(label).join('、') : '—'),
          },
          {
            title: t('templates.mode'),
            render: (_: unknown, tpl) => <Tag>{t(`templates.modes.${tpl.mode}`)}</Tag>,
            exportValue: (tpl) => t(`templates.modes.${tpl.mode}`),
          },
          {
            title: t('templates.state'),
            render: (_: unknown, tpl) => <StateTag state={tpl.state} />,
            exportValue: (tpl) => t(`state.${tpl.state}`, { defaultValue: tpl.state }),
          },
          {
            title: t('common.actions'),
            render: (_: unknown, tpl) => (
              <Space size={4} wrap>
                {decides(tpl) ? (
                  <>
                    <Button
                      size="small"
                      type="primary"
                      loading={action.running === tpl.id}
                      aria-label={t('templates.approveNamed', { name: tpl.name })}
                      onClick={() => void approve(tpl)}
                    >
                      {t('templates.approve')}
                    </Button>
                    <Button
                      size="small"
                      danger
                      aria-label={t('templates.rejectNamed', { name: tpl.name })}
                      onClick={() => setRejecting(tpl)}
                    >
                      {t('templates.reject')}
                    </Button>
                  </>
                ) : null}
                {consumerSide && tpl.state === 'approved' ? (
                  <Button
                    size="small"
                    loading={action.running === tpl.id}
                    aria-label={t('templates.runNamed', { name: tpl.name })}
                    onClick={() => void execute(tpl)}
                  >
                    {t('templates.run')}
                  </Button>
                ) : null}
              </Space>
            ),
          },
        ]}
      />
      {consumerSide && data?.items.some((tpl) => tpl.state === 'approved' && tpl.mode === 'dp') ? (
        <Space style={{ marginTop: 12 }}>
          <span>{t('templates.rhoForRuns')}</span>
          <InputNumber
            aria-label={t('templates.rhoForRuns')}
            min={0.000001}
            max={10}
            step={0.01}
            value={rho}
            onChange={setRho}
          />
        </Space>
      ) : null}
      {run ? (
        <div style={{ marginTop: 12 }}>
          <Typography.Paragraph type="secondary">
            {t('templates.result', { name: run.template.name })}
          </Typography.Paragraph>
          <AnswerTable
            testId="template-answer"
            rows={run.rows}
            {...(run.ci95 ? { ci95: run.ci95 } : {})}
            groupBy={run.template.groupBy}
            metrics={run.template.metrics.map((m) => ({
              key: keyOf(m, run.template.mode),
              title: metricTitle(m),
            }))}
            label={label}
          />
        </div>
      ) : null}
      <FormModal<SubmitForm>
        open={submitting}
        title={t('templates.submit')}
        okText={t('templates.submitOk')}
        busy={action.running === 'submit'}
        form={form}
        initialValues={{ metric: 'count', groupBy: [] }}
        onFinish={submit}
        onCancel={() => setSubmitting(false)}
      >
        <Form.Item
          name="name"
          label={t('templates.name')}
          rules={[{ required: true, whitespace: true, message: t('templates.nameRequired') }]}
        >
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item name="metric" label={t('dp.metric')}>
          <Select options={metricOptions(t, numeric, label)} />
        </Form.Item>
        <Form.Item name="groupBy" label={t('dp.groupBy')}>
          <Select
            mode="multiple"
            allowClear
            maxCount={3}
            options={contract.fields.map((f) => ({ value: f, label: label(f) }))}
          />
        </Form.Item>
        <Typography.Paragraph type="secondary">{t('templates.paramsHint')}</Typography.Paragraph>
      </FormModal>
      <ReasonModal
        open={rejecting !== null}
        title={t('templates.rejectNamed', { name: rejecting?.name ?? '' })}
        okText={t('templates.reject')}
        danger
        onClose={() => setRejecting(null)}
        onSubmit={async (reason) => {
          if (!rejecting) return;
          await api.post(`/v1/gateway/templates/${encodeURIComponent(rejecting.id)}/reject`, { reason });
          setRejecting(null);
          reload();
        }}
      />
    </Card>
  );
}
