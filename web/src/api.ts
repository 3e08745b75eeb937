/**
 * The one way the console talks to Shutong: the public REST API under /v1 with the login token
 * (kept in localStorage) as a bearer credential. Error bodies `{error: {code, message, messages}}`
 * become an ApiError whose text follows the console's current language.
 */
import i18n from './i18n.ts';

const TOKEN_KEY = 'shutong.token';

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
    messages: { 'zh-CN'?: string; en?: string } = {},
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.messages = messages;
    this.details = details;
  }

  /** The server's message in the console's language, with the field it names if any. */
  text(lang: string = i18n.language): string {
    const message = lang === 'en' ? this.messages.en : this.messages['zh-CN'];
    return message ?? this.message;
  }
}

/** A readable sentence for anything a call can throw. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.text();
  if (error instanceof TypeError) return i18n.t('error.network');
  if (error instanceof Error) return error.message;
  return String(error);
}

let unauthenticated: (() => void) | null = null;
/** Called when a request answers 401: the session has ended (logout elsewhere, expiry). */
export function onUnauthenticated(handler: (() => void) | null): void {
  unauthenticated = handler;
}

export type Query = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, v);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function toError(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (error && typeof error.code === 'string') {
    return new ApiError(
      res.status,
      error.code,
      String(error.message ?? error.code),
      (error.messages ?? {}) as ApiError['messages'],
      (error.details ?? {}) as Record<string, unknown>,
    );
  }
  return new ApiError(res.status, `HTTP_${res.status}`, `${res.status} ${res.statusText}`, {
    'zh-CN': `服务器返回 ${res.status}`,
    en: `The server answered ${res.status}`,
  });
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  /** A bearer credential other than the session (e.g. an API key the user just made). */
  token?: string;
  signal?: AbortSignal;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = options.token ?? tokenStore.get();
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(withQuery(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    body,
    signal: options.signal,
  });
  if (!res.ok) {
    const error = await toError(res);
    if (res.status === 401 && !options.token && !path.startsWith('/v1/auth/login')) unauthenticated?.();
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  // application/json and its +json relatives (the gateway's paged envelope).
  if (/[/+]json\b/.test(type)) return (await res.json()) as T;
  return (await res.text()) as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>(path, { query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) =>
    request<T>(path, { method: 'POST', body: body ?? {}, query }),
  put: <T>(path: string, body?: unknown) => request<T>(path, { method: 'PUT', body: body ?? {} }),
  patch: <T>(path: string, body?: unknown) => request<T>(path, { method: 'PATCH', body: body ?? {} }),
};

/** A file (a PDF, a CSV export) fetched with the login token, with the answer's headers. */
export async function fetchFile(path: string, query?: Query): Promise<{ blob: Blob; headers: Headers }> {
  const token = tokenStore.get();
  const res = await fetch(withQuery(path, query), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!res.ok) {
    const error = await toError(res);
    if (res.status === 401) unauthenticated?.();
    throw error;
  }
  return { blob: await res.blob(), headers: res.headers };
}

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

/**
 * Sends a file as the raw request body (the import endpoints stream it), reporting upload
 * progress. XMLHttpRequest because fetch has no upload progress. POST as
 * application/octet-stream unless told otherwise (a request letter is PUT with its own type).
 */
export function upload<T>(
  path: string,
  file: Blob,
  query: Query,
  onProgress?: (loaded: number, total: number) => void,
  options: { method?: 'POST' | 'PUT'; contentType?: string } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(options.method ?? 'POST', withQuery(path, query));
    const token = tokenStore.get();
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', options.contentType ?? 'application/octet-stream');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (event) =>
      onProgress?.(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onerror = () => reject(new TypeError('network'));
    xhr.onload = () => {
      const res = new Response(xhr.responseText, {
        status: xhr.status,
        headers: { 'content-type': xhr.getResponseHeader('content-type') ?? 'application/json' },
      });
      if (xhr.status >= 200 && xhr.status < 300) {
        res.json().then((v) => resolve(v as T), reject);
      } else {
        toError(res).then((error) => {
          if (xhr.status === 401) unauthenticated?.();
          reject(error);
        }, reject);
      }
    };
    xhr.send(file);
  });
}
