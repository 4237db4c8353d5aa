/**
 * A segmented LRU (SLRU): a bounded memory that a scan larger than it does not empty. Plain LRU keeps the last `max`
 * keys used, so a pass over more keys than that, in the same order each time (every agent's inbox once, each morning),
 * finds none of them on its second pass. Here a new key takes a free place in the protected segment, and once that is
 * full it is only on probation (a fifth of the bound): it earns a protected place by being used again while there,
 * pushing the least recently used protected entry back to probation. A protected entry whose time to live ran out
 * frees its place. So a repeated scan keeps hitting about as many keys as the bound holds, and the hit rate falls with
 * the working set in proportion, never to nothing.
 *
 * Two `lru-cache` instances make it, keeping its TTLs and sizes: lru-cache has no admission policy, and the npm caches
 * that have one (SIEVE, LFU, W-TinyLFU ports) are small projects with none of lru-cache's upkeep.
 */
import { LRUCache } from 'lru-cache';

export interface SegmentedLruOptions<V> {
  /** Most entries kept, both segments together. */
  max: number;
  /** Most total size kept, both segments together, each entry's size given by `sizeOf`. */
  maxSize?: number | undefined;
  /** An entry's size (with `maxSize`): computed once, when the entry is set. */
  sizeOf?: ((value: V) => number) | undefined;
  /** Clock, for tests. @default performance.now */
  now?: (() => number) | undefined;
}

/** Share of the bound a new key waits in once the protected segment is full. */
const PROBATION_SHARE = 0.2;

interface Sized<V> {
  readonly value: V;
  readonly size: number;
}

export class SegmentedLru<K extends NonNullable<unknown>, V extends NonNullable<unknown>> {
  readonly #protected: LRUCache<K, Sized<V>>;
  readonly #probation: LRUCache<K, Sized<V>>;
  readonly #sizeOf: ((value: V) => number) | undefined;
  readonly #protectedMax: number;
  readonly #probationMax: number;
  /** New keys sent to probation since the protected segment was last swept of expired entries. */
  #sinceSweep = 0;

  constructor(options: SegmentedLruOptions<V>) {
    this.#sizeOf = options.sizeOf;
    this.#probationMax = Math.max(1, Math.floor(options.max * PROBATION_SHARE));
    this.#protectedMax = Math.max(1, options.max - this.#probationMax);
    // Bounded by `maxSize` only (entries weigh 1 without `sizeOf`), and by count in `#hasRoom` / `#trimProbation`: lru-cache
    // given `max` allocates its bookkeeping for `max` entries up front (src/lru-caches.ts).
    const segment = (share: number, max: number): LRUCache<K, Sized<V>> =>
      new LRUCache<K, Sized<V>>({
        maxSize: options.maxSize === undefined ? max : Math.max(1, Math.floor(options.maxSize * share)),
        sizeCalculation: (entry: Sized<V>) => entry.size,
        // An injected clock is read at every look (lru-cache otherwise reuses a reading for 1 ms of real time).
        ...(options.now === undefined ? {} : { perf: { now: options.now }, ttlResolution: 0 }),
      });
    this.#probation = segment(PROBATION_SHARE, this.#probationMax);
    this.#protected = segment(1 - PROBATION_SHARE, this.#protectedMax);
  }

  /** The live value of `key`, counted as a use: a key on probation used again moves to the protected segment. */
  get(key: K): V | undefined {
    const kept = this.#protected.get(key);
    if (kept !== undefined) return kept.value;
    const tried = this.#probation.get(key);
    if (tried === undefined) return undefined;
    const ttl = this.#probation.getRemainingTTL(key);
    this.#probation.delete(key);
    this.#makeRoom(tried.size);
    this.#protected.set(key, tried, ttlOption(ttl));
    return tried.value;
  }

  /** The live value of `key`, not counted as a use. */
  peek(key: K): V | undefined {
    return (this.#protected.peek(key) ?? this.#probation.peek(key))?.value;
  }

  /** The ms `key` has left to live (`Infinity`: no time to live); 0 when it is not kept. */
  remainingTtl(key: K): number {
    return this.#protected.has(key) ? this.#protected.getRemainingTTL(key) : this.#probation.getRemainingTTL(key);
  }

  /** Keeps `value` under `key` (for `ttlMs` when given): in place when kept, else admitted as a new key. */
  set(key: K, value: V, ttlMs?: number): void {
    const entry = { value, size: this.#sizeOf?.(value) ?? 1 };
    const ttl = ttlMs === undefined ? {} : { ttl: ttlMs };
    if (this.#protected.has(key)) this.#protected.set(key, entry, ttl);
    else if (this.#probation.has(key)) this.#probation.set(key, entry, ttl);
    else if (this.#hasRoom(entry.size) || this.#sweptRoom(entry.size)) this.#protected.set(key, entry, ttl);
    else this.#toProbation(key, entry, ttl);
  }

  delete(key: K): void {
    this.#protected.delete(key);
    this.#probation.delete(key);
  }

  clear(): void {
    this.#protected.clear();
    this.#probation.clear();
  }

  /** Every live entry, protected ones first. */
  *entries(): Generator<[K, V]> {
    for (const segment of [this.#protected, this.#probation]) for (const [key, { value }] of segment.entries()) yield [key, value];
  }

  /** Entries kept, both segments together. */
  get size(): number {
    return this.#protected.size + this.#probation.size;
  }

  #hasRoom(size: number): boolean {
    const segment = this.#protected;
    return segment.size < this.#protectedMax && segment.calculatedSize + size <= segment.maxSize;
  }

  /**
   * Whether sweeping the protected segment of its expired entries makes room: done once per so many new keys sent to
   * probation (a quarter of the protected entries), so that its cost per key stays constant.
   */
  #sweptRoom(size: number): boolean {
    this.#sinceSweep += 1;
    if (this.#sinceSweep < this.#protected.size / 4) return false;
    this.#sinceSweep = 0;
    this.#protected.purgeStale();
    return this.#hasRoom(size);
  }

  /** Puts `entry` on probation, forgetting its least recently used entries beyond its count. */
  #toProbation(key: K, entry: Sized<V>, ttl: { ttl?: number }): void {
    this.#probation.set(key, entry, ttl);
    while (this.#probation.size > this.#probationMax) {
      const oldest = this.#probation.rkeys().next();
      if (oldest.done === true) return;
      this.#probation.delete(oldest.value);
    }
  }

  /** Moves the least recently used protected entries back to probation until `size` fits. */
  #makeRoom(size: number): void {
    while (!this.#hasRoom(size)) {
      const oldest = this.#protected.rkeys().next();
      if (oldest.done === true) return;
      const entry = this.#protected.peek(oldest.value);
      const ttl = this.#protected.getRemainingTTL(oldest.value);
      this.#protected.delete(oldest.value);
      if (entry !== undefined) this.#toProbation(oldest.value, entry, ttlOption(ttl));
    }
  }
}

/** lru-cache's `set` options for a remaining TTL (`Infinity`: none). */
const ttlOption = (remainingMs: number): { ttl?: number } => (Number.isFinite(remainingMs) ? { ttl: Math.max(1, remainingMs) } : {});
