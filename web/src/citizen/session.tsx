/**
 * Who is signed in to the citizen site: a citizen (个人, by ID number) or an enterprise's user
 * (法人, a staff account of its organization), as /v1/citizen/me says.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, api, onUnauthenticated, tokenStore } from './api.ts';
import type { AccountKind, LoginReply, Me } from './types.ts';

interface Session {
  me: Me | null;
  /** True until the stored token has been checked. */
  checking: boolean;
  login(kind: AccountKind, id: string, password: string): Promise<Me>;
  logout(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(() => tokenStore.get() !== null);

  useEffect(() => {
    onUnauthenticated(() => {
      tokenStore.clear();
      setMe(null);
    });
    if (!tokenStore.get()) return () => onUnauthenticated(null);
    api
      .get<Me>('/v1/citizen/me')
      .then(setMe)
      .catch((error: unknown) => {
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) tokenStore.clear();
      })
      .finally(() => setChecking(false));
    return () => onUnauthenticated(null);
  }, []);

  const login = useCallback(async (kind: AccountKind, id: string, password: string) => {
    const reply =
      kind === 'citizen'
        ? await api.post<LoginReply>('/v1/citizen/login', { idNumber: id, password })
        : await api.post<LoginReply>('/v1/auth/login', { username: id, password });
    tokenStore.set(reply.token);
    try {
      const who = await api.get<Me>('/v1/citizen/me');
      setMe(who);
      return who;
    } catch (error) {
      tokenStore.clear();
      throw error;
    }
  }, []);

  const logout = useCallback(async () => {
    const kind = me?.kind;
    try {
      await api.post(kind === 'organization' ? '/v1/auth/logout' : '/v1/citizen/logout');
    } catch {
      // The session may have ended already; signing out here still forgets it.
    }
    tokenStore.clear();
    setMe(null);
  }, [me]);

  const value = useMemo(() => ({ me, checking, login, logout }), [me, checking, login, logout]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
