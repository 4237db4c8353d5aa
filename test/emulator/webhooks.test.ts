/**
 * The emulator's webhooks on the wire, as Meta sends them: the handshake's challenge in digits, bodies escaped
 * (`\uXXXX`, `\/`) and signed over exactly those bytes with `X-Hub-Signature-256` and the legacy `X-Hub-Signature`,
 * the echo's `app_id` as configured, and batches of events in one POST.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, type Emulator, metaWebhookBody, startEmulator } from '../../src/emulator/index.js';

interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let emulator: Emulator;
let callback: Server;
let url = '';
const received: Received[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ webhookAppId: 555000111 });
  callback = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      const challenge = new URL(request.url ?? '/', 'http://callback').searchParams.get('hub.challenge');
      response.end(challenge ?? 'EVENT_RECEIVED');
    });
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/hook`;
  await emulator.webhooks.subscribe(url, 'verify-me');
});
afterAll(async () => {
  await emulator.close();
  await new Promise((resolve) => callback.close(resolve));
});
beforeEach(() => {
  received.length = 0;
  emulator.webhooks.batch(1);
});

const hmac = (algorithm: 'sha1' | 'sha256', body: Buffer) => createHmac(algorithm, DEMO.appSecret).update(body).digest('hex');
const firstThread = (platform: 'messenger' | 'instagram') =>
  emulator.store.listConversations(DEMO.pages.acme.id, { platform, folder: 'inbox' })[0]!;

describe('the handshake', () => {
  it('sends hub.challenge as digits, as Meta does', async () => {
    await emulator.webhooks.subscribe(url, 'verify-me');
    const query = new URL(received[0]!.url, 'http://callback').searchParams;
    expect([query.get('hub.mode'), query.get('hub.verify_token')]).toEqual(['subscribe', 'verify-me']);
    expect(query.get('hub.challenge')).toMatch(/^\d{10}$/);
  });
});

describe('deliveries', () => {
  it('escapes non-ASCII as \\uXXXX and / as \\/, and signs those bytes (sha256 and the legacy sha1)', async () => {
    const thread = firstThread('messenger');
    await emulator.webhooks.sendMessage(thread.id, { text: 'é/☕🏕' });
    const [post] = received;
    const body = post!.body.toString('latin1');
    expect(body).toContain('"text":"\\u00e9\\/\\u2615\\ud83c\\udfd5"');
    expect(post!.body.every((byte) => byte < 0x80)).toBe(true);
    expect(post!.headers['x-hub-signature-256']).toBe(`sha256=${hmac('sha256', post!.body)}`);
    expect(post!.headers['x-hub-signature']).toBe(`sha1=${hmac('sha1', post!.body)}`);
    // The escaped body parses to the same text.
    expect(JSON.parse(post!.body.toString('utf8')).entry[0].messaging[0].message.text).toBe('é/☕🏕');
    expect(metaWebhookBody({ a: 'ü/' })).toBe('{"a":"\\u00fc\\/"}');
  });

  it("carries the configured app id in echoes (a number, as Meta's)", async () => {
    const thread = firstThread('messenger');
    const echo = await emulator.webhooks.sendMessage(thread.id, { text: 'from the inbox', fromId: DEMO.pages.acme.id });
    const message = (echo.payload as { entry: [{ messaging: [{ message: Record<string, unknown> }] }] }).entry[0].messaging[0].message;
    expect(message).toEqual({ mid: echo.id, text: 'from the inbox', is_echo: true, app_id: 555000111 });
  });

  it('batches N events in one POST: one entry per account, in arrival order; Messenger and Instagram in POSTs of their own', async () => {
    emulator.webhooks.batch(3);
    const messenger = firstThread('messenger');
    const instagram = firstThread('instagram');
    const all = Promise.all([
      emulator.webhooks.sendMessage(messenger.id, { text: 'a' }),
      emulator.webhooks.sendMessage(instagram.id, { text: 'b' }),
    ]);
    expect(received).toEqual([]);
    expect(await emulator.webhooks.flush()).toBe(2);
    await all;
    const bodies = received.map(
      (post) =>
        JSON.parse(post.body.toString('utf8')) as {
          object: string;
          entry: Array<{ id: string; messaging: Array<{ message: { text: string } }> }>;
        },
    );
    expect(bodies.map((body) => [body.object, body.entry.map((entry) => [entry.id, entry.messaging.map((m) => m.message.text)])])).toEqual([
      ['page', [[DEMO.pages.acme.id, ['a']]]],
      ['instagram', [[DEMO.pages.acme.instagramId, ['b']]]],
    ]);
    received.length = 0;
    await Promise.all(['x', 'y', 'z'].map((text) => emulator.webhooks.sendMessage(messenger.id, { text })));
    expect(received).toHaveLength(1);
  });

  it('edits, deliveries, unsends and standby messages, as Meta words them', async () => {
    const messenger = firstThread('messenger');
    const written = await emulator.webhooks.sendMessage(messenger.id, { text: 'v1' });
    const edit = await emulator.webhooks.editMessage(written.id, 'v2');
    expect((edit.payload as { entry: [{ messaging: [Record<string, unknown>] }] }).entry[0].messaging[0].message_edit).toEqual({
      mid: written.id,
      text: 'v2',
      num_edit: 1,
    });
    expect(emulator.store.messageIds(messenger.id)![0]).toBe(written.id);
    const reply = await emulator.webhooks.sendMessage(messenger.id, { text: 'ok', fromId: DEMO.pages.acme.id });
    const delivery = await emulator.webhooks.markDelivered(messenger.id);
    expect((delivery.payload as { entry: [{ messaging: [Record<string, unknown>] }] }).entry[0].messaging[0].delivery).toEqual({
      mids: [reply.id],
      watermark: Date.parse(reply.createdTime),
    });
    await expect(emulator.webhooks.unsend(written.id)).rejects.toThrow('Instagram only');
    const standby = await emulator.webhooks.sendStandby(messenger.id, { text: 'held' });
    const entry = (standby.payload as { entry: [Record<string, unknown>] }).entry[0];
    expect([entry.messaging, (entry.standby as Array<{ message: unknown }>)[0]!.message]).toEqual([
      undefined,
      { mid: standby.id, text: 'held' },
    ]);
  });
});
