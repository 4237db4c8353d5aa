/**
 * Inbox events from Meta's webhooks (the `messages`, `message_echoes`, `message_reads`,
 * `message_reactions`, `message_edits`, `message_deliveries` and `standby` fields of the Page and Instagram
 * subscriptions; Instagram unsends as `messages` with `is_deleted`): what a delivery holds, read
 * defensively, and the bus that carries them to GraphQL subscriptions. No GraphQL here.
 */

/** One inbox event, for the inbox of `accountId` (a Page id, or an Instagram professional account id). */
export interface InboxEvent {
  readonly accountId: string;
  readonly platform: 'messenger' | 'instagram';
  /**
   * `message`: from a customer; `echo`: the business's own message, sent from any app or the inbox;
   * `read`: the customer saw the business's messages; `reaction` / `reaction_removed`: the customer
   * reacted to a message, or took the reaction back; `edited`: the customer edited a message (`text` is the
   * new text); `delivered`: the business's messages reached the customer's device (Messenger);
   * `unsent`: the customer unsent a message (Instagram).
   */
  readonly kind: InboxEventKind;
  /** The customer's PSID (Messenger) or IGSID (Instagram), whichever way the event went. */
  readonly customerId: string;
  /** The message concerned; Messenger read receipts name none (they carry `readUpTo`). */
  readonly messageId: string | undefined;
  /** A message's text; `undefined` for attachment-only messages and other kinds. */
  readonly text: string | undefined;
  readonly hasAttachments: boolean;
  /** Messenger read receipts: every business message sent up to this epoch ms was seen. */
  readonly readUpTo: number | undefined;
  /** Reactions: the emoji (or Meta's reaction name when no emoji is given). */
  readonly reaction: string | undefined;
  /** Epoch ms. */
  readonly timestamp: number;
  /** Echoes: the `message.metadata` the sending app gave (this gateway's carries its send's ledger key). */
  readonly metadata?: string | undefined;
  /** Messages and echoes: their attachments' types and URLs (`hasAttachments` says whether there are any). */
  readonly attachments?: readonly InboxEventAttachment[] | undefined;
  /** Deliveries: every business message sent up to this epoch ms reached the customer. */
  readonly deliveredUpTo?: number | undefined;
  /** Deliveries: the messages Meta names as delivered (it may name none). */
  readonly deliveredMessageIds?: readonly string[] | undefined;
  /** Arrived in `standby` (another app holds the thread under the Handover Protocol), not in `messaging`. */
  readonly standby?: boolean | undefined;
}

export const INBOX_EVENT_KINDS = ['message', 'echo', 'read', 'reaction', 'reaction_removed', 'edited', 'delivered', 'unsent'] as const;
export type InboxEventKind = (typeof INBOX_EVENT_KINDS)[number];

/** An attachment of a message event: `type` as Meta names it (image, video, audio, file, …) and its `payload.url`. */
export interface InboxEventAttachment {
  readonly type: string;
  readonly url: string | undefined;
}

/** Identifies an event across redeliveries (Meta redelivers what it thinks failed). */
export function eventKey(event: InboxEvent): string {
  return [
    event.kind,
    event.accountId,
    event.customerId,
    event.messageId ?? '',
    event.readUpTo ?? '',
    event.reaction ?? '',
    event.deliveredUpTo ?? '',
    event.standby === true ? 'standby' : '',
    event.kind === 'message' || event.kind === 'echo' ? '' : event.timestamp,
  ].join('\u001f');
}

/**
 * Carries inbox events from the webhook receiver to `inboxEvents` subscribers: in memory for one process
 * ({@link InboxEventBus}), or over Redis pub/sub for a fleet (src/redis/), where every instance's
 * subscribers hear each event once, whichever instance Meta delivered it to.
 */
export interface InboxEventStream {
  /** Delivers `event` to the subscribers of its account, on every instance sharing the stream. */
  publish(event: InboxEvent): Promise<void> | void;
  /** The events of any of `accounts` from now on, in publishing order; `return()` stops listening. */
  subscribe(accounts: readonly string[]): AsyncIterableIterator<InboxEvent>;
  /** Subscribers listening to `account` on this instance now. */
  listenerCount(account: string): number;
}

/** Events one subscriber may have waiting; past that its stream ends (see {@link InboxEventBus.subscribe}). */
const MAX_WAITING_EVENTS = 1_000;

/**
 * Carries inbox events from the webhook receiver to subscribers, by account id. Listening starts when
 * `subscribe` is called, not at the first read, so no event falls between subscribing and reading.
 */
export class InboxEventBus implements InboxEventStream {
  readonly #listeners = new Map<string, Set<(event: InboxEvent) => void>>();

  publish(event: InboxEvent): void {
    for (const listener of this.#listeners.get(event.accountId) ?? []) listener(event);
  }

  /** Subscribers listening to `account` now. */
  listenerCount(account: string): number {
    return this.#listeners.get(account)?.size ?? 0;
  }

  /**
   * The events of any of `accounts` from now on, in publishing order. A subscriber that falls
   * {@link MAX_WAITING_EVENTS} behind is ended rather than silently skipped: it resubscribes and
   * catches up with `conversations(updatedSince:)`. `return()` stops listening.
   */
  subscribe(accounts: readonly string[]): AsyncIterableIterator<InboxEvent> {
    const waiting: InboxEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const stop = (): void => {
      ended = true;
      for (const account of accounts) {
        const listeners = this.#listeners.get(account);
        listeners?.delete(listener);
        if (listeners?.size === 0) this.#listeners.delete(account);
      }
      wake?.();
    };
    const listener = (event: InboxEvent): void => {
      if (waiting.length >= MAX_WAITING_EVENTS) {
        stop();
        return;
      }
      waiting.push(event);
      wake?.();
    };
    for (const account of accounts) {
      const listeners = this.#listeners.get(account) ?? new Set();
      this.#listeners.set(account, listeners.add(listener));
    }
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next(): Promise<IteratorResult<InboxEvent>> {
        while (waiting.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const event = waiting.shift();
        return event === undefined ? { value: undefined, done: true } : { value: event, done: false };
      },
      async return(): Promise<IteratorResult<InboxEvent>> {
        stop();
        waiting.length = 0;
        return { value: undefined, done: true };
      },
    };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const idOf = (value: unknown): string | undefined =>
  isRecord(value) && typeof value.id === 'string' && value.id !== '' ? value.id : undefined;

/**
 * The inbox events of a webhook payload, in delivery order. Anything else it holds (postbacks,
 * referrals, other objects, malformed entries) is skipped: a delivery is never refused for holding
 * something this gateway does not relay.
 */
export function inboxEventsOf(payload: unknown): InboxEvent[] {
  if (!isRecord(payload) || (payload.object !== 'page' && payload.object !== 'instagram') || !Array.isArray(payload.entry)) return [];
  const platform = payload.object === 'page' ? 'messenger' : 'instagram';
  const events: InboxEvent[] = [];
  for (const entry of payload.entry) {
    if (!isRecord(entry) || typeof entry.id !== 'string') continue;
    // `standby`: events of threads another app holds (Handover Protocol), worded as `messaging`'s.
    for (const field of ['messaging', 'standby'] as const) {
      const items = entry[field];
      if (!Array.isArray(items)) continue;
      for (const messaging of items) {
        const event = isRecord(messaging) ? eventOf(entry.id, platform, messaging) : undefined;
        if (event !== undefined) events.push(field === 'standby' ? { ...event, standby: true } : event);
      }
    }
  }
  return events;
}

function attachmentsOf(value: unknown): InboxEventAttachment[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((attachment) => ({
    type: typeof attachment.type === 'string' ? attachment.type : 'unknown',
    url: isRecord(attachment.payload) && typeof attachment.payload.url === 'string' ? attachment.payload.url : undefined,
  }));
}

function eventOf(accountId: string, platform: InboxEvent['platform'], messaging: Record<string, unknown>): InboxEvent | undefined {
  const sender = idOf(messaging.sender);
  const recipient = idOf(messaging.recipient);
  const timestamp = messaging.timestamp;
  if (typeof timestamp !== 'number') return undefined;
  const base = { accountId, platform, timestamp, text: undefined, hasAttachments: false, readUpTo: undefined, reaction: undefined };

  if (isRecord(messaging.message)) {
    const message = messaging.message;
    const echo = message.is_echo === true;
    const customerId = echo ? recipient : sender;
    if (typeof message.mid !== 'string' || customerId === undefined) return undefined;
    // Instagram: an unsent message comes back as `message { mid, is_deleted: true }`.
    if (message.is_deleted === true) return { ...base, kind: 'unsent', customerId, messageId: message.mid };
    const attachments = attachmentsOf(message.attachments);
    return {
      ...base,
      kind: echo ? 'echo' : 'message',
      customerId,
      messageId: message.mid,
      text: typeof message.text === 'string' && message.text !== '' ? message.text : undefined,
      hasAttachments: attachments.length > 0,
      attachments,
      ...(echo && typeof message.metadata === 'string' ? { metadata: message.metadata } : {}),
    };
  }
  if (sender === undefined) return undefined;
  if (isRecord(messaging.message_edit)) {
    const { mid, text } = messaging.message_edit;
    if (typeof mid !== 'string') return undefined;
    return {
      ...base,
      kind: 'edited',
      customerId: sender,
      messageId: mid,
      text: typeof text === 'string' && text !== '' ? text : undefined,
    };
  }
  if (isRecord(messaging.delivery)) {
    const { watermark, mids } = messaging.delivery;
    const ids = Array.isArray(mids) ? mids.filter((mid): mid is string => typeof mid === 'string') : [];
    if (typeof watermark !== 'number' && ids.length === 0) return undefined;
    return {
      ...base,
      kind: 'delivered',
      customerId: sender,
      messageId: undefined,
      deliveredUpTo: typeof watermark === 'number' ? watermark : undefined,
      deliveredMessageIds: ids,
    };
  }
  if (isRecord(messaging.read)) {
    // Messenger says up to when (`watermark`), Instagram which message (`mid`).
    const { watermark, mid } = messaging.read;
    if (typeof watermark !== 'number' && typeof mid !== 'string') return undefined;
    return {
      ...base,
      kind: 'read',
      customerId: sender,
      messageId: typeof mid === 'string' ? mid : undefined,
      readUpTo: typeof watermark === 'number' ? watermark : undefined,
    };
  }
  if (isRecord(messaging.reaction)) {
    const { mid, action, emoji, reaction } = messaging.reaction;
    if (typeof mid !== 'string' || (action !== 'react' && action !== 'unreact')) return undefined;
    const shown = typeof emoji === 'string' && emoji !== '' ? emoji : typeof reaction === 'string' ? reaction : undefined;
    return { ...base, kind: action === 'react' ? 'reaction' : 'reaction_removed', customerId: sender, messageId: mid, reaction: shown };
  }
  return undefined;
}
