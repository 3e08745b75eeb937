/** 服务满意度: the public 好差评 statistics (GET /v1/ratings/stats) as a table by department. */
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { LoadError, Loading, PageHeading } from '../components.tsx';
import { useLoad, usePageTitle } from '../hooks.ts';
import type { Stats } from '../types.ts';

const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 10) / 10}%`);

export function StatsPage() {
  const { t } = useTranslation();
  usePageTitle(t('stats.title'));
  const stats = useLoad('stats', (signal) => api.get<Stats>('/v1/ratings/stats', signal));
  const data = stats.data;
  return (
    <>
      <PageHeading>{t('stats.title')}</PageHeading>
      <p className="lead">{t('stats.intro')}</p>
      {stats.loading && !data && <Loading />}
      {stats.error && <LoadError message={stats.error} retry={stats.reload} />}
      {data && (
        <>
          <dl className="facts card">
            <div>
              <dt>{t('stats.ratings')}</dt>
              <dd>{data.total.ratings}</dd>
            </div>
            <div>
              <dt>{t('stats.satisfaction')}</dt>
              <dd>{percent(data.total.satisfactionPercent)}</dd>
            </div>
            <div>
              <dt>{t('stats.bad')}</dt>
              <dd>{data.total.bad}</dd>
            </div>
            <div>
              <dt>{t('stats.rectification')}</dt>
              <dd>{percent(data.total.rectificationPercent)}</dd>
            </div>
          </dl>
          {data.departments.length === 0 ? (
            <p className="muted">{t('stats.none')}</p>
          ) : (
            <div className="table-wrap">
              <table>
                <caption id="stats-caption">{t('stats.caption')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('stats.department')}</th>
                    <th scope="col">{t('stats.ratings')}</th>
                    <th scope="col">{t('stats.satisfaction')}</th>
                    <th scope="col">{t('stats.bad')}</th>
                    <th scope="col">{t('stats.rectification')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.departments.map((d) => (
                    <tr key={d.orgId}>
                      <th scope="row">{d.orgName || d.orgId}</th>
                      <td>{d.ratings}</td>
                      <td>{percent(d.satisfactionPercent)}</td>
                      <td>{d.bad}</td>
                      <td>{percent(d.rectificationPercent)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </>
  );
}
