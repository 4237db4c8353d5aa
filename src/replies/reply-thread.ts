/**
 * What a reply needs to know of its conversation before anything is sent: that the caller's own token reads
 * it (the read goes through the read path, so tenancy is the read cache's), which inbox it is in (Graph's
 * participants, never the Page a client id names), who the customer is, and the messaging window.
 */
import { GraphApiError } from '../graph-api/errors.js';
import type { FetchedValue, ReadSubject } from '../graph-api/read.js';
import type { GraphRequest } from '../graph-api/request.js';
import type { GraphMessage, GraphParticipant } from '../graph-api/wire-types.js';
import { graphTimeMs, replyWindowOf, type ReplyWindow } from './reply-window.js';

/** Messages read to find the customer's last one: Instagram keeps details (`from`) of a thread's 20 newest only. */
export const WINDOW_MESSAGES = 20;

/** The thread fields a reply reads: one read, cached like any thread read (snippet and time: the payload's conversation). */
export const REPLY_THREAD_FIELDS = `participants,snippet,updated_time,messages.limit(${WINDOW_MESSAGES}){from,created_time}`;

/** Reads the caller may make (the operation's loader: batched, cached, with the caller's token). */
export type ReadAs = <T>(
  request: GraphRequest,
  page: string,
  options?: { about?: ReadSubject; budgeted?: boolean },
) => Promise<FetchedValue<T>>;

/** A conversation as a reply sees it. */
export interface ReplyThread {
  readonly pageId: string;
  readonly threadId: string;
  readonly platform: 'messenger' | 'instagram';
  /** The inbox's own id in the thread: the Page (Messenger) or its Instagram account. */
  readonly business: GraphParticipant;
  readonly customer: GraphParticipant;
  readonly participants: readonly GraphParticipant[];
  /** The thread as read: its snippet (Messenger) and its updated time. */
  readonly snippet: string | undefined;
  readonly updatedTime: string | undefined;
  readonly window: ReplyWindow;
  /**
   * The oldest message read when the customer's last message was not among them (`-Infinity`: the whole thread was
   * read and the customer never wrote); `undefined` when the customer's last message was found.
   */
  readonly oldestReadAt: number | undefined;
}

interface ThreadAnswer {
  id: string;
  snippet?: string;
  updated_time?: string;
  participants?: { data?: GraphParticipant[] };
  messages?: { data?: GraphMessage[]; paging?: { next?: string } };
}

/** Thrown when the conversation is not one of the Page's inbox, as Graph shows it to the caller. */
export class NotInInboxError extends Error {
  override readonly name = 'NotInInboxError';
}

/**
 * Reads `threadId` with the caller's token for `pageId`, and the Page's Instagram link when the Page itself is
 * not a participant. Judged at `now`.
 */
export async function readReplyThread(read: ReadAs, pageId: string, threadId: string, now: number): Promise<ReplyThread> {
  const answer = await read<ThreadAnswer>({ path: threadId, params: { fields: REPLY_THREAD_FIELDS } }, pageId, {
    about: { kind: 'thread', threadId },
  });
  const participants = answer.value.participants?.data ?? [];
  let platform: ReplyThread['platform'] = 'messenger';
  let business = participants.find((participant) => participant.id === pageId);
  if (business === undefined) {
    platform = 'instagram';
    const page = await read<{ instagram_business_account?: { id: string } }>(
      { path: pageId, params: { fields: 'instagram_business_account' } },
      pageId,
      { budgeted: false },
    );
    const instagramId = page.value.instagram_business_account?.id;
    business = participants.find((participant) => participant.id === instagramId);
  }
  const customer = participants.find((participant) => participant.id !== business?.id);
  if (business === undefined || customer === undefined) {
    throw new NotInInboxError(`Conversation ${threadId} is not in the inbox of Page ${pageId}.`);
  }
  const messages = answer.value.messages?.data ?? [];
  const window = replyWindowOf(messages, customer.id, now);
  const complete = answer.value.messages?.paging?.next === undefined;
  const oldest = graphTimeMs(messages.at(-1)?.created_time);
  const oldestReadAt = window.lastCustomerMessageAt !== undefined ? undefined : complete ? Number.NEGATIVE_INFINITY : oldest;
  const { snippet, updated_time: updatedTime } = answer.value;
  return { pageId, threadId: answer.value.id, platform, business, customer, participants, snippet, updatedTime, window, oldestReadAt };
}

/** Whether a read failure is Graph saying the object is not there for this token (as opposed to an outage). */
export function isNotFound(error: unknown): boolean {
  return error instanceof GraphApiError && error.code === 100 && (error.subcode === 33 || error.subcode === undefined);
}
