import {
  Alert,
  App,
  Button,
  Card,
  Col,
  Descriptions,
  Input,
  Row,
  Select,
  Skeleton,
  Space,
  Typography,
} from 'antd';
import type { EChartsCoreOption } from 'echarts/core';
import { useCallback, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, fetchBlob } from '../api.ts';
import { Chart } from '../components/Chart.tsx';
import { fieldLabel, GrantedFields, rowFilterText } from '../components/ContractTerms.tsx';
import {
  ErrorAlert,
  LinkButton,
  Mono,
  NotLoaded,
  OrgName,
  PageTitle,
  StateTag,
} from '../components/common.tsx';
import { DpPanel } from '../components/DpPanel.tsx';
import { TemplatesPanel } from '../components/Templates.tsx';
import { bilingual, fmtDateTime, fmtNumber, fmtPercent } from '../format.ts';
import { resourceById, useAction, useLoader } from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { Agreement, Contract, ContractUsage, Me } from '../types.ts';
import { ReasonModal } from './Applications.tsx';

type Change = 'suspend' | 'resume' | 'revoke';

function canChange(me: Me, contract: Contract): boolean {
  return (
    (hasRole(me, 'data_steward') && me.organization.id === contract.providerOrgId) ||
    hasRole(me, 'security_officer')
  );
}

export function ContractDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const load = useCallback(
    async (signal: AbortSignal) => {
      const contract = await api.get<Contract>(`/v1/contracts/${encodeURIComponent(id)}`, undefined, signal);
      const [resource, receipt, agreement] = await Promise.all([
        resourceById(contract.resourceId).catch(() => undefined),
        api.get<string>(`/v1/contracts/${encodeURIComponent(id)}/receipt`, undefined, signal),
        api.get<Agreement>(`/v1/contracts/${encodeURIComponent(id)}/agreement`, undefined, signal),
      ]);
      return { contract, resource, receipt, agreement };
    },
    [id],
  );
  const loaded = useLoader(load);
  const { data, reload } = loaded;
  const [days, setDays] = useState(30);
  const loadUsage = useCallback(
    (signal: AbortSignal) =>
      api.get<ContractUsage>(`/v1/contracts/${encodeURIComponent(id)}/usage`, { days }, signal),
    [id, days],
  );
  const usage = useLoader(loadUsage);
  const pdf = useAction();
  const signedFile = useAction();
  const [change, setChange] = useState<Change | null>(null);
  const [check, setCheck] = useState<{ valid: boolean } | null>(null);
  // Counts template runs: a DP template spends from the budget the DP card shows.
  const [spent, setSpent] = useState(0);

  const chart = useMemo((): EChartsCoreOption | null => {
    if (!usage.data) return null;
    const d = usage.data.days;
    const quota = usage.data.quotaRowsPerDay;
    const peak = Math.max(0, ...d.map((x) => x.rows));
    // Draw the quota line when use comes near it; far below, a scale up to the quota would flatten
    // every bar, so the title states the share instead.
    const showQuota = peak >= quota * 0.2;
    return {
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      grid: { left: 8, right: 16, top: 32, bottom: 32, containLabel: true },
      xAxis: { type: 'category', data: d.map((x) => x.date.slice(5)) },
      yAxis: [
        {
          type: 'value',
          name: t('contract.rowsPerDay'),
          minInterval: 1,
          ...(showQuota ? { max: Math.ceil(Math.max(peak, quota) * 1.1) } : {}),
        },
        { type: 'value', name: t('contract.callsPerDay'), minInterval: 1 },
      ],
      series: [
        {
          type: 'bar',
          name: t('contract.rowsPerDay'),
          data: d.map((x) => x.rows),
          itemStyle: { color: '#0958d9' },
          ...(showQuota
            ? {
                markLine: {
                  symbol: 'none',
                  lineStyle: { color: '#cf1322', type: 'dashed' },
                  label: {
                    position: 'insideEndTop',
                    formatter: t('contract.quotaLine', { quota: fmtNumber(quota) }),
                  },
                  data: [{ yAxis: quota }],
                },
              }
            : {}),
        },
        {
          type: 'line',
          name: t('contract.callsPerDay'),
          yAxisIndex: 1,
          data: d.map((x) => x.requests),
          itemStyle: { color: '#fa8c16' },
        },
      ],
    };
  }, [usage.data, t]);

  if (!data) return <NotLoaded loaded={loaded} rows={12} />;
  const { contract: c, resource, receipt, agreement } = data;
  // Approvals as the agreement states them: who, in which role, when (Beijing time).
  const approvals = agreement.terms.filter((x) => x.key.startsWith('approval.'));
  const unassessed = c.fields.filter(
    (name) =>
      agreement.record.fields.find((f) => f.name === name)?.grade === 'unassessed' ||
      resource?.fields.find((f) => f.name === name)?.grade === 'unassessed',
  );
  const label = fieldLabel(resource);
  const openPdf = () =>
    pdf.run(async () => {
      const blob = await fetchBlob(`/v1/contracts/${encodeURIComponent(c.id)}/agreement.pdf`);
      window.open(URL.createObjectURL(blob), '_blank', 'noopener');
    });
  // The platform-signed file, for checking offline (shutong contracts verify-agreement).
  const downloadSigned = () =>
    signedFile.run(async () => {
      const blob = await fetchBlob(`/v1/contracts/${encodeURIComponent(c.id)}/agreement.signed.json`);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `agreement-${c.id}.signed.json`;
      link.click();
      URL.revokeObjectURL(link.href);
    });
  const changeable = canChange(me, c);
  const consumerSide = c.consumerOrgId === me.organization.id;
  const usageTotals = usage.data?.days.reduce(
    (acc, x) => ({ rows: acc.rows + x.rows, calls: acc.calls + x.requests }),
    { rows: 0, calls: 0 },
  );

  const titles: Record<Change, string> = {
    suspend: t('contract.suspendTitle'),
    resume: t('contract.resumeTitle'),
    revoke: t('contract.revokeTitle'),
  };

  return (
    <>
      <PageTitle
        help="contracts"
        title={
          resource
            ? t('contract.titleWithResource', { resource: resource.name })
            : `${t('contract.title')} ${c.id}`
        }
        sub={
          <Space wrap>
            <StateTag state={c.state} />
            <Mono>{c.id}</Mono>
            {resource ? <Link to={`/catalog/${resource.id}`}>{resource.name}</Link> : c.resourceId}
          </Space>
        }
        extra={
          changeable ? (
            <>
              {c.state === 'active' ? (
                <Button onClick={() => setChange('suspend')}>{t('contract.suspend')}</Button>
              ) : null}
              {c.state === 'suspended' ? (
                <Button onClick={() => setChange('resume')}>{t('contract.resume')}</Button>
              ) : null}
              {c.state === 'active' || c.state === 'suspended' ? (
                <Button danger onClick={() => setChange('revoke')}>
                  {t('contract.revoke')}
                </Button>
              ) : null}
            </>
          ) : null
        }
      />
      {c.stateReason ? (
        <Alert
          type={c.state === 'active' ? 'info' : 'warning'}
          showIcon
          style={{ marginBottom: 16 }}
          message={t('contract.stateReason', { state: t(`state.${c.state}`), reason: c.stateReason })}
        />
      ) : null}
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Card title={<h2 className="card-title">{t('contract.policy')}</h2>}>
            <Descriptions bordered size="small" column={1}>
              <Descriptions.Item label={t('contracts.provider')}>
                <OrgName id={c.providerOrgId} />
              </Descriptions.Item>
              <Descriptions.Item label={t('contracts.consumer')}>
                <OrgName id={c.consumerOrgId} />
              </Descriptions.Item>
              <Descriptions.Item label={t('apply.purpose')}>{c.purpose}</Descriptions.Item>
              <Descriptions.Item label={t('contract.valid')}>
                {fmtDateTime(c.validFrom)} — {fmtDateTime(c.validTo)}
              </Descriptions.Item>
              <Descriptions.Item label={t('apply.operations')}>
                {c.operations.map((o) => t(`operation.${o}`)).join(' · ')}
              </Descriptions.Item>
              <Descriptions.Item label={t('contract.limits')}>
                {t('contract.limitsText', {
                  rate: fmtNumber(c.rateLimitPerMinute),
                  quota: fmtNumber(c.quotaRowsPerDay),
                  group: c.minGroupSize,
                })}
              </Descriptions.Item>
              <Descriptions.Item label={t('contract.ipAllowlist')}>
                {c.ipAllowlist.length ? c.ipAllowlist.join(', ') : t('contract.anyIp')}
              </Descriptions.Item>
              <Descriptions.Item label={t('contract.onward')}>
                {c.onwardTransfer ? t('common.yes') : t('common.no')}
              </Descriptions.Item>
              {approvals.map((a) => (
                <Descriptions.Item key={a.key} label={bilingual(a.label)}>
                  {bilingual(a.text)}
                </Descriptions.Item>
              ))}
              {c.securitySignoff ? (
                <Descriptions.Item label={t('contract.weakerSignoff')}>
                  {t('contract.weakerSignoffText')}
                </Descriptions.Item>
              ) : null}
              <Descriptions.Item label={t('contract.pinned')}>
                {c.pinnedVersionId ?? t('contract.followsCurrent')}
              </Descriptions.Item>
              <Descriptions.Item label={t('contract.application')}>
                <Link to={`/applications?id=${c.applicationId}`}>{c.applicationId}</Link>
              </Descriptions.Item>
              <Descriptions.Item label={t('contract.rowFilter')}>
                {rowFilterText(c, resource, t)}
              </Descriptions.Item>
            </Descriptions>
          </Card>
          {resource ? <DpPanel contract={c} resource={resource} spent={spent} /> : null}
          {resource ? (
            <TemplatesPanel contract={c} resource={resource} onSpent={() => setSpent((n) => n + 1)} />
          ) : null}
        </Col>
        <Col xs={24} xl={12}>
          <Card title={<h2 className="card-title">{t('contract.fields')}</h2>} style={{ marginBottom: 16 }}>
            {unassessed.length > 0 ? (
              <Alert
                type="warning"
                showIcon
                data-testid="contract-unassessed"
                style={{ marginBottom: 12 }}
                message={t('contract.unassessed', { fields: unassessed.map(label).join('、') })}
              />
            ) : null}
            <GrantedFields contract={c} resource={resource} />
          </Card>
          <Card
            title={<h2 className="card-title">{t('contract.usage')}</h2>}
            extra={
              <Select
                size="small"
                aria-label={t('contract.usageRange')}
                value={days}
                onChange={setDays}
                options={[7, 30, 90].map((n) => ({ value: n, label: t('contract.lastDays', { n }) }))}
              />
            }
          >
            <ErrorAlert error={usage.error} onRetry={usage.reload} />
            {chart ? <Chart option={chart} label={t('contract.usage')} height={260} /> : <Skeleton active />}
            {usage.data ? (
              <Typography.Paragraph type="secondary" style={{ marginBottom: 4 }}>
                {t('contract.peakOfQuota', {
                  peak: fmtNumber(Math.max(0, ...usage.data.days.map((x) => x.rows))),
                  quota: fmtNumber(usage.data.quotaRowsPerDay),
                  share: fmtPercent(
                    usage.data.quotaRowsPerDay > 0
                      ? Math.max(0, ...usage.data.days.map((x) => x.rows)) / usage.data.quotaRowsPerDay
                      : 0,
                    1,
                  ),
                })}
              </Typography.Paragraph>
            ) : null}
            {usageTotals ? (
              <Typography.Text type="secondary">
                {t('contract.usageTotals', {
                  rows: fmtNumber(usageTotals.rows),
                  calls: fmtNumber(usageTotals.calls),
                  days,
                })}
              </Typography.Text>
            ) : null}
          </Card>
        </Col>
        {consumerSide ? (
          <Col span={24}>
            <Card title={<h2 className="card-title">{t('contract.howToQuery')}</h2>}>
              <Typography.Paragraph>{t('contract.howToQueryBody')}</Typography.Paragraph>
              <Typography.Paragraph>
                <pre style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', margin: 0 }}>
                  {`curl -H "Authorization: Bearer <API key>" \\\n  "${window.location.origin}/v1/gateway/contracts/${c.id}/rows?limit=10"`}
                </pre>
              </Typography.Paragraph>
              <LinkButton to="/api-keys">{t('contract.toApiKeys')}</LinkButton>
            </Card>
          </Col>
        ) : null}
        <Col span={24}>
          <Card title={<h2 className="card-title">{t('contract.receipt')}</h2>}>
            <Typography.Paragraph type="secondary">{t('contract.receiptNote')}</Typography.Paragraph>
            <Space wrap style={{ marginBottom: 12 }}>
              <Button
                type="primary"
                loading={pdf.busy}
                onClick={() => void openPdf()}
                data-testid="agreement-pdf"
              >
                {t('contract.pdf')}
              </Button>
              <Button
                loading={signedFile.busy}
                onClick={() => void downloadSigned()}
                data-testid="agreement-signed"
              >
                {t('contract.signedFile')}
              </Button>
              <Input.Search
                aria-label={t('contract.verifyCode')}
                placeholder={t('contract.verifyCode')}
                enterButton={t('contract.verify')}
                style={{ minWidth: 280, maxWidth: 520 }}
                onChange={() => setCheck(null)}
                onSearch={async (code) => {
                  if (!code.trim()) return;
                  setCheck(
                    await api.post<{ valid: boolean }>(
                      `/v1/contracts/${encodeURIComponent(c.id)}/agreement/verify`,
                      { code },
                    ),
                  );
                }}
              />
            </Space>
            {check ? (
              <Alert
                type={check.valid ? 'success' : 'error'}
                showIcon
                data-testid="agreement-check"
                style={{ marginBottom: 12 }}
                message={check.valid ? t('contract.verifyOk') : t('contract.verifyBad')}
              />
            ) : null}
            <Typography.Paragraph copyable={{ text: receipt }} style={{ marginBottom: 0 }}>
              <pre data-testid="contract-receipt" style={{ whiteSpace: 'pre-wrap', margin: 0, fontSize: 13 }}>
                {receipt}
              </pre>
            </Typography.Paragraph>
          </Card>
        </Col>
      </Row>
      <ReasonModal
        open={change !== null}
        title={change ? titles[change] : ''}
        okText={change ? t(`contract.${change}`) : ''}
        danger={change === 'revoke'}
        onClose={() => setChange(null)}
        onSubmit={async (reason) => {
          if (!change) return;
          await api.post(`/v1/contracts/${encodeURIComponent(c.id)}/${change}`, { reason });
          message.success(t(`contract.${change}Done`));
          setChange(null);
          reload();
          usage.reload();
        }}
      />
    </>
  );
}
