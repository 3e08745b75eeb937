import { DownloadOutlined, ReloadOutlined, SettingOutlined } from '@ant-design/icons';
import type { TableColumnType } from 'antd';
import { Button, Checkbox, Flex, Popover, Space, Typography } from 'antd';
import { type ReactNode, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { saveBlob } from '../api.ts';
import type { Pages } from '../hooks.ts';
import { buildCsv } from '../lib/csv.ts';
import { useSession } from '../session.tsx';

/**
 * A list column that can say how it exports: `exportValue` gives the text a cell shows when its
 * `render` draws more than text (a tag, a link, a name looked up). Without it the export uses what
 * `render` returns when that is text, else the `dataIndex` value; a column that gives neither for
 * any row (the actions) is left out of the file.
 */
export type ListColumn<T> = TableColumnType<T> & { exportValue?(row: T): string };

export interface ToolbarOptions {
  /** Names the table: where its hidden columns are remembered, and the exported file. */
  id: string;
  /** The count the API gives; without it, the rows listed. */
  total?: number;
  /** Only some of the rows are loaded (a page of a longer list): counted and exported as such. */
  loadedOnly?: boolean;
  onRefresh?(): void;
  refreshing?: boolean;
  /**
   * The count in the list's own words (共 12 项资源) instead of the toolbar's, when the page has
   * always said it so.
   */
  count?: ReactNode;
  /**
   * Export through the server instead (every row the list's filters select, not only those
   * loaded): the export button calls this.
   */
  onExport?(): void;
  exporting?: boolean;
}

/** The toolbar of a list paged through the server with a cursor: the API gives no total. */
export function cursorToolbar(id: string, pages: Pages<unknown>): ToolbarOptions {
  return {
    id,
    loadedOnly: pages.hasPrev || pages.hasNext,
    onRefresh: pages.reload,
    refreshing: pages.loading,
  };
}

/**
 * A column's dataIndex as plain data: antd types it as every path into the row, which TypeScript
 * cannot narrow for a generic row without running out of memory.
 */
function dataIndexOf(column: { dataIndex?: unknown }): unknown {
  return column.dataIndex;
}

/** A column's stable name: its key, else its dataIndex, else its place. */
export function columnKey<T>(column: ListColumn<T>, index: number): string {
  if (column.key !== undefined) return String(column.key);
  const dataIndex = dataIndexOf(column);
  if (Array.isArray(dataIndex)) return dataIndex.join('.');
  if (dataIndex !== undefined) return String(dataIndex);
  return `#${index}`;
}

function columnTitle<T>(column: ListColumn<T>, key: string): string {
  return typeof column.title === 'string' ? column.title : key;
}

function cellText<T>(column: ListColumn<T>, row: T, index: number): string | undefined {
  if (column.exportValue) return column.exportValue(row);
  const dataIndex = dataIndexOf(column);
  const path: unknown[] = dataIndex === undefined ? [] : Array.isArray(dataIndex) ? dataIndex : [dataIndex];
  let value: unknown = dataIndex === undefined ? undefined : row;
  for (const part of path) value = (value as Record<string, unknown> | null | undefined)?.[String(part)];
  const shown = column.render?.(value, row, index);
  if (typeof shown === 'string' || typeof shown === 'number') return String(shown);
  if (dataIndex === undefined) return undefined;
  return value === null || value === undefined ? '' : String(value);
}

/** The header row and one row per listed row, of the visible columns that export. */
export function exportRows<T>(columns: readonly ListColumn<T>[], rows: readonly T[]): string[][] {
  const exported = columns
    .map((column, index) => ({ column, key: columnKey(column, index) }))
    .filter(
      ({ column }) =>
        column.exportValue ||
        dataIndexOf(column) !== undefined ||
        rows.some((row, i) => cellText(column, row, i) !== undefined),
    );
  return [
    exported.map(({ column, key }) => columnTitle(column, key)),
    ...rows.map((row, i) => exported.map(({ column }) => cellText(column, row, i) ?? '')),
  ];
}

function download(name: string, text: string): void {
  saveBlob(new Blob([text], { type: 'text/csv;charset=utf-8' }), name);
}

/** The columns a user hid in a table, remembered per user and table in this browser. */
export function useHiddenColumns(id: string | undefined): [string[], (hidden: string[]) => void] {
  const { me } = useSession();
  const storageKey = id ? `shutong.columns.${me?.user.id ?? 'anonymous'}.${id}` : undefined;
  const read = (): string[] => {
    if (!storageKey) return [];
    try {
      const saved: unknown = JSON.parse(localStorage.getItem(storageKey) ?? '[]');
      return Array.isArray(saved) ? saved.filter((k): k is string => typeof k === 'string') : [];
    } catch {
      // A damaged entry shows every column rather than breaking the page.
      return [];
    }
  };
  const [state, setState] = useState(() => ({ storageKey, hidden: read() }));
  if (state.storageKey !== storageKey) setState({ storageKey, hidden: read() });
  const save = (hidden: string[]) => {
    setState({ storageKey, hidden });
    if (storageKey) localStorage.setItem(storageKey, JSON.stringify(hidden));
  };
  return [state.storageKey === storageKey ? state.hidden : read(), save];
}

/**
 * Above a list: how many rows, refresh, which columns show (a checklist that keeps one at least)
 * and the listed rows as CSV, headed by the column titles in the current language. A list that is
 * not a table (the catalog's result cards) gives no `onHiddenChange`: it has no columns to pick,
 * and `columns` only say what its export holds.
 */
export function TableToolbar<T>({
  options,
  columns,
  hidden = [],
  onHiddenChange,
  rows,
}: {
  options: ToolbarOptions;
  columns: readonly ListColumn<T>[];
  hidden?: readonly string[];
  onHiddenChange?(hidden: string[]): void;
  rows: readonly T[];
}) {
  const { t } = useTranslation();
  const [picking, setPicking] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const picker = useRef<HTMLFieldSetElement>(null);
  const keys = columns.map((column, index) => columnKey(column, index));
  const shown = keys.filter((key) => !hidden.includes(key));
  // A total the API gives is the count, also when only a page of the list is loaded.
  const n = options.total ?? rows.length;
  const countText =
    options.count ??
    (options.loadedOnly && options.total === undefined
      ? t('toolbar.loaded', { n })
      : t('toolbar.total', { n }));

  const exportCsv = () => {
    const visible = columns.filter((_, index) => shown.includes(keys[index] as string));
    const day = new Date().toISOString().slice(0, 10);
    download(`${options.id}-${day}.csv`, buildCsv(exportRows(visible, rows)));
  };

  return (
    <Flex
      justify="space-between"
      align="center"
      wrap
      gap={8}
      style={{ marginBottom: 12 }}
      role="toolbar"
      aria-label={t('toolbar.label')}
      data-testid={`toolbar-${options.id}`}
    >
      <Typography.Text type="secondary" aria-live="polite" data-testid="toolbar-count">
        {countText}
      </Typography.Text>
      <Space wrap size={8}>
        {options.onRefresh ? (
          <Button icon={<ReloadOutlined />} onClick={options.onRefresh} loading={options.refreshing}>
            {t('toolbar.refresh')}
          </Button>
        ) : null}
        {onHiddenChange ? (
          <Popover
            trigger="click"
            placement="bottomRight"
            open={picking}
            onOpenChange={setPicking}
            // In the page right after its button, so Tab walks from the button into the checklist.
            getPopupContainer={(node) => node.parentElement ?? document.body}
            afterOpenChange={(open) => {
              if (open) picker.current?.querySelector('input')?.focus();
            }}
            content={
              <fieldset
                ref={picker}
                style={{ border: 0, margin: 0, padding: 0 }}
                onKeyDown={(event) => {
                  if (event.key !== 'Escape') return;
                  setPicking(false);
                  trigger.current?.focus();
                }}
              >
                <legend style={{ fontSize: 14, marginBottom: 8 }}>{t('toolbar.columnsLegend')}</legend>
                <Flex vertical gap={4}>
                  {columns.map((column, index) => {
                    const key = keys[index] as string;
                    const visible = shown.includes(key);
                    return (
                      <Checkbox
                        key={key}
                        checked={visible}
                        // One column stays, or the table would show nothing to pick from.
                        disabled={visible && shown.length === 1}
                        onChange={(event) =>
                          onHiddenChange(
                            event.target.checked ? hidden.filter((k) => k !== key) : [...hidden, key],
                          )
                        }
                      >
                        {typeof column.title === 'string' ? column.title : t('toolbar.untitled')}
                      </Checkbox>
                    );
                  })}
                </Flex>
              </fieldset>
            }
          >
            <Button ref={trigger} icon={<SettingOutlined />} aria-haspopup="true" aria-expanded={picking}>
              {t('toolbar.columns')}
            </Button>
          </Popover>
        ) : null}
        <Button
          icon={<DownloadOutlined />}
          onClick={options.onExport ?? exportCsv}
          loading={options.exporting}
          disabled={rows.length === 0}
        >
          {options.loadedOnly && !options.onExport
            ? t('toolbar.exportLoaded', { n: rows.length })
            : t('toolbar.export')}
        </Button>
      </Space>
    </Flex>
  );
}
