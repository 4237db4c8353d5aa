import { builder } from '../builder.js';
import type { GatewayContext } from '../context.js';
import { gatewayError, invalidArgument } from '../gateway-errors.js';
import type { Inbox } from '../graph-api/read-cache.js';
import type { GraphPageNode } from '../graph-api/wire-types.js';
import type { InboxEvent } from '../webhooks/inbox-events.js';
import { inboxSources, PLATFORMS } from './inbox.js';
import { checkGraphId, MessagingPlatform } from './page.js';

interface InboxEventShape extends InboxEvent {
  /** The Page the event is about (an Instagram event's account is the Page's linked Instagram account). */
  readonly pageId: string;
}

const InboxEventKind = builder.enumType('InboxEventKind', {
  values: {
    MESSAGE: { value: 'message', description: 'A customer wrote to the Page (or its Instagram account).' },
    ECHO: { value: 'echo', description: 'The business sent a message, from this or any other app, or from the inbox.' },
    READ: {
      value: 'read',
      description: 'The customer saw the business’s messages: up to `readUpTo` (Messenger), or `messageId` (Instagram).',
    },
    REACTION: { value: 'reaction', description: 'The customer reacted to `messageId` with `reaction`.' },
    REACTION_REMOVED: { value: 'reaction_removed', description: 'The customer took back a reaction to `messageId`.' },
    EDITED: { value: 'edited', description: 'The customer edited `messageId`: `text` is its new text.' },
    DELIVERED: {
      value: 'delivered',
      description:
        'The business’s messages reached the customer’s device (Messenger): all sent up to `deliveredUpTo`, and those of ' +
        '`deliveredMessageIds`.',
    },
    UNSENT: { value: 'unsent', description: 'The customer unsent `messageId` (Instagram): a UI removes it.' },
  } as const,
});

const InboxEventAttachmentRef = builder
  .objectRef<{ readonly type: string; readonly url: string | undefined }>('InboxEventAttachment')
  .implement({
    description: 'An attachment of a message event, as the webhook names it.',
    fields: (t) => ({
      type: t.string({ description: 'Meta’s type: image, video, audio, file, and others it may add.', resolve: (a) => a.type }),
      url: t.string({
        nullable: true,
        description: 'Where Meta serves it (a CDN URL that expires); null when the event gives none.',
        resolve: (a) => a.url ?? null,
      }),
    }),
  });

const InboxEventRef = builder.objectRef<InboxEventShape>('InboxEvent').implement({
  description:
    'Something that happened in one of the Page’s conversations, as Meta’s webhook delivered it: a message, an echo, a read receipt, a ' +
    'reaction.',
  fields: (t) => ({
    kind: t.field({ type: InboxEventKind, resolve: (event) => event.kind }),
    platform: t.field({ type: MessagingPlatform, resolve: (event) => event.platform }),
    pageId: t.id({ description: 'The Page (its Graph id).', resolve: (event) => event.pageId }),
    customerId: t.id({
      description:
        'The customer in the conversation: a PSID (Messenger) or IGSID (Instagram). `page.conversations(userId: customerId, platform: ' +
        '…)` reads that conversation.',
      resolve: (event) => event.customerId,
    }),
    messageId: t.id({
      nullable: true,
      description: 'The message concerned (its Graph id, `mid`); null for Messenger read receipts, which give `readUpTo`.',
      resolve: (event) => event.messageId ?? null,
    }),
    text: t.string({
      nullable: true,
      description: 'A message’s text, or an edited message’s new text; null for attachments only, and for other kinds.',
      resolve: (event) => event.text ?? null,
    }),
    hasAttachments: t.boolean({ resolve: (event) => event.hasAttachments }),
    attachments: t.field({
      type: [InboxEventAttachmentRef],
      description: 'MESSAGE and ECHO: the message’s attachments (empty for none, and for other kinds).',
      resolve: (event) => event.attachments ?? [],
    }),
    deliveredUpTo: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'DELIVERED: every business message sent up to this instant reached the customer.',
      resolve: (event) => (event.deliveredUpTo === undefined ? null : new Date(event.deliveredUpTo)),
    }),
    deliveredMessageIds: t.idList({
      nullable: true,
      description: 'DELIVERED: the messages Meta names as delivered (possibly none); null for other kinds.',
      resolve: (event) => (event.kind === 'delivered' ? [...(event.deliveredMessageIds ?? [])] : null),
    }),
    standby: t.boolean({
      description:
        'Delivered as a standby event: another app holds the conversation (Messenger Handover Protocol); the Page’s inbox shows ' +
        'it all the same.',
      resolve: (event) => event.standby === true,
    }),
    readUpTo: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'READ on Messenger: every business message sent up to this instant was seen.',
      resolve: (event) => (event.readUpTo === undefined ? null : new Date(event.readUpTo)),
    }),
    reaction: t.string({
      nullable: true,
      description: 'REACTION and REACTION_REMOVED: the emoji (or Meta’s name of the reaction).',
      resolve: (event) => event.reaction ?? null,
    }),
    time: t.field({ type: 'DateTime', resolve: (event) => new Date(event.timestamp) }),
  }),
});

builder.subscriptionType({});

builder.subscriptionField('inboxEvents', (t) =>
  t.field({
    type: InboxEventRef,
    description:
      'Messages arriving in (and sent from) the Page’s inbox, read receipts and reactions, live, from Meta’s webhooks: no Graph call ' +
      'per event. Without `pageId`, every Page the caller reaches (as `Viewer.inbox`: at most MAX_INBOX_SOURCES inboxes, ' +
      '`INBOX_TOO_WIDE` otherwise), each event naming its `pageId`. Without `platform`, Messenger and the linked Instagram account ' +
      'both (those the caller may read). Needs the webhooks configured (GRAPH_APP_SECRET and WEBHOOK_VERIFY_TOKEN). The caller is ' +
      'held to the rule of a read: its own token must read each inbox (a read of it is made on subscribing when none was made ' +
      'lately; an inbox it cannot read is left out, and the subscription fails with Graph’s refusal when it reads none), and the ' +
      'subscription ends with Graph’s refusal as its error once the token no longer may.',
    args: {
      pageId: t.arg.id({
        required: false,
        description: 'The Graph Page id, or `me` for the Page of a Page token. Default: every Page the caller reaches.',
      }),
      platform: t.arg({ type: MessagingPlatform, required: false }),
    },
    subscribe: async (_root, args, context) => {
      const bus = context.inboxEvents;
      if (bus === undefined) {
        throw gatewayError(
          'WEBHOOKS_NOT_CONFIGURED',
          'Inbox events need Meta’s webhooks: set GRAPH_APP_SECRET and WEBHOOK_VERIFY_TOKEN, and subscribe the app to /webhooks/meta.',
        );
      }
      const platforms = args.platform == null ? PLATFORMS : [args.platform];
      const pageIds = await pagesHeard(context, args.pageId == null ? undefined : String(args.pageId), args.platform);
      // The inbox of each platform heard, by the account id its events name, once the caller's token is proven to read it.
      const inboxes = new Map<string, Inbox>();
      // One batch: each Page's proofs, and which Instagram account each links.
      const outcomes = await Promise.all(pageIds.map((pageId) => provePage(context, pageId, platforms, inboxes)));
      context.graph.dispose();
      if (args.pageId != null && args.platform === 'instagram' && outcomes[0]?.linksInstagram === false) {
        throw invalidArgument(`Page ${pageIds[0]} has no linked Instagram professional account.`);
      }
      if (inboxes.size === 0) {
        const refusal = outcomes.find((outcome) => outcome.refusal !== undefined)?.refusal;
        throw refusal ?? invalidArgument('The caller reaches no inbox to hear: no Page, or none with a linked Instagram account.');
      }
      return whileProven(bus.subscribe([...inboxes.keys()]), inboxes, context.proveInbox);
    },
    resolve: (event: InboxEventShape | Revoked) => {
      if ('revokedBy' in event) throw event.revokedBy;
      return event;
    },
  }),
);

type Platform = (typeof PLATFORMS)[number];

/**
 * The Pages a subscription hears: the one named (which the caller must reach), or every Page the caller reaches,
 * listed and bounded as `Viewer.inbox` lists its sources.
 */
async function pagesHeard(context: GatewayContext, pageId: string | undefined, platform: Platform | null | undefined): Promise<string[]> {
  if (pageId !== undefined) {
    const resolved = await context.resolvePageId(checkGraphId(pageId, 'Page id'));
    await context.checkReach(resolved);
    return [resolved];
  }
  const sources = await inboxSources(context, undefined, platform, { verb: 'hear', narrowWith: '`pageId` or `platform`' });
  return [...new Set(sources.map((source) => source.pageId))];
}

/**
 * Proves the caller's token for the Page's inbox on each of `platforms`, adding each one proven to `inboxes` under
 * the account id its events name (Instagram deliveries name the linked Instagram account, not the Page). Tells the
 * first refusal, and whether the Page links an Instagram account (`undefined` when Instagram is not asked for).
 */
async function provePage(
  context: GatewayContext,
  pageId: string,
  platforms: readonly Platform[],
  inboxes: Map<string, Inbox>,
): Promise<{ refusal: unknown; linksInstagram: boolean | undefined }> {
  let refusal: unknown;
  const prove = async (account: string, inbox: Inbox): Promise<void> => {
    try {
      await context.proveInbox(inbox);
      inboxes.set(account, inbox);
    } catch (error) {
      refusal ??= error;
    }
  };
  // Not billed to the inbox budget.
  const linkedInstagram = async (): Promise<string | undefined> => {
    const page = await context.graph.read<GraphPageNode>({ path: pageId, params: { fields: 'instagram_business_account' } }, pageId, {
      budgeted: false,
    });
    return page.value.instagram_business_account?.id;
  };
  const [, instagram] = await Promise.all([
    platforms.includes('messenger') ? prove(pageId, { page: pageId, platform: 'messenger' }) : undefined,
    platforms.includes('instagram') ? linkedInstagram() : undefined,
  ]);
  if (instagram !== undefined) await prove(instagram, { page: pageId, platform: 'instagram' });
  return { refusal, linksInstagram: platforms.includes('instagram') ? instagram !== undefined : undefined };
}

/** The last item of a subscription whose token lost the right to read the inbox: Graph's refusal, answered as its error. */
interface Revoked {
  readonly revokedBy: unknown;
}

/**
 * Relays `events`, each with the Page of its inbox, while the token stays proven for each event's inbox: an event arriving after the proof
 * expired waits for a read that proves it again, and the first refusal ends the subscription with it.
 * (An iterator rather than an async generator: a generator's `return()` waits for the pending event, so a
 * client that leaves would be listened for until the next one.)
 */
function whileProven(
  events: AsyncIterableIterator<InboxEvent>,
  inboxes: ReadonlyMap<string, Inbox>,
  proveInbox: (inbox: Inbox) => Promise<void>,
): AsyncIterableIterator<InboxEventShape | Revoked> {
  const end = async (): Promise<IteratorReturnResult<undefined>> => {
    await events.return?.();
    return { done: true, value: undefined };
  };
  let revoked = false;
  return {
    async next(): Promise<IteratorResult<InboxEventShape | Revoked>> {
      if (revoked) return end();
      for (;;) {
        const result = await events.next();
        if (result.done === true) return { done: true, value: undefined };
        const inbox = inboxes.get(result.value.accountId);
        if (inbox === undefined) continue;
        try {
          await proveInbox(inbox);
        } catch (error) {
          revoked = true;
          return { done: false, value: { revokedBy: error } };
        }
        return { done: false, value: { ...result.value, pageId: inbox.page } };
      }
    },
    return: end,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
