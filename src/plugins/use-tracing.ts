import { context, propagation, type Span, SpanKind, SpanStatusCode, type TextMapGetter } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';
import { markFailed, tracer } from '../graph-api/tracing.js';

/**
 * OpenTelemetry's GraphQL attributes (semantic conventions, still "incubating": copied here rather than imported
 * from `@opentelemetry/semantic-conventions/incubating`, whose names may change in any minor release).
 */
export const GRAPHQL_ATTRIBUTES = {
  operationName: 'graphql.operation.name',
  operationType: 'graphql.operation.type',
} as const;

/** The name of an operation's span until its document is known (an operation refused before execution keeps it). */
export const OPERATION_SPAN_FALLBACK_NAME = 'GraphQL Operation';

/** Reads W3C trace context from a fetch `Headers` (an HTTP request, or a WebSocket's upgrade request). */
const headersGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

interface OperationPayload {
  context: { request?: Request; params?: object };
}

/**
 * One span per GraphQL operation, over HTTP and WebSocket alike: named `<type> <name>` (`query Inbox`) with
 * its type and name as attributes, and never its variables or document (they may hold what a caller typed).
 * An incoming `traceparent` continues the caller's trace; the Graph spans of the operation's reads go under
 * it (graph-api/tracing.ts). A no-op until an OpenTelemetry SDK is registered (src/tracing.ts).
 *
 * Written on `@opentelemetry/api` rather than `@envelop/opentelemetry` 9: that plugin depends on the 1.x trace
 * SDK (a second SDK beside the 2.x one), reads no incoming trace context (it expects an HTTP instrumentation to),
 * and by default records the document and a span per resolver.
 */
export function useTracing(): Plugin<GatewayContext> {
  // By the operation's params, the one object both the instrumentation and `onExecute` see.
  const spans = new WeakMap<object, Span>();
  const traced = ({ context: operation }: OperationPayload, wrapped: () => unknown): unknown => {
    const incoming = operation.request?.headers;
    const parent = incoming === undefined ? context.active() : propagation.extract(context.active(), incoming, headersGetter);
    return tracer.startActiveSpan(OPERATION_SPAN_FALLBACK_NAME, { kind: SpanKind.SERVER }, parent, (span) => {
      if (operation.params !== undefined) spans.set(operation.params, span);
      try {
        const done = wrapped();
        if (!(done instanceof Promise)) {
          span.end();
          return done;
        }
        return done.then(
          (value) => {
            span.end();
            return value;
          },
          (error: unknown) => {
            markFailed(span, error);
            span.end();
            throw error;
          },
        );
      } catch (error) {
        markFailed(span, error);
        span.end();
        throw error;
      }
    });
  };
  const describe = (params: object | undefined, document: DocumentNode, operationName: string | null | undefined): void => {
    const span = params === undefined ? undefined : spans.get(params);
    const operation = getOperationAST(document, operationName);
    if (span === undefined || operation === null || operation === undefined) return;
    const name = operation.name?.value;
    span.updateName(name === undefined ? operation.operation : `${operation.operation} ${name}`);
    span.setAttribute(GRAPHQL_ATTRIBUTES.operationType, operation.operation);
    if (name !== undefined) span.setAttribute(GRAPHQL_ATTRIBUTES.operationName, name);
  };
  return {
    instrumentation: {
      execute: (payload, wrapped) => traced(payload, wrapped) as Promise<void>,
      subscribe: (payload, wrapped) => traced(payload, wrapped) as Promise<void>,
    },
    onSubscribe({ args }) {
      describe(args.contextValue.params, args.document, args.operationName);
    },
    onExecute({ args }) {
      const params = args.contextValue.params;
      describe(params, args.document, args.operationName);
      return {
        onExecuteDone({ result }) {
          const span = spans.get(params);
          // A result with errors marks the span failed, by its first error's stable code (never its message).
          if (span === undefined || !('errors' in result) || result.errors === undefined || result.errors.length === 0) return;
          const code = result.errors[0]?.extensions?.code;
          span.setAttribute(ATTR_ERROR_TYPE, typeof code === 'string' ? code : 'GraphQLError');
          span.setStatus({ code: SpanStatusCode.ERROR });
        },
      };
    },
  };
}
