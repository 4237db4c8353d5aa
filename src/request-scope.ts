/**
 * The request a line of the log belongs to. Each HTTP request to the GraphQL app runs inside a scope holding
 * its id (use-access-log.ts opens it); the logger adds `requestId` to every line written within it, whatever
 * wrote the line (a resolver, the scheduler's flush the request started, yoga's own error lines).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** The header a request id comes in on, and goes back on. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What a client's request id may hold: anything else is replaced, never logged (it could carry a line break or a token). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** W3C Trace Context: `version-traceid-parentid-flags`, lowercase hex (www.w3.org/TR/trace-context/#traceparent-header). */
const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;
const INVALID_TRACE_ID = '0'.repeat(32);

export interface RequestScope {
  readonly requestId: string;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

/** The request's id: its own `X-Request-Id` when well-formed, else the trace id of its `traceparent`, else a new one. */
export function requestIdOf(headers: { get(name: string): string | null }): string {
  const given = headers.get(REQUEST_ID_HEADER)?.trim();
  if (given !== undefined && CLIENT_REQUEST_ID.test(given)) return given;
  const traceId = TRACEPARENT.exec(headers.get('traceparent')?.trim() ?? '')?.[1];
  if (traceId !== undefined && traceId !== INVALID_TRACE_ID) return traceId;
  return randomUUID();
}

/** The fields the current request adds to a log line (none outside a request). */
export function requestFields(): { requestId?: string } {
  const scope = requestScope.getStore();
  return scope === undefined ? {} : { requestId: scope.requestId };
}
