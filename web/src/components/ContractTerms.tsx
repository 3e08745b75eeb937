import { Table } from 'antd';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { Contract, Filter, Resource } from '../types.ts';
import { GradeTag, MaskTag, Mono } from './common.tsx';
import { describeFilter } from './FilterBuilder.tsx';

/** A field's label from the resource, or its name while the resource is unknown. */
export function fieldLabel(resource: Resource | undefined) {
  return (name: string) => resource?.fields.find((f) => f.name === name)?.label ?? name;
}

/** The contract's row filter in words (`所属区县 等于 西湖区，且 …`), or "all rows". */
export function rowFilterText(contract: Contract, resource: Resource | undefined, t: TFunction): string {
  return contract.rowFilter
    ? describeFilter(contract.rowFilter as Filter, fieldLabel(resource), t)
    : t('contract.allRows');
}

/** The granted fields with grade and the mask each is served under. */
export function GrantedFields({
  contract,
  resource,
}: {
  contract: Contract;
  resource: Resource | undefined;
}) {
  const { t } = useTranslation();
  return (
    <Table
      size="small"
      rowKey="name"
      pagination={false}
      scroll={{ x: 'max-content' }}
      dataSource={contract.fields.map((name) => ({
        name,
        field: resource?.fields.find((f) => f.name === name),
      }))}
      columns={[
        { title: t('field.label'), render: (_: unknown, r) => r.field?.label ?? r.name },
        { title: t('field.name'), dataIndex: 'name', render: (n: string) => <Mono>{n}</Mono> },
        {
          title: t('field.grade'),
          render: (_: unknown, r) => (r.field ? <GradeTag grade={r.field.grade} /> : '—'),
        },
        {
          title: t('contract.mask'),
          render: (_: unknown, r) => <MaskTag rule={contract.masking[r.name] ?? 'none'} />,
        },
      ]}
    />
  );
}
