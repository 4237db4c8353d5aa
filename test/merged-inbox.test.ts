/**
 * `Viewer.inbox`: the conversations of every Page a caller reaches, merged newest first. The truth is a merge of
 * the sources' own lists, read from the emulator by following Graph's `next` URLs; costs are counted in its request log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { MergedInboxDocument } from './generated/graphql.js';
import { ACME, BISTRO, startHarness, TEST_VERSION, type Harness } from './support/harness.js';

interface Listed {
  id: string;
  updated_time: string;
}

/** A source's own list, as Graph serves it with `next` URLs to its end. */
async function sourceList(h: Harness, pageId: string, platform: string, params: Record<string, string>): Promise<Listed[]> {
  const token = pageId === ACME ? DEMO.tokens.acmePage : DEMO.tokens.bistroPage;
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

/** The merge of alice's four sources' own lists (Acme and Bistro, each on Messenger and Instagram): newest first, then Page id, then id. */
async function mergedTruth(h: Harness, params: Record<string, string>): Promise<string[]> {
  const sources = [
    { pageId: ACME, items: await sourceList(h, ACME, 'messenger', params) },
    { pageId: ACME, items: await sourceList(h, ACME, 'instagram', params) },
    { pageId: BISTRO, items: await sourceList(h, BISTRO, 'messenger', params) },
    { pageId: BISTRO, items: await sourceList(h, BISTRO, 'instagram', params) },
  ];
  const merged: string[] = [];
  const next = sources.map(() => 0);
  for (;;) {
    let best = -1;
    sources.forEach((source, index) => {
      const item = source.items[next[index]!];
      if (item === undefined) return;
      const head = best < 0 ? undefined : sources[best]!.items[next[best]!]!;
      const time = head === undefined ? 1 : Date.parse(item.updated_time) - Date.parse(head.updated_time);
      if (head === undefined || time > 0 || (time === 0 && (source.pageId < sources[best]!.pageId || item.id < head.id))) best = index;
    });
    if (best < 0) return merged;
    merged.push(sources[best]!.items[next[best]!]!.id);
    next[best]! += 1;
  }
}

/** Walks the inbox with `first`, checking that no conversation comes twice; returns the ids in order. */
async function walk(h: Harness, first: number, folder: 'SPAM' | 'INBOX', limit = Number.POSITIVE_INFINITY): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const result = await h.run(MergedInboxDocument, { first, after, folder });
    expect(result.errors).toBeUndefined();
    const inbox = result.data!.viewer.inbox;
    expect(inbox.missingSources).toEqual([]);
    ids.push(...inbox.edges.map((edge) => edge.node.graphApiId));
    expect(inbox.pageInfo.hasPreviousPage).toBe(after !== null);
    if (!inbox.pageInfo.hasNextPage || ids.length >= limit) break;
    after = inbox.pageInfo.endCursor;
  }
  expect(new Set(ids).size).toBe(ids.length);
  return ids;
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
  it.each([1, 2, 5, 10, 25, 50])('walking SPAM %i at a time gives the merge of the sources, each conversation once', async (first) => {
    const truth = await mergedTruth(h, { folder: 'spam' });
    expect(truth).toHaveLength(81);
    expect(await walk(h, first, 'SPAM')).toEqual(truth);
  });

  it.each([25, 50])('walking INBOX %i at a time gives the merge of the sources', async (first) => {
    const truth = await mergedTruth(h, {});
    expect(truth).toHaveLength(885);
    expect(await walk(h, first, 'INBOX')).toEqual(truth);
  });

  it('each node tells its Page and platform', async () => {
    const result = await h.run(MergedInboxDocument, { first: 100, folder: 'SPAM' });
    const nodes = result.data!.viewer.inbox.edges.map((edge) => edge.node);
    expect(new Set(nodes.map((node) => `${node.page.graphApiId}/${node.platform}`))).toEqual(
      new Set([`${ACME}/MESSENGER`, `${ACME}/INSTAGRAM`]),
    );
  });
});
