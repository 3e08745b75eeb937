/** 办事服务: the published "get one thing done" bundles, with a search box. */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { LoadError, Loading, PageHeading } from '../components.tsx';
import { useLoad, usePageTitle } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Bundle, Page } from '../types.ts';

export function BundlesPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('bundles.title'));
  const [query, setQuery] = useState('');
  const list = useLoad('bundles', (signal) =>
    api.get<Page<Bundle>>('/v1/services/bundles?limit=200', signal),
  );
  const en = i18n.language === 'en';
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const published = (list.data?.items ?? []).filter((b) => b.state === 'published');
    if (!q) return published;
    return published.filter((b) =>
      [b.name, b.nameEn, b.code, ...b.steps.map((s) => s.name)].some((text) =>
        text.toLowerCase().includes(q),
      ),
    );
  }, [list.data, query]);

  return (
    <>
      <PageHeading>{t('bundles.title')}</PageHeading>
      <p className="lead">{t('bundles.intro')}</p>
      <search className="search">
        <label htmlFor="bundle-search">{t('bundles.search')}</label>
        <input
          id="bundle-search"
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder={t('bundles.searchPlaceholder')}
          aria-controls="bundle-results"
        />
      </search>
      {list.loading && !list.data && <Loading />}
      {list.error && <LoadError message={list.error} retry={list.reload} />}
      {list.data && (
        <section id="bundle-results" aria-labelledby="bundle-results-title">
          <h2 id="bundle-results-title" className="visually-hidden">
            {t('bundles.results')}
          </h2>
          <p role="status" className="muted">
            {t('bundles.count', { count: shown.length })}
          </p>
          <ul className="plain-list cards">
            {shown.map((b) => (
              <li key={b.id} className="card bundle-card">
                <h3>
                  <Link to={`/bundles/${encodeURIComponent(b.code)}`}>{en ? b.nameEn : b.name}</Link>
                </h3>
                <p className="tags">
                  <span className="badge">
                    {t(`eventKind.${b.eventKind === 'business' ? 'business' : 'life'}`)}
                  </span>
                  <span className="badge badge-info">
                    {t('bundles.promised', { days: b.promisedWorkingDays })}
                  </span>
                </p>
                <p>
                  {t('bundles.summary', {
                    steps: b.savings.steps,
                    departments: b.savings.departments,
                  })}
                </p>
                {b.savings.materialsExempted > 0 && (
                  <p className="saving">
                    {t('bundles.saves', {
                      notAsked: b.savings.fieldsNotAsked,
                      exempted: b.savings.materialsExempted,
                    })}
                  </p>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
