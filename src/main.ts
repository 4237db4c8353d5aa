/**
 * The process: read the configuration, start the embedded emulator when no Graph API URL is set,
 * serve the gateway (and Meta's webhook callback when it can verify deliveries), shut down cleanly
 * on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { allowedOriginsOf } from './allowed-origins.js';
import { createApp } from './app.js';
import { CACHE_MAX_AGE_WITH_WEBHOOKS_MS, ConfigError, readConfig, type GatewayConfig } from './config.js';
import { Credentials } from './credentials.js';
import { GraphApiClient } from './graph-api/client.js';
import { ReadCache } from './graph-api/read-cache.js';
import type { ReadCacheStore } from './graph-api/read-cache-store.js';
import { GraphScheduler } from './graph-api/scheduler.js';
import { scrubSecrets } from './graph-api/scrub.js';
import { registerConfiguredSecrets } from './graph-api/secrets.js';
import { createGatewayServer, type GatewayServer } from './http-server.js';
import { createLogger, type Logger } from './logger.js';
import { createCursorCodec } from './cursors.js';
import { createSubscriptionCaps } from './subscription-caps.js';
import { createFleetState, type FleetState } from './redis/index.js';
import { createWebhookReceiver, WEBHOOK_PATH } from './webhooks/receiver.js';

/** What verifies Meta's webhook deliveries. */
interface WebhookSecrets {
  appSecret: string;
  verifyToken: string;
}

/** The Graph API the gateway calls: the embedded emulator, or the one `GRAPH_API_URL` names. */
interface Upstream {
  graphApiUrl: string;
  /** Token for requests that send none. */
  defaultAccessToken: string | undefined;
  /** `undefined`: the webhook callback and `inboxEvents` are off. */
  webhooks: WebhookSecrets | undefined;
  /** Runs once the gateway listens on `port` (the embedded emulator subscribes its webhook callback). */
  onListening(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** The running gateway. */
interface Gateway {
  server: GatewayServer;
  /** Closes the upstream connection pool and leaves the fleet (once the server has drained). */
  close(): Promise<void>;
}

/** Exit status after a signal, as shells report it: 128 + the signal's number. */
const SIGNAL_EXIT_STATUS = { SIGINT: 130, SIGTERM: 143 } as const;

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger({ level: config.logLevel, format: config.nodeEnv === 'production' ? 'json' : 'pretty' });
  const upstream = await startUpstream(config, log);
  registerSecrets(config, upstream);
  const gateway = await startGateway(config, upstream, log);
  const port = await serve(gateway.server, config.port);
  await upstream.onListening(port);
  log.info(
    upstream.webhooks === undefined
      ? 'Webhooks: off (set GRAPH_APP_SECRET and WEBHOOK_VERIFY_TOKEN to relay them to the inboxEvents subscription)'
      : `Webhooks: Meta's deliveries at ${WEBHOOK_PATH}, relayed to the inboxEvents subscription` +
          (config.graphApiUrl === undefined ? ' (the emulator is subscribed; POST /_emulator/messages on it sends one)' : ''),
  );
  log.info(
    `GraphQL gateway on http://localhost:${port}/graphql (${config.nodeEnv} mode; GraphiQL in the browser; subscriptions as ` +
      `server-sent events there, or graphql-ws on ws://localhost:${port}/graphql)`,
  );
  shutDownOnSignals(config, gateway, upstream, log);
}

/** The Graph API to call: with no `GRAPH_API_URL`, the embedded emulator, started here. */
async function startUpstream(config: GatewayConfig, log: Logger): Promise<Upstream> {
  if (config.graphApiUrl !== undefined) {
    log.info(`Graph API: ${config.graphApiUrl}`);
    const { appSecret, webhookVerifyToken: verifyToken } = config;
    return {
      graphApiUrl: config.graphApiUrl,
      defaultAccessToken: config.defaultAccessToken,
      webhooks: appSecret === undefined || verifyToken === undefined ? undefined : { appSecret, verifyToken },
      onListening: async () => {},
      stop: async () => {},
    };
  }
  // Imported lazily: a gateway pointed at the real Graph API never loads the emulator.
  const { startEmulator, DEMO } = await import('./emulator/index.js');
  const options = {
    defaultVersion: config.graphApiVersion,
    // As strict as Meta: 2 conversation calls per Page per second, throttled beyond.
    conversationRateLimit: { callsPerSecond: 2 },
    // As on Graph today: versions that expired are served by the oldest live one.
    oldestLiveVersion: 'v21.0',
    ...(config.appSecret === undefined ? {} : { appSecret: config.appSecret }),
  };
  const emulator = await startEmulator({ ...options, port: config.emulatorPort }).catch(async (error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    const elsewhere = await startEmulator({ ...options, port: 0 });
    log.warn(`EMULATOR_PORT ${config.emulatorPort} is in use: the embedded emulator listens on ${elsewhere.url} instead`);
    return elsewhere;
  });
  const { acme, bistro } = DEMO.pages;
  log.info(
    `Graph API: embedded emulator at ${emulator.url} (set GRAPH_API_URL to use another); demo Pages ${acme.name} ${acme.id} and ` +
      `${bistro.name} ${bistro.id}`,
  );
  // The emulator plays Meta's webhooks too: signed with the demo app's secret unless one is set.
  const verifyToken = config.webhookVerifyToken ?? randomBytes(12).toString('hex');
  return {
    graphApiUrl: emulator.url,
    // The demo user: `/me/accounts` gives the gateway the tokens of both demo Pages with an inbox.
    defaultAccessToken: config.defaultAccessToken ?? DEMO.tokens.alice,
    webhooks: { appSecret: config.appSecret ?? DEMO.appSecret, verifyToken },
    onListening: (port) => emulator.webhooks.subscribe(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, verifyToken),
    stop: () => emulator.close(),
  };
}

/**
 * Every secret the process holds, scrubbed by value from every error message and log line from now on
 * (tokens of unusual shapes included, which no pattern recognises): the default and Page tokens with
 * their `appsecret_proof`s, the app secret, the webhook verify token, the cursor key, the Redis password.
 */
function registerSecrets(config: GatewayConfig, upstream: Upstream): void {
  registerConfiguredSecrets({
    tokens: [upstream.defaultAccessToken, ...config.pageTokens.values()],
    appSecret: config.appSecret,
    others: [upstream.webhooks?.appSecret, upstream.webhooks?.verifyToken, config.cursorSecret, ...redisPasswordOf(config.redis.url)],
  });
}

/** The password of a Redis URL, as written and decoded (`redis://user:p%40ss@host`); none without one. */
function redisPasswordOf(url: string | undefined): string[] {
  const password = url === undefined ? '' : new URL(url).password;
  if (password === '') return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    return [password];
  }
}

/**
 * What the instance shares with the others behind its load balancer (the call budget, the read cache's
 * store, the event stream, the redelivery filter): in Redis with REDIS_URL, in this process's memory without.
 */
function joinFleet(config: GatewayConfig, maxAgeMs: number, log: Logger): Promise<FleetState> {
  if (config.redis.url !== undefined)
    log.info(
      `Fleet: sharing the call budget, the read cache and inbox events through Redis (REDIS_URL), keys under "${config.redis.keyPrefix}"`,
    );
  return createFleetState({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    callsPerSecond: config.pageCallsPerSecond,
    logger: { info: (message) => log.info(message), warn: (message) => log.warn(message) },
    cache: {
      maxEntries: config.cache.maxEntries,
      maxBytes: config.cache.maxBytes,
      // Generations outlive every entry they judge.
      tagTtlMs: Math.max(maxAgeMs, config.cache.staleMs) + 60_000,
    },
  });
}

/** The read cache: kept fresh by webhooks when they are on, reconciled with the Pages' idle budget. */
function createReadCache(
  config: GatewayConfig,
  scheduler: GraphScheduler,
  store: ReadCacheStore,
  maxAgeMs: number,
  log: Logger,
): ReadCache {
  const readCache = new ReadCache({
    store,
    scheduler,
    version: config.graphApiVersion,
    maxAgeMs,
    staleMs: config.cache.staleMs,
    proofTtlMs: config.credentialsTtlMs,
    onBackgroundError: (error) => log.warn(`Read cache: ${error instanceof Error ? error.message : String(error)}`),
  });
  if (maxAgeMs > 0 && config.cache.reconcileMs > 0) {
    setInterval(() => void readCache.reconcile(config.cache.reconcileMs), config.cache.reconcileMs).unref();
  }
  const stale = `stale answers up to ${config.cache.staleMs / 1000} s old while Graph cannot be called`;
  log.info(
    maxAgeMs > 0
      ? `Read cache: reads served for ${maxAgeMs / 1000} s unless a webhook event drops them sooner; ${stale}`
      : `Read cache: no fresh answers (set CACHE_MAX_AGE_SECONDS, or turn webhooks on); ${stale}`,
  );
  return readCache;
}

/** Builds the gateway over `upstream`: Graph client, scheduler, credentials, caches, the GraphQL app and its HTTP server. */
async function startGateway(config: GatewayConfig, upstream: Upstream, log: Logger): Promise<Gateway> {
  const maxAgeMs = config.cache.maxAgeMs ?? (upstream.webhooks === undefined ? 0 : CACHE_MAX_AGE_WITH_WEBHOOKS_MS);
  const fleet = await joinFleet(config, maxAgeMs, log);
  const defaultToken =
    upstream.defaultAccessToken === undefined
      ? 'none (callers send their own)'
      : config.defaultAccessToken === undefined
        ? "the demo user's"
        : 'configured';
  log.info(`Graph API version: ${config.graphApiVersion}; default access token: ${defaultToken}`);
  const rate = config.pageCallsPerSecond === 0 ? 'no per-Page limit' : `${config.pageCallsPerSecond} calls per Page per second`;
  log.info(`Upstream budget: ${rate}; ${config.maxAttempts} attempts per read; operation timeout ${config.operationTimeoutMs} ms`);
  if (config.cursorSecret === undefined) {
    log.warn(
      'CURSOR_SECRET is not set: cursors are signed with a random per-process key, so they stop working after a restart and are not ' +
        'shared by several instances.',
    );
  }
  const client = new GraphApiClient({
    baseUrl: upstream.graphApiUrl,
    version: config.graphApiVersion,
    appSecret: config.appSecret,
    transport: { pool: config.upstream },
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
  });
  const credentials = new Credentials({ scheduler, ttlMs: config.credentialsTtlMs, pageTokens: config.pageTokens });
  if (config.pageTokens.size > 0)
    log.info(`Serving ${config.pageTokens.size} Page(s) from GRAPH_PAGE_TOKENS_FILE to requests without a token`);
  if (config.persistedOperations !== undefined) {
    log.info(
      `Persisted operations: ${config.persistedOperations.documents.size} from ` +
        `PERSISTED_OPERATIONS_FILE${config.persistedOperations.only ? ', and no other operation runs' : ''}`,
    );
  }
  // Meta's webhooks, relayed to `inboxEvents` subscriptions: only when deliveries can be verified.
  const relay = upstream.webhooks === undefined ? undefined : { secrets: upstream.webhooks, bus: fleet.events };
  const readCache = createReadCache(config, scheduler, fleet.cacheStore, maxAgeMs, log);
  // One count of subscriptions for both transports: server-sent events (the app) and WebSockets.
  const subscriptionCaps = createSubscriptionCaps({
    maxSubscriptions: config.maxSubscriptions,
    maxSubscriptionsPerClient: config.maxSubscriptionsPerClient,
  });
  const app = createApp({
    subscriptionCaps,
    readCache,
    health: () => fleet.health(),
    responseCacheEntries: config.cache.responseEntries,
    inboxEvents: relay?.bus,
    scheduler,
    credentials,
    servesConfiguredPages: config.pageTokens.size > 0 && upstream.defaultAccessToken === undefined,
    corsOrigins: config.corsOrigins,
    cursors: createCursorCodec(config.cursorSecret),
    defaultAccessToken: upstream.defaultAccessToken,
    operationTimeoutMs: config.operationTimeoutMs,
    graphListCap: config.graphListCap,
    production: config.nodeEnv === 'production',
    logger: log,
    limits: config.limits,
    persistedOperations: config.persistedOperations,
  });
  const webhooks =
    relay === undefined
      ? undefined
      : createWebhookReceiver({
          ...relay.secrets,
          bus: relay.bus,
          redeliveries: fleet.redeliveries,
          // Events drop the cached reads they make stale, before the delivery is answered.
          onEvents: (events) => readCache.invalidate(events),
        });
  const server = createGatewayServer(app, {
    webhooks,
    maxBodyBytes: config.maxRequestBodyBytes,
    // Browser pages may open a socket from the origins CORS lets call the gateway (createApp applies the same rule).
    webSocket: {
      allowedOrigins: allowedOriginsOf(config.corsOrigins, config.nodeEnv === 'production'),
      persistedOperations: config.persistedOperations,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
      subscriptionCaps,
    },
  });
  return { server, close: () => Promise.all([client.close(), fleet.close()]).then(() => undefined) };
}

/** A port another process holds: said in one line, not a stack trace. */
class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

/** Listens on `port`; resolves with the port it got (`0`: any free one). */
function serve(server: GatewayServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(`PORT ${port} is in use: stop what listens there or set PORT to another port (0: any free port)`)
          : error,
      ),
    );
    server.listen(port, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * Behind a load balancer, a deploy sends SIGTERM: take nothing new, end event streams and close
 * WebSockets (they never finish by themselves; their clients reconnect elsewhere), finish what is in
 * flight (an operation lasts at most OPERATION_TIMEOUT_MS), then close the upstream. A second signal
 * exits at once.
 */
function shutDownOnSignals(config: GatewayConfig, gateway: Gateway, upstream: Upstream, log: Logger): void {
  let stopping = false;
  const shutDown = (signal: keyof typeof SIGNAL_EXIT_STATUS): void => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(SIGNAL_EXIT_STATUS[signal]);
    }
    stopping = true;
    const graceMs = config.operationTimeoutMs + 1_000;
    const { requests, eventStreams, webSockets } = gateway.server.inFlight();
    const streams =
      (eventStreams === 0 ? '' : `; ending ${plural(eventStreams, 'event stream')}`) +
      (webSockets === 0 ? '' : `; closing ${plural(webSockets, 'WebSocket')}`);
    const waiting =
      requests === 0
        ? '; no request in flight'
        : `; waiting for ${plural(requests, 'request')} in flight, at most ${Math.ceil(graceMs / 1000)} s`;
    log.info(`${signal}: shutting down${streams}${waiting} (${signal} again exits at once)`);
    gateway.server
      .drain(graceMs)
      .then(() => Promise.all([gateway.close(), upstream.stop()]))
      .then(
        () => {
          log.info('Stopped');
          process.exit(0);
        },
        (error: unknown) => {
          log.error({ err: error }, 'Shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => shutDown('SIGINT'));
  process.on('SIGTERM', () => shutDown('SIGTERM'));
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

main().catch((error: unknown) => {
  // Configuration and port problems are the operator's to fix: their message says how, a stack would not.
  const said = error instanceof ConfigError || error instanceof PortInUseError ? error.message : error;
  // Scrubbed like every log line: a start-up failure may quote a configured secret.
  console.error(scrubSecrets(typeof said === 'string' ? said : inspect(said)));
  process.exit(1);
});
