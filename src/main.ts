/**
 * The process: read the configuration, start the embedded emulator when no Graph API URL is set,
 * serve the gateway (and Meta's webhook callback when it can verify deliveries), shut down cleanly
 * on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { createApp } from './app.js';
import { createGatewayServer } from './http-server.js';
import { CACHE_MAX_AGE_WITH_WEBHOOKS_MS, ConfigError, type GatewayConfig, readConfig } from './config.js';
import { ReadCache } from './graph-api/read-cache.js';
import { MemoryReadCacheStore } from './graph-api/read-cache-store.js';
import { GraphApiClient } from './graph-api/client.js';
import { MemoryCallBudget } from './graph-api/call-budget.js';
import { GraphScheduler } from './graph-api/scheduler.js';
import { Credentials } from './credentials.js';
import { createCursorCodec } from './schema/cursors.js';
import { InboxEventBus } from './webhooks/inbox-events.js';
import { createWebhookReceiver, WEBHOOK_PATH } from './webhooks/receiver.js';

/** The read cache: kept fresh by webhooks when they are on, reconciled with the Pages' idle budget. */
function createReadCache(config: GatewayConfig, scheduler: GraphScheduler, webhooksOn: boolean): ReadCache {
  const maxAgeMs = config.cache.maxAgeMs ?? (webhooksOn ? CACHE_MAX_AGE_WITH_WEBHOOKS_MS : 0);
  const store = new MemoryReadCacheStore({
    maxEntries: config.cache.maxEntries,
    maxBytes: config.cache.maxBytes,
    tagTtlMs: Math.max(maxAgeMs, config.cache.staleMs) + 60_000,
  });
  const readCache = new ReadCache({
    store,
    scheduler,
    version: config.graphApiVersion,
    maxAgeMs,
    staleMs: config.cache.staleMs,
    proofTtlMs: config.credentialsTtlMs,
    onBackgroundError: (error) => console.warn(`Read cache: ${error instanceof Error ? error.message : String(error)}`),
  });
  if (maxAgeMs > 0 && config.cache.reconcileMs > 0) {
    setInterval(() => void readCache.reconcile(config.cache.reconcileMs), config.cache.reconcileMs).unref();
  }
  console.log(
    maxAgeMs > 0
      ? `Read cache: reads served for ${maxAgeMs / 1000} s unless a webhook event drops them sooner; stale answers up to ${config.cache.staleMs / 1000} s old while Graph cannot be called`
      : `Read cache: no fresh answers (set CACHE_MAX_AGE_SECONDS, or turn webhooks on); stale answers up to ${config.cache.staleMs / 1000} s old while Graph cannot be called`,
  );
  return readCache;
}

async function main(): Promise<void> {
  const config = readConfig();
  let graphApiUrl: string;
  let defaultAccessToken = config.defaultAccessToken;
  let stopEmulator: (() => Promise<void>) | undefined;
  let webhookSecret = config.appSecret;
  let webhookVerifyToken = config.webhookVerifyToken;
  let subscribeEmulator: ((callbackUrl: string) => Promise<void>) | undefined;

  if (config.graphApiUrl === undefined) {
    // Imported lazily: a gateway pointed at the real Graph API never loads the emulator.
    const { startEmulator, DEMO } = await import('./emulator/index.js');
    // As strict as Meta: 2 conversation calls per Page per second, throttled beyond.
    const emulator = await startEmulator({
      defaultVersion: config.graphApiVersion,
      conversationRateLimit: { callsPerSecond: 2 },
      // As on Graph today: versions that expired are served by the oldest live one.
      oldestLiveVersion: 'v21.0',
      ...(config.appSecret === undefined ? {} : { appSecret: config.appSecret }),
    });
    graphApiUrl = emulator.url;
    defaultAccessToken ??= DEMO.tokens.acmePage;
    stopEmulator = () => emulator.close();
    // The emulator plays Meta's webhooks too: signed with the demo app's secret unless one is set.
    webhookSecret ??= DEMO.appSecret;
    webhookVerifyToken ??= randomBytes(12).toString('hex');
    subscribeEmulator = (callbackUrl) => emulator.webhooks.subscribe(callbackUrl, webhookVerifyToken!);
    console.log(`Graph API: embedded emulator at ${emulator.url} (set GRAPH_API_URL to use another); demo Page ${DEMO.pages.acme.id}`);
  } else {
    graphApiUrl = config.graphApiUrl;
    console.log(`Graph API: ${graphApiUrl}`);
  }
  console.log(
    `Graph API version: ${config.graphApiVersion}; default access token: ${defaultAccessToken === undefined ? 'none (callers send their own)' : 'configured'}`,
  );
  console.log(
    `Upstream budget: ${config.pageCallsPerSecond === 0 ? 'no per-Page limit' : `${config.pageCallsPerSecond} calls per Page per second`}; ${config.maxAttempts} attempts per read; operation timeout ${config.operationTimeoutMs} ms`,
  );

  if (config.cursorSecret === undefined) {
    console.warn(
      'CURSOR_SECRET is not set: cursors are signed with a random per-process key, so they stop working after a restart and are not shared by several instances.',
    );
  }
  const client = new GraphApiClient({
    baseUrl: graphApiUrl,
    version: config.graphApiVersion,
    appSecret: config.appSecret,
    transport: { pool: config.upstream },
    onVersionDrift: (requested, served) =>
      console.warn(
        `Graph API version drift: calls made as ${requested} are answered by ${served} (an expired version is served by the oldest live one, with its behaviour). Check Meta's changelog and set GRAPH_API_VERSION.`,
      ),
  });
  const scheduler = new GraphScheduler({
    transport: client,
    budget: new MemoryCallBudget(config.pageCallsPerSecond),
    maxAttempts: config.maxAttempts,
    throttleBlockMs: config.throttleBlockMs,
  });
  const credentials = new Credentials({ scheduler, ttlMs: config.credentialsTtlMs, pageTokens: config.pageTokens });
  if (config.pageTokens.size > 0)
    console.log(`Serving ${config.pageTokens.size} Page(s) from GRAPH_PAGE_TOKENS_FILE to requests without a token`);
  // Meta's webhooks, relayed to `inboxEvents` subscriptions: only when deliveries can be verified.
  const webhooksOn = webhookSecret !== undefined && webhookVerifyToken !== undefined;
  const inboxEvents = webhooksOn ? new InboxEventBus() : undefined;
  const readCache = createReadCache(config, scheduler, webhooksOn);
  const app = createApp({
    readCache,
    responseCacheEntries: config.cache.responseEntries,
    inboxEvents,
    scheduler,
    credentials,
    servesConfiguredPages: config.pageTokens.size > 0 && defaultAccessToken === undefined,
    corsOrigins: config.corsOrigins,
    cursors: createCursorCodec(config.cursorSecret),
    defaultAccessToken,
    operationTimeoutMs: config.operationTimeoutMs,
    graphPageCap: config.graphPageCap,
    production: config.nodeEnv === 'production',
    debug: config.debug,
    limits: config.limits,
    persistedOperations: config.persistedOperations,
  });
  if (config.persistedOperations !== undefined) {
    console.log(
      `Persisted operations: ${config.persistedOperations.documents.size} from PERSISTED_OPERATIONS_FILE${config.persistedOperations.only ? ', and no other operation runs' : ''}`,
    );
  }

  const webhooks =
    inboxEvents === undefined
      ? undefined
      : createWebhookReceiver({
          appSecret: webhookSecret!,
          verifyToken: webhookVerifyToken,
          bus: inboxEvents,
          onEvents: (events) => readCache.invalidate(events),
        });
  const server = createGatewayServer(app, {
    webhooks,
    // Browser pages may open a socket from the origins CORS lets call the gateway.
    webSocket: {
      allowedOrigins: config.corsOrigins ?? (config.nodeEnv === 'production' ? [] : '*'),
      persistedOperations: config.persistedOperations,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
    },
  });
  await new Promise<void>((resolve) => server.listen(config.port, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  if (subscribeEmulator !== undefined) await subscribeEmulator(`http://127.0.0.1:${port}${WEBHOOK_PATH}`);
  console.log(
    webhooksOn
      ? `Webhooks: Meta's deliveries at ${WEBHOOK_PATH}, relayed to the inboxEvents subscription${subscribeEmulator === undefined ? '' : ' (the emulator is subscribed; POST /_emulator/messages on it sends one)'}`
      : 'Webhooks: off (set GRAPH_APP_SECRET and WEBHOOK_VERIFY_TOKEN to relay them to the inboxEvents subscription)',
  );
  console.log(
    `GraphQL gateway on http://localhost:${port}/graphql (GraphiQL in the browser; subscriptions as server-sent events there, or graphql-ws on ws://localhost:${port}/graphql)`,
  );

  const shutdown = (signal: string): void => {
    // Behind a load balancer, a deploy sends SIGTERM: finish what is in flight (an operation lasts at
    // most OPERATION_TIMEOUT_MS), take nothing new, then close the upstream pool.
    const graceMs = config.operationTimeoutMs + 1_000;
    console.log(`${signal}: shutting down; finishing requests in flight (at most ${graceMs} ms)`);
    void server
      .drain(graceMs)
      .then(() => Promise.all([client.close(), stopEmulator?.()]))
      .then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
