/**
 * The read cache a fleet shares through real Redis: how it keeps entries and generations in Redis, a TTL
 * on every key, bounded entries, and no token anywhere. What every store does (generations, invalidations
 * seen by every instance, TTLs, threads, accounts, claims) is the contract in test/shared-state-contracts.test.ts.
 */
import { deflateRawSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import type { CachedRead } from '../src/graph-api/read-cache-store.js';
import { RedisConnection } from '../src/redis/connection.js';
import { COMPRESS_FROM_BYTES, decodeEntry } from '../src/redis/entry-codec.js';
import { RedisReadCacheStore } from '../src/redis/read-cache-store.js';
import { deleteKeys, keysUnder, recordingLogger, TEST_REDIS_URL, testPrefix } from './support/redis.js';
import { until } from './support/wait.js';
import { InboxDocument } from './generated/graphql.js';
import { ACME, BISTRO, startHarness } from './support/harness.js';

const PREFIX = testPrefix('redis-read-cache-store');
const TAG_TTL_MS = 60_000;
const connections: RedisConnection[] = [];
let redis: Redis;

/** One instance's store on the test's Redis, shared once it answers. */
async function store(
  options: { maxEntryBytes?: number; tagTtlMs?: number; logger?: ReturnType<typeof recordingLogger> } = {},
): Promise<RedisReadCacheStore> {
  const logger = options.logger ?? recordingLogger();
  const connection = new RedisConnection({ url: TEST_REDIS_URL, keyPrefix: PREFIX, logger });
  connections.push(connection);
  const made = new RedisReadCacheStore(connection, {
    tagTtlMs: options.tagTtlMs ?? TAG_TTL_MS,
    local: { maxEntries: 100, maxBytes: 100_000 },
    logger,
    ...(options.maxEntryBytes === undefined ? {} : { maxEntryBytes: options.maxEntryBytes }),
  });
  expect(await connection.settled(5_000)).toBe('shared');
  return made;
}

const PAGE_LIST = '1000000001/conversations?fields=id,updated_time&folder=inbox&limit=25&platform=messenger';
const read = (body: unknown, generation: string): CachedRead => ({ body, fetchedAt: 1_790_000_000_000, generation });

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
});
afterAll(async () => {
  await deleteKeys(TEST_REDIS_URL, PREFIX);
  redis.disconnect();
});

describe('RedisReadCacheStore', () => {
  it('keeps a read saved under the current generation, and serves it to every instance as fresh', async () => {
    const [a, b] = [await store(), await store()];
    const tags = ['page:1000000001:messenger'];
    const { entry: none, generation } = await a.lookup(PAGE_LIST, tags);
    expect(none).toBeUndefined();
    expect(await a.save(PAGE_LIST, tags, read({ data: [{ id: 't_1' }] }, generation), 30_000)).toBe(true);
    const seen = await b.lookup(PAGE_LIST, tags);
    expect(seen).toEqual({ entry: read({ data: [{ id: 't_1' }] }, generation), generation });
    // Stored as JSON with the TTL it was saved with.
    expect(JSON.parse((await redis.get(`${PREFIX}cache:entry:${PAGE_LIST}`))!)).toEqual(read({ data: [{ id: 't_1' }] }, generation));
    const ttl = await redis.pttl(`${PREFIX}cache:entry:${PAGE_LIST}`);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('refuses to save a read that started before an invalidation made on another instance', async () => {
    const [a, b] = [await store(), await store()];
    const key = `${PAGE_LIST}&refused`;
    const tags = ['page:1000000001:messenger', 'thread:t_1'];
    const { generation } = await a.lookup(key, tags);
    // A webhook reaches B while A's read is in flight.
    await b.invalidate(['thread:t_1']);
    expect(await a.save(key, tags, read({ data: ['old'] }, generation), 30_000)).toBe(false);
    expect(await redis.exists(`${PREFIX}cache:entry:${key}`)).toBe(0);
    // The next read starts under the new generation, and is kept.
    const next = await a.lookup(key, tags);
    expect(next.generation).not.toBe(generation);
    expect(await a.save(key, tags, read({ data: ['new'] }, next.generation), 30_000)).toBe(true);
  });

  it('never takes a tag that went missing (expired or evicted by maxmemory) for an unmoved one', async () => {
    const a = await store();
    const key = `${PAGE_LIST}&evicted`;
    const tags = ['thread:t_evicted'];
    const { generation } = await a.lookup(key, tags);
    await a.save(key, tags, read({ data: [1] }, generation), 30_000);
    await redis.del(`${PREFIX}cache:tag:thread:t_evicted`);
    const after = await a.lookup(key, tags);
    expect(after.entry).toBeDefined();
    expect(after.generation).not.toBe(generation);
    await redis.del(`${PREFIX}cache:epoch`);
    expect((await a.lookup(key, tags)).generation).not.toBe(after.generation);
  });

  it('compresses a large entry and keeps a small one as JSON; both read back equal on another instance', async () => {
    const [a, b] = [await store(), await store()];
    const key = `${PAGE_LIST}&compressed`;
    const { generation } = await a.lookup(key, []);
    const conversations = Array.from({ length: 20 }, (_, i) => ({ id: `t_${1000 + i}`, snippet: `Where is my order number ${i}?` }));
    const large = { ...read({ data: conversations }, generation), inbox: { page: '1000000001', platform: 'messenger' as const } };
    expect(await a.save(key, [], large, 30_000)).toBe(true);
    const stored = (await redis.getBuffer(`${PREFIX}cache:entry:${key}`))!;
    expect(stored[0]).toBe(0x02);
    expect(stored.length).toBeLessThan(JSON.stringify(large).length / 2);
    expect(await b.lookup(key, [])).toStrictEqual({ entry: large, generation });
    expect(JSON.stringify(large).length).toBeGreaterThan(COMPRESS_FROM_BYTES);
  });

  it('reads an entry an older release wrote as plain JSON, whatever its size, or compressed with DEFLATE', async () => {
    const a = await store();
    const key = `${PAGE_LIST}&legacy`;
    const { generation } = await a.lookup(key, []);
    const legacy = { ...read({ data: [{ id: 't_1', snippet: 'x'.repeat(5_000) }] }, generation), pageNode: undefined };
    await redis.set(`${PREFIX}cache:entry:${key}`, JSON.stringify(legacy), 'PX', 30_000);
    expect((await a.lookup(key, [])).entry).toEqual(legacy);
    // The release before compressed with raw DEFLATE (first byte 0x01).
    await redis.set(`${PREFIX}cache:entry:${key}`, Buffer.concat([Buffer.of(0x01), deflateRawSync(JSON.stringify(legacy))]), 'PX', 30_000);
    expect((await a.lookup(key, [])).entry).toEqual(legacy);
    // What no release wrote is no entry, not a failure.
    for (const value of [Buffer.of(0x01, 0xff, 0x00), Buffer.of(0x02, 0xff, 0x00)]) {
      await redis.set(`${PREFIX}cache:entry:${key}`, value, 'PX', 30_000);
      expect((await a.lookup(key, [])).entry).toBeUndefined();
    }
  });

  it("keeps an inbox's customers in one hash, each forgotten the tag TTL after it was last learned", async () => {
    const a = await store({ tagTtlMs: 2_000 });
    const page = '1000000009';
    await a.learnThreads(page, 'messenger', new Map([['psid-early', 't_1']]));
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await a.learnThreads(
      page,
      'messenger',
      new Map([
        ['psid-late', 't_2'],
        ['psid-late-2', 't_3'],
      ]),
    );
    expect(await keysUnder(redis, `${PREFIX}cache:threads:${page}`)).toEqual([`${PREFIX}cache:threads:${page}:messenger`]);
    expect(await redis.hlen(`${PREFIX}cache:threads:${page}:messenger`)).toBe(3);
    await until(async () => (await a.threadsOf(page, 'messenger', 'psid-early')).length === 0, 'the early customer to be forgotten', 2_000);
    // The hash lives on for the customers learned later; the next learning drops the forgotten field.
    expect(await a.threadsOf(page, 'messenger', 'psid-late')).toEqual(['t_2']);
    await a.learnThreads(page, 'messenger', new Map([['psid-late', 't_2']]));
    expect(Object.keys(await redis.hgetall(`${PREFIX}cache:threads:${page}:messenger`)).sort()).toEqual(['psid-late', 'psid-late-2']);
  });

  it("answers a customer's threads sorted (the contract promises no order)", async () => {
    const a = await store();
    await a.learnThreads('1000000001', 'messenger', new Map([['psid-sorted', 't_2']]));
    await a.learnThreads('1000000001', 'messenger', new Map([['psid-sorted', 't_1']]));
    expect(await a.threadsOf('1000000001', 'messenger', 'psid-sorted')).toEqual(['t_1', 't_2']);
  });

  it('does not keep an entry larger than the bound', async () => {
    const a = await store({ maxEntryBytes: 1_000 });
    const key = `${PAGE_LIST}&large`;
    const { generation } = await a.lookup(key, []);
    expect(await a.save(key, [], read({ text: 'x'.repeat(2_000) }, generation), 30_000)).toBe(false);
    expect(await a.save(key, [], read({ text: 'x'.repeat(100) }, generation), 30_000)).toBe(true);
  });

  it('writes no token or proof to Redis: a key or an entry holding one is not cached (one warning)', async () => {
    const logger = recordingLogger();
    const a = await store({ logger });
    const token = DEMO.tokens.acmePage;
    const keyWithToken = `${PAGE_LIST}&access_token=${token}`;
    const lookedUp = await a.lookup(keyWithToken, []);
    expect(await a.save(keyWithToken, [], read({ data: [] }, lookedUp.generation), 30_000)).toBe(false);
    const key = `${PAGE_LIST}&body-with-token`;
    const { generation } = await a.lookup(key, []);
    const next = `https://graph.facebook.com/v25.0/1000000001/conversations?access_token=${token}&after=abc`;
    expect(await a.save(key, [], read({ data: [], paging: { next } }, generation), 30_000)).toBe(false);
    expect(await a.save(key, [], read({ data: [], paging: { cursors: { after: 'abc' } } }, generation), 30_000)).toBe(true);
    expect(logger.lines.filter((line) => line.includes('access token'))).toHaveLength(1);
    expect(token.startsWith('EAA')).toBe(true);
  });

  it('sets a TTL on every key it writes, and no key or value holds a token', async () => {
    const a = await store();
    // Every kind of key, once more, so this test stands alone.
    const { generation } = await a.lookup(`${PAGE_LIST}&ttl`, ['page:ttl', 'thread:ttl']);
    await a.save(`${PAGE_LIST}&ttl`, ['page:ttl', 'thread:ttl'], read({ data: [] }, generation), 5_000);
    await a.invalidate(['thread:ttl']);
    await a.learnThreads('1000000001', 'instagram', new Map([['igsid-1', 't_9']]));
    await a.learnAccount('17841400000000003', '1000000001');
    await a.claim('ttl-job', 10_000);

    const keys = await keysUnder(redis, `${PREFIX}cache:`);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    for (const key of [...keys, ...(await keysUnder(redis, `${PREFIX}claim:`))]) {
      const ttl = await redis.pttl(key);
      expect([key, ttl > 0]).toEqual([key, true]);
      expect(ttl).toBeLessThanOrEqual(TAG_TTL_MS + 1_000);
      const type = await redis.type(key);
      const values =
        type === 'hash'
          ? Object.entries(await redis.hgetall(key)).flat()
          : [JSON.stringify(decodeEntry((await redis.getBuffer(key)) ?? Buffer.alloc(0))?.body ?? (await redis.get(key)))];
      expect(`${key} ${values.join(' ')}`).not.toMatch(/EAA[A-Za-z0-9]|access_token|appsecret_proof/);
    }
  });
});

describe('an inbox entry in Redis, on the emulator’s data', () => {
  /** What the issue measured before compression: one first inbox page took 57,768 bytes of Redis. */
  const MAX_ENTRY_BYTES = 24 * 1024;

  it.each([
    ['Acme Messenger', ACME, 'MESSENGER', DEMO.tokens.acmePage],
    ['Acme Instagram', ACME, 'INSTAGRAM', DEMO.tokens.acmePage],
    ['Bistro Messenger', BISTRO, 'MESSENGER', DEMO.tokens.bistroPage],
  ] as const)(
    '%s: the shipped Inbox operation’s first page (20 × 5 messages) takes ≤ 24 KB of Redis',
    async (_, pageId, platform, token) => {
      const logger = recordingLogger();
      const prefix = `${PREFIX}size:${platform}:${pageId}:`;
      const connection = new RedisConnection({ url: TEST_REDIS_URL, keyPrefix: prefix, logger });
      connections.push(connection);
      const cacheStore = new RedisReadCacheStore(connection, {
        tagTtlMs: TAG_TTL_MS,
        local: { maxEntries: 10, maxBytes: 1_000_000 },
        logger,
      });
      const h = await startHarness({
        cache: { maxAgeMs: TAG_TTL_MS / 2, store: cacheStore },
        redis: { url: TEST_REDIS_URL, keyPrefix: prefix },
      });
      try {
        const inbox = () => h.run(InboxDocument, { pageId, platform, first: 20, messagesFirst: 5 }, { token });
        const answer = await inbox();
        expect(answer.errors).toBeUndefined();
        expect(answer.data!.page!.conversations.edges).toHaveLength(20);
        // The list reads with their messages: one, or more where privacy filtering hid threads of the first Graph page
        // (a first read may go with a probe of the inbox, or of its Instagram account, apart from them).
        const listKeys = (await keysUnder(redis, `${prefix}cache:entry:`)).filter((key) => key.includes('messages.limit'));
        expect(listKeys.length).toBeGreaterThanOrEqual(1);
        let bytes = 0;
        for (const key of listKeys) {
          const stored = (await redis.getBuffer(key))!;
          expect(JSON.stringify(decodeEntry(stored)).length).toBeGreaterThan(2 * stored.length);
          bytes += (await redis.memory('USAGE', key)) ?? Number.POSITIVE_INFINITY;
        }
        expect(bytes).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
        // Served again from what Redis holds, equal to the first answer.
        const calls = h.emulator.log.requestCount;
        expect(await inbox()).toEqual(answer);
        expect(h.emulator.log.requestCount).toBe(calls);
      } finally {
        await h.close();
      }
    },
  );
});
