/**
 * The one place where upstream failures become client errors: each Graph error code/subcode maps to
 * a stable `extensions.code` by the Graph error rules (graph-api/error-rules.ts; decided by code, never
 * by message text), with the Graph details a support ticket needs. Anything else stays masked.
 */
import { GraphQLError } from 'graphql';
import { gatewayError } from './gateway-errors.js';
import { type GraphClientCode, graphErrorRule, RATE_LIMITED_CODE } from './graph-api/error-rules.js';
import { GraphApiError, GraphRateLimitError, GraphTransportError, OperationAbortedError } from './graph-api/errors.js';

/** Stable client-facing code for a Graph error. */
export function graphErrorCode(error: GraphApiError): GraphClientCode {
  return graphErrorRule(error.code, error.subcode).clientCode;
}

const TRANSPORT_CODES = {
  timeout: 'GRAPH_TIMEOUT',
  'slot-timeout': 'GRAPH_TIMEOUT',
  connection: 'GRAPH_UNAVAILABLE',
  'malformed-response': 'GRAPH_UNAVAILABLE',
} as const satisfies Record<GraphTransportError['failure'], GraphClientCode>;

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
        code: RATE_LIMITED_CODE,
        retryAfterSeconds: error.retryAfterSeconds,
        ...(error.graphError ? { graph: graphDetails(error.graphError) } : {}),
      },
    });
  }
  if (error instanceof GraphApiError) {
    return new GraphQLError(error.message, { ...position, extensions: { code: graphErrorCode(error), graph: graphDetails(error) } });
  }
  if (error instanceof OperationAbortedError) {
    return gatewayError('OPERATION_TIMEOUT', error.message, {}, position);
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
    // What a permission error says is missing, when Graph's answer says it in machine-readable form.
    ...(error.missing === undefined
      ? {}
      : { missingPermissions: error.missing.permissions ?? null, requiredTasks: error.missing.tasks ?? null }),
  };
}
