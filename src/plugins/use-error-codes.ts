import { GraphQLError, OperationTypeNode, type ExecutionResult, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayErrorCode } from '../gateway-errors.js';
import { scrubSecrets } from '../graph-api/scrub.js';

export interface ErrorCodesOptions {
  /** Drop `extensions.originalError`, where yoga quotes what the client sent (a malformed JSON body). */
  production: boolean;
}

/**
 * An operation type the schema has no root type for: refused when the document
 * is validated, as graphql-js 17's KnownOperationTypesRule does, instead of failing at execution with
 * no code.
 */
const knownOperationTypes: ValidationRule = (context) => ({
  OperationDefinition(node) {
    const schema = context.getSchema();
    if (schema.getRootType(node.operation) !== undefined) return;
    const served = Object.values(OperationTypeNode).filter((operation) => schema.getRootType(operation) !== undefined);
    context.reportError(
      new GraphQLError(`This API has no ${node.operation}s: it serves ${served.join(' and ')} operations.`, { nodes: node }),
    );
  },
});

/**
 * The code of an error that reached the answer without one (over HTTP here, over WebSocket in websocket.ts).
 * Errors with a path come from resolvers, which are all coded or masked; errors without one are about the
 * request as sent: graphql-js leaves its variable checks ("Variable "$first" got invalid value …") and
 * operation choice ("Unknown operation named …") uncoded, and those are all it can be.
 */
export function missingCode(error: GraphQLError): GatewayErrorCode {
  if (error.path !== undefined) return 'INTERNAL_SERVER_ERROR';
  return error.message.startsWith('Variable "$') ? 'BAD_USER_INPUT' : 'BAD_REQUEST';
}

/** What development answers show of an unexpected error (yoga's `originalError`: message, stack), scrubbed of secrets. */
function scrubEchoed(echoed: unknown): unknown {
  if (typeof echoed !== 'object' || echoed === null) return echoed;
  return Object.fromEntries(Object.entries(echoed).map(([key, value]) => [key, typeof value === 'string' ? scrubSecrets(value) : value]));
}

function withCode(error: GraphQLError, production: boolean): GraphQLError {
  const { originalError: echoed, ...extensions } = error.extensions as Record<string, unknown>;
  const coded = typeof extensions.code === 'string';
  const strip = production && echoed !== undefined;
  // Upstream messages are scrubbed as they are read (graph-api/errors.ts); this catches any other text that quotes a secret.
  const message = scrubSecrets(error.message);
  if (coded && !strip && echoed === undefined && message === error.message) return error;
  const http = extensions.http as { status?: number; spec?: boolean } | undefined;
  return new GraphQLError(message, {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    path: error.path ?? null,
    originalError: error.originalError ?? null,
    extensions: {
      ...(strip ? {} : echoed === undefined ? {} : { originalError: scrubEchoed(echoed) }),
      ...extensions,
      code: coded ? extensions.code : missingCode(error),
      // yoga reads the status of a malformed body from `originalError` for `application/json` clients: keep it 400.
      ...(strip && http !== undefined ? { http: { status: http.status ?? 400 } } : {}),
    },
  });
}

/**
 * Every error a client gets carries an `extensions.code`: validation, parsing and request errors
 * included (`GRAPHQL_VALIDATION_FAILED`, `GRAPHQL_PARSE_FAILED`, `BAD_REQUEST`, `BAD_USER_INPUT`), and an
 * operation type the schema lacks is a validation error. In production no error quotes the request body. Every message (and
 * what development shows of an unexpected error) is scrubbed of secrets on its way out.
 */
export function useErrorCodes({ production }: ErrorCodesOptions): Plugin {
  const fix = (result: ExecutionResult): ExecutionResult =>
    result.errors === undefined ? result : { ...result, errors: result.errors.map((error) => withCode(error, production)) };
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(knownOperationTypes);
    },
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) setResult(result.map(fix));
      else if (!(Symbol.asyncIterator in result)) setResult(fix(result));
    },
  };
}
