/**
 * Meta's rate limits on the inbox, as the emulator keeps them, and the usage headers they report
 * (Meta: Rate Limiting, developers.facebook.com/docs/graph-api/overview/rate-limiting; Meta: Messenger Platform Rate Limiting,
 * developers.facebook.com/documentation/business-messaging/messenger-platform/overview/rate-limiting):
 * - the Conversations API rate, 2 calls per second per Page, refused with (#613) and followed by a block;
 * - the Messenger API's Business Use Case allowance, 200 calls per engaged user per rolling 24 hours and per Page,
 *   refused with (#80006) once spent;
 * - the app's platform allowance, 200 calls per daily active user per rolling hour, reported (`X-App-Usage`) for user-token calls.
 * Calls made while a Page is blocked prolong the block ("extra calls extend the block", the Rate Limiting page).
 */

const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The Messenger API's allowance per engaged user and rolling 24 hours (Meta: Rate Limiting). */
export const MESSENGER_CALLS_PER_ENGAGED_USER = 200;
/** The platform allowance per daily active user and rolling hour, for app and user tokens (Meta: Rate Limiting). */
export const APP_CALLS_PER_ACTIVE_USER = 200;

/** `type` of an `X-Business-Use-Case-Usage` entry (Meta: Rate Limiting). */
export type BusinessUseCaseType = 'pages' | 'messenger';

/** The BUC type of a throttle code: 80006 and the Conversations API's 613 are Messenger's, the others the Page's. */
export function usageTypeOf(code: number): BusinessUseCaseType {
  return code === 80006 || code === 613 ? 'messenger' : 'pages';
}

/**
 * `estimated_time_to_regain_access` for a block of `ms`: whole minutes, rounded up, as Meta sends it; a block shorter than a
 * minute (tests' short blocks) in thousandths of a minute, so the header still states its length ([I]: Meta's blocks last minutes).
 */
export function regainMinutesOf(ms: number): number {
  if (ms <= 0) return 0;
  return ms >= MINUTE_MS ? Math.ceil(ms / MINUTE_MS) : Math.ceil(ms / 60) / 1_000;
}

/** Timestamps in a rolling window, pruned as time passes. */
class RollingWindow {
  readonly #calls = new Map<string, number[]>();
  constructor(readonly windowMs: number) {}

  /** The calls of `key` in the window ending at `now`, oldest first (pruned in place). */
  recent(key: string, now: number): number[] {
    let calls = this.#calls.get(key);
    if (calls === undefined) {
      calls = [];
      this.#calls.set(key, calls);
    }
    let expired = 0;
    while (expired < calls.length && calls[expired]! <= now - this.windowMs) expired += 1;
    if (expired > 0) calls.splice(0, expired);
    return calls;
  }
}

/**
 * A per-Page call rate over a sliding one-second window (the Conversations API's, the Send API's): a call over it is refused and
 * starts a block of `blockMs`; every call during the block restarts it.
 */
export class CallRate {
  readonly #window = new RollingWindow(SECOND_MS);
  readonly #blockedUntil = new Map<string, number>();

  constructor(
    readonly callsPerSecond: number,
    readonly code: 613 | 80006,
    readonly blockMs: number,
  ) {}

  /** Counts a call on `page`; `false` when it is over the rate or the Page is blocked (then it is not counted, and prolongs the block). */
  admit(page: string, now: number): boolean {
    if (this.blockedFor(page, now) > 0) {
      this.#blockedUntil.set(page, now + this.blockMs);
      return false;
    }
    const sent = this.#window.recent(page, now);
    if (sent.length >= this.callsPerSecond) {
      this.#blockedUntil.set(page, now + this.blockMs);
      return false;
    }
    sent.push(now);
    return true;
  }

  /** How long the Page stays blocked from `now`, in ms; 0 when it is not. */
  blockedFor(page: string, now: number): number {
    return Math.max(0, (this.#blockedUntil.get(page) ?? 0) - now);
  }
}

/**
 * A per-Page allowance over a rolling 24 hours (the Messenger API's BUC): every call is counted, refused ones included, so calls
 * made once it is spent keep it spent.
 */
export class DailyAllowance {
  readonly #window = new RollingWindow(DAY_MS);

  /** @param allowanceOf the Page's calls per 24 hours */
  constructor(readonly allowanceOf: (page: string) => number) {}

  /** Counts a call on `page`; `false` when the allowance was already spent. */
  admit(page: string, now: number): boolean {
    const calls = this.#window.recent(page, now);
    const spent = calls.length >= this.allowanceOf(page);
    calls.push(now);
    return !spent;
  }

  /** The Page's use, in whole percent of its allowance. */
  percent(page: string, now: number): number {
    return Math.round((this.#window.recent(page, now).length / Math.max(1, this.allowanceOf(page))) * 100);
  }

  /** When the Page's use falls under its allowance again, in ms from `now`; 0 when it is under it. */
  regainIn(page: string, now: number): number {
    const calls = this.#window.recent(page, now);
    const over = calls.length - this.allowanceOf(page);
    if (over < 0) return 0;
    return calls[over]! + DAY_MS - now;
  }
}

/** The app's use of its hourly platform allowance, for `X-App-Usage`; reported, never refused ([I]: the inbox runs on Page tokens). */
export class AppUsage {
  readonly #window = new RollingWindow(HOUR_MS);
  constructor(readonly callsPerHour: number) {}

  /** Counts a user-token call; the app's use in whole percent. */
  count(now: number): number {
    const calls = this.#window.recent('app', now);
    calls.push(now);
    return Math.round((calls.length / Math.max(1, this.callsPerHour)) * 100);
  }
}

/** Every limit of one emulator. */
export interface RateLimits {
  /** The Conversations API rate; `undefined`: none. */
  readonly conversations: CallRate | undefined;
  readonly daily: DailyAllowance;
  readonly app: AppUsage;
}

/**
 * `X-Business-Use-Case-Usage` for a Page: `call_count` in percent of its allowance ([I]: `total_cputime` and `total_time`, which the
 * emulator does not measure, as the same share capped at 100), `estimated_time_to_regain_access` in minutes only while throttled.
 */
export function businessUseCaseHeader(
  page: string,
  percent: number,
  type: BusinessUseCaseType,
  regainMs: number | undefined,
): Record<string, string> {
  const share = Math.min(percent, 100);
  const entry = {
    type,
    call_count: percent,
    total_cputime: share,
    total_time: share,
    ...(regainMs === undefined ? {} : { estimated_time_to_regain_access: regainMinutesOf(regainMs) }),
  };
  return { 'x-business-use-case-usage': JSON.stringify({ [page]: [entry] }) };
}

/** `X-App-Usage` at `percent` of the app's hourly allowance. */
export function appUsageHeader(percent: number): Record<string, string> {
  const share = Math.min(percent, 100);
  return { 'x-app-usage': JSON.stringify({ call_count: percent, total_cputime: share, total_time: share }) };
}
