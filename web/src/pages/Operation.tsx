/**
 * Authorized operation of public data (授权运营, src/operation): the implementing body's plans and
 * the operator selection, agreements with their scope and terms, data products with their lineage,
 * the cap fee the bureau sets and the price the operator charges under it, customers'
 * subscriptions and their monthly bills (reproducible from the audit log), and the yearly
 * disclosure with the operators' maximum allowed revenue. Money is integer fen on the server and
 * yuan with two decimals here (money.ts, no floating point). Buttons follow the server's rules:
 * the bureau (platform_admin) approves, selects, terminates and sets cap fees; an operator's data
 * steward or administrator registers products, sets prices, subscribes customers and bills them.
 */
import {
  CheckCircleOutlined,
  DownloadOutlined,
  ExportOutlined,
  FilePdfOutlined,
  MinusCircleOutlined,
  PlusOutlined,
} from '@ant-design/icons';
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Empty,
  Form,
  Input,
  InputNumber,
  Popconfirm,
  Select,
  Skeleton,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import type { TFunction } from 'i18next';
import { useCallback, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, errorText, fetchBlob, saveBlob, withQuery } from '../api.ts';
import {
  ErrorAlert,
  ListTable,
  Mono,
  NotLoaded,
  OrgName,
  PageTitle,
  StateFilter,
  StateTag,
} from '../components/common.tsx';
import { FormModal } from '../components/FormModal.tsx';
import { ResourceSelect } from '../components/ResourceSelect.tsx';
import type { ToolbarOptions } from '../components/TableToolbar.tsx';
import { fmtDate, fmtDateTime, fmtNumber, shanghaiDate } from '../format.ts';
import { useAction, useDetail, useLoader, useOrganizations, useResources } from '../hooks.ts';
import { fenToYuan, fenToYuanInput, yuanToFen } from '../money.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type {
  Bill,
  BillLine,
  BillReproduction,
  ChargeUnit,
  DataProduct,
  Disclosure as DisclosureData,
  Me,
  OperationAgreement,
  OperationPlan,
  OperationRules,
  ProductPrice,
  RevenueCap,
  SubscribableContract,
  Subscription,
  UsePurpose,
} from '../types.ts';
import {
  AGREEMENT_STATES,
  AUTH_MODES,
  CHARGE_UNITS,
  PRODUCT_KINDS,
  SELECTION_METHODS,
  USE_PURPOSES,
} from '../types.ts';
import { ReasonModal } from './Applications.tsx';

const OP = '/v1/operation';
const enc = encodeURIComponent;

/** The implementing body (OPERATION_ADMIN): the data bureau. */
const isBureau = (me: Me) => hasRole(me, 'platform_admin');
/** An operator's staff for an organization's products (OPERATOR with its orgId), or the bureau. */
const isOperatorOf = (me: Me, orgId?: string) =>
  isBureau(me) || (hasRole(me, 'data_steward', 'org_admin') && (!orgId || me.organization.id === orgId));

/** Integer fen as yuan: ¥1,234.56. */
function yuanText(fen: number | null | undefined): string {
  return fen === null || fen === undefined ? '—' : `¥${fenToYuan(fen)}`;
}

export function Yuan({ fen }: { fen: number | null | undefined }) {
  return <span data-fen={fen ?? ''}>{yuanText(fen)}</span>;
}

/** "¥0.40/次" — an amount per charging unit. */
function PerUnit({ fen, unit }: { fen: number | null; unit: ChargeUnit }) {
  const { t } = useTranslation();
  if (fen === null) return <>{t('op.price.unset')}</>;
  return (
    <>
      <Yuan fen={fen} />
      {t('op.perUnit', { unit: t(`op.unitShort.${unit}`) })}
    </>
  );
}

const bp = (n: number) => `${(n / 100).toFixed(2)}%`;

function ResourceNames({ ids }: { ids: string[] }) {
  const names = useResources(ids);
  return (
    <Space size={4} wrap>
      {ids.map((id) => (
        <Link key={id} to={`/catalog/${id}`}>
          {names.get(id)?.name ?? id}
        </Link>
      ))}
    </Space>
  );
}

/** Resources with the fields granted (an agreement's scope) or used (a product's lineage). */
function ScopeTable({ resources }: { resources: Array<{ resourceId: string; fields: string[] }> }) {
  const { t } = useTranslation();
  const names = useResources(resources.map((r) => r.resourceId));
  return (
    <ListTable
      size="small"
      rowKey="resourceId"
      dataSource={resources}
      empty={t('common.none')}
      columns={[
        {
          title: t('op.col.resource'),
          render: (_: unknown, r) => (
            <Link to={`/catalog/${r.resourceId}`}>{names.get(r.resourceId)?.name ?? r.resourceId}</Link>
          ),
        },
        {
          title: t('op.col.fields'),
          render: (_: unknown, r) => (
            <Space size={4} wrap>
              {r.fields.map((f) => {
                const label = names.get(r.resourceId)?.fields.find((x) => x.name === f)?.label;
                return <Tag key={f}>{label ? `${label}（${f}）` : f}</Tag>;
              })}
            </Space>
          ),
        },
      ]}
    />
  );
}

// ---------------------------------------------------------------------------- plans and agreements

export function Operation() {
  const { t } = useTranslation();
  const plans = useDetail<OperationPlan[]>(`${OP}/plans`);
  const agreements = useDetail<OperationAgreement[]>(`${OP}/agreements`);
  const [state, setState] = useState<string | undefined>();
  const me = useMe();
  const [creating, setCreating] = useState<'plan' | 'agreement' | null>(null);
  const shown = (agreements.data ?? []).filter((a) => !state || a.state === state);
  const orgs = useOrganizations();
  const orgName = (id: string) => orgs.get(id)?.name ?? id;
  const bureau = isBureau(me);
  const selected = (plans.data ?? []).filter((p) => p.state === 'selected' && p.selection);
  return (
    <>
      <PageTitle
        title={t('nav.operation')}
        sub={t('op.sub')}
        help="operation"
        extra={
          bureau ? (
            <>
              <Button icon={<PlusOutlined />} onClick={() => setCreating('plan')}>
                {t('op.action.newPlan')}
              </Button>
              {selected.length > 0 ? (
                <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating('agreement')}>
                  {t('op.action.newAgreement')}
                </Button>
              ) : null}
            </>
          ) : null
        }
      />
      <Card title={t('op.section.agreements')} style={{ marginBottom: 16 }}>
        <StateFilter
          id="agreement-state"
          label={t('op.filterState')}
          states={AGREEMENT_STATES}
          value={state}
          onChange={setState}
          labelOf={(s) => t(`op.agreementState.${s}`)}
        />
        <ErrorAlert error={agreements.error} onRetry={agreements.reload} />
        <ListTable<OperationAgreement>
          toolbar={{
            id: 'operation-agreements',
            onRefresh: agreements.reload,
            refreshing: agreements.loading,
          }}
          loading={agreements.loading}
          dataSource={shown}
          empty={t('op.noAgreements')}
          columns={[
            {
              title: t('op.col.agreement'),
              render: (_: unknown, a) => (
                <Link to={`/operation/agreements/${a.id}`}>{a.scenarios.join('、')}</Link>
              ),
              exportValue: (a) => a.scenarios.join('、'),
            },
            {
              title: t('op.col.operator'),
              render: (_: unknown, a) => <OrgName id={a.operatorOrgId} />,
              exportValue: (a) => orgName(a.operatorOrgId),
            },
            { title: t('op.col.term'), render: (_: unknown, a) => `${a.validFrom} ~ ${a.validTo}` },
            {
              title: t('op.col.state'),
              render: (_: unknown, a) => (
                <StateTag state={a.state} label={t(`op.agreementState.${a.state}`)} />
              ),
              exportValue: (a) => t(`op.agreementState.${a.state}`),
            },
          ]}
        />
      </Card>
      <Card title={t('op.section.plans')}>
        <ErrorAlert error={plans.error} onRetry={plans.reload} />
        <ListTable<OperationPlan>
          toolbar={{ id: 'operation-plans', onRefresh: plans.reload, refreshing: plans.loading }}
          loading={plans.loading}
          dataSource={plans.data ?? []}
          empty={t('op.noPlans')}
          columns={[
            {
              title: t('op.col.plan'),
              render: (_: unknown, p) => <Link to={`/operation/plans/${p.id}`}>{p.name}</Link>,
              exportValue: (p) => p.name,
            },
            { title: t('op.col.mode'), render: (_: unknown, p) => t(`op.mode.${p.mode}`) },
            { title: t('op.col.method'), render: (_: unknown, p) => t(`op.method.${p.selectionMethod}`) },
            { title: t('op.col.termYears'), render: (_: unknown, p) => t('op.years', { n: p.termYears }) },
            {
              title: t('op.col.state'),
              render: (_: unknown, p) => <StateTag state={p.state} label={t(`op.planState.${p.state}`)} />,
              exportValue: (p) => t(`op.planState.${p.state}`),
            },
            {
              title: t('op.col.winner'),
              render: (_: unknown, p) => (p.selection ? <OrgName id={p.selection.winnerOrgId} /> : '—'),
              exportValue: (p) => (p.selection ? orgName(p.selection.winnerOrgId) : '—'),
            },
          ]}
        />
      </Card>
      {bureau ? (
        <>
          <PlanModal
            open={creating === 'plan'}
            onClose={() => setCreating(null)}
            onDone={(p) => navigate(`/operation/plans/${p.id}`)}
          />
          <AgreementModal
            open={creating === 'agreement'}
            plans={selected}
            onClose={() => setCreating(null)}
            onDone={(a) => navigate(`/operation/agreements/${a.id}`)}
          />
        </>
      ) : null}
    </>
  );
}

export function PlanDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const plan = useDetail<OperationPlan>(`${OP}/plans/${enc(id)}`);
  const { data: p, reload } = plan;
  const step = useAction<'approve'>();
  const [selecting, setSelecting] = useState(false);
  if (!p) return <NotLoaded loaded={plan} rows={8} />;
  const bureau = isBureau(me);
  return (
    <>
      <PageTitle
        title={p.name}
        help="operation"
        sub={<StateTag state={p.state} label={t(`op.planState.${p.state}`)} />}
        extra={
          <>
            {bureau && p.state === 'draft' ? (
              <Button
                type="primary"
                loading={step.running === 'approve'}
                onClick={() =>
                  step.run(async () => {
                    await api.post(`${OP}/plans/${enc(p.id)}/approve`);
                    message.success(t('op.done.approve'));
                    reload();
                  }, 'approve')
                }
              >
                {t('op.action.approve')}
              </Button>
            ) : null}
            {bureau && p.state === 'approved' ? (
              <Button type="primary" onClick={() => setSelecting(true)}>
                {t('op.action.select')}
              </Button>
            ) : null}
          </>
        }
      />
      <Card title={t('op.section.plan')} style={{ marginBottom: 16 }}>
        <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered>
          <Descriptions.Item label={t('op.col.mode')}>{t(`op.mode.${p.mode}`)}</Descriptions.Item>
          <Descriptions.Item label={t('op.col.method')}>
            {t(`op.method.${p.selectionMethod}`)}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.termYears')}>
            {t('op.years', { n: p.termYears })}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.approvedAt')}>{fmtDateTime(p.approvedAt)}</Descriptions.Item>
          <Descriptions.Item label={t('op.resources')} span={2}>
            <ResourceNames ids={p.resourceIds} />
          </Descriptions.Item>
          <Descriptions.Item label={t('op.scenarios')} span={2}>
            {p.scenarios.join('；')}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.security')} span={2}>
            {p.securityMeasures}
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={t('op.section.selection')}>
        {p.selection ? (
          <>
            <Typography.Paragraph>
              {t('op.selection.notice', {
                from: p.selection.noticeFrom,
                until: p.selection.noticeUntil,
                on: p.selection.decidedOn,
              })}
            </Typography.Paragraph>
            <Table
              size="small"
              rowKey="orgId"
              pagination={false}
              scroll={{ x: 'max-content' }}
              dataSource={p.selection.candidates}
              columns={[
                { title: t('op.selection.candidate'), dataIndex: 'name' },
                { title: t('op.selection.score'), dataIndex: 'score' },
                {
                  title: t('op.selection.result'),
                  render: (_: unknown, c) =>
                    c.orgId === p.selection?.winnerOrgId ? (
                      <Tag color="green">{t('op.selection.winner')}</Tag>
                    ) : (
                      '—'
                    ),
                },
              ]}
            />
          </>
        ) : (
          <Empty description={t('op.selection.none')} />
        )}
      </Card>
      <SelectionModal
        open={selecting}
        onClose={() => setSelecting(false)}
        onSubmit={async (body) => {
          await api.post(`${OP}/plans/${enc(p.id)}/selection`, body);
          message.success(t('op.done.select'));
          setSelecting(false);
          reload();
        }}
      />
    </>
  );
}

interface SelectionValues {
  candidates: Array<{ orgId: string; score: number }>;
  noticeWorkingDays: number;
}

function SelectionModal({
  open,
  onClose,
  onSubmit,
}: {
  open: boolean;
  onClose(): void;
  onSubmit(body: SelectionValues): Promise<void>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<SelectionValues>();
  const action = useAction();
  const orgs = useOrganizations();
  const options = [...orgs.values()].map((o) => ({ value: o.id, label: o.name }));
  return (
    <FormModal
      open={open}
      title={t('op.action.select')}
      okText={t('op.action.select')}
      busy={action.busy}
      form={form}
      initialValues={{ candidates: [{} as SelectionValues['candidates'][number]], noticeWorkingDays: 5 }}
      onCancel={onClose}
      onFinish={(values) => action.run(() => onSubmit(values))}
    >
      <Typography.Paragraph type="secondary">{t('op.selection.hint')}</Typography.Paragraph>
      <Form.List name="candidates">
        {(fields, { add, remove }) => (
          <>
            {fields.map((field) => (
              <Space key={field.key} align="baseline" wrap>
                <Form.Item
                  name={[field.name, 'orgId']}
                  label={t('op.selection.candidate')}
                  rules={[{ required: true }]}
                >
                  <Select showSearch optionFilterProp="label" options={options} style={{ minWidth: 220 }} />
                </Form.Item>
                <Form.Item
                  name={[field.name, 'score']}
                  label={t('op.selection.score')}
                  rules={[{ required: true }]}
                >
                  <InputNumber min={0} max={1000} />
                </Form.Item>
                {fields.length > 1 ? (
                  <Button
                    type="text"
                    icon={<MinusCircleOutlined />}
                    aria-label={t('op.selection.remove')}
                    onClick={() => remove(field.name)}
                  />
                ) : null}
              </Space>
            ))}
            <Button icon={<PlusOutlined />} onClick={() => add()} style={{ marginBottom: 16 }}>
              {t('op.selection.add')}
            </Button>
          </>
        )}
      </Form.List>
      <Form.Item name="noticeWorkingDays" label={t('op.selection.noticeDays')} rules={[{ required: true }]}>
        <InputNumber min={1} max={60} />
      </Form.Item>
    </FormModal>
  );
}

export function AgreementDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const agreement = useDetail<OperationAgreement>(`${OP}/agreements/${enc(id)}`);
  const { data: a, reload } = agreement;
  const products = useDetail<DataProduct[]>(`${OP}/products`);
  const [terminating, setTerminating] = useState(false);
  const [creating, setCreating] = useState(false);
  if (!a) return <NotLoaded loaded={agreement} rows={10} />;
  const own = (products.data ?? []).filter((p) => p.agreementId === a.id);
  const inForce = a.state === 'active' && a.validFrom <= shanghaiDate() && shanghaiDate() <= a.validTo;
  return (
    <>
      <PageTitle
        title={a.scenarios.join('、')}
        help="operation"
        sub={
          <Space wrap>
            <StateTag state={a.state} label={t(`op.agreementState.${a.state}`)} />
            <OrgName id={a.operatorOrgId} />
            <Mono>{a.id}</Mono>
          </Space>
        }
        extra={
          <>
            {inForce && isOperatorOf(me, a.operatorOrgId) ? (
              <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
                {t('op.action.newProduct')}
              </Button>
            ) : null}
            {isBureau(me) && a.state === 'active' ? (
              <Button danger onClick={() => setTerminating(true)}>
                {t('op.action.terminate')}
              </Button>
            ) : null}
          </>
        }
      />
      <Card title={t('op.section.agreement')} style={{ marginBottom: 16 }}>
        <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered>
          <Descriptions.Item label={t('op.col.operator')}>
            <OrgName id={a.operatorOrgId} />
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.plan')}>
            <Link to={`/operation/plans/${a.planId}`}>{a.planId}</Link>
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.term')}>{`${a.validFrom} ~ ${a.validTo}`}</Descriptions.Item>
          <Descriptions.Item label={t('op.scenarios')}>{a.scenarios.join('；')}</Descriptions.Item>
          <Descriptions.Item label={t('op.terms.duties')} span={2}>
            {a.duties}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.terms.pricing')} span={2}>
            {a.pricing}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.terms.revenue')} span={2}>
            {a.revenue}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.terms.exit')} span={2}>
            {a.exitTerms}
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={t('op.section.scope')} style={{ marginBottom: 16 }}>
        <ScopeTable resources={a.scope.resources} />
      </Card>
      <Card title={t('op.section.products')}>
        <ProductTable
          products={own}
          loading={products.loading}
          toolbar={{ id: 'agreement-products', onRefresh: products.reload, refreshing: products.loading }}
        />
      </Card>
      <ReasonModal
        open={terminating}
        title={t('op.action.terminate')}
        okText={t('op.action.terminate')}
        danger
        onClose={() => setTerminating(false)}
        onSubmit={async (reason) => {
          await api.post(`${OP}/agreements/${enc(a.id)}/terminate`, { reason });
          message.success(t('op.done.terminate'));
          setTerminating(false);
          reload();
        }}
      />
      <ProductForm
        open={creating}
        agreements={[a]}
        onClose={() => setCreating(false)}
        onDone={(p) => navigate(`/products/${p.id}`)}
      />
    </>
  );
}

// ---------------------------------------------------------------------------- products and prices

/** An amount per unit in words, as PerUnit draws it (for the CSV export). */
function perUnitText(t: TFunction, fen: number | null, unit: ChargeUnit): string {
  if (fen === null) return t('op.price.unset');
  return `${yuanText(fen)}${t('op.perUnit', { unit: t(`op.unitShort.${unit}`) })}`;
}

function PriceSummary({ prices }: { prices: ProductPrice[] }) {
  const { t } = useTranslation();
  if (prices.length === 0) return <>{t('op.price.noCap')}</>;
  return (
    <Space direction="vertical" size={0}>
      {prices.map((p) => (
        <span key={p.unit}>
          {t('op.price.capShort')} <PerUnit fen={p.capFen} unit={p.unit} /> · {t('op.price.priceShort')}{' '}
          <PerUnit fen={p.priceFen} unit={p.unit} />
        </span>
      ))}
    </Space>
  );
}

function ProductTable({
  products,
  loading,
  toolbar,
}: {
  products: DataProduct[];
  loading?: boolean;
  toolbar: ToolbarOptions;
}) {
  const { t } = useTranslation();
  const orgs = useOrganizations();
  return (
    <ListTable<DataProduct>
      toolbar={toolbar}
      loading={loading}
      dataSource={products}
      empty={t('op.noProducts')}
      columns={[
        {
          title: t('op.col.product'),
          render: (_: unknown, p) => <Link to={`/products/${p.id}`}>{p.name}</Link>,
          exportValue: (p) => p.name,
        },
        { title: t('op.col.kind'), render: (_: unknown, p) => t(`op.kind.${p.kind}`) },
        {
          title: t('op.col.operator'),
          render: (_: unknown, p) => <OrgName id={p.operatorOrgId} />,
          exportValue: (p) => orgs.get(p.operatorOrgId)?.name ?? p.operatorOrgId,
        },
        {
          title: t('op.col.prices'),
          render: (_: unknown, p) => <PriceSummary prices={p.prices} />,
          exportValue: (p) =>
            p.prices
              .map(
                (r) =>
                  `${t('op.price.capShort')} ${perUnitText(t, r.capFen, r.unit)} · ${t('op.price.priceShort')} ${perUnitText(t, r.priceFen, r.unit)}`,
              )
              .join('; ') || t('op.price.noCap'),
        },
        {
          title: t('op.col.registrationCode'),
          render: (_: unknown, p) => (p.registrationCode ? <Mono>{p.registrationCode}</Mono> : '—'),
          exportValue: (p) => p.registrationCode ?? '',
        },
      ]}
    />
  );
}

export function Products() {
  const { t } = useTranslation();
  const me = useMe();
  const products = useDetail<DataProduct[]>(`${OP}/products`);
  const agreements = useDetail<OperationAgreement[]>(`${OP}/agreements`);
  const [creating, setCreating] = useState(false);
  const today = shanghaiDate();
  const open = (agreements.data ?? []).filter(
    (a) =>
      a.state === 'active' && a.validFrom <= today && today <= a.validTo && isOperatorOf(me, a.operatorOrgId),
  );
  return (
    <>
      <PageTitle
        title={t('nav.products')}
        sub={t('op.productsSub')}
        help="products"
        extra={
          open.length > 0 ? (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
              {t('op.action.newProduct')}
            </Button>
          ) : null
        }
      />
      <Card>
        <ErrorAlert error={products.error} onRetry={products.reload} />
        <ProductTable
          products={products.data ?? []}
          loading={products.loading}
          toolbar={{ id: 'products', onRefresh: products.reload, refreshing: products.loading }}
        />
      </Card>
      <ProductForm
        open={creating}
        agreements={open}
        onClose={() => setCreating(false)}
        onDone={(p) => navigate(`/products/${p.id}`)}
      />
    </>
  );
}

interface ProductValues {
  agreementId: string;
  name: string;
  kind: DataProduct['kind'];
  summary: string;
  lineage: Record<string, string[]>;
}

/** Registers a product under an agreement in force; its lineage: fields of the agreement's scope. */
function ProductForm({
  open,
  agreements,
  onClose,
  onDone,
}: {
  open: boolean;
  agreements: OperationAgreement[];
  onClose(): void;
  onDone(p: DataProduct): void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<ProductValues>();
  const action = useAction();
  const chosen = Form.useWatch('agreementId', form) ?? agreements[0]?.id;
  const agreement = agreements.find((a) => a.id === chosen);
  const scope = agreement?.scope.resources ?? [];
  const names = useResources(scope.map((r) => r.resourceId));
  return (
    <FormModal
      open={open}
      title={t('op.action.newProduct')}
      okText={t('op.action.newProduct')}
      busy={action.busy}
      form={form}
      width={640}
      initialValues={{
        agreementId: agreements[0]?.id,
        kind: 'api',
        lineage: Object.fromEntries(scope.map((r) => [r.resourceId, r.fields])),
      }}
      onCancel={onClose}
      onFinish={(values) =>
        action.run(async () => {
          const resources = scope
            .map((r) => ({ resourceId: r.resourceId, fields: values.lineage?.[r.resourceId] ?? [] }))
            .filter((r) => r.fields.length > 0);
          const saved = await api.post<DataProduct>(`${OP}/products`, {
            agreementId: values.agreementId,
            name: values.name.trim(),
            kind: values.kind,
            summary: values.summary.trim(),
            lineage: { resources },
          });
          onDone(saved);
        })
      }
    >
      <Form.Item name="agreementId" label={t('op.form.agreement')} rules={[{ required: true }]}>
        <Select
          options={agreements.map((a) => ({
            value: a.id,
            label: `${a.scenarios.join('、')}（${a.validFrom} ~ ${a.validTo}）`,
          }))}
          onChange={(id: string) => {
            // Another agreement, another scope: its lineage starts again as the whole scope.
            const next = agreements.find((a) => a.id === id)?.scope.resources ?? [];
            form.setFieldValue('lineage', Object.fromEntries(next.map((r) => [r.resourceId, r.fields])));
          }}
        />
      </Form.Item>
      <Form.Item name="name" label={t('op.form.name')} rules={[{ required: true, whitespace: true }]}>
        <Input maxLength={200} />
      </Form.Item>
      <Form.Item name="kind" label={t('op.col.kind')} rules={[{ required: true }]}>
        <Select options={PRODUCT_KINDS.map((k) => ({ value: k, label: t(`op.kind.${k}`) }))} />
      </Form.Item>
      <Form.Item name="summary" label={t('op.form.summary')} rules={[{ required: true, whitespace: true }]}>
        <Input.TextArea rows={2} maxLength={4000} />
      </Form.Item>
      <Typography.Paragraph type="secondary">{t('op.form.lineageHint')}</Typography.Paragraph>
      {scope.map((r) => (
        <Form.Item
          key={r.resourceId}
          name={['lineage', r.resourceId]}
          label={t('op.form.lineage', { resource: names.get(r.resourceId)?.name ?? r.resourceId })}
        >
          <Select
            mode="multiple"
            options={r.fields.map((f) => ({
              value: f,
              label: names.get(r.resourceId)?.fields.find((x) => x.name === f)?.label ?? f,
            }))}
          />
        </Form.Item>
      ))}
    </FormModal>
  );
}

export function ProductDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const product = useDetail<DataProduct>(`${OP}/products/${enc(id)}`);
  const { data: p, reload } = product;
  const subs = useDetail<Subscription[]>(`${OP}/subscriptions`);
  const [capping, setCapping] = useState(false);
  const [pricing, setPricing] = useState(false);
  const [subscribing, setSubscribing] = useState(false);
  const [billing, setBilling] = useState<Subscription | null>(null);
  if (!p) return <NotLoaded loaded={product} rows={10} />;
  const operator = isOperatorOf(me, p.operatorOrgId);
  const mine = (subs.data ?? []).filter((s) => s.productId === p.id);
  return (
    <>
      <PageTitle
        title={p.name}
        help="products"
        sub={
          <Space wrap>
            <Tag>{t(`op.kind.${p.kind}`)}</Tag>
            <OrgName id={p.operatorOrgId} />
            {p.registrationCode ? <Mono>{p.registrationCode}</Mono> : null}
          </Space>
        }
        extra={
          <>
            {isBureau(me) ? <Button onClick={() => setCapping(true)}>{t('op.action.capFee')}</Button> : null}
            {operator && p.prices.length > 0 ? (
              <Button type="primary" onClick={() => setPricing(true)}>
                {t('op.action.price')}
              </Button>
            ) : null}
          </>
        }
      />
      <Card title={t('op.section.product')} style={{ marginBottom: 16 }}>
        <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered>
          <Descriptions.Item label={t('op.col.agreement')}>
            <Link to={`/operation/agreements/${p.agreementId}`}>{p.agreementId}</Link>
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.operator')}>
            <OrgName id={p.operatorOrgId} />
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.registrationCode')}>
            {p.registrationCode ? <Mono>{p.registrationCode}</Mono> : t('op.notRegistered')}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.createdAt')}>{fmtDateTime(p.createdAt)}</Descriptions.Item>
          <Descriptions.Item label={t('op.form.summary')} span={2}>
            {p.summary}
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={t('op.section.prices')} style={{ marginBottom: 16 }} data-testid="price-sheet">
        <ListTable<ProductPrice>
          size="small"
          rowKey="unit"
          dataSource={p.prices}
          empty={t('op.price.noCap')}
          columns={[
            { title: t('op.price.unit'), render: (_: unknown, r) => t(`op.unit.${r.unit}`) },
            { title: t('op.price.cap'), render: (_: unknown, r) => <PerUnit fen={r.capFen} unit={r.unit} /> },
            {
              title: t('op.price.price'),
              render: (_: unknown, r) => (
                <span data-testid={`price-${r.unit}`}>
                  <PerUnit fen={r.priceFen} unit={r.unit} />
                </span>
              ),
            },
            {
              title: t('op.price.trial'),
              render: (_: unknown, r) =>
                r.trial ? <Tag color="gold">{t('op.price.trialYes')}</Tag> : t('common.no'),
            },
            { title: t('op.price.basis'), dataIndex: 'basis' },
            { title: t('op.price.updatedAt'), render: (_: unknown, r) => fmtDateTime(r.updatedAt) },
          ]}
        />
      </Card>
      <Card title={t('op.section.lineage')} style={{ marginBottom: 16 }}>
        <ScopeTable resources={p.lineage.resources} />
      </Card>
      <Card
        title={t('op.section.subscriptions')}
        extra={
          operator ? (
            <Button icon={<PlusOutlined />} onClick={() => setSubscribing(true)}>
              {t('op.action.subscribe')}
            </Button>
          ) : null
        }
      >
        <ErrorAlert error={subs.error} onRetry={subs.reload} />
        <SubscriptionTable
          subs={mine}
          loading={subs.loading}
          onBill={operator ? setBilling : undefined}
          toolbar={{ id: 'product-subscriptions', onRefresh: subs.reload, refreshing: subs.loading }}
        />
      </Card>
      <CapFeeModal
        open={capping}
        product={p}
        onClose={() => setCapping(false)}
        onDone={() => {
          message.success(t('op.done.capFee'));
          setCapping(false);
          reload();
        }}
      />
      <PriceModal
        open={pricing}
        product={p}
        onClose={() => setPricing(false)}
        onDone={() => {
          message.success(t('op.done.price'));
          setPricing(false);
          reload();
        }}
      />
      <SubscribeModal
        open={subscribing}
        product={p}
        onClose={() => setSubscribing(false)}
        onDone={() => {
          message.success(t('op.done.subscribe'));
          setSubscribing(false);
          subs.reload();
        }}
      />
      <BillModal sub={billing} onClose={() => setBilling(null)} />
    </>
  );
}

function SubscriptionTable({
  subs,
  loading,
  products,
  onBill,
  toolbar,
}: {
  subs: Subscription[];
  loading?: boolean;
  products?: Map<string, DataProduct>;
  onBill?: (s: Subscription) => void;
  toolbar: ToolbarOptions;
}) {
  const { t } = useTranslation();
  const orgs = useOrganizations();
  return (
    <ListTable<Subscription>
      toolbar={toolbar}
      size="small"
      loading={loading}
      dataSource={subs}
      empty={t('op.noSubscriptions')}
      columns={[
        ...(products
          ? [
              {
                title: t('op.col.product'),
                render: (_: unknown, s: Subscription) => (
                  <Link to={`/products/${s.productId}`}>
                    {products.get(s.productId)?.name ?? s.productId}
                  </Link>
                ),
                exportValue: (s: Subscription) => products.get(s.productId)?.name ?? s.productId,
              },
            ]
          : []),
        {
          title: t('op.col.customer'),
          render: (_: unknown, s) => <OrgName id={s.customerOrgId} />,
          exportValue: (s) => orgs.get(s.customerOrgId)?.name ?? s.customerOrgId,
        },
        {
          title: t('op.col.purpose'),
          exportValue: (s) => `${t(`op.purpose.${s.purpose}`)}${s.free ? ` · ${t('op.free')}` : ''}`,
          render: (_: unknown, s) => (
            <Space size={4} wrap>
              {t(`op.purpose.${s.purpose}`)}
              {s.free ? <Tag color="green">{t('op.free')}</Tag> : null}
            </Space>
          ),
        },
        { title: t('op.price.unit'), render: (_: unknown, s) => t(`op.unit.${s.unit}`) },
        {
          title: t('op.col.contract'),
          render: (_: unknown, s) => <Mono>{s.contractId}</Mono>,
          exportValue: (s) => s.contractId,
        },
        { title: t('op.createdAt'), render: (_: unknown, s) => fmtDateTime(s.createdAt) },
        ...(onBill
          ? [
              {
                title: t('common.actions'),
                render: (_: unknown, s: Subscription) => (
                  <Button size="small" onClick={() => onBill(s)}>
                    {t('op.action.bill')}
                  </Button>
                ),
              },
            ]
          : []),
      ]}
    />
  );
}

/** A yuan amount field that checks the text converts exactly to fen (two decimals at most). */
function YuanItem({ name, label }: { name: string; label: string }) {
  const { t } = useTranslation();
  return (
    <Form.Item
      name={name}
      label={label}
      rules={[
        { required: true, whitespace: true, message: t('op.form.yuanInvalid') },
        {
          validator: (_, value: string | undefined) =>
            !value || yuanToFen(value) !== null
              ? Promise.resolve()
              : Promise.reject(new Error(t('op.form.yuanInvalid'))),
        },
      ]}
    >
      <Input inputMode="decimal" prefix="¥" suffix={t('op.form.yuan')} autoComplete="off" />
    </Form.Item>
  );
}

function UnitItem() {
  const { t } = useTranslation();
  return (
    <Form.Item name="unit" label={t('op.price.unit')} rules={[{ required: true }]}>
      <Select options={CHARGE_UNITS.map((u) => ({ value: u, label: t(`op.unit.${u}`) }))} />
    </Form.Item>
  );
}

/**
 * A modal form whose failure stays in the dialog (role=alert) in the reader's language, rather
 * than a passing toast: the server's refusal (a price above the cap) is what the reader must read.
 */
function useInlineAction() {
  const [failure, setFailure] = useState<unknown>(null);
  const action = useAction();
  return {
    busy: action.busy,
    failure,
    clear: () => setFailure(null),
    run: (work: () => Promise<unknown>) =>
      action.run(async () => {
        setFailure(null);
        try {
          await work();
        } catch (error) {
          setFailure(error);
        }
      }),
  };
}

function Failure({ error, testId }: { error: unknown; testId: string }) {
  if (!error) return null;
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      style={{ marginBottom: 16 }}
      message={errorText(error)}
      data-testid={testId}
    />
  );
}

function CapFeeModal({
  open,
  product,
  onClose,
  onDone,
}: {
  open: boolean;
  product: DataProduct;
  onClose(): void;
  onDone(): void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ unit: ChargeUnit; cap: string; basis: string }>();
  const action = useInlineAction();
  const first = product.prices[0];
  return (
    <FormModal
      open={open}
      title={t('op.action.capFee')}
      okText={t('common.save')}
      busy={action.busy}
      form={form}
      initialValues={{
        unit: first?.unit ?? 'call',
        cap: first ? fenToYuanInput(first.capFen) : undefined,
        basis: first?.basis,
      }}
      onCancel={() => {
        action.clear();
        onClose();
      }}
      onFinish={(v) =>
        action.run(async () => {
          await api.put(`${OP}/products/${enc(product.id)}/cap-fee`, {
            unit: v.unit,
            capFen: yuanToFen(v.cap)!,
            basis: v.basis.trim(),
          });
          onDone();
        })
      }
    >
      <Typography.Paragraph type="secondary">{t('op.form.capHint')}</Typography.Paragraph>
      <Failure error={action.failure} testId="cap-error" />
      <UnitItem />
      <YuanItem name="cap" label={t('op.form.cap')} />
      <Form.Item name="basis" label={t('op.price.basis')} rules={[{ required: true, whitespace: true }]}>
        <Input.TextArea rows={2} maxLength={4000} />
      </Form.Item>
    </FormModal>
  );
}

function PriceModal({
  open,
  product,
  onClose,
  onDone,
}: {
  open: boolean;
  product: DataProduct;
  onClose(): void;
  onDone(): void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ unit: ChargeUnit; price: string }>();
  const action = useInlineAction();
  const unit = Form.useWatch('unit', form);
  const cap = product.prices.find((x) => x.unit === unit);
  const first = product.prices[0];
  return (
    <FormModal
      open={open}
      title={t('op.action.price')}
      okText={t('common.save')}
      busy={action.busy}
      form={form}
      initialValues={{
        unit: first?.unit ?? 'call',
        price: first?.priceFen != null ? fenToYuanInput(first.priceFen) : undefined,
      }}
      onCancel={() => {
        action.clear();
        onClose();
      }}
      onFinish={(v) =>
        action.run(async () => {
          await api.put(`${OP}/products/${enc(product.id)}/price`, {
            unit: v.unit,
            priceFen: yuanToFen(v.price)!,
          });
          onDone();
        })
      }
    >
      {cap ? (
        <Typography.Paragraph type="secondary" data-testid="price-cap-hint">
          {t('op.form.priceHint')} <PerUnit fen={cap.capFen} unit={cap.unit} />
        </Typography.Paragraph>
      ) : null}
      <Failure error={action.failure} testId="price-error" />
      <UnitItem />
      <YuanItem name="price" label={t('op.form.price')} />
    </FormModal>
  );
}

function SubscribeModal({
  open,
  product,
  onClose,
  onDone,
}: {
  open: boolean;
  product: DataProduct;
  onClose(): void;
  onDone(): void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ contractId: string; purpose: UsePurpose; unit: ChargeUnit }>();
  const action = useInlineAction();
  // The contracts in force on the product's resources, named, instead of a typed contract id.
  const loadContracts = useCallback(
    (signal: AbortSignal) =>
      api.get<SubscribableContract[]>(`${OP}/products/${enc(product.id)}/contracts`, {}, signal),
    [product.id],
  );
  const contracts = useLoader(open ? loadContracts : null);
  return (
    <FormModal
      open={open}
      title={t('op.action.subscribe')}
      okText={t('op.action.subscribe')}
      busy={action.busy}
      form={form}
      initialValues={{ purpose: 'industry', unit: product.prices[0]?.unit ?? 'call' }}
      onCancel={() => {
        action.clear();
        onClose();
      }}
      onFinish={(v) =>
        action.run(async () => {
          await api.post(`${OP}/subscriptions`, { productId: product.id, ...v });
          onDone();
        })
      }
    >
      <Typography.Paragraph type="secondary">{t('op.form.subscribeHint')}</Typography.Paragraph>
      <Failure error={action.failure} testId="subscribe-error" />
      <ErrorAlert error={contracts.error} onRetry={contracts.reload} />
      <Form.Item
        name="contractId"
        label={t('op.col.contract')}
        rules={[{ required: true, message: t('op.form.contractRequired') }]}
        extra={
          contracts.data?.length === 0 ? (
            <span data-testid="no-contracts">{t('op.form.noContracts')}</span>
          ) : undefined
        }
      >
        <Select
          showSearch
          loading={contracts.loading}
          optionFilterProp="label"
          placeholder={t('op.form.contractPick')}
          options={(contracts.data ?? []).map((c) => ({
            value: c.contractId,
            label: t('op.form.contractOption', {
              customer: c.customerName,
              resource: c.resourceName,
              date: fmtDate(c.validTo),
            }),
          }))}
        />
      </Form.Item>
      <Form.Item name="purpose" label={t('op.col.purpose')} rules={[{ required: true }]}>
        <Select options={USE_PURPOSES.map((p) => ({ value: p, label: t(`op.purpose.${p}`) }))} />
      </Form.Item>
      <UnitItem />
    </FormModal>
  );
}

/** The month before this one (China time), as the bill of a month that has ended. */
function lastMonth(): string {
  const [y, m] = shanghaiDate().split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

function BillModal({ sub, onClose }: { sub: Subscription | null; onClose(): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ month: string }>();
  const action = useInlineAction();
  return (
    <FormModal
      open={sub !== null}
      title={t('op.action.bill')}
      okText={t('op.action.bill')}
      busy={action.busy}
      form={form}
      initialValues={{ month: lastMonth() }}
      onCancel={() => {
        action.clear();
        onClose();
      }}
      onFinish={(v) =>
        action.run(async () => {
          const bill = await api.post<Bill>(`${OP}/subscriptions/${enc(sub!.id)}/bills`, { month: v.month });
          navigate(`/bills/${bill.id}`);
        })
      }
    >
      <Typography.Paragraph type="secondary">{t('op.form.billHint')}</Typography.Paragraph>
      <Failure error={action.failure} testId="bill-error" />
      <Form.Item
        name="month"
        label={t('op.col.month')}
        rules={[{ required: true, pattern: /^\d{4}-(0[1-9]|1[0-2])$/, message: t('op.form.monthInvalid') }]}
      >
        <Input placeholder="YYYY-MM" maxLength={7} />
      </Form.Item>
    </FormModal>
  );
}

// ---------------------------------------------------------------------------- bills

function useProductMap(): Map<string, DataProduct> {
  const products = useDetail<DataProduct[]>(`${OP}/products`);
  return useMemo(() => new Map((products.data ?? []).map((p) => [p.id, p])), [products.data]);
}

export function Bills() {
  const { t } = useTranslation();
  const { search } = useLocation();
  const month = search.get('month') ?? '';
  const [typed, setTyped] = useState(month);
  const bills = useDetail<Bill[]>(withQuery(`${OP}/bills`, { month }));
  const subs = useDetail<Subscription[]>(`${OP}/subscriptions`);
  const products = useProductMap();
  const orgs = useOrganizations();
  const orgName = (id: string) => orgs.get(id)?.name ?? id;
  const productOf = (b: Bill) => {
    const s = (subs.data ?? []).find((x) => x.id === b.subscriptionId);
    return s ? products.get(s.productId) : undefined;
  };
  return (
    <>
      <PageTitle title={t('nav.bills')} sub={t('op.billsSub')} help="bills" />
      <Card title={t('op.section.bills')} style={{ marginBottom: 16 }}>
        <Space style={{ marginBottom: 12 }} wrap>
          <label htmlFor="bill-month">{t('op.filterMonth')}</label>
          <Input.Search
            id="bill-month"
            allowClear
            placeholder="YYYY-MM"
            style={{ width: 200 }}
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            onSearch={(v) => navigate(v.trim() ? `/bills?month=${enc(v.trim())}` : '/bills')}
          />
        </Space>
        <ErrorAlert error={bills.error} onRetry={bills.reload} />
        <ListTable<Bill>
          toolbar={{ id: 'bills', onRefresh: bills.reload, refreshing: bills.loading }}
          loading={bills.loading}
          dataSource={bills.data ?? []}
          empty={t('op.noBills')}
          columns={[
            {
              title: t('op.col.month'),
              render: (_: unknown, b) => <Link to={`/bills/${b.id}`}>{b.month}</Link>,
              exportValue: (b) => b.month,
            },
            { title: t('op.col.product'), render: (_: unknown, b) => productOf(b)?.name ?? '—' },
            {
              title: t('op.col.customer'),
              render: (_: unknown, b) => <OrgName id={b.customerOrgId} />,
              exportValue: (b) => orgName(b.customerOrgId),
            },
            {
              title: t('op.col.operator'),
              render: (_: unknown, b) => <OrgName id={b.operatorOrgId} />,
              exportValue: (b) => orgName(b.operatorOrgId),
            },
            { title: t('op.bill.calls'), render: (_: unknown, b) => fmtNumber(b.metered.calls) },
            {
              title: t('op.bill.total'),
              render: (_: unknown, b) => <Yuan fen={b.totalFen} />,
              exportValue: (b) => yuanText(b.totalFen),
            },
            { title: t('op.bill.issuedAt'), render: (_: unknown, b) => fmtDateTime(b.issuedAt) },
          ]}
        />
      </Card>
      <Card title={t('op.section.subscriptions')}>
        <ErrorAlert error={subs.error} onRetry={subs.reload} />
        <SubscriptionTable
          subs={subs.data ?? []}
          loading={subs.loading}
          products={products}
          toolbar={{ id: 'subscriptions', onRefresh: subs.reload, refreshing: subs.loading }}
        />
      </Card>
    </>
  );
}

function LineTable({ lines, totalFen, testId }: { lines: BillLine[]; totalFen: number; testId: string }) {
  const { t } = useTranslation();
  return (
    <ListTable<BillLine>
      size="small"
      rowKey={(_, i) => String(i)}
      dataSource={lines}
      data-testid={testId}
      toolbar={{ id: testId }}
      empty={t('common.none')}
      columns={[
        { title: t('op.bill.item'), dataIndex: 'description' },
        { title: t('op.price.unit'), render: (_: unknown, l) => t(`op.unit.${l.unit}`) },
        { title: t('op.bill.quantity'), render: (_: unknown, l) => fmtNumber(l.quantity), align: 'right' },
        {
          title: t('op.bill.unitPrice'),
          render: (_: unknown, l) => <Yuan fen={l.unitPriceFen} />,
          exportValue: (l) => yuanText(l.unitPriceFen),
          align: 'right',
        },
        {
          title: t('op.bill.amount'),
          render: (_: unknown, l) => <Yuan fen={l.amountFen} />,
          exportValue: (l) => yuanText(l.amountFen),
          align: 'right',
        },
      ]}
      summaryRow={(columnCount) => {
        const total = (
          <strong data-testid={`${testId}-total`}>
            <Yuan fen={totalFen} />
          </strong>
        );
        // With one column left shown the label and the amount share its cell.
        return columnCount < 2 ? (
          <Table.Summary.Row>
            <Table.Summary.Cell index={0} align="right">
              <strong>{t('op.bill.total')}</strong> {total}
            </Table.Summary.Cell>
          </Table.Summary.Row>
        ) : (
          <Table.Summary.Row>
            <Table.Summary.Cell index={0} colSpan={columnCount - 1}>
              <strong>{t('op.bill.total')}</strong>
            </Table.Summary.Cell>
            <Table.Summary.Cell index={1} align="right">
              {total}
            </Table.Summary.Cell>
          </Table.Summary.Row>
        );
      }}
    />
  );
}

export function BillDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const bill = useDetail<Bill>(`${OP}/bills/${enc(id)}`);
  const b = bill.data;
  const subs = useDetail<Subscription[]>(`${OP}/subscriptions`);
  const products = useProductMap();
  const check = useAction();
  const [again, setAgain] = useState<BillReproduction | null>(null);
  if (!b) return <NotLoaded loaded={bill} rows={8} />;
  const sub = (subs.data ?? []).find((s) => s.id === b.subscriptionId);
  const product = sub ? products.get(sub.productId) : undefined;
  return (
    <>
      <PageTitle
        title={t('op.bill.title', { month: b.month, product: product?.name ?? '' })}
        help="bills"
        sub={
          <Space wrap>
            <OrgName id={b.customerOrgId} />
            <Mono>{b.id}</Mono>
          </Space>
        }
        extra={
          <Button
            type="primary"
            icon={<CheckCircleOutlined />}
            loading={check.busy}
            onClick={() =>
              check.run(async () =>
                setAgain(await api.get<BillReproduction>(`${OP}/bills/${enc(b.id)}/reproduce`)),
              )
            }
          >
            {t('op.action.reproduce')}
          </Button>
        }
      />
      {again ? (
        <Alert
          type={again.matches ? 'success' : 'error'}
          showIcon
          role="status"
          data-testid="reproduction"
          style={{ marginBottom: 16 }}
          message={t(again.matches ? 'op.bill.matches' : 'op.bill.differs')}
          description={t('op.bill.recomputed', { total: `¥${fenToYuan(again.recomputed.totalFen)}` })}
        />
      ) : null}
      <Card title={t('op.section.bill')} style={{ marginBottom: 16 }}>
        <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered>
          <Descriptions.Item label={t('op.col.month')}>{b.month}</Descriptions.Item>
          <Descriptions.Item label={t('op.col.product')}>
            {product ? <Link to={`/products/${product.id}`}>{product.name}</Link> : '—'}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.operator')}>
            <OrgName id={b.operatorOrgId} />
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.customer')}>
            <OrgName id={b.customerOrgId} />
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.purpose')}>
            {sub ? (
              <Space size={4} wrap>
                {t(`op.purpose.${sub.purpose}`)}
                {sub.free ? <Tag color="green">{t('op.free')}</Tag> : null}
              </Space>
            ) : (
              '—'
            )}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.contract')}>
            <Mono>{b.contractId}</Mono>
          </Descriptions.Item>
          <Descriptions.Item label={t('op.bill.calls')}>{fmtNumber(b.metered.calls)}</Descriptions.Item>
          <Descriptions.Item label={t('op.bill.auditRange')}>
            {b.metered.first === null ? '—' : `#${b.metered.first} ~ #${b.metered.last}`}
          </Descriptions.Item>
          <Descriptions.Item label={t('op.bill.issuedAt')}>{fmtDateTime(b.issuedAt)}</Descriptions.Item>
          <Descriptions.Item label={t('op.bill.total')}>
            <span data-testid="bill-total">
              <Yuan fen={b.totalFen} />
            </span>
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={t('op.section.lines')} style={{ marginBottom: 16 }}>
        <LineTable lines={b.lines} totalFen={b.totalFen} testId="bill-lines" />
      </Card>
      {again ? (
        <Card title={t('op.section.recomputed')}>
          <LineTable
            lines={again.recomputed.lines}
            totalFen={again.recomputed.totalFen}
            testId="recomputed-lines"
          />
        </Card>
      ) : null}
    </>
  );
}

// ---------------------------------------------------------------------------- disclosure and revenue caps

export function Disclosure() {
  const { t } = useTranslation();
  const me = useMe();
  const { search } = useLocation();
  const thisYear = Number(shanghaiDate().slice(0, 4));
  const asked = Number(search.get('year'));
  const year = Number.isInteger(asked) && asked >= 2000 && asked <= 2200 ? asked : thisYear;
  const { data: d, error, loading, reload } = useDetail<DisclosureData>(`${OP}/disclosures/${year}`);
  const caps = useDetail<RevenueCap[]>(`${OP}/revenue-caps?year=${year}`);
  const files = useAction();
  const years = Array.from({ length: 6 }, (_, i) => thisYear - i);
  if (!years.includes(year)) years.push(year);
  return (
    <>
      <PageTitle
        title={t('nav.disclosure')}
        sub={t('op.disclosureSub')}
        help="disclosure"
        extra={
          <>
            <label htmlFor="disclosure-year">{t('op.year')}</label>
            <Select<number>
              id="disclosure-year"
              value={year}
              style={{ width: 110 }}
              onChange={(y) => navigate(`/disclosures?year=${y}`)}
              options={years.map((y) => ({ value: y, label: String(y) }))}
            />
            <Button
              icon={<DownloadOutlined />}
              loading={files.busy}
              onClick={() =>
                files.run(async () =>
                  saveBlob(await fetchBlob(`${OP}/disclosures/${year}`), `disclosure-${year}.json`),
                )
              }
            >
              {t('op.disclosure.json')}
            </Button>
            <Button icon={<FilePdfOutlined />} href={`${OP}/disclosures/${year}/pdf`} target="_blank">
              {t('op.disclosure.pdf')}
            </Button>
            <Button icon={<ExportOutlined />} href={`/disclosure/${year}`} target="_blank">
              {t('op.disclosure.publicPage')}
            </Button>
          </>
        }
      />
      <ErrorAlert error={error} onRetry={reload} />
      {loading && !d ? <Skeleton active paragraph={{ rows: 8 }} /> : null}
      {d ? (
        <>
          <Card title={t('op.disclosure.summary', { year: d.year })} style={{ marginBottom: 16 }}>
            <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered>
              <Descriptions.Item label={t('op.disclosure.authorizations')}>
                <span data-testid="disclosure-authorizations">{d.implementingBody.authorizations}</span>
              </Descriptions.Item>
              <Descriptions.Item label={t('op.disclosure.operators')}>
                {d.implementingBody.operators}
              </Descriptions.Item>
              <Descriptions.Item label={t('op.disclosure.dueBy')}>{d.dueBy}</Descriptions.Item>
              <Descriptions.Item label={t('op.disclosure.generatedAt')}>
                {fmtDateTime(d.generatedAt)}
              </Descriptions.Item>
            </Descriptions>
          </Card>
          {d.operators.length === 0 ? (
            <Card style={{ marginBottom: 16 }}>
              <Empty description={t('op.disclosure.none', { year: d.year })} />
            </Card>
          ) : null}
          {d.operators.map((o) => (
            <OperatorDisclosure key={o.orgId} o={o} />
          ))}
        </>
      ) : null}
      <RevenueCaps
        year={year}
        caps={caps.data ?? []}
        loading={caps.loading}
        error={caps.error}
        canClose={isBureau(me)}
        onChange={caps.reload}
      />
    </>
  );
}

function OperatorDisclosure({ o }: { o: DisclosureData['operators'][number] }) {
  const { t } = useTranslation();
  return (
    <Card title={o.name} style={{ marginBottom: 16 }} data-testid="disclosure-operator">
      <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered style={{ marginBottom: 16 }}>
        <Descriptions.Item label={t('op.disclosure.uscc')} span={2}>
          <Mono>{o.uscc}</Mono>
        </Descriptions.Item>
        <Descriptions.Item label={t('op.revenue.max')}>
          <Yuan fen={o.revenue.maxRevenueFen} />
        </Descriptions.Item>
        <Descriptions.Item label={t('op.revenue.carried')}>
          <Yuan fen={o.revenue.carriedOverFen} />
        </Descriptions.Item>
        <Descriptions.Item label={t('op.revenue.actual')}>
          <span data-testid="disclosure-actual">
            <Yuan fen={o.revenue.actualFen} />
          </span>
        </Descriptions.Item>
        <Descriptions.Item label={t('op.price.trial')}>
          {o.revenue.trial ? <Tag color="gold">{t('op.price.trialYes')}</Tag> : t('common.no')}
        </Descriptions.Item>
      </Descriptions>
      <Typography.Title level={2} style={{ fontSize: 16 }}>
        {t('op.section.agreements')}
      </Typography.Title>
      <Table
        size="small"
        rowKey="id"
        pagination={false}
        scroll={{ x: 'max-content' }}
        dataSource={o.agreements}
        style={{ marginBottom: 16 }}
        columns={[
          {
            title: t('op.col.agreement'),
            render: (_: unknown, a) => (
              <Link to={`/operation/agreements/${a.id}`}>{a.scenarios.join('、')}</Link>
            ),
          },
          { title: t('op.col.term'), render: (_: unknown, a) => `${a.validFrom} ~ ${a.validTo}` },
          {
            title: t('op.col.state'),
            render: (_: unknown, a) => t(`op.agreementState.${a.state}`, { defaultValue: a.state }),
          },
        ]}
      />
      <Typography.Title level={2} style={{ fontSize: 16 }}>
        {t('op.section.resources')}
      </Typography.Title>
      <ListTable
        size="small"
        rowKey={(r) => `${r.agreementId}/${r.resourceId}`}
        dataSource={o.authorizedResources}
        style={{ marginBottom: 16 }}
        empty={t('common.none')}
        columns={[
          { title: t('op.col.code'), render: (_: unknown, r) => <Mono>{r.code}</Mono> },
          { title: t('op.col.resource'), dataIndex: 'name' },
          { title: t('op.col.provider'), dataIndex: 'provider' },
          { title: t('op.col.fields'), render: (_: unknown, r) => r.fields.join('、') },
        ]}
      />
      <Typography.Title level={2} style={{ fontSize: 16 }}>
        {t('op.section.products')}
      </Typography.Title>
      <ListTable
        size="small"
        dataSource={o.products}
        empty={t('op.noProducts')}
        columns={[
          {
            title: t('op.col.product'),
            render: (_: unknown, p) => <Link to={`/products/${p.id}`}>{p.name}</Link>,
          },
          {
            title: t('op.col.kind'),
            render: (_: unknown, p) => t(`op.kind.${p.kind}`, { defaultValue: p.kind }),
          },
          {
            title: t('op.col.registrationCode'),
            render: (_: unknown, p) => (p.registrationCode ? <Mono>{p.registrationCode}</Mono> : '—'),
          },
          { title: t('op.col.prices'), render: (_: unknown, p) => <PriceSummary prices={p.fees} /> },
        ]}
      />
    </Card>
  );
}

function RevenueCaps({
  year,
  caps,
  loading,
  error,
  canClose,
  onChange,
}: {
  year: number;
  caps: RevenueCap[];
  loading: boolean;
  error: unknown;
  canClose: boolean;
  onChange(): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const orgs = useOrganizations();
  const closing = useAction<string>();
  const [setting, setSetting] = useState(false);
  return (
    <Card
      title={t('op.section.revenueCaps', { year })}
      extra={
        canClose ? (
          <Button icon={<PlusOutlined />} onClick={() => setSetting(true)}>
            {t('op.action.revenueCap')}
          </Button>
        ) : null
      }
    >
      {canClose ? (
        <RevenueCapModal
          open={setting}
          year={year}
          onClose={() => setSetting(false)}
          onDone={() => {
            message.success(t('op.done.revenueCap'));
            setSetting(false);
            onChange();
          }}
        />
      ) : null}
      <ErrorAlert error={error} onRetry={onChange} />
      <ListTable<RevenueCap>
        toolbar={{ id: 'revenue-caps', onRefresh: onChange, refreshing: loading }}
        rowKey="operatorOrgId"
        size="small"
        loading={loading}
        dataSource={caps}
        empty={t('op.revenue.none')}
        expandable={{
          expandedRowRender: (c) => (
            <Table
              size="small"
              rowKey="item"
              pagination={false}
              dataSource={c.costs}
              columns={[
                { title: t('op.revenue.costItem'), dataIndex: 'item' },
                { title: t('op.revenue.amount'), render: (_: unknown, x) => <Yuan fen={x.amountFen} /> },
              ]}
            />
          ),
        }}
        columns={[
          {
            title: t('op.col.operator'),
            render: (_: unknown, c) => <OrgName id={c.operatorOrgId} />,
            exportValue: (c) => orgs.get(c.operatorOrgId)?.name ?? c.operatorOrgId,
          },
          {
            title: t('op.revenue.cost'),
            render: (_: unknown, c) => <Yuan fen={c.operatingCostFen} />,
            exportValue: (c) => yuanText(c.operatingCostFen),
          },
          {
            title: t('op.revenue.profitRate'),
            render: (_: unknown, c) =>
              t('op.revenue.rates', { rate: bp(c.profitRateBp), bond: bp(c.bondYieldBp) }),
          },
          {
            title: t('op.revenue.tax'),
            render: (_: unknown, c) => <Yuan fen={c.taxFen} />,
            exportValue: (c) => yuanText(c.taxFen),
          },
          {
            title: t('op.revenue.max'),
            render: (_: unknown, c) => <Yuan fen={c.maxRevenueFen} />,
            exportValue: (c) => yuanText(c.maxRevenueFen),
          },
          {
            title: t('op.revenue.carried'),
            render: (_: unknown, c) => <Yuan fen={c.carriedOverFen} />,
            exportValue: (c) => yuanText(c.carriedOverFen),
          },
          {
            title: t('op.revenue.effective'),
            render: (_: unknown, c) => <Yuan fen={c.effectiveMaxFen} />,
            exportValue: (c) => yuanText(c.effectiveMaxFen),
          },
          {
            title: t('op.revenue.closed'),
            exportValue: (c) =>
              c.closedAt
                ? `${yuanText(c.closedRevenueFen)} · ${fmtDateTime(c.closedAt)}`
                : c.trial
                  ? t('op.price.trialYes')
                  : '',
            render: (_: unknown, c) =>
              c.closedAt ? (
                <>
                  <Yuan fen={c.closedRevenueFen} /> · {fmtDateTime(c.closedAt)}
                </>
              ) : c.trial ? (
                <Tag color="gold">{t('op.price.trialYes')}</Tag>
              ) : (
                '—'
              ),
          },
          ...(canClose
            ? [
                {
                  title: t('common.actions'),
                  render: (_: unknown, c: RevenueCap) =>
                    c.closedAt ? null : (
                      <Popconfirm
                        title={t('op.revenue.closeConfirm', { year: c.year })}
                        onConfirm={() =>
                          closing.run(async () => {
                            await api.post(`${OP}/revenue-caps/${enc(c.operatorOrgId)}/${c.year}/close`);
                            message.success(t('op.done.close'));
                            onChange();
                          }, c.operatorOrgId)
                        }
                      >
                        <Button size="small" loading={closing.running === c.operatorOrgId}>
                          {t('op.action.close')}
                        </Button>
                      </Popconfirm>
                    ),
                },
              ]
            : []),
        ]}
      />
    </Card>
  );
}

// ---------------------------------------------------------------------------- the bureau's forms

/** A typed percentage ("6", "6.5", "2.35") as integer basis points, or null: strings only, no float. */
function percentToBp(text: string): number | null {
  const m = /^(\d{1,3})(?:\.(\d{0,2}))?$/.exec(text.trim());
  if (!m) return null;
  const bp = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return bp <= 10_000 ? bp : null;
}

/** Text with one item a line: its non-empty lines, trimmed. */
const lines = (text: string | undefined) =>
  (text ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function PercentItem({ name, label }: { name: string; label: string }) {
  const { t } = useTranslation();
  return (
    <Form.Item
      name={name}
      label={label}
      rules={[
        { required: true, whitespace: true, message: t('op.form.percentInvalid') },
        {
          validator: (_, value: string | undefined) =>
            !value || percentToBp(value) !== null
              ? Promise.resolve()
              : Promise.reject(new Error(t('op.form.percentInvalid'))),
        },
      ]}
    >
      <Input inputMode="decimal" suffix="%" autoComplete="off" />
    </Form.Item>
  );
}

interface PlanValues {
  name: string;
  mode: OperationPlan['mode'];
  resourceIds: string[];
  scenarios: string;
  selectionMethod: OperationPlan['selectionMethod'];
  securityMeasures: string;
  termYears: number;
}

const PUBLISHED = { state: 'published' };

/** A new operation plan: resources searched in the published catalog, scenarios one a line. */
function PlanModal({
  open,
  onClose,
  onDone,
}: {
  open: boolean;
  onClose(): void;
  onDone(p: OperationPlan): void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<PlanValues>();
  const action = useInlineAction();
  const required = { required: true, whitespace: true, message: t('op.form.required') };
  // The server's longest term, said in the form rather than learnt from a refusal.
  const loadRules = useCallback(
    (signal: AbortSignal) => api.get<OperationRules>(`${OP}/rules`, {}, signal),
    [],
  );
  const maxYears = useLoader(open ? loadRules : null).data?.maxTermYears ?? 50;
  return (
    <FormModal
      open={open}
      title={t('op.action.newPlan')}
      okText={t('common.save')}
      busy={action.busy}
      form={form}
      width={640}
      initialValues={{ mode: 'domain', selectionMethod: 'public_tender', termYears: 3 }}
      onCancel={() => {
        action.clear();
        onClose();
      }}
      onFinish={(v) =>
        action.run(async () => {
          const saved = await api.post<OperationPlan>(`${OP}/plans`, {
            name: v.name.trim(),
            mode: v.mode,
            resourceIds: v.resourceIds,
            scenarios: lines(v.scenarios),
            selectionMethod: v.selectionMethod,
            securityMeasures: v.securityMeasures.trim(),
            termYears: v.termYears,
          });
          onDone(saved);
        })
      }
    >
      <Failure error={action.failure} testId="plan-error" />
      <Form.Item name="name" label={t('op.form.planName')} rules={[required]}>
        <Input maxLength={200} />
      </Form.Item>
      <Form.Item name="mode" label={t('op.col.mode')} rules={[{ required: true }]}>
        <Select options={AUTH_MODES.map((m) => ({ value: m, label: t(`op.mode.${m}`) }))} />
      </Form.Item>
      <Form.Item
        name="resourceIds"
        label={t('op.resources')}
        extra={t('op.form.resourcesHint')}
        rules={[{ required: true, type: 'array', min: 1, message: t('op.form.resourcesRequired') }]}
      >
        <ResourceSelect mode="multiple" filters={PUBLISHED} />
      </Form.Item>
      <Form.Item name="scenarios" label={t('op.scenarios')} extra={t('op.form.linesHint')} rules={[required]}>
        <Input.TextArea rows={2} />
      </Form.Item>
      <Form.Item name="selectionMethod" label={t('op.col.method')} rules={[{ required: true }]}>
        <Select options={SELECTION_METHODS.map((m) => ({ value: m, label: t(`op.method.${m}`) }))} />
      </Form.Item>
      <Form.Item name="securityMeasures" label={t('op.security')} rules={[required]}>
        <Input.TextArea rows={2} maxLength={4000} />
      </Form.Item>
      <Form.Item
        name="termYears"
        label={t('op.form.termYears')}
        extra={t('op.form.termYearsHint', { max: maxYears })}
        rules={[
          {
            required: true,
            type: 'integer',
            min: 1,
            max: maxYears,
            message: t('op.form.termYearsInvalid', { max: maxYears }),
          },
        ]}
      >
        <InputNumber min={1} max={maxYears} precision={0} />
      </Form.Item>
    </FormModal>
  );
}

interface AgreementValues {
  planId: string;
  fields: Record<string, string[] | undefined>;
  scenarios: string;
  validFrom: string;
  validTo: string;
  duties: string;
  pricing: string;
  revenue: string;
  exitTerms: string;
}

/**
 * A new agreement under a plan whose operator is selected: the operator is the selection's winner,
 * the scope fields of the plan's resources (from the catalog), the term at most the plan's (and the
 * server's maximum, which the server enforces and explains).
 */
function AgreementModal({
  open,
  plans,
  onClose,
  onDone,
}: {
  open: boolean;
  plans: OperationPlan[];
  onClose(): void;
  onDone(a: OperationAgreement): void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<AgreementValues>();
  const action = useInlineAction();
  const chosen = Form.useWatch('planId', form) ?? plans[0]?.id;
  const plan = plans.find((p) => p.id === chosen);
  const resourceIds = plan?.resourceIds ?? [];
  const names = useResources(resourceIds);
  const required = { required: true, whitespace: true, message: t('op.form.required') };
  const day = {
    validator: (_: unknown, value: string | undefined) =>
      !value || DAY.test(value.trim())
        ? Promise.resolve()
        : Promise.reject(new Error(t('op.form.dayInvalid'))),
  };
  return (
    <FormModal
      open={open}
      title={t('op.action.newAgreement')}
      okText={t('common.save')}
      busy={action.busy}
      form={form}
      width={720}
      initialValues={{ planId: plans[0]?.id, scenarios: plans[0]?.scenarios.join('\n') }}
      onCancel={() => {
        action.clear();
        onClose();
      }}
      onFinish={(v) =>
        action.run(async () => {
          const resources = resourceIds
            .map((resourceId) => ({ resourceId, fields: v.fields?.[resourceId] ?? [] }))
            .filter((r) => r.fields.length > 0);
          if (resources.length === 0) throw new Error(t('op.form.fieldsRequired'));
          const saved = await api.post<OperationAgreement>(`${OP}/agreements`, {
            planId: v.planId,
            scope: { resources },
            scenarios: lines(v.scenarios),
            validFrom: v.validFrom.trim(),
            validTo: v.validTo.trim(),
            duties: v.duties.trim(),
            pricing: v.pricing.trim(),
            revenue: v.revenue.trim(),
            exitTerms: v.exitTerms.trim(),
          });
          onDone(saved);
        })
      }
    >
      <Failure error={action.failure} testId="agreement-error" />
      <Form.Item name="planId" label={t('op.form.plan')} rules={[{ required: true }]}>
        <Select
          options={plans.map((p) => ({ value: p.id, label: p.name }))}
          onChange={(id: string) => {
            const next = plans.find((p) => p.id === id);
            form.setFieldsValue({ fields: {}, scenarios: next?.scenarios.join('\n') });
          }}
        />
      </Form.Item>
      {plan?.selection ? (
        <Descriptions size="small" column={1} bordered style={{ marginBottom: 16 }}>
          <Descriptions.Item label={t('op.col.operator')}>
            <span data-testid="agreement-operator">
              <OrgName id={plan.selection.winnerOrgId} />
            </span>
          </Descriptions.Item>
          <Descriptions.Item label={t('op.col.termYears')}>
            {t('op.form.termMax', { n: plan.termYears })}
          </Descriptions.Item>
        </Descriptions>
      ) : null}
      <Typography.Paragraph type="secondary">{t('op.form.scopeHint')}</Typography.Paragraph>
      {resourceIds.map((id) => (
        <Form.Item
          key={id}
          name={['fields', id]}
          label={t('op.form.scopeFields', { resource: names.get(id)?.name ?? id })}
        >
          <Select
            mode="multiple"
            optionFilterProp="label"
            options={(names.get(id)?.fields ?? []).map((f) => ({
              value: f.name,
              label: `${f.label}（${f.name}）`,
            }))}
          />
        </Form.Item>
      ))}
      <Form.Item name="scenarios" label={t('op.scenarios')} extra={t('op.form.linesHint')} rules={[required]}>
        <Input.TextArea rows={2} />
      </Form.Item>
      <Space wrap>
        <Form.Item name="validFrom" label={t('op.form.validFrom')} rules={[required, day]}>
          <Input placeholder="YYYY-MM-DD" autoComplete="off" />
        </Form.Item>
        <Form.Item name="validTo" label={t('op.form.validTo')} rules={[required, day]}>
          <Input placeholder="YYYY-MM-DD" autoComplete="off" />
        </Form.Item>
      </Space>
      <Form.Item name="duties" label={t('op.terms.duties')} rules={[required]}>
        <Input.TextArea rows={2} maxLength={8000} />
      </Form.Item>
      <Form.Item name="pricing" label={t('op.terms.pricing')} rules={[required]}>
        <Input.TextArea rows={2} maxLength={8000} />
      </Form.Item>
      <Form.Item name="revenue" label={t('op.terms.revenue')} rules={[required]}>
        <Input.TextArea rows={2} maxLength={8000} />
      </Form.Item>
      <Form.Item name="exitTerms" label={t('op.terms.exit')} rules={[required]}>
        <Input.TextArea rows={2} maxLength={8000} />
      </Form.Item>
    </FormModal>
  );
}

interface CapValues {
  operatorOrgId: string;
  year: number;
  costs: Array<{ item: string; amount: string }>;
  profitRate: string;
  bondYield: string;
  tax: string;
}

/** The maximum allowed revenue of an operator for a year: cost lines in yuan, rates in percent. */
function RevenueCapModal({
  open,
  year,
  onClose,
  onDone,
}: {
  open: boolean;
  year: number;
  onClose(): void;
  onDone(): void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<CapValues>();
  const action = useInlineAction();
  const agreements = useDetail<OperationAgreement[]>(`${OP}/agreements`);
  const orgs = useOrganizations();
  const operators = [...new Set((agreements.data ?? []).map((a) => a.operatorOrgId))];
  const required = { required: true, whitespace: true, message: t('op.form.required') };
  const yuan = {
    validator: (_: unknown, value: string | undefined) =>
      !value || yuanToFen(value) !== null
        ? Promise.resolve()
        : Promise.reject(new Error(t('op.form.yuanInvalid'))),
  };
  return (
    <FormModal
      open={open}
      title={t('op.action.revenueCap')}
      okText={t('common.save')}
      busy={action.busy}
      form={form}
      width={640}
      initialValues={{
        operatorOrgId: operators.length === 1 ? operators[0] : undefined,
        year,
        costs: [{ item: '', amount: '' }],
      }}
      onCancel={() => {
        action.clear();
        onClose();
      }}
      onFinish={(v) =>
        action.run(async () => {
          await api.put(`${OP}/revenue-caps/${enc(v.operatorOrgId)}/${v.year}`, {
            costs: v.costs.map((c) => ({ item: c.item.trim(), amountFen: yuanToFen(c.amount)! })),
            profitRateBp: percentToBp(v.profitRate)!,
            bondYieldBp: percentToBp(v.bondYield)!,
            taxFen: yuanToFen(v.tax)!,
          });
          onDone();
        })
      }
    >
      <Typography.Paragraph type="secondary">{t('op.form.revenueHint')}</Typography.Paragraph>
      <Failure error={action.failure} testId="revenue-cap-error" />
      <Space wrap>
        <Form.Item
          name="operatorOrgId"
          label={t('op.col.operator')}
          rules={[{ required: true, message: t('op.form.required') }]}
        >
          <Select
            style={{ minWidth: 240 }}
            loading={agreements.loading}
            options={operators.map((id) => ({ value: id, label: orgs.get(id)?.name ?? id }))}
          />
        </Form.Item>
        <Form.Item
          name="year"
          label={t('op.year')}
          rules={[
            { required: true, type: 'integer', min: 2000, max: 2200, message: t('op.form.yearInvalid') },
          ]}
        >
          <InputNumber min={2000} max={2200} precision={0} />
        </Form.Item>
      </Space>
      <Form.List name="costs">
        {(fields, { add, remove }) => (
          <>
            {fields.map((field, i) => (
              <Space key={field.key} align="baseline" wrap>
                <Form.Item
                  name={[field.name, 'item']}
                  label={t('op.form.costItem', { n: i + 1 })}
                  rules={[required]}
                >
                  <Input maxLength={200} style={{ minWidth: 220 }} />
                </Form.Item>
                <Form.Item
                  name={[field.name, 'amount']}
                  label={t('op.form.costAmount', { n: i + 1 })}
                  rules={[{ ...required, message: t('op.form.yuanInvalid') }, yuan]}
                >
                  <Input inputMode="decimal" prefix="¥" suffix={t('op.form.yuan')} autoComplete="off" />
                </Form.Item>
                {fields.length > 1 ? (
                  <Button
                    type="text"
                    icon={<MinusCircleOutlined />}
                    aria-label={t('op.form.removeCost', { n: i + 1 })}
                    onClick={() => remove(field.name)}
                  />
                ) : null}
              </Space>
            ))}
            <Button
              icon={<PlusOutlined />}
              onClick={() => add({ item: '', amount: '' })}
              style={{ marginBottom: 16 }}
            >
              {t('op.form.addCost')}
            </Button>
          </>
        )}
      </Form.List>
      <Space wrap>
        <PercentItem name="profitRate" label={t('op.form.profitRate')} />
        <PercentItem name="bondYield" label={t('op.form.bondYield')} />
      </Space>
      <YuanItem name="tax" label={t('op.form.tax')} />
    </FormModal>
  );
}
