import { GraphQLError, type GraphQLObjectType } from 'graphql';
import { builder } from '../builder.js';
import { serializeFields } from '../graph-api/fields.js';
import type { GraphMessage, GraphThread } from '../graph-api/wire-types.js';
import type { ConversationShape } from './conversation.js';
import { prefetchDeferredEdges } from './edge-connection.js';
import { planObjectRead } from './field-plan.js';
import type { MessageShape } from './message.js';
import { checkGraphId, type PageShape } from './page.js';

const badNodeId = (): GraphQLError =>
  new GraphQLError('Invalid node id: pass an `id` exactly as this API returned it.', { extensions: { code: 'BAD_NODE_ID' } });

/** Splits the `pageId:graphId` key that Conversation and Message global ids carry. */
function splitKey(key: string): { pageId: string; graphId: string } {
  const separator = key.indexOf(':');
  if (separator <= 0) throw badNodeId();
  return { pageId: checkGraphId(key.slice(0, separator), 'Page id'), graphId: checkGraphId(key.slice(separator + 1), 'Graph id') };
}

builder.queryField('node', (t) =>
  t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description: 'Fetches a Page, Conversation or Message by its global `id`. Several lookups in one query share one upstream request.',
    args: { id: t.arg.globalID({ required: true }) },
    resolve: async (_root, args, context, info) => {
      const { typename, id } = args.id;
      const selectionSets = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
      const planFor = (type: string) => planObjectRead(info, info.schema.getType(type) as GraphQLObjectType, selectionSets);
      switch (typename) {
        case 'Page':
          return { kind: 'Page', pageId: checkGraphId(id, 'Page id') } satisfies PageShape;
        case 'Conversation': {
          const { pageId, graphId } = splitKey(id);
          const plan = planFor('Conversation');
          prefetchDeferredEdges(context, { pageId, graphId }, plan.deferred);
          const read = { path: graphId, params: { fields: serializeFields(plan.fields) } };
          const thread = await context.graph.read<GraphThread>(read, pageId, { about: { kind: 'thread', threadId: graphId } });
          context.noteFetched(info.path, thread.fetchedAt, thread.stale);
          const fetched = { fetchedAt: thread.fetchedAt, stale: thread.stale };
          return { kind: 'Conversation', pageId, thread: thread.value, expanded: plan.expanded, fetched } satisfies ConversationShape;
        }
        case 'Message': {
          const { pageId, graphId } = splitKey(id);
          const fields = serializeFields(planFor('Message').fields);
          const message = await context.graph.read<GraphMessage>({ path: graphId, params: { fields } }, pageId);
          return { kind: 'Message', pageId, message: message.value } satisfies MessageShape;
        }
        default:
          throw badNodeId();
      }
    },
  }),
);
