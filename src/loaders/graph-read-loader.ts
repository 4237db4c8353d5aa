import DataLoader from 'dataloader';
import type { GraphApiClient, GraphRead, UpstreamUsage } from '../graph-api/client.js';
import type { GraphRequest } from '../graph-api/request.js';

/** Reads the Graph API for one GraphQL operation with one token. */
export interface GraphReadLoader {
  /** Resolves with the parsed body, rejects with a GraphApiError/GraphTransportError. */
  read<T = unknown>(request: GraphRequest): Promise<T>;
}

/**
 * One per operation (never shared: DataLoader caches answers, errors included, for its lifetime).
 * Identical reads in the operation are made once; all reads asked for in the same tick of the event
 * loop leave together, as one Graph batch request.
 */
export function createGraphReadLoader(client: GraphApiClient, token: string, usage: UpstreamUsage): GraphReadLoader {
  const loader = new DataLoader<GraphRead, unknown, string>((reads) => client.readMany(reads, usage), {
    cacheKeyFn: (read) => client.keyOf(read),
  });
  return {
    async read<T>(request: GraphRequest): Promise<T> {
      const read = { request, token };
      try {
        return (await loader.load(read)) as T;
      } catch (error) {
        // A failed read may succeed when asked again later in the same operation (graphql/dataloader#258).
        loader.clear(read);
        throw error;
      }
    },
  };
}
