import type { GraphQLObjectType } from 'graphql';
import { builder } from '../builder.js';
import { serializeFields } from '../graph-api/fields.js';
import type { GraphRequest } from '../graph-api/request.js';
import type { GraphMessage, GraphPage, GraphThread } from '../graph-api/wire-types.js';
import { cursorScope } from './cursors.js';
import { graphEdge, graphFields, planConnectionNodes } from './field-plan.js';
import { planConnection, resolveConnection, type GraphPageRequest } from './graph-connection.js';
import { MessageRef, type MessageShape } from './message.js';
import { ParticipantRef } from './participant.js';

export interface ConversationShape {
  readonly kind: 'Conversation';
  /** The Page whose inbox holds the thread: part of the global id, so `node(id:)` knows the Page. */
  readonly pageId: string;
  readonly thread: GraphThread;
  /** Edges that the read of this thread expanded, with the page request each expansion made. */
  readonly expanded: ReadonlyMap<string, GraphPageRequest>;
}

export const ConversationRef = builder.objectRef<ConversationShape>('Conversation');

/** The list a thread's message cursors belong to. */
export const messagesScope = (threadId: string, viewerKey: string): string =>
  cursorScope({ list: 'messages', thread: threadId, viewer: viewerKey });

/** The Graph read of one page of a thread's messages. */
export const messagesPageRead = (threadId: string, fields: string, request: GraphPageRequest): GraphRequest => ({
  path: `${threadId}/messages`,
  params: { fields, limit: request.limit, after: request.after, before: request.before },
});

builder.node(ConversationRef, {
  description: 'A conversation (Graph `UnifiedThread`) between people and a Page or Instagram professional account.',
  id: { resolve: (c) => `${c.pageId}:${c.thread.id}` },
  isTypeOf: (value) => (value as { kind?: unknown }).kind === 'Conversation',
  fields: (t) => ({
    graphApiId: t.id({ resolve: (c) => c.thread.id }),
    updatedTime: t.field({
      type: 'DateTime',
      description: 'Time of the latest message; the inbox is ordered by it, newest first.',
      resolve: (c) => c.thread.updated_time ?? '',
      extensions: graphFields('updated_time'),
    }),
    snippet: t.string({
      nullable: true,
      description: 'Text of the latest message (Messenger only).',
      resolve: (c) => c.thread.snippet ?? null,
      extensions: graphFields('snippet'),
    }),
    messageCount: t.int({
      nullable: true,
      description: "Graph's estimate of the number of messages (Messenger only).",
      resolve: (c) => c.thread.message_count ?? null,
      extensions: graphFields('message_count'),
    }),
    unreadCount: t.int({
      nullable: true,
      description: "Graph's estimate of unread messages (Messenger only).",
      resolve: (c) => c.thread.unread_count ?? null,
      extensions: graphFields('unread_count'),
    }),
    canReply: t.boolean({
      nullable: true,
      description: 'Whether the Page can reply (Messenger only).',
      resolve: (c) => c.thread.can_reply ?? null,
      extensions: graphFields('can_reply'),
    }),
    isSubscribed: t.boolean({
      nullable: true,
      resolve: (c) => c.thread.is_subscribed ?? null,
      extensions: graphFields('is_subscribed'),
    }),
    link: t.string({
      nullable: true,
      description: 'Path of the thread in the Page inbox (Messenger only).',
      resolve: (c) => c.thread.link ?? null,
      extensions: graphFields('link'),
    }),
    name: t.string({
      nullable: true,
      description: 'Thread name; usually null for one-to-one threads.',
      resolve: (c) => c.thread.name ?? null,
      extensions: graphFields('name'),
    }),
    participants: t.field({
      type: [ParticipantRef],
      description: 'Everyone in the thread, the Page (or Instagram account) included.',
      resolve: (c) => c.thread.participants?.data ?? [],
      extensions: graphFields('participants'),
    }),
    senders: t.field({
      type: [ParticipantRef],
      description: 'Participants who sent at least one message (Messenger only; empty on Instagram).',
      resolve: (c) => c.thread.senders?.data ?? [],
      extensions: graphFields('senders'),
    }),
    messages: t.connection(
      {
        type: MessageRef,
        description:
          'Messages, newest first. Without a cursor this rides in the read of the conversations themselves (Graph field expansion).',
        extensions: graphEdge('messages'),
        resolve: async (conversation, args, context, info) => {
          const scope = messagesScope(conversation.thread.id, context.viewerKey);
          const plan = planConnection(args, context.cursors, scope);
          const messageType = info.schema.getType('Message') as GraphQLObjectType;
          const fields = serializeFields(planConnectionNodes(info, messageType).fields);
          // The read of the conversation may have brought this page already (field expansion).
          const expansion = conversation.expanded.get('messages');
          let prefetched =
            expansion !== undefined && !plan.fromCursor && expansion.limit === plan.count
              ? (conversation.thread.messages ?? { data: [] })
              : undefined;
          const pageRead = (request: GraphPageRequest): GraphRequest => messagesPageRead(conversation.thread.id, fields, request);

          return resolveConnection({
            plan,
            scope,
            cursors: context.cursors,
            pageCap: context.graphPageCap,
            maxChainLength: prefetched === undefined ? context.graph.maxChainLength : 1,
            idOf: (message: GraphMessage) => message.id,
            toNode: (message): MessageShape => ({ kind: 'Message', pageId: conversation.pageId, message }),
            fetchPage: (request) => {
              const page = prefetched;
              prefetched = undefined;
              return page !== undefined
                ? Promise.resolve(page)
                : context.graph.read<GraphPage<GraphMessage>>(pageRead(request), conversation.pageId);
            },
            fetchChain: (request, followUps) =>
              context.graph.readChain<GraphPage<GraphMessage>>(pageRead(request), followUps, conversation.pageId),
          });
        },
      },
      { name: 'MessageConnection' },
      { name: 'MessageEdge' },
    ),
  }),
});
