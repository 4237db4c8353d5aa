/**
 * The Send API's own per-Page budget: Meta allows about 300 sends per second per Page (10 for audio and video),
 * apart from the Conversations API's 2 calls per second (Meta: Messenger Platform rate limiting,
 * developers.facebook.com/docs/messenger-platform/overview/rate-limiting). Sends and sender actions spend this
 * budget (the fleet's, through Redis, like the reads' budget) and never the reads': replying never slows the inbox.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { CallBudget } from '../graph-api/call-budget.js';
import { GraphRateLimitError } from '../graph-api/errors.js';

/** Longest a send waits between two asks for a place: a place frees at the latest a window after its answer. */
const MAX_POLL_MS = 50;

/** A place held in the send budget: released when Graph answered. */
export interface SendPlace {
  release(at: number): Promise<void>;
}

/**
 * Waits for a place in `page`'s send budget until `deadline` (epoch ms); rejects with GraphRateLimitError when none
 * frees in time or a throttle blocks the Page past it.
 */
export async function takeSendPlace(budget: CallBudget, page: string, deadline: number, now: () => number): Promise<SendPlace> {
  const key = page;
  const claim = { ticket: randomUUID(), calls: 1, queuedAt: now(), deadline };
  for (;;) {
    const at = now();
    const grant = await budget.acquire(key, [claim], at);
    const places = grant.granted.get(claim.ticket);
    if (places !== undefined) return { release: (answeredAt) => budget.release(key, places, answeredAt) };
    const retryAt = grant.blockedUntil ?? grant.retryAt ?? at + MAX_POLL_MS;
    if (retryAt > deadline) {
      await budget.withdraw(key, [claim.ticket]);
      throw new GraphRateLimitError(page, Math.max(1, Math.ceil((retryAt - at) / 1000)));
    }
    await delay(Math.min(MAX_POLL_MS, Math.max(1, retryAt - at)));
  }
}

/** Graph throttled a send on `page`: no send until `until`. */
export function blockSends(budget: CallBudget, page: string, until: number): Promise<void> {
  return budget.block(page, until);
}
