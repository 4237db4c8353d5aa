import { GraphQLError, type GraphQLObjectType } from 'graphql';
import { builder } from '../builder.js';
import { serializeFields } from '../graph-api/fields.js';
import type { GraphMessage, GraphThread } from '../graph-api/wire-types.js';
import { messagesPageRead, messagesScope, type ConversationShape } from './conversation.js';
import type { GatewayContext } from '../context.js';
import { planObjectRead, type DeferredEdge } from './field-plan.js';
import { firstPageRequest, planConnection } from './graph-connection.js';
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

/**
 * Starts the reads of `messages(after:/before:)` selected on a conversation together with the read of
 * the conversation itself, so both leave in one batch; the field's resolver then finds its page in the
 * operation's loader. Bad arguments are left to that resolver to report.
 */
function prefetchDeferredMessages(context: GatewayContext, pageId: string, threadId: string, deferred: readonly DeferredEdge[]): void {
  for (const edge of deferred) {
    if (edge.edge !== 'messages') continue;
    try {
      const request = firstPageRequest(
        planConnection(edge.args, context.cursors, messagesScope(threadId, context.viewerKey)),
        context.graphPageCap,
      );
      if (request !== null)
        void context.graph.read(messagesPageRead(threadId, serializeFields(edge.fields), request), pageId).catch(() => undefined);
    } catch {
      // Reported by the field's resolver.
    }
  }
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
          prefetchDeferredMessages(context, pageId, graphId, plan.deferred);
          const thread = await context.graph.read<GraphThread>({ path: graphId, params: { fields: serializeFields(plan.fields) } }, pageId);
          return { kind: 'Conversation', pageId, thread, expanded: plan.expanded } satisfies ConversationShape;
        }
        case 'Message': {
          const { pageId, graphId } = splitKey(id);
          const fields = serializeFields(planFor('Message').fields);
          const message = await context.graph.read<GraphMessage>({ path: graphId, params: { fields } }, pageId);
          return { kind: 'Message', pageId, message } satisfies MessageShape;
        }
        default:
          throw badNodeId();
      }
    },
  }),
);
