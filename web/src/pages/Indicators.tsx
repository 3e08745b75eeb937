import {
  App,
  Button,
  Card,
  Col,
  Empty,
  Flex,
  Grid,
  Input,
  InputNumber,
  List,
  Row,
  Select,
  Space,
  Statistic,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, fetchBlob } from '../api.ts';
import { Chart } from '../components/Chart.tsx';
import { ErrorAlert, ListTable, Mono, PageTitle } from '../components/common.tsx';
import { RegionMap } from '../components/RegionMap.tsx';
import { fmtNumber, fmtPercent } from '../format.ts';
import { useAction, useLoader } from '../hooks.ts';
import { useLocation } from '../router.tsx';
import { ReasonModal } from './Applications.tsx';

/**
 * The indicator dictionary, one-form reporting (一表通) and the evaluation index (issue #23): the
 * dictionary and the catalogue with its burden, a grassroots unit's merged, pre-filled to-do
 * (laid out for a phone: one column of items), the reports waiting for the reader's sign-off or
 * acceptance, and an index's results by unit.
 */

interface Indicator {
  code: string;
  version: number;
  nameZh: string;
  nameEn: string;
  unit: string;
  dataType: string;
  period: string;
  level: string;
  source: { kind: string; metric?: string };
  state: string;
}

interface Burden {
  forms: number;
  onCatalogue: number;
  items: number;
  indicators: number;
}

interface Catalogue {
  forms: Array<{
    code: string;
    nameZh: string;
    nameEn: string;
    year: number;
    basis: string;
    state: string;
    indicators: unknown[];
  }>;
  measure: Burden;
}

interface Todo {
  forms: Array<{
    code: string;
    nameZh: string;
    nameEn: string;
    submitted: boolean;
    dueOn: string;
    overdue: boolean;
  }>;
  items: Array<{
    code: string;
    nameZh: string;
    nameEn: string;
    unit: string;
    forms: string[];
    sharedSource: { resourceId: string; field: string } | null;
    prefill: {
      value: number;
      source: 'reported' | 'shared';
      submissionId: string | null;
      contractId: string | null;
    } | null;
  }>;
  measure: Burden & { prefilled: number; prefilledShare: number; fromShared: number };
}

/** POST /v1/forms/todo/prefill: what shared data filled, and why it could not fill the rest. */
interface PrefillResult {
  filled: Array<{ code: string; value: number; contractId: string }>;
  refused: Array<{ code: string; reason: string }>;
  todo: Todo;
}

/** GET /v1/forms/reminders: reports of ended periods not yet made, due soon or overdue. */
export interface Reminders {
  unitCode: string;
  items: Array<{
    formCode: string;
    nameZh: string;
    nameEn: string;
    period: string;
    dueOn: string;
    overdue: boolean;
    returned: boolean;
  }>;
}

interface IndexDef {
  code: string;
  nameZh: string;
  nameEn: string;
  state: string;
  dimensions: Array<{ code: string; nameZh: string; nameEn: string }>;
}

interface Results {
  units: Array<{
    unitCode: string;
    score: number | null;
    rank: number | null;
    coverage: number;
    change: number | null;
    dimensions: Array<{ code: string; score: number | null }>;
  }>;
}

function useName() {
  const { i18n } = useTranslation();
  return (x: { nameZh: string; nameEn: string }) => (i18n.language === 'en' ? x.nameEn : x.nameZh);
}

export function Indicators() {
  const { t } = useTranslation();
  return (
    <>
      <PageTitle title={t('nav.indicators')} sub={t('indicators.sub')} help="indicators" />
      <Card>
        <Tabs
          items={[
            { key: 'report', label: t('indicators.tabs.report'), children: <Report /> },
            { key: 'dictionary', label: t('indicators.tabs.dictionary'), children: <Dictionary /> },
            { key: 'forms', label: t('indicators.tabs.forms'), children: <Forms /> },
            { key: 'signoffs', label: t('indicators.tabs.signoffs'), children: <Signoffs /> },
            { key: 'evaluation', label: t('indicators.tabs.evaluation'), children: <Evaluation /> },
          ]}
        />
      </Card>
    </>
  );
}

function Dictionary() {
  const { t } = useTranslation();
  const name = useName();
  const load = useCallback(
    (signal: AbortSignal) => api.get<Indicator[]>('/v1/indicators', undefined, signal),
    [],
  );
  const { data, error, loading, reload } = useLoader(load);
  return (
    <>
      <ErrorAlert error={error} onRetry={reload} />
      <ListTable<Indicator>
        toolbar={{ id: 'indicators', onRefresh: reload, refreshing: loading }}
        empty={t('common.none')}
        rowKey="code"
        size="small"
        loading={loading}
        dataSource={data ?? []}
        pagination={{ pageSize: 10 }}
        columns={[
          { title: t('indicators.code'), dataIndex: 'code', render: (v: string) => <Mono>{v}</Mono> },
          { title: t('indicators.name'), render: (_, r) => name(r) },
          { title: t('indicators.unit'), dataIndex: 'unit' },
          { title: t('indicators.period'), dataIndex: 'period' },
          { title: t('indicators.level'), dataIndex: 'level' },
          {
            title: t('indicators.source'),
            render: (_, r) =>
              r.source.kind === 'platform' && r.source.metric
                ? `${t('indicators.sourceKind.platform')}：${t(`indicators.platformMetric.${r.source.metric}`)}`
                : t(`indicators.sourceKind.${r.source.kind}`),
          },
          { title: t('indicators.version'), dataIndex: 'version' },
          { title: t('indicators.state'), dataIndex: 'state', render: (v: string) => <Tag>{v}</Tag> },
        ]}
      />
    </>
  );
}

function BurdenStats({ measure }: { measure: Burden }) {
  const { t } = useTranslation();
  return (
    <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
      <Col xs={12} md={6}>
        <Statistic title={t('indicators.measure.forms')} value={measure.forms} />
      </Col>
      <Col xs={12} md={6}>
        <Statistic title={t('indicators.measure.onCatalogue')} value={measure.onCatalogue} />
      </Col>
      <Col xs={12} md={6}>
        <Statistic title={t('indicators.measure.items')} value={measure.items} />
      </Col>
      <Col xs={12} md={6}>
        <Statistic title={t('indicators.measure.indicators')} value={measure.indicators} />
      </Col>
    </Row>
  );
}

function Forms() {
  const { t } = useTranslation();
  const name = useName();
  const load = useCallback((signal: AbortSignal) => api.get<Catalogue>('/v1/forms', undefined, signal), []);
  const { data, error, loading, reload } = useLoader(load);
  return (
    <>
      <ErrorAlert error={error} onRetry={reload} />
      {data && <BurdenStats measure={data.measure} />}
      {data && <CatalogueComparison years={[...new Set(data.forms.map((f) => f.year))].sort()} />}
      <ListTable
        toolbar={{ id: 'report-forms', onRefresh: reload, refreshing: loading }}
        empty={t('common.none')}
        rowKey="code"
        size="small"
        loading={loading}
        dataSource={data?.forms ?? []}
        pagination={{ pageSize: 10 }}
        columns={[
          { title: t('indicators.code'), dataIndex: 'code', render: (v: string) => <Mono>{v}</Mono> },
          { title: t('indicators.name'), render: (_, r) => name(r) },
          { title: t('indicators.year'), dataIndex: 'year' },
          { title: t('indicators.basis'), dataIndex: 'basis' },
          { title: t('indicators.items'), render: (_, r) => r.indicators.length },
          { title: t('indicators.state'), dataIndex: 'state', render: (v: string) => <Tag>{v}</Tag> },
        ]}
      />
    </>
  );
}

type Measure = keyof Burden | 'prefilledShare';
const COMPARED: Measure[] = ['forms', 'onCatalogue', 'items', 'indicators', 'prefilledShare'];

/**
 * Two years of the catalogue side by side (the latest two by default): forms, item slots and
 * indicators as GET /v1/forms?year= measures them, and how much of a community's to-do was already
 * held (GET /v1/forms/todo), with the change — the before and after of merging the forms.
 */
function CatalogueComparison({ years }: { years: number[] }) {
  const { t } = useTranslation();
  const [chosen, setChosen] = useState<[number | undefined, number | undefined]>([
    years.at(-2),
    years.at(-1),
  ]);
  const [unitCode, setUnitCode] = useState('');
  const [before, after] = chosen;
  const both = before !== undefined && after !== undefined;
  const loadMeasures = useCallback(
    (signal: AbortSignal) =>
      Promise.all([before, after].map((year) => api.get<Catalogue>('/v1/forms', { year }, signal))),
    [before, after],
  );
  const measures = useLoader(both ? loadMeasures : null);
  const loadTodos = useCallback(
    (signal: AbortSignal) =>
      Promise.all(
        [before, after].map((year) =>
          api.get<Todo>('/v1/forms/todo', { unitCode, period: String(year) }, signal),
        ),
      ),
    [before, after, unitCode],
  );
  const todos = useLoader(both && /^\d{12}$/.test(unitCode) ? loadTodos : null);
  if (years.length < 2) return null;
  const value = (i: 0 | 1, m: Measure) =>
    m === 'prefilledShare' ? todos.data?.[i]?.measure.prefilledShare : measures.data?.[i]?.measure[m];
  const show = (m: Measure, v: number | undefined) => (m === 'prefilledShare' ? fmtPercent(v) : fmtNumber(v));
  const change = (m: Measure) => {
    const [a, b] = [value(0, m), value(1, m)];
    if (a === undefined || b === undefined) return '—';
    // A share changes by points; a count by its percentage of last year's.
    if (m === 'prefilledShare') return `${b >= a ? '+' : ''}${Math.round((b - a) * 100)} pp`;
    return a === 0 ? '—' : `${b >= a ? '+' : ''}${fmtPercent((b - a) / a)}`;
  };
  const yearSelect = (i: 0 | 1) => (
    <Select
      aria-label={t(i === 0 ? 'indicators.compare.before' : 'indicators.compare.after')}
      size="small"
      value={chosen[i]}
      onChange={(y: number) => setChosen(i === 0 ? [y, after] : [before, y])}
      options={years.map((y) => ({ value: y, label: y }))}
    />
  );
  return (
    <Card
      size="small"
      title={t('indicators.compare.title')}
      style={{ marginBottom: 16 }}
      data-testid="catalogue-compare"
    >
      <ErrorAlert error={measures.error ?? todos.error} />
      <Flex wrap gap={8} align="center" style={{ marginBottom: 8 }}>
        {yearSelect(0)}→{yearSelect(1)}
        <Input
          aria-label={t('indicators.compare.unitCode')}
          placeholder={t('indicators.compare.unitCode')}
          size="small"
          style={{ maxWidth: 220 }}
          value={unitCode}
          onChange={(e) => setUnitCode(e.target.value.trim())}
        />
      </Flex>
      <Table
        size="small"
        pagination={false}
        rowKey="measure"
        loading={measures.loading}
        dataSource={COMPARED.map((measure) => ({ measure }))}
        columns={[
          { title: t('indicators.compare.measure'), render: (_, r) => t(`indicators.compare.${r.measure}`) },
          { title: before, align: 'right', render: (_, r) => show(r.measure, value(0, r.measure)) },
          { title: after, align: 'right', render: (_, r) => show(r.measure, value(1, r.measure)) },
          { title: t('indicators.compare.change'), align: 'right', render: (_, r) => change(r.measure) },
        ]}
      />
    </Card>
  );
}

interface Submission {
  id: string;
  formCode: string;
  period: string;
  unitCode: string;
  state: string;
  chain: {
    round: number;
    steps: Array<{ level: string; unitCode: string; state: string }>;
    awaiting: { by: 'division' | 'department'; level: string | null; unitCode: string | null } | null;
  };
}

/**
 * What waits for the reader: reports that have climbed to their division (sign off or return)
 * and their organization's reports signed off all the way up (accept or return). The server
 * decides who may act; a refusal (another reviewer was first) is said and the list reloaded.
 */
function Signoffs() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const load = useCallback(
    (signal: AbortSignal) =>
      api.get<{ division: string | null; signoff: Submission[]; accept: Submission[] }>(
        '/v1/forms/signoffs',
        undefined,
        signal,
      ),
    [],
  );
  const { data, error, loading, reload } = useLoader(load);
  const action = useAction<string>();
  const [returning, setReturning] = useState<Submission | null>(null);
  // On a phone the chain and the buttons would sit off-screen in a sideways-scrolling table: one
  // card per report instead, the chain and the buttons inside it.
  const compact = !Grid.useBreakpoint().md;
  const rows = [
    ...(data?.signoff ?? []).map((s) => ({ ...s, act: 'signoff' as const })),
    ...(data?.accept ?? []).map((s) => ({ ...s, act: 'accept' as const })),
  ];
  const act = (s: Submission, what: 'signoff' | 'accept') =>
    action.run(async () => {
      try {
        await api.post(`/v1/forms/submissions/${encodeURIComponent(s.id)}/${what}`, {});
        message.success(t(`indicators.signoffs.${what}Done`));
      } finally {
        reload();
      }
    }, `${s.id}:${what}`);
  type Row = (typeof rows)[number];
  const chain = (r: Row) => (
    <Space size={4} wrap>
      {r.chain.steps.map((step) => (
        <Tag key={step.unitCode} color={step.state === 'signed' ? 'green' : undefined}>
          {step.unitCode} {t(`indicators.signoffs.state.${step.state}`)}
        </Tag>
      ))}
    </Space>
  );
  const buttons = (r: Row) => (
    <Space wrap>
      <Button
        type="primary"
        size="small"
        loading={action.running === `${r.id}:${r.act}`}
        onClick={() => act(r, r.act)}
      >
        {t(`indicators.signoffs.${r.act}`)}
      </Button>
      <Button size="small" danger onClick={() => setReturning(r)}>
        {t('indicators.signoffs.return')}
      </Button>
    </Space>
  );
  return (
    <>
      <ErrorAlert error={error} onRetry={reload} />
      <Typography.Paragraph type="secondary">
        {data?.division ? t('indicators.signoffs.division', { division: data.division }) : null}
      </Typography.Paragraph>
      {compact ? (
        <List
          data-testid="signoff-cards"
          loading={loading}
          locale={{ emptyText: t('indicators.signoffs.none') }}
          dataSource={rows}
          rowKey={(r) => `${r.id}:${r.act}`}
          renderItem={(r) => (
            <List.Item>
              <Flex vertical gap={6} style={{ width: '100%' }}>
                <Flex wrap gap={8} align="center">
                  <Mono>{r.formCode}</Mono>
                  <Mono>{r.unitCode}</Mono>
                  <Typography.Text type="secondary">
                    {r.period} · {t('indicators.signoffs.round')} {r.chain.round}
                  </Typography.Text>
                </Flex>
                {chain(r)}
                {buttons(r)}
              </Flex>
            </List.Item>
          )}
        />
      ) : (
        <ListTable
          toolbar={{ id: 'report-signoffs', onRefresh: reload, refreshing: loading }}
          empty={t('indicators.signoffs.none')}
          rowKey={(r) => `${r.id}:${r.act}`}
          size="small"
          loading={loading}
          dataSource={rows}
          pagination={{ pageSize: 10 }}
          columns={[
            { title: t('indicators.code'), dataIndex: 'formCode', render: (v: string) => <Mono>{v}</Mono> },
            {
              title: t('indicators.signoffs.unit'),
              dataIndex: 'unitCode',
              render: (v: string) => <Mono>{v}</Mono>,
            },
            { title: t('indicators.period'), dataIndex: 'period' },
            { title: t('indicators.signoffs.chain'), render: (_, r) => chain(r) },
            { title: t('indicators.signoffs.round'), render: (_, r) => r.chain.round },
            { title: t('common.actions'), render: (_, r) => buttons(r) },
          ]}
        />
      )}
      <ReasonModal
        open={returning !== null}
        title={t('indicators.signoffs.returnTitle')}
        okText={t('indicators.signoffs.return')}
        danger
        onClose={() => setReturning(null)}
        onSubmit={async (reason) => {
          await api.post(`/v1/forms/submissions/${encodeURIComponent(returning!.id)}/return`, { reason });
          message.success(t('indicators.signoffs.returnDone'));
          setReturning(null);
          reload();
        }}
      />
    </>
  );
}

/** The grassroots entry page: one merged list, pre-filled values marked, one submit per form. */
function Report() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const name = useName();
  // The bell's reminders open this page on their unit and period.
  const { search } = useLocation();
  const [unitCode, setUnitCode] = useState(search.get('unit') ?? '');
  const [period, setPeriod] = useState(search.get('period') ?? String(new Date().getFullYear()));
  const [query, setQuery] = useState<{ unitCode: string; period: string } | null>(() =>
    search.get('unit') && search.get('period')
      ? { unitCode: search.get('unit')!, period: search.get('period')! }
      : null,
  );
  const [values, setValues] = useState<Record<string, number>>({});
  const load = useCallback(
    (signal: AbortSignal) => api.get<Todo>('/v1/forms/todo', query ?? undefined, signal),
    [query],
  );
  const { data, error, loading, reload } = useLoader(query ? load : null);
  const loadReminders = useCallback(
    (signal: AbortSignal) =>
      api.get<Reminders>('/v1/forms/reminders', query ? { unitCode: query.unitCode } : undefined, signal),
    [query],
  );
  const due = useLoader(query ? loadReminders : null);
  const submission = useAction<string>();
  const pulling = useAction<string>();
  const [refused, setRefused] = useState<PrefillResult['refused']>([]);

  async function pullShared() {
    await pulling.run(async () => {
      const result = await api.post<PrefillResult>('/v1/forms/todo/prefill', query);
      setRefused(result.refused);
      message.success(
        t('indicators.report.pulled', { filled: result.filled.length, refused: result.refused.length }),
      );
      reload();
    }, 'pull');
  }
  const refusedReason = (code: string) => {
    const reason = refused.find((r) => r.code === code)?.reason;
    if (!reason) return null;
    const known = ['not_keyed', 'no_contract', 'no_row', 'several_rows', 'not_a_number', 'fails_rule'];
    return known.includes(reason)
      ? t(`indicators.report.refused.${reason}` as 'indicators.report.refused.no_contract')
      : t('indicators.report.refused.gateway', { code: reason });
  };

  async function submit(formCode: string) {
    const form = data!.items.filter((i) => i.forms.includes(formCode) && !i.prefill);
    const entered = Object.fromEntries(
      form.filter((i) => values[i.code] !== undefined).map((i) => [i.code, values[i.code]!]),
    );
    await submission.run(async () => {
      await api.post(`/v1/forms/${encodeURIComponent(formCode)}/submissions`, { ...query, values: entered });
      message.success(t('indicators.report.submitted'));
      setValues({});
      reload();
      due.reload();
    }, formCode);
  }

  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Flex wrap gap={8}>
        <Input
          aria-label={t('indicators.report.unitCode')}
          placeholder={t('indicators.report.unitCode')}
          value={unitCode}
          onChange={(e) => setUnitCode(e.target.value.trim())}
          style={{ maxWidth: 220 }}
        />
        <Input
          aria-label={t('indicators.period')}
          value={period}
          onChange={(e) => setPeriod(e.target.value.trim())}
          style={{ maxWidth: 120 }}
        />
        <Button type="primary" disabled={!unitCode || !period} onClick={() => setQuery({ unitCode, period })}>
          {t('indicators.report.load')}
        </Button>
      </Flex>
      <ErrorAlert error={error} onRetry={reload} />
      {!query && <Empty description={t('indicators.report.hint')} />}
      {due.data && due.data.items.length > 0 && (
        <List
          size="small"
          data-testid="report-reminders"
          header={<Typography.Text strong>{t('indicators.report.reminders')}</Typography.Text>}
          dataSource={due.data.items}
          renderItem={(r) => (
            <List.Item
              actions={[
                <Button
                  key="open"
                  size="small"
                  onClick={() => {
                    setPeriod(r.period);
                    setQuery({ unitCode: due.data!.unitCode, period: r.period });
                  }}
                >
                  {t('indicators.report.fill')}
                </Button>,
              ]}
            >
              <Space wrap>
                <Typography.Text>
                  {name(r)} · {r.period}
                </Typography.Text>
                <Typography.Text type="secondary">
                  {t('indicators.report.dueOn', { date: r.dueOn })}
                </Typography.Text>
                {r.overdue ? <Tag color="red">{t('indicators.report.overdue')}</Tag> : null}
                {r.returned ? <Tag color="orange">{t('indicators.report.returned')}</Tag> : null}
              </Space>
            </List.Item>
          )}
        />
      )}
      {data && (
        <>
          {data.items.some((i) => i.sharedSource && !i.prefill) && (
            <Flex wrap gap={8} align="center">
              <Button
                data-testid="pull-shared"
                loading={pulling.running === 'pull'}
                onClick={() => void pullShared()}
              >
                {t('indicators.report.pull')}
              </Button>
              <Typography.Text type="secondary">{t('indicators.report.pullHint')}</Typography.Text>
            </Flex>
          )}
          <Typography.Text>
            {t('indicators.report.summary', {
              forms: data.measure.forms,
              items: data.measure.items,
              indicators: data.measure.indicators,
              prefilled: fmtPercent(data.measure.prefilledShare),
            })}
          </Typography.Text>
          <List
            loading={loading}
            dataSource={data.items}
            renderItem={(item) => (
              <List.Item>
                <Flex vertical gap={4} style={{ width: '100%' }}>
                  <Flex justify="space-between" wrap gap={8}>
                    <Typography.Text strong>{name(item)}</Typography.Text>
                    <Mono>{item.code}</Mono>
                  </Flex>
                  {item.prefill ? (
                    <Space>
                      <Typography.Text>
                        {fmtNumber(item.prefill.value)} {item.unit}
                      </Typography.Text>
                      {item.prefill.source === 'shared' ? (
                        <Tag color="blue" data-testid={`shared-${item.code}`}>
                          {t('indicators.report.fromShared', { contract: item.prefill.contractId })}
                        </Tag>
                      ) : (
                        <Tag color="green">{t('indicators.report.prefilled')}</Tag>
                      )}
                    </Space>
                  ) : (
                    <InputNumber
                      aria-label={name(item)}
                      style={{ width: '100%' }}
                      addonAfter={item.unit}
                      value={values[item.code] ?? null}
                      onChange={(v) =>
                        setValues((s) => {
                          const next = { ...s };
                          if (v === null) delete next[item.code];
                          else next[item.code] = Number(v);
                          return next;
                        })
                      }
                    />
                  )}
                  {!item.prefill && refusedReason(item.code) && (
                    <Typography.Text type="warning">{refusedReason(item.code)}</Typography.Text>
                  )}
                  <Typography.Text type="secondary">{item.forms.join(' · ')}</Typography.Text>
                </Flex>
              </List.Item>
            )}
          />
          <Flex wrap gap={8}>
            {data.forms.map((f) => (
              <Flex key={f.code} vertical gap={2}>
                <Button
                  type="primary"
                  disabled={f.submitted}
                  loading={submission.running === f.code}
                  onClick={() => void submit(f.code)}
                >
                  {f.submitted
                    ? t('indicators.report.done', { form: name(f) })
                    : t('indicators.report.submit', { form: name(f) })}
                </Button>
                <Space size={4}>
                  <Typography.Text type="secondary">
                    {t('indicators.report.dueOn', { date: f.dueOn })}
                  </Typography.Text>
                  {f.overdue ? <Tag color="red">{t('indicators.report.overdue')}</Tag> : null}
                </Space>
              </Flex>
            ))}
          </Flex>
        </>
      )}
    </Space>
  );
}

function Evaluation() {
  const { t } = useTranslation();
  const name = useName();
  const [code, setCode] = useState<string>();
  const [period, setPeriod] = useState(String(new Date().getFullYear()));
  const loadIndexes = useCallback(
    (signal: AbortSignal) => api.get<IndexDef[]>('/v1/evaluation/indexes', undefined, signal),
    [],
  );
  const indexes = useLoader(loadIndexes);
  const loadResults = useCallback(
    (signal: AbortSignal) =>
      api.get<Results>(
        `/v1/evaluation/indexes/${encodeURIComponent(code!)}/results`,
        { period, previousPeriod: /^\d{4}$/.test(period) ? String(Number(period) - 1) : undefined },
        signal,
      ),
    [code, period],
  );
  const results = useLoader(code && /^\d{4}/.test(period) ? loadResults : null);
  const years = trendYears(period);
  const loadTrend = useCallback(
    (signal: AbortSignal) =>
      Promise.all(
        trendYears(period).map((y) =>
          api.get<Results>(
            `/v1/evaluation/indexes/${encodeURIComponent(code!)}/results`,
            { period: y },
            signal,
          ),
        ),
      ),
    [code, period],
  );
  const trend = useLoader(code && years.length > 0 ? loadTrend : null);
  const published = (indexes.data ?? []).filter((i) => i.state === 'published');
  const dimensions = results.data?.units[0]?.dimensions.map((d) => d.code) ?? [];
  const score = (v: number | null) => (v === null ? '—' : v.toFixed(4));
  const report = useAction();
  const openReport = () =>
    report.run(async () => {
      const query = new URLSearchParams({ period });
      if (/^\d{4}$/.test(period)) query.set('previousPeriod', String(Number(period) - 1));
      const blob = await fetchBlob(`/v1/evaluation/indexes/${encodeURIComponent(code!)}/report?${query}`);
      window.open(URL.createObjectURL(blob), '_blank', 'noopener');
    });
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Flex wrap gap={8}>
        <Select
          aria-label={t('indicators.evaluation.index')}
          placeholder={t('indicators.evaluation.index')}
          style={{ minWidth: 240 }}
          value={code}
          onChange={setCode}
          options={published.map((i) => ({ value: i.code, label: name(i) }))}
        />
        <Input
          aria-label={t('indicators.period')}
          value={period}
          onChange={(e) => setPeriod(e.target.value.trim())}
          style={{ maxWidth: 120 }}
        />
        <Button
          data-testid="evaluation-report"
          disabled={!results.data || results.data.units.length === 0}
          loading={report.busy}
          onClick={() => void openReport()}
        >
          {t('indicators.evaluation.report')}
        </Button>
      </Flex>
      <ErrorAlert error={indexes.error ?? results.error} />
      {results.data && results.data.units.some((u) => u.score !== null) && (
        <EvaluationCharts
          index={published.find((i) => i.code === code)}
          results={results.data}
          years={years}
          trend={trend.data ?? null}
        />
      )}
      <ListTable
        toolbar={{ id: 'evaluation', onRefresh: results.reload, refreshing: results.loading }}
        empty={t('common.none')}
        rowKey="unitCode"
        size="small"
        loading={results.loading}
        dataSource={results.data?.units ?? []}
        pagination={{ pageSize: 10 }}
        columns={[
          {
            title: t('indicators.evaluation.rank'),
            dataIndex: 'rank',
            render: (v: number | null) => v ?? '—',
          },
          {
            title: t('indicators.evaluation.unit'),
            dataIndex: 'unitCode',
            render: (v: string) => <Mono>{v}</Mono>,
          },
          { title: t('indicators.evaluation.score'), dataIndex: 'score', render: score },
          { title: t('indicators.evaluation.change'), dataIndex: 'change', render: score },
          {
            title: t('indicators.evaluation.coverage'),
            dataIndex: 'coverage',
            render: (v: number) => fmtPercent(v),
          },
          ...dimensions.map((d, i) => ({
            title: d,
            key: d,
            render: (_: unknown, r: Results['units'][number]) => score(r.dimensions[i]?.score ?? null),
          })),
        ]}
      />
    </Space>
  );
}

/** The trend's periods: the five years up to a yearly period (none for quarters or months). */
function trendYears(period: string): string[] {
  return /^\d{4}$/.test(period) ? Array.from({ length: 5 }, (_, i) => String(Number(period) - 4 + i)) : [];
}

/** How many units the charts draw: the best ranked, so the lines and areas stay readable. */
const CHART_UNITS = 5;

/** A radar of each dimension for the best-ranked units, and their scores over five years. */
function EvaluationCharts({
  index,
  results,
  years,
  trend,
}: {
  index: IndexDef | undefined;
  results: Results;
  years: string[];
  trend: Results[] | null;
}) {
  const { t } = useTranslation();
  const name = useName();
  const top = results.units.filter((u) => u.score !== null).slice(0, CHART_UNITS);
  const dimensionName = (code: string) => {
    const d = index?.dimensions.find((x) => x.code === code);
    return d ? name(d) : code;
  };
  const radar = {
    tooltip: {},
    legend: { bottom: 0, type: 'scroll' },
    radar: {
      indicator: (top[0]?.dimensions ?? []).map((d) => ({ name: dimensionName(d.code), max: 1 })),
      radius: '60%',
    },
    series: [
      {
        type: 'radar',
        data: top.map((u) => ({ name: u.unitCode, value: u.dimensions.map((d) => d.score ?? 0) })),
      },
    ],
  };
  const lines = trend && {
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 40, right: 16, top: 16, bottom: 48 },
    xAxis: { type: 'category', data: years },
    yAxis: { type: 'value', min: 0, max: 1 },
    series: top.map((u) => ({
      name: u.unitCode,
      type: 'line',
      data: trend.map((r) => r.units.find((x) => x.unitCode === u.unitCode)?.score ?? null),
    })),
  };
  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} md={12}>
        <Card size="small" title={t('indicators.evaluation.radar')} data-testid="evaluation-radar">
          <Chart option={radar} label={t('indicators.evaluation.radar')} />
        </Card>
      </Col>
      <Col xs={24} md={12}>
        <Card size="small" title={t('indicators.evaluation.trend')} data-testid="evaluation-trend">
          {lines ? <Chart option={lines} label={t('indicators.evaluation.trend')} /> : null}
        </Card>
      </Col>
      <Col xs={24}>
        <RegionMap units={results.units} testId="evaluation-map" />
      </Col>
    </Row>
  );
}
