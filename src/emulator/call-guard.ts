/**
 * What stands in front of the router for each call, plain or batch item: the rate limits of the
 * call's Page (rate-limits.ts), then the faults a test aimed at the call. A refused call spends no
 * fault; a faulted call still counts in the limits.
 */
import { tokenOf } from './auth.js';
import { EmulatedGraphError, expiredToken, serverError, throttled } from './errors.js';
import { CALL_FAULTS, type EmulatorFaults, type Fault } from './faults.js';
import { appUsageHeader, businessUseCaseHeader, usageTypeOf, type RateLimits } from './rate-limits.js';
import type { GraphAnswer, GraphRouter, RoutedPath } from './router.js';
import type { WorldStore } from './store.js';

/** The `X-Business-Use-Case-Usage` key of a throttle on a call that names no Page. */
const APP_USAGE_KEY = 'app';
const MINUTE_MS = 60_000;

export interface CallGuardOptions {
  readonly store: WorldStore;
  readonly faults: EmulatorFaults;
  /** `undefined`: calls are never refused for their rate, and answers carry no usage headers. */
  readonly limits: RateLimits | undefined;
}

/** An error answered instead of running a call, with the headers it carries. */
interface Refusal {
  readonly error: Error;
  readonly headers: Record<string, string> | undefined;
}

/** The limits' verdict on a call: refused, or admitted with the usage headers its answer carries. */
type RateVerdict = { readonly refusal: Refusal } | { readonly refusal?: undefined; readonly usage: Record<string, string> | undefined };

/** `inner` with the rate limit and the call faults in front of its `execute`; its other members as they are. */
export function guardRouter(inner: GraphRouter, options: CallGuardOptions): GraphRouter {
  return {
    ...inner,
    execute(call, inBatch = false) {
      let routed: RoutedPath;
      try {
        routed = inner.route(call.path);
      } catch {
        return inner.execute(call, inBatch);
      }
      const token = tokenOf(call.params, call.authorization);
      const pageId = pageOfCall(options.store, routed.segments, call.params, token);
      const now = Date.now();
      const refuse = ({ error, headers }: Refusal, extra: Pick<GraphAnswer, 'timedOut'> = {}): GraphAnswer => ({
        ...inner.errorAnswer(error, routed.version, 1),
        pageId,
        at: now,
        ...(headers === undefined ? {} : { headers }),
        ...extra,
      });

      const rate = rateVerdict(options.limits, pageId, userTokenCall(options.store, token), now);
      if (rate.refusal !== undefined) return refuse(rate.refusal);
      const fault = options.faults.take(CALL_FAULTS, [{ path: routed.segments.join('/'), token }]);
      if (fault?.kind === 'null-batch-item' && inBatch) {
        return refuse({ error: serverError(2, 500), headers: undefined }, { timedOut: true });
      }
      const refusal = fault === undefined ? undefined : faultRefusal(fault, rate.usage, pageId ?? viewerPageOf(options.store, token));
      if (refusal !== undefined) return refuse(refusal);
      const answer = inner.execute(call, inBatch);
      return { ...answer, pageId, at: now, ...(rate.usage === undefined ? {} : { headers: { ...answer.headers, ...rate.usage } }) };
    },
  };
}

/**
 * The limits' verdict, in Meta's order as far as it shows ([I]): a Page blocked by the Conversations API rate is refused with
 * (#613) and the call prolongs the block; otherwise the call spends the Page's Messenger allowance, refused with (#80006) once it
 * is spent; then the per-second rate. Answers on a Page at 1% or more of its allowance carry `X-Business-Use-Case-Usage`
 * (Meta: "headers appear once enough calls have been made"); user-token calls spend and report the app's hourly allowance.
 */
function rateVerdict(limits: RateLimits | undefined, pageId: string | undefined, userToken: boolean, now: number): RateVerdict {
  if (limits === undefined) return { usage: undefined };
  const appPercent = userToken ? limits.app.count(now) : 0;
  const app = appPercent >= 1 ? appUsageHeader(appPercent) : undefined;
  if (pageId === undefined) return { usage: app };
  const { conversations, daily } = limits;
  const refuse = (code: 613 | 80006, regainMs: number): RateVerdict => ({
    refusal: {
      error: throttled(code),
      headers: { ...app, ...businessUseCaseHeader(pageId, daily.percent(pageId, now), 'messenger', regainMs) },
    },
  });
  if (conversations !== undefined && conversations.blockedFor(pageId, now) > 0) {
    conversations.admit(pageId, now); // refused, and the block starts again from now
    return refuse(conversations.code, conversations.blockedFor(pageId, now));
  }
  if (!daily.admit(pageId, now)) return refuse(80006, daily.regainIn(pageId, now));
  if (conversations !== undefined && !conversations.admit(pageId, now))
    return refuse(conversations.code, conversations.blockedFor(pageId, now));
  const percent = daily.percent(pageId, now);
  return { usage: percent >= 1 ? { ...app, ...businessUseCaseHeader(pageId, percent, 'messenger', undefined) } : app };
}

/**
 * The answer of a call fault, `undefined` when the call runs: a throttle carries its own usage headers
 * at 100% (keyed by the call's Page, else the token's Page, else the app), other faults the Page's usage as it stands.
 */
function faultRefusal(fault: Fault, usage: Record<string, string> | undefined, usageKey: string | undefined): Refusal | undefined {
  switch (fault.kind) {
    case 'server-error':
      return { error: serverError(fault.code ?? 2, fault.status ?? 500), headers: usage };
    case 'expired-token':
      return { error: expiredToken(), headers: usage };
    case 'graph-error': {
      const message = `(#${fault.code}) An error injected by a test`;
      return {
        error: new EmulatedGraphError(fault.status ?? 400, 'OAuthException', fault.code, message, fault.subcode, fault.transient),
        headers: usage,
      };
    }
    case 'throttle': {
      const regainMs = (fault.regainMinutes ?? 1) * MINUTE_MS;
      const buc = businessUseCaseHeader(usageKey ?? APP_USAGE_KEY, 100, usageTypeOf(fault.code), regainMs);
      // The platform throttles (4: the app's, 17: a user's) are reported in `X-App-Usage`, the others per business object.
      return { error: throttled(fault.code), headers: fault.code === 4 || fault.code === 17 ? { ...appUsageHeader(100), ...buc } : buc };
    }
    default:
      return undefined;
  }
}

/**
 * The Page whose Conversations API budget a call spends: its conversations and threads edges (`me/…` with a Page token too), the
 * Page read with either edge expanded in `fields`, its threads and their messages; `undefined` for anything else.
 */
function pageOfCall(
  store: WorldStore,
  segments: readonly string[],
  params: Readonly<Record<string, string>>,
  token: string | undefined,
): string | undefined {
  const [id, edge] = segments;
  if (id === undefined) return undefined;
  const pageOf = (): string | undefined => (id === 'me' ? viewerPageOf(store, token) : store.node(id)?.kind === 'page' ? id : undefined);
  if (edge === 'conversations' || edge === 'threads') return pageOf();
  if (edge === undefined && params.fields !== undefined && CONVERSATION_EXPANSION.test(params.fields)) return pageOf();
  const node = store.node(id);
  return node?.kind === 'thread' || node?.kind === 'message' ? node.thread.pageId : undefined;
}

/** A `fields` value naming the conversations or threads edge at its top level or below (`conversations.limit(5){…}`). */
const CONVERSATION_EXPANSION = /(?:^|[,{\s])(?:conversations|threads)(?=$|[.{,\s])/;

/** Whether the call is made with a user token, whose calls spend the app's platform allowance (Meta: Rate Limiting). */
function userTokenCall(store: WorldStore, token: string | undefined): boolean {
  return token !== undefined && store.token(token)?.kind === 'user';
}

/** The Page of a Page token. */
function viewerPageOf(store: WorldStore, token: string | undefined): string | undefined {
  const record = token === undefined ? undefined : store.token(token);
  return record?.kind === 'page' ? record.pageId : undefined;
}
