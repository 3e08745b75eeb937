/**
 * One bundle: what it is, who may apply, the steps as a timeline (a stage's steps run in
 * parallel), the promised working days, the materials nobody asks for any more (免提交, with the
 * shared data that gives them), and the one merged form — for oneself, or for a citizen with the
 * data of a family member who consented.
 */
import { type FormEvent, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, errorText } from '../api.ts';
import {
  Announce,
  departmentOf,
  ErrorSummary,
  type FieldError,
  LoadError,
  Loading,
  PageHeading,
  TextField,
} from '../components.tsx';
import { useLoad, usePageTitle } from '../hooks.ts';
import { askedFields, exemptedMaterials, stagesOf } from '../plan.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { Application, Bundle, Consents, Eligibility as EligibilityAnswer, Me } from '../types.ts';

export function BundlePage({ code }: { code: string }) {
  const { t, i18n } = useTranslation();
  const loaded = useLoad(code, (signal) =>
    api.get<Bundle>(`/v1/services/bundles/${encodeURIComponent(code)}`, signal),
  );
  const bundle = loaded.data;
  const title = bundle ? (i18n.language === 'en' ? bundle.nameEn : bundle.name) : t('bundle.title');
  usePageTitle(title);

  if (loaded.error && !bundle)
    return (
      <>
        <PageHeading>{t('bundle.title')}</PageHeading>
        <LoadError message={loaded.error} retry={loaded.reload} />
      </>
    );
  if (!bundle) return <Loading />;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/">{t('nav.bundles')}</Link>
      </p>
      <PageHeading>{title}</PageHeading>
      <About bundle={bundle} />
      <Eligibility bundle={bundle} />
      <Timeline bundle={bundle} />
      <Exempted bundle={bundle} />
      <ApplyForm bundle={bundle} />
    </>
  );
}

function About({ bundle }: { bundle: Bundle }) {
  const { t } = useTranslation();
  const s = bundle.savings;
  return (
    <section aria-labelledby="about-title" className="card">
      <h2 id="about-title">{t('bundle.about')}</h2>
      <p>
        {t('bundle.aboutText', {
          steps: s.steps,
          departments: s.departments,
          days: bundle.promisedWorkingDays,
        })}
      </p>
      <dl className="facts">
        <div>
          <dt>{t('bundle.promisedDays')}</dt>
          <dd>{t('common.workingDays', { count: bundle.promisedWorkingDays })}</dd>
        </div>
        <div>
          <dt>{t('bundle.separately')}</dt>
          <dd>{t('common.workingDays', { count: s.sequentialWorkingDays })}</dd>
        </div>
        <div>
          <dt>{t('bundle.fieldsAsked')}</dt>
          <dd>{t('bundle.fieldsAskedValue', { asked: s.askedFields, separate: s.separateFields })}</dd>
        </div>
        <div>
          <dt>{t('bundle.countersAvoided')}</dt>
          <dd>{s.countersAvoided}</dd>
        </div>
      </dl>
    </section>
  );
}

function Eligibility({ bundle }: { bundle: Bundle }) {
  const { t } = useTranslation();
  const rules = bundle.eligibilityRules ?? [];
  if (rules.length === 0) return null;
  return (
    <section aria-labelledby="eligibility-title" className="card">
      <h2 id="eligibility-title">{t('bundle.eligibility')}</h2>
      <ul className="check-list">
        {rules.map((rule) => (
          <li key={rule.text}>
            {rule.text}{' '}
            <span className={`badge ${rule.kind === 'note' ? 'badge-info' : 'badge-shared'}`}>
              {rule.kind === 'note' ? t('bundle.ruleDeclared') : t('bundle.ruleChecked')}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * The bundle's checked conditions for whoever this application would be about (herself, or the
 * family member of the chosen consent), read from the server before she fills anything in.
 */
function EligibilityCheck({ check }: { check: EligibilityAnswer | undefined }) {
  const { t, i18n } = useTranslation();
  if (!check || !check.results.some((r) => r.met !== null)) return null;
  const unmet = check.results.filter((r) => r.met === false);
  if (unmet.length === 0)
    return (
      <p className="notice notice-success" data-testid="eligibility-check">
        {t('apply.eligible', { count: check.results.filter((r) => r.met).length })}
      </p>
    );
  return (
    <div className="notice notice-error" role="alert" data-testid="eligibility-check">
      <p>{t('apply.notEligible')}</p>
      <ul>
        {unmet.map((r) => (
          <li key={r.text}>
            {r.text}
            {r.reason ? `：${i18n.language === 'en' ? r.reason.en : r.reason.zh}` : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Timeline({ bundle }: { bundle: Bundle }) {
  const { t } = useTranslation();
  const stages = stagesOf(bundle.steps);
  return (
    <section aria-labelledby="steps-title" className="card">
      <h2 id="steps-title">{t('bundle.steps')}</h2>
      <ol className="timeline">
        {stages.map((stage, i) => (
          <li key={stage.map((s) => s.key).join('+')} className="timeline-stage">
            <h3>
              {t('bundle.stage', { n: i + 1 })}
              {stage.length > 1 && <span className="badge badge-info">{t('bundle.parallel')}</span>}
            </h3>
            <ul className="plain-list">
              {stage.map((step) => (
                <li key={step.key} className="timeline-step">
                  <p className="step-name">{step.name}</p>
                  <p className="muted">
                    {departmentOf(step)} · {t('common.workingDays', { count: step.workingDays })}
                  </p>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Exempted({ bundle }: { bundle: Bundle }) {
  const { t } = useTranslation();
  const materials = exemptedMaterials(bundle.steps);
  return (
    <section aria-labelledby="exempted-title" className="card" data-testid="exempted">
      <h2 id="exempted-title">{t('bundle.exempted')}</h2>
      {materials.length === 0 ? (
        <p className="muted">{t('bundle.noneExempted')}</p>
      ) : (
        <>
          <p>{t('bundle.exemptedIntro', { count: materials.length })}</p>
          <ul className="check-list">
            {materials.map((m) => {
              const providers = [
                ...new Set(m.uses.map((u) => u.field.providerName).filter((p): p is string => !!p)),
              ];
              const receivers = [...new Set(m.uses.map((u) => departmentOf(u.step)))];
              return (
                <li key={m.name}>
                  <strong>{m.label}</strong>
                  <span className="badge badge-shared">{t('bundle.exemptedBadge')}</span>
                  <br />
                  <span className="muted">
                    {providers.length > 0
                      ? t('bundle.providedBy', { providers: providers.join(t('common.listSep')) })
                      : t('bundle.fetchedBy', { departments: receivers.join(t('common.listSep')) })}
                  </span>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}

function fieldType(name: string): { type?: string; inputMode?: 'tel' | 'numeric'; autoComplete?: string } {
  if (/phone|mobile/.test(name)) return { type: 'tel', inputMode: 'tel', autoComplete: 'tel' };
  return {};
}

function ApplyForm({ bundle }: { bundle: Bundle }) {
  const { t } = useTranslation();
  const { me } = useSession();
  const fields = useMemo(() => askedFields(bundle.steps), [bundle]);
  const isCitizen = me?.kind === 'citizen';
  const consents = useLoad(isCitizen ? 'consents' : null, (signal) =>
    api.get<Consents>('/v1/citizen/consents', signal),
  );
  // Consents in force that cover this bundle (one naming no bundle covers every life event).
  const usable = (consents.data?.received ?? []).filter(
    (c) => c.inForce && (c.bundles.length === 0 || c.bundles.some((b) => b.id === bundle.id)),
  );
  const [values, setValues] = useState<Record<string, string>>({});
  const [subject, setSubject] = useState<'self' | 'family'>('self');
  const [consentId, setConsentId] = useState('');
  const under = isCitizen && subject === 'family' ? consentId : '';
  const eligibility = useLoad(
    me && (subject === 'self' || under) ? `eligibility:${bundle.id}:${under}` : null,
    (signal) =>
      api.get<EligibilityAnswer>(
        `/v1/services/bundles/${encodeURIComponent(bundle.id)}/eligibility${under ? `?consentId=${encodeURIComponent(under)}` : ''}`,
        signal,
      ),
  );
  // Nothing to check while a family application has no consent chosen yet.
  const check = me && (subject === 'self' || under) ? eligibility.data : undefined;
  const ineligible = check?.eligible === false;
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = (name: string) => `apply-${name}`;
  const errorOf = (id: string) => errors.find((e) => e.id === id)?.message ?? null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: FieldError[] = [];
    if (isCitizen && subject === 'family' && !consentId)
      found.push({ id: 'apply-consent', message: t('apply.consentRequired') });
    for (const f of fields)
      if (!(values[f.name] ?? '').trim())
        found.push({ id: inputId(f.name), message: t('apply.required', { label: f.label }) });
    setErrors(found);
    setFailure(null);
    if (found.length > 0) {
      document.getElementById(found[0]!.id)?.focus();
      return;
    }
    setBusy(true);
    try {
      const form = Object.fromEntries(fields.map((f) => [f.name, (values[f.name] ?? '').trim()]));
      const created = await api.post<Application>(
        `/v1/services/bundles/${encodeURIComponent(bundle.id)}/applications`,
        { form, ...(isCitizen && subject === 'family' ? { consentId } : {}) },
      );
      navigate(`/applications/${encodeURIComponent(created.id)}?submitted=1`);
    } catch (error) {
      setBusy(false);
      const field = error instanceof ApiError ? error.field() : null;
      if (field && fields.some((f) => f.name === field)) {
        setErrors([{ id: inputId(field), message: errorText(error) }]);
        document.getElementById(inputId(field))?.focus();
      } else setFailure(errorText(error));
    }
  };

  return (
    <section aria-labelledby="apply-title" className="card">
      <h2 id="apply-title">{t('apply.title')}</h2>
      <p>{t('apply.intro', { count: fields.length })}</p>
      <form onSubmit={submit} noValidate className="form" aria-labelledby="apply-title">
        <ErrorSummary errors={errors} />
        {failure && <Announce kind="error">{failure}</Announce>}
        <Subject
          me={me}
          subject={subject}
          setSubject={setSubject}
          consentId={consentId}
          setConsentId={setConsentId}
          usable={usable}
          loading={consents.loading}
          error={errorOf('apply-consent')}
        />
        <EligibilityCheck check={check} />
        {fields.length > 0 && (
          <fieldset className="fields">
            <legend>{t('apply.fields')}</legend>
            {fields.map((f) => (
              <TextField
                key={f.name}
                id={inputId(f.name)}
                name={f.name}
                label={f.label}
                error={errorOf(inputId(f.name))}
                value={values[f.name] ?? ''}
                onChange={(e) => setValues((v) => ({ ...v, [f.name]: e.target.value }))}
                required
                aria-required="true"
                {...fieldType(f.name)}
              />
            ))}
          </fieldset>
        )}
        <button type="submit" className="button button-primary button-block" disabled={busy || ineligible}>
          {busy ? t('apply.submitting') : t('apply.submit')}
        </button>
      </form>
    </section>
  );
}

function Subject({
  me,
  subject,
  setSubject,
  consentId,
  setConsentId,
  usable,
  loading,
  error,
}: {
  me: Me | null;
  subject: 'self' | 'family';
  setSubject(s: 'self' | 'family'): void;
  consentId: string;
  setConsentId(id: string): void;
  usable: Consents['received'];
  loading: boolean;
  error: string | null;
}) {
  const { t } = useTranslation();
  if (!me) return null;
  if (me.kind === 'organization')
    return (
      <p className="notice notice-info">
        {t('apply.asOrganization', {
          name: me.organization?.name ?? me.name,
          uscc: me.organization?.uscc ?? '',
        })}
      </p>
    );
  return (
    <fieldset className="choice">
      <legend>{t('apply.subject')}</legend>
      <label className="choice-option">
        <input type="radio" name="subject" checked={subject === 'self'} onChange={() => setSubject('self')} />
        {t('apply.self', { name: me.name, id: me.idNumberMasked ?? '' })}
      </label>
      <label className="choice-option">
        <input
          type="radio"
          name="subject"
          checked={subject === 'family'}
          onChange={() => setSubject('family')}
          disabled={!loading && usable.length === 0}
          aria-describedby={usable.length === 0 ? 'apply-family-hint' : undefined}
        />
        {t('apply.family')}
      </label>
      {!loading && usable.length === 0 && (
        <p id="apply-family-hint" className="hint">
          {t('apply.noConsent')} <Link to="/family">{t('apply.consentLink')}</Link>
        </p>
      )}
      {subject === 'family' && usable.length > 0 && (
        <div className={`field${error ? ' field-invalid' : ''}`}>
          <label htmlFor="apply-consent">{t('apply.consent')}</label>
          {error && (
            <p id="apply-consent-error" className="field-error">
              {error}
            </p>
          )}
          <select
            id="apply-consent"
            value={consentId}
            onChange={(e) => setConsentId(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'apply-consent-error' : undefined}
          >
            <option value="">{t('apply.chooseConsent')}</option>
            {usable.map((c) => (
              <option key={c.id} value={c.id}>
                {t('apply.consentOption', {
                  name: c.grantorName,
                  relation: t(`relation.${c.relation}`),
                  until: c.validUntil,
                })}
              </option>
            ))}
          </select>
        </div>
      )}
    </fieldset>
  );
}
