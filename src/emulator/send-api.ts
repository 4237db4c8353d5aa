/**
 * Meta's Send API on `POST /{page-id}/messages` (and `/me/messages` with a Page token), as the emulator
 * plays it (Meta: Send API reference, developers.facebook.com/docs/messenger-platform/reference/send-api;
 * graph-api.md, "Sending"): a Page token of the Page with the MESSAGING task and the platform's
 * permission, a recipient who is a customer of one of the Page's threads, the parameters checked, the
 * messaging window judged with the emulator's clock, then the message added from the business (or the
 * sender action recorded). Checks run in this order: token, Page, task, recipient, permission, policy,
 * rate, parameters, the customer's situation, window.
 */
import {
  humanAgentNotApproved,
  invalidParameter,
  messagingDisallowed,
  missingPermission,
  missingTask,
  noMatchingUser,
  objectNotFound,
  outsideMessagingWindow,
  pageTokenRequired,
  permissionsError,
  personUnavailable,
  policyBlocked,
  sendRateExceeded,
} from './errors.js';
import type { CallRate } from './rate-limits.js';
import type { MessageRecord, PageTokenRecord, Permission, Platform, ThreadRecord } from './model.js';
import type { Viewer } from './render.js';
import type { NewMessage, WorldStore } from './store.js';

/** `message.text` is at most this many characters (code points) (Meta: Send API reference). */
export const MAX_TEXT_LENGTH = 2_000;
/** `message.metadata` is at most this many characters (code points) (Meta: Send API reference). */
export const MAX_METADATA_LENGTH = 1_000;
/** Replies are free for this long after the customer's last message (Meta: Messenger Platform policy). */
export const STANDARD_WINDOW_MS = 24 * 3_600_000;
/** A human agent (`MESSAGE_TAG` + `HUMAN_AGENT`) may reply for this long after the customer's last message. */
export const HUMAN_AGENT_WINDOW_MS = 7 * 24 * 3_600_000;

const MESSAGING_TYPES = ['RESPONSE', 'UPDATE', 'MESSAGE_TAG'] as const;
const SENDER_ACTIONS = ['mark_seen', 'typing_on', 'typing_off'] as const;
const ATTACHMENT_TYPES = ['image', 'video', 'audio', 'file'] as const;
/** The permission a send needs per platform; reads need more (render.ts). */
const SEND_PERMISSION: Readonly<Record<Platform, Permission>> = {
  messenger: 'pages_messaging',
  instagram: 'instagram_manage_messages',
};

/** What the Send API needs from the emulator. */
export interface SendApiConfig {
  readonly store: WorldStore;
  /** `undefined`: sends are never refused for their rate. */
  readonly sendRateLimit: CallRate | undefined;
  /** Whether the app passed App Review for the Human Agent feature; without it `HUMAN_AGENT` answers (#200). */
  readonly humanAgentApproved: boolean;
  /** Called after a message was added (not for sender actions): the emulator delivers its echo webhook. */
  readonly onSent: ((thread: ThreadRecord, message: MessageRecord) => void) | undefined;
}

/** A send's parameters, checked. */
type SendRequest =
  | { readonly kind: 'message'; readonly message: NewMessage; readonly humanAgent: boolean }
  | { readonly kind: 'action'; readonly action: (typeof SENDER_ACTIONS)[number] };

/** Answers `POST /{id}/messages`: `{recipient_id, message_id}` for a message, `{recipient_id}` for a sender action. */
export function sendApiCall(config: SendApiConfig, viewer: Viewer, id: string, params: Readonly<Record<string, string>>): unknown {
  const page = sendingPage(config.store, viewer, id);
  const recipientId = recipientOf(params);
  const thread = config.store.customerThread(page.pageId, recipientId);
  if (thread === undefined) throw noMatchingUser();
  if (!page.permissions.includes(SEND_PERMISSION[thread.platform])) throw missingPermission(SEND_PERMISSION[thread.platform]);
  if (page.policyBlocked === true) throw policyBlocked();
  if (config.sendRateLimit !== undefined && !config.sendRateLimit.admit(page.pageId, Date.now())) throw sendRateExceeded();

  const request = sendRequestOf(params, config.store, thread);
  if (thread.customerBlockedPage === true) throw messagingDisallowed();
  if (thread.customerUnavailable === true) throw personUnavailable();
  assertWindow(config, thread, request);

  if (request.kind === 'action') {
    config.store.recordSenderAction(thread, request.action, config.store.now());
    return { recipient_id: recipientId };
  }
  const added = config.store.addMessage(thread.id, { ...request.message, fromId: thread.business.id });
  const message = thread.messages[0]!;
  config.onSent?.(thread, message);
  return { recipient_id: recipientId, message_id: added.id };
}

/**
 * The Page token that may send for the path's Page: a user token gets (#190) as on inbox reads, another
 * Page's token (#200), a user without the MESSAGING task (MODERATE alone reads but does not send) (#200).
 */
function sendingPage(store: WorldStore, viewer: Viewer, id: string): PageTokenRecord {
  if (id !== 'me') {
    const node = store.node(id);
    if (node?.kind !== 'page') throw objectNotFound(id, 'post');
  }
  if (viewer.kind === 'user') throw pageTokenRequired();
  if (id !== 'me' && viewer.pageId !== id) throw permissionsError();
  if (!viewer.tasks.includes('MESSAGING')) throw missingTask();
  return viewer;
}

/** `recipient={"id": PSID or IGSID}`. */
function recipientOf(params: Readonly<Record<string, string>>): string {
  if (params.recipient === undefined) throw invalidParameter('The parameter recipient is required');
  const recipient = jsonObjectParam(params.recipient, 'recipient');
  if (typeof recipient.id !== 'string' || recipient.id === '') throw invalidParameter('Param recipient[id] must be a non-empty string');
  return recipient.id;
}

/** `message` with `messaging_type` (and `tag`), or `sender_action`: exactly one of the two. */
function sendRequestOf(params: Readonly<Record<string, string>>, store: WorldStore, thread: ThreadRecord): SendRequest {
  const { message, sender_action: action } = params;
  if (message !== undefined && action !== undefined) throw invalidParameter('Param sender_action cannot be sent with message');
  if (action !== undefined) {
    if (!isOneOf(SENDER_ACTIONS, action)) throw invalidParameter(`Param sender_action must be one of {${SENDER_ACTIONS.join(', ')}}`);
    return { kind: 'action', action };
  }
  if (message === undefined) throw invalidParameter('Must send either message or sender_action');
  const type = params.messaging_type;
  if (type === undefined) throw invalidParameter('The parameter messaging_type is required');
  if (!isOneOf(MESSAGING_TYPES, type)) throw invalidParameter(`Param messaging_type must be one of {${MESSAGING_TYPES.join(', ')}}`);
  if (type === 'MESSAGE_TAG') {
    if (params.tag === undefined) throw invalidParameter('The parameter tag is required when messaging_type is MESSAGE_TAG');
    // Meta retired the other tags (integrators report April 2026; graph-api.md, "Sending").
    if (params.tag !== 'HUMAN_AGENT') throw invalidParameter(`Param tag must be HUMAN_AGENT, got "${params.tag}"`);
  }
  const replyTo = params.reply_to === undefined ? undefined : replyToOf(params.reply_to, store, thread);
  return {
    kind: 'message',
    message: { ...messageOf(message), ...(replyTo === undefined ? {} : { replyTo }) },
    humanAgent: type === 'MESSAGE_TAG',
  };
}

/** `message={"text"}` or `{"attachment": {type, payload: {url}}}`, with an optional `metadata`. */
function messageOf(raw: string): NewMessage {
  const message = jsonObjectParam(raw, 'message');
  const { text, attachment, metadata } = message;
  if ((text === undefined) === (attachment === undefined))
    throw invalidParameter('Param message must have exactly one of text or attachment');
  if (metadata !== undefined) {
    if (typeof metadata !== 'string') throw invalidParameter('Param message[metadata] must be a string');
    if (codePoints(metadata) > MAX_METADATA_LENGTH) {
      throw invalidParameter(`Length of param message[metadata] must be less than or equal to ${MAX_METADATA_LENGTH}`);
    }
  }
  const extra = metadata === undefined ? {} : { metadata: metadata as string };
  if (text !== undefined) {
    if (typeof text !== 'string' || text === '') throw invalidParameter('Param message[text] must be a non-empty UTF-8 encoded string');
    if (codePoints(text) > MAX_TEXT_LENGTH)
      throw invalidParameter(`Length of param message[text] must be less than or equal to ${MAX_TEXT_LENGTH}`);
    return { text, ...extra };
  }
  return { text: '', attachment: attachmentOf(attachment), ...extra };
}

function attachmentOf(value: unknown): { type: string; url: string } {
  const attachment = isRecord(value) ? value : {};
  if (typeof attachment.type !== 'string' || !isOneOf(ATTACHMENT_TYPES, attachment.type)) {
    throw invalidParameter(`Param message[attachment][type] must be one of {${ATTACHMENT_TYPES.join(', ')}}`);
  }
  const url = isRecord(attachment.payload) ? attachment.payload.url : undefined;
  if (typeof url !== 'string' || !/^https?:\/\/[^\s/]+/.test(url))
    throw invalidParameter('Param message[attachment][payload][url] must be a valid URL');
  return { type: attachment.type, url };
}

/** `reply_to={"mid"}`: a message of the thread. */
function replyToOf(raw: string, store: WorldStore, thread: ThreadRecord): string {
  const { mid } = jsonObjectParam(raw, 'reply_to');
  const node = typeof mid === 'string' ? store.node(mid) : undefined;
  if (node?.kind !== 'message' || node.thread !== thread)
    throw invalidParameter('Param reply_to[mid] must be a message of this conversation');
  return node.message.id;
}

/**
 * The messaging window, with the emulator's clock: 24 hours after the customer's last message for
 * `RESPONSE`, `UPDATE` and sender actions; 7 days for `HUMAN_AGENT`, which needs the feature first.
 */
function assertWindow(config: SendApiConfig, thread: ThreadRecord, request: SendRequest): void {
  const humanAgent = request.kind === 'message' && request.humanAgent;
  if (humanAgent && !config.humanAgentApproved) throw humanAgentNotApproved();
  const last = config.store.lastCustomerMessageTime(thread);
  const windowMs = humanAgent ? HUMAN_AGENT_WINDOW_MS : STANDARD_WINDOW_MS;
  if (last === undefined || config.store.now() - last * 1000 > windowMs) throw outsideMessagingWindow(thread.platform);
}

/** A JSON-object parameter: a JSON string in a form body or query (a JSON body's objects arrive stringified too). */
function jsonObjectParam(raw: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidParameter(`Param ${name} must be a JSON object`);
  }
  if (!isRecord(value)) throw invalidParameter(`Param ${name} must be a JSON object`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/** Length in Unicode code points, as Meta counts characters. */
function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}
