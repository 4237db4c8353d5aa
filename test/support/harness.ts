/**
 * Test harness: a real emulator on a loopback port, the gateway app wired to it over real HTTP,
 * and `run()` to send typed operations to the gateway. Every response is checked for leaked
 * secrets before a test sees it.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { AddressInfo } from 'node:net';
import type { AppOptions, createApp } from '../../src/app.js';
import type { CapacityBounds } from '../../src/capacity.js';
import { cacheTagTtlMs, DEFAULT_CONFIG, type GatewayConfig, type UpstreamPoolConfig } from '../../src/config.js';
import type { Credentials } from '../../src/credentials.js';
import { DEMO, startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';

import type { Readiness } from '../../src/readiness.js';
import { buildGateway, type Gateway } from '../../src/gateway.js';
import type { ReadCache } from '../../src/graph-api/read-cache.js';
import { MemoryReadCacheStore, type ReadCacheStore } from '../../src/graph-api/read-cache-store.js';
import type { GraphScheduler, GraphSchedulerOptions } from '../../src/graph-api/scheduler.js';
import { appSecretProof } from '../../src/graph-api/tokens.js';
import { createGatewayServer, type GatewayServer, type GatewayServerOptions } from '../../src/http-server.js';
import { createLogger } from '../../src/logger.js';
import type { InboxEventStream } from '../../src/webhooks/inbox-events.js';
import { createWebhookReceiver, WEBHOOK_PATH, type WebhookReceiver } from '../../src/webhooks/receiver.js';

export const TEST_VERSION = 'v25.0';
/** What the tests' webhook callbacks answer Meta's handshake with. */
export const TEST_VERIFY_TOKEN = 'test-verify-token';
export const ACME = DEMO.pages.acme.id;
export const BISTRO = DEMO.pages.bistro.id;
export const QUIET = DEMO.pages.quiet.id;

/** Every secret the emulator knows, and every proof made from one: none may appear in a response or a log. */
export const SECRETS: readonly string[] = [
  ...Object.values(DEMO.tokens),
  DEMO.appSecret,
  ...Object.values(DEMO.tokens).map((token) => appSecretProof(DEMO.appSecret, token)),
];

export interface GraphQLResponse<R> {
  data?: R | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, unknown> & { code?: string } }>;
  extensions?: Record<string, unknown>;
}

export interface Harness {
  /** The whole instance (its HTTP server, not listening; its metrics). */
  gateway: Gateway;
  /** The gateway's fetch handler, to mount on a real HTTP server when a test needs one. */
  app: ReturnType<typeof createApp>;
  emulator: Emulator;
  credentials: Credentials;
  scheduler: GraphScheduler;
  readCache: ReadCache;
  /** What `inboxEvents` subscriptions listen on (the fleet's stream with `inboxEvents: 'fleet'`), when webhooks are on. */
  events: InboxEventStream | undefined;
  /** The gateway's own webhook callback (its relay: the read cache, the bus, the ledger of sends), when `inboxEvents` is given. */
  webhooks: WebhookReceiver | undefined;
  /** Where the read cache keeps its entries. */
  cacheStore: MemoryReadCacheStore;
  /** What `/health/ready` says: starting until a test calls `started()`, as main.ts does once it listens. */
  readiness: Readiness;
  run<R, V>(document: TypedDocumentNode<R, V>, variables: V, options?: RunOptions): Promise<GraphQLResponse<R>>;
  /** Sends a raw body to `/graphql`; returns status, headers and parsed body. */
  post(
    body: unknown,
    headers?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ status: number; headers: Headers; body: GraphQLResponse<unknown> }>;
  close(): Promise<void>;
}

export interface RunOptions {
  /** Bearer token to send; `null` sends none (the default token applies). */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface HarnessOptions {
  emulator?: EmulatorOptions;
  /**
   * An emulator another harness started, for a second gateway of a fleet on the same Graph: `emulator` options are
   * then ignored, its request log is cleared once this gateway is up (as for a new one), and `close()` leaves it
   * running (its own harness closes it). @default a new emulator of its own
   */
  sharedEmulator?: Emulator;
  /** The Graph API version the gateway calls. @default TEST_VERSION */
  graphApiVersion?: string;
  /** Upstream timeouts of the gateway's Graph client (the rest of its pool as configured by default). */
  upstreamTimeouts?: Partial<Pick<UpstreamPoolConfig, 'connectTimeoutMs' | 'headersTimeoutMs' | 'bodyTimeoutMs'>>;
  /** Token used when a request sends none. @default DEMO.tokens.acmePage */
  defaultAccessToken?: string | undefined;
  appSecret?: string;
  /** Scheduler options; by default no per-Page rate limit, so call counts stay easy to read. */
  scheduler?: Partial<Omit<GraphSchedulerOptions, 'transport' | 'budget'>> & { pageCallsPerSecond?: number };
  limits?: AppOptions['limits'];
  operationTimeoutMs?: number;
  /** Most items Graph returns in a page, as the gateway assumes it. */
  graphListCap?: number;
  /** Most sources one `Viewer.inbox` merges (MAX_INBOX_SOURCES). */
  maxInboxSources?: number;
  /** Server-side Page tokens, for requests that carry none. */
  pageTokens?: Map<string, string>;
  /**
   * The bus webhook deliveries publish on, for `inboxEvents` subscriptions; `'fleet'`: the fleet state's own (shared
   * through Redis with `redis`), as a deployed gateway has it. @default none: webhooks and `inboxEvents` off
   */
  inboxEvents?: AppOptions['inboxEvents'] | 'fleet';
  persistedOperations?: AppOptions['persistedOperations'];
  /** The subscription caps server-sent events count in; pass the same to `serveOnLoopback`'s WebSocket options. */
  subscriptionCaps?: AppOptions['subscriptionCaps'];
  /** Where the gateway's log lines go. @default JSON lines on stdout, which the test setup scans */
  logger?: AppOptions['logger'];
  /** Replies: the Send API budget, the Human Agent feature, the echo wait (the defaults otherwise). */
  sends?: Partial<GatewayConfig['sends']>;
  /** A Redis the gateway's fleet state lives in (budgets, cache, events, the ledger of sends). @default none: memory */
  redis?: GatewayConfig['redis'];
  /**
   * The read cache: off unless a test turns it on; `now` is its clock (and the replies'); `store` replaces the in-memory store
   * (`'fleet'`: the fleet state's own, in Redis with `redis`); `reconcileMaxLists` is CACHE_RECONCILE_MAX_LISTS.
   */
  cache?: {
    maxAgeMs?: number;
    staleMs?: number;
    pageMaxAgeMs?: number;
    now?: () => number;
    store?: ReadCacheStore | 'fleet';
    maxEntries?: number;
    reconcileMaxLists?: number;
    /** RESPONSE_CACHE_MAX_MEGABYTES, in bytes. */
    responseMaxBytes?: number;
  };
  /** What the instance remembers at most (CAPACITY_PAGES, CAPACITY_TOKENS and CACHE_MAX_ENTRIES derive it). @default DEFAULT_CONFIG's */
  capacity?: Partial<CapacityBounds>;
  /** GRAPHIQL and INTROSPECTION. @default both on (the tests of other features use them) */
  switches?: Partial<Pick<GatewayConfig, 'graphiql' | 'introspection'>>;
}

/** Fails loudly if a response body holds a token, a proof or a Graph URL. */
export function assertNoSecrets(text: string): void {
  for (const secret of SECRETS) {
    if (text.includes(secret)) throw new Error(`A secret leaked into a response: ${text.slice(0, 300)}`);
  }
  if (/(access_token|appsecret_proof)=|127\.0\.0\.1:\d+\/v\d/.test(text))
    throw new Error(`A Graph URL or token parameter leaked: ${text.slice(0, 300)}`);
}

/**
 * The gateway as configured by default, but for what a test sets: no per-Page rate unless asked, no cache unless
 * asked, no background reconciling, a fixed cursor key, production's error masking.
 */
function harnessConfig(options: HarnessOptions): GatewayConfig {
  const { pageCallsPerSecond = 0, maxAttempts, throttleBlockMs } = options.scheduler ?? {};
  const { maxAgeMs = 0, staleMs = 0 } = options.cache ?? {};
  return {
    ...DEFAULT_CONFIG,
    graphApiVersion: options.graphApiVersion ?? TEST_VERSION,
    appSecret: options.appSecret,
    cursorSecret: 'test-cursor-secret-0123456789abcdef',
    nodeEnv: 'production',
    upstream: { ...DEFAULT_CONFIG.upstream, ...options.upstreamTimeouts },
    pageCallsPerSecond,
    maxAttempts: maxAttempts ?? DEFAULT_CONFIG.maxAttempts,
    throttleBlockMs: throttleBlockMs ?? DEFAULT_CONFIG.throttleBlockMs,
    operationTimeoutMs: options.operationTimeoutMs ?? DEFAULT_CONFIG.operationTimeoutMs,
    graphListCap: options.graphListCap ?? DEFAULT_CONFIG.graphListCap,
    maxInboxSources: options.maxInboxSources ?? DEFAULT_CONFIG.maxInboxSources,
    limits: { ...DEFAULT_CONFIG.limits, ...options.limits },
    pageTokens: options.pageTokens ?? new Map(),
    persistedOperations: options.persistedOperations,
    cache: {
      ...DEFAULT_CONFIG.cache,
      maxAgeMs,
      staleMs,
      reconcileMs: 0,
      pageMaxAgeMs: options.cache?.pageMaxAgeMs ?? maxAgeMs,
      maxEntries: options.cache?.maxEntries ?? DEFAULT_CONFIG.cache.maxEntries,
      reconcileMaxLists: options.cache?.reconcileMaxLists ?? DEFAULT_CONFIG.cache.reconcileMaxLists,
      responseMaxBytes: options.cache?.responseMaxBytes ?? DEFAULT_CONFIG.cache.responseMaxBytes,
    },
    capacity: { ...DEFAULT_CONFIG.capacity, ...options.capacity },
    graphiql: options.switches?.graphiql ?? true,
    introspection: options.switches?.introspection ?? true,
    sends: { ...DEFAULT_CONFIG.sends, ...options.sends },
    redis: options.redis ?? DEFAULT_CONFIG.redis,
  };
}

/** Posts a body to the gateway's `/graphql` through its fetch handler, failing on any leaked secret. */
function poster(app: Harness['app']): Harness['post'] {
  return async (body, headers = {}, signal) => {
    const response = await app.fetch('http://gateway.test/graphql', {
      ...(signal ? { signal } : {}),
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    assertNoSecrets(text);
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as GraphQLResponse<unknown> };
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const emulator = options.sharedEmulator ?? (await startEmulator({ defaultVersion: TEST_VERSION, ...options.emulator }));
  const { pageCallsPerSecond: _rate, maxAttempts: _attempts, throttleBlockMs: _block, ...schedulerOverrides } = options.scheduler ?? {};
  const config = harnessConfig(options);
  const now = options.cache?.now;
  const clock = now === undefined ? {} : { now };
  const cacheStore = new MemoryReadCacheStore({
    maxEntries: config.cache.maxEntries,
    maxBytes: config.cache.maxBytes,
    tagTtlMs: cacheTagTtlMs(config, config.cache.maxAgeMs ?? 0),
    maxTags: config.capacity.cacheTags,
    maxCustomers: config.capacity.customers,
    ...clock,
  });
  const defaultAccessToken = 'defaultAccessToken' in options ? options.defaultAccessToken : DEMO.tokens.acmePage;
  const webhooks = options.inboxEvents === undefined ? undefined : { appSecret: DEMO.appSecret, verifyToken: TEST_VERIFY_TOKEN };
  const gateway = await buildGateway(
    config,
    { graphApiUrl: emulator.url, defaultAccessToken, webhooks },
    options.logger ?? createLogger({ format: 'json' }),
    {
      ...clock,
      cacheStore: options.cache?.store === 'fleet' ? undefined : (options.cache?.store ?? cacheStore),
      inboxEvents: options.inboxEvents === 'fleet' ? undefined : options.inboxEvents,
      scheduler: { retryBaseDelayMs: 5, ...schedulerOverrides },
      subscriptionCaps: options.subscriptionCaps,
    },
  );
  const { app, credentials, scheduler, readCache, webhooks: receiver } = gateway;
  const post = poster(app);
  // Learn who the default token is now, as a long-running gateway already would have.
  if (defaultAccessToken !== undefined) await credentials.identify(defaultAccessToken).catch(() => undefined);
  emulator.log.clear();
  return {
    gateway,
    app,
    emulator,
    credentials,
    scheduler,
    readCache,
    events: options.inboxEvents === 'fleet' ? gateway.fleet.events : options.inboxEvents,
    webhooks: receiver,
    cacheStore,
    readiness: gateway.readiness,
    post,
    async run(document, variables, runOptions = {}) {
      const headers: Record<string, string> = { ...runOptions.headers };
      if (runOptions.token != null) headers.authorization = `Bearer ${runOptions.token}`;
      const { body } = await post({ query: print(document), variables }, headers);
      return body as GraphQLResponse<never>;
    },
    async close() {
      await gateway.close();
      if (options.sharedEmulator === undefined) await emulator.close();
    },
  };
}

/** Follows Graph's own `next` URLs verbatim, as Meta's SDKs do: the ground truth for a list. */
export async function graphListIds(
  emulator: Emulator,
  path: string,
  params: Record<string, string>,
  token: string = DEMO.tokens.acmePage,
): Promise<string[]> {
  const ids: string[] = [];
  let url: string | undefined = `${emulator.url}/${TEST_VERSION}/${path}?${new URLSearchParams({ ...params, access_token: token })}`;
  while (url !== undefined) {
    const response = await fetch(url);
    const page = (await response.json()) as { data: { id: string }[]; paging?: { next?: string } };
    if (!response.ok) throw new Error(`Graph error ${JSON.stringify(page)}`);
    ids.push(...page.data.map((item) => item.id));
    url = page.paging?.next;
  }
  return ids;
}

/** Serves `app` as `npm start` does (the gateway's node:http server) on a loopback port. */
export async function serveOnLoopback(
  app: Harness['app'],
  options?: GatewayServerOptions,
): Promise<{ server: GatewayServer; origin: string }> {
  const server = createGatewayServer(app, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Serves the harness's gateway on loopback with Meta's webhook callback on (deliveries relayed to `bus`,
 * the read cache told first, as main.ts wires it), and subscribes the emulator to it with TEST_VERIFY_TOKEN.
 * `options` tune the rest of the server (its WebSocket endpoint).
 */
export async function serveWithWebhooks(
  h: Harness,
  bus: InboxEventStream,
  options: Omit<GatewayServerOptions, 'webhooks'> = {},
): Promise<{ server: GatewayServer; origin: string }> {
  const served = await serveOnLoopback(h.app, {
    ...options,
    // The gateway's own callback when it has one (its relay also resolves the gateway's sends from their echoes).
    webhooks:
      h.webhooks ??
      createWebhookReceiver({
        appSecret: DEMO.appSecret,
        verifyToken: TEST_VERIFY_TOKEN,
        bus,
        onEvents: (events) => h.readCache.invalidate(events),
      }),
  });
  await h.emulator.webhooks.subscribe(`${served.origin}${WEBHOOK_PATH}`, TEST_VERIFY_TOKEN);
  return served;
}
