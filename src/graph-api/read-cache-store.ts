/**
 * Where cached Graph reads are kept: in this process's memory, or in Redis for a fleet (src/redis/).
 * The store knows nothing of tokens: a key is the read itself (path, fields, filters, limit, cursor),
 * and the read cache (read-cache.ts) decides who may be served what.
 *
 * Freshness is kept by generations. Each read carries tags (its Page's list for a platform, its thread);
 * a webhook event moves the generation of the tags it concerns. An entry is fresh only while the
 * generation it was read under is still current, so an invalidation is one write, whatever the number
 * of entries; an entry whose generation moved is kept (until its TTL) to be served stale when Graph
 * cannot be called. A read that was in flight when an event arrived saves nothing: `save` checks the
 * generation it started under.
 */
import type { LRUCache } from 'lru-cache';
import { createLruCache } from '../lru-caches.js';
import { DEFAULT_CAPACITY } from '../capacity.js';
import { SegmentedLru } from '../segmented-lru.js';

/** One inbox of a Page, as Graph established it: the Page's numeric id and a platform. */
export interface Inbox {
  readonly page: string;
  readonly platform: 'messenger' | 'instagram';
}

/** One cached answer. */
export interface CachedRead {
  /** The parsed JSON body Graph answered (a page, a node, or the pages of a chain). */
  readonly body: unknown;
  /** Epoch ms the answer was read from Graph. */
  readonly fetchedAt: number;
  /** The generation of the read's tags when the read started. */
  readonly generation: string;
  /**
   * The inbox the answer belongs to, as Graph established it (the Page whose list was read, or whose list
   * showed the thread). An entry without one (kept by an older release) is never served.
   */
  readonly inbox?: Inbox | undefined;
  /** The Page whose node this is (a read of `/{page-id}?fields=…`, the path's numeric id): an entry of no inbox. */
  readonly pageNode?: string | undefined;
}

/** Cached answers kept under generations (the read cache's own job). */
export interface EntryStore {
  /** The entry under `key` (fresh or not) and the current generation of `tags`, in one round trip. */
  lookup(key: string, tags: readonly string[]): Promise<{ entry: CachedRead | undefined; generation: string }>;
  /**
   * Keeps `entry` under `key` for `ttlMs`, unless the generation of `tags` moved since `entry.generation`
   * (an event arrived while the read was in flight): then nothing is kept and the answer is `false`.
   */
  save(key: string, tags: readonly string[], entry: CachedRead, ttlMs: number): Promise<boolean>;
  /** Moves the generation of each tag: entries read under an older one are no longer fresh. */
  invalidate(tags: readonly string[]): Promise<void>;
}

/** What events name, mapped to what the cache tags (inbox-index.ts): customers to threads, Instagram accounts to Pages. */
export interface InboxIndexStore {
  /** Remembers which thread each customer (PSID/IGSID) of a Page's inbox is in. */
  learnThreads(page: string, platform: string, threadsByCustomer: ReadonlyMap<string, string>): Promise<void>;
  /** The threads known for a customer of a Page's inbox (empty when none is known). */
  threadsOf(page: string, platform: string, customerId: string): Promise<readonly string[]>;
  /** Remembers which Page an Instagram professional account is linked to. */
  learnAccount(instagramAccountId: string, pageId: string): Promise<void>;
  pageOfAccount(instagramAccountId: string): Promise<string | undefined>;
}

/** Claims one instance of a fleet holds for a while (a fill, a reconciling round). */
export interface ClaimStore {
  /** Whether `name` was not claimed in the last `ttlMs` (and claims it): one instance does a periodic job. */
  claim(name: string, ttlMs: number): Promise<boolean>;
  /** Gives a claim up before its time (the job failed): the next to claim it may try. */
  release(name: string): Promise<void>;
}

/** The read cache's store: its entries, the index events are resolved with, and the fleet's claims, in one place to keep. */
export interface ReadCacheStore extends EntryStore, InboxIndexStore, ClaimStore {}

export interface MemoryReadCacheStoreOptions {
  /** Most entries kept. */
  maxEntries: number;
  /** Most bytes of JSON kept, all entries together. */
  maxBytes: number;
  /** How long a tag's generation is remembered: longer than any entry lives. */
  tagTtlMs: number;
  /** Most tags whose generation is remembered (see `lookup`). @default DEFAULT_CAPACITY.cacheTags */
  maxTags?: number | undefined;
  /** Most customers whose threads are remembered. @default DEFAULT_CAPACITY.customers */
  maxCustomers?: number | undefined;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** Claims (fills, reconciling) held at once; each lives seconds. */
const MAX_CLAIMS = 10_000;

/** A TTL lru-cache honours: it takes 0 for "no TTL at all" (kept until evicted), where a store means "at once" (as Redis's PX 1). */
const atLeastOneMs = (ttlMs: number): number => Math.max(1, Math.round(ttlMs));

/**
 * The read cache of one process, bounded in entries and bytes; entries and tags in segmented LRUs, so that a pass over
 * more inboxes than it holds still finds most of those it held.
 *
 * As in Redis (src/redis/read-cache-store.ts), a tag gets a generation when first looked up, a new one at each
 * invalidation, and keeps it while an entry read under it lives. A tag forgotten early (more tags in use than the
 * bound) gets a new generation at its next lookup: the entries read under it turn stale, and no other entry does.
 */
export class MemoryReadCacheStore implements ReadCacheStore {
  readonly #entries: SegmentedLru<string, CachedRead>;
  readonly #tags: SegmentedLru<string, number>;
  readonly #threads: LRUCache<string, Set<string>>;
  readonly #accounts = new Map<string, string>();
  readonly #claims: LRUCache<string, true>;
  readonly #tagTtlMs: number;
  /** Part of every generation: moved by `clear`, so that no entry kept before is fresh after. */
  #epoch = 0;
  /** The next generation given to a tag: never one given before, so a tag forgotten and seen again never matches an old entry. */
  #nextGeneration = 1;

  constructor(options: MemoryReadCacheStoreOptions) {
    const perf = options.now === undefined ? {} : { perf: { now: options.now } };
    this.#tagTtlMs = options.tagTtlMs;
    this.#entries = new SegmentedLru({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeOf: (entry) => Math.max(1, JSON.stringify(entry.body)?.length ?? 1),
      now: options.now,
    });
    this.#tags = new SegmentedLru({ max: options.maxTags ?? DEFAULT_CAPACITY.cacheTags, now: options.now });
    this.#threads = createLruCache(options.maxCustomers ?? DEFAULT_CAPACITY.customers, { ttl: options.tagTtlMs, ...perf });
    this.#claims = createLruCache(MAX_CLAIMS, perf);
  }

  async lookup(key: string, tags: readonly string[]): Promise<{ entry: CachedRead | undefined; generation: string }> {
    return { entry: this.#entries.get(key), generation: this.#generationOf(tags) };
  }

  async save(key: string, tags: readonly string[], entry: CachedRead, ttlMs: number): Promise<boolean> {
    // Peeked, not used: a read's lookup and its save are one use of its tags, not the second that earns a protected place.
    if (this.#currentGenerationOf(tags) !== entry.generation) return false;
    this.#entries.set(key, entry, atLeastOneMs(ttlMs));
    // The tags outlive the entry, so that it stays fresh as long as no event moves them.
    const tagTtlMs = Math.max(this.#tagTtlMs, atLeastOneMs(ttlMs) + 1_000);
    for (const tag of tags) {
      const generation = this.#tags.peek(tag);
      if (generation !== undefined && this.#tags.remainingTtl(tag) < tagTtlMs) this.#tags.set(tag, generation, tagTtlMs);
    }
    return true;
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    // A tag with no generation has no entry fresh under it, nor a read in flight that could save one (its next lookup
    // gives it a new generation): an event on a Page nobody read takes no room.
    for (const tag of tags) if (this.#tags.peek(tag) !== undefined) this.#tags.set(tag, this.#nextGeneration++, this.#tagTtlMs);
  }

  async learnThreads(page: string, platform: string, threadsByCustomer: ReadonlyMap<string, string>): Promise<void> {
    for (const [customer, thread] of threadsByCustomer) {
      const key = `${page}|${platform}|${customer}`;
      const threads = this.#threads.get(key) ?? new Set<string>();
      this.#threads.set(key, threads.add(thread));
    }
  }

  async threadsOf(page: string, platform: string, customerId: string): Promise<readonly string[]> {
    return [...(this.#threads.get(`${page}|${platform}|${customerId}`) ?? [])];
  }

  async learnAccount(instagramAccountId: string, pageId: string): Promise<void> {
    this.#accounts.set(instagramAccountId, pageId);
  }

  async pageOfAccount(instagramAccountId: string): Promise<string | undefined> {
    return this.#accounts.get(instagramAccountId);
  }

  async release(name: string): Promise<void> {
    this.#claims.delete(name);
  }

  async claim(name: string, ttlMs: number): Promise<boolean> {
    if (this.#claims.has(name)) return false;
    this.#claims.set(name, true, { ttl: atLeastOneMs(ttlMs) });
    return true;
  }

  /** Every entry kept, by key (for inspection). */
  entries(): Array<[string, CachedRead]> {
    return [...this.#entries.entries()];
  }

  /** Forgets every entry and generation (a process that lost track of events starts afresh). */
  clear(): void {
    this.#entries.clear();
    this.#epoch += 1;
  }

  /** The generation of `tags`, a look that counts as a use of each; a tag with none is given one. */
  #generationOf(tags: readonly string[]): string {
    let generation = String(this.#epoch);
    for (const tag of tags) {
      let current = this.#tags.get(tag);
      if (current === undefined) {
        current = this.#nextGeneration++;
        this.#tags.set(tag, current, this.#tagTtlMs);
      }
      generation += `.${current}`;
    }
    return generation;
  }

  /** The generation of `tags` as it stands, not counted as a use; `undefined` when one has none (forgotten since). */
  #currentGenerationOf(tags: readonly string[]): string | undefined {
    let generation = String(this.#epoch);
    for (const tag of tags) {
      const current = this.#tags.peek(tag);
      if (current === undefined) return undefined;
      generation += `.${current}`;
    }
    return generation;
  }
}
