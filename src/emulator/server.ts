/**
 * The emulator's HTTP face: a loopback `node:http` server that reads query and body parameters,
 * sends plain calls to the router and `batch` POSTs to the batch runner, logs each request, and
 * answers with Graph's headers (`facebook-api-version`: Meta: Versioning, developers.facebook.com/docs/graph-api/guides/versioning).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { tokenOf } from './auth.js';
import { runBatch } from './batch.js';
import { createCursorCodec } from './cursors.js';
import { readSendMessage, SEND_MESSAGE_USAGE } from './demo-messages.js';
import { EmulatedGraphError, expiredToken, invalidParameter, serverError, throttled } from './errors.js';
import {
  CALL_FAULTS,
  ConversationRateLimit,
  EmulatorFaults,
  TRANSPORT_FAULTS,
  pageUsageHeaders,
  throttleUsageHeaders,
  usageTypeOf,
  type CallSignature,
  type FaultInjector,
} from './faults.js';
import { EmulatorRequestLog, type LoggedRequest, type RequestLog } from './request-log.js';
import { createGraphRouter, type GraphAnswer, type GraphRouter } from './router.js';
import { createSeedWorld, DEMO, type SeedWorld } from './seed.js';
import { WorldStore, type EmulatorStore } from './store.js';
import { createEmulatorWebhooks, type EmulatorWebhooks } from './webhooks.js';

/** Options of {@link startEmulator}; every one has a default. */
export interface EmulatorOptions {
  /** Port to listen on. @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Version serving unversioned paths. @default 'v25.0' */
  defaultVersion?: string;
  /** Cap for `limit` on every edge; larger limits are capped silently, links carry the cap. @default 100 */
  maxLimit?: number;
  /** Hide some threads after the page window is cut, as Graph's privacy filtering does. @default true */
  privacyFiltering?: boolean;
  /** When set, a present but wrong `appsecret_proof` is rejected. Webhooks are signed with it. @default the demo app's secret, for webhooks only */
  appSecret?: string;
  /** With `appSecret`: a missing proof is rejected too. @default false */
  requireAppSecretProof?: boolean;
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
   * Instagram account): calls per Page in any sliding one-second window on its conversations edge,
   * its threads and their messages, each batch item counted. A call over it is refused with the
   * throttle `code` (`is_transient`, `X-Business-Use-Case-Usage` over 100% with
   * `estimated_time_to_regain_access` 1 minute), and the Page is then blocked: every call on it is
   * refused the same way for `blockMs`. Real Graph blocks for minutes, and calls made during a block
   * prolong it; here the block is short so tests stay fast, and calls during it extend nothing.
   * While on, answers on a Page whose usage (calls in the last second ÷ `callsPerSecond`) is at
   * least 1% carry `X-Page-Usage` and `X-Business-Use-Case-Usage`, batch items too. Off by default,
   * and then no usage headers are sent.
   */
  conversationRateLimit?: ConversationRateLimitOptions;
}

/** See {@link EmulatorOptions.conversationRateLimit}. */
export interface ConversationRateLimitOptions {
  /** Calls per Page in any one-second window. */
  callsPerSecond: number;
  /** The throttle's code. @default 80006 (Messenger's BUC throttle; Meta does not say which of 613/80006 it uses) */
  code?: 613 | 80006;
  /** How long a Page stays blocked after a call over the limit, in ms. @default 1000 */
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
/** The emulator's own route for demos: a new message, delivered by webhook. */
const SEND_MESSAGE_PATH = '/_emulator/messages';
/** The emulator's own route for a gateway started apart: subscribe its webhook callback. */
const SUBSCRIBE_PATH = '/_emulator/subscriptions';
const DEFAULT_MAX_LOG_ENTRIES = 10_000;
/** Request bodies above this size are refused; a full 50-item batch is far below it. */
const MAX_BODY_BYTES = 1024 * 1024;
const STATIC_HEADERS = {
  'content-type': 'application/json; charset=UTF-8',
  'cache-control': 'private, no-cache, no-store, must-revalidate',
  pragma: 'no-cache',
  expires: 'Sat, 01 Jan 2000 00:00:00 GMT',
  'access-control-allow-origin': '*',
} as const;

let seedWorld: SeedWorld | undefined;

/**
 * Starts an emulator of the Graph API inbox endpoints on a loopback port, serving the demo world
 * (`DEMO` in seed.ts). Use it in tests (port 0) and behind `npm run emulator`; close it when done.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const config = validateOptions(options);
  seedWorld ??= createSeedWorld();
  const store = new WorldStore(seedWorld, { privacyFiltering: config.privacyFiltering, now: options.now });
  const log = new EmulatorRequestLog(config.maxLogEntries);
  const proofPolicy = { appSecret: config.appSecret, requireAppSecretProof: config.requireAppSecretProof };
  const faults = new EmulatorFaults();
  const webhooks = createEmulatorWebhooks(store, config.appSecret ?? DEMO.appSecret);
  /** Aborts the answers still delayed by a latency fault when the emulator closes. */
  const closing = new AbortController();
  const rateLimit =
    config.conversationRateLimit === undefined
      ? undefined
      : new ConversationRateLimit(
          config.conversationRateLimit.callsPerSecond,
          config.conversationRateLimit.code ?? 80006,
          config.conversationRateLimit.blockMs ?? 1_000,
        );

  let router: GraphRouter | undefined;
  const server = createServer((request, response) => {
    if (router === undefined) {
      response.writeHead(503).end();
      return;
    }
    handle(router, request, response).catch((error: unknown) => {
      console.error('graph emulator: request failed', error);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });

  async function handle(activeRouter: GraphRouter, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const rawUrl = request.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    if (path === SEND_MESSAGE_PATH) {
      await sendMessage(request, response);
      return;
    }
    if (path === SUBSCRIBE_PATH) {
      await subscribeCallback(request, response);
      return;
    }
    const params: Record<string, string> = {};
    let batch: unknown;
    const take = (key: string, value: unknown): void => {
      if (key === 'batch') batch ??= value;
      else if (!(key in params))
        params[key] = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    };
    if (queryAt >= 0) for (const [key, value] of new URLSearchParams(rawUrl.slice(queryAt + 1))) take(key, value);

    let answer: GraphAnswer;
    let entry: LoggedRequest;
    const bodyError = await readBody(request, take);
    const authorization = request.headers.authorization;
    const transportFault = faults.take(TRANSPORT_FAULTS, callSignatures(activeRouter, path, params, batch, authorization));
    // Graph counts a call when it arrives: the call runs now, and a latency fault delays only its answer.
    if (bodyError !== undefined) {
      answer = activeRouter.errorAnswer(bodyError, activeRouter.route('/').version, 1);
      entry = { method, path, params, status: answer.status, at: Date.now() };
    } else if (method === 'POST' && batch !== undefined) {
      const outcome = runBatch(activeRouter, store, proofPolicy, { path, params, batch, authorization });
      answer = outcome.answer;
      entry = { method, path, params, status: answer.status, items: outcome.items, at: Date.now() };
    } else {
      answer = activeRouter.execute({ method, path, params, authorization });
      entry = { method, path, params, status: answer.status, at: answer.at ?? Date.now(), pageId: answer.pageId };
    }

    if (transportFault?.kind === 'truncated-json') entry.status = 200;
    log.record(entry, answer.calls);
    if (transportFault?.kind === 'latency') {
      try {
        await delay(transportFault.ms, undefined, { signal: closing.signal });
      } catch {
        return; // The emulator closed meanwhile, and its sockets with it.
      }
    }
    if (transportFault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    const headers: Record<string, string> = {
      ...STATIC_HEADERS,
      ...answer.headers,
      'facebook-api-version': answer.version,
      'x-fb-trace-id': answer.traceId,
    };
    if (answer.wwwAuthenticate !== undefined) headers['www-authenticate'] = answer.wwwAuthenticate;
    if (transportFault?.kind === 'truncated-json') {
      response.writeHead(200, headers);
      response.end(answer.body.slice(0, Math.floor(answer.body.length / 2)));
      return;
    }
    response.writeHead(answer.status, headers);
    response.end(answer.body);
  }

  /**
   * `POST /_emulator/messages {"conversationId", "text", "from"?: "customer" | "business"}`: a new
   * message in a conversation (named by the gateway's `id` or its `graphApiId`), delivered to the
   * subscribed webhook. For demos (curl while a GraphiQL subscription listens); not a Graph API route,
   * and not logged as a call.
   */
  async function sendMessage(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST' || !(request.headers['content-type'] ?? '').toLowerCase().includes('application/json')) {
      request.resume();
      replyJson(response, request.method === 'POST' ? 415 : 405, {
        error: `Send a POST with Content-Type: application/json. ${SEND_MESSAGE_USAGE}`,
      });
      return;
    }
    const read = readSendMessage(store, await readAdminParams(request));
    if (!read.ok) {
      replyJson(response, read.status, { error: read.error });
      return;
    }
    const sent = await webhooks.sendMessage(read.thread.id, { fromId: read.fromId, text: read.text });
    replyJson(response, 200, { id: sent.id, createdTime: sent.createdTime, deliveryStatus: sent.deliveryStatus ?? null });
  }

  /**
   * `POST /_emulator/subscriptions {"callbackUrl", "verifyToken"}`: subscribes a webhook callback, as
   * an app's webhook settings do (the handshake runs first), for a gateway started apart from the
   * emulator (`npm run emulator`).
   */
  async function subscribeCallback(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const params = await readAdminParams(request);
    if (typeof params?.callbackUrl !== 'string' || typeof params.verifyToken !== 'string') {
      replyJson(response, 400, { error: 'POST a JSON body {"callbackUrl": "http://…/webhooks/meta", "verifyToken": "…"}' });
      return;
    }
    try {
      await webhooks.subscribe(params.callbackUrl, params.verifyToken);
      replyJson(response, 200, { subscribed: params.callbackUrl });
    } catch (error) {
      replyJson(response, 502, { error: (error as Error).message });
    }
  }

  /**
   * The router, with what sits in front of each call: the Conversations API rate of its Page, then
   * the faults aimed at it. A refused call spends no fault; a faulted call still counts in the rate.
   */
  function guard(inner: GraphRouter): GraphRouter {
    return {
      ...inner,
      execute(call, inBatch = false) {
        let version = config.defaultVersion;
        let segments: readonly string[] = [];
        try {
          ({ version, segments } = inner.route(call.path));
        } catch {
          return inner.execute(call, inBatch);
        }
        const token = tokenOf(call.params, call.authorization);
        const pageId = pageOfCall(store, segments, token);
        const now = Date.now();
        const failWith = (error: Error, headers: Record<string, string> | undefined): GraphAnswer => ({
          ...inner.errorAnswer(error, version, 1),
          pageId,
          at: now,
          ...(headers === undefined ? {} : { headers }),
        });

        let usage: Record<string, string> | undefined;
        if (rateLimit !== undefined && pageId !== undefined) {
          if (!rateLimit.admit(pageId, now)) {
            // A Page's own limit: its usage headers only, not the app's.
            return failWith(
              throttled(rateLimit.code),
              pageUsageHeaders(pageId, rateLimit.usagePercent(pageId, now), rateLimit.usageType, 1),
            );
          }
          const percent = rateLimit.usagePercent(pageId, now);
          if (percent >= 1) usage = pageUsageHeaders(pageId, percent, rateLimit.usageType, 1);
        }

        const fault = faults.take(CALL_FAULTS, [{ path: segments.join('/'), token }]);
        switch (fault?.kind) {
          case 'null-batch-item':
            if (inBatch) return { ...inner.errorAnswer(serverError(2, 500), version, 1), pageId, at: now, timedOut: true };
            break;
          case 'server-error':
            return failWith(serverError(fault.code ?? 2, fault.status ?? 500), usage);
          case 'expired-token':
            return failWith(expiredToken(), usage);
          case 'graph-error':
            return failWith(
              new EmulatedGraphError(
                fault.status ?? 400,
                'OAuthException',
                fault.code,
                `(#${fault.code}) An error injected by a test`,
                fault.subcode,
                fault.transient,
              ),
              usage,
            );
          case 'throttle':
            return failWith(
              throttled(fault.code),
              throttleUsageHeaders(
                pageId ?? viewerPageOf(store, token) ?? APP_USAGE_KEY,
                120,
                usageTypeOf(fault.code),
                fault.regainMinutes ?? 1,
              ),
            );
          default:
            break;
        }
        const answer = inner.execute(call, inBatch);
        return { ...answer, pageId, at: now, ...(usage === undefined ? {} : { headers: { ...answer.headers, ...usage } }) };
      },
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  router = guard(
    createGraphRouter({
      store,
      codec: createCursorCodec(),
      baseUrl: url,
      defaultVersion: config.defaultVersion,
      maxLimit: config.maxLimit,
      proofPolicy,
      rootIdsReads: config.rootIdsReads,
      oldestLiveVersion: config.oldestLiveVersion,
    }),
  );

  return {
    url,
    log,
    store,
    faults,
    webhooks,
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing.abort();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

/** The body of a POST to one of the emulator's own routes; `undefined` for another method or a bad body. */
async function readAdminParams(request: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  if (request.method !== 'POST') {
    request.resume();
    return undefined;
  }
  const params: Record<string, unknown> = {};
  return (await readBody(request, (key, value) => (params[key] = value))) === undefined ? params : undefined;
}

function replyJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
}

/**
 * Reads a form-encoded or JSON body into `take`. Returns a Graph error for a body that is too large
 * or not the JSON object it claims to be; `undefined` when all went well.
 */
async function readBody(request: IncomingMessage, take: (key: string, value: unknown) => void): Promise<Error | undefined> {
  if (request.method === 'GET' || request.method === 'HEAD') {
    request.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      request.resume();
      return invalidParameter(`Request body larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if ((request.headers['content-type'] ?? '').toLowerCase().includes('application/json')) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return invalidParameter('Request body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalidParameter('Request body must be a JSON object');
    for (const [key, value] of Object.entries(body)) if (value !== null && value !== undefined) take(key, value);
    return undefined;
  }
  for (const [key, value] of new URLSearchParams(text)) take(key, value);
  return undefined;
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
}

function validateOptions(options: EmulatorOptions): ResolvedOptions {
  const problems: string[] = [];
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    problems.push(`port must be an integer from 0 to 65535, got ${String(options.port)}`);
  const defaultVersion = options.defaultVersion ?? 'v25.0';
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
  };
}

/** The `X-Business-Use-Case-Usage` key of a throttle on a call that names no Page. */
const APP_USAGE_KEY = 'app';

/**
 * The Page whose Conversations API budget a call spends: its conversations edge (`me/conversations`
 * with a Page token too), its threads and their messages; `undefined` for anything else.
 */
function pageOfCall(store: WorldStore, segments: readonly string[], token: string | undefined): string | undefined {
  const [id, edge] = segments;
  if (id === undefined) return undefined;
  if (edge === 'conversations') {
    if (id === 'me') return viewerPageOf(store, token);
    return store.node(id)?.kind === 'page' ? id : undefined;
  }
  const node = store.node(id);
  return node?.kind === 'thread' || node?.kind === 'message' ? node.thread.pageId : undefined;
}

/** The Page of a Page token. */
function viewerPageOf(store: WorldStore, token: string | undefined): string | undefined {
  const record = token === undefined ? undefined : store.token(token);
  return record?.kind === 'page' ? record.pageId : undefined;
}

/** What transport faults match against: the plain call, or every item of a batch. */
function callSignatures(
  router: GraphRouter,
  path: string,
  params: Readonly<Record<string, string>>,
  batch: unknown,
  authorization: string | undefined,
): CallSignature[] {
  const token = tokenOf(params, authorization);
  const strip = (raw: string): string => {
    try {
      return router.route(raw.split('?')[0]!).segments.join('/');
    } catch {
      return raw;
    }
  };
  if (batch === undefined) return [{ path: strip(path), token }];
  let items: unknown = batch;
  if (typeof batch === 'string') {
    try {
      items = JSON.parse(batch);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(items)) return [];
  return items.flatMap((item: unknown) => {
    const { relative_url: relativeUrl, body } = (item ?? {}) as { relative_url?: unknown; body?: unknown };
    if (typeof relativeUrl !== 'string') return [];
    const queryAt = relativeUrl.indexOf('?');
    const own =
      (queryAt < 0 ? null : new URLSearchParams(relativeUrl.slice(queryAt + 1)).get('access_token')) ??
      (typeof body === 'string' ? new URLSearchParams(body).get('access_token') : null);
    return [{ path: strip(`/${relativeUrl.replace(/^\/+/, '')}`), token: own === null || own === '' ? token : own }];
  });
}
