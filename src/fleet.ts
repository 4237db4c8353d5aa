/**
 * The state instances behind one load balancer share: the per-Page call budgets (reads, and the Send API's),
 * the read cache, the proofs of reach and the identities of tokens (never a token in clear), the inbox event stream,
 * the webhook redelivery filter and the ledger of sends. With a Redis URL (REDIS_URL) they live in Redis under one
 * key prefix (REDIS_KEY_PREFIX), and each instance falls back to its own memory while Redis is unreachable
 * (degraded mode, see connection.ts), except the ledger of sends, which then refuses (a send is not risked twice);
 * without one, everything stays in this process's memory.
 */
import type { ConnectionOptions } from 'node:tls';
import { type CapacityBounds, DEFAULT_CAPACITY } from './capacity.js';
import { CACHE_MAX_AGE_WITH_WEBHOOKS_MS, cacheTagTtlMs, DEFAULT_CONFIG } from './config.js';
import { type CallBudget, MemoryCallBudget } from './graph-api/call-budget.js';
import { MemoryProofStore, type ProofStore } from './graph-api/proof-store.js';
import { MemoryReadCacheStore, type ReadCacheStore } from './graph-api/read-cache-store.js';
import { type IdentityStore, MemoryIdentityStore } from './identity-store.js';
import { MemorySendLedger, type SendLedger } from './replies/send-ledger.js';
import { InboxEventBus, type InboxEventStream } from './webhooks/inbox-events.js';
import { MemoryRedeliveryFilter, type RedeliveryFilter } from './webhooks/redelivery.js';
import type { FleetLink, FleetLogger } from './redis/connection.js';

export type { FleetLink, FleetLogger } from './redis/connection.js';

export interface FleetCacheOptions {
  /** Most entries the in-memory cache keeps (the whole cache without Redis; the fallback with it). */
  maxEntries: number;
  /** Most bytes of JSON the in-memory cache keeps. */
  maxBytes: number;
  /** How long a tag's generation is remembered: longer than any entry lives. */
  tagTtlMs: number;
  /** Largest entry written to Redis, in bytes of JSON. @default 1048576 */
  maxEntryBytes?: number;
}

export interface FleetStateOptions {
  /** `redis://` or `rediss://` URL (REDIS_URL); `undefined`: every piece in this process's memory. */
  url: string | undefined;
  /** Prefix of every key and channel (REDIS_KEY_PREFIX). */
  keyPrefix: string;
  /** Graph calls per Page per second for the whole fleet (GRAPH_PAGE_CALLS_PER_SECOND; 0: no limit). */
  callsPerSecond: number;
  /** Send API calls per Page per second for the whole fleet (Meta allows 300; 0: no limit). @default DEFAULT_SEND_CALLS_PER_SECOND */
  sendCallsPerSecond?: number;
  /** How long the ledger of sends keeps a key after its claim, in ms. @default DEFAULT_SEND_LEDGER_TTL_MS */
  sendLedgerTtlMs?: number;
  logger: FleetLogger;
  /** @default DEFAULT_FLEET_CACHE */
  cache?: FleetCacheOptions;
  /** What the in-memory pieces keep at most (CAPACITY_PAGES, CAPACITY_TOKENS). @default DEFAULT_CAPACITY */
  capacity?: CapacityBounds;
  /** How long to wait for Redis at start-up before serving in degraded mode (it joins when Redis answers). @default 2000 */
  startupWaitMs?: number;
  /** Longest a Redis command may take before the instance counts Redis as unreachable. @default 1000 */
  commandTimeoutMs?: number;
  /** How often an instance tells the fleet it is alive. @default 1000 */
  heartbeatMs?: number;
  /** TLS options added to a `rediss://` connection (a private CA: `{ ca }`, or NODE_EXTRA_CA_CERTS). */
  tls?: ConnectionOptions;
  /**
   * Instances assumed in the fleet (FLEET_SIZE_HINT): without `url`, each spends this share of the rates always; with it,
   * until it first hears from the fleet through Redis. @default 1
   */
  fleetSizeHint?: number;
}

/** The cache's bounds as configured by default (CACHE_MAX_ENTRIES, CACHE_MAX_MEGABYTES), its tags kept as buildGateway keeps them. */
export const DEFAULT_FLEET_CACHE: Readonly<FleetCacheOptions> = {
  maxEntries: DEFAULT_CONFIG.cache.maxEntries,
  maxBytes: DEFAULT_CONFIG.cache.maxBytes,
  tagTtlMs: cacheTagTtlMs(DEFAULT_CONFIG, CACHE_MAX_AGE_WITH_WEBHOOKS_MS),
};

/** Meta's Send API rate per Page: https://developers.facebook.com/docs/messenger-platform/send-messages#limits */
export const DEFAULT_SEND_CALLS_PER_SECOND = 300;
/** A day: a retry of a send comes long before, and Meta's echo of it too. */
export const DEFAULT_SEND_LEDGER_TTL_MS = 86_400_000;
/** The key space of the Send API's budget in Redis, apart from the read budget's (`budget`). */
const SEND_BUDGET_KEY_SPACE = 'send-budget';

/** What the health endpoint shows of the shared state. */
export interface FleetHealth {
  /** `off`: no REDIS_URL, each instance alone; `shared`: in Redis; `degraded`: Redis unreachable, this instance alone for now. */
  readonly redis: FleetLink | 'off';
  /** Epoch ms of the last change of `redis`. */
  readonly since: number | undefined;
  /** Instances live at the last heartbeat that reached Redis. */
  readonly liveInstances: number | undefined;
  /** Calls per Page per second this instance spends: the fleet's rate when shared, its share when degraded. */
  readonly callsPerSecond: number;
}

export interface FleetState {
  /** The budget of Graph reads (and every call but sends), per Page. */
  readonly budget: CallBudget;
  /** The budget of Send API calls, per Page: counted apart from reads, at Meta's rate for sends. */
  readonly sendBudget: CallBudget;
  /** The ledger that makes each reply once (Redis: refuses while unreachable, see src/redis/send-ledger.ts). */
  readonly sendLedger: SendLedger;
  readonly cacheStore: ReadCacheStore;
  /** Proofs of reach (read-access.ts): token fingerprint × inbox, thread or Page, each for the proof TTL. */
  readonly proofs: ProofStore;
  /** Identities of tokens (credentials.ts), by fingerprint; a user token's Page tokens only sealed with its own key. */
  readonly identities: IdentityStore;
  readonly events: InboxEventStream;
  readonly redeliveries: RedeliveryFilter;
  health(): FleetHealth;
  /** Leaves the fleet and closes the connections. */
  close(): Promise<void>;
}

/**
 * The shared state of this instance: in Redis when `url` is given (waiting at most `startupWaitMs` for it,
 * then serving degraded until it answers), in memory otherwise.
 */
export async function createFleetState(options: FleetStateOptions): Promise<FleetState> {
  const cache = options.cache ?? DEFAULT_FLEET_CACHE;
  const sendCallsPerSecond = options.sendCallsPerSecond ?? DEFAULT_SEND_CALLS_PER_SECOND;
  const sendLedgerTtlMs = options.sendLedgerTtlMs ?? DEFAULT_SEND_LEDGER_TTL_MS;
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  if (options.url === undefined) {
    const share = 1 / (options.fleetSizeHint ?? 1);
    const budget = new MemoryCallBudget(options.callsPerSecond * share);
    return {
      budget,
      sendBudget: new MemoryCallBudget(sendCallsPerSecond * share),
      sendLedger: new MemorySendLedger(sendLedgerTtlMs),
      cacheStore: new MemoryReadCacheStore({ ...cache, maxTags: capacity.cacheTags, maxCustomers: capacity.customers }),
      proofs: new MemoryProofStore({ max: capacity.proofs }),
      identities: new MemoryIdentityStore({ max: capacity.identities }),
      events: new InboxEventBus(),
      redeliveries: new MemoryRedeliveryFilter(capacity.webhookEvents),
      health: () => ({ redis: 'off', since: undefined, liveInstances: undefined, callsPerSecond: budget.callsPerSecond }),
      close: async () => undefined,
    };
  }
  return createRedisFleetState(options.url, options, { cache, capacity, sendCallsPerSecond, sendLedgerTtlMs });
}

/** The shared state in Redis at `url`, the options' defaults already applied to `resolved`. */
async function createRedisFleetState(
  url: string,
  options: FleetStateOptions,
  resolved: { cache: FleetCacheOptions; capacity: CapacityBounds; sendCallsPerSecond: number; sendLedgerTtlMs: number },
): Promise<FleetState> {
  const { cache, capacity, sendCallsPerSecond, sendLedgerTtlMs } = resolved;
  // Loaded only with a Redis URL: an instance alone never loads the Redis client (about 20 MB).
  const [
    { RedisConnection },
    { RedisCallBudget },
    { RedisReadCacheStore },
    { RedisInboxEventStream },
    { RedisRedeliveryFilter },
    { RedisSendLedger },
    { RedisProofStore },
    { RedisIdentityStore },
  ] = await Promise.all([
    import('./redis/connection.js'),
    import('./redis/call-budget.js'),
    import('./redis/read-cache-store.js'),
    import('./redis/inbox-events.js'),
    import('./redis/redelivery.js'),
    import('./redis/send-ledger.js'),
    import('./redis/proof-store.js'),
    import('./redis/identity-store.js'),
  ]);
  const connection = new RedisConnection({
    url,
    keyPrefix: options.keyPrefix,
    logger: options.logger,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.fleetSizeHint === undefined ? {} : { fleetSizeHint: options.fleetSizeHint }),
  });
  const budget = new RedisCallBudget(connection, { callsPerSecond: options.callsPerSecond });
  const state: FleetState = {
    budget,
    sendBudget: new RedisCallBudget(connection, { callsPerSecond: sendCallsPerSecond, keySpace: SEND_BUDGET_KEY_SPACE }),
    sendLedger: new RedisSendLedger(connection, { ttlMs: sendLedgerTtlMs }),
    cacheStore: new RedisReadCacheStore(connection, {
      tagTtlMs: cache.tagTtlMs,
      local: { maxEntries: cache.maxEntries, maxBytes: cache.maxBytes, maxTags: capacity.cacheTags, maxCustomers: capacity.customers },
      logger: options.logger,
      ...(cache.maxEntryBytes === undefined ? {} : { maxEntryBytes: cache.maxEntryBytes }),
    }),
    proofs: new RedisProofStore(connection),
    identities: new RedisIdentityStore(connection),
    events: new RedisInboxEventStream(connection),
    redeliveries: new RedisRedeliveryFilter(connection),
    health: () => ({
      redis: connection.state,
      since: connection.since,
      liveInstances: connection.liveInstances,
      callsPerSecond: connection.state === 'shared' ? budget.callsPerSecond : budget.localCallsPerSecond,
    }),
    close: () => connection.close(),
  };
  await connection.settled(options.startupWaitMs ?? 2_000);
  return state;
}
