/**
 * Turns records into Graph JSON for a validated selection: nodes (thread, message, Page, user)
 * and their list edges, top-level or expanded inside a node. Rules from Meta's Field Expansion and Paginated Results pages
 * (developers.facebook.com/docs/graph-api/field-expansion, developers.facebook.com/docs/graph-api/results):
 * fields come back in the order asked, `id` is always added to nodes, a field without data is
 * left out (never `null`), and Messenger-only thread fields are left out on Instagram threads.
 */
import type { CursorCodec } from './cursors.js';
import { CONVERSATION_FILTER_PARAMS, parseConversationFilter } from './conversation-filter.js';
import type { BatchLinkSigner } from './batch-links.js';
import { messagingDisallowed, missingPermission, missingTask, pageTokenRequired, permissionsError, policyBlocked } from './errors.js';
import { modifierValue, serializeFields, type FieldSelection } from './fields.js';
import type {
  MessageRecord,
  PageRecord,
  PageTask,
  PageTokenRecord,
  Participant,
  Permission,
  Platform,
  ThreadRecord,
  UserRecord,
} from './model.js';
import { pageOf, type GraphList, type LinkTemplate, type PagedList, type WindowRequest } from './paging.js';
import { DEFAULT_ACCOUNT_FIELDS, DEFAULT_FIELDS, parseLimitValue } from './schema.js';
import { snippetOf } from './seed.js';
import { conversationFilterKey, type ConversationFilter, type WorldStore } from './store.js';

/** Graph's page size when `limit` is absent (Meta: Paginated Results, developers.facebook.com/docs/graph-api/results). */
export const DEFAULT_LIMIT = 25;
/**
 * Instagram serves message details only for a thread's newest messages
 * (https://developers.facebook.com/docs/messenger-platform/conversations).
 */
export const MESSAGE_DETAIL_WINDOW = 20;
/** Message fields that stay readable beyond the detail window: the conversation still lists every message. */
export const MESSAGE_SUMMARY_FIELDS: ReadonlySet<string> = new Set(['id', 'created_time']);

/** Who is calling: a Page token (with its tasks and permissions) or a user. */
export type Viewer = PageTokenRecord | Readonly<{ kind: 'user'; user: UserRecord }>;

/** Everything rendering needs from the request. */
export interface RenderContext {
  readonly store: WorldStore;
  readonly codec: CursorCodec;
  /** API major version of the call (`25` for `v25.0`). */
  readonly major: number;
  /** Origin plus version path, the root of every paging link: `http://127.0.0.1:4010/v25.0`. */
  readonly root: string;
  /** The token the call used; paging links carry it (Meta: Paginated Results, developers.facebook.com/docs/graph-api/results). */
  readonly token: string;
  readonly viewer: Viewer;
  readonly maxLimit: number;
  /** Inside a batch: signs the paging links of its answer, as Graph's batch-derived links are. */
  readonly linkSigner?: BatchLinkSigner | undefined;
}

type Json = Record<string, unknown>;
type Account = UserRecord['accounts'][number];

const idOfRecord = (record: { readonly id: string }): string => record.id;
const updatedTimeOf = (thread: ThreadRecord): number => thread.updatedTime;
const createdTimeOf = (message: MessageRecord): number => message.createdTime;

/**
 * Tasks of which the token's user needs one, per platform (https://developers.facebook.com/docs/graph-api/reference/page/conversations):
 * Instagram asks for MESSAGING on the linked Page.
 */
const REQUIRED_TASKS: Readonly<Record<Platform, readonly PageTask[]>> = {
  messenger: ['MESSAGING', 'MODERATE'],
  instagram: ['MESSAGING'],
};
/** Permissions the app needs, all of them, per platform (https://developers.facebook.com/docs/graph-api/reference/page/conversations). */
const REQUIRED_PERMISSIONS: Readonly<Record<Platform, readonly Permission[]>> = {
  messenger: ['pages_messaging', 'pages_manage_metadata', 'pages_read_engagement'],
  instagram: ['instagram_basic', 'instagram_manage_messages', 'pages_manage_metadata'],
};

/**
 * The part of inbox access that does not depend on the platform: only a Page token of the Page
 * itself, whose user is an admin, editor or moderator (MESSAGING or MODERATE), reads its inbox.
 * A user token gets (#190), another Page's token (#200).
 */
export function assertPageAccess(ctx: RenderContext, pageId: string): PageTokenRecord {
  const { viewer } = ctx;
  if (viewer.kind === 'user') throw pageTokenRequired();
  if (viewer.pageId !== pageId) throw permissionsError();
  if (!REQUIRED_TASKS.messenger.some((task) => viewer.tasks.includes(task))) throw missingTask();
  return viewer;
}

/**
 * Full inbox access on one platform (https://developers.facebook.com/docs/graph-api/reference/page/conversations): the platform's task and
 * every permission it
 * needs, each refused with (#200) naming what is missing; then a user blocked for policy gets (#368).
 */
export function assertInboxAccess(ctx: RenderContext, pageId: string, platform: Platform): void {
  const viewer = assertPageAccess(ctx, pageId);
  const tasks = REQUIRED_TASKS[platform];
  if (!tasks.some((task) => viewer.tasks.includes(task))) throw missingTask();
  const missing = REQUIRED_PERMISSIONS[platform].filter((permission) => !viewer.permissions.includes(permission));
  if (missing.length > 0) throw missingPermission(missing[0]!);
  if (viewer.policyBlocked === true) throw policyBlocked();
}

/** The account entry through which the viewer manages `page`, if any. */
export function managedAccount(ctx: RenderContext, page: PageRecord): Account | undefined {
  return ctx.viewer.kind === 'user' ? ctx.viewer.user.accounts.find((account) => account.pageId === page.id) : undefined;
}

export function renderThread(thread: ThreadRecord, selections: readonly FieldSelection[], ctx: RenderContext): Json {
  const messenger = thread.platform === 'messenger';
  const out: Json = {};
  for (const selection of selections) {
    let value: unknown;
    switch (selection.name) {
      case 'id':
        value = thread.id;
        break;
      case 'updated_time':
        value = thread.updatedTimeText;
        break;
      case 'folder':
        // Left out for threads archived before mid-2018: they sit in no folder.
        value = thread.folder;
        break;
      case 'is_owner':
        // Only returned when asked for explicitly (Meta: Conversation, developers.facebook.com/docs/graph-api/reference/conversation); the
        // emulator's app owns every thread.
        value = true;
        break;
      case 'participants':
        value = participantList(thread, 'participants', [thread.customer, thread.business], selection, ctx);
        break;
      case 'messages':
        value = nestedList(selection, thread.id, 'messages', ctx, (request, links) =>
          messageList(thread, request, selection.children ?? DEFAULT_FIELDS.Message, ctx, links),
        );
        break;
      default:
        if (messenger) value = messengerOnlyField(thread, selection, ctx);
    }
    if (value !== undefined) out[selection.name] = value;
  }
  if (!('id' in out)) out.id = thread.id;
  return out;
}

function messengerOnlyField(thread: ThreadRecord, selection: FieldSelection, ctx: RenderContext): unknown {
  switch (selection.name) {
    case 'link':
      return thread.link;
    case 'snippet':
      return snippetOf(thread);
    case 'message_count':
      return thread.messages.length;
    case 'unread_count':
      return thread.unreadCount;
    case 'can_reply':
      return thread.canReply;
    case 'is_subscribed':
      return thread.isSubscribed;
    case 'name':
      return thread.name;
    case 'scoped_thread_key':
      return thread.scopedThreadKey;
    case 'senders':
      return participantList(thread, 'senders', sendersOf(thread), selection, ctx);
    case 'former_participants':
      return thread.formerParticipants === undefined
        ? undefined
        : participantList(thread, 'former_participants', thread.formerParticipants, selection, ctx);
    default:
      // subject, wallpaper, linked_group: known fields without data.
      return undefined;
  }
}

/** Thread members who sent at least one message, in participants order. */
export function sendersOf(thread: ThreadRecord): Participant[] {
  let customer = false;
  let business = false;
  for (const message of thread.messages) {
    if (message.from === thread.customer) customer = true;
    else business = true;
    if (customer && business) break;
  }
  return [...(customer ? [thread.customer] : []), ...(business ? [thread.business] : [])];
}

/**
 * Whether Graph still serves the message's details: on Instagram, only for the thread's 20 newest
 * (https://developers.facebook.com/docs/messenger-platform/conversations).
 */
export function hasDetails(message: MessageRecord, thread: ThreadRecord): boolean {
  return thread.platform !== 'instagram' || thread.messages.indexOf(message) < MESSAGE_DETAIL_WINDOW;
}

/**
 * A message with the asked fields. Beyond Instagram's detail window only its id and time remain: the
 * conversation lists every message, but the details of older ones are gone ([I] for lists; a single
 * read of such a message is an error, see the router).
 */
export function renderMessage(
  message: MessageRecord,
  thread: ThreadRecord,
  selections: readonly FieldSelection[],
  ctx: RenderContext,
): Json {
  const instagram = thread.platform === 'instagram';
  const detailed = hasDetails(message, thread);
  const out: Json = {};
  for (const selection of selections) {
    const { children } = selection;
    if (!detailed && !MESSAGE_SUMMARY_FIELDS.has(selection.name)) continue;
    let value: unknown;
    switch (selection.name) {
      case 'id':
        value = message.id;
        break;
      case 'created_time':
        value = message.createdTimeText;
        break;
      case 'message':
        value = message.text;
        break;
      case 'from':
        value = projectParticipant(message.from, children);
        break;
      case 'to':
        value = { data: [projectParticipant(message.to, children)] };
        break;
      case 'attachments':
      case 'shares':
        value = messageRecordField(message, selection.name, selection, ctx);
        break;
      case 'sticker':
        value = message.sticker;
        break;
      case 'tags':
        if (!instagram) value = projectJson(messageTags(message, thread), children);
        break;
      case 'reactions':
        if (instagram && message.reactions !== undefined) value = projectJson(message.reactions, children);
        break;
      case 'story':
        if (message.story !== undefined) value = projectJson(message.story, children);
        break;
      case 'is_unsupported':
        value = message.isUnsupported;
        break;
      case 'reply_to':
        // Shown for Instagram [C] and, as Messenger's webhooks carry replies too, for Messenger [I].
        if (message.replyTo !== undefined) value = projectJson(message.replyTo, children);
        break;
    }
    if (value !== undefined) out[selection.name] = value;
  }
  if (!('id' in out)) out.id = message.id;
  return out;
}

/** The folder marker of Messenger message tags; archived threads' messages carry `action:archived` [O]. */
const FOLDER_TAGS: Readonly<Record<NonNullable<ThreadRecord['folder']>, string>> = {
  inbox: 'inbox',
  other: 'other',
  page_done: 'action:archived',
  spam: 'spam',
};

/**
 * Folder, read and source markers on a Messenger message (https://developers.facebook.com/docs/graph-api/reference/message): `read` once
 * the Page
 * has seen it, that is every message but the customer's unread newest ones.
 */
function messageTags(message: MessageRecord, thread: ThreadRecord): { data: { name: string }[] } {
  const data = [{ name: thread.folder === undefined ? 'action:archived' : FOLDER_TAGS[thread.folder] }];
  if (thread.messages.indexOf(message) >= thread.unreadCount) data.push({ name: 'read' });
  data.push({ name: 'source:chat' });
  return { data };
}

export function renderPage(
  page: PageRecord,
  selections: readonly FieldSelection[],
  ctx: RenderContext,
  account = managedAccount(ctx, page),
): Json {
  const out: Json = {};
  for (const selection of selections) {
    let value: unknown;
    switch (selection.name) {
      case 'id':
        value = page.id;
        break;
      case 'name':
        value = page.name;
        break;
      case 'category':
        value = page.category;
        break;
      case 'access_token':
        value = account?.accessToken;
        break;
      case 'tasks':
        value = account?.tasks;
        break;
      case 'instagram_business_account':
        if (page.instagram !== undefined) value = projectJson({ id: page.instagram.id }, selection.children);
        break;
      case 'conversations':
      case 'threads':
        value = nestedList(
          selection,
          page.id,
          selection.name,
          ctx,
          (request, links) => {
            const filter = parseConversationFilter((name) => modifierValue(selection, name), ctx.major);
            return conversationList(page, filter, request, selection.children ?? DEFAULT_FIELDS.UnifiedThread, ctx, links);
          },
          CONVERSATION_FILTER_PARAMS,
        );
        break;
    }
    if (value !== undefined) out[selection.name] = value;
  }
  if (!('id' in out)) out.id = page.id;
  return out;
}

export function renderUser(user: UserRecord, selections: readonly FieldSelection[], ctx: RenderContext): Json {
  const out: Json = {};
  for (const selection of selections) {
    let value: unknown;
    switch (selection.name) {
      case 'id':
        value = user.id;
        break;
      case 'name':
        value = user.name;
        break;
      case 'accounts':
        value = nestedList(selection, user.id, 'accounts', ctx, (request, links) =>
          accountList(user, request, selection.children, ctx, links),
        );
        break;
    }
    if (value !== undefined) out[selection.name] = value;
  }
  if (!('id' in out)) out.id = user.id;
  return out;
}

/** `/{page-id}/conversations`: the Page's threads for one filter set, newest first. */
export function conversationList(
  page: PageRecord,
  filter: ConversationFilter,
  request: WindowRequest,
  selections: readonly FieldSelection[],
  ctx: RenderContext,
  links: LinkTemplate,
): GraphList {
  assertInboxAccess(ctx, page.id, filter.platform);
  const { store } = ctx;
  const items = store.conversations(page.id, filter);
  // [I] A lookup of a person who blocked the Page: the edge's (#230) "Permissions disallow message to user".
  if (filter.userId !== undefined && items.some((thread) => thread.customerBlockedPage === true)) throw messagingDisallowed();
  const list: PagedList<ThreadRecord> = {
    items,
    scope: conversationFilterKey(page.id, filter),
    idOf: idOfRecord,
    keyOf: updatedTimeOf,
    exists: store.hasThread,
    visible: store.isVisible,
  };
  return pageOf(list, request, ctx.codec, links, (thread) => renderThread(thread, selections, ctx));
}

/** `/{thread-id}/messages`: newest first. */
export function messageList(
  thread: ThreadRecord,
  request: WindowRequest,
  selections: readonly FieldSelection[],
  ctx: RenderContext,
  links: LinkTemplate,
): GraphList {
  const list: PagedList<MessageRecord> = {
    items: thread.messages,
    scope: `messages:${thread.id}`,
    idOf: idOfRecord,
    keyOf: createdTimeOf,
    exists: ctx.store.hasMessage,
  };
  return pageOf(list, request, ctx.codec, links, (message) => renderMessage(message, thread, selections, ctx));
}

/** `/me/accounts`: the Pages a user manages, each with its Page token and the user's tasks. */
export function accountList(
  user: UserRecord,
  request: WindowRequest,
  selections: readonly FieldSelection[] | undefined,
  ctx: RenderContext,
  links: LinkTemplate,
): GraphList {
  if (ctx.viewer.kind !== 'user' || ctx.viewer.user.id !== user.id) throw permissionsError();
  const list = indexedList(`accounts:${user.id}`, user.accounts, (account) => account.pageId);
  return pageOf(list, request, ctx.codec, links, (account) => {
    const page = ctx.store.page(account.pageId);
    return page === undefined ? {} : renderPage(page, selections ?? DEFAULT_ACCOUNT_FIELDS, ctx, account);
  });
}

/** `/{thread-id}/participants` (and `senders`, `former_participants`) as a paged edge. */
export function participantEdge(
  thread: ThreadRecord,
  edge: string,
  request: WindowRequest,
  selections: readonly FieldSelection[] | undefined,
  ctx: RenderContext,
  links: LinkTemplate,
): GraphList {
  const messenger = thread.platform === 'messenger';
  const members =
    edge === 'participants'
      ? [thread.customer, thread.business]
      : !messenger
        ? []
        : edge === 'senders'
          ? sendersOf(thread)
          : (thread.formerParticipants ?? []);
  const list = indexedList(`${edge}:${thread.id}`, members, (member) => member.id);
  return pageOf(list, request, ctx.codec, links, (member) => projectParticipant(member, selections));
}

/** The record lists hanging off a message, and the node type of their items. */
const MESSAGE_RECORD_EDGES = {
  attachments: { type: 'MessageAttachment', of: (message: MessageRecord) => message.attachments },
  shares: { type: 'Share', of: (message: MessageRecord) => message.shares },
} as const;

/** `/{message-id}/attachments` and `/{message-id}/shares`; share sub-fields must be asked for explicitly. */
export function messageRecordEdge(
  message: MessageRecord,
  edge: keyof typeof MESSAGE_RECORD_EDGES,
  request: WindowRequest,
  selections: readonly FieldSelection[] | undefined,
  ctx: RenderContext,
  links: LinkTemplate,
): GraphList {
  const { type, of } = MESSAGE_RECORD_EDGES[edge];
  const list = indexedList<{ readonly id: string }>(`${edge}:${message.id}`, of(message) ?? [], idOfRecord);
  return pageOf(list, request, ctx.codec, links, (record) => projectNode(record, selections ?? DEFAULT_FIELDS[type]));
}

/**
 * Members of a thread as a field. Without modifiers it is the plain `{"data":[…]}` Graph shows for
 * participants; with `limit`/`after`/`before` it pages like the `/{thread-id}/{edge}` edge.
 */
function participantList(
  thread: ThreadRecord,
  edge: string,
  members: readonly Participant[],
  selection: FieldSelection,
  ctx: RenderContext,
): unknown {
  if (selection.modifiers.length === 0) return { data: members.map((member) => projectParticipant(member, selection.children)) };
  return nestedList(selection, thread.id, edge, ctx, (request, links) =>
    participantEdge(thread, edge, request, selection.children, ctx, links),
  );
}

/** Attachments or shares as a message field: left out when the message has none, paged only when asked with modifiers. */
function messageRecordField(
  message: MessageRecord,
  edge: keyof typeof MESSAGE_RECORD_EDGES,
  selection: FieldSelection,
  ctx: RenderContext,
): unknown {
  const { type, of } = MESSAGE_RECORD_EDGES[edge];
  const records = of(message);
  if (records === undefined) return undefined;
  if (selection.modifiers.length > 0) {
    return nestedList(selection, message.id, edge, ctx, (request, links) =>
      messageRecordEdge(message, edge, request, selection.children, ctx, links),
    );
  }
  const children = selection.children ?? DEFAULT_FIELDS[type];
  return { data: records.map((record) => projectNode(record, children)) };
}

/**
 * An edge expanded inside a node (`messages.limit(3){message}`): its own `data` and `paging`, whose
 * links point straight at the edge path with the sub-fields re-serialised (Meta: Field Expansion,
 * developers.facebook.com/docs/graph-api/field-expansion).
 */
function nestedList(
  selection: FieldSelection,
  ownerId: string,
  edge: string,
  ctx: RenderContext,
  build: (request: WindowRequest, links: LinkTemplate) => GraphList,
  /** Non-paging modifiers carried into the links as query params (the conversations filters). */
  filterParams: readonly string[] = [],
): GraphList {
  const rawLimit = modifierValue(selection, 'limit');
  const request: WindowRequest = {
    limit: rawLimit === undefined ? Math.min(DEFAULT_LIMIT, ctx.maxLimit) : parseLimitValue(rawLimit, ctx.maxLimit),
    after: modifierValue(selection, 'after'),
    before: modifierValue(selection, 'before'),
  };
  const params: [string, string][] = [['access_token', ctx.token]];
  if (selection.children !== undefined) params.push(['fields', serializeFields(selection.children)]);
  for (const name of filterParams) {
    const value = modifierValue(selection, name);
    if (value !== undefined) params.push([name, value]);
  }
  return build(request, { root: ctx.root, path: `${ownerId}/${edge}`, params, signer: ctx.linkSigner });
}

/** A small list paged by position: the key is the negated index, so it sorts like the list. */
function indexedList<T>(scope: string, items: readonly T[], idOf: (item: T) => string): PagedList<T> {
  const index = new Map<T, number>();
  for (const [i, item] of items.entries()) index.set(item, i);
  return {
    items,
    scope,
    idOf,
    keyOf: (item) => -(index.get(item) ?? 0),
    exists: (id) => items.some((item) => idOf(item) === id),
  };
}

/** A participant with only the asked fields (plus `id`); the shared record itself when nothing was asked. */
function projectParticipant(participant: Participant, selections: readonly FieldSelection[] | undefined): unknown {
  return selections === undefined ? participant : projectNode(participant, selections);
}

/** Picks the asked fields of a flat record in the asked order, appending `id` as Graph does for nodes. */
function projectNode(record: object, selections: readonly FieldSelection[]): Json {
  const source = record as Readonly<Record<string, unknown>>;
  const out: Json = {};
  for (const selection of selections) {
    const value = source[selection.name];
    if (value !== undefined) out[selection.name] = selection.children === undefined ? value : projectJson(value, selection.children);
  }
  if (!('id' in out) && source.id !== undefined) out.id = source.id;
  return out;
}

/** A free-form object narrowed to a sub-selection; `{data:[…]}` wrappers are narrowed item by item. */
function projectJson(value: unknown, selections: readonly FieldSelection[] | undefined): unknown {
  if (selections === undefined || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => projectJson(item, selections));
  const source = value as Readonly<Record<string, unknown>>;
  if (Array.isArray(source.data) && !selections.some((selection) => selection.name === 'data')) {
    return { data: source.data.map((item: unknown) => projectJson(item, selections)) };
  }
  const out: Json = {};
  for (const selection of selections) {
    const picked = source[selection.name];
    if (picked !== undefined) out[selection.name] = projectJson(picked, selection.children);
  }
  return out;
}
