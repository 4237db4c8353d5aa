import { graphErrorRule } from './error-rules.js';
import { GraphApiError, GraphTransportError } from './errors.js';

/**
 * Whether a failed read may succeed when made again, per the Graph error rules (error-rules.ts):
 * Graph's own transient failures, and unknown codes Graph marks `is_transient` or answers with HTTP
 * 5xx; connection failures and malformed bodies too. Never timeouts (the wait would double; a
 * timed-out batch slot already had its one retry), nor token, permission, parameter or throttling
 * errors: retrying those is useless or extends a block.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof GraphTransportError) return error.failure !== 'timeout';
  if (!(error instanceof GraphApiError)) return false;
  const { retry } = graphErrorRule(error.code, error.subcode);
  return retry === 'always' || (retry === 'if-transient' && (error.isTransient || error.status >= 500));
}

/** Delay before retry number `attempt` (1, 2, …): exponential, with full jitter. */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return Math.round(random() * baseMs * 2 ** (attempt - 1));
}
