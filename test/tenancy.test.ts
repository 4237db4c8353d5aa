/**
 * Isolation between callers: user tokens reach exactly their Pages through Page tokens, server-side
 * Pages, appsecret_proof on every kind of call, no sharing of data or errors across callers.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument } from './generated/graphql.js';
import { ACME, BISTRO, QUIET, startHarness, type Harness } from './support/harness.js';

const VIEWER = `{ viewer { kind graphApiId name pages { graphApiId name tasks } } }`;
const inboxIds = (page: string, first = 5) =>
  `{ page(id: "${page}") { conversations(first: ${first}) { edges { node { graphApiId } } } } }`;
type Inbox = { page: { conversations: { edges: { node: { graphApiId: string } }[] } } | null };
const idsOf = (data: unknown) => (data as Inbox).page!.conversations.edges.map((edge) => edge.node.graphApiId);

describe('user tokens', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ emulator: { privacyFiltering: false }, defaultAccessToken: undefined });
  });
  afterAll(() => h.close());
  beforeEach(() => h.emulator.log.clear());

  it('viewer lists exactly the Pages a user token manages, with their tasks', async () => {
    const alice = await h.post({ query: VIEWER }, { authorization: `Bearer ${DEMO.tokens.alice}` });
    expect(alice.body.data).toEqual({
      viewer: {
        kind: 'USER',
        graphApiId: DEMO.users.alice.id,
        name: DEMO.users.alice.name,
        pages: [
          { graphApiId: ACME, name: DEMO.pages.acme.name, tasks: expect.arrayContaining(['MESSAGING']) },
          { graphApiId: BISTRO, name: DEMO.pages.bistro.name, tasks: expect.arrayContaining(['MESSAGING']) },
          { graphApiId: DEMO.pages.outlet.id, name: DEMO.pages.outlet.name, tasks: expect.arrayContaining(['MESSAGING']) },
        ],
      },
    });
    // Who the token is and its Pages: one batch of two calls, then remembered.
    expect([h.emulator.log.requestCount, h.emulator.log.callCount]).toEqual([1, 2]);
    await h.post({ query: VIEWER }, { authorization: `Bearer ${DEMO.tokens.alice}` });
    expect(h.emulator.log.requestCount).toBe(1);

    const bob = await h.post({ query: VIEWER }, { authorization: `Bearer ${DEMO.tokens.bob}` });
    expect((bob.body.data as { viewer: { pages: { graphApiId: string }[] } }).viewer.pages.map((page) => page.graphApiId)).toEqual([
      BISTRO,
    ]);
  });

  it('a Page token is a viewer of kind PAGE with its own Page', async () => {
    const { body } = await h.post({ query: VIEWER }, { authorization: `Bearer ${DEMO.tokens.bistroPage}` });
    expect(body.data).toEqual({
      viewer: {
        kind: 'PAGE',
        graphApiId: BISTRO,
        name: DEMO.pages.bistro.name,
        pages: [{ graphApiId: BISTRO, name: DEMO.pages.bistro.name, tasks: null }],
      },
    });
  });

  it('reads each Page with the Page token the user token grants, never with the user token', async () => {
    const { body } = await h.post(
      {
        query:
          `{ a: page(id: "${ACME}") { name conversations(first: 3) { edges { node { graphApiId } } } } b: page(id: "${BISTRO}") { ` +
          `conversations(first: 3) { edges { node { graphApiId } } } } }`,
      },
      { authorization: `Bearer ${DEMO.tokens.alice}` },
    );
    expect(body.errors).toBeUndefined();
    const batches = h.emulator.log.entries.filter((entry) => entry.items?.some((item) => item.relativeUrl.includes('/conversations')));
    expect(batches).toHaveLength(1);
    // The user token appears nowhere in a call about a Page's inbox.
    expect(JSON.stringify(batches)).not.toContain(DEMO.tokens.alice);
    expect(batches[0]!.items!.length).toBeGreaterThan(0);
    expect(batches[0]!.items!.every((item) => item.status === 200)).toBe(true);
  });

  it('refuses a Page the user token does not manage, without calling it', async () => {
    const { body } = await h.post({ query: inboxIds(ACME) }, { authorization: `Bearer ${DEMO.tokens.bob}` });
    expect(body.errors![0]!.extensions!.code).toBe('PAGE_NOT_ACCESSIBLE');
    expect(h.emulator.log.entries.some((entry) => JSON.stringify(entry).includes('/conversations'))).toBe(false);
  });

  it('concurrent callers never see each other’s data or errors, whatever path their reads take', async () => {
    const rounds = await Promise.all(
      Array.from({ length: 8 }, () =>
        Promise.all([
          h.post({ query: inboxIds(ACME, 4) }, { authorization: `Bearer ${DEMO.tokens.acmePage}` }),
          h.post({ query: inboxIds(ACME, 4) }, { authorization: `Bearer ${DEMO.tokens.acmePageNoMessaging}` }),
          h.post({ query: inboxIds(ACME, 4) }, { authorization: `Bearer ${DEMO.tokens.bob}` }),
          h.post({ query: inboxIds(ACME, 4) }, { authorization: `Bearer ${DEMO.tokens.alice}` }),
        ]),
      ),
    );
    for (const [page, noMessaging, bob, alice] of rounds) {
      expect(page!.body.errors).toBeUndefined();
      expect(idsOf(page!.body.data)).toHaveLength(4);
      expect(noMessaging!.body.errors![0]!.extensions!.code).toBe('GRAPH_PERMISSION_DENIED');
      expect(noMessaging!.body.data).toEqual({ page: null });
      expect(bob!.body.errors![0]!.extensions!.code).toBe('PAGE_NOT_ACCESSIBLE');
      expect(alice!.body.errors).toBeUndefined();
      expect(idsOf(alice!.body.data)).toEqual(idsOf(page!.body.data));
    }
  });

  it('marks every answer private and uncacheable', async () => {
    const { headers } = await h.post({ query: inboxIds(BISTRO) }, { authorization: `Bearer ${DEMO.tokens.bob}` });
    expect(headers.get('cache-control')).toBe('private, no-store');
  });
});

describe('Pages configured server-side', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      emulator: { privacyFiltering: false },
      defaultAccessToken: undefined,
      pageTokens: new Map([
        [ACME, DEMO.tokens.acmePage],
        [BISTRO, DEMO.tokens.bistroPage],
      ]),
    });
  });
  afterAll(() => h.close());

  it('serves requests without a token from the configured Pages only', async () => {
    const viewer = await h.post({ query: `{ viewer { kind pages { graphApiId } } }` });
    expect(viewer.body.data).toEqual({ viewer: { kind: 'GATEWAY', pages: [{ graphApiId: ACME }, { graphApiId: BISTRO }] } });
    const acme = await h.run(ConversationIdsDocument, { pageId: ACME, first: 2 });
    const bistro = await h.run(ConversationIdsDocument, { pageId: BISTRO, first: 2 });
    expect(acme.errors).toBeUndefined();
    expect(bistro.errors).toBeUndefined();
    const quiet = await h.run(ConversationIdsDocument, { pageId: QUIET, first: 2 });
    expect(quiet.errors![0]!.extensions!.code).toBe('PAGE_NOT_ACCESSIBLE');
  });
});

describe('appsecret_proof', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      emulator: { privacyFiltering: false, appSecret: DEMO.appSecret, requireAppSecretProof: true, maxLimit: 15 },
      appSecret: DEMO.appSecret,
    });
  });
  afterAll(() => h.close());
  beforeEach(() => h.emulator.log.clear());

  it('is right on plain reads, batches, follow-up pages and items with their own tokens', async () => {
    // Follow-up pages: Graph caps pages at 15 here, so 40 conversations take three calls.
    const plain = await h.run(ConversationIdsDocument, { pageId: ACME, first: 40 });
    expect(plain.errors).toBeUndefined();
    expect(plain.data!.page!.conversations.edges).toHaveLength(40);
    expect(h.emulator.log.requestCount).toBe(3);
    // A batch with one outer token; then a user token whose Page tokens ride as items of their own.
    const batch = await h.post({ query: `{ page(id: "${ACME}") { name conversations(first: 2) { edges { cursor } } } }` });
    expect(batch.body.errors).toBeUndefined();
    const user = await h.post(
      {
        query:
          `{ a: page(id: "${ACME}") { conversations(first: 2) { edges { cursor } } } b: page(id: "${BISTRO}") { conversations(first: 2) ` +
          `{ edges { cursor } } } }`,
      },
      { authorization: `Bearer ${DEMO.tokens.alice}` },
    );
    expect(user.body.errors).toBeUndefined();
    expect(h.emulator.log.entries.length).toBeGreaterThan(0);
    expect(h.emulator.log.entries.every((entry) => entry.status === 200 && (entry.items ?? []).every((item) => item.status === 200))).toBe(
      true,
    );
  });

  it('a gateway with a wrong secret is refused by Graph, and says so', async () => {
    const wrong = await startHarness({
      emulator: { appSecret: DEMO.appSecret, requireAppSecretProof: true },
      appSecret: 'not-the-app-secret',
    });
    try {
      const result = await wrong.run(ConversationIdsDocument, { pageId: ACME, first: 2 });
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_INVALID_PARAMETER', graph: { code: 100 } });
    } finally {
      await wrong.close();
    }
  });

  it('a gateway with no secret is refused when the app requires proofs', async () => {
    const none = await startHarness({ emulator: { appSecret: DEMO.appSecret, requireAppSecretProof: true } });
    try {
      const result = await none.run(ConversationIdsDocument, { pageId: ACME, first: 2 });
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_INVALID_PARAMETER', graph: { code: 100 } });
    } finally {
      await none.close();
    }
  });
});
