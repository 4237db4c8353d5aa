/**
 * The emulator's in-memory data: indexes by id, the conversation lists kept sorted per
 * (Page, platform, folder), and the mutators tests use to change the world mid-scroll.
 * Lists are sorted once at start-up and kept sorted by the mutators, so a request never sorts.
 */
import { createHash } from 'node:crypto';
import {
  FOLDERS,
  PLATFORMS,
  formatGraphTime,
  type AttachmentRecord,
  type Folder,
  type MessageRecord,
  type PageRecord,
  type Platform,
  type ThreadRecord,
  type TokenRecord,
  type UserRecord,
} from './model.js';
import { DEMO, SEED_NOW, type SeedWorld } from './seed.js';

/** Filters of the conversations edge, already validated. */
export interface ConversationFilter {
  readonly platform: Platform;
  /** `undefined` = any folder (only when `user_id` or `tags` is given without `folder`). */
  readonly folder: Folder | undefined;
  readonly userId: string | undefined;
  /** Legacy tags; a thread matches when it carries any of them. */
  readonly tags: readonly string[] | undefined;
}

/** A thread as tests see it through {@link EmulatorStore.listConversations}. */
export interface ConversationSummary {
  readonly id: string;
  readonly pageId: string;
  readonly platform: Platform;
  /** `undefined`: archived before mid-2018 (the legacy `action:archived` tag), in no folder. */
  readonly folder: Folder | undefined;
  readonly updatedTime: string;
  readonly customerId: string;
  /** Messenger only: the key that names the thread as well as its id. */
  readonly scopedThreadKey: string | undefined;
  readonly messageCount: number;
  /** `false` when privacy filtering hides the thread from every read. */
  readonly visible: boolean;
}

/** What a test may do to the emulator's data. */
export interface EmulatorStore {
  /**
   * Appends a message to a thread (as the customer unless `fromId` names the business) and bumps
   * the thread's `updated_time`, so it moves to the top of its lists, as a new message does on
   * Graph. Throws when the thread or sender is unknown.
   */
  addMessage(conversationId: string, message: NewMessage): { id: string; createdTime: string };
  /** Removes a thread and its messages; cursors anchored on it stop working. Returns whether it existed. */
  deleteConversation(conversationId: string): boolean;
  /** A Page's threads in list order (newest first), hidden ones included and flagged. */
  listConversations(pageId: string, filter?: { platform?: Platform; folder?: Folder }): ConversationSummary[];
  /** A thread's message ids, newest first; `undefined` for an unknown thread. */
  messageIds(conversationId: string): string[] | undefined;
  /** The sender actions the Page sent in a thread through the Send API, oldest first (`at` in ms of the emulator's clock). */
  senderActions(conversationId: string): readonly SenderActionRecord[];
  /** The `metadata` a Send API message carried (it comes back only in the echo webhook, never on reads). */
  messageMetadata(messageId: string): string | undefined;
}

/** A message {@link EmulatorStore.addMessage} adds: as the customer unless `fromId` names the business. */
export interface NewMessage {
  fromId?: string;
  /** Empty for an attachment-only message. */
  text: string;
  /** The Send API's `message.metadata`, kept apart from the record (reads never show it). */
  metadata?: string;
  /** The Send API's `message.attachment`: `type` (image, video, audio, file) and the `payload.url` it was sent with. */
  attachment?: { type: string; url: string };
  /** The message this one replies to, which must be of the same thread. */
  replyTo?: string;
}

/** One sender action of the Send API, as {@link EmulatorStore.senderActions} lists it. */
export interface SenderActionRecord {
  readonly action: string;
  /** When it was received, in ms of the emulator's clock. */
  readonly at: number;
}

/** Mime types of Send API attachments by their `type`, as reads serve them. */
const ATTACHMENT_MIME_TYPES: Readonly<Record<string, string>> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/mpeg',
  file: 'application/octet-stream',
};

/** A Graph object an id resolves to. */
export type GraphNode =
  | { readonly kind: 'page'; readonly page: PageRecord }
  | { readonly kind: 'user'; readonly user: UserRecord }
  | { readonly kind: 'thread'; readonly thread: ThreadRecord }
  | { readonly kind: 'message'; readonly message: MessageRecord; readonly thread: ThreadRecord };

/** Derived (filtered) lists kept at most this many at a time; `user_id` values are unbounded. */
const DERIVED_CACHE_SIZE = 1024;

/** Newest first; equal times fall back to id, descending, so the order is total. */
export function compareThreads(a: ThreadRecord, b: ThreadRecord): number {
  return b.updatedTime - a.updatedTime || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The store behind one emulator: the seed world plus whatever tests changed. */
export class WorldStore implements EmulatorStore {
  readonly #pages = new Map<string, PageRecord>();
  readonly #users = new Map<string, UserRecord>();
  readonly #threads = new Map<string, ThreadRecord>();
  readonly #messages = new Map<string, MessageRecord>();
  readonly #tokens: ReadonlyMap<string, TokenRecord>;
  /** `${pageId}|${platform}|${folder or *}` → threads, sorted by {@link compareThreads}. */
  readonly #lists = new Map<string, ThreadRecord[]>();
  /** `${pageId}|${platform}|${customerId}` → that customer's thread. */
  readonly #byCustomer = new Map<string, ThreadRecord>();
  /** Messenger `scoped_thread_key` → its thread: both name the thread on every endpoint (the v5.0 reference). */
  readonly #byScopedKey = new Map<string, ThreadRecord>();
  readonly #derived = new Map<string, readonly ThreadRecord[]>();
  readonly #privacyFiltering: boolean;
  /** Standard Access: only people with a role on the app ({@link APP_ROLE_THREADS}) are served. */
  readonly #standardAccess: boolean;
  readonly #now: () => number;
  /** Last time handed to a new message, in seconds; always later than every seed message. */
  #clock = SEED_NOW;
  #added = 0;
  readonly #senderActions = new Map<string, SenderActionRecord[]>();
  readonly #metadata = new Map<string, string>();

  constructor(
    world: SeedWorld,
    options: { privacyFiltering: boolean; now?: (() => number) | undefined; accessLevel?: 'standard' | 'advanced' | undefined },
  ) {
    this.#privacyFiltering = options.privacyFiltering;
    this.#standardAccess = options.accessLevel === 'standard';
    this.#now = options.now ?? Date.now;
    this.#tokens = world.tokens;
    for (const page of world.pages) {
      this.#pages.set(page.id, page);
      for (const platform of PLATFORMS) {
        this.#lists.set(`${page.id}|${platform}|*`, []);
        for (const folder of FOLDERS) this.#lists.set(`${page.id}|${platform}|${folder}`, []);
      }
    }
    for (const user of world.users) this.#users.set(user.id, user);
    for (const thread of world.threads) {
      // Each store gets its own copies of the mutable parts, so two emulators never share state.
      const copy: ThreadRecord = { ...thread, messages: [...thread.messages], ...situationOf(thread) };
      this.#threads.set(copy.id, copy);
      for (const message of copy.messages) this.#messages.set(message.id, message);
      this.#byCustomer.set(`${copy.pageId}|${copy.platform}|${copy.customer.id}`, copy);
      if (copy.platform === 'messenger') this.#byScopedKey.set(copy.scopedThreadKey, copy);
      for (const list of this.#listsOf(copy)) list.push(copy);
    }
    for (const list of this.#lists.values()) list.sort(compareThreads);
  }

  /**
   * Resolves an id to a Page, user, thread (by its id or its scoped thread key) or message; hidden
   * threads and their messages resolve to nothing.
   */
  node(id: string): GraphNode | undefined {
    const page = this.#pages.get(id);
    if (page !== undefined) return { kind: 'page', page };
    const user = this.#users.get(id);
    if (user !== undefined) return { kind: 'user', user };
    const thread = this.#threads.get(id) ?? this.#byScopedKey.get(id);
    if (thread !== undefined) return this.isVisible(thread) ? { kind: 'thread', thread } : undefined;
    const message = this.#messages.get(id);
    if (message !== undefined) {
      const owner = this.#threads.get(message.threadId);
      return owner !== undefined && this.isVisible(owner) ? { kind: 'message', message, thread: owner } : undefined;
    }
    return undefined;
  }

  page(id: string): PageRecord | undefined {
    return this.#pages.get(id);
  }

  user(id: string): UserRecord | undefined {
    return this.#users.get(id);
  }

  token(token: string): TokenRecord | undefined {
    return this.#tokens.get(token);
  }

  // Bound once (arrow properties), as paged lists take them as callbacks on every request.
  /** Whether the thread still exists (hidden or not): a cursor anchored on it stays valid. */
  readonly hasThread = (id: string): boolean => this.#threads.has(id);
  readonly hasMessage = (id: string): boolean => this.#messages.has(id);
  /** Whether privacy filtering, and the app's access level, let this thread be served. */
  readonly isVisible = (thread: ThreadRecord): boolean =>
    !(this.#privacyFiltering && thread.hidden) && (!this.#standardAccess || APP_ROLE_THREADS.has(thread.id));

  /** The full ordered list for a filter set, hidden threads included (they are removed after the window is cut). */
  conversations(pageId: string, filter: ConversationFilter): readonly ThreadRecord[] {
    const all = this.#conversations(pageId, filter);
    // Standard Access: the others are not in Graph's list at all (inferred: pages are full, not cut short like privacy filtering's).
    return this.#standardAccess ? all.filter((thread) => APP_ROLE_THREADS.has(thread.id)) : all;
  }

  #conversations(pageId: string, filter: ConversationFilter): readonly ThreadRecord[] {
    if (filter.userId === undefined && filter.tags === undefined)
      return this.#lists.get(`${pageId}|${filter.platform}|${filter.folder ?? '*'}`) ?? [];
    const key = conversationFilterKey(pageId, filter);
    let list = this.#derived.get(key);
    if (list === undefined) {
      const { folder, tags } = filter;
      const matches = (thread: ThreadRecord): boolean =>
        (folder === undefined || thread.folder === folder) && (tags === undefined || tags.some((tag) => thread.tags.includes(tag)));
      if (filter.userId !== undefined) {
        const thread = this.#byCustomer.get(`${pageId}|${filter.platform}|${filter.userId}`);
        list = thread !== undefined && matches(thread) ? [thread] : [];
      } else {
        list = (this.#lists.get(`${pageId}|${filter.platform}|*`) ?? []).filter(matches);
      }
      if (this.#derived.size >= DERIVED_CACHE_SIZE) this.#derived.clear();
      this.#derived.set(key, list);
    }
    return list;
  }

  addMessage(conversationId: string, input: NewMessage): { id: string; createdTime: string } {
    // Now, as a message sent today is stamped; a second after the last one at least, so the newest
    // message stays the newest (the seed's history ends at its fixed "now", 2026-11-01 12:00 UTC).
    return this.#append(conversationId, input, Math.max(Math.floor(this.#now() / 1000), this.#clock + 1));
  }

  /**
   * Adds a customer message stamped `secondsAgo` before the emulator's clock (never before the thread's
   * newest message): the demo's reply windows (`demoReplyWindows`) open this way at start-up.
   */
  addCustomerMessageAgo(conversationId: string, text: string, secondsAgo: number): { id: string; createdTime: string } {
    const newest = this.#threads.get(conversationId)?.messages[0]?.createdTime ?? 0;
    const at = Math.max(Math.floor(this.#now() / 1000) - secondsAgo, newest + 1);
    return this.#append(conversationId, { text }, at);
  }

  #append(conversationId: string, input: NewMessage, createdTime: number): { id: string; createdTime: string } {
    const thread = this.#threads.get(conversationId);
    if (thread === undefined) throw new Error(`addMessage: unknown conversation "${conversationId}"`);
    if (typeof input.text !== 'string') throw new TypeError('addMessage: text must be a string');
    const fromId = input.fromId ?? thread.customer.id;
    const fromBusiness = fromId === thread.business.id || fromId === thread.pageId;
    if (!fromBusiness && fromId !== thread.customer.id) {
      throw new Error(
        `addMessage: "${fromId}" is neither the customer (${thread.customer.id}) ` +
          `nor the business (${thread.business.id}) of ${conversationId}`,
      );
    }
    const replied = input.replyTo === undefined ? undefined : this.#messages.get(input.replyTo);
    if (input.replyTo !== undefined && replied?.threadId !== thread.id) {
      throw new Error(`addMessage: "${input.replyTo}" is not a message of ${conversationId}`);
    }

    this.#clock = Math.max(this.#clock, createdTime);
    this.#added += 1;
    const digest = createHash('sha256').update(`${conversationId}:${this.#added}`).digest('base64url');
    const from = fromBusiness ? thread.business : thread.customer;
    const message: MessageRecord = {
      id: thread.platform === 'instagram' ? `aWdGGi${digest}` : `m_${digest}`,
      threadId: thread.id,
      createdTime,
      createdTimeText: formatGraphTime(createdTime),
      from,
      to: fromBusiness ? thread.customer : thread.business,
      text: input.text,
      ...(input.attachment === undefined ? {} : { attachments: [attachmentRecord(digest, input.attachment)] }),
      ...(replied === undefined ? {} : { replyTo: { mid: replied.id, is_self_reply: replied.from.id === from.id } }),
    };
    if (input.metadata !== undefined) this.#metadata.set(message.id, input.metadata);
    this.#insert(thread, message, fromBusiness);
    return { id: message.id, createdTime: message.createdTimeText };
  }

  /** Puts a new message on top of its thread and moves the thread in its lists. */
  #insert(thread: ThreadRecord, message: MessageRecord, fromBusiness: boolean): void {
    const lists = this.#listsOf(thread);
    for (const list of lists) list.splice(list.indexOf(thread), 1);
    thread.messages.unshift(message);
    thread.updatedTime = message.createdTime;
    thread.updatedTimeText = message.createdTimeText;
    if (fromBusiness) {
      thread.unreadCount = 0;
      if (!thread.tags.includes('sent')) thread.tags = [...thread.tags.filter((tag) => tag !== 'pending'), 'sent'];
    } else {
      thread.unreadCount += 1;
    }
    for (const list of lists) list.splice(insertionIndex(list, thread), 0, thread);
    this.#messages.set(message.id, message);
    this.#derived.clear();
  }

  /** Replaces a message's text, as the customer's edit does (reads show the new text); `undefined`: no such message. */
  editMessage(messageId: string, text: string): MessageRecord | undefined {
    const message = this.#messages.get(messageId);
    const thread = message === undefined ? undefined : this.#threads.get(message.threadId);
    if (message === undefined || thread === undefined) return undefined;
    const edited: MessageRecord = { ...message, text };
    thread.messages[thread.messages.indexOf(message)] = edited;
    this.#messages.set(messageId, edited);
    this.#derived.clear();
    return edited;
  }

  /** Removes a message, as the customer's unsend does (Instagram): reads no longer list it. */
  unsendMessage(messageId: string): MessageRecord | undefined {
    const message = this.#messages.get(messageId);
    const thread = message === undefined ? undefined : this.#threads.get(message.threadId);
    if (message === undefined || thread === undefined) return undefined;
    thread.messages.splice(thread.messages.indexOf(message), 1);
    this.#messages.delete(messageId);
    this.#derived.clear();
    return message;
  }

  /** The thread of a Page's customer (PSID or IGSID) on either platform, Messenger first; hidden threads too. */
  customerThread(pageId: string, customerId: string): ThreadRecord | undefined {
    return this.#byCustomer.get(`${pageId}|messenger|${customerId}`) ?? this.#byCustomer.get(`${pageId}|instagram|${customerId}`);
  }

  /** When the customer last wrote in the thread, in Unix seconds; `undefined` when they never did. */
  lastCustomerMessageTime(thread: ThreadRecord): number | undefined {
    return thread.messages.find((message) => message.from.id === thread.customer.id)?.createdTime;
  }

  /** The emulator's clock, in ms: the one that stamps new messages. */
  now(): number {
    return this.#now();
  }

  /** Records a Send API sender action; `mark_seen` marks the thread read. */
  recordSenderAction(thread: ThreadRecord, action: string, at: number): void {
    let actions = this.#senderActions.get(thread.id);
    if (actions === undefined) {
      actions = [];
      this.#senderActions.set(thread.id, actions);
    }
    actions.push({ action, at });
    if (action === 'mark_seen') thread.unreadCount = 0;
  }

  senderActions(conversationId: string): readonly SenderActionRecord[] {
    return this.#senderActions.get(conversationId) ?? [];
  }

  messageMetadata(messageId: string): string | undefined {
    return this.#metadata.get(messageId);
  }

  deleteConversation(conversationId: string): boolean {
    const thread = this.#threads.get(conversationId);
    if (thread === undefined) return false;
    for (const list of this.#listsOf(thread)) list.splice(list.indexOf(thread), 1);
    for (const message of thread.messages) this.#messages.delete(message.id);
    this.#threads.delete(conversationId);
    this.#byCustomer.delete(`${thread.pageId}|${thread.platform}|${thread.customer.id}`);
    if (this.#byScopedKey.get(thread.scopedThreadKey) === thread) this.#byScopedKey.delete(thread.scopedThreadKey);
    this.#derived.clear();
    return true;
  }

  /**
   * The people a Page can message: the customers of its threads on both platforms (Meta's "engaged users", the unit of the
   * Messenger API's allowance; [I]: the emulator counts every customer it has a thread with).
   */
  engagedUsers(pageId: string): number {
    return (this.#lists.get(`${pageId}|messenger|*`)?.length ?? 0) + (this.#lists.get(`${pageId}|instagram|*`)?.length ?? 0);
  }

  /** The app's users: the daily active users of its platform allowance ([I]: every seeded user counts as active). */
  get appUsers(): number {
    return this.#users.size;
  }

  listConversations(pageId: string, filter: { platform?: Platform; folder?: Folder } = {}): ConversationSummary[] {
    const list = this.#lists.get(`${pageId}|${filter.platform ?? 'messenger'}|${filter.folder ?? '*'}`) ?? [];
    return list.map((thread) => ({
      id: thread.id,
      pageId: thread.pageId,
      platform: thread.platform,
      folder: thread.folder,
      updatedTime: thread.updatedTimeText,
      customerId: thread.customer.id,
      scopedThreadKey: thread.platform === 'messenger' ? thread.scopedThreadKey : undefined,
      messageCount: thread.messages.length,
      visible: this.isVisible(thread),
    }));
  }

  messageIds(conversationId: string): string[] | undefined {
    return this.#threads.get(conversationId)?.messages.map((message) => message.id);
  }

  /** The sorted lists holding the thread: all its Page's threads of its platform, and its folder's (if it has one). */
  #listsOf(thread: ThreadRecord): ThreadRecord[][] {
    const keys = [`${thread.pageId}|${thread.platform}|*`];
    if (thread.folder !== undefined) keys.push(`${thread.pageId}|${thread.platform}|${thread.folder}`);
    return keys.map((key) => {
      const list = this.#lists.get(key);
      if (list === undefined) throw new Error(`store: thread ${thread.id} belongs to unknown Page ${thread.pageId}`);
      return list;
    });
  }
}

/** The identity of a filter set; cursors are bound to it. */
export function conversationFilterKey(pageId: string, filter: ConversationFilter): string {
  return `conversations:${pageId}|${filter.platform}|${filter.folder ?? '*'}|${filter.userId ?? ''}|${filter.tags?.join(',') ?? ''}`;
}

/** A Send API attachment as reads serve it: its mime type by `type`, the URL it was sent with. */
function attachmentRecord(digest: string, attachment: { type: string; url: string }): AttachmentRecord {
  const name = new URL(attachment.url).pathname.split('/').pop() || attachment.type;
  return {
    id: String(BigInt(`0x${Buffer.from(digest, 'base64url').subarray(0, 6).toString('hex')}`)),
    mime_type: ATTACHMENT_MIME_TYPES[attachment.type] ?? 'application/octet-stream',
    name,
    size: 0,
    ...(attachment.type === 'image' ? { image_data: { url: attachment.url, preview_url: attachment.url } } : { file_url: attachment.url }),
  };
}

/**
 * Threads whose customer has a role on the demo app (an app tester): all that Standard Access serves (Meta:
 * Access Levels, developers.facebook.com/docs/graph-api/overview/access-levels; Messenger Platform, App Review:
 * without Advanced Access, an app reaches only people with a role on it). Named here, not in the seed, so the
 * seed's pinned hashes (test/emulator/seed.test.ts) stay as they were. On Acme: its Messenger reply-window threads
 * and an Instagram one; Bistro has none, so its inbox reads empty, as a Page's does before App Review.
 */
export const APP_ROLE_THREADS: ReadonlySet<string> = new Set([
  DEMO.replyWindows.open,
  DEMO.replyWindows.humanAgent,
  DEMO.replyWindows.closed,
  DEMO.replyWindows.instagram,
]);

/**
 * Flags the store adds to seed threads: set here, not in the seed, so the seed's pinned hashes
 * (test/emulator/seed.test.ts) stay as they were.
 */
function situationOf(thread: ThreadRecord): Partial<Pick<ThreadRecord, 'customerUnavailable'>> {
  return thread.id === DEMO.customers.unavailableAcme.threadId ? { customerUnavailable: true } : {};
}

/** Where `thread` goes in a sorted list (binary search). */
function insertionIndex(list: readonly ThreadRecord[], thread: ThreadRecord): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareThreads(list[middle]!, thread) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
