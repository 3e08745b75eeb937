/** 办件消息: what the departments did on one's applications, and consents given or ended. */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, errorText } from '../api.ts';
import { Announce, beijingTime, LoadError, Loading, PageHeading } from '../components.tsx';
import { useLoad, usePageTitle } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Notifications } from '../types.ts';

export function MessagesPage({ onRead }: { onRead(): void }) {
  const { t, i18n } = useTranslation();
  usePageTitle(t('messages.title'));
  const list = useLoad('notifications', (signal) =>
    api.get<Notifications>('/v1/citizen/notifications?limit=100', signal),
  );
  const [failure, setFailure] = useState<string | null>(null);
  const markAll = async () => {
    setFailure(null);
    try {
      await api.post('/v1/citizen/notifications/read', {});
      list.reload();
      onRead();
    } catch (error) {
      setFailure(errorText(error));
    }
  };
  const english = i18n.language.startsWith('en');
  const items = list.data?.items ?? [];
  return (
    <>
      <PageHeading>{t('messages.title')}</PageHeading>
      {failure && <Announce kind="error">{failure}</Announce>}
      {list.loading && !list.data && <Loading />}
      {list.error && <LoadError message={list.error} retry={list.reload} />}
      {list.data && (
        <p className="muted" aria-live="polite">
          {t('messages.unread', { count: list.data.unread })}
        </p>
      )}
      {list.data && list.data.unread > 0 && (
        <button type="button" className="button" onClick={() => void markAll()}>
          {t('messages.markAll')}
        </button>
      )}
      {list.data && items.length === 0 && <p>{t('messages.none')}</p>}
      <ul className="plain-list cards" data-testid="messages">
        {items.map((n) => (
          <li key={n.id} className={`card${n.read ? '' : ' card-unread'}`}>
            <p className="tags">
              {!n.read && <span className="badge badge-returned">{t('messages.new')}</span>}
              <span className="muted">{beijingTime(n.createdAt)}</span>
            </p>
            <p>{english ? n.message.en : n.message.zh}</p>
            {n.applicationId && (
              <p>
                <Link to={`/applications/${encodeURIComponent(n.applicationId)}`}>{t('messages.open')}</Link>
              </p>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
