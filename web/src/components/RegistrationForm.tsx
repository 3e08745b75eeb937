/**
 * The registration application (登记申请) as a holder fills it: a first registration of one of
 * the organization's published resources (pre-filled from the catalog), a change, correction or
 * cancellation of a registered one, or the corrected content of a returned one. Fields follow the
 * server's RegistrationContent and Commitment schemas.
 */
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Flex, Form, Input, Typography } from 'antd';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { shanghaiDate } from '../format.ts';
import { useAction } from '../hooks.ts';
import { useMe } from '../session.tsx';
import type {
  Registration,
  RegistrationCommitment,
  RegistrationContent,
  RegistrationKind,
  Resource,
} from '../types.ts';
import { FormModal } from './FormModal.tsx';
import { ResourceSelect } from './ResourceSelect.tsx';

export type RegistrationFormMode = RegistrationKind | 'resubmit';

interface Values {
  subjectId?: string;
  content: RegistrationContent;
  commitment: RegistrationCommitment;
}

const TEXTS = [
  ['volume', 200, false],
  ['source', 1000, false],
  ['updateCycle', 100, false],
  ['grade', 50, false],
  ['storageLocation', 500, false],
  ['storageMethod', 500, false],
  ['intendedUse', 2000, true],
  ['qualityDescription', 4000, true],
  ['operationScope', 1000, true],
] as const;

export function RegistrationForm({
  mode,
  from,
  onClose,
  onDone,
}: {
  /** Null: closed. */
  mode: RegistrationFormMode | null;
  /** The registration a change, correction, cancellation or resubmission starts from. */
  from?: Registration;
  onClose(): void;
  onDone(registration: Registration): void;
}) {
  const { t } = useTranslation();
  const me = useMe();
  const [form] = Form.useForm<Values>();
  const action = useAction();
  const first = mode === 'first';
  const ownPublished = useMemo(
    () => ({ provider: me.organization.id, state: 'published', sort: 'newest' }),
    [me.organization.id],
  );
  const required = (label: string) => [
    { required: true, whitespace: true, message: t('registry.form.required', { label }) },
  ];

  const prefill = (resource: Resource) =>
    form.setFieldsValue({
      content: {
        name: resource.name,
        summary: resource.summary,
        fields: resource.fields.map((f) => ({ name: f.name, label: f.label, dataType: f.dataType })),
        updateCycle: t(`cycle.${resource.updateCycle}`, { defaultValue: resource.updateCycle }),
        grade: t(`grade.${resource.grade}`, { defaultValue: resource.grade }),
      },
    });

  const submit = ({ subjectId, content, commitment }: Values) =>
    action.run(async () => {
      const body = {
        content: {
          ...content,
          fields: content.fields.map(({ name, label, dataType }) => ({
            name,
            label,
            ...(dataType ? { dataType } : {}),
          })),
        },
        commitment,
      };
      const saved =
        mode === 'resubmit'
          ? await api.post<Registration>(`/v1/registry/registrations/${from!.id}/resubmit`, body)
          : await api.post<Registration>('/v1/registry/registrations', {
              kind: mode,
              ...(first
                ? { subjectType: 'resource', subjectId }
                : { subjectType: from!.subject.type, subjectId: from!.subject.id, code: from!.code }),
              ...body,
            });
      onDone(saved);
    });

  const label = (key: string) => t(`registry.content.${key}`);
  return (
    <FormModal<Values>
      open={mode !== null}
      title={
        <>
          {mode ? t(`registry.form.title.${mode}`) : null}
          {from?.code ? (
            <Typography.Text type="secondary" style={{ marginInlineStart: 8, fontWeight: 'normal' }}>
              {t('registry.form.code', { code: from.code })}
            </Typography.Text>
          ) : null}
        </>
      }
      okText={t('registry.form.submit')}
      busy={action.busy}
      width={760}
      form={form}
      initialValues={{
        // A new one starts with one empty data item; the form requires every other part.
        content: from?.content ?? ({ fields: [{ name: '', label: '' }] } as RegistrationContent),
        commitment: {
          signatory: from?.commitment.signatory ?? '',
          signedOn: shanghaiDate(),
          text: from?.commitment.text ?? t('registry.commitment.defaultText'),
        },
      }}
      onFinish={submit}
      onCancel={onClose}
    >
      {first ? (
        <Form.Item
          name="subjectId"
          label={t('registry.form.resource')}
          extra={t('registry.form.resourceHint')}
          rules={[{ required: true, message: t('registry.form.resource') }]}
        >
          <ResourceSelect
            filters={ownPublished}
            notFoundContent={t('registry.form.noResource')}
            onPick={prefill}
          />
        </Form.Item>
      ) : null}
      <Form.Item name={['content', 'name']} label={label('name')} rules={required(label('name'))}>
        <Input maxLength={200} />
      </Form.Item>
      <Form.Item name={['content', 'summary']} label={label('summary')} rules={required(label('summary'))}>
        <Input.TextArea rows={2} maxLength={4000} />
      </Form.Item>
      <Typography.Text strong>{label('fields')}</Typography.Text>
      <Form.List name={['content', 'fields']}>
        {(items, { add, remove }) => (
          <div style={{ margin: '8px 0 16px' }}>
            {items.map(({ key, name }) => (
              <Flex key={key} gap={8} align="baseline" wrap>
                <Form.Item name={[name, 'name']} rules={required(label('fieldName'))} style={{ flex: 1 }}>
                  <Input placeholder={label('fieldName')} aria-label={label('fieldName')} maxLength={128} />
                </Form.Item>
                <Form.Item name={[name, 'label']} rules={required(label('fieldLabel'))} style={{ flex: 1 }}>
                  <Input placeholder={label('fieldLabel')} aria-label={label('fieldLabel')} maxLength={128} />
                </Form.Item>
                <Form.Item name={[name, 'dataType']} style={{ width: 120 }}>
                  <Input placeholder={label('fieldType')} aria-label={label('fieldType')} maxLength={32} />
                </Form.Item>
                <Button
                  type="text"
                  icon={<DeleteOutlined />}
                  aria-label={label('removeField')}
                  disabled={items.length === 1}
                  onClick={() => remove(name)}
                />
              </Flex>
            ))}
            <Button icon={<PlusOutlined />} onClick={() => add({ name: '', label: '' })}>
              {label('addField')}
            </Button>
          </div>
        )}
      </Form.List>
      {TEXTS.map(([key, max, long]) => (
        <Form.Item key={key} name={['content', key]} label={label(key)} rules={required(label(key))}>
          {long ? <Input.TextArea rows={2} maxLength={max} /> : <Input maxLength={max} />}
        </Form.Item>
      ))}
      <Typography.Title level={2} style={{ fontSize: 16 }}>
        {t('registry.section.commitment')}
      </Typography.Title>
      <Form.Item
        name={['commitment', 'text']}
        label={t('registry.commitment.text')}
        rules={required(t('registry.commitment.text'))}
      >
        <Input.TextArea rows={3} maxLength={4000} />
      </Form.Item>
      <Flex gap={16} wrap>
        <Form.Item
          name={['commitment', 'signatory']}
          label={t('registry.commitment.signatory')}
          rules={required(t('registry.commitment.signatory'))}
          style={{ flex: 1, minWidth: 200 }}
        >
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item
          name={['commitment', 'signedOn']}
          label={t('registry.commitment.signedOn')}
          rules={required(t('registry.commitment.signedOn'))}
        >
          <Input type="date" />
        </Form.Item>
      </Flex>
    </FormModal>
  );
}
