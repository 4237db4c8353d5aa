import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import type { GatewayContext } from './context.js';
import { badNodeId } from './gateway-errors.js';

/** The SchemaBuilder and its plugins; types are defined in `schema/`, one file each. */
export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
  };
  // Every connection says when its data was read from Graph.
  Connection: { fetchedAt: Date };
}>({
  plugins: [RelayPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    nodesOnConnection: true,
    nodeQueryOptions: false, // Query.node is defined in schema/node.ts, which plans the read
    nodesQueryOptions: false,
    decodeGlobalID: (globalId) => {
      const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
      const separator = decoded.indexOf(':');
      if (separator <= 0 || Buffer.from(decoded).toString('base64') !== globalId) {
        throw badNodeId(globalId);
      }
      return { typename: decoded.slice(0, separator), id: decoded.slice(separator + 1) };
    },
  },
});

/**
 * A node's global `id`: the base64 of `typename:id`, as Pothos Relay encodes it and {@link builder}'s decodeGlobalID reads it
 * (ids clients hold keep working). Node types resolve their `id` with it synchronously: Pothos Relay's own `id` field is an
 * `async` resolver, a promise per node and a deferred completion in graphql-jit for each of an inbox's 25 conversations.
 */
export function encodeGlobalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`).toString('base64');
}

builder.queryType({});
builder.mutationType({ description: 'Replies: sending a message (exactly once per idempotency key) and sender actions.' });

builder.globalConnectionField('fetchedAt', (t) =>
  t.field({
    type: 'DateTime',
    description:
      'When the data of this page of the list was read from Graph: just now, or earlier when it is served from the cache (kept fresh ' +
      'by Meta’s webhooks), or stale while Graph cannot be called (then `extensions.stale` lists it). A UI can show "updated 40 s ago".',
    resolve: (connection) => connection.fetchedAt,
  }),
);
