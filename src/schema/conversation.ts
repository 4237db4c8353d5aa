import type { GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import { builder, encodeGlobalId } from '../builder.js';
import type { GatewayContext } from '../context.js';
import type { ReadSubject } from '../graph-api/read.js';
import { serializeFields } from '../graph-api/fields.js';
import type { GraphMessage, GraphThread } from '../graph-api/wire-types.js';
import { ConversationFolder, FOLDER_VALUES } from './conversation-folder.js';
import { cursorScope } from '../cursors.js';
import { prefetchDeferredEdges, resolveEdgeConnection } from './edge-connection.js';
import { type GraphEdgeSpec, graphEdge, graphFields, planObjectRead, versionedGraphFields } from './field-plan.js';
import type { GraphListRequest } from './graph-connection.js';
import { MessageRef, type MessageShape } from './message.js';
import { ParticipantRef } from './participant.js';

export interface ConversationShape {
  readonly kind: 'Conversation';
  /** The Page whose inbox holds the thread: part of the global id, so `node(id:)` knows the Page. */
  readonly pageId: string;
  readonly thread: GraphThread;
  /** The inbox it was listed in, when known; otherwise told by its id (`platformOf`). */
  readonly platform?: 'messenger' | 'instagram' | undefined;
  /** Edges that the read of this thread expanded, with the page request each expansion made. */
  readonly expanded: ReadonlyMap<string, GraphListRequest>;
  /** When the thread was read from Graph, and whether it was served stale: its expanded edges are as fresh. */
  readonly fetched: { readonly fetchedAt: number; readonly stale: { readonly retryAfterSeconds: number } | undefined };
}

export const ConversationRef = builder.objectRef<ConversationShape>('Conversation');

/** An edge of a conversation's `messages`: also what `sendMessage` answers, for a Relay client to prepend (`@prependEdge`). */
export const MessageEdgeRef = builder.edgeObject({ type: MessageRef, name: 'MessageEdge' });

/** A thread's messages, newest first (`/{thread-id}/messages`). */
export const MESSAGES_EDGE: GraphEdgeSpec = {
  edge: 'messages',
  nodeType: 'Message',
  scope: (threadId, _args, callerKey) => cursorScope({ list: 'messages', thread: threadId, viewer: callerKey }),
  about: (threadId) => ({ kind: 'thread', threadId }),
};

/**
 * Reads one conversation of `pageId` by an id Graph accepts for it (its thread id or, on Messenger, its
 * scoped thread key), planned from the selection of the field resolving it: one upstream read, nested
 * `messages` included, and the reads of `messages(after:)` beside it. Graph answers with the thread's own
 * id, which the result carries. `about` lets the read cache keep it: give it only for a thread id.
 */
export async function readConversation(
  context: GatewayContext,
  info: GraphQLResolveInfo,
  pageId: string,
  graphId: string,
  about: ReadSubject | undefined,
): Promise<ConversationShape> {
  const selectionSets = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  const plan = planObjectRead(info, info.schema.getType('Conversation') as GraphQLObjectType, selectionSets, context.graphApiMajor);
  prefetchDeferredEdges(context, { pageId, graphId }, plan.deferred);
  const read = { path: graphId, params: { fields: serializeFields(plan.fields) } };
  const thread = await context.graph.read<GraphThread>(read, pageId, about === undefined ? {} : { about });
  context.noteFetched(info.path, thread.fetchedAt, thread.stale);
  const fetched = { fetchedAt: thread.fetchedAt, stale: thread.stale };
  return { kind: 'Conversation', pageId, thread: thread.value, expanded: plan.expanded, fetched };
}

builder.objectType(ConversationRef, {
  interfaces: [builder.nodeInterfaceRef()],
  description: 'A conversation (Graph `UnifiedThread`) between people and a Page or Instagram professional account.',
  isTypeOf: (value) => (value as { kind?: unknown }).kind === 'Conversation',
  fields: (t) => ({
    id: t.id({ resolve: (c) => encodeGlobalId('Conversation', `${c.pageId}:${c.thread.id}`) }),
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
    folder: t.field({
      type: ConversationFolder,
      nullable: true,
      description:
        'The folder holding the thread. Null for Messenger threads archived before mid-2018 (only `tags: ["action:archived"]` lists ' +
        'them) and on Graph API versions before v15.0, which lack the field.',
      resolve: (c) => (c.thread.folder !== undefined && FOLDER_VALUES.has(c.thread.folder) ? (c.thread.folder as 'inbox') : null),
      extensions: versionedGraphFields({ since: 15 }, 'folder'),
    }),
    scopedThreadKey: t.string({
      nullable: true,
      description:
        "Messenger: the thread's scoped key, which Graph accepts wherever it accepts the thread id (`Page.conversation(id:)` too).",
      resolve: (c) => c.thread.scoped_thread_key ?? null,
      extensions: graphFields('scoped_thread_key'),
    }),
    isOwner: t.boolean({
      nullable: true,
      description:
        'Whether this app owns the thread (Conversation Routing). Null when routing is off, and on Graph API versions before v24.0, ' +
        'which lack the field.',
      resolve: (c) => c.thread.is_owner ?? null,
      extensions: versionedGraphFields({ since: 24 }, 'is_owner'),
    }),
    participants: t.field({
      type: [ParticipantRef],
      description: 'Everyone in the thread, the Page (or Instagram account) included.',
      resolve: (c) => c.thread.participants?.data ?? [],
      extensions: graphFields('participants'),
    }),
    formerParticipants: t.field({
      type: [ParticipantRef],
      description: 'People who left the thread (Messenger group threads); usually empty.',
      resolve: (c) => c.thread.former_participants?.data ?? [],
      extensions: graphFields('former_participants'),
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
        extensions: graphEdge(MESSAGES_EDGE),
        resolve: (conversation, args, context, info) => {
          const expansion = conversation.expanded.get(MESSAGES_EDGE.edge);
          const page = { value: conversation.thread.messages ?? { data: [] }, ...conversation.fetched };
          return resolveEdgeConnection<GraphMessage, MessageShape>(
            MESSAGES_EDGE,
            { pageId: conversation.pageId, graphId: conversation.thread.id },
            args,
            context,
            info,
            {
              idOf: (message: GraphMessage) => message.id,
              toNode: (message): MessageShape => ({ kind: 'Message', pageId: conversation.pageId, message }),
              expanded: expansion === undefined ? undefined : { request: expansion, page },
            },
          );
        },
      },
      { name: 'MessageConnection' },
      MessageEdgeRef,
    ),
  }),
});
