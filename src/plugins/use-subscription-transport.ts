import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { gatewayError } from '../gateway-errors.js';

/** How often a multipart subscription sends an empty part, so proxies and Apollo Client keep the response open. */
export const MULTIPART_HEARTBEAT_MS = 5_000;

/** The media types of an `Accept` header, lower case, parameters dropped. */
const mediaTypesOf = (accept: string | null): string[] =>
  (accept ?? '*/*')
    .toLowerCase()
    .split(',')
    .map((part) => part.split(';')[0]!.trim());

/** Whether an `Accept` header takes server-sent events (`text/event-stream`, `text/*` or `*\/*`). */
function acceptsEventStream(accept: string | null): boolean {
  return mediaTypesOf(accept).some((type) => ['text/event-stream', 'text/*', '*/*'].includes(type));
}

/** Whether an `Accept` header takes multipart responses (`multipart/mixed`, as Apollo Client's `HttpLink` asks for subscriptions). */
function acceptsMultipart(accept: string | null): boolean {
  return mediaTypesOf(accept).some((type) => type === 'multipart/mixed' || type === 'multipart/*');
}

/**
 * Subscriptions over HTTP, whichever way the client asks: server-sent events (yoga's own), or Apollo's
 * multipart subscription protocol (`multipart/mixed;subscriptionSpec=1.0`, what Apollo Client's `HttpLink`
 * asks for when no WebSocket link is set up), which yoga 5 does not serve for subscriptions (its
 * subscription processors are SSE and JSON only, so it answered 406 after the subscription started).
 * Multipart follows Apollo's protocol (apollographql.com/docs/graphos/routing/operations/subscriptions/multipart-protocol):
 * boundary `graphql`, each result as `{"payload": result}`, an empty `{}` part as heartbeat every
 * {@link MULTIPART_HEARTBEAT_MS}. Caps and tenancy are the other plugins' (use-subscription-caps.ts, the
 * field's own proof): this only writes the stream. A subscription whose `Accept` takes neither is refused
 * before it starts (no Graph read, no listener), 406 with a JSON error naming the transports that work.
 */
export function useSubscriptionTransport(): Plugin {
  // Requests that came in over HTTP; operations on a WebSocket (websocket.ts) never pass yoga's onRequest.
  const overHttp = new WeakSet<Request>();
  const refused = new WeakSet<Request>();
  const multipart = new WeakSet<Request>();
  return {
    onRequest({ request }) {
      overHttp.add(request);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (request === undefined || !overHttp.has(request)) return;
      const accept = request.headers.get('accept');
      if (acceptsEventStream(accept)) return;
      if (acceptsMultipart(accept)) {
        multipart.add(request);
        return;
      }
      refused.add(request);
      setResultAndStopExecution({
        errors: [
          gatewayError(
            'SUBSCRIPTION_TRANSPORT_UNSUPPORTED',
            'Subscriptions over HTTP are served as server-sent events (Accept: text/event-stream) or as Apollo multipart responses ' +
              '(Accept: multipart/mixed;subscriptionSpec=1.0); or open a WebSocket on this path with the graphql-ws protocol.',
          ),
        ],
      });
    },
    onResultProcess({ request, result, setResultProcessor }) {
      if (multipart.has(request) && isAsyncIterable(result)) {
        setResultProcessor(
          (stream, fetchAPI) => multipartSubscriptionResponse(stream as AsyncIterable<unknown>, fetchAPI),
          'multipart/mixed',
        );
        return;
      }
      if (!refused.has(request)) return;
      // 406 and JSON whatever Accept says: a body that names the way out beats an empty 406.
      const mediaType = request.headers.get('accept')?.includes('application/graphql-response+json')
        ? 'application/graphql-response+json'
        : 'application/json';
      setResultProcessor(
        (refusal, fetchAPI) =>
          new fetchAPI.Response(JSON.stringify(refusal), { status: 406, headers: { 'content-type': `${mediaType}; charset=utf-8` } }),
        mediaType,
      );
    },
  };
}

const BOUNDARY = 'graphql';

/** A subscription's results as Apollo's multipart subscription protocol writes them. */
function multipartSubscriptionResponse(
  results: AsyncIterable<unknown>,
  fetchAPI: { Response: typeof Response; ReadableStream: typeof ReadableStream; TextEncoder: typeof TextEncoder },
): Response {
  const encoder = new fetchAPI.TextEncoder();
  const iterator = results[Symbol.asyncIterator]();
  const part = (json: string): Uint8Array =>
    encoder.encode(`\r\ncontent-type: application/json; charset=utf-8\r\n\r\n${json}\r\n--${BOUNDARY}`);
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const stop = (): void => clearInterval(heartbeat);
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`\r\n--${BOUNDARY}`));
      heartbeat = setInterval(() => controller.enqueue(part('{}')), MULTIPART_HEARTBEAT_MS);
      heartbeat.unref?.();
    },
    async pull(controller) {
      try {
        const { done, value } = await iterator.next();
        if (done === true) {
          stop();
          controller.enqueue(encoder.encode('--\r\n'));
          controller.close();
          return;
        }
        controller.enqueue(part(JSON.stringify({ payload: withoutInternals(value) })));
      } catch (error) {
        stop();
        controller.error(error);
      }
    },
    async cancel() {
      stop();
      await iterator.return?.();
    },
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: {
      'content-type': `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec=1.0`,
      'cache-control': 'no-store',
    },
  });
}

/** A result as written to clients: without yoga's `http` extension on errors, which only sets a status. */
function withoutInternals(result: unknown): unknown {
  const { errors, ...rest } = result as { errors?: readonly { toJSON?: () => unknown }[] };
  if (errors === undefined) return rest;
  return {
    ...rest,
    errors: errors.map((error) => {
      const json = (typeof error.toJSON === 'function' ? error.toJSON() : error) as { extensions?: Record<string, unknown> };
      if (json.extensions === undefined) return json;
      const { http: _http, ...extensions } = json.extensions;
      return { ...json, extensions };
    }),
  };
}
