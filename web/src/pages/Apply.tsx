import {
  Alert,
  App,
  Button,
  Card,
  Checkbox,
  Col,
  Flex,
  Form,
  Input,
  Row,
  Select,
  Space,
  Typography,
} from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, errorText } from '../api.ts';
import { ErrorAlert, GradeTag, LinkButton, NotLoaded, PageTitle } from '../components/common.tsx';
import { LetterPicker, uploadLetter } from '../components/RequestLetter.tsx';
import { endOfShanghaiDay, shanghaiDate, startOfShanghaiDay } from '../format.ts';
import { useAction, useDetail } from '../hooks.ts';
import { navigate } from '../router.tsx';
import { useMe } from '../session.tsx';
import type { Application, Operation, Resource } from '../types.ts';
import { PURPOSE_CATEGORIES } from '../types.ts';
import { canApply } from './ResourceDetail.tsx';

interface ApplyForm {
  fields: string[];
  purposeCategory: string;
  purpose: string;
  legalBasis: string;
  scenario: string;
  from: string;
  to: string;
  operations: Operation[];
}

/**
 * Laws and policy documents departments most often cite for sharing public data (one click adds
 * one to the basis; an article or clause can then be typed after it).
 */
const COMMON_LEGAL_BASES = [
  '《中华人民共和国数据安全法》',
  '《中华人民共和国个人信息保护法》第十三条（履行法定职责所必需）',
  '《政务信息资源共享管理暂行办法》（国发〔2016〕51号）',
  '《国务院关于加强数字政府建设的指导意见》（国发〔2022〕14号）',
  '《全国一体化政务大数据体系建设指南》（国办函〔2022〕102号）',
  '《社会救助暂行办法》',
  '《优化营商环境条例》',
];

export function Apply({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const loaded = useDetail<Resource>(`/v1/resources/${encodeURIComponent(id)}`);
  const resource = loaded.data;
  const [form] = Form.useForm<ApplyForm>();
  const chosen = Form.useWatch('fields', form) as string[] | undefined;
  const action = useAction<'submit' | 'draft'>();
  const [failure, setFailure] = useState<unknown>(null);
  const [letter, setLetter] = useState<File | null>(null);

  if (!resource) return <NotLoaded loaded={loaded} rows={10} />;

  if (!canApply(me, resource)) {
    return (
      <>
        <PageTitle title={`${t('apply.title')} · ${resource.name}`} help="apply" />
        <Alert
          type="warning"
          showIcon
          message={resource.sharingType === 'not_shared' ? t('apply.notShared') : t('apply.consumersOnly')}
          description={resource.sharingType === 'not_shared' ? resource.sharingConditions : undefined}
          action={<LinkButton to={`/catalog/${resource.id}`}>{t('apply.backToResource')}</LinkButton>}
        />
      </>
    );
  }

  const send = async (submit: boolean) => {
    let values: ApplyForm;
    try {
      values = await form.validateFields();
    } catch {
      return;
    }
    setFailure(null);
    await action.run(
      async () => {
        try {
          const created = await api.post<Application>('/v1/applications', {
            resource: resource.id,
            fields: values.fields,
            purposeCategory: values.purposeCategory,
            purpose: values.purpose.trim(),
            legalBasis: values.legalBasis.trim(),
            scenario: values.scenario.trim(),
            operations: values.operations,
            ...(values.from && values.from > shanghaiDate()
              ? { requestedFrom: startOfShanghaiDay(values.from) }
              : {}),
            requestedTo: endOfShanghaiDay(values.to),
            // A letter is attached to the draft, which is submitted after it: once submitted it is
            // the reviewers' and takes no letter.
            submit: submit && !letter,
          });
          if (letter) {
            try {
              await uploadLetter(created.id, letter);
            } catch (e) {
              // The draft exists: say so and open it, where the letter can be chosen again.
              message.error(t('letter.uploadFailed', { error: errorText(e) }));
              navigate(`/applications?id=${created.id}`);
              return;
            }
            if (submit) await api.post(`/v1/applications/${encodeURIComponent(created.id)}/submit`);
          }
          message.success(submit ? t('apply.submitted') : t('apply.drafted'));
          navigate(`/applications?id=${created.id}`);
        } catch (e) {
          setFailure(e);
          throw e;
        }
      },
      submit ? 'submit' : 'draft',
    );
  };

  const selectable = resource.fields.filter((f) => f.grade !== 'core');
  const unassessed = resource.fields
    .filter((f) => f.grade === 'unassessed' && (chosen ?? []).includes(f.name))
    .map((f) => f.label);
  return (
    <>
      <PageTitle
        title={`${t('apply.title')} · ${resource.name}`}
        sub={`${resource.code} · ${resource.provider.name}`}
        help="apply"
      />
      <ErrorAlert error={failure} />
      <Form<ApplyForm>
        form={form}
        layout="vertical"
        initialValues={{
          fields: [],
          purposeCategory: 'public_service',
          operations: ['rows'],
          from: shanghaiDate(),
          to: shanghaiDate(180),
        }}
      >
        <Row gutter={16}>
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('apply.fields')}</h2>} style={{ marginBottom: 16 }}>
              <Alert type="info" showIcon message={t('apply.gradeHint')} style={{ marginBottom: 12 }} />
              <Form.Item
                name="fields"
                label={t('apply.fieldsLabel')}
                rules={[{ required: true, type: 'array', min: 1, message: t('apply.fieldsRequired') }]}
              >
                <Checkbox.Group style={{ width: '100%' }}>
                  <Flex vertical gap={6} style={{ width: '100%' }}>
                    {resource.fields.map((f) => (
                      <Checkbox key={f.name} value={f.name} disabled={f.grade === 'core'}>
                        <Space size={6} wrap>
                          <span>{f.label}</span>
                          <Typography.Text type="secondary">{f.name}</Typography.Text>
                          <GradeTag grade={f.grade} />
                          {f.grade === 'core' ? (
                            <Typography.Text type="secondary">{t('apply.coreNever')}</Typography.Text>
                          ) : null}
                        </Space>
                      </Checkbox>
                    ))}
                  </Flex>
                </Checkbox.Group>
              </Form.Item>
              {unassessed.length > 0 ? (
                <Alert
                  type="warning"
                  showIcon
                  data-testid="unassessed-warning"
                  message={t('apply.unassessedWarning', { fields: unassessed.join('、') })}
                  style={{ marginBottom: 12 }}
                />
              ) : null}
              <Space>
                <Button
                  onClick={() =>
                    form.setFieldValue(
                      'fields',
                      selectable.map((f) => f.name),
                    )
                  }
                >
                  {t('apply.selectAll')}
                </Button>
                <Button onClick={() => form.setFieldValue('fields', [])}>{t('apply.selectNone')}</Button>
              </Space>
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('apply.request')}</h2>} style={{ marginBottom: 16 }}>
              <Form.Item
                name="purposeCategory"
                label={t('apply.purposeCategory')}
                rules={[{ required: true }]}
              >
                <Select options={PURPOSE_CATEGORIES.map((p) => ({ value: p, label: t(`purpose.${p}`) }))} />
              </Form.Item>
              <Form.Item
                name="purpose"
                label={t('apply.purpose')}
                rules={[{ required: true, min: 2, whitespace: true, message: t('apply.textRequired') }]}
              >
                <Input.TextArea rows={2} maxLength={2000} />
              </Form.Item>
              <Form.Item
                name="legalBasis"
                label={t('apply.legalBasis')}
                rules={[{ required: true, min: 2, whitespace: true, message: t('apply.textRequired') }]}
                extra={
                  <Flex wrap gap={4} align="center" style={{ marginTop: 4 }} data-testid="legal-bases">
                    <span>{t('apply.commonBases')}</span>
                    {COMMON_LEGAL_BASES.map((basis) => (
                      <Button
                        key={basis}
                        size="small"
                        // Long titles wrap inside the button on a phone instead of widening the page.
                        style={{ whiteSpace: 'normal', height: 'auto', maxWidth: '100%', textAlign: 'left' }}
                        onClick={() => {
                          const typed = (form.getFieldValue('legalBasis') as string | undefined)?.trim();
                          const next = typed ? (typed.includes(basis) ? typed : `${typed}；${basis}`) : basis;
                          form.setFieldValue('legalBasis', next);
                          void form.validateFields(['legalBasis']);
                        }}
                      >
                        {basis}
                      </Button>
                    ))}
                  </Flex>
                }
              >
                <Input.TextArea rows={2} maxLength={2000} />
              </Form.Item>
              <Form.Item
                name="scenario"
                label={t('apply.scenario')}
                rules={[{ required: true, min: 2, whitespace: true, message: t('apply.textRequired') }]}
              >
                <Input.TextArea rows={2} maxLength={2000} />
              </Form.Item>
              <Row gutter={12}>
                <Col xs={24} sm={12}>
                  <Form.Item name="from" label={t('apply.from')} rules={[{ required: true }]}>
                    <Input type="date" min={shanghaiDate()} />
                  </Form.Item>
                </Col>
                <Col xs={24} sm={12}>
                  <Form.Item
                    name="to"
                    label={t('apply.to')}
                    dependencies={['from']}
                    rules={[
                      { required: true, message: t('apply.toRequired') },
                      ({ getFieldValue }) => ({
                        validator: (_, v: string | undefined) =>
                          v && v <= (getFieldValue('from') as string)
                            ? Promise.reject(new Error(t('apply.toAfterFrom')))
                            : Promise.resolve(),
                      }),
                    ]}
                    extra={t('apply.periodHint')}
                  >
                    <Input type="date" min={shanghaiDate(1)} />
                  </Form.Item>
                </Col>
              </Row>
              <Form.Item
                name="operations"
                label={t('apply.operations')}
                rules={[{ required: true, type: 'array', min: 1, message: t('apply.operationsRequired') }]}
              >
                <Checkbox.Group
                  options={[
                    { value: 'rows', label: t('operation.rows') },
                    { value: 'aggregate', label: t('operation.aggregate') },
                  ]}
                />
              </Form.Item>
              <Form.Item label={t('letter.label')} extra={t('letter.why')}>
                <LetterPicker value={letter} onChange={setLetter} />
              </Form.Item>
            </Card>
          </Col>
        </Row>
        <Space wrap>
          <Button
            type="primary"
            loading={action.running === 'submit'}
            disabled={action.busy}
            onClick={() => void send(true)}
          >
            {t('apply.submit')}
          </Button>
          <Button
            loading={action.running === 'draft'}
            disabled={action.busy}
            onClick={() => void send(false)}
          >
            {t('apply.saveDraft')}
          </Button>
          <LinkButton to={`/catalog/${resource.id}`}>{t('common.cancel')}</LinkButton>
        </Space>
      </Form>
    </>
  );
}
