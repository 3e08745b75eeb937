import type { ReactNode } from 'react';
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, api, onUnauthenticated, tokenStore } from './api.ts';
import type { Me, Role } from './types.ts';

interface Session {
  me: Me | null;
  /** True while the stored token is being checked at start-up. */
  checking: boolean;
  /** Set when the session ended by itself (expired, logged out elsewhere). */
  expired: boolean;
  login(username: string, password: string): Promise<void>;
  logout(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(() => tokenStore.get() !== null);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    onUnauthenticated(() => {
      tokenStore.clear();
      setMe(null);
      setExpired(true);
    });
    return () => onUnauthenticated(null);
  }, []);

  useEffect(() => {
    if (!tokenStore.get()) return;
    api
      .get<Me>('/v1/me')
      .then(setMe)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) tokenStore.clear();
      })
      .finally(() => setChecking(false));
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    const { token } = await api.post<{ token: string; expiresAt: string }>('/v1/auth/login', {
      username,
      password,
    });
    tokenStore.set(token);
    try {
      setMe(await api.get<Me>('/v1/me'));
      setExpired(false);
    } catch (error) {
      tokenStore.clear();
      throw error;
    }
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.post('/v1/auth/logout');
    } catch {
      // The session may already be gone; either way it ends here.
    }
    tokenStore.clear();
    setMe(null);
    setExpired(false);
  }, []);

  const value = useMemo(
    () => ({ me, checking, expired, login, logout }),
    [me, checking, expired, login, logout],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The signed-in user (pages behind the login only). */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error('not signed in');
  return me;
}

export function hasRole(me: Me | null, ...roles: Role[]): boolean {
  return !!me && roles.some((role) => me.user.roles.includes(role));
}
