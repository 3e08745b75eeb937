/** The citizen site's small building blocks: plain HTML elements with their accessible names. */
import { type InputHTMLAttributes, type ReactNode, type Ref, useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { navigations } from './router.tsx';
import type { ApplicationStep, BundleStep, StepState } from './types.ts';

/** The page's one h1: after a client-side navigation it takes the focus, so screen readers announce the new page. */
export function PageHeading({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (navigations() > 0) ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1} className="page-title">
      {children}
    </h1>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <p className="muted" role="status">
      {t('common.loading')}
    </p>
  );
}

/** An error the page could not recover from by itself, with a retry. */
export function LoadError({ message, retry }: { message: string; retry?: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="notice notice-error" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" className="button button-secondary" onClick={retry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

/** An announced message: role=alert for errors, role=status for confirmations. */
export function Announce({ kind, children }: { kind: 'error' | 'success'; children: ReactNode }) {
  return (
    <div
      className={`notice notice-${kind}`}
      role={kind === 'error' ? 'alert' : 'status'}
      aria-live={kind === 'error' ? 'assertive' : 'polite'}
    >
      {children}
    </div>
  );
}

/** A labelled text field whose hint and error are tied to it (aria-describedby, aria-invalid). */
export function TextField({
  id,
  label,
  hint,
  error,
  ref,
  ...input
}: {
  id: string;
  label: string;
  hint?: ReactNode;
  error?: string | null;
  ref?: Ref<HTMLInputElement>;
} & Omit<InputHTMLAttributes<HTMLInputElement>, 'id'>) {
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="field-error">
          <span aria-hidden="true">⚠ </span>
          {error}
        </p>
      )}
      <input
        ref={ref}
        id={id}
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
    </div>
  );
}

export interface FieldError {
  id: string;
  message: string;
}

/** The errors of a submitted form, announced at once, each a link to its field. */
export function ErrorSummary({ errors, title }: { errors: FieldError[]; title?: string }) {
  const { t } = useTranslation();
  if (errors.length === 0) return null;
  return (
    <div className="notice notice-error" role="alert" aria-live="assertive">
      <p className="notice-title">{title ?? t('form.fixErrors')}</p>
      <ul>
        {errors.map((e) => (
          <li key={e.id}>
            <a
              href={`#${e.id}`}
              onClick={(event) => {
                event.preventDefault();
                document.getElementById(e.id)?.focus();
              }}
            >
              {e.message}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A step's state in words (and a color that only repeats them). */
export function StepStateBadge({ state }: { state: StepState }) {
  const { t } = useTranslation();
  return <span className={`badge badge-${state}`}>{t(`stepState.${state}`)}</span>;
}

export function departmentOf(step: Pick<BundleStep | ApplicationStep, 'orgId' | 'orgName'>): string {
  return step.orgName || step.orgId;
}

/** An instant as people in China read it: Beijing time (UTC+8, no daylight saving), to the minute. */
export function beijingTime(iso: string): string | null {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  return new Date(date.getTime() + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
}
