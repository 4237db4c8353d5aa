/**
 * The write path: Graph calls that change something (sending a message, a sender action). Reads are safe to
 * repeat, share and batch; a write is not: Graph has no idempotency key, so a send made twice is two messages
 * in the customer's thread. So a write is never coalesced with an identical one, never batched, and made again
 * only when Graph's side proves nothing happened: the connection was never made (the request never left).
 * Every other failure (a timeout, a reset mid-answer, HTTP 5xx, Graph's codes 1 and 2 "unknown/transient")
 * may hide a write that took effect, and goes back to the caller as it is, to decide with what it knows
 * (e.g. the message's metadata in Meta's echo webhook).
 */
import { GraphTransportError } from './errors.js';
import type { GraphWrite, UpstreamUsage } from './read.js';
import { retryDelayMs } from './retry.js';

/** The client side a writer needs (GraphApiClient implements it). */
export interface WriteTransport {
  write(write: GraphWrite, usage?: UpstreamUsage): Promise<unknown>;
}

export interface GraphWriterOptions {
  transport: WriteTransport;
  /** Attempts for a write whose request never left, the first included (GRAPH_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Delay before the first retry; it doubles each time, with full jitter. @default 100 */
  retryBaseDelayMs?: number;
  /** Source of jitter in [0, 1), for tests. @default Math.random */
  random?: () => number;
}

/** Whether a failed write certainly had no effect, so that making it again cannot make it twice. */
export function provedUnsent(error: unknown): boolean {
  return error instanceof GraphTransportError && error.unsent;
}

export class GraphWriter {
  readonly #options: GraphWriterOptions;

  constructor(options: GraphWriterOptions) {
    if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
      throw new TypeError(`GraphWriter: maxAttempts must be an integer ≥ 1, got ${options.maxAttempts}`);
    }
    this.#options = options;
  }

  /**
   * Makes `write` once, and again only while its request never left (up to `maxAttempts`, with backoff), or
   * until `signal` aborts. Resolves with Graph's answer, or the Error the last attempt failed with; never rejects.
   */
  async write(write: GraphWrite, context: { usage?: UpstreamUsage; signal?: AbortSignal } = {}): Promise<unknown> {
    const { transport, maxAttempts, retryBaseDelayMs = 100, random } = this.#options;
    let answer: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      answer = await transport.write(write, context.usage);
      if (!provedUnsent(answer) || attempt === maxAttempts || context.signal?.aborted === true) return answer;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt, retryBaseDelayMs, random)));
    }
    return answer;
  }
}
