/**
 * The emulator's demo route `POST /_emulator/messages`, as a person types it into curl: the conversation
 * named by the gateway's `id` or its `graphApiId`, a message stamped now, and each mistake its own answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';

const ACME = DEMO.pages.acme.id;
let emulator: Emulator;
/** What the clock says; tests move it. */
let now = Date.parse('2026-11-29T09:30:00.250Z');
let messenger: { id: string; customerId: string };
let instagram: { id: string };

beforeAll(async () => {
  emulator = await startEmulator({ privacyFiltering: false, now: () => now });
  const [first] = emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' });
  const [firstInstagram] = emulator.store.listConversations(ACME, { platform: 'instagram', folder: 'inbox' });
  messenger = first!;
  instagram = firstInstagram!;
});
afterAll(() => emulator.close());

/** The gateway's Relay id of a conversation (src/schema/conversation.ts). */
const relayId = (pageId: string, threadId: string): string => Buffer.from(`Conversation:${pageId}:${threadId}`).toString('base64');

async function send(body: unknown, init: { method?: string; contentType?: string } = {}) {
  const response = await fetch(`${emulator.url}/_emulator/messages`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json' },
    ...(init.method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as { id?: string; createdTime?: string; error?: string } };
}

describe('POST /_emulator/messages', () => {
  it("takes a conversation's Relay id, as the demo query selects it", async () => {
    const sent = await send({ conversationId: relayId(ACME, messenger.id), text: 'Hello' });
    expect(sent).toEqual({
      status: 200,
      body: { id: expect.stringMatching(/^m_/), createdTime: '2026-11-29T09:30:00+0000', deliveryStatus: null },
    });
    const [newest] = emulator.store.messageIds(messenger.id)!;
    expect(newest).toBe(sent.body.id);
  });

  it("takes a conversation's graphApiId, and sends as the business with from: business", async () => {
    now += 60_000;
    const sent = await send({ conversationId: instagram.id, text: 'We ship tomorrow', from: 'business' });
    expect(sent.status).toBe(200);
    expect(sent.body.createdTime).toBe('2026-11-29T09:31:00+0000');
    expect(emulator.store.listConversations(ACME, { platform: 'instagram', folder: 'inbox' })[0]!.id).toBe(instagram.id);
  });

  it('stamps messages now, and a second after the newest when the clock stands still or goes back', async () => {
    const first = await send({ conversationId: messenger.id, text: 'one' });
    const second = await send({ conversationId: messenger.id, text: 'two' });
    now = Date.parse('2026-10-01T00:00:00Z');
    const third = await send({ conversationId: messenger.id, text: 'three' });
    expect([first.body.createdTime, second.body.createdTime, third.body.createdTime]).toEqual([
      '2026-11-29T09:31:01+0000',
      '2026-11-29T09:31:02+0000',
      '2026-11-29T09:31:03+0000',
    ]);
  });

  it.each([
    ['a body that is not JSON', '{"conversationId": "t_1", text', {}, 400, /^The body is not a JSON object\./],
    ['a body that is not an object', '["t_1", "Hello"]', {}, 400, /^The body is not a JSON object\./],
    [
      'no Content-Type: application/json',
      'conversationId=t_1&text=Hello',
      { contentType: 'application/x-www-form-urlencoded' },
      415,
      /^Send a POST with Content-Type: application\/json\./,
    ],
    ['a GET', '', { method: 'GET' }, 405, /^Send a POST with Content-Type: application\/json\./],
    ['no conversationId', { text: 'Hello' }, {}, 400, /^Missing "conversationId"\./],
    ['no text', { conversationId: 'CONVERSATION' }, {}, 400, /^Missing "text": the message to send, a non-empty string\./],
    ['an empty text', { conversationId: 'CONVERSATION', text: '  ' }, {}, 400, /^Missing "text"/],
    [
      'a from that is neither side',
      { conversationId: 'CONVERSATION', text: 'Hi', from: 'page' },
      {},
      400,
      /^"from" must be "customer" \(the default\) or "business", got "page"\./,
    ],
    ['an unknown conversation', { conversationId: 't_999', text: 'Hi' }, {}, 404, /^No conversation "t_999" in the demo world\./],
    [
      'a Relay id naming another Page',
      { conversationId: 'WRONG_PAGE', text: 'Hi' },
      {},
      404,
      /^No conversation "Q29udmVyc2F0aW9uOjEwMDAwMDAwMDI6[^"]+" in the demo world\./,
    ],
    [
      "a message's Relay id",
      { conversationId: Buffer.from('Message:m_1').toString('base64'), text: 'Hi' },
      {},
      404,
      /is the id of a Message, not of a conversation\./,
    ],
  ] as const)('answers %s with its own message', async (_name, body, init, status, error) => {
    const named =
      typeof body === 'string'
        ? body
        : {
            ...body,
            ...('conversationId' in body && body.conversationId === 'CONVERSATION' ? { conversationId: messenger.id } : {}),
            ...('conversationId' in body && body.conversationId === 'WRONG_PAGE'
              ? { conversationId: relayId(DEMO.pages.bistro.id, messenger.id) }
              : {}),
          };
    const before = emulator.store.messageIds(messenger.id)!.length;
    const answer = await send(named, init);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatch(error);
    // Every refusal says what the route expects.
    expect(answer.body.error).toContain('{"conversationId": "<a conversation\'s id or graphApiId, as the gateway returns them>"');
    expect(emulator.store.messageIds(messenger.id)).toHaveLength(before);
  });
});
