import { Card, Col, Descriptions, Empty, Flex, Row, Skeleton, Space, Table, Tag, Typography } from 'antd';
import { useCallback } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { GrantedFields, rowFilterText } from '../components/ContractTerms.tsx';
import { ErrorAlert, OrgName, PageTitle } from '../components/common.tsx';
import { DpBudgetText } from '../components/DpPanel.tsx';
import { fmtDate, fmtNumber } from '../format.ts';
import { collectAll, useLoader, useResources } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useMe } from '../session.tsx';
import type { ApiKey, Contract, Page, Resource } from '../types.ts';

/**
 * 我的权限: what this user's organization may read under contracts in force, and what this user
 * holds — roles and API keys' scopes. Read only from APIs every signed-in user may call.
 */
export function MyPermissions() {
  const { t } = useTranslation();
  const me = useMe();
  const load = useCallback(
    async (signal: AbortSignal) => {
      const [contracts, keys] = await Promise.all([
        collectAll((cursor) =>
          api.get<Page<Contract>>('/v1/contracts', { state: 'active', limit: 200, cursor }, signal),
        ),
        collectAll((cursor) => api.get<Page<ApiKey>>('/v1/api-keys', { limit: 200, cursor }, signal)),
      ]);
      return {
        // The list also holds contracts the organization provides; only those it uses are its permissions.
        contracts: contracts.items.filter((c) => c.consumerOrgId === me.organization.id),
        keys: keys.items.filter((k) => k.userId === me.user.id && k.status === 'active'),
      };
    },
    [me],
  );
  const { data, error, reload } = useLoader(load);
  const resources = useResources((data?.contracts ?? []).map((c) => c.resourceId));

  return (
    <>
      <PageTitle title={t('nav.myPermissions')} sub={t('myPermissions.sub')} help="myPermissions" />
      <ErrorAlert error={error} onRetry={reload} />
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={16}>
          <Card title={<h2 className="card-title">{t('myPermissions.contracts')}</h2>}>
            {!data ? (
              <Skeleton active />
            ) : data.contracts.length === 0 ? (
              <Empty description={t('myPermissions.none')} />
            ) : (
              <Space direction="vertical" size="large" style={{ width: '100%' }}>
                {data.contracts.map((c) => (
                  <ContractTermsCard key={c.id} contract={c} resource={resources.get(c.resourceId)} />
                ))}
              </Space>
            )}
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card
            title={<h2 className="card-title">{t('myPermissions.roles')}</h2>}
            style={{ marginBottom: 16 }}
          >
            <Flex wrap gap={4} data-testid="my-roles">
              {me.user.roles.map((role) => (
                <Tag key={role}>{t(`role.${role}`)}</Tag>
              ))}
            </Flex>
            <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0 }}>
              <OrgName id={me.organization.id} />
            </Typography.Paragraph>
          </Card>
          <Card title={<h2 className="card-title">{t('myPermissions.apiKeys')}</h2>}>
            <Table<ApiKey>
              rowKey="id"
              size="small"
              loading={!data}
              dataSource={data?.keys ?? []}
              pagination={false}
              scroll={{ x: 'max-content' }}
              locale={{ emptyText: <Empty description={t('myPermissions.noKeys')} /> }}
              columns={[
                { title: t('myPermissions.keyName'), dataIndex: 'name' },
                {
                  title: t('apiKeys.scopes'),
                  render: (_: unknown, k) => (
                    <Flex wrap gap={4}>
                      {k.scopes.map((s) => (
                        <Tag key={s} title={t(`scope.${s}`)}>
                          {s}
                        </Tag>
                      ))}
                    </Flex>
                  ),
                },
                {
                  title: t('myPermissions.expires'),
                  render: (_: unknown, k) => (k.expiresAt ? fmtDate(k.expiresAt) : t('myPermissions.never')),
                },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </>
  );
}

/** One contract's terms as its consumer holds them, in the Contracts page's words. */
function ContractTermsCard({
  contract: c,
  resource,
}: {
  contract: Contract;
  resource: Resource | undefined;
}) {
  const { t } = useTranslation();
  return (
    <Card
      type="inner"
      data-testid={`permission-${c.id}`}
      title={resource?.name ?? c.resourceId}
      extra={<Link to={`/contracts/${c.id}`}>{t('myPermissions.open')}</Link>}
    >
      <Descriptions size="small" column={{ xs: 1, md: 2 }} style={{ marginBottom: 12 }}>
        <Descriptions.Item label={t('contracts.provider')}>
          <OrgName id={c.providerOrgId} />
        </Descriptions.Item>
        <Descriptions.Item label={t('apply.operations')}>
          {c.operations.map((o) => t(`operation.${o}`)).join(' · ')}
        </Descriptions.Item>
        <Descriptions.Item label={t('myPermissions.period')}>
          {fmtDate(c.validFrom)} — {fmtDate(c.validTo)}
        </Descriptions.Item>
        <Descriptions.Item label={t('contract.rowFilter')}>{rowFilterText(c, resource, t)}</Descriptions.Item>
        <Descriptions.Item label={t('contract.limits')}>
          {t('contract.limitsText', {
            rate: fmtNumber(c.rateLimitPerMinute),
            quota: fmtNumber(c.quotaRowsPerDay),
            group: c.minGroupSize,
          })}
        </Descriptions.Item>
        {resource && c.operations.includes('aggregate') ? (
          <Descriptions.Item label={t('dp.budget')}>
            <DpBudgetText contract={c} resource={resource} />
          </Descriptions.Item>
        ) : null}
      </Descriptions>
      <GrantedFields contract={c} resource={resource} />
    </Card>
  );
}
