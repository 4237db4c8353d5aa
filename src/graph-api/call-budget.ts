/**
 * A Page's Graph call budget: at most N calls in any window (Meta's Conversations API allows 2 calls per
 * second per Page, every batch item counted; Meta: Messenger Platform rate limiting,
 * developers.facebook.com/docs/messenger-platform/overview/rate-limiting), and no call at all while a
 * throttle blocks the Page. The scheduler asks the budget before each send; this module holds the rule
 * and the in-memory budget of one process. `src/redis/` holds the budget a fleet shares.
 *
 * A call holds its place from the moment it is sent until a window after its answer: Graph counts a call
 * when it arrives, which we cannot see, somewhere between sending and the answer.
 */

/** One read waiting for places in its Page's window. */
export interface BudgetClaim {
  /** Names the claim while it waits; unique across every instance sharing the budget. */
  readonly ticket: string;
  /** Places it needs: its page and each follow-up page read in the same batch. */
  readonly calls: number;
  /** Epoch ms it joined the line: the oldest claim is served first. */
  readonly queuedAt: number;
  /** Epoch ms after which the claim is void (its operation stopped waiting); frees its place in line. */
  readonly deadline: number;
}

/** What an `acquire` gave. */
export interface BudgetGrant {
  /** The claims granted, each with the ids of the places it holds (to `release` once answered). */
  readonly granted: ReadonlyMap<string, readonly string[]>;
  /** Epoch ms when asking again for the claims left may succeed; `undefined` when every claim was granted. */
  readonly retryAt: number | undefined;
  /** Epoch ms until which a throttle blocks the Page (nothing was granted); `undefined` when it is not blocked. */
  readonly blockedUntil: number | undefined;
  /** Places held in the window now (after this grant), by every instance sharing the budget. */
  readonly busy: number;
  /** Calls still waiting in line for the Page, by every instance sharing the budget. */
  readonly waitingCalls: number;
}

/** A Page's budget as seen now. */
export interface BudgetStatus {
  readonly busy: number;
  readonly waitingCalls: number;
  readonly blockedUntil: number | undefined;
}

/** The per-Page call budget the scheduler spends; in memory for one process, or shared by a fleet. */
export interface CallBudget {
  /** Calls per Page per second; 0 means no limit. */
  readonly callsPerSecond: number;
  /** Whole calls per window, and the window: 2/s is 2 calls in 1 s; a fraction r is 1 call in 1/r s. */
  readonly limit: number;
  readonly windowMs: number;
  /**
   * Places for as many of `claims` (in line order) as fit now, the oldest claims of every instance first;
   * the others keep their place in line. A claim needing more places than a window holds is granted alone
   * into an empty window.
   */
  acquire(page: string, claims: readonly BudgetClaim[], now: number): Promise<BudgetGrant>;
  /**
   * Places for a background read that must never delay a client's: granted only into an idle window (no
   * claim waiting, and a place left free after it). `undefined` when there is none now.
   */
  acquireIdle(page: string, calls: number, now: number): Promise<readonly string[] | undefined>;
  /** The calls holding `places` were answered at `at`: each leaves the window a window later. */
  release(page: string, places: readonly string[], at: number): Promise<void>;
  /** Claims that will not be sent (their readers left, or they were refused): out of the line. */
  withdraw(page: string, tickets: readonly string[]): Promise<void>;
  /**
   * No call for `page` until `until` (Graph throttled it; calling during a block extends it). Known to this
   * instance at once (see `blockedUntil`), before the promise settles.
   */
  block(page: string, until: number): Promise<void>;
  status(page: string, now: number): Promise<BudgetStatus>;
  /**
   * The block this instance knows of for `page` (its own, or the fleet's as the shared budget last reported it),
   * without a round trip: the one place blocks are held, which the scheduler asks before every read.
   */
  blockedUntil(page: string, now: number): number | undefined;
}

/**
 * A rate as whole calls per window: 2/s is 2 calls in any 1 s window; a fraction (one instance's share)
 * is 1 call in any 1/rate-second window, which also spreads calls.
 */
export function rateWindow(callsPerSecond: number): { limit: number; windowMs: number } {
  if (!Number.isFinite(callsPerSecond) || callsPerSecond < 0)
    throw new TypeError(`callsPerSecond must be a number ≥ 0, got ${callsPerSecond}`);
  return Number.isInteger(callsPerSecond)
    ? { limit: callsPerSecond, windowMs: 1_000 }
    : { limit: 1, windowMs: Math.ceil(1_000 / callsPerSecond) };
}

/**
 * How long a place taken by a call still in flight is held at most, in case its answer is never told
 * (a process that died mid-call): the longest an upstream call can take, and a margin.
 */
export const MAX_IN_FLIGHT_MS = 60_000;

interface Place {
  readonly id: string;
  /** Epoch ms from which the place counts down a window: its answer's time, or (in flight) a far bound. */
  at: number;
}

/** Throttle blocks by Page, each kept until its end: a later block extends one, a shorter one never shortens it. */
export class PageBlocks {
  readonly #until = new Map<string, number>();

  /** Blocks `page` until `until`, or later if it already is. */
  block(page: string, until: number): void {
    this.#until.set(page, Math.max(this.#until.get(page) ?? 0, until));
  }

  /** When `page`'s block ends, if it is blocked at `now` (an ended block is forgotten). */
  until(page: string, now: number): number | undefined {
    const until = this.#until.get(page);
    if (until === undefined) return undefined;
    if (until > now) return until;
    this.#until.delete(page);
    return undefined;
  }

  /** Every block, ended or not, with its end. */
  entries(): IterableIterator<[string, number]> {
    return this.#until.entries();
  }
}

/** The budget of one process, in memory. */
export class MemoryCallBudget implements CallBudget {
  readonly callsPerSecond: number;
  readonly limit: number;
  readonly windowMs: number;
  readonly #windows = new Map<string, Place[]>();
  readonly #blocks = new PageBlocks();
  #nextPlace = 0;

  constructor(callsPerSecond: number) {
    this.callsPerSecond = callsPerSecond;
    ({ limit: this.limit, windowMs: this.windowMs } = rateWindow(callsPerSecond));
  }

  async acquire(page: string, allClaims: readonly BudgetClaim[], now: number): Promise<BudgetGrant> {
    // A claim past its deadline is void (its operation stopped waiting), as in the Redis budget: never granted.
    const claims = allClaims.filter((claim) => claim.deadline >= now);
    const blockedUntil = this.blockedUntil(page, now);
    const granted = new Map<string, string[]>();
    if (blockedUntil !== undefined) {
      return { granted, retryAt: undefined, blockedUntil, busy: this.#live(page, now).length, waitingCalls: sum(claims) };
    }
    const window = this.#live(page, now);
    let left = 0;
    for (const [i, claim] of claims.entries()) {
      if (this.limit !== 0 && window.length > 0 && window.length + claim.calls > this.limit) {
        left = i;
        break;
      }
      granted.set(claim.ticket, this.#take(window, claim.calls, now));
      left = i + 1;
    }
    const waiting = claims.slice(left);
    return {
      granted,
      retryAt: waiting.length === 0 || window.length === 0 ? undefined : this.#nextFree(window),
      blockedUntil: undefined,
      busy: window.length,
      waitingCalls: sum(waiting),
    };
  }

  async acquireIdle(page: string, calls: number, now: number): Promise<readonly string[] | undefined> {
    if (this.blockedUntil(page, now) !== undefined) return undefined;
    const window = this.#live(page, now);
    if (this.limit !== 0 && window.length + calls > this.limit - 1) return undefined;
    return this.#take(window, calls, now);
  }

  async release(page: string, places: readonly string[], at: number): Promise<void> {
    const ids = new Set(places);
    for (const place of this.#windows.get(page) ?? []) if (ids.has(place.id)) place.at = at;
  }

  async withdraw(): Promise<void> {
    // The line of one process is its scheduler's own queue: nothing is kept here.
  }

  async block(page: string, until: number): Promise<void> {
    this.#blocks.block(page, until);
  }

  async status(page: string, now: number): Promise<BudgetStatus> {
    return { busy: this.#live(page, now).length, waitingCalls: 0, blockedUntil: this.blockedUntil(page, now) };
  }

  blockedUntil(page: string, now: number): number | undefined {
    return this.#blocks.until(page, now);
  }

  /** The places still held in the Page's window at `now`, forgetting the others. */
  #live(page: string, now: number): Place[] {
    if (this.limit === 0) return [];
    const window = (this.#windows.get(page) ?? []).filter((place) => place.at > now - this.windowMs);
    this.#windows.set(page, window);
    return window;
  }

  #take(window: Place[], calls: number, now: number): string[] {
    const ids = Array.from({ length: calls }, () => `p${this.#nextPlace++}`);
    // Unlimited budgets keep no window: there is nothing to count.
    if (this.limit !== 0) window.push(...ids.map((id) => ({ id, at: now + MAX_IN_FLIGHT_MS })));
    return ids;
  }

  /** When the first place of a full window frees (a place in flight frees sooner if its answer comes: a release wakes the line). */
  #nextFree(window: readonly Place[]): number {
    return Math.min(...window.map((place) => place.at)) + this.windowMs;
  }
}

const sum = (claims: readonly BudgetClaim[]): number => claims.reduce((total, claim) => total + claim.calls, 0);
