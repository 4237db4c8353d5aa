import { DEFAULT_CONFIG } from './config.js';
import type { Credentials } from './credentials.js';
import type { UpstreamUsage } from './graph-api/client.js';
import type { GraphScheduler, PageBudgetView } from './graph-api/scheduler.js';
import { tokenFingerprint } from './graph-api/tokens.js';
import { createGraphReadLoader, type GraphReadLoader } from './loaders/graph-read-loader.js';
import type { CursorCodec } from './schema/cursors.js';
import type { InboxEventStream } from './webhooks/inbox-events.js';
import { GraphQLError } from 'graphql';

/** Everything a resolver may use; built fresh for every GraphQL operation. */
export interface GatewayContext {
  /** Reads the Graph API for the caller (deduplicated and batched per operation). */
  readonly graph: GraphReadLoader;
  /** Most items Graph returns in one page (GRAPH_PAGE_CAP): larger requests are split into pages read in one batch. */
  readonly graphPageCap: number;
  /** Names the caller without holding a token; binds cursors to the caller. */
  readonly viewerKey: string;
  /** Who the caller is and which Pages they reach. */
  readonly viewer: { readonly token: string | undefined; readonly credentials: Credentials };
  readonly cursors: CursorCodec;
  /** Upstream cost of this operation so far. */
  readonly usage: UpstreamUsage;
  /** Fails with PAGE_NOT_ACCESSIBLE unless the caller reaches the Page itself (see Credentials.checkReach). */
  readonly checkReach: (page: string) => Promise<void>;
  /** What is known of a Page's call budget; check reach first. */
  readonly pageBudget: (page: string) => Promise<PageBudgetView>;
  /** Inbox events from Meta's webhooks; `undefined` when webhooks are not configured. */
  readonly inboxEvents: InboxEventStream | undefined;
}

export interface ContextDependencies {
  scheduler: GraphScheduler;
  credentials: Credentials;
  cursors: CursorCodec;
  /** Token for requests that carry none. */
  defaultAccessToken: string | undefined;
  /** Whether Page tokens are configured server-side, so requests without any token are served. */
  servesConfiguredPages?: boolean;
  /** Time an operation may wait for the Graph API, retries included. @default 15000 */
  operationTimeoutMs?: number | undefined;
  /** Most items Graph returns in one page. @default 100 */
  graphPageCap?: number | undefined;
  /** Inbox events from Meta's webhooks, when they are configured. */
  inboxEvents?: InboxEventStream | undefined;
}

const BEARER_PATTERN = /^Bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization` value, `Bearer <token>`; `undefined` when the value has another shape. */
export function bearerToken(authorization: string): string | undefined {
  return BEARER_PATTERN.exec(authorization)?.[1];
}
/** The viewer key of requests served with the gateway's own configured Page tokens. */
const SERVER_VIEWER = 'server';

/** Builds the per-operation context from the HTTP request (or the request websocket.ts makes for an operation on a socket). */
export function createContext(deps: ContextDependencies, request: Request): GatewayContext {
  const usage: UpstreamUsage = { requests: 0, calls: 0, coalesced: 0 };
  const authorization = request.headers.get('authorization');
  const token = authorization === null ? deps.defaultAccessToken : bearerToken(authorization);
  if (token === undefined && (authorization !== null || !deps.servesConfiguredPages)) {
    const message =
      authorization === null
        ? 'No Graph API access token: send "Authorization: Bearer <token>" or configure GRAPH_ACCESS_TOKEN.'
        : 'The Authorization header must be "Bearer <access token>".';
    // Fields that need no upstream call still answer; those that do fail with this error.
    const refuse = (): Promise<never> => Promise.reject(new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } }));
    return {
      graph: { read: refuse, readChain: refuse, maxChainLength: 1, dispose: () => undefined },
      checkReach: refuse,
      pageBudget: (page) => deps.scheduler.budgetOf(page),
      inboxEvents: deps.inboxEvents,
      graphPageCap: deps.graphPageCap ?? DEFAULT_CONFIG.graphPageCap,
      viewerKey: 'anonymous',
      viewer: { token: undefined, credentials: deps.credentials },
      cursors: deps.cursors,
      usage,
    };
  }
  const viewerKey = token === undefined ? SERVER_VIEWER : tokenFingerprint(token);
  const caller = { token };
  return {
    graph: createGraphReadLoader({
      scheduler: deps.scheduler,
      tokenForPage: (page) => deps.credentials.tokenForPage(caller, page, usage),
      callerKey: viewerKey,
      usage,
      requestSignal: request.signal,
      timeoutMs: deps.operationTimeoutMs ?? DEFAULT_CONFIG.operationTimeoutMs,
    }),
    graphPageCap: deps.graphPageCap ?? DEFAULT_CONFIG.graphPageCap,
    viewerKey,
    viewer: { token, credentials: deps.credentials },
    cursors: deps.cursors,
    usage,
    checkReach: (page) => deps.credentials.checkReach(caller, page, usage),
    pageBudget: (page) => deps.scheduler.budgetOf(page),
    inboxEvents: deps.inboxEvents,
  };
}
