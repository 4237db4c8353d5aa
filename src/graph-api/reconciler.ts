/**
 * The reconciler: Meta's webhooks are best effort, so the first page of each list read lately is read
 * again now and then, with the Page's idle budget only (never delaying a client's read), at most once per
 * interval per list across a fleet (a claim in the store), and the list's entries are dropped when Graph's
 * answer differs from the one kept.
 *
 * A round re-reads at most `maxLists` lists for the whole fleet (CACHE_RECONCILE_MAX_LISTS): each instance takes its
 * share of them (the bound ÷ the live instances), the most recently read first, and a list another instance claimed
 * does not count against its share. So a fleet re-reads what one instance would, whatever its size: three instances
 * each keeping their own 1,000 lists re-read three times as many (`npm run scale` at 5,000 Pages: 2.45 calls per Page
 * per pass against one instance's 0.81), though no list twice.
 */
import type { LRUCache } from 'lru-cache';
import { createLruCache } from '../lru-caches.js';
import { cacheTags } from './inbox-index.js';
import type { ClaimStore, EntryStore, Inbox } from './read-cache-store.js';
import type { GraphRead, UpstreamUsage } from './read.js';
import type { GraphScheduler } from './scheduler.js';

/** A list's first page as the read cache keeps it. */
export interface ListHead {
  readonly key: string;
  readonly inbox: Inbox;
  readonly tags: readonly string[];
}

export interface ReconcilerOptions {
  store: EntryStore & ClaimStore;
  scheduler: GraphScheduler;
  /** Lists read within this long are reconciled. */
  recentListMs: number;
  /** How long a re-read list is kept (the cache's entry lifetime). */
  entryTtlMs: number;
  /** What a list's answer is kept as (paging links without the reader's token). */
  keptAs: (answer: unknown) => unknown;
  /** Most lists the fleet re-reads in one round (CACHE_RECONCILE_MAX_LISTS). @default DEFAULT_RECONCILE_MAX_LISTS */
  maxLists?: number | undefined;
  /** This instance's share of the fleet's rounds: 1 ÷ the live instances. @default always 1 (alone) */
  share?: (() => number) | undefined;
  /** Told of each re-read, and whether it found a change. */
  onRead: (changed: boolean) => void;
  onError: (error: unknown) => void;
  now: () => number;
}

/** Lists the fleet re-reads in a round at most, when CACHE_RECONCILE_MAX_LISTS is not set. */
export const DEFAULT_RECONCILE_MAX_LISTS = 1_000;

export class Reconciler {
  readonly #options: ReconcilerOptions;
  /** First pages of lists read lately, with the read (token included) to read them again with. */
  readonly #recentLists: LRUCache<string, { read: GraphRead; list: ListHead }>;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    // An instance alone takes the whole round: it remembers as many lists as a round re-reads.
    this.#recentLists = createLruCache(this.#maxLists, { ttl: options.recentListMs, perf: { now: options.now } });
  }

  get #maxLists(): number {
    return this.#options.maxLists ?? DEFAULT_RECONCILE_MAX_LISTS;
  }

  /** Remembers a list's first page, just read from Graph, to be reconciled. */
  note(read: GraphRead, list: ListHead): void {
    this.#recentLists.set(list.key, { read, list });
  }

  /**
   * One round: the lists read lately, most recent first, each unless another instance claimed it within `intervalMs`,
   * until this instance has claimed its share of the round's bound; each is re-read only with an idle budget place.
   */
  async round(intervalMs: number): Promise<void> {
    const { store, scheduler } = this.#options;
    const share = Math.min(1, Math.max(0, this.#options.share?.() ?? 1));
    const quota = Math.ceil(this.#maxLists * share);
    let claimed = 0;
    // lru-cache's entries() runs from the most recently used.
    for (const [key, { read, list }] of this.#recentLists.entries()) {
      if (claimed >= quota) break;
      try {
        if (!(await store.claim(`reconcile:${key}`, intervalMs))) continue;
        claimed += 1;
        const lookup = await store.lookup(list.key, list.tags);
        const usage: UpstreamUsage = { requests: 0, calls: 0, coalesced: 0, cached: 0 };
        const answer = await scheduler.readIfIdle(read, usage);
        if (answer === undefined || answer instanceof Error) continue;
        const kept = lookup.entry;
        const changed = kept !== undefined && kept.generation === lookup.generation && !sameList(kept.body, answer);
        this.#options.onRead(changed);
        if (changed) {
          await store.invalidate([...list.tags, cacheTags.threads(list.inbox.page)]);
          continue;
        }
        const entry = {
          body: this.#options.keptAs(answer),
          fetchedAt: this.#options.now(),
          generation: lookup.generation,
          inbox: list.inbox,
        };
        await store.save(list.key, list.tags, entry, this.#options.entryTtlMs);
      } catch (error) {
        this.#options.onError(error);
      }
    }
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether two first pages of a list hold the same items at the same times (cursors aside, which Graph may renew). */
function sameList(a: unknown, b: unknown): boolean {
  const summary = (body: unknown): string =>
    JSON.stringify(
      (isRecord(body) && Array.isArray(body.data) ? body.data : []).map((item: unknown) =>
        isRecord(item) ? [item.id, item.updated_time, item.snippet, item.unread_count] : item,
      ),
    );
  return summary(a) === summary(b);
}
