import { Alert, Card, Col, Empty, List, Row, Skeleton, Space, Statistic, Tag, Typography } from 'antd';
import type { EChartsCoreOption } from 'echarts/core';
import { useCallback, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { Chart } from '../components/Chart.tsx';
import { ErrorAlert, PageTitle } from '../components/common.tsx';
import { bilingual, fmtDateTime, fmtNumber } from '../format.ts';
import { collectAll, useLoader } from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { Application, Contract, MonitorAlert, Page, Resource, UsageSummary } from '../types.ts';
import { APPLICATION_STATES, GRADES } from '../types.ts';
import { SEVERITY_COLORS } from './Alerts.tsx';

const GRADE_COLORS: Record<string, string> = {
  core: '#c41d7f',
  important: '#cf1322',
  g4: '#d4380d',
  g3: '#d48806',
  g2: '#1677ff',
  g1: '#389e0d',
  unassessed: '#8c8c8c',
};

interface Dashboard {
  resources: { items: Resource[]; truncated: boolean };
  applications: { items: Application[]; truncated: boolean };
  contracts: { items: Contract[]; truncated: boolean };
  usage: UsageSummary;
  /** Open alerts, for the roles that read them (null for the others). */
  alerts: MonitorAlert[] | null;
}

export function Overview() {
  const { t, i18n } = useTranslation();
  const me = useMe();
  const alertReader = hasRole(me, 'security_officer', 'platform_admin', 'auditor');
  const load = useCallback(
    async (signal: AbortSignal): Promise<Dashboard> => {
      const [resources, applications, contracts, usage, alerts] = await Promise.all([
        collectAll((cursor) => api.get<Page<Resource>>('/v1/catalog/search', { limit: 100, cursor }, signal)),
        collectAll((cursor) =>
          api.get<Page<Application>>('/v1/applications', { limit: 200, cursor }, signal),
        ),
        collectAll((cursor) =>
          api.get<Page<Contract>>('/v1/contracts', { limit: 200, cursor, state: 'active' }, signal),
        ),
        api.get<UsageSummary>('/v1/gateway/usage', { days: 14 }, signal),
        alertReader
          ? api
              .get<Page<MonitorAlert>>('/v1/monitor/alerts', { state: 'open', limit: 200 }, signal)
              .then((p) => p.items)
          : Promise.resolve(null),
      ]);
      return { resources, applications, contracts, usage, alerts };
    },
    [alertReader],
  );
  const { data, error, loading, reload } = useLoader(load);
  const lang = i18n.language;

  const charts = useMemo(() => {
    if (!data) return null;
    const byTheme = new Map<string, { label: string; count: number }>();
    const byGrade = new Map<string, number>();
    for (const r of data.resources.items) {
      const entry = byTheme.get(r.theme) ?? { label: bilingual(r.themeLabel), count: 0 };
      entry.count++;
      byTheme.set(r.theme, entry);
      byGrade.set(r.grade, (byGrade.get(r.grade) ?? 0) + 1);
    }
    const themes = [...byTheme.values()].sort((a, b) => a.count - b.count);
    const byState = new Map<string, number>();
    for (const a of data.applications.items) byState.set(a.state, (byState.get(a.state) ?? 0) + 1);
    const days = data.usage.days;
    const consumers = [...data.usage.topConsumers].reverse();
    const theme: EChartsCoreOption = {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: {
        type: 'category',
        data: themes.map((x) => x.label),
        axisLabel: { width: 120, overflow: 'truncate' },
      },
      series: [
        {
          type: 'bar',
          name: t('overview.resources'),
          data: themes.map((x) => x.count),
          itemStyle: { color: '#0958d9' },
        },
      ],
    };
    const grade: EChartsCoreOption = {
      tooltip: { trigger: 'item' },
      legend: { bottom: 0, type: 'scroll' },
      series: [
        {
          type: 'pie',
          radius: ['40%', '68%'],
          center: ['50%', '45%'],
          data: GRADES.filter((g) => byGrade.has(g)).map((g) => ({
            name: t(`grade.${g}`),
            value: byGrade.get(g),
            itemStyle: { color: GRADE_COLORS[g] },
          })),
        },
      ],
    };
    const states: EChartsCoreOption = {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: {
        type: 'category',
        data: APPLICATION_STATES.map((s) => t(`state.${s}`)),
        axisLabel: { interval: 0, rotate: lang === 'en' ? 30 : 0 },
      },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        {
          type: 'bar',
          name: t('overview.applications'),
          data: APPLICATION_STATES.map((s) => byState.get(s) ?? 0),
          itemStyle: { color: '#722ed1' },
        },
      ],
    };
    const calls: EChartsCoreOption = {
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      grid: { left: 8, right: 16, top: 16, bottom: 32, containLabel: true },
      xAxis: { type: 'category', data: days.map((d) => d.date.slice(5)) },
      yAxis: [
        { type: 'value', name: t('overview.calls'), minInterval: 1 },
        { type: 'value', name: t('overview.rows'), minInterval: 1 },
      ],
      series: [
        {
          type: 'bar',
          name: t('overview.calls'),
          data: days.map((d) => d.requests),
          itemStyle: { color: '#0958d9' },
        },
        {
          type: 'line',
          name: t('overview.rows'),
          yAxisIndex: 1,
          data: days.map((d) => d.rows),
          itemStyle: { color: '#fa8c16' },
        },
      ],
    };
    const top: EChartsCoreOption = {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: { bottom: 0 },
      grid: { left: 8, right: 24, top: 8, bottom: 32, containLabel: true },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: {
        type: 'category',
        data: consumers.map((c) => c.name),
        axisLabel: { width: 140, overflow: 'truncate' },
      },
      series: [
        {
          type: 'bar',
          name: t('overview.calls'),
          data: consumers.map((c) => c.requests),
          itemStyle: { color: '#13c2c2' },
        },
        {
          type: 'bar',
          name: t('overview.rows'),
          data: consumers.map((c) => c.rows),
          itemStyle: { color: '#fa8c16' },
        },
      ],
    };
    return {
      theme,
      grade,
      states,
      calls,
      top,
      themeCount: themes.length,
      hasConsumers: consumers.length > 0,
      hasApplications: data.applications.items.length > 0,
      callsToday: days.at(-1)?.requests ?? 0,
      callsTotal: days.reduce((n, d) => n + d.requests, 0),
    };
  }, [data, t, lang]);

  const reviewer = hasRole(me, 'data_steward', 'security_officer');
  const waiting = data
    ? data.applications.items.filter((a) =>
        hasRole(me, 'security_officer')
          ? a.state === 'security_review'
          : a.state === 'submitted' && a.consumerOrgId !== me.organization.id,
      ).length
    : 0;

  return (
    <>
      <PageTitle
        title={t('nav.overview')}
        sub={t('overview.sub', { org: me.organization.name })}
        help="overview"
      />
      <ErrorAlert error={error} onRetry={reload} />
      {loading && !data ? <Skeleton active paragraph={{ rows: 8 }} /> : null}
      {data && charts ? (
        <Row gutter={[16, 16]}>
          <Col xs={12} md={6}>
            <Card>
              <Statistic title={t('overview.resources')} value={data.resources.items.length} />
            </Card>
          </Col>
          <Col xs={12} md={6}>
            {/* The to-do card opens the list it counts. */}
            <Link to="/applications" data-testid="overview-applications">
              <Card hoverable>
                <Statistic
                  title={reviewer ? t('overview.waitingForMe') : t('overview.applications')}
                  value={reviewer ? waiting : data.applications.items.length}
                />
              </Card>
            </Link>
          </Col>
          <Col xs={12} md={6}>
            <Link to="/contracts">
              <Card hoverable>
                <Statistic title={t('overview.activeContracts')} value={data.contracts.items.length} />
              </Card>
            </Link>
          </Col>
          <Col xs={12} md={6}>
            <Card>
              <Statistic
                title={t('overview.callsToday')}
                value={charts.callsToday}
                formatter={(v) => fmtNumber(Number(v))}
              />
            </Card>
          </Col>
          {data.resources.truncated || data.applications.truncated ? (
            <Col span={24}>
              <Alert type="info" showIcon message={t('overview.truncated')} />
            </Col>
          ) : null}
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('overview.byTheme')}</h2>}>
              {charts.themeCount ? (
                <Chart
                  option={charts.theme}
                  label={t('overview.byTheme')}
                  height={Math.max(240, charts.themeCount * 22)}
                />
              ) : (
                <Empty description={t('common.none')} />
              )}
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('overview.byGrade')}</h2>}>
              <Chart option={charts.grade} label={t('overview.byGrade')} />
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('overview.byState')}</h2>}>
              {charts.hasApplications ? (
                <Chart option={charts.states} label={t('overview.byState')} />
              ) : (
                <Empty description={t('overview.noApplications')} />
              )}
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('overview.callsPerDay')}</h2>}>
              {charts.callsTotal > 0 ? (
                <Chart option={charts.calls} label={t('overview.callsPerDay')} />
              ) : (
                <Empty description={t('overview.noUsage')} />
              )}
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('overview.topConsumers')}</h2>}>
              {charts.hasConsumers ? (
                <Chart option={charts.top} label={t('overview.topConsumers')} />
              ) : (
                <Empty description={t('overview.noUsage')} />
              )}
            </Card>
          </Col>
          {data.alerts ? (
            <Col xs={24} lg={12}>
              <Card
                title={<h2 className="card-title">{t('overview.openAlerts')}</h2>}
                extra={<Link to="/alerts">{t('overview.allAlerts')}</Link>}
              >
                <Space size="large" wrap style={{ marginBottom: 12 }}>
                  {(['critical', 'warning', 'info'] as const).map((sev) => (
                    <Statistic
                      key={sev}
                      title={t(`alerts.severities.${sev}`)}
                      value={data.alerts?.filter((a) => a.severity === sev).length ?? 0}
                      valueStyle={{
                        color: sev === 'critical' ? '#cf1322' : sev === 'warning' ? '#d46b08' : undefined,
                      }}
                    />
                  ))}
                </Space>
                {data.alerts.length ? (
                  <List
                    size="small"
                    dataSource={data.alerts.slice(0, 5)}
                    renderItem={(a) => (
                      <List.Item key={a.id}>
                        <Space wrap size={[8, 0]}>
                          <Tag color={SEVERITY_COLORS[a.severity]}>
                            {t(`alerts.severities.${a.severity}`)}
                          </Tag>
                          <span>{bilingual(a.summary)}</span>
                          <Typography.Text type="secondary">{fmtDateTime(a.lastSeenAt)}</Typography.Text>
                        </Space>
                      </List.Item>
                    )}
                  />
                ) : (
                  <Empty description={t('overview.noAlerts')} />
                )}
              </Card>
            </Col>
          ) : null}
        </Row>
      ) : null}
    </>
  );
}
