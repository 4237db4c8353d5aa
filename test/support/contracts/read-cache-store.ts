/**
 * The contract of a `ReadCacheStore` (src/graph-api/read-cache-store.ts) that every implementation must
 * keep: generations that refuse a save once an event moved them, on every instance; entries kept (stale)
 * until their TTL, with their inbox; what the store learns; claims one instance wins. What only Redis does
 * (JSON and TTLs on its keys, entry size bound, no token written, missing tags) stays in
 * test/redis-read-cache-store.test.ts; degraded mode in test/redis-degraded.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { CachedRead, Inbox, ReadCacheStore } from '../../../src/graph-api/read-cache-store.js';
import { until } from '../wait.js';
import type { Fleet } from './fleet.js';

const PAGE = '1000000001';
const LIST = `${PAGE}/conversations?fields=id,updated_time&folder=inbox&limit=25&platform=messenger`;
const MESSENGER: Inbox = { page: PAGE, platform: 'messenger' };
const INSTAGRAM: Inbox = { page: PAGE, platform: 'instagram' };
/** Long enough to check an entry or a claim is there on a loaded machine, short enough to wait out. */
const BRIEF_TTL_MS = 300;
const read = (body: unknown, generation: string, inbox: Inbox = MESSENGER): CachedRead => ({
  body,
  fetchedAt: 1_790_000_000_000,
  generation,
  inbox,
});

/** Keys and tags of their own per test, so that one test's generations never move another's. */
let tests = 0;
const fresh = (): { key: string; page: string; thread: string } => {
  const n = ++tests;
  return { key: `${LIST}&test=${n}`, page: `page:${PAGE}:messenger:${n}`, thread: `thread:t_${n}` };
};

export function describeReadCacheStoreContract(name: string, newFleet: () => Fleet<ReadCacheStore>): void {
  describe(`ReadCacheStore contract: ${name}`, () => {
    it('keeps a read saved under the current generation for every instance, with its inbox unchanged', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const { key, page, thread } = fresh();
      const tags = [page, thread];
      const { entry: none, generation } = await a.lookup(key, tags);
      expect(none).toBeUndefined();
      // Unmoved, a generation reads the same on every instance.
      expect((await b.lookup(key, tags)).generation).toBe(generation);
      const entry = read({ data: [{ id: 't_1' }], paging: { cursors: { after: 'QVFI' } } }, generation, INSTAGRAM);
      expect(await a.save(key, tags, entry, 30_000)).toBe(true);
      expect(await b.lookup(key, tags)).toStrictEqual({ entry, generation });

      // An entry kept without an inbox (by an older release) comes back without one.
      const bare: CachedRead = { body: { data: [] }, fetchedAt: 1_790_000_000_000, generation };
      expect(await b.save(`${key}&bare`, tags, bare, 30_000)).toBe(true);
      expect((await a.lookup(`${key}&bare`, tags)).entry).toStrictEqual(bare);
    });

    it('refuses to save a read that started before an invalidation of any of its tags, made on any instance', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const { key, page, thread } = fresh();
      const tags = [page, thread];
      const { generation } = await a.lookup(key, tags);
      await b.invalidate([thread]);
      expect(await a.save(key, tags, read({ data: ['old'] }, generation), 30_000)).toBe(false);
      expect((await b.lookup(key, tags)).entry).toBeUndefined();
      const next = await a.lookup(key, tags);
      expect(next.generation).not.toBe(generation);
      expect(await a.save(key, tags, read({ data: ['new'] }, next.generation), 30_000)).toBe(true);
      expect((await b.lookup(key, tags)).entry).toStrictEqual(read({ data: ['new'] }, next.generation));
    });

    it('an invalidation makes the entry stale for every instance, keeps it, and moves only the tags named', async () => {
      const fleet = newFleet();
      const [a, b, c] = [await fleet(), await fleet(), await fleet()];
      const { key, page, thread } = fresh();
      const { generation } = await a.lookup(key, [page]);
      expect(await a.save(key, [page], read({ data: [1] }, generation), 30_000)).toBe(true);
      const untouched = (await a.lookup(`${key}&other`, [thread])).generation;

      await b.invalidate([page]);
      const after = await c.lookup(key, [page]);
      expect(after.entry).toStrictEqual(read({ data: [1] }, generation));
      expect(after.generation).not.toBe(generation);
      expect((await a.lookup(key, [page])).generation).toBe(after.generation);
      expect((await c.lookup(`${key}&other`, [thread])).generation).toBe(untouched);
      // Each invalidation moves the generation again.
      await a.invalidate([page]);
      expect((await b.lookup(key, [page])).generation).not.toBe(after.generation);
    });

    it('forgets an entry once its TTL has passed, not before', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const { key, page } = fresh();
      const { generation } = await a.lookup(key, [page]);
      const savedAt = Date.now();
      expect(await a.save(key, [page], read({ data: ['brief'] }, generation), BRIEF_TTL_MS)).toBe(true);
      expect(await a.save(`${key}&long`, [page], read({ data: ['long'] }, generation), 30_000)).toBe(true);
      expect((await b.lookup(key, [page])).entry).toStrictEqual(read({ data: ['brief'] }, generation));
      await until(async () => (await b.lookup(key, [page])).entry === undefined, 'the entry to expire', 2_000);
      expect(Date.now() - savedAt).toBeGreaterThanOrEqual(BRIEF_TTL_MS - 5);
      expect((await b.lookup(`${key}&long`, [page])).entry).toStrictEqual(read({ data: ['long'] }, generation));
    });

    it('a TTL of 0 keeps an entry and a claim for no time, not for ever', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const { key, page } = fresh();
      const { generation } = await a.lookup(key, [page]);
      expect(await a.save(key, [page], read({ data: ['none'] }, generation), 0)).toBe(true);
      await until(async () => (await b.lookup(key, [page])).entry === undefined, 'the entry saved for 0 ms to go', 1_000);
      const job = `reconcile:${key}`;
      expect(await a.claim(job, 0)).toBe(true);
      await until(() => b.claim(job, 60_000), 'the claim made for 0 ms to lapse', 1_000);
    });

    it("remembers every thread of a customer of a Page's inbox, learned on any instance", async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const page = `${PAGE}${++tests}`;
      await a.learnThreads(
        page,
        'messenger',
        new Map([
          ['psid-1', 't_2'],
          ['psid-2', 't_3'],
        ]),
      );
      await b.learnThreads(page, 'messenger', new Map([['psid-1', 't_1']]));
      await b.learnThreads(page, 'messenger', new Map([['psid-1', 't_2']]));
      // In no promised order (the memory store answers in the order learned, Redis sorts): compared sorted.
      expect([...(await a.threadsOf(page, 'messenger', 'psid-1'))].sort()).toEqual(['t_1', 't_2']);
      expect(await b.threadsOf(page, 'messenger', 'psid-2')).toEqual(['t_3']);
      expect(await a.threadsOf(page, 'instagram', 'psid-1')).toEqual([]);
      expect(await a.threadsOf(`${page}0`, 'messenger', 'psid-1')).toEqual([]);
      expect(await a.threadsOf(page, 'messenger', 'psid-3')).toEqual([]);
    });

    it('remembers the Page an Instagram account is linked to, learned on any instance; the latest link wins', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const account = `178414000${++tests}`;
      expect(await a.pageOfAccount(account)).toBeUndefined();
      await a.learnAccount(account, PAGE);
      expect(await b.pageOfAccount(account)).toBe(PAGE);
      expect(await b.pageOfAccount(`${account}0`)).toBeUndefined();
      await b.learnAccount(account, '1000000002');
      expect(await a.pageOfAccount(account)).toBe('1000000002');
    });

    it('lets one instance claim a job; a release lets the next claim at once; a claim lapses after its TTL', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const job = `safety-net:${PAGE}:${++tests}`;
      expect(await a.claim(job, 60_000)).toBe(true);
      expect(await b.claim(job, 60_000)).toBe(false);
      expect(await a.claim(job, 60_000)).toBe(false);
      expect(await b.claim(`${job}:other`, 60_000)).toBe(true);
      await a.release(job);
      expect(await b.claim(job, 60_000)).toBe(true);
      expect(await a.claim(job, 60_000)).toBe(false);
      // Releasing what nobody holds is harmless.
      await a.release(`${job}:never`);
      expect(await a.claim(`${job}:never`, 60_000)).toBe(true);

      const brief = `${job}:brief`;
      const claimedAt = Date.now();
      expect(await a.claim(brief, BRIEF_TTL_MS)).toBe(true);
      expect(await b.claim(brief, BRIEF_TTL_MS)).toBe(false);
      await until(() => b.claim(brief, 60_000), 'the claim to lapse', 2_000);
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(BRIEF_TTL_MS - 5);
      expect(await a.claim(brief, 60_000)).toBe(false);
    });
  });
}
