/**
 * The emulator's world as records: Pages, threads (UnifiedThread), messages, tokens.
 * Records hold wire-ready values (times already formatted, participant objects already shaped)
 * so that serving a page of results does no per-request formatting.
 */

export type Platform = 'messenger' | 'instagram';
export type Folder = 'inbox' | 'other' | 'page_done' | 'spam';

/**
 * The `folder` values the conversations edge accepts (Meta: Page Conversations,
 * developers.facebook.com/docs/graph-api/reference/page/conversations).
 */
export const FOLDERS: readonly Folder[] = ['inbox', 'other', 'page_done', 'spam'];
export const PLATFORMS: readonly Platform[] = ['messenger', 'instagram'];

/**
 * Page roles a Page token can carry. Messenger conversations need MESSAGING or MODERATE (an admin,
 * editor or moderator of the Page), Instagram ones MESSAGING on the linked Page
 * (https://developers.facebook.com/docs/graph-api/reference/page/conversations;
 * https://developers.facebook.com/docs/messenger-platform/conversations).
 */
export type PageTask = 'MODERATE' | 'MESSAGING' | 'ANALYZE' | 'ADVERTISE' | 'CREATE_CONTENT' | 'MANAGE';
export const ALL_PAGE_TASKS: readonly PageTask[] = ['MODERATE', 'MESSAGING', 'ANALYZE', 'ADVERTISE', 'CREATE_CONTENT', 'MANAGE'];

/**
 * Permissions (scopes) the app holds through a token; the inbox needs some of them
 * (https://developers.facebook.com/docs/graph-api/reference/page/conversations).
 */
export type Permission =
  | 'pages_show_list'
  | 'pages_messaging'
  | 'pages_manage_metadata'
  | 'pages_read_engagement'
  | 'instagram_basic'
  | 'instagram_manage_messages';
export const ALL_PERMISSIONS: readonly Permission[] = [
  'pages_show_list',
  'pages_messaging',
  'pages_manage_metadata',
  'pages_read_engagement',
  'instagram_basic',
  'instagram_manage_messages',
];

/** A thread member as Graph serialises it: `{name,email,id}` on Messenger, `{username,id}` on Instagram. */
export type Participant = Readonly<{ name: string; email: string; id: string }> | Readonly<{ username: string; id: string }>;

export interface PageRecord {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  /** Vanity name used in thread `link` paths. */
  readonly slug: string;
  readonly instagram: Readonly<{ id: string; username: string }> | undefined;
}

export interface AttachmentRecord {
  readonly id: string;
  readonly mime_type: string;
  readonly name: string;
  readonly size: number;
  readonly file_url?: string;
  readonly image_data?: Readonly<Record<string, number | string>>;
  readonly video_data?: Readonly<Record<string, number | string>>;
}

/**
 * A shared item (https://developers.facebook.com/docs/graph-api/reference/message): a link, a product (`template.payload.product.elements`)
 * or a
 * structured template (`template.payload` as the Send API took it); its sub-fields are only served
 * when asked for.
 */
export interface ShareRecord {
  readonly id: string;
  readonly link?: string;
  readonly name?: string;
  readonly description?: string;
  readonly picture?: string;
  readonly template?: Readonly<Record<string, unknown>>;
}

export interface MessageRecord {
  readonly id: string;
  readonly threadId: string;
  /** Unix seconds; the sort key of a thread's message list. */
  readonly createdTime: number;
  /** `createdTime` as Graph prints it: `2026-02-10T18:22:07+0000`. */
  readonly createdTimeText: string;
  readonly from: Participant;
  readonly to: Participant;
  /**
   * Empty for attachment-only, sticker and unsupported messages (Meta: Message, developers.facebook.com/docs/graph-api/reference/message).
   */
  readonly text: string;
  readonly attachments?: readonly AttachmentRecord[];
  readonly shares?: readonly ShareRecord[];
  readonly sticker?: string;
  readonly isUnsupported?: true;
  readonly replyTo?: Readonly<{ mid: string; is_self_reply: boolean }>;
  readonly reactions?: Readonly<{ data: readonly Readonly<{ reaction: string; users: readonly Participant[] }>[] }>;
  readonly story?: Readonly<Record<string, Readonly<{ link: string; id: string }>>>;
}

export interface ThreadRecord {
  readonly id: string;
  readonly pageId: string;
  readonly platform: Platform;
  /**
   * `undefined`: archived before mid-2018, when archiving was the `action:archived` tag; such threads
   * sit in no folder (the v5.0 reference: `folder=page_done` lists threads archived after mid-2018,
   * `tags=action:archived` those archived before).
   */
  readonly folder: Folder | undefined;
  /** The customer (PSID or IGSID owner); distinct per thread. */
  readonly customer: Participant;
  /** The Page (Messenger) or its Instagram account (Instagram). */
  readonly business: Participant;
  /** Seed-time privacy flag: such a thread is never served while privacy filtering is on. */
  readonly hidden: boolean;
  /**
   * Legacy `tags` filter values the thread carries (Meta: Page Conversations,
   * developers.facebook.com/docs/graph-api/reference/page/conversations); `sent` appears once the business replies.
   */
  tags: readonly string[];
  /** Newest first; `updatedTime` is always `messages[0].createdTime`. */
  readonly messages: MessageRecord[];
  updatedTime: number;
  updatedTimeText: string;
  unreadCount: number;
  // Messenger-only fields (omitted on Instagram threads).
  readonly link: string;
  readonly scopedThreadKey: string;
  readonly canReply: boolean;
  readonly isSubscribed: boolean;
  readonly name?: string;
  readonly formerParticipants?: readonly Participant[];
  /** The customer blocked the Page: the Page may not message them, and a `user_id` lookup answers (#230). */
  readonly customerBlockedPage?: true;
  /** The customer cannot receive messages now (deactivated, or restricted by Meta): a send answers (#551). */
  readonly customerUnavailable?: true;
}

/** A Page token: the Page, the tasks its user has on it, the app's permissions, and whether its user is blocked for policy. */
export type PageTokenRecord = Readonly<{
  kind: 'page';
  pageId: string;
  tasks: readonly PageTask[];
  permissions: readonly Permission[];
  /** Its user is temporarily blocked from messaging actions for policy violations: inbox reads answer (#368). */
  policyBlocked?: true;
}>;

export type TokenRecord = PageTokenRecord | Readonly<{ kind: 'user'; userId: string }> | Readonly<{ kind: 'expired' }>;

export interface UserRecord {
  readonly id: string;
  readonly name: string;
  /** Pages the user manages, in `/me/accounts` order. */
  readonly accounts: readonly Readonly<{ pageId: string; accessToken: string; tasks: readonly PageTask[] }>[];
}

/**
 * Graph's datetime format: `2026-02-10T18:22:07+0000` (Meta: Conversation, developers.facebook.com/docs/graph-api/reference/conversation).
 */
export function formatGraphTime(unixSeconds: number): string {
  return `${new Date(unixSeconds * 1000).toISOString().slice(0, 19)}+0000`;
}
