import { GraphQLError } from 'graphql';
import type { UpstreamUsage } from './graph-api/client.js';
import type { GraphScheduler } from './graph-api/scheduler.js';
import { tokenFingerprint } from './graph-api/tokens.js';
import { createGraphReadLoader, type GraphReadLoader } from './loaders/graph-read-loader.js';
import type { CursorCodec } from './schema/cursors.js';

/** Everything a resolver may use; built fresh for every GraphQL operation. */
export interface GatewayContext {
  /** Reads the Graph API with the caller's token (deduplicated and batched per operation). */
  readonly graph: GraphReadLoader;
  /** Names the caller without holding the token; binds cursors to the caller. */
  readonly viewerKey: string;
  readonly cursors: CursorCodec;
  /** Upstream cost of this operation so far. */
  readonly usage: UpstreamUsage;
}

export interface ContextDependencies {
  scheduler: GraphScheduler;
  cursors: CursorCodec;
  /** Token for requests that carry none. */
  defaultAccessToken: string | undefined;
  /** Time an operation may wait for the Graph API, retries included. @default 15000 */
  operationTimeoutMs?: number | undefined;
}

const BEARER_PATTERN = /^Bearer\s+(\S+)\s*$/i;
export const DEFAULT_OPERATION_TIMEOUT_MS = 15_000;

/** Builds the per-operation context from the HTTP request. */
export function createContext(deps: ContextDependencies, request: Request): GatewayContext {
  const usage: UpstreamUsage = { requests: 0, calls: 0, coalesced: 0 };
  const authorization = request.headers.get('authorization');
  const token = authorization === null ? deps.defaultAccessToken : BEARER_PATTERN.exec(authorization)?.[1];
  if (token === undefined) {
    const message =
      authorization === null
        ? 'No Graph API access token: send "Authorization: Bearer <token>" or configure GRAPH_ACCESS_TOKEN.'
        : 'The Authorization header must be "Bearer <access token>".';
    // Fields that need no upstream call still answer; those that do fail with this error.
    const refuse = (): Promise<never> => Promise.reject(new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } }));
    return { graph: { read: refuse }, viewerKey: 'anonymous', cursors: deps.cursors, usage };
  }
  const timeoutMs = deps.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const deadlineSignal = AbortSignal.timeout(timeoutMs);
  return {
    graph: createGraphReadLoader(deps.scheduler, token, {
      usage,
      deadline: Date.now() + timeoutMs,
      deadlineSignal,
      // The operation stops waiting at its deadline or when the client disconnects.
      signal: AbortSignal.any([request.signal, deadlineSignal]),
    }),
    viewerKey: tokenFingerprint(token),
    cursors: deps.cursors,
    usage,
  };
}
