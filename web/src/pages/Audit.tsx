import { CheckCircleTwoTone, CloseCircleTwoTone, SafetyCertificateOutlined } from '@ant-design/icons';
import {
  Alert,
  App,
  AutoComplete,
  Button,
  Card,
  Col,
  Descriptions,
  Drawer,
  Form,
  Grid,
  Input,
  List,
  Row,
  Select,
  Skeleton,
  Space,
  Tabs,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, fetchFile, saveBlob } from '../api.ts';
import { ErrorAlert, JsonBlock, ListTable, Mono, OrgName, Pager, PageTitle } from '../components/common.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { endOfShanghaiDay, fmtDateTime, fmtNumber, shanghaiDate, startOfShanghaiDay } from '../format.ts';
import { useAction, useCursorPages, useLoader, useOrganizations, useUsernames } from '../hooks.ts';
import { entryLeafHashHex, verifyInclusionHex } from '../lib/merkle.ts';
import { parsePublicKeyPem, type Sm2PublicKey, verifyTreeHeadSignature } from '../lib/sm2.ts';
import { sm3, toHex } from '../lib/sm3.ts';
import type { AuditEntry, AuditPublicKey, InclusionProof, Page, TreeHead } from '../types.ts';

const COMMON_ACTIONS = [
  'session.login',
  'session.login_failed',
  'session.lockout',
  'resource.create',
  'version.create',
  'application.create',
  'application.submit',
  'application.provider_approve',
  'application.security_approve',
  'application.reject',
  'contract.create',
  'contract.suspend',
  'contract.resume',
  'contract.revoke',
  'gateway.rows',
  'gateway.aggregate',
  'gateway.refused',
  'api_key.create',
  'audit.tree_head.sign',
];

interface Filters {
  action?: string;
  objectType?: string;
  objectId?: string;
  actor?: string;
  org?: string;
  from?: string;
  to?: string;
  order?: 'asc' | 'desc';
}

// The platform's public key, fetched once and checked against its own fingerprint.
let publicKeyPromise: Promise<{ view: AuditPublicKey; key: Sm2PublicKey; fingerprint: string }> | undefined;
function platformKey() {
  publicKeyPromise ??= api
    .get<AuditPublicKey>('/v1/audit/public-key')
    .then((view) => {
      const der = Uint8Array.from(atob(view.publicKeyPem.replace(/-----[^-]+-----|\s+/g, '')), (c) =>
        c.charCodeAt(0),
      );
      return { view, key: parsePublicKeyPem(view.publicKeyPem), fingerprint: toHex(sm3(der)) };
    })
    .catch((error: unknown) => {
      publicKeyPromise = undefined;
      throw error;
    });
  return publicKeyPromise;
}

export function Audit() {
  const { t } = useTranslation();
  return (
    <>
      <PageTitle title={t('nav.audit')} sub={t('audit.sub')} help="audit" />
      <Card>
        <Tabs
          items={[
            { key: 'entries', label: t('audit.tabs.entries'), children: <Entries /> },
            { key: 'heads', label: t('audit.tabs.heads'), children: <TreeHeads /> },
            { key: 'key', label: t('audit.tabs.key'), children: <PublicKey /> },
            { key: 'witnesses', label: t('audit.tabs.witnesses'), children: <Witnesses /> },
          ]}
        />
      </Card>
    </>
  );
}

function Entries() {
  const { t } = useTranslation();
  const orgs = useOrganizations();
  const [form] = Form.useForm<Filters>();
  const [filters, setFilters] = useState<Filters>({ order: 'desc' });
  const [verifying, setVerifying] = useState<AuditEntry | null>(null);
  const selection = useMemo(
    () => ({
      action: filters.action?.trim() || undefined,
      objectType: filters.objectType?.trim() || undefined,
      objectId: filters.objectId?.trim() || undefined,
      actor: filters.actor?.trim() || undefined,
      org: filters.org,
      from: filters.from ? startOfShanghaiDay(filters.from) : undefined,
      to: filters.to ? endOfShanghaiDay(filters.to) : undefined,
    }),
    [filters],
  );
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<AuditEntry>>(
        '/v1/audit/entries',
        { ...selection, order: filters.order, limit: 20, cursor },
        signal,
      ),
    [selection, filters.order],
  );
  const download = useAction();
  const { message } = App.useApp();
  const exportCsv = () =>
    download.run(async () => {
      const { blob, headers } = await fetchFile('/v1/audit/export.csv', selection);
      saveBlob(blob, `audit-log-${shanghaiDate()}.csv`);
      const cut = headers.get('x-export-truncated');
      if (cut) message.warning(t('audit.exportTruncated', { max: fmtNumber(Number(cut)) }));
      else
        message.success(t('audit.exported', { rows: fmtNumber(Number(headers.get('x-export-rows') ?? 0)) }));
    });
  const pages = useCursorPages(fetchPage);
  const usernames = useUsernames(pages.items.map((e) => e.actorId));

  return (
    <>
      <Form
        form={form}
        layout="vertical"
        initialValues={{ order: 'desc' }}
        onFinish={(v) => setFilters({ ...v })}
        aria-label={t('audit.filters')}
      >
        <Row gutter={12}>
          <Col xs={24} sm={12} lg={6}>
            <Form.Item name="action" label={t('audit.action')}>
              <AutoComplete
                allowClear
                options={COMMON_ACTIONS.map((a) => ({ value: a }))}
                filterOption={(input, option) => String(option?.value ?? '').includes(input)}
                placeholder="contract.revoke"
              />
            </Form.Item>
          </Col>
          <Col xs={12} sm={6} lg={3}>
            <Form.Item name="objectType" label={t('audit.objectType')}>
              <Input allowClear placeholder="contract" />
            </Form.Item>
          </Col>
          <Col xs={12} sm={6} lg={5}>
            <Form.Item name="objectId" label={t('audit.objectId')}>
              <Input allowClear />
            </Form.Item>
          </Col>
          <Col xs={12} sm={12} lg={5}>
            <Form.Item name="actor" label={t('audit.actor')}>
              <Input allowClear placeholder="usr_…" />
            </Form.Item>
          </Col>
          <Col xs={12} sm={12} lg={5}>
            <Form.Item name="org" label={t('audit.org')}>
              <Select
                allowClear
                showSearch
                optionFilterProp="label"
                placeholder={t('common.all')}
                options={[...orgs.values()].map((o) => ({ value: o.id, label: o.name }))}
              />
            </Form.Item>
          </Col>
          <Col xs={12} sm={8} lg={4}>
            <Form.Item name="from" label={t('audit.from')}>
              <Input type="date" />
            </Form.Item>
          </Col>
          <Col xs={12} sm={8} lg={4}>
            <Form.Item name="to" label={t('audit.to')}>
              <Input type="date" />
            </Form.Item>
          </Col>
          <Col xs={12} sm={8} lg={4}>
            <Form.Item name="order" label={t('audit.order')}>
              <Select
                options={[
                  { value: 'desc', label: t('audit.newest') },
                  { value: 'asc', label: t('audit.oldest') },
                ]}
              />
            </Form.Item>
          </Col>
          <Col xs={24} lg={12} style={{ display: 'flex', alignItems: 'flex-end' }}>
            <Form.Item>
              <Space wrap>
                <Button type="primary" htmlType="submit">
                  {t('audit.search')}
                </Button>
                <Button
                  onClick={() => {
                    form.resetFields();
                    setFilters({ order: 'desc' });
                  }}
                >
                  {t('common.reset')}
                </Button>
              </Space>
            </Form.Item>
          </Col>
        </Row>
      </Form>
      <ErrorAlert error={pages.error} onRetry={pages.reload} />
      <ListTable<AuditEntry>
        // The export is the server's: every entry the filters select, not only the page loaded.
        toolbar={{ ...cursorToolbar('audit-log', pages), onExport: exportCsv, exporting: download.busy }}
        empty={t('common.none')}
        rowKey="seq"
        size="small"
        loading={pages.loading}
        dataSource={pages.items}
        data-testid="audit-entries"
        expandable={{
          expandedRowRender: (e) => (
            <Space direction="vertical" style={{ width: '100%' }}>
              <Typography.Text>
                {t('audit.requestId')}: <Mono>{e.requestId ?? '—'}</Mono> · {t('audit.leafHash')}:{' '}
                <Mono>{e.leafHash ?? '—'}</Mono>
              </Typography.Text>
              <JsonBlock value={e.details} />
            </Space>
          ),
        }}
        columns={[
          { title: t('audit.seq'), dataIndex: 'seq' },
          { title: t('audit.time'), dataIndex: 'time', render: fmtDateTime },
          {
            title: t('audit.action'),
            dataIndex: 'action',
            render: (a: string) => (
              <Tooltip title={a}>
                <Tag
                  color={
                    a.includes('refused') || a.endsWith('revoke') || a.endsWith('_failed') ? 'red' : 'blue'
                  }
                >
                  {t(`auditAction.${a}`, { defaultValue: a })}
                </Tag>
              </Tooltip>
            ),
          },
          {
            title: t('audit.object'),
            render: (_: unknown, e) => (
              <span>
                {e.objectType} <Typography.Text type="secondary">{e.objectId ?? ''}</Typography.Text>
              </span>
            ),
          },
          {
            title: t('audit.actor'),
            dataIndex: 'actorId',
            render: (a: string | null) => (a ? <Tooltip title={a}>{usernames.get(a) ?? a}</Tooltip> : '—'),
          },
          { title: t('audit.org'), dataIndex: 'orgId', render: (o: string | null) => <OrgName id={o} /> },
          {
            title: t('audit.proof'),
            render: (_: unknown, e) => (
              <Button
                size="small"
                icon={<SafetyCertificateOutlined />}
                aria-label={t('audit.verifyEntry', { seq: e.seq })}
                onClick={() => setVerifying(e)}
              >
                {t('audit.verify')}
              </Button>
            ),
          },
        ]}
      />
      <Pager {...pages} />
      <ProofDrawer entry={verifying} onClose={() => setVerifying(null)} />
    </>
  );
}

interface Check {
  key: string;
  ok: boolean;
  detail: string;
}

interface Verification {
  proof: InclusionProof;
  checks: Check[];
  ok: boolean;
}

async function verifyEntry(seq: number): Promise<Verification> {
  const proof = await api.get<InclusionProof>('/v1/audit/proofs/inclusion', { seq });
  const { key, fingerprint } = await platformKey();
  const recomputed = entryLeafHashHex(proof.entry);
  const checks: Check[] = [];
  checks.push({ key: 'leaf', ok: recomputed === proof.leafHash, detail: recomputed });
  checks.push({
    key: 'path',
    ok: verifyInclusionHex(proof.leafIndex, proof.treeSize, recomputed, proof.proof, proof.rootHash),
    detail: `${proof.proof.length} × SM3 → ${proof.rootHash}`,
  });
  const head = proof.head;
  checks.push({
    key: 'head',
    ok: !!head && head.treeSize === proof.treeSize && head.rootHash === proof.rootHash,
    detail: head ? `#${head.id} · ${head.treeSize} · ${head.rootHash}` : '—',
  });
  checks.push({
    key: 'signature',
    ok: !!head && verifyTreeHeadSignature(head, key),
    detail: head ? `SM2 · ${head.signature.slice(0, 24)}…` : '—',
  });
  checks.push({
    key: 'key',
    ok: !!head && head.keyFingerprint === fingerprint,
    detail: fingerprint,
  });
  return { proof, checks, ok: checks.every((c) => c.ok) };
}

function ProofDrawer({ entry, onClose }: { entry: AuditEntry | null; onClose(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const screens = Grid.useBreakpoint();
  const [result, setResult] = useState<Verification | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const signing = useAction();

  const run = useCallback(async (seq: number) => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await verifyEntry(seq));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, []);

  useEffect(() => {
    if (entry) void run(entry.seq);
  }, [entry, run]);

  const sign = () =>
    signing.run(async () => {
      if (!entry) return;
      const head = await api.post<TreeHead>('/v1/audit/tree-heads');
      message.success(t('audit.signed', { size: fmtNumber(head.treeSize) }));
      await run(entry.seq);
    });

  const notSigned = error instanceof ApiError && error.code === 'AUDIT_NOT_SIGNED';
  return (
    <Drawer
      open={!!entry}
      onClose={onClose}
      width={screens.md ? 640 : '100%'}
      title={entry ? t('audit.proofTitle', { seq: entry.seq }) : ''}
      destroyOnHidden
    >
      {busy ? <Skeleton active /> : null}
      {notSigned ? (
        <Alert
          type="warning"
          showIcon
          message={t('audit.notSigned')}
          description={t('audit.notSignedBody')}
          action={
            <Button type="primary" loading={signing.busy} onClick={() => void sign()}>
              {t('audit.signNow')}
            </Button>
          }
        />
      ) : (
        <ErrorAlert error={error} onRetry={entry ? () => void run(entry.seq) : undefined} />
      )}
      {result ? (
        <Space direction="vertical" style={{ width: '100%' }} size="middle">
          <Alert
            type={result.ok ? 'success' : 'error'}
            showIcon
            data-testid="proof-result"
            data-verified={result.ok ? 'true' : 'false'}
            message={result.ok ? t('audit.verified') : t('audit.notVerified')}
            description={t('audit.verifiedBody', { size: fmtNumber(result.proof.treeSize) })}
          />
          <List
            bordered
            dataSource={result.checks}
            renderItem={(c) => (
              <List.Item>
                <List.Item.Meta
                  avatar={
                    c.ok ? (
                      <CheckCircleTwoTone twoToneColor="#52c41a" aria-label={t('audit.pass')} />
                    ) : (
                      <CloseCircleTwoTone twoToneColor="#ff4d4f" aria-label={t('audit.fail')} />
                    )
                  }
                  title={t(`audit.check.${c.key}`)}
                  description={<Mono>{c.detail}</Mono>}
                />
              </List.Item>
            )}
          />
          <Descriptions bordered size="small" column={1}>
            <Descriptions.Item label={t('audit.action')}>{result.proof.entry.action}</Descriptions.Item>
            <Descriptions.Item label={t('audit.time')}>
              {fmtDateTime(result.proof.entry.time)}
            </Descriptions.Item>
            <Descriptions.Item label={t('audit.object')}>
              {result.proof.entry.objectType} {result.proof.entry.objectId}
            </Descriptions.Item>
            <Descriptions.Item label={t('audit.leafIndex')}>
              {result.proof.leafIndex} / {result.proof.treeSize}
            </Descriptions.Item>
          </Descriptions>
          <JsonBlock value={result.proof.entry.details} />
        </Space>
      ) : null}
    </Drawer>
  );
}

function TreeHeads() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<TreeHead>>('/v1/audit/tree-heads', { limit: 20, cursor }, signal),
    [],
  );
  const pages = useCursorPages(fetchPage);
  const loadKey = useCallback(() => platformKey(), []);
  const key = useLoader(loadKey);
  const signing = useAction();
  const verified = useMemo(() => {
    const result = new Map<number, boolean>();
    if (!key.data) return result;
    for (const head of pages.items) result.set(head.id, verifyTreeHeadSignature(head, key.data.key));
    return result;
  }, [pages.items, key.data]);

  const sign = () =>
    signing.run(async () => {
      const head = await api.post<TreeHead>('/v1/audit/tree-heads');
      message.success(t('audit.signed', { size: fmtNumber(head.treeSize) }));
      pages.reload();
    });

  return (
    <>
      <Space style={{ marginBottom: 12 }} wrap>
        <Button type="primary" loading={signing.busy} onClick={() => void sign()}>
          {t('audit.signNow')}
        </Button>
        <Typography.Text type="secondary">{t('audit.headsHint')}</Typography.Text>
      </Space>
      <ErrorAlert error={pages.error ?? key.error} onRetry={pages.reload} />
      <ListTable<TreeHead>
        toolbar={cursorToolbar('tree-heads', pages)}
        empty={t('common.none')}
        rowKey="id"
        size="small"
        loading={pages.loading}
        dataSource={pages.items}
        data-testid="tree-heads"
        columns={[
          { title: '#', dataIndex: 'id' },
          { title: t('audit.treeSize'), dataIndex: 'treeSize', render: fmtNumber },
          {
            title: t('audit.rootHash'),
            dataIndex: 'rootHash',
            render: (h: string) => (
              <Typography.Text code copyable={{ text: h }} title={h}>
                {h.slice(0, 16)}…
              </Typography.Text>
            ),
          },
          { title: t('audit.time'), dataIndex: 'timestamp', render: fmtDateTime },
          {
            title: t('audit.signature'),
            render: (_: unknown, h) =>
              !key.data ? (
                '…'
              ) : verified.get(h.id) ? (
                <Tag color="success" icon={<CheckCircleTwoTone twoToneColor="#52c41a" />}>
                  {t('audit.signatureOk')}
                </Tag>
              ) : (
                <Tag color="error" icon={<CloseCircleTwoTone twoToneColor="#ff4d4f" />}>
                  {t('audit.signatureBad')}
                </Tag>
              ),
          },
          {
            title: t('audit.keyFingerprint'),
            dataIndex: 'keyFingerprint',
            render: (f: string) => (
              <Typography.Text code title={f}>
                {f.slice(0, 16)}…
              </Typography.Text>
            ),
          },
        ]}
      />
      <Pager {...pages} />
    </>
  );
}

function PublicKey() {
  const { t } = useTranslation();
  const load = useCallback(() => platformKey(), []);
  const { data, error, loading, reload } = useLoader(load);
  if (loading && !data) return <Skeleton active />;
  if (!data) return <ErrorAlert error={error} onRetry={reload} />;
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Descriptions bordered size="small" column={1}>
        <Descriptions.Item label={t('audit.algorithm')}>{data.view.algorithm}</Descriptions.Item>
        <Descriptions.Item label={t('audit.signerId')}>
          {data.view.signerId === '' ? t('audit.emptySignerId') : data.view.signerId}
        </Descriptions.Item>
        <Descriptions.Item label={t('audit.keyFingerprint')}>
          <Mono>{data.view.fingerprint}</Mono>{' '}
          {data.fingerprint === data.view.fingerprint ? (
            <Tag color="success">{t('audit.fingerprintOk')}</Tag>
          ) : (
            <Tag color="error">{t('audit.fingerprintBad')}</Tag>
          )}
        </Descriptions.Item>
      </Descriptions>
      <Typography.Paragraph copyable={{ text: data.view.publicKeyPem }}>
        <pre style={{ margin: 0 }}>{data.view.publicKeyPem}</pre>
      </Typography.Paragraph>
      <Typography.Text type="secondary">{t('audit.keyHint')}</Typography.Text>
    </Space>
  );
}

interface WitnessOverview {
  origin: string;
  treeSize: number;
  latestSignedSize: number;
  rollbackDetectable: boolean;
  witnesses: Array<{
    source: string;
    size: number | null;
    rootHash: string | null;
    status: string;
    message: string;
  }>;
}

function Witnesses() {
  const { t } = useTranslation();
  const load = useCallback(
    (signal: AbortSignal) => api.get<WitnessOverview>('/v1/audit/witnesses', {}, signal),
    [],
  );
  const { data, error, loading, reload } = useLoader(load);
  if (loading && !data) return <Skeleton active />;
  if (!data) return <ErrorAlert error={error} onRetry={reload} />;
  // Only a witness that holds a checkpoint can catch a rollback; an unreadable one is a warning, not an alarm.
  const color = (status: string) =>
    status === 'consistent'
      ? 'success'
      : status === 'empty' || status === 'unavailable' || status === 'archived'
        ? 'warning'
        : 'error';
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="witnesses">
      <Typography.Text type="secondary">
        {t('audit.witnessOrigin')}: <Mono>{data.origin}</Mono>
      </Typography.Text>
      <Typography.Text type="secondary">
        {t('audit.witnessLogSize', {
          size: fmtNumber(data.treeSize),
          signed: fmtNumber(data.latestSignedSize),
        })}
      </Typography.Text>
      {data.witnesses.length === 0 ? (
        <Alert type="warning" showIcon message={t('audit.noWitness')} />
      ) : (
        <Descriptions bordered size="small" column={1}>
          {data.witnesses.map((w) => (
            <Descriptions.Item key={w.source} label={w.source}>
              <Space direction="vertical" size={2}>
                <Space wrap>
                  <Tag color={color(w.status)}>{t(`audit.witnessStates.${w.status}`, w.status)}</Tag>
                  <span>
                    {t('audit.witnessSize')}: {w.size === null ? '—' : fmtNumber(w.size)}
                  </span>
                </Space>
                <Typography.Text>{t(`audit.witnessMeaning.${w.status}`, '')}</Typography.Text>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {w.message}
                </Typography.Text>
              </Space>
            </Descriptions.Item>
          ))}
        </Descriptions>
      )}
    </Space>
  );
}
