/**
 * The one composition root: `buildGateway(config, upstream, overrides)` builds everything an instance
 * runs (Graph client, scheduler over the fleet's call budget, credentials, read cache, subscription caps,
 * the GraphQL app, Meta's webhook receiver and the HTTP server). `main.ts` calls it for the process; the
 * tests call it too (test/support/harness.ts), overriding only what a test must: clocks, stores, the bus
 * events travel on, retry delays.
 */
import { createEmptyInboxHint } from './graph-api/empty-inbox-hint.js';
import type { Server } from 'node:http';
import type { Dispatcher } from 'undici';
import { allowedOriginsOf } from './allowed-origins.js';
import { createApp } from './app.js';
import { CACHE_MAX_AGE_WITH_WEBHOOKS_MS, cacheTagTtlMs, type GatewayConfig } from './config.js';
import { Credentials } from './credentials.js';
import { GraphApiClient } from './graph-api/client.js';
import { ReadCache } from './graph-api/read-cache.js';
import type { ReadCacheStore } from './graph-api/read-cache-store.js';
import { GraphScheduler, type GraphSchedulerOptions } from './graph-api/scheduler.js';
import { GraphWriter } from './graph-api/writer.js';
import { createGatewayServer, type GatewayServer } from './http-server.js';
import type { Logger } from './logger.js';
import { createMetricsServer } from './metrics-server.js';
import { createFleetState, type FleetState } from './fleet.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { createCursorCodec } from './cursors.js';
import { createReadiness, type Readiness } from './readiness.js';
import { createSubscriptionCaps, type SubscriptionCaps } from './subscription-caps.js';
import type { InboxEventStream } from './webhooks/inbox-events.js';
import { createInboxEventRelay, createWebhookReceiver, type InboxEventRelay, type WebhookReceiver } from './webhooks/receiver.js';
import { ECHO_KEY_PREFIX, ReplyService } from './replies/reply-service.js';
import type { SendLedger } from './replies/send-ledger.js';
import type { ProofStore } from './graph-api/proof-store.js';

/** The Graph API the gateway calls, and what it knows of it beyond the configuration (the embedded emulator's demo values). */
export interface UpstreamApi {
  graphApiUrl: string;
  /** Token for requests that send none. */
  defaultAccessToken: string | undefined;
  /** What verifies Meta's webhook deliveries; `undefined`: the webhook callback and `inboxEvents` are off. */
  webhooks: { appSecret: string; verifyToken: string } | undefined;
  /**
   * The app secret whose `appsecret_proof` every call carries, when it is not `GRAPH_APP_SECRET` (the embedded emulator's demo
   * secret). @default GRAPH_APP_SECRET
   */
  appSecret?: string | undefined;
}

/** What a test may replace; a process replaces nothing. */
export interface GatewayOverrides {
  /** The read cache's clock. @default Date.now */
  now?: (() => number) | undefined;
  /** Where the read cache keeps entries. @default the fleet's (Redis with REDIS_URL, else this process's memory) */
  cacheStore?: ReadCacheStore | undefined;
  /** Where proofs of reach are kept. @default the fleet's (Redis with REDIS_URL, else this process's memory) */
  proofStore?: ProofStore | undefined;
  /** The stream inbox events travel on. @default the fleet's */
  inboxEvents?: InboxEventStream | undefined;
  /** How the Graph API is reached (an undici MockAgent). @default a pool per the GRAPH_* connection settings */
  dispatcher?: Dispatcher | undefined;
  /** Scheduler details no setting has, and its own clock. */
  scheduler?: Pick<GraphSchedulerOptions, 'retryBaseDelayMs' | 'random' | 'now'> | undefined;
  /** The subscription caps. @default the instance's, per MAX_SUBSCRIPTIONS and MAX_SUBSCRIPTIONS_PER_CLIENT */
  subscriptionCaps?: SubscriptionCaps | undefined;
}

/** An instance, built and not yet listening. */
export interface Gateway {
  readonly app: ReturnType<typeof createApp>;
  /** The HTTP server (`/graphql`, GraphQL over WebSocket, the webhook callback): not listening yet. */
  readonly server: GatewayServer;
  /** `/metrics` on its own listener (not listening yet) when METRICS_PORT is set; else `/metrics` is on `server`. */
  readonly metricsServer: Server | undefined;
  readonly client: GraphApiClient;
  readonly scheduler: GraphScheduler;
  /** Graph writes (sending, sender actions): made once, again only when the request never left. */
  readonly writer: GraphWriter;
  readonly credentials: Credentials;
  readonly readCache: ReadCache;
  readonly fleet: FleetState;
  /** The instance's metrics (served at `/metrics`). */
  readonly metrics: GatewayMetrics;
  /** Meta's webhook callback, when deliveries can be verified. */
  readonly webhooks: WebhookReceiver | undefined;
  /** What `/health/ready` says: main.ts marks start-up complete, and the start of a shutdown. */
  readonly readiness: Readiness;
  /** How long a cached read is served fresh: CACHE_MAX_AGE_SECONDS, else 60 s with webhooks and 0 without. */
  readonly cacheMaxAgeMs: number;
  /** Stops the reconciler, closes the upstream pool and leaves the fleet (once the server has drained). */
  close(): Promise<void>;
}

/** Builds an instance of the gateway from its configuration; `overrides` are for tests. */
export async function buildGateway(
  config: GatewayConfig,
  upstream: UpstreamApi,
  log: Logger,
  overrides: GatewayOverrides = {},
): Promise<Gateway> {
  const cacheMaxAgeMs = config.cache.maxAgeMs ?? (upstream.webhooks === undefined ? 0 : CACHE_MAX_AGE_WITH_WEBHOOKS_MS);
  const metrics = createGatewayMetrics();
  const fleet = await createFleetState({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    callsPerSecond: config.pageCallsPerSecond,
    sendCallsPerSecond: config.sends.callsPerSecond,
    sendLedgerTtlMs: config.sends.idempotencyTtlMs,
    fleetSizeHint: config.fleetSizeHint,
    logger: { info: (message) => log.info(message), warn: (message) => log.warn(message) },
    cache: { maxEntries: config.cache.maxEntries, maxBytes: config.cache.maxBytes, tagTtlMs: cacheTagTtlMs(config, cacheMaxAgeMs) },
    capacity: config.capacity,
  });
  const { client, scheduler } = createGraphApi(config, upstream, { fleet, log, metrics }, overrides);
  const credentials = new Credentials({
    scheduler,
    ttlMs: config.credentialsTtlMs,
    pageTokens: config.pageTokens,
    store: fleet.identities,
    capacity: config.capacity,
  });
  const readCache = createReadCache(config, cacheMaxAgeMs, { fleet, scheduler, log }, overrides);
  // Lists are re-read with idle budget only where entries are served fresh (else nothing is served from them).
  const reconciler =
    cacheMaxAgeMs > 0 && config.cache.reconcileMs > 0
      ? setInterval(() => void readCache.reconcile(config.cache.reconcileMs), config.cache.reconcileMs).unref()
      : undefined;
  const writer = new GraphWriter({ transport: client, maxAttempts: config.maxAttempts });
  // With REDIS_REQUIRED, an instance that cannot share the fleet's state asks the balancer for no traffic.
  const readiness = createReadiness(config.redisRequired ? { redisReachable: () => fleet.health().redis === 'shared' } : {});
  const served = serveGateway(config, upstream, { fleet, scheduler, credentials, readCache, writer, readiness, log, metrics }, overrides);
  metrics.countResponses(served.server);
  metrics.watch({
    scheduler,
    redis: () => fleet.health().redis,
    subscriptions: () => served.subscriptionCaps.size,
  });
  return {
    ...served,
    metrics,
    client,
    scheduler,
    writer,
    credentials,
    readCache,
    fleet,
    readiness,
    cacheMaxAgeMs,
    async close() {
      clearInterval(reconciler);
      const { metricsServer } = served;
      const metricsClosed =
        metricsServer?.listening === true ? new Promise<void>((resolve) => metricsServer.close(() => resolve())) : undefined;
      await Promise.all([client.close(), fleet.close(), metricsClosed]);
    },
  };
}

/** The read cache over the fleet's stores (the overrides' in tests). */
function createReadCache(
  config: GatewayConfig,
  maxAgeMs: number,
  { fleet, scheduler, log }: { fleet: FleetState; scheduler: GraphScheduler; log: Logger },
  overrides: GatewayOverrides,
): ReadCache {
  return new ReadCache({
    store: overrides.cacheStore ?? fleet.cacheStore,
    scheduler,
    version: config.graphApiVersion,
    maxAgeMs,
    pageMaxAgeMs: config.cache.pageMaxAgeMs,
    staleMs: config.cache.staleMs,
    proofTtlMs: config.credentialsTtlMs,
    proofStore: overrides.proofStore ?? fleet.proofs,
    capacity: config.capacity,
    reconcileMaxLists: config.cache.reconcileMaxLists,
    // The instances that answered the fleet's last heartbeat share each round (one alone, or while Redis is away).
    reconcileShare: () => 1 / Math.max(1, fleet.health().liveInstances ?? 1),
    onBackgroundError: (error) => log.warn(`Read cache: ${error instanceof Error ? error.message : String(error)}`),
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
}

/** The Graph client and the scheduler that spends the fleet's per-Page budget through it. */
function createGraphApi(
  config: GatewayConfig,
  upstream: UpstreamApi,
  { fleet, log, metrics }: { fleet: FleetState; log: Logger; metrics: GatewayMetrics },
  overrides: GatewayOverrides,
): { client: GraphApiClient; scheduler: GraphScheduler } {
  const client = new GraphApiClient({
    baseUrl: upstream.graphApiUrl,
    version: config.graphApiVersion,
    appSecret: upstream.appSecret ?? config.appSecret,
    transport: overrides.dispatcher === undefined ? { pool: config.upstream } : { dispatcher: overrides.dispatcher },
    observer: metrics.upstream,
    onVersionDrift: (requested, served) =>
      log.warn(
        `Graph API version drift: calls made as ${requested} are answered by ${served} (an expired version is served by the oldest ` +
          `live one, with its behaviour). Check Meta's changelog and set GRAPH_API_VERSION.`,
      ),
  });
  const scheduler = new GraphScheduler({
    transport: client,
    budget: fleet.budget,
    maxAttempts: config.maxAttempts,
    throttleBlockMs: config.throttleBlockMs,
    tracePageIds: config.tracePageIds,
    observer: metrics.upstream,
    log,
    onAnswer: createEmptyInboxHint(log),
    ...overrides.scheduler,
  });
  return { client, scheduler };
}

/** What serves callers: the GraphQL app, Meta's webhook callback (when deliveries can be verified) and the HTTP server. */
function serveGateway(
  config: GatewayConfig,
  upstream: UpstreamApi,
  parts: {
    fleet: FleetState;
    scheduler: GraphScheduler;
    credentials: Credentials;
    readCache: ReadCache;
    writer: GraphWriter;
    readiness: Readiness;
    log: Logger;
    metrics: GatewayMetrics;
  },
  overrides: GatewayOverrides,
): Pick<Gateway, 'app' | 'server' | 'webhooks' | 'metricsServer'> & { subscriptionCaps: SubscriptionCaps } {
  const { fleet, readCache } = parts;
  // Meta's webhooks, relayed to `inboxEvents` subscriptions: only when deliveries can be verified.
  const events = upstream.webhooks === undefined ? undefined : (overrides.inboxEvents ?? fleet.events);
  const ledger = fleet.sendLedger;
  const relay = events === undefined ? undefined : createRelay(events, fleet, readCache, ledger);
  const replies = createReplies(config, parts, ledger, relay, overrides);
  // One count of subscriptions for both transports: server-sent events (the app) and WebSockets.
  const subscriptionCaps =
    overrides.subscriptionCaps ??
    createSubscriptionCaps({ maxSubscriptions: config.maxSubscriptions, maxSubscriptionsPerClient: config.maxSubscriptionsPerClient });
  const app = createApp({
    subscriptionCaps,
    readCache,
    health: () => fleet.health(),
    readiness: () => parts.readiness.view(),
    responseCacheEntries: config.cache.responseEntries,
    responseCacheMaxBytes: config.cache.responseMaxBytes,
    documentCacheMaxBytes: config.cache.documentMaxBytes,
    inboxEvents: events,
    scheduler: parts.scheduler,
    credentials: parts.credentials,
    servesConfiguredPages: config.pageTokens.size > 0 && upstream.defaultAccessToken === undefined,
    corsOrigins: config.corsOrigins,
    cursors: createCursorCodec(config.cursorSecret, config.capacity),
    defaultAccessToken: upstream.defaultAccessToken,
    operationTimeoutMs: config.operationTimeoutMs,
    graphListCap: config.graphListCap,
    maxInboxSources: config.maxInboxSources,
    production: config.nodeEnv === 'production',
    graphiql: config.graphiql,
    introspection: config.introspection,
    // One registry per instance, served here or, with METRICS_PORT, by a listener of its own.
    metrics: { registry: parts.metrics.registry, servedHere: config.metricsPort === undefined },
    logger: parts.log,
    limits: config.limits,
    persistedOperations: config.persistedOperations,
    replies,
  });
  const webhooks =
    upstream.webhooks === undefined || events === undefined
      ? undefined
      : createWebhookReceiver({
          ...upstream.webhooks,
          bus: events,
          relay,
          log: parts.log,
          onResult: (result) => parts.metrics.webhook(result),
        });
  const server = createGatewayServer(app, {
    webhooks,
    maxBodyBytes: config.maxRequestBodyBytes,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    // Browser pages may open a socket from the origins CORS lets call the gateway (createApp applies the same rule).
    webSocket: {
      allowedOrigins: allowedOriginsOf(config.corsOrigins, config.nodeEnv === 'production'),
      persistedOperations: config.persistedOperations,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
      subscriptionCaps,
    },
  });
  const metricsServer = config.metricsPort === undefined ? undefined : createMetricsServer(parts.metrics.registry);
  return { app, server, webhooks, metricsServer, subscriptionCaps };
}

/** What relays inbox events, Meta's and the gateway's own echoes alike: each new one once, the cache told first. */
function createRelay(events: InboxEventStream, fleet: FleetState, readCache: ReadCache, ledger: SendLedger): InboxEventRelay {
  return createInboxEventRelay({
    bus: events,
    redeliveries: fleet.redeliveries,
    // Events drop the cached reads they make stale, before the delivery is answered.
    onEvents: (delivered) => readCache.invalidate(delivered),
    onEcho: (echo) => noteOwnEcho(ledger, echo.metadata, echo.messageId),
  });
}

/** The reply service: the Send API's budget and the ledger of sends, and the relay its own echoes take. */
function createReplies(
  config: GatewayConfig,
  parts: { fleet: FleetState; readCache: ReadCache; writer: GraphWriter; metrics: GatewayMetrics },
  ledger: SendLedger,
  relay: InboxEventRelay | undefined,
  overrides: GatewayOverrides,
): ReplyService {
  return new ReplyService({
    writer: parts.writer,
    sendBudget: parts.fleet.sendBudget,
    ledger,
    // Without webhooks nobody hears events: the cache still drops what the send made stale.
    relayEcho: (event) => (relay === undefined ? parts.readCache.invalidate([event]) : relay([event])),
    humanAgentApproved: config.sends.humanAgentApproved,
    echoWaitMs: config.sends.echoWaitMs,
    throttleBlockMs: config.throttleBlockMs,
    now: overrides.now,
    onSendResult: (outcome) => parts.metrics.send(outcome),
  });
}

/** An echo carrying this gateway's metadata resolves its send in the ledger. */
async function noteOwnEcho(ledger: SendLedger, metadata: string, messageId: string | undefined): Promise<void> {
  if (!metadata.startsWith(ECHO_KEY_PREFIX) || messageId === undefined) return;
  await ledger.noteEcho(metadata.slice(ECHO_KEY_PREFIX.length), messageId);
}
