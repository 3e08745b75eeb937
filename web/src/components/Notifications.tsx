import { BellOutlined } from '@ant-design/icons';
import { Badge, Button, Empty, Flex, List, Popover, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { fmtDate, fmtDateTime } from '../format.ts';
import { useLoader } from '../hooks.ts';
import { Link, useLocation } from '../router.tsx';
import type { Me, Message, MessageKind, MessagePage, ReadResult } from '../types.ts';

const POLL_MS = 60_000;
/** Said on the window when read marks changed here, so the bell and the message centre load again. */
const MESSAGES_CHANGED = 'shutong:messages-changed';

/** Runs `reload` whenever read marks changed elsewhere in the console. */
export function useMessagesChanged(reload: () => void): void {
  useEffect(() => {
    window.addEventListener(MESSAGES_CHANGED, reload);
    return () => window.removeEventListener(MESSAGES_CHANGED, reload);
  }, [reload]);
}

/** Marks messages read on the server (all current ones without keys), then tells the console. */
export async function markMessagesRead(keys?: string[]): Promise<ReadResult> {
  const result = await api.post<ReadResult>('/v1/messages/read', keys ? { keys } : {});
  window.dispatchEvent(new Event(MESSAGES_CHANGED));
  return result;
}

const TEXT: Record<MessageKind, string> = {
  application_decide: 'notify.decide',
  application_security_review: 'notify.securityReview',
  application_approved: 'notify.approved',
  application_rejected: 'notify.rejected',
  report_due: 'notify.report',
  report_overdue: 'notify.reportOverdue',
  catalog_review: 'notify.catalogReview',
  catalog_regraded: 'notify.catalogRegraded',
  alerts_open: 'notify.alerts',
  contract_expiring: 'notify.contractExpiring',
};

/** A message in the console's language, from its kind and the names the server gave. */
export function useMessageText(): (m: Message) => string {
  const { t, i18n } = useTranslation();
  return (m) => {
    const p = m.params;
    return t(TEXT[m.kind], {
      ...p,
      ...(m.kind === 'report_due' || m.kind === 'report_overdue'
        ? { form: i18n.language === 'en' ? p.formEn : p.form }
        : {}),
      ...(m.kind === 'contract_expiring' ? { date: fmtDate(String(p.date)) } : {}),
    });
  };
}

/**
 * The header's bell: what waits for this user and the news they have not read, from the message
 * centre (GET /v1/messages) — loaded again on every page change, each minute and when read marks
 * change. To-dos stay until they are done; news leaves once read. 查看全部 opens the centre.
 */
export function Notifications({ me }: { me: Me }) {
  const { t } = useTranslation();
  const { pathname } = useLocation();
  const text = useMessageText();
  // biome-ignore lint/correctness/useExhaustiveDependencies: one user's messages, loaded again for another user
  const load = useCallback(
    (signal: AbortSignal) => api.get<MessagePage>('/v1/messages', { limit: 50 }, signal),
    [me.user.id],
  );
  const { data, reload } = useLoader(load);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a page change is when things may have moved
  useEffect(() => reload(), [pathname, reload]);
  useEffect(() => {
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [reload]);
  useMessagesChanged(reload);
  const [open, setOpen] = useState(false);
  const [marking, setMarking] = useState(false);

  const items = data?.items ?? [];
  const todos = items.filter((m) => m.todo);
  const updates = items.filter((m) => !m.todo && !m.read);
  const count = data?.unreadCount ?? 0;
  const markAll = async () => {
    setMarking(true);
    try {
      await markMessagesRead();
    } finally {
      setMarking(false);
    }
  };
  const section = (title: string, notes: Message[]) =>
    notes.length === 0 ? null : (
      <List
        size="small"
        header={<Typography.Text strong>{title}</Typography.Text>}
        dataSource={notes}
        renderItem={(n) => (
          <List.Item key={n.key}>
            <Flex vertical>
              <Link
                to={n.to}
                onClick={() => {
                  setOpen(false);
                  if (!n.read) void markMessagesRead([n.key]).catch(() => undefined);
                }}
              >
                {n.read ? <Typography.Text type="secondary">{text(n)}</Typography.Text> : text(n)}
              </Link>
              {n.at ? <Typography.Text type="secondary">{fmtDateTime(n.at)}</Typography.Text> : null}
            </Flex>
          </List.Item>
        )}
      />
    );
  return (
    <Popover
      trigger="click"
      placement="bottomRight"
      // On a phone the bell is not at the screen's right edge: slide the popover back inside.
      align={{ overflow: { adjustX: true, adjustY: true, shiftX: true } }}
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (next) reload();
      }}
      title={t('notify.title')}
      content={
        <div
          style={{ width: 'min(340px, 80vw)', maxHeight: 420, overflowY: 'auto' }}
          data-testid="notifications"
        >
          {todos.length + updates.length === 0 ? (
            <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('notify.none')} />
          ) : null}
          {section(t('notify.todo'), todos)}
          {section(t('notify.updates'), updates)}
          <Flex justify="space-between" align="center" wrap gap={8}>
            {count > 0 ? (
              <Button size="small" type="link" loading={marking} onClick={() => void markAll()}>
                {t('notify.markRead')}
              </Button>
            ) : (
              <span />
            )}
            <Link to="/messages" onClick={() => setOpen(false)} data-testid="notifications-all">
              {t('notify.viewAll')}
            </Link>
          </Flex>
        </div>
      }
    >
      <Badge count={count} size="small" offset={[-4, 4]}>
        <Button
          type="text"
          shape="circle"
          icon={<BellOutlined />}
          aria-label={t('notify.button', { count })}
          data-testid="notifications-button"
        />
      </Badge>
    </Popover>
  );
}
