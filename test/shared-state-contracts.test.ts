/**
 * The fleet's shared state, one contract per port run against both adapters (style convention 13): the
 * in-memory one of a process alone, and the Redis one of a fleet, on a real Redis. A fleet of the memory
 * adapter is one object handed to every "instance"; a fleet of the Redis adapter is a connection per
 * instance under one key prefix of its own. What only one adapter does stays in its own test file.
 */
import { afterAll, afterEach } from 'vitest';
import { type CallBudget, MemoryCallBudget } from '../src/graph-api/call-budget.js';
import { MemoryProofStore, type ProofStore } from '../src/graph-api/proof-store.js';
import { MemoryReadCacheStore, type ReadCacheStore } from '../src/graph-api/read-cache-store.js';
import { type IdentityStore, MemoryIdentityStore } from '../src/identity-store.js';
import { RedisCallBudget } from '../src/redis/call-budget.js';
import { RedisConnection } from '../src/redis/connection.js';
import { RedisIdentityStore } from '../src/redis/identity-store.js';
import { RedisInboxEventStream } from '../src/redis/inbox-events.js';
import { RedisProofStore } from '../src/redis/proof-store.js';
import { RedisReadCacheStore } from '../src/redis/read-cache-store.js';
import { RedisRedeliveryFilter } from '../src/redis/redelivery.js';
import { RedisSendLedger } from '../src/redis/send-ledger.js';
import { MemorySendLedger, type SendLedger } from '../src/replies/send-ledger.js';
import { InboxEventBus, type InboxEventStream } from '../src/webhooks/inbox-events.js';
import { MemoryRedeliveryFilter, type RedeliveryFilter } from '../src/webhooks/redelivery.js';
import { describeCallBudgetContract } from './support/contracts/call-budget.js';
import type { Fleet } from './support/contracts/fleet.js';
import { describeIdentityStoreContract } from './support/contracts/identity-store.js';
import { describeInboxEventStreamContract } from './support/contracts/inbox-event-stream.js';
import { describeProofStoreContract } from './support/contracts/proof-store.js';
import { describeReadCacheStoreContract } from './support/contracts/read-cache-store.js';
import { describeRedeliveryFilterContract } from './support/contracts/redelivery-filter.js';
import { describeSendLedgerContract } from './support/contracts/send-ledger.js';
import { deleteKeys, recordingLogger, TEST_REDIS_URL, testPrefix } from './support/redis.js';

const PREFIX = testPrefix('shared-state-contracts');
const TAG_TTL_MS = 60_000;
const LOCAL_CACHE = { maxEntries: 100, maxBytes: 100_000 };
const connections: RedisConnection[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
});
afterAll(async () => {
  await deleteKeys(TEST_REDIS_URL, PREFIX);
});

/** A memory fleet: every instance is the one object. */
const sameObject =
  <Port>(port: Port): Fleet<Port> =>
  async () =>
    port;

/**
 * A Redis fleet: each instance a connection of its own under a prefix no other fleet uses, and its
 * adapter. `before` adapters are made before the connection joins, as createFleetState makes them (the
 * event stream must listen before it counts as shared); `after` ones once it has joined (a budget made
 * before waits a window after joining, which a contract would only have to wait out).
 */
let fleets = 0;
function redisFleet<Port>(make: (connection: RedisConnection) => Port, when: 'before' | 'after'): Fleet<Port> {
  const keyPrefix = `${PREFIX}${++fleets}:`;
  return async () => {
    const connection = new RedisConnection({ url: TEST_REDIS_URL, keyPrefix, logger: recordingLogger() });
    connections.push(connection);
    const early = when === 'before' ? make(connection) : undefined;
    const link = await connection.settled(5_000);
    if (link !== 'shared') throw new Error(`Redis at ${TEST_REDIS_URL} did not answer: the instance is ${link}`);
    return early ?? make(connection);
  };
}

describeCallBudgetContract('MemoryCallBudget', (callsPerSecond) => sameObject<CallBudget>(new MemoryCallBudget(callsPerSecond)));
describeCallBudgetContract('RedisCallBudget', (callsPerSecond) =>
  redisFleet<CallBudget>((connection) => new RedisCallBudget(connection, { callsPerSecond }), 'after'),
);

describeReadCacheStoreContract('MemoryReadCacheStore', () =>
  sameObject<ReadCacheStore>(new MemoryReadCacheStore({ ...LOCAL_CACHE, tagTtlMs: TAG_TTL_MS })),
);
describeReadCacheStoreContract('RedisReadCacheStore', () =>
  redisFleet<ReadCacheStore>(
    (connection) => new RedisReadCacheStore(connection, { tagTtlMs: TAG_TTL_MS, local: LOCAL_CACHE, logger: recordingLogger() }),
    'before',
  ),
);

describeInboxEventStreamContract('InboxEventBus', () => sameObject<InboxEventStream>(new InboxEventBus()));
describeInboxEventStreamContract('RedisInboxEventStream', () =>
  redisFleet<InboxEventStream>((connection) => new RedisInboxEventStream(connection), 'before'),
);

describeRedeliveryFilterContract('MemoryRedeliveryFilter', () => sameObject<RedeliveryFilter>(new MemoryRedeliveryFilter()));
describeRedeliveryFilterContract('RedisRedeliveryFilter', () =>
  redisFleet<RedeliveryFilter>((connection) => new RedisRedeliveryFilter(connection), 'after'),
);

describeSendLedgerContract('MemorySendLedger', (ttlMs) => sameObject<SendLedger>(new MemorySendLedger(ttlMs)));
describeSendLedgerContract('RedisSendLedger', (ttlMs) =>
  redisFleet<SendLedger>((connection) => new RedisSendLedger(connection, { ttlMs }), 'after'),
);

describeProofStoreContract('MemoryProofStore', () => sameObject<ProofStore>(new MemoryProofStore()));
describeProofStoreContract('RedisProofStore', () => redisFleet<ProofStore>((connection) => new RedisProofStore(connection), 'after'));

describeIdentityStoreContract('MemoryIdentityStore', () => sameObject<IdentityStore>(new MemoryIdentityStore()));
describeIdentityStoreContract('RedisIdentityStore', () =>
  redisFleet<IdentityStore>((connection) => new RedisIdentityStore(connection), 'after'),
);
