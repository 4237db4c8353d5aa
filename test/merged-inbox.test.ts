/**
 * `Viewer.inbox`: the conversations of every Page a caller reaches, merged newest first. The truth is a merge of
 * the sources' own lists, read from the emulator by following Graph's `next` URLs; costs are counted in its request log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument, MergedInboxDocument, type MergedInboxQuery } from './generated/graphql.js';
import { ACME, BISTRO, type GraphQLResponse, startHarness, TEST_VERSION, type Harness } from './support/harness.js';

const OUTLET = DEMO.pages.outlet.id;

interface Listed {
  id: string;
  updated_time: string;
}

/** A source's own list, as Graph serves it with `next` URLs to its end. */
async function sourceList(h: Harness, pageId: string, platform: string, params: Record<string, string>): Promise<Listed[]> {
  const token = { [ACME]: DEMO.tokens.acmePage, [BISTRO]: DEMO.tokens.bistroPage, [OUTLET]: DEMO.tokens.outletPage }[pageId]!;
  const items: Listed[] = [];
  const query = new URLSearchParams({ ...params, platform, fields: 'id,updated_time', limit: '100', access_token: token });
  let url: string | undefined = `${h.emulator.url}/${TEST_VERSION}/${pageId}/conversations?${query}`;
  while (url !== undefined) {
    const response = await fetch(url);
    const page = (await response.json()) as { data: Listed[]; paging?: { next?: string } };
    items.push(...page.data);
    url = page.paging?.next;
  }
  return items;
}

/**
 * The merge of alice's six sources' own lists (Acme, Bistro and Acme Outlet, each on Messenger and Instagram): newest first, then
 * Page id, then id.
 */
async function mergedItems(
  h: Harness,
  params: Record<string, string>,
  pageIds: readonly string[] = [ACME, BISTRO, OUTLET],
): Promise<Listed[]> {
  const sources: Array<{ pageId: string; items: Listed[] }> = [];
  for (const pageId of pageIds) {
    for (const platform of ['messenger', 'instagram']) sources.push({ pageId, items: await sourceList(h, pageId, platform, params) });
  }
  const merged: Listed[] = [];
  const next = sources.map(() => 0);
  for (;;) {
    let best = -1;
    sources.forEach((source, index) => {
      const item = source.items[next[index]!];
      if (item === undefined) return;
      if (best < 0) {
        best = index;
        return;
      }
      const head = sources[best]!.items[next[best]!]!;
      const time = Date.parse(item.updated_time) - Date.parse(head.updated_time);
      const otherPage = sources[best]!.pageId;
      if (time > 0 || (time === 0 && (source.pageId < otherPage || (source.pageId === otherPage && item.id < head.id)))) best = index;
    });
    if (best < 0) return merged;
    merged.push(sources[best]!.items[next[best]!]!);
    next[best]! += 1;
  }
}

const mergedTruth = async (h: Harness, params: Record<string, string>, pageIds?: readonly string[]): Promise<string[]> =>
  (await mergedItems(h, params, pageIds)).map((item) => item.id);

/** Walks the inbox with `first`, checking that no conversation comes twice; returns the ids in order and the last endCursor. */
async function walk(h: Harness, first: number, folder: 'SPAM' | 'INBOX'): Promise<{ ids: string[]; end: string | null }> {
  const ids: string[] = [];
  let after: string | null = null;
  let end: string | null = null;
  for (;;) {
    const result: GraphQLResponse<MergedInboxQuery> = await h.run(MergedInboxDocument, { first, after, folder });
    expect(result.errors).toBeUndefined();
    const inbox = result.data!.viewer.inbox;
    expect(inbox.missingSources).toEqual([]);
    ids.push(...inbox.edges.map((edge) => edge.node.graphApiId));
    expect(inbox.pageInfo.hasPreviousPage).toBe(after !== null);
    end = inbox.pageInfo.endCursor ?? end;
    if (!inbox.pageInfo.hasNextPage) break;
    after = inbox.pageInfo.endCursor;
  }
  expect(new Set(ids).size).toBe(ids.length);
  return { ids, end };
}

/** Walks the inbox backward with `last` from `before`, checking that no conversation comes twice; returns the ids in list order. */
async function walkBack(h: Harness, last: number, folder: 'SPAM' | 'INBOX', before: string): Promise<string[]> {
  const pages: string[][] = [];
  let cursor = before;
  for (;;) {
    const result: GraphQLResponse<MergedInboxQuery> = await h.run(MergedInboxDocument, { last, before: cursor, folder });
    expect(result.errors).toBeUndefined();
    const inbox = result.data!.viewer.inbox;
    expect(inbox.edges.length).toBeLessThanOrEqual(last);
    pages.unshift(inbox.edges.map((edge) => edge.node.graphApiId));
    expect(inbox.pageInfo.hasNextPage).toBe(true);
    if (!inbox.pageInfo.hasPreviousPage) break;
    expect(inbox.edges).toHaveLength(last);
    cursor = inbox.pageInfo.startCursor!;
  }
  const ids = pages.flat();
  expect(new Set(ids).size).toBe(ids.length);
  return ids;
}

/** The conversation list reads made, as `Page platform after? limit`: a batch's items, or a plain request. */
function callsOf(h: Harness): string[] {
  return h.emulator.log.entries
    .flatMap((entry) =>
      (entry.items ?? [{ relativeUrl: `${entry.path.slice(1)}?${new URLSearchParams(entry.params)}` }]).map(({ relativeUrl }) => {
        const url = new URL(relativeUrl, 'http://graph');
        const params = url.searchParams;
        const page = url.pathname.split('/')[2];
        return url.pathname.endsWith('/conversations')
          ? [`${page} ${params.get('platform')} ${params.has('after') ? 'after ' : ''}${params.get('limit')}`]
          : [];
      }),
    )
    .flat();
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ emulator: { privacyFiltering: false }, defaultAccessToken: DEMO.tokens.alice });
});
afterAll(() => h.close());
beforeEach(() => {
  h.emulator.faults.clear();
  h.emulator.log.clear();
});

describe('order', () => {
  const sizes = Array.from({ length: 50 }, (_, index) => index + 1);
  it.each(sizes)('walking SPAM %i at a time gives the merge of the sources, and back from its end the same in reverse', async (size) => {
    const truth = await mergedTruth(h, { folder: 'spam' });
    expect(truth).toHaveLength(81);
    const { ids, end } = await walk(h, size, 'SPAM');
    expect(ids).toEqual(truth);
    // Backward from the last edge: everything before it.
    expect(await walkBack(h, size, 'SPAM', end ?? '')).toEqual(truth.slice(0, -1));
  });

  it.each([25, 50])('walking INBOX %i at a time gives the merge of the sources, forward and backward', async (size) => {
    const truth = await mergedTruth(h, {});
    expect(truth).toHaveLength(1035);
    const { ids, end } = await walk(h, size, 'INBOX');
    expect(ids).toEqual(truth);
    expect(await walkBack(h, size, 'INBOX', end ?? '')).toEqual(truth.slice(0, -1));
  });

  it('updatedSince ends each source at its first older conversation', async () => {
    const items = await mergedItems(h, {});
    const since = items[60]!.updated_time;
    const truth = items.filter((item) => Date.parse(item.updated_time) >= Date.parse(since)).map((item) => item.id);
    const result = await h.run(MergedInboxDocument, { first: 100, updatedSince: new Date(since).toISOString() });
    expect(result.data!.viewer.inbox.edges.map((edge) => edge.node.graphApiId)).toEqual(truth);
    expect(result.data!.viewer.inbox.pageInfo.hasNextPage).toBe(false);
  });

  it('each node tells its Page and platform', async () => {
    const result = await h.run(MergedInboxDocument, { first: 100, folder: 'SPAM' });
    const nodes = result.data!.viewer.inbox.edges.map((edge) => edge.node);
    expect(new Set(nodes.map((node) => `${node.page.graphApiId}/${node.platform}`))).toEqual(
      new Set([`${ACME}/MESSENGER`, `${ACME}/INSTAGRAM`]),
    );
  });
});

describe('first page, literally', () => {
  it('SPAM, 3 at a time: the newest three of Acme Messenger and Instagram, with pageInfo', async () => {
    const result = await h.run(MergedInboxDocument, { first: 3, folder: 'SPAM' });
    const inbox = result.data!.viewer.inbox;
    // Graph cursors carry the emulator's random key, so the merged cursors that hold them differ per run.
    expect(inbox.edges.map(({ node }) => [node.graphApiId, node.updatedTime, node.platform, node.page.graphApiId])).toEqual([
      ['t_318601347375984', '2026-11-01T00:45:40.000Z', 'MESSENGER', ACME],
      ['aWdfZAGrdZrRjhZI5Zj4I0tAs97dR018HNU_C9omVfNtwgbwTe-ABBGg-ioIJlABatF', '2026-10-31T16:08:54.000Z', 'INSTAGRAM', ACME],
      ['aWdfZAGMHczP45d88Z0Qm0ghDtAzKqxkColMX1gnRHc5e1fkNMpNUdsK3SU1EgE7diC', '2026-10-30T01:27:05.000Z', 'INSTAGRAM', ACME],
    ]);
    expect(inbox.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: inbox.edges[0]!.cursor,
      endCursor: inbox.edges[2]!.cursor,
    });
    expect(inbox.missingSources).toEqual([]);
  });
});

describe('merged cursors', () => {
  const firstPage = async () => (await h.run(MergedInboxDocument, { first: 2, folder: 'SPAM' })).data!.viewer.inbox.pageInfo.endCursor!;

  it('a tampered cursor is BAD_CURSOR, with no upstream call', async () => {
    const cursor = await firstPage();
    const at = 20;
    const tampered = cursor.slice(0, at) + (cursor[at] === 'A' ? 'B' : 'A') + cursor.slice(at + 1);
    h.emulator.log.clear();
    const result = await h.run(MergedInboxDocument, { first: 2, folder: 'SPAM', after: tampered });
    expect(result.errors![0]!.extensions!.code).toBe('BAD_CURSOR');
    expect(result.data).toBeNull();
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it.each([
    ['another folder', { folder: 'INBOX' as const }],
    ['other sources (pageIds)', { folder: 'SPAM' as const, pageIds: [ACME] }],
    ['other sources (platform)', { folder: 'SPAM' as const, platform: 'MESSENGER' as const }],
    ['another watermark', { folder: 'SPAM' as const, updatedSince: '2020-01-01T00:00:00.000Z' }],
  ])('a cursor replayed with %s is BAD_CURSOR, with no upstream call', async (_name, variables) => {
    const cursor = await firstPage();
    h.emulator.log.clear();
    const result = await h.run(MergedInboxDocument, { first: 2, after: cursor, ...variables });
    expect(result.errors![0]!.extensions!.code).toBe('BAD_CURSOR');
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it("another caller's cursor is BAD_CURSOR, with no Graph read of an inbox", async () => {
    const cursor = await firstPage();
    await h.run(MergedInboxDocument, { first: 1, folder: 'SPAM' }, { token: DEMO.tokens.bob });
    h.emulator.log.clear();
    const result = await h.run(MergedInboxDocument, { first: 2, folder: 'SPAM', after: cursor }, { token: DEMO.tokens.bob });
    expect(result.errors![0]!.extensions!.code).toBe('BAD_CURSOR');
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('a single-Page cursor is refused by the inbox', async () => {
    const page = await h.run(ConversationIdsDocument, { pageId: ACME, first: 2 });
    const result = await h.run(MergedInboxDocument, { first: 2, after: page.data!.page!.conversations.pageInfo.endCursor });
    expect(result.errors![0]!.extensions!.code).toBe('BAD_CURSOR');
  });

  it('a tampered `before` cursor is BAD_CURSOR, with no upstream call', async () => {
    const cursor = await firstPage();
    const at = 24;
    const tampered = cursor.slice(0, at) + (cursor[at] === 'A' ? 'B' : 'A') + cursor.slice(at + 1);
    h.emulator.log.clear();
    const result = await h.run(MergedInboxDocument, { last: 2, folder: 'SPAM', before: tampered });
    expect(result.errors![0]!.extensions!.code).toBe('BAD_CURSOR');
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it.each([
    ['`last` without `before`', '{ viewer { inbox(last: 2) { edges { cursor } } } }'],
    ['`first` with `before`', '{ viewer { inbox(first: 2, before: "x") { edges { cursor } } } }'],
    ['`first` and `last`', '{ viewer { inbox(first: 2, last: 2) { edges { cursor } } } }'],
  ])('%s is INVALID_PAGINATION', async (_name, query) => {
    const result = await h.post({ query });
    expect(result.body.errors![0]!.extensions!.code).toBe('INVALID_PAGINATION');
    expect(h.emulator.log.requestCount).toBe(0);
  });
});

describe('backward, literally', () => {
  it('`last: 2` before the third edge: the first two, with pageInfo; its cursors page on forward', async () => {
    const first = (await h.run(MergedInboxDocument, { first: 3, folder: 'SPAM' })).data!.viewer.inbox;
    const back = (await h.run(MergedInboxDocument, { last: 2, before: first.edges[2]!.cursor, folder: 'SPAM' })).data!.viewer.inbox;
    expect(back.edges.map(({ node }) => node.graphApiId)).toEqual([
      't_318601347375984',
      'aWdfZAGrdZrRjhZI5Zj4I0tAs97dR018HNU_C9omVfNtwgbwTe-ABBGg-ioIJlABatF',
    ]);
    expect(back.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const onward = (await h.run(MergedInboxDocument, { first: 1, after: back.pageInfo.endCursor, folder: 'SPAM' })).data!.viewer.inbox;
    expect(onward.edges.map(({ node }) => node.graphApiId)).toEqual([
      'aWdfZAGMHczP45d88Z0Qm0ghDtAzKqxkColMX1gnRHc5e1fkNMpNUdsK3SU1EgE7diC',
    ]);
  });

  it('a backward page reads each source from its start up to the cursor, in one batch per Graph page', async () => {
    const { end } = await walk(h, 50, 'SPAM');
    h.emulator.log.clear();
    const result = await h.run(MergedInboxDocument, { last: 5, before: end, folder: 'SPAM' });
    expect(result.errors).toBeUndefined();
    // SPAM has conversations on Acme only: Bistro's sources, with nothing taken, are not read.
    expect(h.emulator.log.requestCount).toBe(1);
    expect(callsOf(h)).toEqual([`${ACME} messenger 100`, `${ACME} instagram 100`]);
  });
});

describe('cost', () => {
  it('a cold page reads every source in one Graph batch, each on its own Page', async () => {
    const result = await h.run(MergedInboxDocument, { first: 10, folder: 'SPAM' }, { headers: { 'x-upstream-usage': '1' } });
    expect(result.errors).toBeUndefined();
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.emulator.log.entries[0]!.items!.map((item) => item.relativeUrl.split('?')[0])).toEqual([
      `${TEST_VERSION}/${ACME}/conversations`,
      `${TEST_VERSION}/${ACME}/conversations`,
      `${TEST_VERSION}/${BISTRO}/conversations`,
      `${TEST_VERSION}/${BISTRO}/conversations`,
      `${TEST_VERSION}/${OUTLET}/conversations`,
      `${TEST_VERSION}/${OUTLET}/conversations`,
    ]);
    expect(result.extensions!.upstream).toMatchObject({ requests: 1, calls: 6 });
  });

  it('more sources than MAX_INBOX_SOURCES: INBOX_TOO_WIDE, unless narrowed', async () => {
    const narrow = await startHarness({ emulator: { privacyFiltering: false }, defaultAccessToken: DEMO.tokens.alice, maxInboxSources: 3 });
    try {
      const wide = await narrow.run(MergedInboxDocument, { first: 2 });
      expect(wide.errors![0]!.extensions).toMatchObject({ code: 'INBOX_TOO_WIDE', sources: 6, maxSources: 3 });
      const acme = await narrow.run(MergedInboxDocument, { first: 2, pageIds: [ACME] });
      expect(acme.errors).toBeUndefined();
      const messenger = await narrow.run(MergedInboxDocument, { first: 2, platform: 'MESSENGER' });
      expect(messenger.errors).toBeUndefined();
    } finally {
      await narrow.close();
    }
  });
});

describe('with the read cache', () => {
  let clock = Date.parse('2026-12-01T12:00:00Z');
  let cached: Harness;
  beforeAll(async () => {
    cached = await startHarness({
      emulator: { privacyFiltering: false },
      defaultAccessToken: DEMO.tokens.alice,
      cache: { maxAgeMs: 60_000, staleMs: 600_000, now: () => clock },
    });
  });
  afterAll(() => cached.close());

  it('deeper pages read only the sources that must advance: a source read past the page repeats a read the cache holds', async () => {
    const pages: string[][] = [];
    const afters: Array<string | null> = [null];
    for (let page = 0; page < 4; page += 1) {
      cached.emulator.log.clear();
      const result: GraphQLResponse<MergedInboxQuery> = await cached.run(MergedInboxDocument, { first: 5, after: afters[page] });
      expect(result.errors).toBeUndefined();
      pages.push(callsOf(cached));
      afters.push(result.data!.viewer.inbox.pageInfo.endCursor);
    }
    expect(pages).toEqual([
      // Cold: every source, in one batch.
      [
        `${ACME} messenger 5`,
        `${ACME} instagram 5`,
        `${BISTRO} messenger 5`,
        `${BISTRO} instagram 5`,
        `${OUTLET} messenger 5`,
        `${OUTLET} instagram 5`,
      ],
      // Acme Messenger gave all it read: it goes on from its Graph cursor; the others' next items were read already.
      [`${ACME} messenger after 4`],
      [`${ACME} instagram after 5`],
      [`${ACME} messenger after 5`, `${ACME} instagram after 4`],
    ]);
    // Each of these pages again: warm, no call.
    cached.emulator.log.clear();
    for (const after of afters.slice(0, 4)) await cached.run(MergedInboxDocument, { first: 5, after });
    expect(cached.emulator.log.requestCount).toBe(0);
  });

  it('a warm page costs no call; a source throttled later is served stale, not missing', async () => {
    const cold = await cached.run(MergedInboxDocument, { first: 5, folder: 'SPAM' });
    cached.emulator.log.clear();
    const warm = await cached.run(MergedInboxDocument, { first: 5, folder: 'SPAM' });
    expect(warm.data).toEqual(cold.data);
    expect(cached.emulator.log.requestCount).toBe(0);

    clock += 120_000;
    cached.emulator.faults.inject(
      { kind: 'throttle', code: 80006, regainMinutes: 2 },
      { times: Infinity, match: { path: /^1000000002\// } },
    );
    const stale = await cached.run(MergedInboxDocument, { first: 5, folder: 'SPAM' });
    expect(stale.data!.viewer.inbox.missingSources).toEqual([]);
    expect(stale.data!.viewer.inbox.edges).toEqual(cold.data!.viewer.inbox.edges);
    expect(stale.extensions!.stale).toEqual([{ path: ['viewer', 'inbox'], fetchedAt: '2026-12-01T12:00:00.000Z', retryAfterSeconds: 120 }]);
  });
});

describe('partial failure', () => {
  it('backward, a throttled Page is left out and named; the other sources answer what lies before the cursor', async () => {
    const throttled = await startHarness({ emulator: { privacyFiltering: false }, defaultAccessToken: DEMO.tokens.alice });
    try {
      const first = (await throttled.run(MergedInboxDocument, { first: 100 })).data!.viewer.inbox;
      // Bistro has conversations among these: its sources must be read to page back.
      expect(first.edges.filter((edge) => edge.node.page.graphApiId === BISTRO).length).toBeGreaterThan(0);
      const others = new Set(await mergedTruth(throttled, {}, [ACME, OUTLET]));
      throttled.emulator.faults.inject(
        { kind: 'throttle', code: 80006, regainMinutes: 2 },
        { times: Infinity, match: { path: /^1000000002\// } },
      );
      const result = await throttled.run(MergedInboxDocument, { last: 4, before: first.edges[99]!.cursor });
      expect(result.errors).toBeUndefined();
      // Bistro's Instagram source (it links no account) gave nothing before the cursor: it is not read, so not missing.
      expect(result.data!.viewer.inbox.missingSources.map((source) => `${source.pageId} ${source.platform} ${source.code}`)).toEqual([
        `${BISTRO} MESSENGER GRAPH_RATE_LIMITED`,
      ]);
      const before = first.edges.slice(0, 99).map((edge) => edge.node.graphApiId);
      expect(result.data!.viewer.inbox.edges.map((edge) => edge.node.graphApiId)).toEqual(before.filter((id) => others.has(id)).slice(-4));
    } finally {
      await throttled.close();
    }
  });

  it('a throttled Page is left out and named; the other sources answer', async () => {
    const throttled = await startHarness({ emulator: { privacyFiltering: false }, defaultAccessToken: DEMO.tokens.alice });
    try {
      const truth = await mergedTruth(throttled, {}, [ACME]);
      throttled.emulator.faults.inject(
        { kind: 'throttle', code: 80006, regainMinutes: 2 },
        { times: Infinity, match: { path: /^1000000002\// } },
      );
      const result = await throttled.run(MergedInboxDocument, { first: 10 });
      expect(result.errors).toBeUndefined();
      const missing = [
        { pageId: BISTRO, platform: 'MESSENGER', code: 'GRAPH_RATE_LIMITED', retryAfterSeconds: 120 },
        { pageId: BISTRO, platform: 'INSTAGRAM', code: 'GRAPH_RATE_LIMITED', retryAfterSeconds: 120 },
      ];
      expect(result.data!.viewer.inbox.missingSources).toEqual(missing);
      expect(result.extensions!.missingSources).toEqual(missing);
      expect(result.data!.viewer.inbox.edges.map((edge) => edge.node.graphApiId)).toEqual(truth.slice(0, 10));
    } finally {
      await throttled.close();
    }
  });
});
