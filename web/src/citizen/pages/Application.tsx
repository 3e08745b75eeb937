/**
 * One application's progress: each step's state, department, deadline in working days and
 * overdue flag; the values a department got through shared data (marked so); a returned step's
 * reason with the resubmit button; and, once a step is done, its rating form (好差评).
 */
import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, errorText } from '../api.ts';
import {
  Announce,
  beijingTime,
  departmentOf,
  ErrorSummary,
  type FieldError,
  LoadError,
  Loading,
  PageHeading,
  StepStateBadge,
} from '../components.tsx';
import { useLoad, usePageTitle } from '../hooks.ts';
import { stagesOf } from '../plan.ts';
import { Link, useLocation } from '../router.tsx';
import {
  type Application,
  type ApplicationStep,
  type Bundle,
  INDICATORS,
  LEVELS,
  type RatingList,
} from '../types.ts';

/** A shared-data value as people read it: timestamps in Beijing time, the rest as sent. */
function shown(value: unknown): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) {
    const time = beijingTime(value);
    if (time) return time;
  }
  if (value === null || value === undefined) return '—';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function ApplicationPage({ id }: { id: string }) {
  const { t } = useTranslation();
  const { search } = useLocation();
  const loaded = useLoad(id, (signal) =>
    api.get<Application>(`/v1/services/applications/${encodeURIComponent(id)}`, signal),
  );
  const application = loaded.data;
  const bundle = useLoad(application?.bundle.id ?? null, (signal) =>
    api.get<Bundle>(`/v1/services/bundles/${encodeURIComponent(application!.bundle.id)}`, signal),
  );
  // Which finished steps she has rated already, from the server (any device, any session).
  const ratings = useLoad(application ? `ratings:${application.id}` : null, (signal) =>
    api.get<RatingList>(`/v1/ratings?applicationId=${encodeURIComponent(application!.id)}`, signal),
  );
  const [message, setMessage] = useState<string | null>(
    search.get('submitted') ? t('application.submitted') : null,
  );
  // Said once: a reload or a bookmark of the page does not repeat "submitted".
  useEffect(() => {
    if (search.get('submitted')) window.history.replaceState(null, '', window.location.pathname);
  }, [search]);
  usePageTitle(application ? application.bundle.name : t('application.title'));

  if (loaded.error && !application)
    return (
      <>
        <PageHeading>{t('application.title')}</PageHeading>
        <LoadError message={loaded.error} retry={loaded.reload} />
      </>
    );
  if (!application) return <Loading />;
  const labels = new Map(
    (bundle.data?.steps ?? []).flatMap((s) => s.fields.map((f) => [f.name, f.label] as const)),
  );
  const orgNames = new Map((bundle.data?.steps ?? []).map((s) => [s.key, s.orgName ?? null] as const));
  const stages = stagesOf(application.steps);
  const done = application.steps.filter((s) => s.state === 'done').length;

  return (
    <>
      <p className="breadcrumb">
        <Link to="/applications">{t('nav.applications')}</Link>
      </p>
      <PageHeading>{application.bundle.name}</PageHeading>
      {message && <Announce kind="success">{message}</Announce>}
      <section className="card" aria-labelledby="summary-title">
        <h2 id="summary-title">{t('application.summary')}</h2>
        <dl className="facts">
          <div>
            <dt>{t('application.state')}</dt>
            <dd>
              <span className={`badge badge-app-${application.state}`}>
                {t(`applicationState.${application.state}`)}
              </span>
              {application.overdue && <span className="badge badge-overdue">{t('common.overdue')}</span>}
            </dd>
          </div>
          <div>
            <dt>{t('application.number')}</dt>
            <dd className="mono">{application.id}</dd>
          </div>
          <div>
            <dt>{t('application.submittedOn')}</dt>
            <dd>{application.submittedOn}</dd>
          </div>
          <div>
            <dt>{t('application.dueOn')}</dt>
            <dd>{application.dueOn}</dd>
          </div>
          <div>
            <dt>{t('application.progress')}</dt>
            <dd>{t('applications.progress', { done, total: application.steps.length })}</dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="progress-title">
        <h2 id="progress-title">{t('application.steps')}</h2>
        <ol className="plain-list cards">
          {stages.flatMap((stage) =>
            stage.map((step) => (
              <StepCard
                key={step.key}
                application={application}
                step={{ ...step, orgName: step.orgName ?? orgNames.get(step.key) ?? null }}
                parallel={stage.length > 1}
                labels={labels}
                rated={
                  ratings.data
                    ? ratings.data.items.some((r) => r.step === step.key)
                    : ratings.error
                      ? false
                      : null
                }
                onChanged={(text) => {
                  setMessage(text);
                  loaded.reload();
                }}
              />
            )),
          )}
        </ol>
      </section>
    </>
  );
}

function StepCard({
  application,
  step,
  parallel,
  labels,
  rated,
  onChanged,
}: {
  application: Application;
  step: ApplicationStep;
  parallel: boolean;
  labels: Map<string, string>;
  /** Whether the step is rated already; null while that is being read. */
  rated: boolean | null;
  onChanged(message: string): void;
}) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const prefilled = Object.entries(step.prefill);
  const headingId = `step-${step.key}`;

  const resubmit = async () => {
    setBusy(true);
    setFailure(null);
    try {
      await api.post(
        `/v1/services/applications/${encodeURIComponent(application.id)}/steps/${encodeURIComponent(step.key)}/resubmit`,
      );
      onChanged(t('application.resubmitted', { step: step.name }));
    } catch (error) {
      setFailure(errorText(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li className={`card step-card step-${step.state}`} aria-labelledby={headingId}>
      <h3 id={headingId}>{step.name}</h3>
      <p className="tags">
        <StepStateBadge state={step.state} />
        {step.overdue && (
          <span className="badge badge-overdue">
            {t('application.overdueBy', { count: step.workingDaysOverdue })}
          </span>
        )}
        {parallel && <span className="badge">{t('bundle.parallel')}</span>}
      </p>
      <dl className="facts facts-compact">
        <div>
          <dt>{t('application.department')}</dt>
          <dd>{departmentOf(step)}</dd>
        </div>
        <div>
          <dt>{t('application.timeLimit')}</dt>
          <dd>{t('common.workingDays', { count: step.workingDays })}</dd>
        </div>
        {step.dueOn && step.state !== 'done' && (
          <div>
            <dt>{t('application.stepDue')}</dt>
            <dd>{step.dueOn}</dd>
          </div>
        )}
        {step.doneOn && (
          <div>
            <dt>{t('application.doneOn')}</dt>
            <dd>{step.doneOn}</dd>
          </div>
        )}
      </dl>
      {step.state === 'waiting' && <p className="muted">{t('application.waitingText')}</p>}
      {prefilled.length > 0 && (
        <div className="shared-data">
          <p className="shared-title">
            <span className="badge badge-shared">{t('application.fromSharedData')}</span>
            {t('application.prefilledIntro')}
          </p>
          <dl className="facts facts-compact">
            {prefilled.map(([name, p]) => (
              <div key={name}>
                <dt>{labels.get(name) ?? name}</dt>
                <dd>
                  {shown(p.value)}
                  <span className="visually-hidden"> {t('application.fromSharedData')}</span>
                </dd>
              </div>
            ))}
          </dl>
        </div>
      )}
      {(step.state === 'returned' || step.state === 'refused') && step.reason && (
        <div className={`notice ${step.state === 'returned' ? 'notice-warning' : 'notice-error'}`}>
          <p className="notice-title">
            {step.state === 'returned' ? t('application.returnedTitle') : t('application.refusedTitle')}
          </p>
          <p>{step.reason}</p>
        </div>
      )}
      {failure && <Announce kind="error">{failure}</Announce>}
      {step.state === 'returned' && (
        <button
          type="button"
          className="button button-primary button-block"
          onClick={resubmit}
          disabled={busy}
        >
          {t('application.resubmit', { step: step.name })}
        </button>
      )}
      {step.state === 'done' && rated !== null && (
        <Rating application={application} step={step} ratedBefore={rated} />
      )}
    </li>
  );
}

function Rating({
  application,
  step,
  ratedBefore,
}: {
  application: Application;
  step: ApplicationStep;
  ratedBefore: boolean;
}) {
  const { t } = useTranslation();
  const [ratedNow, setRated] = useState(false);
  const rated = ratedBefore || ratedNow;
  const [open, setOpen] = useState(false);
  const [level, setLevel] = useState<number | null>(null);
  const [indicators, setIndicators] = useState<Record<string, string>>({});
  const [text, setText] = useState('');
  const [named, setNamed] = useState<'named' | 'anonymous'>('anonymous');
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [thanks, setThanks] = useState<string | null>(null);
  const prefix = `rate-${step.key}`;
  const errorOf = (id: string) => errors.find((e) => e.id === id)?.message ?? null;

  if (rated)
    return (
      <p className="notice notice-success" role="status">
        {thanks ?? t('rating.already')}
      </p>
    );
  if (!open)
    return (
      <button type="button" className="button button-secondary button-block" onClick={() => setOpen(true)}>
        {t('rating.open', { step: step.name })}
      </button>
    );

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: FieldError[] = [];
    if (level === null) found.push({ id: `${prefix}-level-5`, message: t('rating.levelRequired') });
    for (const k of INDICATORS)
      if (!indicators[k])
        found.push({
          id: `${prefix}-${k}`,
          message: t('rating.indicatorRequired', { name: t(`indicator.${k}`) }),
        });
    if (level !== null && level <= 2 && !text.trim())
      found.push({ id: `${prefix}-text`, message: t('rating.textRequired') });
    setErrors(found);
    setFailure(null);
    if (found.length > 0) {
      document.getElementById(found[0]!.id)?.focus();
      return;
    }
    setBusy(true);
    try {
      await api.post('/v1/ratings', {
        applicationId: application.id,
        step: step.key,
        channel: 'online',
        level,
        indicators: Object.fromEntries(INDICATORS.map((k) => [k, Number(indicators[k])])),
        ...(text.trim() ? { text: text.trim() } : {}),
        named: named === 'named',
      });
      setThanks(t('rating.thanks'));
      setRated(true);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'CONFLICT') setRated(true);
      else setFailure(errorText(error));
    } finally {
      setBusy(false);
    }
  };

  const levelError = errorOf(`${prefix}-level-5`);
  const textError = errorOf(`${prefix}-text`);
  return (
    <form
      className="form rating-form"
      onSubmit={submit}
      noValidate
      aria-label={t('rating.formLabel', { step: step.name })}
    >
      <h4>{t('rating.title', { step: step.name })}</h4>
      <ErrorSummary errors={errors} />
      {failure && <Announce kind="error">{failure}</Announce>}
      <fieldset
        className={`choice${levelError ? ' field-invalid' : ''}`}
        aria-describedby={levelError ? `${prefix}-level-error` : undefined}
      >
        <legend>{t('rating.level')}</legend>
        {levelError && (
          <p id={`${prefix}-level-error`} className="field-error">
            {levelError}
          </p>
        )}
        {LEVELS.map((l) => (
          <label key={l} className="choice-option">
            <input
              type="radio"
              id={`${prefix}-level-${l}`}
              name={`${prefix}-level`}
              checked={level === l}
              onChange={() => setLevel(l)}
            />
            {t(`level.${l}`)}
          </label>
        ))}
      </fieldset>
      {INDICATORS.map((k) => {
        const id = `${prefix}-${k}`;
        const error = errorOf(id);
        return (
          <div key={k} className={`field${error ? ' field-invalid' : ''}`}>
            <label htmlFor={id}>{t(`indicator.${k}`)}</label>
            {error && (
              <p id={`${id}-error`} className="field-error">
                {error}
              </p>
            )}
            <select
              id={id}
              value={indicators[k] ?? ''}
              onChange={(e) => setIndicators((v) => ({ ...v, [k]: e.target.value }))}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? `${id}-error` : undefined}
            >
              <option value="">{t('rating.choose')}</option>
              {LEVELS.map((l) => (
                <option key={l} value={String(l)}>
                  {t(`level.${l}`)}
                </option>
              ))}
            </select>
          </div>
        );
      })}
      <div className={`field${textError ? ' field-invalid' : ''}`}>
        <label htmlFor={`${prefix}-text`}>{t('rating.text')}</label>
        <p id={`${prefix}-text-hint`} className="hint">
          {t('rating.textHint')}
        </p>
        {textError && (
          <p id={`${prefix}-text-error`} className="field-error">
            {textError}
          </p>
        )}
        <textarea
          id={`${prefix}-text`}
          rows={3}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-invalid={textError ? true : undefined}
          aria-describedby={[`${prefix}-text-hint`, textError ? `${prefix}-text-error` : '']
            .filter(Boolean)
            .join(' ')}
          maxLength={2000}
        />
      </div>
      <fieldset className="choice">
        <legend>{t('rating.identity')}</legend>
        <label className="choice-option">
          <input
            type="radio"
            name={`${prefix}-named`}
            checked={named === 'anonymous'}
            onChange={() => setNamed('anonymous')}
          />
          {t('rating.anonymous')}
        </label>
        <label className="choice-option">
          <input
            type="radio"
            name={`${prefix}-named`}
            checked={named === 'named'}
            onChange={() => setNamed('named')}
          />
          {t('rating.named')}
        </label>
      </fieldset>
      <button type="submit" className="button button-primary button-block" disabled={busy}>
        {t('rating.submit')}
      </button>
    </form>
  );
}
