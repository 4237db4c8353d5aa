/**
 * Inbox events from Meta's webhooks (the `messages` and `message_echoes` fields of the Page and
 * Instagram subscriptions): what a delivery holds, read defensively, and the bus that carries them
 * to GraphQL subscriptions. No GraphQL here.
 */
/** One message event, for the inbox of `accountId` (a Page id, or an Instagram professional account id). */
export interface InboxEvent {
  readonly accountId: string;
  readonly platform: 'messenger' | 'instagram';
  /** `message`: from a customer; `echo`: the business's own message, sent from any app or the inbox. */
  readonly kind: 'message' | 'echo';
  /** The customer's PSID (Messenger) or IGSID (Instagram), whichever way the message went. */
  readonly customerId: string;
  readonly messageId: string;
  /** `undefined` for attachment-only messages. */
  readonly text: string | undefined;
  readonly hasAttachments: boolean;
  /** Epoch ms. */
  readonly timestamp: number;
}

/** Events one subscriber may have waiting; past that its stream ends (see {@link InboxEventBus.subscribe}). */
const MAX_WAITING_EVENTS = 1_000;

/**
 * Carries inbox events from the webhook receiver to subscribers, by account id. Listening starts when
 * `subscribe` is called, not at the first read, so no event falls between subscribing and reading.
 */
export class InboxEventBus {
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
      if (waiting.length >= MAX_WAITING_EVENTS) return stop();
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
const idOf = (value: unknown): string | undefined => (isRecord(value) && typeof value.id === 'string' && value.id !== '' ? value.id : undefined);

/**
 * The message events of a webhook payload, in delivery order. Anything else it holds (read receipts,
 * reactions, postbacks, other objects, malformed entries) is skipped: a delivery is never refused for
 * holding something this gateway does not relay.
 */
export function inboxEventsOf(payload: unknown): InboxEvent[] {
  if (!isRecord(payload) || (payload.object !== 'page' && payload.object !== 'instagram') || !Array.isArray(payload.entry)) return [];
  const platform = payload.object === 'page' ? 'messenger' : 'instagram';
  const events: InboxEvent[] = [];
  for (const entry of payload.entry) {
    if (!isRecord(entry) || typeof entry.id !== 'string' || !Array.isArray(entry.messaging)) continue;
    for (const messaging of entry.messaging) {
      if (!isRecord(messaging) || !isRecord(messaging.message)) continue;
      const message = messaging.message;
      const sender = idOf(messaging.sender);
      const recipient = idOf(messaging.recipient);
      const echo = message.is_echo === true;
      const customerId = echo ? recipient : sender;
      if (typeof message.mid !== 'string' || customerId === undefined || typeof messaging.timestamp !== 'number') continue;
      events.push({
        accountId: entry.id,
        platform,
        kind: echo ? 'echo' : 'message',
        customerId,
        messageId: message.mid,
        text: typeof message.text === 'string' && message.text !== '' ? message.text : undefined,
        hasAttachments: Array.isArray(message.attachments) && message.attachments.length > 0,
        timestamp: messaging.timestamp,
      });
    }
  }
  return events;
}
