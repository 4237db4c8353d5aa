/**
 * Replying through the gateway, end to end against the emulator's Send API over real HTTP: a reply sends once and
 * shows at once in a read and once in a subscription; the window refuses what Graph would, with no call; a key
 * makes a retry safe, even when the answer was lost; strangers and permission-less tokens send nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import {
  InboxDocument,
  MarkSeenDocument,
  ReplyWindowOfDocument,
  SendReplyDocument,
  SetTypingDocument,
  ThreadTopDocument,
} from './generated/graphql.js';
import { openEventStream } from './support/event-stream.js';
import { ACME, type Harness, serveWithWebhooks, startHarness } from './support/harness.js';
import { firstConversation, listening } from './support/inbox-events.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

const conversationId = (threadId: string, page: string = ACME): string =>
  Buffer.from(`Conversation:${page}:${threadId}`).toString('base64');

/** The Send API calls the emulator received (POSTs to a Page's messages edge). */
const sends = (h: Harness) => h.emulator.log.entries.filter((entry) => entry.method === 'POST' && /\/messages$/.test(entry.path));

describe('replying through the gateway', () => {
  let clock = Date.now();
  /** When the customer last wrote, as the emulator stamped it (whole seconds, never before its newest message). */
  let lastWrittenAt = 0;
  const bus = new InboxEventBus();
  let h: Harness;
  let origin: string;
  let drain: () => Promise<void>;

  beforeAll(async () => {
    h = await startHarness({
      emulator: { privacyFiltering: false, now: () => clock },
      inboxEvents: bus,
      cache: { maxAgeMs: 10 * 60_000, now: () => clock },
      sends: { humanAgentApproved: true, echoWaitMs: 60_000 },
    });
    const served = await serveWithWebhooks(h, bus);
    origin = served.origin;
    drain = () => served.server.drain(0);
    // The agents' inbox lists the conversations first: the gateway then knows which inbox each thread is in.
    for (const platform of ['MESSENGER', 'INSTAGRAM'] as const) {
      const inbox = await h.run(InboxDocument, { pageId: ACME, platform, first: 25, messagesFirst: 1 });
      expect(inbox.errors).toBeUndefined();
    }
  });
  afterEach(() => {
    h.emulator.faults.clear();
    h.emulator.webhooks.holdEchoes(false);
  });
  afterAll(async () => {
    await drain();
    await h.close();
  });

  /**
   * A thread of Acme whose customer wrote `ago` before now: the message is stamped now and the clock (the emulator's
   * and the gateway's) moves on by `ago` (the emulator never stamps a message before its newest one).
   */
  const threadWrittenAgo = (index: number, ago: number, platform: 'messenger' | 'instagram' = 'messenger'): string => {
    const thread = h.emulator.store.listConversations(ACME, { platform, folder: 'inbox' })[index]!;
    const { createdTime } = h.emulator.store.addMessage(thread.id, { text: `customer wrote ${ago / HOUR} h before` });
    lastWrittenAt = Date.parse(createdTime.replace('+0000', 'Z'));
    clock += ago;
    return thread.id;
  };

  it('sends a reply inside the window once: a read shows it at once, a subscription hears it once (never its echo again)', async () => {
    const threadId = threadWrittenAgo(0, 2 * HOUR);
    const events = await openEventStream(`${origin}/graphql`, `subscription { inboxEvents(pageId: "${ACME}") { kind messageId text } }`);
    await listening(bus, ACME);
    // The agent's UI showed the conversation's window: that read (cached) is the one a reply needs.
    expect((await h.run(ReplyWindowOfDocument, { id: conversationId(threadId) })).data?.node).toMatchObject({
      replyWindow: { open: true },
    });
    h.emulator.log.clear();
    h.emulator.webhooks.holdEchoes(true);

    const sent = await h.run(SendReplyDocument, {
      input: { conversationId: conversationId(threadId), text: 'Thanks, on its way!', idempotencyKey: 'reply-1', clientMutationId: 'c1' },
    });
    expect(sent.errors).toBeUndefined();
    const result = sent.data!.sendMessage.result;
    if (result.__typename !== 'MessageSent') throw new Error(`not sent: ${JSON.stringify(result)}`);
    const messageId = result.message.graphApiId;
    expect(messageId).toMatch(/^m_/);
    expect(result.replayed).toBe(false);
    expect(result.message.text).toBe('Thanks, on its way!');
    expect(sent.data!.sendMessage).toMatchObject({ clientMutationId: 'c1', conversation: { snippet: 'Thanks, on its way!' } });
    expect(h.emulator.store.messageIds(threadId)![0]).toBe(messageId);
    // One Send API call; the cached thread read served the window (no conversation call).
    expect(h.emulator.log.entries.map((entry) => `${entry.method} ${entry.path.replace(/^\/v\d+\.\d+/, '')}`)).toEqual([
      `POST /${ACME}/messages`,
    ]);
    expect(sends(h)[0]!.params).toMatchObject({ messaging_type: 'RESPONSE' });
    expect(JSON.parse(sends(h)[0]!.params.message!)).toEqual({ text: 'Thanks, on its way!', metadata: expect.stringMatching(/^gw1:/) });

    // The next read shows the reply on top: the cache dropped the thread before the mutation answered.
    const read = await h.run(ThreadTopDocument, { id: conversationId(threadId) });
    expect(read.data?.node).toMatchObject({
      snippet: 'Thanks, on its way!',
      messages: { edges: [{ node: { graphApiId: messageId } }, {}] },
    });

    // Subscribers hear it once, as an echo, before Meta's own echo arrives; that echo is then not heard again.
    expect(await events.next()).toEqual({ data: { inboxEvents: { kind: 'ECHO', messageId, text: 'Thanks, on its way!' } } });
    h.emulator.webhooks.holdEchoes(false);
    await h.emulator.webhooks.idle();
    const marker = await h.emulator.webhooks.sendMessage(threadId, { text: 'next customer message' });
    expect(await events.next()).toEqual({
      data: { inboxEvents: { kind: 'MESSAGE', messageId: marker.id, text: 'next customer message' } },
    });
    events.close();
  });

  it('refuses a reply into a closed window with the time it closed, and no upstream call', async () => {
    const threadId = threadWrittenAgo(1, 30 * HOUR);
    const window = await h.run(ReplyWindowOfDocument, { id: conversationId(threadId) });
    expect(window.data?.node).toEqual({
      id: conversationId(threadId),
      replyWindow: {
        open: false,
        closesAt: new Date(lastWrittenAt + DAY).toISOString(),
        humanAgentOpen: true,
        humanAgentUntil: new Date(lastWrittenAt + 7 * DAY).toISOString(),
        lastCustomerMessageAt: new Date(lastWrittenAt).toISOString(),
      },
    });
    h.emulator.log.clear();
    const refused = await h.run(SendReplyDocument, {
      input: { conversationId: conversationId(threadId), text: 'late', idempotencyKey: 'late-1' },
    });
    expect(refused.data?.sendMessage.result).toEqual({
      __typename: 'ReplyWindowClosed',
      code: 'REPLY_WINDOW_CLOSED',
      reason: expect.stringContaining('a human agent may still reply'),
      closedAt: window.data!.node!.replyWindow!.closesAt,
      humanAgentUntil: window.data!.node!.replyWindow!.humanAgentUntil,
    });
    expect(refused.errors).toEqual([expect.objectContaining({ path: ['sendMessage'], extensions: { code: 'REPLY_WINDOW_CLOSED' } })]);
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it("sends a human agent's reply inside the 7 days with the HUMAN_AGENT tag", async () => {
    const threadId = threadWrittenAgo(2, 3 * DAY);
    h.emulator.log.clear();
    const sent = await h.run(SendReplyDocument, {
      input: { conversationId: conversationId(threadId), text: 'Sorry for the wait', humanAgent: true, idempotencyKey: 'agent-1' },
    });
    expect(sent.data?.sendMessage.result.__typename).toBe('MessageSent');
    expect(sends(h).map((entry) => [entry.params.messaging_type, entry.params.tag])).toEqual([['MESSAGE_TAG', 'HUMAN_AGENT']]);
  });

  it('sends once for the same key, one request after the other and concurrently, and answers the same message', async () => {
    const threadId = threadWrittenAgo(3, HOUR);
    h.emulator.log.clear();
    const input = { conversationId: conversationId(threadId), text: 'Only once', idempotencyKey: 'once-1' };
    const first = await h.run(SendReplyDocument, { input });
    const concurrent = await Promise.all([1, 2, 3].map(() => h.run(SendReplyDocument, { input })));
    const ids = [first, ...concurrent].map((answer) => {
      const result = answer.data!.sendMessage.result;
      return result.__typename === 'MessageSent' ? [result.message.graphApiId, result.replayed] : [result.__typename];
    });
    const firstId = ids[0]![0];
    expect(ids).toEqual([
      [firstId, false],
      [firstId, true],
      [firstId, true],
      [firstId, true],
    ]);
    expect(sends(h)).toHaveLength(1);
    expect(h.emulator.store.messageIds(threadId)!.filter((id) => id === firstId)).toHaveLength(1);

    // Three concurrent first requests of a new key: one send.
    const fresh = { ...input, idempotencyKey: 'once-2', text: 'Once again' };
    const racing = await Promise.all([1, 2, 3].map(() => h.run(SendReplyDocument, { input: fresh })));
    const racedIds = new Set(
      racing.map((answer) => (answer.data!.sendMessage.result as { message: { graphApiId: string } }).message.graphApiId),
    );
    expect(racedIds.size).toBe(1);
    expect(sends(h)).toHaveLength(2);

    // The same key for another message is refused, and sends nothing.
    const reused = await h.run(SendReplyDocument, { input: { ...input, text: 'Something else' } });
    expect(reused.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(sends(h)).toHaveLength(2);
  });

  it('answers "outcome unknown" when the answer is lost after the send took effect; the key then resolves via the echo', async () => {
    const threadId = threadWrittenAgo(4, HOUR);
    h.emulator.log.clear();
    h.emulator.webhooks.holdEchoes(true);
    h.emulator.faults.inject({ kind: 'reset' }, { match: { path: /\/messages$/ } });
    const input = { conversationId: conversationId(threadId), text: 'Did it arrive?', idempotencyKey: 'lost-1' };
    const lost = await h.run(SendReplyDocument, { input });
    expect(lost.data?.sendMessage.result).toMatchObject({
      __typename: 'SendOutcomeUnknown',
      code: 'SEND_OUTCOME_UNKNOWN',
      retryAfterSeconds: 60,
    });
    expect(lost.errors?.map((error) => error.extensions?.code)).toEqual(['SEND_OUTCOME_UNKNOWN']);
    // Never sent again automatically, and a retry before the echo is still unknown, with no send.
    expect(sends(h)).toHaveLength(1);
    expect((await h.run(SendReplyDocument, { input })).data?.sendMessage.result.__typename).toBe('SendOutcomeUnknown');
    expect(sends(h)).toHaveLength(1);

    const [arrived] = h.emulator.store.messageIds(threadId)!;
    h.emulator.webhooks.holdEchoes(false);
    await h.emulator.webhooks.idle();
    const resolved = await h.run(SendReplyDocument, { input });
    expect(resolved.data?.sendMessage.result).toMatchObject({
      __typename: 'MessageSent',
      replayed: true,
      message: { graphApiId: arrived },
    });
    expect(sends(h)).toHaveLength(1);
  });

  it('resolves an unknown outcome whose echo never comes to MESSAGE_NOT_SENT once the wait passed', async () => {
    const threadId = threadWrittenAgo(5, HOUR);
    h.emulator.log.clear();
    // Graph's "unknown error": the send may or may not have happened (here it did not).
    h.emulator.faults.inject({ kind: 'server-error', code: 2 }, { match: { path: /\/messages$/ } });
    const input = { conversationId: conversationId(threadId), text: 'Lost in transit', idempotencyKey: 'lost-2' };
    expect((await h.run(SendReplyDocument, { input })).data?.sendMessage.result.__typename).toBe('SendOutcomeUnknown');
    clock += 61_000;
    const notSent = await h.run(SendReplyDocument, { input });
    expect(notSent.data?.sendMessage.result).toMatchObject({ __typename: 'MessageNotSent', code: 'MESSAGE_NOT_SENT' });
    expect((await h.run(SendReplyDocument, { input })).data?.sendMessage.result.__typename).toBe('MessageNotSent');
    expect(sends(h)).toHaveLength(1);

    // An echo that comes after the wait does not change a key's answer: a client told "not sent" may have sent again.
    const lateThread = threadWrittenAgo(5, HOUR);
    h.emulator.webhooks.holdEchoes(true);
    h.emulator.faults.inject({ kind: 'reset' }, { match: { path: /\/messages$/ } });
    const late = { conversationId: conversationId(lateThread), text: 'Late echo', idempotencyKey: 'late-echo-1' };
    expect((await h.run(SendReplyDocument, { input: late })).data?.sendMessage.result.__typename).toBe('SendOutcomeUnknown');
    clock += 61_000;
    expect((await h.run(SendReplyDocument, { input: late })).data?.sendMessage.result.__typename).toBe('MessageNotSent');
    await h.emulator.webhooks.releaseEchoes();
    expect((await h.run(SendReplyDocument, { input: late })).data?.sendMessage.result.__typename).toBe('MessageNotSent');
  });

  it("refuses a stranger's send and a permission-less token's, with no Send API call", async () => {
    const threadId = threadWrittenAgo(6, HOUR);
    h.emulator.log.clear();
    const stranger = await h.run(
      SendReplyDocument,
      { input: { conversationId: conversationId(threadId), text: 'not mine', idempotencyKey: 'stranger-1' } },
      { token: DEMO.tokens.bistroPage },
    );
    expect(stranger.data).toBeNull();
    expect(stranger.errors?.[0]?.extensions?.code).toMatch(/^GRAPH_(PERMISSION_DENIED|NOT_FOUND)$/);
    // The same thread claimed to be Bistro's: Graph shows the thread to no Bistro token either.
    const rewritten = await h.run(
      SendReplyDocument,
      { input: { conversationId: conversationId(threadId, DEMO.pages.bistro.id), text: 'not mine', idempotencyKey: 'stranger-2' } },
      { token: DEMO.tokens.bistroPage },
    );
    expect(rewritten.data).toBeNull();
    const moderator = await h.run(
      SendReplyDocument,
      { input: { conversationId: conversationId(threadId), text: 'moderating', idempotencyKey: 'moderator-1' } },
      { token: DEMO.tokens.acmeModerator },
    );
    expect(moderator.data?.sendMessage.result).toMatchObject({ __typename: 'SendNotPermitted', code: 'GRAPH_PERMISSION_DENIED' });
    // Graph refused the moderator once: it is refused again for a while with no call.
    const postsBefore = sends(h).length;
    const again = await h.run(
      SendReplyDocument,
      { input: { conversationId: conversationId(threadId), text: 'moderating again', idempotencyKey: 'moderator-2' } },
      { token: DEMO.tokens.acmeModerator },
    );
    expect(again.data?.sendMessage.result).toMatchObject({ __typename: 'SendNotPermitted', code: 'GRAPH_PERMISSION_DENIED' });
    expect(sends(h)).toHaveLength(postsBefore);
    expect(sends(h).filter((entry) => entry.status === 200)).toHaveLength(0);
    expect(h.emulator.store.messageIds(threadId)![0]).not.toMatch(/moderating/);
  });

  it("never tells another token the outcome of a key, and `me` in an id is the caller's own Page", async () => {
    const threadId = threadWrittenAgo(8, HOUR);
    const input = { conversationId: conversationId(threadId), text: 'Mine', idempotencyKey: 'victim-1' };
    const victim = await h.run(SendReplyDocument, { input });
    const sentResult = victim.data!.sendMessage.result;
    if (sentResult.__typename !== 'MessageSent') throw new Error(`not sent: ${sentResult.__typename}`);
    const messageId = sentResult.message.graphApiId;
    h.emulator.log.clear();
    // Another agent of the same Page (a token that may read and send there) replays the victim's key.
    const other = await h.run(SendReplyDocument, { input }, { token: DEMO.tokens.acmePageNoInstagram });
    expect(other.data).toBeNull();
    expect(other.errors?.map((error) => error.extensions?.code)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(JSON.stringify(other)).not.toContain(messageId);
    expect(sends(h)).toHaveLength(0);
    // `me` names the caller's own Page: Bistro's token claiming Acme's thread under `me` reads it as Bistro, and is refused.
    const meId = Buffer.from(`Conversation:me:${threadId}`).toString('base64');
    const viaMe = await h.run(
      SendReplyDocument,
      { input: { conversationId: meId, text: 'via me', idempotencyKey: 'me-1' } },
      { token: DEMO.tokens.bistroPage },
    );
    expect(viaMe.data).toBeNull();
    expect(sends(h)).toHaveLength(0);
    // With Acme's own token, `me` is Acme: the reply is sent.
    const ownMe = await h.run(SendReplyDocument, { input: { conversationId: meId, text: 'via me', idempotencyKey: 'me-2' } });
    expect(ownMe.data?.sendMessage.result.__typename).toBe('MessageSent');
    expect(sends(h).map((entry) => entry.path.replace(/^\/v\d+\.\d+/, ''))).toEqual([`/${ACME}/messages`]);
  });

  it('refuses bad input before any call: too long, both text and attachment, a non-https attachment', async () => {
    const threadId = firstConversation(h.emulator, 'messenger').id;
    h.emulator.log.clear();
    const cases = [
      { text: 'x'.repeat(2_001) },
      { text: 'a', attachment: { url: 'https://example.com/a.png', kind: 'IMAGE' as const } },
      { attachment: { url: 'http://example.com/a.png', kind: 'IMAGE' as const } },
      { text: '   ' },
    ];
    for (const content of cases) {
      const answer = await h.run(SendReplyDocument, { input: { conversationId: conversationId(threadId), ...content } });
      expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('marks a conversation seen and shows typing: the sender actions reach Graph', async () => {
    const threadId = threadWrittenAgo(7, HOUR);
    h.emulator.log.clear();
    expect((await h.run(MarkSeenDocument, { input: { conversationId: conversationId(threadId), clientMutationId: 's1' } })).data).toEqual({
      markSeen: { clientMutationId: 's1', refusal: null },
    });
    expect(
      (await h.run(SetTypingDocument, { input: { conversationId: conversationId(threadId), on: true } })).data?.setTyping.refusal,
    ).toBeNull();
    expect(
      (await h.run(SetTypingDocument, { input: { conversationId: conversationId(threadId), on: false } })).data?.setTyping.refusal,
    ).toBeNull();
    expect(h.emulator.store.senderActions(threadId).map((action) => action.action)).toEqual(['mark_seen', 'typing_on', 'typing_off']);
    expect(sends(h).map((entry) => entry.params.sender_action)).toEqual(['mark_seen', 'typing_on', 'typing_off']);
  });

  it('replies on Instagram', async () => {
    const threadId = threadWrittenAgo(0, HOUR, 'instagram');
    h.emulator.log.clear();
    const sent = await h.run(SendReplyDocument, {
      input: { conversationId: conversationId(threadId), text: 'Hi from IG', idempotencyKey: 'ig-1' },
    });
    const result = sent.data?.sendMessage.result;
    expect(result).toMatchObject({
      __typename: 'MessageSent',
      message: { text: 'Hi from IG', from: { graphApiId: DEMO.pages.acme.instagramId } },
    });
    expect(h.emulator.store.messageIds(threadId)![0]).toBe((result as { message: { graphApiId: string } }).message.graphApiId);
    expect(sends(h)).toHaveLength(1);
  });

  it('refuses a send to a person who blocked the Page, as a typed result', async () => {
    const blocked = h.emulator.store
      .listConversations(ACME, { platform: 'messenger' })
      .find((thread) => thread.customerId === DEMO.customers.blockedAcme.psid)!;
    h.emulator.store.addMessage(blocked.id, { text: 'hello?' });
    const refused = await h.run(SendReplyDocument, {
      input: { conversationId: conversationId(blocked.id), text: 'Hi', idempotencyKey: 'blocked-1' },
    });
    expect(refused.data?.sendMessage.result).toMatchObject({ __typename: 'MessagingDisallowed', code: 'GRAPH_MESSAGING_DISALLOWED' });
  });
});
