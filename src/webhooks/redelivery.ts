/**
 * Drops the events Meta delivers again: Meta retries a delivery it thinks failed, within minutes
 * (Meta: Webhooks, developers.facebook.com/docs/graph-api/webhooks/getting-started), so an event must
 * be relayed once however often it arrives. In memory for one process; `src/redis/` shares one for a fleet.
 */
import type { LRUCache } from 'lru-cache';
import { createLruCache } from '../lru-caches.js';
import { DEFAULT_CAPACITY } from '../capacity.js';

export interface RedeliveryFilter {
  /** True the first time `key` is seen within the window (on every instance sharing the filter); false after. */
  firstSeen(key: string): Promise<boolean>;
}

/** How long an event is remembered: longer than Meta keeps retrying a delivery. */
export const REDELIVERY_WINDOW_MS = 60 * 60 * 1000;
/**
 * The redelivery filter of one process: each key kept for the whole window, `maxEvents` at most (CAPACITY_PAGES × 100),
 * the oldest forgotten first.
 */
export class MemoryRedeliveryFilter implements RedeliveryFilter {
  readonly #seen: LRUCache<string, true>;

  constructor(maxEvents: number = DEFAULT_CAPACITY.webhookEvents) {
    this.#seen = createLruCache(maxEvents, { ttl: REDELIVERY_WINDOW_MS });
  }

  async firstSeen(key: string): Promise<boolean> {
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, true);
    return true;
  }
}
