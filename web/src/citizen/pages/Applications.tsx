/** 我的申请: the person's applications, newest first, each with its state and promised date. */
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { LoadError, Loading, PageHeading } from '../components.tsx';
import { useLoad, usePageTitle } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Application, Page } from '../types.ts';

export function ApplicationsPage() {
  const { t } = useTranslation();
  usePageTitle(t('applications.title'));
  const list = useLoad('applications', (signal) =>
    api.get<Page<Application>>('/v1/services/applications?limit=100', signal),
  );
  const items = list.data?.items ?? [];
  return (
    <>
      <PageHeading>{t('applications.title')}</PageHeading>
      {list.loading && !list.data && <Loading />}
      {list.error && <LoadError message={list.error} retry={list.reload} />}
      {list.data && items.length === 0 && (
        <p>
          {t('applications.none')} <Link to="/">{t('applications.browse')}</Link>
        </p>
      )}
      <ul className="plain-list cards">
        {items.map((a) => {
          const done = a.steps.filter((s) => s.state === 'done').length;
          const returned = a.steps.some((s) => s.state === 'returned');
          return (
            <li key={a.id} className="card">
              <h2 className="card-title">
                <Link to={`/applications/${encodeURIComponent(a.id)}`}>
                  {t('applications.open', { name: a.bundle.name, date: a.submittedOn })}
                </Link>
              </h2>
              <p className="tags">
                <span className={`badge badge-app-${a.state}`}>{t(`applicationState.${a.state}`)}</span>
                {returned && <span className="badge badge-returned">{t('applications.needsYou')}</span>}
                {a.overdue && <span className="badge badge-overdue">{t('common.overdue')}</span>}
              </p>
              <p className="muted">
                {t('applications.progress', { done, total: a.steps.length })} ·{' '}
                {t('applications.due', { date: a.dueOn })}
              </p>
            </li>
          );
        })}
      </ul>
    </>
  );
}
