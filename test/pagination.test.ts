/**
 * Relay pagination over Graph's page-level cursors: one test per rule, against the emulator
 * through real HTTP. Ground truth is Graph's own list, read by following its `next` URLs verbatim.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument, type ConversationIdsQuery, type ConversationIdsQueryVariables } from './generated/graphql.js';
import { ACME, BISTRO, graphListIds, startHarness, type GraphQLResponse, type Harness } from './support/harness.js';

let h: Harness;
let acmeInbox: string[];
let bistroInbox: string[];

// Privacy filtering (short pages) is off here so that call counts are exact; one test turns it on.
beforeAll(async () => {
  h = await startHarness({ emulator: { privacyFiltering: false } });
  acmeInbox = await graphListIds(h.emulator, `${ACME}/conversations`, { folder: 'inbox', limit: '100' });
  bistroInbox = await graphListIds(h.emulator, `${BISTRO}/conversations`, { limit: '100' }, DEMO.tokens.bistroPage);
});
afterAll(() => h.close());
beforeEach(() => h.emulator.log.clear());

type Result = GraphQLResponse<ConversationIdsQuery>;
const list = (vars: Partial<ConversationIdsQueryVariables>): Promise<Result> =>
  h.run(ConversationIdsDocument, { pageId: ACME, folder: 'INBOX', ...vars });
const connection = (result: Result) => {
  expect(result.errors).toBeUndefined();
  return result.data!.page!.conversations;
};
const ids = (result: Result): string[] => connection(result).edges.map((edge) => edge.node.graphApiId);
const cursorAt = (result: Result, index: number): string => connection(result).edges[index]!.cursor;

describe('forward paging', () => {
  it('returns the first `first` items, newest first, with start/end cursors equal to the first/last edge cursors', async () => {
    const result = await list({ first: 10 });
    const { edges, pageInfo } = connection(result);
    expect(ids(result)).toEqual(acmeInbox.slice(0, 10));
    expect(pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: edges[0]!.cursor, endCursor: edges[9]!.cursor });
    expect(h.emulator.log.callCount).toBe(1);
  });

  it('gives every edge its own distinct cursor', async () => {
    const result = await list({ first: 25 });
    expect(new Set(connection(result).edges.map((edge) => edge.cursor)).size).toBe(25);
  });

  it('pages forward from endCursor with exactly one Graph call per page', async () => {
    const first = await list({ first: 20 });
    h.emulator.log.clear();
    const second = await list({ first: 20, after: connection(first).pageInfo.endCursor });
    expect(ids(second)).toEqual(acmeInbox.slice(20, 40));
    expect(connection(second).pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.emulator.log.callCount).toBe(1);
    const [call] = h.emulator.log.entries;
    expect(call!.params).toMatchObject({ limit: '20', folder: 'inbox' });
    expect(call!.params.after).toEqual(expect.any(String));
  });

  it('resumes after ANY edge, not only after endCursor', async () => {
    const first = await list({ first: 10 });
    for (const index of [0, 4, 8]) {
      const next = await list({ first: 5, after: cursorAt(first, index) });
      expect(ids(next)).toEqual(acmeInbox.slice(index + 1, index + 6));
    }
  });

  it('fills a `first` larger than one Graph page by following Graph cursors', async () => {
    const small = await startHarness({ emulator: { maxLimit: 15, privacyFiltering: false } });
    try {
      const result = await small.run(ConversationIdsDocument, { pageId: ACME, folder: 'INBOX', first: 40 });
      expect(result.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId)).toEqual(acmeInbox.slice(0, 40));
      expect(small.emulator.log.requestCount).toBeGreaterThanOrEqual(3);
      // Follow-up requests ask only for what is still missing.
      expect(small.emulator.log.entries[0]!.params.limit).toBe('40');
    } finally {
      await small.close();
    }
  });

  it('follows short and empty Graph pages mid-stream instead of mistaking them for the end', async () => {
    const filtered = await startHarness();
    try {
      const truth = await graphListIds(filtered.emulator, `${ACME}/conversations`, { folder: 'inbox', limit: '100' });
      let after: string | null | undefined;
      const seen: string[] = [];
      let pagesNeedingMoreThanOneCall = 0;
      for (;;) {
        filtered.emulator.log.clear();
        const result = await filtered.run(ConversationIdsDocument, { pageId: ACME, folder: 'INBOX', first: 10, after });
        const page = connection(result);
        seen.push(...ids(result));
        if (filtered.emulator.log.callCount > 1) pagesNeedingMoreThanOneCall += 1;
        if (!page.pageInfo.hasNextPage) break;
        expect(page.edges).toHaveLength(10);
        after = page.pageInfo.endCursor;
      }
      expect(seen).toEqual(truth);
      // The emulator hides threads after cutting each window (privacy filtering), including a run of 40.
      expect(pagesNeedingMoreThanOneCall).toBeGreaterThan(0);
    } finally {
      await filtered.close();
    }
  });

  it('reports the end of the list: hasNextPage false once Graph sends no `next`', async () => {
    const result = await h.run(ConversationIdsDocument, { pageId: BISTRO, first: 100 }, { token: DEMO.tokens.bistroPage });
    const page = connection(result);
    expect(ids(result)).toEqual(bistroInbox);
    expect(page.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: false,
      startCursor: page.edges[0]!.cursor,
      endCursor: page.edges.at(-1)!.cursor,
    });
  });
});

describe('backward paging', () => {
  it('returns the `last` items before a cursor, in list order', async () => {
    const first = await list({ first: 40 });
    h.emulator.log.clear();
    const previous = await list({ last: 10, before: cursorAt(first, 30) });
    expect(ids(previous)).toEqual(acmeInbox.slice(20, 30));
    const page = connection(previous);
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: true,
      startCursor: page.edges[0]!.cursor,
      endCursor: page.edges[9]!.cursor,
    });
    expect(h.emulator.log.callCount).toBe(1);
  });

  it('pages backward from startCursor with exactly one Graph call', async () => {
    const first = await list({ first: 20 });
    const second = await list({ first: 20, after: connection(first).pageInfo.endCursor });
    h.emulator.log.clear();
    const back = await list({ last: 20, before: connection(second).pageInfo.startCursor });
    expect(ids(back)).toEqual(acmeInbox.slice(0, 20));
    expect(h.emulator.log.callCount).toBe(1);
  });

  it('stops at the start of the list with hasPreviousPage false', async () => {
    const first = await list({ first: 10 });
    const back = await list({ last: 10, before: cursorAt(first, 4) });
    expect(ids(back)).toEqual(acmeInbox.slice(0, 4));
    expect(connection(back).pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
  });

  it('returns an empty page before the first item', async () => {
    const first = await list({ first: 1 });
    const back = await list({ last: 5, before: cursorAt(first, 0) });
    expect(connection(back)).toEqual({
      edges: [],
      pageInfo: { hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it('edges paged backward resume forward again', async () => {
    const first = await list({ first: 30 });
    const back = await list({ last: 10, before: cursorAt(first, 25) });
    const forward = await list({ first: 3, after: cursorAt(back, 4) });
    expect(ids(forward)).toEqual(acmeInbox.slice(20, 23));
  });
});

describe('cursors Graph no longer accepts', () => {
  it('a cursor whose Graph anchor was deleted answers CURSOR_EXPIRED, and the list restarts cleanly', async () => {
    const own = await startHarness({ emulator: { privacyFiltering: false } });
    try {
      const first = await own.run(ConversationIdsDocument, { pageId: ACME, folder: 'INBOX', first: 5 });
      const page = first.data!.page!.conversations;
      // The Graph cursor behind endCursor marks the page's last item; delete that item upstream.
      own.emulator.store.deleteConversation(page.edges[4]!.node.graphApiId);
      const resumed = await own.run(ConversationIdsDocument, { pageId: ACME, folder: 'INBOX', first: 5, after: page.pageInfo.endCursor });
      expect(resumed.errors).toEqual([
        expect.objectContaining({ path: ['page', 'conversations'], extensions: expect.objectContaining({ code: 'CURSOR_EXPIRED' }) }),
      ]);
      const restarted = await own.run(ConversationIdsDocument, { pageId: ACME, folder: 'INBOX', first: 5 });
      expect(restarted.errors).toBeUndefined();
    } finally {
      await own.close();
    }
  });
});

describe('bad paging arguments fail before any upstream call', () => {
  const cases: Array<[string, Partial<ConversationIdsQueryVariables>, string]> = [
    ['first with last', { first: 5, last: 5 }, 'INVALID_PAGINATION'],
    ['negative first', { first: -1 }, 'INVALID_PAGINATION'],
    ['zero first', { first: 0 }, 'INVALID_PAGINATION'],
    ['first above 100', { first: 101 }, 'INVALID_PAGINATION'],
    ['last above 100', { last: 101, before: 'x' }, 'INVALID_PAGINATION'],
    ['last without before', { last: 5 }, 'INVALID_PAGINATION'],
    ['after with last', { last: 5, after: 'x' }, 'INVALID_PAGINATION'],
    ['a malformed cursor', { first: 5, after: 'not-a-cursor' }, 'BAD_CURSOR'],
  ];
  it.each(cases)('%s', async (_name, vars, code) => {
    const result = await list(vars);
    expect(result.errors?.[0]?.extensions?.code).toBe(code);
    expect(result.errors?.[0]?.path).toEqual(['page', 'conversations']);
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('a cursor with any bit changed, or from an earlier format', async () => {
    const cursor = cursorAt(await list({ first: 1 }), 0);
    h.emulator.log.clear();
    const bytes = Buffer.from(cursor, 'base64url');
    expect(bytes.toString('base64url')).toBe(cursor);
    for (let at = 0; at < bytes.length; at += 1) {
      const altered = Buffer.from(bytes);
      altered[at]! ^= 1 << (at % 8);
      const result = await list({ first: 5, after: altered.toString('base64url') });
      expect(result.errors?.[0]?.extensions?.code, `byte ${at} altered`).toBe('BAD_CURSOR');
    }
    // Cursors of the first format (base64 JSON) ask the client to start over.
    const v1 = await list({
      first: 5,
      after: `v1.${Buffer.from('{"s":"x","i":"t_1","f":0,"b":0}').toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`,
    });
    expect(v1.errors?.[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('a cursor from another filter set, another page, or another caller', async () => {
    const cursor = cursorAt(await list({ first: 1 }), 0);
    h.emulator.log.clear();
    const otherFolder = await list({ first: 5, after: cursor, folder: 'OTHER' });
    const otherPlatform = await list({ first: 5, after: cursor, platform: 'INSTAGRAM' });
    const otherPage = await h.run(ConversationIdsDocument, { pageId: BISTRO, first: 5, after: cursor }, { token: DEMO.tokens.bistroPage });
    const otherCaller = await list({ first: 5, after: cursor }).then(() =>
      h.run(ConversationIdsDocument, { pageId: ACME, first: 5, after: cursor }, { token: DEMO.tokens.acmePageNoMessaging }),
    );
    for (const result of [otherFolder, otherPlatform, otherPage, otherCaller]) {
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_CURSOR');
    }
    // Only the plain re-read in the middle reached Graph.
    expect(h.emulator.log.requestCount).toBe(1);
  });
});
