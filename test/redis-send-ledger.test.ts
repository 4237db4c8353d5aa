/**
 * What only the Redis ledger of sends does: it refuses to answer while Redis is unreachable (a fleet never
 * risks a send twice on one instance's memory), it stores no caller's key, and a settled outcome keeps the
 * claim's TTL. What every ledger does is the contract in test/shared-state-contracts.test.ts.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisConnection } from '../src/redis/connection.js';
import { RedisSendLedger } from '../src/redis/send-ledger.js';
import { SendLedgerUnavailableError } from '../src/replies/send-ledger.js';
import { deleteKeys, keysUnder, recordingLogger, TEST_REDIS_URL, testPrefix } from './support/redis.js';

const PREFIX = testPrefix('redis-send-ledger');
const TTL_MS = 60_000;
const connections: RedisConnection[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
  for (const client of clients.splice(0)) client.disconnect();
});
afterAll(async () => {
  await deleteKeys(TEST_REDIS_URL, PREFIX);
});

function connect(url: string, keyPrefix = PREFIX): RedisConnection {
  const connection = new RedisConnection({ url, keyPrefix, logger: recordingLogger(), commandTimeoutMs: 200 });
  connections.push(connection);
  return connection;
}
const digest = (key: string): string => createHash('sha256').update(key).digest('base64url');

describe('RedisSendLedger', () => {
  it('refuses every call while Redis is unreachable, rather than answer from this instance alone', async () => {
    // Nothing listens on port 1: the connection never joins.
    const ledger = new RedisSendLedger(connect('redis://127.0.0.1:1'), { ttlMs: TTL_MS });
    const key = 'send\u001f1000000001\u001fidem-down';
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['claim', () => ledger.claim(key, 'fp', Date.now())],
      ['settle', () => ledger.settle(key, { kind: 'unknown', since: Date.now() })],
      ['release', () => ledger.release(key)],
      ['get', () => ledger.get(key)],
      ['whenSettled', () => ledger.whenSettled(key, Date.now() + 1_000)],
      ['noteEcho', () => ledger.noteEcho(key, 'm_echo')],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect([name, error]).toEqual([name, expect.any(SendLedgerUnavailableError)]);
    }
  });

  it('stores no caller key, only its digest, and keeps the claim TTL when settled', async () => {
    const connection = connect(TEST_REDIS_URL);
    expect(await connection.settled(5_000)).toBe('shared');
    const ledger = new RedisSendLedger(connection, { ttlMs: TTL_MS });
    const key = 'send\u001f1000000001\u001fcustomer-7001-secret-idempotency-key';
    await ledger.noteEcho(key, 'm_echo');
    await ledger.claim(key, 'fp', Date.now());

    const redis = new Redis(TEST_REDIS_URL);
    clients.push(redis);
    // The heartbeat's key aside, the ledger's two keys.
    const keys = (await keysUnder(redis, PREFIX)).filter((stored) => stored !== `${PREFIX}instances`);
    expect(keys).toEqual([`${PREFIX}send-echo:${digest(key)}`, `${PREFIX}send:${digest(key)}`]);
    expect(keys.some((stored) => stored.includes('customer-7001'))).toBe(false);

    const claimedTtl = await redis.pttl(`${PREFIX}send:${digest(key)}`);
    expect(claimedTtl).toBeGreaterThan(TTL_MS - 5_000);
    expect(claimedTtl).toBeLessThanOrEqual(TTL_MS);
    await ledger.settle(key, { kind: 'sent', messageId: 'm_1', sentAt: 1_790_000_000_123, recipientId: '7001' });
    const settledTtl = await redis.pttl(`${PREFIX}send:${digest(key)}`);
    expect(settledTtl).toBeGreaterThan(0);
    expect(settledTtl).toBeLessThanOrEqual(claimedTtl);
    expect(JSON.parse((await redis.get(`${PREFIX}send:${digest(key)}`))!)).toEqual({
      fingerprint: 'fp',
      claimedAt: expect.any(Number),
      outcome: { kind: 'sent', messageId: 'm_1', sentAt: 1_790_000_000_123, recipientId: '7001' },
    });
  });

  it('checks its options', () => {
    const connection = connect(TEST_REDIS_URL);
    expect(() => new RedisSendLedger(connection, { ttlMs: 0 })).toThrow('RedisSendLedger: ttlMs must be an integer ≥ 1, got 0');
    expect(() => new RedisSendLedger(connection, { ttlMs: 1_000, pollMs: 0.5 })).toThrow(
      'RedisSendLedger: pollMs must be an integer ≥ 1, got 0.5',
    );
  });
});
