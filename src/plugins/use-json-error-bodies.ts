import type { Plugin } from 'graphql-yoga';
import { type GatewayErrorCode, gatewayErrorBody } from '../gateway-errors.js';

/** What each bodiless refusal means, in the words a client can act on. */
const REFUSALS: Readonly<Record<number, readonly [GatewayErrorCode, string]>> = {
  404: ['NOT_FOUND', 'Nothing is served at this path: GraphQL is at /graphql, health at /health, metrics at /metrics.'],
  406: [
    'NOT_ACCEPTABLE',
    'Accept application/graphql-response+json or application/json (text/event-stream or multipart/mixed for subscriptions).',
  ],
  415: [
    'UNSUPPORTED_MEDIA_TYPE',
    'POST a body of Content-Type application/json (or application/graphql+json, application/x-www-form-urlencoded).',
  ],
};

/**
 * yoga answers an unknown path (404), a body it cannot read (415) and an `Accept` it cannot serve
 * (406) with an empty body; clients get a GraphQL-shaped JSON error with a code instead, the
 * response's headers (CORS, `Accept`) kept.
 */
export function useJsonErrorBodies(): Plugin {
  return {
    onResponse({ response, setResponse, fetchAPI }) {
      const refusal = REFUSALS[response.status];
      if (refusal === undefined || response.headers.has('content-type')) return;
      const headers = new fetchAPI.Headers(response.headers);
      headers.set('content-type', 'application/json; charset=utf-8');
      setResponse(
        new fetchAPI.Response(gatewayErrorBody(...refusal), {
          status: response.status,
          statusText: response.statusText,
          headers,
        }),
      );
    },
  };
}
