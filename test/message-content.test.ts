/**
 * Every part of a thread and a message through the gateway: what was sent (stickers, shares, story
 * mentions and replies, unsupported messages), what it replies to, who reacted with what, the tags;
 * Instagram's 20-message window said honestly; the conversation's folder, scoped key, former
 * participants and owner flag; a conversation looked up by id or scoped key; fields of some Graph
 * versions only. Each planned into the one Graph read the query needs, counted in the emulator's log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationLookupDocument, MessageContentDocument, type MessageContentQuery } from './generated/graphql.js';
import { ACME, startHarness, type Harness } from './support/harness.js';

type MessageParts = NonNullable<MessageContentQuery['page']>['conversations']['edges'][number]['node']['messages']['edges'][number]['node'];

let h: Harness;
beforeAll(async () => {
  // As `npm start` serves it: privacy filtering on, so the first page is what a reader sees.
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => h.emulator.log.clear());

/** The `fields=` of the first conversations read in the log. */
const conversationsFields = (): string | null => {
  const entry = h.emulator.log.entries[0]!;
  const url = entry.items
    ? entry.items.map((item) => new URL(item.relativeUrl, 'http://x/')).find((candidate) => candidate.pathname.endsWith('/conversations'))!
    : new URL(`${entry.path}?${new URLSearchParams(entry.params)}`, 'http://x/');
  return url.searchParams.get('fields');
};

async function firstPage(platform: 'MESSENGER' | 'INSTAGRAM'): Promise<MessageParts[]> {
  const result = await h.run(MessageContentDocument, { pageId: ACME, platform, first: 5, messagesFirst: 3 });
  expect(result.errors).toBeUndefined();
  return result.data!.page!.conversations.edges.flatMap((edge) => edge.node.messages.edges.map((message) => message.node));
}

describe("every part of a message, on the first page of Acme's inboxes", () => {
  it('Messenger: a sticker, a link, products, a template, a reply, tags and an unsupported message, in one Graph read', async () => {
    const messages = await firstPage('MESSENGER');
    expect([h.emulator.log.requestCount, h.emulator.log.callCount]).toEqual([1, 1]);
    expect(conversationsFields()).toBe(
      'id,messages.limit(3){attachments{file_url,id,image_data,mime_type,name,size,video_data},created_time,from,id,is_unsupported,' +
        'message,reactions,reply_to,shares{description,id,link,name,picture,template},sticker,story,tags}',
    );

    expect(messages.find((message) => message.sticker !== null)).toMatchObject({
      text: null,
      detailsAvailable: true,
      sticker: { url: 'https://scontent.example.invalid/v/t39.1997-6/851557_369239266556155_759568595_n.png' },
    });
    expect(messages.flatMap((message) => message.shares).find((share) => share.link === 'https://shop.example.invalid/p/204817')).toEqual({
      graphApiId: expect.stringMatching(/^\d{16}$/),
      link: 'https://shop.example.invalid/p/204817',
      name: 'Linen shirt',
      description: 'Relaxed fit, 100% linen',
      pictureUrl: expect.stringMatching(/^https:\/\/scontent\.example\.invalid\//),
      products: [],
      template: null,
    });
    const products = messages.flatMap((message) => message.shares).find((share) => share.products.length > 0)!;
    expect(products).toMatchObject({ link: null, template: null, name: 'Canvas tote bag' });
    expect(products.products.map(({ retailerId, name, price }) => ({ retailerId, name, price }))).toEqual([
      { retailerId: 'TOTE-NAT-01', name: 'Canvas tote bag', price: '€24.00' },
      { retailerId: 'SHIRT-LIN-M', name: 'Linen shirt', price: '€59.00' },
    ]);
    const template = messages.flatMap((message) => message.shares).find((share) => share.template !== null)!;
    expect(template.template).toEqual({
      templateType: 'generic',
      elements: [
        {
          title: 'Spring collection',
          subtitle: 'New linen pieces are in',
          imageUrl: expect.any(String),
          url: 'https://shop.example.invalid/spring',
          buttons: [
            { type: 'web_url', title: 'Shop now', url: 'https://shop.example.invalid/spring' },
            { type: 'postback', title: 'Talk to us', url: null },
          ],
        },
      ],
    });
    expect(messages.find((message) => message.isUnsupported)).toMatchObject({ text: null, shares: [], sticker: null });
    const reply = messages.find((message) => message.replyTo !== null)!;
    expect(reply).toMatchObject({ text: 'Yes, that one please.', replyTo: { isSelfReply: expect.any(Boolean) } });
    expect(reply.replyTo!.messageId).toMatch(/^m_/);
    expect(messages.every((message) => message.tags[0] === 'inbox' && message.tags.at(-1) === 'source:chat')).toBe(true);
    expect(messages.some((message) => message.attachments.length > 0)).toBe(true);
  });

  it('Instagram: a story mention, a story reply, a reaction and a reply', async () => {
    const messages = await firstPage('INSTAGRAM');
    expect(h.emulator.log.requestCount).toBe(1);
    const storyUrl = expect.stringMatching(/^https:\/\/lookaside\.example\.invalid\/story\/\d{12}$/);
    expect(messages.find((message) => message.story?.kind === 'MENTION')).toMatchObject({
      text: null,
      story: { kind: 'MENTION', url: storyUrl, graphApiId: expect.stringMatching(/^\d{17}$/) },
    });
    expect(messages.find((message) => message.story?.kind === 'REPLY')).toMatchObject({
      text: 'Love this look!',
      story: { kind: 'REPLY', url: storyUrl },
    });
    const reactions = messages.flatMap((message) => message.reactions);
    const user = { graphApiId: expect.stringMatching(/^\d+$/), username: expect.any(String) };
    expect(reactions).toContainEqual({ emoji: '❤️', users: [user] });
    expect(messages.some((message) => message.replyTo !== null)).toBe(true);
    // Instagram messages carry no tags.
    expect(messages.every((message) => message.tags.length === 0)).toBe(true);
  });

  it('asks Graph only for the parts the query selects', async () => {
    const { body } = await h.post({
      query:
        `{ page(id: "${ACME}") { conversations(first: 5) { edges { node { messages(first: 3) { edges { node { sticker { url } story { ` +
        `kind } } } } } } } } }`,
    });
    expect(body.errors).toBeUndefined();
    expect(conversationsFields()).toBe('id,messages.limit(3){id,sticker,story}');
  });

  it('replyTo.message reads the messages replied to: one more request for all of them', async () => {
    const { body } = await h.post({
      query:
        `{ page(id: "${ACME}") { conversations(first: 5) { edges { node { messages(first: 3) { edges { node { graphApiId replyTo { ` +
        `messageId message { graphApiId text from { name } } } } } } } } } } }`,
    });
    expect(body.errors).toBeUndefined();
    const nodes = (
      body.data as {
        page: {
          conversations: {
            edges: {
              node: { messages: { edges: { node: { replyTo: { messageId: string; message: { graphApiId: string } } | null } }[] } };
            }[];
          };
        };
      }
    ).page.conversations.edges.flatMap((edge) => edge.node.messages.edges.map((message) => message.node));
    const replies = nodes.filter((node) => node.replyTo !== null);
    expect(replies.length).toBeGreaterThan(0);
    for (const { replyTo } of replies) expect(replyTo!.message.graphApiId).toBe(replyTo!.messageId);
    expect(h.emulator.log.requestCount).toBe(2);
    expect(h.emulator.log.entries[1]!.params.fields ?? h.emulator.log.entries[1]!.items![0]!.relativeUrl).toContain('from');
  });
});

describe("Instagram's 20 most recent messages", () => {
  const longThread = () =>
    h.emulator.store
      .listConversations(ACME, { platform: 'instagram', folder: 'inbox' })
      .find((thread) => thread.visible && thread.messageCount >= 30)!;
  const globalId = (type: string, graphId: string) => Buffer.from(`${type}:${ACME}:${graphId}`).toString('base64');

  it('are served with details; older ones say their details are unavailable instead of showing empty text', async () => {
    const thread = longThread();
    const { body } = await h.post({
      query:
        `{ node(id: "${globalId('Conversation', thread.id)}") { ... on Conversation { messages(first: 30) { edges { node { graphApiId ` +
        `createdTime detailsAvailable text from { username } } } } } } }`,
    });
    expect(body.errors).toBeUndefined();
    const messages = (
      body.data as {
        node: { messages: { edges: { node: { detailsAvailable: boolean; text: string | null; from: unknown; createdTime: string } }[] } };
      }
    ).node.messages.edges.map((edge) => edge.node);
    expect(messages).toHaveLength(30);
    expect(messages.slice(0, 20).every((message) => message.detailsAvailable && message.from !== null)).toBe(true);
    expect(messages.slice(20).every((message) => !message.detailsAvailable && message.text === null && message.from === null)).toBe(true);
    expect(messages[25]!.createdTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(h.emulator.log.requestCount).toBe(1);
  });

  it('node(id:) of an older message answers it without details, by id and time', async () => {
    const old = h.emulator.store.messageIds(longThread().id)![22]!;
    const { body } = await h.post({
      query: `{ node(id: "${globalId('Message', old)}") { ... on Message { graphApiId createdTime detailsAvailable text } } }`,
    });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ node: { graphApiId: old, createdTime: expect.any(String), detailsAvailable: false, text: null } });
    // Graph refused the details; the id and time came in a second read.
    expect(h.emulator.log.entries.map((entry) => entry.status)).toEqual([400, 200]);
  });
});

describe('conversation fields and lookups', () => {
  const messengerThread = () =>
    h.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' }).find((thread) => thread.visible)!;

  it('folder, scoped thread key, former participants and the owner flag come in the one conversations read', async () => {
    const { body } = await h.post({
      query:
        `{ page(id: "${ACME}") { conversations(first: 3) { edges { node { graphApiId folder scopedThreadKey isOwner formerParticipants { ` +
        `graphApiId } } } } } }`,
    });
    expect(body.errors).toBeUndefined();
    expect(h.emulator.log.requestCount).toBe(1);
    expect(conversationsFields()).toBe('folder,former_participants,id,is_owner,scoped_thread_key');
    const [first] = (body.data as { page: { conversations: { edges: { node: Record<string, unknown> }[] } } }).page.conversations.edges;
    expect(first!.node).toEqual({
      graphApiId: messengerThread().id,
      folder: 'INBOX',
      scopedThreadKey: messengerThread().scopedThreadKey,
      isOwner: true,
      formerParticipants: [],
    });
  });

  it('looks a conversation up by its thread id or its scoped thread key: the same conversation', async () => {
    const thread = messengerThread();
    const byId = await h.run(ConversationLookupDocument, { pageId: ACME, id: thread.id });
    const byKey = await h.run(ConversationLookupDocument, { pageId: ACME, id: thread.scopedThreadKey! });
    expect(byId.errors).toBeUndefined();
    expect(byKey.data).toEqual(byId.data);
    expect(byKey.data!.page!.conversation).toMatchObject({
      id: Buffer.from(`Conversation:${ACME}:${thread.id}`).toString('base64'),
      graphApiId: thread.id,
      scopedThreadKey: thread.scopedThreadKey,
      folder: 'INBOX',
    });
    expect(h.emulator.log.entries.map((entry) => entry.path)).toEqual([`/v25.0/${thread.id}`, `/v25.0/${thread.scopedThreadKey}`]);
  });

  it('an unknown id is GRAPH_NOT_FOUND on that field alone', async () => {
    const result = await h.run(ConversationLookupDocument, { pageId: ACME, id: 't_999999999999999' });
    expect(result.data).toEqual({ page: { conversation: null } });
    expect(result.errors![0]).toMatchObject({ path: ['page', 'conversation'], extensions: { code: 'GRAPH_NOT_FOUND' } });
  });

  it('userId finds the thread in whatever folder holds it, and folder says which', async () => {
    const other = h.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'other' }).find((thread) => thread.visible)!;
    const { body } = await h.post({
      query: `{ page(id: "${ACME}") { conversations(userId: "${other.customerId}") { edges { node { graphApiId folder } } } } }`,
    });
    expect(body.data).toEqual({ page: { conversations: { edges: [{ node: { graphApiId: other.id, folder: 'OTHER' } }] } } });
  });
});

describe('fields of some Graph versions only', () => {
  it.each([
    ['v14.0', 'id,scoped_thread_key', { folder: null, isOwner: null }],
    ['v22.0', 'folder,id,scoped_thread_key', { folder: 'INBOX', isOwner: null }],
    ['v24.0', 'folder,id,is_owner,scoped_thread_key', { folder: 'INBOX', isOwner: true }],
  ] as const)('a gateway on %s asks only for the fields that version has', async (version, fields, expected) => {
    const pinned = await startHarness({ graphApiVersion: version, emulator: { privacyFiltering: false } });
    try {
      const { body } = await pinned.post({
        query: `{ page(id: "${ACME}") { conversations(first: 1) { edges { node { folder isOwner scopedThreadKey } } } } }`,
      });
      expect(body.errors).toBeUndefined();
      expect(pinned.emulator.log.entries[0]!.params.fields).toBe(fields);
      expect((body.data as { page: { conversations: { edges: { node: unknown }[] } } }).page.conversations.edges[0]!.node).toEqual({
        ...expected,
        scopedThreadKey: expect.stringMatching(/^t_\d{16}$/),
      });
    } finally {
      await pinned.close();
    }
  });
});

describe('old archived threads', () => {
  it('PAGE_DONE lists threads archived since mid-2018, tags: ["action:archived"] those archived before, in no folder', async () => {
    const query = (filter: string) =>
      h.post({
        query: `{ page(id: "${ACME}") { conversations(${filter}, first: 100) { edges { node { graphApiId folder updatedTime } } } } }`,
      });
    const done = await query('folder: PAGE_DONE');
    const legacy = await query('tags: ["action:archived"]');
    expect(h.emulator.log.entries.at(-1)!.params).toMatchObject({ tags: 'action:archived' });
    type Nodes = { page: { conversations: { edges: { node: { graphApiId: string; folder: string | null; updatedTime: string } }[] } } };
    const doneNodes = (done.body.data as Nodes).page.conversations.edges.map((edge) => edge.node);
    const legacyNodes = (legacy.body.data as Nodes).page.conversations.edges.map((edge) => edge.node);
    expect(legacyNodes.map((node) => node.graphApiId)).toEqual(
      h.emulator.store
        .listConversations(ACME)
        .filter((thread) => thread.folder === undefined && thread.visible)
        .map((thread) => thread.id),
    );
    expect(legacyNodes.length).toBeGreaterThan(0);
    expect(legacyNodes.every((node) => node.folder === null && node.updatedTime < '2018-07-01')).toBe(true);
    expect(doneNodes.length).toBeGreaterThan(50);
    expect(doneNodes.every((node) => node.folder === 'PAGE_DONE' && node.updatedTime > '2018-07-01')).toBe(true);
  });
});

it('DEMO names the customer who blocked Acme', () => {
  expect(DEMO.customers.blockedAcme.psid).toMatch(/^\d{16}$/);
});
