/**
 * Decides when each Graph read leaves, so a Page never spends more calls than it must:
 *   - an identical read (same token, same URL) already queued or in flight is shared, never repeated;
 *   - each Page's calls stay within a rate (default 2 in any one-second window, every batch item
 *     counted, graph-api.md §6.1) by queueing: a queued read is shared by later identical ones;
 *   - after Graph throttles a Page, no call is made for it until the block ends
 *     (`estimated_time_to_regain_access`); its reads fail at once with a retry-after;
 *   - transient failures are retried with exponential backoff and jitter, within the deadline;
 *   - reads made in the same tick with the same token leave together as one batch;
 *   - a queued read whose every waiter has gone (deadline, disconnected client) is never sent.
 */
import type { GraphApiClient, GraphRead, HeaderLookup, UpstreamUsage } from './client.js';
import { GraphApiError, GraphRateLimitError, GraphTransportError, isThrottleCode, OperationAbortedError } from './errors.js';
import { isRetryable, retryDelayMs } from './retry.js';
import { parseUsageHeaders, type UsageReport } from './usage.js';

/**
 * A per-Page rate as whole calls per window: 2/s is 2 calls in any 1 s window; a fraction (one
 * instance's share of the budget) is 1 call in any 1/rate-second window, which also spreads calls.
 */
function rateWindow(callsPerSecond: number): { calls: number; windowMs: number } {
  return Number.isInteger(callsPerSecond)
    ? { calls: callsPerSecond, windowMs: 1_000 }
    : { calls: 1, windowMs: Math.ceil(1_000 / callsPerSecond) };
}

/**
 * One call's place in its Page's window. Graph counts a call when it arrives, which we cannot see:
 * somewhere between sending and the answer. So a call holds its place from the moment it is sent
 * (`at` = Infinity) until a window after its answer came back, whatever the network's delays.
 */
interface Slot {
  at: number;
}

export interface GraphSchedulerOptions {
  client: GraphApiClient;
  /**
   * Calls per Page per second (GRAPH_PAGE_CALLS_PER_SECOND); 0 means no limit. Whole numbers are calls
   * in any one-second window; a fraction r is one call in any 1/r-second window.
   */
  pageCallsPerSecond: number;
  /** Attempts for a read that fails transiently, the first included (GRAPH_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Delay before the first retry; it doubles each time, with full jitter. @default 100 */
  retryBaseDelayMs?: number;
  /** How long a Page is left alone after a throttle when Graph gives no estimate (GRAPH_THROTTLE_BLOCK_SECONDS). */
  throttleBlockMs: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Source of jitter in [0, 1), for tests. @default Math.random */
  random?: () => number;
}

/** What one operation brings to its reads. */
export interface ReadContext {
  usage: UpstreamUsage;
  /** Aborts when the operation stops waiting (deadline, client gone). */
  signal?: AbortSignal | undefined;
  /** Epoch ms after which no retry is started. */
  deadline?: number | undefined;
}

interface Pending {
  readonly key: string;
  readonly read: GraphRead;
  readonly usage: UpstreamUsage;
  readonly promise: Promise<unknown>;
  readonly settle: (value: unknown) => void;
  state: 'queued' | 'sending' | 'retry-wait' | 'done';
  /** The window places the current attempt holds. */
  slots: Slot[];
  waiters: number;
  attempts: number;
  deadline: number;
}

/** What the gateway knows of a Page's budget. */
export interface PageBudget {
  /** Epoch ms until which no call is made for the Page. */
  blockedUntil?: number;
  /** The latest usage headers Graph sent for it. */
  usage?: UsageReport;
  /** Epoch ms of that report. */
  usageAt?: number;
}

/** A Page's budget as this process sees it now, for clients pacing themselves. */
export interface PageBudgetView {
  /** The per-Page rate applied; `undefined`: no limit. */
  readonly callsPerSecond: number | undefined;
  /** Calls that could leave for the Page now; `undefined`: no limit. */
  readonly availableCalls: number | undefined;
  /** Reads waiting for the Page's window. */
  readonly queuedReads: number;
  /** Epoch ms until which Graph's throttle keeps the Page blocked; `undefined` when it is not. */
  readonly blockedUntil: number | undefined;
  readonly usage: UsageReport | undefined;
  readonly usageAt: number | undefined;
}

/** Billed calls a read makes: its page and each follow-up page. */
const callsOf = (read: GraphRead): number => 1 + (read.followUps?.length ?? 0);

export class GraphScheduler {
  readonly #client: GraphApiClient;
  /** Calls per Page in any window of `#windowMs`; 0 means no limit. */
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #callsPerSecond: number;
  readonly #maxAttempts: number;
  readonly #retryBaseDelayMs: number;
  readonly #throttleBlockMs: number;
  readonly #now: () => number;
  readonly #random: () => number;

  readonly #pending = new Map<string, Pending>();
  #queue: Pending[] = [];
  readonly #windows = new Map<string, Slot[]>();
  readonly #budgets = new Map<string, PageBudget>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #flushScheduled = false;

  constructor(options: GraphSchedulerOptions) {
    this.#client = options.client;
    const callsPerSecond = options.pageCallsPerSecond;
    if (!Number.isFinite(callsPerSecond) || callsPerSecond < 0)
      throw new TypeError(`pageCallsPerSecond must be a number ≥ 0, got ${callsPerSecond}`);
    this.#callsPerSecond = callsPerSecond;
    ({ calls: this.#limit, windowMs: this.#windowMs } = rateWindow(callsPerSecond));
    this.#maxAttempts = options.maxAttempts;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.#throttleBlockMs = options.throttleBlockMs;
    this.#now = options.now ?? (() => Date.now());
    this.#random = options.random ?? Math.random;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1)
      throw new TypeError(`maxAttempts must be a whole number ≥ 1, got ${this.#maxAttempts}`);
  }

  /** The canonical identity of a read. */
  keyOf(read: GraphRead): string {
    return this.#client.keyOf(read);
  }

  /** Reads waiting for their Page's call window. */
  get queued(): number {
    return this.#queue.length;
  }

  /** What is known of `page`'s budget now. Makes no call. */
  budgetOf(page: string): PageBudgetView {
    const now = this.#now();
    const budget = this.#budgets.get(page);
    const blockedUntil = budget?.blockedUntil !== undefined && budget.blockedUntil > now ? budget.blockedUntil : undefined;
    const busy = this.#liveSlots(page, now).length;
    const queuedReads = this.#queue.filter((pending) => pending.read.page === page).length;
    return {
      callsPerSecond: this.#limit === 0 ? undefined : this.#callsPerSecond,
      availableCalls: this.#limit === 0 ? undefined : blockedUntil !== undefined || queuedReads > 0 ? 0 : Math.max(0, this.#limit - busy),
      queuedReads,
      blockedUntil,
      usage: budget?.usage,
      usageAt: budget?.usageAt,
    };
  }

  /** Makes the reads; never rejects: slot `i` holds the body or an Error for `reads[i]`. */
  readMany(reads: readonly GraphRead[], context: ReadContext): Promise<unknown[]> {
    const answers = reads.map((read) => this.#join(read, context));
    this.#scheduleFlush();
    return Promise.all(answers);
  }

  #join(read: GraphRead, context: ReadContext): Promise<unknown> {
    if (context.signal?.aborted) return Promise.resolve(new OperationAbortedError('disconnected'));
    const key = this.#client.keyOf(read);
    let pending = this.#pending.get(key);
    if (pending !== undefined) {
      context.usage.coalesced += 1;
    } else {
      let settle!: (value: unknown) => void;
      const promise = new Promise<unknown>((resolve) => (settle = resolve));
      pending = { key, read, usage: context.usage, promise, settle, state: 'queued', slots: [], waiters: 0, attempts: 0, deadline: 0 };
      this.#pending.set(key, pending);
      const blocked = this.#blockedSeconds(read.page);
      const wait = this.#queueWaitSeconds(read);
      if (blocked > 0) this.#settle(pending, new GraphRateLimitError(read.page, blocked));
      // A read that could not leave before its deadline is refused now, with when to come back,
      // rather than held until the deadline and refused then.
      else if (context.deadline !== undefined && this.#now() + wait * 1000 > context.deadline)
        this.#settle(pending, new GraphRateLimitError(read.page, wait));
      else this.#queue.push(pending);
    }
    const joined = pending;
    joined.waiters += 1;
    joined.deadline = Math.max(joined.deadline, context.deadline ?? Number.POSITIVE_INFINITY);
    const signal = context.signal;
    if (signal !== undefined) {
      const leave = (): void => {
        joined.waiters -= 1;
        if (joined.waiters === 0 && (joined.state === 'queued' || joined.state === 'retry-wait')) {
          // Nobody waits for it any more: cancel the upstream work that has not started.
          this.#queue = this.#queue.filter((entry) => entry !== joined);
          this.#settle(joined, new OperationAbortedError('disconnected'));
        }
      };
      signal.addEventListener('abort', leave, { once: true });
      void joined.promise.then(() => signal.removeEventListener('abort', leave));
    }
    return joined.promise;
  }

  #settle(pending: Pending, value: unknown): void {
    pending.state = 'done';
    if (this.#pending.get(pending.key) === pending) this.#pending.delete(pending.key);
    pending.settle(value);
  }

  /** Seconds before a read joining its Page's queue now could leave (whole windows, rounded up). */
  #queueWaitSeconds(read: GraphRead): number {
    if (read.page === undefined || this.#limit === 0) return 0;
    const ahead = this.#queue.reduce((calls, pending) => calls + (pending.read.page === read.page ? callsOf(pending.read) : 0), 0);
    const busy = (this.#windows.get(read.page) ?? []).length;
    return Math.ceil((Math.floor((ahead + busy + callsOf(read) - 1) / this.#limit) * this.#windowMs) / 1000);
  }

  /** Seconds a Page stays blocked after a throttle; 0 when it is not. */
  #blockedSeconds(page: string | undefined): number {
    const until = page === undefined ? undefined : this.#budgets.get(page)?.blockedUntil;
    const left = until === undefined ? 0 : until - this.#now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Every read asked for in this tick, by any operation, leaves in the same flush.
    process.nextTick(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const now = this.#now();
    const ready: Pending[] = [];
    const waiting: Pending[] = [];
    for (const pending of this.#queue) {
      const slots = this.#takeSlots(pending.read.page, callsOf(pending.read), now);
      if (slots === undefined) {
        waiting.push(pending);
      } else {
        pending.slots = slots;
        ready.push(pending);
      }
    }
    this.#queue = waiting;
    for (const pending of waiting) this.#wakeWhenSlotFrees(pending.read.page!, now);

    // One send per caller: a batch's outer token decides for all its items, and one caller's failing
    // token must never fail another caller's reads.
    const byCaller = new Map<string, Pending[]>();
    for (const pending of ready) {
      pending.state = 'sending';
      const caller = pending.read.caller ?? pending.read.token;
      const group = byCaller.get(caller);
      if (group === undefined) byCaller.set(caller, [pending]);
      else group.push(pending);
    }
    for (const group of byCaller.values()) void this.#send(group);
  }

  /** Most calls one read may make at once (a page and its follow-ups), so that it can ever be sent. */
  get maxCallsPerRead(): number {
    return this.#limit === 0 ? Number.POSITIVE_INFINITY : this.#limit;
  }

  /** The places still held in the Page's window at `now`: calls in flight, and answered ones not a window old. */
  #liveSlots(page: string, now: number): Slot[] {
    return (this.#windows.get(page) ?? []).filter((slot) => slot.at > now - this.#windowMs);
  }

  /** Places in the Page's window for `calls` calls sent now, or `undefined` when it is full. */
  #takeSlots(page: string | undefined, calls: number, now: number): Slot[] | undefined {
    if (page === undefined || this.#limit === 0) return [];
    const window = this.#liveSlots(page, now);
    this.#windows.set(page, window);
    // A read needing more calls than the window holds goes alone into an empty window.
    if (window.length > 0 && window.length + calls > this.#limit) return undefined;
    const slots = Array.from({ length: calls }, () => ({ at: Number.POSITIVE_INFINITY }));
    window.push(...slots);
    return slots;
  }

  /** Flushes again when the Page's oldest finished call leaves its window; in-flight calls wake it when they end. */
  #wakeWhenSlotFrees(page: string, now: number): void {
    if (this.#timers.has(page)) return;
    const oldest = Math.min(...(this.#windows.get(page) ?? []).map((slot) => slot.at));
    if (oldest === Number.POSITIVE_INFINITY) return;
    const timer = setTimeout(
      () => {
        this.#timers.delete(page);
        this.#flush();
      },
      Math.max(1, oldest + this.#windowMs - now),
    );
    timer.unref();
    this.#timers.set(page, timer);
  }

  async #send(group: Pending[]): Promise<void> {
    const usage: UpstreamUsage = { requests: 0, calls: 0, coalesced: 0 };
    const answers = await this.#client.readMany(
      group.map((pending) => pending.read),
      usage,
      (read, header) => this.#observeUsage(read, header),
    );
    // The operation whose read went first carries the HTTP request; each read carries its calls.
    group[0]!.usage.requests += usage.requests;
    const others = group.slice(1).reduce((sum, pending) => sum + callsOf(pending.read), 0);
    group.forEach((pending, i) => {
      pending.usage.calls += i === 0 ? usage.calls - others : callsOf(pending.read);
    });

    const now = this.#now();
    // The answers are in: each call now leaves its window a window from now.
    for (const pending of group) for (const slot of pending.slots) slot.at = now;
    for (const page of new Set(this.#queue.flatMap((pending) => (pending.read.page === undefined ? [] : [pending.read.page])))) {
      this.#wakeWhenSlotFrees(page, now);
    }
    group.forEach((pending, i) => {
      const answer = answers[i];
      pending.attempts += 1;
      if (answer instanceof GraphApiError && isThrottleCode(answer.code)) {
        this.#settle(pending, this.#block(pending.read.page, answer, now));
        return;
      }
      const delay = retryDelayMs(pending.attempts, this.#retryBaseDelayMs, this.#random);
      // A batch slot that timed out is asked again once (graph-api.md §4); other failures per isRetryable.
      const retryable =
        answer instanceof GraphTransportError && answer.failure === 'slot-timeout' ? pending.attempts === 1 : isRetryable(answer);
      if (retryable && pending.attempts < this.#maxAttempts && pending.waiters > 0 && now + delay < pending.deadline) {
        pending.state = 'retry-wait';
        setTimeout(() => {
          if (pending.state !== 'retry-wait') return;
          pending.state = 'queued';
          this.#queue.push(pending);
          this.#flush();
        }, delay).unref();
        return;
      }
      this.#settle(pending, answer);
    });
  }

  #observeUsage(read: GraphRead, header: HeaderLookup): void {
    if (read.page === undefined) return;
    const report = parseUsageHeaders(header);
    if (report === undefined) return;
    const budget = this.#budgets.get(read.page) ?? {};
    budget.usage = report;
    budget.usageAt = this.#now();
    this.#budgets.set(read.page, budget);
  }

  /** Blocks a throttled Page and fails its queued reads: calling during a block extends it (§6.3). */
  #block(page: string | undefined, error: GraphApiError, now: number): GraphRateLimitError {
    const waitMs = (page === undefined ? undefined : this.#budgets.get(page)?.usage?.regainAccessMs) || this.#throttleBlockMs;
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    if (page === undefined) return new GraphRateLimitError(page, retryAfterSeconds, error);
    const budget = this.#budgets.get(page) ?? {};
    budget.blockedUntil = Math.max(budget.blockedUntil ?? 0, now + waitMs);
    this.#budgets.set(page, budget);
    const refused = this.#queue.filter((pending) => pending.read.page === page);
    this.#queue = this.#queue.filter((pending) => pending.read.page !== page);
    for (const pending of refused) this.#settle(pending, new GraphRateLimitError(page, retryAfterSeconds, error));
    return new GraphRateLimitError(page, retryAfterSeconds, error);
  }
}
