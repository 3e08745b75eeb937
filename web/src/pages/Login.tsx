import { LockOutlined, UserOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Flex, Form, Input, Segmented, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { errorText } from '../api.ts';
import { setLanguage } from '../i18n.ts';
import { useSession } from '../session.tsx';

export function Login({ expired }: { expired: boolean }) {
  const { t, i18n } = useTranslation();
  const { login } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (values: { username: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      await login(values.username.trim(), values.password);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main
      style={{
        minHeight: '100vh',
        display: 'flex',
        alignItems: 'center',
        justifyContent: 'center',
        padding: 16,
        background: 'linear-gradient(160deg, #e6f0ff 0%, #f5f7fa 60%)',
      }}
    >
      <Card style={{ width: '100%', maxWidth: 420 }} styles={{ body: { padding: 32 } }}>
        <Flex justify="space-between" align="center" style={{ marginBottom: 24 }}>
          <Flex align="center" gap={10}>
            <img src="/favicon.svg" alt="" width={36} height={36} />
            <div>
              <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>
                数通 Shutong
              </Typography.Title>
              <Typography.Text type="secondary">{t('app.tagline')}</Typography.Text>
            </div>
          </Flex>
          <Segmented
            size="small"
            aria-label={t('header.language')}
            value={i18n.language === 'en' ? 'en' : 'zh-CN'}
            onChange={(value) => setLanguage(value as 'zh-CN' | 'en')}
            options={[
              { label: '中文', value: 'zh-CN' },
              { label: 'EN', value: 'en' },
            ]}
          />
        </Flex>
        <Typography.Title level={2} style={{ fontSize: 18, marginTop: 0 }}>
          {t('login.title')}
        </Typography.Title>
        {expired ? (
          <Alert type="warning" showIcon message={t('login.expired')} style={{ marginBottom: 16 }} />
        ) : null}
        {error ? (
          <Alert type="error" showIcon role="alert" message={errorText(error)} style={{ marginBottom: 16 }} />
        ) : null}
        <Form layout="vertical" onFinish={submit} requiredMark={false} disabled={busy}>
          <Form.Item
            label={t('login.username')}
            name="username"
            rules={[{ required: true, message: t('login.usernameRequired') }]}
          >
            <Input prefix={<UserOutlined />} autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item
            label={t('login.password')}
            name="password"
            rules={[{ required: true, message: t('login.passwordRequired') }]}
          >
            <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy}>
            {t('login.submit')}
          </Button>
        </Form>
        <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0, fontSize: 12 }}>
          {t('login.demoHint')}
        </Typography.Paragraph>
      </Card>
    </main>
  );
}
