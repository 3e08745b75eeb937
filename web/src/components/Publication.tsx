/**
 * Catalog review on the resource page (issue 18 item 6): where the resource stands (草稿, 待目录审核,
 * 已发布, 已撤回, with the bureau's reason), and the one next step the reader may take — the
 * provider's steward submits or withdraws, the data bureau publishes or returns. Publishing names
 * the fields still unassessed and asks the bureau to accept them as never served.
 */
import { Alert, App, Button, Checkbox, Form, Input, Space } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { useAction } from '../hooks.ts';
import { hasRole, useMe } from '../session.tsx';
import type { Resource } from '../types.ts';
import { FormModal } from './FormModal.tsx';

type Step = 'submit' | 'return' | 'publish' | 'withdraw' | 'reconfirm';

interface StepForm {
  reason?: string;
  acceptUnassessed?: boolean;
}

export function PublicationActions({ resource, onChanged }: { resource: Resource; onChanged(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const action = useAction();
  const [open, setOpen] = useState<Step | null>(null);
  const [form] = Form.useForm<StepForm>();
  const steward = hasRole(me, 'data_steward') && me.organization.id === resource.provider.id;
  const bureau = hasRole(me, 'platform_admin');
  const unassessed = resource.fields.filter((f) => f.grade === 'unassessed').map((f) => f.label);

  const send = (step: Step, body: StepForm) =>
    action.run(async () => {
      await api.post(`/v1/resources/${encodeURIComponent(resource.id)}/${step}`, body);
      setOpen(null);
      message.success(t(`publication.done.${step}`));
      onChanged();
    });

  const steps: Step[] = [];
  if (steward && (resource.state === 'draft' || resource.state === 'withdrawn')) steps.push('submit');
  if (bureau && resource.state === 'in_review') steps.push('publish', 'return');
  if (bureau && resource.state === 'published' && resource.reviewDue) steps.push('reconfirm');
  if ((steward || bureau) && resource.state === 'published') steps.push('withdraw');
  if (steps.length === 0) return null;

  const accepting = (step: Step) => step === 'publish' || step === 'reconfirm';
  const needsDialog = (step: Step) => step !== 'submit' && !(accepting(step) && unassessed.length === 0);
  return (
    <>
      {steps.map((step) => (
        <Button
          key={step}
          type={step === 'submit' || accepting(step) ? 'primary' : 'default'}
          danger={step === 'withdraw'}
          loading={action.busy && open === null}
          onClick={() => (needsDialog(step) ? setOpen(step) : void send(step, {}))}
        >
          {t(`publication.action.${step}`)}
        </Button>
      ))}
      <FormModal<StepForm>
        open={open !== null}
        title={open ? t(`publication.action.${open}`) : ''}
        okText={open ? t(`publication.action.${open}`) : ''}
        danger={open === 'withdraw' || open === 'return'}
        busy={action.busy}
        form={form}
        onCancel={() => setOpen(null)}
        onFinish={(v) => open && void send(open, v)}
      >
        {open && accepting(open) ? (
          <>
            <Alert
              type="warning"
              showIcon
              style={{ marginBottom: 12 }}
              message={t('publication.unassessed', { fields: unassessed.join('、') })}
            />
            <Form.Item
              name="acceptUnassessed"
              valuePropName="checked"
              rules={[
                {
                  validator: (_, v) =>
                    v ? Promise.resolve() : Promise.reject(new Error(t('publication.acceptRequired'))),
                },
              ]}
            >
              <Checkbox>{t('publication.accept')}</Checkbox>
            </Form.Item>
          </>
        ) : (
          <Form.Item
            name="reason"
            label={t('publication.reason')}
            rules={[{ required: true, min: 2, whitespace: true, message: t('publication.reasonRequired') }]}
          >
            <Input.TextArea rows={3} maxLength={500} />
          </Form.Item>
        )}
      </FormModal>
    </>
  );
}

/**
 * Above the page of a resource that other organizations cannot see or apply for yet (or any more),
 * or that is due a new review because its grades changed since the bureau published it.
 */
export function PublicationNotice({ resource }: { resource: Resource }) {
  const { t } = useTranslation();
  if (resource.state === 'published' && resource.reviewDue) {
    return (
      <Alert
        type="warning"
        showIcon
        style={{ marginBottom: 16 }}
        data-testid="review-due"
        message={t('publication.notice.reviewDue', { since: resource.reviewDue.since.slice(0, 10) })}
      />
    );
  }
  if (resource.state === 'published') return null;
  return (
    <Alert
      type={resource.state === 'withdrawn' ? 'warning' : 'info'}
      showIcon
      style={{ marginBottom: 16 }}
      message={t(`publication.notice.${resource.state}`)}
      description={
        resource.stateReason ? (
          <Space>
            <span>{t('publication.reason')}：</span>
            <span data-testid="publication-reason">{resource.stateReason}</span>
          </Space>
        ) : undefined
      }
    />
  );
}
