/**
 * Webhooks as Meta sends them, through the gateway: escaped bodies (`\uXXXX`, `\/`) verified on the bytes
 * received, batched deliveries (several entries, several events per entry), and the event kinds beyond
 * messages: edits, delivery receipts, Instagram unsends, standby (handover) messages, attachments; edits and
 * unsends drop the cached reads they make stale. The emulator plays Meta's side.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, signWebhookBody } from '../src/emulator/index.js';
import type { GatewayServer } from '../src/http-server.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import { WEBHOOK_PATH } from '../src/webhooks/receiver.js';
import { type EventStream, openEventStream } from './support/event-stream.js';
import { ACME, type Harness, serveWithWebhooks, startHarness } from './support/harness.js';
import { firstConversation, listening } from './support/inbox-events.js';
import { until } from './support/wait.js';

let h: Harness;
let bus: InboxEventBus;
let server: GatewayServer;
let origin = '';

beforeAll(async () => {
  bus = new InboxEventBus();
  h = await startHarness({ emulator: { privacyFiltering: false }, inboxEvents: bus, cache: { maxAgeMs: 60_000 } });
  ({ server, origin } = await serveWithWebhooks(h, bus));
});
afterAll(async () => {
  await server.drain(0);
  await h.close();
});
const opened: EventStream<EventPayload>[] = [];
afterEach(async () => {
  for (const stream of opened.splice(0)) stream.close();
  h.emulator.webhooks.batch(1);
  await until(() => bus.listenerCount(ACME) + bus.listenerCount(DEMO.pages.acme.instagramId) === 0, 'earlier subscribers to leave');
});

interface EventPayload {
  data: { inboxEvents: Record<string, unknown> };
}

const FIELDS = 'kind platform customerId messageId text hasAttachments attachments { type url } deliveredUpTo deliveredMessageIds standby';

async function subscribe(platform: 'MESSENGER' | 'INSTAGRAM', fields = FIELDS): Promise<EventStream<EventPayload>> {
  const stream = await openEventStream<EventPayload>(
    `${origin}/graphql`,
    `subscription { inboxEvents(pageId: "${ACME}", platform: ${platform}) { ${fields} } }`,
  );
  opened.push(stream);
  await listening(bus, platform === 'MESSENGER' ? ACME : DEMO.pages.acme.instagramId);
  return stream;
}

describe('bodies as Meta writes them', () => {
  it('relays text with non-ASCII characters and "/" word for word, from a body escaped as \\uXXXX and \\/', async () => {
    const events = await subscribe('MESSENGER', 'kind text');
    const text = 'Café / crème brûlée ☕ 🏕️ https://example.com/a';
    const sent = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text });
    expect(sent.deliveryStatus).toBe(200);
    expect((await events.next()).data.inboxEvents).toEqual({ kind: 'MESSAGE', text });
  });

  it('verifies the raw bytes: the same payload signed as re-serialized UTF-8 is refused when the bytes sent are escaped', async () => {
    const payload = {
      object: 'page',
      entry: [
        {
          id: ACME,
          time: 1,
          messaging: [{ sender: { id: '1' }, recipient: { id: ACME }, timestamp: 1, message: { mid: 'm_é', text: 'é/' } }],
        },
      ],
    };
    const escaped = JSON.stringify(payload).replace('é/', '\\u00e9\\/').replace('m_é', 'm_\\u00e9');
    const post = (body: string, signature: string) =>
      fetch(`${origin}${WEBHOOK_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
        body,
      });
    // Signed over the escaped bytes it carries: accepted.
    expect((await post(escaped, signWebhookBody(DEMO.appSecret, escaped))).status).toBe(200);
    // Signed over what JSON.stringify of the parsed body gives (a receiver that re-serializes would compute this): refused.
    expect((await post(escaped, signWebhookBody(DEMO.appSecret, JSON.stringify(payload)))).status).toBe(403);
  });
});

describe('event kinds beyond messages', () => {
  it('EDITED carries the new text, and a read cached before the edit is not served after it', async () => {
    const conversation = firstConversation(h.emulator, 'messenger');
    const original = await h.emulator.webhooks.sendMessage(conversation.id, { text: 'I want 2 tents' });
    const read = () =>
      h.post({
        query:
          `{ page(id: "${ACME}") { conversations(first: 1, platform: MESSENGER) { edges { node { ` +
          'messages(first: 1) { edges { node { id text } } } } } } } }',
      });
    const newestText = async () =>
      (
        (await read()).body as {
          data: { page: { conversations: { edges: [{ node: { messages: { edges: [{ node: { text: string } }] } } }] } } };
        }
      ).data.page.conversations.edges[0].node.messages.edges[0].node.text;
    expect(await newestText()).toBe('I want 2 tents');
    h.emulator.log.clear();
    expect(await newestText()).toBe('I want 2 tents');
    expect(h.emulator.log.requestCount).toBe(0);

    const events = await subscribe('MESSENGER');
    const edit = await h.emulator.webhooks.editMessage(original.id, 'I want 3 tents');
    expect(edit.payload).toEqual({
      object: 'page',
      entry: [
        {
          id: ACME,
          time: expect.any(Number),
          messaging: [
            {
              sender: { id: conversation.customerId },
              recipient: { id: ACME },
              timestamp: expect.any(Number),
              message_edit: { mid: original.id, text: 'I want 3 tents', num_edit: 1 },
            },
          ],
        },
      ],
    });
    expect((await events.next()).data.inboxEvents).toEqual({
      kind: 'EDITED',
      platform: 'MESSENGER',
      customerId: conversation.customerId,
      messageId: original.id,
      text: 'I want 3 tents',
      hasAttachments: false,
      attachments: [],
      deliveredUpTo: null,
      deliveredMessageIds: null,
      standby: false,
    });
    expect(await newestText()).toBe('I want 3 tents');
  });

  it('DELIVERED carries the watermark and the mids', async () => {
    const conversation = firstConversation(h.emulator, 'messenger');
    const reply = await h.emulator.webhooks.sendMessage(conversation.id, { text: 'On its way', fromId: ACME });
    const events = await subscribe('MESSENGER');
    await h.emulator.webhooks.markDelivered(conversation.id);
    expect((await events.next()).data.inboxEvents).toEqual({
      kind: 'DELIVERED',
      platform: 'MESSENGER',
      customerId: conversation.customerId,
      messageId: null,
      text: null,
      hasAttachments: false,
      attachments: [],
      deliveredUpTo: new Date(Date.parse(reply.createdTime)).toISOString(),
      deliveredMessageIds: [reply.id],
      standby: false,
    });
  });

  it('UNSENT (Instagram) names the message, which reads no longer show', async () => {
    const conversation = firstConversation(h.emulator, 'instagram');
    const sent = await h.emulator.webhooks.sendMessage(conversation.id, { text: 'oops' });
    const events = await subscribe('INSTAGRAM', 'kind messageId text');
    const unsend = await h.emulator.webhooks.unsend(sent.id);
    expect((unsend.payload as { entry: [{ messaging: [{ message: unknown }] }] }).entry[0].messaging[0].message).toEqual({
      mid: sent.id,
      is_deleted: true,
    });
    expect((await events.next()).data.inboxEvents).toEqual({ kind: 'UNSENT', messageId: sent.id, text: null });
    expect(h.emulator.store.messageIds(conversation.id)).not.toContain(sent.id);
  });

  it('a standby (handover) message is relayed as a MESSAGE with standby: true', async () => {
    const conversation = firstConversation(h.emulator, 'messenger');
    const events = await subscribe('MESSENGER', 'kind messageId text standby');
    const sent = await h.emulator.webhooks.sendStandby(conversation.id, { text: 'while the bot holds the thread' });
    expect(Object.keys((sent.payload as { entry: [Record<string, unknown>] }).entry[0]).sort()).toEqual(['id', 'standby', 'time']);
    expect((await events.next()).data.inboxEvents).toEqual({
      kind: 'MESSAGE',
      messageId: sent.id,
      text: 'while the bot holds the thread',
      standby: true,
    });
  });

  it('attachments of a message event: type and URL', async () => {
    const conversation = firstConversation(h.emulator, 'messenger');
    const events = await subscribe('MESSENGER', 'kind text hasAttachments attachments { type url }');
    await h.emulator.webhooks.sendMessage(conversation.id, {
      text: '',
      attachment: { type: 'image', url: 'https://cdn.example/p/tent.jpg' },
    });
    expect((await events.next()).data.inboxEvents).toEqual({
      kind: 'MESSAGE',
      text: null,
      hasAttachments: true,
      attachments: [{ type: 'image', url: 'https://cdn.example/p/tent.jpg' }],
    });
  });
});

describe('batched deliveries', () => {
  it('several entries and several events per entry in one POST, relayed in order', async () => {
    const events = await subscribe('MESSENGER', 'kind text');
    const [first, second] = h.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' });
    h.emulator.webhooks.batch(3);
    const sends = [
      h.emulator.webhooks.sendMessage(first!.id, { text: 'one' }),
      h.emulator.webhooks.sendMessage(second!.id, { text: 'two' }),
      h.emulator.webhooks.sendMessage(first!.id, { text: 'three' }),
    ];
    const delivered = await Promise.all(sends);
    // One POST: the same payload for all three, one entry for the Page holding the three events.
    expect(new Set(delivered.map((d) => d.payload)).size).toBe(1);
    const payload = delivered[0]!.payload as { entry: Array<{ id: string; messaging: unknown[] }> };
    expect(payload.entry.map((entry) => [entry.id, entry.messaging.length])).toEqual([[ACME, 3]]);
    for (const text of ['one', 'two', 'three']) expect((await events.next()).data.inboxEvents).toEqual({ kind: 'MESSAGE', text });
  });

  it('answers a 100-event delivery well under a second (Meta times out slow callbacks)', async () => {
    const events = await subscribe('MESSENGER', 'text');
    const conversations = h.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' });
    h.emulator.webhooks.batch(100);
    const started = performance.now();
    const sends = Array.from({ length: 100 }, (_, i) =>
      h.emulator.webhooks.sendMessage(conversations[i % conversations.length]!.id, { text: `batch ${i}` }),
    );
    const delivered = await Promise.all(sends);
    const elapsed = performance.now() - started;
    expect(delivered[0]!.deliveryStatus).toBe(200);
    expect((delivered[0]!.payload as { entry: Array<{ messaging: unknown[] }> }).entry.flatMap((e) => e.messaging)).toHaveLength(100);
    expect(elapsed).toBeLessThan(500);
    for (let i = 0; i < 100; i += 1) expect((await events.next()).data.inboxEvents).toEqual({ text: `batch ${i}` });
  });
});
