/**
 * Which browser pages may use the gateway with the caller's credentials: call it (CORS, with
 * `access-control-allow-credentials`) and open a WebSocket on it. One rule for both roads, decided once
 * from `CORS_ORIGINS` and the mode: the configured origins when set; else, in development, pages served
 * from this machine (a dev server on `http://localhost:5173`), and in production none. Pages the gateway
 * serves itself (GraphiQL) are same-origin: CORS does not concern them, and the WebSocket gate lets them in.
 */

/** The origins allowed: a list (exact matches), or `loopback` (any http(s) origin on localhost, 127.0.0.0/8 or [::1]). */
export type AllowedOrigins = readonly string[] | 'loopback';

/** `CORS_ORIGINS` when set; else loopback origins in development and none in production. */
export function allowedOriginsOf(corsOrigins: readonly string[] | undefined, production: boolean): AllowedOrigins {
  return corsOrigins ?? (production ? [] : 'loopback');
}

const LOOPBACK_IPV4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Whether `origin` (as a browser sends it: `scheme://host[:port]`) is a page on this machine: http(s) on
 * `localhost`, `127.0.0.0/8` or `[::1]`. Anything not in the form a browser writes is refused.
 */
export function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin) return false;
  return url.hostname === 'localhost' || url.hostname === '[::1]' || LOOPBACK_IPV4.test(url.hostname);
}

/** Whether a page of `origin` may call the gateway with credentials and open a WebSocket on it. */
export function isAllowedOrigin(origin: string, allowed: AllowedOrigins): boolean {
  return allowed === 'loopback' ? isLoopbackOrigin(origin) : allowed.includes(origin);
}
