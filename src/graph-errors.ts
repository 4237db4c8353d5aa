/**
 * The one place where upstream failures become client errors: each Graph error code/subcode maps to
 * a stable `extensions.code` (decided by code, never by message text; graph-api.md §5.2), with the
 * Graph details a support ticket needs. Anything else stays masked.
 */
import { GraphQLError } from 'graphql';
import { GraphApiError, GraphRateLimitError, GraphTransportError, isThrottleCode, OperationAbortedError } from './graph-api/errors.js';

const TOKEN_EXPIRED_SUBCODE = 463;

/** Stable client-facing code for a Graph error. */
export function graphErrorCode(error: GraphApiError): string {
  const { code, subcode } = error;
  if (code === 190 && subcode === TOKEN_EXPIRED_SUBCODE) return 'GRAPH_TOKEN_EXPIRED';
  if (code === 190 || code === 102) return 'GRAPH_TOKEN_INVALID';
  if (code === 104) return 'GRAPH_TOKEN_MISSING';
  if (code === 10 || (code >= 200 && code <= 299)) return 'GRAPH_PERMISSION_DENIED';
  if (isThrottleCode(code)) return 'GRAPH_RATE_LIMITED';
  if ((code === 100 && subcode === 33) || code === 803) return 'GRAPH_NOT_FOUND';
  if (code === 100 || code === 2500) return 'GRAPH_INVALID_PARAMETER';
  if (code === 368) return 'GRAPH_POLICY_BLOCKED';
  if (code === 1 || code === 2) return 'GRAPH_UNAVAILABLE';
  return 'GRAPH_ERROR';
}

const TRANSPORT_CODES = {
  timeout: 'GRAPH_TIMEOUT',
  'slot-timeout': 'GRAPH_TIMEOUT',
  connection: 'GRAPH_UNAVAILABLE',
  'malformed-response': 'GRAPH_UNAVAILABLE',
} as const;

/**
 * The client-facing form of an upstream failure, keeping the path and locations of `located`;
 * `undefined` for errors that are not upstream failures.
 */
export function toClientError(error: unknown, located?: GraphQLError): GraphQLError | undefined {
  const position = { nodes: located?.nodes ?? null, path: located?.path ?? null };
  if (error instanceof GraphRateLimitError) {
    return new GraphQLError(error.message, {
      ...position,
      extensions: {
        code: 'GRAPH_RATE_LIMITED',
        retryAfterSeconds: error.retryAfterSeconds,
        ...(error.graphError ? { graph: graphDetails(error.graphError) } : {}),
      },
    });
  }
  if (error instanceof GraphApiError) {
    return new GraphQLError(error.message, { ...position, extensions: { code: graphErrorCode(error), graph: graphDetails(error) } });
  }
  if (error instanceof OperationAbortedError) {
    return new GraphQLError(error.message, { ...position, extensions: { code: 'OPERATION_TIMEOUT' } });
  }
  if (error instanceof GraphTransportError) {
    return new GraphQLError(error.message, { ...position, extensions: { code: TRANSPORT_CODES[error.failure] } });
  }
  return undefined;
}

function graphDetails(error: GraphApiError): Record<string, unknown> {
  return {
    code: error.code,
    subcode: error.subcode ?? null,
    type: error.type,
    fbtraceId: error.fbtraceId ?? null,
    isTransient: error.isTransient,
  };
}
