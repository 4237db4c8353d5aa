/**
 * Reading the inbox: filters, both platforms, nested messages, node lookups, and what each query
 * costs upstream (counted in the emulator's request log).
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument, ConversationMessagesDocument, InboxDocument, NodeDocument } from './generated/graphql.js';
import { ACME, graphListIds, QUIET, startHarness, type Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ emulator: { privacyFiltering: false } });
});
afterAll(() => h.close());
beforeEach(() => h.emulator.log.clear());

const conversationCalls = () =>
  h.emulator.log.entries.flatMap((entry) =>
    entry.items ? entry.items.map((item) => item.relativeUrl) : [`${entry.path}?${new URLSearchParams(entry.params)}`],
  );

describe('filters', () => {
  it.each([
    ['INBOX', 'inbox'],
    ['OTHER', 'other'],
    ['PAGE_DONE', 'page_done'],
    ['SPAM', 'spam'],
  ] as const)('folder %s lists exactly Graph folder %s', async (folder, graphFolder) => {
    const truth = await graphListIds(h.emulator, `${ACME}/conversations`, { folder: graphFolder, limit: '100' });
    const result = await h.run(ConversationIdsDocument, { pageId: ACME, folder, first: 50 });
    expect(result.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId)).toEqual(truth.slice(0, 50));
    expect(truth.length).toBeGreaterThan(0);
  });

  it('without a platform, Graph serves Messenger threads only', async () => {
    const messenger = await h.run(ConversationIdsDocument, { pageId: ACME, platform: 'MESSENGER', first: 30 });
    const unspecified = await h.run(ConversationIdsDocument, { pageId: ACME, first: 30 });
    const ids = (result: typeof messenger) => result.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId);
    expect(ids(unspecified)).toEqual(ids(messenger));
  });

  it('userId returns only the conversation with that person', async () => {
    const inbox = await h.run(InboxDocument, { pageId: ACME, platform: 'INSTAGRAM', first: 3, messagesFirst: 1 });
    const third = inbox.data!.page!.conversations.edges[2]!.node;
    const customer = third.participants.find((participant) => participant.graphApiId !== DEMO.pages.acme.instagramId)!;
    const result = await h.run(ConversationIdsDocument, { pageId: ACME, platform: 'INSTAGRAM', userId: customer.graphApiId, first: 10 });
    expect(result.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId)).toEqual([third.graphApiId]);
    expect(h.emulator.log.entries.at(-1)!.params).toMatchObject({ user_id: customer.graphApiId, platform: 'instagram' });
  });

  it('an empty inbox is an empty connection', async () => {
    const result = await h.run(ConversationIdsDocument, { pageId: QUIET, first: 10 }, { token: DEMO.tokens.quietPage });
    expect(result.data!.page!.conversations).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });
});

describe('both platforms', () => {
  it('Messenger participants have name and email; Messenger-only fields are filled', async () => {
    const result = await h.run(InboxDocument, { pageId: ACME, platform: 'MESSENGER', first: 5, messagesFirst: 2 });
    expect(result.errors).toBeUndefined();
    expect(result.data!.page!.conversations.edges).toHaveLength(5);
    for (const { node } of result.data!.page!.conversations.edges) {
      expect(node.participants).toHaveLength(2);
      expect(node.participants.map((p) => p.graphApiId)).toContain(ACME);
      for (const participant of node.participants) {
        expect(participant).toMatchObject({ name: expect.any(String), email: `${participant.graphApiId}@facebook.com`, username: null });
      }
      expect(node).toMatchObject({
        snippet: expect.any(String),
        messageCount: expect.any(Number),
        unreadCount: expect.any(Number),
        canReply: expect.any(Boolean),
      });
      expect(node.updatedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    }
  });

  it('Instagram participants have a username; Messenger-only fields are null', async () => {
    const result = await h.run(InboxDocument, { pageId: ACME, platform: 'INSTAGRAM', first: 5, messagesFirst: 2 });
    expect(result.errors).toBeUndefined();
    expect(result.data!.page!.conversations.edges).toHaveLength(5);
    for (const { node } of result.data!.page!.conversations.edges) {
      expect(node.participants).toHaveLength(2);
      expect(node.participants.map((p) => p.graphApiId)).toContain(DEMO.pages.acme.instagramId);
      for (const participant of node.participants) {
        expect(participant).toMatchObject({ name: null, email: null, username: expect.any(String) });
      }
      expect(node).toMatchObject({ snippet: null, messageCount: null, unreadCount: null, canReply: null, link: null });
      expect(node.messages.edges.length).toBeGreaterThan(0);
      for (const { node: message } of node.messages.edges) expect(message.from?.username).toEqual(expect.any(String));
    }
  });
});

describe('nested messages', () => {
  it('ride in the conversations read as field expansion: one upstream request for the whole query', async () => {
    const result = await h.run(InboxDocument, { pageId: ACME, first: 20, messagesFirst: 5 });
    expect(result.errors).toBeUndefined();
    const edges = result.data!.page!.conversations.edges;
    expect(edges).toHaveLength(20);
    // `name` of the Page and the conversations leave together as one batch of two items.
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.emulator.log.callCount).toBe(2);
    const conversationsCall = conversationCalls().find((url) => url.includes('/conversations'))!;
    const fields = new URL(conversationsCall, 'http://x/').searchParams.get('fields');
    expect(fields).toBe(
      'can_reply,id,is_subscribed,link,message_count,messages.limit(5){attachments{file_url,id,image_data,mime_type,name,size,' +
        'video_data},created_time,from,id,message,to},name,participants,senders,snippet,unread_count,updated_time',
    );
    for (const { node } of edges) {
      const truth = await graphListIds(h.emulator, `${node.graphApiId}/messages`, { limit: '100' });
      expect(node.messages.edges.map((edge) => edge.node.graphApiId)).toEqual(truth.slice(0, 5));
      expect(node.messages.pageInfo.hasNextPage).toBe(truth.length > 5);
    }
  });

  it('asks Graph only for the fields the query selects', async () => {
    await h.run(ConversationIdsDocument, { pageId: ACME, first: 3 });
    expect(h.emulator.log.entries[0]!.params.fields).toBe('id');
  });

  it('page on from a nested endCursor, one conversation at a time, and back', async () => {
    const inbox = await h.run(InboxDocument, { pageId: ACME, first: 30, messagesFirst: 3 });
    const conversation = inbox.data!.page!.conversations.edges.map((edge) => edge.node).find((node) => (node.messageCount ?? 0) > 12)!;
    const truth = await graphListIds(h.emulator, `${conversation.graphApiId}/messages`, { limit: '100' });
    h.emulator.log.clear();

    const next = await h.run(ConversationMessagesDocument, {
      id: conversation.id,
      first: 4,
      after: conversation.messages.pageInfo.endCursor,
    });
    const page = next.data!.node!.__typename === 'Conversation' ? next.data!.node!.messages : undefined;
    expect(page!.edges.map((edge) => edge.node.graphApiId)).toEqual(truth.slice(3, 7));
    expect(page!.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    // The conversation and its messages page: two reads, one request.
    expect(h.emulator.log.requestCount).toBe(1);

    const back = await h.run(ConversationMessagesDocument, { id: conversation.id, last: 2, before: page!.pageInfo.startCursor });
    const backPage = back.data!.node!.__typename === 'Conversation' ? back.data!.node!.messages : undefined;
    expect(backPage!.edges.map((edge) => edge.node.graphApiId)).toEqual(truth.slice(1, 3));
  });

  it('a messages cursor of one conversation is refused on another', async () => {
    const inbox = await h.run(InboxDocument, { pageId: ACME, first: 2, messagesFirst: 1 });
    const [a, b] = inbox.data!.page!.conversations.edges.map((edge) => edge.node);
    h.emulator.log.clear();
    const result = await h.run(ConversationMessagesDocument, { id: b!.id, first: 1, after: a!.messages.pageInfo.endCursor });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_CURSOR');
  });
});

describe('node(id:)', () => {
  it('refetches a Page, a Conversation and a Message by global id', async () => {
    const inbox = await h.run(InboxDocument, { pageId: ACME, first: 1, messagesFirst: 1 });
    const page = inbox.data!.page!;
    const conversation = page.conversations.edges[0]!.node;
    const message = conversation.messages.edges[0]!.node;

    const pageNode = await h.run(NodeDocument, { id: page.id });
    expect(pageNode.data!.node).toEqual({ __typename: 'Page', id: page.id, graphApiId: ACME, name: DEMO.pages.acme.name });
    const conversationNode = await h.run(NodeDocument, { id: conversation.id });
    expect(conversationNode.data!.node).toEqual({
      __typename: 'Conversation',
      id: conversation.id,
      graphApiId: conversation.graphApiId,
      updatedTime: conversation.updatedTime,
      participants: conversation.participants.map((p) => ({ graphApiId: p.graphApiId })),
    });
    const messageNode = await h.run(NodeDocument, { id: message.id });
    expect(messageNode.data!.node).toEqual({
      __typename: 'Message',
      id: message.id,
      graphApiId: message.graphApiId,
      createdTime: message.createdTime,
      text: message.text,
    });
  });

  it('issues the ids Pothos Relay encodes, which clients already hold (base64 of typename:key)', async () => {
    const inbox = await h.run(InboxDocument, { pageId: ACME, first: 1, messagesFirst: 1 });
    const page = inbox.data!.page!;
    const conversation = page.conversations.edges[0]!.node;
    const message = conversation.messages.edges[0]!.node;
    expect(page.id).toBe('UGFnZToxMDAwMDAwMDAx');
    expect(page.id).toBe(encodeGlobalID('Page', ACME));
    expect(conversation.id).toBe(encodeGlobalID('Conversation', `${ACME}:${conversation.graphApiId}`));
    expect(message.id).toBe(encodeGlobalID('Message', `${ACME}:${message.graphApiId}`));
  });

  it('rejects an id it did not issue', async () => {
    const result = await h.run(NodeDocument, { id: 'Q29udmVyc2F0aW9uOjEyMw==' });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_NODE_ID');
    expect(h.emulator.log.requestCount).toBe(0);
  });
});
