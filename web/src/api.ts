/**
 * The one way the console talks to Shutong: the public REST API under /v1 with the login token
 * (kept in localStorage) as a bearer credential. Error bodies `{error: {code, message, messages}}`
 * become an ApiError whose text follows the console's current language.
 */
import i18n from './i18n.ts';
import { createApi, localTokenStore, type Query, type RequestOptions, withQuery } from './lib/http.ts';

export type { Query, RequestOptions };
export { withQuery };

export const tokenStore = localTokenStore('shutong.token');

const http = createApi({
  tokenStore,
  language: () => i18n.language,
  networkError: () => i18n.t('error.network'),
  // A 401 at the login is a wrong password, not an ended session.
  endsSession: (path) => !path.startsWith('/v1/auth/login'),
});

export const { ApiError, errorText, onUnauthenticated, request, fetchFile, upload } = http;
export type ApiError = InstanceType<typeof ApiError>;

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>(path, { query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) =>
    request<T>(path, { method: 'POST', body: body ?? {}, query }),
  put: <T>(path: string, body?: unknown) => request<T>(path, { method: 'PUT', body: body ?? {} }),
  patch: <T>(path: string, body?: unknown) => request<T>(path, { method: 'PATCH', body: body ?? {} }),
};

/** A binary resource (a PDF) fetched with the login token, as a Blob for an object URL. */
export async function fetchBlob(path: string): Promise<Blob> {
  return (await fetchFile(path)).blob;
}

/** Saves a Blob under a file name through a temporary link (the browser's download). */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
