/**
 * The citizen site's calls to the API under /v1, with its own session token (kept apart from the
 * staff console's, so a person signed in to both keeps both). Error bodies
 * `{error: {code, message, messages, details}}` become an ApiError in the site's language.
 */
import { createApi, localTokenStore } from '../lib/http.ts';
import { i18n } from './i18n.ts';

export const tokenStore = localTokenStore('shutong.citizen.token');

const http = createApi({
  tokenStore,
  language: () => i18n.language,
  networkError: () => i18n.t('error.network'),
  // Only a signed-in request can find its session ended; a 401 at the login is a wrong answer.
  endsSession: (path, token) => token !== null && !path.endsWith('/login'),
});

export const { ApiError, errorText, onUnauthenticated, request } = http;
export type ApiError = InstanceType<typeof ApiError>;

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>(path, { signal }),
  post: <T>(path: string, body?: unknown) => request<T>(path, { method: 'POST', body: body ?? {} }),
};
