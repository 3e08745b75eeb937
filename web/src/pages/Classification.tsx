import type { CheckboxProps } from 'antd';
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Flex,
  Form,
  Grid,
  Input,
  List,
  Select,
  Skeleton,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FORMAT_NAMES, type FormatId } from '../../../src/rules/formats.ts';
import { api } from '../api.ts';
import {
  ErrorAlert,
  GradeTag,
  LinkButton,
  ListTable,
  Mono,
  Pager,
  PageTitle,
} from '../components/common.tsx';
import { FormModal } from '../components/FormModal.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { fmtDateTime, fmtNumber, fmtPercent } from '../format.ts';
import { forgetResource, useAction, useCursorPages, useLoader } from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { Classification, FieldClassification, Grade, Page, Resource } from '../types.ts';
import { GRADES } from '../types.ts';
import { isProviderSteward } from './ResourceDetail.tsx';

const DECIDABLE = GRADES.filter((g) => g !== 'unassessed');

/** Resources to review: a steward's own organization's; everything for security officers. */
export function ClassificationList() {
  const { t } = useTranslation();
  const me = useMe();
  const ownOnly = !hasRole(me, 'security_officer', 'platform_admin');
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<Resource>>(
        '/v1/catalog/search',
        { provider: ownOnly ? me.organization.id : undefined, limit: 20, cursor },
        signal,
      ),
    [ownOnly, me.organization.id],
  );
  const pages = useCursorPages(fetchPage);
  return (
    <>
      <PageTitle
        title={t('nav.classification')}
        sub={ownOnly ? t('classification.subOwn') : t('classification.subAll')}
        help="classification"
      />
      <ErrorAlert error={pages.error} onRetry={pages.reload} />
      <Card>
        <ListTable<Resource>
          toolbar={cursorToolbar('classification', pages)}
          empty={t('common.none')}
          size="middle"
          loading={pages.loading}
          dataSource={pages.items}
          columns={[
            {
              title: t('resource.name'),
              dataIndex: 'name',
              render: (name: string, r) => <Link to={`/catalog/${r.id}/classification`}>{name}</Link>,
              exportValue: (r) => r.name,
            },
            { title: t('resource.code'), dataIndex: 'code' },
            { title: t('resource.provider'), render: (_: unknown, r) => r.provider.name },
            {
              title: t('resource.grade'),
              dataIndex: 'grade',
              render: (g: Grade) => <GradeTag grade={g} />,
              exportValue: (r) => t(`grade.${r.grade}`, { defaultValue: r.grade }),
            },
            {
              title: t('classification.unassessed'),
              render: (_: unknown, r) => fmtNumber(r.fields.filter((f) => f.grade === 'unassessed').length),
            },
            { title: t('catalog.fields'), render: (_: unknown, r) => fmtNumber(r.fields.length) },
          ]}
        />
        <Pager {...pages} />
      </Card>
    </>
  );
}

export function ClassificationReview({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const loadResource = useCallback(
    (signal: AbortSignal) => api.get<Resource>(`/v1/resources/${encodeURIComponent(id)}`, undefined, signal),
    [id],
  );
  const resource = useLoader(loadResource);
  const loadClassification = useCallback(
    (signal: AbortSignal) =>
      api.get<Classification>(`/v1/resources/${encodeURIComponent(id)}/classification`, undefined, signal),
    [id],
  );
  const classification = useLoader(loadClassification);
  const [current, setCurrent] = useState<Classification | null>(null);
  const scanning = useAction();
  const confirming = useAction<string>();
  const [deciding, setDeciding] = useState<FieldClassification[] | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const bulk = useAction();
  const [clearing, setClearing] = useState(false);
  const wide = Grid.useBreakpoint().md ?? true;

  const data =
    current && current.resourceId === classification.data?.resourceId ? current : classification.data;
  const r = resource.data;
  const steward = r ? isProviderSteward(me, r) : false;

  const updated = (next: Classification) => {
    setCurrent(next);
    forgetResource(id);
  };

  const scan = () =>
    scanning.run(async () => {
      updated(await api.post<Classification>(`/v1/resources/${encodeURIComponent(id)}/classification/scan`));
      message.success(t('classification.scanned'));
    });

  const confirm = async (field: FieldClassification) => {
    const suggested = field.scan?.suggestedGrade;
    if (!suggested || suggested === 'unassessed') {
      setDeciding([field]);
      return;
    }
    await confirming.run(async () => {
      updated(
        await api.put<Classification>(
          `/v1/resources/${encodeURIComponent(id)}/fields/${encodeURIComponent(field.name)}/grade`,
          { grade: suggested },
        ),
      );
      message.success(t('classification.confirmed', { field: field.label, grade: t(`grade.${suggested}`) }));
    }, field.name);
  };

  const chosen = (data?.fields ?? []).filter((f) => selected.includes(f.name));
  const confirmable =
    chosen.length > 0 && chosen.every((f) => f.scan && f.scan.suggestedGrade !== 'unassessed');
  const confirmSelected = () =>
    bulk.run(async () => {
      const next = await api.post<Classification>(
        `/v1/resources/${encodeURIComponent(id)}/classification/decisions`,
        { fields: chosen.map((f) => f.name) },
      );
      updated(next);
      setSelected([]);
      message.success(t('classification.bulkConfirmed', { count: chosen.length }));
    });

  const actionsFor = (f: FieldClassification) => (
    <Space wrap>
      <Button
        size="small"
        type="primary"
        aria-label={t('classification.confirmFor', { field: f.label })}
        loading={confirming.running === f.name}
        onClick={() => void confirm(f)}
      >
        {t('classification.confirm')}
      </Button>
      <Button
        size="small"
        aria-label={t('classification.overrideFor', { field: f.label })}
        onClick={() => setDeciding([f])}
      >
        {t('classification.override')}
      </Button>
    </Space>
  );

  if ((resource.loading && !r) || (classification.loading && !data))
    return <Skeleton active paragraph={{ rows: 8 }} />;
  if (!r || !data) {
    return (
      <>
        <ErrorAlert error={resource.error} onRetry={resource.reload} />
        <ErrorAlert error={classification.error} onRetry={classification.reload} />
      </>
    );
  }

  return (
    <>
      <PageTitle
        title={`${t('classification.title')} · ${r.name}`}
        help="classification"
        sub={
          <Space wrap>
            <span>{r.code}</span>
            <span>{t('classification.resourceGrade')}</span>
            <GradeTag grade={data.grade} />
          </Space>
        }
        extra={
          <>
            <LinkButton to={`/catalog/${r.id}`}>{t('classification.toResource')}</LinkButton>
            {steward ? (
              <Button type="primary" loading={scanning.busy} onClick={() => void scan()}>
                {t('classification.scan')}
              </Button>
            ) : null}
          </>
        }
      />
      {!steward ? (
        <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('classification.readOnly')} />
      ) : null}
      {data.flag ? (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          message={t('classification.flagged', { time: fmtDateTime(data.flag.raisedAt) })}
          description={
            <Space direction="vertical">
              {data.flag.fields.map((f) => (
                <span key={`${f.field}-${f.at}`}>
                  <Mono>{f.field}</Mono> {t(`classification.flagReason.${f.reason}`)} ·{' '}
                  {t(`detector.${f.detector}`, { defaultValue: f.detector })} →{' '}
                  <GradeTag grade={f.suggestedGrade} />
                </span>
              ))}
            </Space>
          }
          action={
            steward ? (
              <Button size="small" onClick={() => setClearing(true)}>
                {t('classification.clearFlag')}
              </Button>
            ) : undefined
          }
        />
      ) : null}
      <Card>
        {steward ? (
          <Flex wrap gap={8} align="center" style={{ marginBottom: 12 }} data-testid="bulk-bar">
            <Button
              size="small"
              onClick={() => setSelected(data.fields.filter((f) => !f.confirmation).map((f) => f.name))}
            >
              {t('classification.selectUnconfirmed')}
            </Button>
            <Typography.Text type="secondary">
              {t('classification.selected', { count: chosen.length })}
            </Typography.Text>
            <Button
              size="small"
              type="primary"
              disabled={!confirmable}
              loading={bulk.busy}
              title={chosen.length > 0 && !confirmable ? t('classification.bulkNoSuggestion') : undefined}
              onClick={() => void confirmSelected()}
            >
              {t('classification.bulkConfirm')}
            </Button>
            <Button size="small" disabled={chosen.length === 0} onClick={() => setDeciding(chosen)}>
              {t('classification.bulkSet')}
            </Button>
            {chosen.length > 0 ? (
              <Button size="small" type="link" onClick={() => setSelected([])}>
                {t('classification.clearSelection')}
              </Button>
            ) : null}
          </Flex>
        ) : null}
        <div data-testid="classification-table">
          {wide ? (
            <Table<FieldClassification>
              rowKey="name"
              dataSource={data.fields}
              rowSelection={
                steward
                  ? {
                      selectedRowKeys: selected,
                      onChange: (keys) => setSelected(keys.map(String)),
                      // The label reaches the checkbox's input (antd passes unknown props down to it).
                      getCheckboxProps: (f) =>
                        ({
                          'aria-label': t('classification.selectField', { field: f.label }),
                        }) as CheckboxProps,
                    }
                  : undefined
              }
              pagination={data.fields.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
              scroll={{ x: 980 }}
              tableLayout="fixed"
              columns={[
                { title: t('field.label'), width: 130, render: (_: unknown, f) => <FieldName field={f} /> },
                {
                  title: t('classification.detected'),
                  width: 160,
                  render: (_: unknown, f) => <Detected field={f} />,
                },
                {
                  title: t('classification.evidence'),
                  width: 200,
                  render: (_: unknown, f) => <Evidence field={f} />,
                },
                {
                  title: t('classification.suggested'),
                  width: 110,
                  render: (_: unknown, f) => (f.scan ? <GradeTag grade={f.scan.suggestedGrade} /> : '—'),
                },
                { title: t('classification.effective'), render: (_: unknown, f) => <Effective field={f} /> },
                ...(steward
                  ? [
                      {
                        title: t('common.actions'),
                        width: 150,
                        fixed: 'right' as const,
                        render: (_: unknown, f: FieldClassification) => actionsFor(f),
                      },
                    ]
                  : []),
              ]}
            />
          ) : (
            <List
              dataSource={data.fields}
              renderItem={(f) => (
                <List.Item key={f.name} style={{ display: 'block' }}>
                  <Space direction="vertical" style={{ width: '100%' }}>
                    <FieldName field={f} />
                    <Descriptions size="small" column={1} bordered>
                      <Descriptions.Item label={t('classification.detected')}>
                        <Detected field={f} />
                      </Descriptions.Item>
                      <Descriptions.Item label={t('classification.evidence')}>
                        <Evidence field={f} />
                      </Descriptions.Item>
                      <Descriptions.Item label={t('classification.suggested')}>
                        {f.scan ? <GradeTag grade={f.scan.suggestedGrade} /> : '—'}
                      </Descriptions.Item>
                      <Descriptions.Item label={t('classification.effective')}>
                        <Effective field={f} />
                      </Descriptions.Item>
                    </Descriptions>
                    {steward ? actionsFor(f) : null}
                  </Space>
                </List.Item>
              )}
            />
          )}
        </div>
      </Card>
      <DecideGrade
        resourceId={id}
        target={deciding}
        onClose={() => setDeciding(null)}
        onDone={(next) => {
          updated(next);
          setDeciding(null);
          setSelected([]);
        }}
      />
      <ClearFlag
        resourceId={id}
        open={clearing}
        onClose={() => setClearing(false)}
        onDone={(next) => {
          updated(next);
          setClearing(false);
        }}
      />
    </>
  );
}

function FieldName({ field: f }: { field: FieldClassification }) {
  return (
    <Space direction="vertical" size={0}>
      <Typography.Text strong>{f.label}</Typography.Text>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {f.name}
      </Typography.Text>
    </Space>
  );
}

function Detected({ field: f }: { field: FieldClassification }) {
  const { t } = useTranslation();
  if (!f.scan) return <Typography.Text type="secondary">{t('classification.notScanned')}</Typography.Text>;
  if (!f.scan.detector)
    return <Typography.Text type="secondary">{t('classification.nothingFound')}</Typography.Text>;
  return (
    <Space direction="vertical" size={0}>
      <Tag color="purple">{t(`detector.${f.scan.detector}`, { defaultValue: f.scan.detector })}</Tag>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('classification.confidence', {
          confidence: fmtPercent(f.scan.confidence),
          ratio: fmtPercent(f.scan.ratio),
        })}
      </Typography.Text>
    </Space>
  );
}

/**
 * Why the scanner said what it said: the header hint, masked samples, the entities found inside
 * free text, the messy formats it still validated, the shape rules that decided against a detector,
 * and where a sensitive category's vocabulary comes from.
 */
function Evidence({ field: f }: { field: FieldClassification }) {
  const { t, i18n } = useTranslation();
  const e = f.scan?.evidence;
  if (!f.scan || !e) return <>—</>;
  const formats = Object.entries(e.formats ?? {}).filter(([, n]) => n > 0);
  const entities = Object.entries(e.freeText?.entities ?? {}).filter(([, n]) => n > 0);
  const rules = e.rules ?? [];
  if (!(e.samples.length || e.headerHint || formats.length || entities.length || rules.length || e.basis))
    return <>—</>;
  const small = { fontSize: 12 };
  const formatName = (id: string) => {
    const name = FORMAT_NAMES[id as FormatId];
    return name ? (i18n.language === 'en' ? name.en : name.zh) : id;
  };
  return (
    <Space direction="vertical" size={0} data-testid={`evidence-${f.name}`}>
      {e.headerHint ? (
        <Typography.Text style={small}>
          {t('classification.headerHint')}: <Mono>{e.headerHint}</Mono>
        </Typography.Text>
      ) : null}
      {entities.length > 0 ? (
        <Typography.Text style={small}>
          {t('classification.entities', { count: e.freeText?.valuesWithEntities ?? 0 })}
          {entities
            .map(([type, n]) => `${t(`detector.${type}`, { defaultValue: type })} ${fmtNumber(n)}`)
            .join(' · ')}
        </Typography.Text>
      ) : null}
      {formats.length > 0 ? (
        <Typography.Text style={small}>
          {t('classification.formats')}
          {formats.map(([id, n]) => `${formatName(id)} ${fmtNumber(n)}`).join(' · ')}
        </Typography.Text>
      ) : null}
      {rules.map((r) => {
        const [rule, detector] = r.split(':');
        return (
          <Typography.Text key={r} type="warning" style={small}>
            {t(`classification.shapeRule.${rule}`, {
              detector: t(`detector.${detector}`, { defaultValue: detector ?? '' }),
              defaultValue: r,
            })}
          </Typography.Text>
        );
      })}
      {e.basis ? (
        <Typography.Text type="secondary" style={small}>
          {t('classification.basis')}: {e.basis}
        </Typography.Text>
      ) : null}
      {e.samples.slice(0, 3).map((s) => (
        <Mono key={s}>{s}</Mono>
      ))}
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('classification.scannedRows', {
          rows: fmtNumber(f.scan.rows),
          how: f.scan.sampled ? t('classification.sampled') : t('classification.allRows'),
        })}
      </Typography.Text>
    </Space>
  );
}

function Effective({ field: f }: { field: FieldClassification }) {
  const { t } = useTranslation();
  return (
    <Space direction="vertical" size={0}>
      <GradeTag grade={f.grade} />
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {f.confirmation
          ? f.confirmation.by
            ? t('classification.confirmedBy', {
                who: f.confirmation.by.username ?? f.confirmation.by.id,
                time: fmtDateTime(f.confirmation.at),
              })
            : t('classification.declared')
          : t('classification.unconfirmed')}
        {f.confirmation?.reason ? ` · ${f.confirmation.reason}` : ''}
      </Typography.Text>
    </Space>
  );
}

function DecideGrade({
  resourceId,
  target,
  onClose,
  onDone,
}: {
  resourceId: string;
  target: FieldClassification[] | null;
  onClose(): void;
  onDone(next: Classification): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ grade: Grade; reason?: string }>();
  const action = useAction();
  const one = target?.length === 1 ? target[0] : undefined;
  const suggestions = new Set((target ?? []).map((f) => f.scan?.suggestedGrade));
  const suggested = suggestions.size === 1 ? [...suggestions][0] : undefined;

  const submit = (values: { grade: Grade; reason?: string }) =>
    action.run(async () => {
      if (!target) return;
      const reason = values.reason?.trim() ? { reason: values.reason.trim() } : {};
      const next = one
        ? await api.put<Classification>(
            `/v1/resources/${encodeURIComponent(resourceId)}/fields/${encodeURIComponent(one.name)}/grade`,
            { grade: values.grade, ...reason },
          )
        : await api.post<Classification>(
            `/v1/resources/${encodeURIComponent(resourceId)}/classification/decisions`,
            { fields: target.map((f) => f.name), grade: values.grade, ...reason },
          );
      const fields = target.map((f) => f.label).join('、');
      message.success(t('classification.confirmed', { field: fields, grade: t(`grade.${values.grade}`) }));
      form.resetFields();
      onDone(next);
    });

  return (
    <FormModal
      open={!!target}
      title={
        one
          ? t('classification.overrideTitle', { field: one.label })
          : t('classification.bulkTitle', { count: target?.length ?? 0 })
      }
      onCancel={onClose}
      okText={t('common.save')}
      busy={action.busy}
      form={form}
      onFinish={submit}
      initialValues={{ grade: one && one.grade !== 'unassessed' ? one.grade : undefined }}
    >
      {one ? null : (
        <Typography.Paragraph type="secondary" data-testid="bulk-fields">
          {(target ?? []).map((f) => f.label).join('、')}
        </Typography.Paragraph>
      )}
      <Form.Item
        name="grade"
        label={t('classification.grade')}
        rules={[{ required: true, message: t('classification.gradeRequired') }]}
      >
        <Select options={DECIDABLE.map((g) => ({ value: g, label: t(`grade.${g}`) }))} />
      </Form.Item>
      <Form.Item
        name="reason"
        label={t('classification.reason')}
        dependencies={['grade']}
        extra={
          suggested
            ? t('classification.reasonHint', { grade: t(`grade.${suggested}`) })
            : t('classification.reasonNeeded')
        }
        rules={[
          ({ getFieldValue }) => ({
            validator: (_, v: string | undefined) =>
              (target ?? []).some((f) => f.scan?.suggestedGrade !== getFieldValue('grade')) &&
              !(v ?? '').trim()
                ? Promise.reject(new Error(t('classification.reasonRequired')))
                : Promise.resolve(),
          }),
        ]}
      >
        <Input.TextArea rows={3} maxLength={2000} />
      </Form.Item>
    </FormModal>
  );
}

function ClearFlag({
  resourceId,
  open,
  onClose,
  onDone,
}: {
  resourceId: string;
  open: boolean;
  onClose(): void;
  onDone(next: Classification): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ reason: string }>();
  const action = useAction();
  const submit = ({ reason }: { reason: string }) =>
    action.run(async () => {
      const next = await api.post<Classification>(
        `/v1/resources/${encodeURIComponent(resourceId)}/classification/flag/clear`,
        { reason: reason.trim() },
      );
      message.success(t('classification.flagCleared'));
      onDone(next);
    });
  return (
    <FormModal
      open={open}
      title={t('classification.clearFlag')}
      onCancel={onClose}
      okText={t('common.save')}
      busy={action.busy}
      form={form}
      onFinish={submit}
    >
      <Form.Item
        name="reason"
        label={t('classification.reason')}
        rules={[{ required: true, whitespace: true, message: t('classification.reasonRequired') }]}
      >
        <Input.TextArea rows={3} maxLength={2000} />
      </Form.Item>
    </FormModal>
  );
}
