/**
 * A dialog that is one form: OK submits it (validation first), Cancel closes it, the OK button
 * shows the action's busy state, and the fields are dropped when it closes — so reopening starts
 * from `initialValues` again, never from what was typed and abandoned. Context the decision needs
 * (a summary, a warning) goes first among the children. Every page's create, edit and reason
 * dialogs use this one piece instead of wiring Modal and Form by hand.
 */
import { Form, type FormInstance, Modal } from 'antd';
import { type ReactNode, useEffect } from 'react';
import { useTranslation } from 'react-i18next';

export interface FormModalProps<V> {
  open: boolean;
  title: ReactNode;
  okText: ReactNode;
  /** The OK button in red: for stopping, rejecting, revoking. */
  danger?: boolean;
  busy: boolean;
  width?: number;
  form: FormInstance<V>;
  initialValues?: Partial<NoInfer<V>>;
  onFinish(values: NoInfer<V>): void;
  onCancel(): void;
  children: ReactNode;
}

export function FormModal<V extends object>(props: FormModalProps<V>) {
  const { t } = useTranslation();
  const { open, form } = props;
  // The form instance outlives the dialog, and a remounted Form keeps the values its store still
  // holds over new initial values (editing a second record showed the first one's, or nothing):
  // each opening starts from this opening's initial values.
  useEffect(() => {
    if (open) form.resetFields();
  }, [open, form]);
  return (
    <Modal
      open={props.open}
      title={props.title}
      width={props.width}
      okText={props.okText}
      okButtonProps={props.danger ? { danger: true } : undefined}
      cancelText={t('common.cancel')}
      confirmLoading={props.busy}
      onCancel={props.onCancel}
      onOk={() => props.form.submit()}
      destroyOnHidden
    >
      <Form<V>
        form={props.form}
        layout="vertical"
        preserve={false}
        initialValues={props.initialValues}
        onFinish={props.onFinish}
      >
        {props.children}
      </Form>
    </Modal>
  );
}
