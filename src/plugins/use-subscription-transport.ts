import type { Plugin } from 'graphql-yoga';
import { gatewayError } from '../gateway-errors.js';

/** Whether an `Accept` header takes server-sent events (`text/event-stream`, `text/*` or `*\/*`). */
function acceptsEventStream(accept: string | null): boolean {
  if (accept === null) return true;
  return accept
    .toLowerCase()
    .split(',')
    .some((part) => ['text/event-stream', 'text/*', '*/*'].includes(part.split(';')[0]!.trim()));
}

/**
 * Over HTTP, yoga streams subscriptions as server-sent events only: it does not speak Apollo's
 * multipart subscription protocol (`multipart/mixed;subscriptionSpec=1.0`, what Apollo Client's
 * `HttpLink` asks for), and left alone answers such a request with a bare 406 after the subscription
 * has started. This refuses it before it starts (no Graph read, no listener) with a JSON error that
 * names the transports that work: server-sent events, or the graphql-ws protocol on the same path.
 */
export function useSubscriptionTransport(): Plugin {
  // Requests that came in over HTTP; operations on a WebSocket (websocket.ts) never pass yoga's onRequest.
  const overHttp = new WeakSet<Request>();
  const refused = new WeakSet<Request>();
  return {
    onRequest({ request }) {
      overHttp.add(request);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (request === undefined || !overHttp.has(request) || acceptsEventStream(request.headers.get('accept'))) return;
      refused.add(request);
      setResultAndStopExecution({
        errors: [
          gatewayError(
            'SUBSCRIPTION_TRANSPORT_UNSUPPORTED',
            'Subscriptions over HTTP are served as server-sent events (Accept: text/event-stream), not as multipart responses; or open ' +
              'a WebSocket on this path with the graphql-ws protocol (Apollo Client: GraphQLWsLink).',
          ),
        ],
      });
    },
    onResultProcess({ request, setResultProcessor }) {
      if (!refused.has(request)) return;
      // 406 and JSON whatever Accept says (`multipart/mixed` alone takes no JSON): a body that names the way out beats an empty 406.
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
