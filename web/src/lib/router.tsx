/**
 * A small history-API router for a front-end served under a base path (`''` for the console,
 * `/citizen` for the citizen site): the server answers every browser GET there with the
 * front-end's page, so each route is deep-linkable. Paths given to and read from the router are
 * relative to the base; links and navigation add it. Each front-end's router.tsx binds its base.
 */
import type { AnchorHTMLAttributes, MouseEvent, ReactNode } from 'react';
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();
const notify = () => {
  for (const listener of listeners) listener();
};
let navigations = 0;
window.addEventListener('popstate', () => {
  navigations++;
  notify();
});

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const snapshot = () => window.location.pathname + window.location.search;

/** Client-side navigations so far (back and forward included). */
export const navigationCount = () => navigations;

/** The browser's path for `to`, a path relative to `base`. */
export const hrefUnder = (base: string, to: string) =>
  base ? `${base}${to.startsWith('/') ? to : `/${to}`}` : to;

export function navigateUnder(base: string, to: string, options: { replace?: boolean } = {}): void {
  const target = hrefUnder(base, to);
  navigations++;
  if (target === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  notify();
  window.scrollTo(0, 0);
}

/** The current path without `base` (`/`, `/bundles/newborn`) and its query. */
export function usePathUnder(base: string): { path: string; search: URLSearchParams } {
  const current = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(current, window.location.origin);
  const path = base && url.pathname.startsWith(base) ? url.pathname.slice(base.length) || '/' : url.pathname;
  return { path, search: url.searchParams };
}

/** `/catalog/:id` against `/catalog/res_1` → { id: 'res_1' }; null when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return null;
  }
  return params;
}

export type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & {
  to: string;
  children: ReactNode;
};

/** A real link (middle-click, new tab and copy work) that navigates in place on a plain click. */
export function LinkUnder({ base, to, children, onClick, ...rest }: LinkProps & { base: string }) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
      return;
    event.preventDefault();
    navigateUnder(base, to);
  };
  return (
    <a href={hrefUnder(base, to)} onClick={handle} {...rest}>
      {children}
    </a>
  );
}
