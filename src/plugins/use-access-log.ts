import { type ExecutionArgs, type ExecutionResult, getOperationAST, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';
import { toClientError } from '../graph-errors.js';
import type { Logger } from '../logger.js';
import { REQUEST_ID_HEADER, requestIdOf, requestScope } from '../request-scope.js';

export interface AccessLogOptions {
  /** Where the access lines go (the gateway's logger). */
  logger: Logger;
}

/** Most Page ids an access line lists: enough to find a noisy Page, never a line the size of a fleet. */
export const ACCESS_LINE_MAX_PAGES = 10;

/**
 * Names each request and logs each operation:
 *   - every request runs in a scope holding its id (its `X-Request-Id` when well-formed, else its `traceparent`'s
 *     trace id, else a new one: request-scope.ts), which every log line written meanwhile carries as `requestId`,
 *     and which the response carries back as `X-Request-Id`;
 *   - each query or mutation gets one `info` line, `msg: 'operation'`, with its name and type, outcome, duration,
 *     upstream cost, the Pages it read and its error codes: never a token, never its variables.
 */
export function useAccessLog(options: AccessLogOptions): Plugin<GatewayContext> {
  const { logger } = options;
  return {
    instrumentation: {
      request: ({ request }, wrapped) => requestScope.run({ requestId: requestIdOf(request.headers) }, wrapped),
    },
    onResponse({ response }) {
      const scope = requestScope.getStore();
      if (scope !== undefined) response.headers.set(REQUEST_ID_HEADER, scope.requestId);
    },
    onExecute({ args }) {
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          logger.info(accessLine(args, started, result), 'operation');
        },
      };
    },
    onSubscribe({ args }) {
      const started = performance.now();
      return {
        // Logged when the subscription starts (or is refused): its events are not operations of their own.
        onSubscribeResult({ result }) {
          logger.info(accessLine(args, started, result), 'operation');
        },
      };
    },
  };
}

type OperationArgs = Pick<ExecutionArgs, 'document' | 'operationName' | 'contextValue'>;

/** The access line's fields for an operation's result (an event stream or incremental result: as it starts). */
function accessLine(args: OperationArgs, started: number, result: ExecutionResult | AsyncIterable<unknown>): Record<string, unknown> {
  const context = args.contextValue as GatewayContext;
  const streamed = Symbol.asyncIterator in result;
  // Typed refusals join `errors` in a later plugin (use-refusal-errors.ts).
  const errors = streamed ? [] : [...(result.errors ?? []), ...context.refusals];
  // `partial`: some root field answered despite the errors; `error`: none did.
  const answered = !streamed && Object.values(result.data ?? {}).some((value) => value != null);
  const operation = getOperationAST(args.document, args.operationName);
  return {
    operationName: operation?.name?.value ?? null,
    operationType: operation?.operation ?? null,
    status: errors.length === 0 ? 'ok' : answered ? 'partial' : 'error',
    durationMs: Math.round(performance.now() - started),
    upstream: { requests: context.usage.requests, calls: context.usage.calls, cached: context.usage.cached },
    pages: pagesOf(context),
    errorCodes: [...new Set(errors.map(codeOf))],
  };
}

/** The Pages an operation read, in the order it first read them. */
function pagesOf(context: GatewayContext): string[] {
  const pages = new Set<string>();
  for (const read of context.readsMade) {
    if (pages.size === ACCESS_LINE_MAX_PAGES) break;
    if (read.budgetKey !== undefined) pages.add(read.budgetKey);
  }
  return [...pages];
}

/** The `extensions.code` the client is told (upstream failures get theirs when masked, later). */
function codeOf(error: GraphQLError): string {
  const own = error.extensions?.code;
  if (typeof own === 'string') return own;
  const client = toClientError(error.originalError ?? error)?.extensions.code;
  return typeof client === 'string' ? client : 'INTERNAL_SERVER_ERROR';
}
