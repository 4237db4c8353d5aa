/**
 * Inbox events a fleet shares (see `InboxEventStream` in src/webhooks/inbox-events.ts): the instance Meta
 * delivered a webhook to publishes each event on one Redis channel of the deployment; every instance,
 * the publisher included, hears it there once and hands it to its own subscribers through an
 * `InboxEventBus`, which filters by account. Redis pub/sub keeps nothing: a subscriber whose instance
 * was away from Redis catches up with `conversations(updatedSince:)`.
 *
 * While Redis is unreachable, events reach the subscribers of the instance that received them only.
 */
import { INBOX_EVENT_KINDS, type InboxEvent, InboxEventBus, type InboxEventStream } from '../webhooks/inbox-events.js';
import type { RedisConnection } from './connection.js';

const KINDS: ReadonlySet<string> = new Set(INBOX_EVENT_KINDS);

export class RedisInboxEventStream implements InboxEventStream {
  readonly #connection: RedisConnection;
  readonly #channel: string;
  readonly #local = new InboxEventBus();

  constructor(connection: RedisConnection) {
    this.#connection = connection;
    this.#channel = connection.key('inbox-events');
    connection.listen(this.#channel, (message) => {
      const event = eventOf(message);
      if (event !== undefined) this.#local.publish(event);
    });
  }

  async publish(event: InboxEvent): Promise<void> {
    // Heard back through the channel like every other instance's; published here only when Redis could not take it.
    if (!(await this.#connection.publish(this.#channel, JSON.stringify(event)))) this.#local.publish(event);
  }

  subscribe(accounts: readonly string[]): AsyncIterableIterator<InboxEvent> {
    return this.#local.subscribe(accounts);
  }

  listenerCount(account: string): number {
    return this.#local.listenerCount(account);
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** An event as published by {@link RedisInboxEventStream.publish}; anything else on the channel is ignored. */
function eventOf(message: string): InboxEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (
    typeof e.accountId !== 'string' ||
    (e.platform !== 'messenger' && e.platform !== 'instagram') ||
    typeof e.kind !== 'string' ||
    !KINDS.has(e.kind) ||
    typeof e.customerId !== 'string' ||
    typeof e.timestamp !== 'number'
  )
    return undefined;
  return {
    accountId: e.accountId,
    platform: e.platform,
    kind: e.kind as InboxEvent['kind'],
    customerId: e.customerId,
    messageId: text(e.messageId),
    text: text(e.text),
    hasAttachments: e.hasAttachments === true,
    readUpTo: number(e.readUpTo),
    reaction: text(e.reaction),
    timestamp: e.timestamp,
    ...(Array.isArray(e.attachments)
      ? {
          attachments: e.attachments
            .filter((a): a is Record<string, unknown> => typeof a === 'object' && a !== null)
            .map((a) => ({ type: text(a.type) ?? 'unknown', url: text(a.url) })),
        }
      : {}),
    ...(number(e.deliveredUpTo) === undefined ? {} : { deliveredUpTo: number(e.deliveredUpTo) }),
    ...(Array.isArray(e.deliveredMessageIds)
      ? { deliveredMessageIds: e.deliveredMessageIds.filter((id): id is string => typeof id === 'string') }
      : {}),
    ...(e.standby === true ? { standby: true } : {}),
  };
}
