/**
 * A Page's Send API throttled by Graph (#613), as when another fleet or tool shares the Page's send rate and the
 * gateway's own budget could not know: the refused send is told GRAPH_RATE_LIMITED and its key is free again (Graph
 * sent nothing); the Page's sends then wait out the block without calling Graph; reads, which spend another budget,
 * go on; after the block the same key sends the message once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxDocument, SendReplyDocument } from './generated/graphql.js';
import { ACME, type Harness, startHarness } from './support/harness.js';

const BLOCK_MS = 1_500;

const conversationId = (threadId: string): string => Buffer.from(`Conversation:${ACME}:${threadId}`).toString('base64');
const sends = (h: Harness) => h.emulator.log.entries.filter((entry) => entry.method === 'POST' && /\/messages$/.test(entry.path));

describe('a throttled Send API', () => {
  let h: Harness;
  let threadId: string;

  beforeAll(async () => {
    h = await startHarness({
      // Graph admits one send per second for this Page; the gateway's own budget (10/s) does not know it.
      emulator: { privacyFiltering: false, sendRateLimit: { callsPerSecond: 1 } },
      sends: { callsPerSecond: 10, echoWaitMs: 60_000 },
      scheduler: { throttleBlockMs: BLOCK_MS },
      // Shorter than the block: a send that would have to wait it out is refused at once.
      operationTimeoutMs: 1_000,
    });
    const inbox = await h.run(InboxDocument, { pageId: ACME, platform: 'MESSENGER', first: 5, messagesFirst: 1 });
    expect(inbox.errors).toBeUndefined();
    const thread = h.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' })[0]!;
    h.emulator.store.addMessage(thread.id, { text: 'Are you open today?' });
    threadId = thread.id;
  });
  afterAll(() => h.close());

  const send = (text: string, idempotencyKey: string) =>
    h.run(SendReplyDocument, { input: { conversationId: conversationId(threadId), text, idempotencyKey } });
  const messagesInThread = () => h.emulator.store.messageIds(threadId)!.length;

  it('tells the refused send GRAPH_RATE_LIMITED, blocks the Page’s sends without calls, keeps reads going, then sends once', async () => {
    h.emulator.log.clear();
    const before = messagesInThread();
    const first = await send('Yes, until 6 pm', 'throttle-1');
    expect(first.data?.sendMessage.result.__typename).toBe('MessageSent');

    // Graph's second send in the same second is refused with (#613): nothing was sent, the caller is told to retry.
    const refused = await send('And on Sundays until noon', 'throttle-2');
    expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPH_RATE_LIMITED']);
    expect(refused.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(sends(h)).toHaveLength(2);
    expect(messagesInThread()).toBe(before + 1);

    // While the block lasts, the Page's sends are refused by the gateway: no call reaches Graph.
    const blocked = await send('Anything else?', 'throttle-3');
    expect(blocked.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPH_RATE_LIMITED']);
    expect(sends(h)).toHaveLength(2);

    // Reads spend the Conversations API budget, not the Send API's: the inbox still reads.
    const requestsBefore = h.emulator.log.requestCount;
    const inbox = await h.run(InboxDocument, { pageId: ACME, platform: 'MESSENGER', first: 5, messagesFirst: 1 });
    expect(inbox.errors).toBeUndefined();
    expect(h.emulator.log.requestCount).toBeGreaterThan(requestsBefore);

    // After the block, the refused key is free: the same request sends the message, once.
    await new Promise((resolve) => setTimeout(resolve, BLOCK_MS + 100));
    const retried = await send('And on Sundays until noon', 'throttle-2');
    const result = retried.data?.sendMessage.result;
    expect(result).toMatchObject({ __typename: 'MessageSent', replayed: false });
    expect(messagesInThread()).toBe(before + 2);
    expect(h.emulator.store.messageIds(threadId)![0]).toBe((result as { message: { graphApiId: string } }).message.graphApiId);
    expect(sends(h)).toHaveLength(3);
  });
});
