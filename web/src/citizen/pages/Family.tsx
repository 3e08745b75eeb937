/**
 * 家人授权: a citizen lets a family member apply with his data (the father for the mother's
 * newborn application), until a date; lists the consents given and received, and revokes.
 */
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, errorText } from '../api.ts';
import {
  Announce,
  ErrorSummary,
  type FieldError,
  LoadError,
  Loading,
  PageHeading,
  TextField,
} from '../components.tsx';
import { useLoad, usePageTitle } from '../hooks.ts';
import { type Bundle, type Consent, type Consents, type Page, RELATIONS, type Relation } from '../types.ts';

function inAYear(): string {
  const date = new Date();
  date.setFullYear(date.getFullYear() + 1);
  return date.toISOString().slice(0, 10);
}

export function FamilyPage() {
  const { t } = useTranslation();
  usePageTitle(t('family.title'));
  const consents = useLoad('consents', (signal) => api.get<Consents>('/v1/citizen/consents', signal));
  const [message, setMessage] = useState<string | null>(null);
  return (
    <>
      <PageHeading>{t('family.title')}</PageHeading>
      <p className="lead">{t('family.intro')}</p>
      {message && <Announce kind="success">{message}</Announce>}
      <GrantForm
        onGranted={(c) => {
          setMessage(t('family.granted', { name: c.granteeName, until: c.validUntil }));
          consents.reload();
        }}
      />
      {consents.loading && !consents.data && <Loading />}
      {consents.error && <LoadError message={consents.error} retry={consents.reload} />}
      {consents.data && (
        <>
          <ConsentList
            title={t('family.given')}
            id="given"
            side="given"
            items={consents.data.given}
            empty={t('family.noneGiven')}
            onRevoked={(c) => {
              setMessage(t('family.revoked', { name: c.granteeName }));
              consents.reload();
            }}
          />
          {/* Either person ends a consent: the grantee may give it up too. */}
          <ConsentList
            title={t('family.received')}
            id="received"
            side="received"
            items={consents.data.received}
            empty={t('family.noneReceived')}
            onRevoked={(c) => {
              setMessage(t('family.declined', { name: c.grantorName }));
              consents.reload();
            }}
          />
        </>
      )}
    </>
  );
}

function GrantForm({ onGranted }: { onGranted(c: Consent): void }) {
  const { t } = useTranslation();
  const [name, setName] = useState('');
  const [idNumber, setIdNumber] = useState('');
  const [relation, setRelation] = useState<Relation>('spouse');
  const [until, setUntil] = useState(inAYear);
  // The personal services a consent can be limited to; none chosen: all of them.
  const lifeBundles = useLoad('life-bundles', (signal) =>
    api.get<Page<Bundle>>('/v1/services/bundles?limit=100', signal),
  ).data?.items.filter((b) => b.eventKind === 'life');
  const [bundleIds, setBundleIds] = useState<string[]>([]);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errorOf = (id: string) => errors.find((e) => e.id === id)?.message ?? null;
  const fieldIds: Record<string, string> = {
    granteeName: 'grant-name',
    granteeIdNumber: 'grant-id',
    validUntil: 'grant-until',
    relation: 'grant-relation',
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: FieldError[] = [];
    if (!name.trim()) found.push({ id: 'grant-name', message: t('family.nameRequired') });
    if (!/^\d{17}[\dXx]$/.test(idNumber.trim()))
      found.push({ id: 'grant-id', message: t('family.idInvalid') });
    if (!/^\d{4}-\d{2}-\d{2}$/.test(until))
      found.push({ id: 'grant-until', message: t('family.untilRequired') });
    setErrors(found);
    setFailure(null);
    if (found.length > 0) {
      document.getElementById(found[0]!.id)?.focus();
      return;
    }
    setBusy(true);
    try {
      const consent = await api.post<Consent>('/v1/citizen/consents', {
        granteeIdNumber: idNumber.trim().toUpperCase(),
        granteeName: name.trim(),
        relation,
        validUntil: until,
        ...(bundleIds.length > 0 ? { bundleIds } : {}),
      });
      setName('');
      setIdNumber('');
      setBundleIds([]);
      onGranted(consent);
    } catch (error) {
      const field = error instanceof ApiError ? error.field() : null;
      const id = field ? fieldIds[field] : undefined;
      if (id) {
        setErrors([{ id, message: errorText(error) }]);
        document.getElementById(id)?.focus();
      } else setFailure(errorText(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="grant-title">
      <h2 id="grant-title">{t('family.grant')}</h2>
      <form onSubmit={submit} noValidate className="form" aria-labelledby="grant-title">
        <ErrorSummary errors={errors} />
        {failure && <Announce kind="error">{failure}</Announce>}
        <TextField
          id="grant-name"
          label={t('family.granteeName')}
          error={errorOf('grant-name')}
          value={name}
          onChange={(e) => setName(e.target.value)}
          autoComplete="off"
        />
        <TextField
          id="grant-id"
          label={t('family.granteeId')}
          hint={t('family.granteeIdHint')}
          error={errorOf('grant-id')}
          value={idNumber}
          onChange={(e) => setIdNumber(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          maxLength={18}
        />
        <div className="field">
          <label htmlFor="grant-relation">{t('family.relation')}</label>
          <select
            id="grant-relation"
            value={relation}
            onChange={(e) => setRelation(e.target.value as Relation)}
          >
            {RELATIONS.map((r) => (
              <option key={r} value={r}>
                {t(`relation.${r}`)}
              </option>
            ))}
          </select>
        </div>
        {lifeBundles && lifeBundles.length > 0 && (
          <fieldset className="choice" aria-describedby="grant-bundles-hint">
            <legend>{t('family.bundles')}</legend>
            <p id="grant-bundles-hint" className="hint">
              {t('family.bundlesHint')}
            </p>
            {lifeBundles.map((b) => (
              <label key={b.id} className="choice-option">
                <input
                  type="checkbox"
                  checked={bundleIds.includes(b.id)}
                  onChange={(e) =>
                    setBundleIds((ids) =>
                      e.target.checked ? [...ids, b.id] : ids.filter((id) => id !== b.id),
                    )
                  }
                />
                {b.name}
              </label>
            ))}
          </fieldset>
        )}
        <TextField
          id="grant-until"
          label={t('family.validUntil')}
          type="date"
          error={errorOf('grant-until')}
          value={until}
          onChange={(e) => setUntil(e.target.value)}
        />
        <button type="submit" className="button button-primary button-block" disabled={busy}>
          {t('family.submit')}
        </button>
      </form>
    </section>
  );
}

function ConsentList({
  title,
  id,
  side,
  items,
  empty,
  onRevoked,
}: {
  title: string;
  id: string;
  side: 'given' | 'received';
  items: Consent[];
  empty: string;
  onRevoked(c: Consent): void;
}) {
  const { t } = useTranslation();
  const [failure, setFailure] = useState<string | null>(null);
  const revoke = async (c: Consent) => {
    setFailure(null);
    try {
      const revoked = await api.post<Consent>(`/v1/citizen/consents/${encodeURIComponent(c.id)}/revoke`);
      onRevoked(revoked);
    } catch (error) {
      setFailure(errorText(error));
    }
  };
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {failure && <Announce kind="error">{failure}</Announce>}
      {items.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul className="plain-list cards">
          {items.map((c) => {
            const other =
              side === 'given'
                ? { name: c.granteeName, id: c.granteeIdNumberMasked }
                : { name: c.grantorName, id: c.grantorIdNumberMasked };
            return (
              <li key={c.id} className="card">
                <h3 className="card-title">
                  {other.name} <span className="muted">({t(`relation.${c.relation}`)})</span>
                </h3>
                <p className="tags">
                  <span className={`badge ${c.inForce ? 'badge-done' : 'badge-refused'}`}>
                    {c.inForce
                      ? t('family.inForce')
                      : c.state === 'revoked'
                        ? t('family.revokedState')
                        : t('family.expired')}
                  </span>
                </p>
                <p className="muted">
                  <span className="mono">{other.id}</span> ·{' '}
                  {t('family.validity', { from: c.validFrom, until: c.validUntil })}
                </p>
                <p className="muted">
                  {c.bundles.length === 0
                    ? t('family.forAll')
                    : t('family.forBundles', {
                        names: c.bundles.map((b) => b.name).join(t('common.listSep')),
                      })}
                </p>
                {side === 'received' && c.inForce && <p>{t('family.canApply', { name: c.grantorName })}</p>}
                {c.state === 'active' && (
                  <button type="button" className="button button-danger" onClick={() => void revoke(c)}>
                    {side === 'given'
                      ? t('family.revoke', { name: c.granteeName })
                      : t('family.decline', { name: c.grantorName })}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
