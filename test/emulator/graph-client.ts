/**
 * A minimal Graph client for the emulator tests: plain `fetch`, answers typed loosely enough to
 * assert literal shapes without `any`.
 */

export type Json = Record<string, unknown>;

/** A list answer: `{"data":[…],"paging":{…}}`. */
export interface GraphListBody<T = Json> {
  data: T[];
  paging?: {
    cursors?: { before: string; after: string };
    next?: string;
    previous?: string;
  };
}

/** An error envelope. */
export interface GraphErrorEnvelope {
  error: {
    message: string;
    type: string;
    code?: number;
    error_subcode?: number;
    is_transient?: boolean;
    error_data?: Record<string, unknown>;
    fbtrace_id: string;
  };
}

export interface GraphAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** GETs `url` (absolute, e.g. a `paging.next` link, used verbatim) and parses the JSON body. */
export async function getJson<T = Json>(url: string, init?: RequestInit): Promise<GraphAnswer<T>> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

/** POSTs a form-encoded body. */
export async function postForm<T = Json>(url: string, form: Record<string, string>): Promise<GraphAnswer<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

/** A query string from pairs; `undefined` values are left out. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.append(name, String(value));
  return search.toString();
}
