import { builder } from '../builder.js';

export interface MessageReplyShape {
  /** The Page whose inbox holds both messages. */
  readonly pageId: string;
  readonly messageId: string;
  readonly isSelfReply: boolean;
}

export const MessageReplyRef = builder.objectRef<MessageReplyShape>('MessageReply');

// `message` is added in message.ts, beside the type it returns.
MessageReplyRef.implement({
  description: 'The message a message replies to.',
  fields: (t) => ({
    messageId: t.exposeID('messageId', { description: 'The Graph id of the message replied to.' }),
    isSelfReply: t.exposeBoolean('isSelfReply', { description: 'Whether the sender replied to their own message.' }),
  }),
});
