/**
 * Operations sent by hash (`extensions.persistedQuery { version: 1, sha256Hash }`, as Apollo's
 * persisted-queries link, urql and GraphQL Code Generator's persisted documents send them).
 *
 * With a manifest, a hash is looked up in it; an unknown one answers `PersistedQueryNotFound`, on which
 * Apollo's link resends the text (run unless `only`). Without one, a hash alone answers
 * `PersistedQueryNotSupported`, on which Apollo's link stops sending hashes and resends the text; a
 * request with both runs the text.
 */
import { defaultExtractPersistedOperationId, usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { PersistedOperations } from '../config.js';
import { type GatewayErrorCode, gatewayError } from '../gateway-errors.js';

/** The codes and messages Apollo's persisted-queries link reads (it checks either). */
const ERRORS = {
  notFound: ['PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound'],
  notSupported: ['PERSISTED_QUERY_NOT_SUPPORTED', 'PersistedQueryNotSupported'],
  persistedQueryOnly: [
    'PERSISTED_QUERY_ONLY',
    'This gateway runs persisted operations only: send extensions.persistedQuery { version: 1, sha256Hash } of an operation in its ' +
      'manifest.',
  ],
  keyNotFound: [
    'PERSISTED_QUERY_ID_REQUIRED',
    'Send a GraphQL document as `query`, or extensions.persistedQuery { version: 1, sha256Hash }.',
  ],
} as const satisfies Record<string, readonly [GatewayErrorCode, string]>;

/**
 * `error` with its HTTP status under `application/graphql-response+json`, as Apollo Router answers:
 * unknown hash 404, the rest 400. `spec: true` keeps 200 for `application/json` clients, as the
 * GraphQL-over-HTTP spec asks for a well-formed request.
 */
const withStatus = ([code, message]: readonly [GatewayErrorCode, string], status: number) => ({
  message,
  extensions: { ...gatewayError(code, message).extensions, http: { status, spec: true } },
});

// Manifests and clients write the hash bare or as `sha256:<hex>` (GraphQL Code Generator): take both.
const lookUp = (documents: PersistedOperations['documents'], hash: string): string | null =>
  documents.get(hash) ?? documents.get(hash.startsWith('sha256:') ? hash.slice(7) : `sha256:${hash}`) ?? null;

/** Runs operations sent by hash from the manifest (with `only`, refuses any sent as text); without one, says hashes are not supported. */
export function usePersistedManifest(manifest: PersistedOperations | undefined): Plugin {
  if (manifest === undefined) {
    return {
      onParams({ params, request, context }) {
        if (!params.query && defaultExtractPersistedOperationId(params, request, context) !== null) {
          throw createGraphQLError(ERRORS.notSupported[1], withStatus(ERRORS.notSupported, 400));
        }
      },
    };
  }
  const { documents, only } = manifest;
  return usePersistedOperations({
    getPersistedOperation: (hash) => lookUp(documents, hash),
    allowArbitraryOperations: !only,
    customErrors: {
      notFound: withStatus(ERRORS.notFound, 404),
      persistedQueryOnly: withStatus(ERRORS.persistedQueryOnly, 400),
      keyNotFound: withStatus(ERRORS.keyNotFound, 400),
    },
  });
}

/**
 * The text of the operation `payload` asks for, by the same rules as {@link usePersistedManifest} (`manifest`
 * undefined: none configured): for transports that bypass yoga's HTTP pipeline (the WebSocket server). Throws
 * the same `GraphQLError`s.
 */
export function persistedOperationText(
  manifest: PersistedOperations | undefined,
  payload: { query?: string | null | undefined; extensions?: Record<string, unknown> | null | undefined },
): string {
  if (manifest === undefined) {
    const hashOnly = (typeof payload.query !== 'string' || payload.query === '') && payload.extensions?.persistedQuery != null;
    if (hashOnly) throw gatewayError(ERRORS.notSupported[0], ERRORS.notSupported[1]);
    return payload.query ?? '';
  }
  const { documents, only } = manifest;
  if (typeof payload.query === 'string' && payload.query !== '') {
    if (only) throw gatewayError(...ERRORS.persistedQueryOnly);
    return payload.query;
  }
  const persisted = payload.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | null | undefined;
  if (persisted?.version !== 1 || typeof persisted.sha256Hash !== 'string') {
    throw gatewayError(...ERRORS.keyNotFound);
  }
  const text = lookUp(documents, persisted.sha256Hash);
  if (text === null) throw gatewayError(...ERRORS.notFound);
  return text;
}
