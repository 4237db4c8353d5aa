import { GraphQLError } from 'graphql';
import type { GraphApiClient, UpstreamUsage } from './graph-api/client.js';
import type { GraphRequest } from './graph-api/request.js';
import { tokenFingerprint } from './graph-api/tokens.js';
import { createGraphReadLoader } from './loaders/graph-read-loader.js';
import type { CursorCodec } from './schema/cursors.js';

/** Everything a resolver may use; built fresh for every GraphQL operation. */
export interface GatewayContext {
  /** Reads the Graph API with the caller's token (deduplicated and batched per operation). */
  readonly graph: { read<T = unknown>(request: GraphRequest): Promise<T> };
  /** Names the caller without holding the token; binds cursors to the caller. */
  readonly viewerKey: string;
  readonly cursors: CursorCodec;
  /** Upstream cost of this operation so far. */
  readonly usage: UpstreamUsage;
}

export interface ContextDependencies {
  client: GraphApiClient;
  cursors: CursorCodec;
  /** Token for requests that carry none. */
  defaultAccessToken: string | undefined;
}

const BEARER_PATTERN = /^Bearer\s+(\S+)\s*$/i;

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
  return {
    graph: createGraphReadLoader(deps.client, token, usage),
    viewerKey: tokenFingerprint(token),
    cursors: deps.cursors,
    usage,
  };
}
