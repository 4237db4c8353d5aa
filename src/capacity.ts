/**
 * What one instance remembers, in counts sized from two settings (src/config.ts): CAPACITY_PAGES, the Pages whose
 * inboxes it serves, and CAPACITY_TOKENS, the tokens (agents) that call it within CREDENTIALS_TTL_SECONDS. Each bound
 * is a multiple of one of them, so an operator sizes the gateway by saying how big the desk is, not by tuning ten
 * numbers. Past a bound the least used are forgotten first; where a pass over everything is the daily pattern (the
 * read cache, proofs, identities) a segmented LRU keeps the hit rate falling gradually (src/segmented-lru.ts).
 */

/** The counts an instance keeps at most. */
export interface CapacityBounds {
  /** Cached reads kept in memory, unless CACHE_MAX_ENTRIES says otherwise. */
  readonly cacheEntries: number;
  /** Bytes of cached reads (JSON) kept in memory, unless CACHE_MAX_MEGABYTES says otherwise. */
  readonly cacheBytes: number;
  /** Tags whose generation the in-memory read cache keeps: a Page's lists and node, and the threads read. */
  readonly cacheTags: number;
  /** Customers whose thread is known (webhook events name customers; the cache is tagged by thread). */
  readonly customers: number;
  /** Threads whose inbox is known (src/graph-api/read-access.ts). */
  readonly threadInboxes: number;
  /** Webhook events remembered for an hour, to drop Meta's redeliveries (without Redis). */
  readonly webhookEvents: number;
  /** Token identities remembered (src/credentials.ts), and kept by the in-memory identity store. */
  readonly identities: number;
  /** Proofs of reach (token × inbox, thread or Page) remembered, and kept by the in-memory proof store. */
  readonly proofs: number;
  /** Graph's refusals of strangers' probes remembered (src/graph-api/read-access.ts, 30 s each). */
  readonly refusals: number;
  /** Most Pages one token's `/me/accounts` is followed to: a safety net against a cursor that never ends. */
  readonly pagesPerToken: number;
  /** Lists whose signed cursors are remembered (src/cursors.ts), and their bytes. */
  readonly cursorLists: number;
  readonly cursorBytes: number;
}

/** Per 1,000 Pages: the first inbox page of 20 conversations with 5 messages each takes about 56 KB of JSON. */
const CACHE_MEGABYTES_PER_1000_PAGES = 64;
/** Per Page: its first list pages, a few later ones, its node, and threads opened. */
const CACHE_ENTRIES_PER_PAGE = 10;
/** Per Page: its two lists and node, and each thread read (a tag lives as long as an entry read under it). */
const CACHE_TAGS_PER_PAGE = 50;
/** Per Page: the customers of its recent conversations, and the threads they are in. */
const CONVERSATIONS_PER_PAGE = 50;
/** Per Page: webhook events in an hour. */
const WEBHOOK_EVENTS_PER_PAGE = 100;
/** Per token: its inbox, the Page it spends (`acquainted`) and the Page node, with room for threads and a second Page. */
const PROOFS_PER_TOKEN = 4;
/** Per token: a share of the lists whose cursors are signed again and again (polling answers the same page). */
const CURSOR_LISTS_PER_TOKEN = 1 / 20;
const CURSOR_BYTES_PER_TOKEN = 1_600;
/** Signing a cursor again costs microseconds, no call: past this, memory is better spent on the read cache. */
const MAX_CURSOR_BYTES = 32 * 1024 * 1024;
/** At least this many Pages are followed for one token, whatever CAPACITY_PAGES says. */
const MIN_PAGES_PER_TOKEN = 20_000;

/** The bounds for `pages` Pages served and `tokens` tokens calling (CAPACITY_PAGES, CAPACITY_TOKENS). */
export function capacityBounds(pages: number, tokens: number): CapacityBounds {
  return {
    cacheEntries: pages * CACHE_ENTRIES_PER_PAGE,
    cacheBytes: Math.ceil(((pages * CACHE_MEGABYTES_PER_1000_PAGES) / 1_000) * 1024 * 1024),
    cacheTags: pages * CACHE_TAGS_PER_PAGE,
    customers: pages * CONVERSATIONS_PER_PAGE,
    threadInboxes: pages * CONVERSATIONS_PER_PAGE,
    webhookEvents: pages * WEBHOOK_EVENTS_PER_PAGE,
    identities: tokens,
    proofs: tokens * PROOFS_PER_TOKEN,
    refusals: tokens,
    pagesPerToken: Math.max(MIN_PAGES_PER_TOKEN, 2 * pages),
    cursorLists: Math.max(1, Math.ceil(tokens * CURSOR_LISTS_PER_TOKEN)),
    cursorBytes: Math.min(MAX_CURSOR_BYTES, tokens * CURSOR_BYTES_PER_TOKEN),
  };
}

/** Pages and tokens an instance is sized for when nothing is set (CAPACITY_PAGES, CAPACITY_TOKENS). */
export const DEFAULT_CAPACITY_PAGES = 1_000;
export const DEFAULT_CAPACITY_TOKENS = 10_000;

/** The bounds when nothing is set: what modules fall back to. */
export const DEFAULT_CAPACITY: CapacityBounds = capacityBounds(DEFAULT_CAPACITY_PAGES, DEFAULT_CAPACITY_TOKENS);

/**
 * The bounds of an instance whose fleet shares a Redis (REDIS_URL): identities, proofs and cached reads live there, so
 * what this process keeps of them is only a front (identities and proofs, asked of Redis again on a miss) or what it
 * caches while Redis is unreachable (the read cache, its tags and customers). Those are bounded as for the defaults'
 * 1,000 Pages and 10,000 tokens at most, whatever CAPACITY_* say: at 10,000 Pages, a 640 MB read cache for an outage
 * would not fit in start:prod's 1 GB heap, and a front of every token's identity and proofs would cost the instance
 * about 10 KB per Page that Redis already holds. What lives only in this process (threads whose inbox is known,
 * strangers' refusals, signed cursors) keeps its bound.
 */
export function boundsWithRedis(bounds: CapacityBounds): CapacityBounds {
  const front = (name: 'cacheEntries' | 'cacheBytes' | 'cacheTags' | 'customers' | 'identities' | 'proofs'): number =>
    Math.min(bounds[name], DEFAULT_CAPACITY[name]);
  return {
    ...bounds,
    cacheEntries: front('cacheEntries'),
    cacheBytes: front('cacheBytes'),
    cacheTags: front('cacheTags'),
    customers: front('customers'),
    identities: front('identities'),
    proofs: front('proofs'),
  };
}
