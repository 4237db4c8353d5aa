/**
 * Faults injected on command from tests, and the Conversations API call rate: what the real Graph
 * API does on a bad day, so the gateway's handling of each can be proven (Meta: Handling Errors,
 * developers.facebook.com/docs/graph-api/guides/error-handling; Meta: Rate Limiting,
 * developers.facebook.com/docs/graph-api/overview/rate-limiting). The rate limits themselves are in rate-limits.ts.
 */

export type Fault =
  /** Answer normally, after a delay (a timer: the emulator keeps serving other calls meanwhile). */
  | { kind: 'latency'; ms: number }
  /** Codes 1/2 with `is_transient`, HTTP 500 or 503. @default status 500, code 2 */
  | { kind: 'server-error'; status?: 500 | 503; code?: 1 | 2 }
  /** Destroy the socket without answering (the client sees ECONNRESET / "other side closed"). */
  | { kind: 'reset' }
  /** HTTP 200, JSON content type, the body cut in the middle. */
  | { kind: 'truncated-json' }
  /**
   * A throttle error (HTTP 400, `is_transient`) with usage headers at 100% and
   * `estimated_time_to_regain_access` in minutes. @default regainMinutes 1
   */
  | { kind: 'throttle'; code: 4 | 17 | 32 | 613 | 80001 | 80006; regainMinutes?: number }
  /** 190 / 463, as for an expired token. */
  | { kind: 'expired-token' }
  /**
   * Any other Graph error envelope, for answers the emulator has no situation of its own for (e.g. an
   * unknown code). @default status 400, not transient
   */
  | { kind: 'graph-error'; code: number; subcode?: number; status?: number; transient?: boolean }
  /** Inside a batch: this item's slot is `null` (timed out upstream). Outside a batch: no effect (still counted as applied). */
  | { kind: 'null-batch-item' };

export interface FaultMatch {
  /** Only calls whose path, without version or leading slash, matches (`1000000001/conversations`, `t_1/messages`, `t_1`). */
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
  /** Faults applied so far (tests assert they happened). */
  readonly applied: number;
}

/** Faults that act on a whole HTTP exchange rather than on one call's answer. */
export const TRANSPORT_FAULTS: ReadonlySet<Fault['kind']> = new Set<Fault['kind']>(['latency', 'reset', 'truncated-json']);
/** Faults that replace one call's answer; `null-batch-item` is a no-op outside a batch. */
export const CALL_FAULTS: ReadonlySet<Fault['kind']> = new Set<Fault['kind']>([
  'server-error',
  'throttle',
  'expired-token',
  'graph-error',
  'null-batch-item',
]);

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
    if (!(times > 0) || (Number.isFinite(times) && !Number.isInteger(times))) {
      throw new TypeError(`faults.inject: times must be a positive integer or Infinity, got ${times}`);
    }
    if (fault.kind === 'latency' && !(Number.isFinite(fault.ms) && fault.ms >= 0)) {
      throw new TypeError(`faults.inject: latency ms must be a finite number ≥ 0, got ${fault.ms}`);
    }
    if (
      fault.kind === 'throttle' &&
      fault.regainMinutes !== undefined &&
      !(Number.isFinite(fault.regainMinutes) && fault.regainMinutes >= 0)
    ) {
      throw new TypeError(`faults.inject: throttle regainMinutes must be a finite number ≥ 0, got ${fault.regainMinutes}`);
    }
    this.#rules.push({ fault, remaining: times, match: options.match ?? {} });
  }

  clear(): void {
    this.#rules = [];
  }

  get applied(): number {
    return this.#applied;
  }

  /** Takes the oldest pending fault of the given kinds that matches one of `calls`, if any. */
  take(kinds: ReadonlySet<Fault['kind']>, calls: readonly CallSignature[]): Fault | undefined {
    if (this.#rules.length === 0) return undefined;
    const rule = this.#rules.find((candidate) => kinds.has(candidate.fault.kind) && calls.some((call) => matches(candidate.match, call)));
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.#rules = this.#rules.filter((candidate) => candidate !== rule);
    this.#applied += 1;
    return rule.fault;
  }
}

function matches(match: FaultMatch, call: CallSignature): boolean {
  if (match.token !== undefined && match.token !== call.token) return false;
  if (match.path === undefined) return true;
  // A global or sticky RegExp keeps state between `test` calls; every call is matched afresh.
  match.path.lastIndex = 0;
  return match.path.test(call.path);
}
