import { App } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, errorText } from './api.ts';
import type { Organization, Page, Resource, User } from './types.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when it changes (wrap it in useCallback) or on reload(); aborts stale requests. */
export function useLoader<T>(load: ((signal: AbortSignal) => Promise<T>) | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: !!load });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `tick` re-runs the same load on demand
  useEffect(() => {
    if (!load) {
      setState({ loading: false });
      return;
    }
    const controller = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [load, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** What an API path answers (a detail page's record, a short list), loaded again when the path changes. */
export function useDetail<T>(path: string): Loaded<T> {
  const load = useCallback((signal: AbortSignal) => api.get<T>(path, undefined, signal), [path]);
  return useLoader(load);
}

export interface Pages<T> extends Loaded<Page<T>> {
  items: T[];
  page: number;
  hasPrev: boolean;
  hasNext: boolean;
  next(): void;
  prev(): void;
}

/**
 * Cursor paging for a list endpoint: remembers the cursors of the pages seen so far, so Previous
 * goes back exactly. A new `fetchPage` (new filters) starts again at page one.
 */
export function useCursorPages<T>(
  fetchPage: (cursor: string | undefined, signal: AbortSignal) => Promise<Page<T>>,
): Pages<T> {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  const [source, setSource] = useState(() => fetchPage);
  if (source !== fetchPage) {
    setSource(() => fetchPage);
    setStack([undefined]);
  }
  const cursor = stack[stack.length - 1];
  const load = useCallback((signal: AbortSignal) => fetchPage(cursor, signal), [fetchPage, cursor]);
  const loaded = useLoader(load);
  const nextCursor = loaded.data?.nextCursor ?? null;
  return {
    ...loaded,
    items: loaded.data?.items ?? [],
    page: stack.length,
    hasPrev: stack.length > 1,
    hasNext: nextCursor !== null,
    next: () => {
      if (nextCursor) setStack((s) => [...s, nextCursor]);
    },
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

/** Every item of a paged list, up to `max` (dashboards and pickers over small lists). */
export async function collectAll<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  max = 1000,
): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    if (!page.nextCursor) return { items, truncated: false };
    if (items.length >= max) return { items, truncated: true };
    cursor = page.nextCursor;
  }
}

// Small lookups many rows need (organization and resource names), fetched once per page load.
let directory: Promise<Map<string, Organization>> | undefined;
export function organizationDirectory(): Promise<Map<string, Organization>> {
  directory ??= collectAll((cursor) =>
    api.get<Page<Organization>>('/v1/organizations', { limit: 200, cursor }),
  )
    .then(({ items }) => new Map(items.map((o) => [o.id, o])))
    .catch((error: unknown) => {
      directory = undefined;
      throw error;
    });
  return directory;
}

/** After an organization is registered: the next page that needs names reads them again. */
export function forgetOrganizationDirectory(): void {
  directory = undefined;
}

const resources = new Map<string, Promise<Resource>>();
export function resourceById(id: string): Promise<Resource> {
  let found = resources.get(id);
  if (!found) {
    found = api.get<Resource>(`/v1/resources/${encodeURIComponent(id)}`);
    found.catch(() => resources.delete(id));
    resources.set(id, found);
  }
  return found;
}
export function forgetResource(id: string): void {
  resources.delete(id);
}

const users = new Map<string, Promise<User>>();
function userById(id: string): Promise<User> {
  let found = users.get(id);
  if (!found) {
    found = api.get<User>(`/v1/users/${encodeURIComponent(id)}`);
    found.catch(() => users.delete(id));
    users.set(id, found);
  }
  return found;
}

/**
 * Names by user id for the ids a list shows (the audit log's actors): the display name with the
 * username, as people know each other by name; ids the caller may not read stay out.
 */
export function useUsernames(ids: readonly (string | null)[]): Map<string, string> {
  const [map, setMap] = useState<Map<string, string>>(new Map());
  const key = [...new Set(ids.filter((id): id is string => !!id))].sort().join(',');
  useEffect(() => {
    let live = true;
    const wanted = key ? key.split(',') : [];
    Promise.all(wanted.map((id) => userById(id).catch(() => null))).then((list) => {
      if (!live) return;
      const next = new Map<string, string>();
      for (const u of list)
        if (u) next.set(u.id, u.displayName ? `${u.displayName}（${u.username}）` : u.username);
      setMap(next);
    });
    return () => {
      live = false;
    };
  }, [key]);
  return map;
}

export function useOrganizations(): Map<string, Organization> {
  const [map, setMap] = useState<Map<string, Organization>>(new Map());
  useEffect(() => {
    let live = true;
    organizationDirectory().then(
      (m) => {
        if (live) setMap(m);
      },
      () => {},
    );
    return () => {
      live = false;
    };
  }, []);
  return map;
}

/** Resources by id for the ids a list shows (names in tables of applications and contracts). */
export function useResources(ids: readonly string[]): Map<string, Resource> {
  const [map, setMap] = useState<Map<string, Resource>>(new Map());
  const key = [...new Set(ids)].sort().join(',');
  useEffect(() => {
    let live = true;
    const wanted = key ? key.split(',') : [];
    Promise.all(wanted.map((id) => resourceById(id).catch(() => null))).then((list) => {
      if (!live) return;
      const next = new Map<string, Resource>();
      for (const r of list) if (r) next.set(r.id, r);
      setMap(next);
    });
    return () => {
      live = false;
    };
  }, [key]);
  return map;
}

export interface Action<K> {
  /** True while an action runs (a second click waits for it). */
  busy: boolean;
  /** Which action runs, when a page starts several kinds (submit or save, one version of many). */
  running: K | undefined;
  /** Runs `work`; its error is shown as the server's message, never thrown. True when it succeeded. */
  run(work: () => Promise<unknown>, key?: K): Promise<boolean>;
}

/** A user's action on a page: busy while it runs, its failure said in a message. */
export function useAction<K = never>(): Action<K> {
  const { message } = App.useApp();
  const [state, setState] = useState<{ key: K | undefined } | null>(null);
  const running = useRef(false);
  const run = useCallback(
    async (work: () => Promise<unknown>, key?: K) => {
      if (running.current) return false;
      running.current = true;
      setState({ key });
      try {
        await work();
        return true;
      } catch (error) {
        message.error(errorText(error));
        return false;
      } finally {
        running.current = false;
        setState(null);
      }
    },
    [message],
  );
  return { busy: state !== null, running: state?.key, run };
}
