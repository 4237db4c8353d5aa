/**
 * Drops the events Meta delivers again: Meta retries a delivery it thinks failed, within minutes
 * (Meta: Webhooks, developers.facebook.com/docs/graph-api/webhooks/getting-started), so an event must
 * be relayed once however often it arrives. In memory for one process; `src/redis/` shares one for a fleet.
 */
import { createLruCache } from '../lru-caches.js';

export interface RedeliveryFilter {
  /** True the first time `key` is seen within the window (on every instance sharing the filter); false after. */
  firstSeen(key: string): Promise<boolean>;
}

/** How long an event is remembered: longer than Meta keeps retrying a delivery. */
export const REDELIVERY_WINDOW_MS = 60 * 60 * 1000;
/** Most events remembered at once, the oldest forgotten first. */
const MAX_REMEMBERED_EVENTS = 100_000;

/** The redelivery filter of one process: each key kept for the whole window (within the bound). */
export class MemoryRedeliveryFilter implements RedeliveryFilter {
  readonly #seen = createLruCache<string, true>(MAX_REMEMBERED_EVENTS, { ttl: REDELIVERY_WINDOW_MS });

  async firstSeen(key: string): Promise<boolean> {
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, true);
    return true;
  }
}
