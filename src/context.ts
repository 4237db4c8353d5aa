import { DEFAULT_CONFIG } from './config.js';
import type { Caller, Credentials } from './credentials.js';
import { gatewayError } from './gateway-errors.js';
import type { Inbox, ReadCache } from './graph-api/read-cache.js';
import type { GraphRead, UpstreamUsage } from './graph-api/read.js';
import type { GraphScheduler, PageBudgetView } from './graph-api/scheduler.js';
import { registerCallerToken } from './graph-api/secrets.js';
import { tokenFingerprint } from './graph-api/tokens.js';
import { createGraphReadLoader, type GraphReadLoader } from './loaders/graph-read-loader.js';
import type { CursorCodec } from './cursors.js';
import type { InboxEventStream } from './webhooks/inbox-events.js';
import type { ReplyCaller, ReplyService } from './replies/reply-service.js';
import { type GraphQLError, type GraphQLResolveInfo, responsePathAsArray } from 'graphql';

/** Everything a resolver may use; built fresh for every GraphQL operation. */
export interface GatewayContext {
  /** Reads the Graph API for the caller (deduplicated and batched per operation). */
  readonly graph: GraphReadLoader;
  /** Most items Graph returns in one page (GRAPH_LIST_CAP): larger requests are split into pages read in one batch. */
  readonly graphListCap: number;
  /** Most sources one `Viewer.inbox` merges (MAX_INBOX_SOURCES). */
  readonly maxInboxSources: number;
  /** Major version of the Graph API read (`25` for v25.0): fields it lacks are not asked for. */
  readonly graphApiMajor: number | undefined;
  /** Names the caller without holding a token; binds cursors to the caller. */
  readonly callerKey: string;
  /** Who the caller is and which Pages they reach. */
  readonly caller: { readonly token: string | undefined; readonly credentials: Credentials };
  readonly cursors: CursorCodec;
  /** Upstream cost of this operation so far. */
  readonly usage: UpstreamUsage;
  /** What this operation answered stale (from the cache, because Graph could not be called), for `extensions.stale`. */
  readonly staleAnswers: readonly StaleAnswer[];
  /** Sources `Viewer.inbox` answered without (blocked, refused or failing), for `extensions.missingSources`. */
  readonly missingSources: MissingSource[];
  /** The Graph reads this operation made, in order (what a kept answer depends on). */
  readonly readsMade: readonly GraphRead[];
  /**
   * `volatile`: a field answered with something no Graph read decides (e.g. a call budget), so the answer
   * must not be kept and served again. (An object: yoga copies the context's own properties.)
   */
  readonly answer: { volatile: boolean };
  /** Records when the data a field answers with was read from Graph, and whether it was served stale. */
  noteFetched(path: GraphQLResolveInfo['path'], fetchedAt: number, stale: { readonly retryAfterSeconds: number } | undefined): void;
  /** Fails with PAGE_NOT_ACCESSIBLE unless the caller reaches the Page itself (see Credentials.checkReach). */
  readonly checkReach: (page: string) => Promise<void>;
  /** The numeric id of a Page the client names (`me`: the Page of the caller's Page token). */
  readonly resolvePageId: (page: string) => Promise<string>;
  /**
   * Resolves once the caller's own token is proven to read `inbox` (a read of it made now with that token
   * when no proof is live: see ReadCache.proveInbox); rejects with Graph's refusal or PAGE_NOT_ACCESSIBLE.
   * What a subscription to the inbox's events needs, on subscribing and again for events after the proof expires.
   */
  readonly proveInbox: (inbox: Inbox) => Promise<void>;
  /** What is known of a Page's call budget; check reach first. */
  readonly pageBudget: (page: string) => Promise<PageBudgetView>;
  /** Inbox events from Meta's webhooks; `undefined` when webhooks are not configured. */
  readonly inboxEvents: InboxEventStream | undefined;
  /** Refusals a mutation answered as typed results, listed in `errors` too with their code (use-refusal-errors.ts). */
  readonly refusals: GraphQLError[];
  /** Replies (sends, sender actions) and what they need of this caller; `undefined` without a usable token. */
  readonly replies: { readonly service: ReplyService; readonly caller: ReplyCaller } | undefined;
}

/** A field answered from the cache because Graph could not be called. */
export interface StaleAnswer {
  readonly path: ReadonlyArray<string | number>;
  /** When its data was read from Graph (ISO 8601). */
  readonly fetchedAt: string;
  /** When Graph can be called again for it. */
  readonly retryAfterSeconds: number;
}

/** A source of a merged inbox that could not be read: which, why (a client error code), and when to try again. */
export interface MissingSource {
  readonly pageId: string;
  /** As `MessagingPlatform` spells it in GraphQL. */
  readonly platform: 'MESSENGER' | 'INSTAGRAM';
  readonly code: string;
  readonly retryAfterSeconds: number | null;
}

export interface ContextDependencies {
  scheduler: GraphScheduler;
  /** Graph reads, through the read cache. */
  readCache: ReadCache;
  credentials: Credentials;
  cursors: CursorCodec;
  /** Token for requests that carry none. */
  defaultAccessToken: string | undefined;
  /** Whether Page tokens are configured server-side, so requests without any token are served. */
  servesConfiguredPages?: boolean;
  /** Time an operation may wait for the Graph API, retries included. @default 15000 */
  operationTimeoutMs?: number | undefined;
  /** Most items Graph returns in one page. @default 100 */
  graphListCap?: number | undefined;
  /** Most sources one `Viewer.inbox` merges. @default 20 */
  maxInboxSources?: number | undefined;
  /** Inbox events from Meta's webhooks, when they are configured. */
  inboxEvents?: InboxEventStream | undefined;
  /** Replies through the Send API. @default none: the mutations answer INTERNAL_SERVER_ERROR */
  replies?: ReplyService | undefined;
}

const BEARER_PATTERN = /^Bearer\s+(\S+)\s*$/i;
const VERSION_PATTERN = /^v(\d+)\./;

/**
 * The token of an `Authorization` value, `Bearer <token>`; `undefined` when the value has another shape.
 * Every road that reads a caller's token comes here (HTTP requests, a WebSocket's connection params), so
 * here it is registered as a secret: whatever its shape, no error message or log line quotes it (secrets.ts).
 */
export function bearerToken(authorization: string): string | undefined {
  const token = BEARER_PATTERN.exec(authorization)?.[1];
  if (token !== undefined) registerCallerToken(token);
  return token;
}

/** The viewer key of requests served with the gateway's own configured Page tokens. */
const SERVER_VIEWER = 'server';

/** Builds the per-operation context from the HTTP request (or the request websocket.ts makes for an operation on a socket). */
export function createContext(deps: ContextDependencies, request: Request): GatewayContext {
  const usage: UpstreamUsage = { requests: 0, calls: 0, coalesced: 0, cached: 0 };
  const staleAnswers: StaleAnswer[] = [];
  const readsMade: GraphRead[] = [];
  const caller = callerOf(deps, request.headers.get('authorization'));
  const callerKey = 'refusal' in caller ? 'anonymous' : caller.token === undefined ? SERVER_VIEWER : tokenFingerprint(caller.token);
  // Without a usable token, fields that need no upstream call still answer; those that do fail.
  const refuse = (): Promise<never> => Promise.reject(gatewayError('UNAUTHENTICATED', 'refusal' in caller ? caller.refusal : ''));
  const timeoutMs = deps.operationTimeoutMs ?? DEFAULT_CONFIG.operationTimeoutMs;
  const graph: GraphReadLoader =
    'refusal' in caller
      ? { read: refuse, readWithFollowUps: refuse, maxCallsPerRead: 1, dispose: () => undefined }
      : createGraphReadLoader({
          reads: deps.readCache,
          tokenForPage: (page) => deps.credentials.tokenForPage(caller, page, usage),
          callerKey: callerKey,
          usage,
          requestSignal: request.signal,
          onRead: (read) => readsMade.push(read),
          timeoutMs,
        });
  return {
    graph,
    graphListCap: deps.graphListCap ?? DEFAULT_CONFIG.graphListCap,
    maxInboxSources: deps.maxInboxSources ?? DEFAULT_CONFIG.maxInboxSources,
    graphApiMajor: majorOf(deps.readCache.version),
    callerKey,
    caller: { token: 'refusal' in caller ? undefined : caller.token, credentials: deps.credentials },
    cursors: deps.cursors,
    usage,
    staleAnswers,
    missingSources: [],
    readsMade,
    answer: { volatile: false },
    noteFetched(path, fetchedAt, stale) {
      if (stale === undefined) return;
      staleAnswers.push({
        path: responsePathAsArray(path),
        fetchedAt: new Date(fetchedAt).toISOString(),
        retryAfterSeconds: stale.retryAfterSeconds,
      });
    },
    checkReach: 'refusal' in caller ? refuse : (page) => deps.credentials.checkReach(caller, page, usage),
    resolvePageId: 'refusal' in caller ? refuse : (page) => deps.credentials.resolvePageId(caller, page, usage),
    proveInbox:
      'refusal' in caller
        ? refuse
        : async (inbox) => {
            const token = await deps.credentials.tokenForPage(caller, inbox.page, usage);
            const deadline = Date.now() + timeoutMs;
            const failure = await deps.readCache.proveInbox(token, inbox, { usage, deadline, signal: request.signal }, callerKey);
            if (failure !== undefined) throw failure;
          },
    pageBudget: (page) => deps.scheduler.budgetOf(page),
    inboxEvents: deps.inboxEvents,
    refusals: [],
    replies:
      'refusal' in caller || deps.replies === undefined
        ? undefined
        : { service: deps.replies, caller: replyCaller(deps, caller, graph, usage, request.signal, timeoutMs) },
  };
}

/** What a reply needs of the caller: its reads, its token for a Page, and its tasks there when its token says them. */
function replyCaller(
  deps: ContextDependencies,
  caller: Caller,
  graph: GraphReadLoader,
  usage: UpstreamUsage,
  signal: AbortSignal,
  timeoutMs: number,
): ReplyCaller {
  return {
    read: (request, page, options) => graph.read(request, page, options),
    tokenForPage: (page) => deps.credentials.tokenForPage(caller, page, usage),
    tasksOn: async (page) => {
      if (caller.token === undefined) return undefined;
      const identity = await deps.credentials.identify(caller.token, usage);
      return identity.kind === 'page' ? undefined : identity.pages.find((access) => access.id === page)?.tasks;
    },
    usage,
    deadline: Date.now() + timeoutMs,
    signal,
  };
}

/** Who a request speaks for: a token (its own, or the default), the gateway's configured Pages, or a refusal. */
function callerOf(deps: ContextDependencies, authorization: string | null): Caller | { refusal: string } {
  if (authorization === null) {
    if (deps.defaultAccessToken !== undefined || deps.servesConfiguredPages) return { token: deps.defaultAccessToken };
    return { refusal: 'No Graph API access token: send "Authorization: Bearer <token>" or configure GRAPH_ACCESS_TOKEN.' };
  }
  const token = bearerToken(authorization);
  return token === undefined ? { refusal: 'The Authorization header must be "Bearer <access token>".' } : { token };
}

/** The major of a Graph API version (`v25.0` → 25). */
function majorOf(version: string): number | undefined {
  const major = VERSION_PATTERN.exec(version)?.[1];
  return major === undefined ? undefined : Number(major);
}
