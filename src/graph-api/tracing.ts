/**
 * The gateway's spans, through `@opentelemetry/api` only: with no SDK registered (the default, see
 * src/tracing.ts) every call here is a no-op. Span and attribute names live here, once; attributes never
 * hold a token, a proof or a query string, and a Page's id only when the operator opts in (TRACE_PAGE_IDS).
 */
import { type Attributes, type Context, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';

/** The service's name in traces (its tracer's, and `service.name` unless OTEL_SERVICE_NAME says otherwise). */
export const SERVICE_NAME = 'graph-inbox-gateway';

/** The tracer every span of the gateway comes from. */
export const tracer = trace.getTracer(SERVICE_NAME);

export const SPAN_NAMES = {
  /** A read waiting for its Page's call window (call-budget.ts), from joining the line to leaving it. */
  budgetWait: 'graph.budget.wait',
  /** One HTTP request to the Graph API: a GET, a batch POST (its items as events) or a write. */
  request: 'graph.request',
  /** One read looked up in the read cache. */
  cacheLookup: 'graph.cache.lookup',
} as const;

/** The event a batch request's span carries for each of its items. */
export const BATCH_ITEM_EVENT = 'graph.batch.item';

/** The gateway's own attributes (the HTTP ones are OpenTelemetry's semantic conventions). */
export const ATTRIBUTES = {
  /** A Graph path relative to the API's origin, without its query string: `v25.0/1000000001/conversations`. */
  relativePath: 'graph.relative_path',
  /** Items of a batch request. */
  batchItems: 'graph.batch.items',
  /** Billed calls a read claims from its Page's budget (a page and its follow-ups). */
  budgetCalls: 'graph.budget.calls',
  /** How a wait ended: `granted`, `refused` (a throttle block, or a wait past the deadline) or `cancelled`. */
  budgetOutcome: 'graph.budget.outcome',
  /** The attempt a wait is for (2 and up: a retry). */
  attempt: 'graph.attempt',
  /** The Page a read spends the budget of, only with TRACE_PAGE_IDS. */
  pageId: 'graph.page.id',
  /** `hit`, `miss` (read upstream) or `joined` (shares a read in flight). */
  cacheResult: 'graph.cache.result',
} as const;

export type BudgetOutcome = 'granted' | 'refused' | 'cancelled';
export type CacheResult = 'hit' | 'miss' | 'joined';

/** `version/path`: what a span may say of a Graph request (its query string may carry a token or a proof). */
export const relativePathOf = (version: string, path: string): string => `${version}/${path}`;

/**
 * Runs `send` under a client span for one Graph HTTP request; its headers carry the span's `traceparent`
 * (see {@link traceHeaders}). A thrown error marks the span failed and is rethrown.
 */
export function inRequestSpan<T>(method: 'GET' | 'POST', attributes: Attributes, send: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(
    SPAN_NAMES.request,
    { kind: SpanKind.CLIENT, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, ...attributes } },
    async (span) => {
      try {
        return await send(span);
      } catch (error) {
        markFailed(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Records an HTTP status on a request span; 4xx and 5xx mark it failed, as the HTTP conventions say for clients. */
export function recordStatus(span: Span, status: number): void {
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 400) {
    span.setAttribute(ATTR_ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/** Marks a span failed with the error's class name (its message may quote an upstream answer: not kept). */
export function markFailed(span: Span, error: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : 'unknown');
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The W3C trace context headers (`traceparent`, `tracestate`) of the active span, for an outgoing request. */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/** Starts a budget wait span under `parent`. */
export function startBudgetWait(parent: Context, attributes: Attributes): Span {
  return tracer.startSpan(SPAN_NAMES.budgetWait, { attributes }, parent);
}

/** Ends a budget wait span with how the wait ended. */
export function endBudgetWait(span: Span, outcome: BudgetOutcome): void {
  span.setAttribute(ATTRIBUTES.budgetOutcome, outcome);
  span.end();
}
