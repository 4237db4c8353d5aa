/**
 * Replying from the inbox: `sendMessage` (exactly once per idempotency key), `markSeen` and `setTyping`, Relay
 * style (one `input`, a payload with `clientMutationId`), and each conversation's messaging window as data. What
 * a UI expects to meet (a closed window, a person who blocked the Page…) is a typed result to switch on, also
 * listed in `errors` with its `extensions.code` for generic clients; anything else is an error.
 */
import { GraphQLError, type GraphQLResolveInfo, Kind } from 'graphql';
import { builder } from '../builder.js';
import type { GatewayContext } from '../context.js';
import { gatewayCode, gatewayError, invalidArgument } from '../gateway-errors.js';
import { cursorScope } from '../cursors.js';
import type { GraphMessage } from '../graph-api/wire-types.js';
import {
  type AttachmentKind,
  IdempotencyKeyReusedError,
  type MessageContent,
  type ReplyService,
  type ReplyCaller,
  SendInputError,
  type SendResult,
} from '../replies/reply-service.js';
import { NotInInboxError, type ReplyThread, WINDOW_MESSAGES } from '../replies/reply-thread.js';
import type { ReplyWindow } from '../replies/reply-window.js';
import { SendLedgerUnavailableError } from '../replies/send-ledger.js';
import { ConversationRef, type ConversationShape, MessageEdgeRef, readConversation } from './conversation.js';
import { MessageRef, type MessageShape } from './message.js';
import { splitNodeKey } from './node.js';

/** Meta's limits on a message (Send API reference). */
const MAX_TEXT_CHARACTERS = 2_000;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export const ReplyWindowRef = builder.objectRef<ReplyWindow>('ReplyWindow').implement({
  description:
    "Meta's messaging window: a Page may reply for 24 hours after the person's last message, a human agent for 7 days with the " +
    '`HUMAN_AGENT` tag (when the app has the feature). Outside it Graph refuses the send.',
  fields: (t) => ({
    open: t.exposeBoolean('open', { description: 'Whether a reply is allowed now.' }),
    closesAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: "When the standard window closes (or closed); null when the person's last message is not among the newest 20.",
      resolve: (w) => (w.closesAt === undefined ? null : new Date(w.closesAt)),
    }),
    humanAgentOpen: t.exposeBoolean('humanAgentOpen', { description: 'Whether a human agent may still reply (`humanAgent: true`).' }),
    humanAgentUntil: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (w) => (w.humanAgentUntil === undefined ? null : new Date(w.humanAgentUntil)),
    }),
    lastCustomerMessageAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (w) => (w.lastCustomerMessageAt === undefined ? null : new Date(w.lastCustomerMessageAt)),
    }),
  }),
});

builder.objectField(ConversationRef, 'replyWindow', (t) =>
  t.field({
    type: ReplyWindowRef,
    nullable: true,
    // Its own read of the thread's newest messages, for each conversation: counted by the query cost (use-query-cost.ts).
    extensions: { graphItems: WINDOW_MESSAGES },
    description:
      "Whether the Page may reply now, from the person's last message among the newest 20 (one read per conversation, cached and " +
      'kept fresh by webhooks). Null without a token, or when Graph shows no customer in the thread.',
    resolve: async (conversation, _args, context) => {
      if (context.replies === undefined) return null;
      try {
        return await context.replies.service.windowOf(context.replies.caller, conversation.pageId, conversation.thread.id);
      } catch (error) {
        if (error instanceof NotInInboxError) return null;
        throw error;
      }
    },
  }),
);

/** A refusal as the schema shows it: the service's, or an unknown outcome (SEND_OUTCOME_UNKNOWN). */
interface RefusalShape {
  readonly code: string;
  readonly message: string;
  readonly closedAt?: number | undefined;
  readonly humanAgentUntil?: number | undefined;
  readonly retryAfterSeconds?: number | undefined;
  readonly since?: number | undefined;
}

const SendRefusalRef = builder.interfaceRef<RefusalShape>('SendRefusal').implement({
  description: 'Why a reply was not sent (or not yet known to be): `code` is the same as the `extensions.code` listed in `errors`.',
  fields: (t) => ({
    code: t.exposeString('code'),
    reason: t.exposeString('message', { description: 'What happened, for a person to read.' }),
  }),
});

/** Each refusal type and the codes it stands for. */
const REFUSAL_TYPES = {
  ReplyWindowClosed: ['REPLY_WINDOW_CLOSED', 'GRAPH_OUTSIDE_WINDOW'],
  RecipientUnavailable: ['GRAPH_RECIPIENT_UNAVAILABLE'],
  MessagingDisallowed: ['GRAPH_MESSAGING_DISALLOWED'],
  SendNotPermitted: ['SEND_NOT_PERMITTED', 'GRAPH_PERMISSION_DENIED', 'GRAPH_POLICY_BLOCKED'],
  MessageNotSent: ['MESSAGE_NOT_SENT'],
  SendOutcomeUnknown: ['SEND_OUTCOME_UNKNOWN'],
} as const;
type RefusalTypeName = keyof typeof REFUSAL_TYPES;

const typeOfRefusal = (code: string): RefusalTypeName =>
  (Object.keys(REFUSAL_TYPES) as RefusalTypeName[]).find((name) => (REFUSAL_TYPES[name] as readonly string[]).includes(code)) ??
  'SendNotPermitted';

const REFUSAL_DESCRIPTIONS: Record<RefusalTypeName, string> = {
  ReplyWindowClosed: 'The messaging window is closed (known to the gateway: no call was made; or Graph said so).',
  RecipientUnavailable: "The person isn't available right now (Graph 551).",
  MessagingDisallowed: 'The person does not let the Page message them: they blocked it (Graph 230).',
  SendNotPermitted: 'The caller may not reply here: no MESSAGING task, a missing permission, a policy block, or no Human Agent feature.',
  MessageNotSent:
    'A send whose answer was lost showed no echo within `SEND_ECHO_WAIT_SECONDS`: it is taken as not delivered, for good (a later ' +
    'echo does not change this answer). Send the message again with a new key.',
  SendOutcomeUnknown:
    'The request left and no answer came: the message may have arrived. Retry with the same `idempotencyKey` (never a new one): it ' +
    'answers the message once Meta’s echo shows it, or `MessageNotSent`.',
};

const refusalType = (name: RefusalTypeName) =>
  builder.objectRef<RefusalShape>(name).implement({
    description: REFUSAL_DESCRIPTIONS[name],
    interfaces: [SendRefusalRef],
    isTypeOf: (value) => typeof (value as RefusalShape).code === 'string' && typeOfRefusal((value as RefusalShape).code) === name,
    fields: (t) =>
      name === 'ReplyWindowClosed'
        ? {
            closedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => dateOrNull(r.closedAt) }),
            humanAgentUntil: t.field({
              type: 'DateTime',
              nullable: true,
              description: 'Until when a human agent may still reply with `humanAgent: true`; null when not possible.',
              resolve: (r) => dateOrNull(r.humanAgentUntil),
            }),
          }
        : name === 'SendOutcomeUnknown'
          ? {
              retryAfterSeconds: t.int({ resolve: (r) => r.retryAfterSeconds ?? 1 }),
              since: t.field({ type: 'DateTime', resolve: (r) => new Date(r.since ?? 0) }),
            }
          : {},
  });

const refusalRefs = Object.fromEntries(
  (Object.keys(REFUSAL_TYPES) as RefusalTypeName[]).map((name) => [name, refusalType(name)]),
) as Record<RefusalTypeName, ReturnType<typeof refusalType>>;

const dateOrNull = (ms: number | undefined): Date | null => (ms === undefined ? null : new Date(ms));

/** A message sent: as the inbox will show it, and as an edge a Relay client prepends (`@prependEdge`). */
interface SentShape {
  readonly message: MessageShape;
  readonly cursor: string;
  readonly replayed: boolean;
}

const MessageSentRef = builder.objectRef<SentShape>('MessageSent').implement({
  description: 'The message was sent (now, or by the first request with this `idempotencyKey`: then `replayed`).',
  isTypeOf: (value) => 'cursor' in (value as object),
  fields: (t) => ({
    message: t.field({ type: MessageRef, resolve: (s) => s.message }),
    messageEdge: t.field({
      type: MessageEdgeRef,
      description: "The message as an edge of the conversation's `messages`, for `@prependEdge`.",
      resolve: (s) => ({ cursor: s.cursor, node: s.message }),
    }),
    replayed: t.exposeBoolean('replayed', { description: 'This answer is the first send’s, told again for a retry with its key.' }),
  }),
});

const SendMessageResultRef = builder.unionType('SendMessageResult', {
  types: [MessageSentRef, ...Object.values(refusalRefs)],
  resolveType: (value) => ('cursor' in value ? MessageSentRef : refusalRefs[typeOfRefusal((value as RefusalShape).code)]),
});

const OutgoingAttachmentKind = builder.enumType('OutgoingAttachmentKind', {
  values: { IMAGE: { value: 'image' }, VIDEO: { value: 'video' }, AUDIO: { value: 'audio' }, FILE: { value: 'file' } } as const,
});

const OutgoingAttachment = builder.inputType('OutgoingAttachment', {
  description: 'A file Meta fetches from `url` (https) and sends as the message.',
  fields: (t) => ({
    url: t.string({ required: true }),
    kind: t.field({ type: OutgoingAttachmentKind, required: true }),
  }),
});

const SendMessageInput = builder.inputType('SendMessageInput', {
  fields: (t) => ({
    clientMutationId: t.string(),
    conversationId: t.globalID({ required: true, description: 'The `id` of a Conversation, as this API returned it.' }),
    text: t.string({ description: 'The text, at most 2,000 characters; or give `attachment`.' }),
    attachment: t.field({ type: OutgoingAttachment }),
    replyTo: t.globalID({ description: 'The `id` of a Message of the conversation this one answers.' }),
    humanAgent: t.boolean({
      defaultValue: false,
      description: 'A human replying: after the 24 h window, sent with the `HUMAN_AGENT` tag (7 days; `HUMAN_AGENT_TAG_APPROVED`).',
    }),
    idempotencyKey: t.string({
      description:
        'Makes retries safe: every request with the same key (per Page, for 24 h, on every instance) has one outcome, and the message ' +
        'is sent at most once. Defaults to `clientMutationId`; without either, a retry may send twice.',
    }),
  }),
});

/** The conversation a mutation acted on: as the client named it, and as the reply read it (unless refused before). */
interface ConversationAt {
  readonly pageId: string;
  readonly threadId: string;
  readonly thread: ReplyThread | undefined;
}

interface SendPayloadShape extends ConversationAt {
  readonly clientMutationId: string | null;
  readonly result: SentShape | RefusalShape;
  /** What a sent message changed in its conversation; `undefined` when nothing was sent. */
  readonly sent: { readonly message: MessageShape; readonly sentAt: number; readonly content: MessageContent } | undefined;
}

const SendMessagePayload = builder.objectRef<SendPayloadShape>('SendMessagePayload').implement({
  fields: (t) => ({
    clientMutationId: t.string({ nullable: true, resolve: (p) => p.clientMutationId }),
    result: t.field({ type: SendMessageResultRef, resolve: (p) => p.result }),
    conversation: t.field({
      type: ConversationRef,
      description:
        'The conversation after the send: its snippet and updated time show the reply. Selecting only `id`, `snippet`, `updatedTime` ' +
        'and `participants` costs no read (they are known from the send); anything more reads the conversation again.',
      resolve: (p, _args, context, info) => conversationAfter(context, info, p),
    }),
  }),
});

builder.mutationField('sendMessage', (t) =>
  t.field({
    type: SendMessagePayload,
    description:
      'Replies in a conversation through the Send API: once per `idempotencyKey`, within the messaging window, spending the ' +
      "Page's send budget (never its 2 conversation calls per second). The read cache and `inboxEvents` show the reply at once.",
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    resolve: async (_root, { input }, context, info) => {
      const replies = repliesOf(context);
      const { pageId, graphId: threadId } = await conversationKey(context, input.conversationId);
      const request = {
        pageId,
        threadId,
        content: contentOf(input.text ?? undefined, input.attachment ?? undefined),
        replyTo: input.replyTo == null ? undefined : messageIdOf(input.replyTo, pageId),
        humanAgent: input.humanAgent ?? false,
        idempotencyKey: keyOf(input.idempotencyKey ?? input.clientMutationId ?? undefined),
      };
      const result = await asClientErrors(() => replies.service.send(replies.caller, request));
      return payloadOf(context, info, input.clientMutationId ?? null, result, request);
    },
  }),
);

const ConversationActionInput = (name: string, extra: 'typing' | 'seen') =>
  builder.inputType(name, {
    fields: (t) => ({
      clientMutationId: t.string(),
      conversationId: t.globalID({ required: true }),
      ...(extra === 'typing'
        ? { on: t.boolean({ required: true, description: 'Show (true) or hide (false) the typing indicator.' }) }
        : {}),
    }),
  });

interface SenderActionPayloadShape extends ConversationAt {
  readonly clientMutationId: string | null;
  readonly refusal: RefusalShape | null;
}

const SenderActionPayload = builder.objectRef<SenderActionPayloadShape>('SenderActionPayload').implement({
  fields: (t) => ({
    clientMutationId: t.string({ nullable: true, resolve: (p) => p.clientMutationId }),
    refusal: t.field({
      type: SendRefusalRef,
      nullable: true,
      description: 'Why it was not done; null when done.',
      resolve: (p) => p.refusal,
    }),
    conversation: t.field({
      type: ConversationRef,
      resolve: (p, _args, context, info) => readConversation(context, info, p.pageId, threadIdOf(p), aboutThread(threadIdOf(p))),
    }),
  }),
});

const MarkSeenInput = ConversationActionInput('MarkSeenInput', 'seen');
const SetTypingInput = ConversationActionInput('SetTypingInput', 'typing');

builder.mutationField('markSeen', (t) =>
  t.field({
    type: SenderActionPayload,
    description: 'Tells the person their messages were seen (Send API sender action `mark_seen`), within the messaging window.',
    args: { input: t.arg({ type: MarkSeenInput, required: true }) },
    resolve: (_root, { input }, context, info) => senderAction(context, info, input, 'mark_seen'),
  }),
);

builder.mutationField('setTyping', (t) =>
  t.field({
    type: SenderActionPayload,
    description: 'Shows or hides the typing indicator to the person (`typing_on` / `typing_off`), within the messaging window.',
    args: { input: t.arg({ type: SetTypingInput, required: true }) },
    resolve: (_root, { input }, context, info) =>
      senderAction(context, info, input, (input as { on?: boolean }).on === true ? 'typing_on' : 'typing_off'),
  }),
);

async function senderAction(
  context: GatewayContext,
  info: GraphQLResolveInfo,
  input: { clientMutationId?: string | null | undefined; conversationId: { typename: string; id: string } },
  action: 'mark_seen' | 'typing_on' | 'typing_off',
): Promise<SenderActionPayloadShape> {
  const replies = repliesOf(context);
  const { pageId, graphId } = await conversationKey(context, input.conversationId);
  const done = await asClientErrors(() => replies.service.senderAction(replies.caller, pageId, graphId, action));
  const refusal = done.refusal === undefined ? null : done.refusal;
  if (refusal !== null) noteRefusal(context, info, refusal);
  return { clientMutationId: input.clientMutationId ?? null, refusal, pageId, threadId: graphId, thread: done.thread };
}

function repliesOf(context: GatewayContext): { service: ReplyService; caller: ReplyCaller } {
  if (context.replies === undefined) {
    throw gatewayError('UNAUTHENTICATED', 'Replies need a Graph API token: send "Authorization: Bearer <token>".');
  }
  return context.replies;
}

/** The Page and thread a conversation id names (`me`: the Page of the caller's Page token, resolved per token). */
async function conversationKey(
  context: GatewayContext,
  id: { typename: string; id: string },
): Promise<{ pageId: string; graphId: string }> {
  if (id.typename !== 'Conversation') throw invalidArgument(`conversationId must be a Conversation id, got a ${id.typename} id.`);
  const { pageId, graphId } = splitNodeKey(id.typename, id.id);
  return { pageId: await context.resolvePageId(pageId), graphId };
}

function messageIdOf(id: { typename: string; id: string }, pageId: string): string {
  if (id.typename !== 'Message') throw invalidArgument(`replyTo must be a Message id, got a ${id.typename} id.`);
  const key = splitNodeKey(id.typename, id.id);
  if (key.pageId !== pageId) throw invalidArgument('replyTo must be a message of the same conversation.');
  return key.graphId;
}

function contentOf(text: string | undefined, attachment: { url: string; kind: AttachmentKind } | undefined): MessageContent {
  if ((text === undefined) === (attachment === undefined)) throw invalidArgument('Give exactly one of `text` and `attachment`.');
  if (text !== undefined) {
    const length = [...text].length;
    if (text.trim() === '') throw invalidArgument('`text` must not be empty.');
    if (length > MAX_TEXT_CHARACTERS) {
      throw invalidArgument(`\`text\` has ${length} characters: Meta takes at most ${MAX_TEXT_CHARACTERS}.`);
    }
    return { text };
  }
  let url: URL | undefined;
  try {
    url = new URL(attachment!.url);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:') throw invalidArgument('`attachment.url` must be an https URL Meta can fetch.');
  return { attachment: { kind: attachment!.kind, url: url.href } };
}

function keyOf(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key === '' || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalidArgument(`\`idempotencyKey\` must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters (a UUID is a good key).`);
  }
  return key;
}

/** The service's own failures as the client errors they are; Graph's go to the error mapper as they are. */
async function asClientErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof SendInputError || error instanceof NotInInboxError) throw invalidArgument(error.message);
    if (error instanceof IdempotencyKeyReusedError) throw gatewayError('IDEMPOTENCY_KEY_REUSED', error.message);
    if (error instanceof SendLedgerUnavailableError) throw gatewayError('SEND_LEDGER_UNAVAILABLE', error.message);
    throw error;
  }
}

/** Adds the refusal to `errors` with its code, for clients that only look there. */
function noteRefusal(context: GatewayContext, info: GraphQLResolveInfo, refusal: RefusalShape): void {
  context.refusals.push(
    new GraphQLError(refusal.message, { path: [info.path.key], nodes: info.fieldNodes, extensions: { code: refusal.code } }),
  );
}

function payloadOf(
  context: GatewayContext,
  info: GraphQLResolveInfo,
  clientMutationId: string | null,
  result: SendResult,
  request: { readonly pageId: string; readonly threadId: string; readonly content: MessageContent },
): SendPayloadShape {
  const at = { pageId: request.pageId, threadId: request.threadId, thread: result.thread };
  if (result.kind !== 'sent') {
    const refusal: RefusalShape =
      result.kind === 'refused'
        ? result.refusal
        : {
            code: gatewayCode('SEND_OUTCOME_UNKNOWN'),
            message: 'The request left and no answer came: retry with the same idempotencyKey to learn whether the message arrived.',
            retryAfterSeconds: result.retryAfterSeconds,
            since: result.since,
          };
    noteRefusal(context, info, refusal);
    return { clientMutationId, result: refusal, ...at, sent: undefined };
  }
  const { thread } = result;
  const message = sentMessage(thread, result.messageId, result.sentAt, request.content);
  const scope = cursorScope({ list: 'messages', thread: thread.threadId, viewer: context.callerKey });
  const cursor = context.cursors.listEncoder(scope, { before: undefined, after: undefined }, 1)(0, result.messageId);
  return {
    clientMutationId,
    result: { message, cursor, replayed: result.replayed },
    ...at,
    sent: { message, sentAt: result.sentAt, content: request.content },
  };
}

/** Graph's own id of the thread when the reply read it (a scoped thread key names it too), else the client's. */
const threadIdOf = (at: ConversationAt): string => at.thread?.threadId ?? at.threadId;

/**
 * The conversation after a send: what the send knows (the thread as read for the reply, and the message sent), or, for
 * anything more, read again (the cache having dropped it after a send).
 */
async function conversationAfter(context: GatewayContext, info: GraphQLResolveInfo, payload: SendPayloadShape): Promise<ConversationShape> {
  const { thread, sent } = payload;
  if (thread === undefined || !readsOnlyKnown(info)) {
    return readConversation(context, info, payload.pageId, threadIdOf(payload), aboutThread(threadIdOf(payload)));
  }
  const snippet = sent === undefined ? thread.snippet : 'text' in sent.content ? sent.content.text : undefined;
  return {
    kind: 'Conversation',
    pageId: thread.pageId,
    thread: {
      id: thread.threadId,
      participants: { data: [...thread.participants] },
      updated_time: (sent === undefined ? thread.updatedTime : sent.message.message.created_time) ?? '',
      ...(thread.platform === 'messenger' && snippet !== undefined ? { snippet } : {}),
    },
    expanded: new Map(),
    fetched: { fetchedAt: sent?.sentAt ?? Date.now(), stale: undefined },
  };
}

/** The sent message as Graph will list it. */
function sentMessage(thread: ReplyThread, messageId: string, sentAt: number, content: MessageContent): MessageShape {
  const message: GraphMessage = {
    id: messageId,
    created_time: `${new Date(sentAt).toISOString().slice(0, 19)}+0000`,
    message: 'text' in content ? content.text : '',
    from: thread.business,
    to: { data: [thread.customer] },
    ...('attachment' in content ? { attachments: { data: [attachmentOf(content.attachment)] } } : {}),
  };
  return { kind: 'Message', pageId: thread.pageId, message };
}

function attachmentOf(attachment: { kind: AttachmentKind; url: string }): NonNullable<GraphMessage['attachments']>['data'][number] {
  if (attachment.kind === 'image') return { image_data: { url: attachment.url } };
  if (attachment.kind === 'video') return { video_data: { url: attachment.url } };
  return { file_url: attachment.url };
}

/** Fields of a conversation a send knows without reading it again. */
const KNOWN_AFTER_SEND = new Set(['__typename', 'id', 'graphApiId', 'snippet', 'updatedTime', 'participants']);

/** Whether the `conversation` selection asks only for what the send knows (fragments are read). */
function readsOnlyKnown(info: GraphQLResolveInfo): boolean {
  const selection = info.fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []);
  return selection.every((node) => node.kind === Kind.FIELD && KNOWN_AFTER_SEND.has(node.name.value));
}

const aboutThread = (threadId: string) => ({ kind: 'thread', threadId }) as const;
