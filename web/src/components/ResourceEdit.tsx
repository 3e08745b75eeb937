/**
 * The steward's metadata edit (name, summary, theme, keywords, update cycle) through
 * PATCH /v1/resources/:id with the revision read: a change made meanwhile answers 409 and the
 * dialog says to reload rather than overwrite it.
 */
import { EditOutlined } from '@ant-design/icons';
import { App, Button, Form, Input, Select } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api } from '../api.ts';
import { bilingual } from '../format.ts';
import { useAction } from '../hooks.ts';
import { useThemes } from '../pages/Catalog.tsx';
import { type Resource, UPDATE_CYCLES } from '../types.ts';
import { FormModal } from './FormModal.tsx';

interface MetadataForm {
  name: string;
  summary: string;
  theme: string;
  keywords: string[];
  updateCycle: Resource['updateCycle'];
}

export function ResourceEdit({ resource, onSaved }: { resource: Resource; onSaved(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const themes = useThemes();
  const [open, setOpen] = useState(false);
  const [form] = Form.useForm<MetadataForm>();
  const action = useAction();

  const save = (v: MetadataForm) =>
    action.run(async () => {
      try {
        await api.patch(`/v1/resources/${encodeURIComponent(resource.id)}`, {
          revision: resource.revision,
          name: v.name.trim(),
          summary: v.summary.trim(),
          theme: v.theme,
          keywords: v.keywords.map((k) => k.trim()).filter(Boolean),
          updateCycle: v.updateCycle,
        });
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          message.error(t('resource.edit.conflict'));
          setOpen(false);
          onSaved();
          return;
        }
        throw error;
      }
      setOpen(false);
      message.success(t('resource.edit.saved'));
      onSaved();
    });

  return (
    <>
      <Button icon={<EditOutlined />} onClick={() => setOpen(true)}>
        {t('resource.edit.open')}
      </Button>
      <FormModal
        open={open}
        title={t('resource.edit.title')}
        okText={t('common.save')}
        busy={action.busy}
        onCancel={() => setOpen(false)}
        form={form}
        onFinish={save}
        initialValues={{
          name: resource.name,
          summary: resource.summary,
          theme: resource.theme,
          keywords: resource.keywords,
          updateCycle: resource.updateCycle,
        }}
      >
        <Form.Item
          name="name"
          label={t('resource.edit.name')}
          rules={[{ required: true, whitespace: true, min: 2, message: t('resource.edit.nameRule') }]}
        >
          <Input maxLength={200} />
        </Form.Item>
        <Form.Item name="summary" label={t('resource.edit.summary')}>
          <Input.TextArea maxLength={4000} autoSize={{ minRows: 2, maxRows: 6 }} />
        </Form.Item>
        <Form.Item name="theme" label={t('resource.edit.theme')} rules={[{ required: true }]}>
          <Select
            options={themes.map((th) => ({ value: th.id, label: bilingual({ zh: th.zh, en: th.en }) }))}
          />
        </Form.Item>
        <Form.Item name="keywords" label={t('resource.edit.keywords')}>
          <Select mode="tags" tokenSeparators={[',', '，']} maxCount={30} />
        </Form.Item>
        <Form.Item name="updateCycle" label={t('resource.edit.updateCycle')} rules={[{ required: true }]}>
          <Select options={UPDATE_CYCLES.map((c) => ({ value: c, label: t(`cycle.${c}`) }))} />
        </Form.Item>
      </FormModal>
    </>
  );
}
