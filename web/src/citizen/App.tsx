/**
 * The citizen site's frame: a skip link, the header (site name, language, account), the main
 * navigation, the page in <main>, and a footer. One column, mobile first.
 */
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from './api.ts';
import { Loading } from './components.tsx';
import { useLoad } from './hooks.ts';
import { type Lang, setLanguage } from './i18n.ts';
import { ApplicationPage } from './pages/Application.tsx';
import { ApplicationsPage } from './pages/Applications.tsx';
import { BundlePage } from './pages/Bundle.tsx';
import { BundlesPage } from './pages/Bundles.tsx';
import { FamilyPage } from './pages/Family.tsx';
import { LoginPage } from './pages/Login.tsx';
import { MessagesPage } from './pages/Messages.tsx';
import { StatsPage } from './pages/Stats.tsx';
import { Link, matchPath, navigate, useLocation } from './router.tsx';
import { useSession } from './session.tsx';
import type { Notifications } from './types.ts';

function LanguageSwitch() {
  const { i18n } = useTranslation();
  const other: Lang = i18n.language === 'en' ? 'zh-CN' : 'en';
  return (
    <button
      type="button"
      className="button-link lang-switch"
      lang={other === 'en' ? 'en' : 'zh-CN'}
      onClick={() => setLanguage(other)}
    >
      {other === 'en' ? 'English' : '中文'}
    </button>
  );
}

function Header() {
  const { t } = useTranslation();
  const { me, logout } = useSession();
  return (
    <header className="site-header">
      <div className="site-header-inner">
        <Link to="/" className="brand">
          <span aria-hidden="true" className="brand-mark">
            数
          </span>
          {t('app.name')}
        </Link>
        <div className="header-tools">
          <LanguageSwitch />
          {me && (
            <button
              type="button"
              className="button-link"
              onClick={() => {
                void logout().then(() => navigate('/login'));
              }}
            >
              {t('nav.logout')}
            </button>
          )}
        </div>
      </div>
      {me && (
        <p className="account">
          {t('account.signedInAs', {
            name: me.kind === 'organization' ? (me.organization?.name ?? me.name) : me.name,
          })}
          <span className="muted">
            {' '}
            · {me.kind === 'organization' ? t('account.organization') : t('account.citizen')}
          </span>
        </p>
      )}
    </header>
  );
}

function Navigation({ path, unread }: { path: string; unread: number }) {
  const { t } = useTranslation();
  const { me } = useSession();
  const items = [
    ...(me
      ? [
          { to: '/', label: t('nav.bundles'), active: path === '/' || path.startsWith('/bundles') },
          { to: '/applications', label: t('nav.applications'), active: path.startsWith('/applications') },
          {
            to: '/messages',
            label: unread > 0 ? t('nav.messagesUnread', { count: unread }) : t('nav.messages'),
            active: path === '/messages',
          },
        ]
      : [{ to: '/login', label: t('nav.login'), active: path === '/login' }]),
    ...(me?.kind === 'citizen'
      ? [{ to: '/family', label: t('nav.family'), active: path.startsWith('/family') }]
      : []),
    { to: '/stats', label: t('nav.stats'), active: path === '/stats' },
  ];
  return (
    <nav className="site-nav" aria-label={t('nav.label')}>
      <ul>
        {items.map((item) => (
          <li key={item.to}>
            <Link to={item.to} aria-current={item.active ? 'page' : undefined}>
              {item.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Pages open to everyone; the rest need a signed-in person and send others to the login first. */
const PUBLIC = ['/login', '/stats'];

function Page({ path, onRead }: { path: string; onRead(): void }) {
  const { me } = useSession();
  if (path === '/login') return <LoginPage />;
  if (path === '/stats') return <StatsPage />;
  if (!me) return null;
  if (path === '/') return <BundlesPage />;
  if (path === '/applications') return <ApplicationsPage />;
  if (path === '/family') return <FamilyPage />;
  if (path === '/messages') return <MessagesPage onRead={onRead} />;
  const bundle = matchPath('/bundles/:code', path);
  if (bundle) return <BundlePage code={bundle.code!} />;
  const application = matchPath('/applications/:id', path);
  if (application) return <ApplicationPage id={application.id!} />;
  return <NotFound />;
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <>
      <h1 className="page-title">{t('notFound.title')}</h1>
      <p>
        <Link to="/">{t('notFound.home')}</Link>
      </p>
    </>
  );
}

export function Site() {
  const { t, i18n } = useTranslation();
  const { me, checking } = useSession();
  const { path, search } = useLocation();
  const needsLogin = !checking && !me && !PUBLIC.includes(path);
  // The unread count in the navigation, fresh on every page the person opens.
  const unread = useLoad(me ? `unread ${me.name} ${path}` : null, (signal) =>
    api.get<Notifications>('/v1/citizen/notifications?unread=true&limit=1', signal),
  );

  useEffect(() => {
    document.documentElement.lang = i18n.language === 'en' ? 'en' : 'zh-CN';
  }, [i18n.language]);
  useEffect(() => {
    if (needsLogin)
      navigate(`/login?next=${encodeURIComponent(path + (search.size ? `?${search}` : ''))}`, {
        replace: true,
      });
  }, [needsLogin, path, search]);

  return (
    <>
      <a className="skip-link" href="#main">
        {t('app.skip')}
      </a>
      <Header />
      <Navigation path={path} unread={me ? (unread.data?.unread ?? 0) : 0} />
      <main id="main" tabIndex={-1} className="site-main">
        {checking ? <Loading /> : <Page path={path} onRead={unread.reload} />}
      </main>
      <footer className="site-footer">
        <p>{t('app.footer')}</p>
      </footer>
    </>
  );
}
