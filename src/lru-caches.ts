import { LRUCache } from 'lru-cache';

/** lru-cache's options, but for the bound: {@link createLruCache} takes it apart. */
export type LruCacheOptions<K extends NonNullable<unknown>, V extends NonNullable<unknown>> = Omit<
  LRUCache.OptionsBase<K, V, unknown>,
  'max' | 'maxSize' | 'maxEntrySize' | 'sizeCalculation'
>;

/**
 * An LRU cache of at most `maxEntries` entries whose memory grows with the entries it holds. lru-cache given `max`
 * allocates its bookkeeping for `max` entries at once (about 44 bytes each with a TTL: 4.4 MB for a bound of 100,000,
 * held from start-up whether or not one entry is ever stored; the gateway's bounds together took 25 MB of an idle
 * 49 MB heap). Counting each entry as a size of 1 under `maxSize` bounds it the same and allocates as it fills.
 * Use `new LRUCache` with `max` only where entries are weighed by bytes (`maxSize` is then taken).
 */
export function createLruCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(
  maxEntries: number,
  options: LruCacheOptions<K, V> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: maxEntries, sizeCalculation: () => 1 });
}
