/**
 * The one table of the gateway's own error codes: each `extensions.code` the gateway (or yoga, for the
 * few it raises itself) answers with, and what it tells a client. The README's Errors table prints it,
 * after Graph's codes (graph-api/error-rules.ts): `npm run errors:table`. Every error the gateway raises
 * with one of these codes is made by {@link gatewayError}, so a code not in the table fails to compile;
 * `npm run lint` (scripts/check-error-codes.ts) refuses a `code: '…'` literal anywhere else in src/.
 */
import { GraphQLError, type GraphQLErrorOptions } from 'graphql';
import { GRAPH_CLIENT_CODES } from './graph-api/error-rules.js';

/** Each gateway code and its meaning for clients, in the order the README lists them. */
export const GATEWAY_ERROR_CODES = {
  INVALID_PAGINATION: '`first`/`last` out of 1–100, both given, `last` without `before`, `after` with `last`…',
  BAD_CURSOR: 'a cursor this gateway did not issue for this list and caller',
  INBOX_TOO_WIDE:
    '`Viewer.inbox` (or `inboxEvents` without `pageId`) over more sources than `MAX_INBOX_SOURCES` (`extensions.sources`, ' +
    '`maxSources`): narrow with `pageIds` (`pageId` or `platform`)',
  CURSOR_EXPIRED: 'Graph no longer accepts the cursor behind it (its item was deleted): start from the first page',
  QUERY_TOO_COSTLY: 'the query could read more Graph items than `MAX_QUERY_COST` (`extensions.cost`, `maxCost`)',
  QUERY_TOO_DEEP: 'selections nested deeper than `MAX_QUERY_DEPTH`, or introspection deeper than 15 (`extensions.depth`, `maxDepth`)',
  INTROSPECTION_TOO_LARGE:
    'more than 3 `__schema`/`__type` fields in an operation (`extensions.introspectionFields`, `maxIntrospectionFields`), or an ' +
    'introspection field selected under several aliases (`extensions.field`)',
  INTROSPECTION_DISABLED: '`__schema` or `__type` selected while introspection is off (`INTROSPECTION`; off by default in production)',
  GRAPHQL_PARSE_FAILED: 'a syntax error, or more tokens than `MAX_QUERY_TOKENS`',
  GRAPHQL_VALIDATION_FAILED:
    'a document invalid for the schema (unknown field, wrong argument type…, or a mutation in a GET request), or introspection ' +
    'type lists nested three deep (`Maximum introspection depth exceeded`)',
  BAD_REQUEST:
    'a request GraphQL cannot read: malformed JSON (never echoed back in production), no `query`, a method other than GET or POST (405)',
  OPERATION_RESOLUTION_FAILURE: 'an `operationName` the document does not define, or several operations and none named',
  PERSISTED_QUERY_NOT_FOUND: 'a hash not in `PERSISTED_OPERATIONS_FILE` (message `PersistedQueryNotFound`)',
  PERSISTED_QUERY_NOT_SUPPORTED: 'a hash sent to a gateway with no manifest (message `PersistedQueryNotSupported`)',
  PERSISTED_QUERY_ONLY: 'text sent with `PERSISTED_OPERATIONS_ONLY=true`',
  PERSISTED_QUERY_ID_REQUIRED: 'neither `query` nor a persisted hash',
  REQUEST_TOO_LARGE: 'a body over `MAX_REQUEST_BODY_BYTES` (HTTP 413, `extensions.maxBodyBytes`)',
  NOT_FOUND: 'a path the gateway does not serve (HTTP 404)',
  UNSUPPORTED_MEDIA_TYPE: 'a POST body that is not JSON, `application/graphql+json` or a form (HTTP 415)',
  NOT_ACCEPTABLE: 'an `Accept` the gateway cannot answer (HTTP 406)',
  SUBSCRIPTION_TRANSPORT_UNSUPPORTED:
    'a subscription over HTTP whose `Accept` takes neither server-sent events nor Apollo multipart (`multipart/mixed`): ' +
    'use one, or the WebSocket (406)',
  ORIGIN_NOT_ALLOWED: 'a WebSocket upgrade from a browser origin `CORS_ORIGINS` does not allow (HTTP 403)',
  SHUTTING_DOWN: 'a WebSocket upgrade while the instance drains for a shutdown (HTTP 503): connect again',
  PAGE_NOT_ACCESSIBLE:
    "the caller's user token (or the gateway's configured Pages) does not reach this Page, or (for `callBudget`) the caller's Page " +
    "token is another Page's; see `viewer { pages }`",
  OPERATION_TIMEOUT: 'the operation waited for the Graph API longer than `OPERATION_TIMEOUT_MS`',
  BAD_NODE_ID: 'a `node(id:)` id this gateway did not issue',
  BAD_USER_INPUT: 'a Page id, conversation id, `userId` or tag that is not a valid Graph value, or a variable of the wrong type',
  UNAUTHENTICATED: 'no token, or an `Authorization` header that is not `Bearer <token>`',
  WEBHOOKS_NOT_CONFIGURED: '`inboxEvents` on a gateway without `GRAPH_APP_SECRET` and `WEBHOOK_VERIFY_TOKEN`',
  TOO_MANY_SUBSCRIPTIONS:
    'a subscription past `MAX_SUBSCRIPTIONS`, `MAX_SUBSCRIPTIONS_PER_CLIENT` or `MAX_SUBSCRIPTIONS_PER_CONNECTION` ' +
    '(`extensions.maxSubscriptions`, `per`)',
  REPLY_WINDOW_CLOSED:
    "a reply the messaging window no longer allows (24 h after the person's last message; 7 days for a human agent): refused " +
    'without calling Graph; a `ReplyWindowClosed` result with `closedAt` and `humanAgentUntil`',
  SEND_NOT_PERMITTED:
    'a reply from a user token with no MESSAGING task on the Page, or with `humanAgent` while `HUMAN_AGENT_TAG_APPROVED` is off ' +
    '(no call made); a `SendNotPermitted` result',
  SEND_OUTCOME_UNKNOWN:
    'the send left and no answer came (a timeout, a reset, Graph 1 or 2): it may have arrived. Retry with the same `idempotencyKey`; a ' +
    '`SendOutcomeUnknown` result with `retryAfterSeconds`',
  MESSAGE_NOT_SENT:
    'a retry of an unknown send whose echo never came within `SEND_ECHO_WAIT_SECONDS`: it did not arrive; a `MessageNotSent` result',
  IDEMPOTENCY_KEY_REUSED: 'an `idempotencyKey` already used (within 24 h, per Page) for a different message',
  SEND_LEDGER_UNAVAILABLE: "Redis, which keeps the fleet's sends exactly once, is unreachable: no send is risked twice; try again",
  INTERNAL_SERVER_ERROR: 'anything unexpected, masked as `Unexpected error.`',
} as const satisfies Readonly<Record<string, string>>;

/** A code of the gateway's own (not Graph's: those are `GraphClientCode`s). */
export type GatewayErrorCode = keyof typeof GATEWAY_ERROR_CODES;

/**
 * The error the gateway answers with `code`: `extensions.code`, then `extra` extensions (`maxSubscriptions`,
 * `per`, `cost`…). `options` places it (`nodes`, `path`) as graphql-js's own errors take them. For an
 * answer written as a plain JSON body, write `{ errors: [gatewayError(…).toJSON()] }`.
 */
export function gatewayError(
  code: GatewayErrorCode,
  message: string,
  extra?: Readonly<Record<string, unknown>>,
  options?: Omit<GraphQLErrorOptions, 'extensions'>,
): GraphQLError {
  return new GraphQLError(message, { ...options, extensions: { code, ...extra } });
}

/** `code`, checked against the table: for answers that carry a code without being errors (a mutation's typed refusals). */
export const gatewayCode = <const C extends GatewayErrorCode>(code: C): C => code;

/** A JSON body of one error, for answers written outside yoga (HTTP refusals, WebSocket upgrades). */
export function gatewayErrorBody(code: GatewayErrorCode, message: string, extra?: Readonly<Record<string, unknown>>): string {
  return JSON.stringify({ errors: [gatewayError(code, message, extra).toJSON()] });
}

/** How the caller was judged when a Page was out of its reach. */
export type ReachJudgedBy = 'configured Pages' | 'user token' | 'Page token';

/**
 * PAGE_NOT_ACCESSIBLE: `pageId` is not among the Pages the caller reaches, judged by the gateway's configured
 * Pages (no token), the Pages a user token manages, or a Page token's own Page.
 */
export function pageNotAccessible(pageId: string, judgedBy: ReachJudgedBy): GraphQLError {
  const message = {
    'configured Pages': `Page ${pageId} is not among the Pages this gateway serves: query \`viewer { pages }\` for them.`,
    'user token': `The caller's user token does not manage Page ${pageId}: query \`viewer { pages }\` for the Pages it reaches.`,
    'Page token': `The caller's Page token belongs to another Page than ${pageId}: query \`viewer { pages }\` for the Page it reaches.`,
  }[judgedBy];
  return gatewayError('PAGE_NOT_ACCESSIBLE', message);
}

/** BAD_NODE_ID: a `node(id:)` id this gateway did not issue (a malformed one, or one naming no Graph object it serves). */
export function badNodeId(globalId: string): GraphQLError {
  return gatewayError('BAD_NODE_ID', `Invalid node id "${globalId.slice(0, 100)}": pass an \`id\` exactly as this API returned it.`);
}

/** BAD_USER_INPUT for an argument a client sent that is not a valid Graph value. */
export function invalidArgument(message: string): GraphQLError {
  return gatewayError('BAD_USER_INPUT', message);
}

/** The README's errors table: the gateway's own codes, then Graph's (`npm run errors:table` writes it). */
export function errorTable(): string {
  const rows = Object.entries({ ...GATEWAY_ERROR_CODES, ...GRAPH_CLIENT_CODES }).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`);
  return ['| `extensions.code` | cause |', '|---|---|', ...rows].join('\n');
}
