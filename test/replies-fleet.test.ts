/**
 * Replies across a fleet: two gateways share one real Redis (the ledger of sends, inbox events, redeliveries) and one
 * Graph (the same emulator). A key sends once whichever instance each retry reaches; a lost answer on one instance
 * is resolved by Meta's echo delivered to the other; subscribers on both hear a reply once, never its echo again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayServer } from '../src/http-server.js';
import { InboxDocument, SendReplyDocument } from './generated/graphql.js';
import { openEventStream } from './support/event-stream.js';
import { ACME, type Harness, serveOnLoopback, serveWithWebhooks, startHarness, TEST_VERSION } from './support/harness.js';
import { listening } from './support/inbox-events.js';
import { deleteKeys, TEST_REDIS_URL, testPrefix } from './support/redis.js';

const HOUR = 60 * 60 * 1000;
const keyPrefix = testPrefix('replies-fleet');

const conversationId = (threadId: string): string => Buffer.from(`Conversation:${ACME}:${threadId}`).toString('base64');

describe('replying from a fleet of two gateways', () => {
  let clock = Date.now();
  let a: Harness;
  let b: Harness;
  const servers: GatewayServer[] = [];
  let originA: string;
  let originB: string;

  /** The Send API calls the (shared) emulator received. */
  const sends = () => a.emulator.log.entries.filter((entry) => entry.method === 'POST' && /\/messages$/.test(entry.path));

  beforeAll(async () => {
    const options = {
      inboxEvents: 'fleet' as const,
      cache: { now: () => clock },
      redis: { url: TEST_REDIS_URL, keyPrefix },
      sends: { echoWaitMs: 60_000 },
    };
    a = await startHarness({ ...options, emulator: { privacyFiltering: false, now: () => clock } });
    b = await startHarness({ ...options, sharedEmulator: a.emulator });
    // A serves callers only; Meta's webhooks reach B (the emulator has one callback: B's).
    const servedA = await serveOnLoopback(a.app);
    const servedB = await serveWithWebhooks(b, b.events!);
    servers.push(servedA.server, servedB.server);
    originA = servedA.origin;
    originB = servedB.origin;
    // The agents' inbox lists the conversations first, on both instances: each then knows which inbox a thread is in.
    for (const h of [a, b]) {
      const inbox = await h.run(InboxDocument, { pageId: ACME, platform: 'MESSENGER', first: 25, messagesFirst: 1 });
      expect(inbox.errors).toBeUndefined();
    }
  });
  afterEach(() => {
    a.emulator.faults.clear();
    a.emulator.webhooks.holdEchoes(false);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.drain(0)));
    await b?.close();
    await a?.close();
    await deleteKeys(TEST_REDIS_URL, keyPrefix);
  });

  /** A thread of Acme whose customer wrote an hour ago (the clock moves on after the emulator stamped the message). */
  const threadWrittenAnHourAgo = (index: number): string => {
    const thread = a.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' })[index]!;
    a.emulator.store.addMessage(thread.id, { text: 'customer wrote an hour before' });
    clock += HOUR;
    return thread.id;
  };

  it('sends once for one key sent concurrently to both instances, and answers every request with the same message', async () => {
    const threadId = threadWrittenAnHourAgo(0);
    a.emulator.log.clear();
    const input = { conversationId: conversationId(threadId), text: 'One reply, two instances', idempotencyKey: 'fleet-once-1' };
    // Five requests to each instance, interleaved: A, B, A, B, …
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, index) => (index % 2 === 0 ? a : b).run(SendReplyDocument, { input })),
    );
    const results = answers.map((answer) => {
      expect(answer.errors).toBeUndefined();
      const result = answer.data!.sendMessage.result;
      if (result.__typename !== 'MessageSent') throw new Error(`not sent: ${JSON.stringify(result)}`);
      return { messageId: result.message.graphApiId, replayed: result.replayed };
    });
    const [stored] = a.emulator.store.messageIds(threadId)!;
    expect(stored).toMatch(/^m_/);
    expect(results.map((result) => result.messageId)).toEqual(Array(10).fill(stored));
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    expect(sends().map((entry) => `${entry.method} ${entry.path}`)).toEqual([`POST /${TEST_VERSION}/${ACME}/messages`]);
  });

  it("resolves a send A lost the answer of from Meta's echo delivered to B: A's retry answers the stored message, no resend", async () => {
    const threadId = threadWrittenAnHourAgo(1);
    a.emulator.log.clear();
    a.emulator.webhooks.holdEchoes(true);
    a.emulator.faults.inject({ kind: 'reset' }, { match: { path: /\/messages$/ } });
    const input = { conversationId: conversationId(threadId), text: 'Lost on A', idempotencyKey: 'fleet-lost-1' };
    const lost = await a.run(SendReplyDocument, { input });
    expect(lost.data?.sendMessage.result).toMatchObject({ __typename: 'SendOutcomeUnknown', code: 'SEND_OUTCOME_UNKNOWN' });
    expect(lost.errors?.map((error) => error.extensions?.code)).toEqual(['SEND_OUTCOME_UNKNOWN']);
    expect(sends()).toHaveLength(1);
    a.emulator.faults.clear();

    const [arrived] = a.emulator.store.messageIds(threadId)!;
    expect(arrived).toMatch(/^m_/);
    // Meta's echo of the send reaches B's callback (the only one subscribed).
    expect(await a.emulator.webhooks.releaseEchoes()).toBe(1);
    const resolved = await a.run(SendReplyDocument, { input });
    expect(resolved.errors).toBeUndefined();
    expect(resolved.data?.sendMessage.result).toMatchObject({
      __typename: 'MessageSent',
      replayed: true,
      message: { graphApiId: arrived, text: 'Lost on A' },
    });
    // B answers the same, from the shared ledger.
    expect((await b.run(SendReplyDocument, { input })).data?.sendMessage.result).toMatchObject({
      __typename: 'MessageSent',
      message: { graphApiId: arrived },
    });
    expect(sends()).toHaveLength(1);
  });

  it("tells subscribers on both instances of a reply once, as an echo, and not again when Meta's echo reaches B", async () => {
    const threadId = threadWrittenAnHourAgo(2);
    const query = `subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { kind messageId text } }`;
    const onA = await openEventStream(`${originA}/graphql`, query);
    const onB = await openEventStream(`${originB}/graphql`, query);
    expect([onA.status, onB.status]).toEqual([200, 200]);
    await listening(a.events!, ACME);
    await listening(b.events!, ACME);
    a.emulator.webhooks.holdEchoes(true);

    const sent = await a.run(SendReplyDocument, {
      input: { conversationId: conversationId(threadId), text: 'Heard once', idempotencyKey: 'fleet-events-1' },
    });
    const result = sent.data!.sendMessage.result;
    if (result.__typename !== 'MessageSent') throw new Error(`not sent: ${JSON.stringify(result)}`);
    const messageId = result.message.graphApiId;
    for (const events of [onA, onB]) {
      expect(await events.next()).toEqual({ data: { inboxEvents: { kind: 'ECHO', messageId, text: 'Heard once' } } });
    }

    // Meta's echo reaches B; the next event anyone hears is the customer's next message.
    expect(await a.emulator.webhooks.releaseEchoes()).toBe(1);
    const marker = await a.emulator.webhooks.sendMessage(threadId, { text: 'next customer message' });
    expect(marker.deliveryStatus).toBe(200);
    for (const events of [onA, onB]) {
      expect(await events.next()).toEqual({
        data: { inboxEvents: { kind: 'MESSAGE', messageId: marker.id, text: 'next customer message' } },
      });
      events.close();
    }
  });
});
