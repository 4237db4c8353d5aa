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
    const code = graphErrorCode(error);
    const message = code === 'GRAPH_PERMISSION_DENIED' ? permissionMessage(error.message) : error.message;
    return new GraphQLError(message, { ...position, extensions: { code, graph: graphDetails(error) } });
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
  };
}

/** Meta's reference of the permissions and what each allows. */
export const PERMISSIONS_REFERENCE_URL = 'https://developers.facebook.com/docs/permissions';
/** A permission's name as Graph writes it in a message: `pages_messaging`, `instagram_manage_messages`, `pages_read_engagement`. */
const PERMISSION_NAME = /\b(?:pages|instagram|business|read|publish|manage|user|email|public)_[a-z_]+\b|\bemail\b/;

/**
 * The message of a permission error. Graph sends no machine-readable list of what is missing (Meta: Handling Errors,
 * developers.facebook.com/docs/graph-api/guides/error-handling): its message, when it names the permission ("(#200) Requires
 * pages_messaging permission to manage the object"), says it best; otherwise (a Page task, a capability) the client is told what
 * kind of thing is missing and where Meta lists them. Only the wording depends on the text; the code never does.
 */
function permissionMessage(graphMessage: string): string {
  if (PERMISSION_NAME.test(graphMessage)) return graphMessage;
  return (
    `The token lacks a permission, or its user a task on the Page, that this call needs (Graph: "${graphMessage}"). Meta's ` +
    `permissions reference says what each call needs: ${PERMISSIONS_REFERENCE_URL}`
  );
}
