/**
 * The citizen site's router under /citizen/ (lib/router.tsx): paths here are relative to the base
 * (`/bundles/newborn`); links and navigation add it.
 */
import {
  hrefUnder,
  type LinkProps,
  LinkUnder,
  matchPath,
  navigateUnder,
  navigationCount,
  usePathUnder,
} from '../lib/router.tsx';

export const BASE = '/citizen';

export { matchPath };

export const href = (to: string) => hrefUnder(BASE, to);

/** Client-side navigations so far: the first page load keeps the browser's own focus. */
export const navigations = navigationCount;

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  navigateUnder(BASE, to, options);
}

export interface Location {
  /** Without the base: `/`, `/bundles/newborn`. */
  path: string;
  search: URLSearchParams;
}

export function useLocation(): Location {
  return usePathUnder(BASE);
}

export function Link(props: LinkProps) {
  return <LinkUnder base={BASE} {...props} />;
}
