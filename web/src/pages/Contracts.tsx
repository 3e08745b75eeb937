import { Card, Select, Space } from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { ErrorAlert, ListTable, OrgName, Pager, PageTitle, StateTag } from '../components/common.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { fmtDateTime } from '../format.ts';
import { useCursorPages, useOrganizations, useResources } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Contract, Page } from '../types.ts';
import { CONTRACT_STATES } from '../types.ts';

export function Contracts() {
  const { t } = useTranslation();
  const [state, setState] = useState<string | undefined>();
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<Contract>>('/v1/contracts', { state, limit: 20, cursor }, signal),
    [state],
  );
  const pages = useCursorPages(fetchPage);
  const resources = useResources(pages.items.map((c) => c.resourceId));
  const orgs = useOrganizations();
  const resourceName = (c: Contract) => resources.get(c.resourceId)?.name ?? c.resourceId;
  const orgName = (id: string) => orgs.get(id)?.name ?? id;
  const operationNames = (c: Contract) => c.operations.map((o) => t(`operation.${o}`)).join(' · ');

  return (
    <>
      <PageTitle title={t('nav.contracts')} sub={t('contracts.sub')} help="contracts" />
      <Card>
        <Space style={{ marginBottom: 12 }} wrap>
          <label htmlFor="contract-state">{t('contracts.state')}</label>
          <Select
            id="contract-state"
            allowClear
            style={{ minWidth: 160 }}
            placeholder={t('common.all')}
            value={state}
            onChange={setState}
            options={CONTRACT_STATES.map((s) => ({ value: s, label: t(`state.${s}`) }))}
          />
        </Space>
        <ErrorAlert error={pages.error} onRetry={pages.reload} />
        <ListTable<Contract>
          toolbar={cursorToolbar('contracts', pages)}
          empty={t('contracts.none')}
          loading={pages.loading}
          dataSource={pages.items}
          columns={[
            {
              title: t('contracts.id'),
              dataIndex: 'id',
              render: (id: string) => <Link to={`/contracts/${id}`}>{id}</Link>,
            },
            {
              title: t('contracts.resource'),
              render: (_: unknown, c) => resourceName(c),
              exportValue: resourceName,
            },
            {
              title: t('contracts.provider'),
              render: (_: unknown, c) => <OrgName id={c.providerOrgId} />,
              exportValue: (c) => orgName(c.providerOrgId),
            },
            {
              title: t('contracts.consumer'),
              render: (_: unknown, c) => <OrgName id={c.consumerOrgId} />,
              exportValue: (c) => orgName(c.consumerOrgId),
            },
            {
              title: t('contracts.state'),
              dataIndex: 'state',
              render: (s: string) => <StateTag state={s} />,
              exportValue: (c) => t(`state.${c.state}`),
            },
            {
              title: t('apply.operations'),
              render: (_: unknown, c) => operationNames(c),
              exportValue: operationNames,
            },
            { title: t('contracts.validTo'), dataIndex: 'validTo', render: fmtDateTime },
          ]}
        />
        <Pager {...pages} />
      </Card>
    </>
  );
}
