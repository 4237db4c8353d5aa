/**
 * The emulator's Send API on the wire (`POST /{page-id}/messages`): Meta's answers to a send, its
 * checks (token, task, permission, recipient, parameters, window, the customer's situation), its rate,
 * sender actions, the echo webhook, and the transport and call faults on a send.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { getJson, postForm, query, type GraphErrorEnvelope, type GraphListBody, type Json } from './graph-client.js';

const ACME = DEMO.pages.acme.id;
const TOKEN = DEMO.tokens.acmePage;
const { open: OPEN, humanAgent: HUMAN_AGENT, closed: CLOSED, instagram: INSTAGRAM } = DEMO.replyWindows;
const OPEN_PSID = '1514953380083790';
const HUMAN_AGENT_PSID = '8506908209092911';
const CLOSED_PSID = '8902286547747404';
const INSTAGRAM_IGSID = '62167397425070028';
const HOUR = 3_600_000;
const WINDOW_MESSAGE =
  '(#10) This message is sent outside of allowed window. Learn more about the new policy here: ' +
  'https://developers.facebook.com/docs/messenger-platform/policy-overview';

/** The emulator's clock: 2026-11-10 12:00 UTC, nine days after the seed's last message; tests move it. */
let clock = Date.UTC(2026, 10, 10, 12);
let emulator: Emulator;

/** A text reply's parameters as a form body carries them: JSON values as strings. */
const textReply = (recipient: string, message: Json, extra: Record<string, string> = {}) => ({
  recipient: JSON.stringify({ id: recipient }),
  messaging_type: 'RESPONSE',
  message: JSON.stringify(message),
  ...extra,
});
const send = <T = Json>(params: Record<string, string>, token: string = TOKEN, path = `v25.0/${ACME}/messages`) =>
  postForm<T>(`${emulator.url}/${path}`, { access_token: token, ...params });
const sendError = async (params: Record<string, string>, token: string = TOKEN) => {
  const { status, body } = await send<GraphErrorEnvelope>(params, token);
  const { fbtrace_id: _, ...error } = body.error;
  return { status, error };
};
const read = <T = Json>(path: string, params: Record<string, string | number> = {}) =>
  getJson<T>(`${emulator.url}/v25.0/${path}?${query({ access_token: TOKEN, ...params })}`);
/** The customer writes now, by the emulator's clock: their window opens. */
const customerWrites = (thread: string) => emulator.store.addMessage(thread, { text: 'Hello, anyone there?' });

beforeAll(async () => {
  emulator = await startEmulator({ now: () => clock });
});
afterAll(() => emulator.close());
afterEach(() => emulator.faults.clear());

describe('a send within the window', () => {
  it('answers recipient_id and message_id, puts the message first in the thread, and moves the snippet and updated_time', async () => {
    customerWrites(OPEN);
    clock += HOUR;
    const { status, body } = await send(textReply(OPEN_PSID, { text: 'Yes, we have it in medium.', metadata: 'reply-key-1' }));
    expect(status).toBe(200);
    const messageId = emulator.store.messageIds(OPEN)![0]!;
    expect(body).toEqual({ recipient_id: OPEN_PSID, message_id: messageId });
    expect(messageId).toMatch(/^m_[\w-]{43}$/);

    const messages = await read<GraphListBody>(`${OPEN}/messages`, { fields: 'message,from', limit: 2 });
    expect(messages.body.data[0]).toEqual({
      id: messageId,
      message: 'Yes, we have it in medium.',
      from: { name: 'Acme Shop', email: `${ACME}@facebook.com`, id: ACME },
    });
    const thread = await read(OPEN, { fields: 'snippet,updated_time,unread_count' });
    expect(thread.body).toEqual({
      id: OPEN,
      snippet: 'Yes, we have it in medium.',
      updated_time: '2026-11-10T13:00:00+0000',
      unread_count: 0,
    });
    expect(emulator.store.messageMetadata(messageId)).toBe('reply-key-1');
  });

  it('takes a JSON body with objects, on /me/messages, unversioned', async () => {
    customerWrites(OPEN);
    const response = await fetch(`${emulator.url}/me/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ recipient: { id: OPEN_PSID }, messaging_type: 'UPDATE', message: { text: 'Shipped today.' } }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ recipient_id: OPEN_PSID, message_id: emulator.store.messageIds(OPEN)![0] });
  });

  it('sends an attachment replying to the customer message, and reads it back', async () => {
    const { id: customerMessage } = customerWrites(OPEN);
    const attachment = { type: 'image', payload: { url: 'https://cdn.example.invalid/shirt.jpg' } };
    const { status } = await send(textReply(OPEN_PSID, { attachment }, { reply_to: JSON.stringify({ mid: customerMessage }) }));
    expect(status).toBe(200);
    const [newest] = (await read<GraphListBody>(`${OPEN}/messages`, { fields: 'message,attachments{mime_type,name},reply_to', limit: 1 }))
      .body.data;
    expect(newest).toMatchObject({
      message: '',
      attachments: { data: [{ mime_type: 'image/jpeg', name: 'shirt.jpg', id: expect.stringMatching(/^\d+$/) }] },
      reply_to: { mid: customerMessage, is_self_reply: false },
    });
  });

  it('counts text in code points: 2,000 emoji are sent, 2,001 characters answer (#100); 1,001 characters of metadata too', async () => {
    customerWrites(OPEN);
    expect((await send(textReply(OPEN_PSID, { text: '😀'.repeat(2_000) }))).status).toBe(200);
    const before = emulator.store.messageIds(OPEN);
    expect(await sendError(textReply(OPEN_PSID, { text: '😀'.repeat(2_001) }))).toEqual({
      status: 400,
      error: { message: '(#100) Length of param message[text] must be less than or equal to 2000', type: 'OAuthException', code: 100 },
    });
    expect(await sendError(textReply(OPEN_PSID, { text: 'ok', metadata: 'k'.repeat(1_001) }))).toEqual({
      status: 400,
      error: { message: '(#100) Length of param message[metadata] must be less than or equal to 1000', type: 'OAuthException', code: 100 },
    });
    expect(emulator.store.messageIds(OPEN)).toEqual(before);
  });

  it('refuses bad parameters with code 100', async () => {
    customerWrites(OPEN);
    const recipient = JSON.stringify({ id: OPEN_PSID });
    const cases: [Record<string, string>, string][] = [
      [{ recipient, message: '{"text":"hi"}' }, '(#100) The parameter messaging_type is required'],
      [
        { recipient, messaging_type: 'NOW', message: '{"text":"hi"}' },
        '(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}',
      ],
      [
        { recipient, messaging_type: 'MESSAGE_TAG', message: '{"text":"hi"}' },
        '(#100) The parameter tag is required when messaging_type is MESSAGE_TAG',
      ],
      [
        { recipient, messaging_type: 'MESSAGE_TAG', tag: 'CONFIRMED_EVENT_UPDATE', message: '{"text":"hi"}' },
        '(#100) Param tag must be HUMAN_AGENT, got "CONFIRMED_EVENT_UPDATE"',
      ],
      [
        { recipient, messaging_type: 'RESPONSE', message: '{"text":""}' },
        '(#100) Param message[text] must be a non-empty UTF-8 encoded string',
      ],
      [
        { recipient, messaging_type: 'RESPONSE', message: '{"text":"hi","attachment":{}}' },
        '(#100) Param message must have exactly one of text or attachment',
      ],
      [{ recipient, messaging_type: 'RESPONSE', message: 'hi' }, '(#100) Param message must be a JSON object'],
      [
        { recipient, messaging_type: 'RESPONSE', message: '{"text":"hi"}', reply_to: '{"mid":"m_nope"}' },
        '(#100) Param reply_to[mid] must be a message of this conversation',
      ],
      [{ recipient }, '(#100) Must send either message or sender_action'],
      [{ recipient, sender_action: 'typing_on', message: '{"text":"hi"}' }, '(#100) Param sender_action cannot be sent with message'],
      [{ messaging_type: 'RESPONSE', message: '{"text":"hi"}' }, '(#100) The parameter recipient is required'],
    ];
    for (const [params, message] of cases) {
      expect(await sendError(params)).toEqual({ status: 400, error: { message, type: 'OAuthException', code: 100 } });
    }
  });

  it('answers (#100) 2018001 for a recipient who is no customer of the Page', async () => {
    expect(await sendError(textReply('6100000000000999', { text: 'hi' }))).toEqual({
      status: 400,
      error: { message: '(#100) No matching user found', type: 'OAuthException', code: 100, error_subcode: 2018001 },
    });
  });
});

describe('the messaging window', () => {
  it('is closed 24 hours after the last customer message: (#10) 2018278, nothing added', async () => {
    const before = emulator.store.messageIds(CLOSED);
    expect(await sendError(textReply(CLOSED_PSID, { text: 'Sorry for the wait!' }))).toEqual({
      status: 400,
      error: { message: WINDOW_MESSAGE, type: 'OAuthException', code: 10, error_subcode: 2018278 },
    });
    customerWrites(OPEN);
    // An hour more than the window: new messages are stamped a second apart at least, so stamps run ahead of the clock.
    clock += 25 * HOUR;
    expect((await sendError(textReply(OPEN_PSID, { text: 'Late reply' }))).error).toMatchObject({ code: 10, error_subcode: 2018278 });
    expect(emulator.store.messageIds(CLOSED)).toEqual(before);
  });

  it('stays open 7 days for HUMAN_AGENT, then closes', async () => {
    customerWrites(HUMAN_AGENT);
    clock += 3 * 24 * HOUR;
    const humanAgent = { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' };
    expect((await sendError(textReply(HUMAN_AGENT_PSID, { text: 'Automated?' }))).error).toMatchObject({ code: 10 });
    const { status, body } = await send(textReply(HUMAN_AGENT_PSID, { text: 'An agent here: let me check.' }, humanAgent));
    expect(status).toBe(200);
    expect(body).toEqual({ recipient_id: HUMAN_AGENT_PSID, message_id: emulator.store.messageIds(HUMAN_AGENT)![0] });
    clock += 4 * 24 * HOUR + HOUR;
    expect(await sendError(textReply(HUMAN_AGENT_PSID, { text: 'Still there?' }, humanAgent))).toEqual({
      status: 400,
      error: { message: WINDOW_MESSAGE, type: 'OAuthException', code: 10, error_subcode: 2018278 },
    });
  });

  it('answers (#200) for HUMAN_AGENT when the app lacks the Human Agent feature', async () => {
    const unapproved = await startEmulator({ now: () => clock, humanAgentApproved: false });
    try {
      unapproved.store.addMessage(HUMAN_AGENT, { text: 'Help?' });
      const params = textReply(HUMAN_AGENT_PSID, { text: 'An agent here.' }, { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' });
      const { status, body } = await postForm<GraphErrorEnvelope>(`${unapproved.url}/v25.0/${ACME}/messages`, {
        access_token: TOKEN,
        ...params,
      });
      expect(status).toBe(403);
      expect(body.error).toMatchObject({
        message: '(#200) The app lacks the Human Agent feature, which the HUMAN_AGENT tag requires',
        code: 200,
      });
    } finally {
      await unapproved.close();
    }
  });

  it('sends to an Instagram customer by IGSID within the window; closed, it answers 2534022', async () => {
    expect(await sendError(textReply(INSTAGRAM_IGSID, { text: 'Hi!' }))).toEqual({
      status: 400,
      error: { message: WINDOW_MESSAGE, type: 'OAuthException', code: 10, error_subcode: 2534022 },
    });
    customerWrites(INSTAGRAM);
    const { status, body } = await send(textReply(INSTAGRAM_IGSID, { text: 'We ship to Lisbon, yes.' }));
    expect(status).toBe(200);
    const messageId = emulator.store.messageIds(INSTAGRAM)![0]!;
    expect(body).toEqual({ recipient_id: INSTAGRAM_IGSID, message_id: messageId });
    expect(messageId).toMatch(/^aWdGGi[\w-]{43}$/);
    const [newest] = (await read<GraphListBody>(`${INSTAGRAM}/messages`, { fields: 'message,from', limit: 1 })).body.data;
    expect(newest).toEqual({
      id: messageId,
      message: 'We ship to Lisbon, yes.',
      from: { username: DEMO.pages.acme.instagramUsername, id: DEMO.pages.acme.instagramId },
    });
  });
});

describe("the customer's situation and the token", () => {
  it('answers (#230) for a customer who blocked the Page and (#551) 1545041 for one who is unavailable', async () => {
    expect(await sendError(textReply(DEMO.customers.blockedAcme.psid, { text: 'hi' }))).toEqual({
      status: 403,
      error: { message: '(#230) Permissions disallow message to user', type: 'OAuthException', code: 230 },
    });
    emulator.store.addMessage(DEMO.customers.unavailableAcme.threadId, { text: 'hello' });
    expect(await sendError(textReply(DEMO.customers.unavailableAcme.psid, { text: 'hi' }))).toEqual({
      status: 400,
      error: { message: "(#551) This person isn't available right now.", type: 'OAuthException', code: 551, error_subcode: 1545041 },
    });
  });

  it('refuses tokens that may not send: policy-blocked 368, MODERATE only 200, no pages_messaging 200, user 190, other Page', async () => {
    customerWrites(OPEN);
    const reply = textReply(OPEN_PSID, { text: 'hi' });
    expect(await sendError(reply, DEMO.tokens.acmePagePolicyBlocked)).toEqual({
      status: 400,
      error: {
        message: '(#368) The action attempted has been deemed abusive or is otherwise disallowed',
        type: 'OAuthException',
        code: 368,
      },
    });
    expect(await sendError(reply, DEMO.tokens.acmeModerator)).toEqual({
      status: 403,
      error: {
        message: '(#200) The user does not have sufficient administrative permission for this action on this page.',
        type: 'OAuthException',
        code: 200,
      },
    });
    expect(await sendError(reply, DEMO.tokens.acmePageNoPagesMessaging)).toEqual({
      status: 403,
      error: {
        message: '(#200) Requires pages_messaging permission to manage the object',
        type: 'OAuthException',
        code: 200,
      },
    });
    expect(await sendError(reply, DEMO.tokens.alice)).toEqual({
      status: 400,
      error: { message: '(#190) This method must be called with a Page Access Token', type: 'OAuthException', code: 190 },
    });
    expect(await sendError(reply, DEMO.tokens.bistroPage)).toEqual({
      status: 403,
      error: { message: '(#200) Permissions error', type: 'OAuthException', code: 200 },
    });
  });
});

describe('sender actions', () => {
  it('answers recipient_id, are recorded, and mark_seen zeroes unread_count; closed window: (#10)', async () => {
    customerWrites(OPEN);
    expect((await send(textReply(OPEN_PSID, { text: 'Hi!' }))).status).toBe(200);
    customerWrites(OPEN);
    customerWrites(OPEN);
    expect((await read(OPEN, { fields: 'unread_count' })).body).toEqual({ id: OPEN, unread_count: 2 });
    const recipient = JSON.stringify({ id: OPEN_PSID });
    expect((await send({ recipient, sender_action: 'typing_on' })).body).toEqual({ recipient_id: OPEN_PSID });
    expect((await send({ recipient, sender_action: 'mark_seen' })).body).toEqual({ recipient_id: OPEN_PSID });
    expect(emulator.store.senderActions(OPEN)).toEqual([
      { action: 'typing_on', at: clock },
      { action: 'mark_seen', at: clock },
    ]);
    expect((await read(OPEN, { fields: 'unread_count' })).body).toEqual({ id: OPEN, unread_count: 0 });
    expect((await sendError({ recipient: JSON.stringify({ id: CLOSED_PSID }), sender_action: 'typing_on' })).error).toMatchObject({
      code: 10,
      error_subcode: 2018278,
    });
    expect(emulator.store.senderActions(CLOSED)).toEqual([]);
  });
});

describe('the send rate', () => {
  it('refuses the 4th send within a second with (#613) at 3 per second; reads are unaffected, and sends are logged as POSTs', async () => {
    const limited = await startEmulator({
      now: () => clock,
      sendRateLimit: { callsPerSecond: 3 },
      conversationRateLimit: { callsPerSecond: 2 },
    });
    try {
      limited.store.addMessage(OPEN, { text: 'hi' });
      const url = `${limited.url}/v25.0/${ACME}/messages`;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1)
        statuses.push((await postForm(url, { access_token: TOKEN, ...textReply(OPEN_PSID, { text: `#${i}` }) })).status);
      expect(statuses).toEqual([200, 200, 200, 400]);
      const refused = await postForm<GraphErrorEnvelope>(url, { access_token: TOKEN, ...textReply(OPEN_PSID, { text: 'again' }) });
      const { fbtrace_id: _, ...error } = refused.body.error;
      expect(error).toEqual({
        message: '(#613) Calls to this api have exceeded the rate limit.',
        type: 'OAuthException',
        code: 613,
        is_transient: true,
      });
      expect((await getJson(`${limited.url}/v25.0/${ACME}/conversations?${query({ access_token: TOKEN, limit: 1 })}`)).status).toBe(200);
      const sends = limited.log.entries.filter((entry) => entry.method === 'POST');
      expect(sends.map((entry) => [entry.path, entry.status, entry.pageId])).toEqual([
        [`/v25.0/${ACME}/messages`, 200, undefined],
        [`/v25.0/${ACME}/messages`, 200, undefined],
        [`/v25.0/${ACME}/messages`, 200, undefined],
        [`/v25.0/${ACME}/messages`, 400, undefined],
        [`/v25.0/${ACME}/messages`, 400, undefined],
      ]);
    } finally {
      await limited.close();
    }
  });
});

describe('a POST to the messages edge inside a batch', () => {
  it('runs like any call and crashes nothing', async () => {
    customerWrites(OPEN);
    const body = query(textReply(OPEN_PSID, { text: 'From a batch' }));
    const { status, body: slots } = await postForm<{ code: number; body: string }[]>(`${emulator.url}/v25.0/`, {
      access_token: TOKEN,
      batch: JSON.stringify([{ method: 'POST', relative_url: `${ACME}/messages`, body }]),
    });
    expect(status).toBe(200);
    expect(slots.map((slot) => [slot.code, JSON.parse(slot.body) as Json])).toEqual([
      [200, { recipient_id: OPEN_PSID, message_id: emulator.store.messageIds(OPEN)![0] }],
    ]);
    await emulator.webhooks.idle();
  });
});

describe('the echo webhook', () => {
  let callback: Server;
  let callbackUrl: string;
  const received: Json[] = [];

  beforeAll(async () => {
    callback = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://callback');
      if (request.method === 'GET') {
        response.end(url.searchParams.get('hub.challenge') ?? '');
        return;
      }
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        received.push(JSON.parse(body) as Json);
        response.end('EVENT_RECEIVED');
      });
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/webhook`;
    await emulator.webhooks.subscribe(callbackUrl, 'verify-me');
  });
  afterAll(() => new Promise<void>((resolve) => callback.close(() => resolve())));

  /** The echo of the newest message of the open thread, stamped with its `created_time` in ms. */
  const echoOfNewest = async (text: string, metadata: string) => {
    const [newest] = (
      await read<GraphListBody<{ id: string; created_time: string }>>(`${OPEN}/messages`, { fields: 'created_time', limit: 1 })
    ).body.data;
    const timestamp = Date.parse(newest!.created_time.replace('+0000', 'Z'));
    return echoOf(newest!.id, text, metadata, timestamp);
  };
  const echoOf = (messageId: string, text: string, metadata: string, timestamp: number) => ({
    object: 'page',
    entry: [
      {
        id: ACME,
        time: timestamp,
        messaging: [
          {
            sender: { id: ACME },
            recipient: { id: OPEN_PSID },
            timestamp,
            message: { mid: messageId, text, is_echo: true, app_id: 1234567890, metadata },
          },
        ],
      },
    ],
  });

  it('is delivered after a send, with the metadata and the app id', async () => {
    received.length = 0;
    clock += HOUR;
    customerWrites(OPEN);
    await send(textReply(OPEN_PSID, { text: 'Your order is on its way.', metadata: 'key-42' }));
    await emulator.webhooks.idle();
    expect(received).toEqual([await echoOfNewest('Your order is on its way.', 'key-42')]);
  });

  it('waits while held, and comes when released', async () => {
    received.length = 0;
    emulator.webhooks.holdEchoes(true);
    await send(textReply(OPEN_PSID, { text: 'Held echo', metadata: 'key-43' }));
    await emulator.webhooks.idle();
    expect(received).toEqual([]);
    expect(await emulator.webhooks.releaseEchoes()).toBe(1);
    emulator.webhooks.holdEchoes(false);
    expect(received).toEqual([await echoOfNewest('Held echo', 'key-43')]);
  });

  it('a reset fault on a send drops the answer, not the send: the message is added and its echo delivered', async () => {
    received.length = 0;
    emulator.faults.inject({ kind: 'reset' }, { match: { path: /messages$/ } });
    await expect(send(textReply(OPEN_PSID, { text: 'Lost answer', metadata: 'key-44' }))).rejects.toThrow();
    await emulator.webhooks.idle();
    const messageId = emulator.store.messageIds(OPEN)![0]!;
    expect(emulator.faults.applied).toBe(1);
    expect(received).toEqual([await echoOfNewest('Lost answer', 'key-44')]);
    expect(emulator.store.messageMetadata(messageId)).toBe('key-44');
  });

  it('a server-error fault on a send refuses it before it runs: nothing added, no echo', async () => {
    received.length = 0;
    const before = emulator.store.messageIds(OPEN);
    emulator.faults.inject({ kind: 'server-error' }, { match: { path: /messages$/ } });
    expect((await send(textReply(OPEN_PSID, { text: 'Never sent' }))).status).toBe(500);
    await emulator.webhooks.idle();
    expect(emulator.store.messageIds(OPEN)).toEqual(before);
    expect(received).toEqual([]);
  });
});
