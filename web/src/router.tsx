/**
 * The console's router (lib/router.tsx at the site's root): the console has a dozen flat routes,
 * and the server answers any browser GET outside its API with index.html, so every page is
 * deep-linkable.
 */
import { type LinkProps, LinkUnder, matchPath, navigateUnder, usePathUnder } from './lib/router.tsx';

export { matchPath };

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  navigateUnder('', to, options);
}

export interface Location {
  pathname: string;
  search: URLSearchParams;
}

export function useLocation(): Location {
  const { path, search } = usePathUnder('');
  return { pathname: path, search };
}

export function Link(props: LinkProps) {
  return <LinkUnder base="" {...props} />;
}
