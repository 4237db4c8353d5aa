/**
 * What tests of `inboxEvents` share: when a subscription listens, and which conversation to send a message to.
 */
import type { ConversationSummary, Emulator } from '../../src/emulator/index.js';
import type { InboxEvent, InboxEventStream } from '../../src/webhooks/inbox-events.js';
import { ACME } from './harness.js';
import { until } from './wait.js';

/**
 * Resolves once exactly `count` subscriptions listen to `account` on `bus`: a subscription listens only after
 * its Graph reads (the proof of each inbox, the Page's Instagram link), so an event sent before is not heard.
 */
export async function listening(bus: Pick<InboxEventStream, 'listenerCount'>, account: string, count = 1): Promise<void> {
  await until(() => bus.listenerCount(account) === count, `${count} subscription(s) of ${account}`);
}

/** The conversation on top of a Page's inbox on `platform`, from the emulator's store (no Graph call). */
export function firstConversation(emulator: Emulator, platform: 'messenger' | 'instagram', page: string = ACME): ConversationSummary {
  const [first] = emulator.store.listConversations(page, { platform, folder: 'inbox' });
  if (first === undefined) throw new Error(`Page ${page} has no ${platform} conversation in its inbox`);
  return first;
}

/** A customer's Messenger message to `accountId`, as the webhook receiver would publish it. */
export const messageEvent = (messageId: string, accountId: string = ACME): InboxEvent => ({
  accountId,
  platform: 'messenger',
  kind: 'message',
  customerId: '7001',
  messageId,
  text: `text of ${messageId}`,
  hasAttachments: false,
  readUpTo: undefined,
  reaction: undefined,
  timestamp: 1_790_000_000_000,
});
