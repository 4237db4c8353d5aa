/**
 * The emulator's start and stop: options checked, the world and its mutators built, a loopback
 * `node:http` server whose requests go to the request handler, in front of the guarded router.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_GRAPH_API_VERSION } from '../config.js';
import { guardRouter } from './call-guard.js';
import { createCursorCodec } from './cursors.js';
import { EmulatorFaults, type FaultInjector } from './faults.js';
import {
  APP_CALLS_PER_ACTIVE_USER,
  AppUsage,
  CallRate,
  DailyAllowance,
  MESSENGER_CALLS_PER_ENGAGED_USER,
  type RateLimits,
} from './rate-limits.js';
import { createRequestHandler, type RequestHandler } from './request-handler.js';
import { EmulatorRequestLog, type RequestLog } from './request-log.js';
import { createGraphRouter } from './router.js';
import { createSeedWorld, DEMO, type SeedWorld } from './seed.js';
import { WorldStore, type EmulatorStore } from './store.js';
import { createEmulatorWebhooks, type EmulatorWebhooks } from './webhooks.js';

/** Options of {@link startEmulator}; every one has a default. */
/**
 * The emulator as strict as Meta is today, for `npm start` and `npm run emulator`: 2 conversation calls per Page
 * per second (with the Messenger allowance of 200 calls per engaged user and day) and about 300 sends per Page per second
 * (throttled beyond), and versions that expired served by the oldest live one.
 */
export const AS_META_TODAY = {
  conversationRateLimit: { callsPerSecond: 2 },
  sendRateLimit: { callsPerSecond: 300 },
  oldestLiveVersion: 'v21.0',
} as const;

export interface EmulatorOptions {
  /** Port to listen on. @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Version serving unversioned paths. @default DEFAULT_GRAPH_API_VERSION (the gateway's, src/config.ts) */
  defaultVersion?: string;
  /** Cap for `limit` on every edge; larger limits are capped silently, links carry the cap. @default 100 */
  maxLimit?: number;
  /** Hide some threads after the page window is cut, as Graph's privacy filtering does. @default true */
  privacyFiltering?: boolean;
  /**
   * When set, a present but wrong `appsecret_proof` is rejected. Webhooks are signed with it. @default the demo app's secret, for
   * webhooks only
   */
  appSecret?: string;
  /** With `appSecret`: a missing proof is rejected too. @default false */
  requireAppSecretProof?: boolean;
  /**
   * The app id webhook echoes carry as `app_id` (the app that sent the message; Meta sends it as a number).
   * @default DEMO_APP_ID (1234567890)
   */
  webhookAppId?: number;
  /** Webhook events per POST, as Meta batches them (see `webhooks.batch`). @default 1 */
  webhookBatchSize?: number;
  /**
   * The app's access level for the messaging permissions. `standard` (an app in development, or without App Review): Graph
   * lists only conversations with people who have a role on the app (admins, developers, testers), so an inbox looks
   * empty or short (Meta: Access Levels, developers.facebook.com/docs/graph-api/overview/access-levels). `advanced`:
   * everyone. @default 'advanced'
   */
  accessLevel?: 'standard' | 'advanced';
  /**
   * Serve calls naming an older version as this one, with its behaviour and its `facebook-api-version`,
   * as Graph serves expired versions (Meta: Versioning, developers.facebook.com/docs/graph-api/guides/versioning; on 2026-11-29 the oldest
   * live one is v21.0).
   * @default undefined: every version as itself, for tests of older versions' behaviour
   */
  oldestLiveVersion?: string;
  /** Serve `GET /?ids=` for versions before v26.0 (Meta removed it everywhere on 2026-10-27). @default false */
  rootIdsReads?: boolean;
  /** The log keeps at least this many newest entries; counters count everything. @default 10000 */
  maxLogEntries?: number;
  /**
   * The clock that stamps new messages, in ms: a message is stamped now, or a second after the newest
   * one when that is later (the seeded history ends at 2026-11-01 12:00 UTC). @default Date.now
   */
  now?: () => number;
  /**
   * Meta's Conversations API limit (Meta: Messenger Platform Rate Limiting,
   * developers.facebook.com/documentation/business-messaging/messenger-platform/overview/rate-limiting: 2 calls per second per Page or
   * Instagram account): calls per Page in any sliding one-second window on its conversations and threads edges (read as such or
   * expanded in `fields`), its threads and their messages, each batch item counted. A call over it is refused with the throttle
   * `code` (`is_transient`, HTTP 400), and the Page is then blocked for `blockMs`: every call on it is refused the same way, and
   * restarts the block (Meta: Rate Limiting, developers.facebook.com/docs/graph-api/overview/rate-limiting: calls while throttled
   * extend the throttle). The refusal's `X-Business-Use-Case-Usage` states the block in `estimated_time_to_regain_access`.
   * With it on, the Page's Messenger allowance (`dailyCalls`) and the app's hourly allowance are kept and reported too.
   * Off by default (with `dailyCalls` unset too, no limit is kept and no usage header sent).
   */
  conversationRateLimit?: ConversationRateLimitOptions;
  /**
   * The Messenger API's Business Use Case allowance per Page and rolling 24 hours (Meta: Rate Limiting: 200 × the Page's engaged
   * users): every call that spends the Conversations API budget counts, refused ones included; once it is spent, calls are refused
   * with (#80006) until the oldest fall out of the 24 hours, the time `estimated_time_to_regain_access` states. Answers on a Page at
   * 1% of it or more carry `X-Business-Use-Case-Usage` (`type: "messenger"`, `call_count` in percent). A small number makes the
   * 80006 path reachable without a fault. Setting it turns the limits on even without `conversationRateLimit`.
   * @default 200 × the Page's engaged users (the customers of its threads), while `conversationRateLimit` is on
   */
  dailyCalls?: number;
  /**
   * The Send API's own limit (Meta: Messenger Platform Rate Limiting: about 300 calls per second per Page
   * for text): sends per Page in any sliding one-second window, apart from the Conversations API budget.
   * A send over it is refused with (#613) "Calls to this api have exceeded the rate limit." (`is_transient`,
   * HTTP 400) and not counted; there is no block after it. @default undefined: sends are never refused for their rate
   */
  sendRateLimit?: { callsPerSecond: number };
  /**
   * Whether the app passed App Review for the Human Agent feature: without it, a `MESSAGE_TAG` send with
   * `tag=HUMAN_AGENT` answers (#200) even inside the 7-day window. @default true
   */
  humanAgentApproved?: boolean;
  /**
   * At start-up, open the demo's reply windows (`DEMO.replyWindows`) with the emulator's clock: a customer
   * message 2 hours ago on `open` and `instagram`, 3 days ago on `humanAgent`. For `npm start` and
   * `npm run emulator`, where every seed window is long closed; tests that assert literal lists leave it off.
   * @default false
   */
  demoReplyWindows?: boolean;
  /**
   * Pages, users, tokens and threads of those Pages served besides the demo world's (ids and tokens apart from its own),
   * e.g. `createAgencyWorld(250)` (seed/agency.ts), `createBrandWorld(5)` (seed/brand.ts) or `createScaleWorld(1000)`
   * (seed/scale.ts): the demo world's lists stay as they are. @default none
   */
  extraWorld?: Omit<SeedWorld, 'threads'> & Partial<Pick<SeedWorld, 'threads'>>;
}

/** See {@link EmulatorOptions.conversationRateLimit}. */
export interface ConversationRateLimitOptions {
  /** Calls per Page in any one-second window. */
  callsPerSecond: number;
  /**
   * The throttle's code. @default 613, "Calls to this api have exceeded the rate limit." ([I]: the conversations reference lists
   * both 613, a rate limit, and 80006, the Messenger BUC throttle, and says not which answers the per-second rate; 80006 is kept
   * for the BUC allowance, `dailyCalls`)
   */
  code?: 613 | 80006;
  /**
   * How long a Page stays blocked after a call over the limit, in ms; tests take a short one, which the headers state in
   * fractions of a minute. @default 60000 ([I]: Meta states blocks in minutes and documents no length for this one)
   */
  blockMs?: number;
}

/** A running emulator. */
export interface Emulator {
  /** Origin without trailing slash, e.g. `http://127.0.0.1:43123`. */
  readonly url: string;
  readonly log: RequestLog;
  /** Mutators for tests: add a message, delete a thread. */
  readonly store: EmulatorStore;
  /** Faults to inject into the next matching calls. */
  readonly faults: FaultInjector;
  /** Meta's webhooks: subscribe a callback, then send messages that are delivered to it, signed. */
  readonly webhooks: EmulatorWebhooks;
  /** Stops listening and closes every open socket, keep-alive ones included. */
  close(): Promise<void>;
}

const DEFAULT_MAX_LIMIT = 100;
const DEFAULT_MAX_LOG_ENTRIES = 10_000;
const DEFAULT_BLOCK_MS = 60_000;

let seedWorld: SeedWorld | undefined;

/**
 * Starts an emulator of the Graph API inbox endpoints on a loopback port, serving the demo world
 * (`DEMO` in seed/demo.ts). Use it in tests (port 0) and behind `npm run emulator`; close it when done.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const config = validateOptions(options);
  seedWorld ??= createSeedWorld();
  const store = new WorldStore(withExtra(seedWorld, options.extraWorld), {
    privacyFiltering: config.privacyFiltering,
    now: options.now,
    accessLevel: options.accessLevel ?? 'advanced',
  });
  const log = new EmulatorRequestLog(config.maxLogEntries);
  const proofPolicy = { appSecret: config.appSecret, requireAppSecretProof: config.requireAppSecretProof };
  const faults = new EmulatorFaults();
  const limits = rateLimitsOf(config, store);
  const webhooks = createEmulatorWebhooks(store, config.appSecret ?? DEMO.appSecret, {
    appId: options.webhookAppId,
    batchSize: options.webhookBatchSize,
  });
  if (options.demoReplyWindows === true) openDemoReplyWindows(store);
  const closing = new AbortController();

  // The router's paging links need the origin, known once the server listens; until then requests are refused.
  let handle: RequestHandler | undefined;
  const server = createServer((request, response) => {
    if (handle === undefined) {
      response.writeHead(503).end();
      return;
    }
    handle(request, response).catch((error: unknown) => {
      console.error('graph emulator: request failed', error);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  const url = await listen(server, config.port, config.host);
  const router = guardRouter(
    createGraphRouter({
      store,
      codec: createCursorCodec(),
      baseUrl: url,
      defaultVersion: config.defaultVersion,
      maxLimit: config.maxLimit,
      proofPolicy,
      rootIdsReads: config.rootIdsReads,
      oldestLiveVersion: config.oldestLiveVersion,
      sendRateLimit: config.sendRateLimit === undefined ? undefined : new CallRate(config.sendRateLimit.callsPerSecond, 613, 0),
      humanAgentApproved: options.humanAgentApproved ?? true,
      onSent: webhooks.echoSent,
    }),
    { store, faults, limits },
  );
  handle = createRequestHandler({ router, store, webhooks, log, faults, proofPolicy, closing: closing.signal });

  return { url, log, store, faults, webhooks, close: () => close(server, closing) };
}

/** The demo world with `extra`'s Pages, users and tokens added after its own. */
function withExtra(world: SeedWorld, extra: EmulatorOptions['extraWorld']): SeedWorld {
  if (extra === undefined) return world;
  return {
    pages: [...world.pages, ...extra.pages],
    threads: [...world.threads, ...(extra.threads ?? [])],
    users: [...world.users, ...extra.users],
    tokens: new Map([...world.tokens, ...extra.tokens]),
  };
}

/** Listens on `port` and `host`; resolves with the origin, e.g. `http://127.0.0.1:43123`. */
async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

/** Stops listening and closes every socket, keep-alive ones included; answers still delayed by a latency fault are dropped. */
function close(server: Server, closing: AbortController): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    closing.abort();
    server.close((error) => (error === undefined ? resolve() : reject(error)));
    server.closeAllConnections();
  });
}

/** The customer messages behind `DEMO.replyWindows`, stamped with the emulator's clock. */
function openDemoReplyWindows(store: WorldStore): void {
  const { open, humanAgent, instagram } = DEMO.replyWindows;
  store.addCustomerMessageAgo(open, 'Hi! Is the linen shirt still available in medium?', 2 * 3600);
  store.addCustomerMessageAgo(instagram, 'Do you ship to Lisbon?', 2 * 3600);
  store.addCustomerMessageAgo(humanAgent, 'My parcel never arrived, can someone help?', 3 * 86_400);
}

/** Every limit the options turn on; `undefined` when neither the Conversations API rate nor `dailyCalls` is set. */
function rateLimitsOf(config: ResolvedOptions, store: WorldStore): RateLimits | undefined {
  const { conversationRateLimit: rate, dailyCalls } = config;
  if (rate === undefined && dailyCalls === undefined) return undefined;
  return {
    conversations: rate === undefined ? undefined : new CallRate(rate.callsPerSecond, rate.code ?? 613, rate.blockMs ?? DEFAULT_BLOCK_MS),
    daily: new DailyAllowance((page) => dailyCalls ?? MESSENGER_CALLS_PER_ENGAGED_USER * Math.max(1, store.engagedUsers(page))),
    app: new AppUsage(APP_CALLS_PER_ACTIVE_USER * Math.max(1, store.appUsers)),
  };
}

interface ResolvedOptions {
  oldestLiveVersion: string | undefined;
  port: number;
  host: string;
  defaultVersion: string;
  maxLimit: number;
  privacyFiltering: boolean;
  appSecret: string | undefined;
  requireAppSecretProof: boolean;
  rootIdsReads: boolean;
  maxLogEntries: number;
  conversationRateLimit: EmulatorOptions['conversationRateLimit'];
  dailyCalls: number | undefined;
  sendRateLimit: EmulatorOptions['sendRateLimit'];
}

function validateOptions(options: EmulatorOptions): ResolvedOptions {
  const problems: string[] = [];
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    problems.push(`port must be an integer from 0 to 65535, got ${String(options.port)}`);
  const defaultVersion = options.defaultVersion ?? DEFAULT_GRAPH_API_VERSION;
  if (!/^v\d+\.\d+$/.test(defaultVersion)) problems.push(`defaultVersion must look like "v25.0", got "${defaultVersion}"`);
  const maxLimit = options.maxLimit ?? DEFAULT_MAX_LIMIT;
  if (!Number.isInteger(maxLimit) || maxLimit < 1) problems.push(`maxLimit must be a positive integer, got ${String(options.maxLimit)}`);
  const maxLogEntries = options.maxLogEntries ?? DEFAULT_MAX_LOG_ENTRIES;
  if (!Number.isInteger(maxLogEntries) || maxLogEntries < 1)
    problems.push(`maxLogEntries must be a positive integer, got ${String(options.maxLogEntries)}`);
  if (options.appSecret === '') problems.push('appSecret must not be empty when given');
  if (options.requireAppSecretProof === true && options.appSecret === undefined) problems.push('requireAppSecretProof needs appSecret');
  const limit = options.conversationRateLimit;
  if (limit !== undefined) {
    if (!Number.isInteger(limit.callsPerSecond) || limit.callsPerSecond < 1) {
      problems.push(`conversationRateLimit.callsPerSecond must be a positive integer, got ${String(limit.callsPerSecond)}`);
    }
    if (limit.code !== undefined && limit.code !== 613 && limit.code !== 80006)
      problems.push(`conversationRateLimit.code must be 613 or 80006, got ${String(limit.code)}`);
    if (limit.blockMs !== undefined && (!Number.isInteger(limit.blockMs) || limit.blockMs < 0)) {
      problems.push(`conversationRateLimit.blockMs must be an integer ≥ 0, got ${String(limit.blockMs)}`);
    }
  }
  if (options.dailyCalls !== undefined && (!Number.isInteger(options.dailyCalls) || options.dailyCalls < 1))
    problems.push(`dailyCalls must be a positive integer, got ${String(options.dailyCalls)}`);
  const sendRate = options.sendRateLimit?.callsPerSecond;
  if (sendRate !== undefined && (!Number.isInteger(sendRate) || sendRate < 1))
    problems.push(`sendRateLimit.callsPerSecond must be a positive integer, got ${String(sendRate)}`);
  if (problems.length > 0) throw new TypeError(`startEmulator: invalid options:\n  - ${problems.join('\n  - ')}`);
  return {
    port,
    host: options.host ?? '127.0.0.1',
    defaultVersion,
    maxLimit,
    privacyFiltering: options.privacyFiltering ?? true,
    appSecret: options.appSecret,
    requireAppSecretProof: options.requireAppSecretProof ?? false,
    rootIdsReads: options.rootIdsReads ?? false,
    oldestLiveVersion: options.oldestLiveVersion,
    maxLogEntries,
    conversationRateLimit: options.conversationRateLimit,
    dailyCalls: options.dailyCalls,
    sendRateLimit: options.sendRateLimit,
  };
}
