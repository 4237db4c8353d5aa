import { graphErrorRule } from './error-rules.js';
import { scrubSecrets } from './scrub.js';

/** The `error` object of a Graph API error envelope (https://developers.facebook.com/docs/graph-api/guides/error-handling). */
export interface GraphErrorBody {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  fbtrace_id?: string;
  error_user_title?: string;
  error_user_msg?: string;
  /** Extra detail, an object or a JSON string. */
  error_data?: unknown;
}

/**
 * An error the Graph API answered with. Decisions are made on `code`/`subcode`, never on the
 * message, which is kept (scrubbed of tokens and URLs) only to be shown.
 */
export class GraphApiError extends Error {
  override readonly name = 'GraphApiError';
  readonly status: number;
  readonly code: number;
  readonly subcode: number | undefined;
  readonly type: string;
  readonly fbtraceId: string | undefined;
  readonly isTransient: boolean;

  constructor(status: number, body: GraphErrorBody) {
    super(scrubSecrets(body.message ?? `Graph API error (HTTP ${status})`));
    this.status = status;
    this.code = typeof body.code === 'number' ? body.code : 0;
    this.subcode = typeof body.error_subcode === 'number' ? body.error_subcode : undefined;
    this.type = body.type ?? 'UnknownException';
    this.fbtraceId = body.fbtrace_id;
    this.isTransient = body.is_transient === true;
  }
}

/** Why a call produced no Graph answer at all. */
export type GraphTransportFailure =
  | 'timeout' // no answer in time
  | 'slot-timeout' // a batch slot that came back `null`: Graph timed out on that item
  | 'connection' // refused, reset, DNS…
  | 'malformed-response'; // a body that is not the JSON Graph sends

/** A call that failed before or while reading the Graph API's answer. */
export class GraphTransportError extends Error {
  override readonly name = 'GraphTransportError';
  constructor(
    readonly failure: GraphTransportFailure,
    detail: string,
    /**
     * The request never left: no connection to Graph was made (refused, no route, a name that does not resolve,
     * a connect timeout). The only failure that proves a write had no effect.
     */
    readonly unsent = false,
  ) {
    super(scrubSecrets(detail));
  }
}

/** True when `value` is an error body envelope: Graph marks errors by the presence of `error`, not by status. */
export function isErrorEnvelope(value: unknown): value is { error: GraphErrorBody } {
  return typeof value === 'object' && value !== null && 'error' in value && typeof value.error === 'object' && value.error !== null;
}

/** True for Graph's throttling codes (see error-rules.ts): answered by waiting, never by retrying sooner. */
export function isThrottleCode(code: number): boolean {
  return graphErrorRule(code).throttle;
}

/**
 * A read refused because its Page is over its call budget: Graph throttled it (then `graphError` is
 * Graph's answer), or the gateway refused to call while a throttle block lasts.
 */
export class GraphRateLimitError extends Error {
  override readonly name = 'GraphRateLimitError';
  constructor(
    readonly page: string | undefined,
    readonly retryAfterSeconds: number,
    readonly graphError?: GraphApiError,
  ) {
    super(
      graphError?.message ??
        `The Graph API rate limit for this Page was reached; no calls are made for it until the block ends (about ${retryAfterSeconds} s).`,
    );
  }
}

/** Why an operation stopped waiting for its reads. */
export class OperationAbortedError extends Error {
  override readonly name = 'OperationAbortedError';
  constructor(readonly reason: 'deadline' | 'disconnected') {
    super(reason === 'deadline' ? 'The operation ran out of time waiting for the Graph API.' : 'The client went away.');
  }
}
