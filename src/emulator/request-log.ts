/**
 * What the emulator received, for tests that prove batching and counting: every HTTP request,
 * and the billed Graph calls they made (Meta: Rate Limiting, developers.facebook.com/docs/graph-api/overview/rate-limiting: each batch item
 * and each `?ids=`
 * id is a call of its own).
 */
import type { LoggedBatchItem } from './batch.js';

export type { LoggedBatchItem } from './batch.js';

/** One HTTP request as received. */
export interface LoggedRequest {
  method: string;
  /** Path without query, as sent: `/v25.0/1000000001/conversations`, or `/v25.0/` for a batch. */
  path: string;
  /** Query parameters merged with body parameters, except `batch` (see `items`). */
  params: Record<string, string>;
  status: number;
  /** The items of a batch request, in order. */
  items?: LoggedBatchItem[];
  /** When it was received and run, in ms since the epoch (`Date.now()`); a latency fault delays only the answer. */
  at: number;
  /**
   * The Page whose Conversations API budget a plain call spent: the Page of the conversations edge,
   * of the thread, or of the message's thread. `undefined` for `/me`, batch envelopes (their items
   * carry their own) and other calls.
   */
  pageId?: string | undefined;
  /** Its W3C `traceparent` header, when it came with one (the gateway's traces). */
  traceparent?: string | undefined;
}

/** Read access to the log; `clear()` between test steps resets entries and counters. */
export interface RequestLog {
  readonly entries: readonly LoggedRequest[];
  clear(): void;
  /** HTTP requests received. */
  readonly requestCount: number;
  /** Billed calls: 1 per plain request, 1 per batch item, 1 per id in `?ids=`. */
  readonly callCount: number;
}

/** The log behind one emulator; keeps at least the newest `maxEntries` entries, counts everything. */
export class EmulatorRequestLog implements RequestLog {
  #entries: LoggedRequest[] = [];
  #requestCount = 0;
  #callCount = 0;

  constructor(private readonly maxEntries: number) {}

  get entries(): readonly LoggedRequest[] {
    return this.#entries;
  }

  get requestCount(): number {
    return this.#requestCount;
  }

  get callCount(): number {
    return this.#callCount;
  }

  clear(): void {
    this.#entries = [];
    this.#requestCount = 0;
    this.#callCount = 0;
  }

  /** Records a request before its answer is sent, so a client that got the answer sees the entry. */
  record(entry: LoggedRequest, calls: number): void {
    this.#requestCount += 1;
    this.#callCount += calls;
    this.#entries.push(entry);
    // Trimmed in chunks so that a long benchmark costs amortised O(1) per request.
    if (this.#entries.length >= 2 * this.maxEntries) this.#entries = this.#entries.slice(-this.maxEntries);
  }
}
