import type { GraphQLObjectType } from 'graphql';
import { builder, encodeGlobalId } from '../builder.js';
import { badNodeId } from '../gateway-errors.js';
import { serializeFields } from '../graph-api/fields.js';
import { readConversation } from './conversation.js';
import { planObjectRead } from './field-plan.js';
import { readMessage } from './message.js';
import { checkGraphId, type PageShape } from './page.js';

/** Splits the `pageId:graphId` key that Conversation and Message global ids carry (a mutation input's ids too). */
export function splitNodeKey(typename: string, key: string): { pageId: string; graphId: string } {
  const separator = key.indexOf(':');
  if (separator <= 0) throw badNodeId(encodeGlobalId(typename, key));
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
      switch (typename) {
        case 'Page':
          return { kind: 'Page', pageId: await context.resolvePageId(checkGraphId(id, 'Page id')) } satisfies PageShape;
        case 'Conversation': {
          const { pageId, graphId } = splitNodeKey(typename, id);
          return readConversation(context, info, pageId, graphId, { kind: 'thread', threadId: graphId });
        }
        case 'Message': {
          const { pageId, graphId } = splitNodeKey(typename, id);
          const plan = planObjectRead(info, info.schema.getType('Message') as GraphQLObjectType, selectionSets, context.graphApiMajor);
          return readMessage(context, pageId, graphId, serializeFields(plan.fields));
        }
        default:
          throw badNodeId(encodeGlobalId(typename, id));
      }
    },
  }),
);
