/**
 * The one table of Graph error rules: for each Graph error code (and subcode), the stable code a
 * client of this gateway sees, whether a read failing with it may be made again, whether it is a
 * throttle (answered by leaving the Page alone, never by retrying sooner), and whether it judges the
 * caller (another caller's token may well succeed). The error mapper (src/graph-errors.ts), the retry
 * policy (retry.ts), throttle detection (errors.ts) and the read cache (read-cache.ts) all read it.
 * Decided by code and subcode only, never by message text. Codes and meanings: Meta's "Handle Errors"
 * and rate-limiting pages (https://developers.facebook.com/docs/graph-api/guides/error-handling,
 * https://developers.facebook.com/docs/graph-api/overview/rate-limiting) and the conversations edge's
 * reference (https://developers.facebook.com/docs/graph-api/reference/page/conversations).
 */

/**
 * What a client of the gateway is told of an upstream failure, as `extensions.code`, and what it means (the
 * README's Errors table prints it after the gateway's own codes, src/gateway-errors.ts: `npm run errors:table`).
 */
export const GRAPH_CLIENT_CODES = {
  GRAPH_UNAVAILABLE: 'Graph 1, 2 (made again with backoff first); connection failures; malformed upstream answers',
  GRAPH_PERMISSION_DENIED:
    "Graph 3, 10, 200–299 (but 230 and the subcodes below): the app lacks a capability or permission, or the token's user a task " +
    "on the Page; the message is Graph's when it names the permission, else says so with a link to Meta's permissions reference",
  GRAPH_RATE_LIMITED:
    'Graph 4, 17, 32, 341, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014, or the Page is blocked after ' +
    'one; `extensions.retryAfterSeconds` says when to try again',
  GRAPH_INVALID_PARAMETER:
    'Graph 100, 2500: an invalid parameter or `fields` value (100 with the subcodes below excepted; 100 with no subcode on a read ' +
    'from a cursor is `CURSOR_EXPIRED`)',
  GRAPH_NOT_FOUND:
    'Graph 100 / subcode 33, 803: the object does not exist or cannot be loaded with this token (also what Graph answers for the ' +
    "details of an Instagram message older than its conversation's 20 newest, which the gateway serves with " +
    '`detailsAvailable: false` instead)',
  GRAPH_TOKEN_INVALID: 'Graph 102, 190 (190 / subcode 463 excepted): re-authenticate',
  GRAPH_TOKEN_MISSING: "Graph 104: no token reached Graph, or Graph refused the request's signature",
  GRAPH_TOKEN_EXPIRED: 'Graph 190 / subcode 463',
  GRAPH_MESSAGING_DISALLOWED:
    'Graph 10 / subcode 2018108, 230: the person does not let the Page message them (they blocked it): show that, there is ' +
    'nothing to fix in the credentials',
  GRAPH_OUTSIDE_WINDOW:
    'Graph 10 / subcode 2018278, 10 / subcode 2534022 (Messenger, Instagram): a send outside the messaging window (24 h after ' +
    "the person's last message; 7 days for a human agent with the `HUMAN_AGENT` tag)",
  GRAPH_RECIPIENT_UNAVAILABLE: "Graph 200 / subcode 1545041, 551: the person isn't available right now (deactivated, or unreachable)",
  GRAPH_POLICY_BLOCKED: "Graph 368: the token's user is blocked for policy violations, for hours or days; not retried",
  GRAPH_ERROR: 'any other Graph code (made again when Graph marks it transient)',
  GRAPH_TIMEOUT: 'no upstream answer in time (or a batch item that timed out twice)',
} as const satisfies Readonly<Record<string, string>>;

/** What a client of the gateway is told of an upstream failure, as `extensions.code`. */
export type GraphClientCode = keyof typeof GRAPH_CLIENT_CODES;

/** The code of every throttle, and of a read refused while its Page is blocked after one. */
export const RATE_LIMITED_CODE = 'GRAPH_RATE_LIMITED' satisfies GraphClientCode;

/**
 * Whether a read failing this way is made again: `always` (Graph's own transient failures), `never`
 * (the same read fails the same way, or retrying extends a block), or `if-transient` (when Graph marks
 * the error `is_transient` or answers HTTP 5xx).
 */
export type RetryPolicy = 'always' | 'never' | 'if-transient';

export interface GraphErrorRule {
  /** The Graph code, or the first of a range. */
  readonly code: number;
  /** The last code of a range, inclusive. */
  readonly through?: number;
  /** Only this subcode; absent: any subcode. */
  readonly subcode?: number;
  readonly clientCode: GraphClientCode;
  readonly retry: RetryPolicy;
  readonly throttle: boolean;
  /** About the caller's token or its user (token, permissions, a policy block): another caller's read may succeed. */
  readonly judgesCaller: boolean;
  /** What Graph means by it. */
  readonly meaning: string;
}

const never = { retry: 'never', throttle: false, judgesCaller: false } as const;
/** Errors about the caller's token or its user. */
const callers = { retry: 'never', throttle: false, judgesCaller: true } as const;
/** Throttles: answered by blocking the Page for Graph's `estimated_time_to_regain_access`. */
const throttle = (code: number, meaning: string): GraphErrorRule => ({
  code,
  clientCode: RATE_LIMITED_CODE,
  retry: 'never',
  throttle: true,
  judgesCaller: false,
  meaning,
});

/** Every rule; a subcode rule wins over its code's rule, an exact code over a range (see {@link graphErrorRule}). */
export const GRAPH_ERROR_RULES: readonly GraphErrorRule[] = [
  {
    code: 1,
    clientCode: 'GRAPH_UNAVAILABLE',
    retry: 'always',
    throttle: false,
    judgesCaller: false,
    meaning: 'unknown error (Graph: wait and retry)',
  },
  {
    code: 2,
    clientCode: 'GRAPH_UNAVAILABLE',
    retry: 'always',
    throttle: false,
    judgesCaller: false,
    meaning: 'temporary service downtime',
  },
  { code: 3, clientCode: 'GRAPH_PERMISSION_DENIED', ...callers, meaning: 'the app lacks the capability (App Review, Advanced Access)' },
  throttle(4, 'application request limit reached'),
  { code: 10, clientCode: 'GRAPH_PERMISSION_DENIED', ...callers, meaning: 'permission denied' },
  { code: 10, subcode: 2018278, clientCode: 'GRAPH_OUTSIDE_WINDOW', ...never, meaning: 'a Messenger send outside the messaging window' },
  { code: 10, subcode: 2534022, clientCode: 'GRAPH_OUTSIDE_WINDOW', ...never, meaning: 'an Instagram send outside the messaging window' },
  {
    code: 10,
    subcode: 2018108,
    clientCode: 'GRAPH_MESSAGING_DISALLOWED',
    ...never,
    meaning: 'the person is not receiving messages from the Page',
  },
  throttle(17, 'user request limit reached'),
  throttle(32, 'Page request limit reached'),
  { code: 100, clientCode: 'GRAPH_INVALID_PARAMETER', ...never, meaning: 'invalid parameter, unknown field, bad appsecret_proof' },
  {
    code: 100,
    subcode: 33,
    clientCode: 'GRAPH_NOT_FOUND',
    ...never,
    meaning: 'the object does not exist, cannot be loaded with these permissions, or does not support the call',
  },
  { code: 102, clientCode: 'GRAPH_TOKEN_INVALID', ...callers, meaning: 'API session: login or token invalid' },
  { code: 104, clientCode: 'GRAPH_TOKEN_MISSING', ...callers, meaning: 'no access token, or an incorrect request signature' },
  { code: 190, clientCode: 'GRAPH_TOKEN_INVALID', ...callers, meaning: 'invalid OAuth access token (revoked, logged out, app removed…)' },
  { code: 190, subcode: 463, clientCode: 'GRAPH_TOKEN_EXPIRED', ...callers, meaning: 'the access token expired' },
  {
    code: 200,
    through: 299,
    clientCode: 'GRAPH_PERMISSION_DENIED',
    ...callers,
    meaning: 'permissions error: a task or permission is missing',
  },
  {
    code: 230,
    clientCode: 'GRAPH_MESSAGING_DISALLOWED',
    ...never,
    meaning: 'permissions disallow message to user: the person does not let the Page message them',
  },
  throttle(341, 'application limit reached'),
  {
    code: 200,
    subcode: 1545041,
    clientCode: 'GRAPH_RECIPIENT_UNAVAILABLE',
    ...never,
    meaning: "the person isn't available right now",
  },
  {
    code: 368,
    clientCode: 'GRAPH_POLICY_BLOCKED',
    ...callers,
    meaning: 'the action was deemed abusive or is otherwise disallowed (a block for policy violations, lasting hours or days)',
  },
  { code: 551, clientCode: 'GRAPH_RECIPIENT_UNAVAILABLE', ...never, meaning: "this person isn't available right now" },
  throttle(613, 'calls to this API exceeded the rate limit'),
  { code: 803, clientCode: 'GRAPH_NOT_FOUND', ...never, meaning: 'some of the aliases requested do not exist' },
  { code: 2500, clientCode: 'GRAPH_INVALID_PARAMETER', ...never, meaning: 'error parsing the graph query (a bad `fields` value or path)' },
  throttle(80000, 'Ads Insights business use case limit'),
  throttle(80001, 'Pages business use case limit'),
  throttle(80002, 'Instagram business use case limit'),
  throttle(80003, 'Custom Audience business use case limit'),
  throttle(80004, 'Ads Management business use case limit'),
  throttle(80005, 'LeadGen business use case limit'),
  throttle(80006, 'Messenger business use case limit'),
  throttle(80008, 'WhatsApp Business Account business use case limit'),
  throttle(80009, 'Catalog Management business use case limit'),
  throttle(80014, 'Catalog Batch business use case limit'),
];

/**
 * The one rule that depends on the request as well as the code, so the table above cannot hold it: Graph
 * cursors die with the item they mark (Meta: Paginated Results, developers.facebook.com/docs/graph-api/results),
 * and Graph answers a dead cursor with code 100 and no subcode. The gateway's list requests carry only its
 * own validated parameters besides the cursor, so on a list read from a cursor that answer means the cursor
 * expired (not the "object missing" subcode 33): the client is told the gateway's own `CURSOR_EXPIRED`
 * (src/gateway-errors.ts) instead of `GRAPH_INVALID_PARAMETER`. Applied by schema/graph-connection.ts.
 */
export function expiresCursor(code: number, subcode: number | undefined): boolean {
  return code === 100 && subcode === undefined;
}

/** Any code the table does not name. */
export const FALLBACK_RULE: GraphErrorRule = {
  code: 0,
  clientCode: 'GRAPH_ERROR',
  retry: 'if-transient',
  throttle: false,
  judgesCaller: false,
  meaning: 'any other Graph error',
};

const bySubcode = new Map<string, GraphErrorRule>();
const byCode = new Map<number, GraphErrorRule>();
const ranges: GraphErrorRule[] = [];
for (const rule of GRAPH_ERROR_RULES) {
  if (rule.subcode !== undefined) bySubcode.set(`${rule.code}/${rule.subcode}`, rule);
  else if (rule.through !== undefined) ranges.push(rule);
  else byCode.set(rule.code, rule);
}

/** The rule for a Graph error: its code and subcode's, else its code's, else its range's, else {@link FALLBACK_RULE}. */
export function graphErrorRule(code: number, subcode?: number): GraphErrorRule {
  return (
    (subcode === undefined ? undefined : bySubcode.get(`${code}/${subcode}`)) ??
    byCode.get(code) ??
    ranges.find((rule) => code >= rule.code && code <= rule.through!) ??
    FALLBACK_RULE
  );
}
