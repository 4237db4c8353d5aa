import { describe, expect, it } from 'vitest';
import { createLruCache } from '../src/lru-caches.js';

describe('createLruCache', () => {
  it('holds at most its bound of entries after three times as many, the least recently used going first', () => {
    const cache = createLruCache<string, number>(1_000);
    for (let n = 0; n < 3_000; n += 1) {
      cache.set(`key ${n}`, n);
      // Key 0 is read after every set, so it stays the most recently used.
      cache.get('key 0');
    }
    expect(cache.size).toBe(1_000);
    expect(cache.get('key 0')).toBe(0);
    expect(cache.has('key 2000')).toBe(false);
    expect(cache.get('key 2999')).toBe(2_999);
  });

  it('keeps its bound with a TTL, and gives each entry that TTL', () => {
    const cache = createLruCache<string, true>(10, { ttl: 60_000 });
    for (let n = 0; n < 25; n += 1) cache.set(`key ${n}`, true);
    expect(cache.size).toBe(10);
    expect(cache.getRemainingTTL('key 24')).toBeGreaterThan(59_000);
    expect(cache.getRemainingTTL('key 24')).toBeLessThanOrEqual(60_000);
  });

  it('allocates with its entries, not its bound: 50 empty caches of 100,000 with a TTL take under 5 MB of heap', () => {
    // lru-cache given `max: 100_000` and a TTL allocates 4.4 MB at once: these would take 220 MB.
    const before = process.memoryUsage().heapUsed;
    const caches = Array.from({ length: 50 }, () => createLruCache<string, true>(100_000, { ttl: 60_000 }));
    const grown = process.memoryUsage().heapUsed - before;
    expect(caches).toHaveLength(50);
    expect(grown).toBeLessThan(5 * 1024 * 1024);
  });
});
