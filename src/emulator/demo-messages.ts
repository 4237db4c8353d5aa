/**
 * `POST /_emulator/messages`, the emulator's demo route: reads what a person typed into curl and says
 * exactly what is wrong with it, one message per mistake.
 */
import type { ThreadRecord } from './model.js';
import type { WorldStore } from './store.js';

/** What the route expects, quoted in every refusal. */
export const SEND_MESSAGE_USAGE =
  'POST a JSON body {"conversationId": "<a conversation\'s id or graphApiId, as the gateway returns them>", "text": "Hello", "from": ' +
  '"customer" | "business"}';

/** A message to send, or why there is none. */
export type SendMessageRequest =
  | { readonly ok: true; readonly thread: ThreadRecord; readonly text: string; readonly fromId: string }
  | { readonly ok: false; readonly status: number; readonly error: string };

/** The gateway's Relay id of a conversation: base64 of `Conversation:<page id>:<thread id>` (see src/schema/conversation.ts). */
const RELAY_ID = /^Conversation:(\d+):(.+)$/;

const refuse = (status: number, error: string): SendMessageRequest => ({ ok: false, status, error: `${error}. ${SEND_MESSAGE_USAGE}` });
const quoted = (value: string): string => JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);

/**
 * The thread a `conversationId` names: the gateway's Relay `id` (what the demo query selects) or Graph's
 * own id (`graphApiId`); a string saying why not otherwise.
 */
function threadOf(store: WorldStore, conversationId: string): ThreadRecord | string {
  const decoded = Buffer.from(conversationId, 'base64').toString('utf8');
  const relay = Buffer.from(decoded).toString('base64') === conversationId ? RELAY_ID.exec(decoded) : null;
  if (relay === null && /^[A-Z][A-Za-z]+:/.test(decoded) && Buffer.from(decoded).toString('base64') === conversationId) {
    return `${quoted(conversationId)} is the id of a ${decoded.slice(0, decoded.indexOf(':'))}, not of a conversation`;
  }
  const [pageId, threadId] = relay === null ? [undefined, conversationId] : [relay[1], relay[2] ?? ''];
  const node = store.node(threadId);
  if (node?.kind !== 'thread' || (pageId !== undefined && node.thread.pageId !== pageId)) {
    return `No conversation ${quoted(conversationId)} in the demo world`;
  }
  return node.thread;
}

/** Reads the route's parameters (`undefined`: the body was not a JSON object). */
export function readSendMessage(store: WorldStore, params: Readonly<Record<string, unknown>> | undefined): SendMessageRequest {
  if (params === undefined) return refuse(400, 'The body is not a JSON object');
  const { conversationId, text, from } = params;
  if (typeof conversationId !== 'string' || conversationId === '') return refuse(400, 'Missing "conversationId"');
  if (typeof text !== 'string' || text.trim() === '') return refuse(400, 'Missing "text": the message to send, a non-empty string');
  if (from !== undefined && from !== 'customer' && from !== 'business') {
    return refuse(400, `"from" must be "customer" (the default) or "business", got ${quoted(String(from))}`);
  }
  const thread = threadOf(store, conversationId);
  if (typeof thread === 'string') return refuse(404, thread);
  return { ok: true, thread, text, fromId: from === 'business' ? thread.business.id : thread.customer.id };
}
