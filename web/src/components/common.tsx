import { LeftOutlined, QuestionCircleOutlined, RightOutlined } from '@ant-design/icons';
import type { ButtonProps, TableProps } from 'antd';
import { Alert, Button, Empty, Flex, Popover, Select, Skeleton, Space, Table, Tag, Typography } from 'antd';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { errorText } from '../api.ts';
import { type Loaded, useOrganizations } from '../hooks.ts';
import type { Dict } from '../locales.ts';
import { navigate } from '../router.tsx';
import type { Grade } from '../types.ts';
import {
  columnKey,
  type ListColumn,
  TableToolbar,
  type ToolbarOptions,
  useHiddenColumns,
} from './TableToolbar.tsx';

const GRADE_COLORS: Record<string, string> = {
  core: 'magenta',
  important: 'red',
  g4: 'volcano',
  g3: 'orange',
  g2: 'blue',
  g1: 'green',
  unassessed: 'default',
};

export function GradeTag({ grade }: { grade: Grade | string }) {
  const { t } = useTranslation();
  return (
    <Tag color={GRADE_COLORS[grade] ?? 'default'} data-grade={grade}>
      {t(`grade.${grade}`, { defaultValue: grade })}
    </Tag>
  );
}

const STATE_COLORS: Record<string, string> = {
  draft: 'default',
  in_review: 'processing',
  published: 'success',
  submitted: 'processing',
  security_review: 'purple',
  approved: 'success',
  rejected: 'error',
  withdrawn: 'default',
  active: 'success',
  suspended: 'warning',
  revoked: 'error',
  expired: 'default',
  ready: 'success',
  loading: 'processing',
  failed: 'error',
  running: 'processing',
  succeeded: 'success',
  // The registry's steps (issue 19).
  returned: 'warning',
  accepted: 'processing',
  reviewed: 'cyan',
  notice: 'gold',
  registered: 'success',
  superseded: 'default',
  cancelled: 'default',
  // "Get one thing done": an application's steps and the application.
  waiting: 'default',
  in_progress: 'cyan',
  done: 'success',
  refused: 'error',
  open: 'processing',
  // Authorized operation: plans and agreements.
  selected: 'success',
  terminated: 'error',
};

/** A state in its color; `label` when the object names its states its own way (the registry's). */
export function StateTag({ state, label }: { state: string; label?: string }) {
  const { t } = useTranslation();
  return (
    <Tag color={STATE_COLORS[state] ?? 'default'} data-state={state}>
      {label ?? t(`state.${state}`, { defaultValue: state })}
    </Tag>
  );
}

/**
 * The page's heading (one h1 per page) with its actions on the right, wrapping on a phone. `help`
 * names the page's short explanation (`help.<key>`: what its grades, masks or budgets mean), opened
 * from a ? button beside the title; every console page has one.
 */
export function PageTitle({
  title,
  extra,
  sub,
  help,
}: {
  title: ReactNode;
  extra?: ReactNode;
  sub?: ReactNode;
  /**
   * A topic of the `help` texts, required: every console page explains itself, and a misspelt or
   * missing topic fails the typecheck.
   */
  help: Exclude<keyof Dict['help'], 'title' | 'button'>;
}) {
  const { t } = useTranslation();
  return (
    <Flex justify="space-between" align="flex-start" wrap gap={12} style={{ marginBottom: 16 }}>
      <div style={{ minWidth: 0 }}>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>
          {title}
          <Popover
            trigger="click"
            placement="bottomLeft"
            title={t('help.title')}
            content={
              <Typography.Paragraph
                style={{ maxWidth: 'min(380px, 80vw)', margin: 0 }}
                data-testid="page-help"
              >
                {t(`help.${help}`)}
              </Typography.Paragraph>
            }
          >
            <Button
              type="text"
              size="small"
              icon={<QuestionCircleOutlined />}
              aria-label={t('help.button')}
              style={{ marginInlineStart: 4, verticalAlign: 'middle' }}
            />
          </Popover>
        </Typography.Title>
        {sub ? <Typography.Text type="secondary">{sub}</Typography.Text> : null}
      </div>
      {extra ? <Space wrap>{extra}</Space> : null}
    </Flex>
  );
}

export function Pager({
  page,
  hasPrev,
  hasNext,
  prev,
  next,
  loading,
  label,
}: {
  page: number;
  hasPrev: boolean;
  hasNext: boolean;
  prev(): void;
  next(): void;
  loading?: boolean;
  label?: string;
}) {
  const { t } = useTranslation();
  return (
    <nav aria-label={label ?? t('pager.label')}>
      <Flex justify="flex-end" align="center" gap={8} style={{ marginTop: 12 }}>
        <Button icon={<LeftOutlined />} onClick={prev} disabled={!hasPrev || loading}>
          {t('pager.prev')}
        </Button>
        <Typography.Text aria-live="polite">{t('pager.page', { page })}</Typography.Text>
        <Button onClick={next} disabled={!hasNext || loading}>
          {t('pager.next')} <RightOutlined />
        </Button>
      </Flex>
    </nav>
  );
}

export function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      style={{ marginBottom: 16 }}
      message={errorText(error)}
      action={
        onRetry ? (
          <Button size="small" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        ) : undefined
      }
    />
  );
}

/**
 * What a detail page shows until its record is here: a skeleton of `rows` lines while it loads,
 * then the failure (not found included) with a retry.
 */
export function NotLoaded({ loaded, rows }: { loaded: Loaded<unknown>; rows: number }) {
  if (loaded.loading) return <Skeleton active paragraph={{ rows }} />;
  return <ErrorAlert error={loaded.error} onRetry={loaded.reload} />;
}

/**
 * A table of the rows a list endpoint gave: all on one page (the list pages its own way or is
 * short), keyed by id unless `rowKey` says otherwise, scrolling sideways on a narrow screen, and
 * saying `empty` when there are none. With `toolbar`, a TableToolbar above it counts, refreshes,
 * hides columns and exports the rows listed. `summaryRow` draws a last row (a total) across the
 * columns still shown.
 */
export function ListTable<T extends object>({
  empty,
  toolbar,
  columns = [],
  summaryRow,
  ...props
}: Omit<TableProps<T>, 'columns' | 'summary'> & {
  empty: string;
  toolbar?: ToolbarOptions;
  columns?: ListColumn<T>[];
  summaryRow?(columnCount: number): ReactNode;
}) {
  const [hidden, setHidden] = useHiddenColumns(toolbar?.id);
  const visible = columns.filter((column, index) => !hidden.includes(columnKey(column, index)));
  return (
    <>
      {toolbar ? (
        <TableToolbar<T>
          options={toolbar}
          columns={columns}
          hidden={hidden}
          onHiddenChange={setHidden}
          rows={props.dataSource ?? []}
        />
      ) : null}
      <Table<T>
        rowKey="id"
        pagination={false}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: <Empty description={empty} /> }}
        columns={visible}
        summary={summaryRow ? () => summaryRow(visible.length) : undefined}
        {...props}
      />
    </>
  );
}

export function OrgName({ id }: { id: string | null | undefined }) {
  const orgs = useOrganizations();
  if (!id) return <>—</>;
  return <span title={id}>{orgs.get(id)?.name ?? id}</span>;
}

export function Mono({ children }: { children: ReactNode }) {
  return (
    <Typography.Text code style={{ wordBreak: 'break-all' }}>
      {children}
    </Typography.Text>
  );
}

export function JsonBlock({ value }: { value: unknown }) {
  return (
    <pre
      style={{
        background: '#f6f8fa',
        padding: 12,
        borderRadius: 6,
        overflow: 'auto',
        maxHeight: 320,
        fontSize: 12,
        margin: 0,
      }}
    >
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** A button that is a real link (antd renders <a href>), navigating in place on a plain click. */
export function LinkButton({
  to,
  children,
  ...rest
}: { to: string; children: ReactNode } & Omit<ButtonProps, 'href' | 'onClick'>) {
  return (
    <Button
      {...rest}
      href={to}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </Button>
  );
}

/** A mask rule id (`mobile`, `keep_first_last(6,4)`) in words. */
export function maskText(
  t: (key: string, options?: Record<string, unknown>) => string,
  rule: string,
): string {
  const m = /^([a-z0-9_]+)(?:\((.*)\))?$/.exec(rule.trim());
  if (!m) return rule;
  const args = (m[2] ?? '').split(',').map((a) => a.trim());
  return t(`mask.${m[1]}`, { defaultValue: rule, m: args[0], n: args[1] });
}

export function MaskTag({ rule }: { rule: string }) {
  const { t } = useTranslation();
  return (
    <Tag color={rule === 'none' ? 'default' : 'purple'} title={rule} data-mask={rule}>
      {maskText(t, rule)}
    </Tag>
  );
}

/** A labelled "only this state" select above a list (cleared: all states). */
export function StateFilter<S extends string>({
  id,
  label,
  states,
  value,
  onChange,
  labelOf,
}: {
  id: string;
  label: string;
  states: readonly S[];
  value: S | undefined;
  onChange(state: S | undefined): void;
  labelOf(state: S): string;
}) {
  const { t } = useTranslation();
  return (
    <Space style={{ marginBottom: 12 }} wrap>
      <label htmlFor={id}>{label}</label>
      <Select<S>
        id={id}
        allowClear
        style={{ minWidth: 180 }}
        placeholder={t('common.all')}
        value={value}
        onChange={onChange}
        options={states.map((s) => ({ value: s, label: labelOf(s) }))}
      />
    </Space>
  );
}
