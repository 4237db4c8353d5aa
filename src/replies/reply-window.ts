/**
 * Meta's messaging window, as data: a Page may answer a person for 24 hours after that person's last
 * message (Messenger Platform policy; the Instagram messaging API has the same window), and a human agent
 * may answer for 7 days with the `HUMAN_AGENT` tag when the app has the Human Agent feature (Meta: Message
 * Tags, developers.facebook.com/docs/messenger-platform/send-messages/message-tags). Outside it Graph refuses
 * the send (code 10, subcode 2018278 on Messenger, 2534022 on Instagram). Pure functions: no I/O here.
 */

/** The standard window after the person's last message. */
export const STANDARD_WINDOW_MS = 24 * 60 * 60 * 1000;
/** The human agent's window after the person's last message. */
export const HUMAN_AGENT_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

/** A message as the window judges it: who sent it, and when (Graph's `from` and `created_time`). */
export interface WindowMessage {
  readonly from?: { readonly id: string } | undefined;
  readonly created_time?: string | undefined;
}

/** The window of one conversation at one moment. */
export interface ReplyWindow {
  /** Whether a standard reply (no tag) is allowed now. */
  readonly open: boolean;
  /** When the standard window closes (or closed); `undefined` when the person's last message is not known. */
  readonly closesAt: number | undefined;
  /** Until when a human agent may still reply with the `HUMAN_AGENT` tag; `undefined` when unknown. */
  readonly humanAgentUntil: number | undefined;
  /** Whether a human agent's reply is allowed now. */
  readonly humanAgentOpen: boolean;
  /** The person's last message, epoch ms; `undefined` when none was found among the messages read. */
  readonly lastCustomerMessageAt: number | undefined;
}

/** Graph's time format (`2026-02-10T18:22:07+0000`) in epoch ms; `undefined` when unreadable. */
export function graphTimeMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The window of a conversation from its newest messages (newest first, as Graph lists them), judged at `now`.
 * When none of them is the customer's, the customer's last message is older than the oldest one read: the
 * window is known to be closed if that one is older than the window, and otherwise unknown (`open: false`
 * with no times, so the caller lets Graph judge rather than refuse).
 */
export function replyWindowOf(messages: readonly WindowMessage[], customerId: string, now: number): ReplyWindow {
  const last = messages.find((message) => message.from?.id === customerId);
  const lastAt = graphTimeMs(last?.created_time);
  if (lastAt === undefined) {
    return { open: false, closesAt: undefined, humanAgentUntil: undefined, humanAgentOpen: false, lastCustomerMessageAt: undefined };
  }
  const closesAt = lastAt + STANDARD_WINDOW_MS;
  const humanAgentUntil = lastAt + HUMAN_AGENT_WINDOW_MS;
  return { open: now < closesAt, closesAt, humanAgentUntil, humanAgentOpen: now < humanAgentUntil, lastCustomerMessageAt: lastAt };
}

/**
 * Whether the window is known to be closed for a reply (a human agent's, with `humanAgent`): the customer's
 * last message is known and too old, or older than every message read when those are all too old already.
 */
export function knownClosed(window: ReplyWindow, humanAgent: boolean, oldestReadAt: number | undefined, now: number): boolean {
  const span = humanAgent ? HUMAN_AGENT_WINDOW_MS : STANDARD_WINDOW_MS;
  if (window.lastCustomerMessageAt !== undefined) return now >= window.lastCustomerMessageAt + span;
  return oldestReadAt !== undefined && now >= oldestReadAt + span;
}
