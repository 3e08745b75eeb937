/**
 * The fetch wrapper both front-ends talk to the API under /v1 with: a bearer token from the
 * front-end's own store, JSON in and out, and error bodies `{error: {code, message, messages,
 * details}}` turned into an ApiError whose text follows the front-end's current language. Each
 * front-end makes one with createApi, since each keeps its own session and its own i18n instance.
 */

export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

/** A token kept in localStorage under `key`. */
export function localTokenStore(key: string): TokenStore {
  return {
    get: () => localStorage.getItem(key),
    set: (token) => localStorage.setItem(key, token),
    clear: () => localStorage.removeItem(key),
  };
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

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  /** A bearer credential other than the session (e.g. an API key the user just made). */
  token?: string;
  signal?: AbortSignal;
}

export interface ApiOptions {
  tokenStore: TokenStore;
  /** The front-end's current language, read at the time an error is shown. */
  language: () => string;
  /** The sentence for a request that never reached the server. */
  networkError: () => string;
  /**
   * Whether a 401 to a request sent with the session token (`token` is what was sent, null when
   * nothing was) means the session has ended — not, say, a wrong password at the login.
   */
  endsSession: (path: string, token: string | null) => boolean;
}

export function createApi(options: ApiOptions) {
  const { tokenStore } = options;

  class ApiError extends Error {
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

    /** The server's message in the front-end's language. */
    text(lang: string = options.language()): string {
      const message = lang === 'en' ? this.messages.en : this.messages['zh-CN'];
      return message ?? this.message;
    }

    /** The form field the server names (`form.birth_date` → `birth_date`), if any. */
    field(): string | null {
      const field = this.details.field;
      return typeof field === 'string' ? field.replace(/^form\./, '') : null;
    }
  }

  /** A readable sentence for anything a call can throw. */
  function errorText(error: unknown): string {
    if (error instanceof ApiError) return error.text();
    if (error instanceof TypeError) return options.networkError();
    if (error instanceof Error) return error.message;
    return String(error);
  }

  let unauthenticated: (() => void) | null = null;
  /** Called when a request answers 401: the session has ended (logout elsewhere, expiry). */
  function onUnauthenticated(handler: (() => void) | null): void {
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

  async function request<T>(path: string, requestOptions: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = requestOptions.token ?? tokenStore.get();
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (requestOptions.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(requestOptions.body);
    }
    const res = await fetch(withQuery(path, requestOptions.query), {
      method: requestOptions.method ?? 'GET',
      headers,
      body,
      signal: requestOptions.signal,
    });
    if (!res.ok) {
      const error = await toError(res);
      if (res.status === 401 && !requestOptions.token && options.endsSession(path, token))
        unauthenticated?.();
      throw error;
    }
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    // application/json and its +json relatives (the gateway's paged envelope).
    if (/[/+]json\b/.test(type)) return (await res.json()) as T;
    return (await res.text()) as T;
  }

  /** A file (a PDF, a CSV export) fetched with the session token, with the answer's headers. */
  async function fetchFile(path: string, query?: Query): Promise<{ blob: Blob; headers: Headers }> {
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

  /**
   * Sends a file as the raw request body (the import endpoints stream it), reporting upload
   * progress. XMLHttpRequest because fetch has no upload progress. POST as
   * application/octet-stream unless told otherwise (a request letter is PUT with its own type).
   */
  function upload<T>(
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

  return { ApiError, errorText, onUnauthenticated, request, fetchFile, upload };
}
