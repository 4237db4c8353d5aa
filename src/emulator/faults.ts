/**
 * Faults injected on command from tests, and the Conversations API call rate: what the real Graph
 * API does on a bad day (graph-api.md §4–§6), so the gateway's handling of each can be proven.
 */

export type Fault =
  /** Answer normally, after a delay. */
  | { kind: 'latency'; ms: number }
  /** Codes 1/2 with `is_transient`, HTTP 500 or 503. */
  | { kind: 'server-error'; status?: 500 | 503; code?: 1 | 2 }
  /** Destroy the socket without answering. */
  | { kind: 'reset' }
  /** HTTP 200 with a JSON body cut in the middle. */
  | { kind: 'truncated-json' }
  /** A throttle error with usage headers over 100% and `estimated_time_to_regain_access`. */
  | { kind: 'throttle'; code: 4 | 17 | 32 | 613 | 80001 | 80006; regainMinutes?: number }
  /** 190 / 463, as for an expired token. */
  | { kind: 'expired-token' }
  /** Inside a batch: this item's slot is `null` (timed out upstream). */
  | { kind: 'null-batch-item' };

export interface FaultMatch {
  /** Only calls whose path, without version or leading slash, matches (`1000000001/conversations`, `t_1/messages`). */
  path?: RegExp;
  /** Only calls made with this token. */
  token?: string;
}

export interface FaultInjector {
  /**
   * Applies `fault` to the next `times` matching calls (default 1; `Infinity` until cleared). A batch
   * item is a call; `reset`, `truncated-json` and `latency` on a batch item apply to the whole batch request.
   */
  inject(fault: Fault, options?: { times?: number; match?: FaultMatch }): void;
  /** Removes every pending fault. */
  clear(): void;
  /** Faults applied so far. */
  readonly applied: number;
}

/** Faults that act on a whole HTTP exchange rather than on one call's answer. */
export const TRANSPORT_FAULTS = new Set<Fault['kind']>(['latency', 'reset', 'truncated-json']);

interface Rule {
  fault: Fault;
  remaining: number;
  match: FaultMatch;
}

/** A call as faults see it. */
export interface CallSignature {
  /** Path without version or leading slash. */
  path: string;
  token: string | undefined;
}

export class EmulatorFaults implements FaultInjector {
  #rules: Rule[] = [];
  #applied = 0;

  inject(fault: Fault, options: { times?: number; match?: FaultMatch } = {}): void {
    const times = options.times ?? 1;
    if (!(times > 0)) throw new TypeError(`faults.inject: times must be positive, got ${times}`);
    this.#rules.push({ fault, remaining: times, match: options.match ?? {} });
  }

  clear(): void {
    this.#rules = [];
  }

  get applied(): number {
    return this.#applied;
  }

  /** Takes the first pending fault of the given kinds that matches one of `calls`, if any. */
  take(kinds: ReadonlySet<Fault['kind']>, calls: readonly CallSignature[]): Fault | undefined {
    const rule = this.#rules.find(
      (candidate) =>
        kinds.has(candidate.fault.kind) &&
        calls.some(
          (call) =>
            (candidate.match.path === undefined || candidate.match.path.test(call.path)) &&
            (candidate.match.token === undefined || candidate.match.token === call.token),
        ),
    );
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.#rules = this.#rules.filter((candidate) => candidate !== rule);
    this.#applied += 1;
    return rule.fault;
  }
}

/** The Conversations API call rate of each Page (graph-api.md §6.1), with the block that follows excess. */
export class ConversationRateLimit {
  readonly #sent = new Map<string, number[]>();
  readonly #blockedUntil = new Map<string, number>();

  constructor(
    readonly callsPerSecond: number,
    readonly code: 613 | 80006,
    readonly blockMs: number,
  ) {}

  /** Counts a call on `page`; `false` when it is over the limit (the Page is then blocked). */
  admit(page: string, now: number): boolean {
    if ((this.#blockedUntil.get(page) ?? 0) > now) return false;
    const sent = (this.#sent.get(page) ?? []).filter((at) => at > now - 1_000);
    if (sent.length >= this.callsPerSecond) {
      this.#blockedUntil.set(page, now + this.blockMs);
      this.#sent.set(page, sent);
      return false;
    }
    sent.push(now);
    this.#sent.set(page, sent);
    return true;
  }

  /** The Page's usage over the last second, in percent of the limit (may exceed 100). */
  usagePercent(page: string, now: number): number {
    if ((this.#blockedUntil.get(page) ?? 0) > now) return 100 + this.callsPerSecond * 5;
    const sent = (this.#sent.get(page) ?? []).filter((at) => at > now - 1_000);
    return Math.round((sent.length / this.callsPerSecond) * 100);
  }
}

/** Usage headers as Graph sends them (graph-api.md §6.2), for a Page at `percent`. */
export function usageHeaders(page: string, percent: number, regainMinutes: number): Record<string, string> {
  const usage = { call_count: percent, total_cputime: Math.min(percent, 100), total_time: Math.min(percent, 100) };
  return {
    'x-page-usage': JSON.stringify(usage),
    'x-app-usage': JSON.stringify({ call_count: Math.min(percent, 100), total_cputime: 1, total_time: 1 }),
    'x-business-use-case-usage': JSON.stringify({
      [page]: [{ type: 'messenger', ...usage, estimated_time_to_regain_access: percent >= 100 ? regainMinutes : 0 }],
    }),
  };
}
