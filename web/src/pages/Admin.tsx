/**
 * Platform administration: users and organizations, searched by `q` and paged by cursor. Only
 * platform admins see these pages in the navigation; the API refuses the others on its own.
 */
import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Checkbox, Form, Input, Popconfirm, Select, Space, Tag } from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { ErrorAlert, ListTable, Mono, OrgName, Pager, PageTitle, StateTag } from '../components/common.tsx';
import { FormModal } from '../components/FormModal.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { fmtDateTime } from '../format.ts';
import { forgetOrganizationDirectory, useAction, useCursorPages, useOrganizations } from '../hooks.ts';
import { useMe } from '../session.tsx';
import {
  ADMIN_LEVELS,
  type AdminLevel,
  ORG_TYPES,
  type Organization,
  type OrgType,
  type Page,
  ROLES,
  type Role,
  type User,
} from '../types.ts';

/** The search box over a paged list: `q` is sent trimmed, an empty box lists everything. */
function SearchBox({ label, onSearch }: { label: string; onSearch(q: string | undefined): void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const submit = (value: string) => onSearch(value.trim() || undefined);
  return (
    <Space.Compact style={{ maxWidth: 420, width: '100%', marginBottom: 12 }}>
      <Input
        allowClear
        aria-label={label}
        placeholder={label}
        maxLength={100}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value === '') submit('');
        }}
        onPressEnter={() => submit(text)}
      />
      <Button type="primary" onClick={() => submit(text)}>
        {t('admin.search')}
      </Button>
    </Space.Compact>
  );
}

interface UserForm {
  orgId: string;
  username: string;
  displayName: string;
  password: string;
  roles: Role[];
}

export function Users() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const orgs = useOrganizations();
  const [q, setQ] = useState<string | undefined>();
  const [status, setStatusFilter] = useState<User['status'] | undefined>();
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<User>>('/v1/users', { q, status, limit: 20, cursor }, signal),
    [q, status],
  );
  const pages = useCursorPages(fetchPage);
  const action = useAction();
  const [creating, setCreating] = useState(false);
  const [form] = Form.useForm<UserForm>();

  const create = (v: UserForm) =>
    action.run(async () => {
      const user = await api.post<User>('/v1/users', { ...v, username: v.username.trim() });
      setCreating(false);
      form.resetFields();
      message.success(t('admin.userCreated', { name: user.username }));
      pages.reload();
    });

  const setStatus = (user: User, status: 'active' | 'disabled') =>
    action.run(async () => {
      await api.patch(`/v1/users/${encodeURIComponent(user.id)}`, { status });
      message.success(t(status === 'disabled' ? 'admin.disabled' : 'admin.enabled', { name: user.username }));
      pages.reload();
    });

  return (
    <>
      <PageTitle
        title={t('nav.users')}
        sub={t('admin.usersSub')}
        help="users"
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
            {t('admin.createUser')}
          </Button>
        }
      />
      <ErrorAlert error={pages.error} onRetry={pages.reload} />
      <Card>
        <Space wrap align="start">
          <SearchBox label={t('admin.searchUsers')} onSearch={setQ} />
          <Select<User['status'] | 'all'>
            aria-label={t('admin.statusFilter')}
            style={{ width: 160 }}
            value={status ?? 'all'}
            onChange={(v) => setStatusFilter(v === 'all' ? undefined : v)}
            options={[
              { value: 'all', label: t('admin.allStatuses') },
              { value: 'active', label: t('admin.statusActive') },
              { value: 'disabled', label: t('admin.statusDisabled') },
            ]}
          />
        </Space>
        <ListTable<User>
          toolbar={cursorToolbar('users', pages)}
          empty={t('admin.noUsers')}
          loading={pages.loading}
          dataSource={pages.items}
          columns={[
            { title: t('admin.username'), dataIndex: 'username', render: (v: string) => <Mono>{v}</Mono> },
            { title: t('admin.displayName'), dataIndex: 'displayName' },
            {
              title: t('admin.organization'),
              dataIndex: 'orgId',
              render: (id: string) => <OrgName id={id} />,
              exportValue: (u) => orgs.get(u.orgId)?.name ?? u.orgId,
            },
            {
              title: t('admin.roles'),
              dataIndex: 'roles',
              exportValue: (u) => u.roles.map((r) => t(`role.${r}`)).join('、'),
              render: (roles: Role[]) => (
                <Space size={[4, 4]} wrap>
                  {roles.map((r) => (
                    <Tag key={r}>{t(`role.${r}`)}</Tag>
                  ))}
                </Space>
              ),
            },
            {
              title: t('admin.status'),
              dataIndex: 'status',
              render: (s: string) => <StateTag state={s} />,
              exportValue: (u) => t(`state.${u.status}`),
            },
            { title: t('admin.createdAt'), dataIndex: 'createdAt', render: fmtDateTime },
            {
              title: t('common.actions'),
              render: (_: unknown, user) =>
                user.id === me.user.id ? null : user.status === 'active' ? (
                  <Popconfirm
                    title={t('admin.disableConfirm', { name: user.username })}
                    okText={t('admin.disable')}
                    okButtonProps={{ danger: true }}
                    cancelText={t('common.cancel')}
                    onConfirm={() => setStatus(user, 'disabled')}
                  >
                    <Button size="small" danger aria-label={t('admin.disableNamed', { name: user.username })}>
                      {t('admin.disable')}
                    </Button>
                  </Popconfirm>
                ) : (
                  <Button
                    size="small"
                    aria-label={t('admin.enableNamed', { name: user.username })}
                    onClick={() => setStatus(user, 'active')}
                  >
                    {t('admin.enable')}
                  </Button>
                ),
            },
          ]}
        />
        <Pager {...pages} />
      </Card>

      <FormModal<UserForm>
        open={creating}
        title={t('admin.createUser')}
        okText={t('admin.createOk')}
        busy={action.busy}
        form={form}
        initialValues={{ roles: ['consumer'] }}
        onFinish={create}
        onCancel={() => setCreating(false)}
      >
        <Form.Item
          name="orgId"
          label={t('admin.organization')}
          rules={[{ required: true, message: t('admin.required') }]}
        >
          <Select
            showSearch
            optionFilterProp="label"
            options={[...orgs.values()].map((o) => ({ value: o.id, label: o.name }))}
          />
        </Form.Item>
        <Form.Item
          name="username"
          label={t('admin.username')}
          extra={t('admin.usernameHint')}
          rules={[
            {
              required: true,
              pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/,
              message: t('admin.usernameHint'),
            },
          ]}
        >
          <Input maxLength={63} autoComplete="off" />
        </Form.Item>
        <Form.Item
          name="displayName"
          label={t('admin.displayName')}
          rules={[{ required: true, whitespace: true, message: t('admin.required') }]}
        >
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('admin.password')}
          rules={[{ required: true, message: t('admin.required') }]}
        >
          <Input.Password maxLength={256} autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="roles"
          label={t('admin.roles')}
          rules={[{ required: true, type: 'array', min: 1, message: t('admin.required') }]}
        >
          <Checkbox.Group options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))} />
        </Form.Item>
      </FormModal>
    </>
  );
}

interface OrgForm {
  name: string;
  uscc: string;
  type: OrgType;
  level: AdminLevel;
  regionCode?: string;
}

export function Organizations() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [q, setQ] = useState<string | undefined>();
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<Organization>>('/v1/organizations', { q, limit: 20, cursor }, signal),
    [q],
  );
  const pages = useCursorPages(fetchPage);
  const action = useAction();
  // The dialog registers a new organization or edits one: the same fields, the same checks.
  const [target, setTarget] = useState<'new' | Organization | null>(null);
  const [form] = Form.useForm<OrgForm>();
  // Every level below national sits in a division of its own level (the server checks which).
  const level = Form.useWatch('level', form);
  const editing = target !== null && target !== 'new' ? target : null;

  const save = (v: OrgForm) =>
    action.run(async () => {
      const region = v.regionCode?.trim();
      const body = {
        name: v.name.trim(),
        uscc: v.uscc.trim().toUpperCase(),
        type: v.type,
        level: v.level,
      };
      const org = editing
        ? await api.patch<Organization>(`/v1/organizations/${encodeURIComponent(editing.id)}`, {
            ...body,
            regionCode: region || null,
          })
        : await api.post<Organization>('/v1/organizations', {
            ...body,
            ...(region ? { regionCode: region } : {}),
          });
      forgetOrganizationDirectory();
      setTarget(null);
      message.success(t(editing ? 'admin.orgSaved' : 'admin.orgCreated', { name: org.name }));
      pages.reload();
    });

  return (
    <>
      <PageTitle
        title={t('nav.organizations')}
        sub={t('admin.orgsSub')}
        help="organizations"
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setTarget('new')}>
            {t('admin.createOrg')}
          </Button>
        }
      />
      <ErrorAlert error={pages.error} onRetry={pages.reload} />
      <Card>
        <SearchBox label={t('admin.searchOrgs')} onSearch={setQ} />
        <ListTable<Organization>
          toolbar={cursorToolbar('organizations', pages)}
          empty={t('admin.noOrgs')}
          loading={pages.loading}
          dataSource={pages.items}
          columns={[
            { title: t('admin.orgName'), dataIndex: 'name' },
            { title: t('admin.uscc'), dataIndex: 'uscc', render: (v: string) => <Mono>{v}</Mono> },
            { title: t('admin.orgType'), dataIndex: 'type', render: (v: string) => t(`orgType.${v}`) },
            { title: t('admin.level'), dataIndex: 'level', render: (v: string) => t(`orgLevel.${v}`) },
            {
              title: t('admin.region'),
              dataIndex: 'regionName',
              render: (v: string | null, o) => v ?? o.regionCode ?? '—',
            },
            { title: t('admin.createdAt'), dataIndex: 'createdAt', render: fmtDateTime },
            {
              title: t('common.actions'),
              render: (_: unknown, org) => (
                <Button
                  size="small"
                  aria-label={t('admin.editOrgNamed', { name: org.name })}
                  onClick={() => setTarget(org)}
                >
                  {t('admin.editOrg')}
                </Button>
              ),
            },
          ]}
        />
        <Pager {...pages} />
      </Card>

      <FormModal<OrgForm>
        open={target !== null}
        title={editing ? t('admin.editOrgNamed', { name: editing.name }) : t('admin.createOrg')}
        okText={editing ? t('common.save') : t('admin.createOk')}
        busy={action.busy}
        form={form}
        initialValues={
          editing
            ? {
                name: editing.name,
                uscc: editing.uscc,
                type: editing.type,
                level: editing.level,
                regionCode: editing.regionCode ?? '',
              }
            : { type: 'government_department', level: 'municipal' }
        }
        onFinish={save}
        onCancel={() => setTarget(null)}
      >
        <Form.Item
          name="name"
          label={t('admin.orgName')}
          rules={[{ required: true, whitespace: true, min: 2, message: t('admin.required') }]}
        >
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item
          name="uscc"
          label={t('admin.uscc')}
          extra={t('admin.usccHint')}
          rules={[{ required: true, len: 18, message: t('admin.usccHint') }]}
        >
          <Input maxLength={18} autoComplete="off" style={{ fontFamily: 'monospace' }} />
        </Form.Item>
        <Space wrap size="large">
          <Form.Item name="type" label={t('admin.orgType')} rules={[{ required: true }]}>
            <Select
              style={{ minWidth: 180 }}
              options={ORG_TYPES.map((v) => ({ value: v, label: t(`orgType.${v}`) }))}
            />
          </Form.Item>
          <Form.Item name="level" label={t('admin.level')} rules={[{ required: true }]}>
            <Select
              style={{ minWidth: 140 }}
              options={ADMIN_LEVELS.map((v) => ({ value: v, label: t(`orgLevel.${v}`) }))}
            />
          </Form.Item>
        </Space>
        <Form.Item
          name="regionCode"
          label={t('admin.region')}
          extra={t('admin.regionHint')}
          rules={[
            { required: level !== 'national', message: t('admin.regionRequired') },
            { pattern: /^\s*[0-9]{6}([0-9]{3})?\s*$/, message: t('admin.regionInvalid') },
          ]}
        >
          <Input maxLength={8} autoComplete="off" />
        </Form.Item>
      </FormModal>
    </>
  );
}
