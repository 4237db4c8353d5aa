import { GraphApiError, GraphTransportError, isThrottleCode } from './errors.js';

/**
 * Whether a failed read may succeed when made again: transient Graph errors (codes 1 and 2,
 * `is_transient`, HTTP 5xx), connection failures and malformed bodies. Never timeouts (the wait would
 * double; a timed-out batch slot already had its one retry), token (190, 102, 104), permission (10,
 * 200–299), parameter (100, 2500) or throttling errors: retrying those is useless or extends a block.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof GraphTransportError) return error.failure !== 'timeout';
  if (!(error instanceof GraphApiError)) return false;
  const { code } = error;
  if (
    isThrottleCode(code) ||
    code === 10 ||
    (code >= 200 && code <= 299) ||
    code === 100 ||
    code === 190 ||
    code === 102 ||
    code === 104 ||
    code === 2500
  ) {
    return false;
  }
  return code === 1 || code === 2 || error.isTransient || error.status >= 500;
}

/** Delay before retry number `attempt` (1, 2, …): exponential, with full jitter. */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return Math.round(random() * baseMs * 2 ** (attempt - 1));
}
