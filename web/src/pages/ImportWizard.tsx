import { InboxOutlined } from '@ant-design/icons';
import {
  Alert,
  App,
  Button,
  Card,
  Checkbox,
  Col,
  Descriptions,
  Form,
  Input,
  InputNumber,
  Progress,
  Radio,
  Result,
  Row,
  Select,
  Space,
  Steps,
  Table,
  Tag,
  Typography,
  Upload,
} from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, upload } from '../api.ts';
import { ErrorAlert, LinkButton, Mono, PageTitle } from '../components/common.tsx';
import { bilingual, fmtBytes, fmtNumber } from '../format.ts';
import { collectAll, useLoader } from '../hooks.ts';
import { useLocation } from '../router.tsx';
import { useMe } from '../session.tsx';
import type { BadRow, DataType, ImportPreview, Job, Page, Resource } from '../types.ts';
import { DATA_TYPES, OPEN_TYPES, SHARING_TYPES, UPDATE_CYCLES } from '../types.ts';
import { useThemes } from './Catalog.tsx';

const PREVIEW_LIMIT = 16 * 1024 * 1024;
const TEXT_FORMATS = /\.(csv|tsv|txt|json|ndjson|jsonl)$/i;
const FIELD_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

interface ColumnPlan {
  index: number;
  header: string;
  include: boolean;
  name: string;
  dataType: DataType;
  isKey: boolean;
}

interface NewResource {
  name: string;
  theme: string;
  updateCycle: string;
  sharingType: string;
  sharingConditions?: string;
  openType: string;
  openConditions?: string;
  summary?: string;
}

/** The server's header matching (src/ingest/readers/header.ts normalizeHeaderName). */
function normalizeHeader(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s_\-\uFEFF]+/g, '');
}

function formatFromName(name: string): string | undefined {
  if (/\.xlsx$/i.test(name)) return 'xlsx';
  if (/\.parquet$/i.test(name)) return 'parquet';
  return undefined;
}

export function ImportWizard() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const { search } = useLocation();
  const themes = useThemes();
  const [step, setStep] = useState(0);
  const [target, setTarget] = useState<'new' | 'existing'>(search.get('resource') ? 'existing' : 'new');
  const [resourceId, setResourceId] = useState<string | undefined>(search.get('resource') ?? undefined);
  const [file, setFile] = useState<File | null>(null);
  const [encoding, setEncoding] = useState<string>('');
  const [delimiter, setDelimiter] = useState<string>('');
  const [sheet, setSheet] = useState<string>('');
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [plan, setPlan] = useState<ColumnPlan[]>([]);
  const [maxErrors, setMaxErrors] = useState<number>(100);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [uploaded, setUploaded] = useState<{ loaded: number; total: number } | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [meta] = Form.useForm<NewResource>();

  const loadMine = useCallback(
    async (signal: AbortSignal) =>
      (
        await collectAll((cursor) =>
          api.get<Page<Resource>>(
            '/v1/catalog/search',
            { provider: me.organization.id, limit: 100, cursor },
            signal,
          ),
        )
      ).items,
    [me.organization.id],
  );
  const mine = useLoader(loadMine);
  const existing = mine.data?.find((r) => r.id === resourceId);

  const fileOptions = () => ({
    filename: file?.name,
    format: file ? formatFromName(file.name) : undefined,
    encoding: encoding || undefined,
    delimiter: delimiter || undefined,
    sheet: sheet || undefined,
  });

  const runPreview = async () => {
    if (!file) return;
    if (file.size > PREVIEW_LIMIT && !TEXT_FORMATS.test(file.name)) {
      setError(new Error(t('import.previewTooLarge', { size: fmtBytes(PREVIEW_LIMIT) })));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // The head of a text file is enough to see its encoding, header and types.
      const head = file.size > PREVIEW_LIMIT ? file.slice(0, 4 * 1024 * 1024) : file;
      const result = await upload<ImportPreview>('/v1/imports/preview', head, fileOptions());
      setPreview(result);
      setPlan(
        result.inferredFields.map((f, index) => ({
          index,
          header: result.header[index] ?? f.label,
          include: true,
          name: f.name,
          dataType: f.dataType,
          isKey: false,
        })),
      );
      if (target === 'new' && !meta.getFieldValue('name')) {
        meta.setFieldsValue({ name: result.title ?? file.name.replace(/\.[^.]+$/, '') });
      }
      setStep(1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const mapping = useMemo(() => {
    if (!preview || target !== 'existing' || !existing) return null;
    const lookup = new Map<string, string>();
    for (const f of existing.fields) {
      for (const key of [f.name, f.label]) {
        const n = normalizeHeader(key);
        if (n && !lookup.has(n)) lookup.set(n, f.name);
      }
    }
    const taken = new Set<string>();
    const columns = preview.header.map((h) => {
      const field = lookup.get(normalizeHeader(h));
      if (!field || taken.has(field)) return { header: h, field: null as string | null };
      taken.add(field);
      return { header: h, field };
    });
    const missing = existing.fields.filter((f) => !taken.has(f.name)).map((f) => f.name);
    return { columns, missing };
  }, [preview, target, existing]);

  const planProblems = useMemo(() => {
    const names = plan.filter((p) => p.include).map((p) => p.name);
    const bad = names.filter((n) => !FIELD_NAME.test(n));
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    return { bad, dup, none: names.length === 0 };
  }, [plan]);

  const startImport = async () => {
    if (!file) return;
    setError(null);
    let id = target === 'existing' ? resourceId : undefined;
    if (!id) {
      if (planProblems.bad.length || planProblems.dup.length || planProblems.none) return;
      let values: NewResource;
      try {
        values = await meta.validateFields();
      } catch {
        return;
      }
      setBusy(true);
      try {
        const created = await api.post<Resource>('/v1/resources', {
          ...values,
          summary: values.summary ?? '',
          sharingConditions: values.sharingConditions ?? '',
          openConditions: values.openConditions ?? '',
          fields: plan
            .filter((p) => p.include)
            .map((p) => ({
              name: p.name,
              label: p.header.trim() || p.name,
              dataType: p.dataType,
              isKey: p.isKey,
            })),
        });
        id = created.id;
        // Retrying after a failed upload imports into this resource rather than making another.
        setTarget('existing');
        setResourceId(created.id);
        mine.reload();
        message.success(t('import.created', { name: created.name, code: created.code }));
      } catch (e) {
        setError(e);
        setBusy(false);
        return;
      }
    }
    setBusy(true);
    setStep(2);
    setUploaded({ loaded: 0, total: file.size });
    try {
      const accepted = await upload<{ jobId: string; versionNumber: number }>(
        `/v1/resources/${encodeURIComponent(id)}/versions`,
        file,
        { ...fileOptions(), maxErrors },
        (loaded, total) => setUploaded({ loaded, total }),
      );
      setJobId(accepted.jobId);
    } catch (e) {
      setError(e);
      setStep(1);
    } finally {
      setBusy(false);
    }
  };

  // Live progress: the job reports rows, bytes and bad rows while it loads.
  useEffect(() => {
    if (!jobId) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const current = await api.get<Job>(`/v1/jobs/${encodeURIComponent(jobId)}`);
        if (stop) return;
        setJob(current);
        if (current.state !== 'running') {
          setStep(3);
          return;
        }
      } catch (e) {
        if (stop) return;
        setError(e);
      }
      timer = setTimeout(() => void poll(), 500);
    };
    void poll();
    return () => {
      stop = true;
      if (timer) clearTimeout(timer);
    };
  }, [jobId]);

  const reset = () => {
    setStep(0);
    setFile(null);
    setPreview(null);
    setPlan([]);
    setJob(null);
    setJobId(null);
    setUploaded(null);
    setError(null);
    meta.resetFields();
  };

  const resultResourceId = job?.resourceId ?? resourceId;
  const uploadPercent =
    uploaded && uploaded.total > 0 ? Math.round((uploaded.loaded / uploaded.total) * 100) : 0;
  const loadPercent = Math.round(job?.progress?.percent ?? 0);

  return (
    <>
      <PageTitle title={t('nav.import')} sub={t('import.sub')} help="import" />
      <Card>
        <Steps
          current={step}
          responsive
          style={{ marginBottom: 24 }}
          items={[
            { title: t('import.steps.file') },
            { title: t('import.steps.review') },
            { title: t('import.steps.load') },
            { title: t('import.steps.result') },
          ]}
        />
        <ErrorAlert error={error} />

        {step === 0 ? (
          <Space direction="vertical" size="large" style={{ width: '100%' }}>
            <Form layout="vertical">
              <Form.Item label={t('import.target')}>
                <Radio.Group
                  value={target}
                  onChange={(e) => setTarget(e.target.value as 'new' | 'existing')}
                  options={[
                    { value: 'new', label: t('import.targetNew') },
                    { value: 'existing', label: t('import.targetExisting') },
                  ]}
                />
              </Form.Item>
              {target === 'existing' ? (
                <Form.Item label={t('import.resource')} htmlFor="import-resource" required>
                  <Select
                    id="import-resource"
                    showSearch
                    optionFilterProp="label"
                    loading={mine.loading}
                    value={resourceId}
                    onChange={setResourceId}
                    placeholder={t('import.pickResource')}
                    options={(mine.data ?? []).map((r) => ({ value: r.id, label: `${r.name} (${r.code})` }))}
                  />
                </Form.Item>
              ) : null}
              <Form.Item label={t('import.file')} required>
                <Upload.Dragger
                  multiple={false}
                  maxCount={1}
                  accept=".csv,.tsv,.txt,.xlsx,.json,.ndjson,.jsonl,.parquet"
                  beforeUpload={(f) => {
                    setFile(f);
                    setPreview(null);
                    return false;
                  }}
                  onRemove={() => setFile(null)}
                  fileList={
                    file
                      ? [{ uid: 'chosen', name: `${file.name} (${fmtBytes(file.size)})`, status: 'done' }]
                      : []
                  }
                >
                  <p className="ant-upload-drag-icon">
                    <InboxOutlined />
                  </p>
                  <p className="ant-upload-text">{t('import.drop')}</p>
                  <p className="ant-upload-hint">{t('import.formats')}</p>
                </Upload.Dragger>
              </Form.Item>
              <Row gutter={12}>
                <Col xs={24} md={8}>
                  <Form.Item label={t('import.encoding')} htmlFor="import-encoding">
                    <Select
                      id="import-encoding"
                      value={encoding}
                      onChange={setEncoding}
                      options={[
                        { value: '', label: t('import.auto') },
                        { value: 'utf-8', label: 'UTF-8' },
                        { value: 'gb18030', label: 'GB18030 / GBK' },
                      ]}
                    />
                  </Form.Item>
                </Col>
                <Col xs={24} md={8}>
                  <Form.Item label={t('import.delimiter')} htmlFor="import-delimiter">
                    <Select
                      id="import-delimiter"
                      value={delimiter}
                      onChange={setDelimiter}
                      options={[
                        { value: '', label: t('import.auto') },
                        { value: ',', label: t('import.comma') },
                        { value: '\t', label: t('import.tab') },
                        { value: ';', label: t('import.semicolon') },
                        { value: '|', label: '|' },
                      ]}
                    />
                  </Form.Item>
                </Col>
                <Col xs={24} md={8}>
                  <Form.Item label={t('import.sheet')} htmlFor="import-sheet">
                    <Input
                      id="import-sheet"
                      value={sheet}
                      onChange={(e) => setSheet(e.target.value)}
                      placeholder={t('import.sheetHint')}
                    />
                  </Form.Item>
                </Col>
              </Row>
            </Form>
            <Button
              type="primary"
              loading={busy}
              disabled={!file || (target === 'existing' && !resourceId)}
              onClick={() => void runPreview()}
            >
              {t('import.preview')}
            </Button>
          </Space>
        ) : null}

        {step === 1 && preview ? (
          <Space direction="vertical" size="large" style={{ width: '100%' }}>
            <Descriptions bordered size="small" column={{ xs: 1, md: 3 }} title={t('import.detected')}>
              <Descriptions.Item label={t('import.fileName')}>{file?.name}</Descriptions.Item>
              <Descriptions.Item label={t('import.format')}>{preview.format.toUpperCase()}</Descriptions.Item>
              <Descriptions.Item label={t('import.encoding')}>
                <span data-testid="detected-encoding">{preview.encoding ?? '—'}</span>
              </Descriptions.Item>
              <Descriptions.Item label={t('import.delimiter')}>
                {preview.delimiter === '\t' ? t('import.tab') : (preview.delimiter ?? '—')}
              </Descriptions.Item>
              <Descriptions.Item label={t('import.sheet')}>
                {preview.sheet ?? '—'}
                {preview.sheets.length > 1 ? ` (${preview.sheets.join(', ')})` : ''}
              </Descriptions.Item>
              <Descriptions.Item label={t('import.columns')}>{preview.header.length}</Descriptions.Item>
            </Descriptions>

            {target === 'new' ? (
              <>
                <Typography.Title level={2} style={{ fontSize: 16, margin: 0 }}>
                  {t('import.mapping')}
                </Typography.Title>
                {planProblems.bad.length ? (
                  <Alert
                    type="error"
                    showIcon
                    message={t('import.badNames', { names: planProblems.bad.join(', ') })}
                  />
                ) : null}
                {planProblems.dup.length ? (
                  <Alert
                    type="error"
                    showIcon
                    message={t('import.dupNames', { names: planProblems.dup.join(', ') })}
                  />
                ) : null}
                <Table<ColumnPlan>
                  size="small"
                  rowKey="index"
                  pagination={false}
                  scroll={{ x: 'max-content' }}
                  dataSource={plan}
                  aria-label={t('import.mapping')}
                  columns={[
                    {
                      title: t('import.include'),
                      render: (_: unknown, p) => (
                        <Checkbox
                          checked={p.include}
                          aria-label={t('import.includeColumn', { column: p.header })}
                          onChange={(e) =>
                            setPlan((all) =>
                              all.map((x) => (x.index === p.index ? { ...x, include: e.target.checked } : x)),
                            )
                          }
                        />
                      ),
                    },
                    { title: t('import.column'), dataIndex: 'header' },
                    {
                      title: t('import.fieldName'),
                      render: (_: unknown, p) => (
                        <Input
                          value={p.name}
                          disabled={!p.include}
                          status={p.include && !FIELD_NAME.test(p.name) ? 'error' : undefined}
                          aria-label={t('import.fieldNameFor', { column: p.header })}
                          style={{ width: 180 }}
                          onChange={(e) =>
                            setPlan((all) =>
                              all.map((x) => (x.index === p.index ? { ...x, name: e.target.value } : x)),
                            )
                          }
                        />
                      ),
                    },
                    {
                      title: t('import.inferredType'),
                      render: (_: unknown, p) => (
                        <Select
                          value={p.dataType}
                          disabled={!p.include}
                          aria-label={t('import.typeFor', { column: p.header })}
                          style={{ width: 140 }}
                          onChange={(v) =>
                            setPlan((all) =>
                              all.map((x) => (x.index === p.index ? { ...x, dataType: v } : x)),
                            )
                          }
                          options={DATA_TYPES.map((d) => ({ value: d, label: t(`dataType.${d}`) }))}
                        />
                      ),
                    },
                    {
                      title: t('field.key'),
                      render: (_: unknown, p) => (
                        <Checkbox
                          checked={p.isKey}
                          disabled={!p.include}
                          aria-label={t('import.keyFor', { column: p.header })}
                          onChange={(e) =>
                            setPlan((all) =>
                              all.map((x) => (x.index === p.index ? { ...x, isKey: e.target.checked } : x)),
                            )
                          }
                        />
                      ),
                    },
                  ]}
                />
                <Typography.Title level={2} style={{ fontSize: 16, margin: 0 }}>
                  {t('import.newResource')}
                </Typography.Title>
                <Form
                  form={meta}
                  layout="vertical"
                  initialValues={{ updateCycle: 'monthly', sharingType: 'conditional', openType: 'not_open' }}
                >
                  <Row gutter={12}>
                    <Col xs={24} md={12}>
                      <Form.Item
                        name="name"
                        label={t('resource.name')}
                        rules={[{ required: true, min: 2, message: t('import.nameRequired') }]}
                      >
                        <Input maxLength={200} />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={6}>
                      <Form.Item
                        name="theme"
                        label={t('resource.theme')}
                        rules={[{ required: true, message: t('import.themeRequired') }]}
                      >
                        <Select
                          showSearch
                          optionFilterProp="label"
                          options={themes.map((th) => ({
                            value: th.id,
                            label: bilingual({ zh: th.zh, en: th.en }),
                          }))}
                        />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={6}>
                      <Form.Item name="updateCycle" label={t('resource.updateCycle')}>
                        <Select options={UPDATE_CYCLES.map((c) => ({ value: c, label: t(`cycle.${c}`) }))} />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={6}>
                      <Form.Item name="sharingType" label={t('resource.sharingType')}>
                        <Select
                          options={SHARING_TYPES.map((s) => ({ value: s, label: t(`sharing.${s}`) }))}
                        />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={18}>
                      <Form.Item
                        name="sharingConditions"
                        label={t('resource.sharingConditions')}
                        dependencies={['sharingType']}
                        rules={[
                          ({ getFieldValue }) => ({
                            validator: (_, v: string | undefined) =>
                              getFieldValue('sharingType') !== 'unconditional' && !(v ?? '').trim()
                                ? Promise.reject(new Error(t('import.conditionsRequired')))
                                : Promise.resolve(),
                          }),
                        ]}
                      >
                        <Input maxLength={2000} />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={6}>
                      <Form.Item name="openType" label={t('resource.openType')}>
                        <Select options={OPEN_TYPES.map((s) => ({ value: s, label: t(`open.${s}`) }))} />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={18}>
                      <Form.Item name="openConditions" label={t('resource.openConditions')}>
                        <Input maxLength={2000} />
                      </Form.Item>
                    </Col>
                    <Col span={24}>
                      <Form.Item name="summary" label={t('resource.summary')}>
                        <Input.TextArea rows={2} maxLength={4000} />
                      </Form.Item>
                    </Col>
                  </Row>
                </Form>
              </>
            ) : mapping ? (
              <>
                <Typography.Title level={2} style={{ fontSize: 16, margin: 0 }}>
                  {t('import.mapping')}
                </Typography.Title>
                <Table
                  size="small"
                  rowKey="header"
                  pagination={false}
                  scroll={{ x: 'max-content' }}
                  dataSource={mapping.columns}
                  aria-label={t('import.mapping')}
                  columns={[
                    { title: t('import.column'), dataIndex: 'header' },
                    {
                      title: t('import.field'),
                      dataIndex: 'field',
                      render: (f: string | null) =>
                        f ? (
                          <Space>
                            <Mono>{f}</Mono>
                            <span>
                              {t(
                                `dataType.${existing?.fields.find((x) => x.name === f)?.dataType ?? 'text'}`,
                              )}
                            </span>
                          </Space>
                        ) : (
                          <Tag color="warning">{t('import.unknownColumn')}</Tag>
                        ),
                    },
                  ]}
                />
                {mapping.missing.length ? (
                  <Alert
                    type="warning"
                    showIcon
                    message={t('import.missingFields', { names: mapping.missing.join(', ') })}
                  />
                ) : null}
              </>
            ) : (
              <Alert type="warning" showIcon message={t('import.pickResource')} />
            )}

            <Typography.Title level={2} style={{ fontSize: 16, margin: 0 }}>
              {t('import.sample')}
            </Typography.Title>
            <Table
              size="small"
              rowKey={(_, i) => String(i)}
              pagination={false}
              scroll={{ x: 'max-content' }}
              dataSource={preview.sampleRows
                .slice(0, 8)
                .map((row) => Object.fromEntries(row.map((v, i) => [String(i), v])))}
              columns={preview.header.map((h, i) => ({
                key: String(i),
                title: h,
                dataIndex: String(i),
                render: (v: unknown) => (v === null || v === undefined ? '' : String(v)),
              }))}
            />
            {preview.sampleProblems.length ? (
              <Alert
                type="warning"
                showIcon
                message={t('import.sampleProblems', { count: preview.sampleProblems.length })}
                description={preview.sampleProblems.slice(0, 5).map((p) => (
                  <div key={p.line}>
                    {t('import.line', { line: p.line })}: {bilingual(p)}
                  </div>
                ))}
              />
            ) : null}
            <Form layout="inline">
              <Form.Item
                label={t('import.maxErrors')}
                htmlFor="import-max-errors"
                extra={t('import.maxErrorsHint')}
                // An inline item is as wide as its hint; on a phone the hint wraps instead.
                style={{ maxWidth: '100%', marginInlineEnd: 0 }}
              >
                <InputNumber
                  controls={false}
                  id="import-max-errors"
                  min={0}
                  max={1_000_000}
                  value={maxErrors}
                  onChange={(v) => setMaxErrors(v ?? 0)}
                />
              </Form.Item>
            </Form>
            <Space wrap>
              <Button onClick={() => setStep(0)}>{t('common.back')}</Button>
              <Button
                type="primary"
                loading={busy}
                disabled={
                  target === 'existing'
                    ? !existing
                    : planProblems.bad.length > 0 || planProblems.dup.length > 0 || planProblems.none
                }
                onClick={() => void startImport()}
              >
                {t('import.start')}
              </Button>
            </Space>
          </Space>
        ) : null}

        {step === 2 ? (
          <Space direction="vertical" style={{ width: '100%' }} size="large" aria-live="polite">
            <div>
              <Typography.Text strong id="upload-progress-label">
                {t('import.uploading')}
              </Typography.Text>
              <Progress percent={uploadPercent} aria-labelledby="upload-progress-label" />
            </div>
            <div>
              <Typography.Text strong id="load-progress-label">
                {t('import.loading')}
              </Typography.Text>
              <Progress
                percent={loadPercent}
                status="active"
                aria-labelledby="load-progress-label"
                data-testid="load-progress"
              />
              <Typography.Text type="secondary">
                {t('import.progress', {
                  rows: fmtNumber(job?.progress?.loadedRows ?? 0),
                  bad: fmtNumber(job?.progress?.badRows ?? 0),
                  bytes: fmtBytes(job?.progress?.bytes ?? 0),
                })}
              </Typography.Text>
            </div>
          </Space>
        ) : null}

        {step === 3 && job ? <ImportOutcome job={job} resourceId={resultResourceId} onAgain={reset} /> : null}
      </Card>
    </>
  );
}

function BadRowTable({ rows }: { rows: BadRow[] }) {
  const { t } = useTranslation();
  return (
    <Table
      size="small"
      data-testid="bad-rows"
      rowKey={(r) => `${r.line}:${r.column ?? ''}:${r.code}`}
      pagination={rows.length > 10 ? { pageSize: 10, showSizeChanger: false } : false}
      scroll={{ x: 'max-content' }}
      dataSource={rows}
      aria-label={t('import.badRowReport')}
      columns={[
        { title: t('import.lineNo'), dataIndex: 'line' },
        {
          title: t('import.column'),
          dataIndex: 'column',
          render: (c: number | undefined) => (c === undefined || c < 0 ? '—' : c + 1),
        },
        { title: t('import.problem'), render: (_: unknown, r) => bilingual(r) },
        { title: t('import.code'), dataIndex: 'code', render: (c: string) => <Mono>{c}</Mono> },
      ]}
    />
  );
}

function ImportOutcome({ job, resourceId, onAgain }: { job: Job; resourceId?: string; onAgain(): void }) {
  const { t } = useTranslation();
  const actions = (
    <Space wrap>
      {resourceId ? (
        <>
          <LinkButton type="primary" to={`/catalog/${resourceId}/classification`}>
            {t('import.reviewClassification')}
          </LinkButton>
          <LinkButton to={`/catalog/${resourceId}`}>{t('import.openResource')}</LinkButton>
        </>
      ) : null}
      <Button onClick={onAgain}>{t('import.again')}</Button>
    </Space>
  );
  if (job.state === 'succeeded' && job.result) {
    const r = job.result;
    return (
      <Space direction="vertical" style={{ width: '100%' }}>
        <Result
          status={r.badRows > 0 ? 'warning' : 'success'}
          title={t('import.done', { number: r.versionNumber })}
          subTitle={t('import.doneBody', { rows: fmtNumber(r.rows), bad: fmtNumber(r.badRows) })}
          extra={actions}
        />
        <Typography.Text type="secondary">
          {t(r.bulk ? 'import.loadedBulk' : 'import.loadedRows')}
        </Typography.Text>
        {r.unknownColumns.length ? (
          <Alert
            type="info"
            showIcon
            message={t('import.ignoredColumns', { names: r.unknownColumns.join(', ') })}
          />
        ) : null}
        {r.missingFields.length ? (
          <Alert
            type="warning"
            showIcon
            message={t('import.missingFields', { names: r.missingFields.join(', ') })}
          />
        ) : null}
        {r.duplicateKeys ? (
          <Alert type="warning" showIcon message={t('import.duplicates', { count: r.duplicateKeys })} />
        ) : null}
        <Typography.Title level={2} style={{ fontSize: 16 }}>
          {t('import.badRowReport')}
        </Typography.Title>
        {r.badRowReport.length ? (
          <BadRowTable rows={r.badRowReport} />
        ) : (
          <Typography.Text>{t('import.noBadRows')}</Typography.Text>
        )}
      </Space>
    );
  }
  const failure = job.error;
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Result
        status="error"
        title={t('import.failed')}
        subTitle={failure ? `${failure.message} (${failure.code})` : t('import.failedUnknown')}
        extra={actions}
      />
      {failure?.details?.firstBadRows?.length ? <BadRowTable rows={failure.details.firstBadRows} /> : null}
    </Space>
  );
}
