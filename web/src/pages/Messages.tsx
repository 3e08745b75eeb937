import { CheckOutlined } from '@ant-design/icons';
import { App, Button, Card, Checkbox, Col, Form, Row, Select, Tag, Typography } from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { ErrorAlert, ListTable, Pager, PageTitle } from '../components/common.tsx';
import { markMessagesRead, useMessagesChanged, useMessageText } from '../components/Notifications.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { fmtDateTime } from '../format.ts';
import { useAction, useCursorPages } from '../hooks.ts';
import { Link } from '../router.tsx';
import { MESSAGE_KINDS, type Message, type MessageKind, type MessagePage } from '../types.ts';

/**
 * 消息中心: every current to-do and piece of news of the signed-in user (GET /v1/messages), by
 * kind and read or not. Opening one goes to its page and marks it read; the read marks live on the
 * server, so they hold in any browser.
 */
export function Messages() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const text = useMessageText();
  const [kind, setKind] = useState<MessageKind | undefined>();
  const [unreadOnly, setUnreadOnly] = useState(false);
  const [unread, setUnread] = useState(0);
  const fetchPage = useCallback(
    async (cursor: string | undefined, signal: AbortSignal) => {
      const page = await api.get<MessagePage>(
        '/v1/messages',
        { kind, unread: unreadOnly || undefined, limit: 20, cursor },
        signal,
      );
      setUnread(page.unreadCount);
      return page;
    },
    [kind, unreadOnly],
  );
  const pages = useCursorPages<Message>(fetchPage);
  useMessagesChanged(pages.reload);
  const marking = useAction();
  const markAll = () =>
    marking.run(async () => {
      await markMessagesRead();
      message.success(t('messages.markedRead'));
    });
  const kindLabel = (k: MessageKind) => t(`messages.kinds.${k}`);

  return (
    <>
      <PageTitle
        title={t('nav.messages')}
        sub={t('messages.sub')}
        help="messages"
        extra={
          <Button
            icon={<CheckOutlined />}
            loading={marking.busy}
            disabled={unread === 0}
            onClick={() => void markAll()}
          >
            {t('messages.markAllRead')}
          </Button>
        }
      />
      <Card>
        <Row gutter={12} align="bottom">
          <Col xs={24} md={8}>
            <Form.Item label={t('messages.kind')} htmlFor="message-kind" layout="vertical">
              <Select
                id="message-kind"
                allowClear
                placeholder={t('common.all')}
                value={kind}
                onChange={setKind}
                options={MESSAGE_KINDS.map((k) => ({ value: k, label: kindLabel(k) }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item>
              <Checkbox checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)}>
                {t('messages.unreadOnly')}
              </Checkbox>
            </Form.Item>
          </Col>
        </Row>
        <ErrorAlert error={pages.error} onRetry={pages.reload} />
        <ListTable<Message>
          rowKey="key"
          toolbar={cursorToolbar('messages', pages)}
          empty={t('messages.none')}
          loading={pages.loading}
          dataSource={pages.items}
          columns={[
            {
              title: t('messages.message'),
              key: 'message',
              render: (_: unknown, m) => (
                <Link
                  to={m.to}
                  data-testid="message-link"
                  onClick={() => {
                    if (!m.read) void markMessagesRead([m.key]).catch(() => undefined);
                  }}
                  style={{ fontWeight: m.read ? 'normal' : 600, whiteSpace: 'normal' }}
                >
                  {text(m)}
                </Link>
              ),
              exportValue: text,
            },
            {
              title: t('messages.kind'),
              key: 'kind',
              render: (_: unknown, m) => (
                <Tag color={m.todo ? 'blue' : 'default'}>
                  {`${m.todo ? t('messages.todo') : t('messages.update')} · ${kindLabel(m.kind)}`}
                </Tag>
              ),
              exportValue: (m) => kindLabel(m.kind),
            },
            {
              title: t('messages.at'),
              key: 'at',
              render: (_: unknown, m) => (m.at ? fmtDateTime(m.at) : '—'),
              exportValue: (m) => (m.at ? fmtDateTime(m.at) : ''),
            },
            {
              title: t('messages.state'),
              key: 'state',
              render: (_: unknown, m) =>
                m.read ? (
                  <Typography.Text type="secondary">{t('messages.read')}</Typography.Text>
                ) : (
                  <Tag color="red">{t('messages.unread')}</Tag>
                ),
              exportValue: (m) => (m.read ? t('messages.read') : t('messages.unread')),
            },
          ]}
        />
        <Pager {...pages} />
      </Card>
    </>
  );
}
