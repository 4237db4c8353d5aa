/**
 * What stands in front of the router for each call, plain or batch item: the Conversations API rate
 * of the call's Page, then the faults a test aimed at the call. A refused call spends no fault; a
 * faulted call still counts in the rate.
 */
import { tokenOf } from './auth.js';
import { EmulatedGraphError, expiredToken, serverError, throttled } from './errors.js';
import {
  CALL_FAULTS,
  pageUsageHeaders,
  throttleUsageHeaders,
  usageTypeOf,
  type ConversationRateLimit,
  type EmulatorFaults,
  type Fault,
} from './faults.js';
import type { GraphAnswer, GraphRouter, RoutedPath } from './router.js';
import type { WorldStore } from './store.js';

/** The `X-Business-Use-Case-Usage` key of a throttle on a call that names no Page. */
const APP_USAGE_KEY = 'app';

export interface CallGuardOptions {
  readonly store: WorldStore;
  readonly faults: EmulatorFaults;
  /** `undefined`: calls are never refused for their rate, and answers carry no usage headers. */
  readonly rateLimit: ConversationRateLimit | undefined;
}

/** An error answered instead of running a call, with the headers it carries. */
interface Refusal {
  readonly error: Error;
  readonly headers: Record<string, string> | undefined;
}

/** The rate's verdict on a call: refused, or admitted with the usage headers its answer carries. */
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
      const pageId = pageOfCall(options.store, routed.segments, token);
      const now = Date.now();
      const refuse = ({ error, headers }: Refusal, extra: Pick<GraphAnswer, 'timedOut'> = {}): GraphAnswer => ({
        ...inner.errorAnswer(error, routed.version, 1),
        pageId,
        at: now,
        ...(headers === undefined ? {} : { headers }),
        ...extra,
      });

      const rate = rateVerdict(options.rateLimit, pageId, now);
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

function rateVerdict(rateLimit: ConversationRateLimit | undefined, pageId: string | undefined, now: number): RateVerdict {
  if (rateLimit === undefined || pageId === undefined) return { usage: undefined };
  if (!rateLimit.admit(pageId, now)) {
    // A Page's own limit: its usage headers only, not the app's.
    const headers = pageUsageHeaders(pageId, rateLimit.usagePercent(pageId, now), rateLimit.usageType, 1);
    return { refusal: { error: throttled(rateLimit.code), headers } };
  }
  const percent = rateLimit.usagePercent(pageId, now);
  return { usage: percent >= 1 ? pageUsageHeaders(pageId, percent, rateLimit.usageType, 1) : undefined };
}

/**
 * The answer of a call fault, `undefined` when the call runs: a throttle carries its own usage headers
 * over 100% (keyed by the call's Page, else the token's Page, else the app), other faults the Page's usage as it stands.
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
      const headers = throttleUsageHeaders(usageKey ?? APP_USAGE_KEY, 120, usageTypeOf(fault.code), fault.regainMinutes ?? 1);
      return { error: throttled(fault.code), headers };
    }
    default:
      return undefined;
  }
}

/**
 * The Page whose Conversations API budget a call spends: its conversations edge (`me/conversations`
 * with a Page token too), its threads and their messages; `undefined` for anything else.
 */
function pageOfCall(store: WorldStore, segments: readonly string[], token: string | undefined): string | undefined {
  const [id, edge] = segments;
  if (id === undefined) return undefined;
  if (edge === 'conversations') {
    if (id === 'me') return viewerPageOf(store, token);
    return store.node(id)?.kind === 'page' ? id : undefined;
  }
  const node = store.node(id);
  return node?.kind === 'thread' || node?.kind === 'message' ? node.thread.pageId : undefined;
}

/** The Page of a Page token. */
function viewerPageOf(store: WorldStore, token: string | undefined): string | undefined {
  const record = token === undefined ? undefined : store.token(token);
  return record?.kind === 'page' ? record.pageId : undefined;
}
