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

/** What a client of the gateway is told, as `extensions.code`. */
export type GraphClientCode =
  | 'GRAPH_TOKEN_EXPIRED'
  | 'GRAPH_TOKEN_INVALID'
  | 'GRAPH_TOKEN_MISSING'
  | 'GRAPH_PERMISSION_DENIED'
  | 'GRAPH_MESSAGING_DISALLOWED'
  | 'GRAPH_RATE_LIMITED'
  | 'GRAPH_NOT_FOUND'
  | 'GRAPH_MESSAGE_DETAILS_UNAVAILABLE'
  | 'GRAPH_INVALID_PARAMETER'
  | 'GRAPH_POLICY_BLOCKED'
  | 'GRAPH_UNAVAILABLE'
  | 'GRAPH_ERROR';

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
  clientCode: 'GRAPH_RATE_LIMITED',
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
  {
    code: 100,
    subcode: 2534022,
    clientCode: 'GRAPH_MESSAGE_DETAILS_UNAVAILABLE',
    ...never,
    meaning: "an Instagram message older than its conversation's 20 most recent: Graph keeps no details of it",
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
    code: 368,
    clientCode: 'GRAPH_POLICY_BLOCKED',
    ...callers,
    meaning: 'the action was deemed abusive or is otherwise disallowed (a block for policy violations, lasting hours or days)',
  },
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
