/**
 * Login: a citizen (个人) with the ID number and password, or an enterprise (法人) with its
 * account's username and password. In the demo city, each demo identity is a button that fills
 * the form (the password too); the person still submits it.
 */
import { type FormEvent, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, errorText } from '../api.ts';
import { Announce, ErrorSummary, type FieldError, PageHeading, TextField } from '../components.tsx';
import { useLoad, usePageTitle } from '../hooks.ts';
import { navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { AccountKind, DemoIdentities } from '../types.ts';

/** The demo city's password for every demo account (config DEMO_PASSWORD's default). */
export const DEMO_PASSWORD = 'shutong-demo';

export function LoginPage() {
  const { t } = useTranslation();
  const { login, me } = useSession();
  const { search } = useLocation();
  usePageTitle(t('login.title'));
  const [kind, setKind] = useState<AccountKind>('citizen');
  const [id, setId] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [filled, setFilled] = useState<string | null>(null);
  const idRef = useRef<HTMLInputElement>(null);
  const demo = useLoad('demo', (signal) => api.get<DemoIdentities>('/v1/citizen/demo-identities', signal));

  const idLabel = kind === 'citizen' ? t('login.idNumber') : t('login.username');
  const errorOf = (field: string) => errors.find((e) => e.id === field)?.message ?? null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: FieldError[] = [];
    if (!id.trim())
      found.push({
        id: 'login-id',
        message: kind === 'citizen' ? t('login.idRequired') : t('login.usernameRequired'),
      });
    if (!password) found.push({ id: 'login-password', message: t('login.passwordRequired') });
    setErrors(found);
    setFailure(null);
    if (found.length > 0) {
      document.getElementById(found[0]!.id)?.focus();
      return;
    }
    setBusy(true);
    try {
      await login(kind, id.trim(), password);
      const next = search.get('next');
      navigate(next?.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (error) {
      setFailure(errorText(error));
      setBusy(false);
    }
  };

  const fill = (as: AccountKind, value: string, name: string) => {
    setKind(as);
    setId(value);
    setPassword(DEMO_PASSWORD);
    setErrors([]);
    setFailure(null);
    setFilled(t('login.filled', { name }));
    idRef.current?.focus();
  };

  const identities = demo.data;
  const hasDemo = identities && identities.citizens.length + identities.enterprises.length > 0;

  return (
    <>
      <PageHeading>{t('login.title')}</PageHeading>
      {me && (
        <p className="notice notice-info">{t('login.already', { name: me.organization?.name ?? me.name })}</p>
      )}
      <form className="card form" onSubmit={submit} noValidate aria-labelledby="login-form-title">
        <h2 id="login-form-title">{t('login.formTitle')}</h2>
        <ErrorSummary errors={errors} />
        {failure && <Announce kind="error">{failure}</Announce>}
        <fieldset className="choice">
          <legend>{t('login.kind')}</legend>
          {(['citizen', 'organization'] as const).map((k) => (
            <label key={k} className="choice-option">
              <input
                type="radio"
                name="kind"
                value={k}
                checked={kind === k}
                onChange={() => {
                  setKind(k);
                  setErrors([]);
                }}
              />
              {k === 'citizen' ? t('login.citizen') : t('login.organization')}
            </label>
          ))}
        </fieldset>
        <TextField
          ref={idRef}
          id="login-id"
          label={idLabel}
          hint={kind === 'citizen' ? t('login.idHint') : t('login.usernameHint')}
          error={errorOf('login-id')}
          value={id}
          onChange={(e) => setId(e.target.value)}
          autoComplete="username"
          inputMode={kind === 'citizen' ? 'text' : undefined}
          spellCheck={false}
          autoCapitalize="off"
        />
        <TextField
          id="login-password"
          label={t('login.password')}
          type="password"
          error={errorOf('login-password')}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="current-password"
        />
        <button type="submit" className="button button-primary button-block" disabled={busy}>
          {busy ? t('login.signingIn') : t('login.submit')}
        </button>
      </form>
      {hasDemo && (
        <section className="card" aria-labelledby="demo-title">
          <h2 id="demo-title">{t('login.demoTitle')}</h2>
          <p className="hint">{t('login.demoHint', { password: DEMO_PASSWORD })}</p>
          {filled && (
            <p role="status" className="muted">
              {filled}
            </p>
          )}
          <ul className="plain-list demo-list">
            {identities.citizens.map((c) => (
              <li key={c.idNumber}>
                <button
                  type="button"
                  className="button button-secondary button-block"
                  onClick={() => fill('citizen', c.idNumber, c.name)}
                >
                  {t('login.useDemo', { name: c.name })}
                </button>
                <span className="hint">
                  {t('login.citizen')} · {c.note}
                </span>
              </li>
            ))}
            {identities.enterprises.map((e) => (
              <li key={e.username}>
                <button
                  type="button"
                  className="button button-secondary button-block"
                  onClick={() => fill('organization', e.username, e.name)}
                >
                  {t('login.useDemo', { name: e.name })}
                </button>
                <span className="hint">
                  {t('login.organization')} · {e.note}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
