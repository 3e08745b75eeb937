import { FileProtectOutlined, UploadOutlined } from '@ant-design/icons';
import { App, Button, Space, Typography, Upload } from 'antd';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { fetchBlob, upload } from '../api.ts';
import { fmtBytes } from '../format.ts';
import { useAction } from '../hooks.ts';
import type { Application } from '../types.ts';

/** The server's limit (sharing/service.ts LETTER_LIMIT_BYTES), checked here first to spare a 10 MiB upload. */
export const LETTER_LIMIT_BYTES = 10 * 1024 * 1024;
const LETTER_TYPES = ['application/pdf', 'image/png', 'image/jpeg'];
const ACCEPT = '.pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg';

/** Why a chosen file cannot be the letter, or null. The server judges the bytes again. */
export function letterProblem(t: TFunction, file: File): string | null {
  if (file.type && !LETTER_TYPES.includes(file.type)) return t('letter.badType');
  if (file.size > LETTER_LIMIT_BYTES) return t('letter.tooLarge', { limit: fmtBytes(LETTER_LIMIT_BYTES) });
  if (file.size === 0) return t('letter.empty');
  return null;
}

/** Attaches (or replaces) the letter of a draft application; the answer is the application. */
export function uploadLetter(applicationId: string, file: File): Promise<Application> {
  return upload<Application>(
    `/v1/applications/${encodeURIComponent(applicationId)}/letter`,
    file,
    { filename: file.name },
    undefined,
    // The browser's guess from the extension; the server checks it against the magic bytes.
    { method: 'PUT', contentType: file.type || 'application/octet-stream' },
  );
}

/** The letter's name and size, opening it (fetched with the login token) in a new tab. */
export function LetterLink({ app }: { app: Application }) {
  const { t } = useTranslation();
  const action = useAction();
  const { letter } = app;
  if (!letter) return <Typography.Text type="secondary">{t('letter.none')}</Typography.Text>;
  const open = () =>
    action.run(async () => {
      const blob = await fetchBlob(`/v1/applications/${encodeURIComponent(app.id)}/letter`);
      window.open(URL.createObjectURL(blob), '_blank', 'noopener');
    });
  return (
    <Button
      type="link"
      icon={<FileProtectOutlined />}
      loading={action.busy}
      onClick={() => void open()}
      data-testid="letter-link"
      style={{ paddingInline: 0, height: 'auto', whiteSpace: 'normal', textAlign: 'left' }}
    >
      {t('letter.meta', { name: letter.fileName, size: fmtBytes(letter.size) })}
    </Button>
  );
}

/**
 * The file picker for a letter not sent yet (the apply form sends it after creating the draft):
 * pdf/png/jpeg, the size limit shown, a wrong file refused before anything is sent.
 */
export function LetterPicker({ value, onChange }: { value: File | null; onChange(file: File | null): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  return (
    <Space direction="vertical" size={4}>
      <Upload
        accept={ACCEPT}
        maxCount={1}
        beforeUpload={(file) => {
          const problem = letterProblem(t, file);
          if (problem) message.error(problem);
          else onChange(file);
          return problem ? Upload.LIST_IGNORE : false;
        }}
        onRemove={() => onChange(null)}
        fileList={
          value ? [{ uid: 'letter', name: `${value.name} (${fmtBytes(value.size)})`, status: 'done' }] : []
        }
      >
        <Button icon={<UploadOutlined />} data-testid="letter-choose">
          {value ? t('letter.replace') : t('letter.choose')}
        </Button>
      </Upload>
      <Typography.Text type="secondary">
        {t('letter.hint', { limit: fmtBytes(LETTER_LIMIT_BYTES) })}
      </Typography.Text>
    </Space>
  );
}

/** The letter of an application, and for its applicant while it is a draft an upload that replaces it. */
export function LetterPanel({
  app,
  editable,
  onChanged,
}: {
  app: Application;
  editable: boolean;
  onChanged(): void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const action = useAction();
  return (
    <Space direction="vertical" size={4}>
      <LetterLink app={app} />
      {editable ? (
        <>
          <Upload
            accept={ACCEPT}
            showUploadList={false}
            beforeUpload={(file) => {
              const problem = letterProblem(t, file);
              if (problem) message.error(problem);
              else
                void action.run(async () => {
                  await uploadLetter(app.id, file);
                  message.success(t('letter.uploaded'));
                  onChanged();
                });
              return false;
            }}
          >
            <Button icon={<UploadOutlined />} loading={action.busy} data-testid="letter-upload">
              {app.letter ? t('letter.replace') : t('letter.choose')}
            </Button>
          </Upload>
          <Typography.Text type="secondary">
            {t('letter.hint', { limit: fmtBytes(LETTER_LIMIT_BYTES) })}
          </Typography.Text>
        </>
      ) : null}
    </Space>
  );
}
