/**
 * What a GraphQL operation costs upstream, counted in the emulator's request log: one HTTP request
 * per operation, billed calls only for what the query needs, the `fields=` sent, and in-flight reads
 * shared only between callers with the same token.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument, InboxDocument } from './generated/graphql.js';
import { ACME, graphListIds, startHarness, type Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ emulator: { privacyFiltering: false } });
});
afterAll(() => h.close());
beforeEach(() => h.emulator.log.clear());

/** The `fields=` of every conversations read in the log. */
const conversationFields = (): string[] =>
  h.emulator.log.entries.flatMap((entry) => {
    const urls = entry.items
      ? entry.items.map((item) => new URL(item.relativeUrl, 'http://x/'))
      : [new URL(`${entry.path}?${new URLSearchParams(entry.params)}`, 'http://x/')];
    return urls.filter((url) => url.pathname.endsWith('/conversations')).map((url) => url.searchParams.get('fields') ?? '');
  });

describe('one upstream request per operation', () => {
  it('25 conversations with participants: one call, only the selected fields', async () => {
    const {
      body: { data, extensions },
    } = await h.post(
      {
        query:
          `{ page(id: "${ACME}") { conversations(first: 25) { edges { node { id updatedTime snippet participants { graphApiId name ` +
          `username } } } } } }`,
      },
      { 'x-upstream-usage': '1' },
    );
    expect((data as { page: { conversations: { edges: unknown[] } } }).page.conversations.edges).toHaveLength(25);
    expect([h.emulator.log.requestCount, h.emulator.log.callCount]).toEqual([1, 1]);
    expect(conversationFields()).toEqual(['id,participants,snippet,updated_time']);
    expect(extensions).toEqual({ upstream: { requests: 1, calls: 1, coalesced: 0, cached: 0 } });
  });

  it('three aliased page fields with different filters: one batch of three items', async () => {
    const { body } = await h.post({
      query: `{
        inbox: page(id: "${ACME}") { conversations(folder: INBOX, first: 10) { edges { node { id } } } }
        other: page(id: "${ACME}") { conversations(folder: OTHER, first: 10) { edges { node { id snippet } } } }
        instagram: page(id: "${ACME}") { conversations(platform: INSTAGRAM, first: 10) { edges { node { id participants { username } } } } }
      }`,
    });
    expect(body.errors).toBeUndefined();
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.emulator.log.entries[0]!.items).toHaveLength(3);
    expect(conversationFields().sort()).toEqual(['id', 'id,participants', 'id,snippet']);
  });

  it('20 conversations with their first 5 messages: one call by field expansion', async () => {
    const result = await h.run(InboxDocument, { pageId: ACME, first: 20, messagesFirst: 5 });
    expect(result.errors).toBeUndefined();
    // The Page name and the conversations: two items, one request.
    expect([h.emulator.log.requestCount, h.emulator.log.callCount]).toEqual([1, 2]);
  });

  it('20 node(id:) lookups: one batch of 20 items', async () => {
    const list = await h.run(ConversationIdsDocument, { pageId: ACME, first: 20 });
    const ids = list.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId);
    const global = (threadId: string) => Buffer.from(`Conversation:${ACME}:${threadId}`).toString('base64');
    h.emulator.log.clear();
    const { body } = await h.post({
      query: `{ ${ids.map((id, i) => `n${i}: node(id: "${global(id)}") { ... on Conversation { graphApiId updatedTime } }`).join(' ')} }`,
    });
    expect(body.errors).toBeUndefined();
    expect(Object.values(body.data as Record<string, { graphApiId: string }>).map((node) => node.graphApiId)).toEqual(ids);
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.emulator.log.entries[0]!.items!.map((item) => item.relativeUrl)).toEqual(
      ids.map((id) => `v25.0/${id}?fields=id%2Cupdated_time`),
    );
  });

  it('identical reads in one operation are made once', async () => {
    const { body } = await h.post({
      query: `{ a: page(id: "${ACME}") { name conversations(first: 5) { edges { node { id } } } }
                b: page(id: "${ACME}") { name conversations(first: 5) { edges { node { id } } } } }`,
    });
    expect(body.errors).toBeUndefined();
    expect([h.emulator.log.requestCount, h.emulator.log.callCount]).toEqual([1, 2]);
  });
});

describe('connections larger than a Graph page', () => {
  it('read their follow-up pages in the same batch through batch dependencies', async () => {
    const capped = await startHarness({ emulator: { maxLimit: 15, privacyFiltering: false }, graphListCap: 15 });
    try {
      const truth = await graphListIds(capped.emulator, `${ACME}/conversations`, { limit: '15' });
      capped.emulator.log.clear();
      const result = await capped.run(ConversationIdsDocument, { pageId: ACME, first: 40 });
      expect(result.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId)).toEqual(truth.slice(0, 40));
      expect(capped.emulator.log.requestCount).toBe(1);
      expect(
        capped.emulator.log.entries[0]!.items!.map((item) => new URL(item.relativeUrl, 'http://x/').searchParams.get('limit')),
      ).toEqual(['15', '15', '15']);
      expect(capped.emulator.log.entries[0]!.items!.map((item) => item.status)).toEqual([200, 200, 200]);
      // Paging on from endCursor continues exactly where the chain ended.
      const next = await capped.run(ConversationIdsDocument, {
        pageId: ACME,
        first: 5,
        after: result.data!.page!.conversations.pageInfo.endCursor,
      });
      expect(next.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId)).toEqual(truth.slice(40, 45));
    } finally {
      await capped.close();
    }
  });

  it('ask for full follow-up pages, so a page shortened by privacy filtering costs no further request', async () => {
    // Acme's inbox hides some threads among its first 40; Graph serves 20 items at most per page.
    const capped = await startHarness({ emulator: { maxLimit: 20 }, graphListCap: 20 });
    try {
      const visible = await graphListIds(capped.emulator, `${ACME}/conversations`, { limit: '100' });
      const hidden = capped.emulator.store
        .listConversations(ACME, { folder: 'inbox' })
        .slice(0, 40)
        .filter((thread) => !thread.visible);
      expect(hidden.length).toBeGreaterThan(0);
      capped.emulator.log.clear();
      const answers = await Promise.all(Array.from({ length: 20 }, () => capped.run(ConversationIdsDocument, { pageId: ACME, first: 25 })));
      for (const answer of answers) {
        expect(answer.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId)).toEqual(visible.slice(0, 25));
      }
      // One batch of two items (20 + a full 20, not 20 + 5), shared by the 20 clients.
      expect(capped.emulator.log.requestCount).toBe(1);
      expect(
        capped.emulator.log.entries[0]!.items!.map((item) => new URL(item.relativeUrl, 'http://x/').searchParams.get('limit')),
      ).toEqual(['20', '20']);
    } finally {
      await capped.close();
    }
  });

  it('follow short pages with a further request only when the chain left the connection unfilled', async () => {
    const capped = await startHarness({ emulator: { maxLimit: 15 }, graphListCap: 15 });
    try {
      const truth = await graphListIds(capped.emulator, `${ACME}/conversations`, { limit: '100' });
      capped.emulator.log.clear();
      const result = await capped.run(ConversationIdsDocument, { pageId: ACME, first: 60 });
      expect(result.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId)).toEqual(truth.slice(0, 60));
      expect(capped.emulator.log.entries[0]!.items).toHaveLength(4);
      // Privacy filtering hides some threads, so the four pages bring fewer than 60: more requests follow.
      expect(capped.emulator.log.requestCount).toBeGreaterThan(1);
    } finally {
      await capped.close();
    }
  });

  it('keep within the Page call rate: a chain never holds more pages than the rate allows at once', async () => {
    const capped = await startHarness({
      emulator: { maxLimit: 15, privacyFiltering: false },
      graphListCap: 15,
      scheduler: { pageCallsPerSecond: 2 },
    });
    try {
      const result = await capped.run(ConversationIdsDocument, { pageId: ACME, first: 30 });
      expect(result.data!.page!.conversations.edges).toHaveLength(30);
      expect(capped.emulator.log.entries[0]!.items).toHaveLength(2);
    } finally {
      await capped.close();
    }
  });
});

describe('concurrent operations', () => {
  it('share an identical in-flight read when they use the same token', async () => {
    const query = { query: `{ page(id: "${ACME}") { conversations(first: 25) { edges { node { id snippet } } } } }` };
    const results = await Promise.all(Array.from({ length: 10 }, () => h.post(query, { 'x-upstream-usage': '1' })));
    const first = JSON.stringify(results[0]!.body.data);
    for (const result of results) expect(JSON.stringify(result.body.data)).toBe(first);
    const usage = results.map((result) => result.body.extensions!.upstream as { requests: number; coalesced: number });
    expect(h.emulator.log.requestCount).toBe(usage.reduce((sum, u) => sum + u.requests, 0));
    expect(h.emulator.log.requestCount).toBeLessThan(10);
    expect(usage.reduce((sum, u) => sum + u.coalesced, 0)).toBe(10 - h.emulator.log.requestCount);
  });

  it('never share a read across different tokens', async () => {
    await h.credentials.identify(DEMO.tokens.acmePageNoMessaging);
    h.emulator.log.clear();
    const query = { query: `{ page(id: "${ACME}") { conversations(first: 3) { edges { node { id } } } } }` };
    const [allowed, denied] = await Promise.all([
      h.post(query, { authorization: `Bearer ${DEMO.tokens.acmePage}` }),
      h.post(query, { authorization: `Bearer ${DEMO.tokens.acmePageNoMessaging}` }),
    ]);
    expect(allowed.body.errors).toBeUndefined();
    expect(denied.body.errors![0]!.extensions!.code).toBe('GRAPH_PERMISSION_DENIED');
    expect(h.emulator.log.callCount).toBe(2);
  });
});
