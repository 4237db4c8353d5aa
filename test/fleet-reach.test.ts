/**
 * Proofs of reach and token identities shared by a fleet through Redis: what a token proved, and who it is, on one
 * instance serves it on another with no Graph call, and Redis holds no token in clear (a user token's Page tokens
 * only sealed with a key derived from that user token).
 */
import { Redis } from 'ioredis';
import { decodeEntry } from '../src/redis/entry-codec.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sealPageTokens, unsealPageTokens } from '../src/credentials.js';
import { AGENCY, createAgencyWorld, DEMO } from '../src/emulator/index.js';
import { ACME, BISTRO, type Harness, type HarnessOptions, startHarness } from './support/harness.js';
import { RedisConnection } from '../src/redis/connection.js';
import { RedisReadCacheStore } from '../src/redis/read-cache-store.js';
import { deleteKeys, keysUnder, recordingLogger, TEST_REDIS_URL, testPrefix } from './support/redis.js';

const PREFIX = testPrefix('fleet-reach');
const PAGE_COUNT = 250;
const MINUTE = 60_000;
const INBOX = (page: string) => `{ page(id: "${page}") { conversations(first: 3) { edges { node { graphApiId snippet } } } } }`;
const VIEWER = `{ viewer { kind pages { graphApiId } } }`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('two instances sharing Redis', () => {
  const connections: RedisConnection[] = [];
  let a: Harness;
  let b: Harness;

  /** The instance's options: its fleet state in Redis (proofs, identities), and its read cache too, as a deployment has it. */
  async function options(): Promise<HarnessOptions> {
    const logger = recordingLogger();
    const connection = new RedisConnection({ url: TEST_REDIS_URL, keyPrefix: PREFIX, logger });
    connections.push(connection);
    const store = new RedisReadCacheStore(connection, { tagTtlMs: 20 * MINUTE, local: { maxEntries: 1000, maxBytes: 10_000_000 }, logger });
    expect(await connection.settled(5_000)).toBe('shared');
    return { defaultAccessToken: undefined, cache: { maxAgeMs: MINUTE, store }, redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX } };
  }

  beforeAll(async () => {
    a = await startHarness({ ...(await options()), emulator: { privacyFiltering: false, extraWorld: createAgencyWorld(PAGE_COUNT) } });
    b = await startHarness({ ...(await options()), sharedEmulator: a.emulator });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await Promise.all(connections.map((connection) => connection.close()));
    await deleteKeys(TEST_REDIS_URL, PREFIX);
  });
  beforeEach(() => a.emulator.log.clear());

  it('serves on B, with 0 Graph calls, the inbox a Page token proved on A', async () => {
    const onA = await a.post({ query: INBOX(ACME) }, bearer(DEMO.tokens.acmePage));
    expect(onA.body.errors).toBeUndefined();
    expect(a.emulator.log.callCount).toBe(3); // who the token is (`/me`; `/me/accounts`, refused: a Page token), the list
    a.emulator.log.clear();
    const onB = await b.post({ query: INBOX(ACME) }, bearer(DEMO.tokens.acmePage));
    expect(onB.body).toEqual(onA.body);
    expect(a.emulator.log.callCount).toBe(0);
  });

  it('serves on B, with 0 Graph calls, a user token A identified and the inbox it proved there with its Page token', async () => {
    const onA = await a.post({ query: INBOX(BISTRO) }, bearer(DEMO.tokens.alice));
    expect(onA.body.errors).toBeUndefined();
    expect(a.emulator.log.callCount).toBe(3); // `/me`, `/me/accounts`, the list with Bistro's Page token
    a.emulator.log.clear();
    const onB = await b.post({ query: INBOX(BISTRO) }, bearer(DEMO.tokens.alice));
    expect(onB.body).toEqual(onA.body);
    expect(a.emulator.log.callCount).toBe(0);
  });

  it("never serves A's proofs to another token: a token with none is judged by Graph, a stranger refused by the gateway", async () => {
    await a.post({ query: INBOX(ACME) }, bearer(DEMO.tokens.acmePage));
    a.emulator.log.clear();
    const noMessaging = await b.post({ query: INBOX(ACME) }, bearer(DEMO.tokens.acmePageNoMessaging));
    expect(noMessaging.body.data).toEqual({ page: null });
    // Graph judged it (and refused): B's cache was not served to it on A's proof.
    expect(a.emulator.log.entries.filter((entry) => entry.path === `/v25.0/${ACME}/conversations`)).toHaveLength(1);
    const bob = await b.post({ query: INBOX(ACME) }, bearer(DEMO.tokens.bob));
    expect(bob.body.errors?.map((error) => error.extensions?.code)).toEqual(['PAGE_NOT_ACCESSIBLE']);
  });

  it("lists on B the agency's 250 Pages that A read from /me/accounts, with 0 Graph calls", async () => {
    const onA = await a.post({ query: VIEWER }, bearer(AGENCY.token));
    expect((onA.body.data as { viewer: { pages: unknown[] } }).viewer.pages).toHaveLength(250);
    a.emulator.log.clear();
    const onB = await b.post({ query: VIEWER }, bearer(AGENCY.token));
    expect(onB.body).toEqual(onA.body);
    expect(a.emulator.log.callCount).toBe(0);
  });

  it('holds no token in Redis, in any key or value: only fingerprints, and Page tokens sealed', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = await keysUnder(redis, PREFIX);
      const values = await Promise.all(
        keys.map(async (key) =>
          (await redis.type(key)) === 'string'
            ? readable((await redis.getBuffer(key)) ?? Buffer.alloc(0))
            : JSON.stringify(await dump(redis, key)),
        ),
      );
      const tokens = [...Object.values(DEMO.tokens), AGENCY.token, AGENCY.pageTokenOf(1), AGENCY.pageTokenOf(PAGE_COUNT)];
      const text = [...keys, ...values].join('\n');
      expect(tokens.filter((token) => text.includes(token))).toEqual([]);
      expect(keys.filter((key) => key.startsWith(`${PREFIX}identity:`)).length).toBeGreaterThanOrEqual(4);
      expect(keys.filter((key) => key.startsWith(`${PREFIX}proof:`)).length).toBeGreaterThanOrEqual(3);
    } finally {
      redis.disconnect();
    }
  });
});

describe('sealed Page tokens', () => {
  it('unseal with the user token they were sealed for, and with no other, nor altered', () => {
    const sealed = sealPageTokens(DEMO.tokens.alice, [DEMO.tokens.acmePage, DEMO.tokens.bistroPage]);
    expect(unsealPageTokens(DEMO.tokens.alice, sealed)).toEqual([DEMO.tokens.acmePage, DEMO.tokens.bistroPage]);
    expect(unsealPageTokens(DEMO.tokens.bob, sealed)).toBeUndefined();
    const altered = Buffer.from(sealed, 'base64url');
    altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 1, altered.length - 1);
    expect(unsealPageTokens(DEMO.tokens.alice, altered.toString('base64url'))).toBeUndefined();
    // A fresh IV each time: the same tokens never seal to the same text.
    expect(sealPageTokens(DEMO.tokens.alice, [DEMO.tokens.acmePage])).not.toBe(sealPageTokens(DEMO.tokens.alice, [DEMO.tokens.acmePage]));
  });
});

/** A string value as text: a cached entry inflated when compressed (src/redis/entry-codec.ts), so that it is searched too. */
function readable(value: Buffer): string {
  const entry = decodeEntry(value);
  return entry === undefined ? value.toString('utf8') : JSON.stringify(entry);
}

/** The members of a key that is not a string, whatever its type. */
async function dump(redis: Redis, key: string): Promise<unknown> {
  switch (await redis.type(key)) {
    case 'hash':
      return redis.hgetall(key);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, 0, -1, 'WITHSCORES');
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'stream':
      return redis.xrange(key, '-', '+');
    default:
      return null;
  }
}
