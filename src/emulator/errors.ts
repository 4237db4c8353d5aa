/**
 * Graph error envelopes, one constructor per failure the emulator reproduces
 * (Meta: Handling Errors, developers.facebook.com/docs/graph-api/guides/error-handling). Handlers `throw` them; the server turns them into
 * `{"error":{message,type,code,error_subcode?,fbtrace_id}}` with the right HTTP status.
 */
import { randomBytes } from 'node:crypto';
import { SEED_NOW } from './seed.js';

export type GraphErrorType = 'OAuthException' | 'GraphMethodException' | 'GraphBatchException';

/** The `error` object of an envelope. */
export interface GraphErrorBody {
  message: string;
  type: GraphErrorType;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  fbtrace_id: string;
}

/** An error answer: HTTP status, envelope fields, and the `WWW-Authenticate` header Graph adds to OAuth errors. */
export class EmulatedGraphError extends Error {
  override readonly name = 'EmulatedGraphError';
  constructor(
    readonly status: number,
    readonly type: GraphErrorType,
    readonly code: number | undefined,
    message: string,
    readonly subcode?: number,
    readonly isTransient?: boolean,
  ) {
    super(message);
  }

  /** The envelope body, stamped with the request's trace id. */
  toBody(fbtraceId: string): { error: GraphErrorBody } {
    // Key order as Graph sends it: message, type, code, error_subcode, fbtrace_id.
    const error = { message: this.message, type: this.type } as GraphErrorBody;
    if (this.code !== undefined) error.code = this.code;
    if (this.subcode !== undefined) error.error_subcode = this.subcode;
    if (this.isTransient !== undefined) error.is_transient = this.isTransient;
    error.fbtrace_id = fbtraceId;
    return { error };
  }

  /**
   * `WWW-Authenticate` value for OAuth errors (Meta: Handling Errors, developers.facebook.com/docs/graph-api/guides/error-handling),
   * `undefined` for the others.
   */
  get wwwAuthenticate(): string | undefined {
    if (this.type !== 'OAuthException') return undefined;
    const kind = this.code === 190 ? 'invalid_token' : 'invalid_request';
    // Header values must be printable ASCII; messages can echo request text.
    const detail = this.message.replace(/[^\x20-\x7e]|"/g, '?');
    return `OAuth "Facebook Platform" "${kind}" "${detail}"`;
  }
}

const TRACE_ID_BYTES = 16;
/** Random bytes drawn in bulk: one `randomBytes` call per request costs more than the rest of a small answer. */
const TRACE_POOL_BYTES = TRACE_ID_BYTES * 256;
let tracePool = randomBytes(TRACE_POOL_BYTES);
let traceOffset = 0;

/** A fresh opaque trace id, shaped like Graph's (`AmFGcW_3hwDB7qFbl_QdebZ`). */
export function newTraceId(): string {
  if (traceOffset + TRACE_ID_BYTES > TRACE_POOL_BYTES) {
    tracePool = randomBytes(TRACE_POOL_BYTES);
    traceOffset = 0;
  }
  traceOffset += TRACE_ID_BYTES;
  return `A${tracePool.toString('base64url', traceOffset - TRACE_ID_BYTES, traceOffset)}`;
}

const GRAPH_DOCS = 'Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api';

/** No token in the query, the body or an `Authorization` header. */
export function missingToken(): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 104, 'An access token is required to request this resource.');
}

/** A token the emulator has never issued. */
export function invalidToken(): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 190, 'Invalid OAuth access token - Cannot parse access token');
}

/** A known token past its expiry; the "current time" is the seed world's fixed now. */
export function expiredToken(): EmulatedGraphError {
  const now = new Date((SEED_NOW - 8 * 3600) * 1000); // Pacific Standard Time on 2026-11-01
  const weekday = now.toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' });
  const month = now.toLocaleDateString('en-US', { month: 'short', timeZone: 'UTC' });
  const date = `${String(now.getUTCDate()).padStart(2, '0')}-${month}-${String(now.getUTCFullYear()).slice(2)}`;
  const time = now.toISOString().slice(11, 19);
  return new EmulatedGraphError(
    400,
    'OAuthException',
    190,
    `Error validating access token: Session has expired on Saturday, 31-Oct-26 10:00:00 PDT. The current time is ${weekday}, ${date} ` +
      `${time} PST.`,
    463,
  );
}

/** A Page token used on another Page's inbox. */
export function permissionsError(): EmulatedGraphError {
  return new EmulatedGraphError(403, 'OAuthException', 200, '(#200) Permissions error');
}

/**
 * A Page token whose user lacks the task the inbox needs: Graph's message for a Page role too weak for the
 * action, which names no task (Graph sends no `error_data` here either).
 */
export function missingTask(): EmulatedGraphError {
  return new EmulatedGraphError(
    403,
    'OAuthException',
    200,
    '(#200) The user does not have sufficient administrative permission for this action on this page.',
  );
}

/**
 * A token without a permission the inbox needs: Graph names one missing permission in the message
 * ("(#200) Requires pages_messaging permission to manage the object") and sends no list of them.
 */
export function missingPermission(permission: string): EmulatedGraphError {
  return new EmulatedGraphError(403, 'OAuthException', 200, `(#200) Requires ${permission} permission to manage the object`);
}

/** The person will not be messaged by the Page (they blocked it): the conversations edge's code 230. */
export function messagingDisallowed(): EmulatedGraphError {
  return new EmulatedGraphError(403, 'OAuthException', 230, '(#230) Permissions disallow message to user');
}

/** The token's user is temporarily blocked for policy violations: the conversations edge's code 368. */
export function policyBlocked(): EmulatedGraphError {
  return new EmulatedGraphError(
    400,
    'OAuthException',
    368,
    '(#368) The action attempted has been deemed abusive or is otherwise disallowed',
  );
}

/** A signed batch link that was altered or has expired (see batch-links.ts). */
export function incorrectSignature(): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 104, '(#104) Incorrect signature');
}

/** A user token used where only a Page token works (the inbox). */
export function pageTokenRequired(): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 190, '(#190) This method must be called with a Page Access Token');
}

/** `appsecret_proof` present but not the HMAC of this token under the app secret. */
export function invalidAppSecretProof(): EmulatedGraphError {
  return new EmulatedGraphError(400, 'GraphMethodException', 100, 'Invalid appsecret_proof provided in the API argument');
}

/** `appsecret_proof` missing while the app requires it. */
export function appSecretProofRequired(): EmulatedGraphError {
  return new EmulatedGraphError(400, 'GraphMethodException', 100, 'API calls from the server require an appsecret_proof argument');
}

/** Path segments past a node or edge that do not name anything, e.g. `/{page-id}/foo`. */
export function unknownPathComponents(path: string): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 2500, `Unknown path components: ${path}`);
}

/** An id that does not exist, is hidden, or does not support the method (code 100 / subcode 33). */
export function objectNotFound(id: string, method: 'get' | 'post' | 'delete' = 'get'): EmulatedGraphError {
  return new EmulatedGraphError(
    400,
    'GraphMethodException',
    100,
    `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not ` +
      `support this operation. ${GRAPH_DOCS}`,
    33,
  );
}

/** A `fields` entry the node type does not have. */
export function nonexistingField(field: string, nodeType: string): EmulatedGraphError {
  return new EmulatedGraphError(
    400,
    'OAuthException',
    100,
    `(#100) Tried accessing nonexisting field (${field}) on node type (${nodeType})`,
  );
}

/** A `fields` value that does not parse. */
export function fieldsSyntaxError(message: string): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 2500, message);
}

/** Any other invalid parameter; `detail` follows Graph's `(#100) ` prefix. */
export function invalidParameter(detail: string): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 100, `(#100) ${detail}`);
}

/** An `after`/`before` cursor that does not verify, belongs to another list or filter set, or lost its item. */
export function invalidCursor(): EmulatedGraphError {
  return invalidParameter('Invalid cursor');
}

/**
 * `?ids=` naming something that cannot be resolved: the whole multi-id read fails (Meta: Rate Limiting,
 * developers.facebook.com/docs/graph-api/overview/rate-limiting).
 */
export function aliasesNotFound(ids: readonly string[]): EmulatedGraphError {
  return new EmulatedGraphError(404, 'OAuthException', 803, `(#803) Some of the aliases you requested do not exist: ${ids.join(',')}`);
}

/** More than `maxItems` (50) items in one batch. */
export function tooManyBatchItems(maxItems: number): EmulatedGraphError {
  return invalidParameter(`Too many requests in batch message. Maximum batch size is ${maxItems}`);
}

/**
 * A batch item names a parent that is not an earlier item: the whole batch fails (Meta: Batch Requests,
 * developers.facebook.com/docs/graph-api/batch-requests).
 */
export function unresolvedBatchDependency(index: number, name: string): EmulatedGraphError {
  return new EmulatedGraphError(
    400,
    'GraphBatchException',
    undefined,
    `Request ${index} cannot depend on an unresolved request with name ${name}. Requests can only depend on preceding requests`,
  );
}

/**
 * Details of an Instagram message older than the thread's 20 newest: Meta says only that "you will get an error that the
 * message has been deleted" (Meta: Conversations, developers.facebook.com/docs/messenger-platform/conversations; Meta:
 * Message reference, developers.facebook.com/docs/graph-api/reference/message). [I] The error is the one Graph answers for a
 * deleted object, (#100) subcode 33; its id and time are still served.
 */
export function messageDetailsUnavailable(id: string): EmulatedGraphError {
  return objectNotFound(id);
}

/** A method on a path that has no object to apply it to (e.g. `GET /` without `ids`). */
export function unsupportedRequest(method: 'get' | 'post' | 'delete'): EmulatedGraphError {
  return new EmulatedGraphError(400, 'GraphMethodException', 100, `Unsupported ${method} request. ${GRAPH_DOCS}`);
}

/**
 * `GET /?ids=`, gone for every version since 2026-10-27 (Meta: Introducing Graph API v26,
 * developers.facebook.com/blog/post/2026/07/29/introducing-graph-api-v26-and-marketing-api-v26/).
 */
export function rootIdsReadRemoved(): EmulatedGraphError {
  return invalidParameter(
    'Root reads with the ids parameter are no longer supported. Read each object by its own path or use a batch request',
  );
}

/** A fault of the emulator itself; Graph's code 1 (Meta: Handling Errors, developers.facebook.com/docs/graph-api/guides/error-handling). */
export function unknownError(): EmulatedGraphError {
  return new EmulatedGraphError(500, 'OAuthException', 1, 'An unknown error has occurred.');
}

/**
 * Codes 1 and 2: Graph's own transient failures (Meta: Handling Errors, developers.facebook.com/docs/graph-api/guides/error-handling), sent
 * with HTTP 5xx.
 */
export function serverError(code: 1 | 2, status: number): EmulatedGraphError {
  const message = code === 1 ? 'An unknown error has occurred.' : 'An unexpected error has occurred. Please retry your request later.';
  return new EmulatedGraphError(status, 'OAuthException', code, message, undefined, true);
}

const RATE_LIMIT_DOCS = 'For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.';
const THROTTLE_MESSAGES: Record<number, string> = {
  4: '(#4) Application request limit reached',
  17: '(#17) User request limit reached',
  32: '(#32) Page request limit reached',
  613: '(#613) Calls to this api have exceeded the rate limit.',
  80001: `(#80001) There have been too many calls to this Page account. Wait a bit and try again. ${RATE_LIMIT_DOCS}`,
  80006: `(#80006) There have been too many messenger api calls to this Page account. Wait a bit and try again. ${RATE_LIMIT_DOCS}`,
};

/**
 * A throttle (Meta: Handling Errors, developers.facebook.com/docs/graph-api/guides/error-handling; Meta: Rate Limiting,
 * developers.facebook.com/docs/graph-api/overview/rate-limiting): HTTP 400, transient.
 */
export function throttled(code: number): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', code, THROTTLE_MESSAGES[code] ?? `(#${code}) Rate limit reached`, undefined, true);
}

/**
 * A Send API recipient that is no customer of the Page (Meta: Send API reference,
 * developers.facebook.com/docs/messenger-platform/reference/send-api; subcode 2018001 as integrators report it).
 */
export function noMatchingUser(): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 100, '(#100) No matching user found', 2018001);
}

/** Subcodes of the window error per platform, as integrators report them (graph-api.md, "Sending"). */
const OUTSIDE_WINDOW_SUBCODES = { messenger: 2018278, instagram: 2534022 } as const;

/**
 * A send outside the messaging window: 24 hours after the customer's last message, 7 days with the
 * `HUMAN_AGENT` tag (Meta: Messenger Platform policy, developers.facebook.com/docs/messenger-platform/policy-overview).
 */
export function outsideMessagingWindow(platform: 'messenger' | 'instagram'): EmulatedGraphError {
  return new EmulatedGraphError(
    400,
    'OAuthException',
    10,
    '(#10) This message is sent outside of allowed window. Learn more about the new policy here: ' +
      'https://developers.facebook.com/docs/messenger-platform/policy-overview',
    OUTSIDE_WINDOW_SUBCODES[platform],
  );
}

/** The recipient cannot be messaged right now (Meta: Send API error codes): code 551, subcode 1545041. */
export function personUnavailable(): EmulatedGraphError {
  return new EmulatedGraphError(400, 'OAuthException', 551, "(#551) This person isn't available right now.", 1545041);
}

/**
 * A `HUMAN_AGENT` send from an app without the Human Agent feature (App Review): Graph's generic (#200)
 * with the reason; the exact wording is the emulator's ([I]: Meta's is not documented).
 */
export function humanAgentNotApproved(): EmulatedGraphError {
  return new EmulatedGraphError(
    403,
    'OAuthException',
    200,
    '(#200) The app lacks the Human Agent feature, which the HUMAN_AGENT tag requires',
  );
}

/** A Send API call over the Page's send rate (about 300 calls per second for text): (#613), transient. */
export function sendRateExceeded(): EmulatedGraphError {
  return throttled(613);
}
