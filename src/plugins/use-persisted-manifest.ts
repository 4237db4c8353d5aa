/**
 * Operations sent by hash (`extensions.persistedQuery { version: 1, sha256Hash }`, as Apollo's
 * persisted-queries link, urql and GraphQL Code Generator's persisted documents send them) are looked
 * up in the manifest. The error for an unknown hash keeps Apollo's `PersistedQueryNotFound` message,
 * on which its link falls back to sending the text when that is allowed.
 */
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { PersistedOperations } from '../config.js';

const ERRORS = {
  notFound: { message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
  persistedQueryOnly: {
    message:
      'This gateway runs persisted operations only: send extensions.persistedQuery { version: 1, sha256Hash } of an operation in its manifest.',
    extensions: { code: 'PERSISTED_QUERY_ONLY' },
  },
  keyNotFound: {
    message: 'Send a GraphQL document as `query`, or extensions.persistedQuery { version: 1, sha256Hash }.',
    extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' },
  },
} as const;

// Manifests and clients write the hash bare or as `sha256:<hex>` (GraphQL Code Generator): take both.
const lookUp = (documents: PersistedOperations['documents'], hash: string): string | null =>
  documents.get(hash) ?? documents.get(hash.startsWith('sha256:') ? hash.slice(7) : `sha256:${hash}`) ?? null;

/** Runs operations sent by hash from the manifest; with `only`, refuses any operation sent as text. */
export function usePersistedManifest({ documents, only }: PersistedOperations): Plugin {
  return usePersistedOperations({
    getPersistedOperation: (hash) => lookUp(documents, hash),
    allowArbitraryOperations: !only,
    customErrors: ERRORS,
  });
}

/**
 * The text of the operation `payload` asks for, by the same rules as {@link usePersistedManifest}: for
 * transports that bypass yoga's HTTP pipeline (the WebSocket server). Throws the same `GraphQLError`s.
 */
export function persistedOperationText(
  { documents, only }: PersistedOperations,
  payload: { query?: string | null | undefined; extensions?: Record<string, unknown> | null | undefined },
): string {
  if (typeof payload.query === 'string' && payload.query !== '') {
    if (only) throw new GraphQLError(ERRORS.persistedQueryOnly.message, { extensions: ERRORS.persistedQueryOnly.extensions });
    return payload.query;
  }
  const persisted = payload.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | null | undefined;
  if (persisted?.version !== 1 || typeof persisted.sha256Hash !== 'string') {
    throw new GraphQLError(ERRORS.keyNotFound.message, { extensions: ERRORS.keyNotFound.extensions });
  }
  const text = lookUp(documents, persisted.sha256Hash);
  if (text === null) throw new GraphQLError(ERRORS.notFound.message, { extensions: ERRORS.notFound.extensions });
  return text;
}
