/**
 * Bounds without cliffs. A support desk's morning reads every agent's inbox once, in order, and again later: past what a
 * bound holds, plain LRU finds none of them on the second pass. The read cache, proofs and identities keep, on a scan of
 * twice what they hold, about what they hold (8 of 20 keys with room for 10: a fifth of the room is probation), and
 * events on Pages past the tags' bound invalidate nothing that did not change. Upstream calls are counted in the
 * emulator's log.
 */
import { LRUCache } from 'lru-cache';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENCY, createAgencyWorld } from '../src/emulator/index.js';
import { MemoryProofStore } from '../src/graph-api/proof-store.js';
import { type CachedRead, MemoryReadCacheStore } from '../src/graph-api/read-cache-store.js';
import { MemoryIdentityStore, type StoredIdentity } from '../src/identity-store.js';
import { SegmentedLru } from '../src/segmented-lru.js';
import { type Harness, startHarness } from './support/harness.js';
import { messageEvent } from './support/inbox-events.js';

const MINUTE = 60_000;
/** Room for 10, a working set of 20 read in the same order twice. */
const ROOM = 10;
const SCAN = Array.from({ length: 2 * ROOM }, (_, i) => `key-${i}`);

/** Hits of one pass over `keys`: each key looked up, kept on a miss. */
async function pass(keys: readonly string[], lookUp: (key: string) => Promise<boolean>, keep: (key: string) => Promise<void>) {
  let hits = 0;
  for (const key of keys) {
    if (await lookUp(key)) hits += 1;
    else await keep(key);
  }
  return hits;
}

/** Hits of the first and the second pass of the scan. */
async function twice(lookUp: (key: string) => Promise<boolean>, keep: (key: string) => Promise<void>): Promise<[number, number]> {
  return [await pass(SCAN, lookUp, keep), await pass(SCAN, lookUp, keep)];
}

describe('a segmented LRU under a scan of twice its room', () => {
  it('finds 8 of the 20 keys on the second pass, where plain LRU finds none', async () => {
    const slru = new SegmentedLru<string, string>({ max: ROOM });
    expect(
      await twice(
        async (key) => slru.get(key) !== undefined,
        async (key) => slru.set(key, key),
      ),
    ).toEqual([0, 8]);
    expect(
      await pass(
        SCAN,
        async (key) => slru.get(key) !== undefined,
        async (key) => slru.set(key, key),
      ),
    ).toBe(8);
    expect(slru.size).toBe(ROOM);
    const lru = new LRUCache<string, string>({ max: ROOM });
    expect(
      await twice(
        async (key) => lru.get(key) !== undefined,
        async (key) => void lru.set(key, key),
      ),
    ).toEqual([0, 0]);
  });

  it('does the same bounded by size: 10 entries of 1,000 in 10,000', async () => {
    const slru = new SegmentedLru<string, string>({ max: 1_000, maxSize: 10_000, sizeOf: (value) => value.length });
    const value = 'x'.repeat(1_000);
    expect(
      await twice(
        async (key) => slru.get(key) !== undefined,
        async (key) => slru.set(key, value),
      ),
    ).toEqual([0, 8]);
  });

  it('takes a key used twice while on probation into the protected room, pushing its oldest back', () => {
    const slru = new SegmentedLru<string, number>({ max: ROOM });
    for (const [i, key] of SCAN.entries()) slru.set(key, i);
    // Protected: key-0 … key-7; probation: key-18, key-19.
    expect([slru.peek('key-0'), slru.peek('key-17'), slru.peek('key-18')]).toEqual([0, undefined, 18]);
    expect(slru.get('key-19')).toBe(19);
    // key-0, the oldest protected, is back on probation: the next new keys push it out, not key-19.
    expect(slru.peek('key-0')).toBe(0);
    for (const key of SCAN.slice(10, 18)) slru.set(key, 0);
    expect([slru.peek('key-19'), slru.peek('key-0'), slru.peek('key-1'), slru.peek('key-7')]).toEqual([19, undefined, 1, 7]);
  });

  it('lets a new working set in once the old one has lived its time', async () => {
    // lru-cache takes a clock at 0 for "no time to live": start later.
    let now = 1_000_000;
    const slru = new SegmentedLru<string, string>({ max: ROOM, now: () => now });
    const keep = async (key: string) => slru.set(key, key, MINUTE);
    const lookUp = async (key: string) => slru.get(key) !== undefined;
    expect(await twice(lookUp, keep)).toEqual([0, 8]);
    now += 2 * MINUTE;
    const next = SCAN.map((key) => `next-${key}`);
    // The first new keys wait on probation until the expired ones are swept (after a quarter of the protected room).
    expect([await pass(next, lookUp, keep), await pass(next, lookUp, keep)]).toEqual([0, 8]);
  });
});

describe('the stores of a single instance under a scan of twice their room', () => {
  it('the read cache (bounded in entries) serves 8 of 20 fresh on the second pass', async () => {
    const store = new MemoryReadCacheStore({ maxEntries: ROOM, maxBytes: 1_000_000, tagTtlMs: 20 * MINUTE });
    expect(await twice(...readCacheScan(store))).toEqual([0, 8]);
  });

  it('the read cache (bounded in bytes) serves 8 of 20 fresh on the second pass', async () => {
    const size = JSON.stringify(bodyOf('key-0')).length;
    const store = new MemoryReadCacheStore({ maxEntries: 1_000, maxBytes: ROOM * size, tagTtlMs: 20 * MINUTE });
    expect(await twice(...readCacheScan(store))).toEqual([0, 8]);
  });

  it('proofs: 8 of 20 still live on the second pass', async () => {
    const store = new MemoryProofStore({ max: ROOM });
    const lookUp = async (name: string) => (await store.lookup([name]))[0] !== undefined;
    expect(await twice(lookUp, (name) => store.prove([name], MINUTE))).toEqual([0, 8]);
  });

  it('identities: 8 of 20 still known on the second pass', async () => {
    const store = new MemoryIdentityStore({ max: ROOM });
    const identity: StoredIdentity = { kind: 'page', id: '1', name: undefined, pages: [], sealedPageTokens: undefined };
    const lookUp = async (fingerprint: string) => (await store.get(fingerprint)) !== undefined;
    expect(await twice(lookUp, (fingerprint) => store.set(fingerprint, identity, MINUTE))).toEqual([0, 8]);
  });
});

const bodyOf = (key: string) => ({ data: [{ id: key, snippet: 'a message of some length' }] });
const tagOf = (key: string) => `list:${key}`;

/** A read cache's lookup (fresh or not) and save, each key with a tag of its own. */
function readCacheScan(store: MemoryReadCacheStore): [(key: string) => Promise<boolean>, (key: string) => Promise<void>] {
  const generations = new Map<string, string>();
  const lookUp = async (key: string) => {
    const { entry, generation } = await store.lookup(key, [tagOf(key)]);
    generations.set(key, generation);
    return entry !== undefined && entry.generation === generation;
  };
  const keep = async (key: string) => {
    const entry: CachedRead = {
      body: bodyOf(key),
      fetchedAt: 0,
      generation: generations.get(key)!,
      inbox: { page: key, platform: 'messenger' },
    };
    expect(await store.save(key, [tagOf(key)], entry, 10 * MINUTE)).toBe(true);
  };
  return [lookUp, keep];
}

describe('the in-memory read cache past its bound on tags', () => {
  const TAGS = 10;
  const fresh = async (store: MemoryReadCacheStore, key: string) => {
    const { entry, generation } = await store.lookup(key, [tagOf(key)]);
    return entry !== undefined && entry.generation === generation;
  };

  it('keeps every entry fresh through events on Pages it never read, however many', async () => {
    const store = new MemoryReadCacheStore({ maxEntries: 100, maxBytes: 1_000_000, tagTtlMs: 20 * MINUTE, maxTags: TAGS });
    const [lookUp, keep] = readCacheScan(store);
    await pass(SCAN.slice(0, 4), lookUp, keep);
    for (let page = 0; page < 100 * TAGS; page++) await store.invalidate([tagOf(`never-read-${page}`)]);
    expect(await Promise.all(SCAN.slice(0, 4).map((key) => fresh(store, key)))).toEqual([true, true, true, true]);
  });

  it('makes stale only the entries whose own tag it forgot, and never fresh again', async () => {
    const store = new MemoryReadCacheStore({ maxEntries: 100, maxBytes: 1_000_000, tagTtlMs: 20 * MINUTE, maxTags: TAGS });
    const [lookUp, keep] = readCacheScan(store);
    // 20 tags in use for room for 10: key-0 … key-7 hold the protected room, the others pass through probation.
    expect(await twice(lookUp, keep)).toEqual([0, 8]);
    const kept = await Promise.all(SCAN.map((key) => fresh(store, key)));
    expect(kept.filter(Boolean).length).toBe(8);
    expect(kept.slice(0, 8)).toEqual(Array(8).fill(true));
    // An event on a forgotten tag finds no generation to move: its entries are stale already, and stay so.
    await store.invalidate([tagOf('key-12')]);
    expect(await fresh(store, 'key-12')).toBe(false);
    // An event on a kept tag moves only its own entries.
    await store.invalidate([tagOf('key-3')]);
    expect(await Promise.all(SCAN.slice(0, 8).map((key) => fresh(store, key)))).toEqual([true, true, true, false, true, true, true, true]);
  });

  it('never saves a read that started before an event on a tag forgotten meanwhile', async () => {
    const store = new MemoryReadCacheStore({ maxEntries: 100, maxBytes: 1_000_000, tagTtlMs: 20 * MINUTE, maxTags: TAGS });
    const { generation } = await store.lookup('late', [tagOf('late')]);
    await store.invalidate([tagOf('late')]);
    // More tags than the bound push the moved one out.
    for (const key of SCAN) await store.lookup(key, [tagOf(key)]);
    for (const key of SCAN) await store.lookup(key, [tagOf(key)]);
    const entry: CachedRead = { body: bodyOf('late'), fetchedAt: 0, generation, inbox: { page: 'late', platform: 'messenger' } };
    expect(await store.save('late', [tagOf('late')], entry, MINUTE)).toBe(false);
  });
});

describe('a gateway past its bounds (an agency token reading 20 Pages, twice)', () => {
  const PAGES = 20;
  const PAGE = (n: number) =>
    `{ page(id: "${AGENCY.pageIdOf(n)}") { graphApiId name conversations(first: 1) { edges { node { graphApiId } } } } }`;
  let h: Harness;
  afterEach(() => h.close());

  const start = (options: { maxEntries?: number; proofs?: number; cacheTags?: number }) =>
    startHarness({
      emulator: { extraWorld: createAgencyWorld(3 * PAGES) },
      defaultAccessToken: undefined,
      cache: {
        maxAgeMs: 10 * MINUTE,
        staleMs: 10 * MINUTE,
        ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
      },
      capacity: {
        ...(options.proofs === undefined ? {} : { proofs: options.proofs }),
        ...(options.cacheTags === undefined ? {} : { cacheTags: options.cacheTags }),
      },
    }).then((harness) => (h = harness));

  /** Upstream calls of one read of each of `pages`, in order. */
  const readAll = async (pages: readonly number[]): Promise<number> => {
    const before = h.emulator.log.callCount;
    for (const n of pages) {
      const { body } = await h.post({ query: PAGE(n) }, { authorization: `Bearer ${AGENCY.token}` });
      expect(body.errors).toBeUndefined();
    }
    return h.emulator.log.callCount - before;
  };
  const pages = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('with room for 10 Pages of reads (2 each), serves 8 again from the cache on the second pass', async () => {
    await start({ maxEntries: PAGES });
    await h.credentials.identify(AGENCY.token);
    // Each Page read is its node and its list, one call each.
    expect(await readAll(pages(1, PAGES))).toBe(2 * PAGES);
    expect(await readAll(pages(1, PAGES))).toBe(2 * (PAGES - 8));
  });

  it('with room for the proofs of 10 Pages (3 each: inbox, Page, node), serves 8 again from the cache', async () => {
    await start({ proofs: 3 * 10 });
    await h.credentials.identify(AGENCY.token);
    expect(await readAll(pages(1, PAGES))).toBe(2 * PAGES);
    // Pages 1 … 8 hold the protected room (24 proofs); the others are read again, with their own Page tokens.
    expect(await readAll(pages(1, PAGES))).toBe(2 * (PAGES - 8));
  });

  it('past its bound on tags, an event on a new Page leaves every other Page served with no call', async () => {
    await start({ cacheTags: 10 });
    await h.credentials.identify(AGENCY.token);
    await readAll(pages(1, 4));
    expect(await readAll(pages(1, 4))).toBe(0);
    // 16 Pages more (32 tags for room for 10), then events on 20 Pages nobody read.
    await readAll(pages(5, PAGES));
    await h.readCache.invalidate(pages(PAGES + 1, 2 * PAGES).map((n) => messageEvent(`m_${n}`, AGENCY.pageIdOf(n))));
    expect(await readAll(pages(1, 4))).toBe(0);
    // A Page whose event came is read again (its tags moved, or were forgotten): once, and then served.
    await h.readCache.invalidate([messageEvent('m_1', AGENCY.pageIdOf(1))]);
    expect(await readAll([1])).toBe(1);
    expect(await readAll([1])).toBe(0);
  });
});
