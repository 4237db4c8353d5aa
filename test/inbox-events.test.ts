/**
 * Live inbox events: Meta's webhook (played by the emulator: handshake, signed deliveries) relayed to
 * the `inboxEvents` subscription over server-sent events, at no Graph cost per event.
 */
import { print } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, signWebhookBody } from '../src/emulator/index.js';
import type { GatewayServer } from '../src/http-server.js';
import { InboxEventBus, inboxEventsOf } from '../src/webhooks/inbox-events.js';
import { createWebhookReceiver, WEBHOOK_PATH } from '../src/webhooks/receiver.js';
import { InboxEventsExampleDocument } from './generated/graphql.js';
import {
  ACME,
  BISTRO,
  QUIET,
  serveOnLoopback,
  serveWithWebhooks,
  startHarness,
  TEST_VERIFY_TOKEN,
  type Harness,
} from './support/harness.js';
import { openEventStream, type EventStream } from './support/event-stream.js';
import { firstConversation, listening } from './support/inbox-events.js';
import { until } from './support/wait.js';

let h: Harness;
let bus: InboxEventBus;
let server: GatewayServer;
let origin = '';

beforeAll(async () => {
  bus = new InboxEventBus();
  h = await startHarness({ emulator: { privacyFiltering: false }, inboxEvents: bus });
  ({ server, origin } = await serveWithWebhooks(h, bus));
});
afterAll(async () => {
  await server.drain(0);
  await h.close();
});
beforeEach(() => h.emulator.log.clear());

const SELECTION = 'kind platform pageId customerId messageId text hasAttachments time';

/** One `next` payload of the inbox event stream. */
interface EventPayload {
  data: { inboxEvents: Record<string, unknown> };
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** A customer's message to the Quiet Page (which has no conversation in the emulator), as Meta would deliver it. */
const quietMessage = (mid: string) => ({
  object: 'page',
  entry: [
    {
      id: QUIET,
      time: 1_790_000_000_000,
      messaging: [{ sender: { id: '7003' }, recipient: { id: QUIET }, timestamp: 1_790_000_000_000, message: { mid, text: 'to Quiet' } }],
    },
  ],
});

const subscribe = (query: string, token?: string, at = origin): Promise<EventStream<EventPayload>> =>
  openEventStream<EventPayload>(`${at}/graphql`, query, token);

describe('Meta webhook handshake and signatures', () => {
  it('echoes the challenge for the right verify token only', async () => {
    const handshake = (token: string) =>
      fetch(
        `${origin}${WEBHOOK_PATH}?${new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': 'c-123' })}`,
      );
    const ok = await handshake(TEST_VERIFY_TOKEN);
    expect([ok.status, await ok.text()]).toEqual([200, 'c-123']);
    const refused = await handshake('guess');
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain('c-123');
  });

  it('refuses unsigned and wrongly signed deliveries (403) and publishes nothing', async () => {
    const body = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: ACME,
          time: 1,
          messaging: [{ sender: { id: '1' }, recipient: { id: ACME }, timestamp: 1, message: { mid: 'm_forged', text: 'hi' } }],
        },
      ],
    });
    const seen: string[] = [];
    const stream = bus.subscribe([ACME]);
    void stream.next().then((result) => result.value && seen.push(result.value.messageId));
    for (const signature of [undefined, signWebhookBody('another-secret', body), signWebhookBody(DEMO.appSecret, `${body} `)]) {
      const response = await fetch(`${origin}${WEBHOOK_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) },
        body,
      });
      expect(response.status).toBe(403);
    }
    await new Promise(setImmediate);
    expect(seen).toEqual([]);
    await stream.return!();
  });
});

describe('subscription inboxEvents', () => {
  // Each test starts with nobody listening, so `listening()` sees its own subscription.
  beforeEach(async () => {
    await until(
      () => bus.listenerCount(ACME) + bus.listenerCount(DEMO.pages.acme.instagramId) + bus.listenerCount(BISTRO) === 0,
      'earlier subscribers to leave',
    );
  });

  it(
    'relays a customer message, the business echo and Instagram messages of the Page; nothing of other Pages; no Graph call per ' + 'event',
    async () => {
      const subscription = await subscribe(`subscription { inboxEvents(pageId: "${ACME}") { ${SELECTION} } }`);
      expect(subscription.status).toBe(200);
      await listening(bus, ACME);
      await listening(bus, DEMO.pages.acme.instagramId);
      // Subscribing proved, as a read would, that the caller's own token reads each inbox (one conversation of each), and read which
      // Instagram account the Page links.
      const reads = h.emulator.log.entries.map((entry) => [entry.path, entry.params.fields, entry.params.platform ?? null]);
      expect(reads.sort()).toEqual(
        [
          [`/v25.0/${ACME}/conversations`, 'id', 'messenger'],
          [`/v25.0/${ACME}/conversations`, 'id', 'instagram'],
          [`/v25.0/${ACME}`, 'instagram_business_account', null],
        ].sort(),
      );
      h.emulator.log.clear();

      const messenger = firstConversation(h.emulator, 'messenger').id;
      const instagram = firstConversation(h.emulator, 'instagram').id;
      const fromCustomer = await h.emulator.webhooks.sendMessage(messenger, { text: 'Is the tent in stock?' });
      expect(fromCustomer.deliveryStatus).toBe(200);
      await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger', BISTRO).id, { text: 'Not for Acme' });
      const reply = await h.emulator.webhooks.sendMessage(messenger, { text: 'Yes!', fromId: ACME });
      const fromInstagram = await h.emulator.webhooks.sendMessage(instagram, { text: 'dm on instagram' });

      const customer = firstConversation(h.emulator, 'messenger').customerId;
      expect(await subscription.next()).toEqual({
        data: {
          inboxEvents: {
            kind: 'MESSAGE',
            platform: 'MESSENGER',
            pageId: ACME,
            customerId: customer,
            messageId: fromCustomer.id,
            text: 'Is the tent in stock?',
            hasAttachments: false,
            time: new Date(Date.parse(fromCustomer.createdTime)).toISOString(),
          },
        },
      });
      expect((await subscription.next()).data.inboxEvents).toMatchObject({
        kind: 'ECHO',
        customerId: customer,
        messageId: reply.id,
        text: 'Yes!',
      });
      expect((await subscription.next()).data.inboxEvents).toMatchObject({
        kind: 'MESSAGE',
        platform: 'INSTAGRAM',
        pageId: ACME,
        messageId: fromInstagram.id,
      });
      // Events cost nothing upstream.
      expect(h.emulator.log.requestCount).toBe(0);
      subscription.close();
    },
  );

  it('relays a message once when Meta delivers it twice, and filters by platform', async () => {
    // The caller read its Messenger inbox lately: asking for Messenger only then needs no Graph read at all.
    await h.post({ query: `{ page(id: "${ACME}") { conversations(first: 1) { edges { node { id } } } } }` });
    h.emulator.log.clear();
    const subscription = await subscribe(`subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { messageId text } }`);
    await listening(bus, ACME);
    expect(bus.listenerCount(DEMO.pages.acme.instagramId)).toBe(0);
    expect(h.emulator.log.requestCount).toBe(0);
    const first = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'once' });
    expect(await h.emulator.webhooks.deliver(first.payload)).toBe(200);
    await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'instagram').id, { text: 'instagram, not asked for' });
    const second = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'twice' });
    expect((await subscription.next()).data.inboxEvents).toEqual({ messageId: first.id, text: 'once' });
    expect((await subscription.next()).data.inboxEvents).toEqual({ messageId: second.id, text: 'twice' });
    subscription.close();
  });

  it('relays read receipts and reactions, each once', async () => {
    const subscription = await subscribe(
      `subscription { inboxEvents(pageId: "${ACME}") { kind platform customerId messageId readUpTo reaction } }`,
    );
    await listening(bus, ACME);
    await listening(bus, DEMO.pages.acme.instagramId);
    const messenger = firstConversation(h.emulator, 'messenger');
    const instagram = firstConversation(h.emulator, 'instagram');
    const read = await h.emulator.webhooks.markRead(messenger.id);
    expect(await h.emulator.webhooks.deliver(read.payload)).toBe(200);
    await h.emulator.webhooks.markRead(instagram.id);
    const newest = h.emulator.store.messageIds(messenger.id)![0]!;
    await h.emulator.webhooks.react(newest, '👍');
    await h.emulator.webhooks.react(newest, '👍', 'unreact');

    const first = (await subscription.next()).data.inboxEvents;
    expect(first).toMatchObject({ kind: 'READ', platform: 'MESSENGER', customerId: messenger.customerId, messageId: null });
    expect(Date.parse(String(first.readUpTo))).toBe(Date.parse(messenger.updatedTime));
    expect((await subscription.next()).data.inboxEvents).toEqual({
      kind: 'READ',
      platform: 'INSTAGRAM',
      customerId: instagram.customerId,
      messageId: h.emulator.store.messageIds(instagram.id)![0],
      readUpTo: null,
      reaction: null,
    });
    expect((await subscription.next()).data.inboxEvents).toMatchObject({ kind: 'REACTION', messageId: newest, reaction: '👍' });
    expect((await subscription.next()).data.inboxEvents).toMatchObject({ kind: 'REACTION_REMOVED', messageId: newest, reaction: null });
    subscription.close();
  });

  it('keeps relaying when the same subscription document is run again and again (compiled after a few runs)', async () => {
    const query = `subscription Repeated { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { kind messageId text } }`;
    for (let run = 1; run <= 4; run += 1) {
      const subscription = await subscribe(query);
      await listening(bus, ACME);
      const sent = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: `run ${run}` });
      expect((await subscription.next()).data.inboxEvents).toEqual({ kind: 'MESSAGE', messageId: sent.id, text: `run ${run}` });
      subscription.close();
      await until(() => bus.listenerCount(ACME) === 0, 'the subscriber to leave');
    }
  });

  it('runs the README example', async () => {
    const subscription = await subscribe(print(InboxEventsExampleDocument));
    await listening(bus, ACME);
    await listening(bus, DEMO.pages.acme.instagramId);
    const sent = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'instagram').id, { text: 'from the README' });
    expect((await subscription.next()).data.inboxEvents).toMatchObject({
      kind: 'MESSAGE',
      platform: 'INSTAGRAM',
      messageId: sent.id,
      text: 'from the README',
    });
    subscription.close();
  });

  it('without pageId, hears every Page a user token reaches, each event naming its Page, and no other Page', async () => {
    const subscription = await subscribe(`subscription { inboxEvents { kind platform pageId messageId text } }`, DEMO.tokens.alice);
    expect(subscription.status).toBe(200);
    await listening(bus, ACME);
    await listening(bus, DEMO.pages.acme.instagramId);
    await listening(bus, BISTRO);
    expect(bus.listenerCount(QUIET)).toBe(0);

    const toAcme = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'to Acme' });
    expect(await h.emulator.webhooks.deliver(quietMessage('m_quiet_alice'))).toBe(200);
    const toBistro = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger', BISTRO).id, { text: 'to Bistro' });

    expect((await subscription.next()).data.inboxEvents).toEqual({
      kind: 'MESSAGE',
      platform: 'MESSENGER',
      pageId: ACME,
      messageId: toAcme.id,
      text: 'to Acme',
    });
    expect((await subscription.next()).data.inboxEvents).toEqual({
      kind: 'MESSAGE',
      platform: 'MESSENGER',
      pageId: BISTRO,
      messageId: toBistro.id,
      text: 'to Bistro',
    });
    subscription.close();
  });

  it('without pageId, hears only the Page of a Page token', async () => {
    const subscription = await subscribe(`subscription { inboxEvents { pageId messageId text } }`, DEMO.tokens.bistroPage);
    await listening(bus, BISTRO);
    expect([bus.listenerCount(ACME), bus.listenerCount(DEMO.pages.acme.instagramId), bus.listenerCount(QUIET)]).toEqual([0, 0, 0]);
    await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'to Acme, not heard' });
    expect(await h.emulator.webhooks.deliver(quietMessage('m_quiet_bistro'))).toBe(200);
    const toBistro = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger', BISTRO).id, { text: 'to Bistro' });
    expect((await subscription.next()).data.inboxEvents).toEqual({ pageId: BISTRO, messageId: toBistro.id, text: 'to Bistro' });
    subscription.close();
  });

  it('without pageId, fails with Graph’s refusal when the token reads none of its inboxes', async () => {
    const subscription = await subscribe(`subscription { inboxEvents { messageId } }`, DEMO.tokens.acmePageNoMessaging);
    const first = await subscription.next();
    expect([first.errors?.[0]?.extensions?.code, bus.listenerCount(ACME)]).toEqual(['GRAPH_PERMISSION_DENIED', 0]);
    subscription.close();
  });

  it('without pageId, over more inboxes than MAX_INBOX_SOURCES: INBOX_TOO_WIDE, unless narrowed by platform', async () => {
    const narrow = await startHarness({ emulator: { privacyFiltering: false }, inboxEvents: new InboxEventBus(), maxInboxSources: 3 });
    const { server: narrowServer, origin: narrowOrigin } = await serveOnLoopback(narrow.app);
    try {
      const wide = await subscribe(`subscription { inboxEvents { messageId } }`, DEMO.tokens.alice, narrowOrigin);
      expect((await wide.next()).errors?.[0]?.extensions).toMatchObject({ code: 'INBOX_TOO_WIDE', sources: 6, maxSources: 3 });
      wide.close();
      const messenger = await subscribe(`subscription { inboxEvents(platform: MESSENGER) { messageId } }`, DEMO.tokens.alice, narrowOrigin);
      await listening(narrow.events!, BISTRO);
      messenger.close();
    } finally {
      await narrowServer.drain(0);
      await narrow.close();
    }
  });

  it('is refused to a caller who does not reach the Page', async () => {
    const subscription = await subscribe(`subscription { inboxEvents(pageId: "${BISTRO}") { messageId } }`);
    const first = await subscription.next();
    expect(first.errors?.[0]?.extensions?.code).toBe('PAGE_NOT_ACCESSIBLE');
    expect(bus.listenerCount(BISTRO)).toBe(0);
    subscription.close();
  });

  it('stops listening when the client goes away', async () => {
    const subscription = await subscribe(`subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { messageId } }`);
    await listening(bus, ACME);
    subscription.close();
    await until(() => bus.listenerCount(ACME) === 0, 'the subscriber to leave');
    expect(bus.listenerCount(ACME)).toBe(0);
  });

  it('is cut when the server drains for a shutdown, at once rather than at the grace deadline', async () => {
    const { server: draining, origin: drainingOrigin } = await serveOnLoopback(h.app);
    const subscription = await subscribe(
      `subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { messageId } }`,
      undefined,
      drainingOrigin,
    );
    await listening(bus, ACME);
    // A grace period far longer than the test's own timeout: only cutting the stream lets this end.
    await draining.drain(600_000);
    await expect(subscription.next()).rejects.toThrow();
    await until(() => bus.listenerCount(ACME) === 0, 'the subscriber to leave');
  });

  it('without webhooks configured, says so', async () => {
    const plain = await startHarness();
    const { server: plainServer, origin: plainOrigin } = await serveOnLoopback(plain.app);
    try {
      const subscription = await subscribe(`subscription { inboxEvents(pageId: "${ACME}") { messageId } }`, undefined, plainOrigin);
      expect((await subscription.next()).errors?.[0]?.extensions?.code).toBe('WEBHOOKS_NOT_CONFIGURED');
      subscription.close();
    } finally {
      await plainServer.drain(0);
      await plain.close();
    }
  });
});

describe("the emulator's routes for demos", () => {
  it('subscribes a gateway started apart, and sends it messages over HTTP', async () => {
    const busC = new InboxEventBus();
    const { server: serverC, origin: originC } = await serveOnLoopback(h.app, {
      webhooks: createWebhookReceiver({ appSecret: DEMO.appSecret, verifyToken: 'token-c', bus: busC }),
    });
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${h.emulator.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    try {
      const wrong = await post('/_emulator/subscriptions', { callbackUrl: `${originC}${WEBHOOK_PATH}`, verifyToken: 'guess' });
      expect(wrong.status).toBe(502);
      expect(wrong.body.error).toMatch(/webhook verification failed: .* answered 403/);
      expect((await post('/_emulator/subscriptions', { callbackUrl: `${originC}${WEBHOOK_PATH}`, verifyToken: 'token-c' })).status).toBe(
        200,
      );

      const events = busC.subscribe([ACME]);
      const sent = await post('/_emulator/messages', { conversationId: firstConversation(h.emulator, 'messenger').id, text: 'over HTTP' });
      expect(sent).toMatchObject({ status: 200, body: { deliveryStatus: 200 } });
      expect((await events.next()).value).toMatchObject({ kind: 'message', messageId: sent.body.id, text: 'over HTTP' });
      await events.return!();
      expect((await post('/_emulator/messages', { conversationId: 'nope', text: 'x' })).status).toBe(404);
    } finally {
      // Back to this suite's gateway.
      await h.emulator.webhooks.subscribe(`${origin}${WEBHOOK_PATH}`, TEST_VERIFY_TOKEN);
      await serverC.drain(0);
    }
  });
});

describe('reading webhook payloads', () => {
  it('keeps messages (attachments-only too), read receipts and reactions, and skips everything else', () => {
    const base = {
      accountId: ACME,
      platform: 'messenger',
      customerId: '42',
      text: undefined,
      hasAttachments: false,
      readUpTo: undefined,
      reaction: undefined,
    };
    expect(
      inboxEventsOf({
        object: 'page',
        entry: [
          {
            id: ACME,
            time: 1,
            messaging: [
              {
                sender: { id: '42' },
                recipient: { id: ACME },
                timestamp: 1700000000000,
                message: { mid: 'm_1', attachments: [{ type: 'image' }] },
              },
              { sender: { id: '42' }, recipient: { id: ACME }, timestamp: 1700000000001, read: { watermark: 1699999999000 } },
              {
                sender: { id: '42' },
                recipient: { id: ACME },
                timestamp: 1700000000002,
                reaction: { mid: 'm_0', action: 'react', reaction: 'love', emoji: '❤️' },
              },
              { sender: { id: '42' }, recipient: { id: ACME }, timestamp: 1700000000003, reaction: { mid: 'm_0', action: 'unreact' } },
              { sender: { id: '42' }, recipient: { id: ACME }, timestamp: 1700000000004, postback: { payload: 'START' } },
              { sender: { id: '42' }, recipient: { id: ACME }, timestamp: 1700000000005, reaction: { mid: 'm_0', action: 'shrug' } },
              { sender: { id: '42' }, recipient: { id: ACME }, timestamp: 'soon', message: { mid: 'm_2', text: 'bad time' } },
              'junk',
            ],
          },
          { id: 7 },
        ],
      }),
    ).toEqual([
      {
        ...base,
        kind: 'message',
        messageId: 'm_1',
        hasAttachments: true,
        attachments: [{ type: 'image', url: undefined }],
        timestamp: 1700000000000,
      },
      { ...base, kind: 'read', messageId: undefined, readUpTo: 1699999999000, timestamp: 1700000000001 },
      { ...base, kind: 'reaction', messageId: 'm_0', reaction: '❤️', timestamp: 1700000000002 },
      { ...base, kind: 'reaction_removed', messageId: 'm_0', timestamp: 1700000000003 },
    ]);
    expect(inboxEventsOf({ object: 'user', entry: [] })).toEqual([]);
    expect(inboxEventsOf(null)).toEqual([]);
  });
});
