/**
 * The read cache a fleet shares (see `ReadCacheStore` in src/graph-api/read-cache-store.ts): entries as
 * JSON (compressed once large: entry-codec.ts) under `cache:entry:<key>` with the TTL they were saved with,
 * and a generation per tag under `cache:tag:<tag>`, so an invalidation made by one instance (the one Meta
 * delivered the webhook to) is seen by all at their next lookup.
 *
 * A tag's generation is a random value, set anew by each invalidation; a lookup that finds none (a tag
 * never invalidated, expired, or evicted by Redis's `maxmemory` policy) sets one. So an entry is fresh
 * only while every tag still holds the value it was read under: a key that went missing makes entries
 * stale, never fresh again. The fleet epoch (`cache:epoch`) is part of every generation: an instance
 * that rejoins after Redis was unreachable moves it, since invalidations it saw meanwhile (and any
 * Redis lost) reached only its own memory.
 *
 * What events are resolved with is one hash per inbox, `cache:threads:<page>:<platform>`: a field per customer
 * holding when it expires and the customer's threads, so that a Page costs one key, not one per customer, and
 * each customer is still forgotten the tag TTL after it was last learned (Redis 7.0 has no TTL per field).
 *
 * Every key has a TTL; entries are bounded in size. While Redis is unreachable the instance caches in
 * its own memory (a `MemoryReadCacheStore`), dropped when it rejoins.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  type CachedRead,
  MemoryReadCacheStore,
  type MemoryReadCacheStoreOptions,
  type ReadCacheStore,
} from '../graph-api/read-cache-store.js';
import { holdsSecret } from '../graph-api/scrub.js';
import { type FleetLogger, type RedisConnection, runScript, UNREACHABLE } from './connection.js';
import { decodeEntry, encodeEntry } from './entry-codec.js';

export interface RedisReadCacheStoreOptions {
  /** How long a tag's generation (and what the store learns: threads, accounts) is kept; longer than any entry lives. */
  tagTtlMs: number;
  /** Largest entry kept, in bytes of JSON (before compression); a larger one is not cached. @default 1048576 */
  maxEntryBytes?: number;
  /** The bounds of the cache kept in this process while Redis is unreachable. */
  local: Omit<MemoryReadCacheStoreOptions, 'tagTtlMs' | 'now'>;
  logger: FleetLogger;
}

/** Marks generations read from Redis, and those of the local cache, so that neither is ever saved to the other. */
const SHARED = 'r:';
const LOCAL = 'm:';

/**
 * KEYS: entry, epoch, tags. ARGV: a fresh random value, tag TTL. Answers { entry or nil, then the value of
 * the epoch and of each tag }, giving a value to any that has none.
 */
const LOOKUP = `
local result = { redis.call('GET', KEYS[1]) }
for i = 2, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if not value then
    value = ARGV[1] .. '.' .. i
    redis.call('SET', KEYS[i], value, 'PX', ARGV[2])
  end
  result[i] = value
end
return result
`;

/**
 * KEYS: entry, epoch, tags. ARGV: entry (encoded), TTL, tag TTL, then the value of the epoch and each tag the
 * read started under. Saves only if none moved; the tags then outlive the entry. Answers 1 if saved.
 */
const SAVE = `
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[i + 2] then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
local tagTtl = math.max(tonumber(ARGV[3]), ttl + 1000)
for i = 2, #KEYS do
  if redis.call('PTTL', KEYS[i]) < tagTtl then redis.call('PEXPIRE', KEYS[i], tagTtl) end
end
return 1
`;

/**
 * KEYS: an inbox's threads hash. ARGV: now (epoch ms), TTL, then customer and thread pairs. A field's value is
 * `<expires at> <thread> <thread>…`; fields whose time is up are dropped, the key lives as long as its newest field.
 */
const LEARN_THREADS = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local function live(value)
  if not value then return nil end
  local at, threads = string.match(value, '^(%d+)(.*)$')
  if at and tonumber(at) > now then return threads end
  return nil
end
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if not live(fields[i + 1]) then redis.call('HDEL', KEYS[1], fields[i]) end
end
for i = 3, #ARGV, 2 do
  local threads = live(redis.call('HGET', KEYS[1], ARGV[i])) or ''
  if not string.find(threads .. ' ', ' ' .. ARGV[i + 1] .. ' ', 1, true) then threads = threads .. ' ' .. ARGV[i + 1] end
  redis.call('HSET', KEYS[1], ARGV[i], (now + ttl) .. threads)
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

const fresh = (): string => randomBytes(9).toString('base64url');

export class RedisReadCacheStore implements ReadCacheStore {
  readonly #connection: RedisConnection;
  readonly #tagTtlMs: number;
  readonly #maxEntryBytes: number;
  readonly #localOptions: MemoryReadCacheStoreOptions;
  readonly #logger: FleetLogger;
  #local: MemoryReadCacheStore;
  /** An invalidation reached only this process's memory: the fleet's entries may have missed it. */
  #missedInvalidations = false;
  #warnedSecret = false;

  constructor(connection: RedisConnection, options: RedisReadCacheStoreOptions) {
    this.#connection = connection;
    this.#tagTtlMs = options.tagTtlMs;
    this.#maxEntryBytes = options.maxEntryBytes ?? 1_048_576;
    this.#localOptions = { ...options.local, tagTtlMs: options.tagTtlMs };
    this.#logger = options.logger;
    this.#local = new MemoryReadCacheStore(this.#localOptions);
    connection.onRejoin(async (redis, reconnect) => {
      if (reconnect || this.#missedInvalidations) await this.#moveEpoch(redis);
      this.#missedInvalidations = false;
      this.#local = new MemoryReadCacheStore(this.#localOptions);
    });
  }

  async lookup(key: string, tags: readonly string[]): Promise<{ entry: CachedRead | undefined; generation: string }> {
    if (!this.#refusesSecret(key)) {
      const answer = await this.#connection.run((redis) =>
        runScript(redis, LOOKUP, [this.#entryKey(key), ...this.#generationKeys(tags)], [fresh(), this.#tagTtlMs], 'buffers'),
      );
      if (answer !== UNREACHABLE && Array.isArray(answer)) {
        const [value, ...values] = answer as (Buffer | null)[];
        return { entry: value == null ? undefined : decodeEntry(value), generation: SHARED + values.join('|') };
      }
    }
    const { entry, generation } = await this.#local.lookup(key, tags);
    return { entry: entry === undefined ? undefined : { ...entry, generation: LOCAL + entry.generation }, generation: LOCAL + generation };
  }

  async save(key: string, tags: readonly string[], entry: CachedRead, ttlMs: number): Promise<boolean> {
    if (entry.generation.startsWith(LOCAL)) {
      if (this.#connection.state === 'shared') return false;
      return this.#local.save(key, tags, { ...entry, generation: entry.generation.slice(LOCAL.length) }, ttlMs);
    }
    if (!entry.generation.startsWith(SHARED)) return false;
    const json = JSON.stringify(entry);
    if (this.#refusesSecret(key) || this.#refusesSecret(json) || Buffer.byteLength(json) > this.#maxEntryBytes) return false;
    const values = entry.generation.slice(SHARED.length).split('|');
    if (values.length !== tags.length + 1) return false;
    const answer = await this.#connection.run((redis) =>
      runScript(
        redis,
        SAVE,
        [this.#entryKey(key), ...this.#generationKeys(tags)],
        [encodeEntry(json), Math.max(1, Math.round(ttlMs)), this.#tagTtlMs, ...values],
      ),
    );
    return answer !== UNREACHABLE && Number(answer) === 1;
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    const answer = await this.#connection.run((redis) => {
      const transaction = redis.multi();
      for (const tag of tags) transaction.set(this.#tagKey(tag), fresh(), 'PX', this.#tagTtlMs);
      return transaction.exec();
    });
    if (answer === UNREACHABLE) {
      this.#missedInvalidations = true;
      await this.#local.invalidate(tags);
    }
  }

  async learnThreads(page: string, platform: string, threadsByCustomer: ReadonlyMap<string, string>): Promise<void> {
    if (threadsByCustomer.size === 0) return;
    const pairs = [...threadsByCustomer].flat();
    const answer = await this.#connection.run((redis) =>
      runScript(redis, LEARN_THREADS, [this.#threadsKey(page, platform)], [Date.now(), this.#tagTtlMs, ...pairs]),
    );
    if (answer === UNREACHABLE) await this.#local.learnThreads(page, platform, threadsByCustomer);
  }

  async threadsOf(page: string, platform: string, customerId: string): Promise<readonly string[]> {
    const answer = await this.#connection.run((redis) => redis.hget(this.#threadsKey(page, platform), customerId));
    return answer === UNREACHABLE ? this.#local.threadsOf(page, platform, customerId) : liveThreads(answer);
  }

  async learnAccount(instagramAccountId: string, pageId: string): Promise<void> {
    const answer = await this.#connection.run((redis) => redis.set(this.#accountKey(instagramAccountId), pageId, 'PX', this.#tagTtlMs));
    if (answer === UNREACHABLE) await this.#local.learnAccount(instagramAccountId, pageId);
  }

  async pageOfAccount(instagramAccountId: string): Promise<string | undefined> {
    const answer = await this.#connection.run((redis) => redis.get(this.#accountKey(instagramAccountId)));
    return answer === UNREACHABLE ? this.#local.pageOfAccount(instagramAccountId) : (answer ?? undefined);
  }

  async release(name: string): Promise<void> {
    await this.#local.release(name);
    await this.#connection.run((redis) => redis.del(this.#connection.key(`claim:${name}`)));
  }

  async claim(name: string, ttlMs: number): Promise<boolean> {
    const answer = await this.#connection.run((redis) =>
      redis.set(this.#connection.key(`claim:${name}`), this.#connection.instanceId, 'PX', Math.max(1, Math.round(ttlMs)), 'NX'),
    );
    return answer === UNREACHABLE ? this.#local.claim(name, ttlMs) : answer === 'OK';
  }

  async #moveEpoch(redis: Redis): Promise<void> {
    await redis.set(this.#connection.key('cache:epoch'), fresh(), 'PX', this.#tagTtlMs);
  }

  /** Keys and bodies come from Graph reads: one holding a token must not reach a store other processes read. */
  #refusesSecret(text: string): boolean {
    if (!holdsSecret(text)) return false;
    if (!this.#warnedSecret) {
      this.#warnedSecret = true;
      this.#logger.warn(
        'Read cache: a key or an entry holding an access token or a proof was not cached (nothing holding one is written to Redis); ' +
          'further ones are not logged',
      );
    }
    return true;
  }

  #entryKey(key: string): string {
    return this.#connection.key(`cache:entry:${key}`);
  }

  #tagKey(tag: string): string {
    return this.#connection.key(`cache:tag:${tag}`);
  }

  /** The keys of a generation: the fleet epoch, then each tag. */
  #generationKeys(tags: readonly string[]): string[] {
    return [this.#connection.key('cache:epoch'), ...tags.map((tag) => this.#tagKey(tag))];
  }

  #threadsKey(page: string, platform: string): string {
    return this.#connection.key(`cache:threads:${page}:${platform}`);
  }

  #accountKey(instagramAccountId: string): string {
    return this.#connection.key(`cache:instagram-page:${instagramAccountId}`);
  }
}

/** The threads a field of an inbox's threads hash (see LEARN_THREADS) holds, sorted; none once its time is up. */
function liveThreads(value: string | null): string[] {
  if (value === null) return [];
  const [expiresAt, ...threads] = value.split(' ');
  return Number(expiresAt) > Date.now() ? threads.sort() : [];
}
