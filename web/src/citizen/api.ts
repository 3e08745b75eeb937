/**
 * The citizen site's calls to the API under /v1, with its own session token (kept apart from the
 * staff console's, so a person signed in to both keeps both). Error bodies
 * `{error: {code, message, messages, details}}` become an ApiError in the site's language.
 */
import { i18n } from './i18n.ts';

const TOKEN_KEY = 'shutong.citizen.token';

export const tokenStore = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (token: string) => localStorage.setItem(TOKEN_KEY, token),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly messages: { 'zh-CN'?: string; en?: string };
  readonly details: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    message: string,
    messages: ApiError['messages'] = {},
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.messages = messages;
    this.details = details;
  }

  /** The server's sentence in the site's language. */
  text(): string {
    const message = i18n.language === 'en' ? this.messages.en : this.messages['zh-CN'];
    return message ?? this.message;
  }

  /** The form field the server names (`form.birth_date` → `birth_date`), if any. */
  field(): string | null {
    const field = this.details.field;
    return typeof field === 'string' ? field.replace(/^form\./, '') : null;
  }
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.text();
  if (error instanceof TypeError) return i18n.t('error.network');
  if (error instanceof Error) return error.message;
  return String(error);
}

let unauthenticated: (() => void) | null = null;
/** Called when a signed-in request answers 401: the session has ended. */
export function onUnauthenticated(handler: (() => void) | null): void {
  unauthenticated = handler;
}

async function toError(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (error && typeof error.code === 'string')
    return new ApiError(
      res.status,
      error.code,
      String(error.message ?? error.code),
      (error.messages ?? {}) as ApiError['messages'],
      (error.details ?? {}) as Record<string, unknown>,
    );
  return new ApiError(res.status, `HTTP_${res.status}`, `${res.status} ${res.statusText}`, {
    'zh-CN': `服务器返回 ${res.status}`,
    en: `The server answered ${res.status}`,
  });
}

export async function request<T>(
  path: string,
  options: { method?: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = tokenStore.get();
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(path, { method: options.method ?? 'GET', headers, body, signal: options.signal });
  if (!res.ok) {
    const error = await toError(res);
    if (res.status === 401 && token && !path.endsWith('/login')) unauthenticated?.();
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (/json/.test(type) ? await res.json() : await res.text()) as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>(path, { signal }),
  post: <T>(path: string, body?: unknown) => request<T>(path, { method: 'POST', body: body ?? {} }),
};
