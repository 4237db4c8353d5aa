import { builder } from '../builder.js';
import type { GraphMessage } from '../graph-api/wire-types.js';
import { ATTACHMENT_GRAPH_FIELDS, AttachmentRef } from './attachment.js';
import { graphFields } from './field-plan.js';
import { ParticipantRef } from './participant.js';

export interface MessageShape {
  readonly kind: 'Message';
  /** The Page whose inbox holds the message: part of the global id, so `node(id:)` knows the Page. */
  readonly pageId: string;
  readonly message: GraphMessage;
}

export const MessageRef = builder.objectRef<MessageShape>('Message');

builder.node(MessageRef, {
  description: 'One message of a conversation.',
  id: { resolve: (m) => `${m.pageId}:${m.message.id}` },
  isTypeOf: (value) => (value as { kind?: unknown }).kind === 'Message',
  fields: (t) => ({
    graphApiId: t.id({ resolve: (m) => m.message.id }),
    createdTime: t.field({ type: 'DateTime', resolve: (m) => m.message.created_time ?? '', extensions: graphFields('created_time') }),
    text: t.string({
      nullable: true,
      description: 'The text; null when the message has none (attachments only, stickers).',
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
  }),
});
