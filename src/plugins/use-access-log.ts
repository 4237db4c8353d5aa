import { getOperationAST, type GraphQLError } from 'graphql';
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
      const context = args.contextValue as GatewayContext;
      return {
        onExecuteDone({ result }) {
          // An incremental result (@defer, @stream) is logged when it starts: its later parts are not awaited here.
          // Typed refusals join `errors` in a later plugin (use-refusal-errors.ts).
          const errors = Symbol.asyncIterator in result ? [] : [...(result.errors ?? []), ...context.refusals];
          const failed = errors.length > 0;
          const operation = getOperationAST(args.document, args.operationName);
          // `partial`: some root field answered despite the errors; `error`: none did.
          const answered = !(Symbol.asyncIterator in result) && Object.values(result.data ?? {}).some((value) => value != null);
          logger.info(
            {
              operationName: operation?.name?.value ?? null,
              operationType: operation?.operation ?? null,
              status: !failed ? 'ok' : answered ? 'partial' : 'error',
              durationMs: Math.round(performance.now() - started),
              upstream: { requests: context.usage.requests, calls: context.usage.calls, cached: context.usage.cached },
              pages: pagesOf(context),
              errorCodes: [...new Set(errors.map(codeOf))],
            },
            'operation',
          );
        },
      };
    },
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
