import { PlusOutlined } from '@ant-design/icons';
import {
  Alert,
  App,
  Button,
  Card,
  Checkbox,
  Flex,
  Form,
  Input,
  Modal,
  Popconfirm,
  Space,
  Tag,
  Typography,
} from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { ErrorAlert, ListTable, Pager, PageTitle, StateTag } from '../components/common.tsx';
import { FormModal } from '../components/FormModal.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { endOfShanghaiDay, fmtDateTime, shanghaiDate } from '../format.ts';
import { useAction, useCursorPages } from '../hooks.ts';
import { useMe } from '../session.tsx';
import type { ApiKey, Page } from '../types.ts';

export const SCOPES = [
  'gateway',
  'sharing',
  'catalog:read',
  'catalog:write',
  'identity:read',
  'identity:write',
  'audit:read',
  'monitor',
] as const;

export function ApiKeys() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<ApiKey>>('/v1/api-keys', { limit: 20, cursor }, signal),
    [],
  );
  const pages = useCursorPages(fetchPage);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [form] = Form.useForm<{ name: string; scopes: string[]; expires?: string }>();
  const action = useAction();

  const create = (v: { name: string; scopes: string[]; expires?: string }) =>
    action.run(async () => {
      const key = await api.post<ApiKey & { secret: string }>('/v1/api-keys', {
        name: v.name.trim(),
        scopes: v.scopes,
        ...(v.expires ? { expiresAt: endOfShanghaiDay(v.expires) } : {}),
      });
      setCreating(false);
      form.resetFields();
      setSecret({ name: key.name, secret: key.secret });
      message.success(t('apiKeys.created', { name: key.name }));
      pages.reload();
    });

  const revoke = (key: ApiKey) =>
    action.run(async () => {
      await api.post(`/v1/api-keys/${encodeURIComponent(key.id)}/revoke`);
      message.success(t('apiKeys.revoked', { name: key.name }));
      pages.reload();
    });

  return (
    <>
      <PageTitle
        title={t('nav.apiKeys')}
        sub={t('apiKeys.sub')}
        help="apiKeys"
        extra={
          <Button
            type="primary"
            icon={<PlusOutlined />}
            onClick={() => setCreating(true)}
            disabled={me.credential !== 'session'}
          >
            {t('apiKeys.create')}
          </Button>
        }
      />
      <ErrorAlert error={pages.error} onRetry={pages.reload} />
      <Card>
        <ListTable<ApiKey>
          toolbar={cursorToolbar('api-keys', pages)}
          empty={t('apiKeys.none')}
          loading={pages.loading}
          dataSource={pages.items}
          columns={[
            { title: t('apiKeys.name'), dataIndex: 'name' },
            {
              title: t('apiKeys.scopes'),
              dataIndex: 'scopes',
              exportValue: (key) => key.scopes.join(' '),
              render: (scopes: string[]) => (
                <Space size={[4, 4]} wrap>
                  {scopes.map((s) => (
                    <Tag key={s}>{s}</Tag>
                  ))}
                </Space>
              ),
            },
            {
              title: t('apiKeys.status'),
              dataIndex: 'status',
              render: (s: string) => <StateTag state={s} />,
              exportValue: (key) => t(`state.${key.status}`),
            },
            { title: t('apiKeys.createdAt'), dataIndex: 'createdAt', render: fmtDateTime },
            { title: t('apiKeys.lastUsed'), dataIndex: 'lastUsedAt', render: fmtDateTime },
            {
              title: t('apiKeys.expires'),
              dataIndex: 'expiresAt',
              render: (v: string | null) => (v ? fmtDateTime(v) : t('apiKeys.never')),
            },
            {
              title: t('common.actions'),
              render: (_: unknown, key) =>
                key.status === 'active' ? (
                  <Popconfirm
                    title={t('apiKeys.revokeConfirm', { name: key.name })}
                    okText={t('apiKeys.revoke')}
                    okButtonProps={{ danger: true }}
                    cancelText={t('common.cancel')}
                    onConfirm={() => revoke(key)}
                  >
                    <Button size="small" danger aria-label={t('apiKeys.revokeNamed', { name: key.name })}>
                      {t('apiKeys.revoke')}
                    </Button>
                  </Popconfirm>
                ) : null,
            },
          ]}
        />
        <Pager {...pages} />
      </Card>

      <FormModal
        open={creating}
        title={t('apiKeys.create')}
        okText={t('apiKeys.createOk')}
        busy={action.busy}
        onCancel={() => setCreating(false)}
        form={form}
        onFinish={create}
        initialValues={{ scopes: ['gateway'] }}
      >
        <Form.Item
          name="name"
          label={t('apiKeys.name')}
          rules={[{ required: true, whitespace: true, message: t('apiKeys.nameRequired') }]}
        >
          <Input maxLength={100} autoFocus />
        </Form.Item>
        <Form.Item
          name="scopes"
          label={t('apiKeys.scopes')}
          rules={[{ required: true, type: 'array', min: 1, message: t('apiKeys.scopesRequired') }]}
        >
          <Checkbox.Group style={{ width: '100%' }}>
            <Flex vertical gap={4}>
              {SCOPES.map((s) => (
                <Checkbox key={s} value={s}>
                  <Typography.Text code>{s}</Typography.Text> {t(`scope.${s}`)}
                </Checkbox>
              ))}
            </Flex>
          </Checkbox.Group>
        </Form.Item>
        <Form.Item name="expires" label={t('apiKeys.expires')} extra={t('apiKeys.expiresHint')}>
          <Input type="date" min={shanghaiDate(1)} />
        </Form.Item>
      </FormModal>

      <Modal
        open={secret !== null}
        title={t('apiKeys.secretTitle', { name: secret?.name ?? '' })}
        onCancel={() => setSecret(null)}
        footer={
          <Button type="primary" onClick={() => setSecret(null)}>
            {t('apiKeys.stored')}
          </Button>
        }
      >
        <Alert type="warning" showIcon message={t('apiKeys.secretOnce')} style={{ marginBottom: 12 }} />
        <Typography.Paragraph
          copyable={{ text: secret?.secret ?? '', tooltips: [t('common.copy'), t('common.copied')] }}
        >
          <Typography.Text code style={{ wordBreak: 'break-all' }}>
            <span data-testid="api-key-secret">{secret?.secret}</span>
          </Typography.Text>
        </Typography.Paragraph>
      </Modal>
    </>
  );
}
