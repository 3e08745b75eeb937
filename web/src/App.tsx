import {
  AccountBookOutlined,
  AlertOutlined,
  ApiOutlined,
  AppstoreOutlined,
  AuditOutlined,
  BankOutlined,
  BellOutlined,
  CloudUploadOutlined,
  DashboardOutlined,
  DatabaseOutlined,
  DislikeOutlined,
  FileDoneOutlined,
  FileProtectOutlined,
  FileTextOutlined,
  FolderOpenOutlined,
  FormOutlined,
  FundOutlined,
  GlobalOutlined,
  KeyOutlined,
  LogoutOutlined,
  MenuFoldOutlined,
  MenuOutlined,
  MenuUnfoldOutlined,
  SafetyCertificateOutlined,
  SolutionOutlined,
  TeamOutlined,
  UserOutlined,
} from '@ant-design/icons';
import {
  Breadcrumb,
  Button,
  Drawer,
  Flex,
  Grid,
  Layout,
  Menu,
  Popover,
  Result,
  Segmented,
  Space,
  Spin,
  Tag,
  Typography,
} from 'antd';
import type { ReactNode } from 'react';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Notifications } from './components/Notifications.tsx';
import { useResources } from './hooks.ts';
import { setLanguage } from './i18n.ts';
import { Organizations, Users } from './pages/Admin.tsx';
import { Alerts } from './pages/Alerts.tsx';
import { ApiKeys } from './pages/ApiKeys.tsx';
import { Applications } from './pages/Applications.tsx';
import { Apply } from './pages/Apply.tsx';
import { Approvals } from './pages/Approvals.tsx';
import { Audit } from './pages/Audit.tsx';
import { CaseDetail, Cases } from './pages/Cases.tsx';
import { Catalog } from './pages/Catalog.tsx';
import { ClassificationList, ClassificationReview } from './pages/Classification.tsx';
import { ContractDetail } from './pages/ContractDetail.tsx';
import { Contracts } from './pages/Contracts.tsx';
import { ImportWizard } from './pages/ImportWizard.tsx';
import { Indicators } from './pages/Indicators.tsx';
import { Login } from './pages/Login.tsx';
import { Messages } from './pages/Messages.tsx';
import { MyPermissions } from './pages/MyPermissions.tsx';
import {
  AgreementDetail,
  BillDetail,
  Bills,
  Disclosure,
  Operation,
  PlanDetail,
  ProductDetail,
  Products,
} from './pages/Operation.tsx';
import { Overview } from './pages/Overview.tsx';
import { Rectification, RectificationDetail } from './pages/Rectification.tsx';
import { RegistrationDetail, Registry } from './pages/Registry.tsx';
import { ResourceDetail } from './pages/ResourceDetail.tsx';
import { Link, matchPath, navigate, useLocation } from './router.tsx';
import { hasRole, useSession } from './session.tsx';
import type { Me, Role } from './types.ts';

interface NavItem {
  key: string;
  path: string;
  icon: ReactNode;
  roles?: Role[];
}

const NAV: NavItem[] = [
  { key: 'overview', path: '/', icon: <DashboardOutlined /> },
  // Everyone's to-dos and news (the bell's 查看全部). At the top, so the walks down the menu below
  // stay as long.
  { key: 'messages', path: '/messages', icon: <BellOutlined /> },
  { key: 'catalog', path: '/catalog', icon: <DatabaseOutlined /> },
  // Daily work first, and above 数据导入, so the stewards' keyboard walk up the menu to it stays as
  // long: the decisions waiting for the provider's steward or the security officer, and what the
  // reader's organization and keys may read.
  {
    key: 'approvals',
    path: '/approvals',
    icon: <FormOutlined />,
    roles: ['data_steward', 'security_officer'],
  },
  { key: 'myPermissions', path: '/my-permissions', icon: <KeyOutlined /> },
  // 办件: a department's steps of "get one thing done" applications, for the staff who move them
  // (DEPARTMENT_STAFF in src/services/service.ts) and the platform, which reads them all.
  {
    key: 'cases',
    path: '/cases',
    icon: <FolderOpenOutlined />,
    roles: ['org_admin', 'data_steward', 'consumer', 'platform_admin'],
  },
  // 差评整改: bad ratings' cases, for the departments' staff who rectify them (CASE_HANDLERS in
  // src/ratings/service.ts) and the platform, which reviews appeals. Before 数据导入, so the
  // stewards' keyboard walk up the menu to it stays as long.
  {
    key: 'rectification',
    path: '/rectification',
    icon: <DislikeOutlined />,
    roles: ['org_admin', 'data_steward', 'consumer', 'platform_admin'],
  },
  { key: 'import', path: '/import', icon: <CloudUploadOutlined />, roles: ['data_steward'] },
  {
    key: 'classification',
    path: '/classification',
    icon: <SafetyCertificateOutlined />,
    roles: ['data_steward', 'security_officer', 'platform_admin'],
  },
  { key: 'applications', path: '/applications', icon: <SolutionOutlined /> },
  { key: 'contracts', path: '/contracts', icon: <FileProtectOutlined /> },
  { key: 'apiKeys', path: '/api-keys', icon: <ApiOutlined /> },
  { key: 'indicators', path: '/indicators', icon: <FundOutlined /> },
  // Anyone signed in reads the registry and may object during a notice (REGISTRY_READ); holders
  // submit, the bureau decides. Not /registry: the server's public certificate pages live there.
  { key: 'registry', path: '/registrations', icon: <FileDoneOutlined /> },
  // Authorized operation (授权运营): anyone signed in reads (OPERATION_READ), but plans and
  // agreements concern the bureau, auditors and operators' staff; products, bills and the
  // disclosure also the customers. The bureau decides, operators' stewards price and bill.
  {
    key: 'operation',
    path: '/operation',
    icon: <FileTextOutlined />,
    roles: ['platform_admin', 'auditor', 'org_admin', 'data_steward'],
  },
  { key: 'products', path: '/products', icon: <AppstoreOutlined /> },
  { key: 'bills', path: '/bills', icon: <AccountBookOutlined /> },
  // Not /disclosure: the server's public disclosure pages live at /disclosure/:year.
  { key: 'disclosure', path: '/disclosures', icon: <GlobalOutlined /> },
  {
    key: 'audit',
    path: '/audit',
    icon: <AuditOutlined />,
    roles: ['auditor', 'security_officer', 'platform_admin'],
  },
  {
    key: 'alerts',
    path: '/alerts',
    icon: <AlertOutlined />,
    roles: ['security_officer', 'platform_admin', 'auditor'],
  },
  { key: 'users', path: '/admin/users', icon: <TeamOutlined />, roles: ['platform_admin'] },
  { key: 'organizations', path: '/admin/organizations', icon: <BankOutlined />, roles: ['platform_admin'] },
];

interface Crumb {
  label: ReactNode;
  to?: string;
}

interface RouteDef {
  pattern: string;
  nav: string;
  render(params: Record<string, string>): ReactNode;
  /** Where a page below a list sits (list › object › action), shown above it as breadcrumbs. */
  crumbs?(params: Record<string, string>): Crumb[];
}

/** A resource's name once it is known (its id until then). */
function ResourceName({ id }: { id: string }) {
  return <>{useResources([id]).get(id)?.name ?? id}</>;
}

const NavLabel = ({ nav }: { nav: string }) => <>{useTranslation().t(`nav.${nav}`)}</>;
const Label = ({ k }: { k: string }) => <>{useTranslation().t(k)}</>;

const resourceCrumbs = (id: string, from: 'catalog' | 'classification', last: string): Crumb[] => [
  { label: <NavLabel nav={from} />, to: `/${from}` },
  { label: <ResourceName id={id} />, to: `/catalog/${id}` },
  { label: <Label k={last} /> },
];

const ROUTES: RouteDef[] = [
  { pattern: '/', nav: 'overview', render: () => <Overview /> },
  { pattern: '/messages', nav: 'messages', render: () => <Messages /> },
  { pattern: '/catalog', nav: 'catalog', render: () => <Catalog /> },
  {
    pattern: '/catalog/:id',
    nav: 'catalog',
    render: (p) => <ResourceDetail id={p.id!} />,
    crumbs: (p) => [
      { label: <NavLabel nav="catalog" />, to: '/catalog' },
      { label: <ResourceName id={p.id!} /> },
    ],
  },
  {
    pattern: '/catalog/:id/apply',
    nav: 'catalog',
    render: (p) => <Apply id={p.id!} />,
    crumbs: (p) => resourceCrumbs(p.id!, 'catalog', 'resource.apply'),
  },
  {
    pattern: '/catalog/:id/classification',
    nav: 'classification',
    render: (p) => <ClassificationReview id={p.id!} />,
    crumbs: (p) => resourceCrumbs(p.id!, 'classification', 'resource.classification'),
  },
  { pattern: '/classification', nav: 'classification', render: () => <ClassificationList /> },
  { pattern: '/cases', nav: 'cases', render: () => <Cases /> },
  {
    pattern: '/cases/:id',
    nav: 'cases',
    render: (p) => <CaseDetail id={p.id!} />,
    crumbs: () => [
      { label: <NavLabel nav="cases" />, to: '/cases' },
      { label: <Label k="breadcrumb.case" /> },
    ],
  },
  { pattern: '/rectification', nav: 'rectification', render: () => <Rectification /> },
  {
    pattern: '/rectification/:id',
    nav: 'rectification',
    render: (p) => <RectificationDetail id={p.id!} />,
    crumbs: () => [
      { label: <NavLabel nav="rectification" />, to: '/rectification' },
      { label: <Label k="breadcrumb.rectification" /> },
    ],
  },
  { pattern: '/import', nav: 'import', render: () => <ImportWizard /> },
  { pattern: '/applications', nav: 'applications', render: () => <Applications /> },
  { pattern: '/approvals', nav: 'approvals', render: () => <Approvals /> },
  { pattern: '/my-permissions', nav: 'myPermissions', render: () => <MyPermissions /> },
  { pattern: '/contracts', nav: 'contracts', render: () => <Contracts /> },
  {
    pattern: '/contracts/:id',
    nav: 'contracts',
    render: (p) => <ContractDetail id={p.id!} />,
    crumbs: () => [
      { label: <NavLabel nav="contracts" />, to: '/contracts' },
      { label: <Label k="breadcrumb.contract" /> },
    ],
  },
  { pattern: '/api-keys', nav: 'apiKeys', render: () => <ApiKeys /> },
  { pattern: '/indicators', nav: 'indicators', render: () => <Indicators /> },
  { pattern: '/registrations', nav: 'registry', render: () => <Registry /> },
  {
    pattern: '/registrations/:id',
    nav: 'registry',
    render: (p) => <RegistrationDetail id={p.id!} />,
    crumbs: () => [
      { label: <NavLabel nav="registry" />, to: '/registrations' },
      { label: <Label k="breadcrumb.registration" /> },
    ],
  },
  { pattern: '/operation', nav: 'operation', render: () => <Operation /> },
  {
    pattern: '/operation/plans/:id',
    nav: 'operation',
    render: (p) => <PlanDetail id={p.id!} />,
    crumbs: () => [
      { label: <NavLabel nav="operation" />, to: '/operation' },
      { label: <Label k="breadcrumb.plan" /> },
    ],
  },
  {
    pattern: '/operation/agreements/:id',
    nav: 'operation',
    render: (p) => <AgreementDetail id={p.id!} />,
    crumbs: () => [
      { label: <NavLabel nav="operation" />, to: '/operation' },
      { label: <Label k="breadcrumb.agreement" /> },
    ],
  },
  { pattern: '/products', nav: 'products', render: () => <Products /> },
  {
    pattern: '/products/:id',
    nav: 'products',
    render: (p) => <ProductDetail id={p.id!} />,
    crumbs: () => [
      { label: <NavLabel nav="products" />, to: '/products' },
      { label: <Label k="breadcrumb.product" /> },
    ],
  },
  { pattern: '/bills', nav: 'bills', render: () => <Bills /> },
  {
    pattern: '/bills/:id',
    nav: 'bills',
    render: (p) => <BillDetail id={p.id!} />,
    crumbs: () => [
      { label: <NavLabel nav="bills" />, to: '/bills' },
      { label: <Label k="breadcrumb.bill" /> },
    ],
  },
  { pattern: '/disclosures', nav: 'disclosure', render: () => <Disclosure /> },
  { pattern: '/audit', nav: 'audit', render: () => <Audit /> },
  { pattern: '/alerts', nav: 'alerts', render: () => <Alerts /> },
  { pattern: '/admin/users', nav: 'users', render: () => <Users /> },
  { pattern: '/admin/organizations', nav: 'organizations', render: () => <Organizations /> },
];

function resolve(pathname: string): { route: RouteDef; params: Record<string, string> } | null {
  for (const route of ROUTES) {
    const params = matchPath(route.pattern, pathname);
    if (params) return { route, params };
  }
  return null;
}

function visibleNav(me: Me): NavItem[] {
  return NAV.filter((item) => !item.roles || hasRole(me, ...item.roles));
}

function LanguageSwitch({ compact }: { compact?: boolean }) {
  const { t, i18n } = useTranslation();
  return (
    <Segmented
      size={compact ? 'small' : 'middle'}
      aria-label={t('header.language')}
      value={i18n.language === 'en' ? 'en' : 'zh-CN'}
      onChange={(value) => setLanguage(value as 'zh-CN' | 'en')}
      options={[
        { label: '中文', value: 'zh-CN' },
        { label: 'EN', value: 'en' },
      ]}
    />
  );
}

function UserBlock({ me }: { me: Me }) {
  const { t } = useTranslation();
  return (
    <Flex vertical gap={2} style={{ lineHeight: 1.3 }} data-testid="current-user">
      <Typography.Text strong>
        {me.user.displayName} <Typography.Text type="secondary">({me.user.username})</Typography.Text>
      </Typography.Text>
      <Space size={4} wrap>
        {me.user.roles.map((role) => (
          <Tag key={role} color="blue" style={{ marginInlineEnd: 0 }}>
            {t(`role.${role}`)}
          </Tag>
        ))}
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {me.organization.name}
        </Typography.Text>
      </Space>
    </Flex>
  );
}

function NavMenu({ me, selected, onNavigate }: { me: Me; selected: string; onNavigate?: () => void }) {
  const { t } = useTranslation();
  const items = visibleNav(me).map((item) => ({
    key: item.key,
    icon: item.icon,
    label: <Link to={item.path}>{t(`nav.${item.key}`)}</Link>,
  }));
  return (
    <Menu
      mode="inline"
      selectedKeys={[selected]}
      items={items}
      aria-label={t('nav.label')}
      style={{ borderInlineEnd: 'none' }}
      onClick={({ key }) => {
        const item = NAV.find((n) => n.key === key);
        if (item) navigate(item.path);
        onNavigate?.();
      }}
    />
  );
}

function Brand({ collapsed }: { collapsed?: boolean }) {
  const { t } = useTranslation();
  return (
    <Link
      to="/"
      aria-label={t('app.home')}
      style={{ display: 'block', padding: '16px 20px', color: 'inherit' }}
    >
      <Flex align="center" gap={10}>
        <img src="/favicon.svg" alt="" width={28} height={28} />
        {collapsed ? null : (
          <Flex vertical style={{ lineHeight: 1.1 }}>
            <Typography.Text strong style={{ fontSize: 16 }}>
              数通 Shutong
            </Typography.Text>
            <Typography.Text type="secondary" style={{ fontSize: 11 }}>
              {t('app.tagline')}
            </Typography.Text>
          </Flex>
        )}
      </Flex>
    </Link>
  );
}

export function Shell() {
  const { me, checking, expired, logout } = useSession();
  const { t, i18n } = useTranslation();
  const { pathname } = useLocation();
  const screens = Grid.useBreakpoint();
  const desktop = screens.lg ?? true;
  const [collapsed, setCollapsed] = useState(false);
  const [drawer, setDrawer] = useState(false);
  const resolved = useMemo(() => resolve(pathname), [pathname]);

  useEffect(() => {
    if (me && pathname === '/login') navigate('/', { replace: true });
  }, [me, pathname]);

  const navKey = resolved?.route.nav ?? '';
  useEffect(() => {
    const page = navKey ? t(`nav.${navKey}`) : me ? t('notFound.title') : t('login.title');
    document.title = `${page} · 数通 Shutong`;
  }, [navKey, me, t]);

  useEffect(() => {
    document.documentElement.lang = i18n.language === 'en' ? 'en' : 'zh-CN';
  }, [i18n.language]);

  if (checking) return <Spin fullscreen tip={t('common.loading')} />;
  if (!me) return <Login expired={expired} />;

  const allowed = resolved
    ? visibleNav(me).some((n) => n.key === resolved.route.nav) || resolved.route.nav === 'catalog'
    : false;
  const content = !resolved ? (
    <Result
      status="404"
      title={t('notFound.title')}
      subTitle={t('notFound.body')}
      extra={<Link to="/">{t('notFound.home')}</Link>}
    />
  ) : !allowed ? (
    <Result
      status="403"
      title={t('forbidden.title')}
      subTitle={t('forbidden.body')}
      extra={<Link to="/">{t('notFound.home')}</Link>}
    />
  ) : (
    <>
      {resolved.route.crumbs ? (
        <Breadcrumb
          aria-label={t('breadcrumb.label')}
          style={{ marginBottom: 12 }}
          items={resolved.route.crumbs(resolved.params).map((c) => ({
            title: c.to ? <Link to={c.to}>{c.label}</Link> : c.label,
          }))}
        />
      ) : null}
      {resolved.route.render(resolved.params)}
    </>
  );

  const logoutButton = (
    <Button
      icon={<LogoutOutlined />}
      aria-label={t('header.logout')}
      onClick={() => void logout().then(() => navigate('/'))}
    >
      {t('header.logout')}
    </Button>
  );

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <a className="skip-link" href="#main">
        {t('app.skip')}
      </a>
      {desktop ? (
        <Layout.Sider
          theme="light"
          width={224}
          collapsedWidth={64}
          collapsed={collapsed}
          trigger={null}
          style={{ borderInlineEnd: '1px solid #f0f0f0' }}
        >
          {/* The sider fills the page height; its contents stay in view while the page scrolls. */}
          <div style={{ position: 'sticky', top: 0, maxHeight: '100vh', overflowY: 'auto' }}>
            <Brand collapsed={collapsed} />
            <NavMenu me={me} selected={navKey} />
          </div>
        </Layout.Sider>
      ) : (
        <Drawer
          placement="left"
          open={drawer}
          onClose={() => setDrawer(false)}
          width={260}
          title={t('nav.label')}
          styles={{ body: { padding: 0 } }}
        >
          <Brand />
          <NavMenu me={me} selected={navKey} onNavigate={() => setDrawer(false)} />
        </Drawer>
      )}
      <Layout>
        <Layout.Header
          style={{
            background: '#fff',
            borderBottom: '1px solid #f0f0f0',
            padding: desktop ? '0 24px' : '0 12px',
            height: 'auto',
            minHeight: 64,
            lineHeight: 'normal',
            display: 'flex',
            alignItems: 'center',
            gap: 12,
            position: 'sticky',
            top: 0,
            zIndex: 10,
          }}
        >
          {desktop ? (
            <Button
              type="text"
              icon={collapsed ? <MenuUnfoldOutlined /> : <MenuFoldOutlined />}
              aria-label={collapsed ? t('header.expandMenu') : t('header.collapseMenu')}
              aria-expanded={!collapsed}
              onClick={() => setCollapsed((c) => !c)}
            />
          ) : (
            <>
              <Button
                type="text"
                icon={<MenuOutlined />}
                aria-label={t('header.openMenu')}
                aria-expanded={drawer}
                onClick={() => setDrawer(true)}
              />
              <Typography.Text strong>数通</Typography.Text>
            </>
          )}
          <div style={{ flex: 1 }} />
          {desktop ? (
            <Flex align="center" gap={16} style={{ padding: '8px 0' }}>
              <Notifications me={me} />
              <UserBlock me={me} />
              <LanguageSwitch />
              {logoutButton}
            </Flex>
          ) : (
            <Flex align="center" gap={8}>
              <Notifications me={me} />
              <LanguageSwitch compact />
              <Popover
                trigger="click"
                placement="bottomRight"
                content={
                  <Flex vertical gap={12}>
                    <UserBlock me={me} />
                    {logoutButton}
                  </Flex>
                }
              >
                <Button shape="circle" icon={<UserOutlined />} aria-label={t('header.account')} />
              </Popover>
            </Flex>
          )}
        </Layout.Header>
        <Layout.Content
          id="main"
          tabIndex={-1}
          style={{ padding: desktop ? 24 : 12, minWidth: 0, outline: 'none' }}
        >
          {content}
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
