/**
 * Decides when each Graph read leaves, so a Page never spends more calls than it must:
 *   - an identical read (same token, same URL) already queued or in flight is shared, never repeated;
 *   - each Page's calls stay within its call budget (call-budget.ts: default 2 in any one-second window,
 *     every batch item counted), in memory or shared by a fleet, by queueing: a queued read is shared by
 *     later identical ones, and the oldest reads leave first;
 *   - after Graph throttles a Page, no call is made for it until the block ends
 *     (`estimated_time_to_regain_access`); its reads fail at once with a retry-after;
 *   - transient failures are retried with exponential backoff and jitter, within the deadline;
 *   - reads made in the same tick with the same token leave together as one batch;
 *   - a queued read whose every waiter has gone (deadline, disconnected client) is never sent.
 */
import { randomBytes } from 'node:crypto';
import { type Context, context as otelContext, type Span, trace } from '@opentelemetry/api';
import type { BudgetClaim, CallBudget } from './call-budget.js';
import type { GraphRead, GraphTransport, HeaderLookup, UpstreamUsage } from './read.js';
import { GraphApiError, GraphRateLimitError, GraphTransportError, isThrottleCode, OperationAbortedError } from './errors.js';
import { isRetryable, retryDelayMs } from './retry.js';
import { ATTRIBUTES, type BudgetOutcome, endBudgetWait, startBudgetWait } from './tracing.js';
import { parseUsageHeaders, type UsageReport } from './usage.js';
import { SILENT_LOG, SILENT_OBSERVER, type UpstreamLog, type UpstreamObserver } from './upstream-observer.js';

export interface GraphSchedulerOptions {
  transport: GraphTransport;
  /** The per-Page call budget to spend (GRAPH_PAGE_CALLS_PER_SECOND), this process's or the fleet's. */
  budget: CallBudget;
  /** Attempts for a read that fails transiently, the first included (GRAPH_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** How long a Page is left alone after a throttle when Graph gives no estimate (GRAPH_THROTTLE_BLOCK_SECONDS). */
  throttleBlockMs: number;
  /** Delay before the first retry; it doubles each time, with full jitter. @default 100 */
  retryBaseDelayMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Source of jitter in [0, 1), for tests. @default Math.random */
  random?: () => number;
  /** Whether budget wait spans name their Page (`graph.page.id`; TRACE_PAGE_IDS). @default false */
  tracePageIds?: boolean;
  /** Told of each read's wait for its budget (metrics). @default tells nothing */
  observer?: Pick<UpstreamObserver, 'budgetWaited'> | undefined;
  /** Where the line that a Page became blocked goes. @default nowhere */
  log?: UpstreamLog | undefined;
  /** Told of each answer Graph gave a read (the empty-inbox hint, empty-inbox-hint.ts). @default tells nothing */
  onAnswer?: ((read: GraphRead, answer: unknown) => void) | undefined;
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
  /** Its identity: it changes only when a newer identical read takes the queued read over (see `#join`). */
  key: string;
  /** The read without its cache generation: identical reads asked for before and after an event share it. */
  readonly base: string;
  read: GraphRead;
  readonly usage: UpstreamUsage;
  readonly promise: Promise<unknown>;
  readonly settle: (value: unknown) => void;
  /** Its name in the Page's line. */
  readonly ticket: string;
  readonly queuedAt: number;
  state: 'queued' | 'sending' | 'retry-wait' | 'done';
  /** The budget places the current attempt holds. */
  places: readonly string[];
  /** The trace context of the operation that asked first: its wait and request spans go there. */
  readonly trace: Context;
  /** The span of its last wait in the Page's line; `waiting` while it is open. */
  wait: Span | undefined;
  waiting: boolean;
  waiters: number;
  attempts: number;
  deadline: number;
}

/** A Page's budget as this process sees it now, for clients pacing themselves. */
export interface PageBudgetView {
  /** The per-Page rate applied; `undefined`: no limit. */
  readonly callsPerSecond: number | undefined;
  /** Calls that could leave for the Page now; `undefined`: no limit. */
  readonly availableCalls: number | undefined;
  /** Reads waiting for the Page's window (on every instance sharing the budget). */
  readonly queuedReads: number;
  /** Epoch ms until which Graph's throttle keeps the Page blocked; `undefined` when it is not. */
  readonly blockedUntil: number | undefined;
  readonly usage: UsageReport | undefined;
  readonly usageAt: number | undefined;
}

/** Billed calls a read makes: its page and each follow-up page. */
const callsOf = (read: GraphRead): number => 1 + (read.followUps?.length ?? 0);

export class GraphScheduler {
  readonly #transport: GraphTransport;
  readonly #budget: CallBudget;
  readonly #maxAttempts: number;
  readonly #retryBaseDelayMs: number;
  readonly #throttleBlockMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #tracePageIds: boolean;
  readonly #observer: Pick<UpstreamObserver, 'budgetWaited'>;
  readonly #log: UpstreamLog;
  readonly #onAnswer: GraphSchedulerOptions['onAnswer'];
  /** Until when each Page this instance knows blocked is (after a throttle here or on another instance). */
  readonly #blocks = new Map<string, number>();
  /** Names this scheduler's tickets apart from other instances'. */
  readonly #instance = randomBytes(6).toString('base64url');
  #nextTicket = 0;

  readonly #pending = new Map<string, Pending>();
  #queue: Pending[] = [];
  /** What the last grant said of each Page's window and line, to estimate a new read's wait. */
  readonly #observed = new Map<string, { busy: number; waitingCalls: number }>();
  readonly #usage = new Map<string, { report: UsageReport; at: number }>();
  /** The `estimated_time_to_regain_access` of each Page's latest answer, in ms, when it stated one. */
  readonly #regainMs = new Map<string, number>();
  /** The next flush due because a place frees then. */
  #wake: { at: number; timer: NodeJS.Timeout } | undefined;
  #flushScheduled = false;
  #flushing = false;
  #flushAgain = false;

  constructor(options: GraphSchedulerOptions) {
    this.#transport = options.transport;
    this.#budget = options.budget;
    this.#maxAttempts = options.maxAttempts;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.#throttleBlockMs = options.throttleBlockMs;
    this.#now = options.now ?? (() => Date.now());
    this.#random = options.random ?? Math.random;
    this.#tracePageIds = options.tracePageIds ?? false;
    this.#observer = options.observer ?? SILENT_OBSERVER;
    this.#log = options.log ?? SILENT_LOG;
    this.#onAnswer = options.onAnswer;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new TypeError(`maxAttempts must be a whole number ≥ 1, got ${this.#maxAttempts}`);
    }
  }

  /** The canonical identity of a read. */
  keyOf(read: GraphRead): string {
    return this.#transport.keyOf(read);
  }

  /** Reads waiting for their Page's call window in this process. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Pages this instance knows blocked after a throttle, now. */
  get blockedPages(): number {
    const now = this.#now();
    for (const [page, until] of this.#blocks) if (until <= now) this.#blocks.delete(page);
    return this.#blocks.size;
  }

  /** Most calls one read may make at once (a page and its follow-ups), so that it can ever be sent. */
  get maxCallsPerRead(): number {
    return this.#budget.limit === 0 ? Number.POSITIVE_INFINITY : this.#budget.limit;
  }

  /** What is known of `page`'s budget now. Makes no Graph call. */
  async budgetOf(page: string): Promise<PageBudgetView> {
    const now = this.#now();
    const status = await this.#budget.status(page, now);
    const latest = Math.max(status.blockedUntil ?? 0, this.#budget.blockedUntil(page, now) ?? 0);
    const blockedUntil = latest > now ? latest : undefined;
    const queuedHere = this.#queue.filter((pending) => pending.read.budgetKey === page).length;
    const queuedReads = Math.max(queuedHere, status.waitingCalls);
    const limited = this.#budget.limit !== 0;
    const usage = this.#usage.get(page);
    return {
      callsPerSecond: limited ? this.#budget.callsPerSecond : undefined,
      availableCalls: !limited
        ? undefined
        : blockedUntil !== undefined || queuedReads > 0
          ? 0
          : Math.max(0, this.#budget.limit - status.busy),
      queuedReads,
      blockedUntil,
      usage: usage?.report,
      usageAt: usage?.at,
    };
  }

  /** Makes the reads; never rejects: slot `i` holds the body or an Error for `reads[i]`. */
  readMany(reads: readonly GraphRead[], context: ReadContext): Promise<unknown[]> {
    if (context.signal?.aborted) return Promise.resolve(reads.map(() => new OperationAbortedError('disconnected')));
    const joined = reads.map((read) => this.#join(read, context));
    this.#scheduleFlush();
    const answers = Promise.all(joined.map((pending) => pending.promise));
    const signal = context.signal;
    if (signal !== undefined) {
      // One listener for all the reads of this call, however many (an operation's signal has one per batch).
      const leave = (): void => {
        for (const pending of joined) this.#leave(pending);
      };
      signal.addEventListener('abort', leave, { once: true });
      void answers.then(() => signal.removeEventListener('abort', leave));
    }
    return answers;
  }

  /** One waiter of `pending` left; when none is left and it has not started, it is cancelled. */
  #leave(pending: Pending): void {
    pending.waiters -= 1;
    if (pending.waiters === 0 && (pending.state === 'queued' || pending.state === 'retry-wait')) {
      // Nobody waits for it any more: cancel the upstream work that has not started.
      this.#queue = this.#queue.filter((entry) => entry !== pending);
      this.#endWait(pending, 'cancelled');
      if (pending.read.budgetKey !== undefined) void this.#budget.withdraw(pending.read.budgetKey, [pending.ticket]).catch(() => undefined);
      this.#settle(pending, new OperationAbortedError('disconnected'));
    }
  }

  /**
   * Makes `read` now if its Page's budget has a place no client needs (an idle window), for background
   * work that must never delay a client's read; `undefined` when there is none. Not shared with other reads.
   */
  async readIfIdle(read: GraphRead, usage: UpstreamUsage): Promise<unknown> {
    const page = read.budgetKey;
    const now = this.#now();
    if (page !== undefined && this.#blockedSeconds(page) > 0) return undefined;
    const places = page === undefined || this.#budget.limit === 0 ? [] : await this.#budget.acquireIdle(page, callsOf(read), now);
    if (places === undefined) return undefined;
    const [answer] = await this.#transport.readMany([read], usage, (sent, header) => this.#observeUsage(sent, header));
    const answeredAt = this.#now();
    if (page !== undefined && places.length > 0) await this.#budget.release(page, places, answeredAt);
    if (answer instanceof GraphApiError && isThrottleCode(answer.code)) return this.#block(page, answer, answeredAt);
    return answer;
  }

  #join(read: GraphRead, context: ReadContext): Pending {
    const key = this.#transport.keyOf(read);
    const base = read.generation === undefined ? key : this.#transport.keyOf({ ...read, generation: undefined });
    let pending = this.#pending.get(key) ?? this.#takeOverQueued(base, key, read);
    if (pending !== undefined) {
      context.usage.coalesced += 1;
    } else {
      let settle!: (value: unknown) => void;
      const promise = new Promise<unknown>((resolve) => (settle = resolve));
      const now = this.#now();
      pending = {
        key,
        base,
        read,
        usage: context.usage,
        promise,
        settle,
        ticket: `${this.#instance}.${this.#nextTicket++}`,
        queuedAt: now,
        state: 'queued',
        places: [],
        trace: otelContext.active(),
        wait: undefined,
        waiting: false,
        waiters: 0,
        attempts: 0,
        deadline: 0,
      };
      this.#pending.set(key, pending);
      this.#startWait(pending);
      const blocked = this.#blockedSeconds(read.budgetKey);
      const wait = this.#queueWaitSeconds(read);
      if (blocked > 0) this.#settle(pending, new GraphRateLimitError(read.budgetKey, blocked));
      // A read that could not leave before its deadline is refused now, with when to come back,
      // rather than held until the deadline and refused then.
      else if (context.deadline !== undefined && now + wait * 1000 > context.deadline) {
        this.#settle(pending, new GraphRateLimitError(read.budgetKey, wait));
      } else this.#queue.push(pending);
    }
    const joined = pending;
    joined.waiters += 1;
    joined.deadline = Math.max(joined.deadline, context.deadline ?? Number.POSITIVE_INFINITY);
    return joined;
  }

  /**
   * An identical read of another cache generation that is still queued (it has not left, so whatever Graph answers
   * it is read after both were asked for) serves this one too: it takes this read's generation, the one looked up
   * last, so that its answer is kept under the current generation. Without this, every event made each waiting
   * reader's read a separate call (a team replying at 6 sends per second against 2 reads per second queued them all).
   */
  #takeOverQueued(base: string, key: string, read: GraphRead): Pending | undefined {
    if (base === key) return undefined;
    const queued = this.#queue.find((pending) => pending.base === base && pending.state === 'queued' && pending.attempts === 0);
    if (queued === undefined) return undefined;
    if (this.#pending.get(queued.key) === queued) this.#pending.delete(queued.key);
    queued.key = key;
    queued.read = read;
    this.#pending.set(key, queued);
    return queued;
  }

  #settle(pending: Pending, value: unknown): void {
    // A read settled while it waited never left: refused (a block, the deadline) unless cancelled before.
    this.#endWait(pending, 'refused');
    pending.state = 'done';
    if (this.#pending.get(pending.key) === pending) this.#pending.delete(pending.key);
    pending.settle(value);
  }

  /** Seconds before a read joining its Page's line now could leave (whole windows, rounded up). */
  #queueWaitSeconds(read: GraphRead): number {
    const { limit, windowMs } = this.#budget;
    if (read.budgetKey === undefined || limit === 0) return 0;
    const aheadHere = this.#queue.reduce(
      (calls, pending) => calls + (pending.read.budgetKey === read.budgetKey ? callsOf(pending.read) : 0),
      0,
    );
    const observed = this.#observed.get(read.budgetKey);
    const ahead = Math.max(aheadHere, observed?.waitingCalls ?? 0);
    return Math.ceil((Math.floor((ahead + (observed?.busy ?? 0) + callsOf(read) - 1) / limit) * windowMs) / 1000);
  }

  /** Seconds a Page stays blocked after a throttle, as far as this process knows; 0 when it is not. */
  #blockedSeconds(page: string | undefined): number {
    const now = this.#now();
    const until = page === undefined ? undefined : this.#budget.blockedUntil(page, now);
    const left = until === undefined ? 0 : until - now;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Every read asked for in this tick, by any operation, leaves in the same flush.
    process.nextTick(() => {
      this.#flushScheduled = false;
      void this.#flush();
    });
  }

  /** Runs one flush at a time: reads queued while one runs are taken by the next. */
  async #flush(): Promise<void> {
    if (this.#flushing) {
      this.#flushAgain = true;
      return;
    }
    this.#flushing = true;
    try {
      do {
        this.#flushAgain = false;
        await this.#flushOnce();
      } while (this.#flushAgain);
    } finally {
      this.#flushing = false;
    }
  }

  async #flushOnce(): Promise<void> {
    const now = this.#now();
    const byPage = new Map<string, Pending[]>();
    for (const pending of this.#queue) {
      const page = pending.read.budgetKey;
      if (page === undefined || this.#budget.limit === 0) continue;
      const line = byPage.get(page);
      if (line === undefined) byPage.set(page, [pending]);
      else line.push(pending);
    }
    const granted = new Set<Pending>();
    await Promise.all(
      [...byPage].map(async ([page, line]) => {
        const claims = line.map(
          (pending): BudgetClaim => ({
            ticket: pending.ticket,
            calls: callsOf(pending.read),
            queuedAt: pending.queuedAt,
            deadline: pending.deadline,
          }),
        );
        const grant = await this.#budget.acquire(page, claims, now);
        this.#observed.set(page, { busy: grant.busy, waitingCalls: grant.waitingCalls });
        if (grant.blockedUntil !== undefined) {
          // Another instance met a throttle: this one learns of the block and refuses the Page's reads too.
          this.#refuseBlocked(page, grant.blockedUntil, undefined);
          return;
        }
        for (const pending of line) {
          const places = grant.granted.get(pending.ticket);
          if (places === undefined) continue;
          if (pending.state !== 'queued') {
            // Its readers left while the grant was decided: give the places back at once.
            void this.#budget.release(page, places, 0);
            continue;
          }
          pending.places = places;
          granted.add(pending);
        }
        if (grant.retryAt !== undefined) this.#wakeAt(grant.retryAt);
      }),
    );

    // In line order; reads outside any Page budget leave at once.
    const unlimited = this.#budget.limit === 0;
    const ready = this.#queue.filter(
      (pending) => pending.state === 'queued' && (unlimited || pending.read.budgetKey === undefined || granted.has(pending)),
    );
    const leaving = new Set(ready);
    const leftAt = this.#now();
    for (const pending of ready) if (pending.attempts === 0) this.#observer.budgetWaited(Math.max(0, leftAt - pending.queuedAt) / 1000);
    this.#queue = this.#queue.filter((pending) => pending.state === 'queued' && !leaving.has(pending));

    // One send per caller: a batch's outer token decides for all its items, and one caller's failing
    // token must never fail another caller's reads.
    const byCaller = new Map<string, Pending[]>();
    for (const pending of ready) {
      pending.state = 'sending';
      this.#endWait(pending, 'granted');
      const caller = pending.read.caller ?? pending.read.token;
      const group = byCaller.get(caller);
      if (group === undefined) byCaller.set(caller, [pending]);
      else group.push(pending);
    }
    for (const group of byCaller.values()) void this.#send(group);
  }

  /** Flushes again at `at` (when a place should free), unless a flush is already due sooner. */
  #wakeAt(at: number): void {
    if (this.#wake !== undefined && this.#wake.at <= at) return;
    if (this.#wake !== undefined) clearTimeout(this.#wake.timer);
    const timer = setTimeout(
      () => {
        this.#wake = undefined;
        void this.#flush();
      },
      Math.max(1, at - this.#now()),
    );
    timer.unref();
    this.#wake = { at, timer };
  }

  async #send(group: Pending[]): Promise<void> {
    const usage: UpstreamUsage = { requests: 0, calls: 0, coalesced: 0, cached: 0 };
    // A request has one parent: the first wait in the group (else the operation that asked first).
    const answers = await otelContext.with(this.#requestParent(group), () =>
      this.#transport.readMany(
        group.map((pending) => pending.read),
        usage,
        (read, header) => this.#observeUsage(read, header),
      ),
    );
    // The operation whose read went first carries the HTTP request; each read carries its calls.
    group[0]!.usage.requests += usage.requests;
    const others = group.slice(1).reduce((sum, pending) => sum + callsOf(pending.read), 0);
    group.forEach((pending, i) => {
      pending.usage.calls += i === 0 ? usage.calls - others : callsOf(pending.read);
    });

    const now = this.#now();
    // The answers are in: each call now leaves its window a window from now.
    await Promise.all(
      group.flatMap((pending) =>
        pending.read.budgetKey === undefined || pending.places.length === 0
          ? []
          : [this.#budget.release(pending.read.budgetKey, pending.places, now)],
      ),
    );
    group.forEach((pending, i) => {
      const answer = answers[i];
      pending.attempts += 1;
      if (!(answer instanceof Error)) this.#onAnswer?.(pending.read, answer);
      if (answer instanceof GraphApiError && isThrottleCode(answer.code)) {
        this.#settle(pending, this.#block(pending.read.budgetKey, answer, now));
        return;
      }
      const delay = retryDelayMs(pending.attempts, this.#retryBaseDelayMs, this.#random);
      // A batch slot that timed out is asked again once (Meta: Batch Requests); other failures per isRetryable.
      const retryable =
        answer instanceof GraphTransportError && answer.failure === 'slot-timeout' ? pending.attempts === 1 : isRetryable(answer);
      if (retryable && pending.attempts < this.#maxAttempts && pending.waiters > 0 && now + delay < pending.deadline) {
        pending.state = 'retry-wait';
        setTimeout(() => {
          if (pending.state !== 'retry-wait') return;
          pending.state = 'queued';
          this.#startWait(pending);
          this.#queue.push(pending);
          void this.#flush();
        }, delay).unref();
        return;
      }
      this.#settle(pending, answer);
    });
    if (this.#queue.length > 0) this.#scheduleFlush();
  }

  /** Opens the span of a wait in the Page's line (reads outside any Page's budget wait for no window). */
  #startWait(pending: Pending): void {
    const page = pending.read.budgetKey;
    if (page === undefined) return;
    pending.wait = startBudgetWait(pending.trace, {
      [ATTRIBUTES.budgetCalls]: callsOf(pending.read),
      [ATTRIBUTES.attempt]: pending.attempts + 1,
      ...(this.#tracePageIds ? { [ATTRIBUTES.pageId]: page } : {}),
    });
    pending.waiting = true;
  }

  #endWait(pending: Pending, outcome: BudgetOutcome): void {
    if (!pending.waiting) return;
    pending.waiting = false;
    endBudgetWait(pending.wait!, outcome);
  }

  /** Where a group's request span goes: under the first wait that let a read leave, else under the operation that asked first. */
  #requestParent(group: readonly Pending[]): Context {
    const waited = group.find((pending) => pending.wait !== undefined);
    return waited === undefined ? group[0]!.trace : trace.setSpan(waited.trace, waited.wait!);
  }

  #observeUsage(read: GraphRead, header: HeaderLookup): void {
    if (read.budgetKey === undefined) return;
    const report = parseUsageHeaders(header);
    if (report !== undefined) this.#usage.set(read.budgetKey, { report, at: this.#now() });
    // Graph states the regain time on the throttled answer only (Meta: Rate Limiting,
    // developers.facebook.com/docs/graph-api/overview/rate-limiting): a block takes it from that answer, never from an older one.
    if (report?.regainAccessMs !== undefined) this.#regainMs.set(read.budgetKey, report.regainAccessMs);
    else this.#regainMs.delete(read.budgetKey);
  }

  /** Blocks a throttled Page (for every instance sharing the budget) and fails its queued reads: calling during a block extends it. */
  #block(page: string | undefined, error: GraphApiError, now: number): GraphRateLimitError {
    const stated = page === undefined ? undefined : this.#regainMs.get(page);
    if (page !== undefined) this.#regainMs.delete(page);
    const waitMs = stated !== undefined && stated > 0 ? stated : this.#throttleBlockMs;
    if (page === undefined) return new GraphRateLimitError(page, Math.max(1, Math.ceil(waitMs / 1000)), error);
    // A block the Page is already under (a sibling item of the same batch stated its regain time) is never shortened.
    const blockedUntil = this.#blocks.get(page) ?? 0;
    const until = Math.max(now + waitMs, blockedUntil);
    const retryAfterSeconds = Math.max(1, Math.ceil((until - now) / 1000));
    if (blockedUntil <= now) this.#logBlock(page, error, retryAfterSeconds, until);
    void this.#budget.block(page, until).catch(() => undefined);
    this.#refuseBlocked(page, until, error);
    return new GraphRateLimitError(page, retryAfterSeconds, error);
  }

  /** The one line a block gets, when it begins (the reads it refuses are debug lines of their own). */
  #logBlock(page: string, error: GraphApiError, retryAfterSeconds: number, until: number): void {
    this.#log.warn(
      {
        pageId: page,
        graphCode: error.code,
        ...(error.subcode === undefined ? {} : { graphSubcode: error.subcode }),
        ...(error.fbtraceId === undefined ? {} : { fbtraceId: error.fbtraceId }),
        retryAfterSeconds,
        blockedUntil: new Date(until).toISOString(),
      },
      `Graph throttled Page ${page} (code ${error.code}): no calls for it, on any instance sharing its budget, for ${retryAfterSeconds} s`,
    );
  }

  /** Refuses the Page's queued reads with a block (the budget holds the block itself). */
  #refuseBlocked(page: string, until: number, error: GraphApiError | undefined): void {
    this.#blocks.set(page, Math.max(until, this.#blocks.get(page) ?? 0));
    const retryAfterSeconds = Math.max(1, Math.ceil((until - this.#now()) / 1000));
    const refused = this.#queue.filter((pending) => pending.read.budgetKey === page && pending.state === 'queued');
    this.#queue = this.#queue.filter((pending) => !refused.includes(pending));
    if (refused.length > 0)
      void this.#budget
        .withdraw(
          page,
          refused.map((pending) => pending.ticket),
        )
        .catch(() => undefined);
    for (const pending of refused) this.#settle(pending, new GraphRateLimitError(page, retryAfterSeconds, error));
  }
}
