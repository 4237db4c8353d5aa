/**
 * A Graph read described as data, so that identical reads can be recognised (deduplicated,
 * coalesced, batched) by one canonical key: their relative URL.
 */

export interface GraphRequest {
  /** Path below the version, without a leading slash: `123/conversations`, `t_456`. */
  readonly path: string;
  /** Query parameters; `undefined` values are left out. Never holds a token. */
  readonly params: Readonly<Record<string, string | number | undefined>>;
}

// Graph object ids: page ids are digits, thread ids `t_…` or base64url, old message ids `m_mid.…:hex`.
const GRAPH_ID_PATTERN = /^[A-Za-z0-9_.:=$-]{1,256}$/;

/** True when `id` can be put into a Graph path as is. Anything a client sends goes through this first. */
export function isGraphId(id: string): boolean {
  return GRAPH_ID_PATTERN.test(id);
}

/**
 * The request as a relative URL (`v25.0/123/conversations?fields=…&limit=25`): the batch item's
 * `relative_url`, and the key under which identical reads are recognised. Parameters are sorted.
 */
export function toRelativeUrl(version: string, request: GraphRequest): string {
  const search = new URLSearchParams();
  for (const name of Object.keys(request.params).sort()) {
    const value = request.params[name];
    if (value !== undefined) search.append(name, String(value));
  }
  const query = search.toString();
  return `${version}/${request.path}${query === '' ? '' : `?${query}`}`;
}
