import type { GraphQLObjectType } from 'graphql';
import { builder, encodeGlobalId } from '../builder.js';
import type { GatewayContext } from '../context.js';
import { graphErrorRule } from '../graph-api/error-rules.js';
import { GraphApiError } from '../graph-api/errors.js';
import { serializeFields } from '../graph-api/fields.js';
import { isGraphId } from '../graph-api/request.js';
import type { GraphMessage } from '../graph-api/wire-types.js';
import { ATTACHMENT_GRAPH_FIELDS, AttachmentRef } from './attachment.js';
import { graphFields, planObjectRead } from './field-plan.js';
import { MessageReplyRef, type MessageReplyShape } from './message-reply.js';
import { ParticipantRef } from './participant.js';
import { ReactionRef, type ReactionShape } from './reaction.js';
import { SHARE_GRAPH_FIELDS, ShareRef } from './share.js';
import { StickerRef } from './sticker.js';
import { StoryRef, type StoryShape } from './story.js';

export interface MessageShape {
  readonly kind: 'Message';
  /** The Page whose inbox holds the message: part of the global id, so `node(id:)` knows the Page. */
  readonly pageId: string;
  readonly message: GraphMessage;
}

export const MessageRef = builder.objectRef<MessageShape>('Message');

/** The story a message refers to, mention first: Graph gives one of the two. */
function storyOf(message: GraphMessage): StoryShape | null {
  const { story } = message;
  if (story?.mention !== undefined) return { kind: 'mention', url: story.mention.link, graphApiId: story.mention.id };
  if (story?.reply_to !== undefined) return { kind: 'reply', url: story.reply_to.link, graphApiId: story.reply_to.id };
  return null;
}

builder.objectType(MessageRef, {
  interfaces: [builder.nodeInterfaceRef()],
  description: 'One message of a conversation.',
  isTypeOf: (value) => (value as { kind?: unknown }).kind === 'Message',
  fields: (t) => ({
    id: t.id({ resolve: (m) => encodeGlobalId('Message', `${m.pageId}:${m.message.id}`) }),
    graphApiId: t.id({ resolve: (m) => m.message.id }),
    createdTime: t.field({ type: 'DateTime', resolve: (m) => m.message.created_time ?? '', extensions: graphFields('created_time') }),
    detailsAvailable: t.boolean({
      description:
        "Whether Graph still serves this message's details. Instagram keeps them for a conversation's 20 most recent messages only: " +
        'older ones have an id and a time, and every other field is empty.',
      // Graph sends `message` (empty when there is no text) with every message it has details of.
      resolve: (m) => m.message.message !== undefined,
      extensions: graphFields('message'),
    }),
    text: t.string({
      nullable: true,
      description: 'The text; null when the message has none (attachments, stickers, shares only) or its details are unavailable.',
      resolve: (m) => (m.message.message === undefined || m.message.message === '' ? null : m.message.message),
      extensions: graphFields('message'),
    }),
    from: t.field({ type: ParticipantRef, nullable: true, resolve: (m) => m.message.from ?? null, extensions: graphFields('from') }),
    to: t.field({ type: [ParticipantRef], resolve: (m) => m.message.to?.data ?? [], extensions: graphFields('to') }),
    attachments: t.field({
      type: [AttachmentRef],
      resolve: (m) => m.message.attachments?.data ?? [],
      extensions: graphFields(ATTACHMENT_GRAPH_FIELDS),
    }),
    sticker: t.field({
      type: StickerRef,
      nullable: true,
      resolve: (m) => (m.message.sticker === undefined ? null : { url: m.message.sticker }),
      extensions: graphFields('sticker'),
    }),
    shares: t.field({
      type: [ShareRef],
      description: 'Links, products and templates shared in the message.',
      resolve: (m) => m.message.shares?.data ?? [],
      extensions: graphFields(SHARE_GRAPH_FIELDS),
    }),
    replyTo: t.field({
      type: MessageReplyRef,
      nullable: true,
      description: 'The message this one replies to; null when it is no reply.',
      resolve: (m): MessageReplyShape | null => {
        const mid = m.message.reply_to?.mid;
        return mid === undefined ? null : { pageId: m.pageId, messageId: mid, isSelfReply: m.message.reply_to?.is_self_reply === true };
      },
      extensions: graphFields('reply_to'),
    }),
    story: t.field({
      type: StoryRef,
      nullable: true,
      description: 'Instagram: the story the message mentions the business in, or replies to.',
      resolve: (m) => storyOf(m.message),
      extensions: graphFields('story'),
    }),
    reactions: t.field({
      type: [ReactionRef],
      description: 'Instagram: who reacted with what.',
      resolve: (m): ReactionShape[] =>
        (m.message.reactions?.data ?? []).flatMap((reaction) =>
          reaction.reaction === undefined ? [] : [{ emoji: reaction.reaction, users: reaction.users ?? [] }],
        ),
      extensions: graphFields('reactions'),
    }),
    isUnsupported: t.boolean({
      description: 'True for a message Graph cannot represent (e.g. a kind of content the API does not serve): show a placeholder.',
      resolve: (m) => m.message.is_unsupported === true,
      extensions: graphFields('is_unsupported'),
    }),
    tags: t.stringList({
      description: 'Messenger: folder, read and source markers Graph puts on the message (e.g. "inbox", "read", "source:chat").',
      resolve: (m) => (m.message.tags?.data ?? []).flatMap((tag) => (tag.name === undefined ? [] : [tag.name])),
      extensions: graphFields('tags'),
    }),
  }),
});

/**
 * Reads one message with `fields`. Graph keeps the details of an Instagram conversation's 20 newest messages only, and answers
 * the details of an older one as it answers a deleted object (Meta: Conversations,
 * developers.facebook.com/docs/messenger-platform/conversations: "you will get an error that the message has been deleted"),
 * while still serving its id and time. So on a not-found answer one more read asks for those only: when it succeeds, the
 * message comes back with them and `detailsAvailable` says the rest is gone; when it fails too, the message really is gone.
 */
export async function readMessage(context: GatewayContext, pageId: string, messageId: string, fields: string): Promise<MessageShape> {
  try {
    const message = await context.graph.read<GraphMessage>({ path: messageId, params: { fields } }, pageId);
    return { kind: 'Message', pageId, message: message.value };
  } catch (error) {
    if (!(error instanceof GraphApiError) || graphErrorRule(error.code, error.subcode).clientCode !== 'GRAPH_NOT_FOUND') throw error;
    if (fields === SUMMARY_FIELDS) throw error;
    const summary = await context.graph
      .read<GraphMessage>({ path: messageId, params: { fields: SUMMARY_FIELDS } }, pageId)
      .catch(() => Promise.reject(error));
    return { kind: 'Message', pageId, message: summary.value };
  }
}

/** The fields Graph still serves for a message past the 20 newest. */
const SUMMARY_FIELDS = 'created_time,id';

builder.objectField(MessageReplyRef, 'message', (t) =>
  t.field({
    type: MessageRef,
    nullable: true,
    description:
      'The message replied to, read by its id: one more upstream read (the replies of one page of messages share one batch). On ' +
      'Instagram, one older than the 20 most recent comes with `detailsAvailable: false`.',
    resolve: (reply, _args, context, info): Promise<MessageShape> | null => {
      if (!isGraphId(reply.messageId)) return null;
      const selectionSets = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
      const plan = planObjectRead(info, info.schema.getType('Message') as GraphQLObjectType, selectionSets, context.graphApiMajor);
      return readMessage(context, reply.pageId, reply.messageId, serializeFields(plan.fields));
    },
  }),
);
