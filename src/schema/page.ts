import { builder, encodeGlobalId } from '../builder.js';
import { invalidArgument } from '../gateway-errors.js';
import { isGraphId } from '../graph-api/request.js';
import type { GraphPageNode, GraphThread } from '../graph-api/wire-types.js';
import { ConversationFolder } from './conversation-folder.js';
import { ConversationRef, readConversation, type ConversationShape } from './conversation.js';
import { cursorScope } from '../cursors.js';
import { resolveEdgeConnection } from './edge-connection.js';
import { argumentOf, type EdgeArgs, type GraphEdgeSpec } from './field-plan.js';

export interface PageShape {
  readonly kind: 'Page';
  readonly pageId: string;
  /** Known when the Page came from `/me/accounts`; read from Graph otherwise. */
  readonly name?: string | undefined;
  readonly tasks?: readonly string[] | undefined;
}

export const MessagingPlatform = builder.enumType('MessagingPlatform', {
  values: {
    MESSENGER: { value: 'messenger' },
    INSTAGRAM: { value: 'instagram', description: 'Instagram Direct of the professional account linked to the Page.' },
  } as const,
});

// Messenger folder tags that the legacy `tags` filter of v5.0 took (Meta: Page Conversations,
// developers.facebook.com/docs/graph-api/reference/page/conversations).
const LEGACY_TAG_PATTERN = /^[a-z_]+(:[a-z_]+)?$/;
const USER_ID_PATTERN = /^\d{1,32}$/;

/** Validates a Graph id a client sent, before it can reach an upstream path. */
export function checkGraphId(id: string, what: string): string {
  if (!isGraphId(id)) throw invalidArgument(`${what} "${id.slice(0, 100)}" is not a Graph id.`);
  return id;
}

export const PageRef = builder.objectRef<PageShape>('Page');

/** What a read of the Page node itself is about, for the read cache. */
const PAGE_NODE = { kind: 'page' } as const;

/** The Graph filters of a conversations read, from the field's validated arguments. */
function conversationFilters(args: EdgeArgs): Record<string, string | undefined> {
  const text = (name: string): string | undefined => {
    const value = argumentOf(args, name);
    return typeof value === 'string' ? value : undefined;
  };
  const tags = argumentOf(args, 'tags');
  return {
    folder: text('folder'),
    platform: text('platform'),
    user_id: text('userId'),
    tags: Array.isArray(tags) ? tags.join(',') : undefined,
  };
}

/** The watermark of `updatedSince`, in epoch ms. */
const watermarkOf = (args: EdgeArgs): number | undefined => {
  const since = argumentOf(args, 'updatedSince');
  return since instanceof Date ? since.getTime() : undefined;
};

/** A Page's inbox, most recently updated first (`/{page-id}/conversations`). */
export const CONVERSATIONS_EDGE: GraphEdgeSpec = {
  edge: 'conversations',
  nodeType: 'Conversation',
  filters: conversationFilters,
  // The watermark is judged on `updated_time`, selected or not.
  extraFields: (args) => (watermarkOf(args) === undefined ? [] : [{ name: 'updated_time' }]),
  scope: (pageId, args, callerKey) => {
    const since = watermarkOf(args);
    return cursorScope({
      list: 'conversations',
      page: pageId,
      ...conversationFilters(args),
      updatedSince: since === undefined ? undefined : String(since),
      viewer: callerKey,
    });
  },
  // Without `platform`, Graph lists Messenger threads only.
  about: (_pageId, args) => ({ kind: 'list', platform: argumentOf(args, 'platform') === 'instagram' ? 'instagram' : 'messenger' }),
};

/** A thread's `updated_time` in epoch ms; a thread without one counts as oldest. */
export function updatedAt(thread: GraphThread): number {
  const time = thread.updated_time === undefined ? Number.NaN : Date.parse(thread.updated_time);
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

builder.objectType(PageRef, {
  interfaces: [builder.nodeInterfaceRef()],
  description: 'A Facebook Page; its inbox also holds the Instagram professional account linked to it.',
  isTypeOf: (value) => (value as { kind?: unknown }).kind === 'Page',
  fields: (t) => ({
    id: t.id({ resolve: (page) => encodeGlobalId('Page', page.pageId) }),
    graphApiId: t.id({ resolve: (page) => page.pageId }),
    name: t.string({
      nullable: true,
      resolve: async (page, _args, context) =>
        page.name ??
        // Kept by the read cache for CACHE_PAGE_MAX_AGE_SECONDS, served to tokens that read this Page or one of its inboxes.
        (
          await context.graph.read<GraphPageNode>({ path: page.pageId, params: { fields: 'id,name' } }, page.pageId, {
            budgeted: false,
            about: PAGE_NODE,
          })
        ).value.name ??
        null,
    }),
    tasks: t.stringList({
      nullable: true,
      description: 'What the caller may do on the Page (e.g. MESSAGING, MODERATE), when known from `/me/accounts`.',
      resolve: (page) => page.tasks ?? null,
    }),
    conversations: t.connection(
      {
        type: ConversationRef,
        description:
          'The inbox, most recently updated first. Without `platform`, Graph returns Messenger threads only. Paging: `first`/`after` ' +
          'forward, `last`/`before` backward (from a cursor).',
        args: {
          folder: t.arg({
            type: ConversationFolder,
            required: false,
            description:
              'Default: INBOX, unless `userId` or `tags` is given: then every folder (and threads archived before mid-2018, which are ' +
              'in none).',
          }),
          platform: t.arg({ type: MessagingPlatform, required: false, description: 'Default: MESSENGER.' }),
          userId: t.arg.string({
            required: false,
            description:
              'Only the conversation with this person: a PSID (Messenger) or IGSID (Instagram), in whatever folder holds it unless ' +
              '`folder` is given (`Conversation.folder` says which).',
          }),
          updatedSince: t.arg({
            type: 'DateTime',
            required: false,
            description:
              'Only conversations updated at or after this instant: the list ends at the first older one. For syncing an inbox: pass ' +
              'the newest `updatedTime` you hold and dedupe by id (conversations updated in that same second come again, so none is ' +
              'missed).',
          }),
          tags: t.arg.stringList({
            required: false,
            description:
              'Threads carrying any of these legacy tags. `["action:archived"]` lists threads archived before mid-2018, which no ' +
              'folder holds; PAGE_DONE holds those archived since.',
            deprecationReason: 'Legacy v5.0 filter; use `folder` (only threads archived before mid-2018 need `tags: ["action:archived"]`).',
          }),
        },
        resolve: (page, args, context, info) => {
          if (args.userId != null && !USER_ID_PATTERN.test(args.userId)) {
            throw invalidArgument('userId must be a numeric PSID (Messenger) or IGSID (Instagram).');
          }
          const badTag = args.tags?.find((tag) => !LEGACY_TAG_PATTERN.test(tag));
          if (badTag !== undefined) throw invalidArgument(`Unknown tag "${badTag.slice(0, 100)}".`);
          const since = args.updatedSince?.getTime();
          return resolveEdgeConnection<GraphThread, ConversationShape>(
            CONVERSATIONS_EDGE,
            { pageId: page.pageId, graphId: page.pageId },
            args,
            context,
            info,
            {
              idOf: (thread: GraphThread) => thread.id,
              isPastEnd: since === undefined ? undefined : (thread) => updatedAt(thread) < since,
              // Nested connections ride in the read of each page (field expansion): they are as fresh as it is.
              toNode: (thread, fetched, nodes): ConversationShape => ({
                kind: 'Conversation',
                pageId: page.pageId,
                platform: args.platform ?? 'messenger',
                thread,
                expanded: nodes.expanded,
                fetched,
              }),
            },
          );
        },
      },
      { name: 'ConversationConnection' },
      { name: 'ConversationEdge' },
    ),
    conversation: t.field({
      type: ConversationRef,
      nullable: true,
      description:
        "One conversation of the Page's inbox (Messenger or Instagram) by its Graph thread id, or on Messenger by its scoped thread " +
        'key: Graph accepts either. One upstream read, nested `messages` included.',
      args: {
        id: t.arg.id({
          required: true,
          description: 'A thread id (`t_…` on Messenger) or a scoped thread key (`Conversation.scopedThreadKey`).',
        }),
      },
      // Not kept by the read cache: the id may be a scoped key, which webhook events never name.
      resolve: (page, args, context, info) =>
        readConversation(context, info, page.pageId, checkGraphId(String(args.id), 'Conversation id'), undefined),
    }),
  }),
});

/** A conversation's platform: the inbox it was listed in, or else its id's form (Messenger thread ids start `t_`). */
export const platformOf = (conversation: ConversationShape): 'messenger' | 'instagram' =>
  conversation.platform ?? (conversation.thread.id.startsWith('t_') ? 'messenger' : 'instagram');

builder.objectFields(ConversationRef, (t) => ({
  page: t.field({
    type: PageRef,
    description: 'The Page whose inbox holds it (for Instagram: the Page the professional account is linked to). No upstream call.',
    resolve: (conversation): PageShape => ({ kind: 'Page', pageId: conversation.pageId }),
  }),
  platform: t.field({ type: MessagingPlatform, description: 'Messenger, or Instagram Direct.', resolve: platformOf }),
}));

builder.queryField('page', (t) =>
  t.field({
    type: PageRef,
    nullable: true,
    description: 'A Page by its Graph id. Makes no upstream call by itself: its fields do.',
    args: {
      id: t.arg.id({ required: true, description: 'The Graph Page id, e.g. "1000000001", or `me` for the Page of a Page token.' }),
    },
    // `me` is resolved per token: a Page known by its numeric id only, so nothing is ever kept under an alias.
    resolve: async (_root, args, context): Promise<PageShape> => ({
      kind: 'Page',
      pageId: await context.resolvePageId(checkGraphId(String(args.id), 'Page id')),
    }),
  }),
);
